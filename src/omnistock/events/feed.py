"""Reading the event feed."""

from __future__ import annotations

from typing import Any

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
