"""Reading the event feed."""

from __future__ import annotations

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
