"""The live stream (`GET /v1/events/stream`), served by a real uvicorn over HTTP.

Proved on SQLite and PostgreSQL: events arrive in seq order, each frame carrying the event
byte for byte as `/v1/events` shows it, old ones first, then new ones as they commit; a client
that reconnects with `Last-Event-ID` gets what it missed and nothing twice (the header wins
over `after`); `types` keeps exact types and prefixes only; heartbeats come when nothing
happens; every client of a process is fed by one poller; a client that goes away leaves no
subscription behind; a server asked to stop ends its open streams instead of waiting on them;
and a request the stream cannot serve is a 401, 403 or 422 problem before anything streams.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from conftest import ADMIN_KEY, WAREHOUSE, bearer, compact_json
from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.events.stream import Source, StreamedEvent
from scoped_keys import key_with
from servers import ADMIN_KEY as SERVER_KEY
from servers import STOP_SECONDS, api_server
from sse import FRAME_SECONDS, Frame, Stream, streaming, uvicorn_thread

STREAM = "/v1/events/stream"
HEARTBEAT_SECONDS = 0.3


@pytest.fixture
def live_app(db: Database, database_url: str) -> FastAPI:
    settings = Settings(
        admin_key=ADMIN_KEY,
        database_url=database_url,
        stream_heartbeat_seconds=HEARTBEAT_SECONDS,
        stream_poll_seconds=0.1,
    )
    return create_app(settings, db)


@pytest.fixture
def live(live_app: FastAPI) -> Iterator[str]:
    """The base URL of a real server on this test's database."""
    with uvicorn_thread(live_app) as url:
        yield url


@pytest.fixture
def api(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, headers=bearer(ADMIN_KEY), timeout=10) as client:
        yield client


def put_item(api: httpx.Client, sku: str) -> None:
    response = api.put(f"/v1/items/{sku}", json={"name": f"Item {sku}"})
    assert response.status_code == 201, response.text


def receive(api: httpx.Client, sku: str, quantity: int = 5) -> None:
    body = {"location": "WH-1", "sku": sku, "type": "receipt", "quantity": quantity}
    response = api.post("/v1/stock/movements", json=body)
    assert response.status_code == 201, response.text


def feed(api: httpx.Client) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = api.get("/v1/events", params={"limit": 1000}).json()["events"]
    return events


def feed_until(api: httpx.Client, last_type: str) -> list[dict[str, Any]]:
    """The feed, once it shows an event of `last_type` (on PostgreSQL an event is numbered a
    moment after its commit; the events of one transaction are numbered together)."""
    deadline = time.monotonic() + FRAME_SECONDS
    while True:
        events = feed(api)
        if any(e["type"] == last_type for e in events):
            return events
        assert time.monotonic() < deadline, f"no {last_type} in the feed: {events}"
        time.sleep(0.02)


def assert_frames_are_the_feed(frames: list[Frame], events: list[dict[str, Any]]) -> None:
    assert [f.id for f in frames] == [str(e["seq"]) for e in events]
    assert [f.event for f in frames] == [e["type"] for e in events]
    assert [(f.data or "").encode() for f in frames] == [compact_json(e) for e in events]


def test_events_arrive_in_seq_order_old_ones_first_each_exactly_as_the_feed_shows_it(
    live, api
) -> None:
    put_item(api, "OLD-1")
    put_item(api, "OLD-2")
    with streaming(live + STREAM, ADMIN_KEY) as stream:
        assert stream.events(2) == [
            Frame(id=str(e["seq"]), event=e["type"], data=compact_json(e).decode())
            for e in feed(api)
        ]
        assert api.put("/v1/locations/WH-1", json=WAREHOUSE).status_code == 201
        put_item(api, "NEW-1")
        receive(api, "NEW-1")  # stock.changed and availability.changed besides
        everything = feed_until(api, "stock.changed")
        frames = stream.events(len(everything) - 2)

    assert_frames_are_the_feed(frames, everything[2:])
    assert {"location.created", "item.created", "stock.changed"} <= {f.event for f in frames}


def test_a_new_event_arrives_shortly_after_its_commit(live, api) -> None:
    with streaming(live + STREAM, ADMIN_KEY) as stream:
        waits = []
        for n in range(5):
            committed = time.monotonic()
            put_item(api, f"NEW-{n}")
            [frame] = stream.events(1)
            waits.append(time.monotonic() - committed)
            assert frame.event == "item.created"
    print(f"commit to arrival: {', '.join(f'{w * 1000:.0f} ms' for w in waits)}")


def test_a_client_that_reconnects_with_last_event_id_gets_what_it_missed_and_nothing_twice(
    live, api
) -> None:
    for sku in ("A", "B", "C"):
        put_item(api, sku)
    with streaming(live + STREAM, ADMIN_KEY) as stream:
        seen = stream.events(2)
    for sku in ("D", "E"):
        put_item(api, sku)  # while the client is away

    resumed = {"Last-Event-ID": seen[-1].id or ""}
    with streaming(live + STREAM, ADMIN_KEY, params={"after": "0"}, headers=resumed) as stream:
        rest = stream.events(3)

    assert_frames_are_the_feed(seen + rest, feed(api))


def test_after_starts_the_stream_after_that_seq(live, api) -> None:
    for sku in ("A", "B", "C"):
        put_item(api, sku)
    with streaming(live + STREAM, ADMIN_KEY, params={"after": "1"}) as stream:
        frames = stream.events(2)

    assert_frames_are_the_feed(frames, feed(api)[1:])


