"""SQL of the listings: items found by search, locations, a location's positions.

Every list is a page in key order, after a key (keyset paging by the unique key, stable
under concurrent writes: a row is on the page of its key or not at all).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, false, func, select, union

from omnistock.db.catalog import location_from_row
from omnistock.db.tables import items, locations, positions, reservation_lines, reservations
from omnistock.domain.catalog import Item, Location, LocationType, Search
from omnistock.domain.reservations import ACTIVE
from omnistock.domain.stock import Position

#: Above every character a key may hold: `key < prefix + _TOP` bounds the keys starting
#: with `prefix` (code point order on both backends: SQLite's BINARY, PostgreSQL's "C").
_TOP = "\U0010ffff"


def starts_with(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, case-sensitively, as a range an index can walk."""
    return and_(column >= prefix, column < prefix + _TOP)


def _name_has(search: Search) -> ColumnElement[bool]:
    """Each word of the query starts a word of the name, on the items' `search_words`
    (" w1 w2 ..."). The words are letters and digits only, so none holds a LIKE wildcard."""
    wanted = search.words
    if not wanted:
        return false()
    return and_(*(items.c.search_words.like(f"% {w}%") for w in wanted))


def list_items(
    conn: Connection,
    *,
    search: Search | None,
    barcode: str | None,
    after: str | None,
    limit: int,
) -> list[Item]:
    """Up to `limit` items with skus above `after`, in sku order, found by `search` and with
    this `barcode` (when given).

    A search is the union of two pages, each a query an index can serve on its own: the
    skus starting with the text (a range of the primary key) and the names with its words
    (in sku order, stopping at `limit`); an OR of the two would make every search walk the
    names, however few skus match."""
    i = items.c
    query = select(i.sku, i.name, i.barcode, i.price).order_by(i.sku).limit(limit)
    if after is not None:
        query = query.where(i.sku > after)
    if barcode is not None:
        query = query.where(i.barcode == barcode)
    if search is not None:
        parts = [
            query.where(starts_with(i.sku, search.text)).subquery(),
            query.where(_name_has(search)).subquery(),
        ]
        both = union(*(select(part) for part in parts)).subquery()
        query = select(both).order_by(both.c.sku).limit(limit)
    return [Item(r.sku, r.name, r.barcode, r.price) for r in conn.execute(query)]


def locations_after(
    conn: Connection, *, type_: LocationType | None, after: str | None
) -> list[Location]:
    """Every location with a code above `after` (of this type if given), in code order.
    A network has some thousands at most: the search is the caller's (`Search.finds`)."""
    query = select(locations).order_by(locations.c.code)
    if after is not None:
        query = query.where(locations.c.code > after)
    if type_ is not None:
        query = query.where(locations.c.type == str(type_))
    return [location_from_row(row) for row in conn.execute(query)]


def positions_at(
    conn: Connection, location: str, *, after: str | None, limit: int
) -> list[tuple[str, Position]]:
    """Up to `limit` positions of `location` with skus above `after`, in sku order."""
    p = positions.c
    query = (
        select(p.sku, p.on_hand, p.reserved, p.unsellable, p.inbound)
        .where(p.location == location)
        .order_by(p.sku)
        .limit(limit)
    )
    if after is not None:
        query = query.where(p.sku > after)
    return [(row.sku, Position(*row[1:])) for row in conn.execute(query)]


def expired_holds_at(
    conn: Connection, location: str, skus: Sequence[str], *, now: dt.datetime
) -> dict[str, int]:
    """Units of these skus that holds expired by `now` but not yet released still reserve
    at `location` (free to sell, as availability counts them)."""
    if not skus:
        return {}
    r, rl = reservations.c, reservation_lines.c
    query = (
        select(rl.sku, func.sum(rl.quantity))
        .select_from(reservation_lines.join(reservations, r.id == rl.reservation_id))
        .where(r.status == ACTIVE, r.expires_at <= now)
        .where(rl.location == location, rl.sku.in_(skus))
        .group_by(rl.sku)
    )
    return {sku: int(units) for sku, units in conn.execute(query)}
