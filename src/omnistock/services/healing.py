"""Promises that heal (DESIGN invariant 1).

A physical fact (a POS sale, a count, damage, units a store could not find) may leave a
location with fewer units than it promised. Then the newest allocations there that nobody
has started on give their units back, and those units are sourced again elsewhere for their
order, or backordered, in the same transaction, until `available >= 0` there again.

Lock order, on every path that changes orders or transfers: holds, then orders (each by
id), then transfers (by id), then positions by (location, sku), then the daily capacity
counters. A path that cannot know
its rows before it starts (a fact that turns out to leave promises short) undoes its first
try and locks them all in that order before trying again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from omnistock.db import UnitOfWork
from omnistock.domain.orders import (
    FulfilmentStatus,
)
from omnistock.services import allocation, order_changes, reservations, transfers

log = logging.getLogger("omnistock.healing")


def physical_fact(
    uow: UnitOfWork, *, location: str, skus: Sequence[str], apply: Callable[[], bool], cause: str
) -> None:
    """Apply a physical fact at `location` (`apply` changes the stock and answers whether it
    left any of `skus` promised beyond what is there), and heal what it left short.

    On PostgreSQL, healing locks holds, orders and the skus' positions everywhere; taken
    after the fact's own row, those locks would break the lock order and could deadlock with
    an order being placed or cancelled. So the fact goes through the one guarded allocation
    in two attempts: the first applies it alone and, if it leaves a promise short, is undone;
    the last locks everything healing may touch, in order, applies the fact again and heals.
    SQLite has one writer at a time: there is no order to keep, and nothing to undo.
    """
    fact = _Fact(uow, location, skus)

    def carry_out(locked: bool) -> None:
        if not apply():
            return
        if not locked:
            raise allocation.LostRace  # a promise went short: lock, then heal
        for sku in skus:
            heal(uow, location=location, sku=sku, cause=cause, within=fact.within)

    allocation.allocate(
        uow,
        decide=lambda: fact.locked,
        rows=lambda _: (),
        carry_out=carry_out,
        lock=fact.lock,
        attempts=1 if uow.single_writer else 2,
    )


def bulk_fact(
    uow: UnitOfWork, *, apply: Callable[[], Sequence[tuple[str, str]]], cause: str
) -> None:
    """Apply a physical fact about many positions at once (an imported stock count): `apply`
    changes them and answers the (location, sku) it left promising more than they hold,
    which are then healed as a single fact heals them.

    The lock order is kept as `physical_fact` keeps it: on PostgreSQL, a first try that
    leaves some promise short is undone, then the holds, orders and transfers with promises
    at those positions are locked, then the skus' positions, and the fact is applied again.
    """
    if uow.single_writer:
        for location, sku in apply():
            heal(uow, location=location, sku=sku, cause=cause)
        return
    try:
        with uow.savepoint():
            short = apply()
            if short:
                raise _Short(short)
        return
    except _Short as first:
        short = first.short
    within = _lock_for_bulk(uow, short)
    for location, sku in apply():
        heal(uow, location=location, sku=sku, cause=cause, within=within)


class _Short(Exception):
    def __init__(self, short: Sequence[tuple[str, str]]) -> None:
        super().__init__(f"{len(short)} position(s) short")
        self.short = short


def _lock_for_bulk(
    uow: UnitOfWork, short: Sequence[tuple[str, str]]
) -> frozenset[tuple[str, str]] | None:
    """Lock, in the one order, what healing the `short` positions may change."""
    by_location: dict[str, list[str]] = {}
    for location, sku in short:
        by_location.setdefault(location, []).append(sku)
    holds: set[str] = set()
    orders: set[int] = set()
    moved: set[int] = set()
    for location, skus in sorted(by_location.items()):
        promised = _promised_at(uow, location, skus)
        holds |= promised.holds
        orders |= promised.orders
        moved |= promised.transfers
    uow.holds.lock(sorted(holds))
    uow.orders.lock_orders(sorted(orders))
    uow.transfers.lock(sorted(moved))
    held = {a.sku for h in holds for a in reservations.get(uow, h).allocations}
    locked = uow.stock.lock_positions(skus=sorted({sku for _, sku in short} | held))
    return None if locked is None else frozenset(locked)


class _Fact:
    """The locks healing a fact at `location` takes (none with one writer: it has them all)."""

    def __init__(self, uow: UnitOfWork, location: str, skus: Sequence[str]) -> None:
        self.uow, self.location, self.skus = uow, location, skus
        self.locked = False
        self.within: frozenset[tuple[str, str]] | None = None

    def lock(self) -> None:
        self.locked = True
        if self.uow.single_writer:
            return
        for attempt in range(1, _LOCK_ATTEMPTS + 1):
            last = attempt == _LOCK_ATTEMPTS
            if last:
                log.warning(
                    "healing %s at %s: promises keep landing there; locking as is",
                    ",".join(self.skus),
                    self.location,
                )
            try:
                with self.uow.savepoint():
                    self.within = _lock_for_healing(
                        self.uow, location=self.location, skus=self.skus, last=last
                    )
                return
            except _Moved:
                continue  # a promise was made there meanwhile: lock again, in order


#: Tries at locking what healing needs before a promise made meanwhile is let in late.
_LOCK_ATTEMPTS = 5


class _Moved(Exception):
    """A hold or an order promised units at the location while its rows were being locked."""


def _lock_for_healing(
    uow: UnitOfWork, *, location: str, skus: Sequence[str], last: bool
) -> frozenset[tuple[str, str]] | None:
    """Lock what healing `skus` at `location` may change, in the one lock order: the holds
    and orders with promises there, then the skus' positions everywhere. Raises _Moved if,
    once the positions are locked (no promise can be made there any more), promises turn
    out to have been made by holds or orders not locked first (unless this is the `last`
    try: then those are locked later, out of order, and a deadlock is possible but retried).
    Answers the positions locked: healing reserves at those only (one stocked since was not
    locked in order)."""
    promised = _promised_at(uow, location, skus)
    uow.holds.lock(sorted(promised.holds))
    uow.orders.lock_orders(sorted(promised.orders))
    uow.transfers.lock(sorted(promised.transfers))
    held = {a.sku for h in promised.holds for a in reservations.get(uow, h).allocations}
    locked = uow.stock.lock_positions(skus=sorted(set(skus) | held))
    if not last and not _promised_at(uow, location, skus) <= promised:
        raise _Moved
    return None if locked is None else frozenset(locked)


@dataclass(frozen=True, slots=True)
class _Promised:
    """Who has promises of some skus at a location: holds, orders and open transfers."""

    holds: frozenset[str]
    orders: frozenset[int]
    transfers: frozenset[int]

    def __le__(self, other: _Promised) -> bool:
        return (
            self.holds <= other.holds
            and self.orders <= other.orders
            and self.transfers <= other.transfers
        )


def _promised_at(uow: UnitOfWork, location: str, skus: Sequence[str]) -> _Promised:
    """The holds, the orders with untouched allocations, and the open transfers, with units
    of `skus` promised at `location`."""
    reads = uow
    return _Promised(
        holds=frozenset(
            h for sku in skus for h in reads.holds.holding_at(location=location, sku=sku)
        ),
        orders=frozenset(
            o
            for sku in skus
            for _, o, _ in reads.orders.open_allocations(location=location, sku=sku)
        ),
        transfers=frozenset(
            t for sku in skus for t, _ in reads.transfers.open_from(location=location, sku=sku)
        ),
    )


def heal(
    uow: UnitOfWork,
    *,
    location: str,
    sku: str,
    cause: str,
    within: frozenset[tuple[str, str]] | None = None,
) -> None:
    """After `cause` changed the stock of `sku` at `location`: if it promised more than it
    has, let go of the newest holds there, then carry fewer units on the newest open
    transfers from there, then move the newest untouched allocations of orders elsewhere,
    until it does not.

    Holds go first: a cart has promised nothing to anyone yet, and its checkout finds the
    hold ended (409 reservation-ended) and orders afresh. Transfers next: moving stock
    between locations can wait; a customer's order is moved only when nothing else will do.
    """
    deficit = _deficit(uow, location, sku)
    if deficit > 0:
        deficit = _let_holds_go(uow, location, sku, deficit)
    if deficit > 0:
        deficit = _carry_fewer(uow, location, sku, deficit, cause)
    if deficit > 0:
        _move_allocations(uow, location, sku, deficit, cause, within)


def _deficit(uow: UnitOfWork, location: str, sku: str) -> int:
    """The units of `sku` promised at `location` beyond what is there."""
    return -uow.stock.read_position(sku=sku, location=location).available


def _let_holds_go(uow: UnitOfWork, location: str, sku: str, deficit: int) -> int:
    """Release the newest holds there, until none is left or nothing is promised beyond."""
    for reservation_id in uow.holds.holding_at(location=location, sku=sku):
        reservations.release(uow, reservation_id)
        deficit = _deficit(uow, location, sku)
        if deficit <= 0:
            break
    return deficit


def _carry_fewer(uow: UnitOfWork, location: str, sku: str, deficit: int, cause: str) -> int:
    """Carry fewer units on the newest open transfers from there."""
    for transfer_id, units in uow.transfers.open_from(location=location, sku=sku):
        given = min(units, deficit)
        why = f"{given} x {sku} at {location} went short ({cause}): not carried"
        deficit -= transfers.give_back(uow, transfer_id, sku, given, why=why)
        if deficit <= 0:
            break
    return deficit


def _move_allocations(
    uow: UnitOfWork,
    location: str,
    sku: str,
    deficit: int,
    cause: str,
    within: frozenset[tuple[str, str]] | None,
) -> None:
    """Source the newest untouched allocations of orders there again elsewhere."""
    for fulfilment_id, order_id, _ in uow.orders.open_allocations(location=location, sku=sku):
        order = order_changes.locked_order(uow, order_id)
        fulfilment = next(f for f in order.fulfilments if f.id == fulfilment_id)
        units = dict(fulfilment.lines).get(sku, 0)  # as it is now the order is locked
        if fulfilment.status is not FulfilmentStatus.ALLOCATED or not units:
            continue
        moved = min(units, deficit)
        detail = (
            f"{moved} x {sku} promised at {location} went short ({cause}): sourced again elsewhere"
        )
        order_changes.take_units(uow, order.id, fulfilment, {sku: moved}, why=detail)
        order_changes.resource(
            uow,
            order,
            [(sku, moved)],
            trigger="healing",
            because=detail,
            short_at=location,
            within=within,
        )
        order_changes.announce(uow, order)
        deficit -= moved
        if deficit <= 0:
            return
