"""The French network that the order, fulfilment, return and transfer API tests share, and the
words they drive it with (importable like `samples`: pytest puts this folder on sys.path).

A small French retailer (`set_up_france`, the `france` fixture): warehouses in Paris and Lyon, a
store in Lyon that ships and offers click & collect, a store in Nice that only sells over the
counter, and a closed store. The web shop sells from every ship-enabled location, the
marketplace from the warehouses, the stores channel from the stores. Coordinates are real, so
"nearest" means what a customer expects.

`assert_books_balance` closes every scenario (the `books_balance` fixture): the ledger replays
to the positions, each position's `reserved` is exactly what open fulfilments, active holds and
open transfers promise there, and every unit of every order line is backordered, cancelled or in
a live fulfilment.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from omnistock.db import Database
from omnistock.db import tables as t
from omnistock.services import stock
from samples import CUSTOMER, VILLEURBANNE

PARIS = {"lat": 48.8566, "lon": 2.3522}
LYON = {"lat": 45.7640, "lon": 4.8357}
LYON_BELLECOUR = {"lat": 45.7578, "lon": 4.8320}
NICE = {"lat": 43.7102, "lon": 7.2620}

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


#: An order the French network accepts; a bad order is this one with one thing changed.
GOOD = order(("TEE-M", 1), ("MUG", 1))


def good_but(**changes: Any) -> dict[str, Any]:
    """The good order with these fields changed."""
    return {**GOOD, **changes}


def good_but_line(**changes: Any) -> dict[str, Any]:
    """The good order with these fields of its first line changed."""
    return good_but(lines=[{**GOOD["lines"][0], **changes}, GOOD["lines"][1]])
