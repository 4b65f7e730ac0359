"""Pure helpers of the problem details mapping (omnistock.api.problems)."""

from __future__ import annotations

import pytest

from omnistock.api.problems import field_name, status_of
from omnistock.domain.errors import (
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    OmnistockError,
    StockConflict,
    Unauthorized,
)
from omnistock.domain.stock import Position


@pytest.mark.parametrize(
    ("loc", "name"),
    [
        (("body", "lines", 0, "sku"), "lines[0].sku"),
        (("body", "customer", "email"), "customer.email"),
        (("body", "lines", 2), "lines[2]"),
        (("query", "limit"), "limit"),
        (("path", "sku"), "sku"),
        (("header", "Idempotency-Key"), "Idempotency-Key"),
        (("body",), "body"),
        (("lines", 0, "quantity"), "lines[0].quantity"),
        ((), "body"),
    ],
)
def test_a_validation_location_becomes_the_name_of_the_offending_field(
    loc: tuple[int | str, ...], name: str
) -> None:
    assert field_name(loc) == name


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (Unauthorized("no key"), 401),
        (Forbidden("scope stock:write needed"), 403),
        (NotFound("item", "TEE-M", field="sku"), 404),
        (InvalidInput("quantity", "must not be zero"), 422),
        (IdempotencyKeyReused("k1"), 422),
        (Conflict("not now"), 409),
        (
            StockConflict(
                location="STORE-1",
                sku="TEE-M",
                movement_type="sale",
                quantity=3,
                reason="only 2 sellable unit(s) on hand",
                position=Position(on_hand=2),
            ),
            409,
        ),
        (OmnistockError("something else"), 400),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_domain_error_maps_to_its_http_status(error: OmnistockError, status: int) -> None:
    assert status_of(error) == status


def test_a_not_found_error_names_the_resource_the_key_and_the_field() -> None:
    error = NotFound("location", "NOWHERE", field="location")

    assert error.detail == "location 'NOWHERE' does not exist"
    assert error.extensions() == {"resource": "location", "key": "NOWHERE", "field": "location"}
    assert "field" not in NotFound("item", "X").extensions()
