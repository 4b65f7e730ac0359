"""Running worker functions in separate processes that start at the same instant.

Importable from every test module (pytest puts this folder on sys.path with its conftest).
"""

from __future__ import annotations

import multiprocessing
import queue
import time
from collections.abc import Callable
from typing import Any

SPAWN = multiprocessing.get_context("spawn")
WORKER_TIMEOUT_SECONDS = 180.0

#: A worker function and its first arguments; it is also given a start barrier and a
#: results queue, waits on the barrier, and puts one report (with a `worker` field).
Job = tuple[Callable[..., None], tuple[Any, ...]]


def run_together(jobs: list[Job]) -> list[Any]:
    """Start one spawned process per job, released together; their reports, by worker."""
    start = SPAWN.Barrier(len(jobs))
    results: Any = SPAWN.Queue()
    workers = [SPAWN.Process(target=f, args=(*args, start, results)) for f, args in jobs]
    for worker in workers:
        worker.start()
    reports: list[Any] = []
    deadline = time.monotonic() + WORKER_TIMEOUT_SECONDS
    try:
        while len(reports) < len(workers):
            try:
                reports.append(results.get(timeout=0.5))
            except queue.Empty:
                died = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                assert not died, f"worker processes died without a report: exit codes {died}"
                assert time.monotonic() < deadline, "the workers did not finish in time"
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
                worker.join()
    return sorted(reports, key=lambda r: r.worker)
