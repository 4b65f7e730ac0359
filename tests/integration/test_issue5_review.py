"""Review of issue 5 (returns and transfers): the bugs the review found, each shown by a test
marked as an expected failure until it is fixed, on SQLite and PostgreSQL.

A Paris store and a Lyon warehouse; the warehouse sends two tees to the store, and they are
on their way (shipped) when each test begins.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from omnistock.api.app import create_app
from omnistock.config import Settings
from omnistock.db import Database, UnitOfWork, keys
from omnistock.domain.stock import MovementType
from omnistock.services import access, catalog, stock, transfers
from samples import STORE, TEE, WAREHOUSE

ADMIN_KEY = "review-admin-key"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(db: Database, database_url: str) -> Iterator[TestClient]:
    app = create_app(Settings(admin_key=ADMIN_KEY, database_url=database_url), db)
    with TestClient(app, raise_server_exceptions=False, headers=bearer(ADMIN_KEY)) as client:
        yield client


@pytest.fixture
def on_their_way(db: Database) -> dict[str, Any]:
    """Two tees shipped from the warehouse to the store: the transfer as it stands."""

    def set_up(uow: UnitOfWork) -> dict[str, Any]:
        catalog.put_item(uow, TEE)
        for location in (STORE, WAREHOUSE):
            catalog.put_location(uow, location)
        stock.record_movement(
            uow,
            location=WAREHOUSE.code,
            sku=TEE.sku,
            movement_type=MovementType.RECEIPT,
            quantity=10,
        )
        created = transfers.create(
            uow, origin=WAREHOUSE.code, destination=STORE.code, lines=[(TEE.sku, 2)]
        )
        return transfers.ship(uow, created["id"])

    shipped: dict[str, Any] = db.run(set_up)
    return shipped


def key_with(db: Database, *scopes: str) -> dict[str, str]:
    """The Authorization header of a new API key granting only `scopes`."""
    key = "osk_review_" + "_".join(s.replace(":", "-") for s in scopes)
    db.run(
        lambda uow: keys.replace(
            uow.conn,
            key_id=key,
            name=f"a key for {', '.join(scopes)}",
            key_hash=access.hash_key(key),
            scopes=list(scopes),
            now=uow.now,
        )
    )
    return bearer(key)


def test_a_key_that_may_not_read_transfers_does_not_see_them_in_the_stock_view(
    client: TestClient, db: Database, on_their_way: dict[str, Any]
) -> None:
    stock_reader = key_with(db, "stock:read")
    everything = client.get(f"/v1/stock/{TEE.sku}", params={"include": "inbound"})
    assert everything.status_code == 200, everything.text
    [at_store] = [p for p in everything.json()["positions"] if p["location"] == STORE.code]
    assert [x["transfer_id"] for x in at_store["inbound_transfers"]] == [on_their_way["id"]]
    transfer = client.get(f"/v1/transfers/{on_their_way['id']}", headers=stock_reader)
    assert transfer.status_code == 403, transfer.text
    plain = client.get(f"/v1/stock/{TEE.sku}", headers=stock_reader)
    assert plain.status_code == 200, plain.text

    with_transfers = client.get(
        f"/v1/stock/{TEE.sku}", params={"include": "inbound"}, headers=stock_reader
    )

    assert with_transfers.status_code == 403, with_transfers.text
    assert "transfers:read" in with_transfers.json()["detail"]
