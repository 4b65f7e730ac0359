"""An order sent again changes stock once: the same `channel` and `external_id` answer 200
with the order as it stands (409 naming what differs, if it is another order), the same
`Idempotency-Key` replays the first answer and refuses another body. A bad order, malformed or
against the catalogue, the channels or the locations, is a problem naming its field and
changes nothing (DESIGN invariants 3 and 5).
"""

from __future__ import annotations

from typing import Any

import pytest
from orders_helpers import (
    GOOD,
    VILLEURBANNE,
    acted,
    events,
    good_but,
    good_but_line,
    order,
    pickup_at,
    place,
    placed,
    read_order,
    receive,
    reserved,
    ship_to,
    sold_at,
    without_history,
)

pytestmark = pytest.mark.usefixtures("books_balance")


# --------------------------------------------------------------------------- the same order again


def test_the_same_external_id_again_answers_200_with_the_same_order_and_changes_nothing(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    body = order(("TEE-M", 3), external_id="WEB-1001")
    first = place(client, body)

    with unchanged():
        again = place(client, body)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert reserved(shop) == {"WH-LYON": 3}


def test_an_external_id_names_the_order_as_it_stands_even_when_the_stock_is_gone(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 3})
    first = placed(client, ("TEE-M", 3), external_id="WEB-1001")
    acted(client, first["fulfillments"][0]["id"], "pick")

    with unchanged():
        again = place(client, order(("TEE-M", 3), external_id="WEB-1001"))

    assert again.status_code == 200
    assert again.json() == without_history(read_order(client, first["id"]))
    assert again.json()["status"] == "in_progress"


def test_the_same_order_again_with_its_lines_in_another_order_is_still_the_same_order(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 3})
    receive(shop, "MUG", {"WH-LYON": 3})
    first = placed(client, ("TEE-M", 1), ("MUG", 2), external_id="WEB-1001")

    with unchanged():
        again = place(client, order(("MUG", 2), ("TEE-M", 1), external_id="WEB-1001"))

    assert again.status_code == 200, again.text
    assert again.json()["id"] == first["id"]


ANOTHER_ORDER = {
    "other skus": (order(("TEE-M", 1), ("MUG", 1)), ["lines"]),
    "another quantity": (order(("TEE-M", 2)), ["lines[0].quantity"]),
    "another price": (
        {**order(("TEE-M", 3)), "lines": [{"sku": "TEE-M", "quantity": 3, "unit_price": "9.90"}]},
        ["lines[0].unit_price"],
    ),
    "another customer and city": (
        order(
            ("TEE-M", 3),
            customer={"name": "Camille Martin", "email": "c.martin@example.fr"},
            delivery=ship_to({**VILLEURBANNE, "city": "Lyon"}),
        ),
        ["customer.email", "delivery.address.city"],
    ),
    "another currency": (order(("TEE-M", 3), currency="CHF"), ["currency"]),
    "picked up instead": (
        order(("TEE-M", 3), delivery=pickup_at("ST-LYON")),
        ["delivery.address", "delivery.location", "delivery.method"],
    ),
}


@pytest.mark.parametrize(("body", "differs"), ANOTHER_ORDER.values(), ids=ANOTHER_ORDER.keys())
def test_another_order_under_an_external_id_already_used_is_a_409_naming_what_differs(
    client, shop, france, unchanged, problem, body, differs
) -> None:
    """The channel reused an id, or changed the order after sending it: either way the order
    placed stands, and the channel is told which fields do not match it."""
    receive(shop, "TEE-M", {"WH-LYON": 10})
    first = placed(client, ("TEE-M", 3), external_id="WEB-1001")

    with unchanged():
        response = place(client, {**body, "external_id": "WEB-1001"})

    answer = problem(response, 409, field="external_id")
    assert answer["code"] == "external-id-reused"
    assert answer["order_id"] == first["id"]
    assert answer["differs"] == differs
    assert "WEB-1001" in answer["detail"]


