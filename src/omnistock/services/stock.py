"""Recording stock movements and reading the unified stock and its ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.errors import NotFound
from omnistock.domain.events import Event
from omnistock.domain.stock import (
    Drift,
    Movement,
    MovementType,
    Position,
    movement_deltas,
    needs_current_position,
    refusal,
    validate_quantity,
)
from omnistock.services import availability, healing
from omnistock.services.views import position_view


@dataclass(frozen=True, slots=True)
class MovementRecorded:
    movement: Movement
    position: Position


def record_movement(
    uow: UnitOfWork,
    *,
    location: str,
    sku: str,
    movement_type: MovementType,
    quantity: int,
    reason: str | None = None,
    reference: str | None = None,
) -> MovementRecorded:
    """Apply one movement to a position and append it to the ledger, or raise why not."""
    validate_quantity(movement_type, quantity)
    uow.catalog.require_location(location)
    uow.catalog.require_item(sku)
    recorded: list[MovementRecorded] = []

    def apply() -> bool:
        recorded[:] = [_apply(uow, location, sku, movement_type, quantity, reason, reference)]
        return recorded[0].position.available < 0  # a physical fact took promised units

    cause = f"{movement_type} of {quantity}"
    if movement_type in _MAY_TAKE_PROMISED_UNITS:
        healing.physical_fact(uow, location=location, skus=[sku], apply=apply, cause=cause)
    else:
        apply()
    movement, position = recorded[0].movement, recorded[0].position
    if position.available < 0:
        position = uow.stock.read_position(sku=sku, location=location)  # as healed
    return MovementRecorded(movement, position)


#: Movements that may take units already promised (the others never lower `available`).
_MAY_TAKE_PROMISED_UNITS = frozenset(
    {MovementType.SALE, MovementType.COUNT, MovementType.DAMAGE, MovementType.ADJUSTMENT}
)


def _apply(
    uow: UnitOfWork,
    location: str,
    sku: str,
    movement_type: MovementType,
    quantity: int,
    reason: str | None,
    reference: str | None,
) -> MovementRecorded:
    current = (
        uow.stock.lock_position(sku=sku, location=location)
        if needs_current_position(movement_type)
        else Position()
    )
    deltas = movement_deltas(movement_type, quantity, current)
    position = uow.stock.apply_deltas(sku=sku, location=location, deltas=deltas)
    if position is None:
        raise refusal(
            location=location,
            sku=sku,
            movement_type=movement_type,
            quantity=quantity,
            current=uow.stock.read_position(sku=sku, location=location),
        )
    movement = uow.stock.append_movement(
        at=uow.now,
        sku=sku,
        location=location,
        type=str(movement_type),
        deltas=deltas,
        reason=reason,
        reference=reference,
    )
    uow.emit(Event.STOCK_CHANGED, position_view(sku, location, position))
    availability.watch(uow, sku)
    return MovementRecorded(movement, position)


def stock_of(reads: ReadUnit, sku: str) -> list[tuple[str, Position]]:
    """Every position of an item, by location (NotFound when the item is unknown)."""
    found = reads.stock.positions_of(sku)
    if not found and reads.catalog.get_item(sku) is None:
        raise NotFound("item", sku, field="sku")
    return found


def ledger(
    reads: ReadUnit, *, sku: str, location: str | None = None, after: int = 0, limit: int = 1000
) -> list[Movement]:
    """The movements of an item (at one location if given), oldest first, ids above `after`."""
    rows = reads.stock.ledger(sku=sku, location=location, after=after, limit=limit)
    if not rows:  # empty, or unknown?
        if reads.catalog.get_item(sku) is None:
            raise NotFound("item", sku, field="sku")
        if location is not None and reads.catalog.get_location(location) is None:
            raise NotFound("location", location, field="location")
    return rows


def check(reads: ReadUnit) -> Iterator[Drift]:
    """Replay the whole ledger; yields every position that differs from its movements."""
    return reads.stock.drifts()


def total(found: list[tuple[str, Position]]) -> Position:
    """The sum of several positions of one item."""
    return Position(
        on_hand=sum(p.on_hand for _, p in found),
        reserved=sum(p.reserved for _, p in found),
        unsellable=sum(p.unsellable for _, p in found),
        inbound=sum(p.inbound for _, p in found),
    )
