"""How many units of an item a channel may sell, and where."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from omnistock.db import catalog as catalog_sql
from omnistock.db import channels as channels_sql
from omnistock.db import reservations as reservations_sql
from omnistock.db import stock as stock_sql
from omnistock.domain import availability as rules
from omnistock.domain.errors import InvalidInput, NotFound
from omnistock.services.channels import get_channel

LocationAvailability = rules.LocationAvailability


@dataclass(frozen=True, slots=True)
class Availability:
    sku: str
    channel: str
    available_to_sell: int
    locations: list[LocationAvailability]


def of_items(
    conn: Connection, *, channel: str, skus: Sequence[str], location: str | None = None
) -> list[Availability]:
    """ATS and breakdown of each sku on `channel` (only at `location` when given)."""
    found = get_channel(conn, channel, field="channel")
    pool = found.pool(catalog_sql.list_locations(conn))
    if location is not None:
        if catalog_sql.get_location(conn, location) is None:
            raise NotFound("location", location, field="location")
        pool = [loc for loc in pool if loc.code == location]
        if not pool:
            raise InvalidInput("location", f"{location!r} is not in channel {channel!r}'s pool")
    _require_items(conn, skus)
    available = stock_sql.available_at(conn, skus)
    # An expired hold stops counting at once, before any sweep releases it.
    now = dt.datetime.now(dt.UTC)
    for (held_at, sku), units in reservations_sql.expired_held(conn, skus=skus, now=now).items():
        available[sku][held_at] = available[sku].get(held_at, 0) + units
    applicable = channels_sql.rules_for(conn, channel=channel, skus=skus)
    answers = []
    for sku in skus:
        ats, breakdown = rules.availability(
            channel=channel, sku=sku, pool=pool, available=available[sku], rules=applicable
        )
        answers.append(Availability(sku, channel, ats, breakdown))
    return answers


def _require_items(conn: Connection, skus: Sequence[str]) -> None:
    known = catalog_sql.known_skus(conn, skus)
    for sku in skus:
        if sku not in known:
            raise NotFound("item", sku, field="sku")
