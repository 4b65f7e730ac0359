"""Promises that heal, rejections and cancellations, end to end over HTTP (issue 4).

A French retailer: a store in Lyon that ships (ship-from-store) and offers click & collect,
and a warehouse in Paris. Web customers live in Villeurbanne, next door to the Lyon store, so
the store is where sourcing sends their orders first. Then the physical world disagrees with
the system (a till sale, a count, damage, a shelf found empty) and the promises must follow
the stock: moved to Paris in the same request, or backordered, never kept where the units
are gone (DESIGN invariant 1). After every scenario the ledger replays clean (invariant 2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from omnistock.db import Database
from omnistock.services import stock

if TYPE_CHECKING:
    from conftest import Shop  # tests/api/conftest.py, on sys.path under pytest

PARIS = {"lat": 48.8566, "lon": 2.3522}
LYON = {"lat": 45.7640, "lon": 4.8357}
VILLEURBANNE = {"lat": 45.7719, "lon": 4.8902}  # 5 km from the Lyon store, 390 from Paris

TEE, MUG = "TEE-M", "MUG"
STORE, WAREHOUSE = "ST-LYON", "WH-PARIS"


@pytest.fixture
def france(shop: Shop) -> None:
    """The store, the warehouse, two items and the web channel (every ship-enabled
    location); no stock: each test receives what it needs."""
    shop.location(WAREHOUSE, name="Paris warehouse", **PARIS)
    shop.location(STORE, name="Lyon Part-Dieu", type="store", pickup_enabled=True, **LYON)
    shop.item(TEE, name="Tee, size M")
    shop.item(MUG, name="Mug")
    response = shop.client.put("/v1/channels/web", json={"name": "Web shop"})
    assert response.status_code == 201, response.text


@pytest.fixture(autouse=True)
def ledger_replays_clean(db: Database) -> Any:
    """After every scenario, each position equals the sum of its movements."""
    yield
    with db.reading() as reads:
        assert list(stock.check(reads)) == []


# --------------------------------------------------------------------------- helpers


def receive(shop: Shop, sku: str, units: dict[str, int]) -> None:
    for code, quantity in units.items():
        shop.moved("receipt", quantity, sku=sku, location=code)


def order_body(
    *lines: tuple[str, int], delivery: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    return {
        "channel": "web",
        "customer": {"name": "Camille Martin", "email": "camille@example.com"},
        "delivery": delivery
        or {
            "method": "ship",
            "address": {
                "line1": "12 cours Emile Zola",
                "city": "Villeurbanne",
                "postcode": "69100",
                "country": "FR",
                **VILLEURBANNE,
            },
        },
        "lines": [{"sku": sku, "quantity": q, "unit_price": "19.90"} for sku, q in lines],
        **fields,
    }


def placed(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """An order that must be accepted; returns it."""
    response = client.post("/v1/orders", json=order_body(*lines, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def pickup_at(store: str) -> dict[str, Any]:
    return {"method": "pickup", "location": store}


def order(client: TestClient, order_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def act(client: TestClient, fulfilment_id: int, action: str, **body: Any) -> dict[str, Any]:
    """A fulfilment action that must be accepted; returns the fulfilment."""
    response = client.post(f"/v1/fulfillments/{fulfilment_id}/{action}", json=body or None)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def only_fulfilment(placed_order: dict[str, Any]) -> dict[str, Any]:
    (fulfilment,) = placed_order["fulfillments"]
    return fulfilment


def live(found: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Units still promised (or under way) by location: {location: {sku: quantity}}."""
    ended = {"cancelled", "rejected", "expired"}
    return {
        f["location"]: {line["sku"]: line["quantity"] for line in f["lines"]}
        for f in found["fulfillments"]
        if f["status"] not in ended
    }


def statuses(found: dict[str, Any]) -> list[tuple[str, str]]:
    """(location, status) of every fulfilment, oldest first."""
    return [(f["location"], f["status"]) for f in found["fulfillments"]]


