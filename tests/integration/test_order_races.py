"""Orders never oversell, never deadlock, and keep every promise they make, under concurrency
across processes (issue 4), on SQLite and PostgreSQL.

Four OS processes of four threads each (sixteen placers, see `order_race_worker`) place
hundreds of two- and three-line ship orders, to customers all over France, against a network
of two warehouses and four stores holding a few units of five items, with buffers kept back
from the web shop: most orders are refused. In the middle of it store tills sell units, some
of them already promised (the promise must heal), deliveries bring a unit or two, and a shop
floor picks, ships, cancels and rejects fulfilments, so that units keep coming back.

Afterwards: no lock error reached a caller, and PostgreSQL detected no deadlock; every order
placed whole was allocated whole, a partial one allocated or backordered every unit, a
refused one left no trace; each promise the race made kept the channel's buffer on the row
as it stood, and only a physical fact ever took a position below zero; wherever one did, no
untouched allocation is left there; each position reserves exactly the units of its open
fulfilments, as the ledger says order by order; every order accounts for each of its units;
no location accepted more fulfilments a day than its capacity; the ledger replays clean.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from order_race_worker import OrderRace, Placed, Refused, Report, race_orders
from sqlalchemy import func, select
from test_oversell import (
    WEB,
    assert_the_last_published_ats_is_the_ats_now,
    deadlocks_detected,
    set_up_shop,
    worker_url,
)

from omnistock.db import Database
from omnistock.db.tables import events, fulfilment_capacity, reservations
from omnistock.domain.availability import BufferRule, winning_rule
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.orders import DROPPED, OPEN, FulfilmentStatus
from omnistock.domain.stock import Position
from omnistock.services import catalog, channels, orders, stock
from processes import run_together
from samples import CAP, STORE, TEE, WAREHOUSE

WORKERS = 4

# --------------------------------------------------------------------------- the network

SOCKS = Item(sku="SOCK-1", name="Socks")
BAG = Item(sku="BAG-1", name="Tote bag")
SCARF = Item(sku="SCARF-1", name="Scarf")
ITEMS = (TEE, CAP, SOCKS, BAG, SCARF)
SKUS = tuple(item.sku for item in ITEMS)


def _store(code: str, name: str, lat: float, lon: float, **options: Any) -> Location:
    return Location(code, name, LocationType.STORE, lat, lon, True, True, **options)


ORLEANS = Location(
    "WH-ORL", "Orléans warehouse", LocationType.WAREHOUSE, 47.903, 1.909, True, False
)
BORDEAUX = _store("BDX-01", "Bordeaux Sainte-Catherine", 44.8378, -0.5792, daily_capacity=8)
MARSEILLE = _store("MRS-01", "Marseille Canebière", 43.2965, 5.3698)
LILLE = _store("LIL-01", "Lille Grand Place", 50.6292, 3.0573, priority=20)
# STORE is Paris Rivoli (capacity 40 a day), WAREHOUSE the Lyon warehouse.
NETWORK = (WAREHOUSE, ORLEANS, STORE, BORDEAUX, MARSEILLE, LILLE)
STORES = tuple(loc.code for loc in NETWORK if loc.type is LocationType.STORE)

#: Opening stock: a few units of each item, and none at all of some items at some places.
OPENING = {
    WAREHOUSE: {TEE: 6, CAP: 4, SOCKS: 3, SCARF: 2},
    ORLEANS: {TEE: 5, SOCKS: 4, BAG: 3},
    STORE: {TEE: 3, CAP: 2, BAG: 2, SCARF: 3},
    BORDEAUX: {TEE: 2, CAP: 3, SOCKS: 2, SCARF: 1},
    MARSEILLE: {TEE: 4, SOCKS: 3, BAG: 2, SCARF: 2},
    LILLE: {CAP: 2, SOCKS: 2, BAG: 3, SCARF: 2},
}

#: What the web shop may not sell: one unit of everything in stores (for walk-in customers),
#: half of what Marseille has, two T-shirts at Orléans, and one cap anywhere.
RULES = (
    BufferRule(id=0, channel=WEB, location_type=LocationType.STORE, units=1),
    BufferRule(id=0, channel=WEB, location=MARSEILLE.code, basis_points=5_000),
    BufferRule(id=0, channel=WEB, location=ORLEANS.code, sku=TEE.sku, units=2),
    BufferRule(id=0, channel=WEB, sku=CAP.sku, units=1),
)

#: Where customers live: city centres from Brest to Nice (orders land within ~20 km).
CITIES = (
    (48.8566, 2.3522),  # Paris
    (45.7640, 4.8357),  # Lyon
    (43.2965, 5.3698),  # Marseille
    (43.6047, 1.4442),  # Toulouse
    (43.7102, 7.2620),  # Nice
    (47.2184, -1.5536),  # Nantes
    (48.5734, 7.7521),  # Strasbourg
    (44.8378, -0.5792),  # Bordeaux
    (50.6292, 3.0573),  # Lille
    (48.3904, -4.4861),  # Brest
    (45.7772, 3.0870),  # Clermont-Ferrand
    (47.3220, 5.0415),  # Dijon
)

RACE = OrderRace(
    channel=WEB,
    skus=SKUS,
    stores=STORES,
    locations=tuple(loc.code for loc in NETWORK),
    ship_to=CITIES,
    orders_per_thread=15,  # 4 x 4 x 15 = 240 orders
)


def open_the_network(db: Database) -> None:
    set_up_shop(
        db,
        items=ITEMS,
        on_hand={
            (location, item.sku): units
            for location, stocked in OPENING.items()
            for item, units in stocked.items()
        },
    )
    for rule in RULES:
        db.run(functools.partial(channels.add_rule, rule=rule))


# --------------------------------------------------------------------------- the race


@pytest.mark.slow
def test_processes_racing_multi_line_orders_over_scarce_stock_keep_every_promise_they_make(
    db: Database, database_url: str
) -> None:
    open_the_network(db)

    reports = run_together(
        [(race_orders, (w, worker_url(database_url), RACE, w == 0)) for w in range(WORKERS)]
    )

    assert [u for r in reports for u in r.unexpected] == []  # no deadlock, busy or lost race
    placed, refused = placed_in(reports), refused_in(reports)
    assert len(placed) + len(refused) == WORKERS * RACE.threads * RACE.orders_per_thread
    final = orders_now(db)
    assert_the_race_hit_the_guards(reports, final)
    assert_each_order_was_allocated_as_it_asked(placed)
    assert_refusals_explain_themselves(refused)
    assert_refused_orders_left_nothing(final, placed, refused)
    assert_every_unit_of_every_order_is_accounted_for(final, placed)
    assert_each_position_reserves_its_open_fulfilments(db, final)
    assert_no_promise_outlives_a_shortage(db, final)
    assert_every_promise_kept_the_buffer_and_only_facts_went_below_zero(db)
    assert_no_location_took_more_than_its_capacity(db, final)
    assert_the_last_published_ats_is_the_ats_now(db, SKUS)
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
    # Database.run retries a deadlock unseen: only PostgreSQL's own counter tells.
    assert deadlocks_detected(db) == 0, "every path must lock rows in one order"


# --------------------------------------------------------------------------- reading the results


def placed_in(reports: Iterable[Report]) -> list[Placed]:
    return [p for r in reports for p in r.placed]


def refused_in(reports: Iterable[Report]) -> list[Refused]:
    return [f for r in reports for f in r.refused]


def orders_now(db: Database) -> dict[int, orders.OrderDetail]:
    """Every order as it stands, with its history, by id (one snapshot)."""
    found: dict[int, orders.OrderDetail] = {}
    after: int | None = 0
    with db.reading() as reads:
        while after is not None:
            page, after = orders.list_orders(reads, after=after, limit=500)
            for listed in page:
                found[listed.id] = orders.detail(reads, listed.id)
    return found


def events_of(found: orders.OrderDetail) -> list[str]:
    return [entry["event"] for entry in found.history]


def open_units(
    final: dict[int, orders.OrderDetail], *statuses: FulfilmentStatus
) -> Counter[tuple[str, str]]:
    """Units of each (location, sku) in fulfilments of these statuses."""
    units: Counter[tuple[str, str]] = Counter()
    for found in final.values():
        for f in found.order.fulfilments:
            if f.status in statuses:
                for sku, quantity in f.lines:
                    units[f.location, sku] += quantity
    return units


def all_positions(db: Database) -> dict[tuple[str, str], Position]:
    with db.reading() as reads:
        return {(loc, sku): p for sku in SKUS for loc, p in stock.stock_of(reads, sku)}


def stock_changes(db: Database) -> Iterator[tuple[str, str, Position]]:
    """(location, sku, position after) of every stock change, in the order the changes were
    made: each change emits one `stock.changed` with the row as it left it, and the outbox
    rows of the next change to a row are inserted after the previous one committed."""
    e = events.c
    query = select(e.data).where(e.type == "stock.changed").order_by(e.id)
    with db.read() as conn:
        for (data,) in conn.execute(query):
            quantities = (data[q] for q in ("on_hand", "reserved", "unsellable", "inbound"))
            yield data["location"], data["sku"], Position(*quantities)


# --------------------------------------------------------------------------- what must hold


def assert_the_race_hit_the_guards(
    reports: list[Report], final: dict[int, orders.OrderDetail]
) -> None:
    """The race is worth something only if stock ran out, orders split, tills sold units,
    promises moved after they were made, and the floor moved fulfilments."""
    placed = placed_in(reports)
    assert placed and refused_in(reports), "scarce stock: some orders fit, most do not"
    assert any(len(p.fulfilments) > 1 for p in placed), "some orders should split"
    assert any(p.backorders for p in placed), "some partial orders should wait for stock"
    assert any(s.recorded for r in reports for s in r.sales)
    whole = [p.order_id for p in placed if not p.wanted.partial]
    moved = {"resourced", "backordered"}
    assert any(moved.intersection(events_of(final[order_id])) for order_id in whole), (
        "tills and rejections should have taken promised units"
    )
    assert any(d.outcome == "done" for r in reports for d in r.floor)


def assert_each_order_was_allocated_as_it_asked(placed: Iterable[Placed]) -> None:
    """As placed: an order without `allow_partial` got every unit, from the pool; a partial
    one got or backordered every unit."""
    pool = {loc.code for loc in NETWORK}
    for p in placed:
        assert p.created, p
        allocated: Counter[str] = Counter()
        for location, sku, quantity in p.allocations:
            assert location in pool and quantity > 0, p
            allocated[sku] += quantity
        if not p.wanted.partial:
            assert not p.backorders and p.status == "allocated", p
            assert allocated == Counter(dict(p.wanted.lines)), p
        else:
            assert allocated + Counter(dict(p.backorders)) == Counter(dict(p.wanted.lines)), p
        assert len({location for location, _ in p.fulfilments}) == len(p.fulfilments), p


def assert_refusals_explain_themselves(refused: Iterable[Refused]) -> None:
    """Only orders placed whole are refused, naming lines of theirs that asked more than the
    channel could sell."""
    for f in refused:
        assert not f.wanted.partial and f.short, f
        for sku, requested, available in f.short:
            assert (sku, requested) in f.wanted.lines, f
            assert 0 <= available < requested, f


def assert_refused_orders_left_nothing(
    final: dict[int, orders.OrderDetail], placed: list[Placed], refused: list[Refused]
) -> None:
    """The orders stored are exactly those placed: a refused order left no order behind."""
    assert sorted(final) == sorted(p.order_id for p in placed)
    stored = {found.order.external_id for found in final.values()}
    assert stored == {p.wanted.external_id for p in placed}
    assert stored.isdisjoint(f.wanted.external_id for f in refused)


def assert_every_unit_of_every_order_is_accounted_for(
    final: dict[int, orders.OrderDetail], placed: list[Placed]
) -> None:
    """Each unit of each line is in a fulfilment not dropped, cancelled, or backordered; an
    order placed whole waits for stock only after a physical fact or a rejection took units
    it had been promised (its history says so)."""
    whole = {p.order_id for p in placed if not p.wanted.partial}
    for found in final.values():
        order = found.order
        served: Counter[str] = Counter()
        for f in order.fulfilments:
            if f.status not in DROPPED:
                served.update(dict(f.lines))
        for line in order.lines:
            accounted = served[line.sku] + line.cancelled + line.backordered
            assert accounted == line.quantity, order
        if order.id in whole and any(line.backordered for line in order.lines):
            assert "backordered" in events_of(found), found


def assert_each_position_reserves_its_open_fulfilments(
    db: Database, final: dict[int, orders.OrderDetail]
) -> None:
    """`reserved` is the units of open fulfilments there (the race holds nothing), and the
    ledger, read order by order, says the same of each order."""
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(reservations)).scalar_one() == 0
    promised = open_units(final, *OPEN)
    positions = all_positions(db)
    assert {key: p.reserved for key, p in positions.items()} == {k: promised[k] for k in positions}
    by_order: Counter[tuple[int, str, str]] = Counter()
    for found in final.values():
        for f in found.order.fulfilments:
            if f.status in OPEN:
                for sku, quantity in f.lines:
                    by_order[found.order.id, f.location, sku] += quantity
    ledger: Counter[tuple[int, str, str]] = Counter()
    with db.reading() as reads:
        for sku in SKUS:
            for m in stock.ledger(reads, sku=sku, limit=1_000_000):
                if m.reference and m.reference.startswith("order:"):
                    ledger[int(m.reference.removeprefix("order:")), m.location, sku] += (
                        m.deltas.reserved
                    )
    assert +ledger == by_order and -ledger == Counter(), "each order's reserved units"


def assert_no_promise_outlives_a_shortage(
    db: Database, final: dict[int, orders.OrderDetail]
) -> None:
    """Healing: wherever a physical fact left fewer units than promised, no allocation that
    nobody started on is left there (only picked or packed units may still wait)."""
    untouched = open_units(final, FulfilmentStatus.ALLOCATED)
    short = {key: p for key, p in all_positions(db).items() if p.available < 0}
    assert {key: untouched[key] for key in short if untouched[key]} == {}, short


def assert_every_promise_kept_the_buffer_and_only_facts_went_below_zero(db: Database) -> None:
    """Walk each position through every change made to it: a change that promised units left
    at least the channel's buffer available, worked out on the row as it stood; any other
    change that lowered `available` was a physical fact (units gone from the shelf, or found
    damaged). So only physical facts ever took a position below zero."""
    with db.reading() as reads:
        rules = channels.list_rules(reads)
        network = {loc.code: loc for loc in catalog.list_locations(reads)}
    rule_at = {
        (code, sku): winning_rule(rules, channel=WEB, location=network[code], sku=sku)
        for code in network
        for sku in SKUS
    }
    before: dict[tuple[str, str], Position] = {}
    promises = 0
    for location, sku, after in stock_changes(db):
        was = before.get((location, sku), Position())
        before[location, sku] = after
        if after.reserved > was.reserved:
            assert (after.on_hand, after.unsellable) == (was.on_hand, was.unsellable), after
            rule = rule_at[location, sku]
            buffer = rule.units_kept(was.available) if rule else 0
            assert after.available >= buffer, (location, sku, was, after, rule)
            promises += 1
        elif after.available < was.available:
            physical = after.on_hand < was.on_hand or after.unsellable > was.unsellable
            assert physical and after.reserved == was.reserved, (location, sku, was, after)
    assert promises, "the race should have promised units"
    assert before == {k: p for k, p in all_positions(db).items() if k in before}


def assert_no_location_took_more_than_its_capacity(
    db: Database, final: dict[int, orders.OrderDetail]
) -> None:
    """Each day's count of fulfilments a location accepted stays within its capacity, and
    counts every fulfilment sourced there."""
    c = fulfilment_capacity.c
    with db.read() as conn:
        counted = conn.execute(select(c.location, c.day, c.accepted)).all()
    for location, day, accepted in counted:
        capacity = next(loc.daily_capacity for loc in NETWORK if loc.code == location)
        assert capacity is not None and accepted <= capacity, (location, day, accepted)
    sourced = Counter(f.location for found in final.values() for f in found.order.fulfilments)
    capped = {loc.code for loc in NETWORK if loc.daily_capacity is not None}
    accepted_at: Counter[str] = Counter()
    for location, _, accepted in counted:
        accepted_at[location] += accepted
    assert accepted_at == Counter({code: sourced[code] for code in capped if sourced[code]})
