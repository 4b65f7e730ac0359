"""Fulfilments: a location's share of an order, shipped, collected or rejected."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from omnistock.api.schemas.common import Body, HoldLineIn, HoldLineOut, Model, Note, Short


class FulfilmentOut(Model):
    id: int
    order_id: int
    location: str
    status: str = Field(
        description="allocated, picked, packed, shipped, delivered, ready_for_pickup, "
        "collected, expired, rejected or cancelled"
    )
    lines: list[HoldLineOut]
    carrier: str | None
    tracking: str | None
    reason: str | None
    pickup_by: dt.datetime | None = Field(
        description="Ready for pickup: until when it waits; uncollected then, it expires and its"
        " units go back on sale. Null in any other status"
    )


class ResourcedOut(Model):
    fulfillment_id: int
    location: str
    lines: list[HoldLineOut]


class RejectedOut(FulfilmentOut):
    resourced: list[ResourcedOut] = Field(
        description="Where the lines went: the new fulfilments carrying them, elsewhere"
    )
    backordered: list[HoldLineOut] = Field(
        description="Units no other location could take: they wait for stock"
    )


class FulfilmentPage(Model):
    fulfillments: list[FulfilmentOut]
    next: int | None = Field(description="Pass as `after` for the next page; null at the end")


class ShipIn(Body):
    carrier: Short | None = None
    tracking: Short | None = None


class RejectIn(Body):
    reason: Note = Field(description="Why the location cannot serve it")
    missing: Annotated[list[HoldLineIn], Field(max_length=100)] = Field(
        default_factory=list, description="Units not found there: written off at the location"
    )
