"""SQL for returns and their lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select

from omnistock.db.tables import return_lines, returns
from omnistock.domain.returns import Condition, Return, ReturnLine

r, rl = returns.c, return_lines.c
_ADD = insert(returns).returning(r.id)


def add(
    conn: Connection,
    *,
    order_id: int,
    location: str,
    currency: str,
    lines: Sequence[ReturnLine],
    now: dt.datetime,
) -> int:
    values = {"order_id": order_id, "location": location, "currency": currency, "created_at": now}
    return_id: int = conn.execute(_ADD, values).scalar_one()
    rows = [
        {
            "return_id": return_id,
            "line": n,
            "sku": line.sku,
            "quantity": line.quantity,
            "condition": str(line.condition),
            "reason": line.reason,
            "unit_price": line.unit_price,
        }
        for n, line in enumerate(lines)
    ]
    conn.execute(insert(return_lines), rows)
    return return_id


def returned(conn: Connection, order_id: int) -> dict[str, int]:
    """Units of each sku of the order returned so far."""
    query = (
        select(rl.sku, func.sum(rl.quantity))
        .select_from(returns.join(return_lines, rl.return_id == r.id))
        .where(r.order_id == order_id)
        .group_by(rl.sku)
    )
    return {sku: int(units) for sku, units in conn.execute(query)}


def get(conn: Connection, return_id: int) -> Return | None:
    found = _returns(conn, r.id == return_id)
    return found[0] if found else None


def list_returns(
    conn: Connection,
    *,
    order_id: int | None,
    locations: Collection[str] | None,
    after: int,
    limit: int,
) -> list[Return]:
    """Returns with ids above `after`, oldest first."""
    where = [r.id > after]
    if order_id is not None:
        where.append(r.order_id == order_id)
    if locations is not None:
        where.append(r.location.in_(locations))
    page = select(r.id).where(*where).order_by(r.id).limit(limit).scalar_subquery()
    return _returns(conn, r.id.in_(page))


def _returns(conn: Connection, where: ColumnElement[bool]) -> list[Return]:
    rows = conn.execute(
        select(returns, rl.sku, rl.quantity, rl.condition, rl.reason, rl.unit_price)
        .select_from(returns.join(return_lines, rl.return_id == r.id))
        .where(where)
        .order_by(r.id, rl.line)
    ).all()
    found: dict[int, tuple[Any, list[ReturnLine]]] = {}
    for row in rows:
        found.setdefault(row.id, (row, []))[1].append(
            ReturnLine(row.sku, row.quantity, Condition(row.condition), row.reason, row.unit_price)
        )
    return [
        Return(
            id=row.id,
            order_id=row.order_id,
            location=row.location,
            currency=row.currency,
            lines=tuple(lines),
            created_at=row.created_at,
        )
        for row, lines in found.values()
    ]
