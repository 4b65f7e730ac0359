"""The cursors of the feed's readers outside the API (the NATS relay, ...): for each, by name,
the seq of the last event it has handed on."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from omnistock.db.tables import cursors


def get(conn: Connection, name: str) -> int | None:
    """The seq stored under `name`, or None when that reader has never stored one."""
    found = conn.execute(select(cursors.c.seq).where(cursors.c.name == name)).scalar_one_or_none()
    return None if found is None else int(found)


def put(conn: Connection, name: str, *, seq: int, now: dt.datetime) -> None:
    """Store `seq` under `name`, creating the cursor if need be."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(cursors).values(name=name, seq=seq, updated_at=now)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[cursors.c.name],
            set_={"seq": statement.excluded.seq, "updated_at": statement.excluded.updated_at},
        )
    )
