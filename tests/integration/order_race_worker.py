"""Code that runs in the worker processes of the order races (issue 4).

Like `oversell_worker` (whose start-up it shares): each worker is a spawned interpreter with
its own `Database`, exactly like a separate API process. Its threads place multi-line ship
orders through `orders.place`, to customers all over France; now and then a store's till
sells a unit (a physical fact, which may take units already promised and make the promise
heal), and a delivery brings a unit or two somewhere, so that there is always a little stock
to race for. One worker also runs the shop floor in one more thread while its placers place:
it picks, packs and ships, cancels, rejects (a unit not found) and cancels whole orders.

Every outcome is sorted into the report: an order placed (with what the service said it
allocated), refused with InsufficientStock, a sale recorded or refused with StockConflict,
a floor action done or refused with a domain error its stale view explains; anything else
is unexpected (no lock, busy, deadlock or serialization error may reach a caller).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from oversell_worker import START_TIMEOUT_SECONDS, warm_up
from sqlalchemy import select

from omnistock.db import Database
from omnistock.db.tables import positions
from omnistock.domain.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    NotCancellable,
    StockConflict,
)
from omnistock.domain.orders import Action, FulfilmentStatus
from omnistock.domain.stock import MovementType
from omnistock.services import fulfilment, orders, stock

Line = tuple[str, int]  # sku, quantity
Placement = tuple[str, str, int]  # location, sku, quantity
UNIT_PRICE = Decimal("19.90")

#: Errors a floor action may meet because the fulfilment or the stock changed since it was
#: read (healing moved its units, a cancel came first, the units are no longer on hand):
#: legitimate answers, as a client would get them.
STALE = (InvalidTransition, InvalidInput, NotCancellable, StockConflict)


@dataclass(frozen=True, slots=True)
class Wanted:
    """An order as a customer sends it: lines, where it ships to, whether it may be partial."""

    external_id: str
    lines: tuple[Line, ...]
    ship_to: tuple[float, float]
    partial: bool


@dataclass(frozen=True, slots=True)
class Placed:
    """An order the service took, as it answered: its fulfilments and backorders."""

    wanted: Wanted
    order_id: int
    created: bool
    status: str
    fulfilments: tuple[tuple[str, tuple[Line, ...]], ...]  # location, lines
    backorders: tuple[Line, ...]

    @property
    def allocations(self) -> tuple[Placement, ...]:
        return tuple((loc, sku, q) for loc, lines in self.fulfilments for sku, q in lines)


@dataclass(frozen=True, slots=True)
class Refused:
    """An order refused with InsufficientStock, and the lines the refusal named."""

    wanted: Wanted
    short: tuple[tuple[str, int, int], ...]  # sku, requested, available


@dataclass(frozen=True, slots=True)
class Sale:
    """One unit a till tried to sell; `recorded` False: the guard refused (none on hand)."""

    location: str
    sku: str
    recorded: bool


@dataclass(frozen=True, slots=True)
class Done:
    """A floor action and how it ended: "done", or the name of the domain error it met."""

    action: str
    outcome: str


@dataclass(frozen=True, slots=True)
class OrderRace:
    """Who races for what: each placer thread places `orders_per_thread` ship orders of 2 to
    `most_lines` lines (1 to `most_units` units each), a `partial_share` of them allowing a
    partial allocation; before an order, with odds `sale_share`, a till sells a unit, and with
    odds `delivery_share`, a delivery brings 1 to `most_units` units of an item somewhere."""

    channel: str
    skus: tuple[str, ...]
    stores: tuple[str, ...]
    locations: tuple[str, ...]
    ship_to: tuple[tuple[float, float], ...]
    orders_per_thread: int
    threads: int = 4
    most_lines: int = 3
    most_units: int = 2
    partial_share: float = 0.2
    sale_share: float = 0.15
    delivery_share: float = 0.25

    def order(self, rng: random.Random, external_id: str) -> Wanted:
        skus = rng.sample(self.skus, rng.randint(2, self.most_lines))  # in random order
        lines = tuple((sku, rng.randint(1, self.most_units)) for sku in skus)
        lat, lon = rng.choice(self.ship_to)
        ship_to = (round(lat + rng.uniform(-0.2, 0.2), 4), round(lon + rng.uniform(-0.2, 0.2), 4))
        return Wanted(external_id, lines, ship_to, rng.random() < self.partial_share)


@dataclass(slots=True)
class Report:
    """What one worker process saw (threads share it: they only append to its lists)."""

    worker: int
    placed: list[Placed] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    sales: list[Sale] = field(default_factory=list)
    deliveries: list[Placement] = field(default_factory=list)
    floor: list[Done] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def race_orders(
    worker: int,
    url: str,
    race: OrderRace,
    runs_the_floor: bool,
    start: Barrier,
    results: Queue[Report],
) -> None:
    """Connect, wait for every other worker, then place orders from `race.threads` threads
    (and work the shop floor from one more while they do, if `runs_the_floor`)."""
    report = Report(worker)
    try:
        db = Database(url)
        try:
            warm_up(db, race.threads + 1)
            start.wait(timeout=START_TIMEOUT_SECONDS)
            placing = [
                threading.Thread(
                    target=place_orders,
                    args=(db, race, f"w{worker}-t{n}", random.Random(worker * 1000 + n), report),
                )
                for n in range(race.threads)
            ]
            placed = threading.Event()
            floor = threading.Thread(
                target=work_the_floor, args=(db, random.Random(worker), report, placed)
            )
            for thread in placing:
                thread.start()
            if runs_the_floor:
                floor.start()
            for thread in placing:
                thread.join()
            placed.set()
            if runs_the_floor:
                floor.join()
        finally:
            db.dispose()
    except Exception as error:
        report.unexpected.append(f"worker {worker} stopped: {error!r}")
    results.put(report)


# --------------------------------------------------------------------------- customers


def place_orders(
    db: Database, race: OrderRace, name: str, rng: random.Random, report: Report
) -> None:
    for n in range(race.orders_per_thread):
        if rng.random() < race.sale_share:
            sell_at_a_till(db, race, rng, report)
        if rng.random() < race.delivery_share:
            deliver(db, race, rng, report)
        wanted = race.order(rng, f"{name}-{n}")
        try:
            outcome = place(db, race.channel, wanted)
        except Exception as error:
            report.unexpected.append(f"{wanted}: {error!r}")
            continue
        if isinstance(outcome, Placed):
            report.placed.append(outcome)
        else:
            report.refused.append(outcome)


def place(db: Database, channel: str, wanted: Wanted) -> Placed | Refused:
    """A ship order through the service layer, as the API places it."""
    lat, lon = wanted.ship_to
    new = orders.NewOrder(
        channel=channel,
        customer={"name": f"Customer {wanted.external_id}", "email": "c@example.fr"},
        delivery={
            "method": "ship",
            "address": {
                "line1": "1 rue de la Paix",
                "city": "Somewhere",
                "postcode": "75002",
                "country": "FR",
                "lat": lat,
                "lon": lon,
            },
        },
        lines=[(sku, quantity, UNIT_PRICE) for sku, quantity in wanted.lines],
        external_id=wanted.external_id,
        allow_partial=wanted.partial,
    )
    try:
        order, created = db.run(lambda uow: orders.place(uow, new))
    except InsufficientStock as refusal:
        short = tuple((s.sku, s.requested, s.available) for s in refusal.lines)
        return Refused(wanted, short)
    return Placed(
        wanted,
        order.id,
        created,
        str(order.status),
        tuple((f.location, tuple(sorted(f.lines))) for f in order.fulfilments),
        tuple((line.sku, line.backordered) for line in order.lines if line.backordered),
    )


def sell_at_a_till(db: Database, race: OrderRace, rng: random.Random, report: Report) -> None:
    """A customer walks into a store and buys one unit, preferably of an item the store has
    promised to an order (so that the sale may take a promised unit), if it has any."""
    store = rng.choice(race.stores)
    p = positions.c
    with db.read(snapshot=False) as conn:
        shelf = conn.execute(
            select(p.sku, p.on_hand, p.reserved, p.unsellable).where(p.location == store)
        ).all()
    stocked = [row.sku for row in shelf if row.on_hand > row.unsellable]
    promised = [row.sku for row in shelf if row.on_hand > row.unsellable and row.reserved]
    if not stocked:
        return
    sku = rng.choice(promised or stocked)
    try:
        db.run(
            lambda uow: stock.record_movement(
                uow, location=store, sku=sku, movement_type=MovementType.SALE, quantity=1
            )
        )
    except StockConflict:
        report.sales.append(Sale(store, sku, recorded=False))
    except Exception as error:
        report.unexpected.append(f"sale of {sku} at {store}: {error!r}")
    else:
        report.sales.append(Sale(store, sku, recorded=True))


def deliver(db: Database, race: OrderRace, rng: random.Random, report: Report) -> None:
    """A few units of an item arrive at a warehouse or a store."""
    location, sku = rng.choice(race.locations), rng.choice(race.skus)
    quantity = rng.randint(1, race.most_units)
    try:
        db.run(
            lambda uow: stock.record_movement(
                uow,
                location=location,
                sku=sku,
                movement_type=MovementType.RECEIPT,
                quantity=quantity,
            )
        )
    except Exception as error:
        report.unexpected.append(f"delivery of {quantity} x {sku} at {location}: {error!r}")
    else:
        report.deliveries.append((location, sku, quantity))


# --------------------------------------------------------------------------- the shop floor

_FLOOR: tuple[tuple[str, int], ...] = (
    ("pick", 3),
    ("pack", 1),
    ("ship", 1),
    ("cancel", 1),
    ("reject", 3),
    ("cancel order", 1),
)
#: The status each action is taken from.
_FROM = {
    "pick": FulfilmentStatus.ALLOCATED,
    "pack": FulfilmentStatus.PICKED,
    "ship": FulfilmentStatus.PACKED,
    "cancel": FulfilmentStatus.ALLOCATED,
    "reject": FulfilmentStatus.ALLOCATED,
    "cancel order": FulfilmentStatus.ALLOCATED,
}


def work_the_floor(
    db: Database, rng: random.Random, report: Report, placed: threading.Event
) -> None:
    """Carry out, cancel and reject fulfilments until the orders are in."""
    names, weights = zip(*_FLOOR, strict=True)
    while not placed.is_set():
        action = rng.choices(names, weights)[0]
        try:
            outcome = take_action(db, rng, action)
        except STALE as error:
            outcome = type(error).__name__
        except Exception as error:
            report.unexpected.append(f"floor {action}: {error!r}")
            continue
        if outcome is None:
            time.sleep(0.01)  # nothing in that status yet
        else:
            report.floor.append(Done(action, outcome))


def take_action(db: Database, rng: random.Random, action: str) -> str | None:
    """Do `action` to a fulfilment in the status it is taken from (None: there was none)."""
    with db.reading() as reads:
        queue, _ = fulfilment.queue(reads, status=_FROM[action], limit=10_000)
    if not queue:
        return None
    chosen = rng.choice(queue)
    if action == "cancel order":
        db.run(lambda uow: orders.cancel(uow, chosen.order_id))
    elif action == "reject":
        first = min(sku for sku, _ in chosen.lines)  # the first line as the API lists them
        db.run(
            lambda uow: fulfilment.act(
                uow, chosen.id, Action.REJECT, reason="not found", missing=[(first, 1)]
            )
        )
    else:
        db.run(lambda uow: fulfilment.act(uow, chosen.id, Action(action)))
    return "done"
