"""Orders over HTTP: capture from every channel, sourcing explained, cancel (issue 4).

A small French retailer: warehouses in Paris and Lyon, a store in Lyon that ships and offers
click & collect, a store in Nice that only sells over the counter, and a closed store. The web
shop sells from every ship-enabled location, the marketplace from the warehouses, the stores
channel from the stores. Coordinates are real, so "nearest" means what a customer expects.

Every scenario ends with the books balanced (`assert_books_balance`): the ledger replays to the
positions, and each position's `reserved` is exactly what open fulfilments and active holds
promise there. The fulfilment workflow is in test_fulfilments_api.py.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from omnistock.db import Database
from omnistock.db import tables as t
from omnistock.services import stock

PARIS = {"lat": 48.8566, "lon": 2.3522}
LYON = {"lat": 45.7640, "lon": 4.8357}
LYON_BELLECOUR = {"lat": 45.7578, "lon": 4.8320}
NICE = {"lat": 43.7102, "lon": 7.2620}

CUSTOMER = {"name": "Camille Martin", "email": "camille.martin@example.fr"}
#: 4.3 km from the Lyon warehouse, 4.8 km from the Lyon store, 392 km from Paris.
VILLEURBANNE = {
    "line1": "12 cours Emile Zola",
    "city": "Villeurbanne",
    "postcode": "69100",
    "country": "FR",
    "lat": 45.7719,
    "lon": 4.8902,
}
#: Next door to the Paris warehouse.
VERSAILLES = {
    "line1": "1 place d'Armes",
    "city": "Versailles",
    "postcode": "78000",
    "country": "FR",
    "lat": 48.8049,
    "lon": 2.1204,
}
#: On the doorstep of the Lyon store.
BELLECOUR = {
    "line1": "2 place Bellecour",
    "city": "Lyon",
    "postcode": "69002",
    "country": "FR",
    **LYON_BELLECOUR,
}
PRICES = {"TEE-M": "19.90", "MUG": "8.50", "CAP": "12.00"}
#: Statuses a fulfilment no longer promises units in (see omnistock.domain.orders).
DROPPED = {"rejected", "cancelled", "expired"}
OPEN = {"allocated", "picked", "packed", "ready_for_pickup"}


# --------------------------------------------------------------------------- helpers


def ship_to(address: dict[str, Any] = VILLEURBANNE) -> dict[str, Any]:
    return {"method": "ship", "address": address}


def pickup_at(code: str) -> dict[str, Any]:
    return {"method": "pickup", "location": code}


def sold_at(code: str) -> dict[str, Any]:
    return {"method": "in_store", "location": code}


def order(
    *lines: tuple[str, int],
    delivery: dict[str, Any] | None = None,
    channel: str = "web",
    **fields: Any,
) -> dict[str, Any]:
    """An order body; shipped to Villeurbanne unless told otherwise."""
    return {
        "channel": channel,
        "customer": CUSTOMER,
        "delivery": delivery or ship_to(),
        "lines": [{"sku": s, "quantity": q, "unit_price": PRICES[s]} for s, q in lines],
        **fields,
    }


def place(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post("/v1/orders", json=body, headers=headers)


def placed(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """An order that must be accepted as new (201); returns it."""
    response = place(client, order(*lines, **fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def read_order(client: TestClient, order_id: int) -> dict[str, Any]:
    response = client.get(f"/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def without_history(order_view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order_view.items() if k != "history"}


def receive(shop: Any, sku: str, units: dict[str, int]) -> None:
    for code, quantity in units.items():
        shop.moved("receipt", quantity, sku=sku, location=code)


def reserved(shop: Any, sku: str = "TEE-M") -> dict[str, int]:
    """Units reserved at each location holding the sku."""
    return {p["location"]: p["reserved"] for p in shop.stock(sku)["positions"]}


def on_hand(shop: Any, sku: str = "TEE-M") -> dict[str, int]:
    return {p["location"]: p["on_hand"] for p in shop.stock(sku)["positions"]}


def moves(shop: Any, sku: str = "TEE-M", *, but: str = "receipt") -> list[tuple[Any, ...]]:
    """The ledger of a sku (all but receipts): (type, location, on_hand, reserved, reference)."""
    return [
        (m["type"], m["location"], m["on_hand"], m["reserved"], m["reference"])
        for m in shop.ledger(sku)
        if m["type"] != but
    ]


def events(client: TestClient, kind: str) -> list[dict[str, Any]]:
    page = client.get("/v1/events", params={"limit": 1000}).json()["events"]
    return [e["data"] for e in page if e["type"] == kind]


def where(order_view: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(location, status, [(sku, units)]) of each fulfilment, in id order."""
    return [
        (f["location"], f["status"], [(x["sku"], x["quantity"]) for x in f["lines"]])
        for f in order_view["fulfillments"]
    ]


