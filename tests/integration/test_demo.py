"""The demo retailer: stores in real French cities, a catalogue that reads like one, stock held as
a chain holds it, all of it through the ledger, a few hundred orders in every state of their
workflow, some of them returned, transfers in every status, and loaded once however often it
is asked for.

Tests that only read a loaded demo share one load per backend (`demo`); those that load it
themselves, or change it, take a fresh database each (`db`).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from omnistock.api.schemas.imports import validator
from omnistock.db import Database, UnitOfWork
from omnistock.db.tables import (
    events,
    fulfilment_lines,
    fulfilments,
    items,
    locations,
    metadata,
    movements,
    order_history,
    orders,
    positions,
    returns,
    transfers,
)
from omnistock.demo import DEMO_REFERENCE, ORDERS, load_demo, plan_demo
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import InvalidInput
from omnistock.domain.orders import OPEN, DeliveryMethod, FulfilmentStatus, Order, OrderStatus
from omnistock.domain.returns import Condition, Return
from omnistock.domain.stock import MovementType, Position
from omnistock.domain.transfers import Transfer, TransferStatus
from omnistock.events.feed import feed
from omnistock.services import availability, catalog, channels, stock
from omnistock.services import orders as order_service
from omnistock.services import returns as return_service
from omnistock.services import transfers as transfer_service
from paging import every

ITEMS = 200  # keeps each load short; the default size is measured by the CLI
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEMO_CHANNELS = {"web", "store", "marketplace-fashion", "marketplace-general"}


@dataclass(frozen=True)
class Loaded:
    db: Database
    summary: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    """One demo (ITEMS items and its orders) loaded once per backend, for tests that only read."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo')}/omnistock.db"
        drop = None
    else:
        admin_url: str = request.getfixturevalue("pg_server_url")
        template: str = request.getfixturevalue("pg_template")
        name = f"demo_{uuid.uuid4().hex}"
        with admin_connect(admin_url) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'.encode())
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        drop = (admin_url, name)
    database = Database(url)
    try:
        database.migrate()
        yield Loaded(database, load_demo(database, checks=validator, items=ITEMS))
    finally:
        database.dispose()
        if drop is not None:
            with admin_connect(drop[0]) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{drop[1]}" WITH (FORCE)'.encode())


def admin_connect(url: str) -> psycopg.Connection[Any]:
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq, autocommit=True, connect_timeout=10)


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


def count(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def snapshot(db: Database) -> dict[str, object]:
    """Everything a load could change, in a few numbers."""
    with db.read() as conn:
        p = positions.c
        return {
            "locations": count(conn, locations),
            "items": count(conn, items),
            "updated": conn.execute(select(func.max(items.c.updated_at))).scalar_one(),
            "positions": count(conn, positions),
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
            "movements": count(conn, movements),
            "events": count(conn, events),
            "orders": count(conn, orders),
            "fulfillments": count(conn, fulfilments),
            "history": count(conn, order_history),
        }


def every_row(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.read() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def all_orders(db: Database) -> list[Order]:
    """Every order."""
    return every(db, order_service.list_orders)


def demo_orders(db: Database) -> list[Order]:
    return [o for o in all_orders(db) if (o.external_id or "").startswith("demo-")]


def fulfilment_rows(db: Database) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(fulfilments)))


def all_returns(db: Database) -> list[Return]:
    """Every return."""
    return every(db, return_service.list_returns)


def all_transfers(db: Database) -> list[Transfer]:
    """Every transfer."""
    return every(db, transfer_service.list_transfers)


def orders_by_id(db: Database) -> dict[int, Order]:
    return {o.id: o for o in all_orders(db)}


def kinds_of(db: Database) -> dict[str, str]:
    """Each location's type, by code."""
    with db.read() as conn:
        return {code: row.type for code, row in location_rows(conn).items()}


