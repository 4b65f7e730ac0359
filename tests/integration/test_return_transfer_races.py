"""Returns and transfers racing orders on the same skus keep every invariant (issue 5), under
concurrency across processes, on SQLite and PostgreSQL.

Four OS processes of four threads each (see `return_transfer_race_worker`) share a small
network, two warehouses and three stores holding a few units of four items: placers place
ship, pickup and in-store orders and fill carts, most of them refused; a shop floor carries
fulfilments through to delivery or collection, and rejects those whose units a fact took;
returners take units back at random stores, sellable or damaged, and try to take back more
than was delivered; two duellists race for the last unit of the same order, round after
round; clerks move stock between locations, receive it short or over, and announce and
receive suppliers' deliveries; tills sell, and warehouses find units damaged, where units
are promised, so that open transfers carry less and orders are sourced again.

Afterwards: no lock error reached a caller and PostgreSQL detected no deadlock; every
over-return was refused, and each duel had one winner; each position reserves exactly its
open fulfilments, active holds and open transfers; where a fact left a position short, only
work already started is left there (DESIGN invariant 1: a picked unit cannot be moved), and
once that work is finished no position promises more than it has; `inbound` is what shipped
transfers carry; no order got back more than it delivered, and each refund is what was
paid; the ledger tells each transfer's and each return's units; the last published ATS is
the ATS now; the ledger replays clean.
"""

from __future__ import annotations

import functools
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from return_transfer_race_worker import (
    ACCEPTED,
    DUEL,
    Arena,
    Report,
    ReturnTransferRace,
    race_returns_and_transfers,
)
from sqlalchemy import select
from test_order_races import (
    BAG,
    CITIES,
    LILLE,
    MARSEILLE,
    ORLEANS,
    SOCKS,
    events_of,
    open_units,
    orders_now,
)
from test_oversell import (
    WEB,
    assert_the_last_published_ats_is_the_ats_now,
    deadlocks_detected,
    set_up_shop,
    worker_url,
)

from omnistock.db import Database
from omnistock.db.tables import reservation_lines, reservations
from omnistock.domain.availability import BufferRule
from omnistock.domain.catalog import LocationType
from omnistock.domain.errors import InvalidTransition, StockConflict
from omnistock.domain.orders import DONE, OPEN, Action, DeliveryMethod, FulfilmentStatus
from omnistock.domain.reservations import ACTIVE
from omnistock.domain.returns import Condition, Return
from omnistock.domain.stock import Deltas, Position
from omnistock.domain.transfers import Transfer, TransferStatus
from omnistock.services import channels, fulfilment, returns, stock, transfers
from paging import every
from processes import SPAWN, run_together
from samples import CAP, STORE, TEE, WAREHOUSE

WORKERS = 4

# --------------------------------------------------------------------------- the network

ITEMS = (TEE, CAP, SOCKS, BAG)
SKUS = tuple(item.sku for item in ITEMS)
WAREHOUSES = (WAREHOUSE, ORLEANS)
STORES = (STORE, MARSEILLE, LILLE)

#: Opening stock: a few units of each item, none of some items at some places.
OPENING = {
    WAREHOUSE: {TEE: 5, CAP: 4, SOCKS: 3, BAG: 2},
    ORLEANS: {TEE: 4, SOCKS: 4, BAG: 3},
    STORE: {TEE: 3, CAP: 3, BAG: 2},
    MARSEILLE: {TEE: 3, CAP: 2, SOCKS: 3, BAG: 2},
    LILLE: {CAP: 3, SOCKS: 2, BAG: 3},
}

#: One unit of everything in stores is kept back from the web shop for walk-in customers.
STORE_BUFFER = BufferRule(id=0, channel=WEB, location_type=LocationType.STORE, units=1)

