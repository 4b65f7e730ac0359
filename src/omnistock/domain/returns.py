"""Returns: units of an order that was delivered or collected come back, at any location.

A sellable unit goes back on hand where it is returned, and counts in every channel's ATS
at once; a damaged one goes on hand as unsellable (it may later be disposed of, or made
sellable again by a `restore` movement). The refund is what the customer paid for those
units, to the cent, in the order's currency.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from omnistock.domain.errors import InvalidInput, NotReturnable
from omnistock.domain.orders import DONE, Order
from omnistock.domain.stock import Deltas

#: Ledger movement type of a return.
RETURN = "return"


class Condition(enum.StrEnum):
    SELLABLE = "sellable"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class ReturnLine:
    sku: str
    quantity: int
    condition: Condition
    reason: str | None = None
    unit_price: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Return:
    id: int
    order_id: int
    location: str
    currency: str
    lines: tuple[ReturnLine, ...]
    created_at: dt.datetime

    @property
    def refund_amount(self) -> Decimal:
        return refund(self.lines)


def returnable(order: Order, returned: Mapping[str, int]) -> dict[str, int]:
    """Units of each of the order's skus that were delivered or collected and have not come
    back yet."""
    units = {line.sku: 0 for line in order.lines}
    for fulfilment in order.fulfilments:
        if fulfilment.status in DONE:
            for sku, quantity in fulfilment.lines:
                units[sku] += quantity
    return {sku: q - returned.get(sku, 0) for sku, q in units.items()}


def priced(
    order: Order, lines: Sequence[ReturnLine], returned: Mapping[str, int]
) -> tuple[ReturnLine, ...]:
    """The lines with the unit price the order paid, once each is checked against what can
    still be returned (a sku may come back on several lines, say some damaged)."""
    left = returnable(order, returned)
    prices = {line.sku: line.unit_price for line in order.lines}
    for index, line in enumerate(lines):
        if line.sku not in left:
            raise InvalidInput(f"lines[{index}].sku", f"{line.sku!r} is not in order {order.id}")
    for index, line in enumerate(lines):
        if line.quantity > left[line.sku]:
            raise NotReturnable(
                field=f"lines[{index}].quantity",
                sku=line.sku,
                requested=line.quantity,
                returnable=max(0, left[line.sku]),
            )
        left[line.sku] -= line.quantity
    return tuple(
        ReturnLine(line.sku, line.quantity, line.condition, line.reason, prices[line.sku])
        for line in lines
    )


def refund(lines: Sequence[ReturnLine]) -> Decimal:
    """What the customer gets back: each unit at the price paid, exactly."""
    return sum((line.unit_price * line.quantity for line in lines), Decimal("0.00"))


def deltas(line: ReturnLine) -> Deltas:
    """What a returned line adds where it is returned: units on hand, unsellable if damaged."""
    damaged = line.quantity if line.condition is Condition.DAMAGED else 0
    return Deltas(on_hand=line.quantity, unsellable=damaged)
