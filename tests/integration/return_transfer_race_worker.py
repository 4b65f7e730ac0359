"""Code that runs in the worker processes of the returns and transfers race (issue 5).

Like `order_race_worker` (whose start-up it shares): each worker is a spawned interpreter with
its own `Database`, exactly like a separate API process, and each of its threads plays one
part, through the services, one unit of work at a time:

- a placer places ship orders (every third of one unit, kept for the duellists), pickup
  orders, in-store sales, and fills carts (holds) it orders from, lets go of or leaves;
- the shop floor picks, packs, ships and delivers, gets pickups ready and has them
  collected, now and then cancels an allocation, and rejects a fulfilment whose units a
  fact took before they could leave;
- a returner takes back units of delivered or collected orders at a random store, sellable
  or damaged (one sku sometimes on two lines), and now and then more than the order may
  give back: that must be refused, always;
- two duellists, in two processes, read the same state at the same instant, then return the
  last unit of the same order at once, round after round: one of them only may have it;
- a clerk moves stock between locations (create, ship, receive with a shortfall or a
  surplus, cancel) and announces suppliers' deliveries, then receives them;
- a till sells where units are promised (damage at a warehouse), a unit or one more than
  is available, and another one more than is available at the origins of open transfers:
  promises there must heal.

Every action's outcome is tallied by kind: "accepted", or the name of the domain error its
kind may meet (a stale view, scarce stock); anything else is unexpected, and so is any lock,
busy, deadlock or serialization error reaching a caller. The roles other than placing and
duelling run until their process's placers are done; the duellists until both processes'
placers are.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import SynchronizedArray
from multiprocessing.synchronize import Barrier
from typing import Any

from oversell_worker import START_TIMEOUT_SECONDS, warm_up
from sqlalchemy import select

from omnistock.db import Database, ReadUnit, UnitOfWork
from omnistock.db.tables import positions
from omnistock.domain.errors import (
    InsufficientStock,
    InvalidTransition,
    NotReturnable,
    ReservationEnded,
    StockConflict,
)
from omnistock.domain.orders import (
    Action,
    DeliveryMethod,
    FulfilmentStatus,
    Order,
    OrderStatus,
)
from omnistock.domain.returns import Condition, ReturnLine
from omnistock.domain.stock import MovementType
from omnistock.domain.transfers import TransferStatus
from omnistock.services import fulfilment, orders, reservations, returns, stock, transfers

Line = tuple[str, int]  # sku, quantity
#: Orders kept for the duellists: one unit each; other returners leave them alone.
DUEL = "duel-"

#: What each kind of action may legitimately meet, as a client would: scarce stock, or a
#: view gone stale (another client acted first, healing moved units, a till took them).
EXPECTED: dict[str, tuple[type[Exception], ...]] = {
    "ship order": (InsufficientStock,),
    "pickup order": (InsufficientStock,),
    "in-store sale": (InsufficientStock,),
    "hold": (InsufficientStock,),
    "order from hold": (ReservationEnded,),
    "release hold": (),
    "pick": (InvalidTransition,),
    "pack": (InvalidTransition,),
    "ship": (InvalidTransition, StockConflict),
    "deliver": (InvalidTransition,),
    "ready": (InvalidTransition,),
    "collect": (InvalidTransition, StockConflict),
    "cancel": (InvalidTransition,),
    "reject": (InvalidTransition,),
    "return": (NotReturnable,),
    "over-return": (NotReturnable,),
    "duel": (NotReturnable,),
    "transfer": (InsufficientStock,),
    "supplier delivery": (),
    "transfer ship": (InvalidTransition,),
    "transfer receive": (InvalidTransition,),
    "transfer cancel": (InvalidTransition,),
    "till sale": (StockConflict,),
    "damage": (StockConflict,),
}
ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class ReturnTransferRace:
    """Who races for what. `roles` gives the part of each thread, worker by worker; a placer
    places `orders_per_placer` orders; the other parts pause `pause_seconds` between two
    actions (a till three times as long, so that the shelves do not empty at once)."""

    channel: str
    skus: tuple[str, ...]
    stores: tuple[str, ...]
    warehouses: tuple[str, ...]
    ship_to: tuple[tuple[float, float], ...]
    roles: tuple[tuple[str, ...], ...]
    orders_per_placer: int = 30
    prices: tuple[Decimal, ...] = (Decimal("19.90"), Decimal("7.45"), Decimal("12.99"))
    pause_seconds: float = 0.03
    think_seconds: float = 0.1  # a customer's, between two orders

    @property
    def locations(self) -> tuple[str, ...]:
        return self.warehouses + self.stores


@dataclass(frozen=True, slots=True)
class Duel:
    """One duellist's try at the last unit of an order, in one round."""

    round: int
    side: int
    order_id: int
    sku: str
    quantity: int
    outcome: str


