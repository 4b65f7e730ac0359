"""The demo's returns: which delivered or collected orders come back, where, and in what state."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from omnistock.demo.geography import nearest
from omnistock.demo.orders import DemoOrder
from omnistock.domain.catalog import LocationType
from omnistock.domain.orders import Action, DeliveryMethod
from omnistock.domain.returns import Condition, ReturnLine
from omnistock.services.orders import NewOrder

if TYPE_CHECKING:
    from omnistock.demo.plan import DemoPlan

#: Of every hundred orders delivered or collected, how many come back, by channel and method.
_RETURN_RATES: dict[tuple[str, DeliveryMethod], int] = {
    ("web", DeliveryMethod.SHIP): 45,
    ("marketplace-fashion", DeliveryMethod.SHIP): 30,
    ("marketplace-general", DeliveryMethod.SHIP): 15,
    ("web", DeliveryMethod.PICKUP): 30,
    ("store", DeliveryMethod.IN_STORE): 12,
}
_DAMAGED_SHARE = 0.2  # of the units brought back
#: Departments whose items come in sizes (a size that does not fit is the first reason).
_SIZED = frozenset({"TSH", "SHR", "SWT", "PLO", "SHS", "SKT", "KNT", "JNS", "TRS", "DRS", "JKT"})
_FIT_REASONS = ("too small", "too big", "does not fit")
_CHANGED_MIND_REASONS = (
    "changed my mind",
    "not as pictured",
    "colour not as expected",
    "a gift, not wanted",
    "arrived too late",
)
_DAMAGE_REASONS = {
    "ELC": ("faulty", "does not charge", "arrived damaged"),
    "KIT": ("chipped", "broken in transit"),
    "BTY": ("leaking", "seal broken"),
    "HOM": ("stained", "torn"),
}
_FASHION_DAMAGE_REASONS = ("torn seam", "stained", "broken zip", "arrived damaged")


@dataclass(frozen=True, slots=True)
class DemoReturn:
    """Units of a demo order, delivered or collected, that its customer brings back to a
    store or posts back to a warehouse: where they are taken back, which, in what state."""

    channel: str
    external_id: str  # the order's
    location: str
    lines: tuple[ReturnLine, ...]


class _ReturnsDesk:
    """Decides which delivered or collected orders come back, where and how: a web parcel
    mostly to the store nearest its customer (or by post to the nearest warehouse), a
    marketplace parcel by post to the nearest warehouse, a click & collect order often to
    another store than the one it was collected at, a till sale mostly where it was made."""

    def __init__(self, plan: DemoPlan, rng: random.Random) -> None:
        self.rng = rng
        self.stores = [p for p in plan.locations if p.location.type is LocationType.STORE]
        self.warehouses = [
            p.location for p in plan.locations if p.location.type is LocationType.WAREHOUSE
        ]

    def take_back(self, demo_order: DemoOrder) -> DemoReturn | None:
        new = demo_order.order
        rate = _RETURN_RATES.get((new.channel, new.method), 0) if _served(demo_order) else 0
        if self.rng.randrange(100) >= rate:
            return None
        assert new.external_id is not None
        lines = self._lines(new.lines)
        return DemoReturn(new.channel, new.external_id, self._where(new), lines)

    def _where(self, new: NewOrder) -> str:
        if new.method is DeliveryMethod.SHIP:
            home = (new.delivery["address"]["lat"], new.delivery["address"]["lon"])
            in_store = new.channel == "web" and self.rng.random() < 0.75
            stores = [p.location for p in self.stores]
            return nearest(stores if in_store else self.warehouses, home).code
        where = new.delivery["location"]
        elsewhere = 0.6 if new.method is DeliveryMethod.PICKUP else 0.25
        if self.rng.random() >= elsewhere:
            return str(where)
        others = [p for p in self.stores if p.location.code != where]
        return self.rng.choices(others, [0.2 + p.size for p in others])[0].location.code

    def _lines(self, lines: Sequence[tuple[str, int, Decimal]]) -> tuple[ReturnLine, ...]:
        """Some of the order's lines, some of their units; a few units damaged."""
        chosen = [line for line in lines if self.rng.random() < 0.6] or [self.rng.choice(lines)]
        back: list[ReturnLine] = []
        for sku, quantity, _ in chosen:
            units = self.rng.randint(1, quantity)
            damaged = sum(self.rng.random() < _DAMAGED_SHARE for _ in range(units))
            for condition, n in (
                (Condition.SELLABLE, units - damaged),
                (Condition.DAMAGED, damaged),
            ):
                if n:
                    back.append(ReturnLine(sku, n, condition, self._reason(sku, condition)))
        return tuple(back)

    def _reason(self, sku: str, condition: Condition) -> str:
        department = sku.split("-", 1)[0]
        if condition is Condition.DAMAGED:
            return self.rng.choice(_DAMAGE_REASONS.get(department, _FASHION_DAMAGE_REASONS))
        if department in _SIZED or department == "SHO":
            return self.rng.choice(_FIT_REASONS + _CHANGED_MIND_REASONS[:2])
        return self.rng.choice(_CHANGED_MIND_REASONS)


def _served(demo_order: DemoOrder) -> bool:
    """Whether the order's story ends with its units in the customer's hands."""
    method, steps = demo_order.order.method, demo_order.steps
    if demo_order.order.allow_partial:
        return False
    if method is DeliveryMethod.SHIP:
        return Action.DELIVER in steps
    return method is DeliveryMethod.IN_STORE or Action.COLLECT in steps


def plan_returns(plan: DemoPlan, rng: random.Random) -> list[DemoReturn]:
    """The returns of the plan's orders, decided order after order (each one's fate draws
    the same numbers whatever comes after it, so fewer orders plan the first returns of
    more)."""
    desk = _ReturnsDesk(plan, rng)
    found = (desk.take_back(demo_order) for demo_order in plan.orders)
    return [planned for planned in found if planned is not None]
