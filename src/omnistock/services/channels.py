"""Channels, their pools, and the buffer rules that keep units back from them."""

from __future__ import annotations

from decimal import Decimal

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.availability import BASIS_POINTS, BufferRule, Channel
from omnistock.domain.errors import InvalidInput, NotFound
from omnistock.domain.events import Event


def put_channel(uow: UnitOfWork, channel: Channel) -> bool:
    """Create or replace a channel; True when it was created."""
    for index, code in enumerate(channel.locations):
        if uow.catalog.get_location(code) is None:
            raise InvalidInput(f"locations[{index}]", f"location {code!r} does not exist")
    created = uow.channels.put_channel(channel)
    view = channel_view(channel, pool_of(uow, channel))
    uow.emit(Event.CHANNEL_CREATED if created else Event.CHANNEL_UPDATED, view)
    return created


def get_channel(reads: ReadUnit, code: str) -> Channel:
    channel = reads.channels.get_channel(code)
    if channel is None:
        raise NotFound("channel", code, field="code")
    return channel


def list_channels(reads: ReadUnit) -> list[Channel]:
    return reads.channels.list_channels()


def pool_of(reads: ReadUnit, channel: Channel) -> list[str]:
    """The codes of the locations the channel sells from now."""
    return [loc.code for loc in channel.pool(reads.catalog.list_locations())]


def add_rule(uow: UnitOfWork, rule: BufferRule) -> BufferRule:
    """Store a buffer rule after checking what it names exists (InvalidInput otherwise)."""
    if (rule.units is None) == (rule.basis_points is None):
        raise InvalidInput("units", "give exactly one of units and percent")
    references = (
        ("channel", rule.channel, uow.channels.get_channel),
        ("location", rule.location, uow.catalog.get_location),
        ("sku", rule.sku, uow.catalog.get_item),
    )
    for field, key, lookup in references:
        if key is not None and lookup(key) is None:
            raise InvalidInput(field, f"{field} {key!r} does not exist")
    stored = uow.channels.add_rule(rule)
    uow.emit(Event.BUFFER_RULE_CREATED, rule_view(stored))
    return stored


def get_rule(reads: ReadUnit, rule_id: int) -> BufferRule:
    rule = reads.channels.get_rule(rule_id)
    if rule is None:
        raise NotFound("buffer rule", str(rule_id), field="id")
    return rule


def list_rules(reads: ReadUnit) -> list[BufferRule]:
    return reads.channels.list_rules()


def delete_rule(uow: UnitOfWork, rule_id: int) -> BufferRule:
    rule = uow.channels.delete_rule(rule_id)
    if rule is None:
        raise NotFound("buffer rule", str(rule_id), field="id")
    uow.emit(Event.BUFFER_RULE_DELETED, rule_view(rule))
    return rule


def channel_view(channel: Channel, pool: list[str]) -> dict[str, object]:
    """A channel as the API shows it, with the locations it sells from now."""
    return {
        "code": channel.code,
        "name": channel.name,
        "location_types": [str(t) for t in channel.location_types],
        "locations": list(channel.locations),
        "pool": pool,
    }


def rule_view(rule: BufferRule) -> dict[str, object]:
    """A buffer rule as the API shows it (percent as a number)."""
    percent = None
    if rule.basis_points is not None:
        exact = Decimal(rule.basis_points) * 100 / BASIS_POINTS
        percent = int(exact) if exact == exact.to_integral_value() else float(exact)
    return {
        "id": rule.id,
        "channel": rule.channel,
        "location": rule.location,
        "location_type": None if rule.location_type is None else str(rule.location_type),
        "sku": rule.sku,
        "units": rule.units,
        "percent": percent,
    }
