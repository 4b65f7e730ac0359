"""Returns from any channel into any location: take them back, read them.

A return locks its order (the lock order of every path that changes orders: orders, then
positions), so two returns of the same order at once cannot both take back its last unit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.errors import NotFound
from omnistock.domain.events import Event
from omnistock.domain.orders import Order
from omnistock.domain.returns import RETURN, Return, ReturnLine, deltas, priced, returnable
from omnistock.domain.stock import Deltas
from omnistock.services import catalog, ledger, order_changes
from omnistock.services.views import iso


def take_back(
    uow: UnitOfWork, *, order_id: int, location: str, lines: Sequence[ReturnLine]
) -> Return:
    """Take back `lines` of a delivered or collected order at `location`: on hand there at
    once (unsellable if damaged); answers the return with its refund."""
    catalog.active_location(uow, location, field="location")
    order = order_changes.locked_order(uow, order_id, field="order_id")
    lines = priced(order, lines, uow.returns.returned(order_id))
    return_id = uow.returns.add(
        order_id=order_id,
        location=location,
        currency=order.currency,
        lines=lines,
        now=uow.now,
    )
    by_sku: dict[str, Deltas] = {}  # a sku may come back on several lines
    for line in lines:
        by_sku[line.sku] = by_sku.get(line.sku, Deltas()) + deltas(line)
    reasons = "; ".join(line.reason for line in lines if line.reason)
    ledger.change_stock(
        uow,
        type=RETURN,
        entries=[(location, sku, d) for sku, d in by_sku.items()],
        reason=f"order {order_id}" + (f": {reasons}" if reasons else ""),
        reference=f"return:{return_id}",
    )
    detail = ", ".join(f"{line.quantity} x {line.sku} ({line.condition})" for line in lines)
    uow.orders.add_history(order_id, [("returned", f"{detail} at {location}")], now=uow.now)
    taken_back = Return(return_id, order_id, location, order.currency, lines, uow.now)
    uow.emit(Event.RETURN_CREATED, return_view(taken_back))
    return taken_back


def returnable_units(reads: ReadUnit, order: Order) -> dict[str, int]:
    """Units of each of the order's skus that could come back now (delivered or collected,
    and not back yet)."""
    return returnable(order, reads.returns.returned(order.id))


def get(reads: ReadUnit, return_id: int) -> Return:
    found = reads.returns.get(return_id)
    if found is None:
        raise NotFound("return", str(return_id), field="id")
    return found


def list_returns(
    reads: ReadUnit,
    *,
    order_id: int | None = None,
    locations: Collection[str] | None = None,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[Return], int | None]:
    """A page of returns, oldest first, and the id to pass as `after` for the next."""
    found = reads.returns.list_returns(
        order_id=order_id, locations=locations, after=after, limit=limit
    )
    return found, (found[-1].id if len(found) == limit else None)


def return_view(x: Return) -> dict[str, Any]:
    """A return as the API and the event feed show it."""
    return {
        "id": x.id,
        "order_id": x.order_id,
        "location": x.location,
        "currency": x.currency,
        "refund_amount": f"{x.refund_amount:.2f}",
        "created_at": iso(x.created_at),
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "condition": str(line.condition),
                "reason": line.reason,
                "unit_price": f"{line.unit_price:.2f}",
                "refund": f"{line.unit_price * line.quantity:.2f}",
            }
            for line in x.lines
        ],
    }
