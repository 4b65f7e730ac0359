"""Returns of delivered and collected orders, and their refunds."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from omnistock.api.schemas.common import Body, Key, Model, Note
from omnistock.domain.returns import Condition
from omnistock.domain.stock import MAX_QUANTITY

Id = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]


class ReturnLineIn(Body):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
    condition: Condition = Field(
        description="sellable: back on hand at once; damaged: on hand, unsellable"
    )
    reason: Note | None = None


class ReturnIn(Body):
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
