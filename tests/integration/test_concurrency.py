"""Concurrency: several OS processes change the same few positions at once.

DESIGN invariants 2 (positions equal the sum of their movements) and 4 (an acknowledged write
is durable), on SQLite and PostgreSQL, with real processes: workers started with the "spawn"
context (see `concurrent_worker`) and real uvicorn servers. Races are random; what must hold
afterwards never is: every acknowledged movement is in the ledger exactly once, nothing else
is, `check` is clean, and no lock error ever reaches a caller.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import random
import signal
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from concurrent_worker import (
    LOCATIONS,
    SKUS,
    Accepted,
    Report,
    race_movements,
    random_movement,
    record,
    record_until_killed,
)
from sqlalchemy import select, text

from omnistock.db import Database
from omnistock.db.tables import events as events_table
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.stock import Position
from omnistock.events.feed import feed
from omnistock.services import catalog, stock
from processes import SPAWN, WORKER_TIMEOUT_SECONDS, run_together
from servers import ADMIN_KEY, api_server

WORKERS = 4
#: Bounds on waiting, so that a hang fails the test instead of blocking the run.

Key = tuple[str, str]  # (sku, location)


# --------------------------------------------------------------------------- setup and checks


def stock_up(db: Database) -> list[Accepted]:
    """Three items at a warehouse and a store, each position starting with 20 units."""
    for sku in SKUS:
        db.run(functools.partial(catalog.put_item, item=Item(sku=sku, name=f"Item {sku}")))
    for code in LOCATIONS:
        location = Location(
            code=code,
            name=f"Location {code}",
            type=LocationType.WAREHOUSE if code.startswith("WH") else LocationType.STORE,
            lat=48.85,
            lon=2.35,
            ship_enabled=True,
            pickup_enabled=False,
        )
        db.run(functools.partial(catalog.put_location, location=location))
    return [
        record(db, {"location": code, "sku": sku, "type": "receipt", "quantity": 20})
        for sku in SKUS
        for code in LOCATIONS
    ]


def ledger_rows(db: Database) -> list[Accepted]:
    """Every movement in the ledger, by id."""
    with db.reading() as reads:
        rows = [m for sku in SKUS for m in stock.ledger(reads, sku=sku, limit=1_000_000)]
    found = [Accepted(m.id, m.sku, m.location, dataclasses.astuple(m.deltas)) for m in rows]
    return sorted(found, key=lambda a: a.movement_id)


def positions(db: Database) -> dict[Key, Position]:
    with db.reading() as reads:
        return {(sku, loc): p for sku in SKUS for loc, p in stock.stock_of(reads, sku)}


def stock_changed_events(db: Database) -> list[dict[str, Any]]:
    found, _ = feed(db, after=0, limit=1_000_000)
    return [e for e in found if e["type"] == "stock.changed"]


def replay(movements: Iterable[Accepted]) -> dict[Key, list[tuple[int, Position]]]:
    """Each position's movements in ledger order, with the position each one left."""
    steps: dict[Key, list[tuple[int, Position]]] = defaultdict(list)
    for m in sorted(movements, key=lambda a: a.movement_id):
        key = (m.sku, m.location)
        before = steps[key][-1][1] if steps[key] else Position()
        after = (q + d for q, d in zip(dataclasses.astuple(before), m.deltas, strict=True))
        steps[key].append((m.movement_id, Position(*after)))
    return steps


def assert_ledger_is_exactly(db: Database, acknowledged: list[Accepted]) -> None:
    """The ledger holds every acknowledged movement once and nothing else; positions agree."""
    ledger = ledger_rows(db)
    assert len(ledger) == len(acknowledged)
    assert set(ledger) == set(acknowledged)
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
    expected = {key: steps[-1][1] for key, steps in replay(acknowledged).items()}
    assert positions(db) == expected
    assert all(p.is_physically_possible for p in expected.values()), expected


