"""Available to sell and holds: reads and holds per second over HTTP, and a flash sale.

    python bench/availability.py [--backend sqlite|postgresql|both] [--seconds 8]
                                 [--json out.json] [--client auto|wrk|httpx]

For each backend, on a fresh database: one channel `web` selling from 200 locations (20
warehouses, 180 stores) under 20 buffer rules (channel, location type, location and sku
rules; units and percent). Then:

1. ATS reads: `GET /v1/availability/ATS-1?channel=web` (ATS-1 is in stock at all 200
   locations), 16 connections, uvicorn with 1 and 2 workers, against a bare FastAPI JSON
   endpoint with the same server flags and client, measured next to it;
2. holds: `POST /v1/reservations` of 1 unit of a random sku among 100 in deep stock, 16
   connections, against the raw transaction through the same driver from 16 threads: the
   guarded `UPDATE positions SET reserved = reserved + q WHERE ... AND available - q >=
   buffer`, the ledger insert and the reservation insert (also with the rest of what the app
   writes: outbox events and the published ATS); and the service layer, `hold` in `db.run`;
3. a flash sale: 10,000 holds of 1 unit on 1,000 units of one sku at one location from 32
   connections, against the raw transaction racing from 32 threads on a row of its own.
   Exactly 1,000 must be granted: the 201s, `reserved`, the holds stored and the ledger
   replay are checked and printed (loudly, without raising).

It prints figures and ratios (the issue's targets: reads >= 0.6 x bare, holds and flash
sale >= 0.5 x raw). It never asserts a time. Machinery (PostgreSQL cluster, uvicorn, bare
app, threaded runs) comes from `movements.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import http.client
import itertools
import json
import multiprocessing
import os
import queue
import random
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from psycopg.types.json import Json
from sqlalchemy import func, select

import movements as mv
from omnistock.db import Database
from omnistock.db.tables import positions, reservation_lines, reservations
from omnistock.domain.availability import BufferRule, Channel, winning_rule
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import InsufficientStock
from omnistock.domain.stock import MovementType
from omnistock.services import catalog, channels, stock
from omnistock.services import reservations as holds

LOCATIONS = 200
WAREHOUSE_EVERY = 10  # L-000, L-010, ...: 20 warehouses and 180 stores
CHANNEL = "web"
ATS_SKU = "ATS-1"
HOLD_SKUS = 100
HOLD_STOCK = 1_000_000
HOLD_TTL = 86_400
CLIENTS = 16
FLASH_SKU, FLASH_RAW_SKU = "FLASH-APP", "FLASH-RAW"
#: The flash sale: `holds` holds of 1 unit on `units` units (--flash-holds sets both).
FLASH = SimpleNamespace(holds=10_000, units=1_000)
FLASH_CLIENTS = 32
READ_TARGET, HOLD_TARGET = 0.6, 0.5
WRK_THREADS = 2
#: A flash sale that has not ended after this long is reported unfinished.
FLASH_BOUND_SECONDS = 600
#: ... or has answered nothing for this long (wrk: a hold lost on the way).
FLASH_STALL_SECONDS = 60
AVAILABILITY_PATH = f"/v1/availability/{ATS_SKU}?channel={CHANNEL}"
HOLDS_PATH = "/v1/reservations"
BARE_GET_PATH = "/healthz"  # movements.bare_app: GET {"status": "ok"}
BARE_ANSWER_ENV = "OMNISTOCK_BENCH_ANSWER"
APP = "omnistock.api.app:create_app_from_env"


def location_code(i: int) -> str:
    return f"L-{i:03d}"


def hold_sku(i: int) -> str:
    return f"HOLD-{i:03d}"


FLASH_LOCATION = location_code(0)


def hold_location(i: int) -> str:
    """Where HOLD-i is stocked: one warehouse each, spread over the 20."""
    return location_code(i % (LOCATIONS // WAREHOUSE_EVERY) * WAREHOUSE_EVERY)


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


def buffer_rules() -> list[BufferRule]:
    """The 20 rules of channel `web` that ATS-1 is read under: every dimension, both kinds."""
    warehouse, store = LocationType.WAREHOUSE, LocationType.STORE
    rules = [
        BufferRule(0, channel=CHANNEL, units=1),
        BufferRule(0, location_type=store, units=2),
        BufferRule(0, location_type=warehouse, basis_points=500),
        BufferRule(0, channel=CHANNEL, location_type=store, units=2),
        BufferRule(0, channel=CHANNEL, location_type=warehouse, basis_points=1000),
        BufferRule(0, sku=ATS_SKU, basis_points=1000),
        BufferRule(0, sku=ATS_SKU, location_type=store, units=3),
        BufferRule(0, channel=CHANNEL, sku=ATS_SKU, location_type=warehouse, basis_points=1500),
        BufferRule(0, sku=ATS_SKU, location=location_code(3), units=0),
        BufferRule(0, channel=CHANNEL, sku=ATS_SKU, location=location_code(4), basis_points=5000),
    ]
    for n, i in enumerate(range(5, LOCATIONS, 20)):  # 10 stores with a rule of their own
        channel = CHANNEL if n % 2 else None
        amount = {"basis_points": 2500} if n % 3 == 0 else {"units": n + 1}
        rules.append(BufferRule(0, channel=channel, location=location_code(i), **amount))
    return rules


def set_up(url: str) -> None:
    """Migrate a fresh database; catalogue, channel, rules and stock through the services."""
    database = Database(url)
    try:
        database.migrate()

        def catalogue(uow: Any) -> None:
            for i in range(LOCATIONS):
                catalog.put_location(uow, make_location(i))
            skus = [ATS_SKU, *(hold_sku(i) for i in range(HOLD_SKUS)), FLASH_SKU, FLASH_RAW_SKU]
            for sku in skus:
                catalog.put_item(uow, Item(sku=sku, name=f"Item {sku}", price=Decimal("24.90")))
            kinds = (LocationType.WAREHOUSE, LocationType.STORE)
            channels.put_channel(uow, Channel(CHANNEL, "Web shop", location_types=kinds))
            for rule in buffer_rules():
                channels.add_rule(uow, rule)
            for sku in (FLASH_SKU, FLASH_RAW_SKU):  # the sale sells every unit
                channels.add_rule(uow, BufferRule(0, sku=sku, units=0))

        def stock_up(uow: Any) -> None:
            rng = random.Random(7)
            receipts = [(location_code(i), ATS_SKU, rng.randint(5, 60)) for i in range(LOCATIONS)]
            receipts += [(hold_location(i), hold_sku(i), HOLD_STOCK) for i in range(HOLD_SKUS)]
            receipts += [(FLASH_LOCATION, sku, FLASH.units) for sku in (FLASH_SKU, FLASH_RAW_SKU)]
            for location, sku, quantity in receipts:
                stock.record_movement(
                    uow,
                    location=location,
                    sku=sku,
                    movement_type=MovementType.RECEIPT,
                    quantity=quantity,
                    reference="bench-initial-stock",
                )

        database.run(catalogue)
        database.run(stock_up)
    finally:
        database.dispose()


@dataclass(frozen=True)
class Target:
    """Where a raw hold reserves, under the buffer the app would apply there."""

    sku: str
    location: str
    units: int
    basis_points: int


def targets(url: str, skus: list[tuple[str, str]]) -> dict[str, Target]:
    """The winning buffer rule of channel `web` for each (sku, location), as the app picks it."""
    database = Database(url)
    try:
        with database.read() as conn:
            rules = channels.list_rules(conn)
    finally:
        database.dispose()
    found = {}
    for sku, code in skus:
        location = make_location(int(code.removeprefix("L-")))
        rule = winning_rule(rules, channel=CHANNEL, location=location, sku=sku)
        units = (rule.units or 0) if rule else 0
        found[sku] = Target(sku, code, units, (rule.basis_points or 0) if rule else 0)
    return found


# --------------------------------------------------------------------------- raw SQL

#: The app's guarded reserve (omnistock.db.stock._RESERVE): after it, what is available
#: still covers the buffer, computed on the row as it is (percent rounded up).
_RESERVE = """
UPDATE positions SET reserved = reserved + :q
WHERE sku = :sku AND location = :location
  AND on_hand - reserved - unsellable - :q
      >= :units + ((on_hand - reserved - unsellable) * :bp + 9999) / 10000
