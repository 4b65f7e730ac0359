"""Channels, the locations they sell from, and the buffers kept back from them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from omnistock.api.schemas.common import Body, Key, Model, Name
from omnistock.domain.catalog import LocationType
from omnistock.domain.stock import MAX_QUANTITY


class ChannelIn(Body):
    name: Name
    location_types: list[LocationType] = Field(
        default_factory=list, description="Sell from every active location of these types"
    )
    locations: list[Key] = Field(
        default_factory=list, description="Sell from these locations (when active)"
    )


class ChannelOut(Model):
    code: str
    name: str
    location_types: list[LocationType]
    locations: list[str]
    pool: list[str] = Field(description="The locations the channel sells from now")


def _a_number(value: object) -> object:
    """JSON numbers only: a string is refused rather than read as a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return Decimal(str(value)) if isinstance(value, float) else value


class BufferRuleIn(Body):
    """Units kept back from a channel: give `units` or `percent`, and any of the dimensions."""

    channel: Key | None = None
    location: Key | None = None
    location_type: LocationType | None = None
    sku: Key | None = None
    units: Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)] | None = None
    percent: (
        Annotated[Decimal, BeforeValidator(_a_number), Field(ge=0, le=100, decimal_places=2)] | None
    ) = Field(None, description="Of the units available at the location, rounded up")


class BufferRuleOut(Model):
    id: int
    channel: str | None
    location: str | None
    location_type: LocationType | None
    sku: str | None
    units: int | None
    percent: float | None
