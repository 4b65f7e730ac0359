"""Holds at checkout (omnistock.services.reservations) on the in-memory fakes: where a hold
takes its units, the channel's buffer it never eats into, and how it ends.

A Paris store and a Lyon warehouse, both in the web channel's pool (every ship-enabled
location); the clock stands still unless a test moves `db.now`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pytest
from fakes import FakeDatabase, FakeUnitOfWork, lose_every_race_but_the_last
from hypothesis import given
from hypothesis import strategies as st

from omnistock.db.stock import Available
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.errors import InsufficientStock, ShortLine
from omnistock.domain.reservations import DEFAULT_TTL_SECONDS, EXPIRED, RELEASED, Reservation
from omnistock.domain.stock import Deltas, MovementType, Position
from omnistock.services import reservations, stock
from samples import CAP, STORE, TEE, WAREHOUSE

PARIS = (48.8566, 2.3522)


@pytest.fixture(params=[True, False], ids=["one-writer", "row-locks"])
def db(request: pytest.FixtureRequest) -> Iterator[FakeDatabase]:
    """The store and the warehouse, two items, the web channel; no stock. After the test,
    every position still equals the sum of its movements."""
    db = FakeDatabase(single_writer=request.param)
    db.add(TEE, CAP, STORE, WAREHOUSE, Channel(code="web", name="Web shop"))
    yield db
    with db.reading() as reads:
        assert list(reads.stock.drifts()) == []


def receive(db: FakeDatabase, location: str, sku: str, quantity: int) -> None:
    db.run(
        lambda uow: stock.record_movement(
            uow, location=location, sku=sku, movement_type=MovementType.RECEIPT, quantity=quantity
        )
    )


def hold(
    db: FakeDatabase,
    *lines: tuple[str, int],
    ship_to: tuple[float, float] | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> Reservation:
    return db.run(
        lambda uow: reservations.hold(
            uow, channel="web", lines=list(lines), ship_to=ship_to, ttl_seconds=ttl_seconds
        )
    )


def held_at(reservation: Reservation) -> dict[str, int]:
    return {a.location: a.quantity for a in reservation.allocations}


def test_a_hold_reserves_its_units_at_the_warehouse_first(db: FakeDatabase) -> None:
    receive(db, STORE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    held = hold(db, (TEE.sku, 3))

    assert held_at(held) == {WAREHOUSE.code: 3}
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=5, reserved=3)
    assert db.position(STORE.code, TEE.sku) == Position(on_hand=5)
    with db.reading() as reads:
        last = reads.stock.ledger(sku=TEE.sku, location=WAREHOUSE.code, after=0, limit=10)[-1]
    assert (last.type, last.deltas, last.reference) == (
        "reserve",
        Deltas(reserved=3),
        f"reservation:{held.id}",
    )


def test_a_hold_near_the_customer_draws_on_the_nearest_location_then_splits(
    db: FakeDatabase,
) -> None:
    receive(db, STORE.code, TEE.sku, 2)
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    held = hold(db, (TEE.sku, 4), ship_to=PARIS)

    assert held_at(held) == {STORE.code: 2, WAREHOUSE.code: 2}
    assert db.position(STORE.code, TEE.sku).available == 0


def test_a_hold_announces_itself_the_stock_it_moved_and_the_new_availability(
    db: FakeDatabase,
) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    seen = len(db.events())

    held = hold(db, (TEE.sku, 2))

    assert db.events()[seen:] == [
        ("stock.changed", {"sku": TEE.sku, "location": WAREHOUSE.code, "on_hand": 5,
                           "reserved": 2, "unsellable": 0, "inbound": 0, "available": 3}),
        ("reservation.created", reservations.reservation_view(held)),
        ("availability.changed", {"channel": "web", "sku": TEE.sku, "available_to_sell": 3}),
    ]  # fmt: skip


def test_a_hold_never_takes_the_units_a_buffer_keeps_back_from_the_channel(
    db: FakeDatabase,
) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 10)
    db.add_rule(channel="web", units=3)

    with pytest.raises(InsufficientStock) as refused:
        hold(db, (TEE.sku, 8))

    assert refused.value.lines == [ShortLine(TEE.sku, 8, 7)]
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=10)
    assert db.events("reservation.created") == []
    assert held_at(hold(db, (TEE.sku, 7))) == {WAREHOUSE.code: 7}


def test_a_percentage_buffer_is_rounded_up_and_a_sku_rule_outranks_it(db: FakeDatabase) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 10)
    receive(db, WAREHOUSE.code, CAP.sku, 10)
    db.add_rule(channel="web", basis_points=2_500)  # 25% of 10: 3 kept back, 7 sellable
    db.add_rule(channel="web", sku=CAP.sku, units=1)

    with pytest.raises(InsufficientStock):
        hold(db, (TEE.sku, 8))
    hold(db, (TEE.sku, 7), (CAP.sku, 9))

    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 7
    assert db.position(WAREHOUSE.code, CAP.sku).reserved == 9


def test_one_short_line_holds_nothing_of_the_others(db: FakeDatabase) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, CAP.sku, 1)

    with pytest.raises(InsufficientStock) as refused:
        hold(db, (TEE.sku, 2), (CAP.sku, 2))

    assert refused.value.lines == [ShortLine(CAP.sku, 2, 1)]
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 0


def test_released_units_go_back_once_however_often_the_hold_is_released(
    db: FakeDatabase,
) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    held = hold(db, (TEE.sku, 4))

    first = db.run(lambda uow: reservations.release(uow, held.id))
    again = db.run(lambda uow: reservations.release(uow, held.id))

    assert first.status == again.status == RELEASED
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=5)
    assert [data["id"] for _, data in db.events("reservation.released")] == [held.id]


def test_a_new_hold_takes_the_units_of_an_expired_one_and_ends_it(db: FakeDatabase) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    old = hold(db, (TEE.sku, 4), ttl_seconds=60)
    db.now += dt.timedelta(seconds=61)

    new = hold(db, (TEE.sku, 5))

    assert held_at(new) == {WAREHOUSE.code: 5}
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=5, reserved=5)
    with db.reading() as reads:
        assert reservations.get(reads, old.id).status == EXPIRED
    assert [data["id"] for _, data in db.events("reservation.expired")] == [old.id]


def test_the_sweep_ends_expired_holds_only(db: FakeDatabase) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    short = hold(db, (TEE.sku, 1), ttl_seconds=60)
    long = hold(db, (TEE.sku, 2), ttl_seconds=600)
    db.now += dt.timedelta(seconds=120)

    assert db.run(lambda uow: reservations.release_expired(uow)) == 1

    with db.reading() as reads:
        assert reservations.get(reads, short.id).status == EXPIRED
        assert reservations.get(reads, long.id).status == "active"
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 2


def test_a_hold_that_loses_a_race_plans_again_on_fresh_stock(
    db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another cart took 4 of the warehouse's 5 units after this hold read the stock: the
    guarded reserve refuses, and the hold takes what is left there and the rest in Paris."""
    receive(db, STORE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    def hold_after_another_cart(uow: FakeUnitOfWork) -> Reservation:
        read = uow.stock.available_at
        answers = iter([read([TEE.sku], now=uow.now)])  # before the other cart
        uow.stock.apply_deltas(sku=TEE.sku, location=WAREHOUSE.code, deltas=Deltas(reserved=4))
        uow.stock.append_movement(
            at=uow.now, sku=TEE.sku, location=WAREHOUSE.code, type="reserve",
            deltas=Deltas(reserved=4),
        )  # fmt: skip

        def available_at(
            skus: Sequence[str], *, now: dt.datetime, expired_free: bool = True
        ) -> Available:
            return next(answers, None) or read(skus, now=now, expired_free=expired_free)

        monkeypatch.setattr(uow.stock, "available_at", available_at)
        return reservations.hold(uow, channel="web", lines=[(TEE.sku, 3)])

    held = db.run(hold_after_another_cart)

    assert held_at(held) == {WAREHOUSE.code: 1, STORE.code: 2}
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=5, reserved=5)
    assert db.position(STORE.code, TEE.sku) == Position(on_hand=5, reserved=2)


