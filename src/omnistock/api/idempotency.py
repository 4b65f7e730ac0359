"""Answering a write, idempotently when the request carries an `Idempotency-Key`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from omnistock.api.deps import Caller
from omnistock.api.metrics import Settled
from omnistock.api.problems import PROBLEM_JSON, refusal
from omnistock.api.schemas.common import Patch
from omnistock.db import UnitOfWork
from omnistock.domain.errors import OmnistockError
from omnistock.services import idempotency
from omnistock.services.idempotency import Action


async def respond(
    *,
    request: Request,
    caller: Caller,
    key: str | None,
    payload: BaseModel | None,
    action: Action,
    model: type[BaseModel],
    settled: Settled | None = None,
) -> JSONResponse:
    """Run `action` (returning status and body) and answer with what it returned, rendered
    through `model`, the route's documented answer.

    `settled(status, body)` learns the answer once it is final, and only the first time:
    after the change committed, or on a refusal (with its problem body), never on a replay.

    The body is validated and dumped by `model` inside the change's transaction, as FastAPI
    renders a `response_model`: an answer that breaks its model is an error (500, logged),
    and nothing is committed or stored. With a key, the answer (a success or a refusal) is
    stored as rendered with the change and replayed to every retry, marked
    `Idempotent-Replayed: true`.
    """
    action = _rendered(action, model)
    if key is None:
        status, body = await _write(request, caller, action, settled)
        return JSONResponse(body, status_code=status)

    fingerprint = _fingerprint(request, payload)
    answer = await caller.write(
        lambda uow: idempotency.run_once(
            uow,
            owner=caller.principal.id,
            key=key,
            fingerprint=fingerprint,
            action=action,
            refusal=lambda error: refusal(error, request.path_params),
        )
    )
    if settled is not None and not answer.replayed:
        settled(answer.status, answer.body)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    media_type = PROBLEM_JSON if answer.status >= 400 else None
    return JSONResponse(
        answer.body, status_code=answer.status, headers=headers, media_type=media_type
    )


async def _write(
    request: Request, caller: Caller, action: Action, settled: Settled | None
) -> tuple[int, Any]:
    if settled is None:
        return await caller.write(action)
    try:
        status, body = await caller.write(action)
    except OmnistockError as error:  # answered by the error handler
        settled(*refusal(error, request.path_params))
        raise
    settled(status, body)
    return status, body


def _rendered(action: Action, model: type[BaseModel]) -> Action:
    def render(uow: UnitOfWork) -> tuple[int, Any]:
        status, body = action(uow)
        return status, model.model_validate(body).model_dump(mode="json", by_alias=True)

    return render


def _fingerprint(request: Request, payload: BaseModel | None) -> str:
    canonical = json.dumps(
        None
        if payload is None
        else payload.model_dump(mode="json", exclude_unset=isinstance(payload, Patch)),
        sort_keys=True,
        separators=(",", ":"),
    )
    text = f"{request.method} {request.url.path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()
