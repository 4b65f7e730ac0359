"""Channels and the pool of locations each one sells from, over HTTP (issue 3)."""

from __future__ import annotations

import pytest


def put_channel(client, code: str, **body):
    return client.put(f"/v1/channels/{code}", json={"name": f"Channel {code}", **body})


def channel(code: str, name: str, pool, location_types=(), locations=()) -> dict:
    return {
        "code": code,
        "name": name,
        "location_types": list(location_types),
        "locations": list(locations),
        "pool": list(pool),
    }


@pytest.fixture
def locations(shop) -> None:
    """Two shipping locations, a store that does not ship, an inactive warehouse."""
    shop.location("WH-1")
    shop.location("ST-PARIS", type="store", pickup_enabled=True)
    shop.location("ST-TOUL", type="store", ship_enabled=False, pickup_enabled=True)
    shop.location("WH-OLD", active=False)


def test_a_new_channel_without_lists_sells_from_every_active_ship_enabled_location(
    client, locations
) -> None:
    response = client.put("/v1/channels/web", json={"name": "Web shop"})

    assert response.status_code == 201, response.text
    assert response.json() == channel("web", "Web shop", ["ST-PARIS", "WH-1"])
    assert client.get("/v1/channels/web").json() == response.json()


def test_a_channel_sells_from_every_active_location_of_its_types_shipping_or_not(
    client, locations
) -> None:
    response = put_channel(client, "store", location_types=["store"])

    assert response.status_code == 201, response.text
    assert response.json()["pool"] == ["ST-PARIS", "ST-TOUL"]
    assert response.json()["location_types"] == ["store"]


def test_a_channel_sells_from_its_listed_locations_and_those_of_its_listed_types(
    client, shop, locations
) -> None:
    shop.location("WH-RETURNS", ship_enabled=False)

    response = put_channel(
        client, "mp", location_types=["warehouse"], locations=["ST-TOUL", "WH-OLD"]
    )

    assert response.status_code == 201, response.text
    assert response.json() == channel(
        "mp",
        "Channel mp",
        ["ST-TOUL", "WH-1", "WH-RETURNS"],  # WH-OLD is listed but inactive
        location_types=["warehouse"],
        locations=["ST-TOUL", "WH-OLD"],
    )


def test_a_channel_listing_only_an_inactive_location_sells_from_nowhere(client, locations) -> None:
    response = put_channel(client, "outlet", locations=["WH-OLD"])

    assert response.status_code == 201, response.text
    assert response.json()["pool"] == []


def test_putting_an_existing_channel_replaces_it_with_200(client, locations) -> None:
    put_channel(client, "mp", location_types=["warehouse"], locations=["ST-TOUL"])

    response = client.put("/v1/channels/mp", json={"name": "Marketplace", "locations": ["WH-1"]})

    assert response.status_code == 200, response.text
    expected = channel("mp", "Marketplace", ["WH-1"], locations=["WH-1"])
    assert response.json() == expected
    assert client.get("/v1/channels/mp").json() == expected


def test_the_pool_follows_locations_opened_closed_or_stopping_shipping(
    client, shop, locations
) -> None:
    put_channel(client, "web")
    put_channel(client, "store", location_types=["store"])

    shop.location("ST-NICE", type="store")
    shop.location("ST-PARIS", type="store", active=False)
    shop.location("WH-1", ship_enabled=False)

    assert client.get("/v1/channels/web").json()["pool"] == ["ST-NICE"]
    assert client.get("/v1/channels/store").json()["pool"] == ["ST-NICE", "ST-TOUL"]


def test_channels_are_listed_by_code(client, locations) -> None:
    assert client.get("/v1/channels").json() == []
    for code in ("web", "mp-zalando", "mp-amazon", "store"):
        put_channel(client, code)

    response = client.get("/v1/channels")

    assert response.status_code == 200
    listed = response.json()
    assert [c["code"] for c in listed] == ["mp-amazon", "mp-zalando", "store", "web"]
    assert listed[0] == client.get("/v1/channels/mp-amazon").json()


def test_an_unknown_channel_is_a_404_problem(client, problem) -> None:
    body = problem(client.get("/v1/channels/nope"), 404)

    assert "nope" in body["detail"]


def test_putting_channels_emits_created_then_updated_with_the_channel_as_shown(
    client, locations
) -> None:
    created = put_channel(client, "web").json()
    updated = put_channel(client, "web", location_types=["warehouse"]).json()

    events = [e for e in client.get("/v1/events").json()["events"] if e["type"].startswith("ch")]

    assert [(e["type"], e["data"]) for e in events] == [
        ("channel.created", created),
        ("channel.updated", updated),
    ]


BAD_CHANNELS = {
    "an unknown location": ({"locations": ["NOPE"]}, "locations[0]"),
    "an unknown location after a known one": ({"locations": ["WH-1", "NOPE"]}, "locations[1]"),
    "a location code that cannot exist": ({"locations": ["WH-1", "a b"]}, "locations[1]"),
    "an unknown location type": ({"location_types": ["kiosk"]}, "location_types[0]"),
    "an unknown type after a known one": (
        {"location_types": ["store", "Warehouse"]},
        "location_types[1]",
    ),
    "location types not a list": ({"location_types": "store"}, "location_types"),
    "locations not a list": ({"locations": "WH-1"}, "locations"),
    "no name": ({"name": None}, "name"),
    "a blank name": ({"name": "  "}, "name"),
}


@pytest.mark.parametrize("existing", [False, True], ids=["new channel", "existing channel"])
def test_a_bad_channel_is_a_422_naming_the_field_and_changes_nothing(
    client, locations, unchanged, problem, subtests, existing
) -> None:
    if existing:
        put_channel(client, "web")
    for case, (fields, field) in BAD_CHANNELS.items():
        with subtests.test(case), unchanged():
            body = {"name": "Web shop", **fields}
            if body["name"] is None:
                del body["name"]

            response = client.put("/v1/channels/web", json=body)

            problem(response, 422, field=field)


def test_a_channel_code_that_cannot_be_a_key_is_a_422_naming_the_code(
    client, unchanged, problem
) -> None:
    with unchanged():
        problem(put_channel(client, "-web"), 422, field="code")


def test_channel_routes_refuse_a_request_without_a_key(anonymous, unchanged, problem) -> None:
    with unchanged():
        problem(anonymous.put("/v1/channels/web", json={"name": "Web"}), 401)
        problem(anonymous.get("/v1/channels"), 401)
        problem(anonymous.get("/v1/channels/web"), 401)
