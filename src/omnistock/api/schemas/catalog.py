"""Items and locations: the catalogue the stock is counted against."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from omnistock.api.schemas.common import TEXT_PATTERN, Body, Model, Name
from omnistock.domain.catalog import LocationType


class ItemIn(Body):
    name: Name
    barcode: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TEXT_PATTERN)] | None
    ) = None
    price: (
        Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(abs)] | None
    ) = Field(None, description='Unit price as a decimal string, e.g. "19.90"')


class ItemOut(Model):
    sku: str
    name: str
    barcode: str | None
    price: str | None = Field(description='Decimal string, e.g. "19.90"')


class LocationIn(Body):
    name: Name
    type: LocationType
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    active: bool = True


class LocationOut(Model):
    code: str
    name: str
    type: LocationType
    lat: float
    lon: float
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: int | None
    priority: int
    active: bool