def test_the_same_external_id_from_another_channel_is_another_order(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    web = placed(client, ("TEE-M", 1), external_id="1001")

    market = placed(client, ("TEE-M", 2), external_id="1001", channel="mp")

    assert market["id"] != web["id"]
    assert reserved(shop) == {"WH-LYON": 3}


def test_a_repeated_order_with_the_same_idempotency_key_is_placed_once(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    key = {"Idempotency-Key": "checkout-77"}

    first = place(client, order(("TEE-M", 3)), headers=key)
    again = place(client, order(("TEE-M", 3)), headers=key)

    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert reserved(shop) == {"WH-LYON": 3}
    assert [o["id"] for o in client.get("/v1/orders").json()["orders"]] == [first.json()["id"]]
    assert events(client, "order.created") == [first.json()]


def test_the_same_idempotency_key_with_another_order_is_a_422_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    key = {"Idempotency-Key": "checkout-77"}
    place(client, order(("TEE-M", 3)), headers=key)

    with unchanged():
        response = place(client, order(("TEE-M", 4)), headers=key)

    problem(response, 422, field="Idempotency-Key")


# --------------------------------------------------------------------------- bad orders


def good_but_address(**changes: Any) -> dict[str, Any]:
    return good_but(delivery=ship_to({**VILLEURBANNE, **changes}))


def good_without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


#: Bodies that are not an order at all: refused before anything is read.
MALFORMED_ORDERS: dict[str, tuple[dict[str, Any], int, str]] = {
    "no channel": (good_without("channel"), 422, "channel"),
    "a channel code that cannot exist": (good_but(channel="a b"), 422, "channel"),
    "no customer": (good_without("customer"), 422, "customer"),
    "a customer without a name": (good_but(customer={"email": "a@b.fr"}), 422, "customer.name"),
    "an email without an at sign": (
        good_but(customer={"name": "Camille", "email": "camille.example.fr"}),
        422,
        "customer.email",
    ),
    "an email with a space": (
        good_but(customer={"name": "Camille", "email": "camille martin@example.fr"}),
        422,
        "customer.email",
    ),
    "no delivery": (good_without("delivery"), 422, "delivery"),
    "a delivery by drone": (good_but(delivery={"method": "drone"}), 422, "delivery.method"),
    "a delivery without a method": (
        good_but(delivery={"location": "ST-LYON"}),
        422,
        "delivery.method",
    ),
    "a shipment without an address": (
        good_but(delivery={"method": "ship"}),
        422,
        "delivery.address",
    ),
    "a country in lower case": (good_but_address(country="fr"), 422, "delivery.address.country"),
    "a country of three letters": (
        good_but_address(country="FRA"),
        422,
        "delivery.address.country",
    ),
    "a latitude beyond the pole": (good_but_address(lat=90.5), 422, "delivery.address.lat"),
    "a longitude beyond the antimeridian": (
        good_but_address(lon=-180.5),
        422,
        "delivery.address.lon",
    ),
    "an address without a postcode": (
        good_but(delivery=ship_to({k: v for k, v in VILLEURBANNE.items() if k != "postcode"})),
        422,
        "delivery.address.postcode",
    ),
    "a pickup without a store": (good_but(delivery={"method": "pickup"}), 422, "delivery.location"),
    "no lines": (good_without("lines"), 422, "lines"),
    "an empty list of lines": (good_but(lines=[]), 422, "lines"),
    "a hundred and one lines": (good_but(lines=[GOOD["lines"][0]] * 101), 422, "lines"),
    "a sku that cannot exist": (good_but_line(sku="a b"), 422, "lines[0].sku"),
    "a line of zero units": (good_but_line(quantity=0), 422, "lines[0].quantity"),
    "a line of half a unit": (good_but_line(quantity=1.5), 422, "lines[0].quantity"),
    "a quantity written as text": (good_but_line(quantity="2"), 422, "lines[0].quantity"),
    "a line of more than a billion units": (
        good_but_line(quantity=1_000_000_001),
        422,
        "lines[0].quantity",
    ),
    "a line without a price": (
        good_but(lines=[{"sku": "TEE-M", "quantity": 1}, GOOD["lines"][1]]),
        422,
        "lines[0].unit_price",
    ),
    "a negative price": (good_but_line(unit_price="-1.00"), 422, "lines[0].unit_price"),
    "a price in thousandths": (good_but_line(unit_price="19.999"), 422, "lines[0].unit_price"),
    "a price that is not a number": (good_but_line(unit_price="cheap"), 422, "lines[0].unit_price"),
    "a currency in lower case": (good_but(currency="eur"), 422, "currency"),
    "a currency of four letters": (good_but(currency="EURO"), 422, "currency"),
    "an external id too long": (good_but(external_id="x" * 101), 422, "external_id"),
    "an empty external id": (good_but(external_id=" "), 422, "external_id"),
    "a reservation id too long": (good_but(reservation_id="x" * 37), 422, "reservation_id"),
}
#: Well-formed orders that break a rule of the catalogue, the channels or the locations.
UNACCEPTABLE_ORDERS: dict[str, tuple[dict[str, Any], int, str]] = {
    "an unknown channel": (good_but(channel="nope"), 422, "channel"),
    "a pickup at an unknown store": (
        good_but(delivery=pickup_at("NOPE")),
        422,
        "delivery.location",
    ),
    "a pickup at a store without pickup": (
        good_but(delivery=pickup_at("ST-NICE")),
        422,
        "delivery.location",
    ),
    "a pickup at a warehouse": (good_but(delivery=pickup_at("WH-LYON")), 422, "delivery.location"),
    "a pickup at a closed store": (
        good_but(delivery=pickup_at("ST-CLOSED")),
        422,
        "delivery.location",
    ),
    "an in-store sale at a warehouse": (
        good_but(delivery=sold_at("WH-PARIS")),
        422,
        "delivery.location",
    ),
    "an in-store sale at a closed store": (
        good_but(delivery=sold_at("ST-CLOSED")),
        422,
        "delivery.location",
    ),
    "an in-store sale at an unknown store": (
        good_but(delivery=sold_at("NOPE")),
        422,
        "delivery.location",
    ),
    "an unknown sku": (
        good_but(lines=[*GOOD["lines"], {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]),
        422,
        "lines[2].sku",
    ),
    "the same sku on two lines": (
        good_but(lines=[*GOOD["lines"], GOOD["lines"][0]]),
        422,
        "lines[2].sku",
    ),
}


@pytest.mark.parametrize(
    "cases", [MALFORMED_ORDERS, UNACCEPTABLE_ORDERS], ids=["malformed", "unacceptable"]
)
def test_a_bad_order_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem, subtests, cases
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 10, "ST-NICE": 10})
    receive(shop, "MUG", {"WH-LYON": 10, "ST-LYON": 10, "ST-NICE": 10})

    for case, (body, status, field) in cases.items():
        with subtests.test(case), unchanged():
            answer = problem(place(client, body), status, field=field)
            if "unknown" in case:
                assert "NOPE" in answer["detail"] or "nope" in answer["detail"]
