"""Connections, transactions and migrations for SQLite and PostgreSQL.

`Database.run(fn)` is how every use case that writes runs: `fn` gets a `UnitOfWork`, one
transaction that commits when `fn` returns (with the events `fn` emitted written to the
outbox in the same transaction) and rolls back when it raises. Transient lock conflicts
(a PostgreSQL deadlock or serialization failure, a busy SQLite file) are retried, so they
never reach a client.

On SQLite, writers take the file's write lock at once (`BEGIN IMMEDIATE`) and, inside one
process, queue on a lock of their own: SQLite has one writer at a time, and waiting in line
beats retrying on `SQLITE_BUSY`. Other processes on the same file wait on the busy timeout.

When the database itself fails (PostgreSQL restarting or out of reach, a disk full),
`outage_of` tells such an error from a faulty statement, so that the API answers it as a
503 (or 507) to retry rather than a 500. Nothing retries a database that is away: connecting
to PostgreSQL gives up after `connect_timeout` seconds (5 unless the URL sets it), and
the pool tests each connection before use, so a restarted server is used again at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from omnistock.db.configuration import ConfigurationCache
from omnistock.db.uow import KnownKeys, ReadUnit, UnitOfWork
from omnistock.domain.orders import OrderPolicy

T = TypeVar("T")

MIGRATIONS = Path(__file__).parent / "migrations"
#: Key of the PostgreSQL advisory lock that lets one process migrate at a time.
_MIGRATION_LOCK = 0x6F6D6E69
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}
_MAX_ATTEMPTS = 8
_CONNECT_TIMEOUT_SECONDS = 5
#: SQLSTATE classes of a server that cannot serve now: connection exception, insufficient
#: resources, operator intervention (shutdown, restart, cancel), system error.
_OUTAGE_SQLSTATE_CLASSES = {"08", "53", "57", "58"}
_DISK_FULL_SQLSTATE = "53100"
#: SQLite's primary result codes of a file that cannot be used now.
_SQLITE_OUTAGES = {
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_IOERR",
    "SQLITE_NOMEM",
    "SQLITE_PROTOCOL",
    "SQLITE_READONLY",
}
#: A note on an error raised while committing over a connection that was lost: the commit
#: may have happened or not.
COMMIT_IN_DOUBT = "omnistock: the connection was lost during COMMIT; its outcome is unknown"


class Outage(enum.Enum):
    """Why the database cannot do what was asked now, through no fault of the request."""

    UNAVAILABLE = "unavailable"  # away, restarting, out of reach, or busy: retry
    STORAGE_FULL = "storage-full"  # no room left to write: retry once space is freed


def outage_of(error: DBAPIError) -> Outage | None:
    """The outage `error` reports, or None when it is the statement's fault (a bug)."""
    orig = error.orig
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "")
        primary = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
        if primary == "SQLITE_FULL":
            return Outage.STORAGE_FULL
        return Outage.UNAVAILABLE if primary in _SQLITE_OUTAGES else None
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate == _DISK_FULL_SQLSTATE:
        return Outage.STORAGE_FULL
    if error.connection_invalidated:
        return Outage.UNAVAILABLE
    if sqlstate is None:  # the driver's own: connection refused, timed out, closed
        return Outage.UNAVAILABLE if isinstance(error, OperationalError | InterfaceError) else None
    if sqlstate[:2] in _OUTAGE_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES:
        return Outage.UNAVAILABLE
    return None


def commit_in_doubt(error: BaseException) -> bool:
    """Whether `error` lost the connection while committing (see `COMMIT_IN_DOUBT`)."""
    return COMMIT_IN_DOUBT in getattr(error, "__notes__", ())


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
            bounded = "connect_timeout" in self.url.query
            self.engine = create_engine(
                self.url,
                connect_args={} if bounded else {"connect_timeout": _CONNECT_TIMEOUT_SECONDS},
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_pre_ping=True,
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
        # Alembic is imported here, not at the top: a server process never migrates, and
        # importing it costs a quarter of a second of every server's start.
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._write_lock, self._writer.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One write transaction: commits (with its events) on success, rolls back on error.

        An error that loses the connection during the commit carries the `COMMIT_IN_DOUBT`
        note: the change may be in the database although no answer said so.
        """
        committing = False
        with self._write_lock:
            try:
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
                    committing = True
            except DBAPIError as error:
                if committing and not self.is_sqlite and outage_of(error) is Outage.UNAVAILABLE:
                    error.add_note(COMMIT_IN_DOUBT)
                raise
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
