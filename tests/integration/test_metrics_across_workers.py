"""Metrics and request logs of real server processes (issue 13, section 5).

With two worker processes, requests land on both (each JSON log line names the process that
answered, `pid`), and a scrape of `/metrics` answered by *either* process counts every one of
them: the processes write their figures to a directory they share (prometheus_client's
multiprocess mode), so no scrape sees one process only.

- `api_server(workers=2)`: uvicorn with a shared directory as `omnistock serve` sets it up;
  one JSON line per request, each with its own request id and the caller's key id;
- `omnistock serve --workers 2`: it makes the directory itself, fresh (under `TMPDIR`), and
  deletes it once stopped; in json mode every line it prints after its banner is JSON, and
  uvicorn's access log is off (the request line replaces it).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from omnistock.logs import REQUESTS
from omnistock.services.access import ENV_ADMIN
from servers import ADMIN_KEY, api_server, serving

ROUTE = "/v1/locations"
BATCH = 16  # requests sent at once, each on a connection of its own
MAX_ROUNDS = 40  # a bound: both workers take requests long before


def send_batch(url: str) -> int:
    """BATCH requests at once, each on a new connection, so that either process may take it."""

    def one(_: int) -> int:
        answer = httpx.get(f"{url}{ROUTE}", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        return answer.status_code

    with ThreadPoolExecutor(max_workers=BATCH) as pool:
        statuses = list(pool.map(one, range(BATCH)))
    assert statuses == [200] * BATCH
    return BATCH


def counted(url: str) -> float:
    """The requests to ROUTE that a scrape of /metrics counts (on a new connection)."""
    text = httpx.get(f"{url}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "omnistock_http_requests_total" and sample.labels["route"] == ROUTE
    )


def request_lines(lines: Iterable[str], route: str) -> list[dict[str, Any]]:
    found = []
    for line in lines:
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == REQUESTS and record["route"] == route:
                found.append(record)
    return found


def until_both_processes(act: Callable[[], None], lines: Callable[[], list[str]], route: str):
    """`act` again until request lines of `route` name two processes."""
    for _ in range(MAX_ROUNDS):
        act()
        if len({r["pid"] for r in request_lines(lines(), route)}) >= 2:
            return
    pytest.fail(f"{MAX_ROUNDS} rounds and one process took every request to {route}")


def spread_and_scrape(url: str, lines: Callable[[], list[str]]) -> tuple[int, list[float]]:
    """Requests until both processes answered some; then scrapes until both answered one.
    Returns the requests sent and what each scrape counted."""
    sent = 0
    scrapes: list[float] = []

    def send() -> None:
        nonlocal sent
        sent += send_batch(url)

    until_both_processes(send, lines, ROUTE)
    until_both_processes(lambda: scrapes.append(counted(url)), lines, "/metrics")
    return sent, scrapes


@pytest.mark.slow  # two worker processes start: some 7 s on a loaded machine
def test_requests_spread_over_two_workers_are_all_counted_by_a_scrape_of_either(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with api_server(database_url, workers=2, log_path=log, log_format="json") as server:
        sent, scrapes = spread_and_scrape(server.url, lambda: log.read_text().splitlines())

    assert scrapes == [sent] * len(scrapes)
    logged = request_lines(log.read_text().splitlines(), ROUTE)
    assert len(logged) == sent
    assert len({r["request_id"] for r in logged}) == sent
    assert {(r["method"], r["status"], r["key_id"]) for r in logged} == {("GET", 200, ENV_ADMIN)}


def drained(later: queue.Queue[str | None], into: list[str]) -> list[str]:
    """Every line printed so far, `into` grown by those not yet taken."""
    while True:
        try:
            line = later.get_nowait()
        except queue.Empty:
            return into
        if line is None:
            return into
        into.append(line)


@pytest.mark.slow  # serve migrates, then starts two worker processes: some 15 s
def test_serve_with_two_workers_shares_metrics_in_a_fresh_directory_deleted_once_stopped(
    database_url: str, tmp_path: Path
) -> None:
    printed: list[str] = []
    environment = {"TMPDIR": str(tmp_path)}
    with serving(
        database_url, admin_key=ADMIN_KEY, workers=2, log_format="json", environment=environment
    ) as server:
        shared = list(tmp_path.glob("omnistock-metrics-*"))
        sent, scrapes = spread_and_scrape(server.url, lambda: drained(server.later, printed))
        files = {p.name.split("_")[0] for p in shared[0].iterdir()} if shared else set()

    assert len(shared) == 1, shared
    assert {"counter", "histogram"} <= files
    assert scrapes == [sent] * len(scrapes)
    assert not list(tmp_path.glob("omnistock-metrics-*"))
    printed = drained(server.later, printed)
    assert [line for line in printed if not line.startswith("{")] == []
    assert not [line for line in printed if "HTTP/1.1" in line], "uvicorn's access log is off"
