"""Available to sell, per channel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic_core import to_json

from omnistock.api.deps import Caller, scope
from omnistock.api.problems import documented
from omnistock.api.routes.catalog import SkuPath
from omnistock.api.schemas.availability import AvailabilityOut, AvailabilityPage
from omnistock.api.schemas.common import KEY_PATTERN
from omnistock.services import availability

router = APIRouter(tags=["availability"], responses=documented(401, 403, 404, 422, 503))
ChannelQuery = Annotated[str, Query(pattern=KEY_PATTERN, description="The channel's code")]
MAX_SKUS = 1000


@router.get("/availability/{sku}", response_model=AvailabilityOut)
async def get_availability(
    sku: SkuPath,
    channel: ChannelQuery,
    location: Annotated[str | None, Query(pattern=KEY_PATTERN)] = None,
    caller: Caller = scope("availability:read"),
) -> Response:
    """How many units the channel may sell, and where: available, buffer, sellable."""
    found = await caller.read(
        lambda reads: availability.of_item(reads, channel=channel, sku=sku, location=location),
        snapshot=False,  # the configuration checks itself; the stock is one statement
    )
    # Serialized as built, not validated again entry by entry: a pool may have thousands.
    answer = {
        "sku": found.sku,
        "channel": found.channel,
        "available_to_sell": found.available_to_sell,
        "locations": [
            {"location": e.location, "available": e.available, "buffer": e.buffer,
             "sellable": e.sellable}
            for e in found.locations
        ],
    }  # fmt: skip
    return Response(to_json(answer), media_type="application/json")


@router.get("/availability", response_model=AvailabilityPage)
async def list_availability(
    channel: ChannelQuery,
    sku: Annotated[
        list[Annotated[str, Query(pattern=KEY_PATTERN)]],
        Query(min_length=1, max_length=MAX_SKUS, description="Up to 1,000 skus"),
    ],
    caller: Caller = scope("availability:read"),
) -> Response:
    """Available to sell of many items on one channel, in the order asked."""
    skus = list(dict.fromkeys(sku))
    found = await caller.read(
        lambda reads: availability.of_items(reads, channel=channel, skus=skus),
        snapshot=False,
    )
    items = [{"sku": a.sku, "available_to_sell": a.available_to_sell} for a in found]
    return Response(to_json({"channel": channel, "items": items}), media_type="application/json")