@dataclass(slots=True)
class Report:
    """What one worker process saw (threads share it: they only append to its lists)."""

    worker: int
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # kind, outcome
    duels: list[Duel] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Arena:
    """What the two duellists share across processes: a barrier they meet at twice a round,
    and a flag each raises once its own process's placers are done."""

    meet: Barrier
    done: SynchronizedArray[int]


def attempt(
    db: Database, report: Report, kind: str, action: Callable[[UnitOfWork], Any]
) -> tuple[str, Any]:
    """Run one action in its unit of work and tally how it ended; answers the outcome and
    what the action answered (None unless accepted)."""
    try:
        answer = db.run(action)
    except EXPECTED[kind] as error:
        outcome, answer = type(error).__name__, None
    except Exception as error:
        report.unexpected.append(f"{kind}: {error!r}")
        return "unexpected", None
    else:
        outcome = ACCEPTED
    report.outcomes.append((kind, outcome))
    return outcome, answer


def race_returns_and_transfers(
    worker: int,
    url: str,
    race: ReturnTransferRace,
    arena: Arena,
    start: Barrier,
    results: Queue[Report],
) -> None:
    """Connect, wait for every other worker, then play this worker's parts, one a thread."""
    report = Report(worker)
    roles = race.roles[worker]
    try:
        db = Database(url)
        try:
            warm_up(db, len(roles))
            start.wait(timeout=START_TIMEOUT_SECONDS)
            placed = threading.Event()
            placers: list[threading.Thread] = []
            others: list[threading.Thread] = []
            for n, role in enumerate(roles):
                rng = random.Random(worker * 1000 + n)
                if role == "placer":
                    args: tuple[Any, ...] = (place_orders, db, race, f"w{worker}-t{n}", rng, report)
                elif role == "duellist":
                    args = (duel, db, race, worker % 2, rng, report, arena, placed)
                else:
                    args = (_PARTS[role], db, race, rng, report, placed)
                thread = threading.Thread(target=_play, args=(report, role, *args))
                (placers if role == "placer" else others).append(thread)
            for thread in placers + others:
                thread.start()
            for thread in placers:
                thread.join()
            placed.set()
            for thread in others:
                thread.join()
        finally:
            db.dispose()
    except Exception as error:
        report.unexpected.append(f"worker {worker} stopped: {error!r}")
    results.put(report)


def _play(report: Report, role: str, part: Callable[..., None], *args: Any) -> None:
    """Play one part in this thread: whatever escapes it is unexpected."""
    try:
        part(*args)
    except Exception as error:
        report.unexpected.append(f"{role} stopped: {error!r}")


# --------------------------------------------------------------------------- customers


def place_orders(
    db: Database, race: ReturnTransferRace, name: str, rng: random.Random, report: Report
) -> None:
    for n in range(race.orders_per_placer):
        time.sleep(rng.uniform(0, 2 * race.think_seconds))
        roll = rng.random()
        if n % 3 == 0:
            line = (rng.choice(race.skus), 1)
            new = _order(race, rng, f"{DUEL}{name}-{n}", [line], _address(race, rng))
            attempt(db, report, "ship order", functools.partial(orders.place, new=new))
        elif roll < 0.25:
            store, sku = _in_stock_in_a_store(db, race, rng)
            at = {"method": "pickup", "location": store}
            new = _order(race, rng, f"{name}-{n}", [(sku, 1)], at)
            attempt(db, report, "pickup order", functools.partial(orders.place, new=new))
        elif roll < 0.35:
            lines = [(rng.choice(race.skus), 1)]
            at = {"method": "in_store", "location": rng.choice(race.stores)}
            new = _order(race, rng, f"{name}-{n}", lines, at)
            attempt(db, report, "in-store sale", functools.partial(orders.place, new=new))
        elif roll < 0.5:
            fill_a_cart(db, race, rng, f"{name}-{n}", report)
        else:
            lines = _lines(race, rng, most_lines=2)
            new = _order(race, rng, f"{name}-{n}", lines, _address(race, rng), rng.random() < 0.2)
            attempt(db, report, "ship order", functools.partial(orders.place, new=new))


