"""Items and locations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from omnistock.api import idempotency
from omnistock.api.deps import Caller, IdempotencyKey, scope
from omnistock.api.problems import documented
from omnistock.api.schemas.catalog import (
    ItemIn,
    ItemOut,
    ItemPage,
    ItemPatch,
    LocationIn,
    LocationOut,
    LocationPage,
    LocationPatch,
)
from omnistock.api.schemas.common import (
    KEY_PATTERN,
    TEXT_PATTERN,
    AfterKey,
    PageLimit,
    SearchText,
)
from omnistock.db import UnitOfWork
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.services import catalog, listings

router = APIRouter(tags=["catalog"], responses=documented(401, 403, 404, 422, 503))
SkuPath = Annotated[str, Path(pattern=KEY_PATTERN, description="The item's sku")]
CodePath = Annotated[str, Path(pattern=KEY_PATTERN, description="The location's code")]
_WRITE_ERRORS = documented(400, 413, 415)


@router.put(
    "/items/{sku}",
    response_model=ItemOut,
    responses={201: {"model": ItemOut, "description": "Created"}, **_WRITE_ERRORS},
)
async def put_item(
    sku: SkuPath,
    body: ItemIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Create or replace an item: 201 when created, 200 when updated. The body is the whole
    record: a field left out takes its default (PATCH changes only the fields sent)."""
    item = Item(sku=sku, name=body.name, barcode=body.barcode, price=body.price)

    def action(uow: UnitOfWork) -> tuple[int, object]:
        created = catalog.put_item(uow, item)
        return (201 if created else 200), catalog.item_view(item)

    return await idempotency.respond(
        request=request,
        caller=caller,
        key=key,
        payload=body,
        action=action,
        model=ItemOut,
    )


@router.patch("/items/{sku}", response_model=ItemOut, responses=_WRITE_ERRORS)
async def patch_item(
    sku: SkuPath,
    body: ItemPatch,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Change only the fields sent of an existing item (404 if there is none)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}

    def action(uow: UnitOfWork) -> tuple[int, object]:
        return 200, catalog.item_view(catalog.patch_item(uow, sku, changes))

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=ItemOut
    )


@router.get("/items", response_model=ItemPage)
async def list_items(
    q: SearchText = None,
    barcode: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=TEXT_PATTERN, description="Exactly this"),
    ] = None,
    after: AfterKey = None,
    limit: PageLimit = 100,
    caller: Caller = scope("catalog:read"),
) -> object:
    """Items in sku order, a page at a time (pass `next` as `after`): found by `q` (a sku
    prefix, or every word starting a word of the name: `Tee-shirt bleu` finds `tee shirt
    BLEU`, `ete` finds `Été`) and of this `barcode`, if given."""
    found = await caller.read(
        lambda reads: listings.items(reads, q=q, barcode=barcode, after=after, limit=limit)
    )
    return {"items": [catalog.item_view(item) for item in found.rows], "next": found.next}


@router.get("/items/{sku}", response_model=ItemOut)
async def get_item(sku: SkuPath, caller: Caller = scope("catalog:read")) -> object:
    return await caller.read(lambda reads: catalog.item_view(catalog.get_item(reads, sku)))


@router.put(
    "/locations/{code}",
    response_model=LocationOut,
    responses={201: {"model": LocationOut, "description": "Created"}, **_WRITE_ERRORS},
)
async def put_location(
    code: CodePath,
    body: LocationIn,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Create or replace a location: 201 when created, 200 when updated. The body is the whole
    record: a field left out takes its default (PATCH changes only the fields sent)."""
    location = Location(code=code, **body.model_dump())

    def action(uow: UnitOfWork) -> tuple[int, object]:
        created = catalog.put_location(uow, location)
        return (201 if created else 200), catalog.location_view(location)

    return await idempotency.respond(
        request=request,
        caller=caller,
        key=key,
        payload=body,
        action=action,
        model=LocationOut,
    )


@router.patch("/locations/{code}", response_model=LocationOut, responses=_WRITE_ERRORS)
async def patch_location(
    code: CodePath,
    body: LocationPatch,
    request: Request,
    key: IdempotencyKey = None,
    caller: Caller = scope("catalog:write"),
) -> JSONResponse:
    """Change only the fields sent of an existing location (404 if there is none)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}

    def action(uow: UnitOfWork) -> tuple[int, object]:
        return 200, catalog.location_view(catalog.patch_location(uow, code, changes))

    return await idempotency.respond(
        request=request, caller=caller, key=key, payload=body, action=action, model=LocationOut
    )


@router.get("/locations", response_model=LocationPage)
async def list_locations(
    type: Annotated[LocationType | None, Query(description="Only this type")] = None,
    q: SearchText = None,
    after: AfterKey = None,
    limit: PageLimit = 100,
    caller: Caller = scope("catalog:read"),
) -> object:
    """Locations in code order, a page at a time (pass `next` as `after`): of one `type`,
    found by `q` (a code prefix, or the words of the name), if given."""
    found = await caller.read(
        lambda reads: listings.locations(reads, type_=type, q=q, after=after, limit=limit)
    )
    return {"locations": [catalog.location_view(x) for x in found.rows], "next": found.next}


@router.get("/locations/{code}", response_model=LocationOut)
async def get_location(code: CodePath, caller: Caller = scope("catalog:read")) -> object:
    return catalog.location_view(await caller.read(lambda reads: catalog.get_location(reads, code)))
