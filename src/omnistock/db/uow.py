"""The unit of work: one transaction, the events it emits, and what it may cache."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import Connection

from omnistock.db import outbox


class KnownKeys:
    """Skus and location codes known to exist (they are never deleted, so never stale).

    Saves a lookup per stock change on the hot path; filled only from committed reads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.skus: set[str] = set()
        self.locations: set[str] = set()

    def add_sku(self, sku: str) -> None:
        with self._lock:
            self.skus.add(sku)

    def add_location(self, code: str) -> None:
        with self._lock:
            self.locations.add(code)


class UnitOfWork:
    """A write transaction in progress. Services emit events; they reach the outbox at commit."""

    def __init__(self, conn: Connection, *, known: KnownKeys, now: dt.datetime) -> None:
        self.conn = conn
        self.known = known
        self.now = now
        self._events: list[tuple[str, dict[str, Any]]] = []

    def emit(self, type: str, data: dict[str, Any]) -> None:
        self._events.append((type, data))

    def flush_events(self) -> None:
        if self._events:
            outbox.append(self.conn, self._events, at=self.now)
            self._events.clear()
