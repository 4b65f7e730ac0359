"""Orders from every channel: place, read, list and cancel.

Placing an order sources its lines (`omnistock.services.sourcing`) and reserves them in the
same transaction, all or nothing unless the order allows a partial allocation; it may take
over a hold instead (its units and locations as they are). The same channel and
`external_id` again is the same order: it is answered as it stands and nothing changes; sent
with another customer, delivery, lines or currency, it is refused (ExternalIdReused).

The use cases answer domain objects (`Order`, the sourcing `Decision`); the API renders them
with `omnistock.services.views`, the events' rendering too, so both show an order alike.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.availability import Rulebook
from omnistock.domain.catalog import LocationType, lines_are_items, one_line_a_sku
from omnistock.domain.errors import (
    ExternalIdReused,
    InsufficientStock,
    InvalidInput,
    NotCancellable,
    NotFound,
    ReservationEnded,
    ShortLine,
)
from omnistock.domain.events import Event
from omnistock.domain.orders import (
    GONE,
    OPEN,
    SOLD_IN_STORE,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderFilters,
    OrderLine,
    OrderStatus,
    differences,
)
from omnistock.domain.reservations import ACTIVE, ORDERED, Reservation
from omnistock.domain.sourcing import Decision
from omnistock.domain.stock import Deltas
from omnistock.services import healing, ledger, order_changes, sourcing
from omnistock.services.views import order_view


@dataclass(frozen=True, slots=True)
class NewOrder:
    """An order as a channel sends it (an in-store sale may have no customer: {})."""

    channel: str
    customer: dict[str, str]
    delivery: dict[str, Any]  # {"method": "ship", "address": {...}} or {"method", "location"}
    lines: Sequence[tuple[str, int, Decimal]]  # sku, quantity, unit price
    currency: str = "EUR"
    external_id: str | None = None
    reservation_id: str | None = None
    allow_partial: bool = False

    @property
    def method(self) -> DeliveryMethod:
        return DeliveryMethod(self.delivery["method"])

    def need(self) -> sourcing.Need:
        address = self.delivery.get("address")
        return sourcing.Need(
            channel=self.channel,
            method=self.method,
            lines=[(sku, quantity) for sku, quantity, _ in self.lines],
            ship_to=(address["lat"], address["lon"]) if address else None,
            pickup_at=self.delivery.get("location"),
        )


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """An order and its history (entries `at`, `event`, `detail`), oldest first."""

    order: Order
    history: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class OrderSourcing:
    """An order's sourcing decisions as stored, newest first: the one in force, then those
    before it (`sourcing.explained` renders each)."""

    order_id: int
    decisions: list[dict[str, Any]]


def place(uow: UnitOfWork, new: NewOrder) -> tuple[Order, bool]:
    """Place `new`: (the order, True) or, when the channel already sent this `external_id`,
    (that order as it stands, False) with nothing changed."""
    _validate(uow, new)
    if new.reservation_id is not None and (existing := _sent_before(uow, new)) is not None:
        return _again(uow, existing, new), False  # the hold it took over has ended since
    hold = None if new.reservation_id is None else _usable_hold(uow, new)
    order_id = uow.orders.add_order(
        channel=new.channel,
        external_id=new.external_id,
        customer=new.customer,
        delivery=new.delivery,
        currency=new.currency,
        reservation_id=new.reservation_id,
        now=uow.now,
    )
    if order_id is None:
        existing = _sent_before(uow, new)
        assert existing is not None
        return _again(uow, existing, new), False
    fulfilments, backorders, history = _serve(uow, order_id, new, hold)
    lines = tuple(OrderLine(sku, q, price, backorders.get(sku, 0)) for sku, q, price in new.lines)
    uow.orders.add_lines(order_id, lines)
    uow.orders.add_history(order_id, history, now=uow.now)
    order = Order(
        order_id,
        new.channel,
        new.external_id,
        new.customer,
        new.delivery,
        new.currency,
        lines,
        tuple(fulfilments),
        uow.now,
    )
    view = order_view(order, uow.policy)
    uow.emit(Event.ORDER_CREATED, view)
    if backorders:
        uow.emit(Event.ORDER_BACKORDERED, view)
    return order, True


def _again(uow: UnitOfWork, order_id: int, new: NewOrder) -> Order:
    """The order the channel sent before under this `external_id`, if `new` is that order
    again; ExternalIdReused, naming what differs, if it is another."""
    order = get(uow, order_id)
    differs = differences(
        order, customer=new.customer, delivery=new.delivery, lines=new.lines, currency=new.currency
    )
    if differs:
        assert new.external_id is not None
        raise ExternalIdReused(new.channel, new.external_id, order_id, differs)
    return order


def _sent_before(uow: UnitOfWork, new: NewOrder) -> int | None:
    """The order the channel already sent with this `external_id`, if any."""
    if new.external_id is None:
        return None
    return uow.orders.order_of_external_id(new.channel, new.external_id)


def _serve(
    uow: UnitOfWork, order_id: int, new: NewOrder, hold: Reservation | None
) -> tuple[list[Fulfilment], dict[str, int], list[tuple[str, str]]]:
    """Serve a new order: sold in store, from the hold it takes over, or sourced. Answers
    its fulfilments, its backorders by sku and its first history entries."""
    if new.method is DeliveryMethod.IN_STORE:
        fulfilments = _sell_in_store(uow, order_id, new)
        return fulfilments, {}, [("created", f"sold in store at {new.delivery['location']}")]
    if hold is not None:
        fulfilments = _take_over_hold(uow, order_id, new, hold)
        return fulfilments, {}, [("created", f"allocated from reservation {new.reservation_id}")]
    sourced = sourcing.allocate(
        uow,
        order_id=order_id,
        need=new.need(),
        trigger="order",
        all_or_nothing=not new.allow_partial,
    )
    fulfilments = [
        Fulfilment(fid, order_id, location, FulfilmentStatus.ALLOCATED, lines, status_at=uow.now)
        for fid, location, lines in sourced.fulfilments
    ]
    backorders = dict(sourced.backorders)
    history = [("created", sourced.decision.reason)]
    history += [("backordered", f"{q} x {sku} wait for stock") for sku, q in backorders.items()]
    return fulfilments, backorders, history


def preview(reads: ReadUnit, new: NewOrder) -> Decision:
    """The sourcing decision `new` would get now, reserving nothing."""
    skus = [sku for sku, _, _ in new.lines]
    book, _ = reads.rulebook(skus)
    _validate_shape(book, new)
    lines_are_items(skus, reads.catalog.known_skus(skus))
    if new.method is DeliveryMethod.IN_STORE:
        raise InvalidInput(
            "delivery.method", "an in-store sale is not sourced: it is sold where it is"
        )
    return sourcing.preview(reads, new.need())


def get(reads: ReadUnit, order_id: int) -> Order:
    found = reads.orders.get_order(order_id)
    if found is None:
        raise NotFound("order", str(order_id), field="id")
    return found


def detail(reads: ReadUnit, order_id: int) -> OrderDetail:
    """The order and its history."""
    return OrderDetail(get(reads, order_id), reads.orders.history(order_id))


def list_orders(
    reads: ReadUnit,
    *,
    status: OrderStatus | None = None,
    channel: str | None = None,
    locations: Collection[str] | None = None,
    after: int = 0,
    limit: int = 100,
    filters: OrderFilters | None = None,
) -> tuple[list[Order], int | None]:
    """A page of orders, oldest first, and the id to pass as `after` for the next (None at
    the end)."""
    found = reads.orders.list_orders(
        status=status,
        channel=channel,
        locations=locations,
        after=after,
        limit=limit,
        filters=filters,
    )
    return found, (found[-1].id if len(found) == limit else None)


def sourcing_of(reads: ReadUnit, order_id: int) -> OrderSourcing:
    """The order's sourcing decisions, newest first: the one in force and those before."""
    decisions = reads.orders.decisions(order_id)
    if not decisions and reads.orders.get_order(order_id) is None:
        raise NotFound("order", str(order_id), field="id")
    return OrderSourcing(order_id, decisions)


