"""Changes to an order that placing, cancelling, fulfilling, returning and healing share:
the order locked, units taken off a fulfilment and given back, lines sourced again, and its
status change announced.

Lock order, on every path that changes orders: the order (by id), then the positions by
(location, sku) (`omnistock.services.healing` says the whole order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omnistock.db import UnitOfWork
from omnistock.domain.errors import NotFound
from omnistock.domain.events import Event
from omnistock.domain.orders import (
    DEALLOCATE,
    DeliveryMethod,
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderStatus,
)
from omnistock.domain.stock import Deltas
from omnistock.services import ledger, sourcing
from omnistock.services.views import fulfilment_view, order_view


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
        uow.emit(Event.FULFILMENT_CHANGED, fulfilment_view(smaller, uow.policy))  # its lines shrank
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
        uow.emit(Event.FULFILMENT_STATUS_CHANGED, fulfilment_view(after, uow.policy))


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


@dataclass(frozen=True, slots=True)
class Moved:
    """Where lines sourced again went: new fulfilments (id, location, lines), and the units
    that wait for stock, by sku."""

    fulfilments: tuple[tuple[int, str, tuple[tuple[str, int], ...]], ...]
    backorders: tuple[tuple[str, int], ...]


def resource(
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[tuple[str, int]],
    *,
    trigger: str,
    because: str,
    short_at: str,
    within: frozenset[tuple[str, str]] | None = None,
) -> Moved:
    """Source `lines` of `order` again, never at `short_at` nor where the order was
    rejected (and, given `within`, only at the positions locked ahead); what no location
    can serve is backordered. Writes the history and events; answers where the lines went."""
    if order.method is not DeliveryMethod.SHIP:
        _backorder_at_store(uow, order, lines, because)
        return Moved(fulfilments=(), backorders=tuple(lines))
    fell_short = {f.location for f in order.fulfilments if f.status is FulfilmentStatus.REJECTED}
    need = sourcing.Need(
        channel=order.channel,
        method=order.method,
        lines=lines,
        ship_to=ship_to_of(order),
        exclude=frozenset(fell_short | {short_at}),
        within=within,
    )
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
        uow.emit(Event.ORDER_RESOURCED, _fresh_view(uow, order.id))
    if sourced.backorders:
        uow.emit(Event.ORDER_BACKORDERED, _fresh_view(uow, order.id))
    return Moved(tuple(sourced.fulfilments), sourced.backorders)


def _backorder_at_store(
    uow: UnitOfWork, order: Order, lines: Sequence[tuple[str, int]], because: str
) -> None:
    """Only the chosen store serves a pickup: whatever it cannot keep waits for stock there."""
    uow.orders.add_history(order.id, [("backordered", because)], now=uow.now)
    for sku, units in lines:
        uow.orders.change_line(order.id, sku, backordered=units)
    uow.emit(Event.ORDER_BACKORDERED, _fresh_view(uow, order.id))


def announce(uow: UnitOfWork, before: Order) -> OrderStatus:
    """Emit `order.status_changed` if the order's status moved since `before`; answers the
    status now."""
    after = uow.orders.get_order(before.id)
    assert after is not None
    if after.status != before.status:
        detail = f"{before.status} → {after.status}"
        uow.orders.add_history(before.id, [("status_changed", detail)], now=uow.now)
        uow.emit(Event.ORDER_STATUS_CHANGED, order_view(after, uow.policy))
    return after.status


def ship_to_of(order: Order) -> tuple[float, float] | None:
    address = order.delivery.get("address")
    if not isinstance(address, dict):
        return None
    return (float(address["lat"]), float(address["lon"]))


def _fresh_view(uow: UnitOfWork, order_id: int) -> dict[str, object]:
    found = uow.orders.get_order(order_id)
    assert found is not None
    return order_view(found, uow.policy)


def lock_for_order(
    uow: UnitOfWork, order: Order, skus: Sequence[str], *, anywhere: bool
) -> frozenset[tuple[str, str]] | None:
    """Having locked `order`, lock the positions a change to it may touch: `skus` where the
    order has open fulfilments, or everywhere (`anywhere`) when it may be sourced again.
    Answers the positions locked (None on SQLite: all of them)."""
    locations = None if anywhere else sorted({f.location for f in order.fulfilments})
    locked = uow.stock.lock_positions(skus=sorted(set(skus)), locations=locations)
    return None if locked is None else frozenset(locked)
