"""Stock in, and the availability figures the event feed publishes: shared by the tests of
publishing (importable like `samples`)."""

from __future__ import annotations

from omnistock.db import Database, UnitOfWork
from omnistock.domain.stock import MovementType
from omnistock.events.feed import feed
from omnistock.services import stock


def receive(uow: UnitOfWork, location: str, sku: str, quantity: int) -> None:
    stock.record_movement(
        uow, location=location, sku=sku, movement_type=MovementType.RECEIPT, quantity=quantity
    )


def feed_mark(db: Database) -> int:
    """The seq of the newest event so far: read the feed after it to see what comes next."""
    _, mark = feed(db, after=0, limit=1_000_000)
    return mark


def published(db: Database, after: int = 0) -> list[tuple[str, str, int]]:
    """(channel, sku, available_to_sell) of every availability.changed after `after`, oldest
    first."""
    shown, _ = feed(db, after=after, limit=1_000_000)
    return [
        (e["data"]["channel"], e["data"]["sku"], e["data"]["available_to_sell"])
        for e in shown
        if e["type"] == "availability.changed"
    ]