def sourcing_view(found: OrderSourcing) -> dict[str, Any]:
    """An order's sourcing as the API shows it: each decision explained."""
    decisions = [sourcing.explained(stored) for stored in found.decisions]
    latest = decisions[0] if decisions else None
    return {"order_id": found.order_id, "decision": latest, "earlier": decisions[1:]}


def cancel(uow: UnitOfWork, order_id: int, lines: Sequence[tuple[str, int]] | None = None) -> Order:
    """Cancel the order, or `lines` of it: backordered units first, then the newest open
    fulfilments' units, which go back to their locations. Units shipped or collected cannot
    be cancelled (NotCancellable: they come back as returns)."""
    order = order_changes.locked_order(uow, order_id)
    wanted = _to_cancel(order, lines)
    order_changes.lock_for_order(uow, order, [sku for sku, _ in wanted], anywhere=False)
    taken: dict[int, dict[str, int]] = {}  # by fulfilment: the units it gives up
    for sku, quantity in wanted:
        line = next(line for line in order.lines if line.sku == sku)
        from_backorder = min(quantity, line.backordered)
        left = quantity - from_backorder
        uow.orders.change_line(order_id, sku, backordered=-from_backorder, cancelled=quantity)
        for fulfilment in sorted(order.fulfilments, key=lambda f: -f.id):
            units = dict(fulfilment.lines).get(sku, 0) if fulfilment.status in OPEN else 0
            if left and units:
                taken.setdefault(fulfilment.id, {})[sku] = min(units, left)
                left -= min(units, left)
    for fulfilment in order.fulfilments:
        if fulfilment.id in taken:
            why = "cancelled: " + ", ".join(
                f"{q} x {sku}" for sku, q in taken[fulfilment.id].items()
            )
            order_changes.take_units(uow, order_id, fulfilment, taken[fulfilment.id], why=why)
    entries = [("cancelled", f"{q} x {sku} cancelled") for sku, q in wanted]
    uow.orders.add_history(order_id, entries, now=uow.now)
    status = order_changes.announce(uow, order)
    after = get(uow, order_id)
    if wanted and status == order.status:
        uow.emit(Event.ORDER_CHANGED, order_view(after, uow.policy))  # some units cancelled
    return after


