"""Orders taken for a store: a pickup reserves at the chosen store only, though a warehouse is as
near, and is refused what that store lacks; an in-store sale is collected at once and takes its
units off the shelf, needs no customer (any other order does), moves a web order's promise on
those units elsewhere, is refused beyond what the store has, and leaves no cart hold it names
still reserving units.
"""

from __future__ import annotations

import pytest
from orders_helpers import (
    BELLECOUR,
    held,
    moves,
    on_hand,
    order,
    pickup_at,
    place,
    placed,
    read_order,
    receive,
    reserved,
    ship_to,
    sold_at,
    where,
    without_history,
)

pytestmark = pytest.mark.usefixtures("books_balance")


# --------------------------------------------------------------------------- pickup


def test_a_pickup_order_reserves_at_the_chosen_store_though_a_warehouse_is_as_near(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 3})

    body = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))

    assert body["status"] == "allocated"
    assert body["delivery"] == {"method": "pickup", "location": "ST-LYON"}
    assert where(body) == [("ST-LYON", "allocated", [("TEE-M", 2)])]
    assert body["backorders"] == []
    assert reserved(shop) == {"ST-LYON": 2, "WH-LYON": 0}
    assert on_hand(shop) == {"ST-LYON": 3, "WH-LYON": 10}


def test_a_pickup_order_draws_on_its_store_only_and_refuses_what_the_store_lacks(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 3})

    with unchanged():
        response = place(client, order(("TEE-M", 4), delivery=pickup_at("ST-LYON")))

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert body["lines"] == [{"sku": "TEE-M", "requested": 4, "available": 3}]


# --------------------------------------------------------------------------- in store


def test_an_in_store_sale_is_collected_at_once_and_takes_the_units_off_on_hand(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 5, "WH-PARIS": 10})

    body = placed(client, ("TEE-M", 2), channel="stores", delivery=sold_at("ST-NICE"))

    assert body["status"] == "completed"
    assert body["delivery"] == {"method": "in_store", "location": "ST-NICE"}
    assert where(body) == [("ST-NICE", "collected", [("TEE-M", 2)])]
    assert body["backorders"] == []
    assert shop.position("TEE-M", "ST-NICE") == {
        "on_hand": 3,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 3,
    }
    assert on_hand(shop)["WH-PARIS"] == 10
    assert moves(shop) == [("sale", "ST-NICE", -2, 0, f"order:{body['id']}")]
    assert without_history(read_order(client, body["id"])) == body


def test_an_in_store_sale_needs_no_customer_and_shows_none(client, shop, france) -> None:
    """A till rings up a sale for whoever walks in: no name, no e-mail."""
    receive(shop, "TEE-M", {"ST-NICE": 5})
    body = order(("TEE-M", 1), channel="stores", delivery=sold_at("ST-NICE"))
    del body["customer"]

    response = place(client, body)

    assert response.status_code == 201, response.text
    sale = response.json()
    assert sale["customer"] is None
    assert sale["status"] == "completed"
    assert read_order(client, sale["id"])["customer"] is None
    assert on_hand(shop)["ST-NICE"] == 4


@pytest.mark.parametrize("delivery", [ship_to(), pickup_at("ST-LYON")], ids=["ship", "pickup"])
def test_any_other_order_without_a_customer_is_a_422_naming_it_and_changes_nothing(
    client, shop, france, unchanged, problem, delivery
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 5})
    body = order(("TEE-M", 1), delivery=delivery)
    del body["customer"]

    with unchanged():
        answer = problem(place(client, body), 422, field="customer")

    assert "only an in-store sale" in answer["detail"]


def test_an_in_store_sale_of_a_unit_promised_to_a_web_order_moves_the_promise_elsewhere(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 2, "WH-LYON": 5})
    web = placed(client, ("TEE-M", 2), delivery=ship_to(BELLECOUR))
    assert where(web) == [("ST-LYON", "allocated", [("TEE-M", 2)])]

    sale = placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-LYON"))

    assert sale["status"] == "completed"
    assert on_hand(shop) == {"ST-LYON": 1, "WH-LYON": 5}
    assert reserved(shop) == {"ST-LYON": 1, "WH-LYON": 1}
    now = read_order(client, web["id"])
    assert now["status"] == "allocated"
    assert where(now) == [
        ("ST-LYON", "allocated", [("TEE-M", 1)]),
        ("WH-LYON", "allocated", [("TEE-M", 1)]),
    ]
    assert "resourced" in [entry["event"] for entry in now["history"]]


def test_an_in_store_sale_of_more_than_the_store_has_is_refused_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 2, "WH-PARIS": 10})

    with unchanged():
        response = place(client, order(("TEE-M", 3), channel="stores", delivery=sold_at("ST-NICE")))

    problem(response, 409)


def test_an_in_store_sale_naming_a_hold_does_not_leave_the_hold_reserving_units(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3})
    hold = held(client, ("TEE-M", 1), location="ST-LYON")
    body = order(("TEE-M", 1), delivery=sold_at("ST-LYON"), reservation_id=hold["id"])

    response = place(client, body)

    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:  # sold: the cart's hold is the order's, not held as well
        assert client.get(f"/v1/reservations/{hold['id']}").json()["status"] != "active"
        assert shop.position("TEE-M", "ST-LYON") == {
            "on_hand": 2,
            "reserved": 0,
            "unsellable": 0,
            "inbound": 0,
            "available": 2,
        }
