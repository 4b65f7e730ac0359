"""The live stream: every client of `GET /v1/events/stream` fed by one reader per process.

A process runs one `EventHub`. While at least one client listens, its poller reads the feed
every `poll_seconds` (numbering the events that became safe to hand out, as `feed` does) and
keeps the newest events in memory, each rendered to JSON once; then it wakes every
subscriber at once. So N clients cost the database one read per poll, not N.

A subscriber resumes from its own cursor (`after`): events still in memory come from there,
older ones from the database a page at a time (a client that reconnects after a while, or
one too slow to keep up), until it has caught up. It yields `HEARTBEAT` when nothing was
sent for `heartbeat_seconds`, and ends when the hub closes: at the application's shutdown,
or as soon as `stopping()` answers true (the server was asked to stop, and would otherwise
wait for ever for the open streams to end).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol, TypeVar

import anyio.to_thread

from omnistock.db import Database
from omnistock.events.feed import feed, latest, render

log = logging.getLogger("omnistock.stream")
T = TypeVar("T")

#: Events kept in memory for subscribers a little behind, and events read at a time.
KEEP = 1024
PAGE = 500


@dataclass(frozen=True, slots=True)
class StreamedEvent:
    seq: int
    type: str
    json: str  # as /v1/events shows the event
    channel: str | None = None  # the channel its data names, if any


class Heartbeat:
    """Nothing happened for a while: a comment keeps proxies from closing the stream."""


HEARTBEAT: Final = Heartbeat()


class Source(Protocol):
    """Where a hub reads events: the database, or a stand-in in tests."""

    async def latest(self) -> int: ...

    async def read(self, *, after: int, limit: int, sequence: bool) -> list[StreamedEvent]: ...


class DatabaseSource:
    """The event feed of a database, read where it costs least: on the event loop for
    SQLite (microseconds, in process), in a worker thread for PostgreSQL (the network)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def latest(self) -> int:
        return await self._run(latest, self.database)

    async def read(self, *, after: int, limit: int, sequence: bool) -> list[StreamedEvent]:
        found = await self._run(self._read, after, limit, sequence)
        return [
            StreamedEvent(e["seq"], e["type"], render(e).decode(), _channel_of(e["data"]))
            for e in found
        ]

    def _read(self, after: int, limit: int, sequence: bool) -> list[dict[str, Any]]:
        if sequence:
            return feed(self.database, after=after, limit=limit)[0]
        with self.database.reading() as reads:  # the hub has numbered them already
            return reads.events.read(after=after, limit=limit)

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.database.is_sqlite:
            return fn(*args)
        return await anyio.to_thread.run_sync(partial(fn, *args))


def _channel_of(data: Any) -> str | None:
    named = data.get("channel") if isinstance(data, dict) else None
    return named if isinstance(named, str) else None


class EventHub:
    """One poller fanning the feed out to every subscriber of this process."""

    def __init__(
        self,
        source: Source,
        *,
        poll_seconds: float,
        heartbeat_seconds: float,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.source = source
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.stopping = stopping
        self.head = -1  # the newest seq seen; -1 until the first poll
        self.subscribers = 0
        self.polls = 0
        self._floor = 0  # every event above _floor, up to head, is in _recent
        self._recent: list[StreamedEvent] = []
        self._changed = asyncio.Event()
        self._wanted = asyncio.Event()
        self._closing = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._poll_forever(), name="event-hub")

    async def close(self) -> None:
        """End every subscription, and the poller."""
        self._shut()
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def closed(self) -> bool:
        return self._closed

    async def subscribe(
        self, *, after: int, types: Collection[str] | None = None, channel: str | None = None
    ) -> AsyncIterator[StreamedEvent | Heartbeat]:
        """Events above `after` (of `types`, and naming `channel`, if given) in seq order,
        then each new one as it comes, with heartbeats in between; ends when the hub closes.
        The hub reads every event once for all its subscribers, so each one's filter is
        applied here, in memory."""
        self.subscribers += 1
        self._wanted.set()
        try:
            cursor, sent = after, time.monotonic()
            while not self._closed:
                if cursor < self.head:
                    batch = await self._events_after(cursor)
                    if not batch:  # none left in the database: events deleted under us
                        cursor = self.head
                    for event in batch:
                        cursor = event.seq
                        if _wanted(event, types, channel):
                            yield event
                            sent = time.monotonic()
                    continue
                changed = self._changed
                if not await _wait(changed, sent + self.heartbeat_seconds - time.monotonic()):
                    yield HEARTBEAT
                    sent = time.monotonic()
        finally:
            self.subscribers -= 1
            if not self.subscribers:
                self._wanted.clear()

    async def _events_after(self, cursor: int) -> list[StreamedEvent]:
        """From memory when it still holds them, else a page from the database."""
        if self._floor <= cursor:
            start = bisect.bisect_right(self._recent, cursor, key=lambda e: e.seq)
            return self._recent[start:]
        return await self.source.read(after=cursor, limit=PAGE, sequence=False)

    async def _poll_forever(self) -> None:
        while not self._closed:
            await self._wanted.wait()
            if self.stopping():
                log.info("the server is stopping: closing %d live streams", self.subscribers)
                self._shut()
                return
            try:
                await self._poll()
            except Exception as error:  # the database away: streams wait, the poller retries
                log.warning("the live stream cannot read the event feed: %s", error)
            await _wait(self._closing, self.poll_seconds)

    async def _poll(self) -> None:
        self.polls += 1
        if self.head < 0:
            self.head = self._floor = await self.source.latest()
            self._notify()
            return
        while True:
            found = await self.source.read(after=self.head, limit=PAGE, sequence=True)
            if found:
                self._remember(found)
            if len(found) < PAGE:
                return

    def _remember(self, found: list[StreamedEvent]) -> None:
        self._recent.extend(found)
        if len(self._recent) > 2 * KEEP:
            self._floor = self._recent[-KEEP - 1].seq
            del self._recent[: len(self._recent) - KEEP]
        self.head = found[-1].seq
        self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _shut(self) -> None:
        self._closed = True
        self._closing.set()
        self._wanted.set()
        self._notify()


def _wanted(event: StreamedEvent, types: Collection[str] | None, channel: str | None) -> bool:
    return (types is None or event.type in types) and (channel is None or event.channel == channel)


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` was set within `seconds`."""
    if seconds <= 0:
        return event.is_set()
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
