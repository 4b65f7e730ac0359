"""How many units of an item a channel may sell, and where; and telling when it changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection

from omnistock.db import UnitOfWork
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
    available = _available(conn, skus, now=dt.datetime.now(dt.UTC))
    applicable = channels_sql.rules_for(conn, channel=channel, skus=skus)
    answers = []
    for sku in skus:
        ats, breakdown = rules.availability(
            channel=channel, sku=sku, pool=pool, available=available[sku], rules=applicable
        )
        answers.append(Availability(sku, channel, ats, breakdown))
    return answers


def watch(uow: UnitOfWork, sku: str) -> None:
    """Note that `sku`'s stock changed: before commit, publish every ATS this moved."""
    uow.touched_skus.add(sku)
    uow.before_flush(_publish_changes)


def _publish_changes(uow: UnitOfWork) -> None:
    """Emit `availability.changed` for each (channel, sku) whose ATS differs from the last
    one published, in the transaction that changed it."""
    skus = sorted(uow.touched_skus)
    channels = channels_sql.list_channels(uow.conn)
    if not skus or not channels:
        return
    codes = [c.code for c in channels]
    before = channels_sql.lock_published(uow.conn, channels=codes, skus=skus)
    locations = catalog_sql.list_locations(uow.conn)
    available = _available(uow.conn, skus, now=uow.now)
    every_rule = channels_sql.rules_for_skus(uow.conn, skus)
    changes = []
    for channel in channels:
        pool = channel.pool(locations)
        applicable = [r for r in every_rule if r.channel in (None, channel.code)]
        for sku in skus:
            ats, _ = rules.availability(
                channel=channel.code, sku=sku, pool=pool, available=available[sku],
                rules=applicable,
            )  # fmt: skip
            if before.get((channel.code, sku)) != ats:
                changes.append((channel.code, sku, ats))
    channels_sql.publish(uow.conn, changes)
    for channel_code, sku, ats in changes:
        data = {"channel": channel_code, "sku": sku, "available_to_sell": ats}
        uow.emit("availability.changed", data)


def _available(
    conn: Connection, skus: Sequence[str], *, now: dt.datetime
) -> dict[str, dict[str, int]]:
    """Available units per sku and location, an expired hold counting as free at once,
    before any sweep releases it."""
    available = stock_sql.available_at(conn, skus)
    for (held_at, sku), units in reservations_sql.expired_held(conn, skus=skus, now=now).items():
        available[sku][held_at] = available[sku].get(held_at, 0) + units
    return available


def _require_items(conn: Connection, skus: Sequence[str]) -> None:
    known = catalog_sql.known_skus(conn, skus)
    for sku in skus:
        if sku not in known:
            raise NotFound("item", sku, field="sku")
