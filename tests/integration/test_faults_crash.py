"""kill -9 under load: an acknowledged write survives, and nothing is ever half written.

DESIGN invariants 2, 3 and 4 over HTTP, on SQLite (one server process) and on PostgreSQL
(two): 16 clients write movements, holds, releases and orders (`crash_load`) to a real
server until its whole process group is killed with SIGKILL at a random moment, 10 times.
After each restart, before anything else is written:

- every acknowledged movement, hold and order is there, as it was answered;
- every write whose answer was lost is absent or whole: a movement is there once, a hold has
  its lines and its ledger, an order its lines, its fulfilments and its ledger; sent again
  with its `Idempotency-Key` or `external_id`, the restarted server answers with exactly the
  write found (a replay), or makes it now if none was found;
- every hold's and every order's ledger agrees with what it promises, the positions equal the
  sum of the ledger (`omnistock check`) and none is physically impossible;
- the newest available-to-sell published in the event feed for every (channel, sku) is the
  figure computed from the stock now, and the one stored as published.

The moments of the kills are seeded; only the timing of the load varies from run to run.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from crash_load import (
    CHANNELS,
    PRICES,
    SKUS,
    STORE,
    WAREHOUSE,
    Client,
    Outcome,
    Request,
    api_client,
    load_then_kill,
    send,
)
from sqlalchemy import Row, select, text
from test_concurrency import wait_until_no_statement_is_running

from omnistock.db import Database
from omnistock.db import tables as t
from omnistock.domain.stock import Position
from omnistock.events.feed import feed
from omnistock.services import availability, stock
from servers import ApiServer, api_server

ROUNDS = 10
CLIENTS = 16
SEED = 20261231
FEED_SECONDS = 30.0  # a bound against a feed that never catches up
#: Statuses of a fulfilment that no longer holds units for its order, and of one whose units
#: are still reserved for it.
DROPPED = {"cancelled", "rejected", "expired"}
OPEN = {"allocated", "picked", "packed", "ready_for_pickup"}
MOVEMENT_FIELDS = ("location", "sku", "type", "on_hand", "reserved", "unsellable", "inbound")

Key = tuple[str, str]  # (location, sku)


@pytest.mark.slow
def test_a_server_killed_under_load_loses_no_acknowledged_write_and_leaves_none_half_done(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    moments = random.Random(SEED)
    clients = [Client(n, random.Random(SEED + n)) for n in range(CLIENTS)]
    book = Book()
    workers = 1 if db.is_sqlite else 2  # SQLite has one writer; PostgreSQL scales out
    for round_ in range(ROUNDS + 1):
        with api_server(database_url, workers=workers, log_path=tmp_path / "server.log") as server:
            if round_ == 0:
                set_up(server, book)
            else:
                after_restart(server, db, book, last=round_ == ROUNDS)
            if round_ < ROUNDS:
                after = moments.uniform(0.2, 1.0)
                book.take_all(load_then_kill(server.url, clients, round_, server.kill, after))
    print(f"\n{db.dialect}: {dict(book.tally)}")  # what the kills hit
    assert book.tally["lost"] == ROUNDS * CLIENTS  # each client lost one answer per kill
    assert book.tally["acknowledged"] > ROUNDS * CLIENTS


def after_restart(server: ApiServer, db: Database, book: Book, *, last: bool) -> None:
    """Check what the kill left, then send the writes whose answer was lost again (the
    next round's checks cover their answers; after the last round, check them now)."""
    wait_until_no_statement_is_running(db)
    verify(db, book)
    send_lost_again(server, db, book)
    if last:
        verify(db, book)


# --------------------------------------------------------------------------- the shop


def set_up(server: ApiServer, book: Book) -> None:
    """Three items at a warehouse and a store, 40 units each; the web shop sells from both,
    the marketplace from the warehouse, keeping 20% back; the web keeps 1 unit per store."""
    place = {"lat": 45.764, "lon": 4.8357, "ship_enabled": True, "pickup_enabled": True}
    with api_client(server.url) as http:
        for path, body in [
            *((f"/v1/items/{sku}", {"name": sku, "price": PRICES[sku]}) for sku in SKUS),
            (f"/v1/locations/{WAREHOUSE}", {"name": "w", "type": "warehouse", **place}),
            (f"/v1/locations/{STORE}", {"name": "s", "type": "store", **place}),
            ("/v1/channels/web", {"name": "Web shop"}),
            ("/v1/channels/mkt", {"name": "Marketplace", "location_types": ["warehouse"]}),
        ]:
            answered = http.put(path, json=body)
            assert answered.status_code == 201, answered.text
        for rule in (
            {"channel": "mkt", "percent": 20},
            {"channel": "web", "location_type": "store", "units": 1},
        ):
            assert http.post("/v1/buffer-rules", json=rule).status_code == 201
        for sku in SKUS:
            for code in (WAREHOUSE, STORE):
                body = {"location": code, "sku": sku, "type": "receipt", "quantity": 40}
                tag = f"setup-{code}-{sku}"
                request = Request(
                    tag, "movement", "POST", "/v1/stock/movements", body | {"reference": tag}
                )
                outcome = send(http, request)
                assert outcome.status == 201, outcome.answer
                book.take(outcome)


# --------------------------------------------------------------------------- what was answered


@dataclass
class Book:
    """What the clients were told, over every round; and this round's writes in doubt."""

    movements: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> as answered
    holds: dict[str, dict[str, Any]] = field(default_factory=dict)
    hold_status: dict[str, set[str]] = field(default_factory=dict)  # what it may be now
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    lost: list[Request] = field(default_factory=list)
    published: dict[tuple[str, str], int] = field(default_factory=dict)
    feed_mark: int = 0
    tally: Counter[str] = field(default_factory=Counter)

    def take_all(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.take(outcome)

    def take(self, outcome: Outcome) -> None:
        request, answer = outcome.request, outcome.answer
        if outcome.status is None:
            self.lost.append(request)
            self.tally["lost"] += 1
            if request.kind == "order" and request.hold_id is not None:
                self.hold_status[request.hold_id].add("ordered")
            return
        assert outcome.acknowledged or outcome.refused, (request, outcome.status, answer)
        self.tally["acknowledged" if outcome.acknowledged else "refused"] += 1
        if not outcome.acknowledged:
            return
        match request.kind:
            case "movement":
                self.movements[answer["movement"]["id"]] = answer["movement"]
            case "hold":
                self.holds[answer["id"]] = answer
                self.hold_status[answer["id"]] = {"active", "released"}  # healing may end it
            case "release":
                assert request.hold_id is not None
                self.hold_status[request.hold_id] = {answer["status"]}
            case "order":
                self.orders[answer["id"]] = answer
                if request.hold_id is not None:
                    self.hold_status[request.hold_id] = {"ordered"}


# --------------------------------------------------------------------------- what is stored


@dataclass
class Snapshot:
    """The writes as the database holds them, read after the restart."""

    movements: list[Row[Any]]
    holds: dict[str, Row[Any]]
    hold_lines: dict[str, list[Row[Any]]]
    orders: dict[int, Row[Any]]
    order_lines: dict[int, list[Row[Any]]]
    fulfilments: dict[int, list[tuple[Row[Any], dict[str, int]]]]
    changed: set[int]  # orders with history after they were placed

    by_reference: dict[str | None, list[Row[Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_reference = grouped(self.movements, "reference")

    def ledger_of(self, reference: str, type_: str | None = None) -> dict[Key, Position]:
        """The sum of the movements under `reference` (of `type_` only if given), by
        (location, sku)."""
        sums: dict[Key, Position] = defaultdict(Position)
        for m in self.by_reference.get(reference, []):
            if type_ in (None, m.type):
                before = sums[m.location, m.sku]
                sums[m.location, m.sku] = Position(
                    before.on_hand + m.on_hand,
                    before.reserved + m.reserved,
                    before.unsellable + m.unsellable,
                    before.inbound + m.inbound,
                )
        return sums


def snapshot(db: Database) -> Snapshot:
    with db.read() as conn:
        movements = list(conn.execute(select(t.movements).order_by(t.movements.c.id)))
        holds = {r.id: r for r in conn.execute(select(t.reservations))}
        hold_lines = grouped(conn.execute(select(t.reservation_lines)), "reservation_id")
        orders = {r.id: r for r in conn.execute(select(t.orders))}
        order_lines = grouped(conn.execute(select(t.order_lines)), "order_id")
        lines = grouped(conn.execute(select(t.fulfilment_lines)), "fulfillment_id")
        fulfilments: dict[int, list[tuple[Row[Any], dict[str, int]]]] = defaultdict(list)
        for f in conn.execute(select(t.fulfilments).order_by(t.fulfilments.c.id)):
            fulfilments[f.order_id].append((f, {x.sku: x.quantity for x in lines[f.id]}))
        history = select(t.order_history.c.order_id).join(t.orders)
        since = history.where(t.order_history.c.at != t.orders.c.created_at)
        changed = set(conn.scalars(since))
    return Snapshot(movements, holds, hold_lines, orders, order_lines, fulfilments, changed)


def grouped(rows: Any, column: str) -> dict[Any, list[Row[Any]]]:
    found: dict[Any, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        found[getattr(row, column)].append(row)
    return found


# --------------------------------------------------------------------------- the checks


def verify(db: Database, book: Book) -> None:
    snap = snapshot(db)
    assert_acknowledged_writes_are_there(snap, book)
    assert_no_write_is_half_there(snap, book)
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
        stored = [p for sku in SKUS for _, p in stock.stock_of(reads, sku)]
    assert all(p.is_physically_possible for p in stored), stored
    assert_published_ats_is_the_ats_now(db, book)


def assert_acknowledged_writes_are_there(snap: Snapshot, book: Book) -> None:
    ledger = {m.id: m for m in snap.movements}
    for movement_id, answered in book.movements.items():
        m = ledger.get(movement_id)
        assert m is not None, f"acknowledged movement lost: {answered}"
        stored = {name: getattr(m, name) for name in (*MOVEMENT_FIELDS, "reference")}
        assert stored == {name: answered[name] for name in stored}
    for hold_id, answered in book.holds.items():
        assert hold_id in snap.holds, f"acknowledged hold lost: {answered}"
        asked = sorted((x["sku"], x["quantity"]) for x in answered["lines"])
        held = {(a["location"], a["sku"]): a["quantity"] for a in answered["allocations"]}
        assert (snap.holds[hold_id].channel, *hold_lines(snap, hold_id)) == (
            answered["channel"],
            asked,
            held,
        )
        assert snap.holds[hold_id].status in book.hold_status[hold_id]
    for order_id, answered in book.orders.items():
        assert_order_is_as_answered(snap, order_id, answered)


def assert_order_is_as_answered(snap: Snapshot, order_id: int, answered: dict[str, Any]) -> None:
    order = snap.orders.get(order_id)
    assert order is not None, f"acknowledged order lost: {answered}"
    assert (order.channel, order.external_id) == (answered["channel"], answered["external_id"])
    lines = sorted(snap.order_lines[order_id], key=lambda x: x.line)
    assert [(x.sku, x.quantity, x.unit_price) for x in lines] == [
        (x["sku"], x["quantity"], Decimal(x["unit_price"])) for x in answered["lines"]
    ]
    if order_id not in snap.changed:  # nothing happened to it since it was answered
        assert [(f.id, f.location, f.status, units) for f, units in snap.fulfilments[order_id]] == [
            (f["id"], f["location"], f["status"], {x["sku"]: x["quantity"] for x in f["lines"]})
            for f in answered["fulfillments"]
        ]
        assert [x.backordered for x in lines] == [x["backordered"] for x in answered["lines"]]


def hold_lines(snap: Snapshot, hold_id: str) -> tuple[list[tuple[str, int]], dict[Key, int]]:
    """A hold's lines as asked (sorted) and its allocations by (location, sku)."""
    rows = snap.hold_lines[hold_id]
    asked = sorted((r.sku, r.quantity) for r in rows if r.location is None)
    return asked, {(r.location, r.sku): r.quantity for r in rows if r.location is not None}


def assert_no_write_is_half_there(snap: Snapshot, book: Book) -> None:
    lost = {r.tag: r for r in book.lost}
    tags: Counter[str] = Counter()
    for m in snap.movements:
        kind, _, name = (m.reference or "").partition(":")
        if kind == "reservation":
            assert name in snap.holds, m
        elif kind == "order":
            assert int(name) in snap.orders, m
        else:
            tags[m.reference] += 1
            assert m.id in book.movements or is_lost_movement(m, lost.get(m.reference)), m
    assert [tag for tag, n in tags.items() if n > 1] == []  # each movement once
    unanswered = snap.holds.keys() - book.holds.keys()
    assert len(unanswered) <= sum(r.kind == "hold" for r in book.lost), unanswered
    ordered = {o.reservation_id: o.id for o in snap.orders.values() if o.reservation_id}
    for hold_id in snap.holds:
        assert_hold_is_whole(snap, hold_id, ordered.get(hold_id))
    for order_id, order in snap.orders.items():
        if order_id not in book.orders:  # committed, its answer lost in the kill
            request = lost.get(order.external_id or "")
            assert request is not None and request.kind == "order", order
        assert_order_is_whole(snap, order_id)


def is_lost_movement(m: Row[Any], request: Request | None) -> bool:
    """Whether `m` is the movement a request whose answer was lost asked for."""
    if request is None or request.kind != "movement" or request.body is None:
        return False
    return (m.location, m.sku, m.type) == tuple(
        request.body[k] for k in ("location", "sku", "type")
    )


def assert_hold_is_whole(snap: Snapshot, hold_id: str, order_id: int | None) -> None:
    """A hold allocates every unit asked, its ledger reserved them, and gave them back if it
    ended without an order; an ordered hold is some order's."""
    hold = snap.holds[hold_id]
    asked, held = hold_lines(snap, hold_id)
    assert asked, hold
    per_sku: Counter[str] = Counter()
    for (_, sku), quantity in held.items():
        per_sku[sku] += quantity
    assert sorted(per_sku.items()) == asked, (hold, held)
    reserve = snap.ledger_of(f"reservation:{hold_id}", "reserve")
    assert {key: p.reserved for key, p in reserve.items()} == held, hold
    still = hold.status in ("active", "ordered")
    net = snap.ledger_of(f"reservation:{hold_id}")
    assert nonzero({k: p.reserved for k, p in net.items()}) == (held if still else {}), hold
    assert all((p.on_hand, p.unsellable, p.inbound) == (0, 0, 0) for p in net.values())
    assert (hold.status == "ordered") == (order_id is not None), hold


def assert_order_is_whole(snap: Snapshot, order_id: int) -> None:
    """An order has its lines; each unit is in a live fulfilment, backordered or cancelled;
    its ledger (with the hold it took over) reserves what its open fulfilments hold and took
    off the shelf what was collected."""
    order, lines = snap.orders[order_id], snap.order_lines[order_id]
    assert lines, order
    live: Counter[str] = Counter()
    allocated: Counter[Key] = Counter()
    collected: Counter[Key] = Counter()
    for f, units in snap.fulfilments[order_id]:
        assert units, f
        for sku, quantity in units.items():
            live[sku] += 0 if f.status in DROPPED else quantity
            allocated[f.location, sku] += quantity if f.status in OPEN else 0
            collected[f.location, sku] += quantity if f.status == "collected" else 0
    for line in lines:
        assert line.backordered + line.cancelled + live[line.sku] == line.quantity, line
    ledger = snap.ledger_of(f"order:{order_id}")
    taken_over = hold_lines(snap, order.reservation_id)[1] if order.reservation_id else {}
    reserved = {key: taken_over.get(key, 0) for key in taken_over.keys() | ledger.keys()}
    for key, p in ledger.items():
        reserved[key] += p.reserved
    assert nonzero(reserved) == nonzero(allocated), order
    assert nonzero({k: -p.on_hand for k, p in ledger.items()}) == nonzero(collected), order
    assert all((p.unsellable, p.inbound) == (0, 0) for p in ledger.values())


def nonzero(counts: dict[Key, int]) -> dict[Key, int]:
    return {key: n for key, n in counts.items() if n}


def assert_published_ats_is_the_ats_now(db: Database, book: Book) -> None:
    """The figure stored as last published for each (channel, sku) is the one computed
    now, and so is the newest in the feed once the feed has caught up.

    On PostgreSQL an event gets its place in the feed only once every older transaction has
    ended (`omnistock.db.outbox`): the feed may lag a moment behind the commits, never for
    good. It is read until it shows the figures, for FEED_SECONDS at most.
    """
    with db.reading() as reads:
        now = {
            (channel, a.sku): a.available_to_sell
            for channel in CHANNELS
            for a in availability.of_items(reads, channel=channel, skus=SKUS)
        }
    with db.read() as conn:
        rows = conn.execute(select(t.channel_availability))
        stored = {(r.channel, r.sku): r.available_to_sell for r in rows}
    assert stored == now
    deadline = time.monotonic() + FEED_SECONDS
    while True:
        events, book.feed_mark = feed(db, after=book.feed_mark, limit=1_000_000)
        for e in events:
            if e["type"] == "availability.changed":
                data = e["data"]
                book.published[data["channel"], data["sku"]] = data["available_to_sell"]
        if book.published == now:
            return
        assert time.monotonic() < deadline, (book.published, now, unsequenced(db))
        time.sleep(0.05)  # the feed has not caught up yet: poll again


def unsequenced(db: Database) -> Any:
    """What holds the feed back: events without a seq, and the transactions still open."""
    with db.read() as conn:
        waiting = conn.execute(
            select(t.events.c.id, t.events.c.xid, t.events.c.type).where(t.events.c.seq.is_(None))
        ).all()
        if db.is_sqlite:
            return waiting
        sessions = conn.execute(
            text(
                "SELECT pid, state, backend_xid, backend_xmin, query FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).all()
    return waiting, sessions


# --------------------------------------------------------------------------- after a restart


def send_lost_again(server: ApiServer, db: Database, book: Book) -> None:
    """Send each write whose answer was lost again, as a client retries: one committed
    before the kill is answered as it was made (a replay, the same id), one that was not is
    made now."""
    snap = snapshot(db)
    movement_of = {m.reference: m.id for m in snap.movements}
    order_of = {o.external_id: o.id for o in snap.orders.values()}
    unanswered_holds = snap.holds.keys() - book.holds.keys()
    replayed_holds = set()
    lost, book.lost = book.lost, []
    with api_client(server.url) as http:
        for request in lost:
            outcome = send(http, request)
            assert outcome.status is not None, request
            committed = was_committed(request, outcome, movement_of, order_of)
            book.tally["committed, answer lost"] += committed
            if request.kind == "hold" and outcome.replayed and outcome.acknowledged:
                replayed_holds.add(outcome.answer["id"])
            book.take(outcome)
    assert replayed_holds == unanswered_holds


def was_committed(
    request: Request, outcome: Outcome, movement_of: dict[str, int], order_of: dict[str, int]
) -> bool:
    """Whether the retry says the write was made before the kill, checked against the
    database as found after the restart."""
    answer = outcome.answer
    match request.kind:
        case "movement":
            found = movement_of.get(request.tag)
            if found is None:
                assert not (outcome.replayed and outcome.acknowledged), answer
                return False
            assert (outcome.status, outcome.replayed, answer["movement"]["id"]) == (
                201,
                True,
                found,
            )
            return True
        case "order":
            found = order_of.get(request.tag)
            if found is None:
                assert outcome.status != 200, answer
                return False
            assert (outcome.status, answer["id"]) == (200, found)
            return True
        case "hold":
            return outcome.replayed and outcome.acknowledged
    return False
