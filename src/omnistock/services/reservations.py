"""Holds at checkout that never oversell: reserve, release, and let expire.

A hold plans its allocations from the channel's pool and buffers (the configuration this
transaction reads) and a fresh read of the stock, then reserves each with one guarded
statement that re-checks, on the row as it is, that the channel's buffer still holds. Under
concurrency the database has the last word: a lost race undoes the attempt (a savepoint)
and plans again from fresh stock, a few times, then locks the rows it plans on. Rows are
locked in (location, sku) order, so holds never deadlock one another.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Sequence

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.availability import BufferRule, Rulebook
from omnistock.domain.catalog import Location
from omnistock.domain.errors import InsufficientStock, InvalidInput, NotFound
from omnistock.domain.reservations import (
    ACTIVE,
    DEFAULT_TTL_SECONDS,
    EXPIRED,
    MAX_TTL_SECONDS,
    RELEASE,
    RELEASED,
    RESERVE,
    Allocation,
    Reservation,
    merged,
    plan,
    preferred,
)
from omnistock.domain.stock import Deltas, Position
from omnistock.services import availability
from omnistock.services.views import position_view

#: Optimistic attempts before the last, which locks the rows it plans on first.
_ATTEMPTS = 4


class _LostRace(Exception):
    """A guarded reserve found less than planned: someone else took the units first."""


def hold(
    uow: UnitOfWork,
    *,
    channel: str,
    lines: Sequence[tuple[str, int]],
    ship_to: tuple[float, float] | None = None,
    location: str | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> Reservation:
    """Hold every line for `ttl_seconds`, or raise InsufficientStock and hold nothing."""
    if not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise InvalidInput("ttl_seconds", f"must be from 1 to {MAX_TTL_SECONDS}")
    wanted = merged(lines)
    skus = [sku for sku, _ in wanted]
    book, sku_rules = uow.rulebook(skus)
    availability.check_pool(book, channel, location)
    order = _hold_order(book, channel, location, ship_to)
    uow.catalog.require_line_items(skus)
    found = uow.stock.available_at(skus, now=uow.now)
    expired: list[Reservation] = []
    if found.expired_holds:
        # Expired holds on these skus end now and give their units back in the same pass
        # over the rows as the new hold. Only the holds ended here count as free from now
        # on: any other (beyond the batch, or expiring meanwhile) still holds its units.
        expired = _end_expired(uow, skus=skus)
    reservation_id = str(uuid.uuid4())
    for attempt in range(1, _ATTEMPTS + 1):
        if attempt == _ATTEMPTS:  # lost every race so far: lock the rows, then nobody can
            codes = [loc.code for loc in order]
            uow.stock.lock_positions(skus=skus, locations=codes)
        if attempt > 1 or found.expired_holds:
            found = uow.stock.available_at(skus, now=uow.now, expired_free=False)
            for (at, sku), units in _held_by(expired).items():  # ended here, not given back yet
                if sku in found.units:  # an ended hold may free other skus too
                    found.units[sku][at] = found.units[sku].get(at, 0) + units
        buffers, sellable = _sellable(book, channel, location, found.units, sku_rules)
        allocations, short = plan(wanted, order, sellable)
        if short:
            raise InsufficientStock(short)
        try:
            with _undoable(uow, allocations, expired):
                _apply(uow, expired, reservation_id, allocations, buffers)
        except _LostRace:
            continue
        reservation = Reservation(
            id=reservation_id,
            channel=channel,
            status=ACTIVE,
            expires_at=uow.now + dt.timedelta(seconds=ttl_seconds),
            lines=tuple(wanted),
            allocations=tuple(allocations),
        )
        uow.holds.add(reservation, now=uow.now)
        uow.emit("reservation.created", reservation_view(reservation))
        return reservation
    raise AssertionError("the last attempt holds every row it plans on")  # pragma: no cover


def release(uow: UnitOfWork, reservation_id: str) -> Reservation:
    """Let go of a hold now (a hold already ended is returned as it is)."""
    found = get(uow, reservation_id)
    if found.status != ACTIVE:
        return found
    status = EXPIRED if found.expires_at <= uow.now else RELEASED
    if uow.holds.end(reservation_id, status=status, now=uow.now):
        _apply(uow, [found], None, [], {})
        uow.emit(f"reservation.{status}", reservation_view(get(uow, reservation_id)))
    return get(uow, reservation_id)


def release_expired(uow: UnitOfWork, *, most: int = 500) -> int:
    """Release up to `most` expired holds, each exactly once whoever else is sweeping."""
    expired = _end_expired(uow, skus=None, most=most)
    _apply(uow, expired, None, [], {})
    return len(expired)


def get(reads: ReadUnit, reservation_id: str) -> Reservation:
    found = reads.holds.get(reservation_id)
    if found is None:
        raise NotFound("reservation", reservation_id, field="id")
    return found


def reservation_view(r: Reservation) -> dict[str, object]:
    """A reservation as the API shows it."""
    return {
        "id": r.id,
        "status": r.status,
        "channel": r.channel,
        "expires_at": r.expires_at.isoformat().replace("+00:00", "Z"),
        "lines": [{"sku": sku, "quantity": q} for sku, q in r.lines],
        "allocations": [
            {"location": a.location, "sku": a.sku, "quantity": a.quantity} for a in r.allocations
        ],
    }


def _hold_order(
    book: Rulebook, channel: str, location: str | None, ship_to: tuple[float, float] | None
) -> list[Location]:
    """Where the hold draws from, in order: the one location asked for, else the pool
    nearest `ship_to` first, else warehouses first."""
    if location is not None:
        return [book.locations[location]]
    if ship_to is not None:
        return preferred(book.pools[channel], ship_to)
    return book.hold_order[channel]


def _undoable(
    uow: UnitOfWork, allocations: Sequence[Allocation], ended: Sequence[Reservation]
) -> contextlib.AbstractContextManager[None]:
    """A savepoint to undo an attempt that loses a race, where one is needed.

    On PostgreSQL, always: a guarded UPDATE that waited for another transaction and then
    found the units gone keeps its row lock until undone, and kept locks would let the next
    attempt deadlock. On SQLite (no row locks), only when more than one row changes: a race
    is lost at a guarded reserve, and with one row that is the first change, so there is
    nothing to undo.
    """
    rows = {(a.location, a.sku) for a in allocations} | _held_by(ended).keys()
    if uow.single_writer and len(rows) <= 1:
        return contextlib.nullcontext()
    return uow.savepoint()


def _sellable(
    book: Rulebook,
    channel: str,
    location: str | None,
    available: dict[str, dict[str, int]],
    sku_rules: dict[str, list[BufferRule]],
) -> tuple[dict[tuple[str, str], BufferRule | None], dict[tuple[str, str], int]]:
    """What the channel may sell of each sku at each stocked location of its pool (only at
    `location` when given), and the buffer rule that says so, by (location, sku)."""
    buffers: dict[tuple[str, str], BufferRule | None] = {}
    sellable: dict[tuple[str, str], int] = {}
    for sku, at in available.items():
        rule_at = book.resolver(channel, sku, sku_rules[sku])
        for code, units in at.items():
            if units <= 0 or location not in (None, code) or not book.in_pool(channel, code):
                continue
            rule = rule_at(book.locations[code])
            buffers[code, sku] = rule
            sellable[code, sku] = max(0, units - (rule.units_kept(units) if rule else 0))
    return buffers, sellable


def _apply(
    uow: UnitOfWork,
    ended: Sequence[Reservation],
    reservation_id: str | None,
    allocations: Sequence[Allocation],
    buffers: dict[tuple[str, str], BufferRule | None],
) -> None:
    """Give back the units of `ended` holds and reserve `allocations`, touching each row once,
    in (location, sku) order: the one lock order every path follows, after the holds' rows."""
    freed = _held_by(ended)
    taken = {(a.location, a.sku): a.quantity for a in allocations}
    for location, sku in sorted(freed.keys() | taken.keys()):
        given_back, wanted = freed.get((location, sku), 0), taken.get((location, sku), 0)
        if wanted:
            rule = buffers[location, sku]
            position = uow.stock.reserve(
                sku=sku,
                location=location,
                quantity=wanted - given_back,
                buffer_units=(rule.units or 0) if rule else 0,
                buffer_basis_points=(rule.basis_points or 0) if rule else 0,
            )
            if position is None:
                raise _LostRace
        else:
            deltas = Deltas(reserved=-given_back)
            position = uow.stock.apply_deltas(sku=sku, location=location, deltas=deltas)
            assert position is not None, "a hold's units are reserved until it ends"
        for hold in ended:
            for a in hold.allocations:
                if (a.location, a.sku) == (location, sku):
                    _ledger(uow, a, RELEASE, Deltas(reserved=-a.quantity), hold.id, position)
        if wanted:
            assert reservation_id is not None
            a = Allocation(location, sku, wanted)
            _ledger(uow, a, RESERVE, Deltas(reserved=wanted), reservation_id, position)


