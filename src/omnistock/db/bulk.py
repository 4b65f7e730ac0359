"""Set-based SQL for loading in bulk: items (imports, the demo), the demo loader's lock and
what it left behind, and stock through the ledger (the raw baselines of `bench/orders.py`).

Bulk loads of stock still go through the ledger: the movements are appended in batches (an
executemany on SQLite, arrays unnested in one INSERT on PostgreSQL), then the positions are
written from the sums of exactly those movements, in one `INSERT ... SELECT ... GROUP BY`, so
a position equals the sum of its movements by construction (DESIGN invariant 2). An existing
position is added to, never overwritten, and the positions' CHECK constraints still guard
the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, case, func, insert, literal, select, text
from sqlalchemy.dialects import postgresql

from omnistock.db.catalog import dialect_insert
from omnistock.db.tables import items, locations, movements, positions
from omnistock.domain.catalog import Item, searchable
from omnistock.domain.stock import NewMovement

_QUANTITIES = ("on_hand", "reserved", "unsellable", "inbound")


@dataclass(frozen=True, slots=True)
class StockTotals:
    """What a set of locations holds."""

    warehouses: int
    stores: int
    items: int
    positions: int
    units: int


def put_items(conn: Connection, batch: Sequence[Item], *, now: dt.datetime) -> set[str]:
    """Create or replace items in one executemany; returns the skus that were created."""
    if not batch:
        return set()
    rows = [
        {
            "sku": item.sku,
            "name": item.name,
            "barcode": item.barcode,
            "price": item.price,
            "search_words": searchable(item.name),
            "created_at": now,
            "updated_at": now,
        }
        for item in batch
    ]
    stmt = dialect_insert(conn, items)
    stmt = stmt.on_conflict_do_update(
        index_elements=[items.c.sku],
        set_={
            "name": stmt.excluded.name,
            "barcode": stmt.excluded.barcode,
            "price": stmt.excluded.price,
            "search_words": stmt.excluded.search_words,
            "updated_at": stmt.excluded.updated_at,
        },
    ).returning(items.c.sku, items.c.created_at)
    return {sku for sku, created_at in conn.execute(stmt, rows) if created_at == now}


def lock_loader(conn: Connection, key: int) -> None:
    """Let one bulk loader at a time past this point (until commit).

    On PostgreSQL a transaction-scoped advisory lock; SQLite has one writer at a time anyway.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def has_movements(conn: Connection, *, location: str, reference_prefix: str) -> bool:
    """Whether the ledger holds a movement at `location` whose reference starts so."""
    m = movements.c
    found = conn.execute(
        select(m.id)
        .where(m.location == location, m.reference.startswith(reference_prefix, autoescape=True))
        .limit(1)
    ).first()
    return found is not None


def last_movement_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(movements.c.id), 0))).scalar_one())


def append_movements(
    conn: Connection,
    batch: Sequence[NewMovement],
    *,
    at: dt.datetime,
    reference: str | None,
) -> None:
    """Append movements to the ledger in one statement (positions are not touched).

    SQLite takes an executemany (in-process, cheap per row); PostgreSQL one
    `INSERT ... SELECT FROM unnest(arrays)`, which spares a protocol message per row.
    """
    if not batch:
        return
    columns: dict[str, list[object]] = {
        "sku": [m.sku for m in batch],
        "location": [m.location for m in batch],
        "type": [m.type for m in batch],
        **{q: [getattr(m.deltas, q) for m in batch] for q in _QUANTITIES},
        "reason": [m.reason for m in batch],
    }
    if conn.dialect.name == "postgresql":
        arrays = [
            bindparam(name, values, type_=postgresql.ARRAY(movements.c[name].type))
            for name, values in columns.items()
        ]
        rows = func.unnest(*arrays).table_valued(*columns).render_derived()
        query = select(
            literal(at, movements.c.at.type),
            *(rows.c[name] for name in columns),
            literal(reference, movements.c.reference.type),
        )
        conn.execute(insert(movements).from_select(["at", *columns, "reference"], query))
        return
    conn.execute(
        insert(movements).values(at=at, reference=reference),
        [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)],
    )


def add_movements_to_positions(conn: Connection, *, after_id: int, reference: str) -> int:
    """Add to each position the sum of its movements with id above `after_id` and `reference`.

    One statement; positions that do not exist yet are created. The guard of the positions'
    CHECK constraints still applies. Returns how many positions were written.
    """
    m = movements.c
    sums = (
        select(
            m.sku,
            m.location,
            *(func.sum(getattr(m, q)).label(q) for q in _QUANTITIES),
        )
        .where(m.id > after_id, m.reference == reference)
        .group_by(m.sku, m.location)
    )
    stmt = dialect_insert(conn, positions).from_select(["sku", "location", *_QUANTITIES], sums)
    p = positions.c
    stmt = stmt.on_conflict_do_update(
        index_elements=[p.sku, p.location],
        set_={q: getattr(p, q) + getattr(stmt.excluded, q) for q in _QUANTITIES},
    )
    return int(conn.execute(stmt).rowcount)


def stock_totals(conn: Connection, codes: Sequence[str]) -> StockTotals:
    """Locations by type, distinct items, positions and units on hand among `codes`."""
    loc = locations.c
    kinds = conn.execute(
        select(
            func.coalesce(func.sum(case((loc.type == "warehouse", 1), else_=0)), 0),
            func.coalesce(func.sum(case((loc.type == "store", 1), else_=0)), 0),
        ).where(loc.code.in_(codes))
    ).one()
    p = positions.c
    stock = conn.execute(
        select(
            func.count(func.distinct(p.sku)),
            func.count(),
            func.coalesce(func.sum(p.on_hand), 0),
        ).where(p.location.in_(codes))
    ).one()
    return StockTotals(
        warehouses=int(kinds[0]),
        stores=int(kinds[1]),
        items=int(stock[0]),
        positions=int(stock[1]),
        units=int(stock[2]),
    )