RETURNING on_hand, reserved, unsellable, inbound
"""
_LEDGER = """
INSERT INTO movements (at, sku, location, type, on_hand, reserved, unsellable, inbound,
    reason, reference)
VALUES (:at, :sku, :location, 'reserve', 0, :q, 0, 0, NULL, :reference)
"""
_HOLD = """
INSERT INTO reservations (id, channel, status, expires_at, created_at)
VALUES (:id, :channel, 'active', :expires_at, :at)
"""
_LINES = """
INSERT INTO reservation_lines (reservation_id, position, sku, location, quantity)
VALUES (:id, 0, :sku, NULL, :q), (:id, 1, :sku, :location, :q)
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


class RawHold:
    """The hold's transaction in plain sqlite3 / psycopg 3: the guarded reserve, the ledger
    movement, the reservation and its lines; with `full`, also the outbox events the app
    writes (stock.changed, reservation.created, availability.changed) and the published ATS.

    SQLite writers queue on `lock` (one per run, shared by the threads), as the app's do.
    """

    def __init__(
        self,
        url: str,
        pick: Callable[[random.Random], Target],
        *,
        full: bool,
        lock: threading.Lock | None = None,
        publish: bool = True,
    ) -> None:
        self.sqlite = url.startswith("sqlite")
        self.url, self.pick, self.full, self.publish = url, pick, full, publish
        self.lock: contextlib.AbstractContextManager[Any] = lock or contextlib.nullcontext()
        self.conn: Any = None
        convert = (lambda s: s) if self.sqlite else _pg
        self.sql = {
            name: convert(text)
            for name, text in {
                "reserve": _RESERVE,
                "ledger": _LEDGER,
                "hold": _HOLD,
                "lines": _LINES,
                "publish": _PUBLISH,
                "event": _EVENT_SQLITE if self.sqlite else _EVENT_PG,
            }.items()
        }

    def open(self) -> None:
        if self.sqlite:
            conn = sqlite3.connect(
                self.url.removeprefix("sqlite:///"),
                isolation_level=None,
                check_same_thread=False,
                timeout=30,
            )
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
            conn.execute("PRAGMA busy_timeout=30000")
            self.conn = conn
        else:
            self.conn = psycopg.connect(mv.libpq(self.url))

    def _time(self, moment: dt.datetime) -> Any:
        # SQLite: naive UTC text, as SQLAlchemy stores UTCDateTime there.
        if self.sqlite:
            return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return moment

    def _json(self, data: dict[str, Any]) -> Any:
        return json.dumps(data) if self.sqlite else Json(data)

    def step(self, rng: random.Random) -> bool:
        target = self.pick(rng)
        now = dt.datetime.now(dt.UTC)
        hold_id = str(uuid.uuid4())
        params = {
            "q": 1,
            "sku": target.sku,
            "location": target.location,
            "units": target.units,
            "bp": target.basis_points,
            "at": self._time(now),
            "reference": f"reservation:{hold_id}",
            "id": hold_id,
            "channel": CHANNEL,
            "expires_at": self._time(now + dt.timedelta(seconds=HOLD_TTL)),
        }
        conn, sql = self.conn, self.sql
        with self.lock:
            if self.sqlite:
                conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(sql["reserve"], params).fetchone()
                if row is None:
                    conn.rollback() if not self.sqlite else conn.execute("ROLLBACK")
                    return False
                conn.execute(sql["ledger"], params)
                conn.execute(sql["hold"], params)
                conn.execute(sql["lines"], params)
                if self.full:
                    self._app_writes(params, row, now)
                conn.execute("COMMIT") if self.sqlite else conn.commit()
            except BaseException:
                if self.sqlite:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                else:
                    conn.rollback()
                raise
        return True

    def _app_writes(self, params: dict[str, Any], row: tuple[int, ...], now: dt.datetime) -> None:
        on_hand, reserved, unsellable, inbound = row
        available = on_hand - reserved - unsellable
        position = {"sku": params["sku"], "location": params["location"], "on_hand": on_hand,
                    "reserved": reserved, "unsellable": unsellable, "inbound": inbound,
                    "available": available}  # fmt: skip
        view = {
            "id": params["id"],
            "status": "active",
            "channel": CHANNEL,
            "expires_at": (now + dt.timedelta(seconds=HOLD_TTL)).isoformat(),
            "lines": [{"sku": params["sku"], "quantity": 1}],
            "allocations": [{"location": params["location"], "sku": params["sku"], "quantity": 1}],
        }
        ats = {"channel": CHANNEL, "sku": params["sku"], "available_to_sell": available}
        if self.publish:
            self.conn.execute(self.sql["publish"], {**params, "ats": available})
        for kind, data in (
            ("stock.changed", position),
            ("reservation.created", view),
            ("availability.changed", ats),
        ):
            event = {"type": kind, "at": params["at"], "data": self._json(data)}
            self.conn.execute(self.sql["event"], event)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class ServiceHold:
    """One thread holding through `Database.run` and `reservations.hold`."""

    def __init__(self, database: Database, skus: list[str]) -> None:
        self.database, self.skus = database, skus

    def open(self) -> None:
        pass

    def step(self, rng: random.Random) -> bool:
        sku = rng.choice(self.skus)
        try:
            self.database.run(
                lambda uow: holds.hold(uow, channel=CHANNEL, lines=[(sku, 1)], ttl_seconds=HOLD_TTL)
            )
        except InsufficientStock:
            return False
        return True

    def close(self) -> None:
        pass


