"""The database goes away: PostgreSQL restarted under load, SQLite's disk full.

- PostgreSQL (a private cluster, since the test restarts it; PostgreSQL only): real server
  processes under a load of client threads while the cluster is restarted (`-m fast`), then
  stopped for a while and started again. Every answer is a 201, a 409 `stock-conflict` or a
  503 problem with `Retry-After`: never a 500, never a request left hanging. A write succeeds
  within 5 s of the database's return with no restart of omnistock; every acknowledged
  movement is in the ledger (at most one unacknowledged extra per 503: a commit whose answer
  was lost), the ledger checks clean, the feed numbers every event, and each process's
  housekeeping thread still sweeps expired holds.
- SQLite on a tiny tmpfs (SQLite only; needs root to mount, and never skips under CI): the
  write that finds the disk full is a 507 `storage-full` problem; every acknowledged movement
  is there, the ledger checks clean, and writes resume once space is freed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import psycopg
import pytest
from concurrent_worker import LOCATIONS, SKUS, Accepted, random_movement
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from clusters import (
    PG_NOT_FOUND,
    as_postgres_user,
    find_postgres_bindir,
    running_in_ci,
    throwaway_cluster,
    unavailable,
)
from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.events.feed import feed
from omnistock.services import stock
from servers import ADMIN_KEY, api_server

PROBLEM_JSON = "application/problem+json"
CLIENTS = 3
CLIENT_TIMEOUT_SECONDS = 10.0  # no request may wait this long: a hang fails the test
RECOVERY_SECONDS = 5.0
DOWN_SECONDS = 2.0
PG_CTL_SECONDS = 60.0  # a bound against hangs of pg_ctl itself


# --------------------------------------------------------------------------- answers


@dataclass
class Tally:
    """What one client saw."""

    acknowledged: list[Accepted] = field(default_factory=list)
    refused: int = 0
    unavailable: int = 0
    unexpected: list[str] = field(default_factory=list)
    slowest: float = 0.0


def accepted(response: httpx.Response) -> Accepted:
    m = response.json()["movement"]
    return Accepted(m["id"], m["sku"], m["location"], (m["on_hand"], *_rest(m)))


def _rest(m: dict[str, Any]) -> tuple[int, int, int]:
    return m["reserved"], m["unsellable"], m["inbound"]


def is_unavailable(response: httpx.Response) -> bool:
    """A 503 problem a client can act on: retry after the time it names."""
    return (
        response.status_code == 503
        and response.headers.get("content-type", "").startswith(PROBLEM_JSON)
        and response.headers.get("retry-after", "").isdigit()
        and response.json().get("code") == "database-unavailable"
    )


def sort_answer(tally: Tally, movement: dict[str, Any], response: httpx.Response) -> None:
    if response.status_code == 201:
        tally.acknowledged.append(accepted(response))
    elif response.status_code == 409 and response.json().get("code") == "stock-conflict":
        tally.refused += 1
    elif is_unavailable(response):
        tally.unavailable += 1
    else:
        tally.unexpected.append(f"{movement}: {response.status_code} {response.text}")


def post_movement(client: httpx.Client, tally: Tally, movement: dict[str, Any]) -> None:
    began = time.monotonic()
    try:
        response = client.post("/v1/stock/movements", json=movement)
    except httpx.HTTPError as error:
        tally.unexpected.append(f"{movement}: {error!r}")
        return
    finally:
        tally.slowest = max(tally.slowest, time.monotonic() - began)
    sort_answer(tally, movement, response)
    if response.status_code == 503:
        time.sleep(0.05)  # a polite client backs off (Retry-After says 1 s; we probe faster)


def api_client(base_url: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    return httpx.Client(base_url=base_url, headers=headers, timeout=CLIENT_TIMEOUT_SECONDS)


def drive(base_url: str, worker: int, tally: Tally, stop: threading.Event) -> Tally:
    """One client: random movements until `stop`, each answer sorted into `tally`."""
    rng = random.Random(worker)
    with api_client(base_url) as client:
        while not stop.is_set():
            post_movement(client, tally, random_movement(rng))
    return tally


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> float:
    """Poll `condition` until true; answers how long it took, fails after `seconds`."""
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < seconds, f"{what} did not happen in {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - began


def stock_up(client: httpx.Client) -> list[Accepted]:
    """The items and locations of `concurrent_worker`, 20 units at each position."""
    for sku in SKUS:
        assert client.put(f"/v1/items/{sku}", json={"name": sku}).status_code == 201
    for code in LOCATIONS:
        kind = "warehouse" if code.startswith("WH") else "store"
        body = {"name": code, "type": kind, "lat": 48.85, "lon": 2.35}
        body |= {"ship_enabled": True, "pickup_enabled": False}
        assert client.put(f"/v1/locations/{code}", json=body).status_code == 201
    receipts = []
    for sku in SKUS:
        for code in LOCATIONS:
            movement = {"location": code, "sku": sku, "type": "receipt", "quantity": 20}
            response = client.post("/v1/stock/movements", json=movement)
            assert response.status_code == 201, response.text
            receipts.append(accepted(response))
    return receipts


def ledger_of(database_url: str) -> list[Accepted]:
    """Every movement in the ledger; asserts that the positions equal their movements."""
    db = Database(database_url)
    try:
        with db.reading() as reads:
            assert list(stock.check(reads)) == []
            rows = [m for sku in SKUS for m in stock.ledger(reads, sku=sku, limit=1_000_000)]
    finally:
        db.dispose()
    return [Accepted(m.id, m.sku, m.location, dataclasses.astuple(m.deltas)) for m in rows]


def assert_nothing_acknowledged_is_lost(database_url: str, tallies: list[Tally]) -> None:
    """Every acknowledged movement is in the ledger; an extra one only where an answer was
    lost with the connection (a 503 for a commit that went through)."""
    acknowledged = {a for t in tallies for a in t.acknowledged}
    ledger = set(ledger_of(database_url))
    assert acknowledged <= ledger
    assert len(ledger - acknowledged) <= sum(t.unavailable for t in tallies)


# --------------------------------------------------------------------------- PostgreSQL


@dataclass
class Cluster:
    """A private PostgreSQL cluster that a test may stop and start."""

    url: str
    bindir: Path
    datadir: Path
    as_postgres: Callable[[list[str]], list[str]]

    def pg_ctl(self, *args: str) -> None:
        command = [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-w", *args]
        subprocess.run(
            self.as_postgres(command),
            capture_output=True,
            check=True,
            start_new_session=True,
            timeout=PG_CTL_SECONDS,
        )

    def restart(self) -> None:
        """Stop (fast: sessions are ended, transactions rolled back) and start again; also
        starts a stopped cluster, with the options of its last start (postmaster.opts)."""
        self.pg_ctl("-m", "fast", "-l", str(self.datadir.parent / "postgres.log"), "restart")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bindir = find_postgres_bindir()
    if bindir is None:
        unavailable(PG_NOT_FOUND)
    with throwaway_cluster(bindir) as admin_url:
        libpq_url = make_url(admin_url).set(drivername="postgresql")
        with psycopg.connect(libpq_url.render_as_string(False), autocommit=True) as conn:
            conn.execute("CREATE DATABASE omnistock")
            datadir = conn.execute("SHOW data_directory").fetchone()
        assert datadir is not None
        url = make_url(admin_url).set(database="omnistock").render_as_string(False)
        yield Cluster(url, bindir, Path(datadir[0]), as_postgres_user)


@pytest.mark.slow
def test_postgresql_restarted_under_load_costs_503s_only_and_omnistock_heals_by_itself(
    cluster: Cluster, tmp_path: Path
) -> None:
    tallies = [Tally() for _ in range(CLIENTS + 1)]  # the last one: the main thread's probes
    log_path = tmp_path / "server.log"
    with api_server(cluster.url, workers=2, log_path=log_path) as server:
        with api_client(server.url) as client:
            tallies[-1].acknowledged += stock_up(client)
        with clients_running(server.url, tallies[:CLIENTS]) as acknowledged:
            wait_until(lambda: acknowledged() >= 50, 30, "a first load")
            cluster.restart()
            seen = acknowledged()
            wait_until(lambda: acknowledged() >= seen + 50, 30, "load after the restart")
            cluster.stop()
            time.sleep(DOWN_SECONDS)  # the database stays away for a while, under load
            cluster.restart()
            recovery = wait_until(lambda: write_succeeds(server.url, tallies[-1]), 30, "a write")
            seen = acknowledged()
            wait_until(lambda: acknowledged() >= seen + 30, 30, "load after the return")
        hold_expiry = sweeper_ends_a_hold(server.url)
        assert server.process.poll() is None, "omnistock kept running"
    log = log_path.read_text()

    assert [u for t in tallies for u in t.unexpected] == []
    assert sum(t.unavailable for t in tallies) > 0, "the clients should have seen the outage"
    assert max(t.slowest for t in tallies) < CLIENT_TIMEOUT_SECONDS
    assert recovery < RECOVERY_SECONDS
    assert hold_expiry < 10
    assert "unexpected error" not in log
    assert "housekeeping failed" not in log, "an outage is waited out, not logged as a bug"
    assert_nothing_acknowledged_is_lost(cluster.url, tallies)
    assert_feed_has_every_movement(cluster.url)


@contextlib.contextmanager
def clients_running(base_url: str, tallies: list[Tally]) -> Iterator[Callable[[], int]]:
    """Client threads posting movements until the block ends; yields a count of the
    acknowledged ones so far."""
    stop = threading.Event()
    with ThreadPoolExecutor(len(tallies)) as pool:
        futures = [pool.submit(drive, base_url, w, t, stop) for w, t in enumerate(tallies)]
        try:
            yield lambda: sum(len(t.acknowledged) for t in tallies)
        finally:
            stop.set()
            for future in futures:
                future.result(timeout=CLIENT_TIMEOUT_SECONDS * 2)


_PROBE = {"location": LOCATIONS[0], "sku": SKUS[0], "type": "receipt", "quantity": 1}


def write_succeeds(base_url: str, tally: Tally) -> bool:
    """One receipt posted; true once acknowledged (503s while the database comes back)."""
    before = len(tally.acknowledged)
    with api_client(base_url) as client:
        post_movement(client, tally, _PROBE)
    return len(tally.acknowledged) > before


def sweeper_ends_a_hold(base_url: str) -> float:
    """A hold of one second on an item nothing else touches: how long until the
    housekeeping thread has ended it."""
    with api_client(base_url) as client:
        assert client.put("/v1/channels/web", json={"name": "Web"}).status_code == 201
        assert client.put("/v1/items/HOLD-1", json={"name": "Held"}).status_code == 201
        receipt = {"location": LOCATIONS[0], "sku": "HOLD-1", "type": "receipt", "quantity": 5}
        assert client.post("/v1/stock/movements", json=receipt).status_code == 201
        lines = [{"sku": "HOLD-1", "quantity": 1}]
        hold = client.post(
            "/v1/reservations", json={"channel": "web", "lines": lines, "ttl_seconds": 1}
        )
        assert hold.status_code == 201, hold.text
        path = f"/v1/reservations/{hold.json()['id']}"
        return wait_until(lambda: client.get(path).json()["status"] == "expired", 10, "a sweep")


def assert_feed_has_every_movement(database_url: str) -> None:
    """The feed numbers every event once the load is over: one stock.changed per movement."""
    db = Database(database_url)
    events: list[dict[str, Any]] = []
    try:
        while page := feed(db, after=events[-1]["seq"] if events else 0, limit=1000)[0]:
            events += page
    finally:
        db.dispose()
    changed = [e for e in events if e["type"] == "stock.changed" and e["data"]["sku"] in SKUS]
    assert len(changed) == len(ledger_of(database_url))


def test_a_database_server_that_never_answers_is_a_503_within_the_connect_timeout() -> None:
    silent = socket.socket()  # listens, never accepts: connections open, and nothing answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/omnistock"
    db = Database(url)
    app = create_app(Settings(admin_key=ADMIN_KEY, database_url=url), db)
    answers: list[httpx.Response] = []

    def ask() -> None:
        with TestClient(app, raise_server_exceptions=False) as client:
            path = f"/v1/stock/{SKUS[0]}"
            answers.append(client.get(path, headers={"Authorization": f"Bearer {ADMIN_KEY}"}))

    asking = threading.Thread(target=ask, daemon=True)  # a hang must not block the run
    try:
        asking.start()
        asking.join(CLIENT_TIMEOUT_SECONDS)
    finally:
        silent.close()
        db.dispose()
    assert answers, f"no answer in {CLIENT_TIMEOUT_SECONDS} s"
    assert is_unavailable(answers[0]), answers[0].text


def test_a_statement_the_database_rejects_is_a_logged_500_not_a_503(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(database_url)
    with db.engine.begin() as conn:  # a bug: a table the code needs is missing
        conn.execute(text("DROP TABLE events"))
    app = create_app(Settings(admin_key=ADMIN_KEY, database_url=database_url), db)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
            response = client.put(f"/v1/items/{SKUS[0]}", json={"name": "A"})
    finally:
        db.dispose()
    assert response.status_code == 500, response.text
    assert response.json()["code"] == "internal-error"
    assert "unexpected error on PUT" in caplog.text


# --------------------------------------------------------------------------- SQLite


DISK_BYTES = 4 * 1024 * 1024
ROOM_LEFT_BYTES = 256 * 1024  # what the filler leaves free: a few dozen commits' worth


def cannot_mount(reason: str) -> NoReturn:
    """Skip without a tmpfs of our own; fail under CI, where a skip proves nothing."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI is set: the disk-full test must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of 4 MB, mounted for this test and unmounted after it whatever happened."""
    if os.geteuid() != 0:
        cannot_mount("mounting a tmpfs for the disk-full test needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(disk)]
    mounted = subprocess.run(mount, capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        cannot_mount(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], check=False).returncode != 0:
            subprocess.run(["umount", "--lazy", str(disk)], check=True)


def fill(disk: Path, *, leave: int) -> Path:
    """A file taking all the free space of `disk` but `leave` bytes; its path."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


def test_a_full_disk_refuses_writes_with_507_loses_nothing_and_writes_resume_once_freed(
    tiny_disk: Path,
) -> None:
    url = f"sqlite:///{tiny_disk}/omnistock.db"
    db = Database(url)
    db.migrate()
    app = create_app(Settings(admin_key=ADMIN_KEY, database_url=url), db)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
            acknowledged = stock_up(client)
            filler = fill(tiny_disk, leave=ROOM_LEFT_BYTES)
            refused = write_until_refused(client, acknowledged)
            assert is_storage_full(refused), refused.text
            again = client.post("/v1/stock/movements", json=_PROBE)
            assert is_storage_full(again), again.text
            assert client.get(f"/v1/stock/{SKUS[0]}").status_code == 200, "reads still work"
            assert set(ledger_of(url)) == set(acknowledged)

            filler.unlink()
            resumed = client.post("/v1/stock/movements", json=_PROBE)
            assert resumed.status_code == 201, resumed.text
            acknowledged.append(accepted(resumed))
    finally:
        db.dispose()
    assert set(ledger_of(url)) == set(acknowledged)


def write_until_refused(client: TestClient, acknowledged: list[Accepted]) -> httpx.Response:
    """Receipts until one is not acknowledged (each acknowledged one added); that answer."""
    rng = random.Random(7)
    for _ in range(5000):
        movement = {**_PROBE, "sku": rng.choice(SKUS), "reference": "x" * 200}
        response = client.post("/v1/stock/movements", json=movement)
        if response.status_code != 201:
            return response
        acknowledged.append(accepted(response))
    raise AssertionError("the disk never filled")


def is_storage_full(response: httpx.Response) -> bool:
    return (
        response.status_code == 507
        and response.headers.get("content-type", "").startswith(PROBLEM_JSON)
        and response.json().get("code") == "storage-full"
    )
