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

import contextlib
import cProfile
import datetime as dt
import functools
import io
import json
import pstats
import random
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Json

from _harness import (
    APP,
    BARE_PATH,
    BENCH_DIR,
    WRK_POOL,
    BackendRun,
    Loader,
    LoadSpec,
    Result,
    ServiceCalls,
    bench_parser,
    conditions,
    http_client,
    ledger_drifts,
    libpq,
    load_with_httpx,
    load_with_wrk,
    measure_backends,
    measure_load,
    measure_service,
    measure_threads,
    progress,
    results_table,
    server_env,
    server_note,
    sqlite_connection,
    stock_changed_data,
    uvicorn_server,
    watching,
    write_json,
)
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
MOVEMENTS_PATH = "/v1/stock/movements"


@dataclass
class BackendReport(BackendRun):
    results: list[Result] = field(default_factory=list)
    ratios: list[dict[str, Any]] = field(default_factory=list)
    profile: str = ""


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


# --------------------------------------------------------------------------- raw SQL


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


WRK_SCRIPT = (
    WRK_POOL
    + r"""
-- POSTs random stock movements (or the same bodies to the bare endpoint).
-- args: api key, seed, threads, quota (unused), items, locations, sale share
local threads_seen = 0

function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_number", threads_seen)
end

function init(args)
  local key, seed = args[1], tonumber(args[2])
  local items, locations, sale_share = tonumber(args[5]), tonumber(args[6]), tonumber(args[7])
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

-- No response() (wrk is quicker without it): every status >= 400 counts as refused
-- ("conflict"), the rest as answered ("ok"), in the figures `Load.from_wrk` reads.
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"ok":%d,"created":0,"conflict":%d,"other":0,' ..
    '"socket":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, summary.requests - e.status, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""
)


async def post_movement(sale_share: float, client: Any, path: str, rng: random.Random) -> Any:
    """The httpx client's request: a random movement (`random_movement`), POSTed to `path`."""
    _workload["sale_share"] = sale_share  # the client runs in a process of its own
    location, sku, kind, quantity = random_movement(rng)
    body = {"location": location, "sku": sku, "type": kind, "quantity": quantity}
    return await client.post(path, json=body)


def movements_to(path: str, key: str) -> LoadSpec:
    """Random movements POSTed to `path` (the API's or the bare app's), by wrk or httpx."""
    share = _workload["sale_share"]
    args = (str(ITEMS), str(LOCATIONS), str(share))
    send = functools.partial(post_movement, share)
    return LoadSpec(path, key, WRK_SCRIPT, send, args, timeout=10)


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
    say = progress(backend)
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
        with uvicorn_server(APP, workers=workers, env=env) as server:
            results.append(
                measure_load(
                    f"HTTP POST {MOVEMENTS_PATH}",
                    "http",
                    server=server,
                    spec=movements_to(MOVEMENTS_PATH, key),
                    options=options,
                    clients=options.clients,
                    workers=workers,
                    count=lambda: count_movements(url),
                    note=note,
                )
            )
    return results


def bench_bare(options: Options) -> list[Result]:
    results = []
    for workers in (1, 2):
        progress("bare")(f"bare FastAPI POST, {workers} worker(s), {options.clients} clients")
        with uvicorn_server(
            "_harness:bare_app", workers=workers, env={}, app_dir=BENCH_DIR
        ) as server:
            results.append(
                measure_load(
                    "bare FastAPI POST {status: ok} (no DB)",
                    "bare",
                    server=server,
                    spec=movements_to(BARE_PATH, "none"),
                    options=options,
                    clients=options.clients,
                    workers=workers,
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


# --------------------------------------------------------------------------- main


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
