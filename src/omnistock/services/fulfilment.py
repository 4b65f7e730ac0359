"""Carrying out orders: each location's work queue, and the actions on a fulfilment.

Every action moves the fulfilment with one guarded statement (from the status it was read
in, under the order's lock), so it happens once however many clients press the button.
Shipping or collecting takes the units off `on_hand` and `reserved` together; cancelling,
expiring and rejecting give them back. A rejection also writes off the units the location
could not find, and sources the lines again elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.errors import InvalidInput, InvalidTransition, NotFound, StockConflict
from omnistock.domain.events import Event
from omnistock.domain.orders import (
    FULFIL,
    WRITE_OFF,
    Action,
    Fulfilment,
    FulfilmentStatus,
    Order,
    next_status,
    releases_units,
    takes_units,
)
from omnistock.domain.stock import Deltas
from omnistock.services import ledger, order_changes
from omnistock.services.views import fulfilment_view


def act(
    uow: UnitOfWork,
    fulfilment_id: int,
    action: Action,
    *,
    carrier: str | None = None,
    tracking: str | None = None,
    reason: str | None = None,
    missing: Sequence[tuple[str, int]] = (),
) -> Fulfilment:
    """Carry out `action` on a fulfilment (InvalidTransition when its status forbids it);
    answers the fulfilment after it."""
    after, _ = _carry_out(uow, fulfilment_id, action, carrier, tracking, reason, missing)
    return after


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected fulfilment, and where its lines went."""

    fulfilment: Fulfilment
    moved: order_changes.Moved


def reject(
    uow: UnitOfWork, fulfilment_id: int, *, reason: str, missing: Sequence[tuple[str, int]] = ()
) -> Rejected:
    """The location cannot serve the fulfilment: write off the `missing` units there, and
    source its lines again elsewhere, or backorder them; answers where they went."""
    after, moved = _carry_out(uow, fulfilment_id, Action.REJECT, None, None, reason, missing)
    assert moved is not None
    return Rejected(after, moved)


def _carry_out(
    uow: UnitOfWork,
    fulfilment_id: int,
    action: Action,
    carrier: str | None,
    tracking: str | None,
    reason: str | None,
    missing: Sequence[tuple[str, int]],
) -> tuple[Fulfilment, order_changes.Moved | None]:
    """`act`, answering also where a rejection's lines went."""
    found = uow.orders.get_fulfilment(fulfilment_id)
    if found is None:
        raise NotFound("fulfillment", str(fulfilment_id), field="id")
    order = order_changes.locked_order(uow, found.order_id)
    fulfilment = next(f for f in order.fulfilments if f.id == fulfilment_id)
    status = next_status(order.method, fulfilment.status, action)
    if action is Action.REJECT:
        _check_missing(fulfilment, missing)
    within = _lock_units(uow, order, fulfilment, action, status)
    _move(uow, fulfilment, action, status, carrier=carrier, tracking=tracking, reason=reason)
    if takes_units(status):
        _fulfil(uow, order.id, fulfilment, action)
    elif releases_units(status):
        why = reason or f"fulfilment {fulfilment_id} {status}"
        order_changes.release(uow, order.id, _units(fulfilment), reason=why)
    said = _said(fulfilment, status, reason)
    uow.orders.add_history(order.id, [(f"fulfillment_{status}", said)], now=uow.now)
    after = uow.orders.get_fulfilment(fulfilment_id)
    assert after is not None
    uow.emit(
        Event.FULFILMENT_STATUS_CHANGED, fulfilment_view(after, uow.policy)
    )  # before what it leads to
    moved = None
    if action is Action.REJECT:
        moved = _rejected(uow, order, fulfilment, missing, reason or "rejected", within)
    elif status in (FulfilmentStatus.CANCELLED, FulfilmentStatus.EXPIRED):
        for _, sku, q in _units(fulfilment):
            uow.orders.change_line(order.id, sku, cancelled=q)
    order_changes.announce(uow, order)
    return after, moved


def _lock_units(
    uow: UnitOfWork, order: Order, fulfilment: Fulfilment, action: Action, status: FulfilmentStatus
) -> frozenset[tuple[str, str]] | None:
    """Lock the positions moving to `status` changes: the fulfilment's, or with a rejection
    (which sources the lines again) its skus' everywhere. Answers those locked."""
    if not (takes_units(status) or releases_units(status)):
        return None
    skus = [sku for sku, _ in fulfilment.lines]
    return order_changes.lock_for_order(uow, order, skus, anywhere=action is Action.REJECT)


def _move(
    uow: UnitOfWork,
    fulfilment: Fulfilment,
    action: Action,
    status: FulfilmentStatus,
    *,
    carrier: str | None,
    tracking: str | None,
    reason: str | None,
) -> None:
    """Move the fulfilment to `status` (the one `action` leads to)."""
    moved = uow.orders.move_status(
        fulfilment.id,
        from_=fulfilment.status,
        to=status,
        now=uow.now,
        carrier=carrier,
        tracking=tracking,
        reason=reason,
    )
    if not moved:  # cannot happen under the order's lock; kept as the database's last word
        raise InvalidTransition(status=str(fulfilment.status), action=str(action))


