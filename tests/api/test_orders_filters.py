"""GET /v1/orders narrowed by `external_id`, `customer_email` (in any case) and
`created_after` (an ISO 8601 time with its zone, strictly after), with each other and with
the filters already there; a key still sees only the orders within its reach; a bad filter
is a 422 naming it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from orders_helpers import placed, receive

pytestmark = pytest.mark.usefixtures("books_balance")


def ids(client, headers=None, **params) -> list[int]:
    response = client.get("/v1/orders", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [order["id"] for order in response.json()["orders"]]


@pytest.fixture
def three(client, shop, france) -> list[dict]:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    bodies = [
        {"channel": "web", "external_id": "EXT-1", "email": "Camille@Example.com"},
        {"channel": "mp", "external_id": "EXT-1", "email": "zoe@example.com"},
        {"channel": "web", "external_id": None, "email": "camille@example.COM"},
    ]
    return [
        placed(
            client,
            ("TEE-M", 1),
            channel=b["channel"],
            external_id=b["external_id"],
            customer={"name": "A customer", "email": b["email"]},
        )
        for b in bodies
    ]


def test_orders_are_filtered_by_external_id_email_and_creation_time(client, three) -> None:
    first, second, third = (order["id"] for order in three)
    since = dt.datetime.fromisoformat(three[1]["created_at"])
    in_paris = since.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()

    assert ids(client, external_id="EXT-1") == [first, second]
    assert ids(client, external_id="EXT-1", channel="web") == [first]
    assert ids(client, external_id="ext-1") == []  # a channel's id is exact
    assert ids(client, customer_email="CAMILLE@example.com") == [first, third]
    assert ids(client, customer_email="camille@example") == []
    assert ids(client, created_after=three[1]["created_at"]) == [third]
    assert ids(client, created_after=in_paris) == [third]
    assert ids(client, customer_email="zoe@example.com", created_after=in_paris) == []
    assert ids(client, customer_email="camille@example.com", limit=1, after=first) == [third]


def test_a_key_filters_only_the_orders_within_its_reach(client, anonymous, three) -> None:
    made = client.post("/v1/keys", json={"name": "mp", "role": "integration", "channel": "mp"})
    headers = {"Authorization": f"Bearer {made.json()['secret']}"}

    assert ids(anonymous, headers, external_id="EXT-1") == [three[1]["id"]]
    assert ids(anonymous, headers, customer_email="camille@example.com") == []


def test_a_bad_filter_is_a_422_naming_it(client, france, problem) -> None:
    for params, field in (
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_after": "2026-13-01T00:00:00Z"}, "created_after"),
        ({"created_after": "0001-01-01T00:00:00+05:00"}, "created_after"),
        ({"created_after": "2026-12-01T00:00:00"}, "created_after"),  # no zone: which time?
        ({"created_after": "0.5"}, "created_after"),  # not a number of seconds either
        ({"customer_email": ""}, "customer_email"),
        ({"customer_email": "a\x00@b"}, "customer_email"),
        ({"external_id": "x" * 101}, "external_id"),
    ):
        problem(client.get("/v1/orders", params=params), 422, field=field)
