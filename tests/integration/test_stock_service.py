"""Items, locations and stock movements through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from omnistock.db import Database, UnitOfWork
from omnistock.db import stock as stock_sql
from omnistock.db.tables import events, movements
from omnistock.domain.catalog import Item
from omnistock.domain.errors import InvalidInput, NotFound, StockConflict
from omnistock.domain.stock import Deltas, MovementType, Position
from omnistock.services import catalog, stock
from omnistock.services.stock import MovementRecorded
from samples import CAP, STORE, TEE, WAREHOUSE


@pytest.fixture
def shop(db: Database) -> Database:
    """A database with two items and two locations, and no stock yet."""

    def create(uow: UnitOfWork) -> None:
        for item in (TEE, CAP):
            catalog.put_item(uow, item)
        for location in (STORE, WAREHOUSE):
            catalog.put_location(uow, location)

    db.run(create)
    return db


def record(
    db: Database,
    movement_type: str,
    quantity: int,
    *,
    sku: str = TEE.sku,
    location: str = STORE.code,
    reason: str | None = None,
    reference: str | None = None,
) -> MovementRecorded:
    return db.run(
        lambda uow: stock.record_movement(
            uow,
            location=location,
            sku=sku,
            movement_type=MovementType(movement_type),
            quantity=quantity,
            reason=reason,
            reference=reference,
        )
    )


def position(db: Database, *, sku: str = TEE.sku, location: str = STORE.code) -> Position | None:
    with db.reading() as reads:
        return dict(stock.stock_of(reads, sku)).get(location)


def ledger(db: Database, **filters: object) -> list[stock.Movement]:
    with db.reading() as reads:
        return stock.ledger(reads, **{"sku": TEE.sku, **filters})  # type: ignore[arg-type]


def count_rows(db: Database, table: object) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]


def drifts(db: Database) -> list[stock.Drift]:
    with db.reading() as reads:
        return list(stock.check(reads))


# --------------------------------------------------------------------------- catalog


def test_putting_a_new_item_creates_it_and_putting_it_again_updates_it(db: Database) -> None:
    renamed = Item(sku=TEE.sku, name="T-shirt, medium", price=Decimal("17.50"))

    assert db.run(lambda uow: catalog.put_item(uow, TEE)) is True
    assert db.run(lambda uow: catalog.put_item(uow, renamed)) is False

    with db.reading() as reads:
        assert catalog.get_item(reads, TEE.sku) == renamed


def test_an_item_comes_back_with_its_exact_decimal_price(db: Database) -> None:
    db.run(lambda uow: catalog.put_item(uow, TEE))
    db.run(lambda uow: catalog.put_item(uow, CAP))

    with db.reading() as reads:
        tee, cap = catalog.get_item(reads, TEE.sku), catalog.get_item(reads, CAP.sku)

    assert tee == TEE
    assert isinstance(tee.price, Decimal)
    assert str(tee.price) == "19.90"
    assert catalog.item_view(tee)["price"] == "19.90"
    assert cap.price is None and cap.barcode is None


def test_putting_a_new_location_creates_it_and_putting_it_again_updates_it(db: Database) -> None:
    closed = dataclasses.replace(
        STORE, name="Paris Rivoli (closed)", active=False, daily_capacity=None
    )

    assert db.run(lambda uow: catalog.put_location(uow, STORE)) is True
    assert db.run(lambda uow: catalog.put_location(uow, closed)) is False

    with db.reading() as reads:
        assert catalog.get_location(reads, STORE.code) == closed


def test_locations_come_back_as_they_were_put_ordered_by_code(db: Database) -> None:
    db.run(lambda uow: catalog.put_location(uow, WAREHOUSE))
    db.run(lambda uow: catalog.put_location(uow, STORE))

    with db.reading() as reads:
        assert catalog.list_locations(reads) == [STORE, WAREHOUSE]
        assert catalog.get_location(reads, WAREHOUSE.code) == WAREHOUSE


def test_an_unknown_item_or_location_is_not_found(db: Database) -> None:
    with db.reading() as reads:
        with pytest.raises(NotFound) as item:
            catalog.get_item(reads, "NOPE")
        with pytest.raises(NotFound) as location:
            catalog.get_location(reads, "NOWHERE")

    assert (item.value.resource, item.value.key, item.value.field) == ("item", "NOPE", "sku")
    assert (location.value.resource, location.value.field) == ("location", "code")


# --------------------------------------------------------------------------- movements


@pytest.mark.parametrize(
    ("movement_type", "quantity", "deltas", "after"),
    [
        ("receipt", 5, Deltas(on_hand=5), Position(on_hand=15, unsellable=2)),
        ("sale", 3, Deltas(on_hand=-3), Position(on_hand=7, unsellable=2)),
        ("sale", 8, Deltas(on_hand=-8), Position(on_hand=2, unsellable=2)),
        ("adjustment", 4, Deltas(on_hand=4), Position(on_hand=14, unsellable=2)),
        ("adjustment", -8, Deltas(on_hand=-8), Position(on_hand=2, unsellable=2)),
        ("count", 12, Deltas(on_hand=2), Position(on_hand=12, unsellable=2)),
        ("count", 7, Deltas(on_hand=-3), Position(on_hand=7, unsellable=2)),
        ("count", 10, Deltas(), Position(on_hand=10, unsellable=2)),
        ("damage", 3, Deltas(unsellable=3), Position(on_hand=10, unsellable=5)),
        ("damage", 8, Deltas(unsellable=8), Position(on_hand=10, unsellable=10)),
        ("dispose", 2, Deltas(on_hand=-2, unsellable=-2), Position(on_hand=8)),
    ],
)
def test_a_movement_changes_the_position_and_appends_its_deltas_to_the_ledger(
    shop: Database, movement_type: str, quantity: int, deltas: Deltas, after: Position
) -> None:
    record(shop, "receipt", 10)
    record(shop, "damage", 2)

    recorded = record(
        shop, movement_type, quantity, reason="shelf check", reference=f"{movement_type}-42"
    )

    assert recorded.position == after
    assert position(shop) == after
    last = ledger(shop)[-1]
    assert last == recorded.movement
    assert (last.sku, last.location, last.type) == (TEE.sku, STORE.code, movement_type)
    assert last.deltas == deltas
    assert (last.reason, last.reference) == ("shelf check", f"{movement_type}-42")
    assert last.at.tzinfo is not None and last.at.utcoffset() == dt.timedelta(0)
    assert drifts(shop) == []


def test_the_first_receipt_at_a_location_creates_the_position(shop: Database) -> None:
    assert position(shop, location=WAREHOUSE.code) is None

    recorded = record(shop, "receipt", 4, location=WAREHOUSE.code)

    assert recorded.position == Position(on_hand=4)
    assert position(shop, location=WAREHOUSE.code) == Position(on_hand=4)
    assert position(shop) is None  # the other location is untouched


def test_the_first_count_at_a_location_creates_the_position(shop: Database) -> None:
    recorded = record(shop, "count", 6)

    assert recorded.movement.deltas == Deltas(on_hand=6)
    assert position(shop) == Position(on_hand=6)


def test_movement_ids_grow_in_the_order_movements_are_recorded(shop: Database) -> None:
    ids = [record(shop, "receipt", n).movement.id for n in (1, 2, 3)]

    assert ids == sorted(ids) and len(set(ids)) == 3
    assert [m.id for m in ledger(shop)] == ids


@pytest.mark.parametrize(
    ("movement_type", "quantity", "reason"),
    [
        ("sale", 9, "only 8 sellable unit(s) on hand"),
        ("adjustment", -9, "on hand would drop to 1, below the 2 unsellable unit(s) it holds"),
        ("damage", 9, "only 8 unit(s) on hand are not already unsellable"),
        ("dispose", 3, "only 2 unsellable unit(s) to dispose of"),
    ],
)
def test_a_refused_movement_raises_a_stock_conflict_and_changes_nothing(
    shop: Database, movement_type: str, quantity: int, reason: str
) -> None:
    record(shop, "receipt", 10)
    record(shop, "damage", 2)
    before = Position(on_hand=10, unsellable=2)
    movements_before, events_before = count_rows(shop, movements), count_rows(shop, events)

    with pytest.raises(StockConflict) as refused:
        record(shop, movement_type, quantity)

    assert refused.value.reason == reason
    assert refused.value.position == before
    assert (refused.value.sku, refused.value.location) == (TEE.sku, STORE.code)
    assert (refused.value.movement_type, refused.value.quantity) == (movement_type, quantity)
    assert position(shop) == before
    assert count_rows(shop, movements) == movements_before
    assert count_rows(shop, events) == events_before


def test_a_refused_movement_at_a_location_without_stock_creates_no_position(
    shop: Database,
) -> None:
    for movement_type, quantity in [("sale", 1), ("adjustment", -1), ("damage", 1), ("dispose", 1)]:
        with pytest.raises(StockConflict) as refused:
            record(shop, movement_type, quantity)
        assert refused.value.position == Position(), movement_type

    assert position(shop) is None
    assert count_rows(shop, movements) == 0
    assert count_rows(shop, events) == 4  # the catalog's, none for the refused movements


def test_an_invalid_quantity_is_rejected_naming_the_quantity_and_changes_nothing(
    shop: Database,
) -> None:
    record(shop, "receipt", 10)

    for movement_type, quantity in [
        ("receipt", 0),
        ("sale", -1),
        ("adjustment", 0),
        ("count", -1),
        ("damage", 10**10),
    ]:
        with pytest.raises(InvalidInput) as rejected:
            record(shop, movement_type, quantity)
        assert rejected.value.field == "quantity", movement_type

    assert position(shop) == Position(on_hand=10)
    assert count_rows(shop, movements) == 1


def test_a_movement_of_an_unknown_item_is_not_found_naming_the_sku(shop: Database) -> None:
    with pytest.raises(NotFound) as missing:
        record(shop, "receipt", 1, sku="GHOST")

    assert (missing.value.resource, missing.value.key, missing.value.field) == (
        "item",
        "GHOST",
        "sku",
    )
    assert count_rows(shop, movements) == 0


def test_a_movement_at_an_unknown_location_is_not_found_naming_the_location(
    shop: Database,
) -> None:
    with pytest.raises(NotFound) as missing:
        record(shop, "receipt", 1, location="NOWHERE")

    assert (missing.value.resource, missing.value.key, missing.value.field) == (
        "location",
        "NOWHERE",
        "location",
    )
    assert count_rows(shop, movements) == 0


def test_an_item_created_in_a_rolled_back_unit_of_work_is_still_unknown_afterwards(
    shop: Database,
) -> None:
    class Abandoned(Exception):
        pass

    def create_stock_then_abandon(uow: UnitOfWork) -> None:
        catalog.put_item(uow, Item(sku="NEW-1", name="New"))
        stock.record_movement(
            uow, location=STORE.code, sku="NEW-1", movement_type=MovementType.RECEIPT, quantity=1
        )
        raise Abandoned

    with pytest.raises(Abandoned):
        shop.run(create_stock_then_abandon)

    with pytest.raises(NotFound) as missing:
        record(shop, "receipt", 1, sku="NEW-1")
    assert missing.value.field == "sku"


# --------------------------------------------------------------------------- physical facts


def reserve(db: Database, units: int, *, location: str = STORE.code) -> None:
    """Promise units to an order the way the reservations will: one guarded statement."""
    reserved = db.run(
        lambda uow: stock_sql.apply_deltas(
            uow.conn, sku=TEE.sku, location=location, deltas=Deltas(reserved=units)
        )
    )
    assert reserved is not None


def test_a_pos_sale_may_take_available_below_zero_when_units_are_reserved(
    shop: Database,
) -> None:
    record(shop, "receipt", 5)
    reserve(shop, 3)

    recorded = record(shop, "sale", 4)

    assert recorded.position == Position(on_hand=1, reserved=3)
    assert recorded.position.available == -2
    assert position(shop) == Position(on_hand=1, reserved=3)


def test_a_count_may_take_available_below_zero_and_keeps_the_reservations(
    shop: Database,
) -> None:
    record(shop, "receipt", 5)
    reserve(shop, 3)

    recorded = record(shop, "count", 1)

    assert recorded.movement.deltas == Deltas(on_hand=-4)
    assert recorded.position == Position(on_hand=1, reserved=3)
    assert recorded.position.available == -2


def test_a_sale_still_cannot_sell_units_that_are_not_on_hand_when_units_are_reserved(
    shop: Database,
) -> None:
    record(shop, "receipt", 5)
    reserve(shop, 3)

    with pytest.raises(StockConflict):
        record(shop, "sale", 6)

    assert position(shop) == Position(on_hand=5, reserved=3)


def test_a_count_that_finds_fewer_units_than_are_unsellable_writes_the_missing_ones_off(
    shop: Database,
) -> None:
    record(shop, "receipt", 10)
    record(shop, "damage", 4)

    recorded = record(shop, "count", 2)

    assert recorded.movement.deltas == Deltas(on_hand=-8, unsellable=-2)
    assert recorded.position == Position(on_hand=2, unsellable=2)
    assert record(shop, "count", 0).position == Position()
    assert drifts(shop) == []


# --------------------------------------------------------------------------- reading stock


def test_the_stock_of_an_item_lists_its_positions_by_location(shop: Database) -> None:
    record(shop, "receipt", 3, location=WAREHOUSE.code)
    record(shop, "receipt", 2, location=STORE.code)
    record(shop, "receipt", 7, sku=CAP.sku)

    with shop.reading() as reads:
        found = stock.stock_of(reads, TEE.sku)

    assert found == [(STORE.code, Position(on_hand=2)), (WAREHOUSE.code, Position(on_hand=3))]
    assert stock.total(found) == Position(on_hand=5)


def test_the_stock_of_a_known_item_without_stock_is_empty(shop: Database) -> None:
    with shop.reading() as reads:
        assert stock.stock_of(reads, CAP.sku) == []


def test_the_stock_of_an_unknown_item_is_not_found(shop: Database) -> None:
    with shop.reading() as reads, pytest.raises(NotFound) as missing:
        stock.stock_of(reads, "GHOST")

    assert missing.value.field == "sku"


def test_the_ledger_pages_oldest_first_after_an_id(shop: Database) -> None:
    ids = [
        record(shop, "receipt", n, location=loc).movement.id
        for n, loc in enumerate([STORE.code, WAREHOUSE.code] * 3, start=1)
    ]
    record(shop, "receipt", 9, sku=CAP.sku)

    assert [m.id for m in ledger(shop)] == ids
    assert [m.id for m in ledger(shop, limit=2)] == ids[:2]
    assert [m.id for m in ledger(shop, after=ids[1], limit=2)] == ids[2:4]
    assert [m.id for m in ledger(shop, after=ids[3], limit=10)] == ids[4:]
    assert ledger(shop, after=ids[-1]) == []


def test_the_ledger_filtered_by_location_shows_only_that_locations_movements(
    shop: Database,
) -> None:
    for n, loc in enumerate([STORE.code, WAREHOUSE.code] * 3, start=1):
        record(shop, "receipt", n, location=loc)

    at_warehouse = ledger(shop, location=WAREHOUSE.code)
    assert [(m.location, m.deltas.on_hand) for m in at_warehouse] == [
        (WAREHOUSE.code, 2),
        (WAREHOUSE.code, 4),
        (WAREHOUSE.code, 6),
    ]
    paged = ledger(shop, location=WAREHOUSE.code, after=at_warehouse[0].id, limit=1)
    assert paged == [at_warehouse[1]]


def test_the_ledger_of_an_unknown_item_or_location_is_not_found(shop: Database) -> None:
    record(shop, "receipt", 1)

    with pytest.raises(NotFound) as item:
        ledger(shop, sku="GHOST")
    with pytest.raises(NotFound) as location:
        ledger(shop, location="NOWHERE")

    assert item.value.field == "sku"
    assert location.value.field == "location"
    assert ledger(shop, location=WAREHOUSE.code) == []  # known location, no movement there


# --------------------------------------------------------------------------- check


def test_check_finds_no_drift_after_normal_use(shop: Database) -> None:
    assert drifts(shop) == []
    for movement_type, quantity, loc in [
        ("receipt", 20, STORE.code),
        ("sale", 3, STORE.code),
        ("damage", 2, STORE.code),
        ("count", 12, STORE.code),
        ("dispose", 1, STORE.code),
        ("adjustment", -2, STORE.code),
        ("receipt", 5, WAREHOUSE.code),
        ("count", 0, WAREHOUSE.code),
    ]:
        record(shop, movement_type, quantity, location=loc)
    with pytest.raises(StockConflict):
        record(shop, "sale", 100)

    assert drifts(shop) == []


def test_check_reports_a_position_changed_behind_the_ledgers_back(shop: Database) -> None:
    record(shop, "receipt", 5)
    record(shop, "receipt", 4, location=WAREHOUSE.code)

    shop.run(
        lambda uow: uow.conn.execute(
            text("UPDATE positions SET on_hand = on_hand + 1 WHERE location = :loc"),
            {"loc": STORE.code},
        )
    )

    assert drifts(shop) == [
        stock.Drift(TEE.sku, STORE.code, stored=Position(on_hand=6), replayed=Position(on_hand=5))
    ]


def test_check_reports_a_movement_that_has_no_position(shop: Database) -> None:
    record(shop, "receipt", 5)

    shop.run(
        lambda uow: stock_sql.append_movement(
            uow.conn,
            at=uow.now,
            sku=CAP.sku,
            location=WAREHOUSE.code,
            type="receipt",
            deltas=Deltas(on_hand=3),
        )
    )

    assert drifts(shop) == [
        stock.Drift(CAP.sku, WAREHOUSE.code, stored=Position(), replayed=Position(on_hand=3))
    ]


def test_check_reports_a_position_that_no_movement_explains(shop: Database) -> None:
    record(shop, "receipt", 5)
    reserve(shop, 2)  # a change with no movement in the ledger
    reserve(shop, 1, location=WAREHOUSE.code)  # a position with no movement at all

    assert sorted(drifts(shop), key=lambda d: d.location) == [
        stock.Drift(
            TEE.sku,
            STORE.code,
            stored=Position(on_hand=5, reserved=2),
            replayed=Position(on_hand=5),
        ),
        stock.Drift(TEE.sku, WAREHOUSE.code, stored=Position(reserved=1), replayed=Position()),
    ]


def test_putting_the_same_item_twice_in_one_unit_of_work_creates_it_once(db: Database) -> None:
    created = db.run(
        lambda uow: (
            catalog.put_item(uow, Item(sku="TWICE", name="first")),
            catalog.put_item(uow, Item(sku="TWICE", name="second")),
        )
    )

    assert created == (True, False)
    with db.reading() as reads:
        assert catalog.get_item(reads, "TWICE").name == "second"