def has_table(url: str, name: str) -> bool:
    from sqlalchemy import inspect

    database = Database(url)
    try:
        return inspect(database.engine).has_table(name)
    finally:
        database.dispose()


# --------------------------------------------------------------------------- HTTP load


@dataclass(frozen=True)
class LoadSpec:
    """What the HTTP client sends: `get` one path; `holds` of 1 unit of a random sku among
    `skus`; `flash`: `quota` holds of `skus[0]` in all, then stop."""

    mode: str
    path: str
    key: str
    skus: tuple[str, ...] = ()
    quota: int = 0


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
    finished: bool = True  # flash: every hold answered within the bound


WRK_SCRIPT = r"""
-- args: mode (get|holds|flash), key, seed, path, channel, ttl, quota, threads, skus...
local pool, counter, granted, permits, quota, mode = {}, 0, 0, 0, 0, nil
local filler = nil
local threads = {}
ok_n, created_n, conflict_n, other_n = 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  mode = args[1]
  local key, seed, path, channel, ttl = args[2], tonumber(args[3]), args[4], args[5], args[6]
  local total, nthreads = tonumber(args[7]), tonumber(args[8])
  quota = math.floor(total / nthreads)
  if thread_number <= total % nthreads then quota = quota + 1 end
  math.randomseed(seed * 1000 + thread_number)
  local auth = "Bearer " .. key
  filler = wrk.format("GET", "/healthz", {["Authorization"] = auth})
  if mode == "get" then
    pool[1] = wrk.format("GET", path, {["Authorization"] = auth})
    return
  end
  local skus = {}
  for i = 9, #args do skus[#skus + 1] = args[i] end
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = auth}
  for i = 1, (mode == "flash") and 1 or 4096 do
    local body = string.format(
      '{"channel":"%s","lines":[{"sku":"%s","quantity":1}],"ttl_seconds":%s}',
      channel, skus[math.random(#skus)], ttl)
    pool[i] = wrk.format("POST", path, headers, body)
  end
end

function request()
  if mode == "flash" then
    -- A hold only against a permit from delay(), which wrk calls before every request it
    -- sends: wrk also calls request() once, unsent, to check the script (first thread).
    if permits == 0 then return filler end  -- a cheap GET, never a hold beyond the quota
    permits = permits - 1
    return pool[1]
  end
  counter = counter % #pool + 1
  return pool[counter]
end

function response(status, headers, body)
  if status == 201 then created_n = created_n + 1
  elseif status == 409 then conflict_n = conflict_n + 1
  elseif status >= 200 and status < 300 then ok_n = ok_n + 1
  else other_n = other_n + 1 end
  if mode == "flash" and status ~= 200 then
    local answered = created_n + conflict_n + other_n
    if answered == quota then
      io.write("THREAD_DONE\n")
      io.flush()
      wrk.thread:stop()
    elseif answered % 20 == 0 then
      io.write("PROGRESS\n")
      io.flush()
    end
  end
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
#: Flash sale only: each hold is sent against a permit, `quota` permits per thread; once they
#: are all given, connections send a cheap GET every quarter second (which keeps them open).
WRK_FLASH_DELAY = r"""
function delay()
  if granted >= quota then return 250 end
  granted = granted + 1
  permits = permits + 1
  return 0
