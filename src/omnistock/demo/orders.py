"""The demo's orders: web, marketplace, click & collect and till sales over the opening stock,
and what becomes of each (its story)."""

from __future__ import annotations

import enum
import itertools
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from omnistock.demo.deck import Deck
from omnistock.demo.geography import POSTCODES, towns
from omnistock.demo.names import FIRST_NAMES, LAST_NAMES, STREETS
from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.orders import Action
from omnistock.services.orders import NewOrder

if TYPE_CHECKING:
    from omnistock.demo.plan import DemoPlan

#: The departments each marketplace sells (the web shop sells every one).
_MARKETPLACE_DEPARTMENTS = {
    "marketplace-fashion": frozenset(
        {"TSH", "SHR", "SWT", "PLO", "SHS", "SKT", "KNT", "JNS", "TRS", "DRS", "JKT", "SHO", "ACC"}
    ),
    "marketplace-general": frozenset({"HOM", "KIT", "BTY", "ELC"}),
}


_CARRIERS = (("Colissimo", "6A{:011d}"), ("Chronopost", "XW{:09d}FR"), ("DPD", "{:014d}"))


class OrderStep(enum.StrEnum):
    """What a demo customer does to an order after placing it."""

    CANCEL_ORDER = "cancel_order"  # the whole order
    CANCEL_LAST_LINE = "cancel_last_line"  # changed their mind about one item


Step = Action | OrderStep
#: What becomes of ship orders, with how many of each in every twenty-two.
_SHIP_STORIES: tuple[tuple[tuple[Step, ...], int], ...] = (
    ((), 4),  # allocated: waiting to be picked
    ((Action.PICK,), 2),
    ((Action.PICK, Action.PACK), 2),
    ((Action.PICK, Action.PACK, Action.SHIP), 3),
    ((Action.PICK, Action.PACK, Action.SHIP, Action.DELIVER), 6),
    ((OrderStep.CANCEL_ORDER,), 1),
    ((Action.PICK, OrderStep.CANCEL_ORDER), 1),
    ((OrderStep.CANCEL_LAST_LINE,), 1),
    ((Action.REJECT,), 1),  # not found on the shelf: sourced again elsewhere
    ((Action.REJECT, Action.PICK, Action.PACK, Action.SHIP, Action.DELIVER), 1),
)
#: What becomes of click & collect orders, with how many of each in every eighteen.
_PICKUP_STORIES: tuple[tuple[tuple[Step, ...], int], ...] = (
    ((), 3),
    ((Action.PICK,), 2),
    ((Action.PICK, Action.READY), 4),
    ((Action.PICK, Action.READY, Action.COLLECT), 6),
    ((Action.PICK, Action.READY, Action.EXPIRE), 1),  # the customer never came
    ((OrderStep.CANCEL_ORDER,), 1),
    ((Action.REJECT,), 1),  # the store could not find it: the order waits for stock there
)
#: The kinds of order, with how many of each in every hundred.
_KINDS = (("ship", 55), ("pickup", 25), ("in_store", 16), ("short", 2), ("awaited", 2))


@dataclass(frozen=True, slots=True)
class DemoOrder:
    """An order as its channel sends it, then what happens to it: each step in turn, either
    an `Action` on every fulfilment of the order that allows it (a rejection: the first one
    only, one unit of its first line missing) or something the customer does."""

    order: NewOrder
    steps: tuple[Step, ...] = ()
    parcels: tuple[tuple[str, str], ...] = ()  # carrier and tracking of each shipment