def assert_counts_set_on_hand(db: Database, reports: Iterable[Report]) -> None:
    """Right after each count, in ledger order, on hand is what was counted.

    A count is the one movement whose deltas depend on the position: read without its lock,
    a concurrent change could slip in between and the count would leave another figure.
    """
    counted = {movement_id: q for r in reports for movement_id, q in r.counted.items()}
    assert counted, "the race should include counts"
    on_hand_after = {
        movement_id: position.on_hand
        for steps in replay(ledger_rows(db)).values()
        for movement_id, position in steps
    }
    assert {movement_id: on_hand_after[movement_id] for movement_id in counted} == counted


def assert_outbox_mirrors_ledger(db: Database) -> None:
    """One stock.changed event per movement, showing each position as that movement left it.

    A position's movements are serialized by its row lock, so per position the ledger order,
    the event order and the order of the changes agree: the events replay the ledger step by
    step, and the last event of each position shows it as it is now.
    """
    shown: dict[Key, list[Position]] = defaultdict(list)
    for event in stock_changed_events(db):
        data = event["data"]
        quantities = (data["on_hand"], data["reserved"], data["unsellable"], data["inbound"])
        shown[(data["sku"], data["location"])].append(Position(*quantities))
    replayed = {key: [p for _, p in steps] for key, steps in replay(ledger_rows(db)).items()}
    assert shown == replayed


def run_workers(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Report]:
    """Start one spawned process per args tuple, released together by a barrier."""
    return run_together([(target, a) for a in args])


def accepted_by(reports: Iterable[Report]) -> list[Accepted]:
    return [a for r in reports for a in r.accepted]


def unexpected_in(reports: Iterable[Report]) -> list[str]:
    return [u for r in reports for u in r.unexpected]


# --------------------------------------------------------------------------- the service layer


@pytest.mark.slow
def test_processes_racing_movements_on_the_same_positions_lose_nothing(
    db: Database, database_url: str
) -> None:
    start = stock_up(db)

    reports = run_workers(race_movements, [(w, database_url, 500) for w in range(WORKERS)])

    assert unexpected_in(reports) == []
    assert sum(len(r.accepted) + r.refused for r in reports) == WORKERS * 500
    assert all(r.accepted and r.refused for r in reports), "the race should hit the guards"
    assert_ledger_is_exactly(db, start + accepted_by(reports))
    assert_counts_set_on_hand(db, reports)
    assert_outbox_mirrors_ledger(db)
    assert len(stock_changed_events(db)) == len(start) + len(accepted_by(reports))


@pytest.mark.slow
def test_a_feed_reader_polling_during_concurrent_writes_sees_every_event_once_in_order(
    db: Database, database_url: str
) -> None:
    start = stock_up(db)
    seen: list[int] = []
    writing = threading.Event()
    writing.set()

    def read_feed() -> None:
        after = 0
        while True:
            still_writing = writing.is_set()
            page, after = feed(db, after=after, limit=50)
            seen.extend(e["seq"] for e in page)
            if not page:
                if not still_writing:
                    return
                time.sleep(0.001)  # caught up: leave the writers the CPU for a moment

    reader = threading.Thread(target=read_feed)
    reader.start()
    try:
        reports = run_workers(race_movements, [(w, database_url, 250) for w in range(WORKERS)])
    finally:
        writing.clear()
        reader.join(timeout=WORKER_TIMEOUT_SECONDS)
    assert not reader.is_alive(), "the reader never caught up"

    assert unexpected_in(reports) == []
    assert all(a < b for a, b in itertools.pairwise(seen)), "seqs must strictly increase"
    with db.read() as conn:
        every_seq = list(conn.scalars(select(events_table.c.seq).order_by(events_table.c.seq)))
    assert seen == every_seq
    assert len(stock_changed_events(db)) == len(start) + len(accepted_by(reports))


