"""What the console's pages show, worked out from what the services answer: plain data the
templates lay out, testable without a browser."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from omnistock.domain.availability import LocationAvailability
from omnistock.domain.catalog import Location
from omnistock.domain.orders import DROPPED, DeliveryMethod, Order, OrderStatus
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


@dataclass(frozen=True, slots=True)
class Overview:
    """The day at a glance: orders by channel and status, how they are served, what waits."""

    orders: int
    by_channel: dict[str, dict[str, int]]
    statuses: list[str]
    per_hour: dict[str, list[int]]
    ship_from_store: float | None
    split_rate: float | None
    backordered: int


def overview(placed: Sequence[Order], types: Mapping[str, str], since: dt.datetime) -> Overview:
    """What the orders placed since `since` say: their count by channel and status, by hour
    (UTC) and channel, the share of shipped parcels sent from stores, the shipments per
    order served (split rate), and how many wait for stock (backordered)."""
    by_channel: dict[str, dict[str, int]] = {}
    per_hour: dict[str, list[int]] = {}
    shipped = from_stores = served = shipments = backordered = 0
    for order in placed:
        status = str(order.status)
        counts = by_channel.setdefault(order.channel, {})
        counts[status] = counts.get(status, 0) + 1
        hours = per_hour.setdefault(order.channel, [0] * 24)
        hours[min(23, max(0, int((order.created_at - since).total_seconds() // 3600)))] += 1
        live = [f for f in order.fulfilments if f.status not in DROPPED]
        if live:
            served += 1
            shipments += len(live)
        if order.method is DeliveryMethod.SHIP:
            shipped += len(live)
            from_stores += sum(1 for f in live if types.get(f.location) == "store")
        if any(line.backordered for line in order.lines):
            backordered += 1
    seen = {status for counts in by_channel.values() for status in counts}
    return Overview(
        orders=len(placed),
        by_channel=dict(sorted(by_channel.items())),
        statuses=[str(s) for s in OrderStatus if str(s) in seen],
        per_hour=dict(sorted(per_hour.items())),
        ship_from_store=from_stores / shipped if shipped else None,
        split_rate=shipments / served if served else None,
        backordered=backordered,
    )
