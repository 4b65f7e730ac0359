"""The one guarded allocation (omnistock.services.allocation) on the in-memory fakes: how
often it tries, when it locks, and what it tries again once the rows are locked."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fakes import FakeDatabase, FakeUnitOfWork

from omnistock.services import allocation


@pytest.fixture(params=[True, False], ids=["one-writer", "row-locks"])
def db(request: pytest.FixtureRequest) -> Iterator[FakeDatabase]:
    yield FakeDatabase(single_writer=request.param)


def refusing(times: int, error: type[allocation.LostRace]) -> Callable[[int], int]:
    """A carry-out refused `times` times with `error`, then answering its decision."""
    refused = iter(range(times))

    def carry_out(decision: int) -> int:
        if next(refused, None) is not None:
            raise error
        return decision

    return carry_out


def allocate(uow: FakeUnitOfWork, carry_out: Callable[[int], int], locks: list[int]) -> int:
    decisions = iter(range(1, 100))
    return allocation.allocate(
        uow,
        decide=lambda: next(decisions),
        rows=lambda _: [("WH", "TEE")],
        carry_out=carry_out,
        lock=lambda: locks.append(len(locks) + 1),
    )


def test_lost_races_are_decided_again_and_the_last_attempt_locks_first(db: FakeDatabase) -> None:
    locks: list[int] = []

    decided = db.run(lambda uow: allocate(uow, refusing(3, allocation.LostRace), locks))

    assert decided == allocation.ATTEMPTS == 4
    assert locks == [1]


def test_a_full_location_is_decided_again_as_often_as_it_takes_even_once_locked(
    db: FakeDatabase,
) -> None:
    """Daily capacity counters cannot be locked ahead, but they only fill up: a shipment a
    full location refuses is decided again, past the last attempt, and the rows are locked
    once."""
    locks: list[int] = []

    decided = db.run(lambda uow: allocate(uow, refusing(6, allocation.Full), locks))

    assert decided == 7
    assert locks == [1]


def test_a_race_lost_with_the_rows_locked_is_a_bug_said_aloud(db: FakeDatabase) -> None:
    locks: list[int] = []

    with pytest.raises(AssertionError, match="the last attempt holds every row it claims"):
        db.run(lambda uow: allocate(uow, refusing(4, allocation.LostRace), locks))
    assert locks == [1]
