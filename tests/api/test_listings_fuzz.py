"""Fuzzing the query strings of the listings (GET /v1/items, /v1/locations, /v1/stock,
/v1/orders with its new filters): whatever the parameters (random text, NULs, control and
astral characters, huge or negative numbers, odd times), the answer is never a 5xx, a
refusal is a problem naming a field, and an answer is a page of the listing's shape.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orders_helpers import receive

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
odd_text = st.text(max_size=30) | st.sampled_from(
    ["", " ", "\x00", "%", "_", "é" * 201, "😀", "\ud800", "TEE", "ST-LYON", "web", "K" * 65]
)
numbers = st.integers(-(2**70), 2**70).map(str) | st.sampled_from(["0", "1000", "1001", "1e3"])
#: Times, at the edges too: year 1 east of Greenwich and 9999 west of it are no UTC time.
edges = st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-30"])
times = (
    st.datetimes(timezones=st.timezones() | st.none()).map(lambda t: t.isoformat())
    | edges
    | odd_text
)

LISTINGS = {
    "/v1/items": {"q": odd_text, "barcode": odd_text, "after": odd_text, "limit": numbers},
    "/v1/locations": {"type": odd_text, "q": odd_text, "after": odd_text, "limit": numbers},
    "/v1/stock": {
        "location": odd_text | st.just("ST-LYON"),
        "channel": odd_text | st.just("web"),
        "after": odd_text,
        "limit": numbers,
    },
    "/v1/orders": {
        "external_id": odd_text,
        "customer_email": odd_text,
        "created_after": times,
        "limit": numbers,
    },
}
PAGES = {"/v1/items": "items", "/v1/locations": "locations", "/v1/stock": "positions"}


def queries(path: str) -> st.SearchStrategy[str]:
    fields = LISTINGS[path]
    chosen = st.fixed_dictionaries({}, optional=fields)
    return chosen.map(
        lambda params: "&".join(
            f"{name}={quote(value.encode('utf-8', 'surrogatepass'))}"
            for name, value in params.items()
        )
    )


@pytest.fixture
def stocked(shop, france) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3, "WH-LYON": 2})


@pytest.mark.usefixtures("stocked")
@FUZZ
@given(
    request=st.sampled_from(sorted(LISTINGS)).flatmap(
        lambda path: queries(path).map(lambda query: (path, query))
    )
)
def test_no_query_string_gets_a_5xx_and_a_refusal_names_a_field(client, request) -> None:
    path, query = request
    response = client.get(f"{path}?{query}")

    assert response.status_code < 500, (path, query, response.text)
    if response.status_code >= 400:
        assert response.status_code in (404, 422), (path, query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["field"], (path, query, response.text)
    else:
        body = response.json()
        assert set(body) >= {PAGES.get(path, "orders"), "next"}, body
