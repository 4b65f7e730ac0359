"""The load of the crash test: 16 HTTP clients writing movements, holds, releases and orders
to a real server until it is killed, each request recorded with what it got.

Every write carries its own name (a tag such as ``w3-r2-17``): movements as their
`reference` and `Idempotency-Key`, holds as their `Idempotency-Key`, orders as their
`external_id`. A request whose answer was lost in the kill can so be found in the database,
and sent again after the restart to learn, from the server, whether it had been committed.
"""

from __future__ import annotations

import functools
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from samples import CUSTOMER, VILLEURBANNE
from servers import ADMIN_KEY

SKUS = ("SKU-A", "SKU-B", "SKU-C")
PRICES = {"SKU-A": "19.90", "SKU-B": "8.50", "SKU-C": "12.00"}
WAREHOUSE, STORE = "WH-1", "ST-1"
CHANNELS = ("web", "mkt")  # web sells from both locations, mkt from the warehouse only
#: Answers that refuse a write for a business reason: legitimate under load.
REFUSALS = {
    ("movement", 409, "stock-conflict"),
    ("hold", 409, "insufficient-stock"),
    ("order", 409, "insufficient-stock"),
    ("order", 409, "reservation-ended"),
}
TIMEOUT_SECONDS = 30.0  # a bound against hangs, not a measurement
_MOVEMENTS = (("receipt", 6), ("sale", 2), ("adjustment", 2), ("damage", 1), ("count", 1))
_WRITES = (("movement", 35), ("hold", 25), ("release", 10), ("order", 30))


@dataclass(frozen=True, slots=True)
class Request:
    tag: str
    kind: str  # movement, hold, release or order
    method: str
    path: str
    body: dict[str, Any] | None = None
    hold_id: str | None = None  # the hold a release or an order names

    def send(self, client: httpx.Client) -> httpx.Response:
        headers = {"Idempotency-Key": self.tag} if self.kind in ("movement", "hold") else {}
        return client.request(self.method, self.path, json=self.body, headers=headers)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A request and its answer: `status` None when the answer was lost (the kill)."""

    request: Request
    status: int | None
    answer: Any = None
    replayed: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def refused(self) -> bool:
        code = self.answer.get("code") if isinstance(self.answer, dict) else None
        return (self.request.kind, self.status, code) in REFUSALS


@dataclass
class Client:
    """One client across rounds: its name and the web holds it may still turn into orders."""

    worker: int
    rng: random.Random
    holds: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # id -> lines
    sent: int = 0

    def next_request(self, round_: int) -> Request:
        self.sent += 1
        tag = f"w{self.worker}-r{round_}-{self.sent}"
        kinds, weights = zip(*_WRITES, strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        if kind == "release" and self.holds:
            hold_id = self.rng.choice(sorted(self.holds))
            return Request(tag, kind, "DELETE", f"/v1/reservations/{hold_id}", hold_id=hold_id)
        if kind == "order":
            return self._order(tag)
        if kind == "hold":
            body = {"channel": self.rng.choice(CHANNELS), "lines": self._lines()}
            return Request(tag, kind, "POST", "/v1/reservations", body)
        return Request(tag, "movement", "POST", "/v1/stock/movements", self._movement(tag))

    def note(self, outcome: Outcome) -> None:
        """Keep track of the web holds this client may order from."""
        request = outcome.request
        if request.hold_id is not None:
            self.holds.pop(request.hold_id, None)  # released or ordered (or in doubt): done
        body = request.body or {}
        if request.kind == "hold" and outcome.acknowledged and body["channel"] == "web":
            lines = [(x["sku"], x["quantity"]) for x in outcome.answer["lines"]]
            self.holds[outcome.answer["id"]] = lines

    def _lines(self) -> list[dict[str, Any]]:
        skus = self.rng.sample(SKUS, self.rng.randint(1, 2))
        return [{"sku": sku, "quantity": self.rng.randint(1, 3)} for sku in sorted(skus)]

    def _movement(self, tag: str) -> dict[str, Any]:
        types, weights = zip(*_MOVEMENTS, strict=True)
        movement_type = self.rng.choices(types, weights)[0]
        quantity = {
            "receipt": self.rng.randint(2, 10),
            "adjustment": self.rng.choice((-1, 1)) * self.rng.randint(1, 3),
            "count": self.rng.randint(5, 30),
        }.get(movement_type, self.rng.randint(1, 2))
        return {
            "location": self.rng.choice((WAREHOUSE, STORE)),
            "sku": self.rng.choice(SKUS),
            "type": movement_type,
            "quantity": quantity,
            "reference": tag,
        }

    def _order(self, tag: str) -> Request:
        body: dict[str, Any] = {"channel": "web", "external_id": tag, "customer": CUSTOMER}
        if self.holds and self.rng.random() < 0.5:
            hold_id = self.rng.choice(sorted(self.holds))
            lines = [{"sku": s, "quantity": q} for s, q in self.holds[hold_id]]
            body |= {
                "reservation_id": hold_id,
                "delivery": {"method": "ship", "address": VILLEURBANNE},
            }
        else:
            hold_id, lines = None, self._lines()
            body["delivery"] = self.rng.choice(
                [
                    {"method": "ship", "address": VILLEURBANNE},
                    {"method": "pickup", "location": STORE},
                    {"method": "in_store", "location": STORE},
                ]
            )
            body["allow_partial"] = self.rng.random() < 0.3
        body["lines"] = [{**line, "unit_price": PRICES[line["sku"]]} for line in lines]
        return Request(tag, "order", "POST", "/v1/orders", body, hold_id=hold_id)


def api_client(url: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    return httpx.Client(
        base_url=url, headers=headers, timeout=TIMEOUT_SECONDS, verify=_tls_context()
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client (never used over plain http): building one per
    client loads the certificates each time, seconds for 16 clients on a busy machine."""
    return ssl.create_default_context()