end
"""


def load_with_wrk(base: str, spec: LoadSpec, *, clients: int, seconds: float, seed: int) -> Load:
    """Run wrk; a flash sale ends (SIGINT) once each wrk thread has its quota answered."""
    wrk = shutil.which("wrk")
    assert wrk is not None
    flash = spec.mode == "flash"
    threads = min(WRK_THREADS, clients)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT + (WRK_FLASH_DELAY if flash else ""))
    command = [
        wrk, "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s",
        "--timeout", "30s", "-s", script.name, base + spec.path, "--",
        spec.mode, spec.key, str(seed), spec.path, CHANNEL, str(HOLD_TTL), str(spec.quota),
        str(threads), *spec.skus,
    ]  # fmt: skip
    output: list[str] = []
    done_threads = 0
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            lines: queue.Queue[str | None] = queue.Queue()
            reader = threading.Thread(target=_pump, args=(process, lines), daemon=True)
            reader.start()
            while (line := _next_line(lines, FLASH_STALL_SECONDS if flash else None)) is not None:
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
    finally:
        os.unlink(script.name)
    line = next((x for x in output if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{''.join(output)[-3000:]}")
    figures = json.loads(line.removeprefix("WRK_JSON "))
    return Load(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        ok=figures["ok"],
        created=figures["created"],
        conflict=figures["conflict"],
        other=figures["other"],
        socket_errors=figures["socket"],
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        finished=not flash or done_threads == threads,
    )


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue[str | None], stall: float | None) -> str | None:
    """The next line of wrk's output; "STALLED" when a flash sale has answered nothing for
    `stall` seconds (a hold lost on the way: wrk stops being waited for); None at the end."""
    try:
        return lines.get(timeout=stall)
    except queue.Empty:
        return "STALLED"


async def _httpx_load(
    base: str, spec: LoadSpec, clients: int, seconds: float, seed: int
) -> dict[str, Any]:
    import httpx

    rng = random.Random(seed)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    state = {"left": spec.quota, "socket": 0}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {spec.key}"}
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=30, headers=headers
    ) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def one_client() -> None:
            while (sent := time.perf_counter()) < deadline:
                if spec.mode == "flash":
                    if state["left"] <= 0:
                        return
                    state["left"] -= 1
                try:
                    if spec.mode == "get":
                        answer = await client.get(spec.path)
                    else:
                        line = {"sku": rng.choice(spec.skus), "quantity": 1}
                        body = {"channel": CHANNEL, "lines": [line], "ttl_seconds": HOLD_TTL}
                        answer = await client.post(spec.path, json=body)
                except httpx.HTTPError:
                    state["socket"] += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                code = answer.status_code
                kind = {201: "created", 409: "conflict"}.get(code)
                statuses[kind or ("ok" if 200 <= code < 300 else "other")] += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    p50, p99 = mv.percentiles_ms(latencies)
    answered = statuses["created"] + statuses["conflict"] + statuses["other"]
    return {
        "requests": sum(statuses.values()),
        "seconds": elapsed,
        **{k: statuses[k] for k in ("ok", "created", "conflict", "other")},
        "socket_errors": state["socket"],
        "p50_ms": p50,
        "p99_ms": p99,
        "finished": spec.mode != "flash" or answered == spec.quota,
    }


def _httpx_process(queue: Any, *args: Any) -> None:
    try:
        queue.put(asyncio.run(_httpx_load(*args)))
    except Exception as error:  # report it to the parent rather than hang it
        queue.put({"error": f"{type(error).__name__}: {error}"})


def load_with_httpx(base: str, spec: LoadSpec, *, clients: int, seconds: float, seed: int) -> Load:
    """The fallback client: httpx + asyncio in a process of its own (much slower than wrk)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_httpx_process, args=(queue, base, spec, clients, seconds, seed), daemon=True
    )
    process.start()
    try:
        figures = queue.get(timeout=seconds + 120)
    finally:
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
    if "error" in figures:
        raise RuntimeError(f"httpx client failed: {figures['error']}")
    return Load(**figures)


Loader = Callable[..., Load]


# --------------------------------------------------------------------------- database reads


def count_holds(url: str) -> int:
    database = Database(url)
    try:
        with database.read() as conn:
            return int(conn.execute(select(func.count()).select_from(reservations)).scalar_one())
    finally:
        database.dispose()


@dataclass
class Stored:
    """What the database holds of one sku's sale at one location."""

    reserved: int
    holds: int
    units_held: int
    first_grant: dt.datetime | None
    last_grant: dt.datetime | None


def stored(url: str, sku: str, location: str) -> Stored:
    database = Database(url)
    r, h, p = reservation_lines.c, reservations.c, positions.c
    try:
        with database.read() as conn:
            reserved = conn.execute(
                select(p.reserved).where(p.sku == sku, p.location == location)
            ).scalar_one()
            count, units, first, last = conn.execute(
                select(
                    func.count(),
                    func.sum(r.quantity),
                    func.min(h.created_at),
                    func.max(h.created_at),
                )
                .select_from(reservation_lines.join(reservations, h.id == r.reservation_id))
                .where(r.sku == sku, r.location == location)
            ).one()
    finally:
        database.dispose()
    return Stored(int(reserved), int(count), int(units or 0), _aware(first), _aware(last))


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # an aggregate over SQLite text loses the column's type
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def ats_answer(base: str, key: str) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection(base.removeprefix("http://"), timeout=30)
    try:
        conn.request("GET", AVAILABILITY_PATH, headers={"Authorization": f"Bearer {key}"})
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


# --------------------------------------------------------------------------- measurements


@dataclass
class Options:
    seconds: float
    loader: Loader
    client_name: str


