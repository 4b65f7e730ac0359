"""Holds never oversell: DESIGN invariant 1 under concurrency, across processes (issue 3).

Four OS processes of eight threads each (started with the "spawn" context, see
`oversell_worker`) race more than 2,000 holds on a little stock, on SQLite and PostgreSQL.
Afterwards exactly the sellable stock is held, never more; every committed state kept the
channel's buffer; every hold got all its lines or nothing; every refusal is InsufficientStock
and explains itself; no lock error reached a caller; the ledger replays clean.

`Database.run` retries a deadlock unseen, so on PostgreSQL the tests also read the server's
own deadlock counter: rows locked in one fixed order never deadlock, and none may be detected.

A control proves that the race can catch an oversell: the same race through a naive
read-then-write hold oversells on PostgreSQL. Expiry: an expired hold stops counting at once,
sweepers in several processes release each expired hold exactly once, and holds racing
sweepers over holds that keep expiring neither oversell nor deadlock.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from oversell_worker import (
    Granted,
    Hold,
    HoldFn,
    Placed,
    Race,
    Refused,
    Report,
    race_holds,
    service_hold,
    sweep_expired,
    sweep_for,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

from omnistock.db import Database, UnitOfWork
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.stock import MovementType
from omnistock.events.feed import feed
from omnistock.services import availability, catalog, channels, reservations, stock
from processes import WORKER_TIMEOUT_SECONDS, Job, run_together
from samples import CAP, STORE, TEE, WAREHOUSE

WORKERS = 4
#: A bound on waiting, so that a hang fails the test instead of blocking the run.
WEB = "web"
SOCKS = Item(sku="SOCK-1", name="Socks")
PARIS, LYON = (48.8566, 2.3522), (45.7640, 4.8357)

# One hot sku: 10 units at the warehouse, 2 of them kept back from the web shop.
HOT_ON_HAND, HOT_BUFFER = 10, 2
HOT_SELLABLE = HOT_ON_HAND - HOT_BUFFER
HOT_RACE = Race(channel=WEB, skus=(TEE.sku,), holds_per_thread=63)  # 4 x 8 x 63 = 2,016 holds

# Three skus at a warehouse (20 units each) and a store (22 each, 2 kept back for walk-ins):
# enough for dozens of multi-line holds to lock rows at once before the stock runs out.
SKUS = (TEE.sku, CAP.sku, SOCKS.sku)
AT_WAREHOUSE, AT_STORE, STORE_BUFFER = 20, 22, 2
SELLABLE_PER_SKU = AT_WAREHOUSE + AT_STORE - STORE_BUFFER
MIXED_RACE = Race(
    channel=WEB,
    skus=SKUS,
    holds_per_thread=63,
    most_skus=3,
    ship_to=(None, PARIS, LYON),  # so that holds draw from the two locations in either order
)
# Carts that live one second, placed over a few seconds while sweepers run: units keep
# expiring and being held again.
CHURN_RACE = dataclasses.replace(MIXED_RACE, holds_per_thread=20, ttl_seconds=1, pause_seconds=0.1)
CHURN_SWEEP_SECONDS = 2.5
#: How the tests name their worker processes' PostgreSQL sessions.
WORKER_APPLICATION = "omnistock-oversell-worker"


# --------------------------------------------------------------------------- setting up shop


def set_up_shop(
    db: Database,
    *,
    items: Iterable[Item],
    on_hand: dict[tuple[Location, str], int],
    rules: Iterable[BufferRule] = (),
) -> None:
    """Items, the locations stocked in `on_hand` (all in the web pool), rules and receipts."""
    pool = sorted({location for location, _ in on_hand}, key=lambda loc: loc.code)
    for item in items:
        db.run(functools.partial(catalog.put_item, item=item))
    for location in pool:
        db.run(functools.partial(catalog.put_location, location=location))
    web = Channel(code=WEB, name="Web shop", locations=tuple(loc.code for loc in pool))
    db.run(functools.partial(channels.put_channel, channel=web))
    for rule in rules:
        db.run(functools.partial(channels.add_rule, rule=rule))
    for (location, sku), quantity in on_hand.items():
        db.run(
            functools.partial(
                stock.record_movement,
                location=location.code,
                sku=sku,
                movement_type=MovementType.RECEIPT,
                quantity=quantity,
            )
        )


def stock_one_hot_sku(db: Database) -> None:
    set_up_shop(
        db,
        items=[TEE],
        on_hand={(WAREHOUSE, TEE.sku): HOT_ON_HAND},
        rules=[BufferRule(id=0, channel=WEB, sku=TEE.sku, units=HOT_BUFFER)],
    )


def stock_three_skus_at_two_locations(db: Database) -> None:
    set_up_shop(
        db,
        items=[TEE, CAP, SOCKS],
        on_hand={
            **{(WAREHOUSE, sku): AT_WAREHOUSE for sku in SKUS},
            **{(STORE, sku): AT_STORE for sku in SKUS},
        },
        rules=[BufferRule(id=0, channel=WEB, location_type=LocationType.STORE, units=STORE_BUFFER)],
    )


# --------------------------------------------------------------------------- running the race


def run_workers(jobs: list[Job]) -> list[Report]:
    """Start one spawned process per job, released together by a barrier."""
    return run_together(jobs)


def race(database_url: str, plan: Race, hold: HoldFn) -> list[Report]:
    """`WORKERS` processes place the holds of `plan` through `hold`."""
    url = worker_url(database_url)
    return run_workers([(race_holds, (w, url, plan, hold)) for w in range(WORKERS)])


def worker_url(database_url: str) -> str:
    """The URL workers connect with: on PostgreSQL, their sessions carry a name of their own."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    named = url.update_query_dict({"application_name": WORKER_APPLICATION})
    return named.render_as_string(hide_password=False)


