"""The fulfilments that carry orders out: work queues and their workflow's actions.

The API spells them `fulfillments`, as its URLs and scopes do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.routes.orders import After, KeyQuery, Limit
from omnistock.api.schemas.fulfilments import (
    FulfilmentOut,
    FulfilmentPage,
    RejectedOut,
    RejectIn,
    ShipIn,
)
from omnistock.db import UnitOfWork
from omnistock.domain.orders import Action, FulfilmentStatus
from omnistock.services import fulfilment
from omnistock.services.views import fulfilment_view, rejected_view

router = APIRouter(tags=["fulfillments"], responses=documented(401, 403, 404, 422, 503))
FulfilmentId = Annotated[
    int, Path(alias="id", ge=1, le=2**63 - 1, description="The fulfilment's id")
]


@router.get("/fulfillments", response_model=FulfilmentPage)
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
            reads,
            locations=caller.principal.location_filter(location),
            status=status,
            after=after,
            limit=limit,
        )
    )
    return {
        "fulfillments": [fulfilment_view(f, caller.database.policy) for f in found],
        "next": next_after,
    }


@router.get("/fulfillments/{id}", response_model=FulfilmentOut)
async def get_fulfilment(
    fulfilment_id: FulfilmentId, caller: Caller = scope("fulfillments:read")
) -> object:
    found = await caller.read(lambda reads: fulfilment.get(reads, fulfilment_id))
    caller.principal.at(found.location, field="id")
    return fulfilment_view(found, caller.database.policy)


async def _act(
    request: Request,
    caller: Caller,
    key: str | None,
    fulfilment_id: int,
    action: Action,
    body: ShipIn | None = None,
) -> JSONResponse:
    details: dict[str, Any] = {}
    if body is not None:
        details = {"carrier": body.carrier, "tracking": body.tracking}

    def run(uow: UnitOfWork) -> tuple[int, object]:
        if caller.principal.bounded:
            caller.principal.at(fulfilment.get(uow, fulfilment_id).location, field="id")
        return 200, fulfilment_view(
            fulfilment.act(uow, fulfilment_id, action, **details), uow.policy
        )

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=run, model=FulfilmentOut
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
        response_model=FulfilmentOut,
        responses=_TRANSITION,
        name=f"{action}_fulfilment",
    )


for _action in _ACTION_DOCS:
    _plain_action(_action)


@router.post(
    "/fulfillments/{id}/ship",
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
    response_model=RejectedOut,
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
    lines are sourced again elsewhere (never here for this order), or backordered. The answer
    says where they went: `resourced` and `backordered`."""
    missing = [(m.sku, m.quantity) for m in body.missing]

    def run(uow: UnitOfWork) -> tuple[int, object]:
        if caller.principal.bounded:
            caller.principal.at(fulfilment.get(uow, fulfilment_id).location, field="id")
        found = fulfilment.reject(uow, fulfilment_id, reason=body.reason, missing=missing)
        return 200, rejected_view(found.fulfilment, found.moved, uow.policy)

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=run, model=RejectedOut
    )
