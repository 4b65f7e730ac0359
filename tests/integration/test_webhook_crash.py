"""`kill -9` of an `omnistock deliver` process in the middle of delivering loses nothing; and
`omnistock serve` delivers through such a process of its own, which ends with it.

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
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omnistock.db import Database, UnitOfWork
from omnistock.domain.events import Event
from omnistock.events.feed import feed
from omnistock.services import webhooks
from receiver import always, receiving
from servers import OMNISTOCK, Server, omnistock_env, serving, start, stop

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


def test_serve_delivers_through_a_deliverer_process_of_its_own_that_ends_with_it(
    db: Database, database_url: str
) -> None:
    db.migrate()
    with receiving() as receiver:
        db.run(lambda uow: subscribe(uow, receiver.url))
        with serving(database_url, **DELIVERER) as server:
            children = _children(server)
            assert any("deliver" in command for command in children.values()), children
            happen(db, 5)
            receiver.wait_for(lambda r: len(r.taken()) == 5, seconds=30)
        for pid in children:
            assert _ended(pid), children[pid]


def _children(server: Server) -> dict[int, str]:
    """The processes serve started: pid → command line."""
    serve_pid = server.pid
    found = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = status.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == serve_pid:
                pid = int(status.parent.name)
                found[pid] = (status.parent / "cmdline").read_text().replace("\0", " ")
    return found


def _ended(pid: int) -> bool:
    """Whether the process has ended, or does within a few seconds (the group's SIGTERM
    reaches it as it reaches serve: it finishes its batch and lets its lease go)."""
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and not _zombie(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True
