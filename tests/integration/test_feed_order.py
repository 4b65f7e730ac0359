"""The feed gives each position's changes in the order they were made, on PostgreSQL too,
where events are numbered after commit (see `omnistock.db.outbox`).

A consumer rebuilding the stock applies each `stock.changed` (absolute figures) in feed
order: were a later change of a position numbered before an earlier one, the consumer would
end on the stale figures. PostgreSQL makes that possible when the later writer's transaction
id is the older one: B writes first (taking the older id), A changes the position and
commits, B changes it after A and commits, while a third transaction C, younger than B and
older than A, still runs. B is then older than every running transaction and A is not; the
feed must still hold B back until it can give A first.
"""

from __future__ import annotations

import pytest

from omnistock.db import Database, UnitOfWork
from omnistock.domain.stock import MovementType
from omnistock.events.feed import feed, latest
from omnistock.services import catalog, stock
from samples import CAP, STORE, TEE, WAREHOUSE


@pytest.fixture
def shop(db: Database) -> Database:
    def create(uow: UnitOfWork) -> None:
        for item in (TEE, CAP):
            catalog.put_item(uow, item)
        catalog.put_location(uow, STORE)
        catalog.put_location(uow, WAREHOUSE)

    db.run(create)
    return db


def receive(uow: UnitOfWork, quantity: int, *, sku: str = TEE.sku, at: str = STORE.code) -> None:
    stock.record_movement(
        uow, location=at, sku=sku, movement_type=MovementType.RECEIPT, quantity=quantity
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_later_change_of_a_position_is_never_numbered_before_an_earlier_one(
    shop: Database,
) -> None:
    start = latest(shop)
    b_unit, c_unit = shop.unit_of_work(), shop.unit_of_work()
    b = b_unit.__enter__()
    receive(b, 1, at=WAREHOUSE.code)  # B takes the oldest transaction id
    c = c_unit.__enter__()
    receive(c, 1, sku=CAP.sku)  # C: younger than B, and left running
    try:
        shop.run(lambda a: receive(a, 5))  # A: youngest, changes the position and commits
        receive(b, 2)  # B changes it after A
        b_unit.__exit__(None, None, None)

        assert feed(shop, after=start, limit=10) == ([], start)
    finally:
        c_unit.__exit__(None, None, None)

    page, _ = feed(shop, after=start, limit=10)
    tee_at_the_store = [
        e["data"]["on_hand"]
        for e in page
        if (e["data"]["sku"], e["data"]["location"]) == (TEE.sku, STORE.code)
    ]
    assert tee_at_the_store == [5, 7]
    assert [e["seq"] for e in page] == list(range(start + 1, start + 1 + len(page)))
