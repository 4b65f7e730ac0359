"""Orders, their sourcing, and the fulfilments that carry them out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.schemas import (
    KEY_PATTERN,
    CancelIn,
    DecisionOut,
    FulfilmentOut,
    FulfilmentPage,
    OrderDetailOut,
    OrderIn,
    OrderOut,
    OrderPage,
    RejectIn,
    ShipIn,
    SourcingOut,
)
from omnistock.db import UnitOfWork
from omnistock.domain.orders import Action, FulfilmentStatus, OrderStatus
from omnistock.services import fulfilment, orders

router = APIRouter(responses=documented(401, 403, 404, 422, 503))
OrderId = Annotated[int, Path(alias="id", ge=1, le=2**63 - 1, description="The order's id")]
FulfilmentId = Annotated[
    int, Path(alias="id", ge=1, le=2**63 - 1, description="The fulfilment's id")
]
After = Annotated[int, Query(ge=0, le=2**63 - 1, description="Ids above this one (a page's next)")]
Limit = Annotated[int, Query(ge=1, le=500)]
KeyQuery = Annotated[str | None, Query(pattern=KEY_PATTERN)]


def _new_order(body: OrderIn) -> orders.NewOrder:
    return orders.NewOrder(
        channel=body.channel,
        customer=body.customer.model_dump(),
        delivery=body.delivery.model_dump(),
        lines=[(line.sku, line.quantity, line.unit_price) for line in body.lines],
        currency=body.currency,
        external_id=body.external_id,
        reservation_id=body.reservation_id,
        allow_partial=body.allow_partial,
    )


@router.post(
    "/orders",
    tags=["orders"],
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"description": "This channel already sent this external_id: that order"},
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
    `channel` and `external_id` again answer 200 with the order as it stands."""
    new = _new_order(body)

    def action(uow: UnitOfWork) -> tuple[int, object]:
        view, created = orders.place(uow, new)
        return (201 if created else 200), view

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action
    )


@router.get("/orders", tags=["orders"], response_model=OrderPage)
async def list_orders(
    status: OrderStatus | None = None,
    channel: KeyQuery = None,
    location: Annotated[
        str | None, Query(pattern=KEY_PATTERN, description="Fulfilled, collected or sold there")
    ] = None,
    after: After = 0,
    limit: Limit = 100,
    caller: Caller = scope("orders:read"),
) -> dict[str, Any]:
    """Orders, oldest first, a page at a time: pass `next` as `after`."""
    found, next_after = await caller.read(
        lambda reads: orders.list_orders(
            reads, status=status, channel=channel, location=location, after=after, limit=limit
        )
    )
    return {"orders": found, "next": next_after}


@router.get("/orders/{id}", tags=["orders"], response_model=OrderDetailOut)
async def get_order(order_id: OrderId, caller: Caller = scope("orders:read")) -> object:
    """The order, with its fulfilments, backorders and history."""
    return await caller.read(lambda reads: orders.get(reads, order_id, with_history=True))


@router.get("/orders/{id}/sourcing", tags=["orders"], response_model=SourcingOut)
async def get_sourcing(order_id: OrderId, caller: Caller = scope("orders:read")) -> object:
    """Why the order is fulfilled where it is: every candidate location with its numbers,
    the plan chosen and the reason; earlier decisions (before a rejection or healing) too."""
    return await caller.read(lambda reads: orders.sourcing_of(reads, order_id))


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

    def action(uow: UnitOfWork) -> tuple[int, object]:
        return 200, orders.cancel(uow, order_id, lines)

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action
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
    new = _new_order(body)
    return await caller.read(lambda reads: orders.preview(reads, new))


@router.get("/fulfillments", tags=["fulfillments"], response_model=FulfilmentPage)
async def list_fulfilments(
    location: KeyQuery = None,
    status: FulfilmentStatus | None = None,
    after: After = 0,
    limit: Limit = 100,
    caller: Caller = scope("fulfillments:read"),
) -> dict[str, Any]:
    """A work queue: fulfilments at a location and in a status, oldest first."""
    found, next_after = await caller.read(
        lambda reads: fulfilment.queue(
            reads, location=location, status=status, after=after, limit=limit
        )
    )
    return {"fulfillments": found, "next": next_after}


@router.get("/fulfillments/{id}", tags=["fulfillments"], response_model=FulfilmentOut)
async def get_fulfilment(
    fulfilment_id: FulfilmentId, caller: Caller = scope("fulfillments:read")
) -> object:
    return await caller.read(lambda reads: fulfilment.get(reads, fulfilment_id))


async def _act(
    request: Request,
    caller: Caller,
    key: str | None,
    fulfilment_id: int,
    action: Action,
    body: ShipIn | RejectIn | None = None,
) -> JSONResponse:
    details: dict[str, Any] = {}
    if isinstance(body, ShipIn):
        details = {"carrier": body.carrier, "tracking": body.tracking}
    elif isinstance(body, RejectIn):
        details = {"reason": body.reason, "missing": [(m.sku, m.quantity) for m in body.missing]}

    def run(uow: UnitOfWork) -> tuple[int, object]:
        return 200, fulfilment.act(uow, fulfilment_id, action, **details)

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=run
    )


_ACTION_DOCS = {
    Action.PICK: "The units are picked from the shelves.",
    Action.PACK: "A shipment is packed (ship orders).",
    Action.DELIVER: "The carrier delivered it.",
    Action.READY: "It waits at the store for the customer (pickup orders).",
    Action.COLLECT: "The customer collected it: the units leave on_hand and reserved.",
    Action.CANCEL: "Cancel it: its units go back to the location; the order's lines too.",
}
_TRANSITION = documented(400, 409, 413, 415)


def _plain_action(action: Action) -> None:
    async def endpoint(
        fulfilment_id: FulfilmentId,
        request: Request,
        key: IdempotencyKey = None,
        caller: Caller = scope("fulfillments:write"),
    ) -> JSONResponse:
        return await _act(request, caller, key, fulfilment_id, action)

    endpoint.__doc__ = _ACTION_DOCS[action] + " 409 when its status does not allow it."
    router.add_api_route(
        f"/fulfillments/{{id}}/{action}",
        endpoint,
        methods=["POST"],
        tags=["fulfillments"],
        response_model=FulfilmentOut,
        responses=_TRANSITION,
        name=f"{action}_fulfilment",
    )


for _action in _ACTION_DOCS:
    _plain_action(_action)


@router.post(
    "/fulfillments/{id}/ship",
    tags=["fulfillments"],
    response_model=FulfilmentOut,
    responses=_TRANSITION,
)
async def ship_fulfilment(
    fulfilment_id: FulfilmentId,
    request: Request,
    body: ShipIn | None = None,
    key: IdempotencyKey = None,
    caller: Caller = scope("fulfillments:write"),
) -> JSONResponse:
    """It left with a carrier: the units leave on_hand and reserved. 409 when its status
    does not allow it."""
    return await _act(request, caller, key, fulfilment_id, Action.SHIP, body or ShipIn())


@router.post(
    "/fulfillments/{id}/reject",
    tags=["fulfillments"],
    response_model=FulfilmentOut,
    responses=_TRANSITION,
)
async def reject_fulfilment(
    fulfilment_id: FulfilmentId,
    body: RejectIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("fulfillments:write"),
) -> JSONResponse:
    """The location cannot serve it: the `missing` units are written off there, and its
    lines are sourced again elsewhere (never here for this order), or backordered."""
    return await _act(request, caller, key, fulfilment_id, Action.REJECT, body)