def test_the_validator_used_here_accepts_a_real_ean13_and_rejects_a_wrong_check_digit() -> None:
    assert is_valid_ean13("4006381333931")
    assert not is_valid_ean13("4006381333932")


def test_the_demo_opens_two_warehouses_and_stores_in_real_french_cities(demo: Loaded) -> None:
    with demo.db.read() as conn:
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
    demo: Loaded,
) -> None:
    with demo.db.read() as conn:
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
    demo: Loaded,
) -> None:
    with demo.db.read() as conn:
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
    demo: Loaded,
) -> None:
    with demo.db.read() as conn:
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


def test_the_opening_stock_is_imported_as_one_count_a_position_and_replays_clean(
    demo: Loaded,
) -> None:
    """The opening stock is the demo's stock.csv imported as a snapshot: one `count` a
    position holding units (one sold out before opening is counted 0 and not written), all
    under one reference unique to this load, and the ledger replays to the positions."""
    m = movements.c
    opening = m.reference.startswith(f"{DEMO_REFERENCE}/")
    with demo.db.reading() as reads:
        assert list(stock.check(reads)) == []
        query = select(m.type, func.count()).where(opening).group_by(m.type)
        by_type = {kind: n for kind, n in reads.conn.execute(query)}
        references = set(
            reads.conn.execute(select(m.reference).where(opening).distinct()).scalars()
        )
        counted = {
            (row.location, row.sku): (row.on_hand, row.unsellable)
            for row in reads.conn.execute(select(m.location, m.sku, m.on_hand, m.unsellable)
                                          .where(opening))
        }  # fmt: skip
        held = set(reads.conn.execute(select(positions.c.location, positions.c.sku)))
        opened_later: dict[tuple[str, str], str] = {}  # by the trading, where not held before
        for row in reads.conn.execute(select(m.location, m.sku, m.type).order_by(m.id)):
            if (row.location, row.sku) not in counted:
                opened_later.setdefault((row.location, row.sku), row.type)
    planned = {
        (h.location, h.sku): (h.received - h.sold, h.damaged)
        for h in plan_demo(items=ITEMS).holdings
        if h.received > h.sold
    }
    assert set(by_type) == {"count"}
    assert counted == planned  # each position as the plan holds it, damaged units unsellable
    assert any(unsellable for _, unsellable in counted.values())
    assert len(planned) < len(plan_demo(items=ITEMS).holdings)  # some were sold out
    assert held == set(counted) | set(opened_later)  # every position counted once, or...
    assert set(opened_later.values()) == {"return", "inbound"}  # ...a return or a transfer
    assert len(references) == 1  # one reference, unique to this load


def test_loading_the_demo_twice_changes_nothing_and_places_no_order_the_second_time(
    db: Database,
) -> None:
    first = load_demo(db, checks=validator, items=ITEMS)
    before = every_row(db)

    second = load_demo(db, checks=validator, items=ITEMS)

    assert every_row(db) == before
    assert second == f"already loaded, nothing changed: {first}"
    assert len(before["orders"]) == ORDERS


def test_a_load_cut_short_is_completed_by_the_next_one_without_placing_any_order_twice(
    db: Database,
) -> None:
    """The orders are placed a batch a transaction: a load stopped after some of them (here,
    one asked for fewer) leaves those in place, and the next load places only the others."""
    load_demo(db, checks=validator, items=ITEMS, orders=40)
    early = {o.external_id: o.id for o in demo_orders(db)}

    summary = load_demo(db, checks=validator, items=ITEMS, orders=120)

    placed = {o.external_id: o.id for o in demo_orders(db)}
    assert not summary.startswith("already loaded")
    assert ", 120 orders, " in summary
    assert len(early) == 40 and len(placed) == 120
    assert {external: placed[external] for external in early} == early  # the same orders
    returned = [r.order_id for r in all_returns(db)]
    references = [t.reference for t in all_transfers(db)]
    assert returned and len(returned) == len(set(returned))  # no order taken back twice
    assert references and len(references) == len(set(references))  # no transfer made twice
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


