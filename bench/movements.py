"""Stock movements per second: HTTP API, service layer and raw SQL, on SQLite and PostgreSQL.

    python bench/movements.py [--backend sqlite|postgresql|both] [--seconds 10] [--clients 16]
                              [--json results.json] [--client auto|wrk|httpx] [--profile]

For each backend, on a fresh database with 100 items x 10 locations in stock, the same
movements (80% receipts, 20% POS sales, random sku and location) are recorded for N seconds:

1. raw SQL through the same driver (sqlite3 / psycopg 3), one transaction per movement: the
   guarded `UPDATE positions ... RETURNING` and the ledger `INSERT INTO movements`, measured
   without and with the outbox `INSERT INTO events` exactly as the app writes it (numbered at
   insert on SQLite; tagged with the transaction id on PostgreSQL, numbered later by the feed);
2. the service layer: `db.run(lambda uow: stock.record_movement(uow, ...))` from N threads;
3. HTTP: `POST /v1/stock/movements` on uvicorn with 1 and 2 workers, N concurrent clients,
   and a bare FastAPI endpoint with the same server flags and client (the ceiling).

It prints figures and the ratios HTTP / raw and service / raw (the issue's target: >= 0.5).
It never asserts a time. PostgreSQL runs in a throwaway cluster with durable commits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime as dt
import functools
import http.client
import io
import json
import math
import multiprocessing
import os
import platform
import pstats
import random
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg.types.json import Json

from omnistock.db import Database, UnitOfWork
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import StockConflict
from omnistock.domain.stock import MovementType
from omnistock.services import catalog, stock

ITEMS = 100
LOCATIONS = 10
INITIAL_ON_HAND = 10_000
#: Share of POS sales among the movements (the rest are receipts); --sale-share sets it.
SALE_SHARE = 0.2
_workload = {"sale_share": SALE_SHARE}
TARGET = 0.5
WARMUP_SECONDS = 2.0
SERVER_START_SECONDS = 60.0
MOVEMENTS_PATH = "/v1/stock/movements"
BARE_PATH = "/bare"
BENCH_DIR = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """One measurement: movements (or bare requests) completed in `seconds`."""

    name: str
    kind: str  # raw | service | http | bare
    clients: int
    workers: int | None
    completed: int
    seconds: float
    refused: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    #: Python CPU per movement: this process for raw and service, the servers' for HTTP.
    cpu_ms: float | None = None
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds if self.seconds else 0.0


@dataclass
class BackendRun:
    """What every bench reports of a backend besides its figures: the database server, the
    ledger replay after the run (drifts: must be 0), and what skews every figure (`watching`):
    the 1-minute load average and `fsync_probe` before and after, and the run's wall time."""

    backend: str
    server: str
    ledger_drifts: int | None = None
    load: tuple[float, float] = (0.0, 0.0)
    fsync_us: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0

    def run_figures(self) -> dict[str, Any]:
        """The ledger replay and the machine's conditions, as the JSON output has them."""
        return {"ledger_drifts": self.ledger_drifts, "load_average": self.load,
                "fsync_us": self.fsync_us}  # fmt: skip


@dataclass
class BackendReport(BackendRun):
    results: list[Result] = field(default_factory=list)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    profile: str = ""


def percentiles_ms(latencies: list[float]) -> tuple[float | None, float | None]:
    if len(latencies) < 2:
        return None, None
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


# --------------------------------------------------------------------------- the workload


def sku_code(i: int) -> str:
    return f"SKU-{i:03d}"


def location_code(i: int) -> str:
    return f"LOC-{i:02d}"


def random_movement(rng: random.Random) -> tuple[str, str, str, int]:
    """(location, sku, type, quantity): mostly receipts, so sales are (almost) never refused."""
    location = location_code(rng.randrange(LOCATIONS))
    sku = sku_code(rng.randrange(ITEMS))
    if rng.random() < _workload["sale_share"]:
        return location, sku, "sale", rng.randint(1, 3)
    return location, sku, "receipt", rng.randint(1, 5)


def stock_up(url: str) -> None:
    """Migrate a fresh database and put every item in stock at every location (via services)."""
    database = Database(url)
    try:
        database.migrate()

        def load_catalog(uow: Any) -> None:
            for i in range(LOCATIONS):
                catalog.put_location(
                    uow,
                    Location(
                        code=location_code(i),
                        name=f"Location {i}",
                        type=LocationType.WAREHOUSE if i == 0 else LocationType.STORE,
                        lat=48.85 + i / 100,
                        lon=2.35 + i / 100,
                        ship_enabled=True,
                        pickup_enabled=i > 0,
                    ),
                )
            for i in range(ITEMS):
                catalog.put_item(
                    uow, Item(sku=sku_code(i), name=f"Item {i}", price=Decimal("19.90"))
                )

        def receive_everything(uow: Any) -> None:
            for i in range(LOCATIONS):
                for j in range(ITEMS):
                    stock.record_movement(
                        uow,
                        location=location_code(i),
                        sku=sku_code(j),
                        movement_type=MovementType.RECEIPT,
                        quantity=INITIAL_ON_HAND,
                        reference="bench-initial-stock",
                    )

        database.run(load_catalog)
        database.run(receive_everything)
    finally:
        database.dispose()


