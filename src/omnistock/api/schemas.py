"""Request and response models of the v1 API (schemas are not tables)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from omnistock.domain.catalog import LocationType
from omnistock.domain.returns import Condition
from omnistock.domain.stock import MAX_QUANTITY, MovementType

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
#: Text without NUL characters: PostgreSQL cannot store them, and no name needs one.
_TEXT = r"^[^\x00]*$"
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_TEXT)
]
Note = Annotated[str, StringConstraints(max_length=200, pattern=_TEXT)]
Quantity = Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ItemIn(Model):
    name: Name
    barcode: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_TEXT)] | None
    ) = None
    price: (
        Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(abs)] | None
    ) = Field(None, description='Unit price as a decimal string, e.g. "19.90"')


class ItemOut(Model):
    sku: str
    name: str
    barcode: str | None
    price: str | None = Field(description='Decimal string, e.g. "19.90"')


class LocationIn(Model):
    name: Name
    type: LocationType
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    priority: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    active: bool = True


class LocationOut(LocationIn):
    code: str


class MovementIn(Model):
    location: Key
    sku: Key
    type: MovementType
    quantity: Quantity = Field(
        description="Positive; signed and not zero for an adjustment; zero or more for a count"
    )
    reason: Note | None = None
    reference: Note | None = None


class MovementOut(Model):
    """A ledger entry: the deltas it applied to the position."""

    id: int
    at: dt.datetime
    location: str
    sku: str
    type: str
    on_hand: int
    reserved: int
    unsellable: int
    inbound: int
    reason: str | None
    reference: str | None


class Quantities(Model):
    on_hand: int
    reserved: int
    unsellable: int
    inbound: int
    available: int = Field(description="on_hand - reserved - unsellable")


class InboundTransferOut(Model):
    transfer_id: int
    from_: str | None = Field(alias="from", description="The origin; null: a supplier")
    quantity: int
    eta: dt.datetime | None
    shipped_at: dt.datetime


class PositionOut(Quantities):
    location: str


class StockedPositionOut(PositionOut):
    inbound_transfers: list[InboundTransferOut] = Field(
        default_factory=list,
        description="Only with `?include=inbound`: the transfers on their way here, soonest "
        "first (unknown ETA last)",
    )


class StockPositionOut(PositionOut):
    sku: str


class MovementResult(Model):
    movement: MovementOut
    position: StockPositionOut


class StockOut(Model):
    sku: str
    positions: list[StockedPositionOut]
    total: Quantities


class EventOut(Model):
    seq: int
    type: str
    at: dt.datetime
    data: dict[str, Any]


class EventPage(Model):
    events: list[EventOut]
    next: int = Field(description="The seq to pass as `after` next time")


class Health(Model):
    status: str


class FieldError(Model):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error answer is shaped."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:omnistock:problem:stock-conflict"])
    title: str
    status: int
    detail: str
    code: str = Field(description="The problem's short name, the end of `type`")
    field: str | None = Field(None, description="The input at fault, where there is one")
    errors: list[FieldError] | None = Field(None, description="Every invalid field (422)")


class ChannelIn(Model):
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


class BufferRuleIn(Model):
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


class HoldLineIn(Model):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]


class Coordinates(Model):
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class ReservationIn(Model):
    channel: Key
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=100)]
    ship_to: Coordinates | None = Field(None, description="Hold nearest to the customer")
    location: Key | None = Field(None, description="Hold at this location only")
    ttl_seconds: Annotated[int, Field(strict=True, ge=1, le=86_400)] = 900


class HoldLineOut(Model):
    sku: str
    quantity: int


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


UnitPrice = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2, description='A decimal string, e.g. "19.90"'),
    AfterValidator(abs),  # "-0" is 0
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+$"
    ),
]
Line1 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=_TEXT)
]
Short = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_TEXT)
]


class Customer(Model):
    name: Name
    email: Email


class Address(Model):
    line1: Line1
    city: Short
    postcode: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20, pattern=_TEXT)
    ]
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] = Field(
        description="ISO 3166-1 alpha-2, e.g. FR"
    )
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class ShipDelivery(Model):
    method: Literal["ship"]
    address: Address


class StoreDelivery(Model):
    method: Literal["pickup", "in_store"]
    location: Key = Field(description="The store: where to collect, or where it was sold")


class OrderLineIn(Model):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
    unit_price: UnitPrice


class OrderIn(Model):
    channel: Key
    external_id: Short | None = Field(
        None, description="The channel's own id: the same one again returns the same order"
    )
    customer: Customer
    delivery: Annotated[ShipDelivery | StoreDelivery, Field(discriminator="method")]
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=100)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
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
    customer: Customer
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


class FulfilmentPage(Model):
    fulfillments: list[FulfilmentOut]
    next: int | None = Field(description="Pass as `after` for the next page; null at the end")


class CancelIn(Model):
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=100)] | None = Field(
        None, description="Units to cancel; the whole order when absent"
    )


class ShipIn(Model):
    carrier: Short | None = None
    tracking: Short | None = None


class RejectIn(Model):
    reason: Note = Field(description="Why the location cannot serve it")
    missing: Annotated[list[HoldLineIn], Field(max_length=100)] = Field(
        default_factory=list, description="Units not found there: written off at the location"
    )


class ConsideredOut(Model):
    location: str
    distance_km: float | None
    cost: float
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
    cost: float | None
    searched: int
    bounded: bool


class RecordedDecisionOut(DecisionOut):
    at: dt.datetime
    trigger: str = Field(description="order, rejection or healing")


class SourcingOut(Model):
    order_id: int
    decision: RecordedDecisionOut | None = Field(description="The decision in force")
    earlier: list[RecordedDecisionOut]


Id = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


def _iso_text(value: object) -> object:
    if not isinstance(value, str) or not re.match(r"\d{4}-\d\d-\d\d[Tt ]", value):
        raise ValueError("an ISO 8601 time with its zone, e.g. 2026-12-01T08:00:00Z")
    return value


def _in_utc(value: dt.datetime) -> dt.datetime:
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("once in UTC, this time is outside the calendar") from None


#: An ISO 8601 time with its zone (a number of seconds is not a time anyone means here).
When = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_in_utc)]


class ReturnLineIn(Model):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
    condition: Condition = Field(
        description="sellable: back on hand at once; damaged: on hand, unsellable"
    )
    reason: Note | None = None


class ReturnIn(Model):
    order_id: Id = Field(description="A delivered or collected order, from any channel")
    location: Key = Field(description="Any active location: where the units come back")
    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=100)]


class ReturnLineOut(Model):
    sku: str
    quantity: int
    condition: str
    reason: str | None
    unit_price: str = Field(description="What the order paid a unit")
    refund: str = Field(description="quantity x unit_price")


class ReturnOut(Model):
    id: int
    order_id: int
    location: str
    currency: str = Field(description="The order's")
    refund_amount: str = Field(description='Decimal string, e.g. "39.80": the lines\' refunds')
    created_at: dt.datetime
    lines: list[ReturnLineOut]


class ReturnPage(Model):
    returns: list[ReturnOut]
    next: int | None = Field(description="Pass as `after` for the next page; null at the end")


class TransferIn(Model):
    from_: Key | None = Field(
        None, alias="from", description="The origin; absent: a supplier's announced delivery"
    )
    to: Key
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=100)]
    eta: When | None = Field(None, description="When it is expected (ISO 8601, with a zone)")
    reference: Note | None = Field(None, description="E.g. the supplier's delivery note")


class ReceivedLineIn(Model):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]


class ReceiveIn(Model):
    lines: Annotated[list[ReceivedLineIn], Field(max_length=100)] = Field(
        description="The units counted, by sku; a sku not listed did not arrive"
    )


class TransferLineOut(Model):
    sku: str
    requested: int = Field(description="As asked")
    quantity: int = Field(description="Carried (fewer than asked if the origin lost units)")
    received: int | None = Field(description="Counted at the destination, once received")


class DiscrepancyOut(Model):
    sku: str
    shipped: int
    received: int
    difference: int = Field(description="received - shipped: negative when units are missing")


class TransferOut(Model):
    id: int
    status: str = Field(description="open, shipped, received or cancelled")
    from_: str | None = Field(alias="from", description="null: a supplier's delivery")
    to: str
    eta: dt.datetime | None
    reference: str | None
    reason: str | None = Field(description="Why it carries fewer units, or was cancelled")
    created_at: dt.datetime
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    lines: list[TransferLineOut]
    discrepancies: list[DiscrepancyOut]


class TransferPage(Model):
    transfers: list[TransferOut]
    next: int | None = Field(description="Pass as `after` for the next page; null at the end")
