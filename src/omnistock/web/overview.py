"""The overview: the day so far at a glance (since midnight UTC). Today's orders by channel
and status and by hour, the share of parcels sent from stores, the split rate, the orders
waiting for stock; the pickups waiting, soonest to expire first; the oldest work not yet
done at each location; and the items each channel cannot sell.

A store key sees the orders and the work of its own locations; the items out of stock are
the channels' (the figures the channels publish), the same for everyone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from omnistock.db import ReadUnit
from omnistock.domain.access import Principal
from omnistock.domain.orders import Fulfilment, FulfilmentStatus, OrderFilters
from omnistock.services import catalog, feeds, fulfilment, orders
from omnistock.web import views
from omnistock.web.pages import Visitor, allowed, render

router = APIRouter(include_in_schema=False)
#: The most of today's orders read (a busier day is summed over its first ones, and says so).
MOST_ORDERS = 5000
#: Rows of each waiting list.
SHOWN = 10
S = FulfilmentStatus


@dataclass(frozen=True, slots=True)
class Waiting:
    """A fulfilment that waits: where, since when, and (for a pickup) until when."""

    id: int
    order_id: int
    location: str
    status: str
    age_minutes: int
    expires_in_minutes: int | None


def _waiting(reads: ReadUnit, works: list[Fulfilment], now: dt.datetime) -> list[Waiting]:
    found = []
    for work in works:
        since = work.status_at or now
        expires = reads.policy.pickup_by(work)
        found.append(
            Waiting(
                work.id, work.order_id, work.location, str(work.status),
                max(0, int((now - since).total_seconds() // 60)),
                None if expires is None else int((expires - now).total_seconds() // 60),
            )
        )  # fmt: skip
    return found


def _day(reads: ReadUnit, principal: Principal) -> dict[str, Any]:
    now = reads.now
    since = now.replace(hour=0, minute=0, second=0, microsecond=0)
    reach = principal.locations
    placed: list[Any] = []
    after = 0
    while len(placed) < MOST_ORDERS:
        page, next_after = orders.list_orders(
            reads, locations=reach, channel=principal.channel, after=after, limit=500,
            # strictly after: from midnight on
            filters=OrderFilters(created_after=since - dt.timedelta(microseconds=1)),
        )  # fmt: skip
        placed += page
        if next_after is None:
            break
        after = next_after
    types = {p.code: str(p.type) for p in catalog.list_locations(reads)}
    pickups, _ = fulfilment.queue(reads, locations=reach, status=S.READY_FOR_PICKUP, limit=500)
    waiting = _waiting(reads, pickups, now)
    waiting.sort(key=lambda w: (w.expires_in_minutes is None, w.expires_in_minutes or 0))
    oldest: list[Waiting] = []
    for status in (S.ALLOCATED, S.PICKED, S.PACKED):
        works, _ = fulfilment.queue(reads, locations=reach, status=status, limit=SHOWN)
        oldest += _waiting(reads, works, now)
    oldest.sort(key=lambda w: -w.age_minutes)
    out_of_stock = {
        code: count
        for code, count in sorted(feeds.out_of_stock(reads).items())
        if principal.channel is None or code == principal.channel
    }
    return {
        "day": views.overview(placed, types, since),
        "since": since,
        "capped": len(placed) >= MOST_ORDERS,
        "pickups": waiting[:SHOWN],
        "pickup_count": len(waiting),
        "oldest": oldest[:SHOWN],
        "out_of_stock": out_of_stock,
    }


@router.get("/overview")
async def overview(request: Request) -> Response:
    visitor = await allowed(request, "orders:read", "fulfillments:read")
    if not isinstance(visitor, Visitor):
        return visitor
    principal = visitor.principal
    found = await visitor.caller.read(lambda reads: _day(reads, principal))
    return render(request, "overview.html", visitor.words, visitor=visitor, **found)
