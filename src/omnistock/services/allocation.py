"""The one guarded allocation that holds, orders, healing and transfers go through.

An allocation is decided on a fresh read of the stock, then each of its claims is reserved by
one guarded statement that re-checks, on the row as it is, that the channel's buffer still
holds (`available - quantity >= buffer`). Under concurrency the database has the last word:
a claim it refuses means someone took the units first, so the attempt is undone (a
savepoint) and decided again on fresh stock. After a few lost races the last attempt first
locks every row it may claim, in (location, sku) order, the one lock order of every path:
then nobody can take the units from under it. A location's daily capacity is a counter that
cannot be locked ahead (it may not exist yet): a shipment it refuses (`Full`) is decided
again, locked or not, as often as it takes; counters only fill up, so that ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from omnistock.db import UnitOfWork
from omnistock.domain.availability import BufferRule
from omnistock.domain.events import Event
from omnistock.domain.stock import Position
from omnistock.services import availability
from omnistock.services.views import position_view

#: Optimistic attempts, the last of which locks the rows it may claim first.
ATTEMPTS = 4

Decision = TypeVar("Decision")
Result = TypeVar("Result")


class LostRace(Exception):
    """A guarded reserve found less than decided."""


class Full(LostRace):
    """A location's daily capacity filled up since the decision counted it."""


@dataclass(frozen=True, slots=True)
class Claim:
    """Units to reserve at one position, under the buffer rule that lets the channel sell
    them there (None: no buffer, what is available must cover them)."""

    location: str
    sku: str
    quantity: int
    rule: BufferRule | None = None


def allocate(
    uow: UnitOfWork,
    *,
    decide: Callable[[], Decision],
    rows: Callable[[Decision], Collection[tuple[str, str]]],
    carry_out: Callable[[Decision], Result],
    lock: Callable[[], object] | None,
    attempts: int = ATTEMPTS,
    as_guarded: bool = False,
) -> Result:
    """`decide` on the stock as it is (it may raise: nothing is reserved yet), then
    `carry_out` the decision (which reserves its claims with `reserve`, raising LostRace
    when the database refuses one), undone and tried again on a lost race. Before the last
    attempt, `lock` (when given) locks every row a decision may claim; after it, only `Full`
    is tried again.

    `rows` are the (location, sku) carrying out a decision changes. With one writer at a
    time (SQLite) a race is lost only when the decision counted units the guard does not
    (say, those of holds expired but not ended yet): `as_guarded` says it never does.
    """
    attempt = 0
    while True:
        attempt += 1
        if attempt == attempts and lock is not None:
            lock()
        decision = decide()
        try:
            with _undoable(uow, rows(decision), as_guarded=as_guarded):
                return carry_out(decision)
        except Full:
            continue  # each time, a counter moved closer to full: this ends
        except LostRace:
            if attempt >= attempts:
                raise AssertionError("the last attempt holds every row it claims") from None


def reserve(uow: UnitOfWork, claim: Claim) -> Position:
    """Reserve one claim with the buffer guard, or LostRace if the database refuses it."""
    rule = claim.rule
    position = uow.stock.reserve(
        sku=claim.sku,
        location=claim.location,
        quantity=claim.quantity,
        buffer_units=(rule.units or 0) if rule else 0,
        buffer_basis_points=(rule.basis_points or 0) if rule else 0,
    )
    if position is None:
        raise LostRace
    return position


def announce(uow: UnitOfWork, sku: str, location: str, position: Position) -> None:
    """A position changed: say so in the feed, and publish the ATS it moved at commit."""
    uow.emit(Event.STOCK_CHANGED, position_view(sku, location, position))
    availability.watch(uow, sku)


def _undoable(
    uow: UnitOfWork, rows: Collection[tuple[str, str]], *, as_guarded: bool
) -> contextlib.AbstractContextManager[None]:
    """A savepoint to undo an attempt that loses a race, where one is needed.

    Where writers run side by side (PostgreSQL), always: a guarded UPDATE that waited for
    another transaction and then found the units gone keeps its row lock until undone, and
    kept locks would let the next attempt deadlock. With one writer at a time (SQLite), only
    when the race can be lost and more than one row changes: a race is lost at a guarded
    reserve, and with one row that is the first change, so there is nothing to undo.
    """
    if uow.single_writer and (as_guarded or len(rows) <= 1):
        return contextlib.nullcontext()
    return uow.savepoint()
