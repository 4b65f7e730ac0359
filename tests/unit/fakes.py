"""In-memory fakes of the database behind a unit of work: the use cases of holds, orders and
healing run on them as they run on SQLite or PostgreSQL, in microseconds.

`FakeDatabase` holds the tables as plain Python data and hands out `FakeUnitOfWork`s, which
are real `UnitOfWork`s (events, savepoints, configuration caching and before-commit hooks run
the real code) whose repositories are fakes: each subclasses the real repository class and
re-implements, in memory, the methods those use cases call, with the same names, arguments
and answers as the SQL in `omnistock.db` (the guards of `apply_deltas` and `reserve`, holds
and fulfilments that end exactly once, one order per channel and `external_id`).

A method that is not faked runs the real SQL function, which finds no connection to run on
and fails the test loudly (`_NoSql`): fakes are added when a use case needs them, never
guessed. Not faked, on purpose: listing orders by status (a SQL twin of the domain's rule,
worth testing on the databases only), transfers (a location never has any: `open_from`
answers none), returns, keys, idempotency records, bulk loading and configuration changes.

The clock is `FakeDatabase.now`, read by each unit of work as it starts. `single_writer`
picks the path services take: True as on SQLite (one writer: no row locks, nothing to
undo), False as on PostgreSQL (savepoints around guarded changes, rows locked before
healing); in memory both are deterministic.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar, cast

from omnistock.db import repositories
from omnistock.db.configuration import ConfigurationCache
from omnistock.db.stock import Available
from omnistock.db.uow import KnownKeys, UnitOfWork
from omnistock.domain.availability import BASIS_POINTS, BufferRule, Channel, Rulebook
from omnistock.domain.catalog import Item, Location, lines_are_items
from omnistock.domain.errors import NotFound
from omnistock.domain.orders import (
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderPolicy,
)
from omnistock.domain.reservations import ACTIVE, Reservation
from omnistock.domain.stock import Deltas, Drift, Movement, Position
from omnistock.services import allocation

if TYPE_CHECKING:
    from sqlalchemy import Connection

T = TypeVar("T")
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def _json(value: T) -> T:
    """What a JSON column gives back of `value` (tuples become lists, nothing is shared)."""
    return cast(T, json.loads(json.dumps(value)))


def _sql_div(a: int, b: int) -> int:
    """Integer division as SQLite and PostgreSQL do it: truncated towards zero."""
    return a // b if a >= 0 else -(-a // b)


@dataclass
class StoredHold:
    reservation: Reservation
    created_at: dt.datetime
    ended_at: dt.datetime | None = None


@dataclass
class StoredOrder:
    id: int
    channel: str
    external_id: str | None
    customer: dict[str, str]
    delivery: dict[str, Any]  # as `_delivery` rebuilds it from the columns
    currency: str
    reservation_id: str | None
    created_at: dt.datetime
    lines: list[OrderLine] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Tables:
    """Every row the fakes keep; copied whole for a savepoint or a transaction."""

    revision: int = 1
    items: dict[str, Item] = field(default_factory=dict)
    locations: dict[str, Location] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    rules: list[BufferRule] = field(default_factory=list)
    #: By (sku, location), as the positions table's key.
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    movements: list[Movement] = field(default_factory=list)
    holds: dict[str, StoredHold] = field(default_factory=dict)
    orders: dict[int, StoredOrder] = field(default_factory=dict)
    fulfilments: dict[int, Fulfilment] = field(default_factory=dict)
    #: Fulfilments accepted by (location, day).
    capacity: dict[tuple[str, str], int] = field(default_factory=dict)
    #: The ATS last published by (channel, sku).
    published: dict[tuple[str, str], int] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


class FakeDatabase:
    """The tables in memory, and units of work on them that commit or roll back whole."""

    def __init__(
        self,
        *,
        now: dt.datetime = START,
        single_writer: bool = True,
        policy: OrderPolicy | None = None,
    ) -> None:
        self.tables = Tables()
        self.now = now
        self.single_writer = single_writer
        self.policy = policy or OrderPolicy()

    # ------------------------------------------------------------- what other use cases set up

    def add(self, *rows: Item | Location | Channel) -> None:
        """Items, locations and channels, as their own (not faked) use cases would store them."""
        for row in rows:
            if isinstance(row, Item):
                self.tables.items[row.sku] = row
            elif isinstance(row, Location):
                self.tables.locations[row.code] = row
            else:
                self.tables.channels[row.code] = row
        self.tables.revision += 1

    def add_rule(self, **fields: Any) -> BufferRule:
        """A buffer rule (`units=` or `basis_points=`, and what it matches), newest id."""
        rule = BufferRule(id=len(self.tables.rules) + 1, **fields)
        self.tables.rules.append(rule)
        if rule.sku is None:
            self.tables.revision += 1
        return rule

    def rulebook(self, skus: Sequence[str]) -> tuple[Rulebook, dict[str, list[BufferRule]]]:
        t = self.tables
        book = Rulebook(
            t.revision,
            locations=t.locations.values(),
            channels=t.channels.values(),
            rules=[r for r in t.rules if r.sku is None],
        )
        return book, {sku: [r for r in t.rules if r.sku == sku] for sku in skus}

    # ------------------------------------------------------------------------- transactions

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[FakeUnitOfWork]:
        """One transaction: commits with its events on success, leaves nothing on error."""
        with self._undone_on_error():
            uow = FakeUnitOfWork(self)
            yield uow
            uow.flush_events()

    def run(self, fn: Callable[[FakeUnitOfWork], T]) -> T:
        with self.unit_of_work() as uow:
            return fn(uow)

    @contextlib.contextmanager
    def reading(self) -> Iterator[FakeUnitOfWork]:
        """A read: a unit of work that never commits."""
        before = copy.deepcopy(self.tables)
        try:
            yield FakeUnitOfWork(self)
        finally:
            self.tables = before

    @contextlib.contextmanager
    def _undone_on_error(self) -> Iterator[None]:
        before = copy.deepcopy(self.tables)
        try:
            yield
        except BaseException:
            self.tables = before
            raise

    # ----------------------------------------------------------------------------- looking

    def position(self, location: str, sku: str) -> Position:
        return self.tables.positions.get((sku, location), Position())

    def events(self, *types: str) -> list[tuple[str, dict[str, Any]]]:
        """The (type, data) committed so far, oldest first (only of `types` when given)."""
        return [
            (e["type"], e["data"]) for e in self.tables.events if not types or e["type"] in types
        ]


class _NoSql:
    """Stands in for a fake unit of work's connection: a savepoint is a copy of the tables,
    and anything else asked of it means a repository method ran SQL that no fake replaces."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.dialect = SimpleNamespace(name="sqlite" if db.single_writer else "postgresql")

    def begin_nested(self) -> contextlib.AbstractContextManager[None]:
        return self._db._undone_on_error()

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a fake unit of work ran SQL (connection.{name}): fake that method")


