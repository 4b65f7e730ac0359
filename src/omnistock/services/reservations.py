"""Holds at checkout that never oversell: reserve, release, and let expire.

A hold plans its allocations from the channel's pool and buffers (the configuration this
transaction reads) and a fresh read of the stock, and reserves them through the one guarded
allocation (`omnistock.services.allocation`): a lost race plans again from fresh stock, and
the last attempt locks the rows it plans on first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Collection, Sequence

from omnistock.db import ReadUnit, UnitOfWork
from omnistock.domain.availability import BufferRule, Rulebook
from omnistock.domain.catalog import Location
from omnistock.domain.errors import InsufficientStock, InvalidInput, NotFound
from omnistock.domain.events import Event
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
from omnistock.services import allocation, availability
from omnistock.services.allocation import Claim


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
    planner = _Planner(uow, book, sku_rules, channel, order, wanted)
    claims = allocation.allocate(
        uow,
        decide=planner.claims,
        rows=planner.rows,
        carry_out=planner.reserve,
        lock=planner.lock,
    )
    reservation = Reservation(
        id=planner.reservation_id,
        channel=channel,
        status=ACTIVE,
        expires_at=uow.now + dt.timedelta(seconds=ttl_seconds),
        lines=tuple(wanted),
        allocations=tuple(Allocation(c.location, c.sku, c.quantity) for c in claims),
    )
    uow.holds.add(reservation, now=uow.now)
    uow.emit(Event.RESERVATION_CREATED, reservation_view(reservation))
    return reservation


class _Planner:
    """A hold's claims on the stock as it is at each attempt.

    The first read counts the units of expired holds as free. If there are any on these skus,
    they end now and give their units back in the same pass over the rows as the new hold;
    from then on only the holds ended here count as free: any other (beyond the batch, or
    expiring meanwhile) still holds its units, as the guard sees it.
    """

    def __init__(
        self,
        uow: UnitOfWork,
        book: Rulebook,
        sku_rules: dict[str, list[BufferRule]],
        channel: str,
        order: Sequence[Location],
        wanted: Sequence[tuple[str, int]],
    ) -> None:
        self.uow, self.book, self.sku_rules, self.channel = uow, book, sku_rules, channel
        self.order, self.wanted = order, wanted
        self.skus = [sku for sku, _ in wanted]
        self.reservation_id = str(uuid.uuid4())
        found = uow.stock.available_at(self.skus, now=uow.now)
        self.ended = _end_expired(uow, skus=self.skus) if found.expired_holds else []
        self._first = None if found.expired_holds else found.units
        #: The rows locked for the last attempt (None: not yet, or one writer has them all).
        self.locked: set[tuple[str, str]] | None = None

    def claims(self) -> list[Claim]:
        units = self._first if self._first is not None else self._available()
        self._first = None
        at = {loc.code: loc for loc in self.order}
        sellable = self.book.sellable(self.channel, units, self.sku_rules, at=at)
        allocations, short = plan(
            self.wanted, self.order, {row: left for row, (left, _) in sellable.items()}
        )
        if short:
            raise InsufficientStock(short)
        return [
            Claim(a.location, a.sku, a.quantity, sellable[a.location, a.sku][1])
            for a in allocations
        ]

    def rows(self, claims: Sequence[Claim]) -> Collection[tuple[str, str]]:
        return {(c.location, c.sku) for c in claims} | _held_by(self.ended).keys()

    def reserve(self, claims: list[Claim]) -> list[Claim]:
        _apply(self.uow, self.ended, self.reservation_id, claims)
        return claims

    def lock(self) -> None:
        """Lock every row the hold may claim, in (location, sku) order: from then on it
        claims only those (a position stocked since for the first time is not locked)."""
        codes = [loc.code for loc in self.order]
        self.locked = self.uow.stock.lock_positions(skus=self.skus, locations=codes)

    def _available(self) -> dict[str, dict[str, int]]:
        """The stock now, the units of the holds ended here given back."""
        found = self.uow.stock.available_at(self.skus, now=self.uow.now, expired_free=False)
        for (at, sku), units in _held_by(self.ended).items():  # ended, not given back yet
            if sku in found.units:  # an ended hold may free other skus too
                found.units[sku][at] = found.units[sku].get(at, 0) + units
        if self.locked is None:
            return found.units
        return {
            sku: {at: units for at, units in by_location.items() if (at, sku) in self.locked}
            for sku, by_location in found.units.items()
        }


def release(uow: UnitOfWork, reservation_id: str) -> Reservation:
    """Let go of a hold now (a hold already ended is returned as it is)."""
    found = get(uow, reservation_id)
    if found.status != ACTIVE:
        return found
    status = EXPIRED if found.expires_at <= uow.now else RELEASED
    if uow.holds.end(reservation_id, status=status, now=uow.now):
        _apply(uow, [found], None, [])
        event = Event.RESERVATION_EXPIRED if status == EXPIRED else Event.RESERVATION_RELEASED
        uow.emit(event, reservation_view(get(uow, reservation_id)))
    return get(uow, reservation_id)


def release_expired(uow: UnitOfWork, *, most: int = 500) -> int:
    """Release up to `most` expired holds, each exactly once whoever else is sweeping."""
    expired = _end_expired(uow, skus=None, most=most)
    _apply(uow, expired, None, [])
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


def _apply(
    uow: UnitOfWork,
    ended: Sequence[Reservation],
    reservation_id: str | None,
    claims: Sequence[Claim],
) -> None:
    """Give back the units of `ended` holds and reserve `claims`, touching each row once,
    in (location, sku) order: the one lock order every path follows, after the holds' rows."""
    freed = _held_by(ended)
    taken = {(c.location, c.sku): c for c in claims}
    for location, sku in sorted(freed.keys() | taken.keys()):
        given_back, claim = freed.get((location, sku), 0), taken.get((location, sku))
        if claim is not None:
            net = dataclasses.replace(claim, quantity=claim.quantity - given_back)
            position = allocation.reserve(uow, net)
        else:
            deltas = Deltas(reserved=-given_back)
            found = uow.stock.apply_deltas(sku=sku, location=location, deltas=deltas)
            assert found is not None, "a hold's units are reserved until it ends"
            position = found
        for hold in ended:
            for a in hold.allocations:
                if (a.location, a.sku) == (location, sku):
                    _ledger(uow, a, RELEASE, Deltas(reserved=-a.quantity), hold.id, position)
        if claim is not None:
            assert reservation_id is not None
            a = Allocation(location, sku, claim.quantity)
            _ledger(uow, a, RESERVE, Deltas(reserved=claim.quantity), reservation_id, position)


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
    allocation.announce(uow, a.sku, a.location, position)


def _end_expired(
    uow: UnitOfWork, *, skus: Sequence[str] | None, most: int = 500
) -> list[Reservation]:
    """End expired holds (in id order: the lock order) that nobody else ended first."""
    ended = []
    for reservation_id in sorted(uow.holds.expired_ids(now=uow.now, most=most, skus=skus)):
        if uow.holds.end(reservation_id, status=EXPIRED, now=uow.now):
            expired = get(uow, reservation_id)
            uow.emit(Event.RESERVATION_EXPIRED, reservation_view(expired))
            ended.append(expired)
    return ended