class _OrderDesk:
    """Writes the demo's orders one by one, keeping count of the stock they will take so
    that every order finds what it asks for: a ship order takes at most a third of an item's
    warehouse stock between them all, a pickup only what its store keeps beyond the web
    shop's buffer (and a margin for web orders shipped from that store)."""

    def __init__(self, plan: DemoPlan, rng: random.Random) -> None:
        self.rng = rng
        self.price = {p.item.sku: p.item.price or Decimal("9.90") for p in plan.items}
        self.demand = {p.item.sku: p.depth for p in plan.items}
        priciest = max(plan.items, key=lambda p: p.item.price or 0).item.sku
        where = {p.location.code: p.location for p in plan.locations}
        self.central: dict[str, int] = {}  # sellable units by sku, both warehouses together
        self.shelf: dict[tuple[str, str], int] = {}  # sellable units by (store, sku)
        for h in plan.holdings:
            units = h.received - h.damaged - h.sold
            if where[h.location].type is LocationType.WAREHOUSE:
                self.central[h.sku] = self.central.get(h.sku, 0) + units
            else:
                self.shelf[h.location, h.sku] = units
        self.scarce = self._scarce(exclude=priciest)
        self.budget = {
            sku: units // 3
            for sku, units in self.central.items()
            if sku != priciest and sku not in self.scarce
        }
        self.stores = [p for p in plan.locations if p.location.type is LocationType.STORE]
        self.carried: dict[str, list[str]] = {}
        for code, sku in self.shelf:
            self.carried.setdefault(code, []).append(sku)
        self.towns = towns()
        self.ship_stories = Deck(_SHIP_STORIES, rng)
        self.pickup_stories = Deck(_PICKUP_STORIES, rng)

    def _scarce(self, *, exclude: str) -> list[str]:
        """Slow sellers the warehouses hold a few of, for the marketplaces to ask for more."""
        slow = sorted(
            (sku for sku, units in self.central.items() if 4 <= units <= 40 and sku != exclude),
            key=lambda sku: (self.demand[sku], sku),
        )
        listed = [sku for sku in slow if _marketplace_of(sku) is not None][:12]
        self.rng.shuffle(listed)
        return listed

    def write(self, kind: str, external_id: str) -> DemoOrder | None:
        """The next order of `kind` (None when the stock left allows none)."""
        if kind == "ship":
            return self.ship(external_id)
        if kind == "pickup":
            return self.pickup(external_id)
        if kind == "in_store":
            return self.in_store(external_id)
        if kind == "short":
            return self.short(external_id)
        return self.awaited(external_id)

    def ship(self, external_id: str) -> DemoOrder | None:
        """A web or marketplace order shipped to a customer's home."""
        channel = self.rng.choices(
            ("web", "marketplace-fashion", "marketplace-general"), (6, 3, 2)
        )[0]
        skus = [s for s in self.budget if channel == "web" or _marketplace_of(s) == channel]
        steps = self.ship_stories.deal()
        count = self.rng.choices((1, 2, 3), (6, 3, 1))[0]
        if OrderStep.CANCEL_LAST_LINE in steps:
            count = max(count, 2)
        lines = self._lines(skus, count, self.budget, keep=0)
        if not lines:
            return None
        carrier, tracking = self.rng.choice(_CARRIERS)
        first = self.rng.randrange(10**8, 10**9)
        parcels = tuple((carrier, tracking.format(first + n)) for n in range(3))
        delivery = {"method": "ship", "address": self._address()}
        return self._order(channel, external_id, delivery, lines, steps=steps, parcels=parcels)

    def pickup(self, external_id: str) -> DemoOrder | None:
        """A web order collected at a store, from that store's shelves only."""
        store = self._store()
        keep = 2 + (3 if store.ship_enabled else 0)  # the web buffer, and web shipments
        lines = self._lines(
            self.carried.get(store.code, []),
            self.rng.choice((1, 1, 2)),
            self.shelf,
            keep=keep,
            at=store.code,
        )
        if not lines:
            return None
        delivery = {"method": "pickup", "location": store.code}
        steps = self.pickup_stories.deal()
        return self._order("web", external_id, delivery, lines, steps=steps)

    def in_store(self, external_id: str) -> DemoOrder | None:
        """A sale at a store's till, recorded as an order (collected at once)."""
        store = self._store()
        count = self.rng.choices((1, 2, 3), (5, 3, 1))[0]
        lines = self._lines(
            self.carried.get(store.code, []), count, self.shelf, keep=0, at=store.code
        )
        if not lines:
            return None
        delivery = {"method": "in_store", "location": store.code}
        return self._order("store", external_id, delivery, lines)

    def short(self, external_id: str) -> DemoOrder | None:
        """A marketplace order for more of a slow seller than the warehouses hold: what they
        may sell is allocated, the rest backordered."""
        if not self.scarce:
            return None
        sku = self.scarce.pop()
        channel = _marketplace_of(sku)
        assert channel is not None
        lines = [(sku, self.central[sku] + self.rng.randint(2, 6), self.price[sku])]
        delivery = {"method": "ship", "address": self._address()}
        return self._order(channel, external_id, delivery, lines, allow_partial=True)

    def awaited(self, external_id: str) -> DemoOrder | None:
        """A pickup of an item its store has sold out of (or never carried): the customer
        asks to collect it once it arrives, so it waits as a backorder."""
        store = self._store()
        for _ in range(20):
            sku = self._any_sku()
            if self.shelf.get((store.code, sku), 0) <= 2:  # none beyond the web buffer
                delivery = {"method": "pickup", "location": store.code}
                lines = [(sku, 1, self.price[sku])]
                return self._order("web", external_id, delivery, lines, allow_partial=True)
        return None

    def _lines(
        self,
        skus: Sequence[str],
        count: int,
        left: dict[Any, int],
        *,
        keep: int,
        at: str | None = None,
    ) -> list[tuple[str, int, Decimal]]:
        """Up to `count` lines of `skus`, best sellers the likeliest, each taking its units
        from `left` (by sku, or by (`at`, sku)) and leaving `keep` there."""

        def key(sku: str) -> Any:
            return sku if at is None else (at, sku)

        skus = [sku for sku in skus if left.get(key(sku), 0) > keep]
        if not skus:
            return []
        weights = list(itertools.accumulate(self.demand[sku] for sku in skus))
        lines: list[tuple[str, int, Decimal]] = []
        for sku in self.rng.choices(skus, cum_weights=weights, k=count * 4):
            quantity = self.rng.choices((1, 2), (6, 1))[0]
            if any(sku == s for s, _, _ in lines) or left[key(sku)] - quantity < keep:
                continue
            left[key(sku)] -= quantity
            lines.append((sku, quantity, self.price[sku]))
            if len(lines) == count:
                break
        return lines

    def _order(
        self,
        channel: str,
        external_id: str,
        delivery: dict[str, Any],
        lines: Sequence[tuple[str, int, Decimal]],
        *,
        steps: tuple[Step, ...] = (),
        parcels: tuple[tuple[str, str], ...] = (),
        allow_partial: bool = False,
    ) -> DemoOrder:
        if OrderStep.CANCEL_LAST_LINE in steps and len(lines) < 2:
            steps = ()  # nothing to take off but the whole order
        new = NewOrder(
            channel=channel,
            customer=self._customer(),
            delivery=delivery,
            lines=tuple(lines),
            external_id=external_id,
            allow_partial=allow_partial,
        )
        return DemoOrder(new, steps, parcels if Action.SHIP in steps else ())

    def _store(self) -> Location:
        weights = [0.2 + p.size for p in self.stores]
        return self.rng.choices(self.stores, weights)[0].location

    def _any_sku(self) -> str:
        skus = list(self.demand)
        return self.rng.choices(skus, [self.demand[s] for s in skus])[0]

    def _customer(self) -> dict[str, str]:
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
        handle = f"{first}.{last}".replace(" ", "")
        plain = unicodedata.normalize("NFKD", handle).encode("ascii", "ignore").decode().lower()
        return {"name": f"{first} {last}", "email": f"{plain}{self.rng.randint(1, 99)}@example.com"}

    def _address(self) -> dict[str, Any]:
        """A street address in a French town, the bigger the town the likelier."""
        town = self.rng.choices(self.towns, [c.population for c in self.towns])[0]
        return {
            "line1": f"{self.rng.randint(1, 140)} {self.rng.choice(STREETS)}",
            "city": town.name,
            "postcode": self.rng.choice(POSTCODES[town.name]),
            "country": "FR",
            "lat": round(town.lat + self.rng.uniform(-0.02, 0.02), 5),
            "lon": round(town.lon + self.rng.uniform(-0.02, 0.02), 5),
        }


def _marketplace_of(sku: str) -> str | None:
    department = sku.split("-", 1)[0]
    return next((c for c, d in _MARKETPLACE_DEPARTMENTS.items() if department in d), None)


def plan_orders(plan: DemoPlan, *, count: int, rng: random.Random) -> list[DemoOrder]:
    """`count` orders over the plan's stock: mostly shipped to homes, some to collect in a
    store, some sold at a till, and a few that cannot all be served. Each one's external id
    (`demo-0001`…) is its place in the run, so loading again finds it."""
    desk = _OrderDesk(plan, rng)
    kinds = Deck(_KINDS, rng)
    planned = [desk.write(kinds.deal(), f"demo-{n:04d}") for n in range(1, count + 1)]
    return [demo_order for demo_order in planned if demo_order is not None]
