"""The whole demo, planned before any of it is written: deterministic from a seed."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from omnistock.demo.geography import WAREHOUSES, PlannedLocation, plan_stores
from omnistock.demo.items import PlannedItem, plan_items
from omnistock.demo.orders import DemoOrder, plan_orders
from omnistock.demo.returns import DemoReturn, plan_returns
from omnistock.demo.stock import Holding, plan_stock
from omnistock.demo.transfers import DemoTransfer, plan_forwarding, plan_transfers
from omnistock.domain.errors import InvalidInput

#: Orders the demo places, a few hundred: enough for every queue and status to show.
ORDERS = 300


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """Everything the demo writes, decided before any of it is."""

    locations: list[PlannedLocation]
    items: list[PlannedItem]
    holdings: list[Holding]
    orders: list[DemoOrder] = dataclasses.field(default_factory=list)
    returns: list[DemoReturn] = dataclasses.field(default_factory=list)
    transfers: list[DemoTransfer] = dataclasses.field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [p.location.code for p in self.locations]


def plan_demo(*, items: int = 2000, orders: int = ORDERS, seed: int = 7) -> DemoPlan:
    """The demo retailer for `seed`: the same seed always gives the same retailer. Its
    trading (orders, their returns, transfers) comes with its orders: none without."""
    if items < 1:
        raise InvalidInput("items", "the demo needs at least one item")
    if orders < 0:
        raise InvalidInput("orders", "the demo cannot place fewer than no orders")
    rng = random.Random(seed)
    locations = [*WAREHOUSES, *plan_stores()]
    planned = plan_items(count=items, rng=rng)
    stocked = DemoPlan(locations, planned, plan_stock(planned, locations, rng))
    if orders == 0:
        return stocked
    ordered = dataclasses.replace(
        stocked, orders=plan_orders(stocked, count=orders, rng=random.Random(f"{seed}/orders"))
    )
    returned = plan_returns(ordered, random.Random(f"{seed}/returns"))
    moved = [
        *plan_transfers(stocked, random.Random(f"{seed}/transfers")),
        *plan_forwarding(stocked, returned, random.Random(f"{seed}/forwarding")),
    ]
    return dataclasses.replace(ordered, returns=returned, transfers=moved)
