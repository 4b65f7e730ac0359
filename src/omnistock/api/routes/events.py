"""The event feed (transactional outbox)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omnistock.api.deps import Caller, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.events import EventPage
from omnistock.events.feed import feed

router = APIRouter(tags=["events"], responses=documented(401, 403, 422, 503))


@router.get("/events", response_model=EventPage)
async def get_events(
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Events with a larger seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    caller: Caller = scope("events:read"),
) -> object:
    """Events in strictly increasing `seq`; pass the answer's `next` as `after` next time."""
    found, next_seq = await caller.blocking(feed, caller.database, after=after, limit=limit)
    return {"events": found, "next": next_seq}
