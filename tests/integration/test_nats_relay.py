"""`omnistock relay nats`, run as the command it is, against a real `nats-server -js`.

Proved on SQLite and PostgreSQL: every event reaches the JetStream stream once, in seq order,
under `omnistock.<type>`, with `Nats-Msg-Id` = its seq and its body as `/v1/events` shows
it, old events and the ones written while it runs; Ctrl-C stops it cleanly with its cursor
stored; a relay killed with SIGKILL mid-flight and started again skips nothing and leaves no
duplicate in the stream; a relay started before NATS is up says so in one line a try and
relays once the server comes.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nats_server import Message, nats_server, nats_server_or_skip, stream_messages, stream_size
from omnistock.db import Database, UnitOfWork
from omnistock.domain.events import Event
from omnistock.events.feed import feed, render
from omnistock.events.relay import cursor_name
from servers import OMNISTOCK, free_port, omnistock_env, read_lines, start, stop

STREAM = "OMNISTOCK"
WAIT_SECONDS = 60.0  # a bound against hangs, not a measurement


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with nats_server(tmp_path / "jetstream", free_port()) as url:
        yield url


def write_events(db: Database, count: int, *, per_transaction: int = 500) -> None:
    """`count` events (item.updated and stock.changed in turn), a few transactions' worth."""

    def emit(first: int, last: int) -> Callable[[UnitOfWork], None]:
        def write(uow: UnitOfWork) -> None:
            for n in range(first, last):
                kind = Event.ITEM_UPDATED if n % 2 else Event.STOCK_CHANGED
                uow.emit(kind, {"n": n, "name": f"événement {n}"})

        return write

    for first in range(0, count, per_transaction):
        db.run(emit(first, min(count, first + per_transaction)))


def every_event(db: Database) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page, _ = feed(db, after=found[-1]["seq"] if found else 0, limit=1000)
        if not page:
            return found
        found += page


def expected(db: Database) -> list[Message]:
    return [Message(f"omnistock.{e['type']}", str(e["seq"]), render(e)) for e in every_event(db)]


def stored_cursor(db: Database) -> int | None:
    with db.reading() as reads:
        return reads.events.cursor(cursor_name(STREAM))


class Relay:
    """`omnistock relay nats` in a process group of its own, its output read as it comes."""

    def __init__(self, database_url: str, url: str) -> None:
        command = [str(OMNISTOCK), "relay", "nats", "--url", url, "--database", database_url]
        self.process = start(command, omnistock_env())
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=read_lines, args=(self.process, self.lines), daemon=True).start()

    def printed(self) -> str:
        with contextlib.suppress(queue.Empty):
            while (line := self.lines.get_nowait()) is not None:
                self.output.append(line)
        return "".join(self.output)

    def signal(self, number: int) -> int:
        os.killpg(self.process.pid, number)
        return self.process.wait(WAIT_SECONDS)


def until(condition: Callable[[], bool], what: str, relay: Relay | None = None) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        printed = relay.printed() if relay else ""
        assert time.monotonic() < deadline, f"{what} did not happen in time:\n{printed}"
        time.sleep(0.02)


@contextlib.contextmanager
def relaying(database_url: str, url: str) -> Iterator[Relay]:
    relay = Relay(database_url, url)
    try:
        yield relay
    finally:
        stop(relay.process)


def test_every_event_reaches_the_stream_once_in_order_under_its_type_and_id(
    db, database_url, nats_url
) -> None:
    write_events(db, 250)
    with relaying(database_url, nats_url) as relay:
        until(lambda: stream_size(nats_url, STREAM) == 250, "relaying the first 250", relay)
        write_events(db, 30)  # while it runs
        until(lambda: stream_size(nats_url, STREAM) == 280, "relaying 30 more", relay)
        status = relay.signal(signal.SIGINT)

    assert status == 0, relay.printed()
    assert "Relay stopped after event 280." in relay.printed()
    assert stored_cursor(db) == 280
    assert stream_messages(nats_url, STREAM) == expected(db)


def test_a_relay_killed_mid_flight_and_started_again_skips_nothing_and_repeats_nothing(
    db, database_url, nats_url
) -> None:
    total = 3000
    write_events(db, total)
    with relaying(database_url, nats_url) as first:
        until(lambda: stream_size(nats_url, STREAM) >= 300, "relaying a first part", first)
        first.signal(signal.SIGKILL)
    relayed_before = stream_size(nats_url, STREAM)
    assert relayed_before < total, "the relay had finished before the kill: nothing was proved"

    with relaying(database_url, nats_url) as second:
        until(lambda: stored_cursor(db) == total, "relaying the rest", second)
        assert second.signal(signal.SIGTERM) == 0, second.printed()

    assert stream_messages(nats_url, STREAM) == expected(db)
    print(f"killed after {relayed_before} of {total} events; the restart relayed the rest")


def test_a_relay_started_before_nats_says_so_and_relays_once_nats_is_up(
    db, database_url, tmp_path
) -> None:
    nats_server_or_skip()
    write_events(db, 10)
    port = free_port()
    url = f"nats://127.0.0.1:{port}"
    with relaying(database_url, url) as relay:
        until(lambda: "trying again in" in relay.printed(), "a line about NATS", relay)
        warning = next(line for line in relay.output if "trying again in" in line)
        with nats_server(tmp_path / "jetstream", port):
            until(lambda: stream_size(url, STREAM) == 10, "relaying once NATS is up", relay)
            assert relay.signal(signal.SIGINT) == 0, relay.printed()
            assert stream_messages(url, STREAM) == expected(db)

    assert f"NATS at {url}" in warning and "Traceback" not in relay.printed()