def deadlocks_detected(db: Database) -> int:
    """Deadlocks PostgreSQL detected in this database, once every worker has disconnected.

    PostgreSQL breaks a deadlock by failing one transaction, which `Database.run` retries, so a
    caller never sees it: only this counter does (a backend flushes it before it exits).
    SQLite writers take the file's lock at BEGIN, one at a time: they cannot deadlock.
    """
    if db.is_sqlite:
        return 0
    workers = text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name")
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while True:
        with db.read() as conn:  # a new transaction: statistics are read afresh
            if conn.execute(workers, {"name": WORKER_APPLICATION}).scalar_one() == 0:
                break
        assert time.monotonic() < deadline, "worker sessions never ended"
        time.sleep(0.01)
    with db.read() as conn:
        found = text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(conn.execute(found).scalar_one())


def granted_in(reports: Iterable[Report]) -> list[Granted]:
    return [g for r in reports for g in r.granted]


def refused_in(reports: Iterable[Report]) -> list[Refused]:
    return [f for r in reports for f in r.refused]


def unexpected_in(reports: Iterable[Report]) -> list[str]:
    return [u for r in reports for u in r.unexpected]


def units_held(granted: Iterable[Granted]) -> Counter[str]:
    """Units granted per sku, from the allocations the service reported."""
    held: Counter[str] = Counter()
    for g in granted:
        for _, sku, quantity in g.allocations:
            held[sku] += quantity
    return held


def hold_what_is_left(db: Database, sku: str) -> list[Granted]:
    """One unit at a time until refused: whatever the race left sellable."""
    taken: list[Granted] = []
    while isinstance(outcome := service_hold(db, WEB, Hold(((sku, 1),))), Granted):
        taken.append(outcome)
    return taken


def ledger_of(db: Database, sku: str) -> list[tuple[str, str, str, int]]:
    """(type, location, sku, reserved delta) of each movement of the item, oldest first."""
    with db.reading() as reads:
        return [
            (m.type, m.location, m.sku, m.deltas.reserved)
            for m in stock.ledger(reads, sku=sku, limit=1_000_000)
        ]


# --------------------------------------------------------------------------- what must hold


def assert_never_oversold(granted: Iterable[Granted], sellable: dict[str, int]) -> None:
    held = units_held(granted)
    oversold = {sku: units for sku, units in held.items() if units > sellable[sku]}
    assert not oversold, f"granted more than the sellable stock {sellable}: {oversold}"


def assert_all_or_nothing(granted: Iterable[Granted], pool: set[str]) -> None:
    """Each granted hold's allocations add up to exactly its lines, within the pool."""
    for g in granted:
        allocated: Counter[str] = Counter()
        for location, sku, quantity in g.allocations:
            assert location in pool and quantity > 0, g
            allocated[sku] += quantity
        assert allocated == Counter(dict(g.lines)), g