def count_movements(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM movements")).scalar_one())
    finally:
        engine.dispose()


def ledger_drifts(url: str) -> int:
    """How many positions differ from the sum of their movements (must be 0)."""
    database = Database(url)
    try:
        with database.reading() as reads:
            return sum(1 for _ in stock.check(reads))
    finally:
        database.dispose()


def fsync_probe(directory: str, seconds: float = 0.5) -> float:
    """Microseconds per 8 kB write + fdatasync in `directory`: what a durable commit waits on."""
    fd, path = tempfile.mkstemp(dir=directory, prefix="fsync-probe-")
    try:
        block, count = b"\0" * 8192, 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            os.pwrite(fd, block, 0)
            os.fdatasync(fd)
            count += 1
        return (time.perf_counter() - start) / count * 1e6
    finally:
        os.close(fd)
        os.unlink(path)


# --------------------------------------------------------------------------- threaded runs


class Worker(Protocol):
    def open(self) -> None: ...
    def step(self, rng: random.Random) -> bool: ...  # True: recorded, False: refused
    def close(self) -> None: ...


@dataclass
class _Tally:
    completed: int = 0
    refused: int = 0
    errors: int = 0
    first_error: str = ""
    latencies: list[float] = field(default_factory=list)


def run_threads(
    make_worker: Callable[[], Worker], *, threads: int, seconds: float, seed: int
) -> tuple[_Tally, float]:
    """Run `threads` workers for `seconds`, all starting together once connected.

    Returns their summed tally and the time from the start to the last transaction's end.
    """
    tallies = [_Tally() for _ in range(threads)]
    connected = threading.Barrier(threads + 1)
    go = threading.Event()
    window = {"end": 0.0}
    finished = [0.0] * threads

    def loop(index: int) -> None:
        tally, rng = tallies[index], random.Random(seed * 1000 + index)
        worker = make_worker()
        try:
            worker.open()
        finally:
            connected.wait(timeout=120)
        try:
            go.wait(timeout=120)
            deadline = window["end"]
            while (started := time.perf_counter()) < deadline:
                try:
                    ok = worker.step(rng)
                except Exception as error:
                    tally.errors += 1
                    tally.first_error = tally.first_error or f"{type(error).__name__}: {error}"
                    continue
                tally.latencies.append(time.perf_counter() - started)
                if ok:
                    tally.completed += 1
                else:
                    tally.refused += 1
            finished[index] = time.perf_counter()
        finally:
            worker.close()

    pool = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    connected.wait(timeout=120)
    start = time.perf_counter()
    window["end"] = start + seconds
    go.set()
    for thread in pool:
        thread.join(timeout=seconds + 120)
    total = _Tally()
    for tally in tallies:
        total.completed += tally.completed
        total.refused += tally.refused
        total.errors += tally.errors
        total.first_error = total.first_error or tally.first_error
        total.latencies.extend(tally.latencies)
    return total, max(max(finished) - start, seconds)


def measure_threads(
    name: str,
    kind: str,
    make_worker: Callable[[], Worker],
    *,
    threads: int,
    seconds: float,
    note: str = "",
) -> Result:
    run_threads(make_worker, threads=threads, seconds=min(1.0, seconds / 4), seed=1)  # warm-up
    cpu_before = time.process_time()
    tally, elapsed = run_threads(make_worker, threads=threads, seconds=seconds, seed=2)
    cpu = time.process_time() - cpu_before
    p50, p99 = percentiles_ms(tally.latencies)
    if tally.first_error:
        note = f"{note}; first error: {tally.first_error[:120]}".lstrip("; ")
    return Result(
        name=name,
        kind=kind,
        clients=threads,
        workers=None,
        completed=tally.completed,
        seconds=elapsed,
        refused=tally.refused,
        errors=tally.errors,
        p50_ms=p50,
        p99_ms=p99,
        cpu_ms=cpu / tally.completed * 1000 if tally.completed else None,
        note=note,
    )


# --------------------------------------------------------------------------- raw SQL


def stock_changed_data(sku: str, location: str, row: tuple[int, ...]) -> dict[str, Any]:
    """What the app's `stock.changed` event carries: the position as the API shows it."""
    on_hand, reserved, unsellable, inbound = row
    return {
        "sku": sku,
        "location": location,
        "on_hand": on_hand,
        "reserved": reserved,
        "unsellable": unsellable,
        "inbound": inbound,
        "available": on_hand - reserved - unsellable,
    }


def _deltas(movement_type: str, quantity: int) -> int:
    return quantity if movement_type == "receipt" else -quantity


_SQLITE_UPDATE = """
UPDATE positions SET on_hand = on_hand + ?1, reserved = reserved + 0,
    unsellable = unsellable + 0, inbound = inbound + 0
WHERE sku = ?2 AND location = ?3
  AND on_hand + ?1 >= unsellable + 0 AND unsellable + 0 >= 0
  AND reserved + 0 >= 0 AND inbound + 0 >= 0
RETURNING on_hand, reserved, unsellable, inbound
"""
_SQLITE_MOVEMENT = """
INSERT INTO movements (at, sku, location, type, on_hand, reserved, unsellable, inbound,
    reason, reference)
VALUES (?, ?, ?, ?, ?, 0, 0, 0, NULL, NULL) RETURNING id
"""
_SQLITE_EVENT = """
INSERT INTO events (seq, type, at, data)
VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), 'stock.changed', ?, ?)
"""


def sqlite_connection(path: str) -> sqlite3.Connection:
    """A plain sqlite3 connection with the app's pragmas, in autocommit mode: the transactions
    are the caller's (BEGIN IMMEDIATE), shared by threads that take turns."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class RawSqlite:
    """The movement's transaction in plain sqlite3, with the app's pragmas and BEGIN IMMEDIATE."""

    def __init__(self, path: str, *, outbox: bool) -> None:
        self.path, self.outbox = path, outbox
        self.conn: sqlite3.Connection | None = None

    def open(self) -> None:
        self.conn = sqlite_connection(self.path)

    def step(self, rng: random.Random) -> bool:
        assert self.conn is not None
        conn = self.conn
        location, sku, movement_type, quantity = random_movement(rng)
        delta = _deltas(movement_type, quantity)
        at = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute(_SQLITE_UPDATE, (delta, sku, location)).fetchone()
            if row is None:
                conn.execute("ROLLBACK")
                return False
            conn.execute(_SQLITE_MOVEMENT, (at, sku, location, movement_type, delta)).fetchone()
            if self.outbox:
                conn.execute(
                    _SQLITE_EVENT, (at, json.dumps(stock_changed_data(sku, location, row)))
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


_PG_UPDATE = """
UPDATE positions SET on_hand = on_hand + %(d)s, reserved = reserved + 0,
    unsellable = unsellable + 0, inbound = inbound + 0
WHERE sku = %(sku)s AND location = %(location)s
  AND on_hand + %(d)s >= unsellable + 0 AND unsellable + 0 >= 0
  AND reserved + 0 >= 0 AND inbound + 0 >= 0
RETURNING on_hand, reserved, unsellable, inbound
"""
_PG_MOVEMENT = """
INSERT INTO movements (at, sku, location, type, on_hand, reserved, unsellable, inbound,
    reason, reference)
VALUES (%s, %s, %s, %s, %s, 0, 0, 0, NULL, NULL) RETURNING id
"""
_PG_EVENT = """
INSERT INTO events (xid, type, at, data)
VALUES (pg_current_xact_id()::text::bigint, 'stock.changed', %s, %s)
"""


class RawPostgres:
    """The movement's transaction in plain psycopg 3 (READ COMMITTED, durable commit)."""

    def __init__(self, conninfo: str, *, outbox: bool) -> None:
        self.conninfo, self.outbox = conninfo, outbox
        self.conn: Any = None

    def open(self) -> None:
        self.conn = psycopg.connect(self.conninfo)

    def step(self, rng: random.Random) -> bool:
        conn = self.conn
        location, sku, movement_type, quantity = random_movement(rng)
        delta = _deltas(movement_type, quantity)
        at = dt.datetime.now(dt.UTC)
        try:
            params = {"d": delta, "sku": sku, "location": location}
            row = conn.execute(_PG_UPDATE, params).fetchone()
            if row is None:
                conn.rollback()
                return False
            conn.execute(_PG_MOVEMENT, (at, sku, location, movement_type, delta)).fetchone()
            if self.outbox:
                conn.execute(_PG_EVENT, (at, Json(stock_changed_data(sku, location, row))))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return True

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# --------------------------------------------------------------------------- service layer


#: What a service-layer thread does once: given its random source, the work to run in
#: `Database.run` (a use case called on the unit of work).
ServiceCall = Callable[[random.Random], Callable[[UnitOfWork], object]]


class ServiceCalls:
    """One thread calling the service layer through `Database.run`, a call at a time: `call`
    picks the work, and the domain error `refusal` counts as refused (stock held it back)."""

    def __init__(self, database: Database, call: ServiceCall, refusal: type[Exception]) -> None:
        self.database, self.call, self.refusal = database, call, refusal

    def open(self) -> None:
        pass

    def step(self, rng: random.Random) -> bool:
        work = self.call(rng)
        try:
            self.database.run(work)
        except self.refusal:
            return False
        return True

    def close(self) -> None:
        pass


def measure_service(
    name: str,
    url: str,
    call: ServiceCall,
    refusal: type[Exception],
    threads: int,
    seconds: float,
) -> Result:
    """`call` through the app's `Database` from `threads` threads for `seconds` (one
    `Database` for all)."""
    database = Database(url)
    try:
        return measure_threads(
            name,
            "service",
            lambda: ServiceCalls(database, call, refusal),
            threads=threads,
            seconds=seconds,
            note="the app's Database and services",
        )
    finally:
        database.dispose()


def record_random_movement(rng: random.Random) -> Callable[[UnitOfWork], object]:
    """A random movement (`random_movement`), as the service layer records it."""
    location, sku, movement_type, quantity = random_movement(rng)
    return lambda uow: stock.record_movement(
        uow,
        location=location,
        sku=sku,
        movement_type=MovementType(movement_type),
        quantity=quantity,
    )


def profile_service(url: str, seconds: float, top: int = 22) -> str:
    """cProfile one thread recording movements through the service layer; the top functions."""
    database = Database(url)
    worker = ServiceCalls(database, record_random_movement, StockConflict)
    rng = random.Random(3)
    profiler = cProfile.Profile()
    count, failed = 0, Counter[str]()
    try:
        for _ in range(200):
            with contextlib.suppress(Exception):
                worker.step(rng)
        deadline = time.perf_counter() + seconds
        profiler.enable()
        while time.perf_counter() < deadline:
            try:
                worker.step(rng)
            except Exception as error:
                failed[type(error).__name__] += 1
            count += 1
        profiler.disable()
    finally:
        database.dispose()
    out = io.StringIO()
    out.write(f"{count} movements, one thread, under cProfile; failed: {dict(failed) or 0}\n")
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# --------------------------------------------------------------------------- HTTP


def bare_app() -> Any:
    """The ceiling: a FastAPI app that answers {"status": "ok"} without touching a database."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(BARE_PATH)
    async def bare() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass(frozen=True)
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU used so far by the server and its worker processes (Linux /proc)."""
        pids = [self.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.pid:  # ppid
                        pids.append(int(entry.name))
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime + stime
        return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def uvicorn_server(
    app: str, *, workers: int, env: dict[str, str], app_dir: Path | None = None
) -> Iterator[Server]:
    """Start uvicorn on 127.0.0.1 (a free port) and yield it; stop it on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while not _healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    output = log.read().decode(errors="replace")[-3000:]
                    raise RuntimeError(f"uvicorn did not start ({' '.join(command)}):\n{output}")
                time.sleep(0.1)
            yield Server(f"http://127.0.0.1:{port}", process.pid)
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)  # the server's own session, started above
            process.wait(timeout=15)


@dataclass
class LoadResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None


#: The start of a wrk script that sends the requests its init() prepares in `pool`, one
#: after the other, round and round.
WRK_POOL = r"""
local pool, counter = {}, 0

function request()
  counter = counter % #pool + 1
  return pool[counter]
end
"""
WRK_SCRIPT = (
    WRK_POOL
    + r"""
-- POSTs random stock movements (or the same bodies to the bare endpoint).
-- args: api key, seed, items, locations, sale share
local threads_seen = 0

function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_number", threads_seen)
end

function init(args)
  local key, seed = args[1], tonumber(args[2])
  local items, locations, sale_share = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  math.randomseed(seed * 1000 + (thread_number or 0))
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}
  for i = 1, 4096 do
    local kind, quantity = "receipt", math.random(1, 5)
    if math.random() < sale_share then kind, quantity = "sale", math.random(1, 3) end
    local body = string.format(
      '{"location":"LOC-%02d","sku":"SKU-%03d","type":"%s","quantity":%d}',
      math.random(0, locations - 1), math.random(0, items - 1), kind, quantity)
    pool[i] = wrk.format("POST", nil, headers, body)
  end
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"status":%d,"socket":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
)


