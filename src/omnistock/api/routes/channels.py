"""Channels and buffer rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.channels import BufferRuleIn, BufferRuleOut, ChannelIn, ChannelOut
from omnistock.api.schemas.common import KEY_PATTERN
from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.availability import BASIS_POINTS, BufferRule, Channel
from omnistock.services import channels

router = APIRouter(tags=["channels"], responses=documented(401, 403, 404, 422, 503))
CodePath = Annotated[str, Path(pattern=KEY_PATTERN, description="The channel's code")]
RuleId = Annotated[int, Path(alias="id", ge=1, le=2**63 - 1, description="The rule's id")]
_WRITE_ERRORS = documented(400, 413, 415)


@router.put(
    "/channels/{code}",
    response_model=ChannelOut,
    responses={201: {"model": ChannelOut, "description": "Created"}, **_WRITE_ERRORS},
)
async def put_channel(
    code: CodePath,
    body: ChannelIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Create or replace a channel and the pool of locations it sells from."""
    channel = Channel(
        code=code,
        name=body.name,
        location_types=tuple(dict.fromkeys(body.location_types)),
        locations=tuple(dict.fromkeys(body.locations)),
    )

    def action(uow: UnitOfWork) -> tuple[int, object]:
        created = channels.put_channel(uow, channel)
        return (201 if created else 200), channels.channel_view(
            channel, channels.pool_of(uow, channel)
        )

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=ChannelOut
    )


@router.get("/channels", response_model=list[ChannelOut])
async def list_channels(caller: Caller = scope("catalog:read")) -> object:
    def views(reads: ReadUnit) -> list[dict[str, object]]:
        return [
            channels.channel_view(c, channels.pool_of(reads, c))
            for c in channels.list_channels(reads)
        ]

    return await caller.read(views)


@router.get("/channels/{code}", response_model=ChannelOut)
async def get_channel(code: CodePath, caller: Caller = scope("catalog:read")) -> object:
    def view(reads: ReadUnit) -> dict[str, object]:
        channel = channels.get_channel(reads, code)
        return channels.channel_view(channel, channels.pool_of(reads, channel))

    return await caller.read(view)


@router.post(
    "/buffer-rules", status_code=201, response_model=BufferRuleOut, responses=_WRITE_ERRORS
)
async def add_buffer_rule(
    body: BufferRuleIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Keep units back from a channel: the most specific matching rule applies."""
    basis_points = None if body.percent is None else int(body.percent * BASIS_POINTS / 100)
    rule = BufferRule(
        id=0,
        channel=body.channel,
        location=body.location,
        location_type=body.location_type,
        sku=body.sku,
        units=body.units,
        basis_points=basis_points,
    )

    def action(uow: UnitOfWork) -> tuple[int, object]:
        return 201, channels.rule_view(channels.add_rule(uow, rule))

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=BufferRuleOut
    )


@router.get("/buffer-rules", response_model=list[BufferRuleOut])
async def list_buffer_rules(caller: Caller = scope("catalog:read")) -> object:
    return [channels.rule_view(r) for r in await caller.read(channels.list_rules)]


@router.get("/buffer-rules/{id}", response_model=BufferRuleOut)
async def get_buffer_rule(rule_id: RuleId, caller: Caller = scope("catalog:read")) -> object:
    return channels.rule_view(await caller.read(lambda reads: channels.get_rule(reads, rule_id)))


@router.delete("/buffer-rules/{id}", response_model=BufferRuleOut)
async def delete_buffer_rule(rule_id: RuleId, caller: Caller = scope("catalog:write")) -> object:
    """Delete a rule; the answer is the rule as it was."""
    rule = await caller.write(lambda uow: channels.delete_rule(uow, rule_id))
    return channels.rule_view(rule)
