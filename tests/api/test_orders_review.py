"""Review of issue 4: each test names a defect found in review (they fail until fixed)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from omnistock.db import Database
from omnistock.services import stock

Problem = Callable[..., Any]
Unchanged = Callable[[], contextlib.AbstractContextManager[None]]

CUSTOMER = {"name": "Camille Martin", "email": "camille.martin@example.fr"}
ADDRESS = {
    "line1": "12 cours Emile Zola",
    "city": "Villeurbanne",
    "postcode": "69100",
    "country": "FR",
    "lat": 45.7719,
    "lon": 4.8902,
}
STORE = {
    "name": "Lyon store",
    "type": "store",
    "lat": 45.7578,
    "lon": 4.8320,
    "ship_enabled": True,
    "pickup_enabled": True,
}


def setup_shop(shop: Any, units: int = 0) -> None:
    shop.item()
    shop.location()
    response = shop.client.put(
        "/v1/channels/web", json={"name": "Web shop", "location_types": ["warehouse", "store"]}
    )
    assert response.status_code in (200, 201), response.text
    if units:
        shop.moved("receipt", units)


def order_body(quantity: int, **fields: Any) -> dict[str, Any]:
    return {
        "channel": "web",
        "customer": CUSTOMER,
        "delivery": {"method": "ship", "address": ADDRESS},
        "lines": [{"sku": "SHIRT-M", "quantity": quantity, "unit_price": "39.90"}],
        **fields,
    }


def placed(client: TestClient, quantity: int, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/orders", json=order_body(quantity, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_ledger_replays(db: Database) -> None:
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


def line_units(order: dict[str, Any]) -> dict[str, int]:
    """Units each line accounts for: backordered + cancelled + in fulfilments not dropped."""
    units = {x["sku"]: x["backordered"] + x["cancelled"] for x in order["lines"]}
    for fulfilment in order["fulfillments"]:
        if fulfilment["status"] not in ("rejected", "cancelled", "expired"):
            for x in fulfilment["lines"]:
                units[x["sku"]] += x["quantity"]
    return units


def new_events(client: TestClient, seen: int) -> list[str]:
    page = client.get("/v1/events", params={"limit": 1000}).json()["events"]
    return [e["type"] for e in page[seen:]]


def event_count(client: TestClient) -> int:
    return len(client.get("/v1/events", params={"limit": 1000}).json()["events"])


def test_the_same_sku_twice_in_a_cancel_of_backordered_units_is_a_problem_not_a_500(
    client: TestClient, shop: Any, db: Database, problem: Problem, unchanged: Unchanged
) -> None:
    setup_shop(shop, 2)
    order = placed(client, 4, allow_partial=True)  # 2 allocated, 2 backordered
    twice = {"lines": [{"sku": "SHIRT-M", "quantity": 2}, {"sku": "SHIRT-M", "quantity": 2}]}
    with unchanged():
        response = client.post(f"/v1/orders/{order['id']}/cancel", json=twice)
        problem(response, 422, field="lines[1].sku")


def test_the_same_sku_twice_in_a_cancel_never_cancels_units_still_allocated(
    client: TestClient, shop: Any, db: Database
) -> None:
    setup_shop(shop, 4)
    order = placed(client, 2)
    twice = {"lines": [{"sku": "SHIRT-M", "quantity": 1}, {"sku": "SHIRT-M", "quantity": 1}]}
    response = client.post(f"/v1/orders/{order['id']}/cancel", json=twice)
    assert response.status_code in (200, 422), response.text
    after = client.get(f"/v1/orders/{order['id']}").json()
    assert line_units(after) == {"SHIRT-M": 2}, after  # each unit counted once, no more
    assert shop.position()["reserved"] == 2 - after["lines"][0]["cancelled"]
    assert_ledger_replays(db)


def test_an_order_taking_over_a_hold_sent_again_answers_the_same_order(
    client: TestClient, shop: Any, db: Database
) -> None:
    setup_shop(shop, 4)
    hold = client.post(
        "/v1/reservations",
        json={"channel": "web", "lines": [{"sku": "SHIRT-M", "quantity": 1}]},
    )
    assert hold.status_code == 201, hold.text
    body = order_body(1, reservation_id=hold.json()["id"], external_id="WEB-1001")
    first = client.post("/v1/orders", json=body)
    assert first.status_code == 201, first.text
    again = client.post("/v1/orders", json=body)  # the shop's retry after a lost answer
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert shop.position()["reserved"] == 1


def test_an_in_store_sale_naming_a_hold_does_not_leave_the_hold_reserving_units(
    client: TestClient, shop: Any, db: Database
) -> None:
    setup_shop(shop)
    shop.location("STORE-1", **STORE)
    shop.moved("receipt", 3, location="STORE-1")
    hold = client.post(
        "/v1/reservations",
        json={
            "channel": "web",
            "lines": [{"sku": "SHIRT-M", "quantity": 1}],
            "location": "STORE-1",
        },
    )
    assert hold.status_code == 201, hold.text
    body = order_body(1, reservation_id=hold.json()["id"])
    body["delivery"] = {"method": "in_store", "location": "STORE-1"}
    response = client.post("/v1/orders", json=body)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:  # sold: the cart's hold is the order's, not held as well
        assert client.get(f"/v1/reservations/{hold.json()['id']}").json()["status"] != "active"
        assert shop.position(location="STORE-1") == {
            "on_hand": 2,
            "reserved": 0,
            "unsellable": 0,
            "inbound": 0,
            "available": 2,
        }
    assert_ledger_replays(db)


def test_a_partial_cancel_tells_the_feed_that_the_fulfilment_shrank(
    client: TestClient, shop: Any, db: Database
) -> None:
    setup_shop(shop, 4)
    order = placed(client, 3)
    seen = event_count(client)
    response = client.post(
        f"/v1/orders/{order['id']}/cancel", json={"lines": [{"sku": "SHIRT-M", "quantity": 1}]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["fulfillments"][0]["lines"] == [{"sku": "SHIRT-M", "quantity": 2}]
    kinds = new_events(client, seen)
    assert any(k.startswith(("order.", "fulfillment.")) for k in kinds), kinds
