"""Fuzzing the write routes: no body can cause a 5xx, and a refused one changes nothing.

Bodies are valid requests with one or two values swapped for wrong ones (or keys dropped),
arbitrary JSON values, random bytes and truncated JSON. Every answer of 400 or more must be
problem+json, and a 4xx must leave every table as it was (invariant 5). Accepted requests must
keep every position equal to the sum of its movements (invariant 2).
"""

from __future__ import annotations

import json
import string
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnistock.services import stock

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
JSON = {"Content-Type": "application/json"}
MOVEMENT_TYPES = ["receipt", "sale", "adjustment", "count", "damage", "dispose"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
wrong_keys = st.sampled_from(["NOPE", "", "WH 1", "-x", "x" * 65]) | st.text(
    alphabet=string.printable, max_size=70
)
wrong_quantities = st.integers() | st.sampled_from([0, 10**9 + 1, 2**63, -(2**63), 2**64])
decimal_strings = st.decimals(allow_nan=True, allow_infinity=True).map(str)


@st.composite
def objects_near(
    draw: st.DrawFn,
    valid: dict[str, st.SearchStrategy[Any]],
    wrong: dict[str, st.SearchStrategy[Any]],
) -> dict[str, Any]:
    """A valid body; half the time one or two values made wrong; sometimes a key dropped."""
    names = sorted(valid)
    body = {name: draw(valid[name]) for name in names}
    how_many = draw(st.sampled_from([0, 0, 1, 2]))
    for name in draw(st.lists(st.sampled_from(names), min_size=how_many, max_size=how_many)):
        body[name] = draw(wrong.get(name, json_values) | json_values)
    dropped = draw(st.sampled_from([None, None, None, *names]))
    if dropped is not None:
        del body[dropped]
    return body


#: Text that has tripped databases and JSON libraries before.
tricky_text = st.sampled_from(["", " ", "\x00", "a\x00b", "\u2028", "\ufeff", "😀" * 64, "é" * 200])
notes = st.none() | st.text(max_size=210) | tricky_text
movement_objects = objects_near(
    valid={
        "location": st.just("WH-1"),
        "sku": st.just("SHIRT-M"),
        "type": st.sampled_from(MOVEMENT_TYPES),
        "quantity": st.integers(-20, 20),
        "reason": notes,
        "reference": notes,
    },
    wrong={
        "location": wrong_keys,
        "sku": wrong_keys,
        "type": st.text(max_size=12),
        "quantity": wrong_quantities | st.floats() | decimal_strings,
    },
)
prices = st.decimals(min_value=0, max_value=10**6, places=2).map(str)
item_objects = objects_near(
    valid={
        "name": st.text(min_size=1, max_size=210) | tricky_text,
        "barcode": st.none() | st.text(max_size=70) | tricky_text,
        "price": st.none() | prices,
    },
    wrong={
        "price": decimal_strings
        | st.floats(allow_nan=True)
        | st.sampled_from(["-0", "1E+2", "0.001", "1e20", "9999999999.99"]),
    },
)


def encoded(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def bodies(objects: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        objects.map(encoded),
        objects.map(encoded),
        json_values.map(encoded),
        st.binary(max_size=200),
        objects.map(encoded).map(lambda b: b[: len(b) // 2]),  # cut off mid-way
    )


def assert_safe_answer(response, before, after, db) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == response.status_code
        assert problem["type"] and problem["title"] and problem["detail"]
        for error in problem.get("errors", []):  # sentences, never a regex
            assert "pattern" not in error["message"], problem
        assert after == before, response.text
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


def test_no_movement_body_gets_a_5xx_and_a_refused_one_changes_nothing(
    client, shop, item, location, db, tables
) -> None:
    shop.moved("receipt", 10)

    @FUZZ
    @given(body=bodies(movement_objects))
    def post(body: bytes) -> None:
        before = tables()
        response = client.post("/v1/stock/movements", content=body, headers=JSON)
        assert_safe_answer(response, before, tables(), db)

    post()


def test_no_item_body_gets_a_5xx_and_a_refused_one_changes_nothing(client, db, tables) -> None:
    skus = st.sampled_from(["SHIRT-M", "SHIRT-L"]) | st.text(max_size=70)

    @FUZZ
    @given(sku=skus, body=bodies(item_objects))
    def put(sku: str, body: bytes) -> None:
        before = tables()
        response = client.put(f"/v1/items/{quote(sku, safe='')}", content=body, headers=JSON)
        assert_safe_answer(response, before, tables(), db)

    put()
