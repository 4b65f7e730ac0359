"""The unit of work: one transaction, the events it emits, and what it may cache."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection

from omnistock.db import outbox


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


class UnitOfWork:
    """A write transaction in progress. Services emit events; they reach the outbox at commit."""

    def __init__(self, conn: Connection, *, known: KnownKeys, now: dt.datetime) -> None:
        self.conn = conn
        self.known = known
        self.now = now
        self._events: list[tuple[str, dict[str, Any]]] = []
        self.learned_skus: set[str] = set()
        self.learned_locations: set[str] = set()
        #: Skus whose stock this transaction changed (for availability.changed).
        self.touched_skus: set[str] = set()
        self._before_flush: list[Callable[[UnitOfWork], None]] = []

    def before_flush(self, hook: Callable[[UnitOfWork], None]) -> None:
        """Run `hook` once, just before this transaction's events are written."""
        if hook not in self._before_flush:
            self._before_flush.append(hook)

    def knows_sku(self, sku: str) -> bool:
        return sku in self.known.skus or sku in self.learned_skus

    def knows_location(self, code: str) -> bool:
        return code in self.known.locations or code in self.learned_locations

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that can fail alone: its changes, events and learned
        keys are undone, the rest of the transaction goes on."""
        events = len(self._events)
        skus, locations = set(self.learned_skus), set(self.learned_locations)
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            del self._events[events:]
            self.learned_skus, self.learned_locations = skus, locations
            raise

    def emit(self, type: str, data: dict[str, Any]) -> None:
        self._events.append((type, data))

    def flush_events(self) -> None:
        for hook in self._before_flush:
            hook(self)
        if self._events:
            outbox.append(self.conn, self._events, at=self.now)
            self._events.clear()