def _in_stock_in_a_store(
    db: Database, race: ReturnTransferRace, rng: random.Random
) -> tuple[str, str]:
    """A store and an item the web shop shows in stock there (more available than the one
    unit kept back for walk-in customers), as a customer choosing click & collect sees
    them; any store and item if none."""
    p = positions.c
    with db.read(snapshot=False) as conn:
        shown = conn.execute(
            select(p.location, p.sku)
            .where(p.location.in_(race.stores), p.on_hand - p.reserved - p.unsellable > 1)
            .order_by(p.location, p.sku)
        ).all()
    if not shown:
        return rng.choice(race.stores), rng.choice(race.skus)
    store, sku = rng.choice(shown)
    return str(store), str(sku)


def fill_a_cart(
    db: Database, race: ReturnTransferRace, rng: random.Random, external_id: str, report: Report
) -> None:
    """Hold a cart for a day, then order from it, let it go, or leave it held."""
    lines, address = _lines(race, rng, most_lines=2), _address(race, rng)
    ship_to = (address["address"]["lat"], address["address"]["lon"])
    hold = functools.partial(
        reservations.hold, channel=race.channel, lines=lines, ship_to=ship_to, ttl_seconds=86_400
    )
    outcome, cart = attempt(db, report, "hold", hold)
    if outcome != ACCEPTED:
        return
    choice = rng.random()
    if choice < 0.5:
        new = _order(race, rng, external_id, lines, address, reservation_id=cart.id)
        attempt(db, report, "order from hold", functools.partial(orders.place, new=new))
    elif choice < 0.75:
        release = functools.partial(reservations.release, reservation_id=cart.id)
        attempt(db, report, "release hold", release)


def _lines(race: ReturnTransferRace, rng: random.Random, *, most_lines: int) -> list[Line]:
    skus = rng.sample(race.skus, rng.randint(1, most_lines))
    return [(sku, rng.randint(1, 2)) for sku in skus]


def _address(race: ReturnTransferRace, rng: random.Random) -> dict[str, Any]:
    lat, lon = rng.choice(race.ship_to)
    address = {
        "line1": "1 rue de la Paix",
        "city": "Somewhere",
        "postcode": "75002",
        "country": "FR",
        "lat": round(lat + rng.uniform(-0.2, 0.2), 4),
        "lon": round(lon + rng.uniform(-0.2, 0.2), 4),
    }
    return {"method": "ship", "address": address}


def _order(
    race: ReturnTransferRace,
    rng: random.Random,
    external_id: str,
    lines: list[Line],
    delivery: dict[str, Any],
    partial: bool = False,
    reservation_id: str | None = None,
) -> orders.NewOrder:
    """An order as a channel sends it, each line at one of the race's prices."""
    return orders.NewOrder(
        channel=race.channel,
        customer={"name": f"Customer {external_id}", "email": "c@example.fr"},
        delivery=delivery,
        lines=[(sku, quantity, rng.choice(race.prices)) for sku, quantity in lines],
        external_id=external_id,
        allow_partial=partial,
        reservation_id=reservation_id,
    )


# --------------------------------------------------------------------------- the shop floor

S = FulfilmentStatus
#: The statuses the floor takes fulfilments from, furthest along first.
_FLOOR = (S.READY_FOR_PICKUP, S.SHIPPED, S.PACKED, S.PICKED, S.ALLOCATED)
_NEXT = {
    (DeliveryMethod.SHIP, S.ALLOCATED): Action.PICK,
    (DeliveryMethod.SHIP, S.PICKED): Action.PACK,
    (DeliveryMethod.SHIP, S.PACKED): Action.SHIP,
    (DeliveryMethod.SHIP, S.SHIPPED): Action.DELIVER,
    (DeliveryMethod.PICKUP, S.ALLOCATED): Action.PICK,
    (DeliveryMethod.PICKUP, S.PICKED): Action.READY,
    (DeliveryMethod.PICKUP, S.READY_FOR_PICKUP): Action.COLLECT,
}


