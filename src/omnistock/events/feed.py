"""Reading the event feed."""

from __future__ import annotations

from typing import Any

from omnistock.db import Database, outbox


def feed(database: Database, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events with seq above `after`, oldest first, and the seq to ask after next time.

    Numbers the events that became safe to hand out first (see `omnistock.db.outbox`).
    """
    if database.dialect == "postgresql":
        database.run(lambda uow: outbox.sequence(uow.conn, most=limit))
    with database.read() as conn:
        found = outbox.read(conn, after=after, limit=limit)
    return found, (found[-1]["seq"] if found else after)
