"""What every resource's models share: the base model, keys, text, and sku-quantity lines."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from omnistock.domain.stock import MAX_QUANTITY

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
#: Text without NUL characters: PostgreSQL cannot store them, and no name needs one.
TEXT_PATTERN = r"^[^\x00]*$"
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=TEXT_PATTERN),
]
Note = Annotated[str, StringConstraints(max_length=200, pattern=TEXT_PATTERN)]
Short = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=TEXT_PATTERN),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


# A sku and a number of units, as holds, orders, fulfilments and transfers list them.
class HoldLineIn(Model):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]


class HoldLineOut(Model):
    sku: str
    quantity: int
