"""SQL for reservations: the hold, its lines as asked, and its allocations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Connection, insert, select, update

from omnistock.db.tables import reservation_lines, reservations
from omnistock.domain.reservations import ACTIVE, Allocation, Reservation


def add(conn: Connection, reservation: Reservation, *, now: dt.datetime) -> None:
    conn.execute(
        insert(reservations).values(
            id=reservation.id,
            channel=reservation.channel,
            status=reservation.status,
            expires_at=reservation.expires_at,
            created_at=now,
        )
    )
    rows = [
        {"reservation_id": reservation.id, "position": n, "sku": sku, "location": None,
         "quantity": quantity}
        for n, (sku, quantity) in enumerate(reservation.lines)
    ] + [
        {"reservation_id": reservation.id, "position": len(reservation.lines) + n,
         "sku": a.sku, "location": a.location, "quantity": a.quantity}
        for n, a in enumerate(reservation.allocations)
    ]  # fmt: skip
    conn.execute(insert(reservation_lines), rows)


def get(conn: Connection, reservation_id: str) -> Reservation | None:
    row = conn.execute(select(reservations).where(reservations.c.id == reservation_id)).first()
    if row is None:
        return None
    r = reservation_lines.c
    found = conn.execute(
        select(r.sku, r.location, r.quantity)
        .where(r.reservation_id == reservation_id)
        .order_by(r.position)
    ).all()
    return Reservation(
        id=row.id,
        channel=row.channel,
        status=row.status,
        expires_at=row.expires_at,
        lines=tuple((sku, q) for sku, location, q in found if location is None),
        allocations=tuple(Allocation(loc, sku, q) for sku, loc, q in found if loc is not None),
    )


def end(conn: Connection, reservation_id: str, *, status: str, now: dt.datetime) -> bool:
    """Mark an active hold ended; False when it was not active (someone else ended it).

    The status check in the UPDATE makes every hold end exactly once, whoever races for it.
    """
    ended = conn.execute(
        update(reservations)
        .where(reservations.c.id == reservation_id, reservations.c.status == ACTIVE)
        .values(status=status, ended_at=now)
    )
    return ended.rowcount == 1


def expired_ids(
    conn: Connection, *, now: dt.datetime, most: int, skus: Sequence[str] | None = None
) -> list[str]:
    """Active holds past their expiry (holding any of `skus` when given), oldest first."""
    query = (
        select(reservations.c.id)
        .where(reservations.c.status == ACTIVE, reservations.c.expires_at <= now)
        .order_by(reservations.c.expires_at)
        .limit(most)
    )
    if skus is not None:
        holding = select(reservation_lines.c.reservation_id).where(
            reservation_lines.c.sku.in_(skus), reservation_lines.c.location.is_not(None)
        )
        query = query.where(reservations.c.id.in_(holding))
    return list(conn.scalars(query))


def holding_at(conn: Connection, *, location: str, sku: str) -> list[str]:
    """Active holds with units of `sku` at `location`, newest first."""
    r, lines = reservations.c, reservation_lines.c
    query = (
        select(r.id)
        .join(reservation_lines, lines.reservation_id == r.id)
        .where(r.status == ACTIVE, lines.location == location, lines.sku == sku)
        .order_by(r.created_at.desc(), r.id)
    )
    return list(dict.fromkeys(conn.scalars(query)))


def lock(conn: Connection, reservation_ids: Sequence[str]) -> None:
    """Lock these holds until commit, in id order."""
    if reservation_ids:
        query = select(reservations.c.id).where(reservations.c.id.in_(reservation_ids))
        conn.execute(query.order_by(reservations.c.id).with_for_update()).all()