def _held_by(holds: Sequence[Reservation]) -> dict[tuple[str, str], int]:
    held: dict[tuple[str, str], int] = {}
    for hold in holds:
        for a in hold.allocations:
            held[a.location, a.sku] = held.get((a.location, a.sku), 0) + a.quantity
    return held


def _ledger(
    uow: UnitOfWork,
    a: Allocation,
    type: str,
    deltas: Deltas,
    reservation_id: str,
    position: Position,
) -> None:
    uow.stock.append_movement(
        at=uow.now,
        sku=a.sku,
        location=a.location,
        type=type,
        deltas=deltas,
        reference=f"reservation:{reservation_id}",
    )
    uow.emit("stock.changed", position_view(a.sku, a.location, position))
    availability.watch(uow, a.sku)


def _end_expired(
    uow: UnitOfWork, *, skus: Sequence[str] | None, most: int = 500
) -> list[Reservation]:
    """End expired holds (in id order: the lock order) that nobody else ended first."""
    ended = []
    for reservation_id in sorted(uow.holds.expired_ids(now=uow.now, most=most, skus=skus)):
        if uow.holds.end(reservation_id, status=EXPIRED, now=uow.now):
            expired = get(uow, reservation_id)
            uow.emit("reservation.expired", reservation_view(expired))
            ended.append(expired)
    return ended