@given(
    on_hand=st.integers(0, 50),
    reserved=st.integers(0, 50),
    quantity=st.integers(1, 60),
    units=st.integers(0, 10),
    basis_points=st.sampled_from([0, 1, 2_500, 3_333, 5_000, 10_000]),
)
def test_the_fake_guard_reserves_exactly_what_the_buffer_rule_leaves_sellable(
    on_hand: int, reserved: int, quantity: int, units: int, basis_points: int
) -> None:
    """The fake's `reserve` answers as the SQL guard would: yes exactly when the quantity
    fits in what the domain's rule leaves the channel (a rule sets units or a percentage)."""
    rule = (
        BufferRule(id=1, basis_points=basis_points)
        if basis_points
        else BufferRule(id=1, units=units)
    )
    db = FakeDatabase()
    db.tables.positions[TEE.sku, WAREHOUSE.code] = Position(
        on_hand=on_hand + reserved, reserved=reserved
    )
    available = on_hand
    sellable = max(0, available - rule.units_kept(available))
    with db.unit_of_work() as uow:
        after = uow.stock.reserve(
            sku=TEE.sku,
            location=WAREHOUSE.code,
            quantity=quantity,
            buffer_units=rule.units or 0,
            buffer_basis_points=rule.basis_points or 0,
        )
    assert (after is not None) == (quantity <= sellable)
    expected = reserved + quantity if after is not None else reserved
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == expected


def test_the_last_attempt_holds_only_the_rows_it_locked(
    db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As for orders: the Paris store, nearest the customer, receives its first units just
    after the last attempt locked the rows; with row locks the hold leaves that new position
    alone (it is not locked) and holds at the warehouse."""
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    def hold_racing(uow: FakeUnitOfWork) -> Reservation:
        lose_every_race_but_the_last(
            uow,
            monkeypatch,
            once_locked=lambda: stock.record_movement(
                uow,
                location=STORE.code,
                sku=TEE.sku,
                movement_type=MovementType.RECEIPT,
                quantity=5,
            ),
        )
        return reservations.hold(uow, channel="web", lines=[(TEE.sku, 1)], ship_to=PARIS)

    held = db.run(hold_racing)

    assert held_at(held) == {(STORE if db.single_writer else WAREHOUSE).code: 1}