def assert_refusals_explain_themselves(refused: Iterable[Refused]) -> None:
    """A refusal names only lines of its hold, each asking more than was available."""
    for f in refused:
        assert f.short, f
        for sku, requested, available in f.short:
            assert (sku, requested) in f.lines, f
            assert 0 <= available < requested, f


def assert_stock_matches_the_holds(
    db: Database, granted: list[Granted], buffers: dict[str, int]
) -> None:
    """Positions, ledger and outbox agree with the granted holds, and kept every buffer."""
    allocations: Counter[Placed] = Counter(a for g in granted for a in g.allocations)
    skus = {sku for _, sku, _ in allocations}
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
        positions = {(loc, sku): p for sku in skus for loc, p in stock.stock_of(reads, sku)}
    held_at: Counter[tuple[str, str]] = Counter()
    for location, sku, quantity in allocations.elements():
        held_at[location, sku] += quantity
    assert {key: p.reserved for key, p in positions.items()} == {k: held_at[k] for k in positions}
    assert all(p.available >= buffers[location] for (location, _), p in positions.items())
    reserves = Counter(
        (location, sku, reserved)
        for item in skus
        for kind, location, sku, reserved in ledger_of(db, item)
        if kind == "reserve"
    )
    assert reserves == allocations, "one reserve movement per allocation"
    assert_every_state_kept_the_buffer(db, buffers)


def assert_every_state_kept_the_buffer(db: Database, buffers: dict[str, int]) -> None:
    """Every position state a change committed, as the outbox recorded it, kept the buffer."""
    shown, _ = feed(db, after=0, limit=1_000_000)
    for event in shown:
        if event["type"] == "stock.changed":
            p = event["data"]
            left = p["on_hand"] - p["reserved"] - p["unsellable"]
            assert left >= buffers[p["location"]], p


def assert_the_last_published_ats_is_the_ats_now(db: Database, skus: Iterable[str]) -> None:
    """The newest availability.changed event of each sku tells its ATS as it is now."""
    shown, _ = feed(db, after=0, limit=1_000_000)
    last = {
        (e["data"]["channel"], e["data"]["sku"]): e["data"]["available_to_sell"]
        for e in shown
        if e["type"] == "availability.changed"
    }
    with db.reading() as reads:
        now = {
            (WEB, a.sku): a.available_to_sell
            for a in availability.of_items(reads, channel=WEB, skus=list(skus))
        }
    assert {key: last.get(key) for key in now} == now


# --------------------------------------------------------------------------- the races


@pytest.mark.slow
def test_processes_racing_holds_on_one_hot_sku_hold_exactly_the_sellable_stock_and_never_more(
    db: Database, database_url: str
) -> None:
    stock_one_hot_sku(db)

    reports = race(database_url, HOT_RACE, service_hold)

    assert unexpected_in(reports) == []
    granted, refused = granted_in(reports), refused_in(reports)
    assert len(granted) + len(refused) == WORKERS * HOT_RACE.threads * HOT_RACE.holds_per_thread
    assert_never_oversold(granted, {TEE.sku: HOT_SELLABLE})
    # Demand far exceeds the stock: at most 2 units can stay unheld (if only 3s came after).
    assert units_held(granted)[TEE.sku] >= HOT_SELLABLE - 2
    assert_refusals_explain_themselves(refused)
    assert_all_or_nothing(granted, {WAREHOUSE.code})
    assert_the_last_published_ats_is_the_ats_now(db, [TEE.sku])
    # Whatever the race left, one unit at a time: then exactly the sellable stock is held.
    granted += hold_what_is_left(db, TEE.sku)
    assert units_held(granted) == {TEE.sku: HOT_SELLABLE}
    assert_stock_matches_the_holds(db, granted, {WAREHOUSE.code: HOT_BUFFER})


@pytest.mark.slow
def test_processes_racing_multi_line_holds_across_locations_never_oversell_nor_deadlock(
    db: Database, database_url: str
) -> None:
    stock_three_skus_at_two_locations(db)

    reports = race(database_url, MIXED_RACE, service_hold)

    assert unexpected_in(reports) == []  # no deadlock, no busy file, no serialization error
    assert deadlocks_detected(db) == 0, "rows must be locked in one order: (location, sku)"
    granted, refused = granted_in(reports), refused_in(reports)
    assert len(granted) + len(refused) == WORKERS * MIXED_RACE.threads * MIXED_RACE.holds_per_thread
    assert any(len(g.lines) > 1 for g in granted) and refused, "the race should hit the guards"
    sellable = dict.fromkeys(SKUS, SELLABLE_PER_SKU)
    assert_never_oversold(granted, sellable)
    assert_all_or_nothing(granted, {WAREHOUSE.code, STORE.code})
    assert_refusals_explain_themselves(refused)
    assert_the_last_published_ats_is_the_ats_now(db, SKUS)
    for sku in SKUS:
        granted += hold_what_is_left(db, sku)
    assert units_held(granted) == sellable
    assert_stock_matches_the_holds(db, granted, {WAREHOUSE.code: 0, STORE.code: STORE_BUFFER})


