"""The unit of work: one transaction, the events it emits, and what it may cache."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from typing import Any

from sqlalchemy import Connection

from omnistock.db import configuration, repositories
from omnistock.db.configuration import ConfigurationCache
from omnistock.domain.availability import BufferRule, Rulebook
from omnistock.domain.events import Event
from omnistock.domain.orders import OrderPolicy


class KnownKeys:
    """Skus and location codes known to exist (they are never deleted, so never stale).

    Saves a lookup per stock change on the hot path. A unit of work learns keys as it reads
    them, and they join this set only once it has committed: a key created in a transaction
    that rolls back must not be remembered.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.skus: frozenset[str] = frozenset()
        self.locations: frozenset[str] = frozenset()

    def learn(self, skus: set[str], locations: set[str]) -> None:
        if skus or locations:
            with self._lock:
                self.skus = self.skus | skus
                self.locations = self.locations | locations


class ReadUnit:
    """A read-only transaction: the read side of every repository, the configuration as
    this transaction sees it, and the moment it began (`now`)."""

    def __init__(
        self,
        conn: Connection,
        *,
        configuration: ConfigurationCache,
        now: dt.datetime,
        policy: OrderPolicy | None = None,
    ) -> None:
        self.conn = conn
        self.configuration = configuration
        self.now = now
        self.policy = policy or OrderPolicy()

    @cached_property
    def catalog(self) -> repositories.CatalogReads:
        return repositories.CatalogReads(self)

    @cached_property
    def channels(self) -> repositories.ChannelsReads:
        return repositories.ChannelsReads(self)

    @cached_property
    def stock(self) -> repositories.StockReads:
        return repositories.StockReads(self)

    @cached_property
    def bulk(self) -> repositories.BulkReads:
        return repositories.BulkReads(self)

    @cached_property
    def holds(self) -> repositories.HoldsReads:
        return repositories.HoldsReads(self)

    @cached_property
    def orders(self) -> repositories.OrdersReads:
        return repositories.OrdersReads(self)

    @cached_property
    def returns(self) -> repositories.ReturnsReads:
        return repositories.ReturnsReads(self)

    @cached_property
    def transfers(self) -> repositories.TransfersReads:
        return repositories.TransfersReads(self)

    @cached_property
    def events(self) -> repositories.EventsReads:
        return repositories.EventsReads(self)

    @cached_property
    def keys(self) -> repositories.KeysReads:
        return repositories.KeysReads(self)

    @cached_property
    def webhooks(self) -> repositories.WebhooksReads:
        return repositories.WebhooksReads(self)

    def rulebook(self, skus: Sequence[str] = ()) -> tuple[Rulebook, dict[str, list[BufferRule]]]:
        """The configuration and the buffer rules naming each of `skus`."""
        return self.configuration.current(self.conn, skus)


class UnitOfWork(ReadUnit):
    """A write transaction in progress: every repository, read and write. Services emit
    events; they reach the outbox at commit."""

    def __init__(
        self,
        conn: Connection,
        *,
        known: KnownKeys,
        configuration: ConfigurationCache,
        now: dt.datetime,
        policy: OrderPolicy | None = None,
    ) -> None:
        super().__init__(conn, configuration=configuration, now=now, policy=policy)
        self.known = known
        #: True where write transactions run one at a time (SQLite): none can lose a race
        #: to another, so there is nothing to undo and no lock order to keep.
        self.single_writer = conn.dialect.name == "sqlite"
        self._events: list[tuple[str, dict[str, Any]]] = []
        self.learned_skus: set[str] = set()
        self.learned_locations: set[str] = set()
        #: Skus whose stock this transaction changed (for availability.changed).
        self.touched_skus: set[str] = set()
        #: What this transaction read of the configuration (see `rulebook`).
        self._rulebook: Rulebook | None = None
        self._sku_rules: dict[str, list[BufferRule]] = {}
        self._before_flush: list[Callable[[UnitOfWork], None]] = []

    @cached_property
    def catalog(self) -> repositories.Catalog:
        return repositories.Catalog(self)

    @cached_property
    def channels(self) -> repositories.Channels:
        return repositories.Channels(self)

    @cached_property
    def stock(self) -> repositories.Stock:
        return repositories.Stock(self)

    @cached_property
    def bulk(self) -> repositories.Bulk:
        return repositories.Bulk(self)

    @cached_property
    def imports(self) -> repositories.Imports:
        return repositories.Imports(self)

    @cached_property
    def holds(self) -> repositories.Holds:
        return repositories.Holds(self)

    @cached_property
    def orders(self) -> repositories.Orders:
        return repositories.Orders(self)

    @cached_property
    def returns(self) -> repositories.Returns:
        return repositories.Returns(self)

    @cached_property
    def transfers(self) -> repositories.Transfers:
        return repositories.Transfers(self)

    @cached_property
    def events(self) -> repositories.Events:
        return repositories.Events(self)

    @cached_property
    def keys(self) -> repositories.Keys:
        return repositories.Keys(self)

    @cached_property
    def webhooks(self) -> repositories.Webhooks:
        return repositories.Webhooks(self)

    @cached_property
    def idempotency(self) -> repositories.Idempotency:
        return repositories.Idempotency(self)

    def before_flush(self, hook: Callable[[UnitOfWork], None]) -> None:
        """Run `hook` once, just before this transaction's events are written."""
        if hook not in self._before_flush:
            self._before_flush.append(hook)

    def rulebook(self, skus: Sequence[str] = ()) -> tuple[Rulebook, dict[str, list[BufferRule]]]:
        """The configuration and the rules naming each of `skus`, read once per transaction
        (again after `configuration_changed`)."""
        missing = [sku for sku in skus if sku not in self._sku_rules]
        if self._rulebook is None or missing:
            self._rulebook, found = self.configuration.current(self.conn, missing)
            self._sku_rules.update(found)
        return self._rulebook, {sku: self._sku_rules[sku] for sku in skus}

    def configuration_changed(self) -> None:
        """Record a change to locations, channels or rules without a sku, in this transaction."""
        configuration.changed(self.conn)
        self._rulebook = None
        self._sku_rules.clear()

    def sku_rules_changed(self, sku: str) -> None:
        """Record a change to the rules naming `sku` (read afresh by every use: not cached)."""
        self._sku_rules.pop(sku, None)

    def knows_sku(self, sku: str) -> bool:
        return sku in self.known.skus or sku in self.learned_skus

    def knows_location(self, code: str) -> bool:
        return code in self.known.locations or code in self.learned_locations

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that can fail alone: its changes, events, learned keys
        and the configuration it read are undone, the rest of the transaction goes on."""
        events = len(self._events)
        skus, locations = set(self.learned_skus), set(self.learned_locations)
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            del self._events[events:]
            self.learned_skus, self.learned_locations = skus, locations
            self._rulebook = None  # it may have been read from a change undone here
            self._sku_rules.clear()
            raise

    def emit(self, type: Event, data: dict[str, Any]) -> None:
        self._events.append((type, data))

    def flush_events(self) -> None:
        for hook in self._before_flush:
            hook(self)
        if self._events:
            self.events.append(self._events, at=self.now)
            self._events.clear()
