"""Imports: files of items, locations or stock counts, streamed in (CSV or JSON lines).

The body is read as it arrives, counted against OMNISTOCK_MAX_IMPORT_BYTES (not
OMNISTOCK_MAX_BODY_BYTES, see BodyGuard), and spooled to a temporary file: the import reads
it from there, line by line, inside the one transaction that applies it (and again if that
transaction is tried again), so no body is ever held in memory whole.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from omnistock.api.deps import AppContext, Caller, IdempotencyKey, scope
from omnistock.api.problems import PROBLEM_JSON, documented, problem
from omnistock.api.schemas.common import KEY_PATTERN, TOKEN_PATTERN, Model
from omnistock.api.schemas.imports import validator
from omnistock.domain.errors import Forbidden
from omnistock.domain.imports import FileFormat, ImportKind, fingerprint
from omnistock.services import imports

IMPORTS_PREFIX = "/v1/imports/"
_MEDIA_TYPES = {"text/csv": FileFormat.CSV, "application/x-ndjson": FileFormat.NDJSON}
_READ_SIZE = 64 * 1024

router = APIRouter(tags=["imports"], responses=documented(401, 403, 413, 415, 422, 503))


class ImportSummary(Model):
    rows: int
    created: int
    updated: int
    unchanged: int
    movements: int


_ROW_ERRORS = {
    "description": "Bad rows, nothing applied: the problem's `errors` lists each (up to 1,000) as"
    " {line, field, reason}; `error_count` says how many there were",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _body(example: str) -> dict[str, Any]:
    schema = {"type": "string", "format": "binary"}
    return {
        "requestBody": {
            "required": True,
            "description": "The file, streamed: CSV with a header row, or one JSON object a line",
            "content": {
                "text/csv": {"schema": schema, "example": example},
                "application/x-ndjson": {"schema": schema},
            },
        }
    }


SnapshotId = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=TOKEN_PATTERN,
        description="Names this file: sent again under the same id, it changes nothing and is"
        " answered the first summary (as an Idempotency-Key does)",
    ),
]


@router.post(
    "/imports/items",
    response_model=ImportSummary,
    responses={422: _ROW_ERRORS},
    openapi_extra=_body('sku,name,barcode,price\nTEE-M,"T-shirt, M",4006381333931,19.90\n'),
)
async def import_items(
    request: Request,
    key: IdempotencyKey = None,
    snapshot_id: SnapshotId = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Create or update items from a file: the columns are the fields of `PUT /v1/items/{sku}`
    and `sku`; an item whose fields are all as stored is left alone (`unchanged`). All or
    nothing: one bad row applies none."""
    return await _import(request, caller, ImportKind.ITEMS, key, snapshot_id)


@router.post(
    "/imports/locations",
    response_model=ImportSummary,
    responses={422: _ROW_ERRORS},
    openapi_extra=_body(
        "code,name,type,lat,lon,ship_enabled,pickup_enabled\n"
        "PAR-01,Paris Rivoli,store,48.86,2.34,true,true\n"
    ),
)
async def import_locations(
    request: Request,
    key: IdempotencyKey = None,
    snapshot_id: SnapshotId = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Create or update locations from a file: the columns are the fields of
    `PUT /v1/locations/{code}` and `code`. All or nothing."""
    return await _import(request, caller, ImportKind.LOCATIONS, key, snapshot_id)


@router.post(
    "/imports/stock",
    response_model=ImportSummary,
    responses={422: _ROW_ERRORS},
    openapi_extra=_body("location,sku,on_hand,unsellable\nPAR-01,TEE-M,12,1\n"),
)
async def import_stock(
    request: Request,
    key: IdempotencyKey = None,
    snapshot_id: SnapshotId = None,
    location: Annotated[
        str | None,
        Query(
            pattern=KEY_PATTERN,
            description="The location the file counts: every row must be of it (required for"
            " a key bound to some locations, and with `complete`)",
        ),
    ] = None,
    complete: Annotated[
        bool,
        Query(description="Count the positions of `location` the file leaves out as 0"),
    ] = False,
    caller: Caller = scope("stock:write"),
) -> JSONResponse:
    """Set each position the file names (`location, sku, on_hand`, optional `unsellable`) to
    the counted figures: a `count` movement of the difference where there is one, none where
    nothing differs, with the `stock.changed` and `availability.changed` events single counts
    emit; a count below what is promised heals those promises. All or nothing."""
    principal = caller.principal
    if principal.locations is not None and location is None:
        raise Forbidden(
            "a key bound to some locations imports the stock of one of them: give ?location=",
            field="location",
        )
    if location is not None:
        principal.at(location, field="location")
    return await _import(
        request, caller, ImportKind.STOCK, key, snapshot_id, location=location, complete=complete
    )


async def _import(
    request: Request,
    caller: Caller,
    kind: ImportKind,
    key: str | None,
    snapshot_id: str | None,
    *,
    location: str | None = None,
    complete: bool = False,
) -> JSONResponse:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    file_format = _MEDIA_TYPES.get(media_type)
    if file_format is None:
        detail = "send the file as text/csv (with a header row) or application/x-ndjson"
        return problem(415, "unsupported-media-type", detail, field="body")
    context: AppContext = request.app.state.context
    limit = context.settings.max_import_bytes
    sent = fingerprint(file_format, location=location, complete=complete)
    with tempfile.TemporaryFile() as spool:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                detail = f"import bodies are limited to {limit} bytes"
                return problem(413, "body-too-large", detail, field="body")
            spool.write(chunk)
            sent.update(chunk)
        file = imports.ImportFile(
            kind=kind,
            file_format=file_format,
            chunks=lambda: _read(spool),
            validate=None if kind is ImportKind.STOCK else validator(kind, file_format),
            location=location,
            complete=complete,
            key=f"snapshot:{snapshot_id}" if snapshot_id is not None else _scoped(caller, key),
            fingerprint=sent.hexdigest(),
        )
        summary = await caller.write(lambda uow: imports.run(uow, file))
    return JSONResponse(ImportSummary(**summary.as_dict()).model_dump())


def _scoped(caller: Caller, key: str | None) -> str | None:
    """An Idempotency-Key is the caller's own: two keys' imports never meet."""
    return None if key is None else f"key:{caller.principal.id}/{key}"


def _read(spool: IO[bytes]) -> Iterator[bytes]:
    spool.seek(0)
    while chunk := spool.read(_READ_SIZE):
        yield chunk
