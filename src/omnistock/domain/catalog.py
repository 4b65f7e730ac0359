"""Items and locations: what is sold and where stock is held."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from omnistock.domain.errors import InvalidInput


class LocationType(enum.StrEnum):
    WAREHOUSE = "warehouse"
    STORE = "store"


@dataclass(frozen=True, slots=True)
class Item:
    """A sellable product variant."""

    sku: str
    name: str
    barcode: str | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A place that holds stock."""

    code: str
    name: str
    type: LocationType
    lat: float
    lon: float
    ship_enabled: bool
    pickup_enabled: bool
    daily_capacity: int | None = None
    priority: int = 100
    active: bool = True


def one_line_a_sku(skus: Iterable[str]) -> None:
    """The skus of a request's lines, each on one line only (else InvalidInput naming the
    line that repeats one)."""
    seen: dict[str, int] = {}
    for index, sku in enumerate(skus):
        if sku in seen:
            raise InvalidInput(
                f"lines[{index}].sku", f"{sku!r} is already on lines[{seen[sku]}]: one line a sku"
            )
        seen[sku] = index


def lines_are_items(skus: Sequence[str], known: set[str]) -> None:
    """InvalidInput naming `lines[i].sku` for the first of `skus` not in `known`."""
    for index, sku in enumerate(skus):
        if sku not in known:
            raise InvalidInput(f"lines[{index}].sku", f"item {sku!r} does not exist")
