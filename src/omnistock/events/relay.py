"""The relay: the outbox handed on to NATS JetStream, for consumers that scale out.

Each event goes to the subject `omnistock.<type>` (`omnistock.order.created`), its body the
event exactly as `/v1/events` shows it, with the header `Nats-Msg-Id` set to its seq.
The stream (made if missing, subjects `omnistock.>`) drops a message whose id it has seen
within its duplicate window (two minutes by default).

The relay keeps its own cursor in the `cursors` table (`nats:<stream>`): the seq of the last
event JetStream acknowledged. It publishes a batch one event at a time, each acknowledged
before the next is sent (so the stream holds them in seq order), and stores the cursor
after the batch. Killed at any point, it starts again after the stored cursor: nothing is
skipped, and the events of the unfinished batch are sent again, which JetStream drops as
duplicates when the restart comes within its window (a consumer outside it tells them by
their `Nats-Msg-Id`).

An unreachable server, a lost connection or an unreachable database is logged in one line
and tried again with a growing pause (up to 30 s); setting `stop` ends the relay after the
event in flight, its cursor stored.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from omnistock.db import Database
from omnistock.events.feed import feed, render

log = logging.getLogger("omnistock.relay")

SUBJECTS = "omnistock.>"
BATCH = 100
CONNECT_SECONDS = 2
PUBLISH_SECONDS = 5.0
_NATS_ERRORS = (nats.errors.Error, OSError, TimeoutError)


def subject_of(event_type: str) -> str:
    return f"omnistock.{event_type}"


def cursor_name(stream: str) -> str:
    return f"nats:{stream}"


@dataclass
class Backoff:
    """Pauses of 0.5 s, 1 s, 2 s ... up to 30 s, back to the first once things work."""

    first: float = 0.5
    most: float = 30.0
    current: float = 0.0

    def next(self) -> float:
        self.current = min(self.most, self.current * 2 if self.current else self.first)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


async def relay(
    database: Database, *, url: str, stream: str, stop: asyncio.Event, poll_seconds: float = 0.25
) -> int:
    """Relay events until `stop` is set; answers the seq of the last event relayed."""
    backoff = Backoff()
    while not stop.is_set():
        try:
            return await _connected(database, url, stream, stop, poll_seconds, backoff)
        except _NATS_ERRORS as error:
            pause = backoff.next()
            log.warning("NATS at %s: %s; trying again in %.1f s", url, _told(error), pause)
        except Exception as error:  # the database: away, restarting, ...
            pause = backoff.next()
            log.warning("cannot read the event feed: %s; trying again in %.1f s", error, pause)
        await _sleep(stop, pause)
    return await asyncio.to_thread(_cursor, database, cursor_name(stream))


async def _connected(
    database: Database,
    url: str,
    stream: str,
    stop: asyncio.Event,
    poll_seconds: float,
    backoff: Backoff,
) -> int:
    client = await nats.connect(  # one try (nats-py counts from 1), the backoff is ours
        url,
        allow_reconnect=False,
        connect_timeout=CONNECT_SECONDS,
        max_reconnect_attempts=1,
        reconnect_time_wait=0,
        error_cb=_nats_error,
    )
    try:
        jetstream = client.jetstream(timeout=PUBLISH_SECONDS)
        await _ensure_stream(jetstream, stream)
        log.info("relaying to NATS at %s, stream %s", url, stream)
        backoff.reset()
        return await _pump(database, jetstream, stream, stop, poll_seconds)
    finally:
        await _close(client)


async def _ensure_stream(jetstream: JetStreamContext, stream: str) -> None:
    try:
        await jetstream.stream_info(stream)
    except nats.js.errors.NotFoundError:
        await jetstream.add_stream(name=stream, subjects=[SUBJECTS])
        log.info("made the JetStream stream %s (subjects %s)", stream, SUBJECTS)


async def _pump(
    database: Database,
    jetstream: JetStreamContext,
    stream: str,
    stop: asyncio.Event,
    poll_seconds: float,
) -> int:
    name = cursor_name(stream)
    cursor = await asyncio.to_thread(_cursor, database, name)
    while not stop.is_set():
        found, _ = await asyncio.to_thread(feed, database, after=cursor, limit=BATCH)
        relayed = await _publish(jetstream, stream, found, stop)
        if relayed > cursor:
            await asyncio.to_thread(_store_cursor, database, name, relayed)
            cursor = relayed
        if len(found) < BATCH:
            await _sleep(stop, poll_seconds)
    return cursor


async def _publish(
    jetstream: JetStreamContext, stream: str, found: list[dict[str, Any]], stop: asyncio.Event
) -> int:
    """Publish `found` in order, each acknowledged before the next; answers the seq of the
    last one acknowledged (0 for none). Stops early when `stop` is set."""
    done = 0
    for event in found:
        if stop.is_set():
            break
        await jetstream.publish(
            subject_of(event["type"]),
            render(event),
            stream=stream,
            headers={"Nats-Msg-Id": str(event["seq"])},
        )
        done = event["seq"]
    return done


def _cursor(database: Database, name: str) -> int:
    with database.reading() as reads:
        return reads.events.cursor(name) or 0


def _store_cursor(database: Database, name: str, seq: int) -> None:
    database.run(lambda uow: uow.events.store_cursor(name, seq=seq, now=uow.now))


async def _close(client: Client) -> None:
    try:
        await client.close()
    except _NATS_ERRORS as error:
        log.debug("closing the NATS connection: %s", error)


async def _nats_error(error: Exception) -> None:
    log.debug("NATS: %s", _told(error))  # the relay's own loop logs what it does about it


def _told(error: BaseException) -> str:
    return str(error) or type(error).__name__


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        pass
