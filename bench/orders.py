"""Orders per second over HTTP, through the service layer and as raw SQL; sourcing alone.

    python bench/orders.py [--backend sqlite|postgresql|both] [--seconds 8] [--json out.json]
                           [--client auto|wrk|httpx] [--only throughput|sourcing|webhooks]
                           [--profile]

For each backend, on a fresh database: channel `web` selling from the 200 locations of
`availability.py` (20 warehouses, 180 stores, 140 of them ship-enabled) under a few buffer
rules as a chain sets them, and 100 items in deep stock (every warehouse holds each item, a
store half of them), so no order runs out. The orders: 3 lines of 3 distinct items, 1 to 3
units each, shipped to a customer in a random French city (GeoNames, as the demo's stores).
The same 512 orders feed every measurement, 16 clients each:

1. raw SQL through the same driver (sqlite3 / psycopg 3), one transaction per order: the
   order insert, the guarded reserve of each line where the app would source it (`UPDATE
   positions SET reserved = reserved + q WHERE ... AND available - q >= buffer`, in (location,
   sku) order) and the outbox insert of `order.created`; then the same with everything else
   the app writes (lines, fulfilment, ledger, the sourcing decision, history, the other
   events, the published ATS);
2. the service layer: `db.run(lambda uow: orders.place(uow, ...))` from 16 threads;
3. HTTP: `POST /v1/orders` on uvicorn with 1 and 2 workers, 16 connections.

Then sourcing alone: `omnistock.domain.sourcing.source` for a 10-line order over networks of
100 and 1,000 candidate locations (its own database), its time against the whole order's
(`orders.place` of the same order in `db.run`, one thread), and how it grows from 100 to 1,000.

Then what a webhook costs: `POST /v1/orders` on 1 worker with no webhook, then with a webhook
subscribed to `*` whose receiver (a thread of this process on 127.0.0.1) answers 204,
delivered by `omnistock deliver` in a process of its own, as `serve` runs it; the deliveries
made during the run are counted, and how far behind the webhook was when the load stopped (a
deliverer that falls behind costs the orders less than it should).

It prints figures and ratios (the issue's targets: HTTP >= 0.5 x raw; sourcing <= 0.05 of the
order; growth 100 -> 1,000 locations <= 10x; orders with a webhook on `*` >= 0.9 x without).
It never asserts a time. Machinery (PostgreSQL cluster, uvicorn, threaded runs, raw
connections, the HTTP load and its figures, the 200 locations) comes from `_harness.py`.
"""

from __future__ import annotations

import contextlib
import cProfile
import datetime as dt
import functools
import io
import itertools
import json
import math
import os
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from psycopg.types.json import Json
from sqlalchemy.engine import make_url

