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
app, threaded runs, the HTTP load) comes from `_harness.py`.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import itertools
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select

from _harness import (
    APP,
    BENCH_DIR,
    CHANNEL,
    LOCATIONS,
    WAREHOUSE_EVERY,
    WRK_COUNTS,
    BackendRun,
    Loader,
    LoadSpec,
    RawTransaction,
    Result,
    Worker,
    bench_parser,
    count_rows,
    footer,
    http_client,
    ledger_drifts,
    ledger_replay,
    load_with_httpx,
    load_with_wrk,
    location_code,
    make_location,
    measure_backends,
    measure_load,
    measure_raw,
    measure_service,
    ms,
    open_web_shop,
    percentiles_ms,
    progress,
    ratio_of,
    ratio_row,
    ratio_table,
    results_table,
    server_env,
    server_note,
    stock_changed_data,
    uvicorn_server,
    vs_full,
    watching,
    write_json,
)
from omnistock.db import Database, UnitOfWork
from omnistock.db.tables import positions, reservation_lines, reservations
from omnistock.domain.availability import BufferRule, winning_rule
from omnistock.domain.catalog import Item, LocationType
from omnistock.domain.errors import InsufficientStock
from omnistock.domain.stock import MovementType
from omnistock.services import channels, stock
from omnistock.services import reservations as holds

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
#: A flash sale that has not ended after this long is reported unfinished.
FLASH_BOUND_SECONDS = 600
AVAILABILITY_PATH = f"/v1/availability/{ATS_SKU}?channel={CHANNEL}"
HOLDS_PATH = "/v1/reservations"
BARE_GET_PATH = "/healthz"  # _harness.bare_app: GET {"status": "ok"}
BARE_ANSWER_ENV = "OMNISTOCK_BENCH_ANSWER"


def hold_sku(i: int) -> str:
    return f"HOLD-{i:03d}"


FLASH_LOCATION = location_code(0)


