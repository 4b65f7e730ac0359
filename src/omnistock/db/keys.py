"""SQL for API keys. Only a key's SHA-256 is stored, never the key."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert, select
from sqlalchemy import delete as sa_delete

from omnistock.db.tables import api_keys


def find_by_hash(conn: Connection, key_hash: str) -> tuple[str, list[str]] | None:
    row = conn.execute(
        select(api_keys.c.id, api_keys.c.scopes).where(api_keys.c.key_hash == key_hash)
    ).first()
    return None if row is None else (row.id, list(row.scopes))


def delete(conn: Connection, *, key_id: str) -> None:
    conn.execute(sa_delete(api_keys).where(api_keys.c.id == key_id))


def replace(
    conn: Connection, *, key_id: str, name: str, key_hash: str, scopes: list[str], now: dt.datetime
) -> None:
    delete(conn, key_id=key_id)
    values: dict[str, Any] = {
        "id": key_id,
        "name": name,
        "key_hash": key_hash,
        "scopes": scopes,
        "created_at": now,
    }
    conn.execute(insert(api_keys).values(values))