def backorders(found: dict[str, Any]) -> dict[str, int]:
    return {b["sku"]: b["quantity"] for b in found["backorders"]}


def feed_mark(client: TestClient) -> int:
    """The seq of the newest event so far."""
    after = 0
    while True:
        page = client.get("/v1/events", params={"after": after, "limit": 1000}).json()
        if not page["events"]:
            return after
        after = page["next"]


def events(client: TestClient, kind: str, *, after: int = 0) -> list[dict[str, Any]]:
    """The data of every event of this type after `after`, oldest first."""
    found: list[dict[str, Any]] = []
    while True:
        page = client.get("/v1/events", params={"after": after, "limit": 1000}).json()
        if not page["events"]:
            return found
        found += [e["data"] for e in page["events"] if e["type"] == kind]
        after = page["next"]


def history(found: dict[str, Any], event: str) -> list[str]:
    return [entry["detail"] for entry in found["history"] if entry["event"] == event]


def sourcing(client: TestClient, order_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/orders/{order_id}/sourcing")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def verdicts(decision: dict[str, Any]) -> dict[str, str]:
    return {c["location"]: c["verdict"] for c in decision["considered"]}


# --------------------------------------------------------------------------- healing


def test_the_last_unit_at_lyon_sold_at_the_till_moves_the_web_order_to_paris(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 1, WAREHOUSE: 5})
    web = placed(client, (TEE, 1))
    assert live(web) == {STORE: {TEE: 1}}, "the nearest location takes it first"
    mark = feed_mark(client)

    sale = shop.moved("sale", 1, sku=TEE, location=STORE, reason="till 3")

    assert sale["position"]["available"] == 0
    assert shop.position(TEE, STORE) == {
        "on_hand": 0,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 0,
    }
    assert shop.position(TEE, WAREHOUSE)["reserved"] == 1
    now = order(client, web["id"])
    assert now["status"] == "allocated"
    assert live(now) == {WAREHOUSE: {TEE: 1}}
    assert statuses(now) == [(STORE, "cancelled"), (WAREHOUSE, "allocated")]
    assert backorders(now) == {}
    (why,) = history(now, "resourced")
    assert STORE in why and WAREHOUSE in why and "sale" in why, why

    resourced = events(client, "order.resourced", after=mark)
    assert [(e["id"], live(e)) for e in resourced] == [(web["id"], {WAREHOUSE: {TEE: 1}})]
    changed = events(client, "stock.changed", after=mark)
    assert {(e["location"], e["sku"]) for e in changed} == {(STORE, TEE), (WAREHOUSE, TEE)}
    assert [e for e in changed if e["location"] == STORE][-1]["available"] == 0
    assert [e for e in changed if e["location"] == WAREHOUSE][-1]["reserved"] == 1
    cancelled = events(client, "fulfillment.status_changed", after=mark)
    assert [(e["location"], e["status"]) for e in cancelled] == [(STORE, "cancelled")]
    assert events(client, "order.status_changed", after=mark) == [], "still allocated"

    decisions = sourcing(client, web["id"])
    assert decisions["decision"]["trigger"] == "healing"
    assert [s["location"] for s in decisions["decision"]["plan"]] == [WAREHOUSE]
    assert [d["trigger"] for d in decisions["earlier"]] == ["order"]
    assert [s["location"] for s in decisions["earlier"][0]["plan"]] == [STORE]


def test_a_count_that_finds_fewer_moves_the_newest_promise_and_keeps_the_older(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 2, WAREHOUSE: 5})
    older, newer = placed(client, (TEE, 1)), placed(client, (TEE, 1))

    shop.moved("count", 1, sku=TEE, location=STORE)

    assert live(order(client, older["id"])) == {STORE: {TEE: 1}}
    assert live(order(client, newer["id"])) == {WAREHOUSE: {TEE: 1}}
    assert shop.position(TEE, STORE)["available"] == 0
    assert "count" in history(order(client, newer["id"]), "resourced")[0]
    assert history(order(client, older["id"]), "resourced") == []


