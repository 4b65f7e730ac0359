"""The role-by-route matrix of the README, cell by cell, on both databases.

The README's table is the specification: for every route, the scope it asks for and what
each role may do there. Every route of the API must have its row. Then each role calls each
route with a request within its reach (the integration key sells on `web`, the store key acts
at `ST-LYON`): where the table says a dash, the answer is 403 `forbidden` and nothing changed;
anywhere else, the request succeeds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from access_matrix import CHANNEL, REQUESTS, STORE, Raw, World
from fastapi import FastAPI
from fastapi.testclient import TestClient
from orders_helpers import set_up_france

from conftest import Shop, bearer, snapshot
from omnistock.db import Database

README = Path(__file__).parents[2] / "README.md"
ROLES = ("admin", "viewer", "integration", "store")
STREAM = "/v1/events/stream"
REFUSED = "\u2013"  # an en dash: the cell of a refusal


def readme_table() -> dict[str, tuple[str, dict[str, str]]]:
    """`METHOD /path` → (its scope, what each role may do), as the README says."""
    text = README.read_text()
    table = text[text.index("<!-- role-by-route") : text.index("<!-- end role-by-route")]
    rows = {}
    for line in table.splitlines():
        found = re.match(r"\| `([A-Z]+ [^`]+)` \| `([a-z]+:[a-z]+)` \|(.*)\|$", line)
        if found:
            cells = [cell.strip() for cell in found[3].split("|")]
            rows[found[1]] = (found[2], dict(zip(ROLES, cells, strict=True)))
    return rows


def routes(app: FastAPI) -> dict[str, str]:
    """`METHOD /path` → the scope its OpenAPI security asks for, for every keyed route."""
    return {
        f"{method.upper()} {path}": operation["security"][0]["HTTPBearer"][0]
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    }


def test_the_readme_has_a_row_for_every_route_with_the_scope_it_asks_for(app: FastAPI) -> None:
    table = readme_table()
    assert {route: scope for route, (scope, _) in table.items()} == routes(app)
    assert set(REQUESTS) == {tuple(route.split(" ", 1)) for route in table}


@pytest.fixture
def world(client: TestClient, shop: Shop) -> World:
    """The French network of the order tests, with stock where the requests need it."""
    set_up_france(shop)
    made = World(client, shop)
    made.stock_up()
    return made


@pytest.fixture
def keys(client: TestClient, world: World) -> dict[str, dict[str, str]]:
    """The Authorization header of a key of each role."""
    bodies = {
        "admin": {"role": "admin"},
        "viewer": {"role": "viewer"},
        "integration": {"role": "integration", "channel": CHANNEL},
        "store": {"role": "store", "locations": [STORE]},
    }
    made = {}
    for role, body in bodies.items():
        response = client.post("/v1/keys", json={"name": f"a {role} key", **body})
        assert response.status_code == 201, response.text
        made[role] = bearer(response.json()["secret"])
    return made


def test_every_role_may_call_each_route_as_the_readme_says_and_a_refusal_changes_nothing(
    client: TestClient, db: Database, world: World, keys: dict[str, dict[str, str]]
) -> None:
    for route, (_, cells) in readme_table().items():
        method, path = route.split(" ", 1)
        for role, cell in cells.items():
            request = REQUESTS[method, path](world)
            if cell == REFUSED:
                _assert_refused(client, db, request, keys[role], (route, role))
            elif path == STREAM:
                answer = _send(client, request, keys[role])
                assert answer.json()["field"] == "types", (route, role, answer.text)
            else:
                answer = _send(client, request, keys[role])
                assert answer.status_code < 300, (route, role, answer.text)


def _send(client: TestClient, request: tuple[str, str, Any], headers: dict[str, str]) -> Any:
    method, url, body = request
    if isinstance(body, Raw):
        typed = {**headers, "Content-Type": body.media_type}
        return client.request(method, url, content=body.content, headers=typed)
    return client.request(method, url, json=body, headers=headers)


def _assert_refused(
    client: TestClient,
    db: Database,
    request: tuple[str, str, Any],
    headers: dict[str, str],
    case: tuple[str, str],
) -> None:
    before = snapshot(db)
    answer = _send(client, request, headers)
    assert answer.status_code == 403, (case, answer.text)
    assert answer.headers["content-type"] == "application/problem+json", case
    assert answer.json()["code"] == "forbidden", case
    assert snapshot(db) == before, case