def _to_cancel(order: Order, lines: Sequence[tuple[str, int]] | None) -> list[tuple[str, int]]:
    """The (sku, units) to cancel, each checked against what can still be cancelled."""
    cancellable = {line.sku: line.backordered for line in order.lines}
    for f in order.fulfilments:
        if f.status in OPEN:
            for sku, q in f.lines:
                cancellable[sku] += q
    if lines is None:
        if not any(cancellable.values()) and any(f.status in GONE for f in order.fulfilments):
            shipped = next(f for f in order.fulfilments if f.status in GONE)
            raise NotCancellable(
                field="lines", sku=shipped.lines[0][0], requested=shipped.lines[0][1], cancellable=0
            )
        return [(sku, q) for sku, q in cancellable.items() if q]
    seen: dict[str, int] = {}
    for index, (sku, quantity) in enumerate(lines):
        if sku not in cancellable:
            raise InvalidInput(f"lines[{index}].sku", f"{sku!r} is not in order {order.id}")
        if sku in seen:
            raise InvalidInput(
                f"lines[{index}].sku", f"{sku!r} is already on lines[{seen[sku]}]: one line a sku"
            )
        seen[sku] = index
        if quantity > cancellable[sku]:
            raise NotCancellable(
                field=f"lines[{index}].quantity",
                sku=sku,
                requested=quantity,
                cancellable=cancellable[sku],
            )
    return list(lines)


def _validate(uow: UnitOfWork, new: NewOrder) -> None:
    book, _ = uow.rulebook([sku for sku, _, _ in new.lines])
    _validate_shape(book, new)
    uow.catalog.require_line_items([sku for sku, _, _ in new.lines])


def _validate_shape(book: Rulebook, new: NewOrder) -> None:
    """What can be told without reading the stock: channel, delivery location, lines."""
    if new.channel not in book.channels:
        raise NotFound("channel", new.channel, field="channel")
    one_line_a_sku(sku for sku, _, _ in new.lines)
    if not new.customer and new.method is not DeliveryMethod.IN_STORE:
        raise InvalidInput("customer", "must be given: only an in-store sale may leave it out")
    if new.method is DeliveryMethod.SHIP:
        return
    code = new.delivery["location"]
    location = book.locations.get(code)
    if location is None:
        raise NotFound("location", code, field="delivery.location")
    if not location.active:
        raise InvalidInput("delivery.location", f"{code!r} is not active")
    if new.method is DeliveryMethod.PICKUP and not location.pickup_enabled:
        raise InvalidInput("delivery.location", f"{code!r} does not offer pickup")
    if new.method is DeliveryMethod.IN_STORE and location.type is not LocationType.STORE:
        raise InvalidInput("delivery.location", f"{code!r} is not a store")