def test_damage_at_the_store_moves_the_promise_to_sound_units(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 1, WAREHOUSE: 5})
    web = placed(client, (TEE, 1))

    damaged = shop.moved("damage", 1, sku=TEE, location=STORE)

    assert damaged["position"] == {
        "sku": TEE,
        "location": STORE,
        "on_hand": 1,
        "reserved": 0,
        "unsellable": 1,
        "inbound": 0,
        "available": 0,
    }
    now = order(client, web["id"])
    assert (now["status"], live(now)) == ("allocated", {WAREHOUSE: {TEE: 1}})
    assert "damage" in history(now, "resourced")[0]


def test_healing_with_nowhere_else_backorders_what_the_store_lost(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 3})
    two, one = placed(client, (TEE, 2)), placed(client, (TEE, 1))
    mark = feed_mark(client)

    shop.moved("sale", 2, sku=TEE, location=STORE)  # the newest order gives 1, the older 1

    partly, nothing = order(client, two["id"]), order(client, one["id"])
    assert (partly["status"], live(partly), backorders(partly)) == (
        "partially_allocated",
        {STORE: {TEE: 1}},
        {TEE: 1},
    )
    assert (nothing["status"], live(nothing), backorders(nothing)) == (
        "backordered",
        {},
        {TEE: 1},
    )
    assert [line["backordered"] for line in partly["lines"]] == [1]
    assert len(history(partly, "backordered")) == 1
    assert shop.position(TEE, STORE) == {
        "on_hand": 1,
        "reserved": 1,
        "unsellable": 0,
        "inbound": 0,
        "available": 0,
    }
    backordered = events(client, "order.backordered", after=mark)
    assert sorted(e["id"] for e in backordered) == sorted([two["id"], one["id"]])
    changed = events(client, "order.status_changed", after=mark)
    assert sorted((e["id"], e["status"]) for e in changed) == sorted(
        [(two["id"], "partially_allocated"), (one["id"], "backordered")]
    )
    assert "allocated → backordered" in history(nothing, "status_changed")


def test_healing_takes_the_newest_allocated_fulfilments_first_and_leaves_picked_ones_alone(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 4, WAREHOUSE: 10})
    a, b, c, d = (placed(client, (TEE, 1)) for _ in range(4))
    act(client, only_fulfilment(d)["id"], "pick")  # the newest is already in a picker's hands

    shop.moved("sale", 2, sku=TEE, location=STORE)

    where = {
        name: live(order(client, o["id"])) for name, o in zip("abcd", (a, b, c, d), strict=True)
    }
    assert where == {
        "a": {STORE: {TEE: 1}},
        "b": {WAREHOUSE: {TEE: 1}},
        "c": {WAREHOUSE: {TEE: 1}},
        "d": {STORE: {TEE: 1}},
    }
    assert statuses(order(client, d["id"])) == [(STORE, "picked")]
    assert shop.position(TEE, STORE)["reserved"] == 2
    assert shop.position(TEE, STORE)["available"] == 0


def test_healing_moves_only_as_many_units_as_the_store_is_short(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 3, WAREHOUSE: 5})
    receive(shop, MUG, {STORE: 1})
    web = placed(client, (TEE, 3), (MUG, 1))
    assert live(web) == {STORE: {TEE: 3, MUG: 1}}

    shop.moved("sale", 1, sku=TEE, location=STORE)

    now = order(client, web["id"])
    assert (now["status"], backorders(now)) == ("allocated", {})
    assert live(now) == {STORE: {TEE: 2, MUG: 1}, WAREHOUSE: {TEE: 1}}
    assert shop.position(TEE, STORE)["reserved"] == 2
    assert shop.position(TEE, WAREHOUSE)["reserved"] == 1
    assert shop.position(MUG, STORE)["reserved"] == 1


