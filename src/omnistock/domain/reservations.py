"""Holds on stock: where a hold takes its units from, and what it looks like.

A hold (a cart at checkout) reserves units of each line at the locations of the channel's
pool, nearest to the customer first when we know where they are, else warehouses first,
then by location priority. A line may be split across locations. All lines or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from omnistock.domain.catalog import Location, LocationType
from omnistock.domain.errors import ShortLine
from omnistock.domain.geography import distance_km

#: Ledger movement types written by holds (deltas on `reserved` only).
RESERVE = "reserve"
RELEASE = "release"

ACTIVE, RELEASED, EXPIRED = "active", "released", "expired"
#: The hold became an order's allocation.
ORDERED = "ordered"
DEFAULT_TTL_SECONDS = 900
MAX_TTL_SECONDS = 86_400


@dataclass(frozen=True, slots=True)
class Allocation:
    location: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    channel: str
    status: str
    expires_at: dt.datetime
    lines: tuple[tuple[str, int], ...]
    allocations: tuple[Allocation, ...]


def merged(lines: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
    """Lines with each sku once (quantities added), in the order first asked."""
    totals: dict[str, int] = {}
    for sku, quantity in lines:
        totals[sku] = totals.get(sku, 0) + quantity
    return list(totals.items())


def preferred(locations: Iterable[Location], ship_to: tuple[float, float] | None) -> list[Location]:
    """Locations in the order a hold draws from them."""
    if ship_to is not None:
        return sorted(
            locations,
            key=lambda loc: (distance_km(ship_to, (loc.lat, loc.lon)), loc.priority, loc.code),
        )
    return sorted(
        locations,
        key=lambda loc: (loc.type is not LocationType.WAREHOUSE, loc.priority, loc.code),
    )


def plan(
    lines: Sequence[tuple[str, int]],
    locations: Sequence[Location],
    sellable: dict[tuple[str, str], int],
) -> tuple[list[Allocation], list[ShortLine]]:
    """Allocations serving every line from `locations` in order, or the lines that fall short.

    `sellable` maps (location, sku) to the units the channel may still sell there.
    """
    allocations: list[Allocation] = []
    short: list[ShortLine] = []
    for sku, requested in lines:
        missing = requested
        for location in locations:
            take = min(missing, sellable.get((location.code, sku), 0))
            if take > 0:
                allocations.append(Allocation(location.code, sku, take))
                missing -= take
            if missing == 0:
                break
        if missing:
            available = sum(sellable.get((loc.code, sku), 0) for loc in locations)
            short.append(ShortLine(sku, requested, available))
    return (allocations, []) if not short else ([], short)
