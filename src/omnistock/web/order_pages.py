"""The orders: found by reference, customer, status, channel or location; and an order's
page, with its lines, its fulfilments, its history as a timeline and its sourcing story,
every location considered with its verdict and why (chosen, not chosen, no stock, at
capacity, excluded), its distance and cost. A store key sees the orders touching its
locations, as the API shows them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from omnistock.db import ReadUnit
from omnistock.domain.access import Principal, check_order
from omnistock.domain.errors import Forbidden, InvalidInput, NotFound
from omnistock.domain.orders import OrderFilters, OrderStatus
from omnistock.services import orders
from omnistock.web.pages import Visitor, allowed, not_found, refused, render

router = APIRouter(include_in_schema=False)
#: Orders a page of the list shows.
PAGE = 50


@router.get("/orders")
async def order_list(
    request: Request,
    q: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    location: str | None = None,
    after: int = 0,
) -> Response:
    opened = await allowed(request, "orders:read")
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened
    principal = visitor.principal
    query = (q or "").strip()[:200]
    filters = None
    if query:
        by_email = "@" in query
        filters = OrderFilters(
            external_id=None if by_email else query, customer_email=query if by_email else None
        )
    wanted = OrderStatus(status) if status in tuple(OrderStatus) else None
    places = principal.locations
    if location:
        if places is not None and location not in places:
            return refused(request, visitor)
        places = frozenset({location})
    found, next_after = await visitor.caller.read(
        lambda reads: orders.list_orders(
            reads, status=wanted, channel=channel or principal.channel, locations=places,
            after=max(0, after), limit=PAGE, filters=filters,
        )
    )  # fmt: skip
    return render(
        request, "orders.html", visitor.words, visitor=visitor, found=found, next=next_after,
        q=query, wanted=wanted or "", channel=channel or "", location=location or "",
        statuses=list(OrderStatus),
    )  # fmt: skip


def _order_page(reads: ReadUnit, order_id: int, principal: Principal) -> dict[str, Any]:
    found = orders.detail(reads, order_id)
    check_order(principal, found.order)
    story = orders.sourcing_view(orders.sourcing_of(reads, order_id))
    return {"order": found.order, "history": found.history, "sourcing": story}


@router.get("/orders/{order_id}")
async def order_page(request: Request, order_id: int) -> Response:
    opened = await allowed(request, "orders:read")
    if not isinstance(opened, Visitor):
        return opened
    visitor = opened
    try:
        found = await visitor.caller.read(
            lambda reads: _order_page(reads, order_id, visitor.principal)
        )
    except (NotFound, InvalidInput):
        words = visitor.words
        return not_found(request, visitor, f"{words('No order has the id')} {order_id}.")
    except Forbidden:
        return refused(request, visitor)
    return render(request, "order.html", visitor.words, visitor=visitor, **found)
