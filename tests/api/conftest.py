"""HTTP fixtures: the v1 API in a TestClient, on SQLite and on PostgreSQL.

- ``client``: a ``TestClient`` over ``create_app`` on this test's fresh database (the shared
  ``db``/``database_url`` fixtures), sending the admin key by default. Server errors come back
  as 500 answers instead of exceptions, so a test can assert that none happened.
- ``anonymous``: the same app with no ``Authorization`` header.
- ``browser``: the same app as a browser on the console sees it: cookies kept, redirects not
  followed (``console_helpers`` signs it in).
- ``shop``: sets up items, locations and stock through the API, failing loudly if setup fails.
- ``item`` / ``location``: one item (``SHIRT-M``) and one warehouse (``WH-1``), made via the API.
- ``unchanged``: ``with unchanged(): ...`` asserts no table changed inside the block (stock,
  ledger, event feed, catalog, idempotency keys, API keys).
- ``tables``: ``tables()`` is every row of every table now, for comparisons inside loops.
- ``problem``: ``problem(response, 422, field="quantity")`` asserts an RFC 9457 answer.
- ``france``: the French network of ``orders_helpers`` (locations, items, channels; no stock).
- ``books_balance``: after the test, ``orders_helpers.assert_books_balance`` (a module asks for it
  with ``pytestmark = pytest.mark.usefixtures("books_balance")``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from orders_helpers import assert_books_balance, set_up_france
from sqlalchemy import select

from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.db.tables import api_keys, metadata

ADMIN_KEY = "test-admin-key"
PROBLEM_JSON = "application/problem+json"
SKU = "SHIRT-M"
LOCATION = "WH-1"

SHIRT = {"name": "Linen shirt, size M", "barcode": "4006381333931", "price": "39.90"}
WAREHOUSE = {
    "name": "Central warehouse",
    "type": "warehouse",
    "lat": 48.8566,
    "lon": 2.3522,
    "ship_enabled": True,
    "pickup_enabled": False,
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def compact_json(value: Any) -> bytes:
    """JSON as the API writes every answer: UTF-8, no spaces."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def assert_problem(response: httpx.Response, status: int, *, field: str | None = None) -> Any:
    """The answer is an RFC 9457 problem with this status (and this `field`, if given)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"], body
    assert response.content == compact_json(body), "every problem is encoded alike"
    if field is not None:
        assert body.get("field") == field, body
    return body


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order; but when a key was last used, which
    any request records, refused or not."""
    with db.read() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(
                    select(
                        *(c for c in table.columns if c is not api_keys.c.last_used_at)
                    ).order_by(*table.primary_key.columns)
                )
            ]
            for table in metadata.sorted_tables
        }


@dataclass
class Shop:
    """Drives the API the way an integrator would; setup calls must succeed."""

    client: TestClient

    def item(self, sku: str = SKU, **fields: Any) -> dict[str, Any]:
        response = self.client.put(f"/v1/items/{sku}", json={**SHIRT, **fields})
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def location(self, code: str = LOCATION, **fields: Any) -> dict[str, Any]:
        response = self.client.put(f"/v1/locations/{code}", json={**WAREHOUSE, **fields})
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def move(
        self,
        type: str,
        quantity: int,
        *,
        sku: str = SKU,
        location: str = LOCATION,
        **fields: Any,
    ) -> httpx.Response:
        body = {"location": location, "sku": sku, "type": type, "quantity": quantity, **fields}
        return self.client.post("/v1/stock/movements", json=body)

    def moved(self, type: str, quantity: int, **kwargs: Any) -> dict[str, Any]:
        """Record a movement that must be accepted; returns `{movement, position}`."""
        response = self.move(type, quantity, **kwargs)
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def stock(self, sku: str = SKU) -> dict[str, Any]:
        response = self.client.get(f"/v1/stock/{sku}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def position(self, sku: str = SKU, location: str = LOCATION) -> dict[str, Any]:
        """The five quantities at one location (zeros when there is no position yet)."""
        for found in self.stock(sku)["positions"]:
            if found["location"] == location:
                return {k: v for k, v in found.items() if k != "location"}
        return dict.fromkeys(("on_hand", "reserved", "unsellable", "inbound", "available"), 0)

    def ledger(self, sku: str = SKU, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"/v1/stock/{sku}/movements", params=params)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body


@pytest.fixture
def app(db: Database, database_url: str) -> FastAPI:
    return create_app(Settings(admin_key=ADMIN_KEY, database_url=database_url), db)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, headers=bearer(ADMIN_KEY)) as client:
        yield client


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    """A browser on the console: no Authorization header, cookies kept, redirects not
    followed (a test sees each 303)."""
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


@pytest.fixture
def shop(client: TestClient) -> Shop:
    return Shop(client)


@pytest.fixture
def item(shop: Shop) -> str:
    return str(shop.item()["sku"])


@pytest.fixture
def location(shop: Shop) -> str:
    return str(shop.location()["code"])


@pytest.fixture
def unchanged(db: Database) -> Callable[[], contextlib.AbstractContextManager[None]]:
    @contextlib.contextmanager
    def nothing_changes() -> Iterator[None]:
        before = snapshot(db)
        yield
        assert snapshot(db) == before

    return nothing_changes


@pytest.fixture
def tables(db: Database) -> Callable[[], dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table, now: two equal calls prove that nothing changed in between."""
    return lambda: snapshot(db)


@pytest.fixture
def problem() -> Callable[..., Any]:
    return assert_problem


@pytest.fixture
def france(shop: Shop) -> None:
    set_up_france(shop)


@pytest.fixture
def books_balance(db: Database) -> Iterator[None]:
    yield
    assert_books_balance(db)
