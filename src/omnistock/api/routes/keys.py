"""API keys: made by an admin with a role and a reach, shown once, revoked at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from omnistock.api.deps import Caller, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.keys import KeyCreated, KeyIn, KeyOut
from omnistock.services import access

router = APIRouter(tags=["keys"], responses=documented(401, 403, 422, 503))
KeyId = Annotated[str, Path(alias="id", min_length=1, max_length=64, description="The key's id")]


@router.post(
    "/keys", status_code=201, response_model=KeyCreated, responses=documented(400, 404, 413, 415)
)
async def create_key(body: KeyIn, caller: Caller = scope("keys:write")) -> object:
    """Make a key. Its `secret` is in this answer only: omnistock keeps its hash. (No
    `Idempotency-Key`: replaying the answer would mean storing the secret; a retry that makes
    a second key is undone by revoking it.)"""
    new = access.NewKey(body.name, body.role, body.channel, body.locations)
    return await caller.write(lambda uow: access.create(uow, new))


@router.get("/keys", response_model=list[KeyOut])
async def list_keys(caller: Caller = scope("keys:read")) -> object:
    """Every stored key, without secrets (the key of `OMNISTOCK_ADMIN_KEY` is not stored)."""
    return await caller.read(access.list_keys)


@router.get("/keys/{id}", response_model=KeyOut, responses=documented(404))
async def get_key(key_id: KeyId, caller: Caller = scope("keys:read")) -> object:
    return await caller.read(lambda reads: access.get(reads, key_id))


@router.delete("/keys/{id}", status_code=204, responses=documented(404))
async def revoke_key(key_id: KeyId, caller: Caller = scope("keys:write")) -> Response:
    """Revoke the key: every server process refuses it from its next request on."""
    await caller.write(lambda uow: access.revoke(uow, key_id))
    return Response(status_code=204)
