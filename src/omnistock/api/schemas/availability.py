"""Available to sell, by channel: per location and in total."""

from __future__ import annotations

from omnistock.api.schemas.common import Model


class LocationAvailabilityOut(Model):
    location: str
    available: int
    buffer: int
    sellable: int


class AvailabilityOut(Model):
    sku: str
    channel: str
    available_to_sell: int
    locations: list[LocationAvailabilityOut]


class ItemAvailabilityOut(Model):
    sku: str
    available_to_sell: int


class AvailabilityPage(Model):
    channel: str
    items: list[ItemAvailabilityOut]
