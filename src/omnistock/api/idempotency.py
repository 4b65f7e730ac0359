"""Running a write under an `Idempotency-Key`.

The key is claimed, the change made and the answer stored in one transaction: a retry of the
same request (same key, owner, method, path and body) gets the stored answer and changes
nothing; the same key with another body is refused with 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from omnistock.api.deps import Caller
from omnistock.db import UnitOfWork
from omnistock.db import idempotency as sql
from omnistock.domain.errors import IdempotencyKeyReused

Action = Callable[[UnitOfWork], tuple[int, Any]]


def respond(
    *,
    request: Request,
    caller: Caller,
    key: str | None,
    payload: BaseModel | None,
    action: Action,
) -> JSONResponse:
    """Run `action` (returning status and JSON body), idempotently when a key is given."""
    database, principal = caller.database, caller.principal
    if key is None:
        status, body = database.run(action)
        return JSONResponse(body, status_code=status)

    request_hash = _fingerprint(request, payload)

    def once(uow: UnitOfWork) -> tuple[int, Any, bool]:
        stored = sql.claim(
            uow.conn, owner=principal.id, key=key, request_hash=request_hash, now=uow.now
        )
        if stored is not None:
            if stored.request_hash != request_hash:
                raise IdempotencyKeyReused(key)
            return stored.status_code, stored.response, True
        status, body = action(uow)
        sql.store(uow.conn, owner=principal.id, key=key, status_code=status, response=body)
        return status, body, False

    status, body, replayed = database.run(once)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status, headers=headers)


def _fingerprint(request: Request, payload: BaseModel | None) -> str:
    canonical = json.dumps(
        None if payload is None else payload.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
    )
    text = f"{request.method} {request.url.path}\n{canonical}"
    return hashlib.sha256(text.encode()).hexdigest()
