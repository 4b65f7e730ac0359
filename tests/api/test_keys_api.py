"""API keys: made with a role and a reach, shown once, stored as a hash, revoked at once; and
what a key beyond its reach is refused (403 naming the field, nothing changed) or not shown.

The role-by-route matrix is `test_access_matrix.py`; revocation across server processes is
`tests/integration/test_keys_across_processes.py`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from access_matrix import STORE, World
from fastapi.testclient import TestClient
from orders_helpers import BELLECOUR, VERSAILLES, order, pickup_at, set_up_france, ship_to, sold_at
from sqlalchemy import select
from transfers_helpers import transfer

from conftest import Shop, bearer
from omnistock.db import Database
from omnistock.db.tables import api_keys

Unchanged = Callable[[], AbstractContextManager[None]]


def made(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/keys", json={"name": "a key", **body})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.fixture
def world(client: TestClient, shop: Shop) -> World:
    set_up_france(shop)
    network = World(client, shop)
    network.stock_up()
    return network


def test_a_key_is_shown_once_then_listed_and_read_without_its_secret(
    client: TestClient, db: Database, world: World
) -> None:
    key = made(client, name="Lyon tablet", role="store", locations=[STORE, STORE])
    assert key["secret"].startswith("osk_")
    assert key["role"] == "store"
    assert key["locations"] == [STORE]
    assert key["channel"] is None
    assert key["last_used_at"] is None
    listed = client.get("/v1/keys").json()
    assert [k["id"] for k in listed] == [key["id"]]
    assert "secret" not in listed[0]
    read = client.get(f"/v1/keys/{key['id']}").json()
    assert read == {k: v for k, v in key.items() if k != "secret"}
    with db.read() as conn:
        stored = [tuple(row) for row in conn.execute(select(api_keys))]
    assert key["secret"] not in repr(stored)  # its SHA-256 only


def test_a_revoked_key_is_refused_from_its_next_request_on(
    client: TestClient, anonymous: TestClient, world: World
) -> None:
    key = made(client, role="viewer")
    headers = bearer(key["secret"])
    assert anonymous.get("/v1/locations", headers=headers).status_code == 200
    assert client.delete(f"/v1/keys/{key['id']}").status_code == 204
    refused = anonymous.get("/v1/locations", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"
    assert client.delete(f"/v1/keys/{key['id']}").status_code == 404
    assert client.get(f"/v1/keys/{key['id']}").status_code == 404


def test_a_key_records_when_it_was_used_once_a_minute_at_most(
    client: TestClient, anonymous: TestClient, world: World
) -> None:
    key = made(client, role="viewer")
    before = dt.datetime.now(dt.UTC)
    anonymous.get("/v1/locations", headers=bearer(key["secret"]))
    first = client.get(f"/v1/keys/{key['id']}").json()["last_used_at"]
    assert first is not None
    assert dt.datetime.fromisoformat(first) >= before - dt.timedelta(seconds=1)
    anonymous.get("/v1/locations", headers=bearer(key["secret"]))
    assert client.get(f"/v1/keys/{key['id']}").json()["last_used_at"] == first


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": "integration"}, "channel"),
        ({"role": "integration", "channel": "nowhere"}, "channel"),
        ({"role": "store", "channel": "web", "locations": [STORE]}, "channel"),
        ({"role": "store"}, "locations"),
        ({"role": "store", "locations": []}, "locations"),
        ({"role": "store", "locations": [STORE, "ST-NOWHERE"]}, "locations[1]"),
        ({"role": "viewer", "locations": [STORE]}, "locations"),
        ({"role": "admin", "channel": "web"}, "channel"),
        ({"name": "", "role": "viewer"}, "name"),
    ],
)
def test_a_bad_key_is_a_422_naming_the_field_and_nothing_is_made(
    client: TestClient, world: World, unchanged: Unchanged, body: dict[str, Any], field: str
) -> None:
    with unchanged():
        response = client.post("/v1/keys", json={"name": "a key", **body})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_only_an_admin_key_manages_keys(
    client: TestClient, anonymous: TestClient, world: World, unchanged: Unchanged
) -> None:
    viewer = bearer(made(client, role="viewer")["secret"])
    with unchanged():
        refused = anonymous.post("/v1/keys", json={"name": "x", "role": "admin"}, headers=viewer)
    assert refused.status_code == 403
    admin = bearer(made(client, role="admin")["secret"])
    assert anonymous.post("/v1/keys", json={"name": "y", "role": "admin"}, headers=admin).is_success


# --------------------------------------------------------------------------- integration


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert response.json()["field"] == field


def test_an_integration_key_holds_and_orders_on_its_channel_only(
    client: TestClient, anonymous: TestClient, world: World, unchanged: Unchanged
) -> None:
    web = bearer(made(client, role="integration", channel="web")["secret"])
    lines = [{"sku": "TEE-M", "quantity": 1}]
    with unchanged():
        _refused(
            anonymous.post("/v1/reservations", json={"channel": "mp", "lines": lines}, headers=web),
            "channel",
        )
        _refused(
            anonymous.post("/v1/orders", json=order(("TEE-M", 1), channel="mp"), headers=web),
            "channel",
        )
        _refused(
            anonymous.post(
                "/v1/sourcing/preview", json=order(("TEE-M", 1), channel="mp"), headers=web
            ),
            "channel",
        )
    mine = anonymous.post("/v1/orders", json=order(("TEE-M", 1)), headers=web)
    assert mine.status_code == 201, mine.text
    theirs = world.ok("POST", "/v1/orders", order(("TEE-M", 1), channel="mp"))
    with unchanged():
        _refused(anonymous.get(f"/v1/orders/{theirs['id']}", headers=web), "id")
        _refused(anonymous.get(f"/v1/orders/{theirs['id']}/sourcing", headers=web), "id")
        _refused(anonymous.post(f"/v1/orders/{theirs['id']}/cancel", headers=web), "id")
        _refused(anonymous.get("/v1/orders?channel=mp", headers=web), "channel")
    listed = anonymous.get("/v1/orders", headers=web).json()["orders"]
    assert [o["id"] for o in listed] == [mine.json()["id"]]
    cancelled = anonymous.post(f"/v1/orders/{mine.json()['id']}/cancel", headers=web)
    assert cancelled.status_code == 200, cancelled.text


def test_an_integration_key_releases_its_channels_holds_only(
    client: TestClient, anonymous: TestClient, world: World, unchanged: Unchanged
) -> None:
    mp = bearer(made(client, role="integration", channel="mp")["secret"])
    web_hold = world.hold()
    with unchanged():
        _refused(anonymous.delete(f"/v1/reservations/{web_hold}", headers=mp), "id")
        _refused(anonymous.get(f"/v1/reservations/{web_hold}", headers=mp), "id")


# --------------------------------------------------------------------------- store


def test_a_store_key_moves_stock_and_sells_at_its_locations_only(
    client: TestClient, anonymous: TestClient, world: World, unchanged: Unchanged
) -> None:
    lyon = bearer(made(client, role="store", locations=[STORE])["secret"])
    receipt = {"sku": "CAP", "type": "receipt", "quantity": 3}
    with unchanged():
        _refused(
            anonymous.post(
                "/v1/stock/movements", json={**receipt, "location": "WH-PARIS"}, headers=lyon
            ),
            "location",
        )
        shipped = order(("TEE-M", 1), delivery=ship_to(BELLECOUR))
        _refused(anonymous.post("/v1/orders", json=shipped, headers=lyon), "delivery.method")
        collected = order(("TEE-M", 1), delivery=pickup_at(STORE))
        _refused(anonymous.post("/v1/orders", json=collected, headers=lyon), "delivery.method")
        elsewhere = order(("TEE-M", 1), delivery=sold_at("ST-NICE"))
        _refused(anonymous.post("/v1/orders", json=elsewhere, headers=lyon), "delivery.location")
    moved = anonymous.post("/v1/stock/movements", json={**receipt, "location": STORE}, headers=lyon)
    assert moved.status_code == 201, moved.text
    sold = anonymous.post(
        "/v1/orders", json=order(("CAP", 1), delivery=sold_at(STORE)), headers=lyon
    )
    assert sold.status_code == 201, sold.text


def test_a_store_key_acts_on_its_locations_fulfilments_returns_and_transfers_only(
    client: TestClient, anonymous: TestClient, world: World, unchanged: Unchanged
) -> None:
    nice = bearer(made(client, role="store", locations=["ST-NICE"])["secret"])
    at_lyon = world.fulfilment("allocated")
    sale_at_lyon = world.sale()
    from_lyon = world.transfer()
    to_lyon = world.transfer(inbound=True, shipped=True)
    back = {"lines": [{"sku": "MUG", "quantity": 1, "condition": "sellable"}]}
    with unchanged():
        for action in ("pick", "cancel"):
            _refused(anonymous.post(f"/v1/fulfillments/{at_lyon}/{action}", headers=nice), "id")
        _refused(anonymous.get(f"/v1/fulfillments/{at_lyon}", headers=nice), "id")
        _refused(
            anonymous.post(
                "/v1/returns",
                json={"order_id": sale_at_lyon, "location": STORE, **back},
                headers=nice,
            ),
            "location",
        )
        _refused(anonymous.post(f"/v1/transfers/{from_lyon}/ship", headers=nice), "id")
        _refused(anonymous.post(f"/v1/transfers/{from_lyon}/cancel", headers=nice), "id")
        received = {"lines": [{"sku": "TEE-M", "quantity": 1}]}
        _refused(
            anonymous.post(f"/v1/transfers/{to_lyon}/receive", json=received, headers=nice), "id"
        )
        _refused(anonymous.get(f"/v1/transfers/{from_lyon}", headers=nice), "id")
        made_from = transfer(("TEE-M", 1), origin=STORE, to="ST-NICE")
        _refused(anonymous.post("/v1/transfers", json=made_from, headers=nice), "from")
        _refused(anonymous.post(f"/v1/orders/{sale_at_lyon}/cancel", headers=nice), "id")
    # a customer may bring back anywhere what was bought in Lyon
    taken = anonymous.post(
        "/v1/returns", json={"order_id": sale_at_lyon, "location": "ST-NICE", **back}, headers=nice
    )
    assert taken.status_code == 201, taken.text


def test_the_lists_a_store_key_reads_show_what_touches_its_locations_only(
    client: TestClient, anonymous: TestClient, world: World
) -> None:
    lyon = bearer(made(client, role="store", locations=[STORE])["secret"])
    paris_order = world.ok("POST", "/v1/orders", order(("TEE-M", 1), delivery=ship_to(VERSAILLES)))
    assert paris_order["fulfillments"][0]["location"] == "WH-PARIS"
    lyon_fulfilment = world.fulfilment("allocated")
    world.ok("POST", "/v1/transfers", transfer(("TEE-M", 1), origin="WH-PARIS", to="WH-LYON"))
    from_lyon = world.transfer()
    sale = world.sale()

    def listed(path: str, key: str) -> list[int]:
        response = anonymous.get(path, headers=lyon)
        assert response.status_code == 200, response.text
        return [x["id"] for x in response.json()[key]]

    assert listed("/v1/fulfillments", "fulfillments") == [
        lyon_fulfilment,
        sale_fulfilment(client, sale),
    ]
    assert paris_order["id"] not in listed("/v1/orders", "orders")
    assert sale in listed("/v1/orders", "orders")
    assert listed("/v1/transfers", "transfers") == [from_lyon]
    assert len(client.get("/v1/transfers").json()["transfers"]) == 2
    _refused(anonymous.get("/v1/fulfillments?location=WH-PARIS", headers=lyon), "location")
    _refused(anonymous.get("/v1/transfers?location=WH-PARIS", headers=lyon), "location")
    _refused(anonymous.get("/v1/returns?location=WH-PARIS", headers=lyon), "location")


def sale_fulfilment(client: TestClient, order_id: int) -> int:
    found = client.get(f"/v1/orders/{order_id}").json()["fulfillments"]
    return int(found[0]["id"])
