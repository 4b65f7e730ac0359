"""Transfers over HTTP: stock moving between locations, or announced by a supplier, in transit
until it arrives (issue 5).

    from a location   open → shipped → received      (open → cancelled)
    from a supplier   shipped → received             (announced: already on its way)

The network, the helpers and the closing check of the books come from orders_helpers.py: after
every scenario the ledger replays to the positions, and each position's `reserved` is exactly
what open fulfilments, active holds and open transfers promise there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from orders_helpers import (
    VERSAILLES,
    assert_books_balance,
    events,
    placed,
    read_order,
    receive,
    set_up_france,
    ship_to,
    sold_at,
    where,
)

from omnistock.db import Database
from scoped_keys import key_with

TRANSFERS = "/v1/transfers"
ZERO = {"on_hand": 0, "reserved": 0, "unsellable": 0, "inbound": 0, "available": 0}
ETA = "2026-12-01T08:00:00Z"

#: What each status allows, written out from the issue (not from the code under test).
ALLOWED = {
    "open": {"ship": "shipped", "cancel": "cancelled"},
    "shipped": {"receive": "received"},
    "received": {},
    "cancelled": {},
}


@pytest.fixture(autouse=True)
def books_balance_after_each_scenario(db: Database) -> Iterator[None]:
    yield
    assert_books_balance(db)


@pytest.fixture
def france(shop: Any) -> None:
    set_up_france(shop)


# --------------------------------------------------------------------------- helpers


def transfer(
    *lines: tuple[str, int], origin: str | None = "WH-PARIS", to: str = "ST-LYON", **fields: Any
) -> dict[str, Any]:
    """A transfer body from `origin` (None: a supplier's delivery) to `to`."""
    body: dict[str, Any] = {
        "to": to,
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        **fields,
    }
    if origin is not None:
        body["from"] = origin
    return body


def create(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post(TRANSFERS, json=body, headers=headers)


def created(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """A transfer that must be accepted (201); returns it."""
    response = create(client, transfer(*lines, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def counted(*lines: tuple[str, int]) -> dict[str, Any]:
    """A receive body: the units counted at the destination."""
    return {"lines": [{"sku": sku, "quantity": q} for sku, q in lines]}


def act(
    client: TestClient,
    transfer_id: int,
    action: str,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post(f"{TRANSFERS}/{transfer_id}/{action}", json=body, headers=headers)


def acted(
    client: TestClient, transfer_id: int, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An action that must be accepted (200); returns the transfer after it."""
    response = act(client, transfer_id, action, body)
    assert response.status_code == 200, (action, response.text)
    answer: dict[str, Any] = response.json()
    return answer


def read(client: TestClient, transfer_id: int) -> dict[str, Any]:
    response = client.get(f"{TRANSFERS}/{transfer_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def listed(client: TestClient, **params: Any) -> list[int]:
    response = client.get(TRANSFERS, params=params)
    assert response.status_code == 200, response.text
    return [x["id"] for x in response.json()["transfers"]]


def ats(client: TestClient, sku: str = "TEE-M") -> int:
    response = client.get(f"/v1/availability/{sku}", params={"channel": "web"})
    assert response.status_code == 200, response.text
    units: int = response.json()["available_to_sell"]
    return units


def at(shop: Any, location: str, sku: str = "TEE-M") -> dict[str, int]:
    """The five quantities of `sku` at `location`."""
    found: dict[str, int] = shop.position(sku, location)
    return found


def quantities(
    on_hand: int = 0, reserved: int = 0, unsellable: int = 0, inbound: int = 0
) -> dict[str, int]:
    available = on_hand - reserved - unsellable
    return {
        "on_hand": on_hand,
        "reserved": reserved,
        "unsellable": unsellable,
        "inbound": inbound,
        "available": available,
    }


def ledger(shop: Any, sku: str = "TEE-M") -> list[tuple[Any, ...]]:
    """The ledger of a sku but its receipts: (type, location, on_hand, reserved, inbound,
    reference)."""
    return [
        (m["type"], m["location"], m["on_hand"], m["reserved"], m["inbound"], m["reference"])
        for m in shop.ledger(sku)
        if m["type"] != "receipt"
    ]


def inbound_at(client: TestClient, location: str, sku: str = "TEE-M") -> list[dict[str, Any]]:
    response = client.get(f"/v1/stock/{sku}", params={"include": "inbound"})
    assert response.status_code == 200, response.text
    [position] = [p for p in response.json()["positions"] if p["location"] == location]
    found: list[dict[str, Any]] = position["inbound_transfers"]
    return found


def in_status(client: TestClient, shop: Any, status: str) -> dict[str, Any]:
    """A transfer of 4 TEE-M from WH-PARIS (10 there) to ST-LYON, brought to `status`."""
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    found = created(client, ("TEE-M", 4))
    if status in ("shipped", "received"):
        found = acted(client, found["id"], "ship")
    if status == "received":
        found = acted(client, found["id"], "receive", counted(("TEE-M", 4)))
    if status == "cancelled":
        found = acted(client, found["id"], "cancel")
    assert found["status"] == status
    return found


def recently(stamp: str) -> bool:
    """An ISO 8601 UTC time within the last minute (no timing: only that it is now-ish)."""
    assert stamp.endswith("Z"), stamp
    moment = dt.datetime.fromisoformat(stamp)
    return dt.timedelta(0) <= dt.datetime.now(dt.UTC) - moment < dt.timedelta(minutes=1)


# --------------------------------------------------------------------------- from a location


def test_a_transfer_from_a_location_answers_201_open_with_every_field(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})

    response = create(
        client, transfer(("TEE-M", 4), eta="2026-12-01T10:00:00+02:00", reference="TR-2026-001")
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], int)
    assert recently(body["created_at"])
    assert body == {
        "id": body["id"],
        "status": "open",
        "from": "WH-PARIS",
        "to": "ST-LYON",
        "eta": ETA,  # in UTC
        "reference": "TR-2026-001",
        "reason": None,
        "created_at": body["created_at"],
        "shipped_at": None,
        "received_at": None,
        "cancelled_at": None,
        "lines": [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": None}],
        "discrepancies": [],
    }
    assert read(client, body["id"]) == body


def test_a_transfer_reserves_its_units_at_the_origin_and_the_web_sells_that_many_fewer(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    assert ats(client) == 10

    body = created(client, ("TEE-M", 4))

    assert at(shop, "WH-PARIS") == quantities(on_hand=10, reserved=4)
    assert at(shop, "ST-LYON") == ZERO
    assert ats(client) == 6
    assert ledger(shop) == [("reserve", "WH-PARIS", 0, 4, 0, f"transfer:{body['id']}")]


def test_a_transfer_of_several_lines_reserves_each_of_them(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 5})

    body = created(client, ("TEE-M", 4), ("MUG", 5), to="WH-LYON")

    assert sorted(body["lines"], key=lambda x: x["sku"]) == [
        {"sku": "MUG", "requested": 5, "quantity": 5, "received": None},
        {"sku": "TEE-M", "requested": 4, "quantity": 4, "received": None},
    ]
    assert at(shop, "WH-PARIS", "TEE-M") == quantities(on_hand=10, reserved=4)
    assert at(shop, "WH-PARIS", "MUG") == quantities(on_hand=5, reserved=5)
    assert ats(client, "MUG") == 0


def test_a_transfer_short_on_some_lines_is_a_409_naming_each_and_reserves_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 2})

    with unchanged():
        response = create(client, transfer(("TEE-M", 4), ("MUG", 3), ("CAP", 1)))

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert sorted(body["lines"], key=lambda x: x["sku"]) == [
        {"sku": "CAP", "requested": 1, "available": 0},  # never stocked there
        {"sku": "MUG", "requested": 3, "available": 2},
    ]


def test_a_transfer_cannot_take_units_promised_to_an_order_or_held_by_a_cart(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    order = placed(client, ("TEE-M", 4), delivery=ship_to(VERSAILLES))
    assert where(order) == [("WH-PARIS", "allocated", [("TEE-M", 4)])]
    response = client.post(
        "/v1/reservations",
        json={"channel": "web", "location": "WH-PARIS", "lines": [{"sku": "TEE-M", "quantity": 3}]},
    )
    assert response.status_code == 201, response.text

    with unchanged():
        refused = create(client, transfer(("TEE-M", 4)))

    body = problem(refused, 409)
    assert body["lines"] == [{"sku": "TEE-M", "requested": 4, "available": 3}]
    created(client, ("TEE-M", 3))
    assert at(shop, "WH-PARIS") == quantities(on_hand=10, reserved=10)


# --------------------------------------------------------------------------- the numbers


def test_shipping_takes_the_units_off_the_origin_and_shows_them_inbound_at_the_destination(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    before = shop.stock("TEE-M")["total"]
    assert before == quantities(on_hand=10, reserved=4)

    shipped = acted(client, body["id"], "ship")

    assert shipped["status"] == "shipped"
    assert recently(shipped["shipped_at"])
    assert shipped["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": None}]
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
    assert at(shop, "ST-LYON") == quantities(inbound=4)
    total = shop.stock("TEE-M")["total"]
    assert total == quantities(on_hand=6, inbound=4)
    assert total["available"] == before["available"] == 6
    assert ats(client) == 6
    reference = f"transfer:{body['id']}"
    assert ledger(shop)[1:] == [
        ("transfer_out", "WH-PARIS", -4, -4, 0, reference),
        ("inbound", "ST-LYON", 0, 0, 4, reference),
    ]


def test_receiving_what_was_shipped_puts_it_on_hand_with_no_discrepancy(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 4)))

    assert received["status"] == "received"
    assert recently(received["received_at"])
    assert received["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": 4}]
    assert received["discrepancies"] == []
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
    assert at(shop, "ST-LYON") == quantities(on_hand=4)
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=10)
    assert ats(client) == 10
    assert ledger(shop)[-1] == ("transfer_in", "ST-LYON", 4, 0, -4, f"transfer:{body['id']}")


def test_a_shortfall_is_a_discrepancy_and_leaves_nothing_inbound(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 3)))

    assert received["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": 3}]
    assert received["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 3, "difference": -1}
    ]
    assert at(shop, "ST-LYON") == quantities(on_hand=3)
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=9)
    reference = f"transfer:{body['id']}"
    assert ledger(shop)[-2:] == [
        ("transfer_in", "ST-LYON", 3, 0, -3, reference),
        ("discrepancy", "ST-LYON", 0, 0, -1, reference),
    ]


def test_a_surplus_is_a_discrepancy_and_goes_on_hand(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 6)))

    assert received["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 6, "difference": 2}
    ]
    assert at(shop, "ST-LYON") == quantities(on_hand=6)
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=12)
    reference = f"transfer:{body['id']}"
    assert ledger(shop)[-2:] == [
        ("transfer_in", "ST-LYON", 4, 0, -4, reference),
        ("discrepancy", "ST-LYON", 2, 0, 0, reference),
    ]


def test_a_transfer_received_with_nothing_counted_lost_every_unit(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", {"lines": []})

    assert received["status"] == "received"
    assert received["lines"] == [{"sku": "TEE-M", "requested": 4, "quantity": 4, "received": 0}]
    assert received["discrepancies"] == [
        {"sku": "TEE-M", "shipped": 4, "received": 0, "difference": -4}
    ]
    assert at(shop, "ST-LYON") == ZERO
    assert shop.stock("TEE-M")["total"] == quantities(on_hand=6)
    assert ledger(shop)[-1] == ("discrepancy", "ST-LYON", 0, 0, -4, f"transfer:{body['id']}")
    assert "transfer_in" not in [m[0] for m in ledger(shop)]


def test_a_sku_left_out_of_the_count_did_not_arrive(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 5})
    body = created(client, ("TEE-M", 4), ("MUG", 2))
    acted(client, body["id"], "ship")

    received = acted(client, body["id"], "receive", counted(("TEE-M", 4)))

    assert received["discrepancies"] == [
        {"sku": "MUG", "shipped": 2, "received": 0, "difference": -2}
    ]
    assert at(shop, "ST-LYON", "TEE-M") == quantities(on_hand=4)
    assert at(shop, "ST-LYON", "MUG") == ZERO


BAD_COUNTS = {
    "a sku not on the transfer": (counted(("MUG", 1)), "lines[0].sku"),
    "a sku counted twice": (counted(("TEE-M", 2), ("TEE-M", 2)), "lines[1].sku"),
    "a negative quantity": (counted(("TEE-M", -1)), "lines[0].quantity"),
    "a quantity as a string": ({"lines": [{"sku": "TEE-M", "quantity": "4"}]}, "lines[0].quantity"),
    "no lines at all": ({}, "lines"),
    "a line with no sku": ({"lines": [{"quantity": 4}]}, "lines[0].sku"),
}


@pytest.mark.parametrize("body, field", BAD_COUNTS.values(), ids=BAD_COUNTS.keys())
def test_a_bad_count_is_a_422_naming_the_line_and_the_transfer_stays_shipped(
    client, shop, france, unchanged, problem, body, field
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    receive(shop, "MUG", {"WH-PARIS": 10})
    found = created(client, ("TEE-M", 4))
    acted(client, found["id"], "ship")

    with unchanged():
        response = act(client, found["id"], "receive", body)

    problem(response, 422, field=field)
    assert read(client, found["id"])["status"] == "shipped"


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


# --------------------------------------------------------------------------- the state machine


@pytest.mark.parametrize("action", ["ship", "receive", "cancel"])
@pytest.mark.parametrize("status", list(ALLOWED))
def test_each_action_from_each_status_moves_the_transfer_or_is_a_409_that_says_why(
    client, shop, france, unchanged, problem, status, action
) -> None:
    found = in_status(client, shop, status)
    body = counted(("TEE-M", 4)) if action == "receive" else None

    if action in ALLOWED[status]:
        answer = acted(client, found["id"], action, body)
        assert answer["status"] == ALLOWED[status][action]
        assert read(client, found["id"]) == answer
        return
    with unchanged():
        response = act(client, found["id"], action, body)
    refused = problem(response, 409)
    assert refused["code"] == "invalid-transition"
    assert (refused["current_status"], refused["action"]) == (status, action)


def test_an_unknown_transfer_is_a_404_whatever_is_asked(client, france, unchanged, problem) -> None:
    with unchanged():
        problem(client.get(f"{TRANSFERS}/999"), 404, field="id")
        problem(act(client, 999, "ship"), 404, field="id")
        problem(act(client, 999, "cancel"), 404, field="id")
        problem(act(client, 999, "receive", counted()), 404, field="id")


def test_an_unknown_action_or_method_on_a_transfer_is_a_404_or_405(
    client, shop, france, unchanged, problem
) -> None:
    found = in_status(client, shop, "open")

    with unchanged():
        unknown = act(client, found["id"], "deliver")
        wrong_method = client.get(f"{TRANSFERS}/{found['id']}/ship")
        malformed = client.get(f"{TRANSFERS}/first")

    assert unknown.status_code in (404, 405)
    problem(unknown, unknown.status_code)
    problem(wrong_method, 405)
    problem(malformed, 422, field="id")


def test_cancelling_an_open_transfer_frees_the_origins_units(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    body = created(client, ("TEE-M", 4))
    assert ats(client) == 6

    cancelled = acted(client, body["id"], "cancel")

    assert cancelled["status"] == "cancelled"
    assert recently(cancelled["cancelled_at"])
    assert cancelled["shipped_at"] is None
    assert at(shop, "WH-PARIS") == quantities(on_hand=10)
    assert at(shop, "ST-LYON") == ZERO
    assert ats(client) == 10
    assert ledger(shop)[-1] == ("release", "WH-PARIS", 0, -4, 0, f"transfer:{body['id']}")


def test_each_step_is_in_the_event_feed_as_the_api_answered_it(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    first = created(client, ("TEE-M", 4))
    shipped = acted(client, first["id"], "ship")
    received = acted(client, first["id"], "receive", counted(("TEE-M", 3)))
    second = created(client, ("TEE-M", 2), to="WH-LYON")
    cancelled = acted(client, second["id"], "cancel")

    assert events(client, "transfer.created") == [first, second]
    assert events(client, "transfer.shipped") == [shipped]
    assert events(client, "transfer.received") == [received]
    assert events(client, "transfer.cancelled") == [cancelled]
    assert events(client, "transfer.changed") == []
    assert [read(client, first["id"]), read(client, second["id"])] == [received, cancelled]


# --------------------------------------------------------------------------- unified view


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


# --------------------------------------------------------------------------- listing


@pytest.fixture
def five_transfers(client, shop, france) -> dict[str, int]:
    """One transfer in each status, and two shipped, with their ids by name."""
    receive(shop, "TEE-M", {"WH-PARIS": 10, "WH-LYON": 10})
    paris_lyon = created(client, ("TEE-M", 1))
    paris_warehouse = created(client, ("TEE-M", 1), to="WH-LYON")
    acted(client, paris_warehouse["id"], "ship")
    supplier_lyon = created(client, ("TEE-M", 9), origin=None)
    lyon_nice = created(client, ("TEE-M", 2), origin="WH-LYON", to="ST-NICE")
    acted(client, lyon_nice["id"], "cancel")
    supplier_paris = created(client, ("TEE-M", 3), origin=None, to="WH-PARIS")
    acted(client, supplier_paris["id"], "receive", counted(("TEE-M", 3)))
    return {
        "paris-lyon": paris_lyon["id"],
        "paris-warehouse": paris_warehouse["id"],
        "supplier-lyon": supplier_lyon["id"],
        "lyon-nice": lyon_nice["id"],
        "supplier-paris": supplier_paris["id"],
    }


def test_transfers_are_listed_oldest_first_by_status_and_location(client, five_transfers) -> None:
    ids = five_transfers

    assert listed(client) == list(ids.values())
    assert listed(client, status="open") == [ids["paris-lyon"]]
    assert listed(client, status="shipped") == [ids["paris-warehouse"], ids["supplier-lyon"]]
    assert listed(client, status="received") == [ids["supplier-paris"]]
    assert listed(client, status="cancelled") == [ids["lyon-nice"]]
    assert listed(client, location="ST-LYON") == [ids["paris-lyon"], ids["supplier-lyon"]]
    assert listed(client, location="WH-LYON") == [ids["paris-warehouse"], ids["lyon-nice"]]
    assert listed(client, location="WH-PARIS", status="shipped") == [ids["paris-warehouse"]]
    assert listed(client, location="ST-CLOSED") == []


def test_a_listed_transfer_is_the_transfer_as_read_alone(client, five_transfers) -> None:
    page = client.get(TRANSFERS).json()["transfers"]

    assert page == [read(client, transfer_id) for transfer_id in five_transfers.values()]


def test_transfers_come_a_page_at_a_time_and_next_leads_to_the_following_page(
    client, five_transfers
) -> None:
    ids = list(five_transfers.values())

    first = client.get(TRANSFERS, params={"limit": 2}).json()
    second = client.get(TRANSFERS, params={"limit": 2, "after": first["next"]}).json()
    third = client.get(TRANSFERS, params={"limit": 2, "after": second["next"]}).json()

    assert [x["id"] for x in first["transfers"]] == ids[:2]
    assert [x["id"] for x in second["transfers"]] == ids[2:4]
    assert [x["id"] for x in third["transfers"]] == ids[4:]
    assert (first["next"], second["next"], third["next"]) == (ids[1], ids[3], None)


BAD_LISTINGS = {
    "an unknown status": ({"status": "lost"}, "status"),
    "a limit of zero": ({"limit": 0}, "limit"),
    "a limit over 500": ({"limit": 501}, "limit"),
    "a negative after": ({"after": -1}, "after"),
    "a location that is no key": ({"location": "bad key"}, "location"),
}


@pytest.mark.parametrize("params, field", BAD_LISTINGS.values(), ids=BAD_LISTINGS.keys())
def test_a_bad_listing_is_a_422_naming_the_parameter(
    client, france, problem, params, field
) -> None:
    problem(client.get(TRANSFERS, params=params), 422, field=field)


# --------------------------------------------------------------------------- validation

BAD_TRANSFERS = {
    "from and to the same": (transfer(("TEE-M", 1), to="WH-PARIS"), 422, "to"),
    "an unknown origin": (transfer(("TEE-M", 1), origin="WH-NOWHERE"), 404, "from"),
    "an unknown destination": (transfer(("TEE-M", 1), to="ST-NOWHERE"), 404, "to"),
    "an unknown destination for a supplier": (
        transfer(("TEE-M", 1), origin=None, to="ST-NOWHERE"),
        404,
        "to",
    ),
    "an unknown item": (transfer(("TEE-M", 1), ("HAT", 1)), 422, "lines[1].sku"),
    "an unknown item first": (transfer(("HAT", 1)), 422, "lines[0].sku"),
    "a sku twice": (transfer(("TEE-M", 1), ("TEE-M", 2)), 422, "lines[1].sku"),
    "a quantity of zero": (transfer(("TEE-M", 0)), 422, "lines[0].quantity"),
    "a negative quantity": (transfer(("TEE-M", -2)), 422, "lines[0].quantity"),
    "a quantity as a string": (
        {"from": "WH-PARIS", "to": "ST-LYON", "lines": [{"sku": "TEE-M", "quantity": "1"}]},
        422,
        "lines[0].quantity",
    ),
    "empty lines": (transfer(), 422, "lines"),
    "no lines": ({"from": "WH-PARIS", "to": "ST-LYON"}, 422, "lines"),
    "no destination": ({"from": "WH-PARIS", "lines": [{"sku": "TEE-M", "quantity": 1}]}, 422, "to"),
    "an eta with no zone": (transfer(("TEE-M", 1), eta="2026-12-01T08:00:00"), 422, "eta"),
    "an eta with no zone for a supplier": (
        transfer(("TEE-M", 1), origin=None, eta="2026-12-01T08:00:00"),
        422,
        "eta",
    ),
    "an eta that is no time": (transfer(("TEE-M", 1), eta="next week"), 422, "eta"),
    "an origin that is no key": (transfer(("TEE-M", 1), origin="bad key"), 422, "from"),
    "a reference over 200 characters": (
        transfer(("TEE-M", 1), reference="x" * 201),
        422,
        "reference",
    ),
}


@pytest.mark.parametrize("body, status, field", BAD_TRANSFERS.values(), ids=BAD_TRANSFERS.keys())
def test_a_bad_transfer_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem, body, status, field
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})

    with unchanged():
        response = create(client, body)

    problem(response, status, field=field)


@pytest.mark.parametrize(
    "eta", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", 12345, "12345"]
)
def test_an_eta_out_of_the_calendar_once_in_utc_or_a_bare_number_is_a_422(
    client, shop, france, unchanged, problem, eta
) -> None:
    with unchanged():
        response = create(client, transfer(("TEE-M", 1), origin=None, eta=eta))

    problem(response, 422, field="eta")


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


# --------------------------------------------------------------------------- healing


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


# --------------------------------------------------------------------------- idempotency


def test_a_transfer_posted_twice_with_the_same_key_is_made_once(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    key = {"Idempotency-Key": "transfer-TR-1"}

    first = create(client, transfer(("TEE-M", 4)), headers=key)
    again = create(client, transfer(("TEE-M", 4)), headers=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert listed(client) == [first.json()["id"]]
    assert at(shop, "WH-PARIS") == quantities(on_hand=10, reserved=4)
    assert len(events(client, "transfer.created")) == 1


def test_a_ship_repeated_with_the_same_key_ships_once_and_answers_the_same(
    client, shop, france, problem
) -> None:
    found = in_status(client, shop, "open")
    key = {"Idempotency-Key": "ship-TR-1"}

    first = act(client, found["id"], "ship", headers=key)
    again = act(client, found["id"], "ship", headers=key)

    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
    assert at(shop, "ST-LYON") == quantities(inbound=4)
    assert [m[0] for m in ledger(shop)].count("transfer_out") == 1
    problem(act(client, found["id"], "ship"), 409)  # without the key: it is shipped already


def test_a_receive_repeated_with_the_same_key_counts_once(client, shop, france) -> None:
    found = in_status(client, shop, "shipped")
    key = {"Idempotency-Key": "receive-TR-1"}

    first = act(client, found["id"], "receive", counted(("TEE-M", 3)), headers=key)
    again = act(client, found["id"], "receive", counted(("TEE-M", 3)), headers=key)

    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert at(shop, "ST-LYON") == quantities(on_hand=3)


# --------------------------------------------------------------------------- scopes


def test_a_read_only_key_sees_transfers_but_cannot_make_or_move_them(
    client, shop, france, db, unchanged, problem
) -> None:
    found = in_status(client, shop, "open")
    reader = key_with(db, "transfers:read")

    assert client.get(f"{TRANSFERS}/{found['id']}", headers=reader).json() == found
    assert client.get(TRANSFERS, headers=reader).status_code == 200
    with unchanged():
        problem(create(client, transfer(("TEE-M", 1)), headers=reader), 403)
        problem(act(client, found["id"], "ship", headers=reader), 403)
        problem(act(client, found["id"], "cancel", headers=reader), 403)


def test_a_key_that_may_not_read_transfers_does_not_see_them_in_the_stock_view(
    client, shop, france, db, problem
) -> None:
    found = in_status(client, shop, "shipped")
    stock_reader = key_with(db, "stock:read")
    everything = client.get("/v1/stock/TEE-M", params={"include": "inbound"})
    [at_lyon] = [p for p in everything.json()["positions"] if p["location"] == "ST-LYON"]
    assert [x["transfer_id"] for x in at_lyon["inbound_transfers"]] == [found["id"]]
    assert client.get("/v1/stock/TEE-M", headers=stock_reader).status_code == 200

    refused = client.get("/v1/stock/TEE-M", params={"include": "inbound"}, headers=stock_reader)

    assert "transfers:read" in problem(refused, 403)["detail"]


def test_a_write_key_moves_transfers_and_other_keys_see_none(
    client, shop, france, db, problem
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 10})
    writer = key_with(db, "transfers:write")
    stock_reader = key_with(db, "stock:read", "orders:read")

    response = create(client, transfer(("TEE-M", 4)), headers=writer)
    assert response.status_code == 201, response.text
    transfer_id = response.json()["id"]
    assert act(client, transfer_id, "ship", headers=writer).status_code == 200

    problem(client.get(TRANSFERS, headers=writer), 403)
    problem(client.get(f"{TRANSFERS}/{transfer_id}", headers=stock_reader), 403)
    problem(create(client, transfer(("TEE-M", 1)), headers=stock_reader), 403)
    assert at(shop, "WH-PARIS") == quantities(on_hand=6)
