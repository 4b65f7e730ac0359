"""Set-based stock SQL: every change is one guarded statement, so the database itself keeps
each position physically possible under any concurrency (DESIGN section 4).

A change is refused when its guard fails: the statement then matches no row and the caller
explains the refusal from a fresh read. Nothing is ever read, changed in Python and written back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
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

from omnistock.db.tables import UTCDateTime, movements, positions
from omnistock.domain.availability import BASIS_POINTS
from omnistock.domain.reservations import ACTIVE
from omnistock.domain.stock import Deltas, Drift, Movement, Position

_QUANTITIES = (
    positions.c.on_hand,
    positions.c.reserved,
    positions.c.unsellable,
    positions.c.inbound,
)
_KEY = (positions.c.sku, positions.c.location)


def _where(sku: Any, location: Any) -> ColumnElement[bool]:
    return and_(positions.c.sku == sku, positions.c.location == location)


#: The position after the change stays physically possible: the SQL twin of
#: `Position.is_physically_possible`, evaluated on the row as it is when the change applies.
_GUARD = """
        positions.on_hand + :d_on_hand >= positions.unsellable + :d_unsellable
    AND positions.unsellable + :d_unsellable >= 0
    AND positions.reserved + :d_reserved >= 0
    AND positions.inbound + :d_inbound >= 0
"""
_ADD = """
    on_hand = positions.on_hand + :d_on_hand,
    reserved = positions.reserved + :d_reserved,
    unsellable = positions.unsellable + :d_unsellable,
    inbound = positions.inbound + :d_inbound
"""
_RETURNING = "RETURNING on_hand, reserved, unsellable, inbound"

# The hot statements are text, the same on SQLite and PostgreSQL, and prepared once:
# SQLAlchemy recompiles ON CONFLICT constructs on every execution.

#: Insert the position, or add to it where the guard holds.
_UPSERT = text(
    f"""
    INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
    VALUES (:k_sku, :k_location, :d_on_hand, :d_reserved, :d_unsellable, :d_inbound)
    ON CONFLICT (sku, location) DO UPDATE SET {_ADD}
    WHERE {_GUARD}
    {_RETURNING}
    """
)
#: Add to an existing position where the guard holds.
_UPDATE = text(
    f"""
    UPDATE positions SET {_ADD}
    WHERE sku = :k_sku AND location = :k_location AND {_GUARD}
    {_RETURNING}
    """
)
_CREATE_ZERO = text(
    """
    INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
    VALUES (:k_sku, :k_location, 0, 0, 0, 0)
    ON CONFLICT (sku, location) DO NOTHING
    """
)
_KEY_PARAMS = (bindparam("k_sku", type_=String), bindparam("k_location", type_=String))
_LOCK = select(*_QUANTITIES).where(_where(*_KEY_PARAMS)).with_for_update()
_READ = select(*_QUANTITIES).where(_where(*_KEY_PARAMS))
_APPEND = text(
    """
    INSERT INTO movements (at, sku, location, type, on_hand, reserved, unsellable, inbound,
                           reason, reference)
    VALUES (:at, :k_sku, :k_location, :type, :d_on_hand, :d_reserved, :d_unsellable,
            :d_inbound, :reason, :reference)
    RETURNING id
    """
).bindparams(bindparam("at", type_=movements.c.at.type))


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
    key = {"k_sku": sku, "k_location": location}
    conn.execute(_CREATE_ZERO, key)
    return Position(*conn.execute(_LOCK, key).one())


def read_position(conn: Connection, *, sku: str, location: str) -> Position:
    found = conn.execute(_READ, {"k_sku": sku, "k_location": location}).first()
    return Position(*found) if found else Position()


def apply_deltas(conn: Connection, *, sku: str, location: str, deltas: Deltas) -> Position | None:
    """Add `deltas` to the position if the result stays physically possible.

    Returns the new position, or None when the guard refused (nothing changed). A position
    that does not exist yet is created when the change would be possible from zero.
    """
    creatable = Position().apply(deltas).is_physically_possible
    params = {"k_sku": sku, "k_location": location, **_delta_params(deltas)}
    row = conn.execute(_UPSERT if creatable else _UPDATE, params).first()
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
) -> Movement:
    params = {
        "at": at,
        "k_sku": sku,
        "k_location": location,
        "type": type,
        "reason": reason,
        "reference": reference,
        **_delta_params(deltas),
    }
    movement_id = conn.execute(_APPEND, params).scalar_one()
    return Movement(movement_id, at, sku, location, type, deltas, reason, reference)


def append_movements(
    conn: Connection,
    *,
    at: dt.datetime,
    type: str,
    entries: Sequence[tuple[str, str, Deltas]],
    reason: str | None = None,
    reference: str | None = None,
) -> None:
    """Append one movement per (location, sku, deltas) entry, in one statement."""
    if not entries:
        return
    rows = [
        {
            "at": at,
            "sku": sku,
            "location": location,
            "type": type,
            "reason": reason,
            "reference": reference,
            "on_hand": d.on_hand,
            "reserved": d.reserved,
            "unsellable": d.unsellable,
            "inbound": d.inbound,
        }
        for location, sku, d in entries
    ]
    conn.execute(insert(movements), rows)


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
) -> list[Movement]:
    """Movements of an item (at one location if given), oldest first, ids above `after`."""
    m = movements.c
    query = select(movements).where(m.sku == sku, m.id > after).order_by(m.id).limit(limit)
    if location is not None:
        query = query.where(m.location == location)
    return [
        Movement(
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


#: Units available per (sku, location) in the positions (flagged 0)...
_IN_POSITIONS = """
    SELECT sku, location, on_hand - reserved - unsellable, 0
    FROM positions WHERE sku IN :skus
