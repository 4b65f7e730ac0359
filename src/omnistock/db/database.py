"""Connections, transactions and migrations for SQLite and PostgreSQL.

`Database.run(fn)` is how every use case that writes runs: `fn` gets a `UnitOfWork`, one
transaction that commits when `fn` returns (with the events `fn` emitted written to the
outbox in the same transaction) and rolls back when it raises. Transient lock conflicts
(a PostgreSQL deadlock or serialization failure, a busy SQLite file) are retried, so they
never reach a client.

On SQLite, writers take the file's write lock at once (`BEGIN IMMEDIATE`) and, inside one
process, queue on a lock of their own: SQLite has one writer at a time, and waiting in line
beats retrying on `SQLITE_BUSY`. Other processes on the same file wait on the busy timeout.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from omnistock.db.configuration import ConfigurationCache
from omnistock.db.uow import KnownKeys, ReadUnit, UnitOfWork
from omnistock.domain.orders import OrderPolicy

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
#: Key of the PostgreSQL advisory lock that lets one process migrate at a time.
_MIGRATION_LOCK = 0x6F6D6E69
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}
_MAX_ATTEMPTS = 8


class Database:
    """One database, its connection pool, and how transactions run on it."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        busy_timeout_ms: int = 30_000,
        pool_size: int = 20,
        policy: OrderPolicy | None = None,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = create_engine(
                self.url,
                connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            _configure_sqlite(self.engine, sqlite_synchronous, busy_timeout_ms)
        else:
            self.engine = create_engine(
                self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        self._writer = self.engine.execution_options(omnistock_write=True)
        self._reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        )
        self._statement_reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self.is_sqlite else contextlib.nullcontext()
        )
        self.known = KnownKeys()
        self.configuration = ConfigurationCache()
        self.policy = policy or OrderPolicy()

    @property
    def numbers_events_late(self) -> bool:
        """Whether events get their `seq` after commit, by a pass of the feed's reader
        (PostgreSQL), rather than as they are written (see `omnistock.db.outbox`)."""
        return not self.is_sqlite

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._write_lock, self._writer.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One write transaction: commits (with its events) on success, rolls back on error."""
        with self._write_lock:
            with self._writer.begin() as conn:
                uow = UnitOfWork(
                    conn,
                    known=self.known,
                    configuration=self.configuration,
                    now=dt.datetime.now(dt.UTC),
                    policy=self.policy,
                )
                yield uow
                uow.flush_events()
            self.known.learn(uow.learned_skus, uow.learned_locations)  # committed: now true

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run `fn` in a unit of work, retrying transient lock conflicts with backoff.

        `fn` may therefore run more than once (each attempt rolled back before the next):
        it must do nothing outside the database; work outside happens after commit.
        """
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                with self.unit_of_work() as uow:
                    return fn(uow)
            except DBAPIError as error:
                if attempt == _MAX_ATTEMPTS or not self._is_transient(error):
                    raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.contextmanager
    def read(self, *, snapshot: bool = True) -> Iterator[Connection]:
        """A read-only transaction that sees one consistent snapshot, on both backends.

        SQLite's WAL gives a read transaction one snapshot; on PostgreSQL that takes
        REPEATABLE READ (READ COMMITTED would give each statement its own moment).

        Without `snapshot`, each statement sees the moment it runs, which PostgreSQL gives
        without a transaction around them: two round trips fewer (BEGIN and ROLLBACK) for
        reads whose statements are each consistent on their own.
        """
        with (self._reader if snapshot else self._statement_reader).connect() as conn:
            yield conn

    @contextlib.contextmanager
    def reading(self, *, snapshot: bool = True) -> Iterator[ReadUnit]:
        """A read-only unit: the read side of every repository, on one `read` transaction."""
        with self.read(snapshot=snapshot) as conn:
            yield ReadUnit(
                conn,
                configuration=self.configuration,
                now=dt.datetime.now(dt.UTC),
                policy=self.policy,
            )

    def dispose(self) -> None:
        self.engine.dispose()

    def _is_transient(self, error: DBAPIError) -> bool:
        if self.is_sqlite:
            message = str(error.orig).lower()
            return "locked" in message or "busy" in message
        return getattr(error.orig, "sqlstate", None) in _TRANSIENT_SQLSTATES


def _configure_sqlite(engine: Engine, synchronous: str, busy_timeout_ms: int) -> None:
    """WAL, durable commits, foreign keys, and transactions begun by us, not by pysqlite."""
    synchronous = synchronous.upper()
    if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
        raise ValueError(f"sqlite synchronous must be OFF, NORMAL, FULL or EXTRA: {synchronous}")

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("omnistock_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
