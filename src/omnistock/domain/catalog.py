"""Items and locations: what is sold and where stock is held."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class LocationType(enum.StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class Item:
    """A sellable product variant."""

    sku: str
    name: str
    barcode: str | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A place that holds stock."""

    code: str
    name: str
    type: LocationType
    lat: float
    lon: float
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: int | None = None
    priority: int = 100
    active: bool = True
