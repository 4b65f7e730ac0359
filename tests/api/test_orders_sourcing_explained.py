"""Why an order is fulfilled where it is: its sourcing lists every candidate location with its
verdict, distance, cost and why (an in-store sale was not sourced), and a preview answers the
decision an order would get, backorders included, reserving nothing and refusing with no 409; a bad
preview is the problem the order would be.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from orders_helpers import (
    BELLECOUR,
    GOOD,
    LYON_BELLECOUR,
    good_but,
    good_but_line,
    order,
    pickup_at,
    place,
    placed,
    receive,
    ship_to,
    sold_at,
    where,
)

pytestmark = pytest.mark.usefixtures("books_balance")


def test_the_sourcing_of_an_order_lists_every_candidate_with_its_verdict_and_why(
    client, shop, france
) -> None:
    shop.location(
        "ST-LYON",
        name="Lyon Bellecour store",
        type="store",
        pickup_enabled=True,
        daily_capacity=1,
        **LYON_BELLECOUR,
    )
    receive(shop, "TEE-M", {"ST-LYON": 5, "WH-LYON": 2, "WH-PARIS": 10})
    first = placed(client, ("TEE-M", 1), delivery=ship_to(BELLECOUR))
    assert where(first) == [("ST-LYON", "allocated", [("TEE-M", 1)])]

    body = placed(client, ("TEE-M", 3), delivery=ship_to(BELLECOUR))
    response = client.get(f"/v1/orders/{body['id']}/sourcing")

    assert response.status_code == 200, response.text
    sourcing = response.json()
    assert sourcing["order_id"] == body["id"]
    assert sourcing["earlier"] == []
    decision = sourcing["decision"]
    assert decision["trigger"] == "order"
    assert dt.datetime.fromisoformat(decision["at"]).utcoffset() == dt.timedelta(0)
    assert decision["strategy"] == "single"
    assert decision["plan"] == [
        {"location": "WH-PARIS", "lines": [{"sku": "TEE-M", "quantity": 3}]}
    ]
    assert decision["backorders"] == []
    assert decision["bounded"] is False
    assert "WH-PARIS" in decision["reason"]
    considered = {c["location"]: c for c in decision["considered"]}
    assert decision["considered"][0]["location"] == "WH-PARIS"  # the chosen first
    assert {
        code: (c["verdict"], c["sellable"], c["covers"], c["priority"])
        for code, c in considered.items()
    } == {
        "WH-PARIS": ("chosen", {"TEE-M": 10}, 3, 100),
        "WH-LYON": ("not chosen", {"TEE-M": 2}, 2, 100),
        "ST-LYON": ("at capacity", {"TEE-M": 4}, 3, 100),
    }
    assert considered["ST-LYON"]["distance_km"] == pytest.approx(0.0, abs=0.01)
    assert considered["WH-LYON"]["distance_km"] == pytest.approx(0.75, abs=0.1)
    assert considered["WH-PARIS"]["distance_km"] == pytest.approx(392, abs=5)
    assert decision["cost"] == pytest.approx(considered["WH-PARIS"]["cost"])
    assert considered["WH-LYON"]["cost"] < considered["WH-PARIS"]["cost"]
    assert all(c["why"] for c in decision["considered"])
    assert "capacity" in considered["ST-LYON"]["why"]
    for c in decision["considered"]:  # human-sized: 0.1 km, a cost to the cent
        assert c["distance_km"] == round(c["distance_km"], 1)
        assert c["cost"] == round(c["cost"], 2)
        assert f"{c['distance_km']:.1f} km, cost {c['cost']:.2f}" in c["why"]


def test_an_in_store_sale_was_not_sourced(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 5})
    body = placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-NICE"))

    response = client.get(f"/v1/orders/{body['id']}/sourcing")

    assert response.status_code == 200, response.text
    assert response.json() == {"order_id": body["id"], "decision": None, "earlier": []}


def test_a_preview_is_the_decision_the_order_then_gets_and_reserves_nothing(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "WH-PARIS": 10})
    receive(shop, "MUG", {"WH-LYON": 5})
    body = order(("TEE-M", 3), ("MUG", 1))

    with unchanged():
        response = client.post("/v1/sourcing/preview", json=body)

    assert response.status_code == 200, response.text
    preview = response.json()
    assert set(preview) == {
        "plan",
        "backorders",
        "considered",
        "strategy",
        "reason",
        "cost",
        "searched",
        "bounded",
    }
    assert preview["strategy"] == "pair"
    assert preview["plan"] == [
        {
            "location": "WH-LYON",
            "lines": [{"sku": "TEE-M", "quantity": 2}, {"sku": "MUG", "quantity": 1}],
        },
        {"location": "WH-PARIS", "lines": [{"sku": "TEE-M", "quantity": 1}]},
    ]
    placed_order = place(client, body).json()
    decision = client.get(f"/v1/orders/{placed_order['id']}/sourcing").json()["decision"]
    assert {k: decision[k] for k in preview} == preview


def test_a_preview_of_what_is_not_there_shows_the_backorders_without_a_409(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2})

    with unchanged():
        response = client.post("/v1/sourcing/preview", json=order(("TEE-M", 5), ("CAP", 1)))

    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["plan"] == [{"location": "WH-LYON", "lines": [{"sku": "TEE-M", "quantity": 2}]}]
    assert preview["backorders"] == [{"sku": "TEE-M", "quantity": 3}, {"sku": "CAP", "quantity": 1}]


PREVIEW_ERRORS: dict[str, tuple[dict[str, Any], int, str]] = {
    "an unknown channel": (good_but(channel="nope"), 422, "channel"),
    "the same sku on two lines": (
        good_but(lines=[*GOOD["lines"], GOOD["lines"][0]]),
        422,
        "lines[2].sku",
    ),
    "an in-store sale, which is not sourced": (
        good_but(delivery=sold_at("ST-NICE")),
        422,
        "delivery.method",
    ),
    "a pickup at a warehouse": (good_but(delivery=pickup_at("WH-LYON")), 422, "delivery.location"),
    "a line of zero units": (good_but_line(quantity=0), 422, "lines[0].quantity"),
}


def test_a_bad_preview_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem, subtests
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "ST-NICE": 2})

    for case, (body, status, field) in PREVIEW_ERRORS.items():
        with subtests.test(case), unchanged():
            problem(client.post("/v1/sourcing/preview", json=body), status, field=field)


def test_a_preview_of_an_unknown_item_is_a_422_as_the_order_would_be(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "MUG", {"WH-LYON": 2})
    body = good_but(lines=[*GOOD["lines"], {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}])
    problem(place(client, body), 422, field="lines[2].sku")

    with unchanged():
        response = client.post("/v1/sourcing/preview", json=body)

    problem(response, 422, field="lines[2].sku")
