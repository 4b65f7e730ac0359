"""The orders in the console (issue 15): found by reference, e-mail, status or location; an
order's page with its lines, fulfilments, history and sourcing story, every location
considered with its verdict and why; a store key sees the orders touching its locations.
"""

from __future__ import annotations

import re

import pytest
from console_helpers import signed_in, text_of
from fastapi.testclient import TestClient
from orders_helpers import pickup_at, placed, receive

from conftest import ADMIN_KEY, Shop
from samples import CUSTOMER

pytestmark = pytest.mark.usefixtures("france")


def listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/orders/(\d+)"', page)]


@pytest.fixture
def two_orders(shop: Shop) -> tuple[int, int]:
    """A web order shipped from the Lyon warehouse, a click & collect at the Lyon store."""
    receive(shop, "TEE-M", {"WH-LYON": 5, "ST-LYON": 2, "WH-PARIS": 5})
    shipped = placed(shop.client, ("TEE-M", 1), external_id="W-1")
    lea = {"name": "Léa Petit", "email": "lea@example.fr"}
    collected = placed(shop.client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"),
                       external_id="C-1", customer=lea)  # fmt: skip
    assert shipped["fulfillments"][0]["location"] == "WH-LYON"
    return shipped["id"], collected["id"]


def test_orders_are_found_by_reference_e_mail_status_and_location(
    browser: TestClient, two_orders: tuple[int, int]
) -> None:
    shipped, collected = two_orders
    signed_in(browser, ADMIN_KEY)

    assert listed(browser.get("/orders").text) == [shipped, collected]
    assert listed(browser.get("/orders", params={"q": "C-1"}).text) == [collected]
    assert listed(browser.get("/orders", params={"q": CUSTOMER["email"]}).text) == [shipped]
    assert listed(browser.get("/orders", params={"location": "ST-LYON"}).text) == [collected]
    assert listed(browser.get("/orders", params={"status": "completed"}).text) == []
    assert "No order matches." in browser.get("/orders", params={"q": "nope"}).text


def test_an_order_page_tells_why_each_location_was_chosen_or_not(
    browser: TestClient, two_orders: tuple[int, int]
) -> None:
    shipped, _ = two_orders
    signed_in(browser, ADMIN_KEY)

    page = browser.get(f"/orders/{shipped}")

    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Order W-1" in shown
    assert re.search(r"WH-LYON chosen [\d.,]+ [\d.,]+ [\d.,]+ km", shown), shown
    assert re.search(r"WH-PARIS not chosen [\d.,]+ [\d.,]+ ", shown)
    assert "ST-LYON" in shown  # considered too (a store: its buffer, its distance)
    assert "created" in shown  # the history's first entry
    assert "TEE-M \N{MULTIPLICATION SIGN} 1" in shown


def test_a_store_key_sees_the_orders_of_its_locations_only(
    browser: TestClient, shop: Shop, two_orders: tuple[int, int]
) -> None:
    shipped, collected = two_orders
    key = shop.client.post(
        "/v1/keys", json={"name": "Lyon", "role": "store", "locations": ["ST-LYON"]}
    ).json()["secret"]
    signed_in(browser, key)

    assert listed(browser.get("/orders").text) == [collected]
    assert browser.get(f"/orders/{collected}").status_code == 200
    assert browser.get(f"/orders/{shipped}").status_code == 403
    assert browser.get("/orders", params={"location": "WH-LYON"}).status_code == 403
    assert browser.get("/orders/999999").status_code == 404
