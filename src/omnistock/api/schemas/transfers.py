"""Transfers between locations and suppliers' announced deliveries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from omnistock.api.schemas.common import Body, HoldLineIn, Key, Model, Note, When
from omnistock.domain.stock import MAX_QUANTITY


class TransferIn(Body):
    from_: Key | None = Field(
        None, alias="from", description="The origin; absent: a supplier's announced delivery"
    )
    to: Key
    lines: Annotated[list[HoldLineIn], Field(min_length=1, max_length=100)]
    eta: When | None = Field(None, description="When it is expected (ISO 8601, with a zone)")
    reference: Note | None = Field(None, description="E.g. the supplier's delivery note")


class ReceivedLineIn(Body):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]


class ReceiveIn(Body):
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