def wrk_duration(seconds: float) -> str:
    """wrk's `-d`: it takes whole seconds only (it refuses "2.5s"), so round up, to 1 at least."""
    return f"{max(1, math.ceil(seconds))}s"


@contextlib.contextmanager
def lua_script(text: str) -> Iterator[str]:
    """`text` in a temporary .lua file for wrk's `-s`; yields its path, deletes it on exit."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(text)
    try:
        yield script.name
    finally:
        os.unlink(script.name)


@dataclass(frozen=True)
class Wrk:
    """One wrk run: `clients` connections on `threads` threads loading `url` for `seconds`
    (rounded up), each request given up after `timeout`; `args` go to the script's init()."""

    url: str
    threads: int
    clients: int
    seconds: float
    timeout: str
    args: Sequence[str]

    def command(self, script: str) -> list[str]:
        """The command line, with the Lua file `script`."""
        wrk = shutil.which("wrk")
        assert wrk is not None
        return [
            wrk, "-t", str(self.threads), "-c", str(self.clients),
            "-d", wrk_duration(self.seconds), "--timeout", self.timeout, "-s", script, self.url,
            "--", *self.args,
        ]  # fmt: skip

    def run(self, script: str) -> dict[str, Any]:
        """Run wrk with the Lua `script` (its text) until it ends; its `WRK_JSON` figures."""
        with lua_script(script) as path:
            done = subprocess.run(
                self.command(path),
                capture_output=True,
                text=True,
                timeout=self.seconds + 60,
                check=False,
            )
        return wrk_figures(f"{done.stdout}\n{done.stderr}", done.returncode)


