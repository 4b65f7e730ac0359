"""Fuzzing the query parameters of the feeds: the export's `channel` and `format`, the
snapshot's `format`, the event feed's `types`, `channel`, `after` and `limit`. No query can
cause a 5xx: each answer is a 200 or a problem+json 4xx naming a parameter of the query."""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from orders_helpers import set_up_france

from conftest import PROBLEM_JSON, Shop

FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
texts = st.text(alphabet=string.printable + "éß\u2603", max_size=80)
values = (
    st.sampled_from(["web", "mp", "csv", "ndjson", "order.*", "stock.changed", "*", "", "0"])
    | texts
    | st.integers(min_value=-(2**65), max_value=2**65).map(str)
)
queries = st.lists(
    st.tuples(st.sampled_from(["channel", "format", "types", "after", "limit", "x"]), values),
    max_size=5,
)
PATHS = ("/v1/availability/export", "/v1/stock/snapshot", "/v1/events")


@pytest.fixture
def france(shop: Shop) -> Shop:
    set_up_france(shop)
    shop.moved("receipt", 3, sku="TEE-M", location="WH-PARIS")
    return shop


def test_no_query_of_a_feed_causes_a_server_error(client: TestClient, france: Shop) -> None:
    @FUZZ
    @given(path=st.sampled_from(PATHS), query=queries)
    def check(path: str, query: list[tuple[str, str]]) -> None:
        answer = client.get(f"{path}?{urlencode(query)}")
        assert answer.status_code < 500, (path, query, answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"].startswith(PROBLEM_JSON), answer.text
            body: dict[str, Any] = answer.json()
            named = {name for name, _ in query}
            assert body.get("field") in named | {"channel"}, (path, query, body)

    check()
