"""What the console's pages show, worked out from what the services answer: plain data the
templates lay out, testable without a browser."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from omnistock.domain.availability import LocationAvailability
from omnistock.domain.catalog import Location
from omnistock.domain.stock import Position


@dataclass(frozen=True, slots=True)
class StockLine:
    """An item's stock at one location, as the item page's table shows it."""

    location: str
    name: str
    type: str
    on_hand: int
    reserved: int
    unsellable: int
    inbound: int
    available: int


@dataclass(frozen=True, slots=True)
class StockTable:
    lines: list[StockLine]
    total: StockLine | None


@dataclass(frozen=True, slots=True)
class ChannelAts:
    """What one channel may sell of an item: the figure, and its arithmetic where it sells."""

    channel: str
    name: str
    available_to_sell: int
    locations: list[LocationAvailability]


def stock_table(
    positions: Sequence[tuple[str, Position]],
    places: Mapping[str, Location],
    reach: Collection[str] | None,
) -> StockTable:
    """Each position within `reach` (None: every one), the warehouses first, then by code,
    and their total."""
    lines = []
    for code, p in sorted(positions, key=lambda found: (_rank(places.get(found[0])), found[0])):
        if reach is not None and code not in reach:
            continue
        place = places.get(code)
        lines.append(
            StockLine(
                code,
                place.name if place is not None else code,
                str(place.type) if place is not None else "",
                p.on_hand,
                p.reserved,
                p.unsellable,
                p.inbound,
                p.on_hand - p.reserved - p.unsellable,
            )
        )
    if not lines:
        return StockTable([], None)
    figures = ("on_hand", "reserved", "unsellable", "inbound", "available")
    sums = {f: sum(getattr(line, f) for line in lines) for f in figures}
    return StockTable(lines, StockLine("", "", "", **sums))


def channel_ats(
    channel: str,
    name: str,
    available_to_sell: int,
    breakdown: Sequence[LocationAvailability],
    reach: Collection[str] | None,
) -> ChannelAts:
    """The channel's figure and its arithmetic at each location of its pool that has stock
    (and is within `reach`)."""
    shown = [
        entry
        for entry in breakdown
        if (entry.available or entry.sellable) and (reach is None or entry.location in reach)
    ]
    return ChannelAts(channel, name, available_to_sell, sorted(shown))


def local_path(target: str | None, default: str = "/items") -> str:
    """`target` if it is a path of this site (a redirect never leaves it), else `default`."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _rank(place: Location | None) -> int:
    """Warehouses before stores (and anything unknown last)."""
    if place is None:
        return 2
    return 0 if str(place.type) == "warehouse" else 1
