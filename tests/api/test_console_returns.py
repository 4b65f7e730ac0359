"""The returns desk (issue 15): a store associate finds a delivered web order by its
reference or its customer's e-mail, chooses the units coming back and their condition, sees
the refund, confirms, and sees the stock the return made; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_helpers import signed_in, text_of
from fastapi.testclient import TestClient
from orders_helpers import acted, placed, receive

from conftest import ADMIN_KEY, Shop
from samples import CUSTOMER

pytestmark = pytest.mark.usefixtures("france", "books_balance")


@pytest.fixture
def delivered(shop: Shop) -> dict[str, Any]:
    """A web order of two tees and a mug, shipped from the Lyon warehouse and delivered."""
    receive(shop, "TEE-M", {"WH-LYON": 5})
    receive(shop, "MUG", {"WH-LYON": 5})
    order = placed(shop.client, ("TEE-M", 2), ("MUG", 1), external_id="A-1001")
    (work,) = order["fulfillments"]
    acted(shop.client, work["id"], "pick", "pack", "ship", "deliver")
    return order


@pytest.fixture
def lyon(shop: Shop) -> str:
    answer = shop.client.post(
        "/v1/keys", json={"name": "Lyon till", "role": "store", "locations": ["ST-LYON"]}
    )
    assert answer.status_code == 201
    return str(answer.json()["secret"])


def desk_form(browser: TestClient, order_id: int) -> str:
    page = browser.get(f"/returns/orders/{order_id}")
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return csrf[1]


def test_a_web_order_comes_back_in_a_store_refund_shown_first_then_the_stock_it_made(
    browser: TestClient, shop: Shop, delivered: dict[str, Any], lyon: str
) -> None:
    signed_in(browser, lyon)
    by_reference = browser.get("/returns", params={"q": "A-1001"})
    by_email = browser.get("/returns", params={"q": CUSTOMER["email"].upper()})
    link = f'href="/returns/orders/{delivered["id"]}"'
    assert link in by_reference.text and link in by_email.text

    csrf = desk_form(browser, delivered["id"])
    form = {
        "csrf": csrf, "location": "ST-LYON",
        "quantity:TEE-M": "1", "condition:TEE-M": "sellable",
        "quantity:MUG": "1", "condition:MUG": "damaged", "reason:MUG": "chipped",
    }  # fmt: skip
    preview = browser.post(f"/returns/orders/{delivered['id']}", data={**form, "step": "preview"})
    assert preview.status_code == 200
    assert "Refund: 28.40 EUR" in text_of(preview.text)  # 19.90 + 8.50
    assert (
        shop.client.get("/v1/returns", params={"order_id": delivered["id"]}).json()["returns"] == []
    )  # a preview takes nothing back

    done = browser.post(f"/returns/orders/{delivered['id']}", data={**form, "step": "confirm"})

    assert done.status_code == 200, done.text
    shown = text_of(done.text)
    assert "Refund: 28.40 EUR" in shown
    assert "TEE-M 1 sellable 1 0 1" in shown  # on hand, unsellable, available at ST-LYON now
    assert "MUG 1 damaged 1 1 0" in shown
    stock = shop.client.get("/v1/stock/MUG").json()
    lyon_mug = next(p for p in stock["positions"] if p["location"] == "ST-LYON")
    assert (lyon_mug["on_hand"], lyon_mug["unsellable"]) == (1, 1)


def test_more_units_than_came_out_or_none_at_all_take_nothing_back(
    browser: TestClient, shop: Shop, delivered: dict[str, Any], lyon: str
) -> None:
    signed_in(browser, lyon)
    csrf = desk_form(browser, delivered["id"])
    base = {"csrf": csrf, "location": "ST-LYON", "step": "confirm"}

    too_many = browser.post(f"/returns/orders/{delivered['id']}",
                            data={**base, "quantity:TEE-M": "3"})  # fmt: skip
    nothing = browser.post(f"/returns/orders/{delivered['id']}", data=base)
    not_a_number = browser.post(f"/returns/orders/{delivered['id']}",
                                data={**base, "quantity:TEE-M": "-1"})  # fmt: skip

    assert [too_many.status_code, nothing.status_code, not_a_number.status_code] == [422] * 3
    assert "up to what can come back" in too_many.text
    assert "at least one unit" in nothing.text
    assert (
        shop.client.get("/v1/returns", params={"order_id": delivered["id"]}).json()["returns"] == []
    )


def test_a_store_key_takes_returns_at_its_own_store_and_a_viewer_not_at_all(
    browser: TestClient, shop: Shop, delivered: dict[str, Any], lyon: str
) -> None:
    signed_in(browser, lyon)
    csrf = desk_form(browser, delivered["id"])
    elsewhere = browser.post(
        f"/returns/orders/{delivered['id']}",
        data={"csrf": csrf, "location": "WH-PARIS", "step": "confirm", "quantity:TEE-M": "1"},
    )
    forged = browser.post(
        f"/returns/orders/{delivered['id']}",
        data={"csrf": "forged", "location": "ST-LYON", "step": "confirm", "quantity:TEE-M": "1"},
    )
    viewer = shop.client.post("/v1/keys", json={"name": "HQ", "role": "viewer"}).json()["secret"]
    browser.cookies.clear()
    signed_in(browser, viewer)

    assert elsewhere.status_code == 200  # taken at its own store, the only one it may choose
    assert "ST-LYON" in text_of(elsewhere.text)
    assert forged.status_code == 403
    assert browser.get("/returns").status_code == 403
    returned = shop.client.get("/v1/returns", params={"order_id": delivered["id"]}).json()
    assert [r["location"] for r in returned["returns"]] == ["ST-LYON"]


def test_an_admin_chooses_where_the_return_is_taken(
    browser: TestClient, shop: Shop, delivered: dict[str, Any]
) -> None:
    signed_in(browser, ADMIN_KEY)
    csrf = desk_form(browser, delivered["id"])

    done = browser.post(
        f"/returns/orders/{delivered['id']}",
        data={"csrf": csrf, "location": "WH-PARIS", "step": "confirm", "quantity:TEE-M": "2"},
    )

    assert done.status_code == 200
    again = browser.get(f"/returns/orders/{delivered['id']}")
    assert "TEE-M" not in text_of(again.text)  # all of it came back
    returned = shop.client.get("/v1/returns", params={"order_id": delivered["id"]}).json()
    assert [(r["location"], r["lines"][0]["quantity"]) for r in returned["returns"]] == [
        ("WH-PARIS", 2)
    ]