def measure_load(
    name: str,
    kind: str,
    *,
    server: mv.Server,
    spec: LoadSpec,
    options: Options,
    clients: int,
    workers: int,
    count: Callable[[], int] | None = None,
    note: str = "",
) -> mv.Result:
    """Warm up, then load; holds are counted in the database, reads from the answers."""
    options.loader(server.base, spec, clients=clients, seconds=mv.WARMUP_SECONDS, seed=1)
    before = count() if count else 0
    cpu_before = server.cpu_seconds()
    load = options.loader(server.base, spec, clients=clients, seconds=options.seconds, seed=2)
    cpu = server.cpu_seconds() - cpu_before
    completed = count() - before if count else load.ok
    return mv.Result(
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


def ats_reads(
    url: str, options: Options, say: Callable[[str], None]
) -> tuple[list[mv.Result], dict[str, Any]]:
    """GET availability and the bare endpoint, side by side, with 1 and 2 workers."""
    key = secrets.token_urlsafe(24)
    env = {"OMNISTOCK_DATABASE_URL": url, "OMNISTOCK_ADMIN_KEY": key}
    results, answer = [], {}
    for workers in (1, 2):
        say(f"bare FastAPI GET, {workers} worker(s), {CLIENTS} clients")
        with mv.uvicorn_server("movements:bare_app", workers=workers, env={},
                               app_dir=mv.BENCH_DIR) as server:  # fmt: skip
            spec = LoadSpec("get", BARE_GET_PATH, key)
            results.append(
                measure_load(
                    "bare FastAPI GET {status: ok} (no DB)", "bare", server=server, spec=spec,
                    options=options, clients=CLIENTS, workers=workers,
                    note=f"{options.client_name}; the ceiling",
                )
            )  # fmt: skip
        say(f"HTTP GET availability, {workers} worker(s), {CLIENTS} clients")
        with mv.uvicorn_server(APP, workers=workers, env=env) as server:
            status, body = ats_answer(server.base, key)
            locations = body.get("locations", [])
            answer = {"status": status, "ats": body.get("available_to_sell"),
                      "locations": len(locations),
                      "buffered": sum(1 for e in locations if e.get("buffer"))}  # fmt: skip
            spec = LoadSpec("get", AVAILABILITY_PATH, key)
            results.append(
                measure_load(
                    f"HTTP GET /v1/availability/{ATS_SKU}", "reads", server=server, spec=spec,
                    options=options, clients=CLIENTS, workers=workers,
                    note=f"{options.client_name}; 200 locations, 20 rules",
                )
            )  # fmt: skip
        say(f"bare FastAPI GET of the same answer, {workers} worker(s), {CLIENTS} clients")
        with tempfile.NamedTemporaryFile(suffix=".json") as copy:
            copy.write(json.dumps(body).encode())
            copy.flush()
            with mv.uvicorn_server("availability:bare_answer_app", workers=workers,
                                   env={BARE_ANSWER_ENV: copy.name},
                                   app_dir=mv.BENCH_DIR) as server:  # fmt: skip
                spec = LoadSpec("get", BARE_GET_PATH, key)
                results.append(
                    measure_load(
                        "bare FastAPI GET of the same answer (no DB)", "bare-answer",
                        server=server, spec=spec, options=options, clients=CLIENTS,
                        workers=workers, note=f"{options.client_name}; the answer's own cost",
                    )
                )  # fmt: skip
    return results, answer


def bare_answer_app() -> Any:
    """A FastAPI app that sends a fixed copy of an ATS answer (its bytes), touching nothing:
    what sending a 200-location answer costs by itself."""
    from fastapi import FastAPI, Response

    body = Path(os.environ[BARE_ANSWER_ENV]).read_bytes()
    app = FastAPI()

    @app.get(BARE_GET_PATH)
    async def answer() -> Response:
        return Response(body, media_type="application/json")

    return app


def holds_per_second(url: str, options: Options, say: Callable[[str], None]) -> list[mv.Result]:
    skus = [hold_sku(i) for i in range(HOLD_SKUS)]
    where = targets(url, [(hold_sku(i), hold_location(i)) for i in range(HOLD_SKUS)])
    pool = [where[sku] for sku in skus]

    def pick(rng: random.Random) -> Target:
        return rng.choice(pool)

    sqlite = url.startswith("sqlite")
    publish = has_table(url, "channel_availability")
    results = []
    variants = [
        ("raw SQL: reserve + ledger + hold", "raw", False),
        ("raw SQL: ... + outbox events, published ATS", "raw+app", True),
    ]
    for label, kind, full in variants:
        say(f"{label}, {CLIENTS} threads")
        lock = threading.Lock() if sqlite else None
        note = "writers queued on a process lock; WAL, FULL" if sqlite else "READ COMMITTED"
        if full:
            note += "; = what the app writes" if publish else "; no published-ATS table"
        results.append(
            mv.measure_threads(
                label,
                kind,
                functools.partial(RawHold, url, pick, full=full, lock=lock, publish=publish),
                threads=CLIENTS,
                seconds=options.seconds,
                note=note,
            )
        )
    say(f"service layer, {CLIENTS} threads")
    database = Database(url)
    try:
        results.append(
            mv.measure_threads(
                "service: db.run(reservations.hold)",
                "service",
                lambda: ServiceHold(database, skus),
                threads=CLIENTS,
                seconds=options.seconds,
                note="the app's Database and services",
            )
        )
    finally:
        database.dispose()
    key = secrets.token_urlsafe(24)
    env = {"OMNISTOCK_DATABASE_URL": url, "OMNISTOCK_ADMIN_KEY": key}
    for workers in (1, 2):
        say(f"HTTP POST {HOLDS_PATH}, {workers} worker(s), {CLIENTS} clients")
        note = options.client_name
        if sqlite and workers > 1:
            note += "; 2 processes share SQLite's single writer"
        with mv.uvicorn_server(APP, workers=workers, env=env) as server:
            results.append(
                measure_load(
                    f"HTTP POST {HOLDS_PATH}", "http", server=server,
                    spec=LoadSpec("holds", HOLDS_PATH, key, tuple(skus)), options=options,
                    clients=CLIENTS, workers=workers, count=lambda: count_holds(url), note=note,
                )
            )  # fmt: skip
    return results


@dataclass
class Sale:
    """One flash sale: the attempts, their answers, and what the database holds afterwards."""

    name: str
    clients: int
    attempts: int
    answered: int
    granted: int  # 201s (HTTP) or commits (raw)
    refused: int
    errors: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None
    reserved: int = 0  # in the database afterwards
    holds_stored: int = 0
    units_held: int = 0
    sold_out_seconds: float | None = None  # first grant to last grant
    finished: bool = True
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def grants_per_second(self) -> float | None:
        if not self.sold_out_seconds or self.granted < 2:
            return None
        return (self.granted - 1) / self.sold_out_seconds

    @property
    def exact(self) -> bool:
        return (
            self.finished
            and self.granted == self.reserved == self.holds_stored == self.units_held
            == FLASH.units
        )  # fmt: skip


def race_raw(
    make_worker: Callable[[], mv.Worker], *, threads: int, attempts: int
) -> tuple[int, int, int, str, list[float], list[float], float]:
    """`attempts` raw holds shared by `threads` threads, all starting together.

    Returns granted, refused, errors, the first error, grant start times, latencies, and
    the time from the start to the last answer.
    """
    counter = itertools.count()
    grants: list[float] = []
    latencies: list[float] = []
    refused, errors = [0] * threads, [0] * threads
    first_error: list[str] = []
    connected = threading.Barrier(threads + 1)
    go = threading.Event()
    finished = [0.0] * threads

    def loop(index: int) -> None:
        rng = random.Random(index)
        worker = make_worker()
        try:
            worker.open()
        finally:
            connected.wait(timeout=120)
        try:
            go.wait(timeout=120)
            while next(counter) < attempts:
                started = time.perf_counter()
                try:
                    ok = worker.step(rng)
                except Exception as error:
                    errors[index] += 1
                    first_error.append(f"{type(error).__name__}: {error}")
                    continue
                latencies.append(time.perf_counter() - started)
                if ok:
                    grants.append(started)
                else:
                    refused[index] += 1
            finished[index] = time.perf_counter()
        finally:
            worker.close()

    pool = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    connected.wait(timeout=120)
    start = time.perf_counter()
    go.set()
    for thread in pool:
        thread.join(timeout=FLASH_BOUND_SECONDS)
    error = first_error[0] if first_error else ""
    grant_times = sorted(t - start for t in grants)
    elapsed = max(finished) - start
    return len(grants), sum(refused), sum(errors), error, grant_times, latencies, elapsed


def flash_sale(url: str, options: Options, say: Callable[[str], None]) -> list[Sale]:
    sales = []
    key = secrets.token_urlsafe(24)
    env = {"OMNISTOCK_DATABASE_URL": url, "OMNISTOCK_ADMIN_KEY": key}
    say(f"flash sale over HTTP: {FLASH.holds:,} holds on {FLASH.units:,} units, "
        f"{FLASH_CLIENTS} clients")  # fmt: skip
    with mv.uvicorn_server(APP, workers=1, env=env) as server:
        warm = LoadSpec("holds", HOLDS_PATH, key, (hold_sku(0),))  # other rows: code paths only
        options.loader(server.base, warm, clients=FLASH_CLIENTS, seconds=1, seed=1)
        spec = LoadSpec("flash", HOLDS_PATH, key, (FLASH_SKU,), FLASH.holds)
        load = options.loader(
            server.base, spec, clients=FLASH_CLIENTS, seconds=FLASH_BOUND_SECONDS, seed=3
        )
    after = stored(url, FLASH_SKU, FLASH_LOCATION)
    sold_out = None
    if after.first_grant and after.last_grant:
        sold_out = (after.last_grant - after.first_grant).total_seconds()
    answered = load.created + load.conflict + load.other
    sales.append(
        Sale(
            name=f"HTTP POST {HOLDS_PATH} (1 worker)",
            clients=FLASH_CLIENTS,
            attempts=FLASH.holds,
            answered=answered,
            granted=load.created,
            refused=load.conflict,
            errors=load.other + load.socket_errors,
            seconds=load.seconds,
            p50_ms=load.p50_ms,
            p99_ms=load.p99_ms,
            reserved=after.reserved,
            holds_stored=after.holds,
            units_held=after.units_held,
            sold_out_seconds=sold_out,
            finished=load.finished,
            note=f"{options.client_name}; sold out: first to last grant (created_at)",
        )
    )
    say(f"flash sale, raw SQL: {FLASH.holds:,} attempts, {FLASH_CLIENTS} threads, hot row")
    (target,) = targets(url, [(FLASH_RAW_SKU, FLASH_LOCATION)]).values()
    lock = threading.Lock() if url.startswith("sqlite") else None
    granted, refused, errors, first_error, grant_times, latencies, elapsed = race_raw(
        functools.partial(RawHold, url, lambda _: target, full=False, lock=lock),
        threads=FLASH_CLIENTS,
        attempts=FLASH.holds,
    )
    after = stored(url, FLASH_RAW_SKU, FLASH_LOCATION)
    p50, p99 = mv.percentiles_ms(latencies)
    note = "reserve + ledger + hold, the same row for all; sold out: first to last grant"
    sales.append(
        Sale(
            name="raw SQL: guarded reserve on the hot row",
            clients=FLASH_CLIENTS,
            attempts=FLASH.holds,
            answered=granted + refused + errors,
            granted=granted,
            refused=refused,
            errors=errors,
            seconds=elapsed,
            p50_ms=p50,
            p99_ms=p99,
            reserved=after.reserved,
            holds_stored=after.holds,
            units_held=after.units_held,
            sold_out_seconds=grant_times[-1] - grant_times[0] if len(grant_times) > 1 else None,
            note=note + (f"; first error: {first_error[:100]}" if first_error else ""),
        )
    )
    return sales


# --------------------------------------------------------------------------- one backend


@dataclass
class BackendReport:
    backend: str
    server: str
    reads: list[mv.Result] = field(default_factory=list)
    ats: dict[str, Any] = field(default_factory=dict)
    holds: list[mv.Result] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)
    ledger_drifts: int | None = None
    load: tuple[float, float] = (0.0, 0.0)
    fsync_us: tuple[float, float] = (0.0, 0.0)
    seconds: float = 0.0


