"""The listings: items found by search, locations, and every position of a location.

Each answers a page in key order and the key to pass as `after` for the next page (None at
the end), as `GET /v1/orders` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omnistock.db import ReadUnit
from omnistock.domain.availability import Rulebook
from omnistock.domain.catalog import Item, Location, LocationType, Search
from omnistock.domain.errors import InvalidInput, NotFound
from omnistock.domain.stock import Position


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its rows, and the key after which the next one starts."""

    rows: list[Any]
    next: str | None


def _page(rows: list[Any], keys: list[str], limit: int) -> Page:
    return Page(rows, keys[-1] if len(rows) == limit else None)


def items(
    reads: ReadUnit,
    *,
    q: str | None = None,
    barcode: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """Items in sku order, found by `q` (see `Search`) and of this `barcode`, if given."""
    search = None if q is None else Search(q.strip())
    found: list[Item] = reads.catalog.list_items(
        search=search, barcode=barcode, after=after, limit=limit
    )
    return _page(found, [item.sku for item in found], limit)


def locations(
    reads: ReadUnit,
    *,
    type_: LocationType | None = None,
    q: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> Page:
    """Locations in code order, of this type and found by `q` (see `Search`), if given."""
    search = None if q is None else Search(q.strip())
    found: list[Location] = []
    for location in reads.catalog.locations_after(type_=type_, after=after):
        if search is None or search.finds(location.code, location.name):
            found.append(location)
            if len(found) == limit:
                break
    return _page(found, [loc.code for loc in found], limit)


@dataclass(frozen=True, slots=True)
class LocationStock:
    """A page of the positions of one location; with `channel`, what it may sell of each."""

    location: str
    channel: str | None
    positions: list[tuple[str, Position, int | None]]
    next: str | None


def stock_at(
    reads: ReadUnit,
    *,
    location: str,
    channel: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> LocationStock:
    """The positions of `location` in sku order, with what `channel` may sell of each there
    by the rules of `GET /v1/availability/{sku}?location=` (buffers; the units of expired
    holds not yet released count as available). NotFound for an unknown location or
    channel; InvalidInput naming `channel` for a channel whose pool leaves the location out.
    """
    found = reads.stock.positions_at(location, after=after, limit=limit)
    skus = [sku for sku, _ in found]
    book, sku_rules = reads.rulebook(skus)
    if location not in book.locations:
        raise NotFound("location", location, field="location")
    rows: list[tuple[str, Position, int | None]] = [(sku, p, None) for sku, p in found]
    if channel is not None:
        _check_pool(book, channel, location)
        freed = reads.stock.expired_holds_at(location, skus, now=reads.now)
        rows = [
            (sku, p, book.sellable_at(channel, location, sku, p.available + freed.get(sku, 0),
                                      sku_rules[sku]))
            for sku, p in found
        ]  # fmt: skip
    return LocationStock(location, channel, rows, _page(rows, skus, limit).next)


def _check_pool(book: Rulebook, channel: str, location: str) -> None:
    """NotFound for an unknown channel; InvalidInput naming `channel` for one whose pool
    leaves `location` out (it may sell nothing there, as availability answers)."""
    if channel not in book.channels:
        raise NotFound("channel", channel, field="channel")
    if not book.in_pool(channel, location):
        pool = f"{location!r} is not in channel {channel!r}'s pool: it sells nothing there"
        raise InvalidInput("channel", pool)


def stock_view(found: LocationStock) -> dict[str, Any]:
    """A location's page of stock as the API shows it (`sellable` only with a channel)."""
    positions = []
    for sku, position, sellable in found.positions:
        entry: dict[str, Any] = {"sku": sku, **position.as_dict()}
        if found.channel is not None:
            entry["sellable"] = sellable
        positions.append(entry)
    return {
        "location": found.location,
        "channel": found.channel,
        "positions": positions,
        "next": found.next,
    }
