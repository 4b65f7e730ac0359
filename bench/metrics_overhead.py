"""What counting, timing and identifying every request costs: cheap requests with metrics on
and with `OMNISTOCK_METRICS=false`, side by side.

    python bench/metrics_overhead.py [--requests 20000] [--seconds 5] [--rounds 3]
                                     [--workers 1] [--no-wrk]

On a fresh, migrated SQLite file, two requests: `GET /healthz` (no key, no database: the
request the edge's fixed cost weighs most on) and `GET /v1/locations` (a key, one small read).

1. In process: the app (`create_app`, metrics on, then off) called as ASGI `--requests`
   times per path and round, on this thread's CPU clock, so that a busy machine's other
   processes stay out of the figure: CPU µs per request, and on - off.
2. Over HTTP (unless `--no-wrk`): uvicorn (`--workers`, sharing a PROMETHEUS_MULTIPROC_DIR
   when more than one, as `omnistock serve` does) answering wrk (2 threads, 16 connections)
   for `--seconds` per path: requests/s and the servers' CPU per request.

On and off alternate `--rounds` times, and medians are shown. For the cost on a real write,
`bench/orders.py --metrics-off-too`. It never asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import APP, server_env, uvicorn_server
from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database

PATHS = ("/healthz", "/v1/locations")
_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")


def load(url: str, key: str, seconds: float) -> float:
    """Requests per second wrk got answered."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds:g}s", "-H", f"Authorization: Bearer {key}", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = _RATE.search(output)
    assert found, output
    return float(found.group(1))


def one_run(url: str, workers: int, on: bool, seconds: float) -> dict[str, tuple[float, float]]:
    """Per path: requests/s and server CPU µs per request."""
    key, env = server_env(url)
    if not on:
        env["OMNISTOCK_METRICS"] = "false"
    figures = {}
    with uvicorn_server(APP, workers=workers, env=env) as server:
        for path in PATHS:
            load(server.base + path, key, 1)  # warm up
            cpu = server.cpu_seconds()
            rate = load(server.base + path, key, seconds)
            used = server.cpu_seconds() - cpu
            figures[path] = (rate, used / (rate * seconds) * 1e6)
    return figures


def in_process(url: str, on: bool, requests: int) -> dict[str, float]:
    """Per path: this thread's CPU µs per request through the whole app, without a server."""
    database = Database(url)
    app = create_app(Settings(database_url=url, admin_key="bench", metrics=on), database)
    headers = [(b"authorization", b"Bearer bench"), (b"host", b"bench")]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200, message

    async def run(path: str, count: int) -> float:
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": headers, "http_version": "1.1",
                 "scheme": "http", "server": ("bench", 80), "client": ("bench", 1),
                 "root_path": "", "asgi": {"version": "3.0"}}  # fmt: skip
        started = time.thread_time()
        for _ in range(count):
            await app(dict(scope), receive, send)
        return (time.thread_time() - started) / count * 1e6

    try:
        figures = {}
        for path in PATHS:
            asyncio.run(run(path, 200))  # warm: statements, OpenAPI templates
            figures[path] = asyncio.run(run(path, requests))
        return figures
    finally:
        database.dispose()


def alternate(rounds: int, measure: Any, show: Any) -> dict[bool, list[Any]]:
    runs: dict[bool, list[Any]] = {True: [], False: []}
    for round_ in range(rounds):
        for on in (True, False):
            figures = measure(on)
            runs[on].append(figures)
            print(f"  round {round_ + 1}, metrics {'on ' if on else 'off'}: {show(figures)}")
    return runs


def median(runs: dict[bool, list[Any]], on: bool, pick: Any) -> float:
    return statistics.median(pick(figures) for figures in runs[on])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-wrk", action="store_true", help="the in-process part only")
    args = parser.parse_args()
    if not args.no_wrk and shutil.which("wrk") is None:
        parser.error("wrk is needed (apt-get install wrk), or pass --no-wrk")
    with tempfile.TemporaryDirectory(prefix="omnistock-bench-") as directory:
        url = f"sqlite:///{directory}/bench.db"
        database = Database(url)
        database.migrate()
        database.dispose()
        print(f"1. in process, {args.requests:,} requests per path: CPU µs per request")
        cpu = alternate(
            args.rounds,
            lambda on: in_process(url, on, args.requests),
            lambda f: "  ".join(f"{p} {us:,.1f} µs" for p, us in f.items()),
        )
        for path in PATHS:
            on, off = (median(cpu, x, lambda f, p=path: f[p]) for x in (True, False))
            print(f"{path}: median {on:,.1f} µs on, {off:,.1f} off: +{on - off:,.1f} µs")
        if args.no_wrk:
            return 0
        print(f"2. over HTTP, {args.workers} worker(s), wrk for {args.seconds:g} s per path")
        http = alternate(
            args.rounds,
            lambda on: one_run(url, args.workers, on, args.seconds),
            lambda f: "  ".join(f"{p} {r:,.0f}/s {c:,.0f} µs" for p, (r, c) in f.items()),
        )
        for path in PATHS:
            rate = {x: median(http, x, lambda f, p=path: f[p][0]) for x in (True, False)}
            used = {x: median(http, x, lambda f, p=path: f[p][1]) for x in (True, False)}
            print(
                f"{path}: median {rate[True]:,.0f} req/s on, {rate[False]:,.0f} off (on ÷ off "
                f"{rate[True] / rate[False]:.3f}); server CPU per request {used[True]:,.0f} µs "
                f"on, {used[False]:,.0f} off"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
