"""Duplicates: 1,000 concurrent copies of one request under one `Idempotency-Key` have one
effect and get 1,000 identical answers, across the 2 worker processes of a real server.

For each kind of write that moves stock (a movement, a hold, an order, a return), 64 clients
(keep-alive HTTP/1.1 connections) released together send 1,000 copies of the same request with
the same key to uvicorn running 2 worker processes, on PostgreSQL and on SQLite (both workers
on one file). Proved (DESIGN invariant 3, under contention):

- every answer has the same status, the same content type, no `Location` and byte for byte
  the same body, the success the request asks for;
- exactly one answer is the original, the 999 others say `Idempotent-Replayed: true`;
- the database shows one effect: one new row where the request creates one (one ledger
  movement per position changed, one hold, one order, one return), none elsewhere, and the
  positions moved exactly once;
- it was a race: duplicates were sent while the original was in flight, and both server
  processes held some of the 64 connections (read from Linux's /proc).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from omnistock.db import Database
from omnistock.db import tables as t
from samples import CUSTOMER, VILLEURBANNE
from servers import ADMIN_KEY, STARTUP_SECONDS, ApiServer, api_server

COPIES = 1_000
CLIENTS = 64
SERVER_WORKERS = 2
#: A bound against hangs, not a measurement.
TIMEOUT_SECONDS = 120.0

WAREHOUSE = {"name": "Lyon warehouse", "type": "warehouse", "lat": 45.764, "lon": 4.8357}
STORE = {"name": "Lyon store", "type": "store", "lat": 45.7578, "lon": 4.832}
TEE = {"sku": "TEE", "unit_price": "19.90"}
SHIPS = {"ship_enabled": True, "pickup_enabled": False}

Quantities = tuple[int, ...]  # on_hand, reserved, unsellable, inbound
COUNTED = {
    "movements": t.movements,
    "reservations": t.reservations,
    "orders": t.orders,
    "returns": t.returns,
}


@dataclass(frozen=True)
class Effect:
    """What the database holds that a write may change: rows per table, and positions."""

    rows: dict[str, int]
    positions: dict[tuple[str, str], Quantities]

    def minus(self, before: Effect) -> tuple[dict[str, int], dict[tuple[str, str], Quantities]]:
        """The new rows per table and each changed position's deltas, since `before`."""
        rows = {name: n - before.rows[name] for name, n in self.rows.items()}
        moved = {}
        for key, now in self.positions.items():
            then = before.positions.get(key, (0, 0, 0, 0))
            delta = tuple(a - b for a, b in zip(now, then, strict=True))
            if any(delta):
                moved[key] = delta
        return rows, moved


def effect_in(db: Database) -> Effect:
    with db.read() as conn:
        rows = {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in COUNTED.items()
        }
        p = t.positions.c
        found = conn.execute(
            select(p.location, p.sku, p.on_hand, p.reserved, p.unsellable, p.inbound)
        )
        positions: dict[tuple[str, str], Quantities] = {(r[0], r[1]): tuple(r[2:]) for r in found}
    return Effect(rows, positions)


# --------------------------------------------------------------------------- the shop


