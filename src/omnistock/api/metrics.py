"""What the API counts, and `GET /metrics`, which shows it in Prometheus' text format.

| metric | type | labels |
|---|---|---|
| `omnistock_http_requests_total` | counter | `method`, `route` (`/v1/orders/{id}`), `status` |
| `omnistock_http_request_duration_seconds` | histogram | the same |
| `omnistock_orders_placed_total` | counter | `channel`, `delivery` (`ship`, `pickup`, ...) |
| `omnistock_holds_total` | counter | `outcome` (`granted`; `refused`: not enough stock) |
| `omnistock_db_pool_connections_in_use` | gauge | none (summed over live processes) |
| `omnistock_webhook_deliveries` | gauge | `outcome`: tries recorded (`delivered`, `failed`...) |
| `omnistock_webhook_oldest_undelivered_seconds` | gauge | `webhook` (its id); 0: up to date |

One server process keeps its metrics in a registry of its own app. Several (`omnistock serve
--workers N`) share them through prometheus_client's multiprocess mode: `serve` gives every
process a fresh, empty `PROMETHEUS_MULTIPROC_DIR` before any starts (and deletes it when they
have all stopped); each process writes its values to files there, and a scrape of any
process reads them all, so it shows the sum over every process.

Figures the database knows (webhook deliveries by outcome, the oldest undelivered event per
webhook: `WebhookFigures`) are not counted in a process but read when scraped:
`Metrics.at_scrape(collector)` adds a collector (an object whose `collect()` yields
`prometheus_client.core` metric families) that runs in the process answering each scrape,
after the counters above.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event
from starlette.concurrency import run_in_threadpool

from omnistock.db import Database
from omnistock.services import webhooks

#: Set (by `omnistock serve`) when several processes serve the app: their shared directory.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
#: Seconds; most answers take a few milliseconds.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_REQUEST_LABELS = ("method", "route", "status")
#: What a route calls once the answer to a change is final (see `idempotency.respond`).
Settled = Callable[[int, Any], None]


class Metrics:
    """The metrics of one server process."""

    def __init__(self) -> None:
        self.multiprocess = MULTIPROCESS_DIR in os.environ
        disable_created_metrics()  # no `_created` series beside each counter (as in multiprocess)
        self.registry = registry = CollectorRegistry()
        self._scraped: list[Collector] = []
        self.requests = Counter(
            "omnistock_http_requests", "Requests answered", _REQUEST_LABELS, registry=registry
        )
        self.durations = Histogram(
            "omnistock_http_request_duration_seconds",
            "Time from a request's arrival until its answer was sent",
            _REQUEST_LABELS,
            buckets=_BUCKETS,
            registry=registry,
        )
        self.orders = Counter(
            "omnistock_orders_placed", "Orders placed", ("channel", "delivery"), registry=registry
        )
        self.holds = Counter(
            "omnistock_holds", "Holds asked for, by outcome", ("outcome",), registry=registry
        )
        self.pool_in_use = Gauge(
            "omnistock_db_pool_connections_in_use",
            "Database connections checked out of the pools",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self._by_request: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    # ----------------------------------------------------------------------- counting

    def request_answered(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._by_request.get(key)
        if children is None:  # labels() takes a lock and builds a key: once per combination
            labels = (method, route, str(status))
            children = (self.requests.labels(*labels), self.durations.labels(*labels))
            self._by_request[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def order_settled(self, *, channel: str, method: str) -> Settled:
        """Counts the order placed if the answer is 201 (200: one the channel sent before)."""

        def settled(status: int, _answer: Any) -> None:
            if status == 201:
                self.orders.labels(channel, method).inc()

        return settled

    def hold_settled(self, status: int, answer: Any) -> None:
        """Counts a hold granted (201) or refused for want of stock (409 insufficient-stock)."""
        if status == 201:
            self.holds.labels("granted").inc()
        elif status == 409 and answer.get("code") == "insufficient-stock":
            self.holds.labels("refused").inc()

    def watch_pool(self, engine: Engine) -> None:
        """Follow the connections `engine`'s pool hands out and takes back.

        A connection is taken back only if it was counted out: the pool also checks in
        a connection whose checkout failed (its pre-ping found the server gone), and
        there was no checkout event for that one.
        """
        mark = f"omnistock-metrics-{id(self)}"

        def handed_out(_dbapi: Any, record: Any, _proxy: Any) -> None:
            record.record_info[mark] = True
            self.pool_in_use.inc()

        def taken_back(_dbapi: Any, record: Any) -> None:
            if record is not None and record.record_info.pop(mark, False):
                self.pool_in_use.dec()

        event.listen(engine, "checkout", handed_out)
        event.listen(engine, "checkin", taken_back)

    # ----------------------------------------------------------------------- scraping

    def at_scrape(self, collector: Collector) -> None:
        """Run `collector` at every scrape, in the process that answers it."""
        self._scraped.append(collector)

    def exposition(self) -> bytes:
        """Every metric, in Prometheus' text format (0.0.4); in multiprocess mode, summed
        over the processes. Blocking: it reads files, and the collectors may read the
        database."""
        registry = CollectorRegistry()
        if self.multiprocess:
            multiprocess.MultiProcessCollector(registry)
        else:
            registry.register(self.registry)
        for collector in self._scraped:
            registry.register(collector)
        return generate_latest(registry)

    def close(self) -> None:
        """This process stops: its gauges leave the sums (its counters stay counted)."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())


class WebhookFigures:
    """The webhooks' figures, read from the database at each scrape (whichever process
    delivers them, the database knows)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        with self.database.reading() as reads:
            stats = webhooks.delivery_stats(reads)
        tries = GaugeMetricFamily(
            "omnistock_webhook_deliveries", "Webhook tries recorded, by outcome", labels=["outcome"]
        )
        for outcome, count in sorted(stats["deliveries"].items()):
            tries.add_metric([outcome], count)
        yield tries
        ages = GaugeMetricFamily(
            "omnistock_webhook_oldest_undelivered_seconds",
            "Age of each webhook's oldest event not delivered yet (0: up to date)",
            labels=["webhook"],
        )
        for webhook_id, age in sorted(stats["oldest_undelivered_seconds"].items()):
            ages.add_metric([str(webhook_id)], age)
        yield ages


def install(app: FastAPI, metrics: Metrics) -> None:
    """`GET /metrics`, without a key, like /healthz.

    Left out of the OpenAPI document: it is for Prometheus, in Prometheus' own format
    (described by Prometheus, not by a JSON schema), not part of the JSON contract the
    document describes and that its fuzzing holds every route to.
    """

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        body = await run_in_threadpool(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)
