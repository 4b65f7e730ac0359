"""Stock movements, the ledger, and positions by location."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from omnistock.api.schemas.common import Body, Key, Model, Note
from omnistock.domain.stock import MAX_QUANTITY, MovementType

Quantity = Annotated[int, Field(strict=True, ge=-MAX_QUANTITY, le=MAX_QUANTITY)]


class MovementIn(Body):
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


class LocationPositionOut(Quantities):
    sku: str
    sellable: int | None = Field(
        None,
        description="Only with `channel`: what the channel may sell from this position after "
        "its buffer, as `GET /v1/availability/{sku}?channel=&location=` says (the units of "
        "expired holds not yet released count as available)",
    )


class LocationStockPage(Model):
    location: str
    channel: str | None = Field(description="The channel asked for `sellable`, if any")
    positions: list[LocationPositionOut] = Field(description="In sku order")
    next: str | None = Field(description="Pass as `after` for the next page; null at the end")
