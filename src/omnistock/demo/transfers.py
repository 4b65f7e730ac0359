"""The demo's transfers: stores replenished, warehouses rebalanced, suppliers' deliveries and
returned units sent on, in every status of their flow."""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omnistock.demo.deck import Deck
from omnistock.demo.geography import nearest
from omnistock.demo.returns import DemoReturn
from omnistock.domain.catalog import LocationType
from omnistock.domain.returns import Condition
from omnistock.domain.transfers import TransferAction

if TYPE_CHECKING:
    from omnistock.demo.plan import DemoPlan


class TransferStory(enum.StrEnum):
    """How far a demo transfer goes."""

    OPEN = "open"  # being picked at its origin: units reserved there
    IN_TRANSIT = "in_transit"  # shipped: inbound at its destination
    RECEIVED = "received"  # arrived as shipped
    SHORT = "short"  # arrived with units missing (a discrepancy)
    OVER = "over"  # arrived with one unit more than shipped (a discrepancy)
    CANCELLED = "cancelled"  # called off before it left


@dataclass(frozen=True, slots=True)
class DemoTransfer:
    """A transfer as the demo creates it, and what becomes of it: `steps` in turn (none: it
    stays open), received as `arrived` says (None: as shipped). No origin: a supplier's
    delivery, announced, so shipped from the start."""

    reference: str  # how a load finds it again
    origin: str | None
    destination: str
    lines: tuple[tuple[str, int], ...]
    steps: tuple[TransferAction, ...] = ()
    eta: dt.timedelta | None = None  # after the load
    arrived: tuple[tuple[str, int], ...] | None = None


_REPLENISHMENTS = 18  # warehouse to store, one round of their stories
_REPLENISHMENT_STORIES = (
    (TransferStory.OPEN, 3),
    (TransferStory.IN_TRANSIT, 5),
    (TransferStory.RECEIVED, 5),
    (TransferStory.SHORT, 1),
    (TransferStory.OVER, 1),
    (TransferStory.CANCELLED, 3),
)
#: Warehouse to warehouse: a slow seller held by one only, sent to the other.
_REBALANCING_STORIES = (TransferStory.OPEN, TransferStory.IN_TRANSIT, TransferStory.RECEIVED)
_SUPPLIER_STORIES = (
    TransferStory.IN_TRANSIT,
    TransferStory.IN_TRANSIT,
    TransferStory.IN_TRANSIT,
    TransferStory.RECEIVED,
    TransferStory.SHORT,
)


#: Returned units sent on to a warehouse, in turn: the first on its way, whatever the size.
_FORWARDING_STORIES = (
    TransferStory.IN_TRANSIT,
    TransferStory.RECEIVED,
    TransferStory.OPEN,
    TransferStory.IN_TRANSIT,
)
#: Hours from the load to the expected arrival, by story (a supplier's: days more).
_ETA_HOURS = {
    TransferStory.OPEN: (48, 120),
    TransferStory.IN_TRANSIT: (18, 60),
    TransferStory.CANCELLED: (48, 96),
}
_CARTON = 12  # units in a supplier's carton
_TRANSFER_MARGIN = 5  # units left aside in a warehouse for the orders' rejections


