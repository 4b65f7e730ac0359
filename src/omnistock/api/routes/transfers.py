"""Transfers between locations, and deliveries announced by suppliers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.common import KEY_PATTERN
from omnistock.api.schemas.transfers import ReceiveIn, TransferIn, TransferOut, TransferPage
from omnistock.db import UnitOfWork
from omnistock.domain.access import check_sending, check_transfer
from omnistock.domain.transfers import Transfer, TransferStatus
from omnistock.services import transfers

router = APIRouter(tags=["transfers"], responses=documented(401, 403, 404, 422, 503))
TransferId = Annotated[int, Path(alias="id", ge=1, le=2**63 - 1, description="The transfer's id")]
_WRITE = documented(400, 409, 413, 415)


@router.post("/transfers", status_code=201, response_model=TransferOut, responses=_WRITE)
async def create_transfer(
    body: TransferIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("transfers:write"),
) -> JSONResponse:
    """Move stock from a location (`from`) to another (`to`): its units are reserved at the
    origin at once, every line or nothing (409 insufficient-stock), and no channel sells
    them. Without `from`, a supplier's announced delivery: `shipped` from the start, its
    units `inbound` at the destination until received."""
    if body.from_ is None:
        caller.principal.at(body.to, field="to")
    else:
        caller.principal.at(body.from_, field="from")

    def action(uow: UnitOfWork) -> tuple[int, object]:
        created = transfers.create(
            uow,
            origin=body.from_,
            destination=body.to,
            lines=[(line.sku, line.quantity) for line in body.lines],
            eta=body.eta,
            reference=body.reference,
        )
        return 201, transfers.transfer_view(created)

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=TransferOut
    )


@router.get("/transfers", response_model=TransferPage)
async def list_transfers(
    status: TransferStatus | None = None,
    location: Annotated[
        str | None, Query(pattern=KEY_PATTERN, description="From or to this location")
    ] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="Ids above this one")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    caller: Caller = scope("transfers:read"),
) -> dict[str, Any]:
    """Transfers, oldest first, a page at a time: pass `next` as `after`."""
    found, next_after = await caller.read(
        lambda reads: transfers.list_transfers(
            reads,
            status=status,
            locations=caller.principal.location_filter(location),
            after=after,
            limit=limit,
        )
    )
    return {"transfers": [transfers.transfer_view(x) for x in found], "next": next_after}


@router.get("/transfers/{id}", response_model=TransferOut)
async def get_transfer(transfer_id: TransferId, caller: Caller = scope("transfers:read")) -> object:
    found = await caller.read(lambda reads: transfers.get(reads, transfer_id))
    check_transfer(caller.principal, found)
    return transfers.transfer_view(found)


async def _act(
    request: Request,
    caller: Caller,
    key: str | None,
    body: ReceiveIn | None,
    run: Callable[[UnitOfWork], Transfer],
) -> JSONResponse:
    """Run a step of a transfer's life under the idempotency key; answers it as it is then."""

    def action(uow: UnitOfWork) -> tuple[int, object]:
        return 200, transfers.transfer_view(run(uow))

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=TransferOut
    )


@router.post("/transfers/{id}/ship", response_model=TransferOut, responses=_WRITE)
async def ship_transfer(
    transfer_id: TransferId,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("transfers:write"),
) -> JSONResponse:
    """It left the origin: `on_hand` and `reserved` go down there, and the units are
    `inbound` at the destination. 409 unless it is open."""

    def ship(uow: UnitOfWork) -> Transfer:
        if caller.principal.bounded:
            check_sending(caller.principal, transfers.get(uow, transfer_id))
        return transfers.ship(uow, transfer_id)

    return await _act(request, caller, key, None, ship)


@router.post("/transfers/{id}/receive", response_model=TransferOut, responses=_WRITE)
async def receive_transfer(
    transfer_id: TransferId,
    body: ReceiveIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("transfers:write"),
) -> JSONResponse:
    """It arrived, and was counted: `inbound` goes down by what was shipped and `on_hand`
    up by what arrived; units short or over are recorded as discrepancies, on the transfer
    and in the ledger. This closes the transfer. 409 unless it is shipped."""
    lines = [(line.sku, line.quantity) for line in body.lines]

    def receive(uow: UnitOfWork) -> Transfer:
        if caller.principal.bounded:
            caller.principal.at(transfers.get(uow, transfer_id).destination, field="id")
        return transfers.receive(uow, transfer_id, lines)

    return await _act(request, caller, key, body, receive)


@router.post("/transfers/{id}/cancel", response_model=TransferOut, responses=_WRITE)
async def cancel_transfer(
    transfer_id: TransferId,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("transfers:write"),
) -> JSONResponse:
    """Before it ships: the units reserved at the origin are free again. 409 once shipped
    (a supplier's delivery is: receive it with what arrived, nothing if need be)."""

    def cancel(uow: UnitOfWork) -> Transfer:
        if caller.principal.bounded:
            check_sending(caller.principal, transfers.get(uow, transfer_id))
        return transfers.cancel(uow, transfer_id)

    return await _act(request, caller, key, None, cancel)