from _harness import (
    APP,
    CHANNEL,
    LOCATIONS,
    WRK_COUNTS,
    WRK_POOL,
    BackendRun,
    Loader,
    LoadSpec,
    RawTransaction,
    Result,
    Server,
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
from omnistock import demo
from omnistock.db import Database, UnitOfWork, bulk
from omnistock.db.tables import orders as orders_table
from omnistock.domain import sourcing as rules
from omnistock.domain.availability import BufferRule, Channel, winning_rule
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.errors import InsufficientStock
from omnistock.domain.stock import Deltas, MovementType
from omnistock.services import availability, catalog, channels, orders, stock
from omnistock.services import sourcing as sourcing_service

ITEMS = 100
LINES = 3
CLIENTS = 16
BODIES = 512
WAREHOUSE_UNITS, STORE_UNITS = 1_000_000, 100_000
#: The share of the items a store carries (warehouses carry them all).
STORE_RANGE = 0.5
ORDERS_PATH = "/v1/orders"
HTTP_TARGET, SHARE_TARGET, GROWTH_TARGET, WEBHOOK_TARGET = 0.5, 0.05, 10.0, 0.9
#: Sourcing alone: the networks, the order's lines, and the customers it is shipped to.
NETWORKS = (100, 1_000)
SOURCING_LINES = 10
CUSTOMERS = 12
#: Two kinds of 10-line order: one location (a warehouse) can ship all of it, or none can
#: (every location lacks one of its items), so the pair search runs.
WHOLE, SPLIT = "whole", "split"
NETWORK_RANGE = 0.6
#: Timing of sourcing alone: at least this many calls per customer, until this long.
SOURCE_CALLS, SOURCE_SECONDS = 3, 0.15
PLACES_PER_CUSTOMER = 2
PROFILE_RATE = 200
SEED = 4


# --------------------------------------------------------------------------- the workload


def sku_code(i: int) -> str:
    return f"ORD-{i:03d}"


def buffer_rules() -> list[BufferRule]:
    """What a chain keeps back from its web shop: units for walk-in customers in stores, a
    share of the warehouses, one item everywhere, and one store of its own."""
    store, warehouse = LocationType.STORE, LocationType.WAREHOUSE
    return [
        BufferRule(0, channel=CHANNEL, location_type=store, units=2),
        BufferRule(0, channel=CHANNEL, location_type=warehouse, basis_points=500),
        BufferRule(0, sku=sku_code(0), units=5),
        BufferRule(0, channel=CHANNEL, location=location_code(5), units=4),
    ]


@functools.cache
def _cities() -> tuple[demo.City, ...]:
    return demo.french_cities()


def customer_at(rng: random.Random) -> tuple[str, float, float]:
    """A French city (any of GeoNames' towns, small ones as likely as big ones), a street
    or two away from its centre."""
    city = rng.choice(_cities())
    return (
        city.name,
        round(city.lat + rng.uniform(-0.02, 0.02), 5),
        round(city.lon + rng.uniform(-0.02, 0.02), 5),
    )


def order_body(
    n: int, city: tuple[str, float, float], lines: Sequence[tuple[str, int]], *, channel: str
) -> dict[str, Any]:
    """An order as a channel posts it: shipped to `city`, one line a sku."""
    name, lat, lon = city
    return {
        "channel": channel,
        "customer": {"name": f"Customer {n}", "email": f"customer{n}@example.com"},
        "delivery": {
            "method": "ship",
            "address": {
                "line1": f"{n % 200 + 1} rue de la République",
                "city": name,
                "postcode": "75001",
                "country": "FR",
                "lat": lat,
                "lon": lon,
            },
        },
        "lines": [{"sku": sku, "quantity": q, "unit_price": "19.90"} for sku, q in lines],
    }


def order_bodies(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    skus = [sku_code(i) for i in range(ITEMS)]
    return [
        order_body(
            n,
            customer_at(rng),
            [(sku, rng.randint(1, 3)) for sku in rng.sample(skus, LINES)],
            channel=CHANNEL,
        )
        for n in range(count)
    ]


def new_order(body: dict[str, Any]) -> orders.NewOrder:
    """The body as the API hands it to the service (`api.routes.orders._new_order`)."""
    return orders.NewOrder(
        channel=body["channel"],
        customer=dict(body["customer"]),
        delivery={**body["delivery"], "address": dict(body["delivery"]["address"])},
        lines=[(x["sku"], x["quantity"], Decimal(x["unit_price"])) for x in body["lines"]],
    )


def receive(uow: UnitOfWork, holdings: Sequence[tuple[str, str, int]]) -> None:
    """Opening stock in bulk, through the ledger (as the demo loads it): receipts appended,
    then positions written from exactly their sums."""
    reference = f"bench-opening-stock/{uuid.uuid4().hex}"
    after = bulk.last_movement_id(uow.conn)
    entries = [
        bulk.NewMovement(sku, location, str(MovementType.RECEIPT), Deltas(on_hand=q))
        for location, sku, q in holdings
    ]
    for start in range(0, len(entries), 5_000):
        batch = entries[start : start + 5_000]
        bulk.append_movements(uow.conn, batch, at=uow.now, reference=reference)
    bulk.add_movements_to_positions(uow.conn, after_id=after, reference=reference)


def publish_everything(database: Database) -> None:
    """Publish every item's ATS (as the server's housekeeping would): the orders then move
    the published figures as they would in a shop that has been open for a while."""
    while database.run(lambda uow: availability.republish(uow, most=500)):
        pass


def set_up(url: str) -> None:
    """Migrate a fresh database; catalogue, channel and rules through the services, stock in
    bulk through the ledger."""
    database = Database(url)
    try:
        database.migrate()

        def catalogue(uow: UnitOfWork) -> None:
            items = [Item(sku_code(i), f"Item {i}", price=Decimal("19.90")) for i in range(ITEMS)]
            open_web_shop(uow, items, buffer_rules())

        rng = random.Random(SEED)
        holdings = []
        for i in range(LOCATIONS):
            location = make_location(i)
            warehouse = location.type is LocationType.WAREHOUSE
            for j in range(ITEMS):
                if warehouse:
                    holdings.append((location.code, sku_code(j), WAREHOUSE_UNITS))
                elif rng.random() < STORE_RANGE:
                    holdings.append((location.code, sku_code(j), STORE_UNITS))
        database.run(catalogue)
        database.run(lambda uow: receive(uow, holdings))
        publish_everything(database)
    finally:
        database.dispose()


def count_orders(url: str) -> int:
    return count_rows(url, orders_table)


# --------------------------------------------------------------------------- raw SQL


@dataclass(frozen=True)
class Plan:
    """One order of the pool and what the app does with it: the reserves of its sourcing
    decision (location, sku, units, buffer units, buffer basis points) in lock order, its
    shipments, and the decision as the app stores it (JSON, serialized once here)."""

    body: dict[str, Any]
    reserves: tuple[tuple[str, str, int, int, int], ...]
    shipments: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]
    decision: str
    reason: str


def plans_for(url: str, bodies: Sequence[dict[str, Any]]) -> list[Plan]:
    """Where the app would source each order now (`sourcing.preview`), under the buffer it
    would apply at each place (the winning rule, as `availability.targets` finds it)."""
    database = Database(url)
    plans = []
    try:
        with database.reading() as reads:
            every_rule = channels.list_rules(reads)
            book, _ = database.configuration.current(reads.conn)
            for body in bodies:
                need = new_order(body).need()
                decision = sourcing_service.preview(reads, need)
                if decision.backorders:
                    raise RuntimeError(f"the bench's stock should be deep: {decision.reason}")
                reserves = []
                for shipment in decision.plan:
                    location = book.locations[shipment.location]
                    for sku, quantity in shipment.lines:
                        rule = winning_rule(every_rule, channel=CHANNEL, location=location, sku=sku)
                        units = (rule.units or 0) if rule else 0
                        bp = (rule.basis_points or 0) if rule else 0
                        reserves.append((location.code, sku, quantity, units, bp))
                plans.append(
                    Plan(
                        body=body,
                        reserves=tuple(sorted(reserves)),
                        shipments=tuple((s.location, s.lines) for s in decision.plan),
                        decision=json.dumps({"trigger": "order", **decision.as_dict()}),
                        reason=decision.reason,
                    )
                )
    finally:
        database.dispose()
    return plans


_ORDER = """
INSERT INTO orders (channel, external_id, customer, delivery_method, location, address,
    currency, reservation_id, created_at)
VALUES (:channel, NULL, :customer, 'ship', NULL, :address, 'EUR', NULL, :at)
RETURNING id
"""
_ORDER_LINES = """
INSERT INTO order_lines (order_id, line, sku, quantity, unit_price, backordered, cancelled)
VALUES (:order_id, :line, :sku, :quantity, :unit_price, 0, 0)
"""
_FULFILMENT = """
INSERT INTO fulfillments (order_id, location, status, created_at, status_at)
VALUES (:order_id, :location, 'allocated', :at, :at) RETURNING id
"""
_FULFILMENT_LINES = """
INSERT INTO fulfillment_lines (fulfillment_id, sku, quantity) VALUES (:id, :sku, :quantity)
"""
_ALLOCATE = """
INSERT INTO movements (at, sku, location, type, on_hand, reserved, unsellable, inbound,
    reason, reference)
VALUES (:at, :sku, :location, 'allocate', 0, :q, 0, 0, NULL, :reference)
"""
_DECISION = """
INSERT INTO sourcing_decisions (order_id, at, trigger, decision)
VALUES (:order_id, :at, 'order', :decision)
"""
_HISTORY = """
INSERT INTO order_history (order_id, at, event, detail)
VALUES (:order_id, :at, 'created', :detail)
"""


def _as_is(text: str) -> str:
    return text


class RawOrder(RawTransaction):
    """The order's transaction in plain sqlite3 / psycopg 3 (connections, time and JSON as
    `RawTransaction` has them): the order insert, the guarded reserve of each line of
    its plan and the `order.created` event; with `full`, also what else the app writes: the
    order's lines, its fulfilment and their lines, the `allocate` ledger movements, the
    sourcing decision, a history entry, the published ATS and the other events (a
    `stock.changed` and an `availability.changed` per line), in `_in_transaction`.
    """

    def __init__(
        self, url: str, plans: Sequence[Plan], *, full: bool, lock: threading.Lock | None
    ) -> None:
        super().__init__(url, full=full, lock=lock)
        self.plans = plans
        self._prepare(
            {
                "order": _ORDER,
                "order_lines": _ORDER_LINES,
                "fulfilment": _FULFILMENT,
                "fulfilment_lines": _FULFILMENT_LINES,
                "allocate": _ALLOCATE,
                "decision": _DECISION,
                "history": _HISTORY,
            }
        )

    def _many(self, statement: str, rows: list[dict[str, Any]]) -> None:
        (self.conn if self.sqlite else self.conn.cursor()).executemany(statement, rows)

    def step(self, rng: random.Random) -> bool:
        plan = rng.choice(self.plans)
        body, now = plan.body, dt.datetime.now(dt.UTC)
        at = self._time(now)
        conn, sql = self.conn, self.sql

        def place() -> bool:
            values = {"channel": CHANNEL, "customer": self._json(body["customer"]),
                      "address": self._json(body["delivery"]["address"]), "at": at}  # fmt: skip
            order_id = conn.execute(sql["order"], values).fetchone()[0]
            positions = []
            for location, sku, q, units, bp in plan.reserves:
                params = {"q": q, "sku": sku, "location": location, "units": units, "bp": bp}
                row = conn.execute(sql["reserve"], params).fetchone()
                if row is None:
                    return False
                positions.append((location, sku, row))
            if self.full:
                self._everything_else(order_id, plan, positions, at, now)
            else:
                view = self._view(order_id, plan, now, fulfilment_ids=None)
                event = {"type": "order.created", "at": at, "data": self._json(view)}
                conn.execute(sql["event"], event)
            return True

        return self._in_transaction(place)

    def _view(
        self, order_id: int, plan: Plan, now: dt.datetime, fulfilment_ids: list[int] | None
    ) -> dict[str, Any]:
        """What `order.created` carries: the order as the API shows it."""
        body = plan.body
        return {
            "id": order_id, "status": "allocated", "channel": CHANNEL, "external_id": None,
            "customer": body["customer"], "delivery": body["delivery"], "currency": "EUR",
            "created_at": now.isoformat(),
            "lines": [{**line, "backordered": 0, "cancelled": 0} for line in body["lines"]],
            "fulfillments": [
                {"id": fulfilment_ids[n] if fulfilment_ids else None, "order_id": order_id,
                 "location": location, "status": "allocated",
                 "lines": [{"sku": s, "quantity": q} for s, q in lines],
                 "carrier": None, "tracking": None, "reason": None}
                for n, (location, lines) in enumerate(plan.shipments)
            ],
            "backorders": [],
        }  # fmt: skip

    def _everything_else(
        self,
        order_id: int,
        plan: Plan,
        positions: list[tuple[str, str, tuple[int, ...]]],
        at: Any,
        now: dt.datetime,
    ) -> None:
        conn, sql, body = self.conn, self.sql, plan.body
        fulfilment_ids = []
        for location, lines in plan.shipments:
            params = {"order_id": order_id, "location": location, "at": at}
            fulfilment_id = conn.execute(sql["fulfilment"], params).fetchone()[0]
            fulfilment_ids.append(fulfilment_id)
            rows = [{"id": fulfilment_id, "sku": s, "quantity": q} for s, q in lines]
            self._many(sql["fulfilment_lines"], rows)
        reference = f"order:{order_id}"
        self._many(sql["allocate"], [
            {"at": at, "sku": sku, "location": location, "q": q, "reference": reference}
            for location, sku, q, _, _ in plan.reserves
        ])  # fmt: skip
        decision = plan.decision if self.sqlite else Json(plan.decision, dumps=_as_is)
        conn.execute(sql["decision"], {"order_id": order_id, "at": at, "decision": decision})
        price = 1990 if self.sqlite else Decimal("19.90")  # SQLite: cents (`tables.Cents`)
        self._many(sql["order_lines"], [
            {"order_id": order_id, "line": n, "sku": line["sku"], "quantity": line["quantity"],
             "unit_price": price}
            for n, line in enumerate(body["lines"])
        ])  # fmt: skip
        detail = {"order_id": order_id, "at": at, "detail": plan.reason}
        conn.execute(sql["history"], detail)
        events: list[tuple[str, dict[str, Any]]] = []
        published = []
        for location, sku, row in positions:
            position = stock_changed_data(sku, location, row)
            events.append(("stock.changed", position))
            published.append({"channel": CHANNEL, "sku": sku, "ats": position["available"]})
        view = self._view(order_id, plan, now, fulfilment_ids)
        events.append(("order.created", view))
        for ats in published:
            data = {"channel": CHANNEL, "sku": ats["sku"], "available_to_sell": ats["ats"]}
            events.append(("availability.changed", data))
        self._many(sql["publish"], published)
        self._many(sql["event"], [
            {"type": kind, "at": at, "data": self._json(data)} for kind, data in events
        ])  # fmt: skip


def ledger_for_raw_reserves(url: str) -> int:
    """Append, as `allocate` movements, the units the issue's raw transaction reserved: it
    writes no ledger entry, and the replay after the run checks everything else. Returns the
    positions concerned."""
    database = Database(url)

    def record(uow: UnitOfWork) -> int:
        missing = [
            bulk.NewMovement(
                d.sku,
                d.location,
                "allocate",
                Deltas(reserved=d.stored.reserved - d.replayed.reserved),
                "reserved by the bench's raw orders",
            )
            for d in list(stock.check(uow))
            if d.stored.reserved != d.replayed.reserved
        ]
        bulk.append_movements(uow.conn, missing, at=uow.now, reference="bench:raw-orders")
        return len(missing)

    try:
        return database.run(record)
    finally:
        database.dispose()


# --------------------------------------------------------------------------- service layer


def place_one(
    pool: Sequence[orders.NewOrder], rng: random.Random
) -> Callable[[UnitOfWork], object]:
    """A random order of `pool`, as the service layer places it."""
    new = rng.choice(pool)
    return lambda uow: orders.place(uow, new)


# --------------------------------------------------------------------------- HTTP load

WRK_SCRIPT = (
    WRK_POOL
    + WRK_COUNTS
    + r"""
-- POSTs the orders of a file (one JSON body a line), each thread from its own place in it.
-- args: key, seed, threads, quota (unused), file

function init(args)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[1]}
  for line in io.lines(args[5]) do pool[#pool + 1] = wrk.format("POST", nil, headers, line) end
  math.randomseed(tonumber(args[2]) * 1000 + thread_number)
  counter = math.random(#pool)
end

function response(status, headers, body)
  count_answer(status)
end
"""
)


@functools.cache
def order_lines(bodies: Path) -> list[str]:
    """The orders of the file `bodies` (one JSON body a line), read once per process."""
    return bodies.read_text().splitlines()


async def post_order(bodies: Path, client: Any, path: str, rng: random.Random) -> Any:
    """The httpx client's request: a random order of the file `bodies`."""
    body = rng.choice(order_lines(bodies))
    return await client.post(path, content=body, headers={"Content-Type": "application/json"})


def orders_of(bodies: Path, key: str) -> LoadSpec:
    """The orders of the file `bodies` POSTed to ORDERS_PATH, by wrk or httpx."""
    send = functools.partial(post_order, bodies)
    return LoadSpec(ORDERS_PATH, key, WRK_SCRIPT, send, (str(bodies),))


# --------------------------------------------------------------------------- throughput


@dataclass
class Options:
    seconds: float
    client_name: str
    loader: Loader
    profile: bool
    only: str | None
    metrics_off_too: bool = False


def throughput(
    url: str, options: Options, say: Callable[[str], None]
) -> tuple[list[Result], dict[str, Any] | None]:
    """Raw SQL, the service layer and HTTP placing the same orders, 16 clients each."""
    say(f"sourcing the {BODIES} orders of the pool (for the raw transaction)")
    bodies = order_bodies(BODIES, SEED)
    plans = plans_for(url, bodies)
    sqlite = url.startswith("sqlite")
    results = []
    variants = [
        ("raw SQL: order + guarded reserves + order.created", "raw", False),
        ("raw SQL: ... + all the app writes", "raw+app", True),
    ]
    for label, kind, full in variants:
        if full:
            note = "; lines, fulfilment, ledger, decision, history, 7 events, published ATS"
        else:
            note = "; the issue's transaction (its reserves enter the ledger after the run)"
        worker = functools.partial(RawOrder, url, plans, full=full)
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
        if not full:
            ledger_for_raw_reserves(url)
    say(f"service layer, {CLIENTS} threads")
    pool = [new_order(body) for body in bodies]
    place = functools.partial(place_one, pool)
    service = "service: db.run(orders.place)"
    results.append(
        measure_service(service, url, place, InsufficientStock, CLIENTS, options.seconds)
    )
    profile: dict[str, Any] | None = None
    service_profile = ""
    if options.profile:
        say(f"cProfile of the service layer, one thread, CPU clock ({options.seconds:g} s)")
        service_profile = profile_service(url, pool, options.seconds)
    key, env = server_env(url)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
        file.write("".join(json.dumps(body) + "\n" for body in bodies))
    try:
        spec = orders_of(Path(file.name), key)
        metrics = (True, False) if options.metrics_off_too else (True,)
        for workers, measured in itertools.product((1, 2), metrics):
            name = f"HTTP POST {ORDERS_PATH}" + ("" if measured else " (metrics off)")
            say(f"{name}, {workers} worker(s), {CLIENTS} clients")
            note = server_note(options.client_name, sqlite=sqlite, workers=workers)
            switch = {} if measured else {"OMNISTOCK_METRICS": "false"}
            with uvicorn_server(APP, workers=workers, env={**env, **switch}) as server:
                results.append(
                    measure_load(
                        name, "http", server=server, spec=spec,
                        options=options, clients=CLIENTS, workers=workers,
                        count=lambda: count_orders(url), note=note,
                    )
                )  # fmt: skip
                if options.profile and workers == 1 and measured:
                    say(
                        f"py-spy on the 1-worker server under the same load ({options.seconds:g} s)"
                    )
                    profile = profile_server(url, server, spec, options)
    finally:
        os.unlink(file.name)
    if service_profile:
        profile = {**(profile or {}), "service_cprofile": service_profile}
    return results, profile


# --------------------------------------------------------------------------- a webhook's cost


class _Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that takes everything: 204, counted."""

    protocol_version = "HTTP/1.1"  # keeps the deliverer's connection open
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with _Receiver.lock:
            _Receiver.received += 1
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def webhook_cost(url: str, options: Options, say: Callable[[str], None]) -> list[Result]:
    """Orders per second on 1 worker without a webhook, then with one subscribed to `*`,
    delivered by `omnistock deliver` beside it (the process `serve` starts)."""
    bodies = order_bodies(BODIES, SEED)
    key, env = server_env(url)
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    results = []
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
        file.write("".join(json.dumps(body) + "\n" for body in bodies))
    try:
        spec = orders_of(Path(file.name), key)
        note = server_note(options.client_name, sqlite=url.startswith("sqlite"), workers=1)
        variants = [("no webhook", False), ("a webhook on *, by omnistock deliver", True)]
        for label, subscribed in variants:
            name = f"HTTP POST {ORDERS_PATH}, {label}"
            say(name)
            with (
                uvicorn_server(APP, workers=1, env=env) as server,
                _deliverer(url) if subscribed else contextlib.nullcontext(),
            ):
                hook = _subscribe(server.base, key, hook_url) if subscribed else None
                sent_before = _Receiver.received
                result = measure_load(
                    name, "webhooks", server=server, spec=spec, options=options,
                    clients=CLIENTS, workers=1, count=lambda: count_orders(url), note=note,
                )  # fmt: skip
                if hook is not None:
                    result.note += _delivery_note(url, hook, _Receiver.received - sent_before)
                    _unsubscribe(server.base, key, hook)
                results.append(result)
    finally:
        os.unlink(file.name)
        receiver.shutdown()
    return results


def _subscribe(base: str, key: str, hook_url: str) -> int:
    import httpx

    answer = httpx.post(
        f"{base}/v1/webhooks",
        json={"url": hook_url, "events": ["*"]},
        headers={"Authorization": f"Bearer {key}"},
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def _unsubscribe(base: str, key: str, hook: int) -> None:
    import httpx

    headers = {"Authorization": f"Bearer {key}"}
    httpx.delete(f"{base}/v1/webhooks/{hook}", headers=headers).raise_for_status()


@contextlib.contextmanager
def _deliverer(url: str) -> Iterator[None]:
    """`omnistock deliver` in a process of its own."""
    command = [str(Path(sys.executable).parent / "omnistock"), "deliver", "--database", url]
    env = {**os.environ, "OMNISTOCK_DATABASE_URL": url}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _delivery_note(url: str, hook: int, delivered: int) -> str:
    """How many events the webhook took during the warm-up and the run, and how many it was
    behind when the load stopped."""
    database = Database(url)
    try:
        with database.reading() as reads:
            row = reads.webhooks.get(hook)
            behind = len(reads.events.read(after=row["cursor"], limit=1_000_000)) if row else 0
    finally:
        database.dispose()
    return f"; {delivered:,} events delivered, {behind:,} behind at the end"


# --------------------------------------------------------------------------- where the time goes


def profile_service(
    url: str, pool: Sequence[orders.NewOrder], seconds: float, top: int = 30
) -> str:
    """cProfile one thread placing orders through the service layer, timed on the thread's
    CPU clock (a busy machine's preemptions stay out): src/ functions by cumulative time,
    then every function by its own time."""
    database = Database(url)
    rng = random.Random(5)
    profiler = cProfile.Profile(time.thread_time)
    count = 0
    try:
        for _ in range(20):  # warm: configuration cached, statements prepared
            new = rng.choice(pool)
            database.run(lambda uow: orders.place(uow, new))  # noqa: B023 (runs at once)
        deadline = time.perf_counter() + seconds
        profiler.enable()
        while time.perf_counter() < deadline:
            new = rng.choice(pool)
            database.run(lambda uow: orders.place(uow, new))  # noqa: B023 (runs at once)
            count += 1
        profiler.disable()
    finally:
        database.dispose()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    per_order = stats.total_tt / count * 1000 if count else 0.0  # type: ignore[attr-defined]
    out.write(
        f"{count} orders placed by one thread under cProfile: {per_order:.2f} ms of CPU each "
        "(cProfile's own cost included)\n"
    )
    stats.sort_stats("cumulative").print_stats("omnistock", top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")
_LAYERS = (
    ("omnistock/", "omnistock (src/)"),
    ("sqlalchemy/", "SQLAlchemy (and the driver's C calls under it)"),
    ("psycopg", "psycopg"),
    ("pydantic", "pydantic"),
    ("fastapi/", "FastAPI / Starlette"),
    ("starlette/", "FastAPI / Starlette"),
    ("uvicorn/", "uvicorn / HTTP parsing"),
    ("h11/", "uvicorn / HTTP parsing"),
    ("httptools/", "uvicorn / HTTP parsing"),
    ("anyio/", "event loop and threads"),
    ("asyncio/", "event loop and threads"),
    ("concurrent/", "event loop and threads"),
    ("threading.py", "event loop and threads"),
    ("selectors.py", "event loop and threads"),
    ("queue.py", "event loop and threads"),
    ("json/", "json"),
)


def _layer(file: str) -> str:
    for prefix, name in _LAYERS:
        if file.startswith(prefix):
            return name
    if file == "<string>":
        return "generated code (dataclass __init__, SQLAlchemy)"
    return "other: " + file.split("/")[0].removesuffix(".py")


def profile_server(
    url: str, server: Server, spec: LoadSpec, options: Options
) -> dict[str, Any] | None:
    """Sample the server with py-spy while it takes orders; where its CPU goes, per order."""
    spy = Path(sys.executable).with_name("py-spy")
    found = str(spy) if spy.exists() else shutil.which("py-spy")
    if found is None:
        print("py-spy not found: no profile", file=sys.stderr)
        return None
    seconds = options.seconds
    with tempfile.TemporaryDirectory(prefix="omnistock-pyspy-") as directory:
        output = Path(directory) / "raw.txt"
        command = [
            found, "record", "-p", str(server.pid), "-s", "--gil", "-r", str(PROFILE_RATE),
            "-d", str(math.ceil(seconds)), "-F", "-f", "raw", "-o", str(output),
        ]  # fmt: skip
        before, cpu_before = count_orders(url), server.cpu_seconds()  # the load's window
        spy_process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            load = options.loader(server.base, spec, clients=CLIENTS, seconds=seconds + 1, seed=4)
            _, errors = spy_process.communicate(timeout=seconds + 60)
        finally:
            if spy_process.poll() is None:
                spy_process.send_signal(signal.SIGINT)
                spy_process.wait(timeout=15)
        placed = count_orders(url) - before
        cpu = server.cpu_seconds() - cpu_before
        if not output.exists():
            print(f"py-spy failed: {errors.decode(errors='replace')[-500:]}", file=sys.stderr)
            return None
        raw = output.read_text()
    per_second = load.created / load.seconds if load.seconds else 0.0
    return summarize_profile(
        raw,
        orders=per_second * math.ceil(seconds),
        cpu_ms_per_order=cpu / placed * 1000 if placed else None,
        per_second=per_second,
    )


def summarize_profile(
    raw: str, *, orders: float, cpu_ms_per_order: float | None, per_second: float
) -> dict[str, Any]:
    """py-spy's collapsed stacks (samples of the thread holding the GIL: the server's Python
    work), summed three ways: the layer of the innermost frame, each src/ function with
    everything it calls, and the innermost src/ function (with what it calls outside src/):
    the last says where to optimise. `orders`: placed while py-spy sampled."""
    layers: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    innermost: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    beneath: defaultdict[str, Counter[str]] = defaultdict(Counter)
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [m for m in (_FRAME.match(f) for f in stack.split(";")) if m]
        if not frames:
            layers["other: no Python frame"] += samples
            continue
        leaf = frames[-1]
        layers[_layer(leaf["file"])] += samples
        leaves[f"{leaf['name']} ({leaf['file']}:{leaf['line']})"] += samples
        own = [f"{m['name']} ({m['file']}:{m['line']})" for m in frames
               if m["file"].startswith("omnistock/")]  # fmt: skip
        for name in set(own):
            inclusive[name] += samples
        if own:
            innermost[own[-1]] += samples
            beneath[own[-1]][_layer(leaf["file"])] += samples
        else:
            innermost["(no src/ frame) " + _layer(leaf["file"])] += samples
    gil_ms = total / PROFILE_RATE / orders * 1000 if orders else None
    per_order_ms = cpu_ms_per_order or gil_ms  # shared out by the samples

    def rows(counter: Counter[str], top: int, *, src: bool = False) -> list[dict[str, Any]]:
        return [
            {
                "what": name,
                "share": n / total if total else 0.0,
                "ms_per_order": (n / total * per_order_ms) if total and per_order_ms else None,
                "beneath": {k: v / n for k, v in beneath[name].most_common(3)}
                if src and name in beneath
                else {},
            }
            for name, n in counter.most_common(top)
        ]

    return {
        "samples": total,
        "rate": PROFILE_RATE,
        "orders": orders,
        "orders_per_second": per_second,
        "gil_ms_per_order": gil_ms,
        "server_cpu_ms_per_order": cpu_ms_per_order,
        "layers": rows(layers, 20),
        "inclusive": rows(inclusive, 30),
        "innermost": rows(innermost, 25, src=True),
        "leaves": rows(leaves, 25),
    }


# --------------------------------------------------------------------------- sourcing alone


def network_location(size: int, i: int, rng: random.Random) -> Location:
    warehouse = i % 10 == 0
    _, lat, lon = customer_at(rng)
    return Location(
        code=f"N{size}-{i:04d}",
        name=f"{'Warehouse' if warehouse else 'Store'} {i} of {size}",
        type=LocationType.WAREHOUSE if warehouse else LocationType.STORE,
        lat=lat,
        lon=lon,
        ship_enabled=True,
        pickup_enabled=not warehouse,
        priority=10 if warehouse else 50,
    )


def network_sku(size: int, shape: str, k: int) -> str:
    return f"{shape.upper()}-{size}-{k}"


def network_channel(size: int) -> str:
    return f"net-{size}"


def sibling_database(url: str, name: str) -> str:
    """A second, empty database next to `url`'s (same SQLite folder, same PostgreSQL)."""
    if url.startswith("sqlite"):
        return f"sqlite:///{Path(url.removeprefix('sqlite:///')).with_name(name + '.db')}"
    parsed = make_url(url)
    admin = f"host={parsed.host} port={parsed.port} user={parsed.username} dbname=postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return parsed.set(database=name).render_as_string(hide_password=False)


def set_up_networks(url: str) -> None:
    """Two networks, each sold by a channel of its own with the stores' buffer: 100 and
    1,000 locations across France (a warehouse in ten). Each has two sets of 10 items in deep
    stock: WHOLE items are all in every warehouse (one location ships the order), SPLIT items
    never all in one place (location i lacks item i mod 10), so the order is split."""
    database = Database(url)
    rng = random.Random(SEED + 1)
    try:
        database.migrate()
        holdings = []

        def catalogue(uow: UnitOfWork) -> None:
            for size in NETWORKS:
                codes = []
                for i in range(size):
                    location = network_location(size, i, rng)
                    catalog.put_location(uow, location)
                    codes.append(location.code)
                    for shape in (WHOLE, SPLIT):
                        for k in range(SOURCING_LINES):
                            if shape == SPLIT and k == i % SOURCING_LINES:
                                continue
                            everything = shape == WHOLE and location.type is LocationType.WAREHOUSE
                            if everything or rng.random() < NETWORK_RANGE:
                                holdings.append((location.code, network_sku(size, shape, k), 10**6))
                for shape in (WHOLE, SPLIT):
                    for k in range(SOURCING_LINES):
                        sku = network_sku(size, shape, k)
                        catalog.put_item(uow, Item(sku, f"Item {sku}", price=Decimal("9.90")))
                channel = network_channel(size)
                channels.put_channel(
                    uow, Channel(channel, f"Network {size}", locations=tuple(codes))
                )
                store_buffer = BufferRule(
                    0, channel=channel, location_type=LocationType.STORE, units=2
                )
                channels.add_rule(uow, store_buffer)

        database.run(catalogue)
        database.run(lambda uow: receive(uow, holdings))
        publish_everything(database)
    finally:
        database.dispose()


@dataclass
class SourcingFigures:
    """Sourcing one kind of 10-line order over one network, against placing it."""

    locations: int
    shape: str
    candidates: int  # median over the customers
    strategies: dict[str, int]
    searched: int  # median combinations examined
    #: `source`, and `decision.as_dict()` after it (the record of every candidate, worked out
    #: when GET /v1/orders/{id}/sourcing asks: orders store the figures only), in the
    #: thread's CPU time: each customer's fastest call, the median over the customers (a
    #: busy machine's preemptions and cache misses stay out); and the median of every call.
    source_ms: float
    explain_ms: float
    source_median_call_ms: float
    #: Medians of `db.run(orders.place)` of the same order: its time (what the order takes,
    #: waits for the disk and the database included) and this thread's CPU during it.
    place_ms: float
    place_cpu_ms: float
    source_calls: int
    places: int
    refused: int = 0

    @property
    def share(self) -> float:
        return self.source_ms / self.place_ms if self.place_ms else math.nan

    @property
    def share_with_explanation(self) -> float:
        return (self.source_ms + self.explain_ms) / self.place_ms if self.place_ms else math.nan

    @property
    def share_of_cpu(self) -> float:
        return self.source_ms / self.place_cpu_ms if self.place_cpu_ms else math.nan


def _ten_line_order(
    size: int, shape: str, n: int, city: tuple[str, float, float]
) -> orders.NewOrder:
    lines = [(network_sku(size, shape, k), 1 + k % 3) for k in range(SOURCING_LINES)]
    return new_order(order_body(n, city, lines, channel=network_channel(size)))


def time_sourcing(
    database: Database, size: int, shape: str, customers: Sequence[Any]
) -> SourcingFigures:
    """`source` over the candidates exactly as `sourcing.allocate` builds them (its own
    `_candidates`), then `orders.place` of the same orders, one at a time."""
    best_source, best_explain, counts, searched = [], [], [], []
    source_times: list[float] = []
    strategies: Counter[str] = Counter()
    policy = database.policy
    for n, city in enumerate(customers):
        new = _ten_line_order(size, shape, n, city)
        need = new.need()
        skus = [sku for sku, _ in need.lines]
        with database.reading() as reads:
            book, sku_rules = reads.rulebook(skus)
            candidates, _ = sourcing_service._candidates(
                reads, book, sku_rules, need, now=dt.datetime.now(dt.UTC)
            )
        counts.append(len(candidates))
        started, calls, explain_times = time.perf_counter(), 0, []
        first = len(source_times)
        while calls < SOURCE_CALLS or time.perf_counter() - started < SOURCE_SECONDS:
            t0 = time.thread_time()
            decision = rules.source(
                need.lines, candidates, ship_to=need.ship_to, costs=policy.costs
            )
            t1 = time.thread_time()
            decision.as_dict()
            t2 = time.thread_time()
            source_times.append(t1 - t0)
            explain_times.append(t2 - t1)
            calls += 1
        best_source.append(min(source_times[first:]))
        best_explain.append(min(explain_times))
        strategies[decision.strategy] += 1
        searched.append(decision.searched)
    place_times, place_cpu, refused = [], [], 0
    for n, city in enumerate(customers):
        for _ in range(PLACES_PER_CUSTOMER):
            new = _ten_line_order(size, shape, n, city)
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                database.run(lambda uow: orders.place(uow, new))  # noqa: B023 (runs at once)
            except InsufficientStock:
                refused += 1
            place_times.append(time.perf_counter() - t0)
            place_cpu.append(time.thread_time() - c0)
    return SourcingFigures(
        locations=size,
        shape=shape,
        candidates=int(statistics.median(counts)),
        strategies=dict(strategies),
        searched=int(statistics.median(searched)),
        source_ms=statistics.median(best_source) * 1000,
        explain_ms=statistics.median(best_explain) * 1000,
        source_median_call_ms=statistics.median(source_times) * 1000,
        place_ms=statistics.median(place_times) * 1000,
        place_cpu_ms=statistics.median(place_cpu) * 1000,
        source_calls=len(source_times),
        places=len(place_times),
        refused=refused,
    )


def sourcing_alone(url: str, say: Callable[[str], None]) -> list[SourcingFigures]:
    say("sourcing networks of 100 and 1,000 locations (a database of their own)")
    network_url = sibling_database(url, "omnistock_networks")
    set_up_networks(network_url)
    rng = random.Random(SEED + 2)
    customers = [customer_at(rng) for _ in range(CUSTOMERS)]
    database = Database(network_url)
    figures = []
    try:
        for size in NETWORKS:  # warm: configuration cached, code paths run
            for shape in (WHOLE, SPLIT):
                new = _ten_line_order(size, shape, 0, customers[0])
                database.run(lambda uow: orders.place(uow, new))  # noqa: B023 (runs at once)
        for size in NETWORKS:
            for shape in (WHOLE, SPLIT):
                say(f"sourcing a 10-line {shape} order over {size:,} locations, and placing it")
                figures.append(time_sourcing(database, size, shape, customers))
    finally:
        database.dispose()
    return figures


# --------------------------------------------------------------------------- one backend


@dataclass
class BackendReport(BackendRun):
    results: list[Result] = field(default_factory=list)
    webhooks: list[Result] = field(default_factory=list)
    sourcing: list[SourcingFigures] = field(default_factory=list)
    profile: dict[str, Any] | None = None


def bench_backend(backend: str, url: str, server: str, options: Options) -> BackendReport:
    say = progress(backend)
    report = BackendReport(backend=backend, server=server)
    with watching(report):
        if options.only != "sourcing":
            say("catalogue, channel and rules (services), stock (bulk, through the ledger)")
            set_up(url)
            if options.only != "webhooks":
                report.results, report.profile = throughput(url, options, say)
            report.webhooks = webhook_cost(url, options, say)
            say("ledger check")
            report.ledger_drifts = ledger_drifts(url)
        if options.only in (None, "sourcing"):
            report.sourcing = sourcing_alone(url, say)
    return report


# --------------------------------------------------------------------------- output


def ratios(report: BackendReport) -> list[dict[str, Any]]:
    """HTTP and the service layer against raw SQL (and HTTP against the service layer)."""

    def one(kind: str, workers: int | None = None) -> Result | None:
        return next((r for r in report.results if r.kind == kind and r.workers == workers), None)

    raw, full, service = one("raw"), one("raw+app"), one("service")
    rows = []
    for measured, label in ((one("http", 1), "HTTP (1w)"), (one("http", 2), "HTTP (2w)"),
                            (service, "service")):  # fmt: skip
        if measured is None or raw is None:
            continue
        vs_full = ratio_of(measured.per_second, full.per_second) if full else None
        target = HTTP_TARGET if measured.kind == "http" else None
        name = f"orders: {label} ÷ raw"
        rows.append(ratio_row(name, measured.per_second, raw.per_second, target, vs_full=vs_full))
    for workers in (1, 2):
        http = one("http", workers)
        if http is not None and service is not None:
            name = f"orders: HTTP ({workers}w) ÷ service"
            rows.append(ratio_row(name, http.per_second, service.per_second, None))
        off = next((r for r in report.results if r.name.endswith("(metrics off)")
                    and r.workers == workers), None)  # fmt: skip
        if http is not None and off is not None:
            name = f"orders: HTTP ({workers}w), metrics on ÷ off"
            rows.append(ratio_row(name, http.per_second, off.per_second, None))
    return rows


def webhook_ratios(results: Sequence[Result]) -> list[dict[str, Any]]:
    if not results:
        return []
    without, *with_hooks = results
    return [
        ratio_row(f"orders: HTTP (1w), {r.name.split(', ', 1)[1]} ÷ none", r.per_second,
                  without.per_second, WEBHOOK_TARGET)
        for r in with_hooks
    ]  # fmt: skip


def sourcing_ratios(figures: Sequence[SourcingFigures]) -> list[dict[str, Any]]:
    rows = []
    for f in figures:
        name = f"{f.shape} order, {f.locations:,} locations: source ÷ whole order"
        rows.append(ratio_row(name, f.source_ms, f.place_ms, SHARE_TARGET,
                                 with_explanation=f.share_with_explanation,
                                 of_cpu=f.share_of_cpu, kind="share"))  # fmt: skip
    small, large = min(NETWORKS), max(NETWORKS)
    for shape in (WHOLE, SPLIT):
        a = next((f for f in figures if f.shape == shape and f.locations == small), None)
        b = next((f for f in figures if f.shape == shape and f.locations == large), None)
        if a is None or b is None:
            continue
        explained = ratio_of(b.source_ms + b.explain_ms, a.source_ms + a.explain_ms)
        name = f"{shape} order: source at {large:,} ÷ at {small:,} locations"
        rows.append(ratio_row(name, b.source_ms, a.source_ms, GROWTH_TARGET,
                                 with_explanation=explained, kind="growth"))  # fmt: skip
        name = f"{shape} order: whole order at {large:,} ÷ at {small:,}"
        rows.append(ratio_row(name, b.place_ms, a.place_ms, None, kind="growth"))
    return rows


def sourcing_extra(row: dict[str, Any]) -> str:
    """The sourcing ratio table's last column: with the explanation, and against CPU."""
    extra = ""
    if row.get("with_explanation") is not None:
        extra = f"with the explanation: {row['with_explanation']:.3f}"
    if row.get("of_cpu") is not None:
        extra += f"; ÷ the order's CPU: {row['of_cpu']:.3f}"
    return extra


def print_report(report: BackendReport, options: Options) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=170)
    if report.results:
        table = results_table(
            f"{report.backend}: orders of {LINES} lines shipped to French customers "
            f"({options.seconds:g} s each)",
            report.results,
            unit="orders/s",
            cpu="CPU ms/order",
            refused="refused (409)",
            caption=f"{LOCATIONS} locations in channel {CHANNEL}'s pool, {ITEMS} items in deep "
            f"stock; the same {BODIES} orders for every measurement",
        )
        console.print(table)
        console.print(
            "CPU ms/order: the Python side's CPU per order: this process for raw and service "
            "(the PostgreSQL server's not included), the uvicorn processes for HTTP. Orders are "
            "counted in the database (HTTP) or by commits (raw, service)."
        )
        console.print(ledger_replay(report.backend, report.ledger_drifts))
        title = f"{report.backend}: orders per second, ratios"
        console.print(ratio_table(title, ratios(report), extra=vs_full("all the app")))
    if report.webhooks:
        title = f"{report.backend}: orders with and without a webhook ({options.seconds:g} s each)"
        console.print(
            results_table(title, report.webhooks, unit="orders/s", cpu="CPU ms/order",
                          refused="refused (409)")
        )  # fmt: skip
        cost = webhook_ratios(report.webhooks)
        console.print(ratio_table(f"{report.backend}: a webhook's cost", cost))
    if report.sourcing:
        table = Table(
            title=f"{report.backend}: sourcing a {SOURCING_LINES}-line order alone "
            f"(domain.sourcing.source), against placing it (db.run(orders.place), one thread)",
            caption=f"{CUSTOMERS} customers in random French cities. source and explanation "
            "(decision.as_dict(), worked out when an order's sourcing is read): the thread's CPU "
            "time, each "
            "customer's fastest call, median over the customers (and the median call); whole "
            f"order: median of {PLACES_PER_CUSTOMER} orders a customer, its time and the "
            "thread's CPU during it",
        )
        for column in ("locations", "order"):
            table.add_column(column)
        numbers = ("candidates", "strategy", "searched", "source ms", "(median call)",
                   "explanation ms", "whole order ms", "its CPU ms", "source ÷ order",
                   "(with explanation)", "refused")  # fmt: skip
        for column in numbers:
            table.add_column(column, justify="right")
        for f in report.sourcing:
            strategy = ", ".join(f"{k} {v}" for k, v in sorted(f.strategies.items()))
            table.add_row(f"{f.locations:,}", f.shape, str(f.candidates), strategy,
                          f"{f.searched:,}", f"{f.source_ms:.3f}",
                          f"{f.source_median_call_ms:.3f}", f"{f.explain_ms:.3f}",
                          f"{f.place_ms:.2f}", f"{f.place_cpu_ms:.2f}", f"{f.share:.3f}",
                          f"{f.share_with_explanation:.3f}",
                          str(f.refused))  # fmt: skip
        console.print(table)
        sourcing_table = ratio_table(
            f"{report.backend}: sourcing, ratios",
            sourcing_ratios(report.sourcing),
            amount=lambda ms: f"{ms:.3f} ms",
            digits=3,
            at_most=True,
            extra=sourcing_extra,
        )
        console.print(sourcing_table)
    if report.profile and "layers" in report.profile:
        print_profile(console, report.backend, report.profile)
    if report.profile and report.profile.get("service_cprofile"):
        console.print(f"[bold]{report.backend}: where the service layer's CPU goes[/]")
        print(report.profile["service_cprofile"])
    console.print(footer(report))


