"""Orders (omnistock.services.orders) on the in-memory fakes: sourced from the best location
and reserved there, placed once per external id, taken over from a hold, and cancelled.

A Paris store (ships, offers pickup) and a Lyon warehouse; the customer lives in Paris, so
the store is the first choice for every shipment it can serve whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fakes import FakeDatabase, FakeUnitOfWork, lose_every_race_but_the_last

from omnistock.domain.availability import Channel
from omnistock.domain.errors import InsufficientStock, ReservationEnded, ShortLine
from omnistock.domain.orders import FulfilmentStatus, Order, OrderPolicy, OrderStatus
from omnistock.domain.stock import Deltas, MovementType, Position
from omnistock.services import orders, reservations, stock
from omnistock.services.views import order_view
from samples import CAP, STORE, TEE, WAREHOUSE

POLICY = OrderPolicy()  # what the fakes run with

MONTMARTRE = {"lat": 48.8867, "lon": 2.3431}  # 3 km from the store, 390 from Lyon
SHIP = {"method": "ship", "address": {"line1": "18 rue Lepic", "city": "Paris", **MONTMARTRE}}
PRICE = Decimal("19.90")


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


def new_order(*lines: tuple[str, int], **fields: Any) -> orders.NewOrder:
    return orders.NewOrder(
        channel="web",
        customer={"name": "Ada"},
        delivery=fields.pop("delivery", SHIP),
        lines=[(sku, quantity, PRICE) for sku, quantity in lines],
        **fields,
    )


def place(db: FakeDatabase, new: orders.NewOrder) -> Order:
    order, created = db.run(lambda uow: orders.place(uow, new))
    assert created
    return order


def shipped_from(order: Order) -> dict[str, list[tuple[str, int]]]:
    """Each live fulfilment's location and lines."""
    return {
        f.location: sorted(f.lines)
        for f in order.fulfilments
        if f.status is not FulfilmentStatus.CANCELLED
    }


def test_an_order_ships_from_the_store_near_the_customer_and_reserves_there(
    db: FakeDatabase,
) -> None:
    receive(db, STORE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    order = place(db, new_order((TEE.sku, 2)))

    assert order.status is OrderStatus.ALLOCATED
    assert shipped_from(order) == {STORE.code: [(TEE.sku, 2)]}
    assert db.position(STORE.code, TEE.sku) == Position(on_hand=5, reserved=2)
    assert db.position(WAREHOUSE.code, TEE.sku) == Position(on_hand=5)
    with db.reading() as reads:
        last = reads.stock.ledger(sku=TEE.sku, location=STORE.code, after=0, limit=10)[-1]
        decision = orders.sourcing_view(orders.sourcing_of(reads, order.id))["decision"]
    assert (last.type, last.deltas, last.reference) == (
        "allocate",
        Deltas(reserved=2),
        f"order:{order.id}",
    )
    assert decision["plan"] == [
        {"location": STORE.code, "lines": [{"sku": TEE.sku, "quantity": 2}]}
    ]
    assert db.events("order.created") == [("order.created", order_view(order, POLICY))]


def test_an_order_the_store_cannot_serve_whole_goes_to_the_warehouse(db: FakeDatabase) -> None:
    receive(db, STORE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, CAP.sku, 5)

    order = place(db, new_order((TEE.sku, 2), (CAP.sku, 1)))

    assert shipped_from(order) == {WAREHOUSE.code: [(CAP.sku, 1), (TEE.sku, 2)]}
    assert db.position(STORE.code, TEE.sku).reserved == 0


def test_an_order_is_not_served_from_units_the_channel_buffer_keeps_back(
    db: FakeDatabase,
) -> None:
    receive(db, STORE.code, TEE.sku, 3)
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    db.add_rule(channel="web", location=STORE.code, units=2)

    order = place(db, new_order((TEE.sku, 2)))

    assert shipped_from(order) == {WAREHOUSE.code: [(TEE.sku, 2)]}


def test_an_order_that_cannot_be_served_whole_is_refused_and_leaves_nothing(
    db: FakeDatabase,
) -> None:
    receive(db, STORE.code, TEE.sku, 1)
    receive(db, WAREHOUSE.code, TEE.sku, 1)

    with pytest.raises(InsufficientStock) as refused:
        db.run(lambda uow: orders.place(uow, new_order((TEE.sku, 3))))

    assert refused.value.lines == [ShortLine(TEE.sku, 3, 2)]
    assert db.tables.orders == {}
    assert db.position(STORE.code, TEE.sku).reserved == 0
    assert db.events("order.created") == []


def test_a_partial_order_reserves_what_there_is_and_backorders_the_rest(
    db: FakeDatabase,
) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 2)

    order = place(db, new_order((TEE.sku, 5), allow_partial=True))

    assert order.status is OrderStatus.PARTIALLY_ALLOCATED
    assert [(line.sku, line.backordered) for line in order.lines] == [(TEE.sku, 3)]
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 2
    assert [data["id"] for _, data in db.events("order.backordered")] == [order.id]


