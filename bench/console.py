"""How fast the console's pages answer on the demo retailer, on SQLite and PostgreSQL.

    python bench/console.py [--backend sqlite|postgresql|both] [--loads 50]

For each backend, on a fresh database with the demo loaded (`omnistock demo`'s code), the
app is served in process (Starlette's TestClient, signed in as an admin) and each page is
loaded `--loads` times after one warm-up load. It prints each page's median and 95th
percentile answer time against the issue's target (p95 under 150 ms), and, as the baseline
of the same run, `GET /healthz`: the app answering without a page or the database. Times
are the whole answer as the client sees it, in process: no network. It never asserts a time.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from typing import Any

from fastapi.testclient import TestClient

from _harness import on_fresh_database, progress
from omnistock.api.app import create_app
from omnistock.api.schemas.imports import validator
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.demo import load_demo

KEY = "bench-console-admin"
TARGET_MS = 150.0


def pages(client: TestClient) -> dict[str, str]:
    """The pages to load, found on the demo as a person would reach them."""
    listed = client.get("/items", params={"q": "TSH"}).text
    sku = re.findall(r'href="/items/([^"]+)"', listed)[0]
    orders = client.get("/orders", params={"q": "demo-0042"}).text
    order_id = re.findall(r'href="/orders/(\d+)"', orders)[0]
    return {
        "overview": "/overview",
        "items": "/items",
        "items searched": "/items?q=crew-neck+t-shirt",
        "item page": f"/items/{sku}",
        "item ledger at a place": f"/items/{sku}?location=WH-PARIS",
        "orders": "/orders",
        "order page": f"/orders/{order_id}",
        "store workspace": "/stores/ST-PARIS",
        "pick list": "/stores/ST-PARIS/pick-list",
        "returns search": "/returns?q=demo-0042",
        "return form": f"/returns/orders/{order_id}",
        "baseline: /healthz": "/healthz",
    }


def measure(backend: str, url: str, server: str, *, loads: int) -> dict[str, Any]:
    say = progress(backend)
    database = Database(url)
    database.migrate()
    say("loading the demo")
    load_demo(database, checks=validator)
    app = create_app(Settings(admin_key=KEY, database_url=url), database)
    timings: dict[str, list[float]] = {}
    with TestClient(app) as client:
        form = client.get("/sign-in").text
        token = re.search(r'name="token" value="([^"]+)"', form)
        assert token is not None
        client.post("/sign-in", data={"key": KEY, "token": token[1], "next": "/items"})
        for name, path in pages(client).items():
            say(f"{name}: {loads} loads of {path}")
            assert client.get(path).status_code == 200, path
            times = []
            for _ in range(loads):
                started = time.perf_counter()
                answer = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200
            timings[name] = times
    database.dispose()
    return {"backend": backend, "server": server, "timings": timings}


def show(report: dict[str, Any]) -> None:
    print(f"\n{report['backend']}: {report['server']}")
    print(f"  {'page':24}{'p50 ms':>10}{'p95 ms':>10}   target p95 < {TARGET_MS:.0f} ms")
    for name, times in report["timings"].items():
        p50 = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        verdict = "" if name.startswith("baseline") else ("met" if p95 < TARGET_MS else "NOT met")
        print(f"  {name:24}{p50:>10.1f}{p95:>10.1f}   {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--loads", type=int, default=50)
    args = parser.parse_args(argv)
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        report = on_fresh_database(
            backend, lambda b, url, server: measure(b, url, server, loads=args.loads)
        )
        if report is not None:
            show(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