def print_profile(console: Any, backend: str, profile: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{backend}: where one HTTP order's server time goes[/] (py-spy --gil, "
        f"{profile['rate']} samples/s of the thread holding the GIL, {profile['samples']:,} "
        f"samples, {profile['orders_per_second']:,.0f} orders/s under the profiler): "
        f"{ms(profile['server_cpu_ms_per_order'])} ms of server CPU per order (from /proc; "
        "shared out below by samples), "
        f"{ms(profile['gil_ms_per_order'])} ms with the GIL held (a busy machine "
        "deschedules threads that hold it)"
    )
    for key, title in (
        ("layers", "by the layer of the innermost frame"),
        ("innermost", "by the innermost src/ function (what it calls outside src/ included)"),
        ("inclusive", "by src/ function, with everything it calls"),
        ("leaves", "by innermost Python function, anywhere (C code shows as its caller)"),
    ):
        table = Table(title=f"{backend}: {title}")
        table.add_column("where")
        table.add_column("share", justify="right")
        table.add_column("ms/order", justify="right")
        table.add_column("spent beneath it in")
        for row in profile[key]:
            beneath = ", ".join(f"{k} {v:.0%}" for k, v in row["beneath"].items())
            table.add_row(row["what"], f"{row['share']:.1%}", ms(row["ms_per_order"]), beneath)
        console.print(table)