def test_a_till_sale_that_leaves_enough_for_every_promise_moves_nothing(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 3, WAREHOUSE: 5})
    web = placed(client, (TEE, 1))
    mark = feed_mark(client)

    shop.moved("sale", 2, sku=TEE, location=STORE)

    now = order(client, web["id"])
    assert (now["status"], live(now)) == ("allocated", {STORE: {TEE: 1}})
    assert history(now, "resourced") == []
    assert events(client, "order.resourced", after=mark) == []


def test_a_till_sale_of_a_unit_held_in_a_cart_leaves_no_promise_beyond_the_stock(
    client: TestClient, shop: Shop, france: None
) -> None:
    """Invariant 1 names no exception for holds: a cart's hold is a remote channel's promise
    like an order's allocation, so a till sale of the unit it holds must not leave the store
    promising more than it has. (Left as it is, the cart's checkout with `reservation_id`
    becomes an order allocated at the store with nothing on hand, refused only at `ship`.)"""
    receive(shop, TEE, {STORE: 1, WAREHOUSE: 5})
    response = client.post(
        "/v1/reservations",
        json={"channel": "web", "lines": [{"sku": TEE, "quantity": 1}], "location": STORE},
    )
    assert response.status_code == 201, response.text

    shop.moved("sale", 1, sku=TEE, location=STORE)

    assert shop.position(TEE, STORE)["available"] >= 0


# --------------------------------------------------------------------------- rejection


def test_a_rejection_writes_off_the_missing_units_and_sources_the_lines_elsewhere(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 3, WAREHOUSE: 5})
    web = placed(client, (TEE, 2))
    at_store = only_fulfilment(web)
    mark = feed_mark(client)

    rejected = act(
        client,
        at_store["id"],
        "reject",
        reason="shelf empty",
        missing=[{"sku": TEE, "quantity": 1}],
    )

    assert (rejected["status"], rejected["reason"]) == ("rejected", "shelf empty")
    (write_off,) = [m for m in shop.ledger(TEE, location=STORE) if m["type"] == "write_off"]
    assert (write_off["on_hand"], write_off["reserved"], write_off["unsellable"]) == (-1, 0, 0)
    assert "shelf empty" in write_off["reason"]
    assert write_off["reference"] == f"order:{web['id']}"
    assert shop.position(TEE, STORE) == {
        "on_hand": 2,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 2,
    }
    now = order(client, web["id"])
    assert now["status"] == "allocated"
    assert statuses(now) == [(STORE, "rejected"), (WAREHOUSE, "allocated")]
    assert live(now) == {WAREHOUSE: {TEE: 2}}, "the whole fulfilment moves, not only the missing"
    assert history(now, "resourced") and STORE in history(now, "resourced")[0]
    decision = sourcing(client, web["id"])["decision"]
    assert decision["trigger"] == "rejection"
    assert verdicts(decision)[STORE] == "excluded"
    assert [e["id"] for e in events(client, "order.resourced", after=mark)] == [web["id"]]
    changed = events(client, "fulfillment.status_changed", after=mark)
    assert [(e["id"], e["status"]) for e in changed] == [(at_store["id"], "rejected")]


def test_a_store_that_rejected_an_order_never_serves_it_again_even_with_the_most_stock(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 10, WAREHOUSE: 2})
    web = placed(client, (TEE, 2))
    act(client, only_fulfilment(web)["id"], "reject", reason="cannot ship today")

    moved = order(client, web["id"])
    assert live(moved) == {WAREHOUSE: {TEE: 2}}

    (in_paris,) = [f for f in moved["fulfillments"] if f["location"] == WAREHOUSE]
    act(client, in_paris["id"], "reject", reason="pallet blocked")

    now = order(client, web["id"])
    assert (now["status"], live(now), backorders(now)) == ("backordered", {}, {TEE: 2})
    assert statuses(now) == [(STORE, "rejected"), (WAREHOUSE, "rejected")]
    assert verdicts(sourcing(client, web["id"])["decision"]) == {
        STORE: "excluded",
        WAREHOUSE: "excluded",
    }
    assert shop.position(TEE, STORE)["reserved"] == 0
    assert shop.position(TEE, WAREHOUSE)["reserved"] == 0


