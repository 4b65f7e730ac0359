"""How many units of an item a channel may sell, and where; and telling when it changes.

Every answer is computed from the stock as it is, with the configuration (locations,
channels, rules) cached per process and checked current in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain import availability as rules
from omnistock.domain.errors import InvalidInput, NotFound
from omnistock.domain.events import Event

LocationAvailability = rules.LocationAvailability
#: (channel, sku) figures locked and published per statement (two parameters each; drivers
#: take some tens of thousands at most).
_PUBLISH_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Availability:
    """What a channel may sell of an item, and where."""

    sku: str
    channel: str
    available_to_sell: int
    locations: list[LocationAvailability]


@dataclass(frozen=True, slots=True)
class AvailableToSell:
    """What a channel may sell of an item, in all."""

    sku: str
    available_to_sell: int


def of_item(
    reads: ReadUnit,
    *,
    channel: str,
    sku: str,
    location: str | None = None,
) -> Availability:
    """ATS of `sku` on `channel` and its breakdown per location (only `location` if given)."""
    book, sku_rules = reads.rulebook([sku])
    check_pool(book, channel, location)
    available = reads.stock.available_at([sku], now=reads.now).units
    _require_items(reads, available)
    ats, breakdown = book.breakdown(channel, sku, available[sku], sku_rules[sku], only=location)
    return Availability(sku, channel, ats, breakdown)


def of_items(reads: ReadUnit, *, channel: str, skus: Sequence[str]) -> list[AvailableToSell]:
    """ATS of each sku on `channel`, in the order given."""
    book, sku_rules = reads.rulebook(skus)
    check_pool(book, channel, None)
    available = reads.stock.available_at(skus, now=reads.now).units
    _require_items(reads, available)
    return [
        AvailableToSell(sku, book.available_to_sell(channel, sku, available[sku], sku_rules[sku]))
        for sku in skus
    ]


def check_pool(book: rules.Rulebook, channel: str, location: str | None) -> None:
    """NotFound for an unknown channel or location, InvalidInput for a location that is not
    in the channel's pool."""
    if channel not in book.channels:
        raise NotFound("channel", channel, field="channel")
    if location is None:
        return
    if location not in book.locations:
        raise NotFound("location", location, field="location")
    if not book.in_pool(channel, location):
        raise InvalidInput("location", f"{location!r} is not in channel {channel!r}'s pool")


def watch(uow: UnitOfWork, sku: str) -> None:
    """Note that stock of `sku` changed: before commit, publish every channel ATS this moved."""
    uow.touched_skus.add(sku)
    uow.before_flush(_publish_changes)


def republish(uow: UnitOfWork, *, most: int = 500) -> int:
    """After a change of configuration, publish the ATS of up to `most` more stocked items
    again (an `availability.changed` for each figure that moved); answers how many items it
    covered, 0 once every item is up to date.

    A change of configuration can move the ATS of every item at once: rather than in the
    transaction making it, the figures are published again in batches, in sku order, by
    whichever process calls this (the server's housekeeping, every second). A change made
    during a pass starts the pass again from the first item.
    """
    revision, passed_for, through = uow.channels.republishing()
    if passed_for == revision and through is None:
        return 0
    after = through if passed_for == revision and through is not None else ""
    skus = uow.stock.stocked_skus(after=after, most=most)
    if skus:
        _publish(uow, skus)
    last = skus[-1] if len(skus) == most else None
    uow.channels.record_republished(revision=revision, through=last)
    return len(skus)


def _publish_changes(uow: UnitOfWork) -> None:
    """Emit `availability.changed` for each (channel, sku) whose ATS now differs from the last
    one published, in the transaction that changed it.

    The published rows are locked first, in (channel, sku) order and in batches, so the
    stock read next includes every transaction that published before this one: figures
    reach the feed in the order they became true. The buffers and pools are those this
    transaction read. Every channel is recomputed for the skus that moved, not only those
    selling from where they moved: a change of configuration publishes nothing itself (see
    `republish`), and a figure it left behind is put right here too.
    """
    _publish(uow, sorted(uow.touched_skus))


def _publish(uow: UnitOfWork, skus: list[str]) -> None:
    """Every (channel, sku) figure locked first, in (channel, sku) order and in batches, then
    the stock of each batch of skus read once for every channel (a million positions of an
    import were read once a channel before)."""
    book, sku_rules = uow.rulebook(skus)
    channels = sorted(book.channels)
    pairs = [(channel, sku) for channel in channels for sku in skus]
    before: dict[tuple[str, str], int | None] = {}
    for start in range(0, len(pairs), _PUBLISH_BATCH):
        before.update(uow.channels.lock_published(pairs[start : start + _PUBLISH_BATCH]))
    for start in range(0, len(skus), _PUBLISH_BATCH):
        batch = skus[start : start + _PUBLISH_BATCH]
        available = uow.stock.available_at(batch, now=uow.now).units
        changes = []
        for channel in channels:
            for sku in batch:
                ats = book.available_to_sell(channel, sku, available[sku], sku_rules[sku])
                if before[channel, sku] != ats:
                    changes.append((channel, sku, ats))
        uow.channels.publish(changes)
        for channel, sku, ats in changes:
            data = {"channel": channel, "sku": sku, "available_to_sell": ats}
            uow.emit(Event.AVAILABILITY_CHANGED, data)


def _require_items(reads: ReadUnit, available: dict[str, dict[str, int]]) -> None:
    """NotFound for a sku that is no item (only those without any stock can be unknown)."""
    unstocked = [sku for sku, at in available.items() if not at]
    if unstocked:
        known = reads.catalog.known_skus(unstocked)
        for sku in unstocked:
            if sku not in known:
                raise NotFound("item", sku, field="sku")
