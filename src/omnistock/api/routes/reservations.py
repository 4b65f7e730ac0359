"""Holds at checkout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.metrics import Metrics
from omnistock.api.problems import documented
from omnistock.api.schemas.reservations import ReservationIn, ReservationOut
from omnistock.db import UnitOfWork
from omnistock.domain.reservations import Reservation
from omnistock.services import reservations

router = APIRouter(tags=["reservations"], responses=documented(401, 403, 404, 422, 503))
ReservationId = Annotated[str, Path(alias="id", max_length=36, description="The hold's id")]


@router.post(
    "/reservations",
    status_code=201,
    response_model=ReservationOut,
    responses=documented(400, 409, 413, 415),
)
async def hold(
    body: ReservationIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("reservations:write"),
) -> JSONResponse:
    """Hold every line for the channel, or nothing (409 insufficient-stock with each short
    line). Units are taken nearest to `ship_to` when given, else from warehouses first."""
    caller.principal.on_channel(body.channel, field="channel")
    ship_to = None if body.ship_to is None else (body.ship_to.lat, body.ship_to.lon)
    lines = [(line.sku, line.quantity) for line in body.lines]

    def action(uow: UnitOfWork) -> tuple[int, object]:
        held = reservations.hold(
            uow,
            channel=body.channel,
            lines=lines,
            ship_to=ship_to,
            location=body.location,
            ttl_seconds=body.ttl_seconds,
        )
        return 201, reservations.reservation_view(held)

    metrics: Metrics | None = request.app.state.context.metrics
    return await idempotency.respond(
        request=request,
        caller=caller,
        key=key,
        payload=body,
        action=action,
        model=ReservationOut,
        settled=None if metrics is None else metrics.hold_settled,
    )


@router.get("/reservations/{id}", response_model=ReservationOut)
async def get_reservation(
    reservation_id: ReservationId, caller: Caller = scope("reservations:read")
) -> object:
    found = await caller.read(lambda reads: reservations.get(reads, reservation_id))
    caller.principal.on_channel(found.channel, field="id")
    return reservations.reservation_view(found)


@router.delete("/reservations/{id}", response_model=ReservationOut)
async def release(
    reservation_id: ReservationId, caller: Caller = scope("reservations:write")
) -> object:
    """Release a hold now; releasing one that already ended changes nothing."""

    def release_own(uow: UnitOfWork) -> Reservation:
        if caller.principal.bounded:
            found = reservations.get(uow, reservation_id)
            caller.principal.on_channel(found.channel, field="id")
        return reservations.release(uow, reservation_id)

    return reservations.reservation_view(await caller.write(release_own))
