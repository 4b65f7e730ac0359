"""Orders through the services, on SQLite and PostgreSQL: the SQL twin of the derived status,
pickups that expire, and stores that take only so many shipments a day (issue 4).

A Paris store (ships, offers pickup) and a Lyon warehouse; customers live in Paris, so the
store is the first choice for every shipment.

Time: every write runs in a `UnitOfWork`, and every service reads the moment it acts from its
`now` attribute (omnistock.db.uow), which `Database.unit_of_work` sets from the wall clock.
To act "eight days later", `later(days, fn)` reassigns `uow.now` at the start of the unit of
work it runs in: that transaction, and only it, sees the later moment, with no patching of
the clock and nothing to undo.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from figures import feed_mark, receive
from omnistock.db import Database, UnitOfWork
from omnistock.db import orders as orders_sql
from omnistock.db.tables import movements
from omnistock.domain.availability import Channel
from omnistock.domain.catalog import Item
from omnistock.domain.errors import ExternalIdReused
from omnistock.domain.orders import Action, FulfilmentStatus, Order, OrderPolicy, OrderStatus
from omnistock.domain.stock import MovementType
from omnistock.events.feed import feed
from omnistock.services import catalog, channels, fulfilment, healing, orders, stock
from samples import STORE, TEE, WAREHOUSE

T = TypeVar("T")

RARE = Item(sku="RARE-1", name="Limited edition print")
GONE = Item(sku="GONE-1", name="Sold-out scarf")  # never any stock
CAPPED_STORE = dataclasses.replace(STORE, daily_capacity=2)
MONTMARTRE = {"lat": 48.8867, "lon": 2.3431}  # 3 km from the store, 390 from Lyon
SHIP = {
    "method": "ship",
    "address": {
        "line1": "18 rue Lepic",
        "city": "Paris",
        "postcode": "75018",
        "country": "FR",
        **MONTMARTRE,
    },
}
PICKUP = {"method": "pickup", "location": STORE.code}
IN_STORE = {"method": "in_store", "location": STORE.code}


@pytest.fixture
def paris(db: Database) -> Database:
    """The store and the warehouse, four items, the web channel; no stock yet."""
    setup(db, store=STORE)
    return db


@pytest.fixture(autouse=True)
def ledger_replays_clean(db: Database) -> Iterator[None]:
    """After every scenario, each position equals the sum of its movements."""
    yield
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


def setup(db: Database, *, store: Any) -> None:
    def create(uow: UnitOfWork) -> None:
        for item in (TEE, RARE, GONE):
            catalog.put_item(uow, item)
        for location in (store, WAREHOUSE):
            catalog.put_location(uow, location)
        channels.put_channel(uow, Channel(code="web", name="Web shop"))

    db.run(create)


def later(days: float, fn: Callable[[UnitOfWork], T]) -> Callable[[UnitOfWork], T]:
    """`fn`, run as if `days` had passed (see the module's docstring)."""

    def run(uow: UnitOfWork) -> T:
        uow.now = uow.now + dt.timedelta(days=days)
        return fn(uow)

    return run


def at(moment: dt.datetime, fn: Callable[[UnitOfWork], T]) -> Callable[[UnitOfWork], T]:
    """`fn`, run at `moment`."""

    def run(uow: UnitOfWork) -> T:
        uow.now = moment
        return fn(uow)

    return run


def stock_up(db: Database, sku: str, units: dict[str, int]) -> None:
    for code, quantity in units.items():
        db.run(functools.partial(receive, location=code, sku=sku, quantity=quantity))


def new_order(
    *lines: tuple[str, int], delivery: dict[str, Any] = SHIP, allow_partial: bool = False
) -> orders.NewOrder:
    return orders.NewOrder(
        channel="web",
        customer={"name": "Louise Bernard", "email": "louise@example.com"},
        delivery=delivery,
        lines=[(sku, quantity, Decimal("19.90")) for sku, quantity in lines],
        allow_partial=allow_partial,
    )


def place(db: Database, *lines: tuple[str, int], **fields: Any) -> Order:
    order, created = db.run(lambda uow: orders.place(uow, new_order(*lines, **fields)))
    assert created
    return order


def act(db: Database, fulfilment_id: int, *actions: str, **details: Any) -> None:
    for action in actions:
        db.run(
            functools.partial(
                fulfilment.act, fulfilment_id=fulfilment_id, action=Action(action), **details
            )
        )


def open_fulfilment(db: Database, order_id: int) -> int:
    """The id of the order's one fulfilment still carrying units."""
    found = get(db, order_id)
    gone = (FulfilmentStatus.CANCELLED, FulfilmentStatus.REJECTED)
    (live,) = [f for f in found.fulfilments if f.status not in gone]
    return live.id


def get(db: Database, order_id: int) -> Order:
    with db.reading() as reads:
        return orders.get(reads, order_id)


def position(db: Database, sku: str, location: str) -> dict[str, int]:
    with db.reading() as reads:
        for code, found in stock.stock_of(reads, sku):
            if code == location:
                return found.as_dict()
    raise AssertionError(f"no position of {sku} at {location}")


# --------------------------------------------------------------------------- derived status


def an_order_in_every_status(db: Database) -> dict[int, tuple[str, OrderStatus]]:
    """Orders that reached each status by different roads: {id: (how, the status DESIGN
    gives)}."""
    stock_up(db, TEE.sku, {STORE.code: 30})
    stock_up(db, RARE.sku, {STORE.code: 2})
    built: dict[int, tuple[str, OrderStatus]] = {}

    def keep(how: str, order: Order, status: OrderStatus) -> int:
        built[order.id] = (how, status)
        return order.id

    expired = keep(
        "never collected", place(db, (TEE.sku, 1), delivery=PICKUP), OrderStatus.CANCELLED
    )
    act(db, open_fulfilment(db, expired), "pick", "ready")
    assert db.run(later(8, fulfilment.expire_pickups)) == 1
    keep("nothing in stock", place(db, (GONE.sku, 2), allow_partial=True), OrderStatus.BACKORDERED)
    rejected = keep("rejected, nowhere else", place(db, (RARE.sku, 1)), OrderStatus.BACKORDERED)
    act(db, open_fulfilment(db, rejected), "reject", reason="not found")
    keep(
        "short of one rare print",
        place(db, (RARE.sku, 3), allow_partial=True),
        OrderStatus.PARTIALLY_ALLOCATED,
    )
    keep("waiting for the picker", place(db, (TEE.sku, 1)), OrderStatus.ALLOCATED)
    keep("pickup waiting", place(db, (TEE.sku, 1), delivery=PICKUP), OrderStatus.ALLOCATED)
    picked = keep("picked", place(db, (TEE.sku, 1)), OrderStatus.IN_PROGRESS)
    act(db, open_fulfilment(db, picked), "pick")
    ready = keep(
        "ready at the store", place(db, (TEE.sku, 1), delivery=PICKUP), OrderStatus.IN_PROGRESS
    )
    act(db, open_fulfilment(db, ready), "pick", "ready")
    partly = keep(
        "delivered but a line waits",
        place(db, (TEE.sku, 1), (GONE.sku, 1), allow_partial=True),
        OrderStatus.IN_PROGRESS,
    )
    act(db, open_fulfilment(db, partly), "pick", "pack", "ship", "deliver")
    delivered = keep("delivered", place(db, (TEE.sku, 2)), OrderStatus.COMPLETED)
    act(db, open_fulfilment(db, delivered), "pick", "pack", "ship", "deliver")
    collected = keep("collected", place(db, (TEE.sku, 1), delivery=PICKUP), OrderStatus.COMPLETED)
    act(db, open_fulfilment(db, collected), "pick", "ready", "collect")
    keep("sold in store", place(db, (TEE.sku, 1), delivery=IN_STORE), OrderStatus.COMPLETED)
    rest_cancelled = keep(
        "delivered, the waiting line cancelled",
        place(db, (TEE.sku, 1), (GONE.sku, 1), allow_partial=True),
        OrderStatus.COMPLETED,
    )
    act(db, open_fulfilment(db, rest_cancelled), "pick", "pack", "ship", "deliver")
    db.run(lambda uow: orders.cancel(uow, rest_cancelled, [(GONE.sku, 1)]))
    called_off = keep("called off", place(db, (TEE.sku, 3)), OrderStatus.CANCELLED)
    db.run(lambda uow: orders.cancel(uow, called_off))
    dropped = keep("its fulfilment cancelled", place(db, (TEE.sku, 1)), OrderStatus.CANCELLED)
    act(db, open_fulfilment(db, dropped), "pick", "cancel")
    given_up = keep(
        "backorder given up", place(db, (GONE.sku, 1), allow_partial=True), OrderStatus.CANCELLED
    )
    db.run(lambda uow: orders.cancel(uow, given_up))
    return built


def test_the_sql_status_filter_agrees_with_the_derived_status_in_every_status(
    paris: Database,
) -> None:
    built = an_order_in_every_status(paris)

    with paris.reading() as reads:
        every, _ = orders.list_orders(reads, limit=500)
        derived = {o.id: o.status for o in every}
        listed = {
            status: [o.id for o in orders.list_orders(reads, status=status, limit=500)[0]]
            for status in OrderStatus
        }

    wrong = {
        how: (derived[i], status) for i, (how, status) in built.items() if derived[i] != status
    }
    assert wrong == {}, "the order view says what DESIGN says"
    assert set(derived) == set(built)
    assert set(derived.values()) == set(OrderStatus)
    for status in OrderStatus:
        assert listed[status] == sorted(i for i, s in derived.items() if s is status), status


def test_the_status_filter_pages_like_the_whole_list(paris: Database) -> None:
    stock_up(paris, TEE.sku, {STORE.code: 10})
    ids = [place(paris, (TEE.sku, 1)).id for _ in range(5)]
    act(paris, open_fulfilment(paris, ids[2]), "pick")

    pages, after = [], 0
    with paris.reading() as reads:
        while True:
            page, following = orders.list_orders(
                reads, status=OrderStatus.ALLOCATED, after=after, limit=2
            )
            pages.append([o.id for o in page])
            if following is None:
                break
            after = following

    assert [i for page in pages for i in page] == [ids[0], ids[1], ids[3], ids[4]]


# --------------------------------------------------------------------------- pickup expiry


def test_a_pickup_left_uncollected_for_a_week_expires_and_its_units_go_back(
    paris: Database,
) -> None:
    stock_up(paris, TEE.sku, {STORE.code: 3})
    pickup = place(paris, (TEE.sku, 2), delivery=PICKUP)
    waiting = open_fulfilment(paris, pickup.id)
    act(paris, waiting, "pick", "ready")
    assert position(paris, TEE.sku, STORE.code)["reserved"] == 2

    assert paris.run(later(6, fulfilment.expire_pickups)) == 0, "six days: still waiting"
    assert get(paris, pickup.id).status is OrderStatus.IN_PROGRESS
    mark = feed_mark(paris)
    assert paris.run(later(8, fulfilment.expire_pickups)) == 1

    with paris.reading() as reads:
        found = orders.detail(reads, pickup.id)
    (expired,) = found.order.fulfilments
    assert (expired.id, expired.status) == (waiting, FulfilmentStatus.EXPIRED)
    assert expired.reason == "not collected within 7 days"
    assert found.order.status is OrderStatus.CANCELLED
    assert [(line.sku, line.cancelled) for line in found.order.lines] == [(TEE.sku, 2)]
    assert any(entry["event"] == "fulfillment_expired" for entry in found.history)
    assert position(paris, TEE.sku, STORE.code) == {
        "on_hand": 3,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 3,
    }
    with paris.read() as conn:
        ledger = conn.execute(
            select(movements.c.type, movements.c.reserved, movements.c.reference)
            .where(movements.c.sku == TEE.sku)
            .order_by(movements.c.id)
        ).all()
    assert tuple(ledger[-1]) == ("deallocate", -2, f"order:{pickup.id}")
    shown, _ = feed(paris, after=mark, limit=1000)
    changed = [e["data"] for e in shown if e["type"] == "fulfillment.status_changed"]
    assert [(f["id"], f["status"]) for f in changed] == [(waiting, "expired")]
    assert paris.run(later(9, fulfilment.expire_pickups)) == 0, "it expires once"


def test_only_pickups_waiting_at_the_store_expire(paris: Database) -> None:
    stock_up(paris, TEE.sku, {STORE.code: 5})
    allocated = place(paris, (TEE.sku, 1), delivery=PICKUP)
    picked = place(paris, (TEE.sku, 1), delivery=PICKUP)
    act(paris, open_fulfilment(paris, picked.id), "pick")
    shipment = place(paris, (TEE.sku, 1))
    act(paris, open_fulfilment(paris, shipment.id), "pick", "pack")

    assert paris.run(later(30, fulfilment.expire_pickups)) == 0

    assert [get(paris, o.id).status for o in (allocated, picked, shipment)] == [
        "allocated",
        "in_progress",
        "in_progress",
    ]
    assert position(paris, TEE.sku, STORE.code)["reserved"] == 3


def test_the_pickup_expiry_follows_the_retailers_policy(database_url: str, db: Database) -> None:
    impatient = Database(database_url, policy=OrderPolicy(pickup_expiry_days=2))
    try:
        setup(impatient, store=STORE)
        stock_up(impatient, TEE.sku, {STORE.code: 1})
        pickup = place(impatient, (TEE.sku, 1), delivery=PICKUP)
        act(impatient, open_fulfilment(impatient, pickup.id), "pick", "ready")

        assert impatient.run(later(1, fulfilment.expire_pickups)) == 0
        assert impatient.run(later(3, fulfilment.expire_pickups)) == 1

        (expired,) = get(impatient, pickup.id).fulfilments
        assert expired.reason == "not collected within 2 days"
        assert position(impatient, TEE.sku, STORE.code)["available"] == 1
    finally:
        impatient.dispose()


# --------------------------------------------------------------------------- daily capacity


@pytest.fixture
def capped(db: Database) -> Database:
    """The Paris store may accept 2 shipments a day; both locations have plenty."""
    setup(db, store=CAPPED_STORE)
    stock_up(db, TEE.sku, {STORE.code: 10, WAREHOUSE.code: 10})
    return db


#: Noon (UTC) today: every order of a test lands on the same day, whatever the clock says.
NOON = dt.datetime.now(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def place_at(db: Database, moment: dt.datetime, *lines: tuple[str, int], **fields: Any) -> Order:
    order, created = db.run(at(moment, lambda uow: orders.place(uow, new_order(*lines, **fields))))
    assert created
    return order


def shipped_from(order: Order) -> list[str]:
    return [f.location for f in order.fulfilments]


def test_a_store_at_its_daily_capacity_is_skipped_and_the_decision_says_so(
    capped: Database,
) -> None:
    first, second, third = (place_at(capped, NOON, (TEE.sku, 1)) for _ in range(3))

    assert [shipped_from(o) for o in (first, second, third)] == [
        [STORE.code],
        [STORE.code],
        [WAREHOUSE.code],
    ]
    with capped.reading() as reads:
        decision = orders.sourcing_view(orders.sourcing_of(reads, third.id))["decision"]
        accepted = orders_sql.accepted_today(reads.conn, [STORE.code], NOON.date().isoformat())
    (store,) = [c for c in decision["considered"] if c["location"] == STORE.code]
    assert store["verdict"] == "at capacity"
    assert "capacity" in store["why"]
    assert store["sellable"] == {TEE.sku: 8}, "it had the units, not the room"
    assert accepted == {STORE.code: 2}


def test_a_pickup_does_not_count_against_the_stores_daily_capacity(capped: Database) -> None:
    for _ in range(2):
        place_at(capped, NOON, (TEE.sku, 1))

    pickup = place_at(capped, NOON, (TEE.sku, 1), delivery=PICKUP)

    assert shipped_from(pickup) == [STORE.code]
    with capped.read() as conn:
        accepted = orders_sql.accepted_today(conn, [STORE.code], NOON.date().isoformat())
    assert accepted == {STORE.code: 2}


def test_a_store_at_capacity_today_ships_again_tomorrow(capped: Database) -> None:
    for _ in range(2):
        place_at(capped, NOON, (TEE.sku, 1))

    tomorrow = place_at(capped, NOON + dt.timedelta(days=1), (TEE.sku, 1))

    assert shipped_from(tomorrow) == [STORE.code]


def test_healing_does_not_send_a_promise_to_a_store_at_capacity(db: Database) -> None:
    """A count finds the warehouse's promised unit gone; the store has units again but has
    accepted its two shipments today, so the order waits as a backorder instead."""
    setup(db, store=CAPPED_STORE)
    stock_up(db, TEE.sku, {STORE.code: 2, WAREHOUSE.code: 1})
    for _ in range(2):
        place_at(db, NOON, (TEE.sku, 1))
    far = place_at(db, NOON, (TEE.sku, 1))
    assert shipped_from(far) == [WAREHOUSE.code]
    stock_up(db, TEE.sku, {STORE.code: 5})

    db.run(
        at(
            NOON,
            lambda uow: stock.record_movement(
                uow,
                location=WAREHOUSE.code,
                sku=TEE.sku,
                movement_type=MovementType.COUNT,
                quantity=0,
            ),
        )
    )

    found = get(db, far.id)
    assert (found.status, [(line.sku, line.backordered) for line in found.lines]) == (
        OrderStatus.BACKORDERED,
        [(TEE.sku, 1)],
    )
    assert position(db, TEE.sku, WAREHOUSE.code)["available"] == 0


def test_healing_still_heals_when_promises_keep_landing_while_it_locks(
    paris: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """On PostgreSQL, healing locks the holds and orders with promises at the short location
    before the positions, and starts over when new ones landed meanwhile. If they never stop
    landing, the last try locks as it is, says so in the log, and heals all the same. (SQLite
    has one writer: it never needs to lock ahead.)"""
    stock_up(paris, TEE.sku, {STORE.code: 1, WAREHOUSE.code: 3})
    order = place(paris, (TEE.sku, 1))
    assert [f.location for f in order.fulfilments] == [STORE.code]
    promised_at = healing._promised_at
    calls = iter(range(1_000))

    def ever_more_promises(*args: Any) -> Any:
        found = promised_at(*args)  # one more order each time it looks
        return dataclasses.replace(found, orders=found.orders | {-next(calls)})

    monkeypatch.setattr(healing, "_promised_at", ever_more_promises)

    with caplog.at_level("WARNING", logger="omnistock.healing"):
        paris.run(
            lambda uow: stock.record_movement(
                uow,
                location=STORE.code,
                sku=TEE.sku,
                movement_type=MovementType.SALE,
                quantity=1,
            )
        )

    moved = get(paris, order.id)
    live = [f for f in moved.fulfilments if f.status is FulfilmentStatus.ALLOCATED]
    assert [f.location for f in live] == [WAREHOUSE.code]
    assert position(paris, TEE.sku, STORE.code)["available"] == 0
    warned = [r for r in caplog.records if "promises keep landing" in r.getMessage()]
    assert len(warned) == (0 if paris.is_sqlite else 1)


def test_threads_racing_two_orders_under_one_external_id_place_one_and_refuse_the_other(
    paris: Database,
) -> None:
    """Sixteen threads send external id WEB-7 at once: half of them one order (a tee), half
    another (two tees). Exactly one order is placed. Every thread that sent it gets it back
    (placed once, then answered as it stands); every other thread is told the quantity
    differs, and reserved nothing."""
    stock_up(paris, TEE.sku, {WAREHOUSE.code: 10})
    one, two = (dataclasses.replace(new_order((TEE.sku, q)), external_id="WEB-7") for q in (1, 2))
    start = threading.Barrier(16)

    def send(new: orders.NewOrder) -> tuple[Order, bool] | ExternalIdReused:
        start.wait()
        try:
            return paris.run(lambda uow: orders.place(uow, new))
        except ExternalIdReused as refused:
            return refused

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, [one, two] * 8))

    placed = [a for a in answers if not isinstance(a, ExternalIdReused)]
    refused = [a for a in answers if isinstance(a, ExternalIdReused)]
    assert sum(created for _, created in placed) == 1
    [order] = {order.id: order for order, _ in placed}.values()
    winner = order.lines[0].quantity
    assert len(placed) == len(refused) == 8
    assert all(order.lines[0].quantity == winner for order, _ in placed)
    assert all(r.order_id == order.id and r.differs == ["lines[0].quantity"] for r in refused)
    with paris.reading() as reads:
        assert [o.id for o in orders.list_orders(reads, after=0, limit=10)[0]] == [order.id]
        assert dict(stock.stock_of(reads, TEE.sku))[WAREHOUSE.code].reserved == winner
