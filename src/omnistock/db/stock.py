"""Set-based stock SQL: every change is one guarded statement, so the database itself keeps
each position physically possible under any concurrency (DESIGN section 4).

A change is refused when its guard fails: the statement then matches no row and the caller
explains the refusal from a fresh read. Nothing is ever read, changed in Python and written back.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)

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


def _where(sku: Any, location: Any) -> ColumnElement[bool]:
    return and_(positions.c.sku == sku, positions.c.location == location)


def _guard(d: type[_Params]) -> ColumnElement[bool]:
    """The position after the change is physically possible (Position.is_physically_possible)."""
    p = positions.c
    return and_(
        p.on_hand + d.on_hand >= p.unsellable + d.unsellable,
        p.unsellable + d.unsellable >= 0,
        p.reserved + d.reserved >= 0,
        p.inbound + d.inbound >= 0,
    )


class _Params:
    """Bind parameters for a change's deltas, so its statements are built and compiled once."""

    on_hand = bindparam("d_on_hand", type_=BigInteger)
    reserved = bindparam("d_reserved", type_=BigInteger)
    unsellable = bindparam("d_unsellable", type_=BigInteger)
    inbound = bindparam("d_inbound", type_=BigInteger)
    sku = bindparam("k_sku", type_=String)
    location = bindparam("k_location", type_=String)


@dataclass(frozen=True)
class _Statements:
    upsert: Any  # insert the position, or add to it where the guard holds
    update: Any  # add to an existing position where the guard holds
    create_zero: Any
    lock: Any
    read: Any
    append: Any


#: Insert a position, or add to it where the guard holds. Same SQL on SQLite and PostgreSQL;
#: written as text because SQLAlchemy recompiles ON CONFLICT constructs on every execution.
_UPSERT = text(
    """
    INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
    VALUES (:k_sku, :k_location, :d_on_hand, :d_reserved, :d_unsellable, :d_inbound)
    ON CONFLICT (sku, location) DO UPDATE SET
        on_hand = positions.on_hand + :d_on_hand,
        reserved = positions.reserved + :d_reserved,
        unsellable = positions.unsellable + :d_unsellable,
        inbound = positions.inbound + :d_inbound
    WHERE positions.on_hand + :d_on_hand >= positions.unsellable + :d_unsellable
        AND positions.unsellable + :d_unsellable >= 0
        AND positions.reserved + :d_reserved >= 0
        AND positions.inbound + :d_inbound >= 0
    RETURNING on_hand, reserved, unsellable, inbound
    """
)
_CREATE_ZERO = text(
    """
    INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
    VALUES (:k_sku, :k_location, 0, 0, 0, 0)
    ON CONFLICT (sku, location) DO NOTHING
    """
)


@functools.cache
def _statements(dialect: str) -> _Statements:
    d, p, m = _Params, positions.c, movements.c
    added = {
        "on_hand": p.on_hand + d.on_hand,
        "reserved": p.reserved + d.reserved,
        "unsellable": p.unsellable + d.unsellable,
        "inbound": p.inbound + d.inbound,
    }
    return _Statements(
        upsert=_UPSERT,
        update=positions.update()
        .where(_where(d.sku, d.location), _guard(d))
        .values(added)
        .returning(*_QUANTITIES),
        create_zero=_CREATE_ZERO,
        lock=select(*_QUANTITIES).where(_where(d.sku, d.location)).with_for_update(),
        read=select(*_QUANTITIES).where(_where(d.sku, d.location)),
        append=insert(movements)
        .values(
            at=bindparam("m_at", type_=m.at.type),
            sku=d.sku,
            location=d.location,
            type=bindparam("m_type", type_=String),
            on_hand=d.on_hand,
            reserved=d.reserved,
            unsellable=d.unsellable,
            inbound=d.inbound,
            reason=bindparam("m_reason", type_=String),
            reference=bindparam("m_reference", type_=String),
        )
        .returning(m.id),
    )


def _delta_params(deltas: Deltas) -> dict[str, int]:
    return {
        "d_on_hand": deltas.on_hand,
        "d_reserved": deltas.reserved,
        "d_unsellable": deltas.unsellable,
        "d_inbound": deltas.inbound,
    }


def lock_position(conn: Connection, *, sku: str, location: str) -> Position:
    """Read a position and lock it until commit, creating it at zero if it does not exist.

    Creating it first matters: two concurrent first counts of a new position would otherwise
    both read "nothing" and both add their count to it.
    """
    sql = _statements(conn.dialect.name)
    key = {"k_sku": sku, "k_location": location}
    conn.execute(sql.create_zero, key)
    return Position(*conn.execute(sql.lock, key).one())


def read_position(conn: Connection, *, sku: str, location: str) -> Position:
    row = conn.execute(_statements(conn.dialect.name).read, {"k_sku": sku, "k_location": location})
    found = row.first()
    return Position(*found) if found else Position()


def apply_deltas(conn: Connection, *, sku: str, location: str, deltas: Deltas) -> Position | None:
    """Add `deltas` to the position if the result stays physically possible.

    Returns the new position, or None when the guard refused (nothing changed). A position
    that does not exist yet is created when the change would be possible from zero.
    """
    sql = _statements(conn.dialect.name)
    creatable = Position().apply(deltas).is_physically_possible
    params = {"k_sku": sku, "k_location": location, **_delta_params(deltas)}
    row = conn.execute(sql.upsert if creatable else sql.update, params).first()
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
    params = {
        "m_at": at,
        "k_sku": sku,
        "k_location": location,
        "m_type": type,
        "m_reason": reason,
        "m_reference": reference,
        **_delta_params(deltas),
    }
    movement_id = conn.execute(_statements(conn.dialect.name).append, params).scalar_one()
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
