"""The transactional outbox: events written with the change that caused them, read in order.

Readers page through the feed by `seq` and must never miss an event. A sequence number taken
at insert does not promise that: two transactions can take seq 5 and 6 and commit 6 first,
and a reader that saw 6 would skip 5 for ever. So an event gets its `seq` only once every
transaction that could still commit an earlier one has finished:

- SQLite has one writer at a time, so commit order is insert order: the writer numbers its
  events at insert, one above the highest seq.
- PostgreSQL writers insert their events unnumbered, tagged with their transaction id, and
  take no lock. The sequencer numbers, in one statement, exactly the events whose
  transactions are older than every transaction still running
  (`xid < pg_snapshot_xmin(pg_current_snapshot())`): those are all committed and visible,
  and no later pass can find an older one. Passes run one at a time (an advisory lock), from
  the feed reader, off the write path.

  A pass numbers a prefix only: the committed unnumbered events in insert (`id`) order, up
  to the first one whose transaction is not yet older than every running one. So the feed
  keeps each row's history in order: a transaction B that changed a row after A's commit
  (it waited for A's lock) wrote its events after A's, with larger ids, and cannot be
  numbered before A even when B's transaction id is the older one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal_column, select, text

from omnistock.db.tables import UTCDateTime, events

_SEQUENCER_LOCK = 0x6F757462

_APPEND_SQLITE = text(
    """
    INSERT INTO events (seq, type, at, data)
    VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), :type, :at, :data)
    """
).bindparams(bindparam("at", type_=UTCDateTime), bindparam("data", type_=events.c.data.type))

_APPEND_POSTGRESQL = insert(events).values(
    xid=literal_column("pg_current_xact_id()::text::bigint"),
    type=bindparam("type"),
    at=bindparam("at"),
    data=bindparam("data"),
)

_SEQUENCE = text(
    """
    WITH pending AS (
        SELECT id, xid FROM events WHERE seq IS NULL ORDER BY id LIMIT :most
    ), held AS (
        SELECT MIN(id) AS id FROM pending
        WHERE xid >= pg_snapshot_xmin(pg_current_snapshot())::text::bigint
    ), ready AS (
        SELECT id, row_number() OVER (ORDER BY id) AS n
        FROM pending
        WHERE id < COALESCE((SELECT id FROM held), 9223372036854775807)
    ), top AS (
        SELECT COALESCE(MAX(seq), 0) AS seq FROM events
    )
    UPDATE events SET seq = top.seq + ready.n
    FROM ready, top
    WHERE events.id = ready.id
    """
)


def append(conn: Connection, pending: list[tuple[str, dict[str, Any]]], *, at: dt.datetime) -> None:
    """Write events inside the caller's transaction."""
    statement = _APPEND_POSTGRESQL if conn.dialect.name == "postgresql" else _APPEND_SQLITE
    rows = [{"type": t, "at": at, "data": d} for t, d in pending]
    conn.execute(statement, rows[0] if len(rows) == 1 else rows)


def sequence(conn: Connection, *, most: int) -> int:
    """Number up to `most` events that are safe to number (PostgreSQL); returns how many.

    Skips the pass when another one is running: its events will show in a moment.
    """
    if conn.dialect.name != "postgresql":
        return 0
    locked = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _SEQUENCER_LOCK})
    if not locked.scalar_one():
        return 0
    return conn.execute(_SEQUENCE, {"most": most}).rowcount


def read(conn: Connection, *, after: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(events.c.seq, events.c.type, events.c.at, events.c.data)
        .where(events.c.seq > after)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [{"seq": r.seq, "type": r.type, "at": r.at, "data": r.data} for r in rows]


def read_filtered(
    conn: Connection,
    *,
    after: int,
    limit: int,
    types: Collection[str] | None,
    channel: str | None,
    scan: int,
) -> tuple[list[dict[str, Any]], int]:
    """Events above `after` of `types` (all if None) whose data names `channel` (any if None),
    looking at `scan` events at most; and the seq to ask after next time: the last event
    returned when the page is full, else the last one looked at, so that a sparse filter
    moves on rather than scanning the same events again."""
    horizon = _horizon(conn, after=after, scan=scan)
    query = select(events.c.seq, events.c.type, events.c.at, events.c.data).where(
        events.c.seq > after, events.c.seq <= horizon
    )
    if types is not None:
        query = query.where(events.c.type.in_(sorted(types)))
    if channel is not None:
        query = query.where(events.c.data["channel"].as_string() == channel)
    rows = conn.execute(query.order_by(events.c.seq).limit(limit))
    found = [{"seq": r.seq, "type": r.type, "at": r.at, "data": r.data} for r in rows]
    return found, (found[-1]["seq"] if len(found) == limit else max(horizon, after))


def _horizon(conn: Connection, *, after: int, scan: int) -> int:
    """The seq of the `scan`-th event above `after`, or of the last one if there are fewer."""
    nth = conn.execute(
        select(events.c.seq)
        .where(events.c.seq > after)
        .order_by(events.c.seq)
        .offset(scan - 1)
        .limit(1)
    ).scalar()
    return int(nth) if nth is not None else last_seq(conn)


def last_seq(conn: Connection) -> int:
    """The highest seq handed out so far (0 before the first event)."""
    return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())


#: A position as `stock.changed` shows it (services.views.position_view), built in SQL.
_POSITION_VIEW = """'sku', p.sku, 'location', p.location, 'on_hand', p.on_hand,
    'reserved', p.reserved, 'unsellable', p.unsellable, 'inbound', p.inbound,
    'available', p.on_hand - p.reserved - p.unsellable"""


def append_stock_changed(
    conn: Connection, *, changed: str, params: dict[str, Any], at: dt.datetime
) -> None:
    """Write a `stock.changed` event for each position `changed` names (a query of distinct
    `sku, location` pairs, aliased `c`), with its figures as they are now, in one statement:
    how bulk writes (imports, the demo's opening stock) put every position they change in
    the feed without building an event per row in Python. SQLite numbers them at insert
    above the highest seq (one writer at a time), in the order the join reads them (no sort
    of a million events first); PostgreSQL leaves them to the sequencer, tagged with the
    transaction, as `append` does."""
    source = f"FROM ({changed}) c JOIN positions p ON p.sku = c.sku AND p.location = c.location"
    if conn.dialect.name == "postgresql":
        statement = f"""
            INSERT INTO events (xid, type, at, data)
            SELECT pg_current_xact_id()::text::bigint, 'stock.changed', :at,
                   json_build_object({_POSITION_VIEW})
            {source} ORDER BY c.location, c.sku
        """
    else:
        statement = f"""
            INSERT INTO events (seq, type, at, data)
            SELECT :seq + ROW_NUMBER() OVER (), 'stock.changed', :at, json_object({_POSITION_VIEW})
            {source}
        """
        params = {**params, "seq": last_seq(conn)}
    conn.execute(
        text(statement).bindparams(bindparam("at", type_=UTCDateTime)), {**params, "at": at}
    )
