"""Each process caches the configuration, and never answers from a configuration that is gone.

`db.configuration` (a `ConfigurationCache`) keeps locations, channels and the buffer rules
without a sku resolved in a `Rulebook`, checked against the stored revision in every
transaction that uses it. Several `Database` objects on one URL stand for several processes:
whatever one of them changes, the others' next availability answer and next hold follow it
at once; a change rolled back is never seen, even by the process that read it before rolling
back; an unchanged configuration costs one statement and no reload; and under concurrent
changes no reader is left with a stale book. On SQLite and PostgreSQL.

The shop: T-shirts at a warehouse (10) and a store (6), the web channel selling from every
ship-enabled location, and one unit kept back from the web at stores.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from omnistock.db import Database, ReadUnit, UnitOfWork
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.errors import InsufficientStock, ShortLine
from omnistock.domain.reservations import Reservation
from omnistock.domain.stock import MovementType
from omnistock.events.feed import feed
from omnistock.services import availability, catalog, channels, reservations, stock
from samples import CAP, STORE, TEE, WAREHOUSE

WEB = "web"
WEB_SHOP = Channel(code=WEB, name="Web shop")  # no types, no locations: every ship-enabled one
LILLE = Location(
    code="WH-LILLE",
    name="Lille warehouse",
    type=LocationType.WAREHOUSE,
    lat=50.6292,
    lon=3.0573,
    ship_enabled=True,
    pickup_enabled=False,
)
AT_WAREHOUSE, AT_STORE, KEPT_AT_STORES = 10, 6, 1
CAPS_AT_WAREHOUSE = 4

#: (location, available, buffer, sellable) at each location of the web pool, by code.
Breakdown = list[tuple[str, int, int, int]]
BEFORE: Breakdown = [
    (STORE.code, AT_STORE, KEPT_AT_STORES, AT_STORE - KEPT_AT_STORES),
    (WAREHOUSE.code, AT_WAREHOUSE, 0, AT_WAREHOUSE),
]


# --------------------------------------------------------------------------- the shop


def open_shop(db: Database) -> None:
    """Both items and locations, the web channel, the store rule and the stock."""

    def configure(uow: UnitOfWork) -> None:
        for item in (TEE, CAP):
            catalog.put_item(uow, item)
        for location in (STORE, WAREHOUSE):
            catalog.put_location(uow, location)
        channels.put_channel(uow, WEB_SHOP)
        rule = BufferRule(id=0, channel=WEB, location_type=LocationType.STORE, units=1)
        channels.add_rule(uow, rule)

    db.run(configure)
    receive(db, WAREHOUSE.code, TEE.sku, AT_WAREHOUSE)
    receive(db, STORE.code, TEE.sku, AT_STORE)
    receive(db, WAREHOUSE.code, CAP.sku, CAPS_AT_WAREHOUSE)


def receive(db: Database, location: str, sku: str, quantity: int) -> None:
    db.run(
        functools.partial(
            stock.record_movement,
            location=location,
            sku=sku,
            movement_type=MovementType.RECEIPT,
            quantity=quantity,
        )
    )


@contextlib.contextmanager
def another_process(database_url: str) -> Iterator[Database]:
    """A `Database` of its own on the same URL: its own pool and its own configuration cache."""
    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


# --------------------------------------------------------------------------- asking


def tees_on_the_web(db: Database) -> tuple[int, Breakdown]:
    """ATS of T-shirts on the web and the breakdown, read in a snapshot."""
    with db.reading() as reads:
        found = availability.of_item(reads, channel=WEB, sku=TEE.sku)
    return found.available_to_sell, entries(found)


def entries(found: availability.Availability) -> Breakdown:
    return [(e.location, e.available, e.buffer, e.sellable) for e in found.locations]


def answer(breakdown: Breakdown) -> tuple[int, Breakdown]:
    """What `tees_on_the_web` says when the pool and buffers are `breakdown`."""
    return sum(sellable for *_, sellable in breakdown), breakdown


def hold_tees(db: Database, quantity: int) -> Reservation:
    return db.run(lambda uow: reservations.hold(uow, channel=WEB, lines=[(TEE.sku, quantity)]))


def refusal(db: Database, quantity: int) -> list[ShortLine]:
    """The short lines of a hold of `quantity` T-shirts that must be refused."""
    with pytest.raises(InsufficientStock) as refused:
        hold_tees(db, quantity)
    return refused.value.lines


def placed(reservation: Reservation) -> list[tuple[str, int]]:
    """(location, quantity) of each allocation, in the order the hold drew them."""
    return [(a.location, a.quantity) for a in reservation.allocations]


@contextlib.contextmanager
def statements_on(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement sent through `engine` while inside the block."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


# --------------------------------------------------------------------------- the changes


def add_a_rule_without_sku(db: Database) -> None:
    rule = BufferRule(id=0, location=WAREHOUSE.code, units=3)
    db.run(functools.partial(channels.add_rule, rule=rule))


def delete_the_store_rule(db: Database) -> None:
    with db.reading() as reads:
        (rule,) = channels.list_rules(reads)
    db.run(lambda uow: channels.delete_rule(uow, rule.id))


def add_a_rule_for_the_sku(db: Database) -> None:
    rule = BufferRule(id=0, sku=TEE.sku, units=4)  # outranks the store's rule
    db.run(functools.partial(channels.add_rule, rule=rule))


def sell_from_warehouses_only(db: Database) -> None:
    web = dataclasses.replace(WEB_SHOP, location_types=(LocationType.WAREHOUSE,))
    db.run(functools.partial(channels.put_channel, channel=web))


def sell_from_the_store_only(db: Database) -> None:
    web = dataclasses.replace(WEB_SHOP, locations=(STORE.code,))
    db.run(functools.partial(channels.put_channel, channel=web))


def close_the_store(db: Database) -> None:
    closed = dataclasses.replace(STORE, active=False)
    db.run(functools.partial(catalog.put_location, location=closed))


def stop_shipping_from_the_store(db: Database) -> None:
    pickup_only = dataclasses.replace(STORE, ship_enabled=False)
    db.run(functools.partial(catalog.put_location, location=pickup_only))


def open_a_warehouse_and_stock_it(db: Database) -> None:
    db.run(functools.partial(catalog.put_location, location=LILLE))
    receive(db, LILLE.code, TEE.sku, 4)


@dataclasses.dataclass(frozen=True)
class Change:
    make: Callable[[Database], None]
    #: The web breakdown of T-shirts afterwards.
    after: Breakdown
    #: Where a hold of every sellable T-shirt takes them, in the order it draws.
    takes: list[tuple[str, int]]

    @property
    def ats(self) -> int:
        return answer(self.after)[0]


ONLY_THE_WAREHOUSE: Breakdown = [(WAREHOUSE.code, 10, 0, 10)]
CHANGES = {
    "a new rule without sku": Change(
        add_a_rule_without_sku,
        after=[(STORE.code, 6, 1, 5), (WAREHOUSE.code, 10, 3, 7)],
        takes=[(WAREHOUSE.code, 7), (STORE.code, 5)],
    ),
    "a rule deleted": Change(
        delete_the_store_rule,
        after=[(STORE.code, 6, 0, 6), (WAREHOUSE.code, 10, 0, 10)],
        takes=[(WAREHOUSE.code, 10), (STORE.code, 6)],
    ),
    "a new rule for the sku": Change(
        add_a_rule_for_the_sku,
        after=[(STORE.code, 6, 4, 2), (WAREHOUSE.code, 10, 4, 6)],
        takes=[(WAREHOUSE.code, 6), (STORE.code, 2)],
    ),
    "the channel's pool by type": Change(
        sell_from_warehouses_only, after=ONLY_THE_WAREHOUSE, takes=[(WAREHOUSE.code, 10)]
    ),
    "the channel's pool by location": Change(
        sell_from_the_store_only, after=[(STORE.code, 6, 1, 5)], takes=[(STORE.code, 5)]
    ),
    "a location made inactive": Change(
        close_the_store, after=ONLY_THE_WAREHOUSE, takes=[(WAREHOUSE.code, 10)]
    ),
    "a location no longer ship-enabled": Change(
        stop_shipping_from_the_store, after=ONLY_THE_WAREHOUSE, takes=[(WAREHOUSE.code, 10)]
    ),
    "a new location": Change(
        open_a_warehouse_and_stock_it,
        after=[(STORE.code, 6, 1, 5), (LILLE.code, 4, 0, 4), (WAREHOUSE.code, 10, 0, 10)],
        takes=[(LILLE.code, 4), (WAREHOUSE.code, 10), (STORE.code, 5)],
    ),
}


# --------------------------------------------------------------------------- 1. other processes


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_by_another_process_is_followed_by_the_next_answer_and_the_next_hold(
    db: Database, database_url: str, change: Change
) -> None:
    """Two processes with a warm cache: after a third changes the configuration, one's next
    availability answer and the other's next hold (its first use of the cache since) follow
    the change."""
    open_shop(db)
    with another_process(database_url) as holder, another_process(database_url) as changer:
        assert tees_on_the_web(db) == answer(BEFORE)
        assert tees_on_the_web(holder) == answer(BEFORE)

        change.make(changer)

        assert tees_on_the_web(db) == answer(change.after)
        # A stale book would grant one more than sellable, or tell another figure.
        assert refusal(holder, change.ats + 1) == [ShortLine(TEE.sku, change.ats + 1, change.ats)]
        assert placed(hold_tees(holder, change.ats)) == change.takes
        assert tees_on_the_web(db)[0] == 0
        assert tees_on_the_web(changer)[0] == 0


# --------------------------------------------------------------------------- 2. rolled back


class Abandoned(Exception):
    """Raised to roll a transaction back."""


def add_a_warehouse_rule_read_it_and_roll_back(db: Database) -> None:
    """Add a rule, read the configuration with it in the same transaction (so that the
    process's cache may keep that book), then roll back."""

    def change_then_fail(uow: UnitOfWork) -> None:
        add_rule = BufferRule(id=0, location=WAREHOUSE.code, units=3)
        channels.add_rule(uow, add_rule)
        book, _ = uow.rulebook([TEE.sku])
        seen = availability.of_item(uow, channel=WEB, sku=TEE.sku)
        assert seen.available_to_sell == 12, "the transaction sees its own change"
        assert book.resolver(WEB, TEE.sku, [])(WAREHOUSE) is not None
        raise Abandoned

    with pytest.raises(Abandoned):
        db.run(change_then_fail)


def test_a_change_rolled_back_is_seen_by_no_process_not_even_the_one_that_read_it(
    db: Database, database_url: str
) -> None:
    open_shop(db)
    with another_process(database_url) as other:
        assert tees_on_the_web(db) == answer(BEFORE)
        assert tees_on_the_web(other) == answer(BEFORE)

        add_a_warehouse_rule_read_it_and_roll_back(db)

        with db.reading() as reads:
            assert [r.location_type for r in channels.list_rules(reads)] == [LocationType.STORE]
        assert tees_on_the_web(db) == answer(BEFORE)
        assert tees_on_the_web(other) == answer(BEFORE)
        with another_process(database_url) as fresh:
            assert tees_on_the_web(fresh) == answer(BEFORE)
        assert refusal(db, 16) == [ShortLine(TEE.sku, 16, 15)]
        assert placed(hold_tees(db, 15)) == [(WAREHOUSE.code, 10), (STORE.code, 5)]


def test_a_book_read_in_a_rolled_back_transaction_is_never_taken_for_a_later_commit(
    db: Database, database_url: str
) -> None:
    """The process that read the abandoned change asks nothing until another process commits
    a different change: its next answer is that change, without the abandoned one (a
    revision is never written twice, so the book it may have cached cannot look current)."""
    open_shop(db)
    with another_process(database_url) as other:
        assert tees_on_the_web(db) == answer(BEFORE)

        add_a_warehouse_rule_read_it_and_roll_back(db)
        delete_the_store_rule(other)

        no_rules = [(STORE.code, 6, 0, 6), (WAREHOUSE.code, 10, 0, 10)]
        assert tees_on_the_web(db) == answer(no_rules)
        assert tees_on_the_web(other) == answer(no_rules)
        assert refusal(db, 17) == [ShortLine(TEE.sku, 17, 16)]
        assert placed(hold_tees(db, 16)) == [(WAREHOUSE.code, 10), (STORE.code, 6)]


# --------------------------------------------------------------------------- 3. the cache is used


def test_an_unchanged_configuration_is_the_same_book_checked_with_one_statement(
    db: Database,
) -> None:
    open_shop(db)
    sku_rule = db.run(lambda uow: channels.add_rule(uow, BufferRule(id=0, sku=TEE.sku, units=2)))
    with db.read() as conn:
        book, _ = db.configuration.current(conn, [TEE.sku])
    receive(db, STORE.code, CAP.sku, 3)  # stock moves; the configuration does not

    with db.read() as conn:
        conn.execute(text("SELECT 1"))  # the transaction has begun
        with statements_on(db.engine) as seen:
            again, rules = db.configuration.current(conn, [TEE.sku, CAP.sku])
        assert len(seen) == 1, seen
        assert again is book
        assert rules == {TEE.sku: [sku_rule], CAP.sku: []}
        with statements_on(db.engine) as seen:
            assert db.configuration.current(conn, [CAP.sku])[0] is book
        assert len(seen) == 1, seen

    def twice_in_a_transaction(uow: UnitOfWork) -> None:
        first, _ = uow.rulebook([TEE.sku])
        with statements_on(db.engine) as seen:
            second, rules = uow.rulebook([TEE.sku])
        assert seen == [], "the transaction's own copy"
        assert first is second is book
        assert rules == {TEE.sku: [sku_rule]}

    db.run(twice_in_a_transaction)


def test_a_changed_configuration_is_loaded_once_then_reused(db: Database) -> None:
    open_shop(db)
    with db.read() as conn:
        book, _ = db.configuration.current(conn, [TEE.sku])

    sell_from_warehouses_only(db)

    with db.read() as conn:
        changed, _ = db.configuration.current(conn, [TEE.sku])
    assert changed is not book and changed.revision != book.revision
    assert [loc.code for loc in changed.pools[WEB]] == [WAREHOUSE.code]
    with db.read() as conn:
        conn.execute(text("SELECT 1"))
        with statements_on(db.engine) as seen:
            assert db.configuration.current(conn, [TEE.sku])[0] is changed
        assert len(seen) == 1, seen


def test_the_configuration_alone_can_be_asked_for_without_any_sku(db: Database) -> None:
    """`current(conn)` and `uow.rulebook()`, as their defaults (no skus) allow (an untyped
    empty IN once compared varchar with integer on PostgreSQL)."""
    open_shop(db)
    with db.read() as conn:
        book, rules = db.configuration.current(conn)
    assert rules == {}
    assert [loc.code for loc in book.pools[WEB]] == [STORE.code, WAREHOUSE.code]
    assert db.run(lambda uow: uow.rulebook()) == (book, {})


# --------------------------------------------------------------------------- 4. same transaction


SAME_TRANSACTION = {
    "a rule without sku": (
        BufferRule(id=0, location=WAREHOUSE.code, units=3),
        [(WAREHOUSE.code, 7), (STORE.code, 5)],
    ),
    "a rule for the sku": (
        BufferRule(id=0, sku=TEE.sku, units=4),
        [(WAREHOUSE.code, 6), (STORE.code, 2)],
    ),
}


@pytest.mark.parametrize(("rule", "takes"), SAME_TRANSACTION.values(), ids=SAME_TRANSACTION.keys())
def test_a_hold_in_the_transaction_that_adds_a_rule_keeps_that_rule(
    db: Database, rule: BufferRule, takes: list[tuple[str, int]]
) -> None:
    open_shop(db)
    assert tees_on_the_web(db) == answer(BEFORE)
    sellable = sum(quantity for _, quantity in takes)

    def add_rule_then_hold(quantity: int) -> Callable[[UnitOfWork], Reservation]:
        def run(uow: UnitOfWork) -> Reservation:
            uow.rulebook([TEE.sku])  # read before the change: the transaction's copy is stale
            channels.add_rule(uow, rule)
            return reservations.hold(uow, channel=WEB, lines=[(TEE.sku, quantity)])

        return run

    with pytest.raises(InsufficientStock) as refused:
        db.run(add_rule_then_hold(sellable + 1))
    assert refused.value.lines == [ShortLine(TEE.sku, sellable + 1, sellable)]
    assert tees_on_the_web(db) == answer(BEFORE), "the refused hold took its rule with it"

    assert placed(db.run(add_rule_then_hold(sellable))) == takes
    assert tees_on_the_web(db)[0] == 0
    shown, _ = feed(db, after=0, limit=1_000)
    published = [
        e["data"]["available_to_sell"]
        for e in shown
        if e["type"] == "availability.changed" and e["data"]["sku"] == TEE.sku
    ]
    assert published[-1] == 0, "published at commit with the rule added"


# --------------------------------------------------------------------------- 5. concurrency


TOGGLED = BufferRule(id=0, channel=WEB, units=2)  # the warehouse's buffer (stores have theirs)
#: T-shirts on the web in each state the toggling writer goes through, in order, and caps
#: (4, all at the warehouse).
STATES: list[tuple[Breakdown, int]] = [
    ([(STORE.code, 6, 1, 5), (WAREHOUSE.code, 10, 2, 8)], 2),  # rule added
    ([(WAREHOUSE.code, 10, 2, 8)], 2),  # pool: warehouses only
    ([(WAREHOUSE.code, 10, 0, 10)], 4),  # rule deleted
    (BEFORE, 4),  # pool: every ship-enabled location again
]
#: The writer goes through every state at least this many times, for at least this long.
CYCLES, RACE_SECONDS = 3, 2.0
#: The writer stops after adding the rule and narrowing the pool: unlike where it started.
FINAL = STATES[1]
#: What a reader saw: T-shirts' ATS and breakdown, caps' ATS.
Seen = tuple[int, tuple[tuple[str, int, int, int], ...], int]
Read = Callable[[Database], Seen]


def seen_in(state: tuple[Breakdown, int]) -> Seen:
    tees, caps = state
    return answer(tees)[0], tuple(tees), caps


def read_in_a_snapshot(db: Database) -> Seen:
    """T-shirts (ATS and breakdown) and caps (ATS) on the web, in one read transaction."""
    with db.reading() as reads:
        return read_with(db, reads)


def read_in_a_write_transaction(db: Database) -> Seen:
    """The same, through the unit of work (READ COMMITTED on PostgreSQL)."""
    return db.run(lambda uow: read_with(db, uow))


def read_with(db: Database, reads: ReadUnit) -> Seen:
    tees = availability.of_item(reads, channel=WEB, sku=TEE.sku)
    both = availability.of_items(reads, channel=WEB, skus=[TEE.sku, CAP.sku])
    if reads.conn.get_isolation_level() != "READ COMMITTED":  # one snapshot: the two answers agree
        assert both[0].available_to_sell == tees.available_to_sell, (both, tees)
    return tees.available_to_sell, tuple(entries(tees)), both[1].available_to_sell


def toggle(db: Database, done: threading.Event) -> int:
    """Add the rule, narrow the pool, delete the rule, widen the pool; again and again.
    Ends with the rule added and the pool narrowed. Returns the number of changes made."""
    steps, until = 0, time.monotonic() + RACE_SECONDS
    try:
        while steps < 4 * CYCLES or time.monotonic() < until:
            added = db.run(functools.partial(channels.add_rule, rule=TOGGLED))
            sell_from_warehouses_only(db)
            db.run(functools.partial(channels.delete_rule, rule_id=added.id))
            db.run(functools.partial(channels.put_channel, channel=WEB_SHOP))
            steps += 4
        db.run(functools.partial(channels.add_rule, rule=TOGGLED))
        sell_from_warehouses_only(db)
        return steps + 2
    finally:
        done.set()


@dataclasses.dataclass
class Reader:
    seen: list[Seen]
    last: Seen


def keep_reading(
    db: Database, read: Read, start: threading.Barrier, done: threading.Event
) -> Reader:
    """Read until the writer is done, then once more: that last answer must be the latest."""
    seen = []
    start.wait(timeout=60)
    while not done.is_set():
        seen.append(read(db))
    return Reader(seen, read(db))


@pytest.mark.slow
def test_readers_racing_configuration_changes_end_on_the_latest_configuration(
    db: Database, database_url: str
) -> None:
    """A writer toggles a rule and the channel's pool while five threads of four processes
    read (two threads share one cache; two read in write transactions, READ COMMITTED on
    PostgreSQL). Every answer is one the configuration really had; once the writer stops,
    every reader's next answer is the latest configuration's, as a new process sees it."""
    open_shop(db)
    valid = {seen_in(state) for state in STATES}
    valid_tees = {(ats, tees) for ats, tees, _ in valid}
    valid_caps = {caps for *_, caps in valid}
    with contextlib.ExitStack() as stack:
        writer, shared, own, writing_reader = (
            stack.enter_context(another_process(database_url)) for _ in range(4)
        )
        readers: list[tuple[Database, Read]] = [
            (shared, read_in_a_snapshot),
            (shared, read_in_a_snapshot),
            (own, read_in_a_snapshot),
            (writing_reader, read_in_a_write_transaction),
            (db, read_in_a_write_transaction),
        ]
        for database, read in readers:  # every cache warm before the race
            assert read(database) == seen_in(STATES[-1])
        start, done = threading.Barrier(len(readers) + 1), threading.Event()
        with ThreadPoolExecutor(max_workers=len(readers) + 1) as pool:
            reading = [pool.submit(keep_reading, d, r, start, done) for d, r in readers]
            start.wait(timeout=60)
            changes = pool.submit(toggle, writer, done).result(timeout=120)
            results = [future.result(timeout=60) for future in reading]

    assert changes >= 4 * CYCLES + 2 and changes % 4 == 2
    with another_process(database_url) as fresh:
        latest = read_in_a_snapshot(fresh)
    assert latest == seen_in(FINAL)
    for (_, read), result in zip(readers, results, strict=True):
        assert result.last == latest
        if read is read_in_a_snapshot:
            assert set(result.seen) <= valid, set(result.seen) - valid
        else:  # READ COMMITTED on PostgreSQL: each answer of its own moment
            assert {(ats, tees) for ats, tees, _ in result.seen} <= valid_tees
            assert {caps for *_, caps in result.seen} <= valid_caps
    seen_anywhere = {seen for result in results for seen in result.seen}
    assert len(seen_anywhere) > 1, "the readers should have raced the changes"
