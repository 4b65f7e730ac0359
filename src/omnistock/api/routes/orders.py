"""Orders and their sourcing; the fulfilments that carry them out are in `fulfilments`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.metrics import Metrics
from omnistock.api.problems import documented
from omnistock.api.schemas.common import KEY_PATTERN, TEXT_PATTERN, When
from omnistock.api.schemas.orders import (
    CancelIn,
    DecisionOut,
    OrderDetailOut,
    OrderIn,
    OrderOut,
    OrderPage,
    SourcingOut,
    StoreDelivery,
)
from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.access import Principal, check_order
from omnistock.domain.errors import Forbidden
from omnistock.domain.orders import OrderFilters, OrderStatus
from omnistock.services import orders
from omnistock.services.views import order_view

router = APIRouter(responses=documented(401, 403, 404, 422, 503))
OrderId = Annotated[int, Path(alias="id", ge=1, le=2**63 - 1, description="The order's id")]
After = Annotated[int, Query(ge=0, le=2**63 - 1, description="Ids above this one (a page's next)")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Orders a page, at most 1,000")]
KeyQuery = Annotated[str | None, Query(pattern=KEY_PATTERN)]


def _new_order(body: OrderIn) -> orders.NewOrder:
    return orders.NewOrder(
        channel=body.channel,
        customer=body.customer.model_dump() if body.customer else {},
        delivery=body.delivery.model_dump(),
        lines=[(line.sku, line.quantity, line.unit_price) for line in body.lines],
        currency=body.currency,
        external_id=body.external_id,
        reservation_id=body.reservation_id,
        allow_partial=body.allow_partial,
    )


def _check_new(principal: Principal, body: OrderIn) -> None:
    """Refuse an order beyond the key's reach: another channel than an integration key's;
    anything but a sale in one of its stores for a store key."""
    principal.on_channel(body.channel, field="channel")
    if principal.locations is None:
        return
    if not isinstance(body.delivery, StoreDelivery) or body.delivery.method != "in_store":
        raise Forbidden("a store key places in-store sales only", field="delivery.method")
    principal.at(body.delivery.location, field="delivery.location")


@router.post(
    "/orders",
    tags=["orders"],
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {
            "model": OrderOut,
            "description": "This channel already sent this order (external_id): that order",
        },
        **documented(400, 409, 413, 415),
    },
)
async def place_order(
    body: OrderIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("orders:write"),
) -> JSONResponse:
    """Place an order: its lines are sourced and reserved at once, every line or nothing
    (409 insufficient-stock) unless `allow_partial`, which backorders what is short.
    `pickup` draws on the chosen store only; `in_store` is sold there on the spot. The same
    `channel` and `external_id` again answer 200 with the order as it stands, or 409
    external-id-reused, naming in `differs` each field sent otherwise, if it is another order."""
    _check_new(caller.principal, body)
    new = _new_order(body)

    def action(uow: UnitOfWork) -> tuple[int, object]:
        order, created = orders.place(uow, new)
        return (201 if created else 200), order_view(order, uow.policy)

    metrics: Metrics | None = request.app.state.context.metrics
    counted = (
        None
        if metrics is None
        else metrics.order_settled(channel=body.channel, method=body.delivery.method)
    )
    return await idempotency.respond(
        request=request,
        caller=caller,
        key=key,
        payload=body,
        action=action,
        model=OrderOut,
        settled=counted,
    )


@router.get("/orders", tags=["orders"], response_model=OrderPage)
async def list_orders(
    status: OrderStatus | None = None,
    channel: KeyQuery = None,
    location: Annotated[
        str | None, Query(pattern=KEY_PATTERN, description="Fulfilled, collected or sold there")
    ] = None,
    external_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            pattern=TEXT_PATTERN,
            description="The channel's id of the order (exact)",
        ),
    ] = None,
    customer_email: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=254,
            pattern=TEXT_PATTERN,
            description="The customer's email, in any case",
        ),
    ] = None,
    created_after: Annotated[
        When | None,
        Query(
            description="Orders created strictly after this ISO 8601 time with its zone, "
            "e.g. 2026-12-01T00:00:00Z"
        ),
    ] = None,
    after: After = 0,
    limit: Limit = 100,
    caller: Caller = scope("orders:read"),
) -> dict[str, Any]:
    """Orders, oldest first, a page at a time: pass `next` as `after`. Every filter given
    must match; a key sees only the orders within its reach."""
    filters = OrderFilters(
        external_id=external_id, customer_email=customer_email, created_after=created_after
    )
    found, next_after = await caller.read(
        lambda reads: orders.list_orders(
            reads,
            status=status,
            channel=caller.principal.channel_filter(channel),
            locations=caller.principal.location_filter(location),
            after=after,
            limit=limit,
            filters=filters,
        )
    )
    return {
        "orders": [order_view(order, caller.database.policy) for order in found],
        "next": next_after,
    }


@router.get("/orders/{id}", tags=["orders"], response_model=OrderDetailOut)
async def get_order(order_id: OrderId, caller: Caller = scope("orders:read")) -> object:
    """The order, with its fulfilments, backorders and history."""
    found = await caller.read(lambda reads: orders.detail(reads, order_id))
    check_order(caller.principal, found.order)
    return order_view(found.order, caller.database.policy, history=found.history)


@router.get("/orders/{id}/sourcing", tags=["orders"], response_model=SourcingOut)
async def get_sourcing(order_id: OrderId, caller: Caller = scope("orders:read")) -> object:
    """Why the order is fulfilled where it is: every candidate location with its numbers,
    the plan chosen and the reason; earlier decisions (before a rejection or healing) too."""

    def sourcing(reads: ReadUnit) -> orders.OrderSourcing:
        if caller.principal.bounded:
            check_order(caller.principal, orders.get(reads, order_id))
        return orders.sourcing_of(reads, order_id)

    return orders.sourcing_view(await caller.read(sourcing))


@router.post(
    "/orders/{id}/cancel",
    tags=["orders"],
    response_model=OrderOut,
    responses=documented(400, 409, 413, 415),
)
async def cancel_order(
    order_id: OrderId,
    request: Request,
    body: CancelIn | None = None,
    key: IdempotencyKey = None,
    caller: Caller = scope("orders:write"),
) -> JSONResponse:
    """Cancel the order, or some units of its lines; their units go back to stock. Units
    already shipped or collected cannot be cancelled (409): they come back as returns."""
    lines = (
        None if body is None or body.lines is None else [(x.sku, x.quantity) for x in body.lines]
    )

    if caller.principal.locations is not None:
        raise Forbidden("a store key cancels fulfilments, not orders", field="id")

    def action(uow: UnitOfWork) -> tuple[int, object]:
        if caller.principal.bounded:
            check_order(caller.principal, orders.get(uow, order_id))
        return 200, order_view(orders.cancel(uow, order_id, lines), uow.policy)

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=OrderOut
    )


@router.post(
    "/sourcing/preview",
    tags=["orders"],
    response_model=DecisionOut,
    responses=documented(400, 413, 415),
)
async def preview_sourcing(body: OrderIn, caller: Caller = scope("orders:read")) -> object:
    """The sourcing decision this order would get now (same body as an order), reserving
    nothing."""
    caller.principal.on_channel(body.channel, field="channel")
    new = _new_order(body)
    decision = await caller.read(lambda reads: orders.preview(reads, new))
    return decision.as_dict()