def wrk_figures(output: str, returncode: int | None) -> dict[str, Any]:
    """The figures a script's done() writes as a `WRK_JSON {...}` line of wrk's `output`."""
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({returncode}):\n{output[-3000:]}")
    figures: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    return figures


def load_with_wrk(url: str, *, key: str, clients: int, seconds: float, seed: int) -> LoadResult:
    args = [key, str(seed), str(ITEMS), str(LOCATIONS), str(_workload["sale_share"])]
    figures = Wrk(url, min(2, clients), clients, seconds, "10s", args).run(WRK_SCRIPT)
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        non_2xx=figures["status"],
        socket_errors=figures["socket"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
    )


@dataclass
class Exchanges:
    """What an httpx load saw: its answers by status code, their latencies (seconds), the
    requests that failed on the way (no answer) and how long it ran."""

    statuses: Counter[int]
    latencies: list[float]
    failures: int
    seconds: float


#: One request of an httpx load, sent with the load's client and random source: its answer,
#: or None (sending nothing) when this connection has nothing left to send.
Send = Callable[[Any, random.Random], Awaitable[Any]]


async def load_over_httpx(
    send: Send, key: str, clients: int, seconds: float, seed: int, *, timeout: float, base: str = ""
) -> Exchanges:
    """`clients` concurrent connections (with the API key `key`) sending `send`'s requests,
    each as soon as the last is answered, until `seconds` are up (or `send` has nothing left);
    `base`: the URL that the requests' paths are relative to."""
    import httpx

    rng = random.Random(seed)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    failures = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=timeout, headers=headers
    ) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def one_client() -> None:
            nonlocal failures
            while (sent := time.perf_counter()) < deadline:
                try:
                    answer = await send(client, rng)
                except httpx.HTTPError:
                    failures += 1
                    continue
                if answer is None:
                    return
                latencies.append(time.perf_counter() - sent)
                statuses[answer.status_code] += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return Exchanges(statuses, latencies, failures, elapsed)