# --------------------------------------------------------------------------- the control


def naive_hold(db: Database, channel: str, wanted: Hold) -> Granted | Refused:
    """The hold the guarded SQL replaces: read, decide in Python, write back. Oversells.

    It reads what is available, keeps the buffer back in Python, and writes the new
    `reserved` as a plain value, with no condition on the row as it is by then.
    """
    ((sku, quantity),) = wanted.lines
    key = {"sku": sku, "location": WAREHOUSE.code}

    def attempt(uow: UnitOfWork) -> Granted | Refused:
        read = text(
            "SELECT on_hand - reserved - unsellable, reserved FROM positions"
            " WHERE sku = :sku AND location = :location"
        )
        available, reserved = uow.conn.execute(read, key).one()
        if available - HOT_BUFFER < quantity:
            return Refused(wanted.lines, ((sku, quantity, max(0, available - HOT_BUFFER)),))
        time.sleep(0.001)  # a little work between the read and the write, as a real app does
        write = text(
            "UPDATE positions SET reserved = :value WHERE sku = :sku AND location = :location"
        )
        uow.conn.execute(write, {**key, "value": reserved + quantity})
        return Granted("naive", wanted.lines, ((WAREHOUSE.code, sku, quantity),), uow.now)

    return db.run(attempt)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_same_race_through_a_naive_read_then_write_hold_oversells_on_postgresql(
    db: Database, database_url: str
) -> None:
    """A test of the test: with the guard removed from the SQL, the race catches an oversell."""
    stock_one_hot_sku(db)

    reports = race(database_url, HOT_RACE, naive_hold)

    assert unexpected_in(reports) == []
    granted = granted_in(reports)
    assert units_held(granted)[TEE.sku] > HOT_SELLABLE
    with pytest.raises(AssertionError, match="granted more than the sellable stock"):
        assert_never_oversold(granted, {TEE.sku: HOT_SELLABLE})


# --------------------------------------------------------------------------- expiry


def place_hold(
    db: Database, lines: list[tuple[str, int]], **options: Any
) -> reservations.Reservation:
    return db.run(lambda uow: reservations.hold(uow, channel=WEB, lines=lines, **options))


def available_to_sell(db: Database, sku: str) -> int:
    with db.reading() as reads:
        return availability.of_item(reads, channel=WEB, sku=sku).available_to_sell


