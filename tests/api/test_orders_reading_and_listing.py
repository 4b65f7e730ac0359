"""Reading orders back: one order with its history (a 404 when unknown, a 422 for a malformed id),
and lists of them oldest first, filtered by status, channel and location, each order as it reads
alone without its history, every order under the status it shows, a page at a time; a bad listing is
a problem naming the parameter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import (
    VERSAILLES,
    acted,
    pickup_at,
    placed,
    read_order,
    receive,
    ship_to,
    sold_at,
    without_history,
)

pytestmark = pytest.mark.usefixtures("books_balance")


# --------------------------------------------------------------------------- reading


def test_an_order_reads_back_with_its_history(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    body = placed(client, ("TEE-M", 2))
    acted(client, body["fulfillments"][0]["id"], "pick")

    found = read_order(client, body["id"])

    assert found["status"] == "in_progress"
    history = found["history"]
    assert [entry["event"] for entry in history] == [
        "created",
        "fulfillment_picked",
        "status_changed",
    ]
    assert "WH-LYON" in history[0]["detail"]
    assert history[2]["detail"] == "allocated → in_progress"
    for entry in history:
        assert set(entry) == {"at", "event", "detail"}
        assert dt.datetime.fromisoformat(entry["at"]).utcoffset() == dt.timedelta(0)
    assert [entry["at"] for entry in history] == sorted(entry["at"] for entry in history)


def test_an_unknown_order_is_a_404_and_a_malformed_id_a_422(client, france, problem) -> None:
    problem(client.get("/v1/orders/999"), 404)
    problem(client.get("/v1/orders/999/sourcing"), 404)
    problem(client.get("/v1/orders/0"), 422, field="id")
    problem(client.get("/v1/orders/abc"), 422, field="id")


# --------------------------------------------------------------------------- listing


@pytest.fixture
def seven_orders(client, shop, france) -> dict[str, int]:
    """Orders in every status, on three channels, by name: each name's order id."""
    receive(shop, "TEE-M", {"WH-LYON": 20, "WH-PARIS": 20, "ST-LYON": 20, "ST-NICE": 20})
    ids = {
        "web ship": placed(client, ("TEE-M", 1))["id"],
        "mp ship": placed(client, ("TEE-M", 1), channel="mp", delivery=ship_to(VERSAILLES))["id"],
        "web pickup": placed(client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"))["id"],
        "store sale": placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-NICE"))[
            "id"
        ],
    }
    picked = placed(client, ("TEE-M", 1))
    acted(client, picked["fulfillments"][0]["id"], "pick")
    ids["web picked"] = picked["id"]
    cancelled = placed(client, ("TEE-M", 1))
    assert client.post(f"/v1/orders/{cancelled['id']}/cancel").status_code == 200
    ids["web cancelled"] = cancelled["id"]
    ids["web backordered"] = placed(client, ("MUG", 1), allow_partial=True)["id"]
    return ids


def listed(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/v1/orders", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next"] is None
    return [o["id"] for o in response.json()["orders"]]


def test_orders_are_listed_oldest_first_by_status_channel_and_location(
    client, seven_orders
) -> None:
    ids = seven_orders

    assert listed(client) == sorted(ids.values())
    assert listed(client, status="allocated") == [
        ids["web ship"],
        ids["mp ship"],
        ids["web pickup"],
    ]
    assert listed(client, status="in_progress") == [ids["web picked"]]
    assert listed(client, status="completed") == [ids["store sale"]]
    assert listed(client, status="cancelled") == [ids["web cancelled"]]
    assert listed(client, status="backordered") == [ids["web backordered"]]
    assert listed(client, status="partially_allocated") == []
    assert listed(client, channel="mp") == [ids["mp ship"]]
    assert listed(client, channel="stores") == [ids["store sale"]]
    assert listed(client, channel="web", status="allocated") == [ids["web ship"], ids["web pickup"]]
    assert listed(client, location="ST-LYON") == [ids["web pickup"]]
    assert listed(client, location="ST-NICE") == [ids["store sale"]]
    assert listed(client, location="WH-PARIS") == [ids["mp ship"]]
    assert listed(client, location="WH-LYON", status="in_progress") == [ids["web picked"]]
    assert listed(client, channel="nobody") == []


def test_a_listed_order_is_the_order_as_read_alone_without_its_history(
    client, seven_orders
) -> None:
    for found in client.get("/v1/orders").json()["orders"]:
        assert found.get("history") is None
        assert without_history(found) == without_history(read_order(client, found["id"]))


def test_every_order_is_listed_under_the_status_it_shows(client, shop, seven_orders) -> None:
    receive(shop, "CAP", {"WH-LYON": 1, "WH-PARIS": 1})
    receive(shop, "MUG", {"WH-LYON": 1})
    split = placed(client, ("CAP", 2))
    lyon, paris = (f["id"] for f in split["fulfillments"])
    acted(client, lyon, "pick", "pack", "ship", "deliver")
    acted(client, paris, "cancel")  # delivered + cancelled: completed
    picked_with_backorder = placed(client, ("MUG", 2), allow_partial=True)
    acted(client, picked_with_backorder["fulfillments"][0]["id"], "pick")
    placed(client, ("TEE-M", 1), ("MUG", 1), allow_partial=True)  # partially allocated
    rejected = placed(client, ("TEE-M", 1))
    acted(client, rejected["fulfillments"][0]["id"], "reject", body={"reason": "lost"})
    shipped = placed(client, ("TEE-M", 1))
    acted(client, shipped["fulfillments"][0]["id"], "pick", "pack", "ship")
    shown = {o["id"]: o["status"] for o in client.get("/v1/orders").json()["orders"]}
    assert shown[split["id"]] == "completed"
    assert shown[picked_with_backorder["id"]] == "in_progress"
    assert shown[rejected["id"]] == "allocated"  # sourced again elsewhere
    assert set(shown.values()) == {
        "backordered",
        "partially_allocated",
        "allocated",
        "in_progress",
        "completed",
        "cancelled",
    }

    for status in set(shown.values()):
        assert listed(client, status=status) == sorted(
            order_id for order_id, said in shown.items() if said == status
        ), status


def test_orders_come_a_page_at_a_time_and_next_leads_to_the_following_page(
    client, seven_orders
) -> None:
    ids = sorted(seven_orders.values())
    pages, after = [], 0
    while True:
        response = client.get("/v1/orders", params={"after": after, "limit": 3})
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([o["id"] for o in page["orders"]])
        if page["next"] is None:
            break
        assert page["next"] == pages[-1][-1]
        after = page["next"]

    assert pages == [ids[0:3], ids[3:6], ids[6:]]
    assert listed(client, after=ids[4]) == ids[5:]
    assert listed(client, after=ids[-1]) == []


def test_a_bad_listing_is_a_problem_naming_the_parameter(client, france, problem) -> None:
    problem(client.get("/v1/orders", params={"status": "lost"}), 422, field="status")
    problem(client.get("/v1/orders", params={"limit": 0}), 422, field="limit")
    problem(client.get("/v1/orders", params={"limit": 1001}), 422, field="limit")
    problem(client.get("/v1/orders", params={"after": -1}), 422, field="after")
    problem(client.get("/v1/orders", params={"channel": "a b"}), 422, field="channel")
    problem(client.get("/v1/orders", params={"location": "a b"}), 422, field="location")
