"""Set-based stock SQL: every change is one guarded statement, so the database itself keeps
each position physically possible under any concurrency (DESIGN section 4).

A change is refused when its guard fails: the statement then matches no row and the caller
explains the refusal from a fresh read. Nothing is ever read, changed in Python and written back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, func, insert, literal, select, union_all

from omnistock.db.catalog import dialect_insert
from omnistock.db.tables import movements, positions
from omnistock.domain.stock import Deltas, Position

_QUANTITIES = (
    positions.c.on_hand,
    positions.c.reserved,
    positions.c.unsellable,
    positions.c.inbound,
)
_KEY = (positions.c.sku, positions.c.location)


@dataclass(frozen=True, slots=True)
class MovementRow:
    id: int
    at: dt.datetime
    sku: str
    location: str
    type: str
    deltas: Deltas
    reason: str | None
    reference: str | None


def _where(sku: str, location: str) -> ColumnElement[bool]:
    return and_(positions.c.sku == sku, positions.c.location == location)


def _guard(d: Deltas) -> ColumnElement[bool]:
    """The position after the change is physically possible (Position.is_physically_possible)."""
    p = positions.c
    return and_(
        p.on_hand + d.on_hand >= p.unsellable + d.unsellable,
        p.unsellable + d.unsellable >= 0,
        p.reserved + d.reserved >= 0,
        p.inbound + d.inbound >= 0,
    )


def lock_position(conn: Connection, *, sku: str, location: str) -> Position:
    """Read a position and lock it until commit (zeros when it does not exist yet)."""
    row = conn.execute(select(*_QUANTITIES).where(_where(sku, location)).with_for_update()).first()
    return Position(*row) if row else Position()


def read_position(conn: Connection, *, sku: str, location: str) -> Position:
    row = conn.execute(select(*_QUANTITIES).where(_where(sku, location))).first()
    return Position(*row) if row else Position()


def apply_deltas(conn: Connection, *, sku: str, location: str, deltas: Deltas) -> Position | None:
    """Add `deltas` to the position if the result stays physically possible.

    Returns the new position, or None when the guard refused (nothing changed). A position
    that does not exist yet is created when the change would be possible from zero.
    """
    p = positions.c
    new_values = {
        "on_hand": p.on_hand + deltas.on_hand,
        "reserved": p.reserved + deltas.reserved,
        "unsellable": p.unsellable + deltas.unsellable,
        "inbound": p.inbound + deltas.inbound,
    }
    if Position().apply(deltas).is_physically_possible:
        stmt = (
            dialect_insert(conn, positions)
            .values(
                sku=sku,
                location=location,
                on_hand=deltas.on_hand,
                reserved=deltas.reserved,
                unsellable=deltas.unsellable,
                inbound=deltas.inbound,
            )
            .on_conflict_do_update(index_elements=list(_KEY), set_=new_values, where=_guard(deltas))
        )
    else:
        stmt = positions.update().where(_where(sku, location), _guard(deltas)).values(new_values)
    row = conn.execute(stmt.returning(*_QUANTITIES)).first()
    return Position(*row) if row else None


def append_movement(
    conn: Connection,
    *,
    at: dt.datetime,
    sku: str,
    location: str,
    type: str,
    deltas: Deltas,
    reason: str | None = None,
    reference: str | None = None,
) -> MovementRow:
    movement_id = conn.execute(
        insert(movements)
        .values(
            at=at,
            sku=sku,
            location=location,
            type=type,
            on_hand=deltas.on_hand,
            reserved=deltas.reserved,
            unsellable=deltas.unsellable,
            inbound=deltas.inbound,
            reason=reason,
            reference=reference,
        )
        .returning(movements.c.id)
    ).scalar_one()
    return MovementRow(movement_id, at, sku, location, type, deltas, reason, reference)


def positions_of(conn: Connection, sku: str) -> list[tuple[str, Position]]:
    """Every position of an item, by location code."""
    rows = conn.execute(
        select(positions.c.location, *_QUANTITIES)
        .where(positions.c.sku == sku)
        .order_by(positions.c.location)
    )
    return [(r.location, Position(*r[1:])) for r in rows]


def ledger(
    conn: Connection, *, sku: str, location: str | None, after: int, limit: int
) -> list[MovementRow]:
    """Movements of an item (at one location if given), oldest first, ids above `after`."""
    m = movements.c
    query = select(movements).where(m.sku == sku, m.id > after).order_by(m.id).limit(limit)
    if location is not None:
        query = query.where(m.location == location)
    return [
        MovementRow(
            r.id,
            r.at,
            r.sku,
            r.location,
            r.type,
            Deltas(r.on_hand, r.reserved, r.unsellable, r.inbound),
            r.reason,
            r.reference,
        )
        for r in conn.execute(query)
    ]


@dataclass(frozen=True, slots=True)
class Drift:
    """A position that differs from the sum of its movements."""

    sku: str
    location: str
    stored: Position
    replayed: Position


def drifts(conn: Connection) -> Iterator[Drift]:
    """Replay the ledger and yield every position that does not equal its movements' sum.

    One set-based query: positions left-joined to the ledger's sums, plus ledger sums with no
    position at all (which should be all zero).
    """
    m = movements.c
    sums = (
        select(
            m.sku,
            m.location,
            func.sum(m.on_hand).label("on_hand"),
            func.sum(m.reserved).label("reserved"),
            func.sum(m.unsellable).label("unsellable"),
            func.sum(m.inbound).label("inbound"),
        )
        .group_by(m.sku, m.location)
        .subquery("sums")
    )
    s, p = sums.c, positions.c
    joined = and_(s.sku == p.sku, s.location == p.location)
    zero = literal(0)
    stored_vs_replayed = select(
        p.sku,
        p.location,
        *_QUANTITIES,
        *(func.coalesce(col, zero) for col in (s.on_hand, s.reserved, s.unsellable, s.inbound)),
    ).select_from(positions.outerjoin(sums, joined))
    orphans = (
        select(
            s.sku,
            s.location,
            zero,
            zero,
            zero,
            zero,
            s.on_hand,
            s.reserved,
            s.unsellable,
            s.inbound,
        )
        .select_from(sums.outerjoin(positions, joined))
        .where(p.sku.is_(None))
    )
    query = union_all(stored_vs_replayed, orphans)
    for row in conn.execute(query):
        stored, replayed = Position(*row[2:6]), Position(*(int(v) for v in row[6:10]))
        if stored != replayed:
            yield Drift(row[0], row[1], stored, replayed)
