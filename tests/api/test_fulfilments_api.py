"""Carrying out orders over HTTP: every fulfilment transition, allowed and refused (issue 4).

ship      allocated → picked → packed → shipped → delivered
pickup    allocated → picked → ready_for_pickup → collected (or expired)
in_store  collected at once
cancel and reject end a fulfilment from any open status.

The network, the helpers and the closing check of the books come from orders_helpers.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import (
    BELLECOUR,
    VERSAILLES,
    act,
    acted,
    assert_books_balance,
    events,
    moves,
    on_hand,
    pickup_at,
    placed,
    read_order,
    receive,
    reserved,
    set_up_france,
    ship_to,
    sold_at,
    where,
    without_history,
)

from omnistock.db import Database
from omnistock.domain.orders import OrderPolicy
from omnistock.services import fulfilment

REJECT = {"reason": "not on the shelf"}
ACTIONS = ["pick", "pack", "ship", "deliver", "ready", "collect", "cancel", "reject"]

#: What each status allows, written out from DESIGN section 5 (not from the code under test).
ALLOWED = {
    "ship": {
        "allocated": {"pick": "picked", "cancel": "cancelled", "reject": "rejected"},
        "picked": {"pack": "packed", "cancel": "cancelled", "reject": "rejected"},
        "packed": {"ship": "shipped", "cancel": "cancelled", "reject": "rejected"},
        "shipped": {"deliver": "delivered"},
        "delivered": {},
        "cancelled": {},
        "rejected": {},
    },
    "pickup": {
        "allocated": {"pick": "picked", "cancel": "cancelled", "reject": "rejected"},
        "picked": {"ready": "ready_for_pickup", "cancel": "cancelled", "reject": "rejected"},
        "ready_for_pickup": {"collect": "collected", "cancel": "cancelled", "reject": "rejected"},
        "collected": {},
        "cancelled": {},
        "rejected": {},
    },
    "in_store": {"collected": {}},
}
#: The actions that bring a new fulfilment to each status.
ROUTE = {
    "ship": {
        "allocated": [],
        "picked": ["pick"],
        "packed": ["pick", "pack"],
        "shipped": ["pick", "pack", "ship"],
        "delivered": ["pick", "pack", "ship", "deliver"],
        "cancelled": ["cancel"],
        "rejected": ["reject"],
    },
    "pickup": {
        "allocated": [],
        "picked": ["pick"],
        "ready_for_pickup": ["pick", "ready"],
        "collected": ["pick", "ready", "collect"],
        "cancelled": ["cancel"],
        "rejected": ["reject"],
    },
    "in_store": {"collected": []},
}
DELIVERY = {
    "ship": ship_to(),
    "pickup": pickup_at("ST-LYON"),
    "in_store": sold_at("ST-LYON"),
}


@pytest.fixture(autouse=True)
def books_balance_after_each_scenario(db: Database) -> Iterator[None]:
    yield
    assert_books_balance(db)


@pytest.fixture
def france(shop: Any) -> None:
    set_up_france(shop)


def body_for(action: str) -> dict[str, Any] | None:
    return REJECT if action == "reject" else None


def drive(client: TestClient, fulfilment_id: int, *actions: str) -> dict[str, Any]:
    """Carry out `actions` in turn (each must be accepted); the fulfilment after the last."""
    answer: dict[str, Any] = {}
    for action in actions:
        answer = acted(client, fulfilment_id, action, body=body_for(action))
    return answer


def new_fulfilment(client: TestClient, method: str, status: str) -> dict[str, Any]:
    """A fresh one-unit order by `method`, its fulfilment brought to `status`."""
    channel = "stores" if method == "in_store" else "web"
    body = placed(client, ("TEE-M", 1), channel=channel, delivery=DELIVERY[method])
    fulfilment_id = body["fulfillments"][0]["id"]
    drive(client, fulfilment_id, *ROUTE[method][status])
    found = client.get(f"/v1/fulfillments/{fulfilment_id}").json()
    assert found["status"] == status, found
    return found


def order_status(client: TestClient, order_id: int) -> str:
    status: str = read_order(client, order_id)["status"]
    return status


# --------------------------------------------------------------------------- ship


def test_a_shipment_goes_picked_packed_shipped_delivered_and_the_order_follows(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    order = placed(client, ("TEE-M", 3))
    fulfilment_id = order["fulfillments"][0]["id"]
    seen = [("allocated", order["status"], on_hand(shop)["WH-LYON"], reserved(shop)["WH-LYON"])]

    for action, body in (
        ("pick", None),
        ("pack", None),
        ("ship", {"carrier": "Colissimo", "tracking": "6A12345678901"}),
        ("deliver", None),
    ):
        response = act(client, fulfilment_id, action, body)
        assert response.status_code == 200, (action, response.text)
        answer = response.json()
        assert client.get(f"/v1/fulfillments/{fulfilment_id}").json() == answer
        assert read_order(client, order["id"])["fulfillments"] == [answer]
        seen.append(
            (
                answer["status"],
                order_status(client, order["id"]),
                on_hand(shop)["WH-LYON"],
                reserved(shop)["WH-LYON"],
            )
        )

    assert seen == [
        ("allocated", "allocated", 10, 3),
        ("picked", "in_progress", 10, 3),
        ("packed", "in_progress", 10, 3),
        ("shipped", "in_progress", 7, 0),  # the units leave on_hand and reserved together
        ("delivered", "completed", 7, 0),
    ]
    assert answer == {
        "id": fulfilment_id,
        "order_id": order["id"],
        "location": "WH-LYON",
        "status": "delivered",
        "lines": [{"sku": "TEE-M", "quantity": 3}],
        "carrier": "Colissimo",
        "tracking": "6A12345678901",
        "reason": None,
        "pickup_by": None,
    }
    assert moves(shop) == [
        ("allocate", "WH-LYON", 0, 3, f"order:{order['id']}"),
        ("fulfil", "WH-LYON", -3, -3, f"order:{order['id']}"),
    ]


def test_each_step_of_a_shipment_is_in_the_event_feed_and_the_order_history(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    order = placed(client, ("TEE-M", 1))
    fulfilment_id = order["fulfillments"][0]["id"]

    answers = [acted(client, fulfilment_id, a) for a in ("pick", "pack", "ship", "deliver")]

    assert events(client, "fulfillment.status_changed") == answers
    assert [o["status"] for o in events(client, "order.status_changed")] == [
        "in_progress",
        "completed",
    ]
    history = read_order(client, order["id"])["history"]
    assert [entry["event"] for entry in history] == [
        "created",
        "fulfillment_picked",
        "status_changed",
        "fulfillment_packed",
        "fulfillment_shipped",
        "fulfillment_delivered",
        "status_changed",
    ]


def test_a_shipment_may_leave_without_a_carrier_named(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    order = placed(client, ("TEE-M", 1))
    fulfilment_id = order["fulfillments"][0]["id"]
    acted(client, fulfilment_id, "pick", "pack")

    shipped = client.post(f"/v1/fulfillments/{fulfilment_id}/ship")

    assert shipped.status_code == 200, shipped.text
    assert (shipped.json()["status"], shipped.json()["carrier"]) == ("shipped", None)


def test_a_repeated_action_with_the_same_idempotency_key_happens_once(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    order = placed(client, ("TEE-M", 3))
    fulfilment_id = order["fulfillments"][0]["id"]
    acted(client, fulfilment_id, "pick", "pack")
    key = {"Idempotency-Key": "dock-3-parcel-881"}
    path = f"/v1/fulfillments/{fulfilment_id}/ship"

    first = client.post(path, json={"carrier": "DPD"}, headers=key)
    again = client.post(path, json={"carrier": "DPD"}, headers=key)

    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (on_hand(shop), reserved(shop)) == ({"WH-LYON": 7}, {"WH-LYON": 0})
    assert [m[0] for m in moves(shop)].count("fulfil") == 1
    unkeyed = client.post(path, json={"carrier": "DPD"})
    assert unkeyed.status_code == 409, unkeyed.text


# --------------------------------------------------------------------------- pickup


def test_a_pickup_goes_picked_ready_collected_and_the_order_follows(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 4})
    order = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))
    fulfilment_id = order["fulfillments"][0]["id"]
    seen = []

    for action in ("pick", "ready", "collect"):
        answer = acted(client, fulfilment_id, action)
        position = shop.position("TEE-M", "ST-LYON")
        seen.append(
            (
                answer["status"],
                order_status(client, order["id"]),
                position["on_hand"],
                position["reserved"],
            )
        )

    assert seen == [
        ("picked", "in_progress", 4, 2),
        ("ready_for_pickup", "in_progress", 4, 2),
        ("collected", "completed", 2, 0),
    ]
    assert moves(shop)[-1] == ("fulfil", "ST-LYON", -2, -2, f"order:{order['id']}")


def test_a_ready_pickup_says_until_when_it_waits_and_no_other_status_does(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 4})
    order = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))
    fulfilment_id = order["fulfillments"][0]["id"]
    picked = acted(client, fulfilment_id, "pick")
    before = dt.datetime.now(dt.UTC)
    ready = acted(client, fulfilment_id, "ready")
    after = dt.datetime.now(dt.UTC)

    days = OrderPolicy().pickup_expiry_days  # the default the test app runs with
    pickup_by = dt.datetime.fromisoformat(ready["pickup_by"])
    assert before + dt.timedelta(days=days) <= pickup_by <= after + dt.timedelta(days=days)
    assert client.get(f"/v1/fulfillments/{fulfilment_id}").json()["pickup_by"] == ready["pickup_by"]
    assert read_order(client, order["id"])["fulfillments"][0]["pickup_by"] == ready["pickup_by"]
    assert picked["pickup_by"] is None
    assert acted(client, fulfilment_id, "collect")["pickup_by"] is None


def test_a_pickup_left_uncollected_expires_and_gives_its_units_back(
    client, shop, france, database_url, problem
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 4})
    order = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))
    fulfilment_id = order["fulfillments"][0]["id"]
    acted(client, fulfilment_id, "pick", "ready")
    impatient = Database(database_url, policy=OrderPolicy(pickup_expiry_days=0))
    try:
        assert impatient.run(lambda uow: fulfilment.expire_pickups(uow)) == 1
    finally:
        impatient.dispose()

    expired = client.get(f"/v1/fulfillments/{fulfilment_id}").json()
    assert expired["status"] == "expired"
    assert shop.position("TEE-M", "ST-LYON")["reserved"] == 0
    assert shop.position("TEE-M", "ST-LYON")["on_hand"] == 4
    found = read_order(client, order["id"])
    assert found["status"] == "cancelled"
    assert found["lines"][0]["cancelled"] == 2
    for action in ACTIONS:
        refused = problem(act(client, fulfilment_id, action, body_for(action)), 409)
        assert (refused["current_status"], refused["action"]) == ("expired", action)


# --------------------------------------------------------------------------- refused


STATUSES = [(method, status) for method, statuses in ALLOWED.items() for status in statuses]


@pytest.mark.parametrize(("method", "status"), STATUSES)
def test_an_action_its_status_does_not_allow_is_a_409_naming_both_and_changes_nothing(
    client, shop, france, unchanged, problem, method, status
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5, "ST-LYON": 5})
    found = new_fulfilment(client, method, status)
    refused = [action for action in ACTIONS if action not in ALLOWED[method][status]]

    for action in refused:
        with unchanged():
            response = act(client, found["id"], action, body_for(action))
        body = problem(response, 409)
        assert body["code"] == "invalid-transition"
        assert (body["current_status"], body["action"]) == (status, action)


@pytest.mark.parametrize("method", ["ship", "pickup"])
def test_every_action_a_status_allows_leads_where_it_should(client, shop, france, method) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 50, "ST-LYON": 50})

    for status, allowed in ALLOWED[method].items():
        for action, leads_to in allowed.items():
            found = new_fulfilment(client, method, status)
            response = act(client, found["id"], action, body_for(action))
            assert response.status_code == 200, (status, action, response.text)
            assert response.json()["status"] == leads_to, (status, action)


def test_an_unknown_action_or_fulfilment_is_a_404_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    fulfilment_id = placed(client, ("TEE-M", 1))["fulfillments"][0]["id"]

    with unchanged():
        for action in ("teleport", "expire", "PICK", "allocate"):
            problem(client.post(f"/v1/fulfillments/{fulfilment_id}/{action}"), 404)
        problem(client.post("/v1/fulfillments/999/pick"), 404)
        problem(client.post("/v1/fulfillments/999/reject", json=REJECT), 404)
        problem(client.get("/v1/fulfillments/999"), 404)
        problem(client.post("/v1/fulfillments/0/pick"), 422, field="id")
        problem(client.get("/v1/fulfillments/abc"), 422, field="id")


# --------------------------------------------------------------------------- cancel


@pytest.mark.parametrize("method", ["ship", "pickup"])
def test_cancelling_an_open_fulfilment_gives_its_units_back_and_cancels_the_order(
    client, shop, france, method
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5, "ST-LYON": 5})
    for status, allowed in ALLOWED[method].items():
        if "cancel" not in allowed:
            continue
        found = new_fulfilment(client, method, status)
        before = shop.position("TEE-M", found["location"])

        answer = acted(client, found["id"], "cancel")

        after = shop.position("TEE-M", found["location"])
        assert answer["status"] == "cancelled"
        assert (after["on_hand"], after["reserved"]) == (before["on_hand"], before["reserved"] - 1)
        assert moves(shop)[-1][:4] == ("deallocate", found["location"], 0, -1)
        order = read_order(client, found["order_id"])
        assert order["status"] == "cancelled", status
        assert order["lines"][0]["cancelled"] == 1


def test_an_order_of_two_shipments_completes_when_one_is_delivered_and_the_other_cancelled(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "WH-PARIS": 2})
    order = placed(client, ("TEE-M", 4))
    lyon, paris = (f["id"] for f in order["fulfillments"])
    statuses = [order["status"]]

    for fulfilment_id, action in (
        (lyon, "pick"),
        (lyon, "pack"),
        (lyon, "ship"),
        (lyon, "deliver"),
        (paris, "cancel"),
    ):
        acted(client, fulfilment_id, action)
        statuses.append(order_status(client, order["id"]))

    assert statuses == [
        "allocated",
        "in_progress",
        "in_progress",
        "in_progress",
        "in_progress",
        "completed",
    ]
    found = read_order(client, order["id"])
    assert [(x["cancelled"], x["backordered"]) for x in found["lines"]] == [(2, 0)]
    assert reserved(shop) == {"WH-LYON": 0, "WH-PARIS": 0}
    assert on_hand(shop) == {"WH-LYON": 0, "WH-PARIS": 2}


# --------------------------------------------------------------------------- reject


def test_a_rejected_shipment_writes_off_the_missing_units_and_is_sourced_elsewhere(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 3, "WH-PARIS": 10})
    order = placed(client, ("TEE-M", 2))
    lyon = order["fulfillments"][0]
    assert lyon["location"] == "WH-LYON"

    answer = acted(
        client,
        lyon["id"],
        "reject",
        body={"reason": "not on the shelf", "missing": [{"sku": "TEE-M", "quantity": 2}]},
    )

    assert (answer["status"], answer["reason"]) == ("rejected", "not on the shelf")
    assert on_hand(shop) == {"WH-LYON": 1, "WH-PARIS": 10}
    assert reserved(shop) == {"WH-LYON": 0, "WH-PARIS": 2}
    found = read_order(client, order["id"])
    assert found["status"] == "allocated"
    assert where(found) == [
        ("WH-LYON", "rejected", [("TEE-M", 2)]),
        ("WH-PARIS", "allocated", [("TEE-M", 2)]),
    ]
    paris = next(f for f in found["fulfillments"] if f["location"] == "WH-PARIS")
    assert answer["resourced"] == [  # the answer says where the lines went
        {"fulfillment_id": paris["id"], "location": "WH-PARIS", "lines": paris["lines"]}
    ]
    assert answer["backordered"] == []
    assert "resourced" in [entry["event"] for entry in found["history"]]
    assert [m[:4] for m in moves(shop)] == [
        ("allocate", "WH-LYON", 0, 2),
        ("deallocate", "WH-LYON", 0, -2),
        ("write_off", "WH-LYON", -2, 0),
        ("allocate", "WH-PARIS", 0, 2),
    ]
    sourcing = client.get(f"/v1/orders/{order['id']}/sourcing").json()
    assert sourcing["decision"]["trigger"] == "rejection"
    assert sourcing["decision"]["plan"][0]["location"] == "WH-PARIS"
    verdicts = {c["location"]: c["verdict"] for c in sourcing["decision"]["considered"]}
    assert verdicts["WH-LYON"] == "excluded"  # never the rejecting location again
    assert [d["trigger"] for d in sourcing["earlier"]] == ["order"]


def test_a_rejected_shipment_with_nowhere_else_to_go_is_backordered(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    order = placed(client, ("TEE-M", 2))

    answer = acted(client, order["fulfillments"][0]["id"], "reject", body=REJECT)

    found = read_order(client, order["id"])
    assert found["status"] == "backordered"
    assert found["backorders"] == [{"sku": "TEE-M", "quantity": 2}]
    assert (answer["resourced"], answer["backordered"]) == ([], found["backorders"])
    assert reserved(shop) == {"WH-LYON": 0}
    assert on_hand(shop) == {"WH-LYON": 5}  # nothing said missing: nothing written off
    said = [entry["event"] for entry in found["history"]]
    assert "backordered" in said
    assert said[-1] == "status_changed"


def test_a_rejected_pickup_waits_for_stock_at_its_store(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3, "WH-LYON": 10})
    order = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))
    fulfilment_id = order["fulfillments"][0]["id"]
    acted(client, fulfilment_id, "pick")

    answer = acted(
        client,
        fulfilment_id,
        "reject",
        body={"reason": "damaged", "missing": [{"sku": "TEE-M", "quantity": 1}]},
    )

    found = read_order(client, order["id"])
    assert found["status"] == "backordered"
    assert found["backorders"] == [{"sku": "TEE-M", "quantity": 2}]
    assert (answer["resourced"], answer["backordered"]) == ([], found["backorders"])
    assert on_hand(shop) == {"ST-LYON": 2, "WH-LYON": 10}
    assert reserved(shop) == {"ST-LYON": 0, "WH-LYON": 0}


def test_a_rejection_writes_off_only_what_is_missing_and_keeps_the_stores_other_promises(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 3, "WH-LYON": 10})
    first = placed(client, ("TEE-M", 1), delivery=ship_to(BELLECOUR))
    second = placed(client, ("TEE-M", 2), delivery=ship_to(BELLECOUR))
    assert where(first)[0][0] == where(second)[0][0] == "ST-LYON"

    acted(
        client,
        first["fulfillments"][0]["id"],
        "reject",
        body={"reason": "shelf empty", "missing": [{"sku": "TEE-M", "quantity": 1}]},
    )

    assert on_hand(shop) == {"ST-LYON": 2, "WH-LYON": 10}
    assert reserved(shop) == {"ST-LYON": 2, "WH-LYON": 1}
    assert where(read_order(client, second["id"])) == [("ST-LYON", "allocated", [("TEE-M", 2)])]


REJECT_ERRORS: dict[str, tuple[dict[str, Any], int, str]] = {
    "no reason": ({}, 422, "reason"),
    "a sku not in the fulfilment": (
        {"reason": "x", "missing": [{"sku": "CAP", "quantity": 1}]},
        422,
        "missing[0].sku",
    ),
    "more missing than promised": (
        {"reason": "x", "missing": [{"sku": "TEE-M", "quantity": 3}]},
        422,
        "missing[0].quantity",
    ),
    "the same sku twice": (
        {
            "reason": "x",
            "missing": [{"sku": "TEE-M", "quantity": 1}, {"sku": "TEE-M", "quantity": 1}],
        },
        422,
        "missing[1].sku",
    ),
    "zero units missing": (
        {"reason": "x", "missing": [{"sku": "TEE-M", "quantity": 0}]},
        422,
        "missing[0].quantity",
    ),
    "a reason too long": ({"reason": "x" * 201}, 422, "reason"),
}


def test_a_bad_rejection_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem, subtests
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5, "WH-PARIS": 5})
    fulfilment_id = placed(client, ("TEE-M", 2))["fulfillments"][0]["id"]

    for case, (body, status, field) in REJECT_ERRORS.items():
        with subtests.test(case), unchanged():
            response = client.post(f"/v1/fulfillments/{fulfilment_id}/reject", json=body)
            problem(response, status, field=field)
    with unchanged():
        problem(client.post(f"/v1/fulfillments/{fulfilment_id}/reject"), 422)


def test_a_bad_shipment_note_is_a_problem_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    fulfilment_id = placed(client, ("TEE-M", 1))["fulfillments"][0]["id"]
    acted(client, fulfilment_id, "pick", "pack")

    with unchanged():
        problem(act(client, fulfilment_id, "ship", {"carrier": " "}), 422, field="carrier")
        problem(act(client, fulfilment_id, "ship", {"tracking": "x" * 101}), 422, field="tracking")


# --------------------------------------------------------------------------- the work queue


def queue(client: TestClient, **params: Any) -> tuple[list[int], int | None]:
    response = client.get("/v1/fulfillments", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    return [f["id"] for f in page["fulfillments"]], page["next"]


def test_a_locations_work_queue_lists_its_fulfilments_in_a_status_oldest_first_by_pages(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 20, "WH-PARIS": 20, "ST-LYON": 20})
    lyon = [placed(client, ("TEE-M", 1))["fulfillments"][0]["id"] for _ in range(5)]
    paris = [
        placed(client, ("TEE-M", 1), delivery=ship_to(VERSAILLES))["fulfillments"][0]["id"]
        for _ in range(2)
    ]
    store = placed(client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"))["fulfillments"][0]["id"]
    acted(client, lyon[1], "pick")

    assert queue(client, location="WH-LYON") == (lyon, None)
    assert queue(client, location="WH-PARIS") == (paris, None)
    assert queue(client, location="ST-LYON", status="allocated") == ([store], None)
    assert queue(client, location="WH-LYON", status="picked") == ([lyon[1]], None)
    assert queue(client, status="picked") == ([lyon[1]], None)
    assert queue(client, location="WH-LYON", status="shipped") == ([], None)
    waiting = [lyon[0], *lyon[2:]]
    first, after = queue(client, location="WH-LYON", status="allocated", limit=3)
    assert (first, after) == (waiting[:3], waiting[2])
    assert queue(client, location="WH-LYON", status="allocated", limit=3, after=after) == (
        waiting[3:],
        None,
    )
    everything, _ = queue(client, limit=500)
    assert everything == sorted([*lyon, *paris, store])


def test_a_listed_fulfilment_is_the_one_the_order_shows(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    receive(shop, "MUG", {"WH-LYON": 5})
    order = placed(client, ("MUG", 1), ("TEE-M", 2))

    listed = client.get("/v1/fulfillments", params={"location": "WH-LYON"}).json()

    assert listed["fulfillments"] == read_order(client, order["id"])["fulfillments"]
    assert listed["fulfillments"] == without_history(order)["fulfillments"]


def test_a_bad_work_queue_question_is_a_problem_naming_the_parameter(
    client, france, problem
) -> None:
    problem(client.get("/v1/fulfillments", params={"status": "lost"}), 422, field="status")
    problem(client.get("/v1/fulfillments", params={"location": "a b"}), 422, field="location")
    problem(client.get("/v1/fulfillments", params={"limit": 0}), 422, field="limit")
    problem(client.get("/v1/fulfillments", params={"after": "x"}), 422, field="after")


def test_an_in_store_sale_is_in_the_stores_queue_as_collected(client, shop, france) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 3})
    order = placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-NICE"))

    found, _ = queue(client, location="ST-NICE", status="collected")

    assert found == [order["fulfillments"][0]["id"]]
    assert queue(client, location="ST-NICE", status="allocated") == ([], None)
