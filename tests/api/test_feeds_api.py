"""Channel feeds and the stock snapshot over HTTP, on both databases.

Proves that the availability export lists every item of the catalogue (CSV and ndjson) with
the figure `GET /v1/availability` answers once published (0 for an item never stocked),
that it pages through the database (more items than a page), and refuses an unknown channel,
another channel's integration key and a bad format, naming the field; that the stock snapshot
lists every position (a store key's only) with an `as_of_event` that is the feed's head; and
that the feed's `types` and `channel` filters keep only what they name, and that a page's
`next` moves past the events it skipped, so that a sparse filter ends.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import order, receive, set_up_france, ship_to

from conftest import Shop, assert_problem, bearer
from omnistock.events import feed as feed_module
from omnistock.services import feeds as feeds_service

SKUS = ("CAP", "MUG", "TEE-M")


@pytest.fixture
def france(shop: Shop) -> Shop:
    set_up_france(shop)
    receive(shop, "TEE-M", {"WH-PARIS": 7, "ST-LYON": 3})
    receive(shop, "MUG", {"WH-LYON": 2})
    return shop


def key(client: TestClient, **body: Any) -> dict[str, str]:
    made = client.post("/v1/keys", json={"name": "a key", **body})
    assert made.status_code == 201, made.text
    return bearer(made.json()["secret"])


def exported(client: TestClient, channel: str, **params: Any) -> dict[str, int]:
    answer = client.get("/v1/availability/export", params={"channel": channel, **params})
    assert answer.status_code == 200, answer.text
    if params.get("format") == "ndjson":
        assert answer.headers["content-type"] == "application/x-ndjson"
        rows = [json.loads(line) for line in answer.text.splitlines()]
        return {r["sku"]: r["available_to_sell"] for r in rows}
    assert answer.headers["content-type"].startswith("text/csv")
    reader = csv.reader(io.StringIO(answer.text))
    assert next(reader) == ["sku", "available_to_sell"]
    return {sku: int(ats) for sku, ats in reader}


def answered(client: TestClient, channel: str) -> dict[str, int]:
    params: Any = {"channel": channel, "sku": list(SKUS)}
    items = client.get("/v1/availability", params=params).json()["items"]
    return {i["sku"]: i["available_to_sell"] for i in items}


@pytest.mark.parametrize("format", ["csv", "ndjson"])
def test_the_export_lists_every_item_in_sku_order_with_what_availability_answers(
    client: TestClient, france: Shop, format: str
) -> None:
    for channel in ("web", "mp", "stores"):
        found = exported(client, channel, format=format)
        assert list(found) == sorted(SKUS)
        assert found == answered(client, channel)
    assert exported(client, "web", format=format) == {"CAP": 0, "MUG": 2, "TEE-M": 10}


def test_the_export_streams_more_items_than_a_page_and_follows_each_change(
    client: TestClient, france: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds_service, "PAGE", 2)
    for n in range(5):
        france.item(f"EXTRA-{n}", name="Extra")
    receive(france, "EXTRA-3", {"WH-PARIS": 4})
    placed = client.post("/v1/orders", json=order(("TEE-M", 2), delivery=ship_to()))
    assert placed.status_code == 201, placed.text

    found = exported(client, "web")
    assert list(found) == sorted(found) and len(found) == len(SKUS) + 5
    assert found["EXTRA-3"] == 4 and found["EXTRA-0"] == 0
    assert found["TEE-M"] == answered(client, "web")["TEE-M"] == 8


def test_an_integration_key_exports_its_own_channel_only(client: TestClient, france: Shop) -> None:
    web = key(client, role="integration", channel="web")
    own = client.get("/v1/availability/export?channel=web", headers=web)
    assert own.status_code == 200
    other = client.get("/v1/availability/export?channel=mp", headers=web)
    assert_problem(other, 403, field="channel")


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("channel=nowhere", 422, "channel"),
        ("", 422, "channel"),
        ("channel=web&format=xml", 422, "format"),
        ("channel=bad%20code", 422, "channel"),
    ],
)
def test_a_bad_export_request_is_refused_naming_the_field(
    client: TestClient, france: Shop, query: str, status: int, field: str
) -> None:
    assert_problem(client.get(f"/v1/availability/export?{query}"), status, field=field)


def snapshot(client: TestClient, **headers: str) -> tuple[int, list[dict[str, Any]]]:
    answer = client.get("/v1/stock/snapshot?format=ndjson", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-ndjson"
    rows = [json.loads(line) for line in answer.text.splitlines()]
    as_of = int(answer.headers["omnistock-as-of-event"])
    assert all(row.pop("as_of_event") == as_of for row in rows)
    return as_of, rows


def test_the_snapshot_lists_every_position_as_of_the_feeds_head(
    client: TestClient, france: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feeds_service, "PAGE", 2)
    as_of, rows = snapshot(client)
    head = client.get("/v1/events", params={"after": as_of}).json()
    assert head["events"] == [] and head["next"] == as_of > 0
    expected = [
        {"sku": sku, **position} for sku in SKUS for position in france.stock(sku)["positions"]
    ]
    assert rows == sorted(expected, key=lambda r: (r["sku"], r["location"]))
    assert {(r["sku"], r["location"]) for r in rows} == {
        ("MUG", "WH-LYON"),
        ("TEE-M", "ST-LYON"),
        ("TEE-M", "WH-PARIS"),
    }


def test_a_store_key_snapshots_its_locations_only(client: TestClient, france: Shop) -> None:
    store = key(client, role="store", locations=["ST-LYON"])
    _, rows = snapshot(client, **store)
    assert [(r["sku"], r["location"], r["on_hand"]) for r in rows] == [("TEE-M", "ST-LYON", 3)]


def test_the_snapshot_refuses_another_format_naming_it(client: TestClient, france: Shop) -> None:
    assert_problem(client.get("/v1/stock/snapshot?format=csv"), 422, field="format")


def page(client: TestClient, **params: Any) -> tuple[list[dict[str, Any]], int]:
    answer = client.get("/v1/events", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return body["events"], body["next"]


def test_the_feed_keeps_the_types_and_the_channel_asked_for(
    client: TestClient, france: Shop
) -> None:
    placed = client.post("/v1/orders", json=order(("TEE-M", 1), delivery=ship_to()))
    assert placed.status_code == 201, placed.text
    everything, _ = page(client, limit=1000)

    ats, _ = page(client, types="availability.changed", channel="mp", limit=1000)
    assert ats == [
        e
        for e in everything
        if e["type"] == "availability.changed" and e["data"]["channel"] == "mp"
    ]
    assert ats and {e["data"]["channel"] for e in ats} == {"mp"}
    web, _ = page(client, channel="web", limit=1000)
    assert {e["type"] for e in web} >= {"availability.changed", "order.created"}
    assert all(e["data"].get("channel") == "web" for e in web)
    orders, _ = page(client, types="order.*,stock.changed", limit=1000)
    assert [e["seq"] for e in orders] == [
        e["seq"] for e in everything if e["type"].startswith(("order.", "stock.changed"))
    ]


def test_a_sparse_filter_moves_next_past_what_it_skipped_and_ends(
    client: TestClient, france: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "SCAN", 4)
    everything, head = page(client, limit=1000)
    wanted = [e for e in everything if e["type"] == "item.created"]
    found: list[dict[str, Any]] = []
    after, empty_pages = 0, 0
    while after < head:
        events, after_next = page(client, types="item.created", after=after, limit=2)
        assert after_next > after, "every page moves forward"
        assert len(events) <= 2 and after_next - after <= 4
        empty_pages += not events
        found += events
        after = after_next
    assert found == wanted and empty_pages > 0
    assert page(client, types="item.created", after=head) == ([], head)


@pytest.mark.parametrize(
    ("query", "field"),
    [("types=nothing.here", "types"), ("channel=no%20pe", "channel"), ("limit=0", "limit")],
)
def test_a_bad_feed_filter_is_refused_naming_the_field(
    client: TestClient, query: str, field: str
) -> None:
    assert_problem(client.get(f"/v1/events?{query}"), 422, field=field)
