"""The demo retailer: stores in real French cities, a catalogue that reads like one, stock held as
a chain holds it, all of it through the ledger, and loaded once however often it is asked for."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console
from sqlalchemy import Connection, func, select

from omnistock.db import Database, UnitOfWork
from omnistock.db.tables import events, items, locations, movements, positions
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import InvalidInput
from omnistock.domain.stock import MovementType
from omnistock.services import availability, catalog, channels, stock
from omnistock.services.demo import DEMO_REFERENCE, load_demo, plan_demo

ITEMS = 200  # keeps each load well under a second; the default size is measured by the CLI
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_valid_ean13(barcode: str) -> bool:
    """Written here from the GS1 rule, independently of the code under test."""
    if not re.fullmatch(r"\d{13}", barcode):
        return False
    weighted = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(barcode[:12]))
    return (10 - weighted % 10) % 10 == int(barcode[12])


def location_rows(conn: Connection) -> dict[str, Any]:
    return {row.code: row for row in conn.execute(select(locations))}


def stock_by_type(conn: Connection, location_type: str) -> list[Any]:
    query = (
        select(positions)
        .join(locations, locations.c.code == positions.c.location)
        .where(locations.c.type == location_type)
    )
    return list(conn.execute(query))


def count_by_type(conn: Connection, column: Any) -> dict[str, int]:
    rows = conn.execute(select(column, func.count()).group_by(column))
    return {kind: count for kind, count in rows}


def snapshot(db: Database) -> dict[str, object]:
    """Everything a load could change, in a few numbers."""
    with db.read() as conn:
        p = positions.c
        return {
            "locations": conn.execute(select(func.count()).select_from(locations)).scalar_one(),
            "items": conn.execute(select(func.count()).select_from(items)).scalar_one(),
            "updated": conn.execute(select(func.max(items.c.updated_at))).scalar_one(),
            "positions": conn.execute(select(func.count()).select_from(positions)).scalar_one(),
            "quantities": tuple(
                conn.execute(
                    select(
                        func.sum(p.on_hand),
                        func.sum(p.reserved),
                        func.sum(p.unsellable),
                        func.sum(p.inbound),
                    )
                ).one()
            ),
            "movements": conn.execute(select(func.count()).select_from(movements)).scalar_one(),
            "events": conn.execute(select(func.count()).select_from(events)).scalar_one(),
        }


def test_the_validator_used_here_accepts_a_real_ean13_and_rejects_a_wrong_check_digit() -> None:
    assert is_valid_ean13("4006381333931")
    assert not is_valid_ean13("4006381333932")


def test_the_demo_opens_two_warehouses_and_stores_in_real_french_cities(db: Database) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        found = location_rows(conn)
    warehouses = [r for r in found.values() if r.type == "warehouse"]
    stores = [r for r in found.values() if r.type == "store"]
    assert len(warehouses) >= 2
    assert len(stores) >= 30
    assert {
        "WH-LYON",
        "WH-PARIS",
        "ST-PARIS",
        "ST-LYON",
        "ST-MARSEILLE",
        "ST-SAINT-ETIENNE",
    } <= set(found)
    for row in found.values():
        assert CODE.match(row.code) and row.code.isascii(), row.code
        assert 41 <= row.lat <= 52 and -5 <= row.lon <= 10, row.code
    assert found["ST-PARIS"].lat == pytest.approx(48.86, abs=0.05)
    assert found["ST-PARIS"].lon == pytest.approx(2.35, abs=0.05)
    assert found["ST-MARSEILLE"].lat == pytest.approx(43.30, abs=0.05)
    assert found["ST-SAINT-ETIENNE"].name.startswith("Saint-Étienne")


def test_warehouses_ship_and_are_preferred_stores_offer_pickup_and_the_big_ones_ship(
    db: Database,
) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        found = location_rows(conn)
    warehouses = [r for r in found.values() if r.type == "warehouse"]
    stores = [r for r in found.values() if r.type == "store"]
    assert all(w.ship_enabled and not w.pickup_enabled for w in warehouses)
    assert all(s.pickup_enabled for s in stores)
    assert max(w.priority for w in warehouses) < min(s.priority for s in stores)
    shipping = [s for s in stores if s.ship_enabled]
    assert 0 < len(shipping) < len(stores)
    assert all(20 <= s.daily_capacity <= 80 for s in stores)
    assert found["ST-PARIS"].ship_enabled
    assert found["ST-PARIS"].daily_capacity == max(s.daily_capacity for s in stores)
    assert min(s.daily_capacity for s in shipping) >= max(
        s.daily_capacity for s in stores if not s.ship_enabled
    )


def test_demo_items_read_like_a_catalogue_with_valid_ean13_barcodes_and_prices(
    db: Database,
) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        rows = list(conn.execute(select(items)))
    assert len(rows) == ITEMS
    assert len({r.barcode for r in rows}) == ITEMS
    assert all(is_valid_ean13(r.barcode) for r in rows)
    assert all(CODE.match(r.sku) for r in rows)
    for row in rows:
        assert isinstance(row.price, Decimal)
        assert Decimal("1") <= row.price <= Decimal("1000")
        assert row.price == row.price.quantize(Decimal("0.01"))
    departments = {r.sku.split("-")[0] for r in rows}
    assert len(departments) >= 8, departments
    names = {r.name for r in rows}
    assert len(names) == ITEMS
    assert any(re.fullmatch(r".+ — [a-z ]+, (XS|S|M|L|XL|XXL)", name) for name in names)


def test_warehouses_hold_deep_stock_and_stores_a_few_units_of_part_of_the_range(
    db: Database,
) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        in_warehouses = stock_by_type(conn, "warehouse")
        in_stores = stock_by_type(conn, "store")
    warehouse_depth = sum(p.on_hand for p in in_warehouses) / len(in_warehouses)
    store_depth = sum(p.on_hand for p in in_stores) / len(in_stores)
    assert warehouse_depth > 10 * store_depth
    assert len({p.sku for p in in_warehouses}) == ITEMS  # every item is held centrally

    range_carried: dict[str, int] = {}
    for p in in_stores:
        range_carried[p.location] = range_carried.get(p.location, 0) + 1
    assert len(range_carried) >= 30
    assert max(range_carried.values()) < ITEMS  # no store carries the whole range...
    assert range_carried["ST-PARIS"] == max(range_carried.values())  # ...the biggest the most
    assert range_carried["ST-PARIS"] > 2 * min(range_carried.values())

    assert any(p.on_hand == 0 for p in in_stores)  # a few sold out
    damaged = [p for p in in_warehouses + in_stores if p.unsellable > 0]
    assert damaged
    assert all(p.unsellable <= p.on_hand for p in damaged)
    assert len(damaged) < len(in_stores) // 10  # here and there, not everywhere


def test_the_opening_stock_goes_through_the_ledger_and_replays_clean(db: Database) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        assert list(stock.check(conn)) == []
        by_type = count_by_type(conn, movements.c.type)
        references = set(conn.execute(select(movements.c.reference).distinct()).scalars())
        position_count = conn.execute(select(func.count()).select_from(positions)).scalar_one()
        sold_out = conn.execute(
            select(positions.c.sku).where(positions.c.on_hand == 0).limit(1)
        ).scalar_one()
        sold_out_ledger = stock.ledger(conn, sku=sold_out)
    assert set(by_type) == {"receipt", "damage", "sale"}
    assert by_type["receipt"] == position_count  # every position was received once
    assert len(references) == 1  # one reference, unique to this load
    assert references.pop().startswith(f"{DEMO_REFERENCE}/")
    zero = [m for m in sold_out_ledger if m.type == "sale"]
    assert zero and all(m.deltas.on_hand < 0 for m in zero)


def test_loading_the_demo_twice_changes_nothing_the_second_time(db: Database) -> None:
    first = load_demo(db, items=ITEMS)
    before = snapshot(db)

    second = load_demo(db, items=ITEMS)

    assert snapshot(db) == before
    assert second == f"already loaded, nothing changed: {first}"


def test_two_loads_at_once_load_the_demo_once(db: Database) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(pool.map(lambda _: load_demo(db, items=ITEMS), range(2)))

    assert sum(s.startswith("already loaded") for s in summaries) == 1
    with db.read() as conn:
        receipts = conn.execute(
            select(func.count()).select_from(movements).where(movements.c.type == "receipt")
        ).scalar_one()
        position_count = conn.execute(select(func.count()).select_from(positions)).scalar_one()
        assert list(stock.check(conn)) == []
    assert receipts == position_count


def test_the_summary_counts_what_was_loaded(db: Database) -> None:
    summary = load_demo(db, items=ITEMS)

    with db.read() as conn:
        count, units = conn.execute(select(func.count(), func.sum(positions.c.on_hand))).one()
    assert summary == f"2 warehouses, 32 stores, 200 items, {count:,} positions, {units:,} units"


def test_the_feed_gets_the_catalogue_and_one_demo_loaded_event_not_one_per_position(
    db: Database,
) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        by_type = count_by_type(conn, events.c.type)
        loaded = conn.execute(
            select(events.c.data).where(events.c.type == "demo.loaded")
        ).scalar_one()
        count, units = conn.execute(select(func.count(), func.sum(positions.c.on_hand))).one()
    assert by_type == {
        "location.created": 34,
        "item.created": ITEMS,
        "channel.created": 4,
        "buffer_rule.created": 4,
        "demo.loaded": 1,
    }
    assert loaded["positions"] == count
    assert loaded["units"] == units
    assert loaded["items"] == ITEMS


def test_the_demo_adds_to_stock_already_recorded_at_its_locations(db: Database) -> None:
    """Loading into a database that already holds some of the demo's stock adds, never
    overwrites, and the ledger still replays clean."""
    plan = plan_demo(items=ITEMS)
    warehouse = plan.locations[0].location
    held = next(h for h in plan.holdings if h.location == warehouse.code)
    item = next(p.item for p in plan.items if p.item.sku == held.sku)

    def receive_five(uow: UnitOfWork) -> None:
        catalog.put_location(uow, warehouse)
        catalog.put_item(uow, item)
        stock.record_movement(
            uow,
            location=warehouse.code,
            sku=item.sku,
            movement_type=MovementType.RECEIPT,
            quantity=5,
        )

    db.run(receive_five)
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        found = dict(stock.stock_of(conn, item.sku))
        assert list(stock.check(conn)) == []
    assert found[warehouse.code].on_hand == 5 + held.received
    assert found[warehouse.code].unsellable == held.damaged


def test_a_demo_of_no_items_or_more_than_the_catalogue_holds_is_refused_and_writes_nothing(
    db: Database,
) -> None:
    with pytest.raises(InvalidInput):
        load_demo(db, items=0)
    with pytest.raises(InvalidInput):
        load_demo(db, items=100_000)

    assert snapshot(db)["locations"] == 0


def test_the_load_shows_its_progress_on_the_console_it_is_given(db: Database) -> None:
    out = io.StringIO()

    load_demo(db, items=ITEMS, console=Console(file=out, width=120))

    shown = out.getvalue()
    assert "Opening stock movements" in shown
    assert "Locations and items" in shown


def test_the_same_seed_plans_the_same_retailer_and_another_seed_another() -> None:
    assert plan_demo(items=ITEMS, seed=7) == plan_demo(items=ITEMS, seed=7)
    assert plan_demo(items=ITEMS, seed=8).holdings != plan_demo(items=ITEMS, seed=7).holdings


def test_store_codes_are_ascii_even_for_accented_cities() -> None:
    stores = [p.location for p in plan_demo(items=1).locations]
    assert all(isinstance(s, Location) for s in stores)
    codes = {s.name.removesuffix(" store"): s.code for s in stores if s.type is LocationType.STORE}
    assert codes["Saint-Étienne"] == "ST-SAINT-ETIENNE"
    assert codes["Nîmes"] == "ST-NIMES"
    assert codes["Besançon"] == "ST-BESANCON"
    assert len(set(codes.values())) == len(codes)


def test_a_client_movement_with_the_demo_reference_does_not_skew_the_demo_stock(
    db: Database,
) -> None:
    """The demo sums its own movements into positions; a client's look-alike must not count."""
    db.run(lambda uow: catalog.put_item(uow, Item("LOOKALIKE", "x")))
    plan = plan_demo(items=ITEMS)
    first = plan.locations[0].location
    db.run(lambda uow: catalog.put_location(uow, first))
    db.run(
        lambda uow: stock.record_movement(
            uow,
            location=first.code,
            sku="LOOKALIKE",
            movement_type=MovementType.RECEIPT,
            quantity=7,
            reference=DEMO_REFERENCE,
        )
    )

    summary = load_demo(db, items=ITEMS)

    assert not summary.startswith("already loaded"), summary
    with db.read() as conn:
        assert list(stock.check(conn)) == []
        assert dict(stock.stock_of(conn, "LOOKALIKE"))[first.code].on_hand == 7


def test_the_demo_sets_up_the_web_shop_the_stores_and_two_marketplaces_with_buffers(
    db: Database,
) -> None:
    load_demo(db, items=ITEMS)

    with db.read() as conn:
        codes = [c.code for c in channels.list_channels(conn)]
        rules = channels.list_rules(conn)
        store = channels.get_channel(conn, "store")
        sku = next(r.sku for r in rules if r.sku is not None)
        web = availability.of_item(conn, db.configuration, channel="web", sku=sku)
    assert codes == ["marketplace-fashion", "marketplace-general", "store", "web"]
    assert store.location_types == (LocationType.STORE,)
    assert {(r.channel, r.units, r.basis_points) for r in rules if r.sku is None} == {
        ("web", 2, None),
        ("marketplace-fashion", None, 2_000),
        ("marketplace-general", None, 3_000),
    }
    assert all(entry.buffer == 5 for entry in web.locations)  # the fragile, priciest item