class _TransferDesk:
    """Plans the demo's transfers from the opening stock, so that none takes a unit an order
    was planned to: from a warehouse, only what it holds beyond the orders' share of the
    chain's central stock (a third, see `demo.orders`) and a margin for rejections; never a
    slow seller the marketplaces may buy out (`demo.orders`)."""

    def __init__(self, plan: DemoPlan, rng: random.Random) -> None:
        self.rng = rng
        self.demand = {p.item.sku: p.depth for p in plan.items}
        self.warehouses = [
            p.location for p in plan.locations if p.location.type is LocationType.WAREHOUSE
        ]
        self.stores = [p.location for p in plan.locations if p.location.type is LocationType.STORE]
        warehouse_codes = {w.code for w in self.warehouses}
        held: dict[tuple[str, str], int] = {}
        central: dict[str, int] = {}
        self.carried: set[tuple[str, str]] = set()
        for h in plan.holdings:
            if h.location in warehouse_codes:
                held[h.location, h.sku] = h.received - h.damaged - h.sold
                central[h.sku] = central.get(h.sku, 0) + h.received - h.damaged - h.sold
            else:
                self.carried.add((h.location, h.sku))
        self.spare = {
            (code, sku): units - central[sku] // 3 - _TRANSFER_MARGIN
            for (code, sku), units in held.items()
            if central[sku] > 40
        }
        self.holders: dict[str, list[str]] = {}
        for code, sku in held:
            self.holders.setdefault(sku, []).append(code)
        self.count = 0

    def plan(self) -> list[DemoTransfer]:
        planned = [*self._replenishments(), *self._rebalancing(), *self._deliveries()]
        return [t for t in planned if t is not None]

    def _replenishments(self) -> Iterator[DemoTransfer | None]:
        """Stores topped up from their nearest warehouse with what they sell most (and now
        and then an item they do not carry yet)."""
        stories = Deck(_REPLENISHMENT_STORIES, self.rng)
        for store in self.rng.sample(self.stores, min(_REPLENISHMENTS, len(self.stores))):
            warehouse = nearest(self.warehouses, (store.lat, store.lon)).code
            skus = [sku for (code, sku), n in self.spare.items() if code == warehouse and n >= 2]
            weights = [
                self.demand[sku] * (3 if (store.code, sku) in self.carried else 1) for sku in skus
            ]
            lines = self._take(warehouse, skus, weights, count=self.rng.randint(2, 5), most=8)
            yield self._transfer(warehouse, store.code, lines, stories.deal()) if lines else None

    def _rebalancing(self) -> Iterator[DemoTransfer | None]:
        """A few slow sellers that only one warehouse holds, sent to the other."""
        alone = [(codes[0], sku) for sku, codes in self.holders.items() if len(codes) == 1]
        for story in _REBALANCING_STORIES:
            origin = self.rng.choice(self.warehouses).code
            skus = [
                sku for code, sku in alone if code == origin and self.spare.get((code, sku), 0) >= 2
            ]
            destination = next(w.code for w in self.warehouses if w.code != origin)
            lines = self._take(
                origin, skus, [1.0] * len(skus), count=self.rng.randint(1, 3), most=10
            )
            yield self._transfer(origin, destination, lines, story) if lines else None

    def _deliveries(self) -> Iterator[DemoTransfer]:
        """Suppliers' deliveries of best sellers to the warehouses, by the carton."""
        best = sorted(self.demand, key=lambda sku: (-self.demand[sku], sku))[:40]
        for story in _SUPPLIER_STORIES:
            destination = self.rng.choice(self.warehouses).code
            skus = self.rng.sample(best, min(len(best), self.rng.randint(2, 4)))
            lines = tuple((sku, _CARTON * self.rng.randint(2, 10)) for sku in sorted(skus))
            yield self._transfer(None, destination, lines, story)

    def _take(
        self, origin: str, skus: Sequence[str], weights: Sequence[float], *, count: int, most: int
    ) -> tuple[tuple[str, int], ...]:
        """Up to `count` lines of `skus`, each of at most `most` units the origin can spare."""
        lines: dict[str, int] = {}
        if skus:
            for sku in self.rng.choices(skus, weights, k=count * 3):
                spare = self.spare[origin, sku]
                if sku in lines or spare < 2:
                    continue
                lines[sku] = min(spare, self.rng.randint(2, most))
                self.spare[origin, sku] -= lines[sku]
                if len(lines) == count:
                    break
        return tuple(sorted(lines.items()))

    def _transfer(
        self,
        origin: str | None,
        destination: str,
        lines: tuple[tuple[str, int], ...],
        story: TransferStory,
    ) -> DemoTransfer:
        self.count += 1
        return _story(self.rng, f"demo-t{self.count:03d}", origin, destination, lines, story)


def _story(
    rng: random.Random,
    reference: str,
    origin: str | None,
    destination: str,
    lines: tuple[tuple[str, int], ...],
    story: TransferStory,
    *,
    eta: bool = True,
) -> DemoTransfer:
    """The transfer that tells `story`: its steps, its ETA (if `eta`) and what arrives."""
    S, A = TransferStory, TransferAction
    steps = {
        S.OPEN: (),
        S.IN_TRANSIT: (A.SHIP,),
        S.CANCELLED: (A.CANCEL,),
    }.get(story, (A.SHIP, A.RECEIVE))
    if origin is None:  # a supplier's delivery is on its way once announced
        steps = tuple(step for step in steps if step is not A.SHIP)
    expected = None
    if eta:
        low, high = _ETA_HOURS.get(story, (12, 36))
        days = 0 if origin is not None else rng.randint(2, 10)
        expected = dt.timedelta(days=days, hours=rng.randint(low, high))
    arrived = None
    sku, units = max(lines, key=lambda line: (line[1], line[0]))
    if story is S.SHORT:
        missing = _CARTON if origin is None else rng.randint(1, max(1, units // 2))
        arrived = tuple((s, max(0, q - missing) if s == sku else q) for s, q in lines)
    elif story is S.OVER:
        arrived = tuple((s, q + 1 if s == sku else q) for s, q in lines)
    return DemoTransfer(reference, origin, destination, lines, steps, expected, arrived)


def plan_transfers(plan: DemoPlan, rng: random.Random) -> list[DemoTransfer]:
    """Stores replenished from the warehouses, a few slow sellers rebalanced between the
    warehouses, suppliers' deliveries: in every status of their flow, some received with a
    discrepancy. They depend on the opening stock only, not on the orders."""
    return _TransferDesk(plan, rng).plan()


def plan_forwarding(
    plan: DemoPlan, returned: Sequence[DemoReturn], rng: random.Random
) -> list[DemoTransfer]:
    """Sellable units returned in a store that does not sell them, sent on to the nearest
    warehouse (no ETA: they leave with the next van), one transfer a return, named after its
    order (`demo-0042/return`), return after return as `plan_returns` decides them."""
    stores = {
        p.location.code: p.location for p in plan.locations if p.location.type is LocationType.STORE
    }
    warehouses = [p.location for p in plan.locations if p.location.type is LocationType.WAREHOUSE]
    carried = {(h.location, h.sku) for h in plan.holdings}
    stories = itertools.cycle(_FORWARDING_STORIES)
    planned = []
    for back in returned:
        store = stores.get(back.location)
        if store is None:
            continue
        units: dict[str, int] = {}
        for line in back.lines:
            if line.condition is Condition.SELLABLE and (store.code, line.sku) not in carried:
                units[line.sku] = units.get(line.sku, 0) + line.quantity
        if units:
            warehouse = nearest(warehouses, (store.lat, store.lon)).code
            lines = tuple(sorted(units.items()))
            reference = f"{back.external_id}/return"
            story = next(stories)
            planned.append(_story(rng, reference, store.code, warehouse, lines, story, eta=False))
    return planned
