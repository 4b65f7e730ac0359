"""Holds: units kept for a channel's customer for a while, and where they are held."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from omnistock.api.schemas.common import (
    Body,
    HoldLineIn,
    HoldLineOut,
    Key,
    Latitude,
    Longitude,
    Model,
)


class Coordinates(Body):
    lat: Latitude
    lon: Longitude


class ReservationIn(Body):
    channel: Key
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=100)]
    ship_to: Coordinates | None = Field(None, description="Hold nearest to the customer")
    location: Key | None = Field(None, description="Hold at this location only")
    ttl_seconds: Annotated[int, Field(strict=True, ge=1, le=86_400)] = 900


class AllocationOut(Model):
    location: str
    sku: str
    quantity: int


class ReservationOut(Model):
    id: str
    status: str = Field(description="active, released or expired")
    channel: str
    expires_at: dt.datetime
    lines: list[HoldLineOut]
    allocations: list[AllocationOut]
