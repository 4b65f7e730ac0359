"""The stories of issue 5, end to end over HTTP: a web order returned in a store, and stock
moving between locations with its units in transit."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import acted, placed, receive, set_up_france

MARSEILLE = {"lat": 43.2965, "lon": 5.3698}


@pytest.fixture
def france(shop: Any) -> None:
    set_up_france(shop)


def ats(client: TestClient, sku: str, channel: str = "web") -> int:
    response = client.get(f"/v1/availability/{sku}", params={"channel": channel})
    assert response.status_code == 200, response.text
    units: int = response.json()["available_to_sell"]
    return units


def test_a_web_order_delivered_then_returned_in_a_marseille_store_is_sellable_there_at_once(
    client: TestClient, shop: Any, france: None
) -> None:
    shop.location("ST-MARSEILLE", name="Marseille store", type="store", **MARSEILLE)
    receive(shop, "TEE-M", {"WH-PARIS": 3})
    order = placed(client, ("TEE-M", 2))
    [fulfilment] = order["fulfillments"]
    acted(client, fulfilment["id"], "pick", "pack", "ship", "deliver")
    before = ats(client, "TEE-M")
    response = client.post(
        "/v1/returns",
        json={
            "order_id": order["id"],
            "location": "ST-MARSEILLE",
            "lines": [{"sku": "TEE-M", "quantity": 1, "condition": "sellable"}],
        },
    )
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["refund_amount"] == "19.90"
    assert shop.position("TEE-M", "ST-MARSEILLE")["available"] == 1
    assert ats(client, "TEE-M") == before + 1
    damaged = client.post(
        "/v1/returns",
        json={
            "order_id": order["id"],
            "location": "ST-MARSEILLE",
            "lines": [{"sku": "TEE-M", "quantity": 1, "condition": "damaged", "reason": "torn"}],
        },
    )
    assert damaged.status_code == 201, damaged.text
    assert shop.position("TEE-M", "ST-MARSEILLE")["unsellable"] == 1
    again = client.post(
        "/v1/returns",
        json={
            "order_id": order["id"],
            "location": "ST-MARSEILLE",
            "lines": [{"sku": "TEE-M", "quantity": 1, "condition": "sellable"}],
        },
    )
    assert again.status_code == 409, again.text
    assert again.json()["field"] == "lines[0].quantity"


def test_a_transfer_counts_at_each_step_at_both_ends(
    client: TestClient, shop: Any, france: None
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    response = client.post(
        "/v1/transfers",
        json={"from": "WH-PARIS", "to": "ST-LYON", "lines": [{"sku": "TEE-M", "quantity": 4}]},
    )
    assert response.status_code == 201, response.text
    transfer = response.json()
    assert transfer["status"] == "open"
    assert shop.position("TEE-M", "WH-PARIS")["reserved"] == 4
    shipped = client.post(f"/v1/transfers/{transfer['id']}/ship")
    assert shipped.status_code == 200, shipped.text
    assert shop.position("TEE-M", "WH-PARIS")["on_hand"] == 6
    assert shop.position("TEE-M", "ST-LYON")["inbound"] == 4
    stock = client.get("/v1/stock/TEE-M", params={"include": "inbound"}).json()
    assert stock["total"]["inbound"] == 4
    lyon = next(p for p in stock["positions"] if p["location"] == "ST-LYON")
    assert lyon["inbound_transfers"][0]["transfer_id"] == transfer["id"]
    received = client.post(
        f"/v1/transfers/{transfer['id']}/receive",
        json={"lines": [{"sku": "TEE-M", "quantity": 3}]},
    )
    assert received.status_code == 200, received.text
    assert received.json()["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 3, "difference": -1}
    ]
    assert shop.position("TEE-M", "ST-LYON") == {
        "on_hand": 3,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 3,
    }
    supplier = client.post(
        "/v1/transfers",
        json={
            "to": "WH-LYON",
            "lines": [{"sku": "MUG", "quantity": 50}],
            "eta": "2026-12-01T08:00:00Z",
        },
    )
    assert supplier.status_code == 201, supplier.text
    assert supplier.json()["status"] == "shipped"
    assert shop.position("MUG", "WH-LYON")["inbound"] == 50
