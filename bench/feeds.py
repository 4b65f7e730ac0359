"""Bulk reads over HTTP: a channel's availability export and the stock snapshot.

    python bench/feeds.py [--items 100000] [--runs 3] [--url DATABASE_URL]

On a fresh SQLite file (or the empty database at `--url`): `--items` items, one channel
`web`, a published ATS for every other item (the others were never published: 0) and one
position per item at one warehouse. Then, against uvicorn with one worker, the wall time of
`GET /v1/availability/export?channel=web` (CSV and ndjson) and of `GET /v1/stock/snapshot`,
from the request to the last byte read, best and median of `--runs`; each answer's lines are
counted (every item, every position). The issue's target: the export of 100,000 items in
under 2 s on SQLite. It never asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert

from _harness import APP, server_env, uvicorn_server
from omnistock.db import Database
from omnistock.db.tables import channel_availability, items, positions
from omnistock.domain.availability import Channel
from omnistock.domain.catalog import Location, LocationType
from omnistock.services import catalog, channels

BATCH = 10_000


def load(url: str, count: int) -> None:
    """The catalogue, one channel and one warehouse, straight into the tables."""
    db = Database(url)
    db.migrate()
    now = dt.datetime.now(dt.UTC)
    warehouse = Location(code="WH-1", name="Warehouse", type=LocationType.WAREHOUSE, lat=48.85,
                         lon=2.35, ship_enabled=True, pickup_enabled=False)  # fmt: skip
    db.run(functools.partial(catalog.put_location, location=warehouse))
    db.run(functools.partial(channels.put_channel, channel=Channel(code="web", name="Web")))
    with db.engine.begin() as conn:
        for start in range(0, count, BATCH):
            skus = [f"SKU-{n:07d}" for n in range(start, min(start + BATCH, count))]
            rows = [{"sku": s, "name": s, "created_at": now, "updated_at": now} for s in skus]
            conn.execute(insert(items), rows)
            published = [{"channel": "web", "sku": s, "available_to_sell": 3} for s in skus[::2]]
            conn.execute(insert(channel_availability), published)
            stocked = [{"sku": s, "location": "WH-1", "on_hand": 3, "reserved": 0,
                        "unsellable": 0, "inbound": 0} for s in skus]  # fmt: skip
            conn.execute(insert(positions), stocked)
    db.dispose()


def timed_get(base: str, path: str, key: str) -> tuple[float, int]:
    """Seconds from the request to the last byte, and the answer's lines."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    answer = conn.getresponse()
    assert answer.status == 200, (answer.status, answer.read()[:500])
    lines = 0
    while chunk := answer.read(1 << 16):
        lines += chunk.count(b"\n")
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", help="an empty database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/feeds.db"
        t0 = time.perf_counter()
        load(url, args.items)
        print(f"loaded {args.items:,} items in {time.perf_counter() - t0:.1f} s")
        key, env = server_env(url)
        figures = {}
        with uvicorn_server(APP, workers=1, env=env) as server:
            for name, path, expected in (
                ("export csv", "/v1/availability/export?channel=web", args.items + 1),
                ("export ndjson", "/v1/availability/export?channel=web&format=ndjson",
                 args.items),
                ("snapshot", "/v1/stock/snapshot?format=ndjson", args.items),
            ):  # fmt: skip
                runs = [timed_get(server.base, path, key) for _ in range(args.runs)]
                assert all(lines == expected for _, lines in runs), (name, runs)
                seconds = [s for s, _ in runs]
                figures[name] = {"best_s": min(seconds), "median_s": statistics.median(seconds)}
                print(
                    f"{name}: {args.items:,} rows, best {min(seconds):.2f} s, "
                    f"median {statistics.median(seconds):.2f} s"
                )
        print(json.dumps({"backend": Database(url).dialect, "items": args.items, **figures}))


if __name__ == "__main__":
    main()
