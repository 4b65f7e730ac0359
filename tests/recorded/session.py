"""A day at the demo retailer, over HTTP: the session `tests/api/test_recorded_demo.py`
records and replays.

It runs on a freshly loaded demo (`omnistock demo`, seed 7) and touches every route of the
v1 API, reads and writes, successes and refusals, in the order an integrator, a store and
the operations team would: the front door, the catalogue, stock and its ledger, channels and
buffers, availability, holds, orders, fulfilment, returns, transfers, the event feed, keys
with narrower scopes, the edges of the HTTP contract, webhooks, and API keys.

What it sends comes from the demo (its stores, skus and orders `demo-0xxx`, known from seed
7) or from earlier answers (ids, the next page); so the requests are the same on every run
as long as the answers are. Small `limit`s keep the recording small.

Changing this session changes the recording: record it again (see the test's docstring).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from recorded.recording import Driver

#: Keys the session uses besides `admin` (the OMNISTOCK_ADMIN_KEY), `none` (no header) and
#: `unknown` (a key nobody issued): name → the scopes it grants, no more than the session
#: needs (`scoped_keys.key_with` names a key after its scopes, in at most 64 characters).
SCOPED_KEYS: dict[str, tuple[str, ...]] = {
    "viewer": ("orders:read", "stock:read", "transfers:read"),
    "store": ("stock:read", "stock:write", "fulfillments:write"),
    "integration": ("availability:read", "orders:write"),
}

# What the demo holds (seed 7), by name.
PARIS, LYON, MARSEILLE, BORDEAUX = "ST-PARIS", "ST-LYON", "ST-MARSEILLE", "ST-BORDEAUX"
WH_PARIS, WH_LYON = "WH-PARIS", "WH-LYON"
BEST_SELLER = "TSH-SLB-CRW-BLK-M"  # slub crew-neck T-shirt, black, M: stocked everywhere
WIDE_TROUSERS = "TRS-PLT-WHT-XXL"  # the demo already backorders some of these

# What the session adds: a new T-shirt colour, and a pop-up store in the Marais.
SUN_M, SUN_L = "TSH-ORG-CRW-SUN-M", "TSH-ORG-CRW-SUN-L"
SUN_XL = "TSH-ORG-CRW-SUN-XL"  # imported from the PIM
POPUP = "ST-PARIS-MARAIS"
APP = "app"  # a new channel: the mobile app
ETA = "2027-01-15T09:00:00Z"  # fixed times the session sends are kept as they are
ASN_ETA = "2027-01-20T06:30:00Z"
NDJSON = "application/x-ndjson"

CUSTOMER = {"name": "Camille Laurent", "email": "camille.laurent@example.com"}
LYON_ADDRESS = {
    "line1": "12 rue de la République",
    "city": "Lyon",
    "postcode": "69002",
    "country": "FR",
    "lat": 45.7597,
    "lon": 4.8357,
}
LILLE_ADDRESS = {
    "line1": "3 place du Général de Gaulle",
    "city": "Lille",
    "postcode": "59800",
    "country": "FR",
    "lat": 50.6366,
    "lon": 3.0635,
}


@dataclass
class Story:
    """What earlier answers told the session, for the requests after them."""

    priciest: str = ""
    inbound_sku: str = ""
    inbound_transfer: int = 0
    rules: list[int] = field(default_factory=list)
    cart: str = ""
    app_hold: str = ""
    shipped: dict[str, Any] = field(default_factory=dict)  # the web order shipped to Lyon
    pickup: dict[str, Any] = field(default_factory=dict)  # click & collect at ST-PARIS
    till: dict[str, Any] = field(default_factory=dict)  # sold in the pop-up store
    partial: dict[str, Any] = field(default_factory=dict)  # partly backordered


def play(s: Driver) -> None:
    """The whole session, part after part."""
    story = Story()
    front_door(s)
    catalogue(s, story)
    stock(s, story)
    channels(s, story)
    availability(s, story)
    holds(s, story)
    orders(s, story)
    cancelling(s, story)
    fulfilment(s, story)
    returns(s, story)
    transfers(s, story)
    events(s)
    listings(s)
    feeds(s)
    imports(s)
    scopes(s, story)
    edges(s)
    the_day_after(s, story)
    last(s, story)
    webhooks(s)
    api_keys(s)


def order(channel: str, lines: list[tuple[str, int, str]], **fields: Any) -> dict[str, Any]:
    """An order body: ship to Lyon unless `delivery` says otherwise."""
    return {
        "channel": channel,
        "customer": CUSTOMER,
        "delivery": {"method": "ship", "address": LYON_ADDRESS},
        "lines": [{"sku": sku, "quantity": q, "unit_price": price} for sku, q, price in lines],
        **fields,
    }


def front_door(s: Driver) -> None:
    s.part("front door: health, keys, locations")
    s.get("/healthz", key="none")
    s.get("/v1/locations", key="none", expect=401)
    s.get("/v1/locations", key="unknown", expect=401)
    s.get("/v1/locations")
    s.get(f"/v1/locations/{PARIS}")
    s.get("/v1/locations/ST-ATLANTIS", expect=404)
    s.get("/v1/locations/-not-a-code", expect=422)


def catalogue(s: Driver, story: Story) -> None:
    s.part("catalogue: items and locations")
    rules = s.get("/v1/buffer-rules")
    story.priciest = next(rule["sku"] for rule in rules if rule["sku"])
    s.get(f"/v1/items/{story.priciest}")
    s.get(f"/v1/items/{story.priciest}", params={"verbose": "yes"})  # unknown: ignored
    s.get("/v1/items/TSH-NOT-A-SKU", expect=404)
    sun = {"name": "Organic crew-neck T-shirt, sun yellow, M", "barcode": "3612345678904"}
    s.put(f"/v1/items/{SUN_M}", {**sun, "price": "24.90"}, expect=201)
    s.put(f"/v1/items/{SUN_M}", {**sun, "price": "22.90"})
    s.get(f"/v1/items/{SUN_M}")
    large = {"name": "Organic crew-neck T-shirt, sun yellow, L", "price": "22.90"}
    s.put(f"/v1/items/{SUN_L}", large, idempotency_key="pim-sun-l-1", expect=201)
    s.put(f"/v1/items/{SUN_L}", large, idempotency_key="pim-sun-l-1", expect=201)
    s.put(
        f"/v1/items/{SUN_L}", {**large, "price": "9.90"}, idempotency_key="pim-sun-l-1", expect=422
    )
    s.put(f"/v1/items/{SUN_L}", {"barcode": "3612345678911"}, expect=422)
    s.put(f"/v1/items/{SUN_L}", {"name": "T-shirt", "price": "12.345"}, expect=422)
    s.put(f"/v1/items/{SUN_L}", {"name": "T-shirt", "price": "-1.00"}, expect=422)
    s.put(f"/v1/items/{SUN_L}", raw='{"name": "T-shirt",', expect=400)
    s.put(f"/v1/items/{SUN_L}", raw="name=T-shirt", content_type="text/plain", expect=415)

    popup = {
        "name": "Paris Marais pop-up",
        "type": "store",
        "lat": 48.8575,
        "lon": 2.3584,
        "ship_enabled": False,
        "pickup_enabled": True,
        "daily_capacity": 10,
        "priority": 60,
    }
    s.put(f"/v1/locations/{POPUP}", popup, expect=201)
    s.put(f"/v1/locations/{POPUP}", {**popup, "name": "Paris Marais pop-up store"})
    s.put(f"/v1/locations/{POPUP}", {**popup, "type": "kiosk"}, expect=422)
    s.put(f"/v1/locations/{POPUP}", {**popup, "lat": 123.0}, expect=422)
    s.get(f"/v1/locations/{POPUP}")
    # PATCH changes only what it sends: nothing here that the story's sourcing depends on
    s.patch(f"/v1/items/{SUN_L}", {"barcode": "3612345678911"})
    s.patch(f"/v1/items/{SUN_L}", {"name": None}, expect=422)
    s.patch("/v1/items/TSH-NOT-A-SKU", {"name": "Ghost"}, expect=404)
    s.patch(f"/v1/locations/{POPUP}", {"name": "Paris Marais pop-up, rue des Rosiers"})
    s.patch(f"/v1/locations/{POPUP}", {"type": None}, expect=422)


def stock(s: Driver, story: Story) -> None:
    s.part("stock: every movement type, refusals, the ledger")
    s.get(f"/v1/stock/{SUN_M}")

    def move(type_: str, quantity: Any, expect: int = 201, **fields: Any) -> Any:
        body = {"location": POPUP, "sku": SUN_M, "type": type_, "quantity": quantity, **fields}
        return s.post("/v1/stock/movements", body, expect=expect)

    move("receipt", 24, reference="PO-7001")
    move("receipt", 36, location=WH_PARIS, reference="PO-7001")
    move("receipt", 30, sku=SUN_L, location=WH_PARIS, reference="PO-7001")
    move("sale", 2, reference="till-0193")
    move("adjustment", -1, reason="miscounted at receipt")
    move("adjustment", 3, reason="found behind the fitting rooms")
    move("count", 20, reason="weekly count")
    move("damage", 2, reason="stained")
    move("dispose", 1, reason="beyond repair")
    move("restore", 1, reason="cleaned")
    move("sale", 500, expect=409)
    move("dispose", 5, expect=409)
    move("adjustment", 0, expect=422)
    move("receipt", 0, expect=422)
    move("receipt", -4, expect=422)
    move("theft", 1, expect=422)
    move("receipt", "3", expect=422)
    move("receipt", 1, location="ST-ATLANTIS", expect=422)
    move("receipt", 1, sku="TSH-NOT-A-SKU", expect=422)
    grn = {"location": WH_PARIS, "sku": SUN_M, "type": "receipt", "quantity": 12}
    s.post("/v1/stock/movements", grn, idempotency_key="grn-7002", expect=201)
    s.post("/v1/stock/movements", grn, idempotency_key="grn-7002", expect=201)
    s.post("/v1/stock/movements", {**grn, "quantity": 13}, idempotency_key="grn-7002", expect=422)
    s.get(f"/v1/stock/{SUN_M}")
    ledger = s.get(f"/v1/stock/{SUN_M}/movements", params={"location": POPUP, "limit": 3})
    s.get(f"/v1/stock/{SUN_M}/movements", params={"location": POPUP, "after": ledger[-1]["id"]})
    s.get(f"/v1/stock/{SUN_M}/movements", params={"limit": 0}, expect=422)
    s.get(f"/v1/stock/{BEST_SELLER}/movements", params={"location": PARIS, "limit": 2})

    shipped = s.get("/v1/transfers", params={"status": "shipped", "limit": 1})["transfers"][0]
    story.inbound_transfer = shipped["id"]
    story.inbound_sku = shipped["lines"][0]["sku"]
    s.get(f"/v1/stock/{story.inbound_sku}", params={"include": "inbound"})
    s.get(f"/v1/stock/{story.inbound_sku}", params={"include": "outbound"}, expect=422)
    s.get(f"/v1/stock/{story.inbound_sku}/movements", params={"location": shipped["to"]})
    s.get("/v1/stock/TSH-NOT-A-SKU", expect=404)


def channels(s: Driver, story: Story) -> None:
    s.part("channels and buffer rules")
    s.get("/v1/channels")
    s.get("/v1/channels/web")
    s.get("/v1/channels/marketplace-moon", expect=404)
    s.put(f"/v1/channels/{APP}", {"name": "Mobile app", "locations": [POPUP]}, expect=201)
    pool = {"name": "Mobile app", "location_types": ["warehouse"], "locations": [POPUP]}
    s.put(f"/v1/channels/{APP}", pool)
    s.put(f"/v1/channels/{APP}", {"name": "Mobile app", "locations": ["ST-ATLANTIS"]}, expect=422)
    s.put(f"/v1/channels/{APP}", {"name": "Mobile app", "location_types": ["kiosk"]}, expect=422)
    s.get(f"/v1/channels/{APP}")

    by_sku = s.post("/v1/buffer-rules", {"channel": APP, "sku": SUN_M, "units": 3}, expect=201)
    by_place = {"channel": APP, "location": POPUP, "percent": 25}
    at_popup = s.post("/v1/buffer-rules", by_place, expect=201)
    story.rules = [by_sku["id"], at_popup["id"]]
    s.post("/v1/buffer-rules", {"channel": APP, "units": 1, "percent": 10}, expect=422)
    s.post("/v1/buffer-rules", {"channel": APP}, expect=422)
    s.post("/v1/buffer-rules", {"channel": APP, "percent": 150}, expect=422)
    s.post("/v1/buffer-rules", {"channel": "marketplace-moon", "units": 1}, expect=422)
    s.get("/v1/buffer-rules")
    s.get(f"/v1/buffer-rules/{by_sku['id']}")
    stale = s.post("/v1/buffer-rules", {"location_type": "store", "units": 1}, expect=201)
    s.delete(f"/v1/buffer-rules/{stale['id']}")
    s.get(f"/v1/buffer-rules/{stale['id']}", expect=404)
    s.delete(f"/v1/buffer-rules/{stale['id']}", expect=404)
    s.get("/v1/buffer-rules/0", expect=422)


def availability(s: Driver, story: Story) -> None:
    s.part("availability: one item, many items")
    s.get(f"/v1/availability/{SUN_M}", params={"channel": APP})
    s.get(f"/v1/availability/{SUN_M}", params={"channel": "web"})
    s.get(f"/v1/availability/{SUN_M}", params={"channel": APP, "location": POPUP})
    s.get(f"/v1/availability/{story.priciest}", params={"channel": "marketplace-fashion"})
    s.get(f"/v1/availability/{BEST_SELLER}", params={"channel": "store", "location": PARIS})
    skus = [SUN_M, BEST_SELLER, story.priciest, SUN_M, SUN_L]
    s.get("/v1/availability", params={"channel": "web", "sku": skus})
    s.get("/v1/availability", params={"channel": "web"}, expect=422)
    s.get(f"/v1/availability/{SUN_M}", expect=422)
    s.get(f"/v1/availability/{SUN_M}", params={"channel": "marketplace-moon"}, expect=422)


def holds(s: Driver, story: Story) -> None:
    s.part("holds at checkout")
    cart = {
        "channel": "web",
        "lines": [{"sku": BEST_SELLER, "quantity": 1}, {"sku": SUN_M, "quantity": 2}],
        "ship_to": {"lat": LILLE_ADDRESS["lat"], "lon": LILLE_ADDRESS["lon"]},
    }
    held = s.post("/v1/reservations", cart, expect=201)
    story.cart = held["id"]
    s.get(f"/v1/reservations/{held['id']}")
    s.delete(f"/v1/reservations/{held['id']}")
    s.delete(f"/v1/reservations/{held['id']}")  # released already: nothing changes
    s.get("/v1/reservations/no-such-hold", expect=404)
    too_many = {"channel": "web", "lines": [{"sku": SUN_M, "quantity": 500}]}
    s.post("/v1/reservations", too_many, expect=409)
    app_cart = {
        "channel": APP,
        "location": POPUP,
        "lines": [{"sku": SUN_M, "quantity": 2}],
        "ttl_seconds": 600,
    }
    story.app_hold = s.post("/v1/reservations", app_cart, idempotency_key="cart-42", expect=201)[
        "id"
    ]
    s.post("/v1/reservations", app_cart, idempotency_key="cart-42", expect=201)
    s.post("/v1/reservations", {**app_cart, "ttl_seconds": 0}, expect=422)
    s.post("/v1/reservations", {**app_cart, "lines": []}, expect=422)
    s.post("/v1/reservations", app_cart, key="viewer", expect=403)


def orders(s: Driver, story: Story) -> None:
    s.part("orders: ship, pickup, in store, from a hold, partly backordered")
    lines = [(BEST_SELLER, 1, "16.90"), (SUN_M, 2, "22.90")]
    story.shipped = s.post("/v1/orders", order("web", lines, external_id="web-100231"), expect=201)
    s.get(f"/v1/orders/{story.shipped['id']}")
    s.get(f"/v1/orders/{story.shipped['id']}/sourcing")
    at_paris = {"method": "pickup", "location": PARIS}
    story.pickup = s.post(
        "/v1/orders",
        order("web", [(BEST_SELLER, 1, "16.90")], external_id="web-100232", delivery=at_paris),
        expect=201,
    )
    till = {"method": "in_store", "location": POPUP}
    story.till = s.post(
        "/v1/orders", order("store", [(SUN_M, 1, "22.90")], delivery=till), expect=201
    )
    from_hold = order(
        APP,
        [(SUN_M, 2, "22.90")],
        external_id="app-5521",
        delivery={"method": "pickup", "location": POPUP},
        reservation_id=story.app_hold,
    )
    s.post("/v1/orders", from_hold, expect=201)
    lots = [(WIDE_TROUSERS, 40, "54.90")]
    story.partial = s.post(
        "/v1/orders",
        order("marketplace-fashion", lots, external_id="mf-88121", allow_partial=True),
        expect=201,
    )
    s.post(
        "/v1/orders", order("web", [(SUN_M, 1, "22.90")], delivery={"method": "drone"}), expect=422
    )
    no_customer = order("web", [(SUN_M, 1, "22.90")])
    del no_customer["customer"]
    s.post("/v1/orders", no_customer, expect=422)
    s.post("/v1/orders", order("web", []), expect=422)
    s.post("/v1/orders", order("web", [(SUN_M, 1, "cheap")]), expect=422)
    s.post("/v1/orders", order("marketplace-moon", [(SUN_M, 1, "22.90")]), expect=422)
    s.post("/v1/orders", order("web", [("TSH-NOT-A-SKU", 1, "22.90")]), expect=422)
    at_warehouse = {"method": "pickup", "location": WH_PARIS}
    s.post("/v1/orders", order("web", [(SUN_M, 1, "22.90")], delivery=at_warehouse), expect=422)
    s.post(
        "/v1/sourcing/preview",
        order(
            "web",
            [(BEST_SELLER, 3, "16.90")],
            delivery={"method": "ship", "address": LILLE_ADDRESS},
        ),
    )
    s.post("/v1/sourcing/preview", order("web", []), expect=422)

    page = s.get("/v1/orders", params={"status": "allocated", "limit": 2})
    s.get("/v1/orders", params={"status": "allocated", "limit": 2, "after": page["next"]})
    s.get("/v1/orders", params={"channel": "marketplace-general", "limit": 2})
    s.get("/v1/orders", params={"location": PARIS, "status": "completed", "limit": 2})
    s.get("/v1/orders", params={"status": "lost"}, expect=422)
    s.get("/v1/orders", params={"limit": 1001}, expect=422)
    s.get("/v1/orders/999999", expect=404)
    s.get("/v1/orders/abc", expect=422)
    s.get("/v1/orders/999999/sourcing", expect=404)


def cancelling(s: Driver, story: Story) -> None:
    s.part("cancelling: a whole order, some units, a refusal")
    whole = s.post(
        "/v1/orders", order("web", [(SUN_M, 1, "22.90"), (BEST_SELLER, 1, "16.90")]), expect=201
    )
    s.post(f"/v1/orders/{whole['id']}/cancel")
    s.post(f"/v1/orders/{whole['id']}/cancel")  # cancelled already: the same answer
    some = s.post(
        "/v1/orders", order("web", [(SUN_M, 3, "22.90")], external_id="web-100240"), expect=201
    )
    s.post(f"/v1/orders/{some['id']}/cancel", {"lines": [{"sku": SUN_M, "quantity": 1}]})
    s.post(
        f"/v1/orders/{some['id']}/cancel", {"lines": [{"sku": SUN_L, "quantity": 1}]}, expect=422
    )
    s.post(f"/v1/orders/{some['id']}/cancel", {"lines": []}, expect=422)
    done = s.get("/v1/orders", params={"status": "completed", "limit": 1})["orders"][0]
    s.post(f"/v1/orders/{done['id']}/cancel", expect=409)
    s.post("/v1/orders/999999/cancel", expect=404)


def fulfilment(s: Driver, story: Story) -> None:
    s.part("fulfilment: queues and every action")
    page = s.get(
        "/v1/fulfillments", params={"location": WH_PARIS, "status": "allocated", "limit": 2}
    )
    s.get(
        "/v1/fulfillments",
        params={"location": WH_PARIS, "status": "allocated", "limit": 2, "after": page["next"]},
    )
    s.get("/v1/fulfillments", params={"status": "teleported"}, expect=422)

    work = story.shipped["fulfillments"][0]["id"]
    s.get(f"/v1/fulfillments/{work}")
    s.post(f"/v1/fulfillments/{work}/ready", expect=409)  # a parcel is not a pickup
    s.post(f"/v1/fulfillments/{work}/pick")
    s.post(f"/v1/fulfillments/{work}/pack", idempotency_key="pack-100231")
    s.post(f"/v1/fulfillments/{work}/pack", idempotency_key="pack-100231")
    s.post(f"/v1/fulfillments/{work}/ship", {"carrier": "Colissimo", "tracking": "6A1234567890"})
    s.post(f"/v1/fulfillments/{work}/deliver")
    s.post(f"/v1/fulfillments/{work}/pick", expect=409)

    collect = story.pickup["fulfillments"][0]["id"]
    s.post(f"/v1/fulfillments/{collect}/pick")
    s.post(f"/v1/fulfillments/{collect}/ready")
    s.post(f"/v1/fulfillments/{collect}/collect")
    waiting = s.get("/v1/fulfillments", params={"status": "ready_for_pickup", "limit": 1})
    s.post(f"/v1/fulfillments/{waiting['fulfillments'][0]['id']}/collect")

    s.part("fulfilment: a store rejects, and the order is sourced again")
    shelf = s.get(
        "/v1/fulfillments", params={"location": MARSEILLE, "status": "allocated", "limit": 1}
    )["fulfillments"][0]
    s.post(f"/v1/fulfillments/{shelf['id']}/reject", {"missing": []}, expect=422)
    missing = [{"sku": shelf["lines"][0]["sku"], "quantity": 1}]
    s.post(
        f"/v1/fulfillments/{shelf['id']}/reject",
        {"reason": "not found on the shelf", "missing": missing},
    )
    s.get(f"/v1/orders/{shelf['order_id']}")
    s.get(f"/v1/orders/{shelf['order_id']}/sourcing")

    s.part("fulfilment: cancelled by the location, refusals")
    s.post(f"/v1/fulfillments/{page['fulfillments'][0]['id']}/cancel")
    s.post(f"/v1/fulfillments/{page['fulfillments'][0]['id']}/deliver", expect=409)
    s.get(f"/v1/orders/{page['fulfillments'][0]['order_id']}")
    s.get("/v1/fulfillments/999999", expect=404)
    s.post("/v1/fulfillments/999999/pick", expect=404)
    s.post(f"/v1/fulfillments/{work}/teleport", expect=404)


def returns(s: Driver, story: Story) -> None:
    s.part("returns: any channel, any location")
    shipped = story.shipped["id"]
    back = {"sku": SUN_M, "quantity": 1, "condition": "sellable", "reason": "too small"}
    first = s.post(
        "/v1/returns", {"order_id": shipped, "location": LYON, "lines": [back]}, expect=201
    )
    s.post(
        "/v1/returns",
        {"order_id": shipped, "location": LYON, "lines": [{**back, "quantity": 2}]},
        expect=409,
    )
    damaged = {"sku": BEST_SELLER, "quantity": 1, "condition": "damaged", "reason": "torn seam"}
    s.post(
        "/v1/returns",
        {"order_id": story.pickup["id"], "location": POPUP, "lines": [damaged]},
        expect=201,
    )
    sold = s.get(
        "/v1/orders",
        params={"location": BORDEAUX, "channel": "store", "status": "completed", "limit": 1},
    )
    sale = sold["orders"][0]
    till = {
        "order_id": sale["id"],
        "location": BORDEAUX,
        "lines": [{"sku": sale["lines"][0]["sku"], "quantity": 1, "condition": "sellable"}],
    }
    s.post("/v1/returns", till, idempotency_key="rma-bordeaux-77", expect=201)
    s.post("/v1/returns", till, idempotency_key="rma-bordeaux-77", expect=201)
    s.post(
        "/v1/returns",
        {
            "order_id": story.partial["id"],
            "location": WH_PARIS,
            "lines": [{"sku": WIDE_TROUSERS, "quantity": 1, "condition": "sellable"}],
        },
        expect=409,
    )
    s.post(
        "/v1/returns",
        {"order_id": shipped, "location": LYON, "lines": [{**back, "condition": "worn"}]},
        expect=422,
    )
    s.post("/v1/returns", {"order_id": shipped, "location": LYON, "lines": []}, expect=422)
    s.post("/v1/returns", {"order_id": 999999, "location": LYON, "lines": [back]}, expect=422)
    s.post(
        "/v1/returns", {"order_id": shipped, "location": "ST-ATLANTIS", "lines": [back]}, expect=422
    )
    page = s.get("/v1/returns", params={"limit": 2})
    s.get("/v1/returns", params={"limit": 2, "after": page["next"]})
    s.get("/v1/returns", params={"order_id": shipped})
    s.get("/v1/returns", params={"location": POPUP})
    s.get(f"/v1/returns/{first['id']}")
    s.get("/v1/returns/999999", expect=404)


def transfers(s: Driver, story: Story) -> None:
    s.part("transfers: shipped and received short, over, cancelled; a supplier's delivery")
    line = [{"sku": SUN_M, "quantity": 6}]
    short = s.post(
        "/v1/transfers",
        {"from": WH_PARIS, "to": POPUP, "lines": line, "eta": ETA, "reference": "replen-marais-1"},
        expect=201,
    )
    s.post(f"/v1/transfers/{short['id']}/receive", {"lines": line}, expect=409)
    s.post(f"/v1/transfers/{short['id']}/ship")
    s.get(f"/v1/stock/{SUN_M}", params={"include": "inbound"})
    s.post(f"/v1/transfers/{short['id']}/receive", {"lines": [{"sku": SUN_M, "quantity": 5}]})
    s.post(f"/v1/transfers/{short['id']}/receive", {"lines": line}, expect=409)

    over = s.post(
        "/v1/transfers",
        {"from": WH_PARIS, "to": POPUP, "lines": [{"sku": SUN_L, "quantity": 4}]},
        idempotency_key="replen-marais-2",
        expect=201,
    )
    s.post(f"/v1/transfers/{over['id']}/ship", idempotency_key="ship-marais-2")
    s.post(f"/v1/transfers/{over['id']}/ship", idempotency_key="ship-marais-2")
    s.post(f"/v1/transfers/{over['id']}/receive", {"lines": [{"sku": SUN_L, "quantity": 5}]})

    dropped = s.post("/v1/transfers", {"from": WH_PARIS, "to": PARIS, "lines": line}, expect=201)
    s.post(f"/v1/transfers/{dropped['id']}/cancel")
    s.post(f"/v1/transfers/{dropped['id']}/cancel", expect=409)
    s.post(f"/v1/transfers/{dropped['id']}/ship", expect=409)

    asn = {
        "to": WH_PARIS,
        "lines": [{"sku": SUN_M, "quantity": 48}, {"sku": SUN_L, "quantity": 24}],
        "eta": ASN_ETA,
        "reference": "ASN-88412",
    }
    delivery = s.post("/v1/transfers", asn, expect=201)
    s.post(f"/v1/transfers/{delivery['id']}/cancel", expect=409)
    s.post(f"/v1/transfers/{delivery['id']}/receive", {"lines": asn["lines"]})
    s.post(
        f"/v1/transfers/{story.inbound_transfer}/receive",
        {"lines": [{"sku": story.inbound_sku, "quantity": 1}]},
    )

    s.post(
        "/v1/transfers",
        {"from": POPUP, "to": PARIS, "lines": [{"sku": SUN_M, "quantity": 1000}]},
        expect=409,
    )
    s.post("/v1/transfers", {"from": POPUP, "to": POPUP, "lines": line}, expect=422)
    s.post("/v1/transfers", {"from": WH_PARIS, "to": POPUP, "lines": []}, expect=422)
    s.post("/v1/transfers", {"to": POPUP, "lines": line, "eta": "next tuesday"}, expect=422)
    s.post("/v1/transfers", {"from": WH_PARIS, "to": "ST-ATLANTIS", "lines": line}, expect=422)
    page = s.get("/v1/transfers", params={"status": "received", "limit": 2})
    s.get("/v1/transfers", params={"status": "received", "limit": 2, "after": page["next"]})
    s.get("/v1/transfers", params={"location": POPUP})
    s.get("/v1/transfers", params={"status": "lost"}, expect=422)
    s.get(f"/v1/transfers/{short['id']}")
    s.get("/v1/transfers/999999", expect=404)
    s.post("/v1/transfers/999999/ship", expect=404)


def events(s: Driver) -> None:
    s.part("the event feed")
    first = s.get("/v1/events", params={"limit": 3})
    s.get("/v1/events", params={"after": first["next"], "limit": 2})
    s.get("/v1/events", params={"limit": 0}, expect=422)
    s.get("/v1/events", params={"after": -1}, expect=422)
    s.get("/v1/events", params={"limit": 1}, key="store", expect=403)
    # the live stream never ends: only its refusals, made before anything streams
    s.get("/v1/events/stream", params={"types": "order.shipped"}, expect=422)
    s.get("/v1/events/stream", key="store", expect=403)


def listings(s: Driver) -> None:
    s.part("listings and search")
    page = s.get("/v1/items", params={"q": "crew-neck t-shirt BLACK", "limit": 2})
    s.get("/v1/items", params={"q": "crew-neck t-shirt BLACK", "after": page["next"], "limit": 2})
    s.get("/v1/items", params={"q": "TSH-ORG-CRW-SUN"})
    s.get("/v1/items", params={"limit": 1001}, expect=422)
    s.get("/v1/locations", params={"type": "warehouse"})
    s.get("/v1/locations", params={"q": "marais"})
    s.get("/v1/locations", params={"type": "kiosk"}, expect=422)
    s.get("/v1/stock", params={"location": POPUP, "channel": APP, "limit": 3})
    s.get("/v1/stock", params={"location": POPUP, "channel": "marketplace-general"}, expect=422)
    s.get("/v1/stock", params={"location": "ST-ATLANTIS"}, expect=422)
    s.get("/v1/stock", params={"location": PARIS, "limit": 2}, key="store")
    email = CUSTOMER["email"].upper()
    s.get("/v1/orders", params={"customer_email": email, "limit": 2})
    s.get("/v1/orders", params={"external_id": "demo-0042"})
    s.get("/v1/orders", params={"created_after": "2026-01-01"}, expect=422)


def feeds(s: Driver) -> None:
    s.part("channel feeds and the stock snapshot")
    s.get("/v1/availability/export", params={"channel": APP})
    s.get(
        "/v1/availability/export",
        params={"channel": "marketplace-general", "format": "xml"},
        expect=422,
    )
    s.get("/v1/availability/export", params={"channel": APP}, key="store", expect=403)
    s.get("/v1/events", params={"types": "availability.changed", "channel": APP, "limit": 3})
    s.get("/v1/events", params={"types": "order.*", "channel": "web", "limit": 2})
    s.get("/v1/events", params={"types": "stock.moved"}, expect=422)
    # every position of the demo would make the recording huge: its refusals only
    s.get("/v1/stock/snapshot", params={"format": "csv"}, expect=422)
    s.get("/v1/stock/snapshot", key="integration", expect=403)


def imports(s: Driver) -> None:
    s.part("imports: the PIM's items, the ERP's stores, a store's count")
    items = (
        "\ufeffsku,name,barcode,price\r\n"
        f'{SUN_M},"Organic crew-neck T-shirt, sun yellow, M",3612345678904,22.90\r\n'
        f'{SUN_XL},"Organic crew-neck T-shirt, sun yellow, XL",,24.90\r\n'
    )
    s.post("/v1/imports/items", raw=items, content_type="text/csv")
    popup = {"code": POPUP, "name": "Paris Marais pop-up", "type": "store", "lat": 48.8575}
    popup |= {"lon": 2.3584, "ship_enabled": False, "pickup_enabled": True, "priority": 60}
    s.post("/v1/imports/locations", raw=json.dumps(popup) + "\n", content_type=NDJSON)
    count = f"location,sku,on_hand,unsellable\n{POPUP},{SUN_M},20,1\n{POPUP},{SUN_XL},4,\n"
    nightly = {"location": POPUP, "complete": "true", "snapshot_id": "marais-2026-12-07"}
    s.post("/v1/imports/stock", params=nightly, raw=count, content_type="text/csv")
    s.post("/v1/imports/stock", params=nightly, raw=count, content_type="text/csv")  # resent
    s.get("/v1/stock", params={"location": POPUP})
    bad = f"location,sku,on_hand\nST-ATLANTIS,{SUN_M},1\n{POPUP},{SUN_M},-2\n{POPUP},{SUN_M},3\n"
    s.post("/v1/imports/stock", raw=bad, content_type="text/csv", expect=422)
    s.post("/v1/imports/items", raw="<items/>", content_type="application/xml", expect=415)


def scopes(s: Driver, story: Story) -> None:
    s.part("keys with narrower scopes")
    shipped = story.shipped["id"]
    s.get(f"/v1/orders/{shipped}", key="viewer")
    s.get(f"/v1/stock/{SUN_M}", params={"include": "inbound"}, key="viewer")
    s.get(f"/v1/stock/{SUN_M}", params={"include": "inbound"}, key="store", expect=403)
    s.get(f"/v1/stock/{SUN_M}", key="store")
    s.post("/v1/orders", order("web", [(SUN_M, 1, "22.90")]), key="viewer", expect=403)
    s.put(f"/v1/items/{SUN_M}", {"name": "Renamed"}, key="viewer", expect=403)
    s.post(
        "/v1/stock/movements",
        {"location": POPUP, "sku": SUN_M, "type": "receipt", "quantity": 2},
        key="store",
        expect=201,
    )
    s.get("/v1/orders", params={"limit": 1}, key="store", expect=403)
    s.delete(f"/v1/buffer-rules/{story.rules[0]}", key="store", expect=403)
    s.get(f"/v1/availability/{SUN_M}", params={"channel": APP}, key="integration")
    s.post(
        "/v1/orders",
        order(
            APP,
            [(SUN_M, 1, "22.90")],
            external_id="app-5530",
            delivery={"method": "pickup", "location": POPUP},
        ),
        key="integration",
        expect=201,
    )
    s.post(
        "/v1/transfers",
        {"from": WH_PARIS, "to": POPUP, "lines": [{"sku": SUN_M, "quantity": 1}]},
        key="integration",
        expect=403,
    )
    s.delete(f"/v1/reservations/{story.app_hold}", key="viewer", expect=403)


def edges(s: Driver) -> None:
    s.part("the edges of the contract")
    s.get("/v1/nowhere", expect=404)
    s.delete(f"/v1/items/{SUN_M}", expect=405)
    s.send("PATCH", "/v1/orders/1", {"status": "completed"}, expect=405)
    s.post("/v1/orders", raw="[1, 2", expect=400)
    s.post("/v1/orders", raw="null", expect=422)


def the_day_after(s: Driver, story: Story) -> None:
    s.part("where everything stands")
    s.get(f"/v1/stock/{SUN_M}")
    s.get(f"/v1/stock/{SUN_M}/movements")
    s.get(f"/v1/stock/{SUN_L}", params={"include": "inbound"})
    s.get(f"/v1/availability/{SUN_M}", params={"channel": APP})
    s.get("/v1/orders", params={"channel": APP})
    s.get(f"/v1/orders/{story.partial['id']}")
    s.get(f"/v1/orders/{story.till['id']}")
    s.get("/v1/buffer-rules")


def last(s: Driver, story: Story) -> None:
    """Last, because PostgreSQL spends sequence numbers on them and SQLite does not.

    A sequence number taken on PostgreSQL is never given back, even when its row is not
    written; SQLite numbers a row one above the highest when it is written. So:

    - the same channel and external id again: `INSERT ... ON CONFLICT DO NOTHING` evaluates
      the id's default (`nextval`) before it finds the conflict, and writes nothing;
    - an order refused after its row was inserted (the hold it names has ended, the stock is
      short) is rolled back, and its id with it;
    - a physical fact that takes promised units is applied in a savepoint on PostgreSQL,
      undone, the rows healing needs locked in the one lock order, and applied again
      (`services.healing.physical_fact`): its ledger entry takes a second movement id.

    Every id written after them would differ between the backends, so nothing is written
    after them, and they show no id written after one of them: one recording holds for both.
    """
    s.part("a till sells the units promised to a web order: the promise moves elsewhere")
    promised = s.get(
        "/v1/fulfillments", params={"location": PARIS, "status": "allocated", "limit": 1}
    )["fulfillments"][0]
    sku = promised["lines"][0]["sku"]
    item = s.get(f"/v1/items/{sku}")
    there = next(p for p in s.get(f"/v1/stock/{sku}")["positions"] if p["location"] == PARIS)
    sale = order(
        "store",
        [(sku, there["on_hand"], item["price"])],
        delivery={"method": "in_store", "location": PARIS},
    )
    s.post("/v1/orders", sale, expect=201)
    s.get(f"/v1/orders/{promised['order_id']}")
    s.get(f"/v1/orders/{promised['order_id']}/sourcing")

    s.part("the same order again, and orders refused")
    lines = [(BEST_SELLER, 1, "16.90"), (SUN_M, 2, "22.90")]
    s.post("/v1/orders", order("web", lines, external_id="web-100231"))  # the same: 200
    ended = order(
        APP,
        [(SUN_M, 1, "22.90")],
        external_id="app-5522",
        delivery={"method": "pickup", "location": POPUP},
        reservation_id=story.cart,
    )
    s.post("/v1/orders", ended, expect=409)
    lots = [(WIDE_TROUSERS, 40, "54.90")]
    s.post("/v1/orders", order("marketplace-fashion", lots, external_id="mf-88120"), expect=409)


def webhooks(s: Driver) -> None:
    """The test client runs no deliverer: nothing is sent, the ping stays pending."""
    s.part("webhooks: subscribe, change, ping, deliveries, replay, refusals, delete")
    body = {"url": "https://erp.example.com/omnistock", "events": ["order.*"], "description": "ERP"}
    hook = s.post("/v1/webhooks", body, expect=201)
    path = f"/v1/webhooks/{hook['id']}"
    s.get("/v1/webhooks")
    s.get(path)
    s.patch(path, {"events": ["order.*", "availability.changed"], "enabled": False})
    s.post(f"{path}/ping", expect=202)
    s.get(f"{path}/deliveries")
    s.post(f"{path}/replay", {"after": hook["delivered_through"] - 3})
    s.post(f"{path}/replay", {"after": hook["delivered_through"] + 1}, expect=422)
    s.post("/v1/webhooks", {**body, "url": "ftp://erp.example.com/"}, expect=422)
    s.post("/v1/webhooks", {**body, "events": ["order.shipped"]}, expect=422)
    s.get("/v1/webhooks", key="viewer", expect=403)
    s.delete(path, expect=204)
    s.get(path, expect=404)


def api_keys(s: Driver) -> None:
    s.part("API keys: a store tablet's key, its reach, refusals, revoked")
    tablet = s.post(
        "/v1/keys",
        {"name": "Marais pop-up tablet", "role": "store", "locations": [POPUP]},
        expect=201,
    )
    s.keys["tablet"] = {"Authorization": f"Bearer {tablet['secret']}"}
    s.get(f"/v1/keys/{tablet['id']}")
    s.get("/v1/fulfillments", params={"limit": 2}, key="tablet")
    s.get("/v1/fulfillments", params={"location": PARIS}, key="tablet", expect=403)
    sale = {"location": PARIS, "sku": SUN_M, "type": "sale", "quantity": 1}
    s.post("/v1/stock/movements", sale, key="tablet", expect=403)
    s.post("/v1/keys", {"name": "connector", "role": "integration"}, expect=422)
    s.post("/v1/keys", {"name": "mine", "role": "admin"}, key="tablet", expect=403)
    s.get("/v1/keys")
    s.delete(f"/v1/keys/{tablet['id']}", expect=204)
    s.get("/v1/locations", key="tablet", expect=401)