def test_a_rejection_with_nowhere_else_to_go_backorders_the_lines(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 2})
    web = placed(client, (TEE, 2))
    mark = feed_mark(client)

    act(client, only_fulfilment(web)["id"], "reject", reason="not found")

    now = order(client, web["id"])
    assert (now["status"], backorders(now)) == ("backordered", {TEE: 2})
    assert history(now, "backordered")
    assert [e["id"] for e in events(client, "order.backordered", after=mark)] == [web["id"]]
    changed = events(client, "order.status_changed", after=mark)
    assert [(e["id"], e["status"]) for e in changed] == [(web["id"], "backordered")]


def test_a_rejected_pickup_is_backordered_at_its_store_and_never_sent_elsewhere(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 3, WAREHOUSE: 5})
    pickup = placed(client, (TEE, 1), delivery=pickup_at(STORE))
    fulfilment = only_fulfilment(pickup)
    act(client, fulfilment["id"], "pick")

    act(
        client,
        fulfilment["id"],
        "reject",
        reason="lost in the back room",
        missing=[{"sku": TEE, "quantity": 1}],
    )

    now = order(client, pickup["id"])
    assert (now["status"], live(now), backorders(now)) == ("backordered", {}, {TEE: 1})
    assert shop.position(TEE, STORE)["on_hand"] == 2
    assert shop.position(TEE, STORE)["reserved"] == 0
    assert shop.position(TEE, WAREHOUSE)["reserved"] == 0


def test_a_rejections_write_off_leaves_the_other_orders_at_the_store_where_they_are(
    client: TestClient, shop: Shop, france: None
) -> None:
    """The write-off never takes more than the rejected fulfilment gave back, so the other
    promises at the store still have their units and stay."""
    receive(shop, TEE, {STORE: 2, WAREHOUSE: 5})
    rejected, other = placed(client, (TEE, 1)), placed(client, (TEE, 1))

    act(
        client,
        only_fulfilment(rejected)["id"],
        "reject",
        reason="not found",
        missing=[{"sku": TEE, "quantity": 1}],
    )

    assert live(order(client, other["id"])) == {STORE: {TEE: 1}}
    assert live(order(client, rejected["id"])) == {WAREHOUSE: {TEE: 1}}
    assert shop.position(TEE, STORE) == {
        "on_hand": 1,
        "reserved": 1,
        "unsellable": 0,
        "inbound": 0,
        "available": 0,
    }


# --------------------------------------------------------------------------- cancellation


def test_cancelling_some_units_takes_the_backordered_ones_first_then_the_newest_fulfilment(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 2, WAREHOUSE: 2})
    web = placed(client, (TEE, 5), allow_partial=True)
    assert (live(web), backorders(web)) == ({STORE: {TEE: 2}, WAREHOUSE: {TEE: 2}}, {TEE: 1})
    newest = max(web["fulfillments"], key=lambda f: f["id"])["location"]

    response = client.post(
        f"/v1/orders/{web['id']}/cancel", json={"lines": [{"sku": TEE, "quantity": 2}]}
    )

    assert response.status_code == 200, response.text
    now = response.json()
    assert now["status"] == "allocated"
    assert now["lines"][0] | {"unit_price": None} == {
        "sku": TEE,
        "quantity": 5,
        "unit_price": None,
        "backordered": 0,
        "cancelled": 2,
    }
    assert live(now)[newest] == {TEE: 1}
    assert shop.position(TEE, newest)["reserved"] == 1


