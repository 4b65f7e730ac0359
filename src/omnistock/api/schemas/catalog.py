"""Items and locations: the catalogue the stock is counted against."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from omnistock.api.schemas.common import (
    TEXT_PATTERN,
    Body,
    Latitude,
    Longitude,
    Model,
    Name,
    Patch,
)
from omnistock.domain.catalog import LocationType

Barcode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(abs)]


class ItemIn(Body):
    name: Name
    barcode: Barcode | None = None
    price: Price | None = Field(None, description='Unit price as a decimal string, e.g. "19.90"')


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null: leave it out to keep it as it is")
    return value


class ItemPatch(Patch):
    """The fields to change, and only those: a field left out stays as it is; `barcode` and
    `price` may be set to null."""

    name: Name | None = None
    barcode: Barcode | None = None
    price: Price | None = Field(None, description='Unit price as a decimal string, e.g. "19.90"')

    check_name = field_validator("name")(_not_null)


class ItemOut(Model):
    sku: str
    name: str
    barcode: str | None
    price: str | None = Field(description='Decimal string, e.g. "19.90"')


class LocationIn(Body):
    name: Name
    type: LocationType
    lat: Latitude
    lon: Longitude
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    active: bool = True


class LocationPatch(Patch):
    """The fields to change, and only those: a field left out stays as it is;
    `daily_capacity` may be set to null (no limit)."""

    name: Name | None = None
    type: LocationType | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    ship_enabled: bool | None = None
    pickup_enabled: bool | None = None
    daily_capacity: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    active: bool | None = None

    check_required = field_validator(
        "name", "type", "lat", "lon", "ship_enabled", "pickup_enabled", "priority", "active"
    )(_not_null)


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


class ItemPage(Model):
    items: list[ItemOut] = Field(description="In sku order")
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")


class LocationPage(Model):
    locations: list[LocationOut] = Field(description="In code order")
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")
