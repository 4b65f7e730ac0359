"""A transfer from one location to another: asked for, it reserves its units at the origin, so the
web sells that many fewer, or is refused whole with a 409 naming each short line, never taking units
promised to an order or held by a cart; shipped, its units leave the origin and show inbound at the
destination; cancelled while open, it frees them. Each action from each status moves it or is a 409
that says why, and each step is in the event feed as it was answered.
"""

from __future__ import annotations

import pytest
from orders_helpers import (
    VERSAILLES,
    events,
    placed,
    receive,
    ship_to,
    where,
)
from transfers_helpers import (
    ETA,
    TRANSFERS,
    ZERO,
    act,
    acted,
    at,
    ats,
    counted,
    create,
    created,
    in_status,
    ledger,
    quantities,
    read,
    recently,
    transfer,
)

pytestmark = pytest.mark.usefixtures("books_balance")


#: What each status allows, written out from the issue (not from the code under test).
ALLOWED = {
    "open": {"ship": "shipped", "cancel": "cancelled"},
    "shipped": {"receive": "received"},
    "received": {},
    "cancelled": {},
}


# --------------------------------------------------------------------------- asking


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


# --------------------------------------------------------------------------- shipping


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


# --------------------------------------------------------------------------- cancelling


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
