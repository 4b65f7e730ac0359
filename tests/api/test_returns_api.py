"""Returns over HTTP: any delivered or collected order, from any channel, back at any active
location (issue 5).

The French network of orders_helpers.py: warehouses in Paris and Lyon, a Lyon store that
ships and offers click & collect (in the web pool), a Nice counter (stores channel only) and
a closed store. A sellable unit returned somewhere is on hand there at once and counts in the
ATS of every channel selling from there (buffers respected); a damaged one is on hand as
unsellable until it is disposed of or restored. The refund is what the order paid, to the cent.

Every scenario ends with the books balanced (`assert_books_balance`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from orders_helpers import (
    acted,
    assert_books_balance,
    events,
    order,
    pickup_at,
    place,
    placed,
    read_order,
    receive,
    set_up_france,
    sold_at,
    where,
)

from omnistock.db import Database
from scoped_keys import key_with

MAX_ID = 2**63 - 1


@pytest.fixture(autouse=True)
def books_balance_after_each_scenario(db: Database) -> Iterator[None]:
    yield
    assert_books_balance(db)


@pytest.fixture
def france(shop: Any) -> None:
    set_up_france(shop)


# --------------------------------------------------------------------------- helpers


def line(
    sku: str, quantity: int, condition: str = "sellable", reason: str | None = None
) -> dict[str, Any]:
    """A return line; `reason` only when given."""
    body: dict[str, Any] = {"sku": sku, "quantity": quantity, "condition": condition}
    if reason is not None:
        body["reason"] = reason
    return body


def give_back(
    client: TestClient,
    order_id: int,
    location: str,
    *lines: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = {"order_id": order_id, "location": location, "lines": list(lines)}
    return client.post("/v1/returns", json=body, headers=headers)


def taken_back(
    client: TestClient, order_id: int, location: str, *lines: dict[str, Any]
) -> dict[str, Any]:
    """A return that must be accepted (201); returns it."""
    response = give_back(client, order_id, location, *lines)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def delivered(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """A ship order with every fulfilment delivered; the order as it reads now."""
    body = placed(client, *lines, **fields)
    for fulfilment in body["fulfillments"]:
        acted(client, fulfilment["id"], "pick", "pack", "ship", "deliver")
    found = read_order(client, body["id"])
    assert found["status"] == "completed", found
    return found


def ats(client: TestClient, sku: str = "TEE-M", channel: str = "web") -> int:
    response = client.get(f"/v1/availability/{sku}", params={"channel": channel})
    assert response.status_code == 200, response.text
    units: int = response.json()["available_to_sell"]
    return units


def every_ats(client: TestClient, sku: str = "TEE-M") -> dict[str, int]:
    return {channel: ats(client, sku, channel) for channel in ("web", "mp", "stores")}


def ledger(shop: Any, sku: str = "TEE-M") -> list[tuple[Any, ...]]:
    """What happened to a sku after its orders: (type, location, on_hand, reserved,
    unsellable, inbound, reference) of each return, dispose and restore movement."""
    return [
        (
            m["type"],
            m["location"],
            m["on_hand"],
            m["reserved"],
            m["unsellable"],
            m["inbound"],
            m["reference"],
        )
        for m in shop.ledger(sku)
        if m["type"] in {"return", "dispose", "restore"}
    ]


def list_returns(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/returns", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def not_returnable(body: dict[str, Any], *, sku: str, requested: int, returnable: int) -> None:
    assert body["code"] == "not-returnable", body
    assert body["type"].endswith("not-returnable"), body
    assert (body["sku"], body["requested"], body["returnable"]) == (sku, requested, returnable)


# --------------------------------------------------------------------------- the answer


def test_a_delivered_order_returned_answers_201_with_every_field_and_the_exact_refund(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    sold = delivered(client, ("TEE-M", 3), ("MUG", 2))
    asked = dt.datetime.now(dt.UTC)

    response = give_back(
        client, sold["id"], "ST-LYON", line("TEE-M", 3), line("MUG", 2, "damaged", "chipped")
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], int)
    assert body == {
        "id": body["id"],
        "order_id": sold["id"],
        "location": "ST-LYON",
        "currency": "EUR",
        "refund_amount": "76.70",  # 3 x 19.90 + 2 x 8.50
        "created_at": body["created_at"],
        "lines": [
            {
                "sku": "TEE-M",
                "quantity": 3,
                "condition": "sellable",
                "reason": None,
                "unit_price": "19.90",
                "refund": "59.70",
            },
            {
                "sku": "MUG",
                "quantity": 2,
                "condition": "damaged",
                "reason": "chipped",
                "unit_price": "8.50",
                "refund": "17.00",
            },
        ],
    }
    created_at = dt.datetime.fromisoformat(body["created_at"])
    assert created_at.utcoffset() == dt.timedelta(0)
    assert asked <= created_at <= dt.datetime.now(dt.UTC)


def test_a_refund_is_in_the_orders_currency_at_the_price_it_paid(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    body = order(("TEE-M", 2), currency="CHF")
    body["lines"][0]["unit_price"] = "24.35"  # not the catalogue's price
    response = place(client, body)
    assert response.status_code == 201, response.text
    sold = response.json()
    acted(client, sold["fulfillments"][0]["id"], "pick", "pack", "ship", "deliver")

    answer = taken_back(client, sold["id"], "WH-LYON", line("TEE-M", 2))

    assert answer["currency"] == "CHF"
    assert answer["refund_amount"] == "48.70"
    assert [(x["unit_price"], x["refund"]) for x in answer["lines"]] == [("24.35", "48.70")]


def test_a_refund_adds_cents_exactly_where_floats_would_drift(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 20})
    receive(shop, "MUG", {"WH-LYON": 20})
    body = order(("TEE-M", 10), ("MUG", 3))
    body["lines"][0]["unit_price"] = "0.10"
    body["lines"][1]["unit_price"] = "33.33"
    sold = place(client, body).json()
    acted(client, sold["fulfillments"][0]["id"], "pick", "pack", "ship", "deliver")

    answers = [
        taken_back(client, sold["id"], "WH-LYON", line("TEE-M", 7), line("MUG", 3)),
        taken_back(client, sold["id"], "WH-LYON", line("TEE-M", 1), line("TEE-M", 2, "damaged")),
    ]

    assert [a["refund_amount"] for a in answers] == ["100.69", "0.30"]  # 0.70 + 99.99; 0.1 x 3
    assert [x["refund"] for x in answers[1]["lines"]] == ["0.10", "0.20"]


def test_a_refund_above_a_trillion_is_answered_not_a_server_error(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 101})
    body = order(("TEE-M", 101))
    body["lines"][0]["unit_price"] = "9999999999.99"  # the most an order line may cost
    sold = place(client, body).json()
    acted(client, sold["fulfillments"][0]["id"], "pick", "pack", "ship", "deliver")

    response = give_back(client, sold["id"], "WH-LYON", line("TEE-M", 101))

    assert response.status_code == 201, response.text
    assert response.json()["refund_amount"] == "1009999999998.99"


def test_a_return_reads_back_exactly_as_it_was_answered(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    sold = delivered(client, ("TEE-M", 3), ("MUG", 2))
    answer = taken_back(
        client, sold["id"], "ST-NICE", line("MUG", 1, "damaged", "handle off"), line("TEE-M", 2)
    )

    response = client.get(f"/v1/returns/{answer['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == answer


def test_a_return_is_in_the_event_feed_with_the_stock_and_availability_it_changed(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    sold = delivered(client, ("TEE-M", 3))
    web_before = ats(client)

    answer = taken_back(
        client, sold["id"], "ST-LYON", line("TEE-M", 2), line("TEE-M", 1, "damaged")
    )

    assert events(client, "return.created") == [answer]
    changed = [c for c in events(client, "stock.changed") if c["location"] == "ST-LYON"]
    assert changed == [
        {
            "sku": "TEE-M",
            "location": "ST-LYON",
            "on_hand": 3,
            "reserved": 0,
            "unsellable": 1,
            "inbound": 0,
            "available": 2,
        }
    ]
    published = [a for a in events(client, "availability.changed") if a["channel"] == "web"]
    assert published[-1] == {"channel": "web", "sku": "TEE-M", "available_to_sell": web_before + 2}
    assert ats(client) == web_before + 2


# --------------------------------------------------------------------------- where it goes


def test_a_web_order_returned_in_a_store_of_the_web_pool_is_sellable_there_and_on_the_web_at_once(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    assert where(sold) == [("WH-LYON", "delivered", [("TEE-M", 2)])]
    before = every_ats(client)

    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))

    assert shop.position("TEE-M", "ST-LYON") == {
        "on_hand": 1,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 1,
    }
    assert shop.position("TEE-M", "WH-LYON")["on_hand"] == 3  # where it left from: untouched
    assert every_ats(client) == {
        "web": before["web"] + 1,
        "mp": before["mp"],  # the marketplace sells from warehouses only
        "stores": before["stores"] + 1,
    }


def test_a_damaged_return_is_on_hand_and_unsellable_and_moves_no_ats(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5, "ST-LYON": 2})
    sold = delivered(client, ("TEE-M", 2))
    before = every_ats(client)

    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 2, "damaged", "stained"))

    assert shop.position("TEE-M", "ST-LYON") == {
        "on_hand": 4,
        "reserved": 0,
        "unsellable": 2,
        "inbound": 0,
        "available": 2,
    }
    assert every_ats(client) == before


def test_the_same_sku_may_come_back_on_two_lines_one_sellable_one_damaged(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    web_before = ats(client)

    answer = taken_back(
        client, sold["id"], "ST-LYON", line("TEE-M", 1), line("TEE-M", 1, "damaged", "torn")
    )

    assert [(x["quantity"], x["condition"], x["reason"]) for x in answer["lines"]] == [
        (1, "sellable", None),
        (1, "damaged", "torn"),
    ]
    assert answer["refund_amount"] == "39.80"
    position = shop.position("TEE-M", "ST-LYON")
    assert (position["on_hand"], position["unsellable"], position["available"]) == (2, 1, 1)
    assert ats(client) == web_before + 1


def test_a_return_raises_the_web_ats_by_what_the_buffer_lets_through(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 1})
    rule = client.post(
        "/v1/buffer-rules", json={"channel": "web", "location": "ST-LYON", "units": 3}
    )
    assert rule.status_code == 201, rule.text
    sold = delivered(client, ("TEE-M", 5))
    start = ats(client)

    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))  # 2 available: all kept back
    kept = ats(client)
    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 4))  # 6 available: 3 let through

    assert kept == start
    assert ats(client) == start + 3
    found = client.get("/v1/availability/TEE-M", params={"channel": "web"}).json()
    store = next(x for x in found["locations"] if x["location"] == "ST-LYON")
    assert (store["available"], store["buffer"], store["sellable"]) == (6, 3, 3)
    assert ats(client, channel="stores") == 6 + shop.position("TEE-M", "ST-NICE")["available"]
    published = [a for a in events(client, "availability.changed") if a["channel"] == "web"]
    assert published[-1]["available_to_sell"] == start + 3


def test_a_collected_pickup_order_may_be_returned_at_another_store(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3})
    sold = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))
    acted(client, sold["fulfillments"][0]["id"], "pick", "ready", "collect")
    before = every_ats(client)

    answer = taken_back(client, sold["id"], "ST-NICE", line("TEE-M", 2))

    assert answer["refund_amount"] == "39.80"
    assert shop.position("TEE-M", "ST-NICE")["available"] == 2
    assert shop.position("TEE-M", "ST-LYON")["on_hand"] == 1
    assert every_ats(client) == {**before, "stores": before["stores"] + 2}  # Nice: no web


def test_an_in_store_sale_may_be_returned_at_another_store(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3})
    sold = placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-LYON"))
    assert where(sold) == [("ST-LYON", "collected", [("TEE-M", 1)])]
    before = ats(client, channel="stores")

    taken_back(client, sold["id"], "ST-NICE", line("TEE-M", 1))

    assert shop.position("TEE-M", "ST-NICE")["available"] == 1
    assert ats(client, channel="stores") == before + 1


def test_an_in_store_sale_may_be_returned_at_a_warehouse(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 3})
    sold = placed(client, ("TEE-M", 2), channel="stores", delivery=sold_at("ST-NICE"))
    before = every_ats(client)

    taken_back(client, sold["id"], "WH-PARIS", line("TEE-M", 2))

    assert shop.position("TEE-M", "WH-PARIS")["available"] == 2
    assert every_ats(client) == {
        "web": before["web"] + 2,
        "mp": before["mp"] + 2,
        "stores": before["stores"],
    }


# --------------------------------------------------------------------------- what may come back


def test_units_not_delivered_or_collected_are_not_returnable_and_nothing_changes(
    client, shop, france, unchanged, problem, subtests
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 20, "ST-LYON": 5})
    ship = {"allocated": [], "picked": ["pick"], "packed": ["pick", "pack"]}
    ship["shipped"] = ["pick", "pack", "ship"]
    ship["cancelled"] = ["cancel"]
    cases = [("ship", status, actions) for status, actions in ship.items()]
    cases.append(("pickup", "ready_for_pickup", ["pick", "ready"]))
    for method, status, actions in cases:
        with subtests.test(f"{method} {status}"):
            delivery = pickup_at("ST-LYON") if method == "pickup" else None
            sold = placed(client, ("TEE-M", 2), delivery=delivery)
            acted(client, sold["fulfillments"][0]["id"], *actions)

            with unchanged():
                response = give_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))

            body = problem(response, 409, field="lines[0].quantity")
            not_returnable(body, sku="TEE-M", requested=1, returnable=0)


def test_a_partly_delivered_order_lets_back_only_its_delivered_units(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "WH-PARIS": 1})
    sold = placed(client, ("TEE-M", 3))
    assert sorted(where(sold)) == [
        ("WH-LYON", "allocated", [("TEE-M", 2)]),
        ("WH-PARIS", "allocated", [("TEE-M", 1)]),
    ]
    lyon, paris = sorted(sold["fulfillments"], key=lambda f: f["location"])
    acted(client, paris["id"], "pick", "pack", "ship", "deliver")
    acted(client, lyon["id"], "pick", "pack", "ship")  # on its way, not delivered

    with unchanged():
        refused = give_back(client, sold["id"], "ST-LYON", line("TEE-M", 2))
    not_returnable(
        problem(refused, 409, field="lines[0].quantity"), sku="TEE-M", requested=2, returnable=1
    )
    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))

    acted(client, lyon["id"], "deliver")
    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 2))
    assert shop.position("TEE-M", "ST-LYON")["on_hand"] == 3


def test_an_over_return_across_two_returns_is_refused_naming_the_line(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    receive(shop, "MUG", {"WH-LYON": 5})
    sold = delivered(client, ("MUG", 1), ("TEE-M", 2))
    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))

    with unchanged():
        response = give_back(client, sold["id"], "ST-LYON", line("TEE-M", 2), line("MUG", 1))

    body = problem(response, 409, field="lines[0].quantity")
    not_returnable(body, sku="TEE-M", requested=2, returnable=1)
    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1, "damaged"))
    last = give_back(client, sold["id"], "WH-LYON", line("TEE-M", 1))
    not_returnable(
        problem(last, 409, field="lines[0].quantity"), sku="TEE-M", requested=1, returnable=0
    )


def test_an_over_return_across_two_lines_of_one_return_names_the_second_line(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))

    with unchanged():
        response = give_back(
            client, sold["id"], "ST-LYON", line("TEE-M", 1), line("TEE-M", 2, "damaged")
        )

    body = problem(response, 409, field="lines[1].quantity")
    not_returnable(body, sku="TEE-M", requested=2, returnable=1)


# --------------------------------------------------------------------------- refused


def test_a_sku_not_in_the_order_is_a_422_naming_its_line_and_changes_nothing(
    client, shop, france, unchanged, problem, subtests
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    cases = {
        "an item of the catalogue the order did not buy": (
            [line("TEE-M", 1), line("MUG", 1)],
            "lines[1].sku",
        ),
        "an sku that is no item at all": ([line("NOPE", 1)], "lines[0].sku"),
        "checked before any quantity": ([line("TEE-M", 9), line("CAP", 1)], "lines[1].sku"),
    }
    for case, (lines, field) in cases.items():
        with subtests.test(case), unchanged():
            response = give_back(client, sold["id"], "ST-LYON", *lines)
            problem(response, 422, field=field)


def test_an_unknown_order_is_a_422_naming_it_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 1))

    with unchanged():
        response = give_back(client, sold["id"] + 1000, "ST-LYON", line("TEE-M", 1))

    body = problem(response, 422, field="order_id")
    assert (body["resource"], body["key"]) == ("order", str(sold["id"] + 1000))


def test_an_unknown_location_is_a_422_naming_the_location_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 1))

    with unchanged():
        response = give_back(client, sold["id"], "ST-MARSEILLE", line("TEE-M", 1))

    body = problem(response, 422, field="location")
    assert (body["resource"], body["key"]) == ("location", "ST-MARSEILLE")


def test_an_inactive_location_is_a_422_naming_the_location_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 1))

    with unchanged():
        response = give_back(client, sold["id"], "ST-CLOSED", line("TEE-M", 1))

    problem(response, 422, field="location")


ONE = line("TEE-M", 1)
#: (what replaces the good body's fields; None removes one) -> the field the 422 names.
BAD_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "a zero quantity": ({"lines": [{**ONE, "quantity": 0}]}, "lines[0].quantity"),
    "a negative quantity": ({"lines": [{**ONE, "quantity": -1}]}, "lines[0].quantity"),
    "a quantity as a string": ({"lines": [{**ONE, "quantity": "1"}]}, "lines[0].quantity"),
    "a quantity as a float": ({"lines": [{**ONE, "quantity": 1.5}]}, "lines[0].quantity"),
    "a quantity as a boolean": ({"lines": [{**ONE, "quantity": True}]}, "lines[0].quantity"),
    "a huge quantity": ({"lines": [{**ONE, "quantity": 10**12}]}, "lines[0].quantity"),
    "a quantity beyond 64 bits": ({"lines": [{**ONE, "quantity": 2**70}]}, "lines[0].quantity"),
    "a bad second line": ({"lines": [ONE, {**ONE, "quantity": 0}]}, "lines[1].quantity"),
    "an unknown condition": ({"lines": [{**ONE, "condition": "broken"}]}, "lines[0].condition"),
    "a condition in capitals": (
        {"lines": [{**ONE, "condition": "SELLABLE"}]},
        "lines[0].condition",
    ),
    "a null condition": ({"lines": [{**ONE, "condition": None}]}, "lines[0].condition"),
    "no condition": ({"lines": [{"sku": "TEE-M", "quantity": 1}]}, "lines[0].condition"),
    "no sku": ({"lines": [{"quantity": 1, "condition": "sellable"}]}, "lines[0].sku"),
    "an sku that is no key": ({"lines": [{**ONE, "sku": "tee m"}]}, "lines[0].sku"),
    "a reason over 200 characters": ({"lines": [{**ONE, "reason": "x" * 201}]}, "lines[0].reason"),
    "a reason with a NUL": ({"lines": [{**ONE, "reason": "torn\x00"}]}, "lines[0].reason"),
    "a reason as a number": ({"lines": [{**ONE, "reason": 5}]}, "lines[0].reason"),
    "no lines": ({"lines": None}, "lines"),
    "empty lines": ({"lines": []}, "lines"),
    "null lines": ({"lines": [None]}, "lines[0]"),
    "lines as a string": ({"lines": "TEE-M"}, "lines"),
    "101 lines": ({"lines": [ONE] * 101}, "lines"),
    "no order": ({"order_id": None}, "order_id"),
    "an order id as a string": ({"order_id": "1"}, "order_id"),
    "an order id as a float": ({"order_id": 1.0}, "order_id"),
    "an order id as a boolean": ({"order_id": True}, "order_id"),
    "a zero order id": ({"order_id": 0}, "order_id"),
    "a negative order id": ({"order_id": -1}, "order_id"),
    "an order id beyond 63 bits": ({"order_id": MAX_ID + 1}, "order_id"),
    "an order id beyond 64 bits": ({"order_id": 2**70}, "order_id"),
    "no location": ({"location": None}, "location"),
    "a location that is no key": ({"location": "-ST"}, "location"),
    "a location as a number": ({"location": 42}, "location"),
}


def test_a_bad_return_body_is_a_422_naming_its_field_and_changes_nothing(
    client, shop, france, unchanged, problem, subtests
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    good = {"order_id": sold["id"], "location": "ST-LYON", "lines": [ONE]}
    for case, (change, field) in BAD_BODIES.items():
        body = {k: v for k, v in {**good, **change}.items() if v is not None}
        with subtests.test(case), unchanged():
            problem(client.post("/v1/returns", json=body), 422, field=field)
    with subtests.test("a list instead of an object"), unchanged():
        problem(client.post("/v1/returns", json=[good]), 422, field="body")


def test_the_largest_order_id_is_looked_up_not_refused(client, france, unchanged, problem) -> None:
    with unchanged():
        response = give_back(client, MAX_ID, "ST-LYON", ONE)

    problem(response, 422, field="order_id")


# --------------------------------------------------------------------------- reading


def test_returns_are_listed_by_order_and_by_location_oldest_first(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    first = delivered(client, ("TEE-M", 3))
    second = delivered(client, ("TEE-M", 2))
    a = taken_back(client, first["id"], "ST-LYON", line("TEE-M", 1))
    b = taken_back(client, second["id"], "ST-NICE", line("TEE-M", 1, "damaged"))
    c = taken_back(client, first["id"], "ST-NICE", line("TEE-M", 2))

    assert list_returns(client) == {"returns": [a, b, c], "next": None}
    assert list_returns(client, order_id=first["id"]) == {"returns": [a, c], "next": None}
    assert list_returns(client, order_id=second["id"]) == {"returns": [b], "next": None}
    assert list_returns(client, location="ST-NICE") == {"returns": [b, c], "next": None}
    assert list_returns(client, location="ST-LYON") == {"returns": [a], "next": None}
    both = list_returns(client, order_id=first["id"], location="ST-NICE")
    assert both == {"returns": [c], "next": None}


def test_returns_are_paged_with_after_and_limit(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    sold = delivered(client, ("TEE-M", 5))
    made = [taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1)) for _ in range(5)]

    page = list_returns(client, limit=2)
    assert page == {"returns": made[:2], "next": made[1]["id"]}
    page = list_returns(client, limit=2, after=page["next"])
    assert page == {"returns": made[2:4], "next": made[3]["id"]}
    page = list_returns(client, limit=2, after=page["next"])
    assert page == {"returns": made[4:], "next": None}

    walked, after = [], 0
    for _ in range(len(made) + 1):  # following `next` one by one ends, having seen each once
        page = list_returns(client, order_id=sold["id"], limit=1, after=after)
        walked += page["returns"]
        if page["next"] is None:
            break
        after = page["next"]
    assert walked == made


def test_unknown_filters_answer_an_empty_page(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    made = taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))
    empty = {"returns": [], "next": None}

    assert list_returns(client, order_id=sold["id"] + 1000) == empty
    assert list_returns(client, order_id=MAX_ID) == empty
    assert list_returns(client, location="NOWHERE") == empty
    assert list_returns(client, location="WH-LYON") == empty  # exists, nothing came back there
    assert list_returns(client, order_id=sold["id"], location="ST-NICE") == empty
    assert list_returns(client, after=made["id"]) == empty
    assert list_returns(client, after=MAX_ID) == empty


def test_bad_return_reads_are_a_problem_naming_the_input(client, france, problem, subtests) -> None:
    cases = {
        "/v1/returns?order_id=0": (422, "order_id"),
        "/v1/returns?order_id=abc": (422, "order_id"),
        f"/v1/returns?order_id={MAX_ID + 1}": (422, "order_id"),
        "/v1/returns?location=-ST": (422, "location"),
        "/v1/returns?limit=0": (422, "limit"),
        "/v1/returns?limit=501": (422, "limit"),
        "/v1/returns?after=-1": (422, "after"),
        "/v1/returns/0": (422, "id"),
        "/v1/returns/abc": (422, "id"),
        f"/v1/returns/{MAX_ID + 1}": (422, "id"),
        "/v1/returns/4242": (404, "id"),
        f"/v1/returns/{MAX_ID}": (404, "id"),
    }
    for path, (status, field) in cases.items():
        with subtests.test(path):
            problem(client.get(path), status, field=field)


# --------------------------------------------------------------------------- the ledger


def test_a_return_writes_one_return_movement_per_sku_referencing_it(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    receive(shop, "MUG", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 3), ("MUG", 1))

    answer = taken_back(
        client,
        sold["id"],
        "ST-LYON",
        line("TEE-M", 2),
        line("MUG", 1, "damaged", "chipped"),
        line("TEE-M", 1, "damaged", "torn"),
    )

    reference = f"return:{answer['id']}"
    assert ledger(shop, "TEE-M") == [("return", "ST-LYON", 3, 0, 1, 0, reference)]
    assert ledger(shop, "MUG") == [("return", "ST-LYON", 1, 0, 1, 0, reference)]
    [movement] = [m for m in shop.ledger("TEE-M") if m["type"] == "return"]
    assert str(sold["id"]) in movement["reason"] and "torn" in movement["reason"]


def test_damaged_returned_units_may_later_be_disposed_of_or_made_sellable_again(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 3))
    answer = taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 3, "damaged", "stained"))
    web_before = ats(client)

    shop.moved("dispose", 1, sku="TEE-M", location="ST-LYON", reason="beyond repair")
    disposed = shop.position("TEE-M", "ST-LYON")
    shop.moved("restore", 1, sku="TEE-M", location="ST-LYON", reason="washed")
    restored = shop.position("TEE-M", "ST-LYON")

    assert (disposed["on_hand"], disposed["unsellable"], disposed["available"]) == (2, 2, 0)
    assert (restored["on_hand"], restored["unsellable"], restored["available"]) == (2, 1, 1)
    assert ats(client) == web_before + 1
    assert ledger(shop) == [
        ("return", "ST-LYON", 3, 0, 3, 0, f"return:{answer['id']}"),
        ("dispose", "ST-LYON", -1, 0, -1, 0, None),
        ("restore", "ST-LYON", 0, 0, -1, 0, None),
    ]


def test_restoring_more_than_is_unsellable_is_a_409_stock_conflict_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5, "ST-LYON": 4})
    sold = delivered(client, ("TEE-M", 2))
    taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1, "damaged"), line("TEE-M", 1))

    with unchanged():
        restore = shop.move("restore", 2, sku="TEE-M", location="ST-LYON")
        dispose = shop.move("dispose", 2, sku="TEE-M", location="ST-LYON")

    assert problem(restore, 409)["code"] == "stock-conflict"
    assert problem(dispose, 409)["code"] == "stock-conflict"
    shop.moved("restore", 1, sku="TEE-M", location="ST-LYON")
    assert shop.position("TEE-M", "ST-LYON")["available"] == 6


# --------------------------------------------------------------------------- idempotency


def test_a_return_posted_twice_with_the_same_key_changes_stock_once_and_answers_the_same(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 3))
    key = {"Idempotency-Key": "rma-2024-0001"}

    first = give_back(client, sold["id"], "ST-LYON", line("TEE-M", 2), headers=key)
    again = give_back(client, sold["id"], "ST-LYON", line("TEE-M", 2), headers=key)

    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert shop.position("TEE-M", "ST-LYON")["on_hand"] == 2
    assert len(ledger(shop)) == 1
    assert list_returns(client)["returns"] == [first.json()]
    assert len(events(client, "return.created")) == 1


def test_the_same_key_with_another_return_body_is_a_422_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 3))
    key = {"Idempotency-Key": "rma-2024-0002"}
    give_back(client, sold["id"], "ST-LYON", line("TEE-M", 1), headers=key)

    with unchanged():
        response = give_back(client, sold["id"], "ST-LYON", line("TEE-M", 2), headers=key)

    assert problem(response, 422, field="Idempotency-Key")["code"] == "idempotency-key-reused"
    assert shop.position("TEE-M", "ST-LYON")["on_hand"] == 1


# --------------------------------------------------------------------------- scopes


def test_a_key_that_may_only_read_returns_cannot_take_one_back(
    client, anonymous, db, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    made = taken_back(client, sold["id"], "ST-LYON", line("TEE-M", 1))
    reader = key_with(db, "returns:read")
    body = {"order_id": sold["id"], "location": "ST-LYON", "lines": [ONE]}

    with unchanged():
        refused = anonymous.post("/v1/returns", json=body, headers=reader)
        listed = anonymous.get("/v1/returns", headers=reader)
        found = anonymous.get(f"/v1/returns/{made['id']}", headers=reader)

    problem(refused, 403)
    assert listed.json() == {"returns": [made], "next": None}
    assert found.json() == made


def test_a_key_without_returns_read_cannot_read_returns(
    client, anonymous, db, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2))
    writer = key_with(db, "returns:write", "orders:read")

    taken = anonymous.post(
        "/v1/returns",
        json={"order_id": sold["id"], "location": "ST-LYON", "lines": [ONE]},
        headers=writer,
    )
    assert taken.status_code == 201, taken.text
    with unchanged():
        listed = anonymous.get("/v1/returns", headers=writer)
        found = anonymous.get(f"/v1/returns/{taken.json()['id']}", headers=writer)

    problem(listed, 403)
    problem(found, 403)


# --------------------------------------------------------------------------- the order


def test_a_return_adds_a_returned_entry_to_the_order_history_and_leaves_its_status(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    receive(shop, "MUG", {"WH-LYON": 5})
    sold = delivered(client, ("TEE-M", 2), ("MUG", 1))

    taken_back(client, sold["id"], "ST-NICE", line("TEE-M", 2), line("MUG", 1, "damaged"))

    found = read_order(client, sold["id"])
    assert found["status"] == "completed"
    assert found["history"][: len(sold["history"])] == sold["history"]
    [entry] = found["history"][len(sold["history"]) :]
    assert entry["event"] == "returned"
    assert "ST-NICE" in entry["detail"]
    assert "2 x TEE-M (sellable)" in entry["detail"] and "1 x MUG (damaged)" in entry["detail"]
