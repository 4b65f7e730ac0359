"""Positions, movements and their arithmetic.

A position is the stock of one item at one location. It only ever changes by a movement:
an immutable ledger entry carrying the deltas it applied to the four quantities. So a
position always equals the sum of its movements (DESIGN invariant 2).

The rules here decide; the database enforces them with the same conditions in SQL
(`omnistock.db.stock`), so concurrent writers can never break them.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from omnistock.domain.errors import InvalidInput, StockConflict

#: Largest quantity one movement may carry. Keeps every sum far inside a signed 64-bit integer.
MAX_QUANTITY = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Deltas:
    """What one movement adds to each quantity of a position (negative to take away)."""

    on_hand: int = 0
    reserved: int = 0
    unsellable: int = 0
    inbound: int = 0

    def __add__(self, other: Deltas) -> Deltas:
        return Deltas(
            self.on_hand + other.on_hand,
            self.reserved + other.reserved,
            self.unsellable + other.unsellable,
            self.inbound + other.inbound,
        )


@dataclass(frozen=True, slots=True)
class Position:
    """Stock of one item at one location."""

    on_hand: int = 0
    reserved: int = 0
    unsellable: int = 0
    inbound: int = 0

    @property
    def available(self) -> int:
        """Units that can still be promised: on hand, not reserved, not unsellable."""
        return self.on_hand - self.reserved - self.unsellable

    def apply(self, deltas: Deltas) -> Position:
        return Position(
            self.on_hand + deltas.on_hand,
            self.reserved + deltas.reserved,
            self.unsellable + deltas.unsellable,
            self.inbound + deltas.inbound,
        )

    @property
    def is_physically_possible(self) -> bool:
        """No quantity below zero, and never more unsellable units than units on hand.

        `available` may be negative: a physical fact (a POS sale, a count, damage) can take
        away units already promised. Re-sourcing those promises is the orders' job.
        """
        return self.on_hand >= self.unsellable >= 0 and self.reserved >= 0 and self.inbound >= 0

    def as_dict(self) -> dict[str, int]:
        return {
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "unsellable": self.unsellable,
            "inbound": self.inbound,
            "available": self.available,
        }


@dataclass(frozen=True, slots=True)
class Movement:
    """One immutable ledger entry: the deltas it applied to a position, and why."""

    id: int
    at: dt.datetime
    sku: str
    location: str
    type: str
    deltas: Deltas
    reason: str | None
    reference: str | None


@dataclass(frozen=True, slots=True)
class NewMovement:
    """One ledger entry to append in bulk (the demo's opening stock, imports)."""

    sku: str
    location: str
    type: str
    deltas: Deltas
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Drift:
    """A position that differs from the sum of its movements (it never should)."""

    sku: str
    location: str
    stored: Position
    replayed: Position


class MovementType(enum.StrEnum):
    """Why a position changed: the movements people and systems record."""

    RECEIPT = "receipt"  # units arrived: +on_hand
    SALE = "sale"  # a POS sale: -on_hand
    ADJUSTMENT = "adjustment"  # a signed correction of on_hand
    COUNT = "count"  # a stock count: on_hand := quantity
    DAMAGE = "damage"  # units found damaged: +unsellable
    DISPOSE = "dispose"  # unsellable units thrown away: -on_hand, -unsellable
    RESTORE = "restore"  # unsellable units made sellable again (repaired, checked): -unsellable


def validate_quantity(movement_type: MovementType, quantity: int) -> None:
    """Reject quantities that make no sense for the movement type (raises InvalidInput)."""
    if abs(quantity) > MAX_QUANTITY:
        raise InvalidInput("quantity", f"must be at most {MAX_QUANTITY} in absolute value")
    if movement_type is MovementType.ADJUSTMENT:
        if quantity == 0:
            raise InvalidInput("quantity", "an adjustment must not be zero")
    elif movement_type is MovementType.COUNT:
        if quantity < 0:
            raise InvalidInput("quantity", "a count must be zero or more")
    elif quantity <= 0:
        raise InvalidInput("quantity", f"a {movement_type} must be a positive quantity")


def movement_deltas(movement_type: MovementType, quantity: int, current: Position) -> Deltas:
    """The deltas a movement applies to a position currently at `current`.

    Only a count depends on the current position (it sets on_hand to what was counted; if
    fewer units were counted than were marked unsellable, the unsellable ones went too).
    """
    match movement_type:
        case MovementType.RECEIPT:
            return Deltas(on_hand=quantity)
        case MovementType.SALE:
            return Deltas(on_hand=-quantity)
        case MovementType.ADJUSTMENT:
            return Deltas(on_hand=quantity)
        case MovementType.COUNT:
            unsellable_after = min(current.unsellable, quantity)
            return Deltas(
                on_hand=quantity - current.on_hand,
                unsellable=unsellable_after - current.unsellable,
            )
        case MovementType.DAMAGE:
            return Deltas(unsellable=quantity)
        case MovementType.DISPOSE:
            return Deltas(on_hand=-quantity, unsellable=-quantity)
        case MovementType.RESTORE:
            return Deltas(unsellable=-quantity)
    raise AssertionError(f"unhandled movement type {movement_type!r}")  # pragma: no cover


def needs_current_position(movement_type: MovementType) -> bool:
    """Whether the deltas depend on the position (so it must be read under a lock first)."""
    return movement_type is MovementType.COUNT


def refusal(
    *, location: str, sku: str, movement_type: MovementType, quantity: int, current: Position
) -> StockConflict:
    """Explain why a movement cannot apply to `current` (the guard in SQL said no)."""
    sellable_units = current.on_hand - current.unsellable
    match movement_type:
        case MovementType.SALE:
            reason = f"only {sellable_units} sellable unit(s) on hand"
        case MovementType.ADJUSTMENT:
            reason = (
                f"on hand would drop to {current.on_hand + quantity}, "
                f"below the {current.unsellable} unsellable unit(s) it holds"
                if current.unsellable
                else f"only {current.on_hand} unit(s) on hand"
            )
        case MovementType.DAMAGE:
            reason = f"only {sellable_units} unit(s) on hand are not already unsellable"
        case MovementType.DISPOSE:
            reason = f"only {current.unsellable} unsellable unit(s) to dispose of"
        case MovementType.RESTORE:
            reason = f"only {current.unsellable} unsellable unit(s) to make sellable again"
        case _:
            reason = "the position would become impossible"
    return StockConflict(
        location=location,
        sku=sku,
        movement_type=str(movement_type),
        quantity=quantity,
        reason=reason,
        position=current,
    )
