"""The live stream's `channel` filter, served by a real uvicorn, on SQLite and PostgreSQL:
only the events whose data names the channel arrive, byte for byte as `/v1/events` shows
them, and together with `types` both filters apply; a bad channel is a 422 naming it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from conftest import ADMIN_KEY, WAREHOUSE, bearer, compact_json
from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from sse import FRAME_SECONDS, streaming, uvicorn_thread

STREAM = "/v1/events/stream"


@pytest.fixture
def live(db: Database, database_url: str) -> Iterator[str]:
    settings = Settings(admin_key=ADMIN_KEY, database_url=database_url, stream_poll_seconds=0.1)
    app: FastAPI = create_app(settings, db)
    with uvicorn_thread(app) as url:
        yield url


@pytest.fixture
def api(live: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live, headers=bearer(ADMIN_KEY), timeout=10) as client:
        yield client


def ok(answer: httpx.Response) -> None:
    assert answer.status_code < 300, answer.text


def numbered_feed(api: httpx.Client, last_type: str) -> list[dict[str, Any]]:
    """The feed once it shows an event of `last_type` (PostgreSQL numbers events just after
    their commit)."""
    deadline = time.monotonic() + FRAME_SECONDS
    while True:
        events: list[dict[str, Any]] = api.get("/v1/events", params={"limit": 1000}).json()[
            "events"
        ]
        if any(e["type"] == last_type for e in events):
            return events
        assert time.monotonic() < deadline, events
        time.sleep(0.02)


def test_the_stream_keeps_the_events_naming_the_channel(live: str, api: httpx.Client) -> None:
    ok(api.put("/v1/locations/WH-1", json=WAREHOUSE))
    ok(api.put("/v1/channels/web", json={"name": "Web"}))
    ok(api.put("/v1/channels/mp", json={"name": "Marketplace"}))
    for sku in ("A", "B"):
        ok(api.put(f"/v1/items/{sku}", json={"name": sku}))
        body = {"location": "WH-1", "sku": sku, "type": "receipt", "quantity": 3}
        ok(api.post("/v1/stock/movements", json=body))
    hold = {"channel": "mp", "lines": [{"sku": "A", "quantity": 1}]}
    ok(api.post("/v1/reservations", json=hold))
    events = numbered_feed(api, "reservation.created")
    mine = [e for e in events if e["data"].get("channel") == "mp"]
    assert {e["type"] for e in mine} == {"availability.changed", "reservation.created"}

    with streaming(live + STREAM, ADMIN_KEY, params={"channel": "mp"}) as stream:
        frames = stream.events(len(mine))
    assert [(f.data or "").encode() for f in frames] == [compact_json(e) for e in mine]

    params = {"channel": "mp", "types": "reservation.*"}
    with streaming(live + STREAM, ADMIN_KEY, params=params) as stream:
        (frame,) = stream.events(1)
    held = next(e for e in mine if e["type"] == "reservation.created")
    assert frame.event == "reservation.created"
    assert (frame.data or "").encode() == compact_json(held)


def test_a_bad_channel_is_a_422_naming_it(api: httpx.Client) -> None:
    answer = api.get(STREAM, params={"channel": "no such"})
    assert answer.status_code == 422 and answer.json()["field"] == "channel", answer.text
