"""Reading the event feed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from omnistock.db import outbox


def feed(conn: Connection, *, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Events with seq above `after`, oldest first, and the seq to ask after next time."""
    found = outbox.read(conn, after=after, limit=limit)
    return found, (found[-1]["seq"] if found else after)
