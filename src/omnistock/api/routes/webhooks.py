"""Webhooks: events POSTed to a URL, signed (Standard Webhooks); admin keys only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import AppContext, Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.webhooks import (
    DeliveryOut,
    ReplayIn,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from omnistock.db import ReadUnit, UnitOfWork
from omnistock.services import webhooks

router = APIRouter(tags=["webhooks"], responses=documented(401, 403, 404, 422, 503))
WebhookId = Annotated[int, Path(alias="id", ge=1, le=2**63 - 1, description="The webhook's id")]
_WRITE_ERRORS = documented(400, 413, 415)


def _server(request: Request) -> webhooks.Server:
    context: AppContext = request.app.state.context
    return webhooks.Server(context.settings.host, context.settings.port)


@router.post("/webhooks", status_code=201, response_model=WebhookCreated, responses=_WRITE_ERRORS)
async def create_webhook(
    body: WebhookIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("webhooks:write"),
) -> JSONResponse:
    """Subscribe a URL to events: it receives those committed from now on. The answer holds
    the signing secret, shown this once."""
    server = _server(request)

    def action(uow: UnitOfWork) -> tuple[int, object]:
        created = webhooks.create_webhook(
            uow, url=body.url, events=body.events, description=body.description, server=server
        )
        return 201, created

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=WebhookCreated
    )


@router.get("/webhooks", response_model=list[WebhookOut])
async def list_webhooks(caller: Caller = scope("webhooks:read")) -> object:
    return [webhooks.webhook_view(w) for w in await caller.read(webhooks.list_webhooks)]


@router.get("/webhooks/{id}", response_model=WebhookOut)
async def get_webhook(webhook_id: WebhookId, caller: Caller = scope("webhooks:read")) -> object:
    return webhooks.webhook_view(await caller.read(lambda r: webhooks.get_webhook(r, webhook_id)))


@router.patch("/webhooks/{id}", response_model=WebhookOut, responses=_WRITE_ERRORS)
async def change_webhook(
    webhook_id: WebhookId,
    body: WebhookPatch,
    request: Request,
    caller: Caller = scope("webhooks:write"),
) -> object:
    """Change the URL, the events, the description; disable, or enable again."""
    changes = body.model_dump(include=body.model_fields_set)
    server = _server(request)
    row = await caller.write(
        lambda uow: webhooks.change_webhook(uow, webhook_id, changes=changes, server=server)
    )
    return webhooks.webhook_view(row)


@router.delete("/webhooks/{id}", status_code=204, response_class=Response)
async def delete_webhook(webhook_id: WebhookId, caller: Caller = scope("webhooks:write")) -> None:
    """Delete the webhook and its deliveries."""
    await caller.write(lambda uow: webhooks.delete_webhook(uow, webhook_id))


@router.get("/webhooks/{id}/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    webhook_id: WebhookId,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Tries with a smaller id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    caller: Caller = scope("webhooks:read"),
) -> object:
    """Every try, newest first: the event, when, the status code or the error, how long it
    took, and when the next try is due; events given up on are listed as `failed`."""

    def read(reads: ReadUnit) -> list[dict[str, Any]]:
        return webhooks.deliveries(reads, webhook_id, before=before, limit=limit)

    return await caller.read(read)


@router.post(
    "/webhooks/{id}/replay", response_model=WebhookOut, responses=documented(400, 413, 415)
)
async def replay(
    webhook_id: WebhookId, body: ReplayIn, caller: Caller = scope("webhooks:write")
) -> object:
    """Send the subscribed events after seq `after` again, in order, from the next round."""
    row = await caller.write(lambda uow: webhooks.replay(uow, webhook_id, after=body.after))
    return webhooks.webhook_view(row)


@router.post("/webhooks/{id}/ping", status_code=202, response_model=DeliveryOut)
async def ping(webhook_id: WebhookId, caller: Caller = scope("webhooks:write")) -> object:
    """Queue a `webhook.ping` to the webhook (its deliveries show how it went)."""
    return await caller.write(lambda uow: webhooks.ping(uow, webhook_id))
