"""What every bench shares: its measurements and their figures, threaded runs, raw
connections, the service layer's threads, uvicorn servers and the HTTP load on them (wrk, or
httpx in a process of its own), throwaway PostgreSQL clusters and SQLite files, the 200
locations of channel `web`, the printed tables and the command line.

The benches (`movements.py`, `availability.py`, `orders.py`) import this module and never
each other: a bench says what it measures; how to measure lives here once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import http.client
import json
import math
import multiprocessing
import os
import platform
import queue
import random
import re
import secrets
import shutil
import signal
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
from pathlib import Path
from typing import Any, Protocol, TypeVar

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Table, func, select

from omnistock.db import Database, UnitOfWork
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.services import catalog, channels, stock

WARMUP_SECONDS = 2.0
SERVER_START_SECONDS = 60.0
BENCH_DIR = Path(__file__).resolve().parent
#: The app as every bench serves it (uvicorn's `--factory`), and the bare app's POST path.
APP = "omnistock.api.app:create_app_from_env"
BARE_PATH = "/bare"
WRK_THREADS = 2
#: A load with a quota that answers nothing for this long is stopped (a request lost on the way).
STALL_SECONDS = 60
#: The network of `availability.py` and `orders.py`: channel `web` selling from LOCATIONS
#: locations, one warehouse in WAREHOUSE_EVERY (L-000, L-010, ...: 20 warehouses, 180 stores).
CHANNEL = "web"
LOCATIONS = 200
WAREHOUSE_EVERY = 10


# --------------------------------------------------------------------------- results


@dataclass
class Result:
    """One measurement: movements, holds, reads or orders (or bare requests) completed in
    `seconds`."""

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


def percentiles_ms(latencies: list[float]) -> tuple[float | None, float | None]:
    if len(latencies) < 2:
        return None, None
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


# --------------------------------------------------------------------------- the database


def ledger_drifts(url: str) -> int:
    """How many positions differ from the sum of their movements (must be 0)."""
    database = Database(url)
    try:
        with database.reading() as reads:
            return sum(1 for _ in stock.check(reads))
    finally:
        database.dispose()


def count_rows(url: str, table: Table) -> int:
    """How many rows `table` holds (what the HTTP measurements count as done)."""
    database = Database(url)
    try:
        with database.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
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


def measure_raw(
    label: str,
    kind: str,
    worker: Callable[..., Worker],
    *,
    url: str,
    threads: int,
    seconds: float,
    say: Callable[[str], None],
    note: str,
) -> Result:
    """A raw transaction, `worker(lock=...)`, from `threads` threads. SQLite's writers queue
    on one process lock, as the app's do; `note` (after how they queue) says what it writes."""
    say(f"{label}, {threads} threads")
    sqlite = url.startswith("sqlite")
    lock = threading.Lock() if sqlite else None
    how = "writers queued on a process lock; WAL, FULL" if sqlite else "READ COMMITTED"
    return measure_threads(
        label,
        kind,
        functools.partial(worker, lock=lock),
        threads=threads,
        seconds=seconds,
        note=how + note,
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


def sqlite_connection(path: str) -> sqlite3.Connection:
    """A plain sqlite3 connection with the app's pragmas, in autocommit mode: the transactions
    are the caller's (BEGIN IMMEDIATE), shared by threads that take turns."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"


#: The app's guarded reserve (omnistock.db.stock._RESERVE): after it, what is available
#: still covers the buffer, computed on the row as it is (percent rounded up).
_RESERVE = """
UPDATE positions SET reserved = reserved + :q
WHERE sku = :sku AND location = :location
  AND on_hand - reserved - unsellable - :q
      >= :units + ((on_hand - reserved - unsellable) * :bp + 9999) / 10000
RETURNING on_hand, reserved, unsellable, inbound
"""


_PUBLISH = """
INSERT INTO channel_availability (channel, sku, available_to_sell) VALUES (:channel, :sku, :ats)
ON CONFLICT (channel, sku) DO UPDATE SET available_to_sell = excluded.available_to_sell
"""


_EVENT_SQLITE = """
INSERT INTO events (seq, type, at, data)
VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), :type, :at, :data)
"""


_EVENT_PG = """
INSERT INTO events (xid, type, at, data)
VALUES (pg_current_xact_id()::text::bigint, :type, :at, :data)
"""


def _pg(sql: str) -> str:
    """sqlite3's `:name` parameters as psycopg's `%(name)s` (leaving `::casts` alone)."""
    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql)


class RawTransaction:
    """A raw transaction in plain sqlite3 / psycopg 3, from one thread: its connection,
    times and JSON as the app stores them, and `_in_transaction` to run one. `sql` holds the
    statements every raw hold or order writes (the guarded `reserve`, `publish`ing the ATS,
    an outbox `event`), in the driver's parameter style; `_prepare` adds a subclass's.
    `full`: also what else the app writes; `publish`: the published ATS among it.

    SQLite writers queue on `lock` (one per run, shared by the threads), as the app's do.
    """

    def __init__(
        self, url: str, *, full: bool, lock: threading.Lock | None = None, publish: bool = True
    ) -> None:
        self.sqlite = url.startswith("sqlite")
        self.url, self.full, self.publish = url, full, publish
        self.lock: contextlib.AbstractContextManager[Any] = lock or contextlib.nullcontext()
        self.conn: Any = None
        self.sql: dict[str, str] = {}
        self._prepare(
            {
                "reserve": _RESERVE,
                "publish": _PUBLISH,
                "event": _EVENT_SQLITE if self.sqlite else _EVENT_PG,
            }
        )

    def _prepare(self, statements: dict[str, str]) -> None:
        """Add `statements` (written with sqlite3's `:name` parameters) to `self.sql`, in the
        driver's own parameter style."""
        self.sql.update({n: s if self.sqlite else _pg(s) for n, s in statements.items()})

    def open(self) -> None:
        if self.sqlite:
            self.conn = sqlite_connection(self.url.removeprefix("sqlite:///"))
        else:
            self.conn = psycopg.connect(libpq(self.url))

    def _time(self, moment: dt.datetime) -> Any:
        # SQLite: naive UTC text, as SQLAlchemy stores UTCDateTime there.
        if self.sqlite:
            return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    def _json(self, data: dict[str, Any]) -> Any:
        return json.dumps(data) if self.sqlite else Json(data)

    def _in_transaction(self, work: Callable[[], bool]) -> bool:
        """Run `work` in a transaction of its own (SQLite: BEGIN IMMEDIATE, behind `lock`):
        committed when it returns True; rolled back when it returns False (a guard held it
        back) or raises."""
        conn = self.conn
        with self.lock:
            if self.sqlite:
                conn.execute("BEGIN IMMEDIATE")
            try:
                done = work()
                if self.sqlite:
                    conn.execute("COMMIT" if done else "ROLLBACK")
                else:
                    conn.commit() if done else conn.rollback()
            except BaseException:
                if self.sqlite:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                else:
                    conn.rollback()
                raise
        return done

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


# --------------------------------------------------------------------------- servers


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
    with tempfile.TemporaryFile() as log, tempfile.TemporaryDirectory() as metrics:
        shared = {"PROMETHEUS_MULTIPROC_DIR": metrics} if workers > 1 else {}  # as serve does
        process = subprocess.Popen(
            command,
            env={**os.environ, **env, **shared},
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


def server_env(url: str) -> tuple[str, dict[str, str]]:
    """A fresh admin key, and the environment that starts the app on `url` with it."""
    key = secrets.token_urlsafe(24)
    return key, {"OMNISTOCK_DATABASE_URL": url, "OMNISTOCK_ADMIN_KEY": key}


def server_note(client_name: str, *, sqlite: bool, workers: int) -> str:
    """The note of an HTTP measurement: its client, and what limits several workers."""
    if sqlite and workers > 1:
        return f"{client_name}; 2 processes share SQLite's single writer"
    return client_name


# --------------------------------------------------------------------------- HTTP load


#: One request of an httpx load, sent with the load's client to a path (relative to the
#: server's URL) with the load's random source: its answer.
Send = Callable[[Any, str, random.Random], Awaitable[Any]]


@dataclass(frozen=True)
class LoadSpec:
    """What an HTTP load sends to `path` with the API key `key`, whichever the client.

    wrk runs the Lua `script`, whose init() gets `key, seed, threads, quota, *args` (a
    script that counts its answers starts with `WRK_COUNTS`); httpx awaits `send` (a function
    of a module, or a partial of one: it goes to a process of its own), each request given up
    after `timeout` seconds. With a `quota`, the load sends that many requests in all and
    ends once they are answered; the script shares them out between its threads, writes
    `THREAD_DONE` when its share is answered and a line now and then (`PROGRESS`) while it
    waits for answers.
    """

    path: str
    key: str
    script: str
    send: Send
    args: tuple[str, ...] = ()
    quota: int = 0
    timeout: float = 30.0


@dataclass
class Load:
    requests: int
    seconds: float
    ok: int  # 2xx other than 201
    created: int  # 201
    conflict: int  # 409
    other: int  # any other status
    socket_errors: int
    p50_ms: float | None
    p99_ms: float | None
    finished: bool = True  # with a quota: every request answered within the bound

    @classmethod
    def from_wrk(cls, figures: dict[str, Any], *, finished: bool = True) -> Load:
        """What `WRK_COUNTS`' done() reports."""
        return cls(
            requests=figures["requests"],
            seconds=figures["duration_us"] / 1e6,
            ok=figures["ok"],
            created=figures["created"],
            conflict=figures["conflict"],
            other=figures["other"],
            socket_errors=figures["socket"],
            p50_ms=figures["p50_us"] / 1000,
            p99_ms=figures["p99_us"] / 1000,
            finished=finished,
        )

    @classmethod
    def from_httpx(cls, seen: Exchanges) -> Load:
        """The answers an httpx load saw, counted as `WRK_COUNTS` counts them."""
        statuses = seen.statuses
        created, conflict = statuses[201], statuses[409]
        success = sum(n for code, n in statuses.items() if 200 <= code < 300)
        p50, p99 = percentiles_ms(seen.latencies)
        return cls(
            requests=sum(statuses.values()),
            seconds=seen.seconds,
            ok=success - created,
            created=created,
            conflict=conflict,
            other=sum(statuses.values()) - success - conflict,
            socket_errors=seen.failures,
            p50_ms=p50,
            p99_ms=p99,
        )

    @property
    def answered(self) -> int:
        """The requests answered by anything but a 2xx other than 201 (a quota's count)."""
        return self.created + self.conflict + self.other


#: The start of a wrk script that sends the requests its init() prepares in `pool`, one
#: after the other, round and round.
WRK_POOL = r"""
local pool, counter = {}, 0

function request()
  counter = counter % #pool + 1
  return pool[counter]
end
"""


#: The start of a wrk script that counts the answers (`count_answer(status)` in its
#: response()): 201, 409, other 2xx and anything else, per thread; done() sums the threads'
#: counts and writes them with wrk's figures as one `WRK_JSON {...}` line (`Load.from_wrk`).
WRK_COUNTS = r"""
local threads = {}
ok_n, created_n, conflict_n, other_n = 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function count_answer(status)
  if status == 201 then created_n = created_n + 1
  elseif status == 409 then conflict_n = conflict_n + 1
  elseif status >= 200 and status < 300 then ok_n = ok_n + 1
  else other_n = other_n + 1 end
end

function done(summary, latency, requests)
  local c = {ok_n = 0, created_n = 0, conflict_n = 0, other_n = 0}
  for _, t in ipairs(threads) do
    for name, value in pairs(c) do c[name] = value + (t:get(name) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"ok":%d,"created":%d,"conflict":%d,' ..
    '"other":%d,"socket":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, c.ok_n, c.created_n, c.conflict_n, c.other_n,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


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


def load_with_wrk(base: str, spec: LoadSpec, *, clients: int, seconds: float, seed: int) -> Load:
    """Run wrk on `base` + `spec.path` with the spec's script; with a quota, until each wrk
    thread has its share answered (then SIGINT: wrk reports at once), or nothing has been
    answered for STALL_SECONDS."""
    threads = min(WRK_THREADS, clients)
    args = [spec.key, str(seed), str(threads), str(spec.quota), *spec.args]
    wrk = Wrk(base + spec.path, threads, clients, seconds, f"{spec.timeout:g}s", args)
    if not spec.quota:
        return Load.from_wrk(wrk.run(spec.script))
    output: list[str] = []
    done_threads = 0
    with lua_script(spec.script) as script:
        process = subprocess.Popen(
            wrk.command(script),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            lines: queue.Queue[str | None] = queue.Queue()
            reader = threading.Thread(target=_pump, args=(process, lines), daemon=True)
            reader.start()
            while (line := _next_line(lines, STALL_SECONDS)) is not None:
                output.append(line)  # ends when wrk exits: at -d at the latest
                if line.startswith("THREAD_DONE"):
                    done_threads += 1
                    if done_threads == threads:
                        process.send_signal(signal.SIGINT)  # wrk reports at once
                elif line == "STALLED":
                    process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            reader.join(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=15)
    figures = wrk_figures("".join(output), process.returncode)
    return Load.from_wrk(figures, finished=done_threads == threads)


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue[str | None], stall: float | None) -> str | None:
    """The next line of wrk's output; "STALLED" when a load with a quota has answered nothing
    for `stall` seconds (a request lost on the way: wrk stops being waited for); None at the
    end."""
    try:
        return lines.get(timeout=stall)
    except queue.Empty:
        return "STALLED"


@dataclass
class Exchanges:
    """What an httpx load saw: its answers by status code, their latencies (seconds), the
    requests that failed on the way (no answer) and how long it ran."""

    statuses: Counter[int]
    latencies: list[float]
    failures: int
    seconds: float


async def load_over_httpx(
    send: Callable[[Any, random.Random], Awaitable[Any]],
    key: str,
    clients: int,
    seconds: float,
    seed: int,
    *,
    timeout: float,
    base: str = "",
) -> Exchanges:
    """`clients` concurrent connections (with the API key `key`) sending `send`'s requests,
    each as soon as the last is answered, until `seconds` are up (or `send` answers None:
    nothing left to send);
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


def _run_load(answers: Any, load: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        answers.put(asyncio.run(load(*args)))
    except Exception as error:  # report it to the parent rather than hang it
        answers.put({"error": f"{type(error).__name__}: {error}"})


def in_own_process(
    load: Callable[..., Coroutine[Any, Any, dict[str, Any]]], *args: Any, seconds: float
) -> dict[str, Any]:
    """Run the load `load(*args)` (a coroutine function of a module, lasting about
    `seconds`) in a process of its own, so that the client and what it measures
    share no interpreter; the figures it returns."""
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    process = context.Process(target=_run_load, args=(answers, load, args), daemon=True)
    process.start()
    try:
        figures: dict[str, Any] = answers.get(timeout=seconds + 120)
    finally:
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
    if "error" in figures:
        raise RuntimeError(f"httpx client failed: {figures['error']}")
    return figures


async def _httpx_load(
    base: str, spec: LoadSpec, clients: int, seconds: float, seed: int
) -> dict[str, Any]:
    left = spec.quota

    async def send(client: Any, rng: random.Random) -> Any:
        nonlocal left
        if spec.quota:
            if left <= 0:
                return None
            left -= 1
        return await spec.send(client, spec.path, rng)

    seen = await load_over_httpx(
        send, spec.key, clients, seconds, seed, timeout=spec.timeout, base=base
    )
    load = Load.from_httpx(seen)
    load.finished = not spec.quota or load.answered == spec.quota
    return asdict(load)


def load_with_httpx(base: str, spec: LoadSpec, *, clients: int, seconds: float, seed: int) -> Load:
    """The fallback client: httpx + asyncio in a process of its own (much slower than wrk)."""
    return Load(**in_own_process(_httpx_load, base, spec, clients, seconds, seed, seconds=seconds))


#: `load_with_wrk` or `load_with_httpx`, as `--client` chose.
Loader = Callable[..., Load]


class LoadOptions(Protocol):
    """What a bench's options tell `measure_load`: how long to load, and with which client."""

    @property
    def seconds(self) -> float: ...
    @property
    def loader(self) -> Loader: ...


def measure_load(
    name: str,
    kind: str,
    *,
    server: Server,
    spec: LoadSpec,
    options: LoadOptions,
    clients: int,
    workers: int,
    count: Callable[[], int] | None = None,
    note: str = "",
) -> Result:
    """Warm up, then load for `options.seconds`: what `count` counts in the database (holds,
    orders, movements) is what was done; without it, the 2xx answers other than 201 (reads,
    bare)."""
    options.loader(server.base, spec, clients=clients, seconds=WARMUP_SECONDS, seed=1)
    before = count() if count else 0
    cpu_before = server.cpu_seconds()
    load = options.loader(server.base, spec, clients=clients, seconds=options.seconds, seed=2)
    cpu = server.cpu_seconds() - cpu_before
    completed = count() - before if count else load.ok
    return Result(
        name=name,
        kind=kind,
        clients=clients,
        workers=workers,
        completed=completed,
        seconds=load.seconds,
        refused=load.conflict,
        errors=load.other + load.socket_errors,
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


# --------------------------------------------------------------------------- the web shop


def location_code(i: int) -> str:
    return f"L-{i:03d}"


def make_location(i: int) -> Location:
    warehouse = i % WAREHOUSE_EVERY == 0
    return Location(
        code=location_code(i),
        name=f"{'Warehouse' if warehouse else 'Store'} {i}",
        type=LocationType.WAREHOUSE if warehouse else LocationType.STORE,
        lat=43.0 + (i % 20) * 0.4,
        lon=-1.0 + (i // 20) * 0.7,
        ship_enabled=warehouse or i % 3 != 0,
        pickup_enabled=not warehouse,
        priority=10 + i % 7 if warehouse else 100 + i % 13,
    )


def open_web_shop(uow: UnitOfWork, items: Sequence[Item], rules: Sequence[BufferRule]) -> None:
    """The LOCATIONS locations (`make_location`), `items`, and channel `web` selling from
    every warehouse and store under `rules`, through the services."""
    for i in range(LOCATIONS):
        catalog.put_location(uow, make_location(i))
    for item in items:
        catalog.put_item(uow, item)
    kinds = (LocationType.WAREHOUSE, LocationType.STORE)
    channels.put_channel(uow, Channel(CHANNEL, "Web shop", location_types=kinds))
    for rule in rules:
        channels.add_rule(uow, rule)


# --------------------------------------------------------------------------- output


def progress(backend: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {backend}: {message}", file=sys.stderr, flush=True)

    return say


def ms(value: float | None) -> str:
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
            ms(r.p50_ms),
            ms(r.p99_ms),
            ms(r.cpu_ms),
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


def ratio_of(a: float | None, b: float | None) -> float | None:
    """a ÷ b, or None when either is missing or b is 0."""
    return a / b if a is not None and b else None


def verdict(value: float | None, target: float | None, *, at_most: bool = False) -> str:
    """Whether a ratio meets its target (at least it, or with `at_most` at most it)."""
    if target is None:
        return "(context)"
    sign = "<=" if at_most else ">="
    if value is None or math.isnan(value):
        return f"{sign} {target:g}"
    met = value <= target if at_most else value >= target
    return f"{sign} {target:g} " + ("met" if met else "missed")


def ratio_row(
    name: str, value: float | None, reference: float | None, target: float | None, **more: Any
) -> dict[str, Any]:
    """One ratio as a report prints and stores it: the figure measured, the one it is divided
    by, the quotient and its target (None: context only), and `more` figures about it."""
    return {"ratio": name, "value": value, "reference": reference,
            "ratio_value": ratio_of(value, reference), **more, "target": target}  # fmt: skip


def per_second(value: float) -> str:
    return f"{value:,.0f}/s"


def ratio_table(
    title: str,
    rows: Sequence[dict[str, Any]],
    *,
    amount: Callable[[float], str] = per_second,
    digits: int = 2,
    at_most: bool = False,
    extra: Callable[[dict[str, Any]], str] = lambda row: "",
) -> Any:
    """The rows of `ratio_row` as a rich table: figures as `amount` writes them, quotients
    to `digits` places, each against its target, and what `extra` adds about the row."""
    from rich.table import Table

    table = Table(title=title)
    for column in ("ratio", "measured", "reference", "÷", "target", ""):
        table.add_column(column, justify="left" if column == "ratio" else "right")
    for row in rows:
        value = row["ratio_value"]
        table.add_row(
            row["ratio"],
            "-" if row["value"] is None else amount(row["value"]),
            "-" if row["reference"] is None else amount(row["reference"]),
            "-" if value is None else f"{value:.{digits}f}",
            verdict(value, row["target"], at_most=at_most),
            extra(row),
        )
    return table


def vs_full(writes: str) -> Callable[[dict[str, Any]], str]:
    """The ratio table's last column: the ratio against raw SQL doing all the app writes."""

    def extra(row: dict[str, Any]) -> str:
        if row.get("vs_full") is None:
            return ""
        return f"÷ raw with {writes} writes: {row['vs_full']:.2f}"

    return extra


def footer(report: BackendRun) -> str:
    """The last words on a backend: its server, the machine's conditions and the time it took."""
    return f"{report.server}. {conditions(report)}. Backend wall time {report.seconds:.0f} s.\n"


# --------------------------------------------------------------------------- command line


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