def _run_load(queue: Any, load: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        queue.put(asyncio.run(load(*args)))
    except Exception as error:  # report it to the parent rather than hang it
        queue.put({"error": f"{type(error).__name__}: {error}"})


def in_own_process(
    load: Callable[..., Coroutine[Any, Any, dict[str, Any]]], *args: Any, seconds: float
) -> dict[str, Any]:
    """Run the load `load(*args)` (a coroutine function of this module or another bench's,
    lasting about `seconds`) in a process of its own, so that the client and what it measures
    share no interpreter; the figures it returns."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run_load, args=(queue, load, args), daemon=True)
    process.start()
    try:
        figures: dict[str, Any] = queue.get(timeout=seconds + 120)
    finally:
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
    if "error" in figures:
        raise RuntimeError(f"httpx client failed: {figures['error']}")
    return figures


async def _httpx_load(
    url: str, key: str, clients: int, seconds: float, seed: int, sale_share: float
) -> dict[str, Any]:
    _workload["sale_share"] = sale_share  # this runs in a process of its own

    async def post_movement(client: Any, rng: random.Random) -> Any:
        location, sku, kind, quantity = random_movement(rng)
        body = {"location": location, "sku": sku, "type": kind, "quantity": quantity}
        return await client.post(url, json=body)

    seen = await load_over_httpx(post_movement, key, clients, seconds, seed, timeout=10)
    p50, p99 = percentiles_ms(seen.latencies)
    return {
        "requests": sum(seen.statuses.values()),
        "seconds": seen.seconds,
        "non_2xx": sum(n for code, n in seen.statuses.items() if not 200 <= code < 300),
        "socket_errors": seen.failures,
        "p50_ms": p50,
        "p99_ms": p99,
    }


def load_with_httpx(url: str, *, key: str, clients: int, seconds: float, seed: int) -> LoadResult:
    """The fallback client: httpx + asyncio in a process of its own (slower than wrk)."""
    share = _workload["sale_share"]
    figures = in_own_process(_httpx_load, url, key, clients, seconds, seed, share, seconds=seconds)
    return LoadResult(**figures)


Loader = Callable[..., LoadResult]


def measure_http(
    name: str,
    *,
    server: Server,
    path: str,
    loader: Loader,
    key: str,
    clients: int,
    workers: int,
    seconds: float,
    database_url: str | None,
    note: str = "",
) -> Result:
    """Warm up, then load `path`; movements are counted in the database itself."""
    url = server.base + path
    loader(url, key=key, clients=clients, seconds=WARMUP_SECONDS, seed=1)
    before = count_movements(database_url) if database_url else 0
    cpu_before = server.cpu_seconds()
    load = loader(url, key=key, clients=clients, seconds=seconds, seed=2)
    cpu = server.cpu_seconds() - cpu_before
    if database_url:
        completed = count_movements(database_url) - before
    else:
        completed = load.requests - load.non_2xx
    return Result(
        name=name,
        kind="http" if database_url else "bare",
        clients=clients,
        workers=workers,
        completed=completed,
        seconds=load.seconds,
        refused=load.non_2xx,
        errors=load.socket_errors,
        p50_ms=load.p50_ms,
        p99_ms=load.p99_ms,
        cpu_ms=cpu / completed * 1000 if completed else None,
        note=note,
    )


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_bindir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).resolve().parent / "pg_ctl").exists():
        return Path(initdb).resolve().parent
    found = sorted(
        (d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()),
        key=lambda d: tuple(int(p) for p in d.parent.name.split(".") if p.isdigit()),
    )
    return found[-1] if found else None


def _pg_tool(command: list[str], cwd: Path) -> None:
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "LC_ALL": "C", "LANG": "C"},
        capture_output=True,
        text=True,
        start_new_session=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        log = cwd / "postgres.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"{' '.join(command)}: {done.stdout}{done.stderr}\n{tail}")


@contextlib.contextmanager
def postgres_cluster(bindir: Path) -> Iterator[str]:
    """A throwaway PostgreSQL on 127.0.0.1 with durable commits; yields a database URL."""
    workdir = Path(tempfile.mkdtemp(prefix="omnistock-bench-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres")
    data = workdir / "data"
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        _pg_tool([*initdb, "-E", "UTF8", "--locale=C", "--no-sync"], cwd=workdir)
        port = free_port()
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": port,
            "unix_socket_directories": workdir,
            "shared_buffers": "256MB",
            "max_connections": 200,
            "fsync": "on",  # a real server: every commit durable
            "synchronous_commit": "on",
            "full_page_writes": "on",
        }
        options = " ".join(f"-c {k}={v}" for k, v in settings.items())
        pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "postgres.log")]
        _pg_tool([*pg_ctl, "-w", "-t", "60", "-o", options, "start"], cwd=workdir)
        try:
            admin = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
            with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
                conn.execute("CREATE DATABASE omnistock_bench")
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/omnistock_bench"
        finally:
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                _pg_tool([*pg_ctl, "-m", "fast", "-w", "-t", "30", "stop"], cwd=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"


# --------------------------------------------------------------------------- every backend

Report = TypeVar("Report")


def on_fresh_database(backend: str, measure: Callable[[str, str, str], Report]) -> Report | None:
    """`measure(backend, url, server)` on a database of its own: a SQLite file in a temporary
    folder, or a throwaway PostgreSQL cluster (None: PostgreSQL is not installed)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="omnistock-bench-") as directory:
            url = f"sqlite:///{directory}/omnistock.db"
            server = f"SQLite {sqlite3.sqlite_version}, file in {directory}, WAL, FULL"
            return measure(backend, url, server)
    bindir = _postgres_bindir()
    if bindir is None:
        print("PostgreSQL not found (initdb/pg_ctl): skipped", file=sys.stderr)
        return None
    with postgres_cluster(bindir) as url:
        server = (
            f"PostgreSQL {bindir.parent.name}, throwaway cluster, fsync=on, "
            "synchronous_commit=on, shared_buffers=256MB"
        )
        return measure(backend, url, server)


