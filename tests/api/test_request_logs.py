"""One JSON log line per request with `OMNISTOCK_LOG_FORMAT=json`, and a request id on every
answer (issue 13, section 5).

- the line, as `omnistock.logs.JsonFormatter` writes it, has the request id, method, route
  template, status, milliseconds and the caller's key id (none without a key);
- an incoming `X-Request-ID` that is a sane token is kept and echoed; anything else is
  replaced by a new id, echoed as well, on problems too: a 401, BodyGuard's 413 before any
  route, and a 500 from a route that raised (still logged with its traceback);
- the default format (`text`) writes no such line: uvicorn's access log stays the one.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.logs import REQUESTS, JsonFormatter
from omnistock.services.access import ENV_ADMIN

ADMIN_KEY = "test-admin-key"
NEW_ID = re.compile(r"[0-9a-f]{32}")


class Lines:
    """What the request logger writes, through the JSON formatter, one parsed line each."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def read(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def lines() -> Iterator[Lines]:
    written = Lines()
    handler = logging.StreamHandler(written.stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(REQUESTS)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield written
    logger.removeHandler(handler)
    logger.setLevel(level)


def app_logging(db: Database, database_url: str, log_format: str) -> FastAPI:
    settings = Settings(admin_key=ADMIN_KEY, database_url=database_url, log_format=log_format)
    app = create_app(settings, db)

    @app.get("/v1/broken", include_in_schema=False)
    async def broken() -> None:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
def json_app(db: Database, database_url: str) -> FastAPI:
    return app_logging(db, database_url, "json")


@pytest.fixture
def signed_in(json_app: FastAPI) -> Iterator[TestClient]:
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with TestClient(json_app, raise_server_exceptions=False, headers=headers) as client:
        yield client


@pytest.fixture
def stranger(json_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(json_app, raise_server_exceptions=False) as client:
        yield client


def test_a_request_logs_one_json_line_with_its_id_route_status_time_and_key(
    signed_in, lines
) -> None:
    answer = signed_in.get("/v1/items/NO-SUCH-SKU", headers={"X-Request-ID": "req-42.a:b"})

    assert answer.status_code == 404
    assert answer.headers["X-Request-ID"] == "req-42.a:b"
    [line] = lines.read()
    assert line["ms"] > 0
    assert line["time"].endswith("Z")
    assert {k: v for k, v in line.items() if k not in {"ms", "time", "pid"}} == {
        "level": "info",
        "logger": REQUESTS,
        "request_id": "req-42.a:b",
        "method": "GET",
        "route": "/v1/items/{sku}",
        "status": 404,
        "key_id": ENV_ADMIN,
    }


@pytest.mark.parametrize("sent", [None, "", "has space", "x" * 129, 'quote"d', "é"], ids=repr)
def test_a_request_without_a_sane_id_gets_a_new_one_echoed_and_logged(
    signed_in, lines, sent
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent.encode()}

    answer = signed_in.get("/healthz", headers=headers)

    given = answer.headers["X-Request-ID"]
    assert NEW_ID.fullmatch(given), given
    [line] = lines.read()
    assert (line["request_id"], line["route"], line["key_id"]) == (given, "/healthz", None)


def test_a_refusal_without_a_key_carries_the_id_and_logs_no_key_id(stranger, lines) -> None:
    answer = stranger.get("/v1/locations", headers={"X-Request-ID": "abc"})

    assert (answer.status_code, answer.headers["X-Request-ID"]) == (401, "abc")
    [line] = lines.read()
    assert (line["status"], line["key_id"]) == (401, None)


def test_a_body_refused_before_any_route_carries_the_id_and_logs_its_route(
    signed_in, lines, problem
) -> None:
    too_big = b"[" + b"0," * 600_000 + b"0]"

    answer = signed_in.post("/v1/orders", content=too_big, headers={"X-Request-ID": "big"})

    problem(answer, 413, field="body")
    assert answer.headers["X-Request-ID"] == "big"
    [line] = lines.read()
    assert (line["route"], line["status"], line["key_id"]) == ("/v1/orders", 413, None)


def test_a_route_that_raises_answers_a_500_problem_with_the_id_and_the_bug_is_logged(
    signed_in, lines, problem, caplog
) -> None:
    answer = signed_in.get("/v1/broken", headers={"X-Request-ID": "oops"})

    problem(answer, 500)
    assert answer.headers["X-Request-ID"] == "oops"
    [line] = lines.read()
    assert (line["route"], line["status"]) == ("/v1/broken", 500)
    assert any(r.exc_info and "a bug" in str(r.exc_info[1]) for r in caplog.records)


def test_the_default_text_format_writes_no_request_line(db, database_url, lines, caplog) -> None:
    app = app_logging(db, database_url, "text")
    with TestClient(app) as client:
        answer = client.get("/healthz", headers={"X-Request-ID": "plain"})

    assert answer.headers["X-Request-ID"] == "plain"
    assert lines.read() == []
    assert not [r for r in caplog.records if r.name == REQUESTS]
