"""SQL for webhooks, their deliveries, and the lease that lets one process deliver.

A webhook's progress is its `cursor` (the seq of the last event delivered or given up).
The deliverer moves it forward with a compare-and-set on the cursor it started from, so that
a replay, which moves it back, is never overwritten by a delivery that ran meanwhile.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from omnistock.db.tables import UTCDateTime, events, leases, webhook_deliveries, webhooks
from omnistock.domain.webhooks import Subscription

_WEBHOOK = [c for c in webhooks.c]
_DELIVERY = [c for c in webhook_deliveries.c]


def add(conn: Connection, *, values: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(insert(webhooks).values(values).returning(*_WEBHOOK)).one()
    return dict(row._mapping)


def get(conn: Connection, webhook_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(*_WEBHOOK).where(webhooks.c.id == webhook_id)).first()
    return None if row is None else dict(row._mapping)


def list_all(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(*_WEBHOOK).order_by(webhooks.c.id))
    return [dict(r._mapping) for r in rows]


def change(conn: Connection, webhook_id: int, *, values: dict[str, Any]) -> dict[str, Any] | None:
    """Set `values` on the webhook; the webhook as it is now, or None if it does not exist."""
    row = conn.execute(
        update(webhooks).where(webhooks.c.id == webhook_id).values(values).returning(*_WEBHOOK)
    ).first()
    return None if row is None else dict(row._mapping)


def remove(conn: Connection, webhook_id: int) -> bool:
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    return conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id)).rowcount > 0


def last_seq(conn: Connection) -> int:
    """The seq of the newest numbered event (0: none yet)."""
    return int(conn.execute(select(func.coalesce(func.max(events.c.seq), 0))).scalar_one())


def _selects(subscription: Subscription) -> ColumnElement[bool]:
    """The subscription as a condition on `events.type`."""
    if subscription.everything:
        return true()
    return events.c.type.in_(sorted(subscription.types))


def pending(
    conn: Connection, *, subscription: Subscription, after: int, limit: int
) -> list[dict[str, Any]]:
    """The subscribed events after seq `after`, oldest first, as the feed shows them."""
    rows = conn.execute(
        select(events.c.seq, events.c.type, events.c.at, events.c.data)
        .where(events.c.seq > after, _selects(subscription))
        .order_by(events.c.seq)
        .limit(limit)
    )
    return [{"seq": r.seq, "type": r.type, "at": r.at, "data": r.data} for r in rows]


def oldest_pending_at(
    conn: Connection, *, subscription: Subscription, after: int
) -> dt.datetime | None:
    """When the oldest subscribed event after `after` happened (None: nothing pending),
    counting the events committed but not numbered yet (PostgreSQL numbers them late)."""
    numbered = conn.execute(
        select(events.c.at)
        .where(events.c.seq > after, _selects(subscription))
        .order_by(events.c.seq)
        .limit(1)
    ).first()
    unnumbered = conn.execute(
        select(events.c.at)
        .where(events.c.seq.is_(None), _selects(subscription))
        .order_by(events.c.id)
        .limit(1)
    ).first()
    found = [row.at for row in (numbered, unnumbered) if row is not None]
    return min(found, default=None)


def advance(conn: Connection, webhook_id: int, *, start: int, to: int) -> bool:
    """Move the cursor from `start` to `to` and clear the failures; False when the cursor is
    no longer `start` (a replay moved it)."""
    moved = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.cursor == start)
        .values(cursor=to, failures=0, next_try_at=None)
    )
    return moved.rowcount > 0


def postpone(
    conn: Connection, webhook_id: int, *, start: int, failures: int, next_try_at: dt.datetime
) -> bool:
    """Record one more failed try of the event after `start`, to try again at `next_try_at`."""
    moved = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.cursor == start)
        .values(failures=failures, next_try_at=next_try_at)
    )
    return moved.rowcount > 0


def give_up(
    conn: Connection,
    webhook_id: int,
    *,
    start: int,
    failing: int,
    subscription: Subscription,
    reason: str,
    now: dt.datetime,
) -> bool:
    """Disable the webhook, list every subscribed event after `failing` (the event whose
    last try failed, recorded by the caller) as failed, and move the cursor past them all;
    False when the cursor is no longer `start`."""
    through = last_seq(conn)
    moved = conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.cursor == start)
        .values(
            enabled=False,
            cursor=through,
            failures=0,
            next_try_at=None,
            disabled_reason=reason[:200],
            updated_at=now,
        )
    )
    if moved.rowcount == 0:
        return False
    given_up = select(
        literal(webhook_id),
        events.c.seq,
        events.c.type,
        literal(now, UTCDateTime),
        literal("failed"),
    ).where(events.c.seq > failing, events.c.seq <= through, _selects(subscription))
    columns = ["webhook_id", "seq", "type", "at", "outcome"]
    conn.execute(insert(webhook_deliveries).from_select(columns, given_up))
    return True


def record(conn: Connection, tries: list[dict[str, Any]]) -> None:
    """Store tries of deliveries (each a row of `webhook_deliveries` without its id)."""
    if tries:
        conn.execute(insert(webhook_deliveries), tries)


def queue_ping(conn: Connection, webhook_id: int, *, now: dt.datetime) -> dict[str, Any]:
    values = {"webhook_id": webhook_id, "type": "webhook.ping", "at": now, "outcome": "pending"}
    row = conn.execute(insert(webhook_deliveries).values(values).returning(*_DELIVERY)).one()
    return dict(row._mapping)


def queued_pings(conn: Connection, webhook_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(*_DELIVERY)
        .where(
            webhook_deliveries.c.webhook_id == webhook_id,
            webhook_deliveries.c.outcome == "pending",
        )
        .order_by(webhook_deliveries.c.id)
    )
    return [dict(r._mapping) for r in rows]


def settle(conn: Connection, delivery_id: int, *, values: dict[str, Any]) -> None:
    """Write the outcome of a queued delivery (a ping)."""
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id).values(values)
    )


def deliveries(
    conn: Connection, webhook_id: int, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    """The webhook's tries, newest first, below id `before` when given."""
    query = select(*_DELIVERY).where(webhook_deliveries.c.webhook_id == webhook_id)
    if before is not None:
        query = query.where(webhook_deliveries.c.id < before)
    rows = conn.execute(query.order_by(webhook_deliveries.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def count_outcomes(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(webhook_deliveries.c.outcome, func.count()).group_by(webhook_deliveries.c.outcome)
    )
    return {outcome: int(n) for outcome, n in rows}


def take_lease(
    conn: Connection, *, name: str, holder: str, now: dt.datetime, until: dt.datetime
) -> bool:
    """Hold (or keep holding) the lease `name` until `until`: True when `holder` has it, that
    is when nobody held it, `holder` did, or the holder's lease expired."""
    renewed = conn.execute(
        update(leases)
        .where(leases.c.name == name, or_(leases.c.holder == holder, leases.c.expires_at < now))
        .values(holder=holder, expires_at=until)
    )
    if renewed.rowcount:
        return True
    values = {"name": name, "holder": holder, "expires_at": until}
    return conn.execute(_insert_if_absent(conn, values)).rowcount > 0


def _insert_if_absent(conn: Connection, values: dict[str, Any]) -> Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(leases).values(values).on_conflict_do_nothing()
    return sqlite.insert(leases).values(values).on_conflict_do_nothing()


def release_lease(conn: Connection, *, name: str, holder: str) -> None:
    conn.execute(delete(leases).where(and_(leases.c.name == name, leases.c.holder == holder)))
