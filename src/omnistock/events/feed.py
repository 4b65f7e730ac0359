"""Reading the event feed."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic_core import to_json

from omnistock.db import Database


def feed(database: Database, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events with seq above `after`, oldest first, and the seq to ask after next time.

    Numbers the events that became safe to hand out first (see `omnistock.db.outbox`).
    """
    if database.numbers_events_late:
        database.run(lambda uow: uow.events.sequence(most=limit))
    with database.reading() as reads:
        found = reads.events.read(after=after, limit=limit)
    return found, (found[-1]["seq"] if found else after)


#: Events a filtered page looks at, at most, whatever it finds: a request's bounded cost.
SCAN = 10_000


def filtered_feed(
    database: Database,
    *,
    after: int,
    limit: int,
    types: Collection[str] | None = None,
    channel: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Like `feed`, keeping only events of `types` whose data names `channel` (either may be
    None: no filter), filtered by the database; a page looks at `SCAN` events at most, and
    the seq it answers to ask after next is past every event it looked at, so following a
    rare filter moves through the feed rather than scanning it again."""
    if types is None and channel is None:
        return feed(database, after=after, limit=limit)
    if database.numbers_events_late:
        database.run(lambda uow: uow.events.sequence(most=SCAN))
    with database.reading() as reads:
        return reads.events.read_filtered(
            after=after, limit=limit, types=types, channel=channel, scan=SCAN
        )


def latest(database: Database) -> int:
    """The seq of the newest event handed out so far, numbering the ready ones first."""
    if database.numbers_events_late:
        database.run(lambda uow: uow.events.sequence(most=10_000))
    with database.reading() as reads:
        return reads.events.last_seq()


def render(event: dict[str, Any]) -> bytes:
    """One event as JSON, byte for byte as `/v1/events` shows it in its page (compact UTF-8,
    times as ISO 8601 with `Z`): what the stream, webhooks and the relay send."""
    return to_json(event)
