"""Resources as the API and the event feed show them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from omnistock.domain.orders import Fulfilment, Order, OrderPolicy
from omnistock.domain.stock import Position

if TYPE_CHECKING:
    from omnistock.services.order_changes import Moved


def position_view(sku: str, location: str, position: Position) -> dict[str, object]:
    """A position as the API and the event feed show it."""
    return {"sku": sku, "location": location, **position.as_dict()}


def iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def fulfilment_view(f: Fulfilment, policy: OrderPolicy) -> dict[str, object]:
    """A fulfilment as the API and the event feed show it; one ready for pickup says until
    when it waits (`pickup_by`)."""
    pickup_by = policy.pickup_by(f)
    return {
        "id": f.id,
        "order_id": f.order_id,
        "location": f.location,
        "status": str(f.status),
        "lines": [{"sku": sku, "quantity": q} for sku, q in sorted(f.lines)],
        "carrier": f.carrier,
        "tracking": f.tracking,
        "reason": f.reason,
        "pickup_by": None if pickup_by is None else iso(pickup_by),
    }


def rejected_view(f: Fulfilment, moved: Moved, policy: OrderPolicy) -> dict[str, object]:
    """A rejected fulfilment, and where its lines went, as the reject action answers."""
    return {
        **fulfilment_view(f, policy),
        "resourced": [
            {
                "fulfillment_id": fulfilment_id,
                "location": location,
                "lines": [{"sku": sku, "quantity": q} for sku, q in sorted(lines)],
            }
            for fulfilment_id, location, lines in moved.fulfilments
        ],
        "backordered": [{"sku": sku, "quantity": q} for sku, q in sorted(moved.backorders)],
    }


def order_view(
    order: Order, policy: OrderPolicy, *, history: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An order as the API and the event feed show it (with its history when given)."""
    view: dict[str, Any] = {
        "id": order.id,
        "status": str(order.status),
        "channel": order.channel,
        "external_id": order.external_id,
        "customer": order.customer or None,  # an in-store sale may have none
        "delivery": order.delivery,
        "currency": order.currency,
        "created_at": iso(order.created_at),
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": f"{line.unit_price:.2f}",
                "backordered": line.backordered,
                "cancelled": line.cancelled,
            }
            for line in order.lines
        ],
        "fulfillments": [fulfilment_view(f, policy) for f in order.fulfilments],
        "backorders": [
            {"sku": line.sku, "quantity": line.backordered}
            for line in order.lines
            if line.backordered
        ],
    }
    if history is not None:
        view["history"] = [{**entry, "at": iso(entry["at"])} for entry in history]
    return view