def held(client: TestClient, *lines: tuple[str, int], **fields: Any) -> dict[str, Any]:
    """A cart hold that must be granted."""
    body = {"channel": "web", "lines": [{"sku": s, "quantity": q} for s, q in lines], **fields}
    response = client.post("/v1/reservations", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def act(
    client: TestClient, fulfilment_id: int, action: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return client.post(f"/v1/fulfillments/{fulfilment_id}/{action}", json=body)


def acted(
    client: TestClient, fulfilment_id: int, *actions: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Carry out actions that must be accepted; returns the fulfilment after the last."""
    answer: dict[str, Any] = {}
    for action in actions:
        response = act(client, fulfilment_id, action, body)
        assert response.status_code == 200, (action, response.text)
        answer = response.json()
    return answer


def assert_books_balance(db: Database) -> None:
    """The ledger replays to the positions; each position's `reserved` is what open
    fulfilments, active holds and open transfers promise there; no position is promised
    more than it has; every order line's units are either backordered, cancelled or in a
    live fulfilment."""
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
        promised: defaultdict[tuple[str, str], int] = defaultdict(int)
        fulfilments = reads.conn.execute(
            select(t.fulfilments.c.location, t.fulfilment_lines.c.sku)
            .add_columns(t.fulfilment_lines.c.quantity)
            .select_from(t.fulfilments.join(t.fulfilment_lines))
            .where(t.fulfilments.c.status.in_(OPEN))
        )
        for location, sku, quantity in fulfilments:
            promised[location, sku] += quantity
        holds = reads.conn.execute(
            select(t.reservation_lines.c.location, t.reservation_lines.c.sku)
            .add_columns(t.reservation_lines.c.quantity)
            .select_from(t.reservation_lines.join(t.reservations))
            .where(t.reservations.c.status == "active", t.reservation_lines.c.location.is_not(None))
        )
        for location, sku, quantity in holds:
            promised[location, sku] += quantity
        transfers = reads.conn.execute(
            select(t.transfers.c.origin, t.transfer_lines.c.sku)
            .add_columns(t.transfer_lines.c.quantity)
            .select_from(t.transfers.join(t.transfer_lines))
            .where(t.transfers.c.status == "open")
        )
        for location, sku, quantity in transfers:
            promised[location, sku] += quantity
        positions = reads.conn.execute(select(t.positions)).all()
        for p in positions:
            assert p.reserved == promised.pop((p.location, p.sku), 0), p
            assert p.reserved <= p.on_hand - p.unsellable, p
        assert not any(promised.values()), promised
        lines = reads.conn.execute(select(t.order_lines)).all()
        live_units: Counter[tuple[int, str]] = Counter()
        rows = reads.conn.execute(
            select(t.fulfilments.c.order_id, t.fulfilment_lines.c.sku)
            .add_columns(t.fulfilment_lines.c.quantity)
            .select_from(t.fulfilments.join(t.fulfilment_lines))
            .where(t.fulfilments.c.status.not_in(DROPPED))
        )
        for order_id, sku, quantity in rows:
            live_units[order_id, sku] += quantity
        for line in lines:
            accounted = line.backordered + line.cancelled + live_units[line.order_id, line.sku]
            assert accounted == line.quantity, line


@pytest.fixture(autouse=True)
def books_balance_after_each_scenario(db: Database) -> Iterator[None]:
    yield
    assert_books_balance(db)


def set_up_france(shop: Any) -> None:
    """Locations, items and channels; no stock (each test receives what it needs)."""
    shop.location("WH-PARIS", name="Paris warehouse", **PARIS)
    shop.location("WH-LYON", name="Lyon warehouse", **LYON)
    shop.location(
        "ST-LYON",
        name="Lyon Bellecour store",
        type="store",
        pickup_enabled=True,
        **LYON_BELLECOUR,
    )
    shop.location(
        "ST-NICE",
        name="Nice counter",
        type="store",
        ship_enabled=False,
        pickup_enabled=False,
        **NICE,
    )
    shop.location(
        "ST-CLOSED", name="Closed store", type="store", pickup_enabled=True, active=False, **PARIS
    )
    for sku, name in (("TEE-M", "Tee, size M"), ("MUG", "Mug"), ("CAP", "Cap")):
        shop.item(sku, name=name)
    for code, body in {
        "web": {"name": "Web shop"},  # every active ship-enabled location
        "mp": {"name": "Marketplace", "location_types": ["warehouse"]},
        "stores": {"name": "Stores", "location_types": ["store"]},
    }.items():
        response = shop.client.put(f"/v1/channels/{code}", json=body)
        assert response.status_code == 201, response.text


@pytest.fixture
def france(shop: Any) -> None:
    set_up_france(shop)


# --------------------------------------------------------------------------- ship


def test_a_ship_order_answers_201_with_the_order_its_fulfilment_and_no_backorders(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10})
    receive(shop, "MUG", {"WH-LYON": 5, "WH-PARIS": 5})
    asked = dt.datetime.now(dt.UTC)

    response = place(client, order(("TEE-M", 3), ("MUG", 1), external_id="WEB-1001"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body["id"], int)
    fulfilment = body["fulfillments"][0]
    assert isinstance(fulfilment["id"], int)
    assert body == {
        "id": body["id"],
        "status": "allocated",
        "channel": "web",
        "external_id": "WEB-1001",
        "customer": CUSTOMER,
        "delivery": {"method": "ship", "address": VILLEURBANNE},
        "currency": "EUR",
        "created_at": body["created_at"],
        "lines": [
            {
                "sku": "TEE-M",
                "quantity": 3,
                "unit_price": "19.90",
                "backordered": 0,
                "cancelled": 0,
            },
            {"sku": "MUG", "quantity": 1, "unit_price": "8.50", "backordered": 0, "cancelled": 0},
        ],
        "fulfillments": [
            {
                "id": fulfilment["id"],
                "order_id": body["id"],
                "location": "WH-LYON",  # the nearest to Villeurbanne
                "status": "allocated",
                "lines": fulfilment["lines"],
                "carrier": None,
                "tracking": None,
                "reason": None,
            }
        ],
        "backorders": [],
    }
    assert sorted((x["sku"], x["quantity"]) for x in fulfilment["lines"]) == [
        ("MUG", 1),
        ("TEE-M", 3),
    ]
    created_at = dt.datetime.fromisoformat(body["created_at"])
    assert created_at.utcoffset() == dt.timedelta(0)
    assert asked <= created_at <= dt.datetime.now(dt.UTC)


def test_a_ship_order_reserves_its_units_where_it_is_fulfilled_and_nowhere_else(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10, "ST-LYON": 4})

    body = placed(client, ("TEE-M", 3), delivery=ship_to(VERSAILLES))

    assert where(body) == [("WH-PARIS", "allocated", [("TEE-M", 3)])]
    assert reserved(shop) == {"ST-LYON": 0, "WH-LYON": 0, "WH-PARIS": 3}
    assert on_hand(shop) == {"ST-LYON": 4, "WH-LYON": 10, "WH-PARIS": 10}
    assert shop.position("TEE-M", "WH-PARIS")["available"] == 7
    assert moves(shop) == [("allocate", "WH-PARIS", 0, 3, f"order:{body['id']}")]


def test_an_order_reads_back_exactly_as_it_was_answered(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    body = placed(client, ("TEE-M", 3), ("MUG", 1))  # lines not in alphabetical order

    again = read_order(client, body["id"])

    assert without_history(again) == body


def test_a_unit_price_is_answered_with_its_two_decimals_as_it_is_kept(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    receive(shop, "MUG", {"WH-LYON": 10})
    body = order(("TEE-M", 1), ("MUG", 1))
    body["lines"][0]["unit_price"] = "19.9"
    body["lines"][1]["unit_price"] = "35"

    answered = place(client, body).json()

    assert [line["unit_price"] for line in answered["lines"]] == ["19.90", "35.00"]
    assert read_order(client, answered["id"])["lines"] == answered["lines"]


def test_a_new_order_is_in_the_event_feed_as_the_api_answered_it(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})

    body = placed(client, ("TEE-M", 2))

    assert events(client, "order.created") == [body]
    assert events(client, "order.backordered") == []
    changed = [(c["location"], c["reserved"]) for c in events(client, "stock.changed")]
    assert changed[-1] == ("WH-LYON", 2)


# --------------------------------------------------------------------------- pickup


def test_a_pickup_order_reserves_at_the_chosen_store_though_a_warehouse_is_as_near(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 3})

    body = placed(client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"))

    assert body["status"] == "allocated"
    assert body["delivery"] == {"method": "pickup", "location": "ST-LYON"}
    assert where(body) == [("ST-LYON", "allocated", [("TEE-M", 2)])]
    assert body["backorders"] == []
    assert reserved(shop) == {"ST-LYON": 2, "WH-LYON": 0}
    assert on_hand(shop) == {"ST-LYON": 3, "WH-LYON": 10}


def test_a_pickup_order_draws_on_its_store_only_and_refuses_what_the_store_lacks(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 3})

    with unchanged():
        response = place(client, order(("TEE-M", 4), delivery=pickup_at("ST-LYON")))

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert body["lines"] == [{"sku": "TEE-M", "requested": 4, "available": 3}]


# --------------------------------------------------------------------------- in store


def test_an_in_store_sale_is_collected_at_once_and_takes_the_units_off_on_hand(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 5, "WH-PARIS": 10})

    body = placed(client, ("TEE-M", 2), channel="stores", delivery=sold_at("ST-NICE"))

    assert body["status"] == "completed"
    assert body["delivery"] == {"method": "in_store", "location": "ST-NICE"}
    assert where(body) == [("ST-NICE", "collected", [("TEE-M", 2)])]
    assert body["backorders"] == []
    assert shop.position("TEE-M", "ST-NICE") == {
        "on_hand": 3,
        "reserved": 0,
        "unsellable": 0,
        "inbound": 0,
        "available": 3,
    }
    assert on_hand(shop)["WH-PARIS"] == 10
    assert moves(shop) == [("sale", "ST-NICE", -2, 0, f"order:{body['id']}")]
    assert without_history(read_order(client, body["id"])) == body


def test_an_in_store_sale_of_a_unit_promised_to_a_web_order_moves_the_promise_elsewhere(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 2, "WH-LYON": 5})
    web = placed(client, ("TEE-M", 2), delivery=ship_to(BELLECOUR))
    assert where(web) == [("ST-LYON", "allocated", [("TEE-M", 2)])]

    sale = placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-LYON"))

    assert sale["status"] == "completed"
    assert on_hand(shop) == {"ST-LYON": 1, "WH-LYON": 5}
    assert reserved(shop) == {"ST-LYON": 1, "WH-LYON": 1}
    now = read_order(client, web["id"])
    assert now["status"] == "allocated"
    assert where(now) == [
        ("ST-LYON", "allocated", [("TEE-M", 1)]),
        ("WH-LYON", "allocated", [("TEE-M", 1)]),
    ]
    assert "resourced" in [entry["event"] for entry in now["history"]]


def test_an_in_store_sale_of_more_than_the_store_has_is_refused_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"ST-NICE": 2, "WH-PARIS": 10})

    with unchanged():
        response = place(client, order(("TEE-M", 3), channel="stores", delivery=sold_at("ST-NICE")))

    problem(response, 409)


# --------------------------------------------------------------------------- all or nothing


def test_an_order_with_short_lines_names_each_of_them_and_changes_nothing(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "WH-PARIS": 10, "ST-LYON": 3})
    receive(shop, "MUG", {"WH-LYON": 5})
    receive(shop, "CAP", {"WH-PARIS": 4})

    with unchanged():
        response = place(client, order(("TEE-M", 30), ("MUG", 1), ("CAP", 9)))

    body = problem(response, 409)
    assert body["code"] == "insufficient-stock"
    assert body["lines"] == [
        {"sku": "TEE-M", "requested": 30, "available": 23},
        {"sku": "CAP", "requested": 9, "available": 4},
    ]
    assert client.get("/v1/orders").json() == {"orders": [], "next": None}


def test_the_marketplace_cannot_order_the_units_only_a_store_has(
    client, shop, france, unchanged, problem
) -> None:
    receive(shop, "TEE-M", {"ST-LYON": 10, "WH-LYON": 1})

    with unchanged():
        response = place(client, order(("TEE-M", 2), channel="mp"))

    assert problem(response, 409)["lines"] == [{"sku": "TEE-M", "requested": 2, "available": 1}]


def test_allow_partial_allocates_what_there_is_and_backorders_the_rest(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 6, "WH-PARIS": 4})

    body = placed(client, ("TEE-M", 14), ("MUG", 2), allow_partial=True)

    assert body["status"] == "partially_allocated"
    assert sorted(where(body)) == [
        ("WH-LYON", "allocated", [("TEE-M", 6)]),
        ("WH-PARIS", "allocated", [("TEE-M", 4)]),
    ]
    assert [(x["sku"], x["backordered"]) for x in body["lines"]] == [("TEE-M", 4), ("MUG", 2)]
    assert body["backorders"] == [{"sku": "TEE-M", "quantity": 4}, {"sku": "MUG", "quantity": 2}]
    assert reserved(shop) == {"WH-LYON": 6, "WH-PARIS": 4}
    history = read_order(client, body["id"])["history"]
    assert [entry["event"] for entry in history] == ["created", "backordered", "backordered"]
    assert events(client, "order.backordered") == [body]


def test_allow_partial_with_nothing_in_stock_backorders_every_line_and_reserves_nothing(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 5})
    placed(client, ("TEE-M", 5))

    body = placed(client, ("TEE-M", 2), ("CAP", 1), allow_partial=True)

    assert body["status"] == "backordered"
    assert body["fulfillments"] == []
    assert body["backorders"] == [{"sku": "TEE-M", "quantity": 2}, {"sku": "CAP", "quantity": 1}]
    assert reserved(shop) == {"WH-LYON": 5}


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
        other_lines = place(client, order(("TEE-M", 1), ("MUG", 1), external_id="WEB-1001"))

    assert again.status_code == other_lines.status_code == 200
    assert again.json() == other_lines.json() == without_history(read_order(client, first["id"]))
    assert again.json()["status"] == "in_progress"


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


# --------------------------------------------------------------------------- from a hold


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
    problem(response, 404, field="reservation_id")
    assert client.get(f"/v1/reservations/{hold['id']}").json()["status"] == "active"


# --------------------------------------------------------------------------- bad orders

GOOD = order(("TEE-M", 1), ("MUG", 1))


def _with(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


def _line(**changes: Any) -> dict[str, Any]:
    return _with(lines=[{**GOOD["lines"][0], **changes}, GOOD["lines"][1]])


def _address(**changes: Any) -> dict[str, Any]:
    return _with(delivery=ship_to({**VILLEURBANNE, **changes}))


def _without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


#: Bodies that are not an order at all: refused before anything is read.
MALFORMED_ORDERS: dict[str, tuple[dict[str, Any], int, str]] = {
    "no channel": (_without("channel"), 422, "channel"),
    "a channel code that cannot exist": (_with(channel="a b"), 422, "channel"),
    "no customer": (_without("customer"), 422, "customer"),
    "a customer without a name": (_with(customer={"email": "a@b.fr"}), 422, "customer.name"),
    "an email without an at sign": (
        _with(customer={"name": "Camille", "email": "camille.example.fr"}),
        422,
        "customer.email",
    ),
    "an email with a space": (
        _with(customer={"name": "Camille", "email": "camille martin@example.fr"}),
        422,
        "customer.email",
    ),
    "no delivery": (_without("delivery"), 422, "delivery"),
    "a delivery by drone": (_with(delivery={"method": "drone"}), 422, "delivery.method"),
    "a delivery without a method": (
        _with(delivery={"location": "ST-LYON"}),
        422,
        "delivery.method",
    ),
    "a shipment without an address": (_with(delivery={"method": "ship"}), 422, "delivery.address"),
    "a country in lower case": (_address(country="fr"), 422, "delivery.address.country"),
    "a country of three letters": (_address(country="FRA"), 422, "delivery.address.country"),
    "a latitude beyond the pole": (_address(lat=90.5), 422, "delivery.address.lat"),
    "a longitude beyond the antimeridian": (_address(lon=-180.5), 422, "delivery.address.lon"),
    "an address without a postcode": (
        _with(delivery=ship_to({k: v for k, v in VILLEURBANNE.items() if k != "postcode"})),
        422,
        "delivery.address.postcode",
    ),
    "a pickup without a store": (_with(delivery={"method": "pickup"}), 422, "delivery.location"),
    "no lines": (_without("lines"), 422, "lines"),
    "an empty list of lines": (_with(lines=[]), 422, "lines"),
    "a hundred and one lines": (_with(lines=[GOOD["lines"][0]] * 101), 422, "lines"),
    "a sku that cannot exist": (_line(sku="a b"), 422, "lines[0].sku"),
    "a line of zero units": (_line(quantity=0), 422, "lines[0].quantity"),
    "a line of half a unit": (_line(quantity=1.5), 422, "lines[0].quantity"),
    "a quantity written as text": (_line(quantity="2"), 422, "lines[0].quantity"),
    "a line of more than a billion units": (
        _line(quantity=1_000_000_001),
        422,
        "lines[0].quantity",
    ),
    "a line without a price": (
        _with(lines=[{"sku": "TEE-M", "quantity": 1}, GOOD["lines"][1]]),
        422,
        "lines[0].unit_price",
    ),
    "a negative price": (_line(unit_price="-1.00"), 422, "lines[0].unit_price"),
    "a price in thousandths": (_line(unit_price="19.999"), 422, "lines[0].unit_price"),
    "a price that is not a number": (_line(unit_price="cheap"), 422, "lines[0].unit_price"),
    "a currency in lower case": (_with(currency="eur"), 422, "currency"),
    "a currency of four letters": (_with(currency="EURO"), 422, "currency"),
    "an external id too long": (_with(external_id="x" * 101), 422, "external_id"),
    "an empty external id": (_with(external_id=" "), 422, "external_id"),
    "a reservation id too long": (_with(reservation_id="x" * 37), 422, "reservation_id"),
}
#: Well-formed orders that break a rule of the catalogue, the channels or the locations.
UNACCEPTABLE_ORDERS: dict[str, tuple[dict[str, Any], int, str]] = {
    "an unknown channel": (_with(channel="nope"), 404, "channel"),
    "a pickup at an unknown store": (_with(delivery=pickup_at("NOPE")), 404, "delivery.location"),
    "a pickup at a store without pickup": (
        _with(delivery=pickup_at("ST-NICE")),
        422,
        "delivery.location",
    ),
    "a pickup at a warehouse": (_with(delivery=pickup_at("WH-LYON")), 422, "delivery.location"),
    "a pickup at a closed store": (
        _with(delivery=pickup_at("ST-CLOSED")),
        422,
        "delivery.location",
    ),
    "an in-store sale at a warehouse": (
        _with(delivery=sold_at("WH-PARIS")),
        422,
        "delivery.location",
    ),
    "an in-store sale at a closed store": (
        _with(delivery=sold_at("ST-CLOSED")),
        422,
        "delivery.location",
    ),
    "an in-store sale at an unknown store": (
        _with(delivery=sold_at("NOPE")),
        404,
        "delivery.location",
    ),
    "an unknown sku": (
        _with(lines=[*GOOD["lines"], {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}]),
        422,
        "lines[2].sku",
    ),
    "the same sku on two lines": (
        _with(lines=[*GOOD["lines"], GOOD["lines"][0]]),
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
            if status == 404:
                assert "NOPE" in answer["detail"] or "nope" in answer["detail"]


# --------------------------------------------------------------------------- reading orders


def test_an_order_reads_back_with_its_history(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    body = placed(client, ("TEE-M", 2))
    acted(client, body["fulfillments"][0]["id"], "pick")

    found = read_order(client, body["id"])

    assert found["status"] == "in_progress"
    history = found["history"]
    assert [entry["event"] for entry in history] == [
        "created",
        "fulfillment_picked",
        "status_changed",
    ]
    assert "WH-LYON" in history[0]["detail"]
    assert history[2]["detail"] == "allocated → in_progress"
    for entry in history:
        assert set(entry) == {"at", "event", "detail"}
        assert dt.datetime.fromisoformat(entry["at"]).utcoffset() == dt.timedelta(0)
    assert [entry["at"] for entry in history] == sorted(entry["at"] for entry in history)


def test_an_unknown_order_is_a_404_and_a_malformed_id_a_422(client, france, problem) -> None:
    problem(client.get("/v1/orders/999"), 404)
    problem(client.get("/v1/orders/999/sourcing"), 404)
    problem(client.get("/v1/orders/0"), 422, field="id")
    problem(client.get("/v1/orders/abc"), 422, field="id")


@pytest.fixture
def seven_orders(client, shop, france) -> dict[str, int]:
    """Orders in every status, on three channels, by name: each name's order id."""
    receive(shop, "TEE-M", {"WH-LYON": 20, "WH-PARIS": 20, "ST-LYON": 20, "ST-NICE": 20})
    ids = {
        "web ship": placed(client, ("TEE-M", 1))["id"],
        "mp ship": placed(client, ("TEE-M", 1), channel="mp", delivery=ship_to(VERSAILLES))["id"],
        "web pickup": placed(client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"))["id"],
        "store sale": placed(client, ("TEE-M", 1), channel="stores", delivery=sold_at("ST-NICE"))[
            "id"
        ],
    }
    picked = placed(client, ("TEE-M", 1))
    acted(client, picked["fulfillments"][0]["id"], "pick")
    ids["web picked"] = picked["id"]
    cancelled = placed(client, ("TEE-M", 1))
    assert client.post(f"/v1/orders/{cancelled['id']}/cancel").status_code == 200
    ids["web cancelled"] = cancelled["id"]
    ids["web backordered"] = placed(client, ("MUG", 1), allow_partial=True)["id"]
    return ids


def listed(client: TestClient, **params: Any) -> list[int]:
    response = client.get("/v1/orders", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next"] is None
    return [o["id"] for o in response.json()["orders"]]


def test_orders_are_listed_oldest_first_by_status_channel_and_location(
    client, seven_orders
) -> None:
    ids = seven_orders

    assert listed(client) == sorted(ids.values())
    assert listed(client, status="allocated") == [
        ids["web ship"],
        ids["mp ship"],
        ids["web pickup"],
    ]
    assert listed(client, status="in_progress") == [ids["web picked"]]
    assert listed(client, status="completed") == [ids["store sale"]]
    assert listed(client, status="cancelled") == [ids["web cancelled"]]
    assert listed(client, status="backordered") == [ids["web backordered"]]
    assert listed(client, status="partially_allocated") == []
    assert listed(client, channel="mp") == [ids["mp ship"]]
    assert listed(client, channel="stores") == [ids["store sale"]]
    assert listed(client, channel="web", status="allocated") == [ids["web ship"], ids["web pickup"]]
    assert listed(client, location="ST-LYON") == [ids["web pickup"]]
    assert listed(client, location="ST-NICE") == [ids["store sale"]]
    assert listed(client, location="WH-PARIS") == [ids["mp ship"]]
    assert listed(client, location="WH-LYON", status="in_progress") == [ids["web picked"]]
    assert listed(client, channel="nobody") == []


def test_a_listed_order_is_the_order_as_read_alone_without_its_history(
    client, seven_orders
) -> None:
    for found in client.get("/v1/orders").json()["orders"]:
        assert found.get("history") is None
        assert without_history(found) == without_history(read_order(client, found["id"]))


def test_every_order_is_listed_under_the_status_it_shows(client, shop, seven_orders) -> None:
    receive(shop, "CAP", {"WH-LYON": 1, "WH-PARIS": 1})
    receive(shop, "MUG", {"WH-LYON": 1})
    split = placed(client, ("CAP", 2))
    lyon, paris = (f["id"] for f in split["fulfillments"])
    acted(client, lyon, "pick", "pack", "ship", "deliver")
    acted(client, paris, "cancel")  # delivered + cancelled: completed
    picked_with_backorder = placed(client, ("MUG", 2), allow_partial=True)
    acted(client, picked_with_backorder["fulfillments"][0]["id"], "pick")
    placed(client, ("TEE-M", 1), ("MUG", 1), allow_partial=True)  # partially allocated
    rejected = placed(client, ("TEE-M", 1))
    acted(client, rejected["fulfillments"][0]["id"], "reject", body={"reason": "lost"})
    shipped = placed(client, ("TEE-M", 1))
    acted(client, shipped["fulfillments"][0]["id"], "pick", "pack", "ship")
    shown = {o["id"]: o["status"] for o in client.get("/v1/orders").json()["orders"]}
    assert shown[split["id"]] == "completed"
    assert shown[picked_with_backorder["id"]] == "in_progress"
    assert shown[rejected["id"]] == "allocated"  # sourced again elsewhere
    assert set(shown.values()) == {
        "backordered",
        "partially_allocated",
        "allocated",
        "in_progress",
        "completed",
        "cancelled",
    }

    for status in set(shown.values()):
        assert listed(client, status=status) == sorted(
            order_id for order_id, said in shown.items() if said == status
        ), status


def test_orders_come_a_page_at_a_time_and_next_leads_to_the_following_page(
    client, seven_orders
) -> None:
    ids = sorted(seven_orders.values())
    pages, after = [], 0
    while True:
        response = client.get("/v1/orders", params={"after": after, "limit": 3})
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([o["id"] for o in page["orders"]])
        if page["next"] is None:
            break
        assert page["next"] == pages[-1][-1]
        after = page["next"]

    assert pages == [ids[0:3], ids[3:6], ids[6:]]
    assert listed(client, after=ids[4]) == ids[5:]
    assert listed(client, after=ids[-1]) == []


def test_a_bad_listing_is_a_problem_naming_the_parameter(client, france, problem) -> None:
    problem(client.get("/v1/orders", params={"status": "lost"}), 422, field="status")
    problem(client.get("/v1/orders", params={"limit": 0}), 422, field="limit")
    problem(client.get("/v1/orders", params={"limit": 501}), 422, field="limit")
    problem(client.get("/v1/orders", params={"after": -1}), 422, field="after")
    problem(client.get("/v1/orders", params={"channel": "a b"}), 422, field="channel")
    problem(client.get("/v1/orders", params={"location": "a b"}), 422, field="location")


# --------------------------------------------------------------------------- sourcing explained


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
    "an unknown channel": (_with(channel="nope"), 404, "channel"),
    "the same sku on two lines": (
        _with(lines=[*GOOD["lines"], GOOD["lines"][0]]),
        422,
        "lines[2].sku",
    ),
    "an in-store sale, which is not sourced": (
        _with(delivery=sold_at("ST-NICE")),
        422,
        "delivery.method",
    ),
    "a pickup at a warehouse": (_with(delivery=pickup_at("WH-LYON")), 422, "delivery.location"),
    "a line of zero units": (_line(quantity=0), 422, "lines[0].quantity"),
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
    body = _with(lines=[*GOOD["lines"], {"sku": "NOPE", "quantity": 1, "unit_price": "1.00"}])
    problem(place(client, body), 422, field="lines[2].sku")

    with unchanged():
        response = client.post("/v1/sourcing/preview", json=body)

    problem(response, 422, field="lines[2].sku")


# --------------------------------------------------------------------------- cancel


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
