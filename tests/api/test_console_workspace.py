"""The store workspace (issue 15): a store's queues, and a store associate picking, packing,
shipping, making ready, handing over against the order's reference and rejecting a line,
which is then sourced again elsewhere; on SQLite and PostgreSQL, as a browser sends forms.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_helpers import signed_in
from fastapi.testclient import TestClient
from orders_helpers import pickup_at, placed, read_order, receive

from conftest import ADMIN_KEY, Shop

pytestmark = pytest.mark.usefixtures("france", "books_balance")


def key_of(shop: Shop, **fields: Any) -> str:
    answer = shop.client.post("/v1/keys", json={"name": "a tablet", **fields})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["secret"])


def queues(page: str) -> dict[str, list[int]]:
    """Each queue's fulfilment ids, by the queue's title."""
    found: dict[str, list[int]] = {}
    for section in re.findall(r'<section class="queue".*?</section>', page, re.S):
        title = re.search(r"<h2[^>]*>\s*([^<]+?)\s*<span", section)
        assert title is not None
        found[title[1]] = [
            int(i) for i in re.findall(r'<article class="card" id="f-(\d+)"', section)
        ]
    return found


def do(browser: TestClient, code: str, fulfilment_id: int, action: str, **form: str) -> Any:
    page = browser.get(f"/stores/{code}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return browser.post(
        f"/stores/{code}/fulfilments/{fulfilment_id}",
        data={"csrf": csrf[1], "action": action, **form},
    )


@pytest.fixture
def lyon(shop: Shop) -> str:
    """A store key of the Lyon store, whose stock serves its click & collect orders."""
    receive(shop, "TEE-M", {"ST-LYON": 5, "WH-LYON": 5})
    receive(shop, "MUG", {"ST-LYON": 3})
    return key_of(shop, role="store", locations=["ST-LYON"])


def test_a_click_and_collect_order_goes_through_the_queues_to_the_customer(
    browser: TestClient, shop: Shop, lyon: str
) -> None:
    order = placed(shop.client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"), external_id="CC-1")
    (work,) = order["fulfillments"]
    signed_in(browser, lyon)

    assert queues(browser.get("/stores/ST-LYON").text)["To pick"] == [work["id"]]
    assert do(browser, "ST-LYON", work["id"], "pick").status_code == 303
    assert queues(browser.get("/stores/ST-LYON").text)["To make ready"] == [work["id"]]
    done = do(browser, "ST-LYON", work["id"], "ready")
    assert done.headers["location"] == "/stores/ST-LYON?done=ready"
    assert queues(browser.get("/stores/ST-LYON").text)["Ready for pickup"] == [work["id"]]

    wrong = do(browser, "ST-LYON", work["id"], "collect", reference="CC-2")
    assert wrong.status_code == 409
    assert "not this order" in wrong.text
    assert read_order(shop.client, order["id"])["fulfillments"][0]["status"] == "ready_for_pickup"
    assert do(browser, "ST-LYON", work["id"], "collect", reference="CC-1").status_code == 303

    assert read_order(shop.client, order["id"])["status"] == "completed"
    assert all(ids == [] for ids in queues(browser.get("/stores/ST-LYON").text).values())


def test_a_parcel_is_picked_packed_and_shipped_with_its_carrier_and_tracking(
    browser: TestClient, shop: Shop, lyon: str
) -> None:
    shop.moved("sale", 5, sku="TEE-M", location="WH-LYON")  # only the store can ship it
    order = placed(shop.client, ("TEE-M", 1))
    (work,) = order["fulfillments"]
    assert work["location"] == "ST-LYON"
    signed_in(browser, lyon)

    for action in ("pick", "pack"):
        assert do(browser, "ST-LYON", work["id"], action).status_code == 303
    assert queues(browser.get("/stores/ST-LYON").text)["To ship"] == [work["id"]]
    shipped = do(browser, "ST-LYON", work["id"], "ship", carrier="Colissimo", tracking="6A123")

    assert shipped.status_code == 303
    (after,) = read_order(shop.client, order["id"])["fulfillments"]
    assert (after["status"], after["carrier"], after["tracking"]) == (
        "shipped",
        "Colissimo",
        "6A123",
    )


def test_a_rejected_line_is_sourced_again_and_the_page_says_where_it_went(
    browser: TestClient, shop: Shop, lyon: str
) -> None:
    shop.moved("sale", 5, sku="TEE-M", location="WH-LYON")  # the store first...
    order = placed(shop.client, ("TEE-M", 1))
    (work,) = order["fulfillments"]
    assert work["location"] == "ST-LYON"
    receive(shop, "TEE-M", {"WH-LYON": 5})  # ...then the warehouse has some again
    signed_in(browser, lyon)

    without_reason = do(browser, "ST-LYON", work["id"], "reject", sku="TEE-M", reason="")
    assert without_reason.status_code == 409
    rejected = do(browser, "ST-LYON", work["id"], "reject", sku="TEE-M", reason="not on the shelf")

    assert rejected.headers["location"] == "/stores/ST-LYON?done=reject&to=WH-LYON"
    page = browser.get(rejected.headers["location"])
    assert "the lines went to WH-LYON" in page.text
    assert queues(page.text)["To pick"] == []
    fulfilments = read_order(shop.client, order["id"])["fulfillments"]
    assert [(f["location"], f["status"]) for f in fulfilments] == [
        ("ST-LYON", "rejected"),
        ("WH-LYON", "allocated"),
    ]


def test_a_store_key_opens_and_acts_in_its_own_store_only(
    browser: TestClient, shop: Shop, lyon: str
) -> None:
    receive(shop, "TEE-M", {"WH-PARIS": 2})
    shop.moved("sale", 5, sku="TEE-M", location="ST-LYON")
    shop.moved("sale", 5, sku="TEE-M", location="WH-LYON")
    order = placed(shop.client, ("TEE-M", 1))
    (work,) = order["fulfillments"]
    assert work["location"] == "WH-PARIS"
    signed_in(browser, lyon)

    assert browser.get("/stores/WH-PARIS").status_code == 403
    assert browser.get("/stores").headers["location"] == "/stores/ST-LYON"  # its only one
    page = browser.get("/stores/ST-LYON")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text) or re.search(
        r'name="csrf" value="([^"]+)"', browser.get("/items").text
    )
    assert csrf is not None
    elsewhere = browser.post(
        f"/stores/WH-PARIS/fulfilments/{work['id']}", data={"csrf": csrf[1], "action": "pick"}
    )
    through_own = browser.post(
        f"/stores/ST-LYON/fulfilments/{work['id']}", data={"csrf": csrf[1], "action": "pick"}
    )

    assert elsewhere.status_code == 403
    assert through_own.status_code == 409  # not a fulfilment of this store: nothing done
    assert read_order(shop.client, order["id"])["fulfillments"][0]["status"] == "allocated"


def test_a_viewer_reads_the_queues_but_acts_on_none_and_a_form_needs_its_token(
    browser: TestClient, shop: Shop, lyon: str
) -> None:
    order = placed(shop.client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"))
    (work,) = order["fulfillments"]
    signed_in(browser, key_of(shop, role="viewer"))

    page = browser.get("/stores/ST-LYON")
    assert queues(page.text)["To pick"] == [work["id"]]
    assert '<form method="post" action="/stores/' not in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None  # the sign-out form's
    as_viewer = browser.post(
        f"/stores/ST-LYON/fulfilments/{work['id']}", data={"csrf": csrf[1], "action": "pick"}
    )
    browser.cookies.clear()
    signed_in(browser, ADMIN_KEY)
    forged = browser.post(
        f"/stores/ST-LYON/fulfilments/{work['id']}", data={"csrf": "forged", "action": "pick"}
    )

    assert as_viewer.status_code == 403
    assert forged.status_code == 403
    assert read_order(shop.client, order["id"])["fulfillments"][0]["status"] == "allocated"


def test_the_pick_list_sums_each_item_across_the_orders_waiting_at_the_store(
    browser: TestClient, shop: Shop, lyon: str
) -> None:
    first = placed(shop.client, ("TEE-M", 1), ("MUG", 1), delivery=pickup_at("ST-LYON"),
                   external_id="CC-1")  # fmt: skip
    second = placed(shop.client, ("TEE-M", 2), delivery=pickup_at("ST-LYON"), external_id="CC-2")
    assert {f["location"] for f in first["fulfillments"] + second["fulfillments"]} == {"ST-LYON"}
    signed_in(browser, lyon)

    page = browser.get("/stores/ST-LYON/pick-list")

    assert page.status_code == 200
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in re.findall(r"<tr>.*?</tr>", page.text, re.S)[1:]]  # fmt: skip
    assert rows == ["MUG Mug 1 CC-1", "TEE-M Tee, size M 3 CC-1, CC-2"]
    assert browser.get("/stores/WH-LYON/pick-list").status_code == 403
