"""Reading everything at once: a channel's feed of published figures, and the stock snapshot
a consumer of the event feed starts from.

Both are generators of pages over one read transaction (`ReadUnit`): the caller holds one
page in memory at a time, and every page sees the same moment.

The export shows what was last *published* (`availability.changed`), not a figure computed
now: it is the state a marketplace following the feed would hold. So it lags as the feed
does: after a change of configuration (a buffer rule, a pool), the figures move as the
republish passes reach each item (`availability.republish`, every second, in sku order);
and a hold that expired but was not swept yet still counts until its sweep releases it.

The snapshot answers `as_of_event`, the highest seq its transaction sees. Every event up to
it is reflected in the snapshot. On SQLite events are numbered as they commit, so nothing
above it is. On PostgreSQL events are numbered after commit (see `omnistock.db.outbox`): a
transaction the snapshot already holds may have its events numbered above `as_of_event`,
so a consumer following the feed from there may see again a change the snapshot holds.
`stock.changed` carries the position's absolute figures and the feed gives each position's
changes in the order they were made, so applying every event in order converges on the
same figures (a position may show an older figure for a moment while those events replay).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from omnistock.db import ReadUnit
from omnistock.domain.errors import NotFound
from omnistock.domain.stock import Position

#: Rows read per statement: a page in memory at a time.
PAGE = 5000


def check_channel(reads: ReadUnit, channel: str) -> None:
    if reads.channels.get_channel(channel) is None:
        raise NotFound("channel", channel, field="channel")


def published(
    reads: ReadUnit, channel: str, *, page: int = PAGE
) -> Iterator[list[tuple[str, int]]]:
    """(sku, ATS last published on `channel`, 0 if none) of every item, in sku order, a page
    at a time."""
    after = ""
    while True:
        found = reads.channels.published_page(channel=channel, after=after, most=page)
        if found:
            yield found
        if len(found) < page:
            return
        after = found[-1][0]


def out_of_stock(reads: ReadUnit) -> dict[str, int]:
    """How many items each channel cannot sell, by the figures it last published: the count
    of the zeros `published` would stream, in one statement."""
    counts: dict[str, int] = reads.channels.out_of_stock()
    return counts


def as_of_event(reads: ReadUnit) -> int:
    """The seq every event up to which the snapshot read by `reads` reflects: read first, it
    also fixes the moment (SQLite's snapshot starts at the transaction's first read)."""
    return reads.events.last_seq()


def positions(
    reads: ReadUnit, locations: Collection[str] | None, *, page: int = PAGE
) -> Iterator[list[tuple[str, str, Position]]]:
    """Every position (only at `locations` if given), by sku then location, a page at a time."""
    after: tuple[str, str] | None = None
    while True:
        found = reads.stock.positions_page(after=after, most=page, locations=locations)
        if found:
            yield found
        if len(found) < page:
            return
        after = found[-1][0], found[-1][1]
