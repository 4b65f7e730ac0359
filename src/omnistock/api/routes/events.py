"""The event feed (transactional outbox), a page at a time or as a live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from omnistock.api.deps import Caller, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.common import KEY_PATTERN
from omnistock.api.schemas.events import EventPage
from omnistock.domain.errors import InvalidInput
from omnistock.domain.events import selected_types
from omnistock.events.feed import filtered_feed
from omnistock.events.stream import EventHub, Heartbeat

router = APIRouter(tags=["events"], responses=documented(401, 403, 422, 503))

MAX_SEQ = 2**63 - 1
After = Annotated[int, Query(ge=0, le=MAX_SEQ, description="Events with a larger seq")]


async def _types(
    types: Annotated[
        list[str] | None,
        Query(
            description="Only these event types: exact (`order.created`), a prefix "
            "(`order.*`) or `*`; repeat the parameter or separate them with commas",
        ),
    ] = None,
) -> frozenset[str] | None:
    if types is None:
        return None
    try:
        return selected_types([t.strip() for both in types for t in both.split(",")])
    except ValueError as error:
        raise InvalidInput("types", str(error)) from None


ChannelFilter = Annotated[
    str | None,
    Query(
        pattern=KEY_PATTERN,
        description="Only events whose data names this channel (`availability.changed`, "
        "`order.*`, `reservation.*`, `buffer_rule.*` of that channel); `fulfillment.*` events "
        "name a location, not a channel, and never match (follow `order.status_changed`)",
    ),
]


@router.get("/events", response_model=EventPage)
async def get_events(
    caller: Caller = scope("events:read"),  # first: a key is checked before the filters
    after: After = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    types: frozenset[str] | None = Depends(_types),
    channel: ChannelFilter = None,
) -> object:
    """Events in strictly increasing `seq`; pass the answer's `next` as `after` next time.

    With `types` or `channel`, only the matching events, filtered by the database: a page
    looks at 10,000 events at most, and its `next` is the last seq it looked at, so a page
    may be empty although more events follow (keep asking until `next` stops moving)."""
    found, next_seq = await caller.blocking(
        filtered_feed, caller.database, after=after, limit=limit, types=types, channel=channel
    )
    return {"events": found, "next": next_seq}


@router.get("/events/stream", response_class=EventSourceResponse)
async def stream_events(
    request: Request,
    caller: Caller = scope("events:read"),
    types: frozenset[str] | None = Depends(_types),
    channel: ChannelFilter = None,
    after: After = 0,
    last_event_id: Annotated[
        int | None,
        Header(
            alias="Last-Event-ID",
            ge=0,
            le=MAX_SEQ,
            description="The last `id` received: resume after it (wins over `after`)",
        ),
    ] = None,
) -> AsyncIterator[ServerSentEvent]:
    """The events as Server-Sent Events, from `after` (or `Last-Event-ID`) on, then each new
    one within a second of its commit: `id` is the event's seq, `event` its type, `data` the
    event exactly as `/v1/events` shows it. A `: heartbeat` comment comes after 15 s
    without an event. A client that reconnects with the `Last-Event-ID` header (as a
    browser's `EventSource` does by itself) misses nothing."""
    hub: EventHub = request.app.state.events_hub
    start = after if last_event_id is None else last_event_id
    async for item in hub.subscribe(after=start, types=types, channel=channel):
        if isinstance(item, Heartbeat):
            yield ServerSentEvent(comment="heartbeat")
        else:
            yield ServerSentEvent(raw_data=item.json, event=item.type, id=str(item.seq))
