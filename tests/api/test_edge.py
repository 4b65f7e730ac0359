"""The edge: media types, and a database that is gone."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database

MOVEMENT = {"location": "LOC-1", "sku": "SKU-1", "type": "receipt", "quantity": 1}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (None, json.dumps(MOVEMENT)),
        ("text/plain", json.dumps(MOVEMENT)),
        ("application/x-www-form-urlencoded", "location=LOC-1&sku=SKU-1&type=receipt"),
    ],
    ids=["no content type", "text", "form"],
)
def test_a_body_that_is_not_json_is_a_415_and_changes_nothing(
    client, shop, item, location, unchanged, problem, content_type, body
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    with unchanged():
        response = client.post("/v1/stock/movements", content=body, headers=headers)

    found = problem(response, 415, field="body")
    assert "application/json" in found["detail"]


def test_json_media_types_are_recognised_whatever_their_case_and_parameters(
    client, item, location
) -> None:
    body = json.dumps({**MOVEMENT, "sku": item, "location": location})
    for content_type in ("Application/JSON", "application/json; charset=utf-8"):
        response = client.post(
            "/v1/stock/movements", content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code == 201, content_type


def test_a_utf16_body_is_refused_even_with_an_oddly_cased_json_type(
    client, item, location, unchanged, problem
) -> None:
    body = json.dumps({**MOVEMENT, "sku": item, "location": location}).encode("utf-16")
    with unchanged():
        response = client.post(
            "/v1/stock/movements", content=body, headers={"Content-Type": "Application/JSON"}
        )

    problem(response, 400, field="body")


def unreachable(database_url: str) -> str:
    """The same kind of database, somewhere it cannot be reached."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return "sqlite:////nonexistent-directory/omnistock.db"
    return url.set(host="127.0.0.1", port=1).render_as_string(hide_password=False)


def test_a_database_that_cannot_be_reached_is_a_503_problem_to_retry(
    database_url: str, problem
) -> None:
    gone = Database(unreachable(database_url))
    app = create_app(Settings(admin_key="k", database_url=gone.url.render_as_string()), gone)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/stock/SKU-1", headers={"Authorization": "Bearer k"})

    problem(response, 503)
    assert response.headers["Retry-After"] == "1"
    gone.dispose()
