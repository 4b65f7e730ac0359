"""Stock movements, the unified stock of an item, and its ledger."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic_core import to_json

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.routes.catalog import SkuPath
from omnistock.api.schemas.common import KEY_PATTERN, AfterKey, PageLimit
from omnistock.api.schemas.stock import (
    LocationStockPage,
    MovementIn,
    MovementOut,
    MovementResult,
    StockOut,
)
from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.errors import Forbidden
from omnistock.domain.stock import Movement
from omnistock.services import listings, stock, transfers

router = APIRouter(tags=["stock"], responses=documented(401, 403, 404, 422, 503))


def movement_view(m: Movement) -> dict[str, object]:
    return {
        "id": m.id,
        "at": m.at.isoformat().replace("+00:00", "Z"),
        "location": m.location,
        "sku": m.sku,
        "type": m.type,
        "on_hand": m.deltas.on_hand,
        "reserved": m.deltas.reserved,
        "unsellable": m.deltas.unsellable,
        "inbound": m.deltas.inbound,
        "reason": m.reason,
        "reference": m.reference,
    }


@router.post(
    "/stock/movements",
    status_code=201,
    response_model=MovementResult,
    responses=documented(400, 409, 413, 415),
)
async def record_movement(
    body: MovementIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("stock:write"),
) -> JSONResponse:
    """Record a physical stock movement at a location.

    `receipt` adds units on hand, `sale` takes them away (a POS sale), `adjustment` adds a
    signed correction, `count` sets on hand to what was counted, `damage` marks units
    unsellable, `dispose` removes unsellable units, `restore` makes unsellable units sellable
    again. A sale or a count is a physical fact: it is accepted even when it takes
    `available` below zero; what cannot physically be (selling units not on hand, disposing
    of more than is unsellable) is refused with 409.
    """

    caller.principal.at(body.location, field="location")

    def action(uow: UnitOfWork) -> tuple[int, object]:
        recorded = stock.record_movement(
            uow,
            location=body.location,
            sku=body.sku,
            movement_type=body.type,
            quantity=body.quantity,
            reason=body.reason,
            reference=body.reference,
        )
        return 201, {
            "movement": movement_view(recorded.movement),
            "position": stock.position_view(body.sku, body.location, recorded.position),
        }

    return await idempotency.respond(
        request=request,
        caller=caller,
        key=key,
        payload=body,
        action=action,
        model=MovementResult,
    )


@router.get("/stock", response_model=LocationStockPage)
async def list_location_stock(
    location: Annotated[str, Query(pattern=KEY_PATTERN, description="The location's code")],
    channel: Annotated[
        str | None,
        Query(pattern=KEY_PATTERN, description="Add `sellable`: what this channel may sell"),
    ] = None,
    after: AfterKey = None,
    limit: PageLimit = 100,
    caller: Caller = scope("stock:read"),
) -> object:
    """Every position of a location in sku order, a page at a time (pass `next` as `after`).
    With `channel`, each position's `sellable` on it, by the rules of
    `GET /v1/availability/{sku}?channel=&location=`; a location outside the channel's pool
    is a 422 naming `channel`, as that route refuses it. A store key reads its own
    locations only (403 naming `location`)."""
    caller.principal.at(location, field="location")
    found = await caller.read(
        lambda reads: listings.stock_at(
            reads, location=location, channel=channel, after=after, limit=limit
        )
    )
    return Response(to_json(listings.stock_view(found)), media_type="application/json")


@router.get("/stock/{sku}", response_model=StockOut, response_model_exclude_unset=True)
async def get_stock(
    sku: SkuPath,
    include: Annotated[
        Literal["inbound"] | None,
        Query(
            description="`inbound`: list each position's transfers on their way there (the "
            "key needs `transfers:read` too)"
        ),
    ] = None,
    caller: Caller = scope("stock:read"),
) -> object:
    """The stock of an item at every location (in transit towards it: `inbound`), and its
    total."""

    if include == "inbound" and not caller.principal.allows("transfers:read"):
        raise Forbidden("this API key lacks the scope 'transfers:read' (include=inbound)")

    def read(reads: ReadUnit) -> dict[str, Any]:
        found = stock.stock_of(reads, sku)
        positions: list[dict[str, Any]] = [{"location": loc, **p.as_dict()} for loc, p in found]
        if include == "inbound":
            coming = transfers.inbound(reads, sku)
            for position in positions:
                here = coming.get(position["location"], [])
                position["inbound_transfers"] = [transfers.incoming_view(x) for x in here]
        return {"sku": sku, "positions": positions, "total": stock.total(found).as_dict()}

    return await caller.read(read)


@router.get("/stock/{sku}/movements", response_model=list[MovementOut])
async def get_ledger(
    sku: SkuPath,
    location: Annotated[str | None, Query(pattern=KEY_PATTERN)] = None,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Only movements with a larger id")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    caller: Caller = scope("stock:read"),
) -> object:
    """The ledger of an item, oldest first: the deltas each movement applied."""
    rows = await caller.read(
        lambda reads: stock.ledger(reads, sku=sku, location=location, after=after, limit=limit)
    )
    return [movement_view(m) for m in rows]