class FakeConfiguration(ConfigurationCache):
    """The configuration as the fake tables hold it (the unit of work caches it as usual)."""

    def __init__(self, db: FakeDatabase) -> None:
        super().__init__()
        self._db = db

    def current(
        self, conn: Connection, skus: Sequence[str] = ()
    ) -> tuple[Rulebook, dict[str, list[BufferRule]]]:
        return self._db.rulebook(skus)


class FakeUnitOfWork(UnitOfWork):
    """A real unit of work whose repositories keep their rows in a `FakeDatabase`."""

    def __init__(self, db: FakeDatabase) -> None:
        super().__init__(
            cast("Connection", _NoSql(db)),
            known=KnownKeys(),
            configuration=FakeConfiguration(db),
            now=db.now,
            policy=db.policy,
        )
        self.db = db

    @cached_property
    def catalog(self) -> FakeCatalog:
        return FakeCatalog(self)

    @cached_property
    def channels(self) -> FakeChannels:
        return FakeChannels(self)

    @cached_property
    def stock(self) -> FakeStock:
        return FakeStock(self)

    @cached_property
    def holds(self) -> FakeHolds:
        return FakeHolds(self)

    @cached_property
    def orders(self) -> FakeOrders:
        return FakeOrders(self)

    @cached_property
    def transfers(self) -> FakeTransfers:
        return FakeTransfers(self)

    @cached_property
    def events(self) -> FakeEvents:
        return FakeEvents(self)


