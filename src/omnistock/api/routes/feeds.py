"""Everything at once, streamed: a channel's availability feed and the stock snapshot.

Each answer is read in one read transaction (one consistent moment), a page at a time, and
sent as it is read: the server never holds the whole list. The transaction is opened before
the answer starts (so that a bad channel is still a 404, and the snapshot's `as_of_event`
goes in a header), and closed when the last page is sent or the client goes away.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic_core import to_json
from starlette.background import BackgroundTask

from omnistock.api.deps import Caller, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.common import KEY_PATTERN
from omnistock.db import Database, ReadUnit
from omnistock.events.feed import latest
from omnistock.services import feeds

router = APIRouter(responses=documented(401, 403, 422, 503))
T = TypeVar("T")
NDJSON = "application/x-ndjson"
CSV = "text/csv; charset=utf-8"
AS_OF_HEADER = "Omnistock-As-Of-Event"

_EXPORT_EXAMPLE = "sku,available_to_sell\nTSH-001,42\nTSH-002,0\n"
_SNAPSHOT_EXAMPLE = (
    '{"sku":"TSH-001","location":"WH-PARIS","on_hand":40,"reserved":2,"unsellable":0,'
    '"inbound":0,"available":38,"as_of_event":1234}\n'
)


@router.get(
    "/availability/export",
    tags=["availability"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every item with its published available-to-sell, in sku order",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": _EXPORT_EXAMPLE},
                NDJSON: {
                    "schema": {"type": "string"},
                    "example": '{"sku":"TSH-001","available_to_sell":42}\n',
                },
            },
        },
    },
)
async def export_availability(
    channel: Annotated[str, Query(pattern=KEY_PATTERN, description="The channel's code")],
    format: Annotated[
        Literal["csv", "ndjson"],
        Query(description="`csv` (with a header row) or `ndjson` (one JSON object a line)"),
    ] = "csv",
    caller: Caller = scope("availability:read"),
) -> StreamingResponse:
    """What the channel may sell of every item of the catalogue, `sku,available_to_sell`, as
    last published (`availability.changed`): 0 for an item never published. The figures
    follow a change of configuration (a buffer rule, a pool) as the republish passes reach
    each item, within seconds; a hold that expired but was not swept yet still counts.
    An integration key reads its own channel only (403 naming `channel`)."""
    caller.principal.on_channel(channel, field="channel")
    stack, reads, _ = await caller.blocking(
        _open, caller.database, lambda r: feeds.check_channel(r, channel)
    )
    pages = feeds.published(reads, channel)
    if format == "csv":
        body = _chunks(stack, [b"sku,available_to_sell\n"], (_csv(p) for p in pages))
        return _streamed(body, CSV, stack)
    return _streamed(_chunks(stack, [], (_ndjson_ats(p) for p in pages)), NDJSON, stack)


@router.get(
    "/stock/snapshot",
    tags=["stock"],
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every position, then follow `/v1/events` from `as_of_event`",
            "content": {NDJSON: {"schema": {"type": "string"}, "example": _SNAPSHOT_EXAMPLE}},
            "headers": {
                AS_OF_HEADER: {
                    "description": "The snapshot's `as_of_event`",
                    "schema": {"type": "integer"},
                }
            },
        }
    },
)
async def stock_snapshot(
    format: Annotated[Literal["ndjson"], Query(description="`ndjson`: one position a line")] = (
        "ndjson"
    ),
    caller: Caller = scope("stock:read"),
) -> StreamingResponse:
    """Every position (a store key: at its locations only), by sku then location, as one
    consistent snapshot, each line with `as_of_event` (also in the `Omnistock-As-Of-Event`
    header): every event up to that seq is reflected in the snapshot. To rebuild the stock,
    take the snapshot, then apply each `stock.changed` of `/v1/events?after=as_of_event`
    (or of the stream) in order: its data are the position's new absolute figures, as in
    the snapshot. On PostgreSQL, events are numbered just after their commit, so a few
    events above `as_of_event` may repeat changes the snapshot already shows: applied in
    order, they end on the same figures."""
    database = caller.database
    if database.numbers_events_late:
        await caller.blocking(latest, database)  # number what is ready: fewer repeats
    stack, reads, as_of = await caller.blocking(_open, database, feeds.as_of_event)
    pages = feeds.positions(reads, caller.principal.locations)
    suffix = b',"as_of_event":' + str(as_of).encode() + b"}\n"
    body = _chunks(stack, [], (_ndjson_positions(p, suffix) for p in pages))
    return _streamed(body, NDJSON, stack, {AS_OF_HEADER: str(as_of)})


def _open(
    database: Database, first: Callable[[ReadUnit], T]
) -> tuple[contextlib.ExitStack, ReadUnit, T]:
    """A read transaction left open for the stream (closed with the stack), and what
    `first` read in it."""
    stack = contextlib.ExitStack()
    try:
        reads = stack.enter_context(database.reading())
        answer = first(reads)
    except BaseException:
        stack.close()
        raise
    return stack, reads, answer


def _chunks(
    stack: contextlib.ExitStack, head: list[bytes], pages: Iterator[bytes]
) -> Iterator[bytes]:
    """The answer's bytes, a page at a time; the transaction ends with them."""
    try:
        yield from head
        yield from pages
    finally:
        stack.close()


def _streamed(
    body: Iterator[bytes],
    media_type: str,
    stack: contextlib.ExitStack,
    headers: dict[str, str] | None = None,
) -> StreamingResponse:
    # The background task closes the transaction if the stream never started.
    return StreamingResponse(
        body, media_type=media_type, headers=headers, background=BackgroundTask(stack.close)
    )


def _csv(page: list[tuple[str, int]]) -> bytes:
    return "".join([f"{sku},{ats}\n" for sku, ats in page]).encode()


def _ndjson_ats(page: list[tuple[str, int]]) -> bytes:
    return b"".join(to_json({"sku": sku, "available_to_sell": ats}) + b"\n" for sku, ats in page)


def _ndjson_positions(page: list[tuple[str, str, Any]], suffix: bytes) -> bytes:
    return b"".join(
        to_json({"sku": sku, "location": location, **p.as_dict()})[:-1] + suffix
        for sku, location, p in page
    )
