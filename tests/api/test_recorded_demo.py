"""The recorded demo session: the API answers byte for byte what it answered when recorded.

A golden master for changes that must not change behaviour (a restructuring): the session in
`tests/recorded/session.py` (about 250 requests over every route, reads and writes, successes
and refusals) runs on a freshly loaded demo retailer, and every answer (status, content type,
headers, body text) must equal the one in `tests/recorded/demo_session.json`. Only what
varies from run to run is normalised first: clock times and random UUIDs (see
`recorded.recording.Normaliser`). The first differing request fails the test, named, with
what was expected, what came, and a diff.

The demo is loaded through the `omnistock demo` command, as a user would, not by importing
its module; the API is served by `create_app` in a TestClient, without housekeeping (no
sweeper releases holds or expires pickups behind the session's back). The same recording
holds on SQLite and on PostgreSQL.

To record again, deliberately (after a change of behaviour that is meant, or of the session):

    OMNISTOCK_RECORD=1 pytest tests/api/test_recorded_demo.py

The SQLite run rewrites the recording; the PostgreSQL run after it replays what was just
written. Review the diff of the JSON file before committing it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.routing import compile_path
from typer.testing import CliRunner

from omnistock import cli
from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from recorded import recording, session
from recorded.recording import Driver, Mismatch
from scoped_keys import key_with

RECORDING = Path(__file__).parents[1] / "recorded" / "demo_session.json"
ADMIN_KEY = "test-admin-key"
ABOUT = (
    "HTTP exchanges of tests/recorded/session.py on a freshly loaded demo (omnistock demo), "
    "replayed by tests/api/test_recorded_demo.py; record again with OMNISTOCK_RECORD=1"
)


def recording_wanted() -> bool:
    return os.environ.get("OMNISTOCK_RECORD", "").strip().lower() not in ("", "0", "false", "no")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def utc_day() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def load_demo(url: str) -> None:
    """`omnistock demo --database URL`, as a user would run it."""
    result = CliRunner().invoke(cli.app, ["demo", "--database", url])
    assert result.exit_code == 0, f"omnistock demo failed: {result.exception!r}\n{result.output}"


def play(url: str, expected: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The session against the API on `url`: its exchanges, each checked against `expected`
    (a recording) as it comes, when given."""
    settings = Settings(admin_key=ADMIN_KEY, database_url=url)
    database = Database(url, policy=settings.order_policy())
    try:
        keys = {"admin": bearer(ADMIN_KEY), "none": {}, "unknown": bearer("osk_never_issued")}
        for name, scopes in session.SCOPED_KEYS.items():
            keys[name] = key_with(database, *scopes)
        app = create_app(settings, database)  # housekeeping_thread: off
        with TestClient(app, raise_server_exceptions=False) as client:
            driver = Driver(client, keys, expected=expected)
            session.play(driver)
            driver.finish()
        return driver.exchanges
    finally:
        database.dispose()


@pytest.mark.slow
def test_the_demo_session_answers_byte_for_byte_as_recorded(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings come from OMNISTOCK_* too (costs, pickup expiry…): only their defaults count.
    for name in Settings.model_fields:
        monkeypatch.delenv(f"OMNISTOCK_{name.upper()}", raising=False)
    rewrite = recording_wanted() and database_url.startswith("sqlite")
    day = utc_day()
    load_demo(database_url)
    try:
        exchanges = play(database_url, None if rewrite else recording.load(RECORDING))
    except Mismatch:
        if utc_day() != day:  # stores' daily capacities start again at midnight UTC
            pytest.xfail("the run crossed midnight UTC, when daily capacities start again")
        raise
    if rewrite:
        recording.save(RECORDING, exchanges, about=ABOUT)


def test_the_recording_covers_every_route_of_the_api(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path}/never-opened.db")  # the routes need no data
    try:
        paths = create_app(Settings(admin_key=ADMIN_KEY), database).openapi()["paths"]
    finally:
        database.dispose()
    routes = {(method.upper(), template) for template, ops in paths.items() for method in ops}
    exercised = list(recording.paths_of(recording.load(RECORDING)))

    missed = {
        (method, template)
        for method, template in routes
        if not any(
            sent == method and compile_path(template)[0].match(path) for sent, path in exercised
        )
    }

    assert not missed, f"routes no recorded request exercises: {sorted(missed)}"