def ok(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def open_shop(client: httpx.Client) -> None:
    """A warehouse and a store with 50 tees each, a web shop and a till."""
    ok(client.put("/v1/items/TEE", json={"name": "Tee", "price": "19.90"}))
    for code, place in (("WH-LYON", WAREHOUSE), ("ST-LYON", STORE)):
        ok(client.put(f"/v1/locations/{code}", json=place | SHIPS))
        ok(client.post("/v1/stock/movements", json=receipt(code, 50)))
    ok(client.put("/v1/channels/web", json={"name": "Web shop"}))
    ok(client.put("/v1/channels/stores", json={"name": "Tills", "location_types": ["store"]}))


def receipt(location: str, quantity: int) -> dict[str, Any]:
    return {"location": location, "sku": "TEE", "type": "receipt", "quantity": quantity}


# --------------------------------------------------------------------------- the four writes


@dataclass(frozen=True)
class Write:
    """A request to send 1,000 times, and the one effect it must have."""

    path: str
    body: dict[str, Any]
    rows: dict[str, int]
    moved: dict[tuple[str, str], Quantities]
    #: What the answer must say (the right request was answered, not just some answer).
    says: Callable[[Any], bool]


def a_movement(client: httpx.Client) -> Write:
    return Write(
        "/v1/stock/movements",
        receipt("WH-LYON", 7),
        rows={"movements": 1},
        moved={("WH-LYON", "TEE"): (7, 0, 0, 0)},
        says=lambda a: (a["movement"]["type"], a["movement"]["on_hand"]) == ("receipt", 7),
    )


def a_hold(client: httpx.Client) -> Write:
    lines = [{"sku": "TEE", "quantity": 3}]
    return Write(
        "/v1/reservations",
        {"channel": "web", "lines": lines, "location": "WH-LYON"},
        rows={"movements": 1, "reservations": 1},
        moved={("WH-LYON", "TEE"): (0, 3, 0, 0)},
        says=lambda a: a["allocations"] == [{"location": "WH-LYON", "sku": "TEE", "quantity": 3}],
    )


def an_order(client: httpx.Client) -> Write:
    body = {
        "channel": "web",
        "customer": CUSTOMER,
        "delivery": {"method": "ship", "address": VILLEURBANNE},
        "lines": [{**TEE, "quantity": 2}],
    }
    return Write(
        "/v1/orders",
        body,
        rows={"movements": 1, "orders": 1},
        moved={("WH-LYON", "TEE"): (0, 2, 0, 0)},
        says=lambda a: [f["location"] for f in a["fulfillments"]] == ["WH-LYON"],
    )


def a_return(client: httpx.Client) -> Write:
    """Two tees sold at the store's till (set up once, without a key), one brought back."""
    sale = {
        "channel": "stores",
        "delivery": {"method": "in_store", "location": "ST-LYON"},
        "lines": [{**TEE, "quantity": 2}],
    }
    sold = ok(client.post("/v1/orders", json=sale))
    line = {"sku": "TEE", "quantity": 1, "condition": "sellable"}
    return Write(
        "/v1/returns",
        {"order_id": sold["id"], "location": "ST-LYON", "lines": [line]},
        rows={"movements": 1, "returns": 1},
        moved={("ST-LYON", "TEE"): (1, 0, 0, 0)},
        says=lambda a: a["order_id"] == sold["id"] and a["refund_amount"] == "19.90",
    )


WRITES = [a_movement, a_hold, an_order, a_return]


# --------------------------------------------------------------------------- the duplicates


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str | None
    location: str | None
    body: bytes
    replayed: bool
    sent: float  # time.monotonic() as the request left
    received: float  # and as its answer was read


@dataclass(frozen=True)
class Race:
    answers: list[Answer]
    #: How many of the clients' connections each server process held (by pid).
    held: Counter[int]


def send_copies(server: ApiServer, path: str, body: dict[str, Any], key: str) -> Race:
    """`COPIES` copies of one request, sent by `CLIENTS` threads released together.

    Each client is one keep-alive HTTP/1.1 connection of the standard library's `http.client`:
    httpx spends some 5 ms of CPU a request in 64 threads here, ten times as much, and the
    test would measure the client rather than the server.
    """
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    assert host is not None and port is not None
    payload = json.dumps(body).encode()
    headers = {
        "Authorization": f"Bearer {ADMIN_KEY}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    ports: set[int] = set()
    held: Counter[int] = Counter()
    start = threading.Barrier(
        CLIENTS, action=lambda: held.update(accepted(server.process.pid, port, ports))
    )

    def client(index: int) -> list[Answer]:
        connection = HTTPConnection(host, port, timeout=TIMEOUT_SECONDS)
        try:
            connection.connect()  # connected before the start: the copies race, not connects
            ports.add(connection.sock.getsockname()[1])
            start.wait(timeout=TIMEOUT_SECONDS)
            return [
                answer(connection, path, payload, headers) for _ in range(index, COPIES, CLIENTS)
            ]
        finally:
            connection.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(client, i) for i in range(CLIENTS)]
        answers = [a for f in futures for a in f.result(timeout=TIMEOUT_SECONDS)]
    return Race(answers, held)


def accepted(parent: int, port: int, clients: set[int]) -> Counter[int]:
    """Who holds the connections from the local ports `clients`, once the server processes
    have accepted them all (or, failing that, as they stand after STARTUP_SECONDS)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while (held := held_by(parent, port, clients)).total() < len(clients):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    return held


def held_by(parent: int, port: int, clients: set[int]) -> Counter[int]:
    """How many connections from the local ports `clients` to `port` each child process of
    `parent` holds (Linux: read from /proc)."""
    sockets = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, inode = (line.split()[i] for i in (1, 2, 9))
        if _port(local) == port and _port(remote) in clients:
            sockets.add(f"socket:[{inode}]")
    held: Counter[int] = Counter()
    for pid in children_of(parent):
        with contextlib.suppress(OSError):  # a process that has just ended holds none
            held[pid] = sum(os.readlink(fd) in sockets for fd in Path(f"/proc/{pid}/fd").iterdir())
    return +held


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)  # /proc/net/tcp: hex address:port


def children_of(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent:
                found.append(int(stat.parent.name))
    return found


def answer(
    connection: HTTPConnection, path: str, payload: bytes, headers: dict[str, str]
) -> Answer:
    sent = time.monotonic()
    connection.request("POST", path, payload, headers)
    response = connection.getresponse()
    body = response.read()
    replayed = response.getheader("Idempotent-Replayed")
    assert replayed in (None, "true"), replayed
    return Answer(
        response.status,
        response.getheader("Content-Type"),
        response.getheader("Location"),
        body,
        replayed=replayed == "true",
        sent=sent,
        received=time.monotonic(),
    )


def wait_until_every_worker_started(log: Path) -> None:
    """The server answers as soon as one worker has started; a race must reach both."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while log.read_text().count("Application startup complete.") < SERVER_WORKERS:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


def assert_one_identical_answer(name: str, answers: list[Answer], request: Write) -> None:
    """The same status, type and bytes for all; the original once, replays the rest, some of
    them sent while the original was still in flight."""
    assert len(answers) == COPIES, name
    distinct = Counter((a.status, a.content_type, a.location, a.body) for a in answers)
    assert len(distinct) == 1, (name, distinct.most_common(3))
    first = answers[0]
    assert (first.status, first.content_type, first.location) == (201, "application/json", None)
    assert request.says(json.loads(first.body)), (name, first.body)
    originals = [a for a in answers if not a.replayed]
    assert len(originals) == 1, (name, len(originals))
    original = originals[0]
    raced = [a for a in answers if a.replayed and a.sent < original.received]
    assert raced, f"{name}: no duplicate was sent while the original was in flight"


def assert_one_effect(name: str, db: Database, before: Effect, request: Write) -> None:
    rows, moved = effect_in(db).minus(before)
    assert rows == {table: request.rows.get(table, 0) for table in COUNTED}, name
    assert moved == request.moved, name


@pytest.mark.slow
def test_a_thousand_concurrent_duplicates_of_each_write_have_one_effect_and_one_same_answer(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with (
        api_server(database_url, workers=SERVER_WORKERS, log_path=log) as server,
        httpx.Client(base_url=server.url, headers=admin, timeout=30) as client,
    ):
        wait_until_every_worker_started(log)
        open_shop(client)
        for write in WRITES:
            request = write(client)
            before = effect_in(db)

            race = send_copies(server, request.path, request.body, f"dup-{write.__name__}")

            assert_one_identical_answer(write.__name__, race.answers, request)
            assert_one_effect(write.__name__, db, before, request)
            assert len(race.held) == SERVER_WORKERS, (write.__name__, race.held)
            assert race.held.total() == CLIENTS, (write.__name__, race.held)
