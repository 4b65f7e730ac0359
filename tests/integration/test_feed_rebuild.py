"""A consumer rebuilds every position from the stock snapshot and the event feed while writers
run, and ends on exactly the stock `GET /v1/stock/{sku}` answers, on SQLite and PostgreSQL.

Writer threads share the database with the API (as more server processes would): placers
place ship, pickup and in-store orders and fill carts; the shop floor carries fulfilments to
delivery or collection, cancels and rejects some; returners take units back; a clerk moves
stock between locations and receives suppliers' deliveries; tills sell where units are
promised (so that promises heal); a cart thread holds for one second and lets most holds
expire, and a sweeper releases the expired ones; a counter counts positions, now and then
below what they reserve. Meanwhile the consumer takes `GET /v1/stock/snapshot`, then follows
`GET /v1/events?types=stock.changed` from its `as_of_event`, applying each event's absolute
figures. Once the writers stop it drains the feed: every position, including those first
made after the snapshot, equals what the API answers, which proves that every path that
changes a position says so in the feed, and that `as_of_event` loses nothing.
"""

from __future__ import annotations

import functools
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from return_transfer_race_worker import (
    ACCEPTED,
    Report,
    ReturnTransferRace,
    move_stock,
    place_orders,
    sell_at_tills,
    take_returns,
    work_the_floor,
)
from sqlalchemy import func, select
from test_order_races import CITIES
from test_return_transfer_races import SKUS, STORES, WAREHOUSES, open_the_network

from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.db.tables import events
from omnistock.domain.errors import InsufficientStock, StockConflict
from omnistock.domain.stock import MovementType
from omnistock.events.feed import latest
from omnistock.services import reservations, stock

ADMIN = "feed-rebuild-admin-key"
RACE = ReturnTransferRace(
    channel="web",
    skus=SKUS,
    stores=tuple(loc.code for loc in STORES),
    warehouses=tuple(loc.code for loc in WAREHOUSES),
    ship_to=CITIES,
    roles=(),
    orders_per_placer=12,
    think_seconds=0.05,
)
Figures = dict[str, int]