def bench_backend(backend: str, url: str, server: str, options: Options) -> BackendReport:
    say = mv._progress(backend)
    started = time.perf_counter()
    load_before, fsync_before = os.getloadavg()[0], mv.fsync_probe(tempfile.gettempdir())
    say("catalogue, channel, rules and stock (services)")
    set_up(url)
    report = BackendReport(backend=backend, server=server)
    report.reads, report.ats = ats_reads(url, options, say)
    report.holds = holds_per_second(url, options, say)
    report.sales = flash_sale(url, options, say)
    say("ledger check")
    report.ledger_drifts = mv.ledger_drifts(url)
    report.load = (load_before, os.getloadavg()[0])
    report.fsync_us = (fsync_before, mv.fsync_probe(tempfile.gettempdir()))
    report.seconds = time.perf_counter() - started
    return report


def run_backend(backend: str, options: Options) -> BackendReport | None:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="omnistock-bench-") as directory:
            url = f"sqlite:///{directory}/omnistock.db"
            server = f"SQLite {sqlite3.sqlite_version}, file in {directory}, WAL, FULL"
            return bench_backend(backend, url, server, options)
    bindir = mv._postgres_bindir()
    if bindir is None:
        print("PostgreSQL not found (initdb/pg_ctl): skipped", file=sys.stderr)
        return None
    with mv.postgres_cluster(bindir) as url:
        server = (
            f"PostgreSQL {bindir.parent.name}, throwaway cluster, fsync=on, "
            "synchronous_commit=on, shared_buffers=256MB"
        )
        return bench_backend(backend, url, server, options)