def test_two_loads_at_once_load_the_demo_and_each_of_its_orders_once(db: Database) -> None:
    """Both may place some of the orders (they take turns a batch at a time), none twice."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        summaries = list(
            pool.map(lambda _: load_demo(db, checks=validator, items=ITEMS, orders=120), range(2))
        )

    prefix = "already loaded, nothing changed: "
    assert sum(s.startswith(prefix) for s in summaries) <= 1
    assert len({s.removeprefix(prefix) for s in summaries}) == 1  # the same demo for both
    with db.reading() as reads:
        counts = reads.conn.execute(
            select(func.count()).select_from(movements).where(movements.c.type == "count")
        ).scalar_one()
        assert list(stock.check(reads)) == []
    held = [h for h in plan_demo(items=ITEMS).holdings if h.received > h.sold]
    assert counts == len(held)  # the opening stock, once
    placed = demo_orders(db)
    assert len(placed) == len({o.external_id for o in placed}) == 120


def test_the_summary_counts_what_was_loaded(demo: Loaded) -> None:
    with demo.db.read() as conn:
        positions_now, units = conn.execute(
            select(func.count(), func.sum(positions.c.on_hand))
        ).one()
        orders_now = count(conn, orders)
        returns_now = count(conn, returns)
        transfers_now = count(conn, transfers)
    assert demo.summary == (
        f"2 warehouses, 32 stores, 200 items, {positions_now:,} positions, {units:,} units, "
        f"{orders_now} orders, {returns_now} returns, {transfers_now} transfers"
    )
    assert orders_now == ORDERS
    assert returns_now == len(plan_demo(items=ITEMS).returns)  # every one planned was taken
    assert transfers_now == len(plan_demo(items=ITEMS).transfers)


def test_the_feed_gets_the_catalogue_the_opening_stock_and_one_demo_loaded_event(
    demo: Loaded,
) -> None:
    """The catalogue's events, one `demo.loaded`, a `stock.changed` for each position the
    opening stock wrote, then what the orders, returns and transfers did."""
    m = movements.c
    opening = m.reference.startswith(f"{DEMO_REFERENCE}/")
    with demo.db.read() as conn:
        by_type = count_by_type(conn, events.c.type)
        loaded = conn.execute(
            select(events.c.data).where(events.c.type == "demo.loaded")
        ).scalar_one()
        opening_units = conn.execute(select(func.sum(m.on_hand)).where(opening)).scalar_one()
        opening_positions = conn.execute(
            select(func.count()).where(opening, m.type == "count")
        ).scalar_one()
        trading_movements = conn.execute(
            select(func.count()).where(
                m.reference.startswith("order:")
                | m.reference.startswith("return:")
                | m.reference.startswith("transfer:")
            )
        ).scalar_one()
    trading_did = ("order.", "fulfillment.", "stock.", "availability.", "return.", "transfer.")
    assert {kind: n for kind, n in by_type.items() if not kind.startswith(trading_did)} == {
        "location.created": 34,
        "item.created": ITEMS,
        "channel.created": 4,
        "buffer_rule.created": 4,
        "demo.loaded": 1,
    }
    assert by_type["order.created"] == ORDERS
    assert by_type["return.created"] == len(all_returns(demo.db))
    assert by_type["transfer.created"] == len(all_transfers(demo.db))
    assert {"transfer.shipped", "transfer.received", "transfer.cancelled"} <= set(by_type)
    assert by_type["stock.changed"] > opening_positions  # the opening stock, then trading
    assert trading_movements > 0
    assert loaded["positions"] == opening_positions
    assert loaded["units"] == opening_units
    assert loaded["items"] == ITEMS


def test_a_consumer_reading_the_feed_from_the_start_rebuilds_every_position_of_the_demo(
    demo: Loaded,
) -> None:
    """Opening stock included: the last `stock.changed` of each position in feed order is the
    position as it is (a position the orders never touched has only its opening event)."""
    rebuilt: dict[tuple[str, str], Position] = {}
    after, found = 0, [{}]
    while found:
        found, after = feed(demo.db, after=after, limit=1000)
        for event in found:
            if event["type"] == "stock.changed":
                data = event["data"]
                figures = (data[q] for q in ("on_hand", "reserved", "unsellable", "inbound"))
                rebuilt[data["location"], data["sku"]] = Position(*figures)
    with demo.db.read() as conn:
        stored = {
            (row.location, row.sku): Position(
                row.on_hand, row.reserved, row.unsellable, row.inbound
            )
            for row in conn.execute(select(positions))
        }

    assert rebuilt == stored


def test_the_demo_counts_over_stock_already_recorded_at_its_locations(db: Database) -> None:
    """Loading into a database that already holds some of the demo's stock counts it as an
    imported snapshot does: the position becomes the demo's figure by a `count` of the
    difference, and the ledger still replays clean (about the opening stock: no orders)."""
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
    load_demo(db, checks=validator, items=ITEMS, orders=0)

    with db.reading() as reads:
        found = dict(stock.stock_of(reads, item.sku))
        assert list(stock.check(reads)) == []
    assert found[warehouse.code].on_hand == held.received
    with db.reading() as reads:
        ledger = stock.ledger(reads, sku=item.sku, location=warehouse.code)
    assert [(m.type, m.deltas.on_hand) for m in ledger] == [
        ("receipt", 5),
        ("count", held.received - 5),
    ]
    assert found[warehouse.code].unsellable == held.damaged


def test_a_demo_of_no_items_or_more_than_the_catalogue_holds_is_refused_and_writes_nothing(
    db: Database,
) -> None:
    with pytest.raises(InvalidInput):
        load_demo(db, checks=validator, items=0)
    with pytest.raises(InvalidInput):
        load_demo(db, checks=validator, items=100_000)
    with pytest.raises(InvalidInput):
        load_demo(db, checks=validator, items=ITEMS, orders=-1)

    assert snapshot(db)["locations"] == 0


def test_the_load_reports_each_phase_from_nothing_done_to_all_done_to_the_callback_given(
    db: Database,
) -> None:
    reported: dict[str, list[tuple[int, int]]] = {}

    def progress(phase: str, done: int, total: int) -> None:
        reported.setdefault(phase, []).append((done, total))

    load_demo(db, checks=validator, items=ITEMS, orders=20, progress=progress)

    assert list(reported) == [
        "Importing locations",
        "Importing items",
        "Importing stock",
        "Orders",
        "Returns",
        "Transfers",
    ]
    for phase, steps in reported.items():
        total = steps[0][1]
        assert steps[0] == (0, total), phase
        assert steps[-1] == (total, total), phase
        assert [done for done, _ in steps] == sorted(done for done, _ in steps), phase
    assert reported["Orders"][-1] == (20, 20)


def test_the_same_seed_plans_the_same_retailer_and_another_seed_another() -> None:
    assert plan_demo(items=ITEMS, seed=7) == plan_demo(items=ITEMS, seed=7)
    assert plan_demo(items=ITEMS, seed=8).holdings != plan_demo(items=ITEMS, seed=7).holdings
    assert plan_demo(items=ITEMS, seed=8).orders != plan_demo(items=ITEMS, seed=7).orders
    assert plan_demo(items=ITEMS, seed=8).returns != plan_demo(items=ITEMS, seed=7).returns
    assert plan_demo(items=ITEMS, seed=8).transfers != plan_demo(items=ITEMS, seed=7).transfers


def test_fewer_orders_plan_the_first_of_more_so_a_longer_run_extends_a_shorter_one() -> None:
    shorter, longer = plan_demo(items=ITEMS, orders=120), plan_demo(items=ITEMS)

    assert shorter.orders == longer.orders[:120]
    first = {o.order.external_id for o in shorter.orders}
    assert shorter.returns == [r for r in longer.returns if r.external_id in first]
    forwarded = {f"{external_id}/return" for external_id in first}  # returns sent on
    assert shorter.transfers == [
        t
        for t in longer.transfers
        if not t.reference.endswith("/return") or t.reference in forwarded
    ]


def test_a_demo_without_orders_plans_no_returns_and_no_transfers() -> None:
    plan = plan_demo(items=ITEMS, orders=0)

    assert (plan.orders, plan.returns, plan.transfers) == ([], [], [])


def test_every_demo_item_is_named_after_a_whole_style_not_a_fragment_of_one() -> None:
    names = {p.item.sku: p.item.name for p in plan_demo(items=2000, orders=0).items}

    assert [sku for sku in names if sku != sku.upper()] == []
    assert [name for name in names.values() if name[0].islower()] == []


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

    summary = load_demo(db, checks=validator, items=ITEMS, orders=0)

    assert not summary.startswith("already loaded"), summary
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
        assert dict(stock.stock_of(reads, "LOOKALIKE"))[first.code].on_hand == 7


def test_the_demo_sets_up_the_web_shop_the_stores_and_two_marketplaces_with_buffers(
    demo: Loaded,
) -> None:
    with demo.db.reading() as reads:
        codes = [c.code for c in channels.list_channels(reads)]
        rules = channels.list_rules(reads)
        store = channels.get_channel(reads, "store")
        sku = next(r.sku for r in rules if r.sku is not None)
        web = availability.of_item(reads, channel="web", sku=sku)
    assert codes == ["marketplace-fashion", "marketplace-general", "store", "web"]
    assert store.location_types == (LocationType.STORE,)
    assert {(r.channel, r.units, r.basis_points) for r in rules if r.sku is None} == {
        ("web", 2, None),
        ("marketplace-fashion", None, 2_000),
        ("marketplace-general", None, 3_000),
    }
    assert all(entry.buffer == 5 for entry in web.locations)  # the fragile, priciest item


# --------------------------------------------------------------------------- the orders


def test_the_demo_places_orders_on_every_channel_with_every_delivery_method(
    demo: Loaded,
) -> None:
    placed = demo_orders(demo.db)

    assert len(placed) == ORDERS
    assert {o.channel for o in placed} == DEMO_CHANNELS
    methods = Counter(o.method for o in placed)
    assert set(methods) == set(DeliveryMethod)
    ship, pickup, in_store = DeliveryMethod.SHIP, DeliveryMethod.PICKUP, DeliveryMethod.IN_STORE
    assert methods[ship] > methods[pickup] > methods[in_store]  # mostly shipped
    assert all(o.channel == "store" for o in placed if o.method is in_store)


def test_every_order_status_appears(demo: Loaded) -> None:
    statuses = Counter(o.status for o in demo_orders(demo.db))

    assert set(statuses) == set(OrderStatus)
    assert statuses[OrderStatus.COMPLETED] > statuses[OrderStatus.BACKORDERED]  # a few, not most


def test_every_fulfilment_status_appears(demo: Loaded) -> None:
    statuses = Counter(row.status for row in fulfilment_rows(demo.db))

    assert set(statuses) == set(FulfilmentStatus)


def test_after_the_orders_the_ledger_replays_clean_and_every_reserved_unit_is_an_open_promise(
    demo: Loaded,
) -> None:
    """No holds in the demo: what is reserved anywhere is exactly what open fulfilments
    and open transfers promise there, and no location promises more than it has."""
    f, fl = fulfilments.c, fulfilment_lines.c
    with demo.db.reading() as reads:
        assert list(stock.check(reads)) == []
        reserved = {
            (r.location, r.sku): r.reserved
            for r in reads.conn.execute(select(positions).where(positions.c.reserved != 0))
        }
        promised = {
            (location, sku): int(units)
            for location, sku, units in reads.conn.execute(
                select(f.location, fl.sku, func.sum(fl.quantity))
                .join(fulfilment_lines, fl.fulfillment_id == f.id)
                .where(f.status.in_([str(s) for s in OPEN]))
                .group_by(f.location, fl.sku)
            )
        }
        short = reads.conn.execute(
            select(func.count()).where(
                positions.c.on_hand - positions.c.reserved - positions.c.unsellable < 0
            )
        ).scalar_one()
    sent = Counter[tuple[str, str]]()
    for transfer in all_transfers(demo.db):
        if transfer.status is TransferStatus.OPEN:
            sent.update({(transfer.origin, x.sku): x.quantity for x in transfer.lines})
    assert sent  # some transfers wait to leave
    assert reserved == dict(Counter(promised) + sent)
    assert promised  # some promises are still open
    assert short == 0


def test_ship_orders_go_to_addresses_in_french_towns_and_pickups_to_stores(demo: Loaded) -> None:
    placed = demo_orders(demo.db)
    with demo.db.read() as conn:
        found = location_rows(conn)

    addresses: list[Any] = [
        o.delivery["address"] for o in placed if o.method is DeliveryMethod.SHIP
    ]
    assert len({a["city"] for a in addresses}) >= 20
    for address in addresses:
        assert address["country"] == "FR"
        assert re.fullmatch(r"\d{5}", address["postcode"]), address
        assert re.fullmatch(r"\d+ \w.+", address["line1"]), address
        assert 41 <= address["lat"] <= 52 and -5 <= address["lon"] <= 10, address
    at_stores = [o for o in placed if o.method is not DeliveryMethod.SHIP]
    assert all(found[o.delivery["location"]].pickup_enabled for o in at_stores)
    assert all(found[o.delivery["location"]].type == "store" for o in at_stores)
    for order in placed:
        assert order.customer["name"] and "@" in order.customer["email"]


def test_each_order_line_bears_the_price_of_its_item(demo: Loaded) -> None:
    with demo.db.read() as conn:
        prices = dict(conn.execute(select(items.c.sku, items.c.price)).all())

    for order in demo_orders(demo.db):
        for line in order.lines:
            assert line.unit_price == prices[line.sku]


def test_shipped_parcels_carry_a_carrier_and_a_tracking_number(demo: Loaded) -> None:
    gone = [r for r in fulfilment_rows(demo.db) if r.status in ("shipped", "delivered")]

    assert gone
    assert all(r.carrier in ("Colissimo", "Chronopost", "DPD") and r.tracking for r in gone)
    assert len({r.tracking for r in gone}) == len(gone)


def test_a_rejected_fulfilment_is_written_off_and_its_lines_sourced_again_elsewhere(
    demo: Loaded,
) -> None:
    rejected = [r for r in fulfilment_rows(demo.db) if r.status == "rejected"]
    with demo.db.reading() as reads:
        written_off = {
            (r.reference, r.location)
            for r in reads.conn.execute(select(movements).where(movements.c.type == "write_off"))
        }
        found = {r.order_id: order_service.detail(reads, r.order_id) for r in rejected}

    ships = [r for r in rejected if found[r.order_id].order.method is DeliveryMethod.SHIP]
    pickups = [r for r in rejected if found[r.order_id].order.method is DeliveryMethod.PICKUP]
    assert ships and pickups
    for row in rejected:
        assert (f"order:{row.order_id}", row.location) in written_off
        assert row.reason == "not found on the shelf"

    def waits(order: Order) -> bool:
        return any(line.backordered for line in order.lines)

    for row in ships:  # another location took the lines, or they wait for stock
        order = found[row.order_id].order
        elsewhere = [f for f in order.fulfilments if f.location != row.location]
        assert elsewhere or waits(order), order
        assert {"resourced", "backordered"} & {h["event"] for h in found[row.order_id].history}
    for row in pickups:  # only the chosen store serves a pickup: the order waits there
        assert waits(found[row.order_id].order)


def test_an_order_for_more_than_the_warehouses_hold_is_partly_allocated_the_rest_backordered(
    demo: Loaded,
) -> None:
    partial = [o for o in demo_orders(demo.db) if o.status is OrderStatus.PARTIALLY_ALLOCATED]

    assert partial
    for order in partial:
        assert any(line.backordered for line in order.lines)
        assert any(f.status is FulfilmentStatus.ALLOCATED for f in order.fulfilments)


# --------------------------------------------------------------------------- the returns


def test_web_orders_come_back_in_stores_of_other_cities_and_a_till_sale_in_a_store(
    demo: Loaded,
) -> None:
    """The omnichannel return: a parcel shipped from elsewhere, brought to a store."""
    found = all_returns(demo.db)
    placed = orders_by_id(demo.db)
    kinds = kinds_of(demo.db)

    def fulfilled_at(order: Order) -> set[str]:
        return {f.location for f in order.fulfilments}

    web_in_stores = [
        r for r in found if placed[r.order_id].channel == "web" and kinds[r.location] == "store"
    ]
    shipped_then_brought = [
        r
        for r in web_in_stores
        if placed[r.order_id].method is DeliveryMethod.SHIP
        and r.location not in fulfilled_at(placed[r.order_id])
    ]
    till_sales = [r for r in found if placed[r.order_id].method is DeliveryMethod.IN_STORE]
    assert 20 <= len(found) <= 60  # a few dozen
    assert len(shipped_then_brought) >= 2  # some
    assert len({r.location for r in web_in_stores}) >= 5  # in stores across France
    assert till_sales
    assert any(kinds[r.location] == "warehouse" for r in found)  # some posted back


def test_a_return_takes_back_no_more_than_its_order_delivered_or_collected_at_its_price(
    demo: Loaded,
) -> None:
    placed = orders_by_id(demo.db)

    for taken in all_returns(demo.db):
        order = placed[taken.order_id]
        served = Counter[str]()
        for work in order.fulfilments:
            if work.status in (FulfilmentStatus.DELIVERED, FulfilmentStatus.COLLECTED):
                served.update(dict(work.lines))
        back = Counter[str]()
        for line in taken.lines:
            back[line.sku] += line.quantity
        prices = {x.sku: x.unit_price for x in order.lines}
        assert (order.external_id or "").startswith("demo-")
        assert not back - served, (taken, order)  # nothing beyond what the customer got
        assert taken.refund_amount == sum(prices[x.sku] * x.quantity for x in taken.lines)


def test_some_returned_units_are_damaged_and_held_unsellable_where_they_came_back(
    demo: Loaded,
) -> None:
    damaged = [
        (r.location, x.sku)
        for r in all_returns(demo.db)
        for x in r.lines
        if x.condition is Condition.DAMAGED
    ]
    with demo.db.read() as conn:
        unsellable = {
            (row.location, row.sku)
            for row in conn.execute(
                select(movements).where(movements.c.type == "return", movements.c.unsellable > 0)
            )
        }
        held = {
            (row.location, row.sku): row.unsellable
            for row in conn.execute(select(positions).where(positions.c.unsellable > 0))
        }
    assert damaged
    assert set(damaged) == unsellable
    assert all(held.get(place, 0) > 0 for place in damaged)


# --------------------------------------------------------------------------- the transfers


def test_transfers_show_every_status_from_warehouses_stores_and_suppliers(demo: Loaded) -> None:
    found = all_transfers(demo.db)
    kinds = kinds_of(demo.db)

    def route(t: Transfer) -> str:
        return f"{kinds[t.origin] if t.origin else 'supplier'} -> {kinds[t.destination]}"

    statuses = Counter(t.status for t in found)
    routes = {(route(t), str(t.status)) for t in found}
    assert 20 <= len(found) <= 40
    assert set(statuses) == set(TransferStatus)
    assert {
        ("warehouse -> store", "open"),
        ("warehouse -> store", "shipped"),
        ("warehouse -> store", "received"),
        ("warehouse -> store", "cancelled"),
        ("warehouse -> warehouse", "received"),
        ("supplier -> warehouse", "shipped"),
        ("supplier -> warehouse", "received"),
        ("store -> warehouse", "shipped"),
    } <= routes
    assert all(t.reference for t in found)
    assert all(t.cancelled_at for t in found if t.status is TransferStatus.CANCELLED)


def test_a_received_transfer_records_a_shortfall_and_another_arrived_exactly(
    demo: Loaded,
) -> None:
    received = [t for t in all_transfers(demo.db) if t.status is TransferStatus.RECEIVED]
    with demo.db.read() as conn:
        recorded = {
            (row.reference, row.sku): row.inbound + row.on_hand
            for row in conn.execute(select(movements).where(movements.c.type == "discrepancy"))
        }

    short = [t for t in received if any((x.discrepancy or 0) < 0 for x in t.lines)]
    exact = [t for t in received if not any(x.discrepancy for x in t.lines)]
    assert short and exact
    assert any(t.origin is None for t in short)  # a supplier's carton went missing
    for t in received:
        for x in t.lines:
            assert x.received is not None  # every line counted
            if x.discrepancy:
                assert recorded[f"transfer:{t.id}", x.sku] == x.discrepancy
    for t in exact:
        assert all(x.received == x.quantity for x in t.lines)


def test_stock_in_transit_is_inbound_at_its_destination_until_received(demo: Loaded) -> None:
    """Every unit of a shipped transfer is inbound where it goes, and nothing else is."""
    on_the_way = Counter[tuple[str, str]]()
    shipped = [t for t in all_transfers(demo.db) if t.status is TransferStatus.SHIPPED]
    for t in shipped:
        on_the_way.update({(t.destination, x.sku): x.quantity for x in t.lines})
    with demo.db.read() as conn:
        inbound = {
            (row.location, row.sku): row.inbound
            for row in conn.execute(select(positions).where(positions.c.inbound != 0))
        }

    assert inbound  # some position has stock on its way
    assert inbound == dict(on_the_way)
    kinds = kinds_of(demo.db)
    assert any(t.origin is None and t.eta for t in shipped)  # a supplier's, announced
    assert all(t.eta for t in shipped if t.origin and kinds[t.origin] == "warehouse")


def test_returned_units_a_store_does_not_sell_are_sent_on_to_a_warehouse(demo: Loaded) -> None:
    m = movements.c
    by_reference = {t.reference: t for t in all_transfers(demo.db) if t.reference}
    placed = {o.external_id: o for o in demo_orders(demo.db)}
    kinds = kinds_of(demo.db)

    with demo.db.read() as conn:
        opening = m.reference.startswith(f"{DEMO_REFERENCE}/")
        ranged = set(conn.execute(select(m.location, m.sku).where(opening)))
    forwarded = [(ref, t) for ref, t in by_reference.items() if ref.endswith("/return")]
    assert forwarded
    for ref, t in forwarded:
        order = placed[ref.removesuffix("/return")]
        with demo.db.reading() as reads:
            (back,), _ = return_service.list_returns(reads, order_id=order.id)
        sellable = {x.sku for x in back.lines if x.condition is Condition.SELLABLE}
        assert t.origin is not None
        assert (kinds[t.origin], kinds[t.destination]) == ("store", "warehouse")
        assert t.origin == back.location
        assert {x.sku for x in t.lines} <= sellable
        assert not {(t.origin, x.sku) for x in t.lines} & ranged  # not sold there
