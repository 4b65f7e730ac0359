"""SQL for transfers and their lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, insert, or_, select, update

from omnistock.db.tables import transfer_lines, transfers
from omnistock.domain.transfers import Incoming, Transfer, TransferLine, TransferStatus

t, tl = transfers.c, transfer_lines.c
_ADD = insert(transfers).returning(t.id)


def add(
    conn: Connection,
    *,
    origin: str | None,
    destination: str,
    status: TransferStatus,
    lines: Sequence[tuple[str, int]],
    eta: dt.datetime | None,
    reference: str | None,
    now: dt.datetime,
) -> int:
    values = {
        "origin": origin,
        "destination": destination,
        "status": str(status),
        "eta": eta,
        "reference": reference,
        "created_at": now,
        "shipped_at": now if status is TransferStatus.SHIPPED else None,
    }
    transfer_id: int = conn.execute(_ADD, values).scalar_one()
    rows = [
        {"transfer_id": transfer_id, "sku": sku, "requested": q, "quantity": q} for sku, q in lines
    ]
    conn.execute(insert(transfer_lines), rows)
    return transfer_id


_STAMPS = {
    TransferStatus.SHIPPED: "shipped_at",
    TransferStatus.RECEIVED: "received_at",
    TransferStatus.CANCELLED: "cancelled_at",
}


def move_status(
    conn: Connection,
    transfer_id: int,
    *,
    from_: TransferStatus,
    to: TransferStatus,
    now: dt.datetime,
    reason: str | None = None,
) -> bool:
    """Move a transfer from `from_` to `to`, stamped now; False when it was no longer
    `from_` (the check makes every transition happen once, and locks the row until commit)."""
    values: dict[str, Any] = {"status": str(to), _STAMPS[to]: now}
    if reason:
        values["reason"] = reason[:200]
    moved = conn.execute(
        update(transfers).where(t.id == transfer_id, t.status == str(from_)).values(**values)
    )
    return moved.rowcount == 1


def set_received(conn: Connection, transfer_id: int, received: Mapping[str, int]) -> None:
    statement = (
        update(transfer_lines)
        .where(tl.transfer_id == bindparam("k_id"), tl.sku == bindparam("k_sku"))
        .values(received=bindparam("k_received"))
    )
    rows = [{"k_id": transfer_id, "k_sku": sku, "k_received": q} for sku, q in received.items()]
    conn.execute(statement, rows)


def shrink(conn: Connection, transfer_id: int, sku: str, units: int, *, reason: str) -> None:
    """Carry `units` fewer of `sku` (an open transfer whose origin lost them), saying why."""
    conn.execute(
        update(transfer_lines)
        .where(tl.transfer_id == transfer_id, tl.sku == sku)
        .values(quantity=tl.quantity - units)
    )
    conn.execute(update(transfers).where(t.id == transfer_id).values(reason=reason[:200]))


def lock(conn: Connection, transfer_ids: Sequence[int]) -> None:
    """Lock these transfers until commit, in id order."""
    if transfer_ids:
        query = select(t.id).where(t.id.in_(transfer_ids)).order_by(t.id).with_for_update()
        conn.execute(query).all()


def open_from(conn: Connection, *, location: str, sku: str) -> list[tuple[int, int]]:
    """(transfer id, units) of `sku` that open transfers from `location` hold there, newest
    first."""
    query = (
        select(t.id, tl.quantity)
        .select_from(transfers.join(transfer_lines, tl.transfer_id == t.id))
        .where(
            t.origin == location,
            t.status == str(TransferStatus.OPEN),
            tl.sku == sku,
            tl.quantity > 0,
        )
        .order_by(t.id.desc())
    )
    return [(transfer_id, units) for transfer_id, units in conn.execute(query)]


def get(conn: Connection, transfer_id: int) -> Transfer | None:
    found = _transfers(conn, t.id == transfer_id)
    return found[0] if found else None


def list_transfers(
    conn: Connection,
    *,
    status: TransferStatus | None,
    locations: Collection[str] | None,
    after: int,
    limit: int,
) -> list[Transfer]:
    """Transfers with ids above `after`, oldest first; `locations`: from or to one of them."""
    where = [t.id > after]
    if status is not None:
        where.append(t.status == str(status))
    if locations is not None:
        where.append(or_(t.origin.in_(locations), t.destination.in_(locations)))
    page = select(t.id).where(*where).order_by(t.id).limit(limit).scalar_subquery()
    return _transfers(conn, t.id.in_(page))


def inbound(conn: Connection, sku: str) -> dict[str, list[Incoming]]:
    """The shipped transfers bringing `sku` to each destination, by ETA (unknown last)."""
    query = (
        select(t.id, t.origin, t.destination, t.eta, t.shipped_at, tl.quantity)
        .select_from(transfers.join(transfer_lines, tl.transfer_id == t.id))
        .where(tl.sku == sku, t.status == str(TransferStatus.SHIPPED), tl.quantity > 0)
        .order_by(t.destination, t.eta.is_(None), t.eta, t.id)
    )
    found: dict[str, list[Incoming]] = {}
    for row in conn.execute(query):
        incoming = Incoming(row.id, row.origin, row.quantity, row.eta, row.shipped_at)
        found.setdefault(row.destination, []).append(incoming)
    return found


def _transfers(conn: Connection, where: ColumnElement[bool]) -> list[Transfer]:
    rows = conn.execute(
        select(transfers, tl.sku, tl.requested, tl.quantity, tl.received)
        .select_from(transfers.join(transfer_lines, tl.transfer_id == t.id))
        .where(where)
        .order_by(t.id, tl.sku)
    ).all()
    found: dict[int, tuple[Any, list[TransferLine]]] = {}
    for row in rows:
        found.setdefault(row.id, (row, []))[1].append(
            TransferLine(row.sku, row.requested, row.quantity, row.received)
        )
    return [
        Transfer(
            id=row.id,
            origin=row.origin,
            destination=row.destination,
            status=TransferStatus(row.status),
            lines=tuple(lines),
            created_at=row.created_at,
            eta=row.eta,
            reference=row.reference,
            reason=row.reason,
            shipped_at=row.shipped_at,
            received_at=row.received_at,
            cancelled_at=row.cancelled_at,
        )
        for row, lines in found.values()
    ]
