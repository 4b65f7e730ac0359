"""The transactional outbox: stock events are written with the change, in the same transaction."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from omnistock.db import Database, UnitOfWork
from omnistock.domain.catalog import Item
from omnistock.domain.errors import NotFound, StockConflict
from omnistock.domain.stock import MovementType
from omnistock.events.feed import feed
from omnistock.services import catalog, stock
from omnistock.services.stock import MovementRecorded
from samples import STORE, TEE, WAREHOUSE


class Abandoned(Exception):
    """Raised by a unit of work that gives up after changing stock."""


@pytest.fixture
def shop(db: Database) -> Database:
    """A database with one item and two locations, and no stock yet."""

    def create(uow: UnitOfWork) -> None:
        catalog.put_item(uow, TEE)
        catalog.put_location(uow, STORE)
        catalog.put_location(uow, WAREHOUSE)

    db.run(create)
    return db


def movement(
    uow: UnitOfWork, movement_type: str, quantity: int, *, location: str = STORE.code
) -> MovementRecorded:
    return stock.record_movement(
        uow,
        location=location,
        sku=TEE.sku,
        movement_type=MovementType(movement_type),
        quantity=quantity,
    )


def record(
    db: Database, movement_type: str, quantity: int, *, location: str = STORE.code
) -> MovementRecorded:
    return db.run(lambda uow: movement(uow, movement_type, quantity, location=location))


def all_events(db: Database, type: str | None = None) -> list[dict[str, Any]]:
    found, _ = feed(db, after=0, limit=10_000)
    return [e for e in found if type is None or e["type"] == type]


def api_position(db: Database, location: str) -> dict[str, object]:
    """The position as GET /v1/stock/{sku} shows it, with its sku."""
    with db.reading() as reads:
        found = dict(stock.stock_of(reads, TEE.sku))
    return {"sku": TEE.sku, "location": location, **found[location].as_dict()}


def test_every_movement_writes_one_stock_changed_event_with_the_new_position(
    shop: Database,
) -> None:
    for movement_type, quantity, location in [
        ("receipt", 10, STORE.code),
        ("damage", 2, STORE.code),
        ("sale", 3, STORE.code),
        ("receipt", 4, WAREHOUSE.code),
        ("count", 1, STORE.code),
        ("adjustment", 2, STORE.code),
        ("dispose", 1, STORE.code),
    ]:
        before = all_events(shop)

        recorded = record(shop, movement_type, quantity, location=location)

        new = all_events(shop)[len(before) :]
        assert [e["type"] for e in new] == ["stock.changed"]
        assert new[0]["data"] == api_position(shop, location)
        assert new[0]["data"] == stock.position_view(TEE.sku, location, recorded.position)


def test_a_stock_event_shows_the_position_with_its_available_units(shop: Database) -> None:
    record(shop, "receipt", 10)
    record(shop, "damage", 2)

    assert all_events(shop, "stock.changed")[-1]["data"] == {
        "sku": TEE.sku,
        "location": STORE.code,
        "on_hand": 10,
        "reserved": 0,
        "unsellable": 2,
        "inbound": 0,
        "available": 8,
    }


def test_a_stock_event_carries_the_time_of_its_movement(shop: Database) -> None:
    recorded = record(shop, "receipt", 3)

    event = all_events(shop, "stock.changed")[-1]
    assert event["at"] == recorded.movement.at
    assert event["at"].utcoffset() == dt.timedelta(0)


def test_a_refused_movement_writes_no_event(shop: Database) -> None:
    record(shop, "receipt", 2)
    before = all_events(shop)

    with pytest.raises(StockConflict):
        record(shop, "sale", 3)

    assert all_events(shop) == before


def test_the_events_of_a_rolled_back_unit_of_work_never_appear(shop: Database) -> None:
    record(shop, "receipt", 5)
    before = all_events(shop)

    def sell_then_give_up(uow: UnitOfWork) -> None:
        movement(uow, "sale", 1)
        movement(uow, "receipt", 7, location=WAREHOUSE.code)
        raise Abandoned

    with pytest.raises(Abandoned):
        shop.run(sell_then_give_up)
    with pytest.raises(Abandoned), shop.unit_of_work() as uow:
        movement(uow, "sale", 2)
        raise Abandoned

    assert all_events(shop) == before
    record(shop, "sale", 4)
    after = all_events(shop)
    assert len(after) == len(before) + 1
    assert after[-1]["data"]["on_hand"] == 1


def test_a_unit_of_work_that_fails_after_a_movement_leaves_neither_movement_nor_event(
    shop: Database,
) -> None:
    record(shop, "receipt", 5)
    before = all_events(shop)

    def sell_then_oversell(uow: UnitOfWork) -> None:
        movement(uow, "sale", 2)
        movement(uow, "sale", 10)  # refused: the whole unit of work goes

    with pytest.raises(StockConflict):
        shop.run(sell_then_oversell)

    assert all_events(shop) == before
    with shop.reading() as reads:
        assert len(stock.ledger(reads, sku=TEE.sku)) == 1
        assert stock.stock_of(reads, TEE.sku)[0][1].on_hand == 5


def test_the_feed_pages_in_strictly_increasing_seq_and_next_resumes_where_it_stopped(
    shop: Database,
) -> None:
    for quantity in range(1, 8):
        record(shop, "receipt", quantity)
    everything = all_events(shop)
    assert len(everything) == 3 + 7  # the catalog's three events, then one per movement

    seen: list[dict[str, Any]] = []
    after, pages = 0, 0
    while True:
        page, next_seq = feed(shop, after=after, limit=3)
        if not page:
            assert next_seq == after
            break
        assert len(page) <= 3
        assert next_seq == page[-1]["seq"]
        seen += page
        after, pages = next_seq, pages + 1

    assert pages == 4
    assert seen == everything
    seqs = [e["seq"] for e in seen]
    assert all(a < b for a, b in itertools.pairwise(seqs))
    assert [e["data"]["on_hand"] for e in seen if e["type"] == "stock.changed"] == [
        1,
        3,
        6,
        10,
        15,
        21,
        28,
    ]


def test_the_feed_after_the_last_event_is_empty_and_stays_put(shop: Database) -> None:
    record(shop, "receipt", 1)
    last = all_events(shop)[-1]["seq"]

    assert feed(shop, after=last, limit=10) == ([], last)

    record(shop, "receipt", 1)
    page, next_seq = feed(shop, after=last, limit=10)
    assert [e["seq"] for e in page] == [next_seq]
    assert next_seq > last


def test_the_feed_of_an_empty_outbox_is_empty(db: Database) -> None:
    assert feed(db, after=0, limit=100) == ([], 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_event_committed_behind_an_older_transaction_waits_until_that_one_ends(
    shop: Database,
) -> None:
    """On PostgreSQL, concurrent writers commit in any order; the feed must not run ahead.

    The older transaction A writes its event first and stays open; B writes and commits.
    Handing out B's event now would let a reader skip A's for ever once A commits with a
    smaller position, so the feed holds B back until A has ended, then gives A before B.
    """
    start = all_events(shop)[-1]["seq"]
    older = shop.unit_of_work()
    uow = older.__enter__()
    try:
        movement(uow, "receipt", 1)
        uow.flush_events()
        record(shop, "receipt", 2, location=WAREHOUSE.code)  # B commits first

        assert feed(shop, after=start, limit=10) == ([], start)
    finally:
        older.__exit__(None, None, None)  # A commits

    page, _ = feed(shop, after=start, limit=10)
    assert [(e["data"]["location"], e["data"]["on_hand"]) for e in page] == [
        (STORE.code, 1),
        (WAREHOUSE.code, 2),
    ]
    assert [e["seq"] for e in page] == [start + 1, start + 2]


def test_a_failed_savepoint_takes_its_changes_and_events_with_it_and_the_rest_commits(
    shop: Database,
) -> None:
    def partly(uow: UnitOfWork) -> None:
        movement(uow, "receipt", 2)
        with pytest.raises(Abandoned), uow.savepoint():
            catalog.put_item(uow, Item(sku="GHOST", name="never"))
            movement(uow, "receipt", 5, location=WAREHOUSE.code)
            raise Abandoned
        assert "GHOST" not in uow.learned_skus

    before = len(all_events(shop))
    shop.run(partly)

    added = all_events(shop)[before:]
    assert [(e["type"], e["data"]["location"], e["data"]["on_hand"]) for e in added] == [
        ("stock.changed", STORE.code, 2)
    ]
    with shop.reading() as reads:
        assert [loc for loc, _ in stock.stock_of(reads, TEE.sku)] == [STORE.code]
    with pytest.raises(NotFound):
        shop.run(lambda uow: movement_of(uow, "GHOST"))


def movement_of(uow: UnitOfWork, sku: str) -> MovementRecorded:
    return stock.record_movement(
        uow, location=STORE.code, sku=sku, movement_type=MovementType.RECEIPT, quantity=1
    )