# --------------------------------------------------------------------------- output


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _verdict(value: float | None, target: float | None) -> str:
    if target is None:
        return "(context)"
    if value is None:
        return f">= {target}"
    return f">= {target} " + ("met" if value >= target else "missed")


def ratios(report: BackendReport) -> list[dict[str, Any]]:
    """Every ratio the issue asks for, with what it divides."""
    rows: list[dict[str, Any]] = []

    def one(kind: str, workers: int | None) -> mv.Result | None:
        return next(
            (r for r in report.reads + report.holds if r.kind == kind and r.workers == workers),
            None,
        )

    for workers in (1, 2):
        reads, bare = one("reads", workers), one("bare", workers)
        if reads and bare:
            rows.append({"ratio": f"ATS reads ÷ bare ({workers}w)", "value": reads.per_second,
                         "reference": bare.per_second,
                         "ratio_value": _ratio(reads.per_second, bare.per_second),
                         "target": READ_TARGET})  # fmt: skip
        same = one("bare-answer", workers)
        if reads and same:
            rows.append({"ratio": f"ATS reads ÷ bare sending the same answer ({workers}w)",
                         "value": reads.per_second, "reference": same.per_second,
                         "ratio_value": _ratio(reads.per_second, same.per_second),
                         "target": None})  # fmt: skip
    raw, full = one("raw", None), one("raw+app", None)
    measured = [one("http", 1), one("http", 2), one("service", None)]
    for result in (r for r in measured if r is not None and raw is not None):
        assert raw is not None
        label = "service" if result.kind == "service" else f"HTTP ({result.workers}w)"
        rows.append({"ratio": f"holds: {label} ÷ raw", "value": result.per_second,
                     "reference": raw.per_second,
                     "ratio_value": _ratio(result.per_second, raw.per_second),
                     "vs_full": _ratio(result.per_second, full.per_second) if full else None,
                     "target": HOLD_TARGET})  # fmt: skip
    if len(report.sales) == 2:
        app, hot = report.sales
        rows.append({"ratio": "flash sale: grants/s until sold out ÷ raw",
                     "value": app.grants_per_second, "reference": hot.grants_per_second,
                     "ratio_value": _ratio(app.grants_per_second, hot.grants_per_second),
                     "target": HOLD_TARGET})  # fmt: skip
        rows.append({"ratio": f"flash sale: all {FLASH.holds:,} answered/s ÷ raw",
                     "value": app.per_second, "reference": hot.per_second,
                     "ratio_value": _ratio(app.per_second, hot.per_second),
                     "target": HOLD_TARGET})  # fmt: skip
    return rows


