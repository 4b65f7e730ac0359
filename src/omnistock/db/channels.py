"""SQL for channels and buffer rules."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, TextClause, delete, insert, select, text

from omnistock.db.catalog import upsert
from omnistock.db.tables import buffer_rules, channels
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import LocationType

if TYPE_CHECKING:
    from omnistock.db.uow import UnitOfWork


def put_channel(uow: UnitOfWork, channel: Channel) -> bool:
    values = {
        "code": channel.code,
        "name": channel.name,
        "location_types": [str(t) for t in channel.location_types],
        "locations": list(channel.locations),
    }
    created = upsert(uow, channels, "code", values)
    uow.configuration_changed()
    return created


def _channel(row: Any) -> Channel:
    return Channel(
        code=row.code,
        name=row.name,
        location_types=tuple(LocationType(t) for t in row.location_types),
        locations=tuple(row.locations),
    )


def get_channel(conn: Connection, code: str) -> Channel | None:
    row = conn.execute(select(channels).where(channels.c.code == code)).first()
    return None if row is None else _channel(row)


def list_channels(conn: Connection) -> list[Channel]:
    return [_channel(r) for r in conn.execute(select(channels).order_by(channels.c.code))]


def add_rule(uow: UnitOfWork, rule: BufferRule) -> BufferRule:
    """Store a rule (its `id` is ignored) and return it with the id it was given."""
    values = {
        "channel": rule.channel,
        "location": rule.location,
        "location_type": None if rule.location_type is None else str(rule.location_type),
        "sku": rule.sku,
        "units": rule.units,
        "basis_points": rule.basis_points,
        "created_at": uow.now,
    }
    rule_id = uow.conn.execute(
        insert(buffer_rules).values(values).returning(buffer_rules.c.id)
    ).scalar_one()
    _rules_changed(uow, rule)
    return _rule_from(rule_id, values)


def _rule_from(rule_id: int, values: Any) -> BufferRule:
    location_type = values["location_type"]
    return BufferRule(
        id=rule_id,
        channel=values["channel"],
        location=values["location"],
        location_type=None if location_type is None else LocationType(location_type),
        sku=values["sku"],
        units=values["units"],
        basis_points=values["basis_points"],
    )


def rule_of(row: Any) -> BufferRule:
    return _rule_from(row.id, row._mapping)


def get_rule(conn: Connection, rule_id: int) -> BufferRule | None:
    row = conn.execute(select(buffer_rules).where(buffer_rules.c.id == rule_id)).first()
    return None if row is None else rule_of(row)


def list_rules(conn: Connection) -> list[BufferRule]:
    return [rule_of(r) for r in conn.execute(select(buffer_rules).order_by(buffer_rules.c.id))]


def delete_rule(uow: UnitOfWork, rule_id: int) -> BufferRule | None:
    rule = get_rule(uow.conn, rule_id)
    if rule is not None:
        uow.conn.execute(delete(buffer_rules).where(buffer_rules.c.id == rule_id))
        _rules_changed(uow, rule)
    return rule


def _rules_changed(uow: UnitOfWork, rule: BufferRule) -> None:
    if rule.sku is None:
        uow.configuration_changed()  # cached by every process
    else:
        uow.sku_rules_changed(rule.sku)


def rules_without_sku(conn: Connection) -> list[BufferRule]:
    query = select(buffer_rules).where(buffer_rules.c.sku.is_(None)).order_by(buffer_rules.c.id)
    return [rule_of(row) for row in conn.execute(query)]


#: Lock the last published ATS of each (channel, sku), in the order given, creating it
#: (as -1: nothing published yet) where missing; answers what was published. One statement:
#: the no-op update is what locks an existing row.
_LOCK_PUBLISHED = """
    INSERT INTO channel_availability (channel, sku, available_to_sell)
    VALUES {values}
    ON CONFLICT (channel, sku)
    DO UPDATE SET available_to_sell = channel_availability.available_to_sell
    RETURNING channel, sku, available_to_sell
"""
_PUBLISH = text(
    """
    UPDATE channel_availability SET available_to_sell = :ats
    WHERE channel = :channel AND sku = :sku
    """
)


@functools.lru_cache(maxsize=64)
def _lock_published(count: int) -> TextClause:
    values = ", ".join(f"(:c{n}, :s{n}, -1)" for n in range(count))
    return text(_LOCK_PUBLISHED.format(values=values))


def lock_published(
    conn: Connection, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int | None]:
    """Lock the ATS last published for each (channel, sku) until commit, in (channel, sku)
    order; None where nothing was published yet. Locking first means the stock read next is
    the latest."""
    pairs = sorted(set(pairs))
    params = {}
    for n, (channel, sku) in enumerate(pairs):
        params[f"c{n}"], params[f"s{n}"] = channel, sku
    rows = conn.execute(_lock_published(len(pairs)), params)
    return {(channel, sku): (None if ats < 0 else int(ats)) for channel, sku, ats in rows}


def publish(conn: Connection, changes: Sequence[tuple[str, str, int]]) -> None:
    """Remember the ATS just published (rows locked by `lock_published`)."""
    if changes:
        conn.execute(_PUBLISH, [{"channel": c, "sku": sku, "ats": ats} for c, sku, ats in changes])
