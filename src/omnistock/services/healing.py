"""Promises that heal (DESIGN invariant 1), and the changes to an order they share with
rejections and cancellations.

A physical fact (a POS sale, a count, damage, units a store could not find) may leave a
location with fewer units than it promised. Then the newest allocations there that nobody
has started on give their units back, and those units are sourced again elsewhere for their
order, or backordered, in the same transaction, until `available >= 0` there again.

Lock order, on every path that changes orders or transfers: holds, then orders (each by
id), then transfers (by id), then positions by (location, sku), then the daily capacity
counters. A path that cannot know
its rows before it starts (a fact that turns out to leave promises short) undoes its first
try and locks them all in that order before trying again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from omnistock.db import UnitOfWork
from omnistock.domain.errors import NotFound
from omnistock.domain.orders import (
    DEALLOCATE,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderStatus,
)
from omnistock.domain.stock import Deltas
from omnistock.services import ledger, reservations, sourcing, transfers
from omnistock.services.views import fulfilment_view, order_view

log = logging.getLogger("omnistock.healing")


class _Short(Exception):
    """A physical fact left a promise short: undo it, lock what healing needs, do it again."""


def physical_fact(
    uow: UnitOfWork, *, location: str, skus: Sequence[str], apply: Callable[[], bool], cause: str
) -> None:
    """Apply a physical fact at `location` (`apply` changes the stock and answers whether it
    left any of `skus` promised beyond what is there), and heal what it left short.

    On PostgreSQL, healing locks holds, orders and the skus' positions everywhere; taken
    after the fact's own row, those locks would break the lock order and could deadlock with
    an order being placed or cancelled. So a fact that leaves a promise short is undone (a
    savepoint), everything healing may touch is locked in order, and the fact applies again.
    SQLite has one writer at a time: there is no order to keep, and nothing to undo.
    """
    within: frozenset[tuple[str, str]] | None = None
    if not uow.single_writer:
        try:
            with uow.savepoint():
                if apply():
                    raise _Short
            return
        except _Short:
            pass
        for attempt in range(1, _LOCK_ATTEMPTS + 1):
            last = attempt == _LOCK_ATTEMPTS
            if last:
                log.warning(
                    "healing %s at %s: promises keep landing there; locking as is",
                    ",".join(skus),
                    location,
                )
            try:
                with uow.savepoint():
                    within = _lock_for_healing(uow, location=location, skus=skus, last=last)
                break
            except _Moved:
                continue  # a promise was made there meanwhile: lock again, in order
    if apply():
        for sku in skus:
            heal(uow, location=location, sku=sku, cause=cause, within=within)


#: Tries at locking what healing needs before a promise made meanwhile is let in late.
_LOCK_ATTEMPTS = 5


class _Moved(Exception):
    """A hold or an order promised units at the location while its rows were being locked."""


def _lock_for_healing(
    uow: UnitOfWork, *, location: str, skus: Sequence[str], last: bool
) -> frozenset[tuple[str, str]] | None:
    """Lock what healing `skus` at `location` may change, in the one lock order: the holds
    and orders with promises there, then the skus' positions everywhere. Raises _Moved if,
    once the positions are locked (no promise can be made there any more), promises turn
    out to have been made by holds or orders not locked first (unless this is the `last`
    try: then those are locked later, out of order, and a deadlock is possible but retried).
    Answers the positions locked: healing reserves at those only (one stocked since was not
    locked in order)."""
    promised = _promised_at(uow, location, skus)
    uow.holds.lock(sorted(promised.holds))
    uow.orders.lock_orders(sorted(promised.orders))
    uow.transfers.lock(sorted(promised.transfers))
    held = {a.sku for h in promised.holds for a in reservations.get(uow, h).allocations}
    locked = uow.stock.lock_positions(skus=sorted(set(skus) | held))
    if not last and not _promised_at(uow, location, skus) <= promised:
        raise _Moved
    return None if locked is None else frozenset(locked)


@dataclass(frozen=True, slots=True)
class _Promised:
    """Who has promises of some skus at a location: holds, orders and open transfers."""

    holds: frozenset[str]
    orders: frozenset[int]
    transfers: frozenset[int]

    def __le__(self, other: _Promised) -> bool:
        return (
            self.holds <= other.holds
            and self.orders <= other.orders
            and self.transfers <= other.transfers
        )


def _promised_at(uow: UnitOfWork, location: str, skus: Sequence[str]) -> _Promised:
    """The holds, the orders with untouched allocations, and the open transfers, with units
    of `skus` promised at `location`."""
    reads = uow
    return _Promised(
        holds=frozenset(
            h for sku in skus for h in reads.holds.holding_at(location=location, sku=sku)
        ),
        orders=frozenset(
            o
            for sku in skus
            for _, o, _ in reads.orders.open_allocations(location=location, sku=sku)
        ),
        transfers=frozenset(
            t for sku in skus for t, _ in reads.transfers.open_from(location=location, sku=sku)
        ),
    )


def lock_for_order(
    uow: UnitOfWork, order: Order, skus: Sequence[str], *, anywhere: bool
) -> frozenset[tuple[str, str]] | None:
    """Having locked `order`, lock the positions a change to it may touch: `skus` where the
    order has open fulfilments, or everywhere (`anywhere`) when it may be sourced again.
    Answers the positions locked (None on SQLite: all of them)."""
    locations = None if anywhere else sorted({f.location for f in order.fulfilments})
    locked = uow.stock.lock_positions(skus=sorted(set(skus)), locations=locations)
    return None if locked is None else frozenset(locked)


def heal(
    uow: UnitOfWork,
    *,
    location: str,
    sku: str,
    cause: str,
    within: frozenset[tuple[str, str]] | None = None,
) -> None:
    """After `cause` changed the stock of `sku` at `location`: if it promised more than it
    has, let go of the newest holds there, then carry fewer units on the newest open
    transfers from there, then move the newest untouched allocations of orders elsewhere,
    until it does not.

    Holds go first: a cart has promised nothing to anyone yet, and its checkout finds the
    hold ended (409 reservation-ended) and orders afresh. Transfers next: moving stock
    between locations can wait; a customer's order is moved only when nothing else will do.
    """
    deficit = -uow.stock.read_position(sku=sku, location=location).available
    if deficit <= 0:
        return
    for reservation_id in uow.holds.holding_at(location=location, sku=sku):
        reservations.release(uow, reservation_id)
        deficit = -uow.stock.read_position(sku=sku, location=location).available
        if deficit <= 0:
            return
    for transfer_id, units in uow.transfers.open_from(location=location, sku=sku):
        given = min(units, deficit)
        why = f"{given} x {sku} at {location} went short ({cause}): not carried"
        deficit -= transfers.give_back(uow, transfer_id, sku, given, why=why)
        if deficit <= 0:
            return
    for fulfilment_id, order_id, units in uow.orders.open_allocations(location=location, sku=sku):
        order = locked_order(uow, order_id)
        fulfilment = next(f for f in order.fulfilments if f.id == fulfilment_id)
        units = dict(fulfilment.lines).get(sku, 0)  # as it is now the order is locked
        if fulfilment.status is not FulfilmentStatus.ALLOCATED or not units:
            continue
        moved = min(units, deficit)
        detail = (
            f"{moved} x {sku} promised at {location} went short ({cause}): sourced again elsewhere"
        )
        take_units(uow, order.id, fulfilment, {sku: moved}, why=detail)
        resource(
            uow,
            order,
            [(sku, moved)],
            trigger="healing",
            because=detail,
            short_at=location,
            within=within,
        )
        announce(uow, order)
        deficit -= moved
        if deficit <= 0:
            return


def locked_order(uow: UnitOfWork, order_id: int, *, field: str = "id") -> Order:
    """The order, locked until commit so that changes to it happen one at a time (NotFound
    naming `field` if there is none)."""
    if not uow.orders.lock_order(order_id):
        raise NotFound("order", str(order_id), field=field)
    found = uow.orders.get_order(order_id)
    assert found is not None
    return found


def take_units(
    uow: UnitOfWork, order_id: int, fulfilment: Fulfilment, taken: dict[str, int], *, why: str
) -> None:
    """Take units (by sku) off an open fulfilment, as it is now, and give them back to its
    location. A fulfilment that gives up everything is cancelled and keeps its lines, the
    record of what it held."""
    location = fulfilment.location
    release(uow, order_id, [(location, sku, q) for sku, q in taken.items()], reason=why)
    if taken != dict(fulfilment.lines):
        for sku, units in taken.items():
            uow.orders.take_from_fulfilment(fulfilment.id, sku, units)
        smaller = uow.orders.get_fulfilment(fulfilment.id)
        assert smaller is not None
        uow.emit("fulfillment.changed", fulfilment_view(smaller))  # its lines shrank
        return
    if uow.orders.move_status(
        fulfilment.id,
        from_=fulfilment.status,
        to=FulfilmentStatus.CANCELLED,
        now=uow.now,
        reason=why[:200],
    ):
        after = uow.orders.get_fulfilment(fulfilment.id)
        assert after is not None
        uow.emit("fulfillment.status_changed", fulfilment_view(after))


def release(
    uow: UnitOfWork, order_id: int, units: Sequence[tuple[str, str, int]], *, reason: str
) -> None:
    """Give promised (location, sku, units) back, in (location, sku) order, with the ledger."""
    # An order's units are reserved until it lets them go: the guard cannot refuse.
    ledger.change_stock(
        uow,
        type=DEALLOCATE,
        entries=[(loc, sku, Deltas(reserved=-q)) for loc, sku, q in units],
        reason=reason,
        reference=f"order:{order_id}",
    )


def resource(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[tuple[str, int]],
    *,
    trigger: str,
    because: str,
    short_at: str,
    within: frozenset[tuple[str, str]] | None = None,
) -> None:
    """Source `lines` of `order` again, never at `short_at` nor where the order was
    rejected (and, given `within`, only at the positions locked ahead); what no location
    can serve is backordered. Writes the history and events."""
    fell_short = {f.location for f in order.fulfilments if f.status is FulfilmentStatus.REJECTED}
    fell_short.add(short_at)
    need = sourcing.Need(
        channel=order.channel,
        method=order.method,
        lines=lines,
        ship_to=ship_to_of(order),
        pickup_at=None if order.method is DeliveryMethod.SHIP else str(order.delivery["location"]),
        exclude=frozenset(fell_short) if order.method is DeliveryMethod.SHIP else frozenset(),
        within=within,
    )
    if order.method is not DeliveryMethod.SHIP:
        # Only the chosen store serves a pickup: whatever it cannot keep waits for stock there.
        uow.orders.add_history(order.id, [("backordered", because)], now=uow.now)
        for sku, units in lines:
            uow.orders.change_line(order.id, sku, backordered=units)
        uow.emit("order.backordered", _fresh_view(uow, order.id))
        return
    sourced = sourcing.allocate(
        uow, order_id=order.id, need=need, trigger=trigger, all_or_nothing=False
    )
    entries = []
    for _, location, shipped in sourced.fulfilments:
        moved = ", ".join(f"{q} x {sku}" for sku, q in shipped)
        entries.append(("resourced", f"{because}: {moved} now at {location}"))
    for sku, units in sourced.backorders:
        uow.orders.change_line(order.id, sku, backordered=units)
        entries.append(("backordered", f"{because}: {units} x {sku} wait for stock"))
    uow.orders.add_history(order.id, entries, now=uow.now)
    if sourced.fulfilments:
        uow.emit("order.resourced", _fresh_view(uow, order.id))
    if sourced.backorders:
        uow.emit("order.backordered", _fresh_view(uow, order.id))


def announce(uow: UnitOfWork, before: Order) -> OrderStatus:
    """Emit `order.status_changed` if the order's status moved since `before`; answers the
    status now."""
    after = uow.orders.get_order(before.id)
    assert after is not None
    if after.status != before.status:
        detail = f"{before.status} → {after.status}"
        uow.orders.add_history(before.id, [("status_changed", detail)], now=uow.now)
        uow.emit("order.status_changed", order_view(after))
    return after.status


def ship_to_of(order: Order) -> tuple[float, float] | None:
    address = order.delivery.get("address")
    if not isinstance(address, dict):
        return None
    return (float(address["lat"]), float(address["lon"]))


def _fresh_view(uow: UnitOfWork, order_id: int) -> dict[str, object]:
    found = uow.orders.get_order(order_id)
    assert found is not None
    return order_view(found)