@pytest.mark.slow
def test_a_writer_killed_mid_run_loses_no_acknowledged_movement_and_leaves_none_half_applied(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    start = stock_up(db)
    # three writers in turn, each killed after a random number of acknowledged movements
    acknowledged = [
        a
        for seed in range(3)
        for a in kill_a_writer(database_url, seed, tmp_path / f"acks-{seed}.jsonl")
    ]

    wait_until_no_statement_is_running(db)
    ledger = ledger_rows(db)
    assert set(start + acknowledged) <= set(ledger)
    # at most one movement per kill committed without its acknowledgement being written
    assert len(ledger) - len(start) - len(acknowledged) in range(4)
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
    assert all(p.is_physically_possible for p in positions(db).values())
    assert_outbox_mirrors_ledger(db)


def kill_a_writer(database_url: str, seed: int, acks: Path) -> list[Accepted]:
    """Run `record_until_killed`, SIGKILL it mid-run, return what it had acknowledged."""
    acks.touch()
    enough = random.Random(seed).randint(80, 200)
    writer = SPAWN.Process(target=record_until_killed, args=(database_url, seed, str(acks)))
    writer.start()
    try:
        deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
        while acks.read_text().count("\n") < enough:
            assert writer.is_alive(), f"the writer stopped on its own ({writer.exitcode})"
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.01)
        writer.kill()  # SIGKILL: no clean-up, no flush, no rollback from the client side
        writer.join(timeout=10)
    finally:
        if writer.is_alive():
            writer.kill()
            writer.join()
    assert writer.exitcode == -signal.SIGKILL
    whole_lines = acks.read_text().split("\n")[:-1]  # a cut-off last line was not flushed whole
    return [Accepted.from_json(line) for line in whole_lines]


def wait_until_no_statement_is_running(db: Database) -> None:
    """On PostgreSQL, wait until no other session is running a statement.

    A COMMIT the killed writer sent just before dying may still be completing; reading before
    it lands would compare the ledger and the outbox at two different moments.
    """
    if db.is_sqlite:
        return  # the writer's transaction died with its process
    others = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    while True:
        with db.read() as conn:
            if conn.execute(others).scalar_one() == 0:
                return
        assert time.monotonic() < deadline, "a statement of the killed writer never ended"
        time.sleep(0.01)


# --------------------------------------------------------------------------- over HTTP


def send_movements(base_url: str, worker: int, count: int, start: threading.Barrier) -> Report:
    """One client: `count` random movements over HTTP, each answer sorted into the report."""
    report = Report(worker)
    rng = random.Random(1000 + worker)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60.0) as client:
        start.wait(timeout=WORKER_TIMEOUT_SECONDS)
        for _ in range(count):
            movement = random_movement(rng)
            try:
                response = client.post("/v1/stock/movements", json=movement)
            except httpx.HTTPError as error:
                report.unexpected.append(f"{movement}: {error!r}")
                continue
            if response.status_code == 201:
                m = response.json()["movement"]
                deltas = (m["on_hand"], m["reserved"], m["unsellable"], m["inbound"])
                report.add(Accepted(m["id"], m["sku"], m["location"], deltas), movement)
            elif response.status_code == 409 and response.json()["code"] == "stock-conflict":
                report.refused += 1
            else:
                report.unexpected.append(f"{movement}: {response.status_code} {response.text}")
    return report


@pytest.mark.slow
def test_concurrent_clients_of_real_server_processes_lose_no_movement(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    start = stock_up(db)
    # SQLite has one writer: one process serializes them. PostgreSQL scales out.
    server_workers = 1 if db.is_sqlite else 2
    per_client = 200

    log_path = tmp_path / "server.log"
    with api_server(database_url, workers=server_workers, log_path=log_path) as server:
        barrier = threading.Barrier(WORKERS)
        with ThreadPoolExecutor(WORKERS) as pool:
            futures = [
                pool.submit(send_movements, server.url, w, per_client, barrier)
                for w in range(WORKERS)
            ]
            reports = [f.result(timeout=WORKER_TIMEOUT_SECONDS) for f in futures]

    assert unexpected_in(reports) == []
    assert sum(len(r.accepted) + r.refused for r in reports) == WORKERS * per_client
    assert_ledger_is_exactly(db, start + accepted_by(reports))
    assert_counts_set_on_hand(db, reports)
    assert_outbox_mirrors_ledger(db)
