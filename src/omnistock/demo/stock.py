"""The demo's opening stock: how a chain holds its range across warehouses and stores."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from omnistock.demo.geography import PlannedLocation
from omnistock.demo.items import PlannedItem
from omnistock.domain.catalog import LocationType

_BEST_SELLER_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Holding:
    """The opening stock of one item at one location: what was received, found damaged and
    sold before opening (the opening count is what is left, the damaged units unsellable)."""

    location: str
    sku: str
    received: int
    damaged: int = 0
    sold: int = 0


def plan_stock(
    items: Sequence[PlannedItem], locations: Sequence[PlannedLocation], rng: random.Random
) -> list[Holding]:
    """How a chain holds its range: deep in the warehouses, a few units of part of the range in
    each store (the bigger the store, the more of it), best-sellers everywhere."""
    ranked = sorted(range(len(items)), key=lambda i: items[i].depth)
    demand = [0.0] * len(items)  # 0 for the slowest seller, 1 for the best
    for rank, i in enumerate(ranked):
        demand[i] = (rank + 1) / len(items)
    best = set(ranked[-max(1, round(len(items) * _BEST_SELLER_SHARE)) :])
    warehouses = [p for p in locations if p.location.type is LocationType.WAREHOUSE]
    stores = [p for p in locations if p.location.type is LocationType.STORE]
    # A few slow sellers are missing from one warehouse (never from both).
    gaps = {
        i: rng.randrange(len(warehouses))
        for i in range(len(items))
        if i not in best and rng.random() < 0.05
    }
    holdings: list[Holding] = []
    for w, warehouse in enumerate(warehouses):
        for i, planned in enumerate(items):
            if gaps.get(i) != w:
                holdings.append(
                    _warehouse_holding(warehouse, planned.item.sku, demand[i], i in best, rng)
                )
    for store in stores:
        range_share = 0.2 + 0.55 * store.size  # of an average seller's chance to be carried
        for i, planned in enumerate(items):
            if i in best or rng.random() < range_share * (0.4 + 1.2 * demand[i]):
                holdings.append(_store_holding(store, planned.item.sku, demand[i], i in best, rng))
    return holdings


def _warehouse_holding(
    warehouse: PlannedLocation, sku: str, demand: float, best: bool, rng: random.Random
) -> Holding:
    units = warehouse.depth * (20 + 380 * demand**2) * rng.gammavariate(4, 0.25)
    received = max(1, round(units * (3 if best else 1)))
    damaged = 0
    if rng.random() < 0.03:
        damaged = rng.randint(1, max(1, min(5, received // 10)))
    return Holding(warehouse.location.code, sku, received, damaged=damaged)


def _store_holding(
    store: PlannedLocation, sku: str, demand: float, best: bool, rng: random.Random
) -> Holding:
    units = (1 + 4 * store.size) * (0.4 + 1.6 * demand) * rng.gammavariate(3, 1 / 3)
    received = max(1, round(units * (3 if best else 1)))
    if not best and rng.random() < 0.04:
        return Holding(store.location.code, sku, received, sold=received)
    damaged = 1 if received >= 2 and rng.random() < 0.015 else 0
    return Holding(store.location.code, sku, received, damaged=damaged)
