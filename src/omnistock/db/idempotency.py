"""SQL for idempotency keys: a key is claimed and its answer stored in the same transaction
as the change it guards, so a replay either sees the whole answer or nothing at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, text, tuple_, update

from omnistock.db.tables import UTCDateTime
from omnistock.db.tables import idempotency_keys as keys

#: Same SQL on both backends; text because SQLAlchemy recompiles ON CONFLICT on every call.
_CLAIM = text(
    """
    INSERT INTO idempotency_keys (owner, key, request_hash, created_at)
    VALUES (:owner, :key, :request_hash, :created_at)
    ON CONFLICT (owner, key) DO NOTHING
    RETURNING key
    """
).bindparams(bindparam("created_at", type_=UTCDateTime))


@dataclass(frozen=True, slots=True)
class Stored:
    request_hash: str
    status_code: int
    response: Any


def claim(
    conn: Connection, *, owner: str, key: str, request_hash: str, now: dt.datetime
) -> Stored | None:
    """Claim `key` for this transaction; None if claimed, else what was stored before.

    On PostgreSQL a concurrent claim of the same key waits for the first to commit.
    """
    claimed = conn.execute(
        _CLAIM, {"owner": owner, "key": key, "request_hash": request_hash, "created_at": now}
    ).first()
    if claimed is not None:
        return None
    row = conn.execute(
        select(keys.c.request_hash, keys.c.status_code, keys.c.response).where(
            keys.c.owner == owner, keys.c.key == key
        )
    ).one()
    return Stored(row.request_hash, row.status_code, row.response)


def store(conn: Connection, *, owner: str, key: str, status_code: int, response: Any) -> None:
    conn.execute(
        update(keys)
        .where(keys.c.owner == owner, keys.c.key == key)
        .values(status_code=status_code, response=response)
    )


def purge(conn: Connection, *, older_than: dt.datetime, most: int) -> int:
    """Delete up to `most` keys created before `older_than`; returns how many."""
    oldest = (
        select(keys.c.owner, keys.c.key)
        .where(keys.c.created_at < older_than)
        .order_by(keys.c.created_at)
        .limit(most)
    )
    stale = tuple_(keys.c.owner, keys.c.key).in_(oldest)
    return conn.execute(delete(keys).where(stale)).rowcount