"""
#: ... and (flagged 1) the units still reserved by holds that have expired but that no sweep
#: has released yet, which are free.
_IN_EXPIRED_HOLDS = """
    SELECT reservation_lines.sku, reservation_lines.location, reservation_lines.quantity, 1
    FROM reservation_lines JOIN reservations ON reservations.id = reservation_lines.reservation_id
    WHERE reservations.status = :active AND reservations.expires_at <= :now
      AND reservation_lines.location IS NOT NULL AND reservation_lines.sku IN :skus
"""
_SKUS = bindparam("skus", expanding=True, type_=String)
_AVAILABLE = text(f"{_IN_POSITIONS} UNION ALL {_IN_EXPIRED_HOLDS}").bindparams(
    _SKUS, bindparam("now", type_=UTCDateTime)
)
_AVAILABLE_IN_POSITIONS = text(_IN_POSITIONS).bindparams(_SKUS)


@dataclass(frozen=True, slots=True)
class Available:
    """Available units per sku and location (expired holds counting as free), and whether
    expired holds not yet released hold any of them."""

    units: dict[str, dict[str, int]]
    expired_holds: bool


def available_at(
    conn: Connection, skus: Sequence[str], *, now: dt.datetime, expired_free: bool = True
) -> Available:
    """Units available (on hand - reserved - unsellable) per sku and location, in one query;
    with `expired_free`, the units of expired holds not yet released count as available."""
    units: dict[str, dict[str, int]] = {sku: {} for sku in skus}
    expired = False
    statement = _AVAILABLE if expired_free else _AVAILABLE_IN_POSITIONS
    params = {"skus": skus, "now": now, "active": ACTIVE}
    for sku, location, quantity, freed in conn.execute(statement, params).all():
        at = units[sku]
        at[location] = at.get(location, 0) + int(quantity)
        expired = expired or bool(freed)
    return Available(units, expired)


def stocked_skus(conn: Connection, *, after: str, most: int) -> list[str]:
    """Up to `most` skus with a position somewhere, in order, each above `after`."""
    p = positions.c
    query = select(p.sku).where(p.sku > after).distinct().order_by(p.sku).limit(most)
    return list(conn.scalars(query))


#: Reserve units where, afterwards, what is available still covers the channel's buffer,
#: computed on the row as it is now: `units`, or `basis_points` of the available units
#: rounded up (integer arithmetic: SQLite may lack CEIL). One of the two is zero.
_RESERVE = text(
    f"""
    UPDATE positions SET reserved = reserved + :q
    WHERE sku = :k_sku AND location = :k_location
      AND on_hand - reserved - unsellable - :q
          >= :units + ((on_hand - reserved - unsellable) * :basis_points + {BASIS_POINTS - 1})
                      / {BASIS_POINTS}
    RETURNING on_hand, reserved, unsellable, inbound
    """
)


def reserve(
    conn: Connection,
    *,
    sku: str,
    location: str,
    quantity: int,
    buffer_units: int = 0,
    buffer_basis_points: int = 0,
) -> Position | None:
    """Reserve `quantity` if the channel's buffer still holds afterwards; None if refused."""
    row = conn.execute(
        _RESERVE,
        {
            "k_sku": sku,
            "k_location": location,
            "q": quantity,
            "units": buffer_units,
            "basis_points": buffer_basis_points,
        },
    ).first()
    return Position(*row) if row else None


def lock_positions(
    conn: Connection, *, skus: Sequence[str], locations: Sequence[str] | None = None
) -> set[tuple[str, str]] | None:
    """Lock every existing position of these skus (at these locations, or anywhere), in
    (location, sku) order, until commit; answers the (location, sku) locked. SQLite: the
    transaction already holds the only write lock, so nothing is done (None: every one)."""
    if conn.dialect.name == "sqlite":
        return None
    if not skus:
        return set()
    p = positions.c
    query = (
        select(p.location, p.sku)
        .where(p.sku.in_(skus))
        .order_by(p.location, p.sku)
        .with_for_update()
    )
    if locations is not None:
        query = query.where(p.location.in_(locations))
    return {(location, sku) for location, sku in conn.execute(query)}