def work_the_floor(
    db: Database, race: ReturnTransferRace, rng: random.Random, report: Report, done: Any
) -> None:
    """Carry fulfilments on, one step at a time, cancel an allocation now and then, and
    reject a fulfilment that cannot leave because a fact took its units (it is sourced
    again elsewhere)."""
    while not done.is_set():
        with db.reading() as reads:
            # Work in progress first, one time in two; else any work waiting.
            statuses = _FLOOR if rng.random() < 0.5 else rng.sample(_FLOOR, len(_FLOOR))
            for status in statuses:
                queue, _ = fulfilment.queue(reads, status=status, limit=10_000)
                if queue:
                    break
            else:
                time.sleep(race.pause_seconds)
                continue
            chosen = rng.choice(queue)
            method = orders.get(reads, chosen.order_id).method
        action = _NEXT[method, status]
        if status is S.ALLOCATED and rng.random() < 0.1:
            action = Action.CANCEL
        step = functools.partial(fulfilment.act, fulfilment_id=chosen.id, action=action)
        if attempt(db, report, str(action), step)[0] == "StockConflict":
            # A fact took the units it was about to hand over: they cannot be found.
            missing = sorted(chosen.lines)
            reject = functools.partial(
                fulfilment.act,
                fulfilment_id=chosen.id,
                action=Action.REJECT,
                reason="not found",
                missing=missing,
            )
            attempt(db, report, "reject", reject)


# --------------------------------------------------------------------------- the returns desk


#: What a returner does, in turn.
_RETURNS = ("sellable", "damaged", "too many", "both", "sellable", "damaged")


def take_returns(
    db: Database, race: ReturnTransferRace, rng: random.Random, report: Report, done: Any
) -> None:
    """Take back units of a delivered or collected order at a random store, some or all
    of what is left of a line: sellable, damaged, or some of each on two lines; in turn, ask
    for one more unit of a line than it could ever give back."""
    turns = itertools.cycle(_RETURNS)
    condition = next(turns)
    while not done.is_set():
        time.sleep(race.pause_seconds)
        over = condition == "too many"
        with db.reading() as reads:
            left = _returnable(reads)
            found = sorted(key for key, units in left.items() if units > 0 or over)
            if not found:
                continue
            order_id, sku = rng.choice(found)
            order = orders.get(reads, order_id)
        if order.external_id.startswith(DUEL):
            continue
        if over:
            (ordered,) = (line.quantity for line in order.lines if line.sku == sku)
            returned = _delivered(order)[sku] - left[order_id, sku]
            # Delivered units never exceed the line: this is more than can ever come back.
            lines = [ReturnLine(sku, ordered - returned + 1, Condition.SELLABLE, condition)]
        else:
            lines = _returned_lines(sku, rng.randint(1, left[order_id, sku]), condition)
        location = rng.choice(race.stores)
        back = functools.partial(
            returns.take_back, order_id=order_id, location=location, lines=lines
        )
        attempt(db, report, "over-return" if over else "return", back)
        condition = next(turns)


def _returnable(reads: ReadUnit) -> dict[tuple[int, str], int]:
    """Units of each (order, sku) delivered or collected and not returned yet."""
    left: dict[tuple[int, str], int] = {}
    for status in (S.DELIVERED, S.COLLECTED):
        queue, _ = fulfilment.queue(reads, status=status, limit=100_000)
        for f in queue:
            for sku, quantity in f.lines:
                left[f.order_id, sku] = left.get((f.order_id, sku), 0) + quantity
    page, _ = returns.list_returns(reads, limit=100_000)
    for taken in page:
        for line in taken.lines:
            left[taken.order_id, line.sku] -= line.quantity
    return left


