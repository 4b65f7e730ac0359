"""SQL for channels and buffer rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from omnistock.db.catalog import dialect_insert, upsert
from omnistock.db.tables import buffer_rules, channel_availability, channels
from omnistock.db.uow import UnitOfWork
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import LocationType


def put_channel(uow: UnitOfWork, channel: Channel) -> bool:
    values = {
        "code": channel.code,
        "name": channel.name,
        "location_types": [str(t) for t in channel.location_types],
        "locations": list(channel.locations),
    }
    return upsert(uow, channels, "code", values)


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


def _rule(row: Any) -> BufferRule:
    return _rule_from(row.id, row._mapping)


def get_rule(conn: Connection, rule_id: int) -> BufferRule | None:
    row = conn.execute(select(buffer_rules).where(buffer_rules.c.id == rule_id)).first()
    return None if row is None else _rule(row)


def list_rules(conn: Connection) -> list[BufferRule]:
    return [_rule(r) for r in conn.execute(select(buffer_rules).order_by(buffer_rules.c.id))]


def delete_rule(uow: UnitOfWork, rule_id: int) -> BufferRule | None:
    rule = get_rule(uow.conn, rule_id)
    if rule is not None:
        uow.conn.execute(delete(buffer_rules).where(buffer_rules.c.id == rule_id))
    return rule


def rules_for(conn: Connection, *, channel: str, skus: Sequence[str]) -> list[BufferRule]:
    """Every rule that can apply to these skus on this channel (any location)."""
    r = buffer_rules.c
    query = select(buffer_rules).where(
        or_(r.channel.is_(None), r.channel == channel),
        or_(r.sku.is_(None), r.sku.in_(skus)),
    )
    return [_rule(row) for row in conn.execute(query)]


def rules_for_skus(conn: Connection, skus: Sequence[str]) -> list[BufferRule]:
    """Every rule that can apply to these skus, on any channel."""
    r = buffer_rules.c
    query = select(buffer_rules).where(or_(r.sku.is_(None), r.sku.in_(skus)))
    return [_rule(row) for row in conn.execute(query)]


def lock_published(
    conn: Connection, *, channels: Sequence[str], skus: Sequence[str]
) -> dict[tuple[str, str], int | None]:
    """Lock the ATS last published per (channel, sku), in order, until commit; None where
    nothing was published yet. Locking first means the stock read next is the latest."""
    for channel in channels:
        for sku in skus:
            conn.execute(
                dialect_insert(conn, channel_availability)
                .values(channel=channel, sku=sku, available_to_sell=-1)
                .on_conflict_do_nothing(index_elements=["channel", "sku"])
            )
    a = channel_availability.c
    rows = conn.execute(
        select(a.channel, a.sku, a.available_to_sell)
        .where(a.channel.in_(channels), a.sku.in_(skus))
        .order_by(a.channel, a.sku)
        .with_for_update()
    )
    return {(ch, sku): (None if ats < 0 else int(ats)) for ch, sku, ats in rows}


def publish(conn: Connection, changes: Sequence[tuple[str, str, int]]) -> None:
    """Remember the ATS just published (insert or replace)."""
    for channel, sku, ats in changes:
        values = {"channel": channel, "sku": sku, "available_to_sell": ats}
        stmt = dialect_insert(conn, channel_availability).values(values)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["channel", "sku"], set_={"available_to_sell": ats}
            )
        )
