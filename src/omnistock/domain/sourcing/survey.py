"""The candidates of one order reduced to plain vectors, for the search and its explanation."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Sequence

from omnistock.domain.geography import distance_to
from omnistock.domain.sourcing.plans import AT_CAPACITY, EXCLUDED, Candidate, Costs, Shipment


class Survey:
    """The candidates reduced to plain vectors, so the search allocates nothing per pair.

    Candidate `i` sells `units[i][k]` of line `k` (`columns[k][i]`). `usable` lists those
    that may ship something (`blocked` those that may not, whatever their stock), `covering`
    those that cover alone everything coverable (`target`, per line). The distance to the
    customer, the slow part of a cost, is worked out only for the candidates the search
    compares (`price`), and for the others when the decision is read.
    """

    def __init__(
        self,
        lines: Sequence[tuple[str, int]],
        candidates: Sequence[Candidate],
        ship_to: tuple[float, float] | None,
        costs: Costs,
    ) -> None:
        self.skus = [sku for sku, _ in lines]
        self.wanted = [quantity for _, quantity in lines]
        self.codes = [c.location.code for c in candidates]
        if len(set(self.skus)) != len(self.skus) or any(q <= 0 for q in self.wanted):
            raise ValueError("sourcing needs each sku once, with a quantity above zero")
        if len(set(self.codes)) != len(self.codes):
            raise ValueError("sourcing needs each candidate location once")
        self.candidates, self.ship_to, self.costs = candidates, ship_to, costs
        self.distance: list[float | None] = [None] * len(candidates)
        self.cost = [costs.per_shipment] * len(candidates)
        self._priced = bytearray(len(candidates)) if ship_to is not None else None
        self._km: Callable[[float, float], float] | None = None
        # Read line by line: one pass per sku over bound `get`s is the cheapest way Python
        # has to read a thousand mappings.
        getters = [c.sellable.get for c in candidates]
        columns = [[get(sku, 0) for get in getters] for sku in self.skus]
        columns = [c if not c or min(c) >= 0 else [max(0, u) for u in c] for c in columns]
        self.columns = columns
        self.units: list[tuple[int, ...]] = (
            list(zip(*columns, strict=True)) if columns else [()] * len(candidates)
        )
        self.blocked = _blocked(candidates)
        may_ship = list(map(any, self.units))  # units are never negative: any stock at all
        for i in self.blocked:
            may_ship[i] = False
        self.usable = list(itertools.compress(range(len(candidates)), may_ship))
        totals = [sum(itertools.compress(column, may_ship)) for column in columns]
        self.target = list(map(min, self.wanted, totals))
        self.covering = self.usable
        for column, target in zip(columns, self.target, strict=True):
            self.covering = [i for i in self.covering if column[i] >= target]

    def price(self, indices: Iterable[int]) -> None:
        """Work out the distance and cost of shipping from these candidates, once each."""
        priced, ship_to = self._priced, self.ship_to
        if priced is None or ship_to is None:
            return
        per_shipment, per_km = self.costs.per_shipment, self.costs.per_km
        if self._km is None:
            self._km = distance_to(ship_to)
        km_from = self._km
        for i in indices:
            if not priced[i]:
                location = self.candidates[i].location
                km = km_from(location.lat, location.lon)
                self.distance[i], self.cost[i], priced[i] = km, per_shipment + per_km * km, 1

    def rank(self, i: int) -> tuple[float, int, str]:
        """How single locations compare: cost, then priority, then code (priced first)."""
        return (self.cost[i], self.candidates[i].location.priority, self.codes[i])

    def ranked(self, indices: Sequence[int]) -> list[int]:
        """These candidates best first, as `rank` orders them (priced first). Costs rarely
        tie when the customer's place is known, and then the cost alone orders them."""
        by_cost = sorted(indices, key=self.cost.__getitem__)
        if len(set(map(self.cost.__getitem__, by_cost))) == len(by_cost):
            return by_cost
        return sorted(by_cost, key=self.rank)

    def plan_rank(self, plan: Sequence[int]) -> tuple[float, list[int], list[str]]:
        """How plans of as many shipments compare: cost, then priorities, then codes."""
        return (
            sum(sorted(self.cost[i] for i in plan), 0.0),
            sorted(self.candidates[i].location.priority for i in plan),
            sorted(self.codes[i] for i in plan),
        )

    def covers_alone(self) -> list[int]:
        """Per candidate, the units of the order it could serve on its own."""
        capped = [
            [u if u < w else w for u in column]
            for column, w in zip(self.columns, self.wanted, strict=True)
        ]
        return list(map(sum, zip(*capped, strict=True))) if capped else [0] * len(self.codes)

    def covers_target(self, plan: Sequence[int]) -> bool:
        given = [sum(line) for line in zip(*(self.units[i] for i in plan), strict=True)]
        return bool(given) and all(map(operator.ge, given, self.target))

    def split(self, plan: Sequence[int]) -> list[Shipment]:
        """The plan's shipments: each line takes its units from the cheapest location first."""
        remaining = list(self.target)
        lines: dict[int, tuple[tuple[str, int], ...]] = {}
        for i in sorted(plan, key=self.rank):
            taken = list(map(min, self.units[i], remaining))
            remaining = list(map(operator.sub, remaining, taken))
            lines[i] = tuple((sku, q) for sku, q in zip(self.skus, taken, strict=True) if q > 0)
        return [Shipment(self.codes[i], lines[i]) for i in plan]

    def backorders(self) -> tuple[tuple[str, int], ...]:
        return tuple(
            (sku, wanted - target)
            for sku, wanted, target in zip(self.skus, self.wanted, self.target, strict=True)
            if wanted > target
        )


def _blocked(candidates: Sequence[Candidate]) -> dict[int, str]:
    """The candidates that may not ship this order whatever their stock, and why."""
    blocked: dict[int, str] = {}
    excluded = list(map(operator.attrgetter("excluded"), candidates))
    if excluded.count(None) != len(candidates):
        blocked.update((i, EXCLUDED) for i, why in enumerate(excluded) if why is not None)
    capacity = list(map(operator.attrgetter("capacity_left"), candidates))
    if capacity.count(None) != len(candidates):
        full = (i for i, left in enumerate(capacity) if left is not None and left <= 0)
        blocked.update((i, AT_CAPACITY) for i in full if i not in blocked)
    return blocked