def send(client: httpx.Client, request: Request) -> Outcome:
    """Send a request; an answer lost on the way (the kill) is an outcome too."""
    try:
        response = request.send(client)
    except httpx.TransportError:
        return Outcome(request, None)
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    try:
        answer = response.json()
    except ValueError:
        answer = response.text
    return Outcome(request, response.status_code, answer, replayed)


def write_until_cut_off(
    url: str, client: Client, round_: int, start: threading.Barrier
) -> list[Outcome]:
    """Send writes one after the other until one's answer is lost: the server was killed."""
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with api_client(url) as http:
        start.wait(TIMEOUT_SECONDS)
        while time.monotonic() < deadline:
            outcome = send(http, client.next_request(round_))
            outcomes.append(outcome)
            client.note(outcome)
            if outcome.status is None:
                return outcomes
    raise AssertionError(f"client {client.worker} was never cut off: the server was not killed")


def load_then_kill(
    url: str, clients: list[Client], round_: int, kill: Callable[[], None], after: float
) -> list[Outcome]:
    """Every client writes from the same instant; `kill()` runs `after` seconds later. Answers
    every outcome, each client's in the order sent."""
    start = threading.Barrier(len(clients) + 1)
    found: list[list[Outcome]] = [[] for _ in clients]
    failures: list[BaseException] = []

    def run(n: int) -> None:
        try:
            found[n] = write_until_cut_off(url, clients[n], round_, start)
        except BaseException as error:  # reported by the test below
            failures.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    start.wait(TIMEOUT_SECONDS)
    time.sleep(after)  # the random moment of the crash, not a wait for a result
    kill()
    for thread in threads:
        thread.join(TIMEOUT_SECONDS * 2)
    assert not any(t.is_alive() for t in threads), "a client hung after the kill"
    assert failures == []
    assert all(outcomes and outcomes[-1].status is None for outcomes in found)
    return [outcome for outcomes in found for outcome in outcomes]
