"""Promises that heal (omnistock.services.healing) on the in-memory fakes: a physical fact
that leaves a location with fewer units than it promised lets holds go first, then moves
the newest allocations of orders elsewhere, or backorders them.

Both paths of `physical_fact` run: one writer (as on SQLite) and row locks taken before
the fact applies again (as on PostgreSQL, with savepoints).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fakes import FakeDatabase

from omnistock.domain.availability import Channel
from omnistock.domain.orders import FulfilmentStatus, Order, OrderStatus
from omnistock.domain.stock import MovementType, Position
from omnistock.services import orders, reservations, stock
from samples import STORE, TEE, WAREHOUSE

MONTMARTRE = {"lat": 48.8867, "lon": 2.3431}  # the store is the first choice
SHIP = {"method": "ship", "address": {"line1": "18 rue Lepic", "city": "Paris", **MONTMARTRE}}
PICKUP = {"method": "pickup", "location": STORE.code}


@pytest.fixture(params=[True, False], ids=["one-writer", "row-locks"])
def db(request: pytest.FixtureRequest) -> Iterator[FakeDatabase]:
    """The store and the warehouse, one item, the web channel; no stock. After the test,
    every position still equals the sum of its movements."""
    db = FakeDatabase(single_writer=request.param)
    db.add(TEE, STORE, WAREHOUSE, Channel(code="web", name="Web shop"))
    yield db
    with db.reading() as reads:
        assert list(reads.stock.drifts()) == []


def record(db: FakeDatabase, location: str, movement: MovementType, quantity: int) -> Position:
    recorded = db.run(
        lambda uow: stock.record_movement(
            uow, location=location, sku=TEE.sku, movement_type=movement, quantity=quantity
        )
    )
    return recorded.position


def place(db: FakeDatabase, quantity: int, delivery: dict[str, Any] = SHIP) -> int:
    new = orders.NewOrder(
        channel="web",
        customer={"name": "Ada"},
        delivery=delivery,
        lines=[(TEE.sku, quantity, Decimal("19.90"))],
    )
    placed, _ = db.run(lambda uow: orders.place(uow, new))
    return placed.id


def order(db: FakeDatabase, order_id: int) -> orders.OrderDetail:
    """The order and its history."""
    with db.reading() as reads:
        return orders.detail(reads, order_id)


def live(order: Order) -> dict[str, int]:
    return {
        f.location: sum(q for _, q in f.lines)
        for f in order.fulfilments
        if f.status is FulfilmentStatus.ALLOCATED
    }


def backorders(order: Order) -> list[tuple[str, int]]:
    return [(line.sku, line.backordered) for line in order.lines if line.backordered]


def test_a_count_below_what_an_order_reserved_sources_it_again_elsewhere(
    db: FakeDatabase,
) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 3)
    record(db, WAREHOUSE.code, MovementType.RECEIPT, 5)
    order_id = place(db, 2)
    assert live(order(db, order_id).order) == {STORE.code: 2}

    after = record(db, STORE.code, MovementType.COUNT, 0)

    assert after == Position()
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=5, reserved=2)
    found = order(db, order_id)
    assert found.order.status is OrderStatus.ALLOCATED
    assert live(found.order) == {WAREHOUSE.code: 2}
    assert [e["event"] for e in found.history] == ["created", "resourced"]
    assert "went short (count of 0)" in found.history[-1]["detail"]
    assert [data["id"] for _, data in db.events("order.resourced")] == [order_id]


def test_only_the_units_missing_move_the_rest_stay_where_they_were(db: FakeDatabase) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 3)
    record(db, WAREHOUSE.code, MovementType.RECEIPT, 5)
    order_id = place(db, 3)

    record(db, STORE.code, MovementType.SALE, 2)  # a till sold two of the promised units

    assert db.position(STORE.code, TEE.sku) == Position(on_hand=1, reserved=1)
    assert live(order(db, order_id).order) == {STORE.code: 1, WAREHOUSE.code: 2}
    changed = [data["lines"] for _, data in db.events("fulfillment.changed")]
    assert changed == [[{"sku": TEE.sku, "quantity": 1}]]


def test_with_nothing_anywhere_else_the_order_waits_for_stock(db: FakeDatabase) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 2)
    order_id = place(db, 2)

    record(db, STORE.code, MovementType.DAMAGE, 2)

    assert db.position(STORE.code, TEE.sku) == Position(on_hand=2, unsellable=2)
    found = order(db, order_id).order
    assert found.status is OrderStatus.BACKORDERED
    assert backorders(found) == [(TEE.sku, 2)]
    assert [data["id"] for _, data in db.events("order.backordered")] == [order_id]
    assert db.events("order.status_changed")[-1][1]["status"] == OrderStatus.BACKORDERED


def test_a_pickup_short_at_its_store_waits_there_rather_than_move(db: FakeDatabase) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 2)
    record(db, WAREHOUSE.code, MovementType.RECEIPT, 5)
    order_id = place(db, 2, PICKUP)

    record(db, STORE.code, MovementType.COUNT, 1)

    found = order(db, order_id).order
    assert live(found) == {STORE.code: 1}
    assert backorders(found) == [(TEE.sku, 1)]
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 0


def test_holds_let_go_before_any_order_moves(db: FakeDatabase) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 4)
    record(db, WAREHOUSE.code, MovementType.RECEIPT, 5)
    order_id = place(db, 2)
    held = db.run(
        lambda uow: reservations.hold(uow, channel="web", lines=[(TEE.sku, 2)], location=STORE.code)
    )

    record(db, STORE.code, MovementType.COUNT, 2)

    with db.reading() as reads:
        assert reservations.get(reads, held.id).status == "released"
    assert live(order(db, order_id).order) == {STORE.code: 2}
    assert db.position(STORE.code, TEE.sku) == Position(on_hand=2, reserved=2)
    assert [data["id"] for _, data in db.events("reservation.released")] == [held.id]
    assert db.events("order.resourced") == []


def test_the_newest_order_moves_first(db: FakeDatabase) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 4)
    record(db, WAREHOUSE.code, MovementType.RECEIPT, 5)
    older, newer = place(db, 2), place(db, 2)

    record(db, STORE.code, MovementType.ADJUSTMENT, -1)

    assert live(order(db, older).order) == {STORE.code: 2}
    assert live(order(db, newer).order) == {STORE.code: 1, WAREHOUSE.code: 1}


def test_a_fact_that_leaves_enough_heals_nothing(db: FakeDatabase) -> None:
    record(db, STORE.code, MovementType.RECEIPT, 5)
    order_id = place(db, 2)
    seen = len(db.events())

    record(db, STORE.code, MovementType.SALE, 3)

    assert live(order(db, order_id).order) == {STORE.code: 2}
    assert [type for type, _ in db.events()[seen:]] == ["stock.changed", "availability.changed"]
