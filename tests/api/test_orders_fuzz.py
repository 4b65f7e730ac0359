"""Fuzzing POST /v1/orders and its dry run, POST /v1/sourcing/preview: no body causes a 5xx,
a refused order and any preview change nothing, and the books balance after every accepted
order.

Half the bodies are well-formed orders, which reach sourcing and the stock guards and still
break business rules now and then; the other half are what test_fuzz.py sends, with its
settings: orders with one or two values swapped for wrong ones (or keys dropped) at every
level (customer, address, delivery, lines), arbitrary JSON, random bytes and truncated JSON.
A 200 is an order this channel already sent (by `external_id`): it must change nothing
either (invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from orders_helpers import assert_books_balance, receive, set_up_france
from test_fuzz import (
    FUZZ,
    JSON,
    assert_safe_answer,
    bodies,
    decimal_strings,
    encoded,
    json_values,
    objects_near,
    prices,
    tricky_text,
    wrong_keys,
    wrong_quantities,
)

ORDER_STATUSES = {
    "backordered",
    "partially_allocated",
    "allocated",
    "in_progress",
    "completed",
    "cancelled",
}


def near(
    valid: dict[str, st.SearchStrategy[Any]], wrong: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Mostly a valid object, else one made wrong as `objects_near` does: nested objects
    that were each wrong half the time would leave almost no order valid as a whole."""
    valid_only = st.fixed_dictionaries(valid)
    return st.one_of(valid_only, valid_only, objects_near(valid, wrong))


def well_formed(
    valid: dict[str, st.SearchStrategy[Any]], wrong: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    """Only the valid values: an order every field of which passes validation."""
    return st.fixed_dictionaries(valid)


Shape = Callable[
    [dict[str, st.SearchStrategy[Any]], dict[str, st.SearchStrategy[Any]]],
    st.SearchStrategy[dict[str, Any]],
]
names = st.sampled_from(["Camille Martin", "Zoë Ørsted", "李雷"]) | st.text(
    min_size=1, max_size=100
).filter(lambda text: bool(text.strip()) and "\x00" not in text)
bad_names = tricky_text | st.text(min_size=201, max_size=210)
coordinates = st.floats(allow_nan=True, allow_infinity=True) | decimal_strings | st.integers()


def orders(shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
    """Order objects: each object (and the order) shaped by `shape` from its valid values and
    its wrong ones. Well-formed orders still break business rules now and then (a pickup at a
    store without pickup, more units than there are, a hold that does not exist)."""
    customers = shape(
        {
            "name": names,
            "email": st.sampled_from(["camille.martin@example.fr", "a@b", "x@localhost"]),
        },
        {"name": bad_names, "email": st.text(max_size=20) | tricky_text},
    )
    addresses = shape(
        {
            "line1": names,
            "city": names,
            "postcode": st.sampled_from(["69100", "75001", "SW1A 1AA"]),
            "country": st.sampled_from(["FR", "BE", "GB"]),
            "lat": st.floats(-90, 90),
            "lon": st.floats(-180, 180),
        },
        {
            "line1": bad_names,
            "city": bad_names,
            "country": st.text(max_size=3),
            "postcode": st.text(max_size=25) | tricky_text,
            "lat": coordinates,
            "lon": coordinates,
        },
    )
    shipments = shape(
        {"method": st.just("ship"), "address": addresses},
        {"method": st.sampled_from(["pickup", "in_store", "SHIP", ""])},
    )
    at_stores = shape(
        {
            "method": st.sampled_from(["pickup", "in_store"]),
            # ST-LYON offers pickup; ST-NICE sells over the counter only; the rest are wrong.
            "location": st.sampled_from(["ST-LYON", "ST-LYON", "ST-NICE", "WH-LYON", "ST-CLOSED"]),
        },
        {"method": st.text(max_size=10), "location": wrong_keys},
    )
    lines = shape(
        {
            "sku": st.sampled_from(["TEE-M", "MUG", "CAP"]),
            "quantity": st.integers(1, 5) | st.sampled_from([40, 600]),
            "unit_price": prices,
        },
        {
            "sku": wrong_keys,
            "quantity": wrong_quantities | st.floats() | decimal_strings,
            "unit_price": decimal_strings
            | st.floats(allow_nan=True)
            | st.sampled_from(["-0", "1E+2", "0.001", "1e20", "9999999999.99", "-1"]),
        },
    )
    return shape(
        {
            "channel": st.sampled_from(["web", "mp", "stores"]),
            "external_id": st.none() | st.sampled_from(["WEB-1", "WEB-2", "WEB-3"]),
            "customer": customers,
            "delivery": shipments | at_stores,
            "lines": st.lists(lines, min_size=1, max_size=4),
            "currency": st.sampled_from(["EUR", "GBP"]),
            "allow_partial": st.booleans(),
        },
        {
            "channel": wrong_keys,
            "external_id": bad_names | json_values,
            "lines": st.lists(json_values, max_size=3)
            | st.just([{"sku": "TEE-M", "quantity": 1, "unit_price": "1.00"}] * 101),
            "currency": st.text(max_size=4),
            "allow_partial": json_values,
        },
    ).flatmap(
        lambda body: st.one_of(
            st.just(body),
            st.just(body),
            st.text(max_size=40).map(lambda rid: {**body, "reservation_id": rid}),
        )
    )


#: Half well-formed orders, half anything test_fuzz.py sends (near-valid, JSON, bytes, cut).
order_bodies = st.one_of(orders(well_formed).map(encoded), bodies(orders(near)))


def stock_up(shop: Any) -> None:
    set_up_france(shop)
    for sku in ("TEE-M", "MUG"):
        receive(shop, sku, {"WH-LYON": 500, "WH-PARIS": 500, "ST-LYON": 50, "ST-NICE": 50})


@pytest.mark.slow  # FUZZ's 150 examples, each with three snapshots of every table
def test_no_order_body_gets_a_5xx_a_refused_one_changes_nothing_nor_does_its_preview(
    client, shop, db, tables
) -> None:
    stock_up(shop)

    @FUZZ
    @given(body=order_bodies)
    def post(body: bytes) -> None:
        before = tables()
        preview = client.post("/v1/sourcing/preview", content=body, headers=JSON)
        between = tables()
        assert_safe_answer(preview, before, between, db)
        assert between == before, preview.text
        response = client.post("/v1/orders", content=body, headers=JSON)
        after = tables()
        assert_safe_answer(response, before, after, db)
        assert response.status_code in (200, 201) or response.status_code >= 400
        if response.status_code == 200:
            assert after == before, response.text
        if response.status_code < 300:
            assert response.json()["status"] in ORDER_STATUSES
            assert_books_balance(db)

    post()
