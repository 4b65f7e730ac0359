"""Bulk reads for feeds: the published ATS of every item on a channel, every position.

Both page by their unique key (keyset), so a caller streams any number of rows holding one
page at a time, inside one read transaction that gives every page the same snapshot.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, and_, case, func, literal, select, tuple_

from omnistock.db.tables import channel_availability, channels, items, positions
from omnistock.domain.stock import Position

_published = channel_availability.c


def published_page(
    conn: Connection, *, channel: str, after: str, most: int
) -> list[tuple[str, int]]:
    """(sku, ATS last published on `channel`) of up to `most` items after sku `after`, in sku
    order; 0 for an item nothing was published for yet."""
    ats = case((_published.available_to_sell > 0, _published.available_to_sell), else_=0)
    query = (
        select(items.c.sku, ats)
        .select_from(
            items.outerjoin(
                channel_availability,
                and_(_published.sku == items.c.sku, _published.channel == channel),
            )
        )
        .where(items.c.sku > after)
        .order_by(items.c.sku)
        .limit(most)
    )
    return [(sku, int(units)) for sku, units in conn.execute(query)]


def out_of_stock(conn: Connection) -> dict[str, int]:
    """How many items each channel last published no ATS above 0 for (an item nothing was
    published for counts as 0, as in `published_page`): every item, less those it sells."""
    selling = (
        select(_published.channel, func.count().label("selling"))
        .where(_published.available_to_sell > 0)
        .group_by(_published.channel)
        .subquery()
    )
    every = select(func.count()).select_from(items).scalar_subquery()
    query = select(channels.c.code, every - func.coalesce(selling.c.selling, 0)).select_from(
        channels.outerjoin(selling, selling.c.channel == channels.c.code)
    )
    return {code: int(count) for code, count in conn.execute(query)}


def positions_page(
    conn: Connection,
    *,
    after: tuple[str, str] | None,
    most: int,
    locations: Collection[str] | None = None,
) -> list[tuple[str, str, Position]]:
    """(sku, location, position) of up to `most` positions after the (sku, location) `after`,
    in that order; only at `locations` if given."""
    p = positions.c
    query = select(p.sku, p.location, p.on_hand, p.reserved, p.unsellable, p.inbound)
    if after is not None:
        sku, location = after
        query = query.where(tuple_(p.sku, p.location) > tuple_(literal(sku), literal(location)))
    if locations is not None:
        query = query.where(p.location.in_(sorted(locations)))
    rows = conn.execute(query.order_by(p.sku, p.location).limit(most))
    return [(r.sku, r.location, Position(*r[2:])) for r in rows]
