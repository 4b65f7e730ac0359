"""Changing several positions at once, the way the order use cases do: each change a guarded
statement, in (location, sku) order, announced in the feed, then written to the ledger."""

from __future__ import annotations

from collections.abc import Sequence

from omnistock.db import UnitOfWork
from omnistock.domain.events import Event
from omnistock.domain.stock import Deltas, Position
from omnistock.services import availability
from omnistock.services.views import position_view


class Refused(Exception):
    """A guard refused a change: the position would be impossible (the caller explains why
    to its client; its transaction ends, so nothing it changed stays)."""

    def __init__(self, location: str, sku: str) -> None:
        super().__init__(f"{location} {sku}")
        self.location = location
        self.sku = sku


def change_stock(
    uow: UnitOfWork,
    *,
    type: str,
    entries: Sequence[tuple[str, str, Deltas]],
    reason: str | None = None,
    reference: str | None = None,
) -> dict[tuple[str, str], Position]:
    """Apply each (location, sku, deltas), with its `stock.changed` event, and append the
    movements of `type`; answers the positions after. Raises Refused at the first change
    its guard refuses, before the ledger is written."""
    after: dict[tuple[str, str], Position] = {}
    for location, sku, deltas in sorted(entries, key=lambda e: (e[0], e[1])):
        position = uow.stock.apply_deltas(sku=sku, location=location, deltas=deltas)
        if position is None:
            raise Refused(location, sku)
        after[location, sku] = position
        uow.emit(Event.STOCK_CHANGED, position_view(sku, location, position))
        availability.watch(uow, sku)
    reason = reason[:200] if reason else reason
    uow.stock.append_movements(
        at=uow.now, type=type, entries=entries, reason=reason, reference=reference
    )
    return after
