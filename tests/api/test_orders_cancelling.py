"""Cancelling an order, whole or some units: backordered units go first, then the newest
fulfilment's; released units are deallocated where they were reserved, and the feed hears of it.
Shipped units and in-store sales cannot be cancelled, cancelling again changes nothing, and a bad
cancel, a sku named twice included, is a problem naming its field that cancels no unit.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from orders_helpers import (
    DROPPED,
    acted,
    events,
    moves,
    placed,
    read_order,
    receive,
    reserved,
    sold_at,
    where,
    without_history,
)

pytestmark = pytest.mark.usefixtures("books_balance")


def cancel(client: TestClient, order_id: int, *lines: tuple[str, int]) -> httpx.Response:
    body = {"lines": [{"sku": s, "quantity": q} for s, q in lines]} if lines else None
    return client.post(f"/v1/orders/{order_id}/cancel", json=body)


def cancelled(client: TestClient, order_id: int, *lines: tuple[str, int]) -> dict[str, Any]:
    response = cancel(client, order_id, *lines)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_cancelling_a_whole_order_releases_every_unit_and_its_backorders(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "WH-PARIS": 2})
    body = placed(client, ("TEE-M", 5), allow_partial=True)
    assert body["status"] == "partially_allocated"

    answer = cancelled(client, body["id"])

    assert answer["status"] == "cancelled"
    assert answer["lines"] == [
        {"sku": "TEE-M", "quantity": 5, "unit_price": "19.90", "backordered": 0, "cancelled": 5}
    ]
    assert answer["backorders"] == []
    assert {f["status"] for f in answer["fulfillments"]} == {"cancelled"}
    assert reserved(shop) == {"WH-LYON": 0, "WH-PARIS": 0}
    assert sorted(m[:4] for m in moves(shop) if m[0] == "deallocate") == [
        ("deallocate", "WH-LYON", 0, -2),
        ("deallocate", "WH-PARIS", 0, -2),
    ]
    assert without_history(read_order(client, body["id"])) == answer
    assert "cancelled" in [e["event"] for e in read_order(client, body["id"])["history"]]
    assert [e["status"] for e in events(client, "order.status_changed")] == ["cancelled"]


def test_cancelling_some_units_takes_them_from_the_newest_fulfilment_first(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "WH-PARIS": 2})
    body = placed(client, ("TEE-M", 4))
    lyon, paris = body["fulfillments"]
    assert (lyon["location"], paris["location"]) == ("WH-LYON", "WH-PARIS")
    assert lyon["id"] < paris["id"]

    one = cancelled(client, body["id"], ("TEE-M", 1))

    assert one["status"] == "allocated"
    assert one["lines"][0]["cancelled"] == 1
    assert where(one) == [
        ("WH-LYON", "allocated", [("TEE-M", 2)]),
        ("WH-PARIS", "allocated", [("TEE-M", 1)]),
    ]
    assert reserved(shop) == {"WH-LYON": 2, "WH-PARIS": 1}

    two_more = cancelled(client, body["id"], ("TEE-M", 2))

    assert two_more["status"] == "allocated"
    assert two_more["lines"][0]["cancelled"] == 3
    assert [(loc, status) for loc, status, _ in where(two_more)] == [
        ("WH-LYON", "allocated"),
        ("WH-PARIS", "cancelled"),
    ]
    assert where(two_more)[0][2] == [("TEE-M", 1)]
    assert reserved(shop) == {"WH-LYON": 1, "WH-PARIS": 0}


def test_cancelling_some_units_takes_the_backordered_ones_first(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 3})
    body = placed(client, ("TEE-M", 5), ("MUG", 1), allow_partial=True)
    assert body["backorders"] == [{"sku": "TEE-M", "quantity": 2}, {"sku": "MUG", "quantity": 1}]

    only_backorders = cancelled(client, body["id"], ("TEE-M", 2), ("MUG", 1))

    assert only_backorders["status"] == "allocated"
    assert only_backorders["backorders"] == []
    assert reserved(shop) == {"WH-LYON": 3}

    answer = cancelled(client, body["id"], ("TEE-M", 1))

    assert [(x["sku"], x["backordered"], x["cancelled"]) for x in answer["lines"]] == [
        ("TEE-M", 0, 3),
        ("MUG", 0, 1),
    ]
    assert where(answer) == [("WH-LYON", "allocated", [("TEE-M", 2)])]
    assert reserved(shop) == {"WH-LYON": 2}


def test_shipped_units_cannot_be_cancelled_and_nothing_changes(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2, "WH-PARIS": 2})
    body = placed(client, ("TEE-M", 4))
    lyon = body["fulfillments"][0]
    acted(client, lyon["id"], "pick", "pack", "ship")

    with unchanged():
        too_many = cancel(client, body["id"], ("TEE-M", 3))

    refused = problem(too_many, 409, field="lines[0].quantity")
    assert refused["code"] == "not-cancellable"
    assert (refused["sku"], refused["requested"], refused["cancellable"]) == ("TEE-M", 3, 2)

    answer = cancelled(client, body["id"], ("TEE-M", 2))

    assert answer["status"] == "in_progress"
    assert [(loc, status) for loc, status, _ in where(answer)] == [
        ("WH-LYON", "shipped"),
        ("WH-PARIS", "cancelled"),
    ]
    assert answer["lines"][0]["cancelled"] == 2
    with unchanged():
        everything_shipped = cancel(client, body["id"])
        one_more = cancel(client, body["id"], ("TEE-M", 1))
    assert problem(everything_shipped, 409)["code"] == "not-cancellable"
    assert problem(one_more, 409, field="lines[0].quantity")["code"] == "not-cancellable"


def test_an_in_store_sale_cannot_be_cancelled(client, shop, france, unchanged, problem) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 2})
    body = placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-NICE"))

    with unchanged():
        response = cancel(client, body["id"])

    assert problem(response, 409)["code"] == "not-cancellable"


def test_cancelling_a_cancelled_order_again_answers_it_and_changes_nothing(
    client, shop, france, unchanged
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2})
    body = placed(client, ("TEE-M", 2))
    first = cancelled(client, body["id"])

    with unchanged():
        again = cancelled(client, body["id"])

    assert again == first


def test_a_bad_cancel_is_a_problem_naming_the_field_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2})
    receive(shop, "MUG", {"WH-LYON": 2})
    body = placed(client, ("TEE-M", 2), ("MUG", 1))
    bad = {
        "a sku not in the order": ({"lines": [{"sku": "CAP", "quantity": 1}]}, 422, "lines[0].sku"),
        "the second sku not in the order": (
            {"lines": [{"sku": "TEE-M", "quantity": 1}, {"sku": "CAP", "quantity": 1}]},
            422,
            "lines[1].sku",
        ),
        "more than ordered": ({"lines": [{"sku": "MUG", "quantity": 2}]}, 409, "lines[0].quantity"),
        "zero units": ({"lines": [{"sku": "MUG", "quantity": 0}]}, 422, "lines[0].quantity"),
        "an empty list of lines": ({"lines": []}, 422, "lines"),
        "a sku that cannot exist": (
            {"lines": [{"sku": "a b", "quantity": 1}]},
            422,
            "lines[0].sku",
        ),
    }

    for case, (payload, status, field) in bad.items():
        with unchanged():
            response = client.post(f"/v1/orders/{body['id']}/cancel", json=payload)
        assert response.status_code == status, (case, response.text)
        problem(response, status, field=field)
    with unchanged():
        problem(cancel(client, 999), 404)
    assert read_order(client, body["id"])["status"] == "allocated"


def line_units(order_view: dict[str, Any]) -> dict[str, int]:
    """Units each line accounts for: backordered + cancelled + in fulfilments not dropped."""
    units = {x["sku"]: x["backordered"] + x["cancelled"] for x in order_view["lines"]}
    for fulfilment in order_view["fulfillments"]:
        if fulfilment["status"] not in DROPPED:
            for x in fulfilment["lines"]:
                units[x["sku"]] += x["quantity"]
    return units


def test_the_same_sku_twice_in_a_cancel_of_backordered_units_is_a_422_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 2})
    body = placed(client, ("TEE-M", 4), allow_partial=True)  # 2 allocated, 2 backordered

    with unchanged():
        response = cancel(client, body["id"], ("TEE-M", 2), ("TEE-M", 2))
        problem(response, 422, field="lines[1].sku")


def test_the_same_sku_twice_in_a_cancel_never_cancels_units_still_allocated(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 4})
    body = placed(client, ("TEE-M", 2))

    response = cancel(client, body["id"], ("TEE-M", 1), ("TEE-M", 1))

    assert response.status_code in (200, 422), response.text
    after = read_order(client, body["id"])
    assert line_units(after) == {"TEE-M": 2}, after  # each unit counted once, no more
    assert shop.position("TEE-M", "WH-LYON")["reserved"] == 2 - after["lines"][0]["cancelled"]


def event_kinds(client: TestClient) -> list[str]:
    """The type of every event in the feed, oldest first."""
    return [e["type"] for e in client.get("/v1/events", params={"limit": 1000}).json()["events"]]


def test_a_partial_cancel_tells_the_feed_that_the_fulfilment_shrank(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 4})
    body = placed(client, ("TEE-M", 3))
    seen = len(event_kinds(client))

    answer = cancelled(client, body["id"], ("TEE-M", 1))

    assert answer["fulfillments"][0]["lines"] == [{"sku": "TEE-M", "quantity": 2}]
    kinds = event_kinds(client)[seen:]
    assert any(k.startswith(("order.", "fulfillment.")) for k in kinds), kinds