def measure_backends(
    choice: str, measure: Callable[[str, str, str], Report], show: Callable[[Report], None]
) -> list[Report]:
    """The report of each backend `--backend` names (`both`: SQLite, then PostgreSQL), each
    shown as soon as it is measured; a PostgreSQL that is not installed is left out."""
    reports = []
    for backend in ["sqlite", "postgresql"] if choice == "both" else [choice]:
        report = on_fresh_database(backend, measure)
        if report is not None:
            show(report)
            reports.append(report)
    return reports


@contextlib.contextmanager
def watching(run: BackendRun) -> Iterator[None]:
    """Record on `run` what skews every figure measured in the block: the 1-minute load
    average and the time of an 8 kB fsync (`fsync_probe`) before and after, and the time."""
    started = time.perf_counter()
    load_before, fsync_before = os.getloadavg()[0], fsync_probe(tempfile.gettempdir())
    yield
    run.load = (load_before, os.getloadavg()[0])
    run.fsync_us = (fsync_before, fsync_probe(tempfile.gettempdir()))
    run.seconds = time.perf_counter() - started


def server_env(url: str) -> tuple[str, dict[str, str]]:
    """A fresh admin key, and the environment that starts the app on `url` with it."""
    key = secrets.token_urlsafe(24)
    return key, {"OMNISTOCK_DATABASE_URL": url, "OMNISTOCK_ADMIN_KEY": key}


def server_note(client_name: str, *, sqlite: bool, workers: int) -> str:
    """The note of an HTTP measurement: its client, and what limits several workers."""
    if sqlite and workers > 1:
        return f"{client_name}; 2 processes share SQLite's single writer"
    return client_name


# --------------------------------------------------------------------------- one backend


@dataclass
class Options:
    seconds: float
    clients: int
    loader: Loader
    client_name: str
    profile: bool


def bench_backend(backend: str, url: str, server: str, options: Options) -> BackendReport:
    """Every measurement of one backend, on a fresh database in stock."""
    say = _progress(backend)
    report = BackendReport(backend=backend, server=server)
    with watching(report):
        stock_up(url)
        raw = raw_sqlite if backend == "sqlite" else raw_postgres
        report.results += raw(url, options, say)
        report.results.append(service_layer(url, options, say))
        report.results += http_api(backend, url, options, say)
        say("ledger check")
        report.ledger_drifts = ledger_drifts(url)
    if options.profile:
        say("cProfile of the service layer, one thread")
        report.profile = profile_service(url, min(5.0, options.seconds))
    return report


def raw_sqlite(url: str, options: Options, say: Callable[[str], None]) -> list[Result]:
    path = url.removeprefix("sqlite:///")
    results = []
    for outbox in (False, True):
        label = "raw SQL: position + ledger" + (" + outbox event" if outbox else "")
        for threads in (1, options.clients):
            say(f"{label}, {threads} thread(s)")
            results.append(
                measure_threads(
                    label,
                    "raw+outbox" if outbox else "raw",
                    functools.partial(RawSqlite, path, outbox=outbox),
                    threads=threads,
                    seconds=options.seconds,
                    note="BEGIN IMMEDIATE, WAL, synchronous=FULL",
                )
            )
    return results


def raw_postgres(url: str, options: Options, say: Callable[[str], None]) -> list[Result]:
    conninfo, n = libpq(url), options.clients
    variants = [
        ("raw SQL: position + ledger", "raw", False, ""),
        ("raw SQL: position + ledger + outbox event", "raw+outbox", True, "= the app's txn"),
    ]
    results = []
    for label, kind, outbox, note in variants:
        say(f"{label}, {n} threads")
        results.append(
            measure_threads(
                label,
                kind,
                functools.partial(RawPostgres, conninfo, outbox=outbox),
                threads=n,
                seconds=options.seconds,
                note=note,
            )
        )
    return results