def wait_until_expired(*holds: reservations.Reservation | Granted) -> None:
    """Sleep until every hold is past its expiry, with a margin."""
    latest = max(h.expires_at for h in holds)
    time.sleep(max(0.0, (latest - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)


def test_an_expired_hold_stops_counting_at_once_and_another_hold_can_take_its_units(
    db: Database,
) -> None:
    stock_one_hot_sku(db)

    first = place_hold(db, [(TEE.sku, 3)], ttl_seconds=1)
    assert available_to_sell(db, TEE.sku) == HOT_SELLABLE - 3
    wait_until_expired(first)

    # No sweep has run: the units are still reserved in the row, yet they count again.
    with db.reading() as reads:
        assert dict(stock.stock_of(reads, TEE.sku))[WAREHOUSE.code].reserved == 3
    assert available_to_sell(db, TEE.sku) == HOT_SELLABLE
    second = place_hold(db, [(TEE.sku, HOT_SELLABLE)])
    assert [(a.location, a.sku, a.quantity) for a in second.allocations] == [
        (WAREHOUSE.code, TEE.sku, HOT_SELLABLE)
    ]
    assert available_to_sell(db, TEE.sku) == 0
    with db.reading() as reads:
        assert reservations.get(reads, first.id).status == "expired"
        assert reservations.get(reads, second.id).status == "active"
        assert list(stock.check(reads)) == []
    movements = [(kind, reserved) for kind, _, _, reserved in ledger_of(db, TEE.sku)]
    assert movements == [("receipt", 0), ("reserve", 3), ("release", -3), ("reserve", 8)]
    assert db.run(lambda uow: reservations.release_expired(uow)) == 0


@pytest.mark.slow
def test_processes_sweeping_expired_holds_at_once_release_each_exactly_once(
    db: Database, database_url: str
) -> None:
    set_up_shop(
        db,
        items=[TEE, CAP],
        on_hand={(loc, sku): 50 for loc in (WAREHOUSE, STORE) for sku in (TEE.sku, CAP.sku)},
    )
    # Two lines each, from one location or the other: a sweep locks rows at both.
    expiring = [
        place_hold(
            db, [(CAP.sku, 1 + n % 2), (TEE.sku, 1)], ship_to=(PARIS, LYON)[n % 2], ttl_seconds=1
        )
        for n in range(24)
    ]
    lasting = place_hold(db, [(TEE.sku, 2)])
    wait_until_expired(*expiring)

    url = worker_url(database_url)
    sweepers = run_workers([(sweep_expired, (w, url, 5)) for w in range(WORKERS)])

    assert unexpected_in(sweepers) == []
    assert deadlocks_detected(db) == 0
    assert sum(s.released for s in sweepers) == len(expiring)
    assert db.run(lambda uow: reservations.release_expired(uow)) == 0
    with db.reading() as reads:
        assert {reservations.get(reads, h.id).status for h in expiring} == {"expired"}
        assert reservations.get(reads, lasting.id).status == "active"
        assert list(stock.check(reads)) == []
        still_reserved = {
            (location, sku): p.reserved
            for sku in (TEE.sku, CAP.sku)
            for location, p in stock.stock_of(reads, sku)
            if p.reserved
        }
    assert still_reserved == {(a.location, a.sku): a.quantity for a in lasting.allocations}
    expected = Counter((a.location, a.sku, -a.quantity) for h in expiring for a in h.allocations)
    releases = [
        (location, sku, reserved)
        for item in (TEE.sku, CAP.sku)
        for kind, location, sku, reserved in ledger_of(db, item)
        if kind == "release"
    ]
    assert Counter(releases) == expected, "exactly one release movement per allocation"
    shown, _ = feed(db, after=0, limit=1_000_000)
    expired_events = [e["data"]["id"] for e in shown if e["type"] == "reservation.expired"]
    assert sorted(expired_events) == sorted(h.id for h in expiring)


@pytest.mark.slow
def test_holds_racing_sweepers_over_holds_that_keep_expiring_never_oversell_nor_deadlock(
    db: Database, database_url: str
) -> None:
    stock_three_skus_at_two_locations(db)
    url = worker_url(database_url)

    reports = run_workers(
        [(race_holds, (w, url, CHURN_RACE, service_hold)) for w in range(2)]
        + [(sweep_for, (10 + w, url, 20, CHURN_SWEEP_SECONDS)) for w in range(2)]
    )

    assert unexpected_in(reports) == []
    assert deadlocks_detected(db) == 0, "releasing expired holds must lock rows in order too"
    granted = granted_in(reports)
    sellable = dict.fromkeys(SKUS, SELLABLE_PER_SKU)
    assert_all_or_nothing(granted, {WAREHOUSE.code, STORE.code})
    assert_refusals_explain_themselves(refused_in(reports))
    assert any(units > sellable[sku] for sku, units in units_held(granted).items()), (
        "the race should hold units again after their hold expired"
    )
    wait_until_expired(*granted)
    db.run(lambda uow: reservations.release_expired(uow, most=len(granted)))
    with db.reading() as reads:
        assert {reservations.get(reads, g.reservation_id).status for g in granted} == {"expired"}
        assert list(stock.check(reads)) == []
        assert {p.reserved for sku in SKUS for _, p in stock.stock_of(reads, sku)} == {0}
    allocations = Counter(a for g in granted for a in g.allocations)
    movements = [m for sku in SKUS for m in ledger_of(db, sku)]
    reserves = Counter((loc, sku, q) for kind, loc, sku, q in movements if kind == "reserve")
    releases = Counter((loc, sku, -q) for kind, loc, sku, q in movements if kind == "release")
    assert reserves == allocations
    assert releases == allocations, "each hold released exactly once"
    assert_every_state_kept_the_buffer(db, {WAREHOUSE.code: 0, STORE.code: STORE_BUFFER})