def test_cancelling_the_whole_order_gives_every_unit_back(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 1, WAREHOUSE: 1})
    receive(shop, MUG, {WAREHOUSE: 1})
    web = placed(client, (TEE, 2), (MUG, 3), allow_partial=True)
    mark = feed_mark(client)

    response = client.post(f"/v1/orders/{web['id']}/cancel")

    assert response.status_code == 200, response.text
    now = response.json()
    assert (now["status"], live(now), backorders(now)) == ("cancelled", {}, {})
    assert [(line["sku"], line["cancelled"]) for line in now["lines"]] == [(TEE, 2), (MUG, 3)]
    for sku, code in ((TEE, STORE), (TEE, WAREHOUSE), (MUG, WAREHOUSE)):
        assert shop.position(sku, code)["reserved"] == 0
    changed = events(client, "order.status_changed", after=mark)
    assert [(e["id"], e["status"]) for e in changed] == [(web["id"], "cancelled")]


def test_shipped_units_cannot_be_cancelled(
    client: TestClient, shop: Shop, france: None, problem: Any
) -> None:
    receive(shop, TEE, {STORE: 2})
    web = placed(client, (TEE, 2))
    fulfilment = only_fulfilment(web)
    for action in ("pick", "pack", "ship"):
        act(client, fulfilment["id"], action)

    some = client.post(
        f"/v1/orders/{web['id']}/cancel", json={"lines": [{"sku": TEE, "quantity": 1}]}
    )
    body = problem(some, 409, field="lines[0].quantity")
    assert body["code"] == "not-cancellable"
    problem(client.post(f"/v1/orders/{web['id']}/cancel"), 409)
    problem(
        client.post(
            f"/v1/orders/{web['id']}/cancel", json={"lines": [{"sku": MUG, "quantity": 1}]}
        ),
        422,
        field="lines[0].sku",
    )
    assert order(client, web["id"])["status"] == "in_progress"
    assert shop.position(TEE, STORE)["on_hand"] == 0


# --------------------------------------------------------------------------- status events


def test_every_status_an_order_passes_through_is_announced(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {WAREHOUSE: 1})
    mark = feed_mark(client)
    web = placed(client, (TEE, 1))
    fulfilment = only_fulfilment(web)
    for action in ("pick", "pack", "ship", "deliver"):
        act(client, fulfilment["id"], action)

    assert [e["status"] for e in events(client, "order.created", after=mark)] == ["allocated"]
    announced = events(client, "order.status_changed", after=mark)
    assert [e["status"] for e in announced] == ["in_progress", "completed"]
    moved = events(client, "fulfillment.status_changed", after=mark)
    assert [e["status"] for e in moved] == ["picked", "packed", "shipped", "delivered"]
    assert order(client, web["id"])["status"] == "completed"
    assert shop.position(TEE, WAREHOUSE)["on_hand"] == 0


def test_an_in_store_sale_of_a_promised_unit_moves_the_web_order_to_paris(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 1, WAREHOUSE: 5})
    web = placed(client, (TEE, 1))

    till = placed(client, (TEE, 1), delivery={"method": "in_store", "location": STORE})

    assert (till["status"], statuses(till)) == ("completed", [(STORE, "collected")])
    assert live(order(client, web["id"])) == {WAREHOUSE: {TEE: 1}}
    assert shop.position(TEE, STORE)["available"] == 0
    assert [m["type"] for m in shop.ledger(TEE, location=STORE)][-2:] == ["sale", "deallocate"]


def test_a_pickup_whose_unit_is_sold_at_the_till_waits_at_its_store(
    client: TestClient, shop: Shop, france: None
) -> None:
    receive(shop, TEE, {STORE: 1, WAREHOUSE: 5})
    pickup = placed(client, (TEE, 1), delivery=pickup_at(STORE))

    shop.moved("sale", 1, sku=TEE, location=STORE)

    now = order(client, pickup["id"])
    assert (now["status"], live(now), backorders(now)) == ("backordered", {}, {TEE: 1})
    assert shop.position(TEE, WAREHOUSE)["reserved"] == 0, "a pickup is never sent elsewhere"
    assert history(now, "backordered")
