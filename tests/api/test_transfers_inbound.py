"""Stock on its way: a supplier's announced delivery is shipped at once, inbound at its destination
and not for sale, can only be received, and can stock a store not yet open; the stock view lists,
when asked, the transfers on their way to each location, soonest first and unknown etas last, until
they are received.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import (
    receive,
)
from transfers_helpers import (
    ETA,
    ZERO,
    act,
    acted,
    at,
    ats,
    counted,
    create,
    created,
    ledger,
    quantities,
    recently,
    transfer,
)

pytestmark = pytest.mark.usefixtures("books_balance")


def inbound_at(client: TestClient, location: str, sku: str = "TEE-M") -> list[dict[str, Any]]:
    response = client.get(f"/v1/stock/{sku}", params={"include": "inbound"})
    assert response.status_code == 200, response.text
    [position] = [p for p in response.json()["positions"] if p["location"] == location]
    found: list[dict[str, Any]] = position["inbound_transfers"]
    return found


# --------------------------------------------------------------------------- from a supplier


def test_a_supplier_delivery_is_shipped_at_once_with_its_units_inbound(
    client, shop, france
) -> None:
    receive(shop, "MUG", {"WH-LYON": 3})

    response = create(
        client,
        transfer(("MUG", 50), origin=None, to="WH-LYON", eta=ETA, reference="BL-88213"),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert recently(body["created_at"])
    assert body == {
        "id": body["id"],
        "status": "shipped",
        "from": None,
        "to": "WH-LYON",
        "eta": ETA,
        "reference": "BL-88213",
        "reason": None,
        "created_at": body["created_at"],
        "shipped_at": body["created_at"],
        "received_at": None,
        "cancelled_at": None,
        "lines": [{"sku": "MUG", "requested": 50, "quantity": 50, "received": None}],
        "discrepancies": [],
    }
    assert at(shop, "WH-LYON", "MUG") == quantities(on_hand=3, inbound=50)
    assert shop.stock("MUG")["total"] == quantities(on_hand=3, inbound=50)
    assert ats(client, "MUG") == 3  # in transit is not for sale
    assert ledger(shop, "MUG") == [("inbound", "WH-LYON", 0, 0, 50, f"transfer:{body['id']}")]


def test_a_supplier_delivery_cannot_be_shipped_or_cancelled_but_is_received(
    client, shop, france, unchanged, problem
) -> None:
    body = created(client, ("MUG", 50), origin=None, to="WH-LYON")

    for action in ("ship", "cancel"):
        with unchanged():
            response = act(client, body["id"], action)
        refused = problem(response, 409)
        assert refused["code"] == "invalid-transition"
        assert (refused["current_status"], refused["action"]) == ("shipped", action)

    received = acted(client, body["id"], "receive", counted(("MUG", 48)))

    assert received["status"] == "received"
    assert received["discrepancies"] == [
        {"sku": "MUG", "shipped": 50, "received": 48, "difference": -2}
    ]
    assert at(shop, "WH-LYON", "MUG") == quantities(on_hand=48)


def test_a_store_not_yet_open_is_stocked_by_a_supplier_and_a_closed_one_emptied(
    client, shop, france
) -> None:
    assert shop.client.get("/v1/locations/ST-CLOSED").json()["active"] is False
    delivery = created(client, ("TEE-M", 12), origin=None, to="ST-CLOSED")
    acted(client, delivery["id"], "receive", counted(("TEE-M", 12)))
    assert at(shop, "ST-CLOSED") == quantities(on_hand=12)

    emptying = created(client, ("TEE-M", 12), origin="ST-CLOSED", to="WH-PARIS")
    assert at(shop, "ST-CLOSED") == quantities(on_hand=12, reserved=12)
    acted(client, emptying["id"], "ship")
    acted(client, emptying["id"], "receive", counted(("TEE-M", 12)))

    assert at(shop, "ST-CLOSED") == ZERO
    assert at(shop, "WH-PARIS") == quantities(on_hand=12)


# --------------------------------------------------------------------------- in the stock view


def test_the_stock_of_an_item_lists_the_transfers_on_their_way_soonest_first_unknown_last(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    later = created(client, ("TEE-M", 20), origin=None, eta="2026-12-03T08:00:00Z")
    unknown = created(client, ("TEE-M", 30), origin=None)
    sooner = created(client, ("TEE-M", 4), eta="2026-12-01T10:00:00+02:00")
    shipped = acted(client, sooner["id"], "ship")
    created(client, ("TEE-M", 7), origin=None, to="WH-LYON")
    created(client, ("TEE-M", 1))  # open: not on its way yet

    response = client.get("/v1/stock/TEE-M", params={"include": "inbound"})

    assert response.status_code == 200, response.text
    body = response.json()
    coming = {p["location"]: p["inbound_transfers"] for p in body["positions"]}
    assert coming == {
        "WH-PARIS": [],
        "WH-LYON": coming["WH-LYON"],
        "ST-LYON": [
            {
                "transfer_id": sooner["id"],
                "from": "WH-PARIS",
                "quantity": 4,
                "eta": ETA,
                "shipped_at": shipped["shipped_at"],
            },
            {
                "transfer_id": later["id"],
                "from": None,
                "quantity": 20,
                "eta": "2026-12-03T08:00:00Z",
                "shipped_at": later["shipped_at"],
            },
            {
                "transfer_id": unknown["id"],
                "from": None,
                "quantity": 30,
                "eta": None,
                "shipped_at": unknown["shipped_at"],
            },
        ],
    }
    assert [x["quantity"] for x in coming["WH-LYON"]] == [7]
    assert body["total"] == quantities(on_hand=6, reserved=1, inbound=61)


def test_without_include_the_stock_lists_no_transfers_and_a_bad_include_is_a_422(
    client, shop, france, problem
) -> None:
    created(client, ("TEE-M", 20), origin=None)

    plain = shop.stock("TEE-M")

    assert all("inbound_transfers" not in p for p in plain["positions"])
    assert plain["positions"] == [{"location": "ST-LYON", **quantities(inbound=20)}]
    problem(client.get("/v1/stock/TEE-M", params={"include": "bogus"}), 422, field="include")


def test_a_received_transfer_is_no_longer_on_its_way(client, shop, france) -> None:
    first = created(client, ("TEE-M", 20), origin=None)
    second = created(client, ("TEE-M", 5), origin=None)

    acted(client, first["id"], "receive", counted(("TEE-M", 20)))

    assert [x["transfer_id"] for x in inbound_at(client, "ST-LYON")] == [second["id"]]
    assert at(shop, "ST-LYON") == quantities(on_hand=20, inbound=5)
