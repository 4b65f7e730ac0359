"""What sourcing takes and gives: candidates, costs, shipments, and the words of its verdicts.

The verdicts say what became of one candidate ("chosen", "not chosen", "at capacity",
"excluded", "no stock"); the strategies say how the plan was found ("single", "pair",
"greedy", or "none" when nothing can be sourced).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from omnistock.domain.catalog import Location

CHOSEN, NOT_CHOSEN = "chosen", "not chosen"
AT_CAPACITY, EXCLUDED, NO_STOCK = "at capacity", "excluded", "no stock"
SINGLE, PAIR, GREEDY, NONE = "single", "pair", "greedy", "none"


@dataclass(frozen=True, slots=True)
class Costs:
    """Estimated cost of a shipment: a fixed part plus a part per km to the customer."""

    per_shipment: float = 5.0
    per_km: float = 0.02


@dataclass(frozen=True, slots=True)
class Candidate:
    """A location that might serve the order, with what the channel may still sell there.

    `sellable` maps skus to units (a missing sku has none; a negative number counts as
    none). `capacity_left` counts the fulfilments the location may still accept today
    (None: no limit); a plan asks at most one of each location. `excluded` says why it may
    not serve this order at all, for instance because it already rejected these lines.
    """

    location: Location
    sellable: Mapping[str, int]
    capacity_left: int | None = None
    excluded: str | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    """The lines one location ships, in the order's line order, every quantity above zero."""

    location: str
    lines: tuple[tuple[str, int], ...]
