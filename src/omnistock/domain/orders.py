"""Orders, their fulfilments, and the rules of their workflow.

An order's lines are carried out by fulfilments, one per location; what no location could
take waits as a backorder on the line. The order's status is never stored: it follows from
its fulfilments and backorders (`order_status`), so it can never disagree with them.

    ship      allocated → picked → packed → shipped → delivered
    pickup    allocated → picked → ready_for_pickup → collected (or expired)
    in_store  collected at once
    any open status → rejected (the location cannot serve it) or cancelled
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from omnistock.domain.errors import InvalidTransition
from omnistock.domain.sourcing import Costs

#: Ledger movement types written by orders.
ALLOCATE = "allocate"  # reserved +q: units promised to an order
DEALLOCATE = "deallocate"  # reserved -q: a promise given up (cancel, reject, expiry, healing)
FULFIL = "fulfil"  # on_hand -q, reserved -q: units shipped or collected
WRITE_OFF = "write_off"  # on_hand -q: units a location could not find
SOLD_IN_STORE = "sale"  # on_hand -q: an in-store order, sold on the spot


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    """How orders are sourced and how long a pickup waits (settings of the retailer)."""

    costs: Costs = field(default_factory=Costs)
    pickup_expiry_days: int = 7

    def pickup_by(self, fulfilment: Fulfilment) -> dt.datetime | None:
        """When a fulfilment ready for pickup expires if nobody collects it (None for any
        other status): `pickup_expiry_days` after it became ready."""
        if fulfilment.status != FulfilmentStatus.READY_FOR_PICKUP or fulfilment.status_at is None:
            return None
        return fulfilment.status_at + dt.timedelta(days=self.pickup_expiry_days)


class DeliveryMethod(enum.StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"
    IN_STORE = "in_store"


class FulfilmentStatus(enum.StrEnum):
    ALLOCATED = "allocated"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    EXPIRED = "expired"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Action(enum.StrEnum):
    PICK = "pick"
    PACK = "pack"
    SHIP = "ship"
    DELIVER = "deliver"
    READY = "ready"
    COLLECT = "collect"
    CANCEL = "cancel"
    REJECT = "reject"
    EXPIRE = "expire"  # not an API action: the pickup deadline passed


class OrderStatus(enum.StrEnum):
    BACKORDERED = "backordered"
    PARTIALLY_ALLOCATED = "partially_allocated"
    ALLOCATED = "allocated"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


S = FulfilmentStatus
#: Units still promised at the location: they may be cancelled, rejected or re-sourced.
OPEN = frozenset({S.ALLOCATED, S.PICKED, S.PACKED, S.READY_FOR_PICKUP})
#: Ended without serving the customer: the units went back (or elsewhere).
DROPPED = frozenset({S.REJECTED, S.CANCELLED, S.EXPIRED})
#: The units left the location with the customer or a carrier.
GONE = frozenset({S.SHIPPED, S.DELIVERED, S.COLLECTED})
DONE = frozenset({S.DELIVERED, S.COLLECTED})
#: Work started on it: the order is in progress.
STARTED = frozenset(S) - DROPPED - {S.ALLOCATED}

_FLOW: dict[DeliveryMethod, dict[tuple[FulfilmentStatus, Action], FulfilmentStatus]] = {
    DeliveryMethod.SHIP: {
        (S.ALLOCATED, Action.PICK): S.PICKED,
        (S.PICKED, Action.PACK): S.PACKED,
        (S.PACKED, Action.SHIP): S.SHIPPED,
        (S.SHIPPED, Action.DELIVER): S.DELIVERED,
    },
    DeliveryMethod.PICKUP: {
        (S.ALLOCATED, Action.PICK): S.PICKED,
        (S.PICKED, Action.READY): S.READY_FOR_PICKUP,
        (S.READY_FOR_PICKUP, Action.COLLECT): S.COLLECTED,
        (S.READY_FOR_PICKUP, Action.EXPIRE): S.EXPIRED,
    },
    DeliveryMethod.IN_STORE: {},
}
_ENDING = {Action.CANCEL: S.CANCELLED, Action.REJECT: S.REJECTED}


def next_status(
    method: DeliveryMethod, status: FulfilmentStatus, action: Action
) -> FulfilmentStatus:
    """The status `action` leads to from `status`, or InvalidTransition."""
    if action in _ENDING and status in OPEN:
        return _ENDING[action]
    found = _FLOW[method].get((status, action))
    if found is None:
        raise InvalidTransition(status=str(status), action=str(action))
    return found


def releases_units(status: FulfilmentStatus) -> bool:
    """Whether reaching `status` gives the promised units back to the location."""
    return status in DROPPED


def takes_units(status: FulfilmentStatus) -> bool:
    """Whether reaching `status` takes the units off on_hand and reserved (fulfil)."""
    return status in (S.SHIPPED, S.COLLECTED)


def order_status(fulfilments: Iterable[FulfilmentStatus], backordered: int) -> OrderStatus:
    """An order's status, from its fulfilments' and the units still backordered.

    The SQL twin of this rule (for listing orders by status) is in omnistock.db.orders.
    """
    live = [status for status in fulfilments if status not in DROPPED]
    if not live:
        return OrderStatus.BACKORDERED if backordered else OrderStatus.CANCELLED
    if backordered == 0 and all(status in DONE for status in live):
        return OrderStatus.COMPLETED
    if any(status in STARTED for status in live):
        return OrderStatus.IN_PROGRESS
    return OrderStatus.PARTIALLY_ALLOCATED if backordered else OrderStatus.ALLOCATED


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal
    backordered: int = 0
    cancelled: int = 0


@dataclass(frozen=True, slots=True)
class Fulfilment:
    id: int
    order_id: int
    location: str
    status: FulfilmentStatus
    lines: tuple[tuple[str, int], ...]
    carrier: str | None = None
    tracking: str | None = None
    reason: str | None = None
    status_at: dt.datetime | None = None  # when it entered its status (None: not stored yet)


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    channel: str
    external_id: str | None
    customer: dict[str, str]
    delivery: dict[str, object]
    currency: str
    lines: tuple[OrderLine, ...]
    fulfilments: tuple[Fulfilment, ...]
    created_at: dt.datetime
    history: tuple[dict[str, object], ...] = ()

    @property
    def method(self) -> DeliveryMethod:
        return DeliveryMethod(str(self.delivery["method"]))

    @property
    def status(self) -> OrderStatus:
        return order_status(
            (f.status for f in self.fulfilments), sum(line.backordered for line in self.lines)
        )


@dataclass(frozen=True, slots=True)
class OrderFilters:
    """What a list of orders may be narrowed to: the channel's `external_id`, the customer's
    email (any case) and orders created strictly after a time. None: any."""

    external_id: str | None = None
    customer_email: str | None = None
    created_after: dt.datetime | None = None


def differences(
    order: Order,
    *,
    customer: Mapping[str, object],
    delivery: Mapping[str, object],
    lines: Sequence[tuple[str, int, Decimal]],
    currency: str,
) -> list[str]:
    """The fields of an order sent again under its external id that differ from `order`, as
    the request names them (`delivery.address.city`, `lines[0].quantity`; `lines` when the
    skus differ): empty when it is the same order, its lines in any order. How it was to be
    served (a hold, a partial allocation) is not compared: only what was bought, by whom, and
    where it goes."""
    found = _differing("customer", order.customer, customer)
    found += _differing("delivery", order.delivery, delivery)
    stored = {line.sku: line for line in order.lines}  # one line a sku
    if sorted(stored) != sorted(sku for sku, _, _ in lines):
        found.append("lines")
    else:
        for i, (sku, quantity, unit_price) in enumerate(lines):
            if quantity != stored[sku].quantity:
                found.append(f"lines[{i}].quantity")
            if unit_price != stored[sku].unit_price:
                found.append(f"lines[{i}].unit_price")
    if currency != order.currency:
        found.append("currency")
    return found


def _differing(name: str, stored: object, sent: object) -> list[str]:
    if isinstance(stored, Mapping) and isinstance(sent, Mapping):
        keys = sorted(set(stored) | set(sent), key=str)
        return [f for k in keys for f in _differing(f"{name}.{k}", stored.get(k), sent.get(k))]
    return [] if stored == sent else [name]
