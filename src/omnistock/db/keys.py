"""SQL for API keys. Only a key's SHA-256 is stored, never the key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update
from sqlalchemy import delete as sa_delete

from omnistock.db.tables import api_keys

k = api_keys.c
_PUBLIC = (k.id, k.name, k.role, k.channel, k.locations, k.created_at, k.last_used_at)


def find_by_hash(conn: Connection, key_hash: str) -> Row[Any] | None:
    """The key whose hash this is: id, scopes, role, channel and locations."""
    return conn.execute(
        select(k.id, k.scopes, k.role, k.channel, k.locations).where(k.key_hash == key_hash)
    ).first()


def get(conn: Connection, key_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(*_PUBLIC).where(k.id == key_id)).first()
    return None if row is None else row._asdict()


def list_all(conn: Connection) -> list[dict[str, Any]]:
    return [r._asdict() for r in conn.execute(select(*_PUBLIC).order_by(k.created_at, k.id))]


def create(
    conn: Connection,
    *,
    key_id: str,
    name: str,
    key_hash: str,
    role: str,
    channel: str | None,
    locations: Sequence[str] | None,
    now: dt.datetime,
) -> None:
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            name=name,
            key_hash=key_hash,
            scopes=[],
            role=role,
            channel=channel,
            locations=None if locations is None else list(locations),
            created_at=now,
        )
    )


def delete(conn: Connection, *, key_id: str) -> bool:
    """Forget the key; False when there was none."""
    return conn.execute(sa_delete(api_keys).where(k.id == key_id)).rowcount > 0


def replace(
    conn: Connection,
    *,
    key_id: str,
    name: str,
    key_hash: str,
    scopes: list[str],
    now: dt.datetime,
    role: str | None = None,
) -> None:
    """Store a key granting exactly `scopes`, in place of any key with this id."""
    delete(conn, key_id=key_id)
    values: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "key_hash": key_hash,
        "scopes": scopes,
        "role": role,
        "created_at": now,
    }
    conn.execute(insert(api_keys).values(values))


def touch(conn: Connection, *, key_id: str, now: dt.datetime, every: dt.timedelta) -> None:
    """Record that the key was used now, unless that was recorded less than `every` ago (by
    this process or another)."""
    conn.execute(
        update(api_keys)
        .where(k.id == key_id, or_(k.last_used_at.is_(None), k.last_used_at < now - every))
        .values(last_used_at=now)
    )