def test_the_same_external_id_again_is_the_same_order_and_reserves_nothing_more(
    db: FakeDatabase,
) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    first = place(db, new_order((TEE.sku, 2), external_id="web-1"))

    again, created = db.run(
        lambda uow: orders.place(uow, new_order((TEE.sku, 2), external_id="web-1"))
    )

    assert not created
    assert again == first
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 2
    assert len(db.events("order.created")) == 1


def test_a_store_at_its_daily_capacity_passes_shipments_to_the_warehouse(
    db: FakeDatabase,
) -> None:
    db.add(dataclasses.replace(STORE, daily_capacity=1))
    receive(db, STORE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    first = place(db, new_order((TEE.sku, 1)))
    second = place(db, new_order((TEE.sku, 1)))

    assert shipped_from(first) == {STORE.code: [(TEE.sku, 1)]}
    assert shipped_from(second) == {WAREHOUSE.code: [(TEE.sku, 1)]}


def test_an_order_takes_over_a_hold_where_its_units_are_held(db: FakeDatabase) -> None:
    receive(db, STORE.code, TEE.sku, 5)
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    held = db.run(lambda uow: reservations.hold(uow, channel="web", lines=[(TEE.sku, 2)]))

    order = place(db, new_order((TEE.sku, 2), reservation_id=held.id))

    assert shipped_from(order) == {WAREHOUSE.code: [(TEE.sku, 2)]}  # held there, not in Paris
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 2
    assert db.position(STORE.code, TEE.sku).reserved == 0
    with db.reading() as reads:
        assert reservations.get(reads, held.id).status == "ordered"
    with pytest.raises(ReservationEnded):
        db.run(lambda uow: orders.place(uow, new_order((TEE.sku, 2), reservation_id=held.id)))


def test_cancelling_an_order_gives_its_units_back(db: FakeDatabase) -> None:
    receive(db, STORE.code, TEE.sku, 5)
    placed = place(db, new_order((TEE.sku, 2)))

    order = db.run(lambda uow: orders.cancel(uow, placed.id))

    assert order.status is OrderStatus.CANCELLED
    assert [f.status for f in order.fulfilments] == [FulfilmentStatus.CANCELLED]
    assert order.lines[0].cancelled == 2
    assert db.position(STORE.code, TEE.sku) == Position(on_hand=5)
    with db.reading() as reads:
        last = reads.stock.ledger(sku=TEE.sku, location=STORE.code, after=0, limit=10)[-1]
    assert (last.type, last.deltas) == ("deallocate", Deltas(reserved=-2))
    assert db.events("order.status_changed") == [
        ("order.status_changed", order_view(order, POLICY))
    ]


def test_cancelling_some_units_shrinks_the_fulfilment_and_backorders_go_first(
    db: FakeDatabase,
) -> None:
    receive(db, STORE.code, TEE.sku, 3)
    placed = place(db, new_order((TEE.sku, 5), allow_partial=True))  # 3 at the store, 2 wait

    order = db.run(lambda uow: orders.cancel(uow, placed.id, [(TEE.sku, 3)]))

    assert [line.backordered for line in order.lines] == [0]
    assert shipped_from(order) == {STORE.code: [(TEE.sku, 2)]}
    assert db.position(STORE.code, TEE.sku) == Position(on_hand=3, reserved=2)
    assert [data["lines"] for _, data in db.events("fulfillment.changed")] == [
        [{"sku": TEE.sku, "quantity": 2}]
    ]
    assert order.status is OrderStatus.ALLOCATED  # no longer waits for stock
    assert db.events("order.status_changed") == [
        ("order.status_changed", order_view(order, POLICY))
    ]
    assert db.events("order.changed") == []  # only when some units go and the status stays


def test_cancelling_some_units_of_an_allocated_order_announces_the_change(
    db: FakeDatabase,
) -> None:
    receive(db, WAREHOUSE.code, TEE.sku, 5)
    placed = place(db, new_order((TEE.sku, 2)))

    order = db.run(lambda uow: orders.cancel(uow, placed.id, [(TEE.sku, 1)]))

    assert order.status is OrderStatus.ALLOCATED
    assert db.position(WAREHOUSE.code, TEE.sku).reserved == 1
    assert db.events("order.changed") == [("order.changed", order_view(order, POLICY))]
    assert db.events("order.status_changed") == []


def test_the_last_attempt_sources_only_from_the_rows_it_locked(
    db: FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every attempt but the last loses its race; just as the last has locked its rows, the
    store near the customer receives its first units of the item. That new position was not
    locked: with row locks the order ships from the warehouse rather than take a lock out of
    order; with one writer every row is the writer's, and the store serves it."""
    receive(db, WAREHOUSE.code, TEE.sku, 5)

    def place_racing(uow: FakeUnitOfWork) -> Order:
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
        return orders.place(uow, new_order((TEE.sku, 1)))[0]

    order = db.run(place_racing)

    served_by = STORE if db.single_writer else WAREHOUSE
    assert shipped_from(order) == {served_by.code: [(TEE.sku, 1)]}
