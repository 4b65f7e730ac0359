"""SQL for items and locations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from omnistock.db.tables import items, locations
from omnistock.domain.catalog import (
    Item,
    Location,
    LocationType,
    lines_are_items,
    searchable,
)
from omnistock.domain.errors import NotFound

if TYPE_CHECKING:
    from omnistock.db.uow import UnitOfWork


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT that knows ON CONFLICT, for the connection's dialect."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(table)


def upsert(uow: UnitOfWork, table: Table, key: str, values: dict[str, Any]) -> bool:
    """Insert or update one row by its primary key; True when it was created.

    Insert-or-nothing first, then update: the answer is exact even for the same key twice in
    one transaction, and on PostgreSQL a concurrent creator makes this one wait, then update.
    """
    created = uow.conn.execute(
        dialect_insert(uow.conn, table)
        .values(**values, created_at=uow.now, updated_at=uow.now)
        .on_conflict_do_nothing(index_elements=[key])
        .returning(table.c[key])
    ).first()
    if created is None:
        uow.conn.execute(
            update(table).where(table.c[key] == values[key]).values(**values, updated_at=uow.now)
        )
    return created is not None


def put_item(uow: UnitOfWork, item: Item) -> bool:
    return upsert(
        uow,
        items,
        "sku",
        {
            "sku": item.sku,
            "name": item.name,
            "barcode": item.barcode,
            "price": item.price,
            "search_words": searchable(item.name),
        },
    )


def put_location(uow: UnitOfWork, location: Location) -> bool:
    values = {
        "code": location.code,
        "name": location.name,
        "type": str(location.type),
        "lat": location.lat,
        "lon": location.lon,
        "ship_enabled": location.ship_enabled,
        "pickup_enabled": location.pickup_enabled,
        "daily_capacity": location.daily_capacity,
        "priority": location.priority,
        "active": location.active,
    }
    created = upsert(uow, locations, "code", values)
    uow.configuration_changed()
    return created


def get_item(conn: Connection, sku: str) -> Item | None:
    row = conn.execute(select(items).where(items.c.sku == sku)).first()
    if row is None:
        return None
    return Item(sku=row.sku, name=row.name, barcode=row.barcode, price=row.price)


def known_skus(conn: Connection, skus: Sequence[str]) -> set[str]:
    """Which of these skus exist."""
    return set(conn.scalars(select(items.c.sku).where(items.c.sku.in_(skus))))


def location_from_row(row: Any) -> Location:
    return Location(
        code=row.code,
        name=row.name,
        type=LocationType(row.type),
        lat=row.lat,
        lon=row.lon,
        ship_enabled=row.ship_enabled,
        pickup_enabled=row.pickup_enabled,
        daily_capacity=row.daily_capacity,
        priority=row.priority,
        active=row.active,
    )


def get_location(conn: Connection, code: str) -> Location | None:
    row = conn.execute(select(locations).where(locations.c.code == code)).first()
    return None if row is None else location_from_row(row)


def list_locations(conn: Connection) -> list[Location]:
    rows = conn.execute(select(locations).order_by(locations.c.code))
    return [location_from_row(r) for r in rows]


def require_item(uow: UnitOfWork, sku: str, *, field: str = "sku") -> None:
    """Raise NotFound unless the item exists (cached: items are never deleted)."""
    if uow.knows_sku(sku):
        return
    if uow.conn.execute(select(items.c.sku).where(items.c.sku == sku)).first() is None:
        raise NotFound("item", sku, field=field)
    uow.learned_skus.add(sku)


def require_line_items(uow: UnitOfWork, skus: Sequence[str]) -> None:
    """InvalidInput naming `lines[i].sku` for the first line whose sku is not an item (the
    skus this process already knows cost no query)."""
    unknown = [sku for sku in skus if not uow.knows_sku(sku)]
    if unknown:
        known = known_skus(uow.conn, unknown)
        lines_are_items(skus, known | (set(skus) - set(unknown)))
        uow.learned_skus.update(known)


def require_location(uow: UnitOfWork, code: str, *, field: str = "location") -> None:
    """Raise NotFound unless the location exists (cached: locations are never deleted)."""
    if uow.knows_location(code):
        return
    row = uow.conn.execute(select(locations.c.code).where(locations.c.code == code)).first()
    if row is None:
        raise NotFound("location", code, field=field)
    uow.learned_locations.add(code)