@pytest.fixture
def client(db: Database, database_url: str) -> Any:
    app = create_app(Settings(admin_key=ADMIN, database_url=database_url), db)
    headers = {"Authorization": f"Bearer {ADMIN}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


@pytest.mark.slow
def test_snapshot_then_feed_rebuilds_every_position_while_writers_run(
    db: Database, client: TestClient
) -> None:
    open_the_network(db)
    start = latest(db)
    report, placed, swept = Report(0), threading.Event(), []
    parts = _parts(db, report, placed, swept)
    placers = [_started(report, part, args) for part, args in parts[:2]]
    others = [_started(report, part, args) for part, args in parts[2:]]
    try:
        _wait_for(lambda: latest(db) > start + 20, "the writers to get going")
        as_of, rebuilt = _snapshot(client)
        placing = lambda: any(t.is_alive() for t in placers)  # noqa: E731
        after, applied = _follow(client, rebuilt, as_of, until=lambda: not placing())
    finally:
        placed.set()
        for thread in placers + others:
            thread.join()
    _, more = _follow(client, rebuilt, after, until=lambda: _all_numbered(db))

    assert report.unexpected == []
    assert applied + more > 0, "the writers changed stock after the snapshot"
    assert sum(swept) > 0, "some holds expired and were swept"
    assert rebuilt == _stock_now(client)


def _parts(
    db: Database, report: Report, placed: threading.Event, swept: list[int]
) -> list[tuple[Callable[..., None], tuple[Any, ...]]]:
    rng = [random.Random(seed) for seed in range(9)]
    return [
        (place_orders, (db, RACE, "p0", rng[0], report)),
        (place_orders, (db, RACE, "p1", rng[1], report)),
        (work_the_floor, (db, RACE, rng[2], report, placed)),
        (take_returns, (db, RACE, rng[3], report, placed)),
        (move_stock, (db, RACE, rng[4], report, placed)),
        (sell_at_tills, (db, RACE, rng[5], report, placed)),
        (_hold_and_let_expire, (db, rng[6], report, placed)),
        (_sweep, (db, placed, swept)),
        (_count, (db, rng[8], report, placed)),
    ]


def _started(report: Report, part: Callable[..., None], args: tuple[Any, ...]) -> threading.Thread:
    thread = threading.Thread(target=_play, args=(report, part, *args), name=part.__name__)
    thread.start()
    return thread


def _play(report: Report, part: Callable[..., None], *args: Any) -> None:
    try:
        part(*args)
    except Exception as error:
        report.unexpected.append(f"{part.__name__} stopped: {error!r}")


def _hold_and_let_expire(
    db: Database, rng: random.Random, report: Report, placed: threading.Event
) -> None:
    """Hold carts for one second; let most expire, release the others at once."""
    while not placed.is_set():
        lines = [(rng.choice(SKUS), 1)]
        hold = functools.partial(reservations.hold, channel="web", lines=lines, ttl_seconds=1)
        try:
            cart = db.run(hold)
        except InsufficientStock:
            continue
        if rng.random() < 0.25:
            db.run(functools.partial(reservations.release, reservation_id=cart.id))
        time.sleep(0.05)
    time.sleep(1.1)  # the last holds expire: the sweeper's last pass releases them


def _sweep(db: Database, placed: threading.Event, swept: list[int]) -> None:
    while not placed.is_set():
        swept.append(db.run(reservations.release_expired))
        time.sleep(0.1)
    time.sleep(1.2)
    swept.append(db.run(reservations.release_expired))


def _count(db: Database, rng: random.Random, report: Report, placed: threading.Event) -> None:
    """Count a position at a figure near what it has: now and then below what it reserves,
    so that the promises there heal."""
    while not placed.is_set():
        time.sleep(0.05)
        location, sku = rng.choice(RACE.locations), rng.choice(SKUS)
        count = functools.partial(
            stock.record_movement,
            location=location,
            sku=sku,
            movement_type=MovementType.COUNT,
            quantity=rng.randint(0, 4),
        )
        try:
            db.run(count)
        except StockConflict:
            continue
        report.outcomes.append(("count", ACCEPTED))


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.01)


def _snapshot(client: TestClient) -> tuple[int, dict[tuple[str, str], Figures]]:
    answer = client.get("/v1/stock/snapshot?format=ndjson")
    assert answer.status_code == 200, answer.text
    rebuilt = {}
    for line in answer.text.splitlines():
        row = json.loads(line)
        rebuilt[row.pop("sku"), row.pop("location")] = _figures(row)
    return int(answer.headers["omnistock-as-of-event"]), rebuilt


def _follow(
    client: TestClient,
    rebuilt: dict[tuple[str, str], Figures],
    after: int,
    *,
    until: Callable[[], bool],
) -> tuple[int, int]:
    """Apply each `stock.changed` after `after`, page by page, until `until()` holds and the
    feed has nothing more; answers where it stopped and how many events it applied."""
    applied = 0
    while True:
        params: dict[str, Any] = {"types": "stock.changed", "after": after, "limit": 200}
        answer = client.get("/v1/events", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        for event in page["events"]:
            data = event["data"]
            rebuilt[data["sku"], data["location"]] = _figures(data)
        applied += len(page["events"])
        if page["next"] == after:  # caught up
            if until():
                return after, applied
            time.sleep(0.02)
        after = page["next"]


def _all_numbered(db: Database) -> bool:
    """Whether every event written has its seq (PostgreSQL numbers them after commit)."""
    with db.read() as conn:
        return conn.execute(select(func.count()).where(events.c.seq.is_(None))).scalar_one() == 0


def _figures(data: dict[str, Any]) -> Figures:
    keys = ("on_hand", "reserved", "unsellable", "inbound", "available")
    return {k: data[k] for k in keys}


def _stock_now(client: TestClient) -> dict[tuple[str, str], Figures]:
    now = {}
    for sku in SKUS:
        answer = client.get(f"/v1/stock/{sku}")
        assert answer.status_code == 200, answer.text
        for position in answer.json()["positions"]:
            now[sku, position["location"]] = _figures(position)
    return now