def _sell_in_store(uow: UnitOfWork, order_id: int, new: NewOrder) -> list[Fulfilment]:
    """An in-store sale: the customer leaves with the units, so they leave `on_hand` now (a
    physical fact, like a till's sale: it may leave promises to heal)."""
    location = str(new.delivery["location"])
    lines = tuple((sku, q) for sku, q, _ in new.lines)

    def sell() -> bool:
        entries = [(location, sku, Deltas(on_hand=-q)) for sku, q in lines]
        try:
            after = ledger.change_stock(
                uow, type=SOLD_IN_STORE, entries=entries, reference=f"order:{order_id}"
            )
        except ledger.Refused as refused:
            sold = {sku: q for sku, q in lines if sku < refused.sku}  # applied before it
            raise InsufficientStock(_not_on_hand(uow, location, lines, sold)) from None
        return any(position.available < 0 for position in after.values())

    skus = [sku for sku, _ in lines]
    cause = f"in-store order {order_id}"
    healing.physical_fact(uow, location=location, skus=skus, apply=sell, cause=cause)
    return [_add_fulfilment(uow, order_id, location, FulfilmentStatus.COLLECTED, lines)]


def _add_fulfilment(
    uow: UnitOfWork,
    order_id: int,
    location: str,
    status: FulfilmentStatus,
    lines: Sequence[tuple[str, int]],
) -> Fulfilment:
    fulfilment_id = uow.orders.add_fulfilment(
        order_id=order_id, location=location, status=status, lines=lines, now=uow.now
    )
    return Fulfilment(fulfilment_id, order_id, location, status, tuple(lines), status_at=uow.now)


def _usable_hold(uow: UnitOfWork, new: NewOrder) -> Reservation:
    """The hold `new` names, if it can become this order's allocation."""
    assert new.reservation_id is not None
    if new.method is DeliveryMethod.IN_STORE:
        raise InvalidInput(
            "reservation_id", "an in-store sale takes what is in the customer's hands: no hold"
        )
    hold = uow.holds.get(new.reservation_id)
    if hold is None:
        raise NotFound("reservation", new.reservation_id, field="reservation_id")
    if hold.status != ACTIVE or hold.expires_at <= uow.now:
        raise ReservationEnded(hold.id)
    if hold.channel != new.channel:
        raise InvalidInput("reservation_id", f"the hold is for channel {hold.channel!r}")
    asked = {sku: q for sku, q, _ in new.lines}
    if dict(hold.lines) != asked:
        raise InvalidInput("reservation_id", "the hold's lines differ from the order's")
    pickup_at = new.delivery.get("location")
    if pickup_at is not None and any(a.location != pickup_at for a in hold.allocations):
        raise InvalidInput("reservation_id", f"the hold has units outside {pickup_at!r}")
    return hold


def _not_on_hand(
    uow: UnitOfWork, location: str, lines: Sequence[tuple[str, int]], sold: dict[str, int]
) -> list[ShortLine]:
    """The lines of an in-store sale that the store did not have on hand, sellable, before
    the `sold` units were taken off in this transaction."""
    short = []
    for sku, quantity in lines:
        here = uow.stock.read_position(sku=sku, location=location)
        had = here.on_hand - here.unsellable + sold.get(sku, 0)
        if quantity > had:
            short.append(ShortLine(sku, quantity, max(0, had)))
    return short


def _take_over_hold(
    uow: UnitOfWork, order_id: int, new: NewOrder, hold: Reservation
) -> list[Fulfilment]:
    """The hold's units become the order's, where they are held: no stock moves."""
    if not uow.holds.end(hold.id, status=ORDERED, now=uow.now):
        raise ReservationEnded(hold.id)  # ended since it was read
    by_location: dict[str, list[tuple[str, int]]] = {}
    for a in hold.allocations:
        by_location.setdefault(a.location, []).append((a.sku, a.quantity))
    fulfilments = []
    for location, lines in sorted(by_location.items()):
        fulfilments.append(
            _add_fulfilment(uow, order_id, location, FulfilmentStatus.ALLOCATED, lines)
        )
        capacity = uow.rulebook()[0].locations[location].daily_capacity
        if capacity is not None and new.method is DeliveryMethod.SHIP:
            # Counted if there is room: the hold's locations are kept either way.
            uow.orders.accept_fulfilment(
                location=location, day=uow.now.date().isoformat(), capacity=capacity
            )
    plan = [
        {"location": loc, "lines": [{"sku": s, "quantity": q} for s, q in lines]}
        for loc, lines in sorted(by_location.items())
    ]
    reason = f"the units held by reservation {hold.id} became the order's, where they were held"
    decision = {
        "trigger": "order",
        "strategy": "reservation",
        "plan": plan,
        "backorders": [],
        "considered": [],
        "reason": reason,
        "cost": None,
        "searched": 0,
        "bounded": False,
    }
    uow.orders.add_decision(order_id, trigger="order", decision=decision, now=uow.now)
    uow.emit(Event.RESERVATION_ORDERED, {"id": hold.id, "status": ORDERED, "order_id": order_id})
    return fulfilments