def service_layer(url: str, options: Options, say: Callable[[str], None]) -> Result:
    say(f"service layer, {options.clients} threads")
    name, call = "service: db.run(record_movement)", record_random_movement
    return measure_service(name, url, call, StockConflict, options.clients, options.seconds)


def http_api(backend: str, url: str, options: Options, say: Callable[[str], None]) -> list[Result]:
    key, env = server_env(url)
    results = []
    for workers in (1, 2):
        say(f"HTTP {MOVEMENTS_PATH}, {workers} worker(s), {options.clients} clients")
        note = server_note(options.client_name, sqlite=backend == "sqlite", workers=workers)
        app = "omnistock.api.app:create_app_from_env"
        with uvicorn_server(app, workers=workers, env=env) as server:
            results.append(
                measure_http(
                    f"HTTP POST {MOVEMENTS_PATH}",
                    server=server,
                    path=MOVEMENTS_PATH,
                    loader=options.loader,
                    key=key,
                    clients=options.clients,
                    workers=workers,
                    seconds=options.seconds,
                    database_url=url,
                    note=note,
                )
            )
    return results


def bench_bare(options: Options) -> list[Result]:
    results = []
    for workers in (1, 2):
        _progress("bare")(f"bare FastAPI POST, {workers} worker(s), {options.clients} clients")
        with uvicorn_server(
            "movements:bare_app", workers=workers, env={}, app_dir=BENCH_DIR
        ) as server:
            results.append(
                measure_http(
                    "bare FastAPI POST {status: ok} (no DB)",
                    server=server,
                    path=BARE_PATH,
                    loader=options.loader,
                    key="none",
                    clients=options.clients,
                    workers=workers,
                    seconds=options.seconds,
                    database_url=None,
                    note=f"{options.client_name}; requests/s: the ceiling",
                )
            )
    return results


def ratios(report: BackendReport) -> list[dict[str, Any]]:
    """API / raw and service / raw, against the best raw figure of each transaction."""

    def best(kind: str) -> Result | None:
        found = [r for r in report.results if r.kind == kind]
        return max(found, key=lambda r: r.per_second) if found else None

    plain, full = best("raw"), best("raw+outbox")
    measured = [r for r in report.results if r.kind in ("http", "service")]
    rows = []
    for result in measured:
        label = "service" if result.kind == "service" else f"HTTP ({result.workers}w)"
        rows.append(
            {
                "measurement": label,
                "per_second": result.per_second,
                "vs_raw_position_ledger": result.per_second / plain.per_second if plain else None,
                "raw_position_ledger": plain.per_second if plain else None,
                "raw_position_ledger_threads": plain.clients if plain else None,
                "vs_raw_full": result.per_second / full.per_second if full else None,
                "raw_full": full.per_second if full else None,
                "raw_full_threads": full.clients if full else None,
            }
        )
    return rows


# --------------------------------------------------------------------------- output


