"""Orders, their customers and deliveries, cancellation, and the sourcing decisions behind them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from omnistock.api.schemas.common import (
    COUNTRY_PATTERN,
    CURRENCY_PATTERN,
    EMAIL_PATTERN,
    TEXT_PATTERN,
    Body,
    Cost,
    HoldLineIn,
    HoldLineOut,
    Key,
    Kilometres,
    Latitude,
    Longitude,
    Model,
    Name,
    Short,
)
from omnistock.api.schemas.fulfilments import FulfilmentOut
from omnistock.domain.stock import MAX_QUANTITY

UnitPrice = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2, description='A decimal string, e.g. "19.90"'),
    AfterValidator(abs),  # "-0" is 0
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254, pattern=EMAIL_PATTERN),
]
Line1 = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=TEXT_PATTERN),
]


class Customer(Model):
    name: Name
    email: Email


class CustomerIn(Customer):
    model_config = ConfigDict(extra="forbid")


class Address(Body):
    line1: Line1
    city: Short
    postcode: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=TEXT_PATTERN),
    ]
    country: Annotated[str, StringConstraints(pattern=COUNTRY_PATTERN)] = Field(
        description="ISO 3166-1 alpha-2, e.g. FR"
    )
    lat: Latitude
    lon: Longitude


class ShipDelivery(Body):
    method: Literal["ship"]
    address: Address


class StoreDelivery(Body):
    method: Literal["pickup", "in_store"]
    location: Key = Field(description="The store: where to collect, or where it was sold")


class OrderLineIn(Body):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
    unit_price: UnitPrice


class OrderIn(Body):
    channel: Key
    external_id: Short | None = Field(
        None, description="The channel's own id: the same one again returns the same order"
    )
    customer: CustomerIn | None = Field(
        None, description="Who buys: required, except for an in-store sale"
    )
    delivery: Annotated[ShipDelivery | StoreDelivery, Field(discriminator="method")]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=100)]
    currency: Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)] = "EUR"
    reservation_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = Field(
        None, description="A hold whose units become this order's, where they are held"
    )
    allow_partial: bool = Field(
        False, description="Allocate what there is and backorder the rest instead of a 409"
    )


class OrderLineOut(Model):
    sku: str
    quantity: int
    unit_price: str
    backordered: int
    cancelled: int


class HistoryOut(Model):
    at: dt.datetime
    event: str
    detail: str


class OrderOut(Model):
    id: int
    status: str = Field(
        description="backordered, partially_allocated, allocated, in_progress, completed or "
        "cancelled: derived from the fulfilments and backorders"
    )
    channel: str
    external_id: str | None
    customer: Customer | None = Field(description="null for an in-store sale without one")
    delivery: dict[str, Any]
    currency: str
    created_at: dt.datetime
    lines: list[OrderLineOut]
    fulfillments: list[FulfilmentOut]
    backorders: list[HoldLineOut]


class OrderDetailOut(OrderOut):
    history: list[HistoryOut] = Field(description="What happened to the order and why")


class OrderPage(Model):
    orders: list[OrderOut]
    next: int | None = Field(description="Pass as `after` for the next page; null at the end")


class CancelIn(Body):
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=100)] | None = Field(
        None, description="Units to cancel; the whole order when absent"
    )


class ConsideredOut(Model):
    location: str
    distance_km: Kilometres | None = Field(description="As the crow flies, to 0.1 km")
    cost: Cost
    priority: int
    sellable: dict[str, int]
    covers: int
    verdict: str
    why: str


class ShipmentOut(Model):
    location: str
    lines: list[HoldLineOut]


class DecisionOut(Model):
    plan: list[ShipmentOut]
    backorders: list[HoldLineOut]
    considered: list[ConsideredOut]
    strategy: str = Field(description="single, pair, greedy, none, or reservation")
    reason: str
    cost: Cost | None
    searched: int
    bounded: bool


class RecordedDecisionOut(DecisionOut):
    at: dt.datetime
    trigger: str = Field(description="order, rejection or healing")


class SourcingOut(Model):
    order_id: int
    decision: RecordedDecisionOut | None = Field(description="The decision in force")
    earlier: list[RecordedDecisionOut]