def print_report(report: BackendReport, options: Options) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    ms = mv._ms

    def table(title: str, unit: str, caption: str = "") -> Table:
        t = Table(title=title, caption=caption or None)
        for column in ("measurement", "clients", "workers"):
            t.add_column(column)
        for column in (unit, "p50 ms", "p99 ms", "CPU ms/op", "refused (409)", "errors"):
            t.add_column(column, justify="right")
        t.add_column("note")
        return t

    def row(t: Table, r: mv.Result) -> None:
        t.add_row(r.name, str(r.clients), "-" if r.workers is None else str(r.workers),
                  f"{r.per_second:,.0f}", ms(r.p50_ms), ms(r.p99_ms), ms(r.cpu_ms),
                  str(r.refused), str(r.errors), r.note)  # fmt: skip

    a = report.ats
    reads = table(
        f"{report.backend}: ATS reads ({options.seconds:g} s each)",
        "reads/s",
        f"{ATS_SKU} on channel {CHANNEL}: HTTP {a.get('status')}, ATS {a.get('ats')} over "
        f"{a.get('locations')} locations ({a.get('buffered')} with a buffer), 20 rules",
    )
    for r in report.reads:
        row(reads, r)
    console.print(reads)

    hold_table = table(
        f"{report.backend}: holds of 1 unit, random sku among {HOLD_SKUS} "
        f"({options.seconds:g} s each)",
        "holds/s",
        f"{HOLD_STOCK:,} units of each in one warehouse; the channel's pool: 200 locations",
    )
    for r in report.holds:
        row(hold_table, r)
    console.print(hold_table)
    refusals = sum(r.refused for r in report.holds)
    console.print(f"holds refused in all: {refusals} (stock is deep: expected 0)")

    sale = Table(
        title=f"{report.backend}: flash sale, {FLASH.holds:,} holds of 1 unit on "
        f"{FLASH.units:,} units of one sku at one location, {FLASH_CLIENTS} clients"
    )
    sale.add_column("measurement")
    for column in ("answered", "answered/s", "granted", "refused", "errors", "sold out s",
                   "grants/s", "p50 ms", "p99 ms", "reserved in DB", "holds in DB"):  # fmt: skip
        sale.add_column(column, justify="right")
    sale.add_column("note")
    for s in report.sales:
        grants = s.grants_per_second
        sale.add_row(s.name, f"{s.answered:,}", f"{s.per_second:,.0f}", f"{s.granted:,}",
                     f"{s.refused:,}", str(s.errors),
                     "-" if s.sold_out_seconds is None else f"{s.sold_out_seconds:.2f}",
                     "-" if grants is None else f"{grants:,.0f}", ms(s.p50_ms), ms(s.p99_ms),
                     f"{s.reserved:,}", f"{s.holds_stored:,}", s.note)  # fmt: skip
    console.print(sale)
    for s in report.sales:
        verdict = "[bold green]EXACT[/]" if s.exact else "[bold red]WRONG[/]"
        console.print(
            f"[bold]FLASH SALE CHECK ({report.backend}, {s.name}):[/] {verdict}: "
            f"{s.granted:,} granted (expected {FLASH.units:,}), reserved in DB {s.reserved:,}, "
            f"holds stored {s.holds_stored:,} holding {s.units_held:,} units, "
            f"{s.refused:,} refused, {s.errors} errors"
            + ("" if s.finished else ", [bold red]UNFINISHED within the bound[/]")
        )
    drift_style = "bold green" if report.ledger_drifts == 0 else "bold red"
    console.print(
        f"[bold]LEDGER REPLAY ({report.backend}):[/] [{drift_style}]{report.ledger_drifts} "
        "drift(s)[/] (every position equals the sum of its movements)"
    )

    ratio_table = Table(title=f"{report.backend}: ratios")
    for column in ("ratio", "measured", "reference", "÷", "target", ""):
        ratio_table.add_column(column, justify="left" if column == "ratio" else "right")
    for r in ratios(report):
        value = r["ratio_value"]
        extra = ""
        if r.get("vs_full") is not None:
            extra = f"÷ raw with the app's other writes: {r['vs_full']:.2f}"
        ratio_table.add_row(
            r["ratio"],
            "-" if r["value"] is None else f"{r['value']:,.0f}/s",
            "-" if r["reference"] is None else f"{r['reference']:,.0f}/s",
            "-" if value is None else f"{value:.2f}",
            _verdict(value, r["target"]),
            extra,
        )  # fmt: skip
    console.print(ratio_table)
    console.print(
        f"{report.server}. Load average (1 min) before/after: {report.load[0]:.1f}/"
        f"{report.load[1]:.1f} on {os.cpu_count()} CPUs; fsync of 8 kB before/after: "
        f"{report.fsync_us[0]:,.0f}/{report.fsync_us[1]:,.0f} µs (other processes skew every "
        f"figure). Backend wall time {report.seconds:.0f} s.\n"
    )


def as_json(report: BackendReport) -> dict[str, Any]:
    def result(r: mv.Result) -> dict[str, Any]:
        return {**asdict(r), "per_second": r.per_second}

    def sale(s: Sale) -> dict[str, Any]:
        return {**asdict(s), "per_second": s.per_second,
                "grants_per_second": s.grants_per_second, "exact": s.exact}  # fmt: skip

    return {
        "server": report.server,
        "ats_answer": report.ats,
        "reads": [result(r) for r in report.reads],
        "holds": [result(r) for r in report.holds],
        "flash_sale": [sale(s) for s in report.sales],
        "ratios": ratios(report),
        "ledger_drifts": report.ledger_drifts,
        "load_average": report.load,
        "fsync_us": report.fsync_us,
        "seconds": report.seconds,
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=8.0, help="per timed measurement")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--flash-holds", type=int, default=FLASH.holds, help="flash sale holds (units: 1/10)"
    )
    args = parser.parse_args(argv)
    if not 100 <= args.flash_holds <= 100_000:
        parser.error("--flash-holds must be 100..100000")
    FLASH.holds, FLASH.units = args.flash_holds, args.flash_holds // 10
    if not 0.5 <= args.seconds <= 600:
        parser.error("--seconds must be 0.5..600")
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    if use_wrk and not shutil.which("wrk"):
        parser.error("wrk not found (apt-get install wrk), or use --client httpx")
    client_name = "wrk" if use_wrk else "httpx (asyncio, own process)"
    print(f"HTTP client: {client_name}", file=sys.stderr)
    options = Options(
        seconds=args.seconds,
        loader=load_with_wrk if use_wrk else load_with_httpx,
        client_name=client_name,
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    reports = []
    for backend in backends:
        report = run_backend(backend, options)
        if report is not None:
            print_report(report, options)
            reports.append(report)
    if args.json:
        document = {
            "environment": mv.environment(client_name),
            "seconds": args.seconds,
            "flash_sale": {"holds": FLASH.holds, "units": FLASH.units, "clients": FLASH_CLIENTS},
            "backends": {r.backend: as_json(r) for r in reports},
        }
        args.json.write_text(json.dumps(document, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
