"""Available-to-sell per channel over HTTP, with its per-location breakdown (issue 3).

The issue's own scenario: the web shop sells from the warehouses and the ship-enabled stores
but keeps 2 units back in every store for walk-in customers; a marketplace sells only
warehouse stock and never more than 80% of it; a fragile vase keeps 5 units back everywhere.
"""

from __future__ import annotations

import pytest

from omnistock.domain.catalog import Item
from omnistock.services import catalog


def line(location: str, available: int, buffer: int, sellable: int) -> dict:
    return {"location": location, "available": available, "buffer": buffer, "sellable": sellable}


def ats_of(client, sku: str, channel: str, **params) -> dict:
    response = client.get(f"/v1/availability/{sku}", params={"channel": channel, **params})
    assert response.status_code == 200, response.text
    body: dict = response.json()
    assert body["available_to_sell"] == sum(entry["sellable"] for entry in body["locations"])
    return body


def rule(client, **body) -> dict:
    response = client.post("/v1/buffer-rules", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def scenario(shop) -> dict[str, dict]:
    """Locations, stock, the channels web, mp and store, and the issue's three rules."""
    shop.location("WH-LYON")
    shop.location("WH-LILLE")
    shop.location("WH-OLD", active=False)
    for code in ("ST-NICE", "ST-PARIS"):
        shop.location(code, type="store", pickup_enabled=True)
    shop.location("ST-TOUL", type="store", ship_enabled=False, pickup_enabled=True)
    shop.item("TEE-M")
    shop.item("VASE", name="Glass vase")
    shop.item("CAP-1", name="Cap")  # never stocked anywhere
    stock = {
        "TEE-M": {"WH-LYON": 10, "WH-LILLE": 9, "ST-PARIS": 3, "ST-NICE": 1, "ST-TOUL": 5},
        "VASE": {"WH-LYON": 12, "ST-PARIS": 6, "WH-OLD": 40},
    }
    for sku, where in stock.items():
        for code, units in where.items():
            shop.moved("receipt", units, sku=sku, location=code)
    shop.moved("damage", 2, sku="TEE-M", location="WH-LILLE")  # 7 available there
    for code, body in {
        "web": {"name": "Web shop"},  # every active ship-enabled location
        "mp": {"name": "Marketplace", "location_types": ["warehouse"]},
        "store": {"name": "Stores", "location_types": ["store"]},
    }.items():
        response = shop.client.put(f"/v1/channels/{code}", json=body)
        assert response.status_code == 201, response.text
    return {
        "stores keep 2 from web": rule(shop.client, channel="web", location_type="store", units=2),
        "mp keeps 20%": rule(shop.client, channel="mp", percent=20),
        "the vase keeps 5": rule(shop.client, sku="VASE", units=5),
    }


# --------------------------------------------------------------------------- the breakdown


def test_the_web_shop_keeps_two_units_back_in_every_store_it_ships_from(client, scenario) -> None:
    assert ats_of(client, "TEE-M", "web") == {
        "sku": "TEE-M",
        "channel": "web",
        "available_to_sell": 18,
        "locations": [
            line("ST-NICE", 1, 2, 0),
            line("ST-PARIS", 3, 2, 1),
            line("WH-LILLE", 7, 0, 7),
            line("WH-LYON", 10, 0, 10),
        ],
    }


def test_the_marketplace_sells_warehouse_stock_only_and_keeps_20_percent_rounded_up(
    client, scenario
) -> None:
    assert ats_of(client, "TEE-M", "mp") == {
        "sku": "TEE-M",
        "channel": "mp",
        "available_to_sell": 13,
        "locations": [line("WH-LILLE", 7, 2, 5), line("WH-LYON", 10, 2, 8)],
    }


def test_the_fragile_vase_keeps_five_back_everywhere_whatever_the_channel(client, scenario) -> None:
    assert ats_of(client, "VASE", "web") == {
        "sku": "VASE",
        "channel": "web",
        "available_to_sell": 8,
        "locations": [
            line("ST-NICE", 0, 5, 0),
            line("ST-PARIS", 6, 5, 1),
            line("WH-LILLE", 0, 5, 0),
            line("WH-LYON", 12, 5, 7),
        ],
    }
    assert ats_of(client, "VASE", "mp")["locations"] == [
        line("WH-LILLE", 0, 5, 0),
        line("WH-LYON", 12, 5, 7),  # the sku rule (8) beats the marketplace's 20% (1)
    ]
    assert ats_of(client, "VASE", "store")["available_to_sell"] == 1


def test_the_store_channel_sells_from_every_store_and_the_web_buffer_does_not_apply(
    client, scenario
) -> None:
    assert ats_of(client, "TEE-M", "store") == {
        "sku": "TEE-M",
        "channel": "store",
        "available_to_sell": 9,
        "locations": [
            line("ST-NICE", 1, 0, 1),
            line("ST-PARIS", 3, 0, 3),
            line("ST-TOUL", 5, 0, 5),
        ],
    }


def test_an_item_never_stocked_shows_every_pool_location_with_nothing_to_sell(
    client, scenario
) -> None:
    assert ats_of(client, "CAP-1", "mp") == {
        "sku": "CAP-1",
        "channel": "mp",
        "available_to_sell": 0,
        "locations": [line("WH-LILLE", 0, 0, 0), line("WH-LYON", 0, 0, 0)],
    }


def test_a_channel_whose_pool_is_empty_has_nothing_to_sell(client, scenario) -> None:
    client.put("/v1/channels/outlet", json={"name": "Outlet", "locations": ["WH-OLD"]})

    assert ats_of(client, "VASE", "outlet") == {
        "sku": "VASE",
        "channel": "outlet",
        "available_to_sell": 0,
        "locations": [],
    }


def test_a_location_narrows_the_breakdown_and_the_ats_to_that_location(client, scenario) -> None:
    assert ats_of(client, "TEE-M", "web", location="ST-PARIS") == {
        "sku": "TEE-M",
        "channel": "web",
        "available_to_sell": 1,
        "locations": [line("ST-PARIS", 3, 2, 1)],
    }
    assert ats_of(client, "VASE", "mp", location="WH-LILLE")["locations"] == [
        line("WH-LILLE", 0, 5, 0)
    ]


# --------------------------------------------------------------------------- it follows changes


def test_a_pos_sale_lowers_ats_at_once(client, shop, scenario) -> None:
    shop.moved("sale", 1, sku="TEE-M", location="ST-PARIS")
    shop.moved("sale", 4, sku="TEE-M", location="WH-LYON")

    web = ats_of(client, "TEE-M", "web")
    assert web["locations"][1:] == [
        line("ST-PARIS", 2, 2, 0),
        line("WH-LILLE", 7, 0, 7),
        line("WH-LYON", 6, 0, 6),
    ]
    assert web["available_to_sell"] == 13
    assert ats_of(client, "TEE-M", "mp")["locations"][1] == line("WH-LYON", 6, 2, 4)


def test_deleting_a_rule_gives_its_units_back_to_the_channel(client, scenario) -> None:
    client.delete(f"/v1/buffer-rules/{scenario['stores keep 2 from web']['id']}")

    assert ats_of(client, "TEE-M", "web")["locations"][:2] == [
        line("ST-NICE", 1, 0, 1),
        line("ST-PARIS", 3, 0, 3),
    ]
    assert ats_of(client, "TEE-M", "web")["available_to_sell"] == 21


def test_a_newer_rule_as_specific_wins_and_deleting_it_brings_the_older_back(
    client, scenario
) -> None:
    newer = rule(client, channel="web", location_type="store", units=1)

    assert ats_of(client, "TEE-M", "web", location="ST-PARIS")["locations"] == [
        line("ST-PARIS", 3, 1, 2)
    ]

    client.delete(f"/v1/buffer-rules/{newer['id']}")
    assert ats_of(client, "TEE-M", "web", location="ST-PARIS")["locations"] == [
        line("ST-PARIS", 3, 2, 1)
    ]


def test_a_more_specific_rule_wins_even_when_it_keeps_less(client, scenario) -> None:
    rule(client, location="ST-PARIS", units=0)  # location (4) beats type + channel (3)
    rule(client, location="WH-LYON", percent=2.5)  # beats mp's 20% (1): 0.25 rounds up to 1

    assert ats_of(client, "TEE-M", "web", location="ST-PARIS")["locations"] == [
        line("ST-PARIS", 3, 0, 3)
    ]
    assert ats_of(client, "TEE-M", "mp")["locations"] == [
        line("WH-LILLE", 7, 2, 5),
        line("WH-LYON", 10, 1, 9),
    ]
    rule(client, location="WH-LILLE", channel="mp", percent=12.5)  # 0.875 rounds up to 1
    assert ats_of(client, "TEE-M", "mp", location="WH-LILLE")["locations"] == [
        line("WH-LILLE", 7, 1, 6)
    ]


def test_a_percent_with_two_decimals_is_applied_exactly_with_no_float_error(
    client, shop, scenario
) -> None:
    shop.moved("receipt", 9_990, sku="TEE-M", location="WH-LYON")  # 10,000 available
    rule(client, location="WH-LYON", sku="TEE-M", percent=0.29)  # 0.29 * 100 is not 29 in floats
    rule(client, location="WH-LILLE", sku="TEE-M", percent=57.3)

    assert ats_of(client, "TEE-M", "mp")["locations"] == [
        line("WH-LILLE", 7, 5, 2),  # 4.011 rounds up to 5
        line("WH-LYON", 10_000, 29, 9_971),
    ]


def test_a_location_that_closes_or_stops_shipping_leaves_the_pool(client, shop, scenario) -> None:
    shop.location("WH-LILLE", active=False)
    shop.location("ST-PARIS", type="store", ship_enabled=False)

    web = ats_of(client, "TEE-M", "web")
    assert [entry["location"] for entry in web["locations"]] == ["ST-NICE", "WH-LYON"]
    assert web["available_to_sell"] == 10


def test_reading_availability_changes_nothing(client, scenario, unchanged) -> None:
    with unchanged():
        ats_of(client, "TEE-M", "web")
        client.get("/v1/availability", params={"channel": "web", "sku": ["TEE-M", "VASE"]})


# --------------------------------------------------------------------------- one sku: errors

ONE_SKU_ERRORS = {
    "an unknown sku": ("/v1/availability/NOPE", {"channel": "web"}, 404, "sku"),
    "an unknown channel": ("/v1/availability/TEE-M", {"channel": "nope"}, 422, "channel"),
    "no channel": ("/v1/availability/TEE-M", {}, 422, "channel"),
    "an empty channel": ("/v1/availability/TEE-M", {"channel": ""}, 422, "channel"),
    "an unknown location": (
        "/v1/availability/TEE-M",
        {"channel": "web", "location": "NOPE"},
        422,
        "location",
    ),
    "a location outside the pool": (
        "/v1/availability/TEE-M",
        {"channel": "mp", "location": "ST-PARIS"},
        422,
        "location",
    ),
    "an inactive location": (
        "/v1/availability/VASE",
        {"channel": "mp", "location": "WH-OLD"},
        422,
        "location",
    ),
    "a location code that cannot exist": (
        "/v1/availability/TEE-M",
        {"channel": "web", "location": "a b"},
        422,
        "location",
    ),
    "a sku that cannot exist": ("/v1/availability/-TEE", {"channel": "web"}, 422, "sku"),
}


def test_a_bad_availability_question_is_a_problem_naming_the_field(
    client, scenario, problem, subtests
) -> None:
    for case, (path, params, status, field) in ONE_SKU_ERRORS.items():
        with subtests.test(case):
            body = problem(client.get(path, params=params), status, field=field)
            if case.startswith("an unknown"):  # 404 for the path's sku, 422 for a query's key
                assert "NOPE" in body["detail"] or "nope" in body["detail"]


# --------------------------------------------------------------------------- many skus


def batch(client, channel: str, skus: list[str]):
    return client.get("/v1/availability", params={"channel": channel, "sku": skus})


def test_many_skus_answer_in_the_order_asked_with_the_same_ats_as_one_by_one(
    client, scenario
) -> None:
    response = batch(client, "web", ["VASE", "CAP-1", "TEE-M"])

    assert response.status_code == 200, response.text
    assert response.json() == {
        "channel": "web",
        "items": [
            {"sku": "VASE", "available_to_sell": 8},
            {"sku": "CAP-1", "available_to_sell": 0},
            {"sku": "TEE-M", "available_to_sell": 18},
        ],
    }
    for entry in batch(client, "mp", ["TEE-M", "VASE"]).json()["items"]:
        assert entry["available_to_sell"] == ats_of(client, entry["sku"], "mp")["available_to_sell"]


def test_a_sku_asked_twice_is_answered_once_where_it_was_first_asked(client, scenario) -> None:
    response = batch(client, "mp", ["VASE", "TEE-M", "VASE", "TEE-M", "CAP-1"])

    assert response.status_code == 200, response.text
    assert response.json()["items"] == [
        {"sku": "VASE", "available_to_sell": 7},
        {"sku": "TEE-M", "available_to_sell": 13},
        {"sku": "CAP-1", "available_to_sell": 0},
    ]


def test_a_thousand_skus_may_be_asked_in_one_call(client, db, scenario) -> None:
    skus = [f"BULK-{n:04}" for n in range(999)]
    db.run(lambda uow: [catalog.put_item(uow, Item(sku=sku, name=sku)) for sku in skus])

    response = batch(client, "web", [*skus, "TEE-M"])

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [entry["sku"] for entry in items] == [*skus, "TEE-M"]
    assert items[-1] == {"sku": "TEE-M", "available_to_sell": 18}
    assert {entry["available_to_sell"] for entry in items[:-1]} == {0}


BATCH_ERRORS = {
    "no sku": ({"channel": "web"}, 422, "sku"),
    "more than a thousand skus": (
        {"channel": "web", "sku": [f"SKU-{n}" for n in range(1001)]},
        422,
        "sku",
    ),
    "an unknown sku among known ones": ({"channel": "web", "sku": ["TEE-M", "NOPE"]}, 422, "sku"),
    "a sku that cannot exist": ({"channel": "web", "sku": ["TEE-M", "a b"]}, 422, "sku[1]"),
    "no channel": ({"sku": ["TEE-M"]}, 422, "channel"),
    "an unknown channel": ({"channel": "nope", "sku": ["TEE-M"]}, 422, "channel"),
}


def test_a_bad_batch_question_is_a_problem_naming_the_field(
    client, scenario, problem, subtests
) -> None:
    for case, (params, status, field) in BATCH_ERRORS.items():
        with subtests.test(case):
            body = problem(client.get("/v1/availability", params=params), status, field=field)
            if case.startswith("an unknown"):
                assert "NOPE" in body["detail"] or "nope" in body["detail"]


def test_availability_routes_refuse_a_request_without_a_key(anonymous, scenario, problem) -> None:
    problem(anonymous.get("/v1/availability/TEE-M", params={"channel": "web"}), 401)
    problem(anonymous.get("/v1/availability", params={"channel": "web", "sku": "TEE-M"}), 401)
