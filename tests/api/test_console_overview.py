"""The console's overview (issue 15): today's orders by channel and status, the share of
parcels sent from stores, the split rate, the orders waiting for stock, the pickups waiting
and the items each channel cannot sell; on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
from console_helpers import signed_in, text_of
from fastapi.testclient import TestClient
from orders_helpers import acted, pickup_at, placed, receive

from conftest import ADMIN_KEY, Shop

pytestmark = pytest.mark.usefixtures("france")


@pytest.fixture
def day(shop: Shop) -> None:
    """Web orders: one split between the Lyon store and warehouse, one from the warehouse,
    one partly waiting for stock; and a click & collect ready at the Lyon store."""
    receive(shop, "TEE-M", {"ST-LYON": 2})
    receive(shop, "MUG", {"WH-LYON": 4})
    split = placed(shop.client, ("TEE-M", 1), ("MUG", 1))
    assert sorted(f["location"] for f in split["fulfillments"]) == ["ST-LYON", "WH-LYON"]
    placed(shop.client, ("MUG", 1))
    placed(shop.client, ("MUG", 1), ("CAP", 1), allow_partial=True)  # the cap backordered
    pickup = placed(shop.client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"), channel="stores")
    acted(shop.client, pickup["fulfillments"][0]["id"], "pick", "ready")


def out_of_stock(client: TestClient, channel: str) -> int:
    """Items the channel cannot sell, as the API tells them one by one."""
    answers = [
        client.get(f"/v1/availability/{sku}", params={"channel": channel}).json()
        for sku in ("TEE-M", "MUG", "CAP")
    ]
    return sum(1 for answer in answers if answer["available_to_sell"] == 0)


def test_the_overview_sums_up_the_day(browser: TestClient, shop: Shop, day: None) -> None:
    signed_in(browser, ADMIN_KEY)
    assert browser.get("/").headers["location"] == "/overview"

    page = browser.get("/overview")

    assert page.status_code == 200
    shown = text_of(page.text)
    assert "4 orders today" in shown
    assert "25% of parcels sent from stores" in shown  # 1 of 4 live web shipments
    assert "1.25 shipments per order served" in shown  # 5 fulfilments, 4 orders served
    assert "1 orders waiting for stock" in shown
    assert "1 pickups waiting" in shown
    section = page.text.split("Items out of stock, by channel")[1]
    shown_out = dict(re.findall(r'<th scope="row">([a-z]+)</th><td class="n">(\d+)</td>',
                                re.sub(r">\s+<", "><", section)))  # fmt: skip
    assert shown_out == {c: str(out_of_stock(shop.client, c)) for c in ("mp", "stores", "web")}
    assert shown_out["mp"] == "2"  # no tee and no cap in the warehouses


def test_a_store_associate_starts_at_their_workspace_and_sees_their_orders_only(
    browser: TestClient, shop: Shop, day: None
) -> None:
    key = shop.client.post(
        "/v1/keys", json={"name": "Lyon", "role": "store", "locations": ["ST-LYON"]}
    ).json()["secret"]
    signed_in(browser, key)

    assert browser.get("/").headers["location"] == "/stores"
    shown = text_of(browser.get("/overview").text)

    assert "2 orders today" in shown  # the split one and the pickup touch ST-LYON
