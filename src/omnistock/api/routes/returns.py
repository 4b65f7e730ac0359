"""Returns from any channel into any location."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.common import KEY_PATTERN
from omnistock.api.schemas.returns import ReturnIn, ReturnOut, ReturnPage
from omnistock.db import UnitOfWork
from omnistock.domain.returns import ReturnLine
from omnistock.services import returns

router = APIRouter(tags=["returns"], responses=documented(401, 403, 404, 422, 503))


@router.post(
    "/returns", status_code=201, response_model=ReturnOut, responses=documented(400, 409, 413, 415)
)
async def create_return(
    body: ReturnIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("returns:write"),
) -> JSONResponse:
    """Take back units of a delivered or collected order (any channel, in-store sales too)
    at any active location: `sellable` units are on hand there at once and count in every
    channel's ATS; `damaged` ones are on hand as unsellable. The refund is what the order
    paid for them. More units than were delivered and not yet returned: 409 not-returnable,
    naming the line."""
    lines = [
        ReturnLine(line.sku, line.quantity, line.condition, line.reason) for line in body.lines
    ]

    caller.principal.at(body.location, field="location")

    def action(uow: UnitOfWork) -> tuple[int, object]:
        taken_back = returns.take_back(
            uow, order_id=body.order_id, location=body.location, lines=lines
        )
        return 201, returns.return_view(taken_back)

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=ReturnOut
    )


@router.get("/returns", response_model=ReturnPage)
async def list_returns(
    order_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    location: Annotated[str | None, Query(pattern=KEY_PATTERN)] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Ids above this one")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    caller: Caller = scope("returns:read"),
) -> dict[str, Any]:
    """Returns of an order, or at a location, oldest first, a page at a time."""
    found, next_after = await caller.read(
        lambda reads: returns.list_returns(
            reads,
            order_id=order_id,
            locations=caller.principal.location_filter(location),
            after=after,
            limit=limit,
        )
    )
    return {"returns": [returns.return_view(x) for x in found], "next": next_after}


@router.get("/returns/{id}", response_model=ReturnOut)
async def get_return(
    return_id: Annotated[int, Path(alias="id", ge=1, le=2**63 - 1)],
    caller: Caller = scope("returns:read"),
) -> object:
    found = await caller.read(lambda reads: returns.get(reads, return_id))
    caller.principal.at(found.location, field="id")
    return returns.return_view(found)
