"""`kill -9` of an `omnistock deliver` process in the middle of delivering loses nothing.

The deliverer runs as the console script, in a process of its own that imports this
worktree's code; a receiver on 127.0.0.1 answers each event after a short wait, so that the
kill lands while events are in flight. A second `omnistock deliver` takes the lease over once
it expired, and resumes: every event arrives, the first arrivals in feed order; an event sent
again is one the killed process had sent without recording it (at least once, never skipped).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnistock.db import Database, UnitOfWork
from omnistock.domain.events import Event
from omnistock.events.feed import feed
from omnistock.services import webhooks
from receiver import always, receiving
from servers import OMNISTOCK, omnistock_env, start, stop

SRC = Path(__file__).parents[2] / "src"
DELIVERER = {
    "webhook_poll_seconds": "0.05",
    "webhook_lease_seconds": "1",
    "webhook_retry_base_seconds": "0.01",
}


@contextlib.contextmanager
def deliver(database_url: str) -> Iterator[subprocess.Popen[str]]:
    """`omnistock deliver` on this worktree's code (PYTHONPATH: its src, which has the
    command), stopped (whole group) at the end."""
    env = {**omnistock_env(**DELIVERER), "PYTHONPATH": str(SRC)}
    process = start([str(OMNISTOCK), "deliver", "--database", database_url], env)
    try:
        yield process
    finally:
        stop(process)


def subscribe(uow: UnitOfWork, url: str) -> None:
    server = webhooks.Server("127.0.0.1", 8000)
    webhooks.create_webhook(uow, url=url, events=["*"], description=None, server=server)


def happen(db: Database, count: int) -> None:
    for n in range(count):
        db.run(lambda uow, n=n: uow.emit(Event.STOCK_CHANGED, {"n": n}))


@pytest.mark.slow
def test_a_deliverer_killed_mid_flight_loses_nothing_and_the_next_one_resumes(
    db: Database, database_url: str
) -> None:
    with receiving(always(204, delay=0.02)) as receiver:
        db.run(lambda uow: subscribe(uow, receiver.url))
        happen(db, 60)
        with deliver(database_url) as first:
            receiver.wait_for(lambda r: len(r.taken()) >= 15, seconds=30)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(10)
        sent_before = len(receiver.requests())
        happen(db, 20)
        with deliver(database_url):
            receiver.wait_for(lambda r: len({x.seq for x in r.taken()}) == 80, seconds=30)

    seqs = [e["seq"] for e in feed(db, after=0, limit=100)[0]]
    arrivals = [r.seq for r in receiver.requests()]
    assert 15 <= sent_before < 60
    assert list(dict.fromkeys(arrivals)) == seqs  # all of them, first arrivals in order
    assert len(arrivals) - len(seqs) <= 100  # sent twice: at most the killed batch
