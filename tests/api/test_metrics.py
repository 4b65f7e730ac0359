"""`GET /metrics` (issue 13, section 5): Prometheus' text format, read back with
prometheus_client's own parser, whose figures move by exactly what was done.

- requests are counted and timed per route *template* and status, never per raw path;
- an order placed counts once for its channel and delivery method, when it is new: neither
  an `Idempotency-Key` replay, nor the same `external_id` again, nor a refused order counts;
- a hold counts as granted or refused (not enough stock), a replayed refusal not again;
- the pool gauge shows the connections checked out right now;
- a collector added with `at_scrape` runs at each scrape (where webhook figures will go);
- no key is needed, and `OMNISTOCK_METRICS=false` takes the route away (404).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from orders_helpers import order, pickup_at, place, placed, receive
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.db import tables as t

ADMIN_KEY = "test-admin-key"


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def orders_placed(client: TestClient, channel: str, delivery: str) -> float:
    samples = scrape(client)
    return value(samples, "omnistock_orders_placed_total", channel=channel, delivery=delivery)


def holds(client: TestClient, outcome: str) -> float:
    return value(scrape(client), "omnistock_holds_total", outcome=outcome)


def hold(client: TestClient, quantity: int, key: str | None = None) -> int:
    body = {"channel": "web", "lines": [{"sku": "TEE-M", "quantity": quantity}]}
    headers = {"Idempotency-Key": key} if key else None
    return client.post("/v1/reservations", json=body, headers=headers).status_code


# --------------------------------------------------------------------------- requests


def test_requests_are_counted_and_timed_per_route_template_and_status(client, shop) -> None:
    shop.item("TEE-M")
    shop.item("MUG")
    before = scrape(client)

    for sku in ("TEE-M", "MUG", "NO-SUCH-SKU"):
        client.get(f"/v1/items/{sku}")
    after = scrape(client)

    def moved(name: str, status: str) -> float:
        labels = {"method": "GET", "route": "/v1/items/{sku}", "status": status}
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("omnistock_http_requests_total", "200") == 2
    assert moved("omnistock_http_requests_total", "404") == 1
    assert moved("omnistock_http_request_duration_seconds_count", "200") == 2
    assert moved("omnistock_http_request_duration_seconds_sum", "200") > 0
    routes = {dict(labels).get("route") for _, labels in after}
    assert not {r for r in routes if r and ("TEE-M" in r or "MUG" in r)}, routes


def test_a_request_matching_no_route_is_counted_as_unmatched_not_by_its_path(client) -> None:
    client.get("/v1/no/such/thing")

    samples = scrape(client)

    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(samples, "omnistock_http_requests_total", **labels) == 1
    assert not [k for k in samples if "/v1/no/such/thing" in str(k)]


def test_a_body_refused_before_routing_is_counted_under_its_route(client) -> None:
    client.post("/v1/orders", content=b"{}", headers={"Content-Type": "text/plain"})

    labels = {"method": "POST", "route": "/v1/orders", "status": "415"}
    assert value(scrape(client), "omnistock_http_requests_total", **labels) == 1


# --------------------------------------------------------------------------- orders


def test_an_order_placed_counts_once_for_its_channel_and_delivery_method(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10, "ST-LYON": 10})

    placed(client, ("TEE-M", 1))
    placed(client, ("TEE-M", 1), delivery=pickup_at("ST-LYON"), channel="stores")
    placed(client, ("TEE-M", 1))

    assert orders_placed(client, "web", "ship") == 2
    assert orders_placed(client, "stores", "pickup") == 1
    assert orders_placed(client, "web", "pickup") == 0


def test_an_order_replayed_sent_again_or_refused_is_not_counted(client, shop, france) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 10})
    keyed = {"Idempotency-Key": "order-once"}
    assert place(client, order(("TEE-M", 1)), headers=keyed).status_code == 201
    assert place(client, order(("TEE-M", 1), external_id="A-1")).status_code == 201

    replayed = place(client, order(("TEE-M", 1)), headers=keyed)
    again = place(client, order(("TEE-M", 1), external_id="A-1"))
    refused = place(client, order(("TEE-M", 50)))

    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert (again.status_code, refused.status_code) == (200, 409)
    assert orders_placed(client, "web", "ship") == 2


# --------------------------------------------------------------------------- holds


def test_holds_count_as_granted_or_refused_and_a_replayed_refusal_not_again(
    client, shop, france
) -> None:
    receive(shop, "TEE-M", {"WH-LYON": 3})

    assert hold(client, 2) == 201
    assert hold(client, 2) == 409  # one unit left
    assert hold(client, 5, key="too-many") == 409
    assert hold(client, 5, key="too-many") == 409  # the stored refusal, replayed
    assert hold(client, 1, key="last-one") == 201
    assert hold(client, 1, key="last-one") == 201  # replayed

    assert holds(client, "granted") == 2
    assert holds(client, "refused") == 2


def test_a_hold_refused_for_bad_input_is_no_stock_refusal(client, shop, france) -> None:
    body = {"channel": "web", "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}

    assert client.post("/v1/reservations", json=body).status_code == 422
    assert holds(client, "refused") == 0


# --------------------------------------------------------------------------- pool, collectors


def test_the_pool_gauge_counts_the_connections_checked_out_now(client, db: Database) -> None:
    idle = value(scrape(client), "omnistock_db_pool_connections_in_use")

    with db.read(), db.read():
        busy = value(scrape(client), "omnistock_db_pool_connections_in_use")

    assert (idle, busy) == (0, 2)
    assert value(scrape(client), "omnistock_db_pool_connections_in_use") == 0


class OrdersInDatabase:
    """A collector that reads the database when scraped, as the webhook figures will."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[Metric]:
        with self.db.read() as conn:
            count = conn.execute(select(func.count()).select_from(t.orders)).scalar_one()
        yield GaugeMetricFamily("omnistock_test_orders_stored", "Orders stored", value=count)


def test_a_collector_added_at_scrape_reads_the_database_at_each_scrape(
    app, client, shop, france, db: Database
) -> None:
    app.state.context.metrics.at_scrape(OrdersInDatabase(db))
    receive(shop, "TEE-M", {"WH-LYON": 10})

    first = value(scrape(client), "omnistock_test_orders_stored")
    placed(client, ("TEE-M", 1))
    second = value(scrape(client), "omnistock_test_orders_stored")

    assert (first, second) == (0, 1)


# --------------------------------------------------------------------------- access


def test_metrics_need_no_key(anonymous) -> None:
    answer = anonymous.get("/metrics")

    assert answer.status_code == 200
    assert "omnistock_http_requests_total" in answer.text


@pytest.fixture
def without_metrics(db: Database, database_url: str) -> Iterator[TestClient]:
    settings = Settings(admin_key=ADMIN_KEY, database_url=database_url, metrics=False)
    app = create_app(settings, db)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
        yield client


def test_metrics_turned_off_are_not_found_and_the_api_still_answers(
    without_metrics, problem
) -> None:
    problem(without_metrics.get("/metrics"), 404)
    assert without_metrics.get("/v1/locations").status_code == 200