def _units(fulfilment: Fulfilment) -> list[tuple[str, str, int]]:
    """The fulfilment's lines as (location, sku, units)."""
    return [(fulfilment.location, sku, q) for sku, q in fulfilment.lines]


def queue(
    reads: ReadUnit,
    *,
    locations: Collection[str] | None = None,
    status: FulfilmentStatus | None = None,
    after: int = 0,
    limit: int = 100,
) -> tuple[list[Fulfilment], int | None]:
    """A page of fulfilments, oldest first (a location's work queue), and the `after` of the
    next page (None at the end)."""
    found = reads.orders.list_fulfilments(
        locations=locations, status=status, after=after, limit=limit
    )
    return found, (found[-1].id if len(found) == limit else None)


def get(reads: ReadUnit, fulfilment_id: int) -> Fulfilment:
    found = reads.orders.get_fulfilment(fulfilment_id)
    if found is None:
        raise NotFound("fulfillment", str(fulfilment_id), field="id")
    return found


def expire_pickups(uow: UnitOfWork, *, most: int = 100) -> int:
    """Expire pickups left uncollected for the policy's days; answers how many."""
    ready_before = uow.now - dt.timedelta(days=uow.policy.pickup_expiry_days)
    due = uow.orders.due_pickups(ready_before=ready_before, most=most)
    # Every order first, then every position, each in order: the lock order of every path.
    found = [f for f in map(uow.orders.get_fulfilment, due) if f]
    uow.orders.lock_orders(sorted({f.order_id for f in found}))
    uow.stock.lock_positions(
        skus=sorted({sku for f in found for sku, _ in f.lines}),
        locations=sorted({f.location for f in found}),
    )
    for fulfilment_id in due:
        act(
            uow,
            fulfilment_id,
            Action.EXPIRE,
            reason=f"not collected within {uow.policy.pickup_expiry_days} days",
        )
    return len(due)


def _check_missing(fulfilment: Fulfilment, missing: Sequence[tuple[str, int]]) -> None:
    lines = dict(fulfilment.lines)
    seen: set[str] = set()
    for index, (sku, quantity) in enumerate(missing):
        if sku not in lines:
            raise InvalidInput(f"missing[{index}].sku", f"{sku!r} is not in this fulfilment")
        if sku in seen:
            raise InvalidInput(f"missing[{index}].sku", f"{sku!r} is listed twice")
        if quantity > lines[sku]:
            raise InvalidInput(
                f"missing[{index}].quantity", f"the fulfilment has only {lines[sku]} x {sku}"
            )
        seen.add(sku)


def _fulfil(uow: UnitOfWork, order_id: int, fulfilment: Fulfilment, action: Action) -> None:
    """The units leave: off `on_hand` and `reserved` together."""
    location = fulfilment.location
    try:
        ledger.change_stock(
            uow,
            type=FULFIL,
            entries=[
                (location, sku, Deltas(on_hand=-q, reserved=-q)) for sku, q in fulfilment.lines
            ],
            reason=f"fulfilment {fulfilment.id} {action}",
            reference=f"order:{order_id}",
        )
    except ledger.Refused as refused:  # fewer on hand than the system believed: it cannot leave
        current = uow.stock.read_position(sku=refused.sku, location=location)
        raise StockConflict(
            location=location,
            sku=refused.sku,
            movement_type=FULFIL,
            quantity=dict(fulfilment.lines)[refused.sku],
            reason=f"only {current.on_hand - current.unsellable} sellable unit(s) on hand",
            position=current,
        ) from None


def _rejected(
    uow: UnitOfWork,
    order: Order,
    fulfilment: Fulfilment,
    missing: Sequence[tuple[str, int]],
    reason: str,
    within: frozenset[tuple[str, str]] | None,
) -> order_changes.Moved:
    """Write off what the location could not find, and source the lines again elsewhere
    (only at the positions locked ahead, `within`); answers where they went.

    No other promise there needs healing: the units written off are at most those this
    fulfilment gave back, so `available` ends no lower than it was; and where it was below
    zero, healing has already moved every untouched allocation, and the guard lets no new
    one in.
    """
    location = fulfilment.location
    _write_off(uow, order.id, location, missing, reason)
    because = f"{location} rejected fulfilment {fulfilment.id} ({reason})"
    return order_changes.resource(
        uow,
        order,
        fulfilment.lines,
        trigger="rejection",
        because=because,
        short_at=location,
        within=within,
    )


def _write_off(
    uow: UnitOfWork, order_id: int, location: str, missing: Sequence[tuple[str, int]], reason: str
) -> None:
    """Write off the units `location` could not find, no more than it thought it had."""
    written_off = []
    for sku, quantity in sorted(missing):
        current = uow.stock.read_position(sku=sku, location=location)
        units = min(quantity, current.on_hand - current.unsellable)
        if units > 0:
            written_off.append((location, sku, Deltas(on_hand=-units)))
    # No more than the units on hand and sellable: the guard cannot refuse.
    ledger.change_stock(
        uow,
        type=WRITE_OFF,
        entries=written_off,
        reason=f"not found: {reason}",
        reference=f"order:{order_id}",
    )


def _said(fulfilment: Fulfilment, status: FulfilmentStatus, reason: str | None) -> str:
    said = f"fulfilment {fulfilment.id} at {fulfilment.location}: {status}"
    return f"{said} ({reason})" if reason else said
