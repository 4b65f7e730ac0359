"""GET /v1/locations (paged, by type and by `q`) and GET /v1/stock?location= (every position
of a location, paged by sku; with `channel`, what the channel may sell from each, the same
figure GET /v1/availability/{sku}?channel=&location= gives, expired holds included); the
refusals: a bad type or limit, an unknown location or channel (422 naming it, as every key
in a query string that names nothing), a location outside the
channel's pool, a store key's other locations.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from orders_helpers import receive

from omnistock.domain.access import Role


def codes(client, **params) -> list[str]:
    response = client.get("/v1/locations", params=params)
    assert response.status_code == 200, response.text
    return [loc["code"] for loc in response.json()["locations"]]


@pytest.mark.usefixtures("france")
def test_locations_are_found_by_type_and_by_code_prefix_or_name_words(client) -> None:
    assert codes(client) == ["ST-CLOSED", "ST-LYON", "ST-NICE", "WH-LYON", "WH-PARIS"]
    assert codes(client, type="warehouse") == ["WH-LYON", "WH-PARIS"]
    assert codes(client, q="lyon") == ["ST-LYON", "WH-LYON"]  # the names' words
    assert codes(client, q="WH-") == ["WH-LYON", "WH-PARIS"]
    assert codes(client, q="lyon", type="store") == ["ST-LYON"]
    assert codes(client, q="BELLECOUR STORE") == ["ST-LYON"]
    assert codes(client, q="ST", limit=2) == ["ST-CLOSED", "ST-LYON"]
    page = client.get("/v1/locations", params={"q": "ST", "limit": 2, "after": "ST-LYON"})
    assert [x["code"] for x in page.json()["locations"]] == ["ST-NICE"]
    assert page.json()["next"] is None


@pytest.mark.usefixtures("france")
def test_stock_of_a_location_lists_its_positions_in_sku_order_page_by_page(client, shop) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 5, "WH-LYON": 1})
    receive(shop, "CAP", {"WH-PARIS": 3})
    receive(shop, "MUG", {"WH-PARIS": 2})
    shop.moved("damage", 1, sku="MUG", location="WH-PARIS")

    first = client.get("/v1/stock", params={"location": "WH-PARIS", "limit": 2}).json()
    second = client.get(
        "/v1/stock", params={"location": "WH-PARIS", "limit": 2, "after": first["next"]}
    ).json()

    figures = {"reserved": 0, "inbound": 0}
    assert first == {
        "location": "WH-PARIS",
        "channel": None,
        "positions": [
            {"sku": "CAP", "on_hand": 3, "unsellable": 0, "available": 3, **figures},
            {"sku": "MUG", "on_hand": 2, "unsellable": 1, "available": 1, **figures},
        ],
        "next": "MUG",
    }
    assert second["positions"] == [
        {"sku": "TEE-M", "on_hand": 5, "unsellable": 0, "available": 5, **figures}
    ]
    assert second["next"] is None
    empty = client.get("/v1/stock", params={"location": "ST-NICE"}).json()
    assert (empty["positions"], empty["next"]) == ([], None)


@pytest.mark.usefixtures("france")
def test_sellable_is_what_availability_says_under_buffers_and_expired_holds(client, shop) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 10})
    receive(shop, "CAP", {"ST-LYON": 4})
    receive(shop, "MUG", {"ST-LYON": 1})
    for rule in (
        {"channel": "web", "location_type": "store", "units": 2},
        {"channel": "web", "sku": "CAP", "percent": 50},
    ):
        assert client.post("/v1/buffer-rules", json=rule).status_code == 201
    hold = {"channel": "web", "lines": [{"sku": "TEE-M", "quantity": 3}], "ttl_seconds": 1}
    held = client.post("/v1/reservations", json=hold).json()
    time.sleep(max(0.0, (dt.datetime.fromisoformat(held["expires_at"]) - now()).total_seconds()))
    time.sleep(0.1)  # the hold has expired; no sweep runs in these tests

    page = client.get("/v1/stock", params={"location": "ST-LYON", "channel": "web"}).json()

    sellable = {p["sku"]: (p["available"], p["sellable"]) for p in page["positions"]}
    expected = {}
    for sku in ("CAP", "MUG", "TEE-M"):
        params = {"channel": "web", "location": "ST-LYON"}
        entry = client.get(f"/v1/availability/{sku}", params=params).json()["locations"][0]
        expected[sku] = entry["sellable"]
    assert {sku: s for sku, (_, s) in sellable.items()} == expected
    assert sellable == {"CAP": (4, 2), "MUG": (1, 0), "TEE-M": (7, 8)}  # 3 held, expired
    assert page["channel"] == "web"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.usefixtures("france")
def test_a_wrong_location_channel_or_parameter_is_refused_naming_it(client, problem) -> None:
    stock = "/v1/stock"
    # A key in a query that names nothing is a 422 (README, "A walk through the API")
    unknown = problem(client.get(stock, params={"location": "NOWHERE"}), 422, field="location")
    assert (unknown["resource"], unknown["key"]) == ("location", "NOWHERE")
    problem(client.get(stock, params={"location": "WH-1!"}), 422, field="location")
    problem(client.get(stock), 422, field="location")
    missing_channel = {"location": "WH-PARIS", "channel": "tv"}
    problem(client.get(stock, params=missing_channel), 422, field="channel")
    outside = {"location": "WH-PARIS", "channel": "stores"}  # stores sell from stores only
    assert "pool" in problem(client.get(stock, params=outside), 422, field="channel")["detail"]
    for url, params, field in (
        (stock, {"location": "WH-PARIS", "limit": 0}, "limit"),
        (stock, {"location": "WH-PARIS", "limit": 1001}, "limit"),
        (stock, {"location": "WH-PARIS", "after": " "}, "after"),
        ("/v1/locations", {"type": "shop"}, "type"),
        ("/v1/locations", {"limit": 1001}, "limit"),
        ("/v1/locations", {"q": ""}, "q"),
    ):
        problem(client.get(url, params=params), 422, field=field)


@pytest.mark.usefixtures("france")
def test_a_store_key_lists_the_stock_of_its_own_locations_only(client, anonymous, problem) -> None:
    made = client.post(
        "/v1/keys", json={"name": "till", "role": str(Role.STORE), "locations": ["ST-LYON"]}
    ).json()
    till = {"Authorization": f"Bearer {made['secret']}"}

    own = anonymous.get("/v1/stock", params={"location": "ST-LYON"}, headers=till)
    other = anonymous.get("/v1/stock", params={"location": "WH-PARIS"}, headers=till)
    unknown = anonymous.get("/v1/stock", params={"location": "NOWHERE"}, headers=till)

    assert own.status_code == 200, own.text
    problem(other, 403, field="location")
    problem(unknown, 403, field="location")  # beyond its reach, known or not
