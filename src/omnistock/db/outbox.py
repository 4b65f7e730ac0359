"""The transactional outbox: events written with the change that caused them.

Readers page through the feed by `seq` and must never miss an event. A sequence alone does
not promise that: two transactions can take seq 5 and 6 and commit 6 first, and a reader
that saw 6 would skip 5 for ever. So on PostgreSQL, writers take one transaction-scoped
advisory lock just before their events get their seq and keep it until commit: seqs then
become visible in commit order. On SQLite there is one writer at a time anyway.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select, text

from omnistock.db.tables import events

_OUTBOX_LOCK = 0x6F757462


def append(conn: Connection, pending: list[tuple[str, dict[str, Any]]], *, at: dt.datetime) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _OUTBOX_LOCK})
    conn.execute(insert(events), [{"type": t, "at": at, "data": d} for t, d in pending])


def read(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(events.c.seq, events.c.type, events.c.at, events.c.data)
        .where(events.c.seq > after)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [{"seq": r.seq, "type": r.type, "at": r.at, "data": r.data} for r in rows]
