"""What every resource's models share: the base model, keys, text, and sku-quantity lines."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from fastapi import Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from omnistock.domain.stock import MAX_QUANTITY

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
#: Text without NUL characters: PostgreSQL cannot store them, and no name needs one.
TEXT_PATTERN = r"^[^\x00]*$"
EMAIL_PATTERN = r"^[^@\s\x00]+@[^@\s\x00]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
#: Printable ASCII, no space: what an HTTP header value may safely carry.
TOKEN_PATTERN = r"^[\x21-\x7e]+$"

#: Each pattern in words: what a validation message says instead of the regex.
PATTERN_SENTENCES = {
    KEY_PATTERN: "must be 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or "
    "a digit",
    TEXT_PATTERN: "must not contain a NUL character",
    EMAIL_PATTERN: "must be an e-mail address",
    COUNTRY_PATTERN: "must be a country code of two capital letters (ISO 3166-1), e.g. FR",
    CURRENCY_PATTERN: "must be a currency code of three capital letters (ISO 4217), e.g. EUR",
    TOKEN_PATTERN: "must be printable ASCII characters without spaces",
}
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=TEXT_PATTERN),
]
Note = Annotated[str, StringConstraints(max_length=200, pattern=TEXT_PATTERN)]
Short = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=TEXT_PATTERN),
]

#: Numbers as a person reads them: a distance to 0.1 km, a sourcing cost to two decimals (the
#: decision is made, and stored, at full precision; answers show it rounded).
Kilometres = Annotated[float, PlainSerializer(lambda km: round(km, 1), return_type=float)]
Cost = Annotated[float, PlainSerializer(lambda cost: round(cost, 2), return_type=float)]


class Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Body(Model):
    """A request body, or a part of one: a field it does not know is refused by name, never
    dropped (a misspelt `qty` would otherwise leave the default in its place)."""

    model_config = ConfigDict(extra="forbid")


class Patch(Body):
    """A body that changes only the fields it sends: what was sent, null included, is its
    meaning (`model_fields_set`), so two patches differ even where their values are alike."""


# A sku and a number of units, as holds, orders, fulfilments and transfers list them.
class HoldLineIn(Body):
    sku: Key
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]


class HoldLineOut(Model):
    sku: str
    quantity: int


#: A page's size: 1 to 1,000 rows, 100 unless asked (every list of the API).
PageLimit = Annotated[int, Query(ge=1, le=1000, description="Rows a page (1 to 1,000)")]
#: The key after which a page starts (the `next` of the page before), for lists by key.
AfterKey = Annotated[
    str | None,
    Query(pattern=KEY_PATTERN, description="The last key of the page before (its `next`)"),
]
#: What `q` searches by: 1 to 200 characters, no NUL.
SearchText = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=TEXT_PATTERN,
        description="A key prefix (exact case), or words each starting a word of the name, in "
        "any case and with or without accents: `Tee-shirt bleu` finds `tee shirt BLEU`",
    ),
]


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


#: Coordinates in degrees: JSON numbers only (strict: `false` or `"45"` is refused, not read
#: as 0 or 45, as the OpenAPI's `number` says).
Latitude = Annotated[float, Field(strict=True, ge=-90, le=90)]
Longitude = Annotated[float, Field(strict=True, ge=-180, le=180)]