def _returned_lines(sku: str, units: int, condition: str) -> list[ReturnLine]:
    """`units` of `sku` in this condition, or (`both`) some of each on two lines."""
    if condition == "both" and units > 1:
        return [
            ReturnLine(sku, units // 2, Condition.SELLABLE, "changed their mind"),
            ReturnLine(sku, units - units // 2, Condition.DAMAGED, "torn"),
        ]
    damaged = condition == "damaged"
    return [ReturnLine(sku, units, Condition.DAMAGED if damaged else Condition.SELLABLE)]


def _delivered(order: Order) -> dict[str, int]:
    units: dict[str, int] = {}
    for f in order.fulfilments:
        if f.status in (S.DELIVERED, S.COLLECTED):
            for sku, quantity in f.lines:
                units[sku] = units.get(sku, 0) + quantity
    return units


def duel(
    db: Database,
    race: ReturnTransferRace,
    side: int,
    rng: random.Random,
    report: Report,
    arena: Arena,
    placed: threading.Event,
) -> None:
    """Round after round, meet the other duellist, read the same state, meet again, then
    return the last unit of the oldest completed duel order with a unit left (sellable on
    side 0, damaged on side 1), at the same instant. Stop once both sides' placers are done."""
    try:
        for round in itertools.count():
            if placed.is_set():
                arena.done[side] = 1  # raised before the meeting: both read it after
            arena.meet.wait(timeout=START_TIMEOUT_SECONDS)
            over = all(arena.done[:])
            target = None if over else _last_unit(db)
            arena.meet.wait(timeout=START_TIMEOUT_SECONDS)
            if over:
                return
            if target is None:
                time.sleep(5 * race.pause_seconds)
                continue
            order_id, sku = target
            condition = Condition.DAMAGED if side else Condition.SELLABLE
            lines = [ReturnLine(sku, 1, condition, f"duel round {round}")]
            location = rng.choice(race.stores)
            back = functools.partial(
                returns.take_back, order_id=order_id, location=location, lines=lines
            )
            outcome, _ = attempt(db, report, "duel", back)
            report.duels.append(Duel(round, side, order_id, sku, 1, outcome))
    except Exception as error:
        arena.meet.abort()  # the other side must not wait for a partner gone
        report.unexpected.append(f"duellist {side} stopped: {error!r}")


def _last_unit(db: Database) -> tuple[int, str] | None:
    """The oldest completed duel order whose one unit has not come back yet."""
    with db.reading() as reads:
        left = _returnable(reads)
        after: int | None = 0
        while after is not None:
            page, after = orders.list_orders(
                reads, status=OrderStatus.COMPLETED, after=after, limit=500
            )
            for order in page:
                if order.external_id.startswith(DUEL):
                    ((sku, _),) = _delivered(order).items()
                    if left[order.id, sku]:
                        return order.id, sku
    return None


# --------------------------------------------------------------------------- stock in transit


#: A clerk's round of work.
_CLERK = (
    "transfer",
    "supplier delivery",
    "transfer ship",
    "transfer receive",
    "transfer",
    "transfer receive",
    "transfer",
    "transfer ship",
    "transfer cancel",
)
#: How receptions count, in turn: a unit over, a unit short (or a line missing), as shipped.
_COUNTS = ("over", "short", "exact")


def move_stock(
    db: Database, race: ReturnTransferRace, rng: random.Random, report: Report, done: Any
) -> None:
    """Move stock from where it is available, announce suppliers' deliveries; ship, receive
    (as shipped, short or over, in turn) and cancel transfers."""
    counts = itertools.cycle(_COUNTS)
    for kind in itertools.cycle(_CLERK):
        if done.is_set():
            return
        time.sleep(race.pause_seconds)
        if kind == "transfer":
            _transfer_what_is_there(db, race, rng, report)
        elif kind == "supplier delivery":
            destination = rng.choice(race.locations)
            lines = [(sku, rng.randint(2, 4)) for sku in rng.sample(race.skus, rng.randint(1, 2))]
            eta = dt.datetime.now(dt.UTC) + dt.timedelta(days=rng.randint(1, 5))
            announce = functools.partial(
                transfers.create, origin=None, destination=destination, lines=lines, eta=eta
            )
            attempt(db, report, kind, announce)
        else:
            _act_on_transfer(db, rng, report, kind, counts)


def _transfer_what_is_there(
    db: Database, race: ReturnTransferRace, rng: random.Random, report: Report
) -> None:
    """Send units from a position with some available (up to one more than it has, which
    is refused unless units came back meanwhile) to another location, now and then with a
    second sku that may not be there at all."""
    p = positions.c
    with db.read() as conn:
        stocked = conn.execute(
            select(p.location, p.sku, p.on_hand - p.reserved - p.unsellable).where(
                p.on_hand - p.reserved - p.unsellable > 0
            )
        ).all()
    if not stocked:
        return
    origin, sku, available = rng.choice(sorted(stocked))
    lines = [(sku, rng.randint(1, available + 1))]
    if rng.random() < 0.3:
        other = rng.choice([s for s in race.skus if s != sku])
        lines.append((other, 1))
    destination = rng.choice([code for code in race.locations if code != origin])
    create = functools.partial(
        transfers.create, origin=origin, destination=destination, lines=lines
    )
    attempt(db, report, "transfer", create)


def _act_on_transfer(
    db: Database, rng: random.Random, report: Report, kind: str, counts: Iterator[str]
) -> None:
    status = TransferStatus.SHIPPED if kind == "transfer receive" else TransferStatus.OPEN
    with db.reading() as reads:
        found, _ = transfers.list_transfers(reads, status=status, limit=10_000)
    if not found:
        return
    chosen = rng.choice(found)
    transfer_id = chosen.id
    if kind == "transfer ship":
        attempt(db, report, kind, functools.partial(transfers.ship, transfer_id=transfer_id))
    elif kind == "transfer cancel":
        attempt(db, report, kind, functools.partial(transfers.cancel, transfer_id=transfer_id))
    else:
        counted = [(line.sku, line.quantity) for line in chosen.lines]
        count, n = next(counts), rng.randrange(len(counted))
        sku, shipped = counted[n]
        if count == "over":
            counted[n] = (sku, shipped + 1)
        elif count == "short" and shipped and rng.random() < 0.7:
            counted[n] = (sku, shipped - 1)
        elif count == "short":
            del counted[n]  # none of it arrived: a line not counted
        receive = functools.partial(transfers.receive, transfer_id=transfer_id, lines=counted)
        attempt(db, report, kind, receive)


# --------------------------------------------------------------------------- physical facts


def sell_at_tills(
    db: Database, race: ReturnTransferRace, rng: random.Random, report: Report, done: Any
) -> None:
    """Take units off the shelf where orders, holds or transfers reserve some: one unit, or
    one more than is available (so that a promise there must give way)."""
    _take_off_shelves(db, race, rng, report, done, at_origins=False)


def sell_at_origins(
    db: Database, race: ReturnTransferRace, rng: random.Random, report: Report, done: Any
) -> None:
    """Take one unit more than is available off the shelf at the origin of an open transfer,
    so that the transfer must carry less (or, carrying nothing, be cancelled)."""
    _take_off_shelves(db, race, rng, report, done, at_origins=True)


def _take_off_shelves(
    db: Database,
    race: ReturnTransferRace,
    rng: random.Random,
    report: Report,
    done: Any,
    *,
    at_origins: bool,
) -> None:
    """A store's till sells the units; a warehouse finds them damaged."""
    p = positions.c
    while not done.is_set():
        time.sleep(3 * race.pause_seconds)
        with db.reading() as reads:
            open_, _ = transfers.list_transfers(reads, status=TransferStatus.OPEN, limit=10_000)
            promised = reads.conn.execute(
                select(p.location, p.sku, p.on_hand, p.reserved, p.unsellable).where(p.reserved > 0)
            ).all()
        shelf = {(row.location, row.sku): row for row in promised}
        origins = {(t.origin, line.sku) for t in open_ for line in t.lines if line.quantity}
        spots = sorted((origins if at_origins else shelf.keys()) & shelf.keys())
        if not spots:
            continue
        location, sku = rng.choice(spots)
        row = shelf[location, sku]
        sellable = row.on_hand - row.unsellable  # reserved > 0: one more than available fits
        one_more = at_origins or rng.random() < 0.5
        quantity = max(1, sellable - row.reserved + 1) if one_more else 1
        if location in race.stores:
            kind, movement = "till sale", MovementType.SALE
        else:
            kind, movement = "damage", MovementType.DAMAGE
        fact = functools.partial(
            stock.record_movement,
            location=location,
            sku=sku,
            movement_type=movement,
            quantity=quantity,
        )
        attempt(db, report, kind, fact)


_PARTS: dict[str, Callable[..., None]] = {
    "floor": work_the_floor,
    "returner": take_returns,
    "clerk": move_stock,
    "till": sell_at_tills,
    "origin till": sell_at_origins,
}