RACE = ReturnTransferRace(
    channel=WEB,
    skus=SKUS,
    stores=tuple(loc.code for loc in STORES),
    warehouses=tuple(loc.code for loc in WAREHOUSES),
    ship_to=CITIES,
    roles=(
        ("placer", "placer", "floor", "duellist"),
        ("placer", "clerk", "till", "duellist"),
        ("placer", "returner", "clerk", "floor"),
        ("placer", "returner", "origin till", "floor"),
    ),
    orders_per_placer=45,
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
    db.run(functools.partial(channels.add_rule, rule=STORE_BUFFER))


# --------------------------------------------------------------------------- the race


@pytest.mark.slow
def test_returns_and_transfers_racing_orders_on_the_same_skus_keep_every_invariant(
    db: Database, database_url: str
) -> None:
    open_the_network(db)
    arena = Arena(meet=SPAWN.Barrier(2), done=SPAWN.Array("b", 2))

    url = worker_url(database_url)
    t0 = time.monotonic()
    reports = run_together(
        [(race_returns_and_transfers, (w, url, RACE, arena)) for w in range(WORKERS)]
    )
    seconds = time.monotonic() - t0

    assert [u for r in reports for u in r.unexpected] == []  # no deadlock, busy or lost race
    assert deadlocks_detected(db) == 0, "every path must lock rows in one order"
    tally = tally_of(reports)
    figures = ", ".join(f"{kind} {outcome}: {n}" for (kind, outcome), n in sorted(tally.items()))
    print(f"\n{db.dialect}, race {seconds:.1f} s: {figures}")
    assert tally["over-return", ACCEPTED] == 0, "more than was delivered was taken back"
    assert_each_duel_had_one_winner(reports)
    assert_the_race_hit_the_guards(db, tally)
    assert_each_position_reserves_its_promises(db)
    assert_no_untouched_promise_where_stock_is_short(db)

    finish_the_work_started(db)
    assert any(
        f.status is FulfilmentStatus.COLLECTED and found.order.method is DeliveryMethod.PICKUP
        for found in orders_now(db).values()
        for f in found.order.fulfilments
    ), "customers should have collected pickups"

    assert_each_position_reserves_its_promises(db)
    assert_no_position_promises_more_than_it_has(db)
    assert_inbound_is_what_shipped_transfers_carry(db)
    assert_no_order_got_back_more_than_it_delivered(db)
    assert_each_refund_is_what_was_paid(db)
    assert_the_ledger_tells_each_transfer(db)
    assert_the_ledger_tells_each_return(db)
    assert_the_last_published_ats_is_the_ats_now(db, SKUS)
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


# --------------------------------------------------------------------------- reading the results


def tally_of(reports: Iterable[Report]) -> Counter[tuple[str, str]]:
    """How many actions of each kind ended each way, over every worker."""
    return Counter(outcome for r in reports for outcome in r.outcomes)


def all_positions(db: Database) -> dict[tuple[str, str], Position]:
    with db.reading() as reads:
        return {(loc, sku): p for sku in SKUS for loc, p in stock.stock_of(reads, sku)}


def all_transfers(db: Database) -> list[Transfer]:
    return every(db, transfers.list_transfers)


def all_returns(db: Database) -> list[Return]:
    return every(db, returns.list_returns)


def held_units(db: Database) -> Counter[tuple[str, str]]:
    """Units of each (location, sku) that active holds reserve."""
    r, lines = reservations.c, reservation_lines.c
    query = (
        select(lines.location, lines.sku, lines.quantity)
        .join(reservations, r.id == lines.reservation_id)
        .where(r.status == ACTIVE, lines.location.is_not(None))
    )
    held: Counter[tuple[str, str]] = Counter()
    with db.read() as conn:
        for location, sku, quantity in conn.execute(query):
            held[location, sku] += quantity
    return held


def carried_units(found: Iterable[Transfer], status: TransferStatus, end: str) -> Counter[Any]:
    """Units of each (location, sku) that transfers in `status` carry, by their `end`
    (origin or destination)."""
    units: Counter[tuple[str, str]] = Counter()
    for t in found:
        if t.status is status:
            for line in t.lines:
                units[getattr(t, end), line.sku] += line.quantity
    return +units


def promised_units(db: Database, *statuses: FulfilmentStatus) -> Counter[tuple[str, str]]:
    """What each position promises: units of fulfilments in `statuses`, of active holds and
    of open transfers from there."""
    return (
        open_units(orders_now(db), *statuses)
        + held_units(db)
        + carried_units(all_transfers(db), TransferStatus.OPEN, "origin")
    )


#: (location, sku, quantity) -> the sum of its deltas, only those not zero.
Sums = dict[tuple[str, str, str], int]


def ledger_by_reference(db: Database, prefix: str) -> dict[int, Sums]:
    """What the movements referenced `prefix:ID` added to each quantity, by ID."""
    found: dict[int, list[tuple[str, str, Deltas]]] = {}
    with db.reading() as reads:
        for sku in SKUS:
            for m in stock.ledger(reads, sku=sku, limit=1_000_000):
                if m.reference and m.reference.startswith(f"{prefix}:"):
                    key = int(m.reference.removeprefix(f"{prefix}:"))
                    found.setdefault(key, []).append((m.location, sku, m.deltas))
    return {key: sums(entries) for key, entries in found.items()}


def sums(entries: Iterable[tuple[str, str, Deltas]]) -> Sums:
    """The deltas of `entries` added up by (location, sku, quantity), zeros left out."""
    total: Counter[tuple[str, str, str]] = Counter()
    for location, sku, d in entries:
        for quantity in ("on_hand", "reserved", "unsellable", "inbound"):
            total.update({(location, sku, quantity): getattr(d, quantity)})
    return {key: delta for key, delta in total.items() if delta}


# --------------------------------------------------------------------------- what must hold


def assert_each_duel_had_one_winner(reports: Iterable[Report]) -> None:
    """In each round where both duellists went for the same order's last unit, one took it
    back and the other was told it was not returnable; and such rounds happened."""
    rounds: dict[int, list[Any]] = {}
    for r in reports:
        for d in r.duels:
            rounds.setdefault(d.round, []).append(d)
    met = [pair for pair in rounds.values() if len(pair) == 2 and _same_unit(*pair)]
    for pair in met:
        assert sorted(d.outcome for d in pair) == sorted([ACCEPTED, "NotReturnable"]), pair
    assert met, "the duellists should have raced for a last unit"


def _same_unit(one: Any, other: Any) -> bool:
    return bool((one.order_id, one.sku) == (other.order_id, other.sku))


def assert_the_race_hit_the_guards(db: Database, tally: Counter[tuple[str, str]]) -> None:
    """The race is worth something only if every kind of action was both taken and refused
    where it can be, returns came back in both conditions, transfers arrived short and over,
    and facts made transfers shrink and orders move."""
    for kind, refusal in (
        ("ship order", "InsufficientStock"),
        ("return", ACCEPTED),
        ("over-return", "NotReturnable"),
        ("transfer", "InsufficientStock"),
        ("transfer", ACCEPTED),
        ("supplier delivery", ACCEPTED),
        ("transfer ship", ACCEPTED),
        ("transfer receive", ACCEPTED),
        ("till sale", ACCEPTED),
        ("ship order", ACCEPTED),
        ("deliver", ACCEPTED),
    ):
        assert tally[kind, refusal], (kind, refusal)
    conditions = {line.condition for x in all_returns(db) for line in x.lines}
    assert conditions == set(Condition)
    found = all_transfers(db)
    differences = {d > 0 for t in found for line in t.lines if (d := line.discrepancy)}
    assert differences == {True, False}, "receptions should have come short and over"
    assert any(line.quantity < line.requested for t in found for line in t.lines), (
        "facts at origins should have made open transfers carry less"
    )
    healed = [
        entry
        for found in orders_now(db).values()
        for entry in found.history
        if entry["event"] in ("resourced", "backordered") and "went short" in entry["detail"]
    ]
    assert healed, "facts should have moved units promised to orders"


def assert_each_position_reserves_its_promises(db: Database) -> None:
    """`reserved` is, at each position, the units of its open fulfilments, of its active
    holds and of the open transfers from there."""
    promised = promised_units(db, *OPEN)
    reserved = {key: p.reserved for key, p in all_positions(db).items()}
    assert reserved == {key: promised[key] for key in reserved}
    assert set(promised) <= set(reserved)


def assert_no_untouched_promise_where_stock_is_short(db: Database) -> None:
    """Where a physical fact left fewer units than promised, healing left only fulfilments
    already picked or packed there: no allocation nobody started on, no hold, no transfer."""
    untouched = promised_units(db, FulfilmentStatus.ALLOCATED)
    short = {key for key, p in all_positions(db).items() if p.available < 0}
    assert {key: untouched[key] for key in short if untouched[key]} == {}


def finish_the_work_started(db: Database) -> None:
    """The floor finishes what it started: picked, packed or ready fulfilments leave with
    their customer or carrier, or are cancelled when a fact took their units."""
    steps = {
        FulfilmentStatus.PICKED: (Action.PACK, Action.READY),  # a shipment, or a pickup
        FulfilmentStatus.PACKED: (Action.SHIP,),
        FulfilmentStatus.READY_FOR_PICKUP: (Action.COLLECT,),
    }
    for status, actions in steps.items():  # each queue read once the one before is done
        with db.reading() as reads:
            queue, _ = fulfilment.queue(reads, status=status, limit=100_000)
        for f in queue:
            for action in actions:
                step = functools.partial(fulfilment.act, fulfilment_id=f.id, action=action)
                try:
                    db.run(step)
                except InvalidTransition:
                    continue  # a step of the other delivery method
                except StockConflict:
                    cancel = functools.partial(
                        fulfilment.act, fulfilment_id=f.id, action=Action.CANCEL
                    )
                    db.run(cancel)
                break
    with db.reading() as reads:
        for status in steps:
            assert fulfilment.queue(reads, status=status)[0] == [], status


def assert_no_position_promises_more_than_it_has(db: Database) -> None:
    """reserved <= on_hand - unsellable everywhere, with nothing negative."""
    for key, p in all_positions(db).items():
        assert p.available >= 0 and p.reserved >= 0 and p.unsellable >= 0, (key, p)
        assert p.inbound >= 0, (key, p)


def assert_inbound_is_what_shipped_transfers_carry(db: Database) -> None:
    on_the_way = carried_units(all_transfers(db), TransferStatus.SHIPPED, "destination")
    inbound = {key: p.inbound for key, p in all_positions(db).items()}
    assert inbound == {key: on_the_way[key] for key in inbound}
    assert set(on_the_way) <= set(inbound)


def assert_no_order_got_back_more_than_it_delivered(db: Database) -> None:
    """Per order and sku, the units returned are at most those delivered or collected; and
    each return is in its order's history."""
    final = orders_now(db)
    taken_back: Counter[tuple[int, str]] = Counter()
    returns_of: Counter[int] = Counter()
    for x in all_returns(db):
        returns_of[x.order_id] += 1
        for line in x.lines:
            taken_back[x.order_id, line.sku] += line.quantity
    assert taken_back, "the race should have taken units back"
    for order_id, sku in taken_back:
        order = final[order_id].order
        delivered = sum(dict(f.lines).get(sku, 0) for f in order.fulfilments if f.status in DONE)
        assert taken_back[order_id, sku] <= delivered, order
    for found in final.values():
        assert events_of(found).count("returned") == returns_of[found.order.id], found
    duels = [found.order for found in final.values() if found.order.external_id.startswith(DUEL)]
    assert any(returns_of[o.id] for o in duels), "a duel order should have come back"


def assert_each_refund_is_what_was_paid(db: Database) -> None:
    """Each line is refunded at the price its order paid, and the return the sum, exactly."""
    final = orders_now(db)
    for x in all_returns(db):
        paid = {line.sku: line.unit_price for line in final[x.order_id].order.lines}
        assert x.currency == final[x.order_id].order.currency, x
        for line in x.lines:
            assert line.unit_price == paid[line.sku], x
        total = sum(line.quantity * paid[line.sku] for line in x.lines)
        assert x.refund_amount == total, x


def assert_the_ledger_tells_each_transfer(db: Database) -> None:
    """The movements of each transfer add up to its state: an open one reserves what it
    carries at its origin; a shipped one took it off the origin and has it inbound at the
    destination; a received one added exactly what was received to on hand there (arrived
    as shipped, and the discrepancy), with nothing left inbound; a cancelled one nothing."""
    ledger = ledger_by_reference(db, "transfer")
    for t in all_transfers(db):
        expected: list[tuple[str, str, Deltas]] = []
        for line in t.lines:
            sku, carried = line.sku, line.quantity
            if t.status is TransferStatus.OPEN:
                assert t.origin is not None, t  # only a supplier's delivery has none
                expected.append((t.origin, sku, Deltas(reserved=carried)))
            if (
                t.status in (TransferStatus.SHIPPED, TransferStatus.RECEIVED)
                and t.origin is not None
            ):
                expected.append((t.origin, sku, Deltas(on_hand=-carried)))
            if t.status is TransferStatus.SHIPPED:
                expected.append((t.destination, sku, Deltas(inbound=carried)))
            if t.status is TransferStatus.RECEIVED:
                assert line.received is not None, t  # counted
                expected.append((t.destination, sku, Deltas(on_hand=line.received)))
        assert ledger.get(t.id, {}) == sums(expected), t


def assert_the_ledger_tells_each_return(db: Database) -> None:
    """Each return put its units on hand where it was taken back, the damaged ones also
    unsellable."""
    ledger = ledger_by_reference(db, "return")
    for x in all_returns(db):
        expected = [
            (
                x.location,
                line.sku,
                Deltas(
                    on_hand=line.quantity,
                    unsellable=line.quantity if line.condition is Condition.DAMAGED else 0,
                ),
            )
            for line in x.lines
        ]
        assert ledger.get(x.id, {}) == sums(expected), x