def _progress(backend: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {backend}: {message}", file=sys.stderr, flush=True)

    return say


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def results_table(
    title: str,
    results: Sequence[Result],
    *,
    unit: str,
    cpu: str,
    refused: str,
    caption: str | None = None,
    bare_unit: str = "",
) -> Any:
    """A rich table of measurements: per second (in `unit`; `bare_unit` after the bare app's
    figures), latency, CPU per operation (`cpu`), refusals (`refused`), errors and notes."""
    from rich.table import Table

    table = Table(title=title, caption=caption)
    for column in ("measurement", "clients", "workers"):
        table.add_column(column)
    for column in (unit, "p50 ms", "p99 ms", cpu, refused, "errors"):
        table.add_column(column, justify="right")
    table.add_column("note")
    for r in results:
        table.add_row(
            r.name,
            str(r.clients),
            "-" if r.workers is None else str(r.workers),
            f"{r.per_second:,.0f}" + (bare_unit if r.kind == "bare" else ""),
            _ms(r.p50_ms),
            _ms(r.p99_ms),
            _ms(r.cpu_ms),
            str(r.refused),
            str(r.errors),
            r.note,
        )
    return table


def ledger_replay(backend: str, drifts: int | None) -> str:
    """The ledger replay's verdict (every position equals the sum of its movements), loud."""
    style = "bold green" if drifts == 0 else "bold red"
    return (
        f"[bold]LEDGER REPLAY ({backend}):[/] [{style}]{drifts} "
        "drift(s)[/] (every position equals the sum of its movements)"
    )


def conditions(report: BackendRun) -> str:
    """What the machine was like before and after a backend's run (see `watching`)."""
    load, fsync_us = report.load, report.fsync_us
    return (
        f"Load average (1 min) before/after: {load[0]:.1f}/{load[1]:.1f} on {os.cpu_count()} "
        f"CPUs; fsync of 8 kB before/after: {fsync_us[0]:,.0f}/{fsync_us[1]:,.0f} µs (other "
        "processes skew every figure)"
    )


def print_report(report: BackendReport, bare: list[Result], options: Options) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    title = (
        f"{report.backend}: movements per second ({options.seconds:g} s each, "
        f"{_workload['sale_share']:.0%} sales)"
    )
    results = [*report.results, *bare]
    console.print(
        results_table(
            title,
            results,
            unit="movements/s",
            cpu="CPU ms/mv",
            refused="refused / non-2xx",
            caption=report.server,
            bare_unit=" req/s",
        )
    )
    console.print(
        "CPU ms/mv: CPU per movement of the Python side: this process for raw and service "
        "(the PostgreSQL server's not included), the uvicorn processes for HTTP (per request "
        "for bare); it holds up better than movements/s on a busy machine."
    )

    ratio_table = Table(title=f"{report.backend}: ratios (issue target >= {TARGET})")
    ratio_table.add_column("ratio")
    ratio_table.add_column("movements/s", justify="right")
    ratio_table.add_column("÷ raw position + ledger", justify="right")
    ratio_table.add_column("÷ raw with outbox (app's txn)", justify="right")
    ratio_table.add_column("target")
    for row in report.ratios:
        plain, full = row["vs_raw_position_ledger"], row["vs_raw_full"]
        ratio_table.add_row(
            f"{row['measurement']} ÷ raw",
            f"{row['per_second']:,.0f}",
            "-" if plain is None else f"{plain:.2f}",
            "-" if full is None else f"{full:.2f}",
            "-" if plain is None else ("met" if plain >= TARGET else "missed"),
        )
    console.print(ratio_table)
    if report.ratios:
        row = report.ratios[0]
        console.print(
            f"raw references: position + ledger {row['raw_position_ledger']:,.0f}/s "
            f"({row['raw_position_ledger_threads']} thread(s)); with outbox "
            f"{row['raw_full']:,.0f}/s ({row['raw_full_threads']} thread(s)). "
            f"Ledger check after the run: {report.ledger_drifts} drift(s). "
            f"{conditions(report)}."
        )
    if report.profile:
        console.print(f"\n[bold]{report.backend}: where the service layer spends its time[/]")
        print(report.profile)


def environment(client_name: str) -> dict[str, Any]:
    import fastapi
    import sqlalchemy
    import uvicorn

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "fastapi": fastapi.__version__,
        "uvicorn": uvicorn.__version__,
        "http_client": client_name,
    }


# --------------------------------------------------------------------------- main


def bench_parser(doc: str | None, *, seconds: float, seconds_help: str) -> argparse.ArgumentParser:
    """A bench's command line, described by its docstring's first paragraph, with the options
    every bench takes: --backend, --seconds (`seconds` by default), --json and --client."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=seconds, help=seconds_help)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    return parser


def write_json(
    path: Path | None, client_name: str, seconds: float, backends: dict[str, Any], **more: Any
) -> None:
    """With --json, write the figures there: the environment, the seconds of a measurement,
    what else the bench was run with (`more`) and the figures of each backend."""
    if path is None:
        return
    document = {"environment": environment(client_name), "seconds": seconds, **more,
                "backends": backends}  # fmt: skip
    path.write_text(json.dumps(document, indent=2, default=str))


def http_client(parser: argparse.ArgumentParser, choice: str) -> tuple[bool, str]:
    """Whether `--client` loads with wrk (`auto`: when it is installed), and the client's name,
    told on stderr."""
    use_wrk = choice == "wrk" or (choice == "auto" and shutil.which("wrk") is not None)
    if use_wrk and not shutil.which("wrk"):
        parser.error("wrk not found (apt-get install wrk), or use --client httpx")
    client_name = "wrk" if use_wrk else "httpx (asyncio, own process)"
    print(f"HTTP client: {client_name}", file=sys.stderr)
    return use_wrk, client_name


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seconds=10.0, seconds_help="per measurement")
    parser.add_argument("--clients", type=int, default=16, help="threads / HTTP connections")
    parser.add_argument("--profile", action="store_true", help="cProfile the service layer")
    parser.add_argument(
        "--sale-share", type=float, default=SALE_SHARE, help="share of sales (rest: receipts)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 150 or not 0.5 <= args.seconds <= 600:
        parser.error("--clients must be 1..150 and --seconds 0.5..600")
    if not 0 <= args.sale_share <= 1:
        parser.error("--sale-share must be between 0 and 1")
    _workload["sale_share"] = args.sale_share

    use_wrk, client_name = http_client(parser, args.client)
    options = Options(
        seconds=args.seconds,
        clients=args.clients,
        loader=load_with_wrk if use_wrk else load_with_httpx,
        client_name=client_name,
        profile=args.profile,
    )
    bare = bench_bare(options)

    def show(report: BackendReport) -> None:
        report.ratios = ratios(report)
        print_report(report, bare, options)

    measure = functools.partial(bench_backend, options=options)
    reports = measure_backends(args.backend, measure, show)
    backends = {
        r.backend: {
            "server": r.server,
            "results": [{**asdict(x), "per_second": x.per_second} for x in r.results],
            "ratios": r.ratios,
            **r.run_figures(),
            "profile": r.profile,
        }
        for r in reports
    }
    write_json(
        args.json,
        client_name,
        args.seconds,
        backends,
        clients=args.clients,
        sale_share=args.sale_share,
        bare=[{**asdict(r), "per_second": r.per_second} for r in bare],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