def hold_location(i: int) -> str:
    """Where HOLD-i is stocked: one warehouse each, spread over the 20."""
    return location_code(i % (LOCATIONS // WAREHOUSE_EVERY) * WAREHOUSE_EVERY)


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
        location = location_code(i)
        if n % 3 == 0:
            rules.append(BufferRule(0, channel=channel, location=location, basis_points=2500))
        else:
            rules.append(BufferRule(0, channel=channel, location=location, units=n + 1))
    return rules


def set_up(url: str) -> None:
    """Migrate a fresh database; catalogue, channel, rules and stock through the services."""
    database = Database(url)
    try:
        database.migrate()

        def catalogue(uow: UnitOfWork) -> None:
            skus = [ATS_SKU, *(hold_sku(i) for i in range(HOLD_SKUS)), FLASH_SKU, FLASH_RAW_SKU]
            items = [Item(sku=sku, name=f"Item {sku}", price=Decimal("24.90")) for sku in skus]
            sale = [BufferRule(0, sku=sku, units=0) for sku in (FLASH_SKU, FLASH_RAW_SKU)]
            open_web_shop(uow, items, [*buffer_rules(), *sale])  # the sale sells every unit

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
        with database.reading() as reads:
            rules = channels.list_rules(reads)
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


class RawHold(RawTransaction):
    """The hold's transaction in plain sqlite3 / psycopg 3: the guarded reserve, the ledger
    movement, the reservation and its lines; with `full`, also the outbox events the app
    writes (stock.changed, reservation.created, availability.changed) and the published ATS.
    Connections, times, JSON and the transaction are `RawTransaction`'s.
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
        super().__init__(url, full=full, lock=lock, publish=publish)
        self.pick = pick
        self._prepare({"ledger": _LEDGER, "hold": _HOLD, "lines": _LINES})

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

        def hold() -> bool:
            row = conn.execute(sql["reserve"], params).fetchone()
            if row is None:
                return False
            conn.execute(sql["ledger"], params)
            conn.execute(sql["hold"], params)
            conn.execute(sql["lines"], params)
            if self.full:
                self._app_writes(params, row, now)
            return True

        return self._in_transaction(hold)

    def _app_writes(self, params: dict[str, Any], row: tuple[int, ...], now: dt.datetime) -> None:
        position = stock_changed_data(params["sku"], params["location"], row)
        available = position["available"]
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


def hold_one(skus: Sequence[str], rng: random.Random) -> Callable[[UnitOfWork], object]:
    """A hold of 1 unit of a random sku among `skus`, as the service layer takes it."""
    sku = rng.choice(skus)
    return lambda uow: holds.hold(uow, channel=CHANNEL, lines=[(sku, 1)], ttl_seconds=HOLD_TTL)


def has_table(url: str, name: str) -> bool:
    from sqlalchemy import inspect

    database = Database(url)
    try:
        return inspect(database.engine).has_table(name)
    finally:
        database.dispose()


# --------------------------------------------------------------------------- HTTP load


WRK_SCRIPT = (
    WRK_COUNTS
    + r"""
-- args: key, seed, threads, quota, mode (get|holds|flash), path, channel, ttl, skus...
local pool, counter, granted, permits, quota, mode = {}, 0, 0, 0, 0, nil
local filler = nil

function init(args)
  local key, seed = args[1], tonumber(args[2])
  local nthreads, total = tonumber(args[3]), tonumber(args[4])
  mode = args[5]
  local path, channel, ttl = args[6], args[7], args[8]
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
  count_answer(status)
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
"""
)
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


async def send_hold(
    mode: str, skus: tuple[str, ...], client: Any, path: str, rng: random.Random
) -> Any:
    """The httpx client's request: `get` the path, or POST a hold of 1 unit of a random sku
    among `skus` (`holds` and `flash`)."""
    if mode == "get":
        return await client.get(path)
    line = {"sku": rng.choice(skus), "quantity": 1}
    body = {"channel": CHANNEL, "lines": [line], "ttl_seconds": HOLD_TTL}
    return await client.post(path, json=body)


def load_spec(
    mode: str, path: str, key: str, skus: tuple[str, ...] = (), quota: int = 0
) -> LoadSpec:
    """What the client sends: `get` one path; `holds` of 1 unit of a random sku among `skus`;
    `flash`: `quota` holds of `skus[0]` in all, then stop."""
    script = WRK_SCRIPT + (WRK_FLASH_DELAY if mode == "flash" else "")
    args = (mode, path, CHANNEL, str(HOLD_TTL), *skus)
    send = functools.partial(send_hold, mode, skus)
    return LoadSpec(path, key, script, send, args, quota)


# --------------------------------------------------------------------------- database reads


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


def ats_reads(
    url: str, options: Options, say: Callable[[str], None]
) -> tuple[list[Result], dict[str, Any]]:
    """GET availability and the bare endpoint, side by side, with 1 and 2 workers."""
    key, env = server_env(url)
    results, answer = [], {}
    for workers in (1, 2):
        say(f"bare FastAPI GET, {workers} worker(s), {CLIENTS} clients")
        with uvicorn_server("_harness:bare_app", workers=workers, env={},
                               app_dir=BENCH_DIR) as server:  # fmt: skip
            spec = load_spec("get", BARE_GET_PATH, key)
            results.append(
                measure_load(
                    "bare FastAPI GET {status: ok} (no DB)", "bare", server=server, spec=spec,
                    options=options, clients=CLIENTS, workers=workers,
                    note=f"{options.client_name}; the ceiling",
                )
            )  # fmt: skip
        say(f"HTTP GET availability, {workers} worker(s), {CLIENTS} clients")
        with uvicorn_server(APP, workers=workers, env=env) as server:
            status, body = ats_answer(server.base, key)
            locations = body.get("locations", [])
            answer = {"status": status, "ats": body.get("available_to_sell"),
                      "locations": len(locations),
                      "buffered": sum(1 for e in locations if e.get("buffer"))}  # fmt: skip
            spec = load_spec("get", AVAILABILITY_PATH, key)
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
            with uvicorn_server("availability:bare_answer_app", workers=workers,
                                   env={BARE_ANSWER_ENV: copy.name},
                                   app_dir=BENCH_DIR) as server:  # fmt: skip
                spec = load_spec("get", BARE_GET_PATH, key)
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


def holds_per_second(url: str, options: Options, say: Callable[[str], None]) -> list[Result]:
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
        note = ""
        if full:
            note = "; = what the app writes" if publish else "; no published-ATS table"
        worker = functools.partial(RawHold, url, pick, full=full, publish=publish)
        results.append(
            measure_raw(
                label,
                kind,
                worker,
                url=url,
                threads=CLIENTS,
                seconds=options.seconds,
                say=say,
                note=note,
            )
        )
    say(f"service layer, {CLIENTS} threads")
    hold = functools.partial(hold_one, skus)
    service = "service: db.run(reservations.hold)"
    results.append(measure_service(service, url, hold, InsufficientStock, CLIENTS, options.seconds))
    key, env = server_env(url)
    for workers in (1, 2):
        say(f"HTTP POST {HOLDS_PATH}, {workers} worker(s), {CLIENTS} clients")
        note = server_note(options.client_name, sqlite=sqlite, workers=workers)
        with uvicorn_server(APP, workers=workers, env=env) as server:
            results.append(
                measure_load(
                    f"HTTP POST {HOLDS_PATH}", "http", server=server,
                    spec=load_spec("holds", HOLDS_PATH, key, tuple(skus)), options=options,
                    clients=CLIENTS, workers=workers, count=lambda: count_rows(url, reservations),
                    note=note,
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
    make_worker: Callable[[], Worker], *, threads: int, attempts: int
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
    key, env = server_env(url)
    say(f"flash sale over HTTP: {FLASH.holds:,} holds on {FLASH.units:,} units, "
        f"{FLASH_CLIENTS} clients")  # fmt: skip
    with uvicorn_server(APP, workers=1, env=env) as server:
        warm = load_spec("holds", HOLDS_PATH, key, (hold_sku(0),))  # other rows: code paths only
        options.loader(server.base, warm, clients=FLASH_CLIENTS, seconds=1, seed=1)
        spec = load_spec("flash", HOLDS_PATH, key, (FLASH_SKU,), FLASH.holds)
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
    p50, p99 = percentiles_ms(latencies)
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
class BackendReport(BackendRun):
    reads: list[Result] = field(default_factory=list)
    ats: dict[str, Any] = field(default_factory=dict)
    holds: list[Result] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)


def bench_backend(backend: str, url: str, server: str, options: Options) -> BackendReport:
    say = progress(backend)
    report = BackendReport(backend=backend, server=server)
    with watching(report):
        say("catalogue, channel, rules and stock (services)")
        set_up(url)
        report.reads, report.ats = ats_reads(url, options, say)
        report.holds = holds_per_second(url, options, say)
        report.sales = flash_sale(url, options, say)
        say("ledger check")
        report.ledger_drifts = ledger_drifts(url)
    return report


# --------------------------------------------------------------------------- output


def ratios(report: BackendReport) -> list[dict[str, Any]]:
    """Every ratio the issue asks for, with what it divides."""
    rows: list[dict[str, Any]] = []

    def one(kind: str, workers: int | None) -> Result | None:
        return next(
            (r for r in report.reads + report.holds if r.kind == kind and r.workers == workers),
            None,
        )

    for workers in (1, 2):
        reads, bare = one("reads", workers), one("bare", workers)
        if reads and bare:
            name = f"ATS reads ÷ bare ({workers}w)"
            rows.append(ratio_row(name, reads.per_second, bare.per_second, READ_TARGET))
        same = one("bare-answer", workers)
        if reads and same:
            name = f"ATS reads ÷ bare sending the same answer ({workers}w)"
            rows.append(ratio_row(name, reads.per_second, same.per_second, None))
    raw, full = one("raw", None), one("raw+app", None)
    measured = [one("http", 1), one("http", 2), one("service", None)]
    for result in (r for r in measured if r is not None and raw is not None):
        assert raw is not None
        label = "service" if result.kind == "service" else f"HTTP ({result.workers}w)"
        vs_full = ratio_of(result.per_second, full.per_second) if full else None
        name = f"holds: {label} ÷ raw"
        rows.append(
            ratio_row(name, result.per_second, raw.per_second, HOLD_TARGET, vs_full=vs_full)
        )
    if len(report.sales) == 2:
        app, hot = report.sales
        grants = app.grants_per_second, hot.grants_per_second
        rows.append(ratio_row("flash sale: grants/s until sold out ÷ raw", *grants, HOLD_TARGET))
        name = f"flash sale: all {FLASH.holds:,} answered/s ÷ raw"
        rows.append(ratio_row(name, app.per_second, hot.per_second, HOLD_TARGET))
    return rows


def print_report(report: BackendReport, options: Options) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    columns = {"cpu": "CPU ms/op", "refused": "refused (409)"}
    a = report.ats
    reads = results_table(
        f"{report.backend}: ATS reads ({options.seconds:g} s each)",
        report.reads,
        unit="reads/s",
        caption=f"{ATS_SKU} on channel {CHANNEL}: HTTP {a.get('status')}, ATS {a.get('ats')} "
        f"over {a.get('locations')} locations ({a.get('buffered')} with a buffer), 20 rules",
        **columns,
    )
    console.print(reads)
    hold_table = results_table(
        f"{report.backend}: holds of 1 unit, random sku among {HOLD_SKUS} "
        f"({options.seconds:g} s each)",
        report.holds,
        unit="holds/s",
        caption=f"{HOLD_STOCK:,} units of each in one warehouse; the channel's pool: 200 locations",
        **columns,
    )
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
        exact = "[bold green]EXACT[/]" if s.exact else "[bold red]WRONG[/]"
        console.print(
            f"[bold]FLASH SALE CHECK ({report.backend}, {s.name}):[/] {exact}: "
            f"{s.granted:,} granted (expected {FLASH.units:,}), reserved in DB {s.reserved:,}, "
            f"holds stored {s.holds_stored:,} holding {s.units_held:,} units, "
            f"{s.refused:,} refused, {s.errors} errors"
            + ("" if s.finished else ", [bold red]UNFINISHED within the bound[/]")
        )
    console.print(ledger_replay(report.backend, report.ledger_drifts))
    console.print(
        ratio_table(f"{report.backend}: ratios", ratios(report), extra=vs_full("the app's other"))
    )
    console.print(footer(report))


def as_json(report: BackendReport) -> dict[str, Any]:
    def result(r: Result) -> dict[str, Any]:
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
        **report.run_figures(),
        "seconds": report.seconds,
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seconds=8.0, seconds_help="per timed measurement")
    parser.add_argument(
        "--flash-holds", type=int, default=FLASH.holds, help="flash sale holds (units: 1/10)"
    )
    args = parser.parse_args(argv)
    if not 100 <= args.flash_holds <= 100_000:
        parser.error("--flash-holds must be 100..100000")
    FLASH.holds, FLASH.units = args.flash_holds, args.flash_holds // 10
    if not 0.5 <= args.seconds <= 600:
        parser.error("--seconds must be 0.5..600")
    use_wrk, client_name = http_client(parser, args.client)
    options = Options(
        seconds=args.seconds,
        loader=load_with_wrk if use_wrk else load_with_httpx,
        client_name=client_name,
    )
    measure = functools.partial(bench_backend, options=options)
    reports = measure_backends(
        args.backend, measure, functools.partial(print_report, options=options)
    )
    flash = {"holds": FLASH.holds, "units": FLASH.units, "clients": FLASH_CLIENTS}
    backends = {r.backend: as_json(r) for r in reports}
    write_json(args.json, client_name, args.seconds, backends, flash_sale=flash)
    return 0


if __name__ == "__main__":
    sys.exit(main())
