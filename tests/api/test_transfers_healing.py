"""Transfers give way when the shop floor takes their units: a till sale, a count, an in-store sale
or damage at the origin makes an open transfer carry fewer, the newest first, and one left carrying
nothing is cancelled. Cart holds give way before transfers, transfers before orders, which keep
their allocation unless the transfers are not enough and the order is sourced again elsewhere.
"""

from __future__ import annotations

import pytest
from orders_helpers import (
    VERSAILLES,
    events,
    placed,
    read_order,
    receive,
    ship_to,
    sold_at,
    where,
)
from transfers_helpers import (
    ZERO,
    acted,
    at,
    counted,
    created,
    ledger,
    quantities,
    read,
)

pytestmark = pytest.mark.usefixtures("books_balance")


def test_a_till_sale_of_units_a_transfer_holds_makes_the_transfer_carry_fewer(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 10))

    shop.moved("sale", 3, sku="TEE-M", location="WH-PARIS")

    now = read(client, body["id"])
    assert now["status"] == "open"
    assert now["lines"] == [{"sku": "TEE-M", "requested": 10, "quantity": 7, "received": None}]
    assert "TEE-M" in now["reason"] and "WH-PARIS" in now["reason"]
    assert at(shop, "WH-PARIS") == quantities(on_hand=7, reserved=7)
    assert events(client, "transfer.changed") == [now]
    assert ledger(shop)[-1] == ("release", "WH-PARIS", 0, -3, 0, f"transfer:{body['id']}")
    shipped = acted(client, body["id"], "ship")
    assert shipped["lines"][0]["quantity"] == 7
    assert at(shop, "WH-PARIS") == ZERO
    assert at(shop, "ST-LYON") == quantities(inbound=7)


def test_a_count_that_takes_every_unit_cancels_the_transfer_carrying_nothing(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 10))

    shop.moved("count", 0, sku="TEE-M", location="WH-PARIS")

    now = read(client, body["id"])
    assert now["status"] == "cancelled"
    assert now["cancelled_at"] is not None
    assert now["reason"]
    assert now["lines"] == [{"sku": "TEE-M", "requested": 10, "quantity": 0, "received": None}]
    assert at(shop, "WH-PARIS") == ZERO
    assert events(client, "transfer.cancelled") == [now]
    assert events(client, "transfer.changed") == []


def test_an_in_store_sale_of_units_a_transfer_holds_is_made_and_the_transfer_carries_fewer(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 5})
    body = created(client, ("TEE-M", 5), origin="ST-LYON", to="WH-PARIS")

    sale = placed(client, ("TEE-M", 2), delivery=sold_at("ST-LYON"), channel="stores")

    assert where(sale) == [("ST-LYON", "collected", [("TEE-M", 2)])]
    now = read(client, body["id"])
    assert now["lines"] == [{"sku": "TEE-M", "requested": 5, "quantity": 3, "received": None}]
    assert at(shop, "ST-LYON") == quantities(on_hand=3, reserved=3)


def test_a_line_left_with_nothing_is_not_shipped_while_the_others_are(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 4})
    body = created(client, ("TEE-M", 4), ("MUG", 4))

    shop.moved("damage", 4, sku="MUG", location="WH-PARIS")

    now = read(client, body["id"])
    assert now["status"] == "open"
    assert {x["sku"]: x["quantity"] for x in now["lines"]} == {"TEE-M": 4, "MUG": 0}
    assert events(client, "transfer.changed") == [now]
    acted(client, body["id"], "ship")
    assert at(shop, "ST-LYON", "MUG") == ZERO
    assert at(shop, "WH-PARIS", "MUG") == quantities(on_hand=4, unsellable=4)
    received = acted(client, body["id"], "receive", counted(("TEE-M", 4)))
    assert received["discrepancies"] == []
    assert at(shop, "ST-LYON", "TEE-M") == quantities(on_hand=4)


def test_the_newest_transfer_gives_way_first(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    older = created(client, ("TEE-M", 5))
    newer = created(client, ("TEE-M", 5), to="WH-LYON")

    shop.moved("sale", 3, sku="TEE-M", location="WH-PARIS")

    assert read(client, older["id"]) == older
    assert read(client, newer["id"])["lines"][0]["quantity"] == 2


def test_a_cart_hold_gives_way_before_a_transfer(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 8))
    response = client.post(
        "/v1/reservations",
        json={"channel": "web", "location": "WH-PARIS", "lines": [{"sku": "TEE-M", "quantity": 2}]},
    )
    assert response.status_code == 201, response.text

    shop.moved("sale", 2, sku="TEE-M", location="WH-PARIS")

    assert client.get(f"/v1/reservations/{response.json()['id']}").json()["status"] != "active"
    assert read(client, body["id"]) == body
    assert at(shop, "WH-PARIS") == quantities(on_hand=8, reserved=8)


def test_a_transfer_gives_way_before_an_order_which_keeps_its_allocation(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10, "WH-LYON": 10})
    order = placed(client, ("TEE-M", 4), delivery=ship_to(VERSAILLES))
    assert where(order) == [("WH-PARIS", "allocated", [("TEE-M", 4)])]
    body = created(client, ("TEE-M", 6))

    shop.moved("sale", 3, sku="TEE-M", location="WH-PARIS")

    assert where(read_order(client, order["id"])) == where(order)
    assert read(client, body["id"])["lines"][0]["quantity"] == 3
    assert at(shop, "WH-PARIS") == quantities(on_hand=7, reserved=7)
    assert at(shop, "WH-LYON") == quantities(on_hand=10)


def test_when_the_transfer_is_not_enough_it_is_cancelled_and_then_the_order_moves(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10, "WH-LYON": 10})
    order = placed(client, ("TEE-M", 4), delivery=ship_to(VERSAILLES))
    body = created(client, ("TEE-M", 6))

    shop.moved("sale", 8, sku="TEE-M", location="WH-PARIS")

    assert read(client, body["id"])["status"] == "cancelled"
    paris = at(shop, "WH-PARIS")
    assert paris["on_hand"] == 2 and paris["available"] >= 0
    now = read_order(client, order["id"])
    assert now["status"] == "allocated"
    live = [f for f in now["fulfillments"] if f["status"] == "allocated"]
    assert sum(line["quantity"] for f in live for line in f["lines"]) == 4
    assert "WH-LYON" in {f["location"] for f in live}
