"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

- ``database_url`` (parametrized ``sqlite`` / ``postgresql``): a fresh, empty, migrated database
  for one test. SQLite ones are copies of a file migrated once per session; PostgreSQL ones are
  copies of a template database migrated once per session, emptied after a test and handed to
  the next (``PostgresDatabases``), which is cheaper still than a copy.
- ``db``: ``Database(database_url)``, disposed after the test.
- ``pg_server_url``: the admin URL of the session's PostgreSQL server, for tests that need a
  database of their own.

PostgreSQL comes from ``OMNISTOCK_TEST_POSTGRES_URL`` when set (a server URL such as
``postgresql+psycopg://postgres@127.0.0.1:54329/postgres``); otherwise a throwaway cluster is
started in a temporary directory from the local ``initdb``/``pg_ctl`` and removed at the end.
Without PostgreSQL its tests are skipped, except under CI (``CI`` set), where a missing
PostgreSQL fails them and any skipped test fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql
from psycopg.rows import TupleRow
from sqlalchemy.engine import make_url

from clusters import (
    PG_NOT_FOUND,
    admin_connect,
    create_database,
    drop_database,
    find_postgres_bindir,
    running_in_ci,
    throwaway_cluster,
    unavailable,
    with_database,
)

if TYPE_CHECKING:
    from omnistock.db import Database

POSTGRES_URL_ENV = "OMNISTOCK_TEST_POSTGRES_URL"

# Hypothesis's `too_slow` check times input generation on the wall clock: on a shared 2-core
# machine running PostgreSQL beside the tests it fails for the load, not for the strategy.
settings.register_profile("omnistock", suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("omnistock")


def shares_the_machine() -> bool:
    """Whether this session is one of several pytest-xdist workers running at once."""
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL (``postgresql+psycopg://...``) of the PostgreSQL server used by the tests.

    Each pytest-xdist worker starts a cluster of its own where it can: the event feed numbers
    an event only once every older transaction of the *cluster* has ended, so a worker's
    writes would hold back the feed another worker's test reads at once.
    """
    external = os.environ.get(POSTGRES_URL_ENV)
    bindir = find_postgres_bindir()
    if external and not (shares_the_machine() and bindir is not None):
        url = with_database(external, make_url(external).database or "postgres")
        try:
            admin_connect(url).close()
        except psycopg.Error as error:
            pytest.fail(f"{POSTGRES_URL_ENV}={external} is not reachable: {error}", pytrace=False)
        yield url
        return
    if bindir is None:
        unavailable(PG_NOT_FOUND)
    with throwaway_cluster(bindir) as url:
        yield url


# --------------------------------------------------------------------------- PostgreSQL databases


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> Iterator[str]:
    """Name of a database migrated once per session, copied for each PostgreSQL test.

    The name carries a random suffix so that sessions sharing one external server do not
    trample each other's template.
    """
    from omnistock.db import Database  # lazily: unit tests need no database layer

    name = f"omnistock_template_{uuid.uuid4().hex[:8]}"
    database = Database(create_database(pg_server_url, name))
    try:
        database.migrate()
    finally:
        # CREATE DATABASE ... TEMPLATE needs the template to have no open connection.
        database.dispose()
    try:
        yield name
    finally:
        drop_database(pg_server_url, name)


class PostgresDatabases:
    """Fresh migrated PostgreSQL databases for tests, handed out again once emptied.

    Copying the template (CREATE DATABASE ... TEMPLATE) copies some 8 MB of catalogs and takes
    about ten times as long as emptying a database a test has finished with: so a returned
    database has its other connections ended, its tables truncated (sequences restarted) and the
    template's own rows put back, and goes to the next test. A database whose schema a test
    changed (a migration test) is dropped instead, as is any that cannot be emptied at once.
    """

    def __init__(self, admin_url: str, template: str) -> None:
        self.admin_url = admin_url
        self.template = template
        self.free: list[str] = []
        self.made: set[str] = set()
        with psycopg.connect(_libpq(with_database(admin_url, template))) as conn:
            self.schema = _schema_signature(conn)
            self.seeded = _seeded_rows(conn)

    def take(self) -> str:
        if self.free:
            return with_database(self.admin_url, self.free.pop())
        name = f"t_{uuid.uuid4().hex}"
        url = create_database(self.admin_url, name, template=self.template)
        self.made.add(name)
        return url

    def give_back(self, url: str) -> None:
        name = make_url(url).database
        assert name in self.made, name
        try:
            _empty(url, self.schema, self.seeded)
        except (psycopg.Error, SchemaChanged):
            self.made.discard(name)
            drop_database(self.admin_url, name)
        else:
            self.free.append(name)

    def drop_all(self) -> None:
        for name in self.made:
            drop_database(self.admin_url, name)


class SchemaChanged(Exception):
    """The test changed the database's schema: it cannot be emptied back into a fresh one."""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_SIGNATURE = """
SELECT md5(string_agg(part, ',' ORDER BY part)) FROM (
    SELECT c.relname || ':' || c.relkind::text AS part FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL
    SELECT c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
        || ':' || a.attnotnull::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT version_num FROM alembic_version
) AS parts
"""


def _schema_signature(conn: psycopg.Connection[TupleRow]) -> str:
    row = conn.execute(_SIGNATURE).fetchone()
    assert row is not None
    return str(row[0])


def _tables(conn: psycopg.Connection[TupleRow]) -> list[str]:
    query = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    return [row[0] for row in conn.execute(query)]


def _seeded_rows(conn: psycopg.Connection[TupleRow]) -> dict[str, list[tuple[object, ...]]]:
    """The rows the migrations themselves wrote (alembic's own version row aside)."""
    seeded = {}
    for table in _tables(conn):
        if table != "alembic_version":
            query = sql.SQL("SELECT * FROM {}").format(sql.Identifier(table))
            rows = conn.execute(query).fetchall()
            if rows:
                seeded[table] = rows
    return seeded


def _empty(url: str, schema: str, seeded: dict[str, list[tuple[object, ...]]]) -> None:
    """Bring a used test database back to the template's state, or raise."""
    name = make_url(url).database
    with psycopg.connect(_libpq(url), autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        if _schema_signature(conn) != schema:
            raise SchemaChanged(name)
        tables = [sql.Identifier(t) for t in _tables(conn) if t != "alembic_version"]
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '2s'")
            truncate = sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE")
            conn.execute(truncate.format(sql.SQL(", ").join(tables)))
            for table, rows in seeded.items():
                marks = sql.SQL(", ").join(sql.Placeholder() * len(rows[0]))
                insert = sql.SQL("INSERT INTO {} VALUES ({})").format(sql.Identifier(table), marks)
                conn.cursor().executemany(insert, rows)


@pytest.fixture(scope="session")
def pg_databases(pg_server_url: str, pg_template: str) -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(pg_server_url, pg_template)
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session: each test's database is a copy of it."""
    url = sqlite_database(tmp_path_factory.mktemp("sqlite-template"))
    return Path(make_url(url).database or "")


# --------------------------------------------------------------------------- per-test fixtures


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, empty, migrated database for this test, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copyfile(template, tmp_path / "omnistock.db")
        yield f"sqlite:///{tmp_path}/omnistock.db"
        return
    databases: PostgresDatabases = request.getfixturevalue("pg_databases")
    url = databases.take()
    try:
        yield url
    finally:
        databases.give_back(url)


def sqlite_database(directory: Path) -> str:
    """Create and migrate a SQLite database file in ``directory``; return its URL."""
    from omnistock.db import Database

    url = f"sqlite:///{directory}/omnistock.db"
    database = Database(url)
    try:
        database.migrate()
    finally:
        database.dispose()
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The application's ``Database`` on this test's fresh database."""
    from omnistock.db import Database

    database = Database(database_url)
    try:
        yield database
    finally:
        database.dispose()


# --------------------------------------------------------------------------- no skips in CI


class NoSkipsInCI:
    """Under CI a skipped test proves nothing: count skips and fail an otherwise green run."""

    def __init__(self) -> None:
        self.skipped: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skipped.append(report.nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:
            self.skipped.append(report.nodeid or "<collection>")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.skipped and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.skipped:
            return
        terminalreporter.section("skipped tests fail the run under CI", red=True, bold=True)
        terminalreporter.line(
            f"CI={os.environ.get('CI')!r} and {len(self.skipped)} test(s) were skipped; "
            "every test must run in CI (reasons in the short test summary):",
            red=True,
        )
        for nodeid in self.skipped:
            terminalreporter.line(f"  {nodeid}")


def pytest_configure(config: pytest.Config) -> None:
    if running_in_ci():
        config.pluginmanager.register(NoSkipsInCI(), "omnistock-no-skips-in-ci")
