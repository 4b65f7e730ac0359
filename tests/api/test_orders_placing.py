"""Placing an order to ship: the answer (201, the order, its fulfilment at the nearest location, no
backorders), its units reserved where it is fulfilled and nowhere else, the order read back and in
the event feed as it was answered. An order the stock cannot cover is refused whole, naming each
short line and changing nothing, unless `allow_partial` asks for what there is and backorders the
rest.
"""

from __future__ import annotations

import datetime as dt

import pytest
from orders_helpers import (
    CUSTOMER,
    VERSAILLES,
    VILLEURBANNE,
    events,
    moves,
    on_hand,
    order,
    place,
    placed,
    read_order,
    receive,
    reserved,
    ship_to,
    where,
    without_history,
)

pytestmark = pytest.mark.usefixtures("books_balance")


# --------------------------------------------------------------------------- ship


def test_a_ship_order_answers_201_with_the_order_its_fulfilment_and_no_backorders(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10})
    receive(shop, "MUG", {"WH-LYON": 5, "WH-PARIS": 5})
    asked = dt.datetime.now(dt.UTC)

    response = place(client, order(("TEE-M", 3), ("MUG", 1), external_id="WEB-1001"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], int)
    fulfilment = body["fulfillments"][0]
    assert isinstance(fulfilment["id"], int)
    assert body == {
        "id": body["id"],
        "status": "allocated",
        "channel": "web",
        "external_id": "WEB-1001",
        "customer": CUSTOMER,
        "delivery": {"method": "ship", "address": VILLEURBANNE},
        "currency": "EUR",
        "created_at": body["created_at"],
        "lines": [
            {
                "sku": "TEE-M",
                "quantity": 3,
                "unit_price": "19.90",
                "backordered": 0,
                "cancelled": 0,
            },
            {"sku": "MUG", "quantity": 1, "unit_price": "8.50", "backordered": 0, "cancelled": 0},
        ],
        "fulfillments": [
            {
                "id": fulfilment["id"],
                "order_id": body["id"],
                "location": "WH-LYON",  # the nearest to Villeurbanne
                "status": "allocated",
                "lines": fulfilment["lines"],
                "carrier": None,
                "tracking": None,
                "reason": None,
                "pickup_by": None,
            }
        ],
        "backorders": [],
    }
    assert sorted((x["sku"], x["quantity"]) for x in fulfilment["lines"]) == [
        ("MUG", 1),
        ("TEE-M", 3),
    ]
    created_at = dt.datetime.fromisoformat(body["created_at"])
    assert created_at.utcoffset() == dt.timedelta(0)
    assert asked <= created_at <= dt.datetime.now(dt.UTC)


def test_a_ship_order_reserves_its_units_where_it_is_fulfilled_and_nowhere_else(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10, "ST-LYON": 4})

    body = placed(client, ("TEE-M", 3), delivery=ship_to(VERSAILLES))

    assert where(body) == [("WH-PARIS", "allocated", [("TEE-M", 3)])]
    assert reserved(shop) == {"ST-LYON": 0, "WH-LYON": 0, "WH-PARIS": 3}
    assert on_hand(shop) == {"ST-LYON": 4, "WH-LYON": 10, "WH-PARIS": 10}
    assert shop.position("TEE-M", "WH-PARIS")["available"] == 7
    assert moves(shop) == [("allocate", "WH-PARIS", 0, 3, f"order:{body['id']}")]


def test_an_order_reads_back_exactly_as_it_was_answered(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    body = placed(client, ("TEE-M", 3), ("MUG", 1))  # lines not in alphabetical order

    again = read_order(client, body["id"])

    assert without_history(again) == body


def test_a_unit_price_is_answered_with_its_two_decimals_as_it_is_kept(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    body = order(("TEE-M", 1), ("MUG", 1))
    body["lines"][0]["unit_price"] = "19.9"
    body["lines"][1]["unit_price"] = "35"

    answered = place(client, body).json()

    assert [line["unit_price"] for line in answered["lines"]] == ["19.90", "35.00"]
    assert read_order(client, answered["id"])["lines"] == answered["lines"]


def test_a_new_order_is_in_the_event_feed_as_the_api_answered_it(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})

    body = placed(client, ("TEE-M", 2))

    assert events(client, "order.created") == [body]
    assert events(client, "order.backordered") == []
    changed = [(c["location"], c["reserved"]) for c in events(client, "stock.changed")]
    assert changed[-1] == ("WH-LYON", 2)


# --------------------------------------------------------------------------- all or nothing


def test_an_order_with_short_lines_names_each_of_them_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10, "ST-LYON": 3})
    receive(shop, "MUG", {"WH-LYON": 5})
    receive(shop, "CAP", {"WH-PARIS": 4})

    with unchanged():
        response = place(client, order(("TEE-M", 30), ("MUG", 1), ("CAP", 9)))

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert body["lines"] == [
        {"sku": "TEE-M", "requested": 30, "available": 23},
        {"sku": "CAP", "requested": 9, "available": 4},
    ]
    assert client.get("/v1/orders").json() == {"orders": [], "next": None}


def test_the_marketplace_cannot_order_the_units_only_a_store_has(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 10, "WH-LYON": 1})

    with unchanged():
        response = place(client, order(("TEE-M", 2), channel="mp"))

    assert problem(response, 409)["lines"] == [{"sku": "TEE-M", "requested": 2, "available": 1}]


def test_allow_partial_allocates_what_there_is_and_backorders_the_rest(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 6, "WH-PARIS": 4})

    body = placed(client, ("TEE-M", 14), ("MUG", 2), allow_partial=True)

    assert body["status"] == "partially_allocated"
    assert sorted(where(body)) == [
        ("WH-LYON", "allocated", [("TEE-M", 6)]),
        ("WH-PARIS", "allocated", [("TEE-M", 4)]),
    ]
    assert [(x["sku"], x["backordered"]) for x in body["lines"]] == [("TEE-M", 4), ("MUG", 2)]
    assert body["backorders"] == [{"sku": "TEE-M", "quantity": 4}, {"sku": "MUG", "quantity": 2}]
    assert reserved(shop) == {"WH-LYON": 6, "WH-PARIS": 4}
    history = read_order(client, body["id"])["history"]
    assert [entry["event"] for entry in history] == ["created", "backordered", "backordered"]
    assert events(client, "order.backordered") == [body]


def test_allow_partial_with_nothing_in_stock_backorders_every_line_and_reserves_nothing(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    placed(client, ("TEE-M", 5))

    body = placed(client, ("TEE-M", 2), ("CAP", 1), allow_partial=True)

    assert body["status"] == "backordered"
    assert body["fulfillments"] == []
    assert body["backorders"] == [{"sku": "TEE-M", "quantity": 2}, {"sku": "CAP", "quantity": 1}]
    assert reserved(shop) == {"WH-LYON": 5}
