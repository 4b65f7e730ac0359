"""Rows of item and location files, checked by the very models of `PUT /v1/items/{sku}` and
`PUT /v1/locations/{code}` (the key added), so a file accepts exactly what the PUTs accept.

A CSV sends text only: its whole numbers are turned into numbers first for the fields a PUT
takes strictly as integers; an empty cell is a field left out (its default).
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationError

from omnistock.api.problems import field_name
from omnistock.api.schemas.catalog import ItemIn, LocationIn
from omnistock.api.schemas.common import PATTERN_SENTENCES, Key
from omnistock.domain.catalog import Item, Location
from omnistock.domain.imports import FileFormat, ImportKind, Record, RowError, Validator

_STRICT_INTEGERS = frozenset({"daily_capacity"})
#: A CSV cell is text: these fields, JSON numbers only, are read as numbers first.
_STRICT_FLOATS = frozenset({"lat", "lon"})


class ItemRow(ItemIn):
    sku: Key


class LocationRow(LocationIn):
    code: Key


def validator(kind: ImportKind, file_format: FileFormat) -> Validator:
    """How a row of `kind` is checked: the Item or Location it describes, or its errors."""
    if kind is ImportKind.ITEMS:
        return lambda record: _checked(record, ItemRow, file_format, _item)
    return lambda record: _checked(record, LocationRow, file_format, _location)


def _item(row: BaseModel) -> Item:
    assert isinstance(row, ItemRow)
    return Item(sku=row.sku, name=row.name, barcode=row.barcode, price=row.price)


def _location(row: BaseModel) -> Location:
    assert isinstance(row, LocationRow)
    return Location(**row.model_dump())


def _checked(
    record: Record, model: type[BaseModel], file_format: FileFormat, build: Any
) -> object | list[RowError]:
    fields = record.fields
    if file_format is FileFormat.CSV:
        fields = {k: _cell(k, v) for k, v in fields.items()}
    try:
        return build(model.model_validate(fields))
    except ValidationError as error:
        return [
            RowError(record.line, field_name(tuple(e["loc"])) or "line", _reason(e))
            for e in error.errors()
        ]


def _cell(name: str, value: Any) -> Any:
    if name in _STRICT_INTEGERS:
        return _number(value)
    if name in _STRICT_FLOATS and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value  # refused by the model, naming the field
        return number if math.isfinite(number) else value
    return value


def _number(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value)
    return value


def _reason(error: Any) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "not a column of this file: check its spelling, or leave it out"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        return PATTERN_SENTENCES.get(pattern, "has a character or a form not allowed here")
    return str(error.get("msg", ""))