def test_types_keeps_exact_types_and_prefixes_and_skips_the_rest(live, api) -> None:
    assert api.put("/v1/locations/WH-1", json=WAREHOUSE).status_code == 201
    put_item(api, "A")
    receive(api, "A")
    put_item(api, "B")
    wanted = {"item.created", "stock.changed"}
    params = {"types": "item.*,stock.changed"}
    with streaming(live + STREAM, ADMIN_KEY, params=params) as stream:
        frames = stream.events(3)
    chosen = [e for e in feed(api) if e["type"] in wanted]

    assert_frames_are_the_feed(frames, chosen)
    assert [f.event for f in frames] == ["item.created", "stock.changed", "item.created"]


def test_a_quiet_stream_sends_heartbeat_comments_then_the_next_event(live, api) -> None:
    with streaming(live + STREAM, ADMIN_KEY) as stream:
        first, second = stream.next(), stream.next()
        put_item(api, "A")
        [event] = stream.events(1)

    assert first == second == Frame(comment="heartbeat")
    assert event.event == "item.created"


class CountingSource:
    """A hub's source that counts its reads: the poller's (`sequence`) and the clients'."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.reads = {True: 0, False: 0}

    async def latest(self) -> int:
        return await self.source.latest()

    async def read(self, *, after: int, limit: int, sequence: bool) -> list[StreamedEvent]:
        self.reads[sequence] += 1
        return await self.source.read(after=after, limit=limit, sequence=sequence)


def test_every_client_of_a_process_is_fed_by_one_poller_and_leaves_nothing_behind(
    live_app, live, api
) -> None:
    hub = live_app.state.events_hub
    counting = hub.source = CountingSource(hub.source)
    clients = [streaming(live + STREAM, ADMIN_KEY) for _ in range(8)]
    streams: list[Stream] = [client.__enter__() for client in clients]
    try:
        while hub.subscribers < len(streams):
            time.sleep(0.01)
        polls_before = hub.polls
        for sku in ("A", "B", "C"):
            put_item(api, sku)
        for stream in streams:
            assert [f.event for f in stream.events(3)] == ["item.created"] * 3
        polls = hub.polls - polls_before
    finally:
        for client in clients:
            client.__exit__(None, None, None)
    deadline = time.monotonic() + 5
    while hub.subscribers and time.monotonic() < deadline:
        time.sleep(0.01)

    assert hub.subscribers == 0, "a client that went away left its subscription open"
    assert counting.reads[False] == 0, "the clients read the database themselves"
    assert 1 <= counting.reads[True] <= hub.polls
    print(f"{len(streams)} clients, 3 events: {polls} polls, {counting.reads[True]} reads")


# --------------------------------------------------------------------------- shutdown


def test_a_server_asked_to_stop_ends_its_open_streams_and_exits(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with api_server(database_url, workers=1, log_path=log) as server:
        with streaming(server.url + STREAM, SERVER_KEY) as stream:
            httpx.put(
                f"{server.url}/v1/items/A", json={"name": "A"}, headers=bearer(SERVER_KEY)
            ).raise_for_status()
            stream.events(1)
            os.killpg(server.process.pid, signal.SIGTERM)
            with pytest.raises(EOFError):
                stream.events(1)
        exited = server.process.wait(STOP_SECONDS / 2)

    # uvicorn ends by raising again the signal it caught, once shut down cleanly
    assert exited in (0, -signal.SIGTERM), log.read_text()
    assert "Application shutdown complete" in log.read_text()


# --------------------------------------------------------------------------- refused


def test_a_stream_without_a_key_is_a_401(anonymous, problem) -> None:
    problem(anonymous.get(STREAM), 401)


def test_a_key_without_events_read_is_a_403(client, db, problem) -> None:
    body = problem(client.get(STREAM, headers=key_with(db, "stock:read")), 403)
    assert "events:read" in body["detail"]


BAD_REQUESTS = {
    "an unknown type": ({"types": "order.nope"}, {}, "types"),
    "an unknown prefix": ({"types": "orders.*"}, {}, "types"),
    "one unknown type among known ones": ({"types": "order.*,bogus"}, {}, "types"),
    "an empty type": ({"types": ""}, {}, "types"),
    "a negative after": ({"after": "-1"}, {}, "after"),
    "an after that is no number": ({"after": "x"}, {}, "after"),
    "a Last-Event-ID that is no number": ({}, {"Last-Event-ID": "abc"}, "Last-Event-ID"),
    "a negative Last-Event-ID": ({}, {"Last-Event-ID": "-5"}, "Last-Event-ID"),
}


@pytest.mark.parametrize("params, headers, field", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_a_bad_stream_request_is_a_422_naming_its_field(
    client, problem, params, headers, field
) -> None:
    problem(client.get(STREAM, params=params, headers=headers), 422, field=field)


def test_the_stream_is_documented_as_text_event_stream(client) -> None:
    answer = client.get("/openapi.json").json()["paths"][STREAM]["get"]["responses"]["200"]

    assert "text/event-stream" in answer["content"]


def test_a_key_of_every_role_streams_the_events(live, api) -> None:
    assert api.put("/v1/locations/WH-1", json=WAREHOUSE).status_code == 201
    assert api.put("/v1/channels/web", json={"name": "Web shop"}).status_code == 201
    put_item(api, "A")
    reaches = {
        "admin": {},
        "viewer": {},
        "integration": {"channel": "web"},
        "store": {"locations": ["WH-1"]},
    }
    for role, reach in reaches.items():
        made = api.post("/v1/keys", json={"name": role, "role": role, **reach})
        assert made.status_code == 201, made.text
        with streaming(live + STREAM, made.json()["secret"]) as stream:
            frames = stream.events(3)
        assert_frames_are_the_feed(frames, feed(api)[:3])