class _Fake(repositories.WriteRepository):
    """A fake repository: its rows are the fake database's tables (looked up on each use: a
    rollback replaces them)."""

    def __init__(self, unit: FakeUnitOfWork) -> None:
        super().__init__(unit)
        self._db = unit.db

    @property
    def t(self) -> Tables:
        return self._db.tables


class FakeCatalog(_Fake, repositories.Catalog):
    def get_item(self, sku: str) -> Item | None:
        return self.t.items.get(sku)

    def known_skus(self, skus: Sequence[str]) -> set[str]:
        return {sku for sku in skus if sku in self.t.items}

    def get_location(self, code: str) -> Location | None:
        return self.t.locations.get(code)

    def list_locations(self) -> list[Location]:
        return [self.t.locations[code] for code in sorted(self.t.locations)]

    def require_item(self, sku: str, *, field: str = "sku") -> None:
        if sku not in self.t.items:
            raise NotFound("item", sku, field=field)

    def require_line_items(self, skus: Sequence[str]) -> None:
        lines_are_items(skus, self.known_skus(skus))

    def require_location(self, code: str, *, field: str = "location") -> None:
        if code not in self.t.locations:
            raise NotFound("location", code, field=field)


class FakeChannels(_Fake, repositories.Channels):
    def lock_published(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
        return {pair: self.t.published.get(pair) for pair in sorted(set(pairs))}

    def publish(self, changes: Sequence[tuple[str, str, int]]) -> None:
        for channel, sku, ats in changes:
            self.t.published[channel, sku] = ats


class FakeStock(_Fake, repositories.Stock):
    """Positions and the ledger; every change goes through the same guards as the SQL."""

    def read_position(self, *, sku: str, location: str) -> Position:
        return self.t.positions.get((sku, location), Position())

    def lock_position(self, *, sku: str, location: str) -> Position:
        return self.t.positions.setdefault((sku, location), Position())

    def lock_positions(
        self, *, skus: Sequence[str], locations: Sequence[str] | None = None
    ) -> set[tuple[str, str]] | None:
        if self._db.single_writer:
            return None
        return {
            (location, sku)
            for sku, location in self.t.positions
            if sku in skus and (locations is None or location in locations)
        }

    def positions_of(self, sku: str) -> list[tuple[str, Position]]:
        return sorted((loc, p) for (s, loc), p in self.t.positions.items() if s == sku)

    def apply_deltas(self, *, sku: str, location: str, deltas: Deltas) -> Position | None:
        current = self.t.positions.get((sku, location))
        after = (current or Position()).apply(deltas)
        if not after.is_physically_possible:  # the guard (or, for a new row, creatable)
            return None
        self.t.positions[sku, location] = after
        return after

    def reserve(
        self,
        *,
        sku: str,
        location: str,
        quantity: int,
        buffer_units: int = 0,
        buffer_basis_points: int = 0,
    ) -> Position | None:
        current = self.t.positions.get((sku, location))
        if current is None:
            return None
        available = current.available
        kept = buffer_units + _sql_div(
            available * buffer_basis_points + BASIS_POINTS - 1, BASIS_POINTS
        )
        if available - quantity < kept:
            return None
        after = current.apply(Deltas(reserved=quantity))
        self.t.positions[sku, location] = after
        return after

    def append_movement(
        self,
        *,
        at: dt.datetime,
        sku: str,
        location: str,
        type: str,
        deltas: Deltas,
        reason: str | None = None,
        reference: str | None = None,
    ) -> Movement:
        movement = Movement(
            len(self.t.movements) + 1, at, sku, location, type, deltas, reason, reference
        )
        self.t.movements.append(movement)
        return movement

    def append_movements(
        self,
        *,
        at: dt.datetime,
        type: str,
        entries: Sequence[tuple[str, str, Deltas]],
        reason: str | None = None,
        reference: str | None = None,
    ) -> None:
        for location, sku, deltas in entries:
            self.append_movement(
                at=at,
                sku=sku,
                location=location,
                type=type,
                deltas=deltas,
                reason=reason,
                reference=reference,
            )

    def ledger(self, *, sku: str, location: str | None, after: int, limit: int) -> list[Movement]:
        return [
            m
            for m in self.t.movements
            if m.sku == sku and m.id > after and location in (None, m.location)
        ][:limit]

    def drifts(self) -> Iterator[Drift]:
        replayed: dict[tuple[str, str], Position] = {}
        for m in self.t.movements:
            key = (m.sku, m.location)
            replayed[key] = replayed.get(key, Position()).apply(m.deltas)
        for key in sorted(self.t.positions.keys() | replayed.keys()):
            stored = self.t.positions.get(key, Position())
            if stored != replayed.get(key, Position()):
                yield Drift(key[0], key[1], stored, replayed.get(key, Position()))

    def available_at(
        self, skus: Sequence[str], *, now: dt.datetime, expired_free: bool = True
    ) -> Available:
        units: dict[str, dict[str, int]] = {sku: {} for sku in skus}
        for (sku, location), position in self.t.positions.items():
            if sku in units:
                units[sku][location] = position.available
        expired = False
        if expired_free:
            for stored in self.t.holds.values():
                hold = stored.reservation
                if hold.status == ACTIVE and hold.expires_at <= now:
                    for a in hold.allocations:
                        if a.sku in units:
                            at = units[a.sku]
                            at[a.location] = at.get(a.location, 0) + a.quantity
                            expired = True
        return Available(units, expired)


class FakeHolds(_Fake, repositories.Holds):
    def add(self, reservation: Reservation, *, now: dt.datetime) -> None:
        assert reservation.id not in self.t.holds, "the primary key"
        self.t.holds[reservation.id] = StoredHold(reservation, created_at=now)

    def get(self, reservation_id: str) -> Reservation | None:
        found = self.t.holds.get(reservation_id)
        return None if found is None else found.reservation

    def end(self, reservation_id: str, *, status: str, now: dt.datetime) -> bool:
        found = self.t.holds.get(reservation_id)
        if found is None or found.reservation.status != ACTIVE:
            return False
        found.reservation = dataclasses.replace(found.reservation, status=status)
        found.ended_at = now
        return True

    def expired_ids(
        self, *, now: dt.datetime, most: int, skus: Sequence[str] | None = None
    ) -> list[str]:
        expired = [
            h.reservation
            for h in self.t.holds.values()
            if h.reservation.status == ACTIVE
            and h.reservation.expires_at <= now
            and (skus is None or any(a.sku in skus for a in h.reservation.allocations))
        ]
        return [r.id for r in sorted(expired, key=lambda r: r.expires_at)][:most]

    def holding_at(self, *, location: str, sku: str) -> list[str]:
        holding = [
            h
            for h in self.t.holds.values()
            if h.reservation.status == ACTIVE
            and any((a.location, a.sku) == (location, sku) for a in h.reservation.allocations)
        ]
        holding.sort(key=lambda h: h.reservation.id)
        holding.sort(key=lambda h: h.created_at, reverse=True)
        return [h.reservation.id for h in holding]

    def lock(self, reservation_ids: Sequence[str]) -> None:
        """Nothing to wait for in memory."""


class FakeOrders(_Fake, repositories.Orders):
    """Orders, their lines, fulfilments, history, decisions and daily capacity."""

    def add_order(
        self,
        *,
        channel: str,
        external_id: str | None,
        customer: dict[str, str],
        delivery: dict[str, Any],
        currency: str,
        reservation_id: str | None,
        now: dt.datetime,
    ) -> int | None:
        if external_id is not None and self.order_of_external_id(channel, external_id):
            return None
        order_id = max(self.t.orders, default=0) + 1
        kept = (
            {"method": "ship", "address": _json(delivery.get("address"))}
            if delivery["method"] == "ship"
            else {"method": delivery["method"], "location": delivery.get("location")}
        )
        self.t.orders[order_id] = StoredOrder(
            order_id, channel, external_id, _json(customer), kept, currency, reservation_id, now
        )
        return order_id

    def order_of_external_id(self, channel: str, external_id: str) -> int | None:
        return next(
            (
                o.id
                for o in self.t.orders.values()
                if (o.channel, o.external_id) == (channel, external_id)
            ),
            None,
        )

    def add_lines(self, order_id: int, lines: Sequence[OrderLine]) -> None:
        self.t.orders[order_id].lines.extend(
            dataclasses.replace(line, unit_price=Decimal(line.unit_price)) for line in lines
        )

    def change_line(
        self, order_id: int, sku: str, *, backordered: int = 0, cancelled: int = 0
    ) -> None:
        lines = self.t.orders[order_id].lines
        for n, line in enumerate(lines):
            if line.sku == sku:
                lines[n] = dataclasses.replace(
                    line,
                    backordered=line.backordered + backordered,
                    cancelled=line.cancelled + cancelled,
                )

    def add_fulfilment(
        self,
        *,
        order_id: int,
        location: str,
        status: FulfilmentStatus,
        lines: Sequence[tuple[str, int]],
        now: dt.datetime,
    ) -> int:
        assert order_id in self.t.orders, "the foreign key"
        fulfilment_id = max(self.t.fulfilments, default=0) + 1
        self.t.fulfilments[fulfilment_id] = Fulfilment(
            fulfilment_id,
            order_id,
            location,
            FulfilmentStatus(status),
            tuple(sorted(lines)),
            status_at=now,
        )
        return fulfilment_id

    def move_status(
        self,
        fulfilment_id: int,
        *,
        from_: FulfilmentStatus,
        to: FulfilmentStatus,
        now: dt.datetime,
        **details: str | None,
    ) -> bool:
        found = self.t.fulfilments.get(fulfilment_id)
        if found is None or found.status != from_:
            return False
        given: dict[str, Any] = {k: v for k, v in details.items() if v}
        self.t.fulfilments[fulfilment_id] = dataclasses.replace(
            found, status=FulfilmentStatus(to), status_at=now, **given
        )
        return True

    def take_from_fulfilment(self, fulfilment_id: int, sku: str, units: int) -> None:
        found = self.t.fulfilments[fulfilment_id]
        lines = tuple(
            (s, q - units if s == sku else q) for s, q in found.lines if (s, q) != (sku, units)
        )
        self.t.fulfilments[fulfilment_id] = dataclasses.replace(found, lines=lines)

    def lock_order(self, order_id: int) -> bool:
        return order_id in self.t.orders

    def lock_orders(self, order_ids: Sequence[int]) -> None:
        """Nothing to wait for in memory."""

    def get_order(self, order_id: int) -> Order | None:
        o = self.t.orders.get(order_id)
        if o is None:
            return None
        fulfilments = [self.t.fulfilments[n] for n in sorted(self.t.fulfilments)]
        return Order(
            id=o.id,
            channel=o.channel,
            external_id=o.external_id,
            customer=_json(o.customer),
            delivery=_json(o.delivery),
            currency=o.currency,
            lines=tuple(o.lines),
            fulfilments=tuple(f for f in fulfilments if f.order_id == order_id),
            created_at=o.created_at,
        )

    def get_fulfilment(self, fulfilment_id: int) -> Fulfilment | None:
        return self.t.fulfilments.get(fulfilment_id)

    def open_allocations(self, *, location: str, sku: str) -> list[tuple[int, int, int]]:
        return [
            (f.id, f.order_id, q)
            for f in sorted(self.t.fulfilments.values(), key=lambda f: -f.id)
            if f.location == location and f.status is FulfilmentStatus.ALLOCATED
            for s, q in f.lines
            if s == sku
        ]

    def history(self, order_id: int) -> list[dict[str, Any]]:
        return [dict(entry) for entry in self.t.orders[order_id].history]

    def add_history(
        self, order_id: int, entries: Iterable[tuple[str, str]], *, now: dt.datetime
    ) -> None:
        self.t.orders[order_id].history.extend(
            {"at": now, "event": event, "detail": detail[:1000]} for event, detail in entries
        )

    def add_decision(
        self, order_id: int, *, trigger: str, decision: dict[str, Any], now: dt.datetime
    ) -> None:
        self.t.orders[order_id].decisions.append({"at": now, "trigger": trigger, **_json(decision)})

    def decisions(self, order_id: int) -> list[dict[str, Any]]:
        found = self.t.orders.get(order_id)
        return [] if found is None else list(reversed(found.decisions))

    def accepted_today(self, locations: Sequence[str], day: str) -> dict[str, int]:
        return {
            loc: self.t.capacity[loc, day] for loc in locations if (loc, day) in self.t.capacity
        }

    def accept_fulfilment(self, *, location: str, day: str, capacity: int) -> bool:
        accepted = self.t.capacity.get((location, day))
        if capacity <= 0 or (accepted is not None and accepted >= capacity):
            return False
        self.t.capacity[location, day] = (accepted or 0) + 1
        return True


class FakeTransfers(_Fake, repositories.Transfers):
    """No transfers in the fake database: none ever holds units anywhere."""

    def open_from(self, *, location: str, sku: str) -> list[tuple[int, int]]:
        return []

    def lock(self, transfer_ids: Sequence[int]) -> None:
        assert not transfer_ids, "the fake database has no transfers"


class FakeEvents(_Fake, repositories.Events):
    """The outbox, numbered as written (as on SQLite, one writer at a time)."""

    def append(self, pending: list[tuple[str, dict[str, Any]]], *, at: dt.datetime) -> None:
        for type, data in pending:
            seq = len(self.t.events) + 1
            self.t.events.append({"seq": seq, "type": type, "at": at, "data": _json(data)})

    def read(self, *, after: int, limit: int) -> list[dict[str, Any]]:
        return [dict(e) for e in self.t.events if e["seq"] > after][:limit]

    def sequence(self, *, most: int) -> int:
        return 0


def lose_every_race_but_the_last(
    uow: FakeUnitOfWork, monkeypatch: Any, *, once_locked: Callable[[], object]
) -> None:
    """Within `uow`, another transaction wins the race of every optimistic attempt (its first
    guarded reserve is refused), and `once_locked` runs just after the last attempt has
    locked its rows (say, a delivery stocking a position for the first time)."""
    reserve, lock = uow.stock.reserve, uow.stock.lock_positions
    refusals = iter(range(allocation.ATTEMPTS - 1))

    def losing(**claim: Any) -> Position | None:
        return None if next(refusals, None) is not None else reserve(**claim)

    def lock_then(**rows: Any) -> set[tuple[str, str]] | None:
        locked = lock(**rows)
        once_locked()
        return locked

    monkeypatch.setattr(uow.stock, "reserve", losing)
    monkeypatch.setattr(uow.stock, "lock_positions", lock_then)
