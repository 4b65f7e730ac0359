"""An order naming a cart hold (`reservation_id`) takes the held units over where they were held,
one fulfilment per place, without moving stock; a hold that ended or that does not match the order
is refused and changes nothing; the same order sent again answers the order it made.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from orders_helpers import (
    LYON,
    events,
    held,
    moves,
    order,
    pickup_at,
    place,
    placed,
    receive,
    reserved,
    where,
)

pytestmark = pytest.mark.usefixtures("books_balance")


def test_a_hold_becomes_the_orders_allocation_where_it_was_held_without_moving_stock(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10})
    receive(shop, "MUG", {"WH-LYON": 10, "WH-PARIS": 10})
    hold = held(client, ("TEE-M", 3), ("MUG", 1), location="WH-PARIS")
    ledger_before = moves(shop)

    body = placed(client, ("TEE-M", 3), ("MUG", 1), reservation_id=hold["id"])

    # Villeurbanne is next to Lyon, yet the order is fulfilled where its units were held.
    assert body["status"] == "allocated"
    assert [(loc, status, sorted(lines)) for loc, status, lines in where(body)] == [
        ("WH-PARIS", "allocated", [("MUG", 1), ("TEE-M", 3)])
    ]
    assert reserved(shop) == {"WH-LYON": 0, "WH-PARIS": 3}
    assert reserved(shop, "MUG") == {"WH-LYON": 0, "WH-PARIS": 1}
    assert moves(shop) == ledger_before  # no stock moved
    assert client.get(f"/v1/reservations/{hold['id']}").json()["status"] == "ordered"
    assert events(client, "reservation.ordered") == [
        {"id": hold["id"], "status": "ordered", "order_id": body["id"]}
    ]
    decision = client.get(f"/v1/orders/{body['id']}/sourcing").json()["decision"]
    assert decision["strategy"] == "reservation"
    assert decision["plan"] == [
        {
            "location": "WH-PARIS",
            "lines": [{"sku": "TEE-M", "quantity": 3}, {"sku": "MUG", "quantity": 1}],
        }
    ]


def test_a_hold_split_over_two_places_becomes_two_fulfilments(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "ST-LYON": 10})
    hold = held(client, ("TEE-M", 5), ship_to=LYON)
    assert sorted((a["location"], a["quantity"]) for a in hold["allocations"]) == [
        ("ST-LYON", 3),
        ("WH-LYON", 2),
    ]

    body = placed(client, ("TEE-M", 5), reservation_id=hold["id"])

    assert sorted(where(body)) == [
        ("ST-LYON", "allocated", [("TEE-M", 3)]),
        ("WH-LYON", "allocated", [("TEE-M", 2)]),
    ]
    assert reserved(shop) == {"ST-LYON": 3, "WH-LYON": 2}


def test_a_pickup_order_takes_over_a_hold_at_its_store(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3})
    hold = held(client, ("TEE-M", 2), location="ST-LYON")

    body = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"), reservation_id=hold["id"])

    assert where(body) == [("ST-LYON", "allocated", [("TEE-M", 2)])]
    assert reserved(shop) == {"ST-LYON": 2}


def test_a_hold_that_ended_cannot_become_an_order(client, shop, france, unchanged, problem) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    released = held(client, ("TEE-M", 1))
    assert client.delete(f"/v1/reservations/{released['id']}").status_code == 200
    ordered = held(client, ("TEE-M", 2))
    placed(client, ("TEE-M", 2), reservation_id=ordered["id"])
    expiring = held(client, ("TEE-M", 3), ttl_seconds=1)
    left = dt.datetime.fromisoformat(expiring["expires_at"]) - dt.datetime.now(dt.UTC)
    time.sleep(max(0.0, left.total_seconds()) + 0.1)

    for hold, quantity in ((released, 1), (ordered, 2), (expiring, 3)):
        with unchanged():
            response = place(client, order(("TEE-M", quantity), reservation_id=hold["id"]))
        body = problem(response, 409, field="reservation_id")
        assert body["code"] == "reservation-ended"


def test_a_hold_that_does_not_match_the_order_is_a_422_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    hold = held(client, ("TEE-M", 2), ("MUG", 1), location="WH-LYON")
    mismatches = {
        "fewer units": order(("TEE-M", 1), ("MUG", 1)),
        "a line missing": order(("TEE-M", 2)),
        "a line more": order(("TEE-M", 2), ("MUG", 1), ("CAP", 1)),
        "another channel": order(("TEE-M", 2), ("MUG", 1), channel="mp"),
        "a pickup elsewhere": order(("TEE-M", 2), ("MUG", 1), delivery=pickup_at("ST-LYON")),
    }

    for case, body in mismatches.items():
        with unchanged():
            response = place(client, {**body, "reservation_id": hold["id"]})
        assert response.status_code == 422, (case, response.text)
        problem(response, 422, field="reservation_id")
    with unchanged():
        response = place(client, order(("TEE-M", 2), ("MUG", 1), reservation_id="no-such-hold"))
    problem(response, 422, field="reservation_id")
    assert client.get(f"/v1/reservations/{hold['id']}").json()["status"] == "active"


def test_an_order_taking_over_a_hold_sent_again_answers_the_same_order(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 4})
    hold = held(client, ("TEE-M", 1))
    body = order(("TEE-M", 1), reservation_id=hold["id"], external_id="WEB-1001")
    first = place(client, body)
    assert first.status_code == 201, first.text

    again = place(client, body)  # the shop's retry after a lost answer

    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert reserved(shop) == {"WH-LYON": 1}