def as_json(report: BackendReport) -> dict[str, Any]:
    return {
        "server": report.server,
        "results": [{**asdict(r), "per_second": r.per_second} for r in report.results],
        "ratios": ratios(report) if report.results else [],
        "webhooks": [{**asdict(r), "per_second": r.per_second} for r in report.webhooks],
        "webhook_ratios": webhook_ratios(report.webhooks),
        "sourcing": [
            {
                **asdict(f),
                "share": f.share,
                "share_with_explanation": f.share_with_explanation,
                "share_of_cpu": f.share_of_cpu,
            }
            for f in report.sourcing
        ],
        "sourcing_ratios": sourcing_ratios(report.sourcing),
        "profile": report.profile,
        **report.run_figures(),
        "seconds": report.seconds,
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seconds=8.0, seconds_help="per timed measurement")
    parser.add_argument(
        "--only", choices=["throughput", "sourcing", "webhooks"], help="one part only"
    )
    parser.add_argument(
        "--profile", action="store_true", help="py-spy the 1-worker server taking orders"
    )
    parser.add_argument(
        "--metrics-off-too",
        action="store_true",
        help="each HTTP measurement again with OMNISTOCK_METRICS=false: what /metrics costs",
    )
    args = parser.parse_args(argv)
    if not 0.5 <= args.seconds <= 600:
        parser.error("--seconds must be 0.5..600")
    use_wrk, client_name = http_client(parser, args.client)
    loader = load_with_wrk if use_wrk else load_with_httpx
    options = Options(
        args.seconds, client_name, loader, args.profile, args.only, args.metrics_off_too
    )
    measure = functools.partial(bench_backend, options=options)
    reports = measure_backends(
        args.backend, measure, functools.partial(print_report, options=options)
    )
    backends = {r.backend: as_json(r) for r in reports}
    write_json(args.json, client_name, args.seconds, backends, clients=CLIENTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
