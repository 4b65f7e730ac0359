"""Items and locations."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.catalog import Item, Location
from omnistock.domain.errors import InvalidInput, NotFound
from omnistock.domain.events import Event


def put_item(uow: UnitOfWork, item: Item) -> bool:
    """Create or replace an item; True when it was created."""
    created = uow.catalog.put_item(item)
    uow.emit(Event.ITEM_CREATED if created else Event.ITEM_UPDATED, item_view(item))
    return created


def patch_item(uow: UnitOfWork, sku: str, changes: Mapping[str, Any]) -> Item:
    """Change the fields given of an existing item, and only those."""
    found = uow.catalog.get_item(sku)
    if found is None:
        raise NotFound("item", sku, field="sku")
    item = dataclasses.replace(found, **changes)
    put_item(uow, item)
    return item


def get_item(reads: ReadUnit, sku: str) -> Item:
    item = reads.catalog.get_item(sku)
    if item is None:
        raise NotFound("item", sku, field="sku")
    return item


def existing_location(uow: UnitOfWork, code: str, *, field: str) -> Location:
    """The location (NotFound naming `field` if there is none)."""
    location = uow.rulebook()[0].locations.get(code)
    if location is None:
        raise NotFound("location", code, field=field)
    return location


def active_location(uow: UnitOfWork, code: str, *, field: str) -> Location:
    """The location, if it exists (else NotFound) and is active (else InvalidInput)."""
    location = existing_location(uow, code, field=field)
    if not location.active:
        raise InvalidInput(field, f"{code!r} is not active")
    return location


def put_location(uow: UnitOfWork, location: Location) -> bool:
    """Create or replace a location; True when it was created."""
    created = uow.catalog.put_location(location)
    uow.emit(Event.LOCATION_CREATED if created else Event.LOCATION_UPDATED, location_view(location))
    return created


def patch_location(uow: UnitOfWork, code: str, changes: Mapping[str, Any]) -> Location:
    """Change the fields given of an existing location, and only those."""
    found = uow.catalog.get_location(code)
    if found is None:
        raise NotFound("location", code, field="code")
    location = dataclasses.replace(found, **changes)
    put_location(uow, location)
    return location


def get_location(reads: ReadUnit, code: str) -> Location:
    location = reads.catalog.get_location(code)
    if location is None:
        raise NotFound("location", code, field="code")
    return location


def list_locations(reads: ReadUnit) -> list[Location]:
    return reads.catalog.list_locations()


def item_view(item: Item) -> dict[str, object]:
    """An item as the API shows it."""
    return {
        "sku": item.sku,
        "name": item.name,
        "barcode": item.barcode,
        "price": None if item.price is None else f"{item.price:.2f}",
    }


def location_view(location: Location) -> dict[str, object]:
    """A location as the API shows it."""
    return {
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
