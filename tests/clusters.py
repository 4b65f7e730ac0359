"""PostgreSQL clusters of the tests' own: found, started on a free port of 127.0.0.1 as the
`postgres` user (PostgreSQL refuses root), stopped and deleted afterwards.

`tests/conftest.py` starts one for the session when no server is given; a fault test starts
another that it may restart or stop (`throwaway_cluster`). Without PostgreSQL, `unavailable`
skips, except under CI, where it fails. The helpers at the end make and drop databases on
such a server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow
from sqlalchemy.engine import URL, make_url

PG_NOT_FOUND = "PostgreSQL not found: install postgresql or set OMNISTOCK_TEST_POSTGRES_URL"
# Superuser "postgres", trusted on 127.0.0.1 and the socket; C locale exists everywhere.
INITDB_OPTIONS = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
PG_TEST_SETTINGS = {
    # A throwaway cluster for tests: durability off, room for concurrency tests.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
}


def running_in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but a false-ish value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def find_postgres_bindir() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, then the newest Debian one."""
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(initdb).resolve().parent
        if (bindir / "pg_ctl").exists():
            return bindir
    debian = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()]
    debian.sort(key=lambda d: _version_key(d.parent.name), reverse=True)
    return debian[0] if debian else None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def as_postgres_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as ``postgres`` when we are root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _run(command: list[str], cwd: Path) -> None:
    """Run a PostgreSQL tool; on failure raise with its output (and the server log, if any)."""
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    # A new session keeps Ctrl-C away from the postmaster: the fixture stops it in teardown.
    result = subprocess.run(
        as_postgres_user(command),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        start_new_session=True,
        check=False,
    )
    if result.returncode != 0:
        log = cwd / "postgres.log"
        log_text = log.read_text(errors="replace")[-4000:] if log.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n"
            f"{result.stdout}{result.stderr}\n{log_text}"
        )


def _make_workdir() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="omnistock-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres")
    return workdir


@contextlib.contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[str]:
    """Start a PostgreSQL cluster on 127.0.0.1 on a free port; yield its admin URL.

    The cluster lives in a temporary directory (socket included), trusts local connections,
    and is stopped and deleted on exit, whatever happened.
    """
    workdir = _make_workdir()
    datadir = workdir / "data"
    try:
        _run([str(bindir / "initdb"), "-D", str(datadir), *INITDB_OPTIONS], cwd=workdir)
        port = _start_on_free_port(bindir, workdir, datadir)
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        finally:
            with contextlib.suppress(RuntimeError):
                stop = [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "-w", "stop"]
                _run(stop, cwd=workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _start_on_free_port(bindir: Path, workdir: Path, datadir: Path, attempts: int = 3) -> int:
    """Start the server on a free port, retrying if another process took that port first."""
    for _ in range(attempts - 1):
        with contextlib.suppress(RuntimeError):
            return _start_server(bindir, workdir, datadir, _free_port())
    return _start_server(bindir, workdir, datadir, _free_port())


def _start_server(bindir: Path, workdir: Path, datadir: Path, port: int) -> int:
    settings = {
        **PG_TEST_SETTINGS,
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(workdir),
    }
    options = " ".join(f"-c {name}={value}" for name, value in settings.items())
    log = workdir / "postgres.log"
    start = [str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(log), "-w", "-t", "60"]
    _run([*start, "-o", options, "start"], cwd=workdir)
    return port


def unavailable(reason: str) -> NoReturn:
    """Skip PostgreSQL tests outside CI; fail them under CI, where a skip proves nothing."""
    if running_in_ci():
        pytest.fail(f"{reason} (CI is set: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------- databases


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database, with SQLAlchemy's psycopg driver."""
    parsed: URL = make_url(url).set(drivername="postgresql+psycopg", database=database)
    return parsed.render_as_string(hide_password=False)


def admin_connect(url: str) -> psycopg.Connection[TupleRow]:
    """An autocommit psycopg connection for CREATE/DROP DATABASE."""
    libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(libpq_url, autocommit=True, connect_timeout=10)


def drop_database(admin_url: str, name: str) -> None:
    """Drop a database even if connections were left open (PostgreSQL 13+)."""
    with admin_connect(admin_url) as conn:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(statement.format(sql.Identifier(name)))


def create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Create a database (optionally as a copy of ``template``) and return its URL."""
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    with admin_connect(admin_url) as conn:
        conn.execute(statement)
    return with_database(admin_url, name)
