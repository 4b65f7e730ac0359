"""Holds and published figures at their edges: batches, and changes outside a channel's pool.

- A hold ends at most one batch (500) of the expired holds not yet released on its skus.
  Behind more of them than that, a hold that needs more than that batch frees is refused
  with InsufficientStock (409), never an error (500). A hold that fits succeeds, and the
  stock still matches the holds.
- A figure published before a change of configuration heals at the item's next movement,
  even when that movement happens outside the channel's pool. Configuration writes publish
  nothing themselves.
- One transaction that moves the stock of more items than one publishing batch (1,000
  (channel, sku) figures) publishes each figure exactly once, and gets it right.

On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select

from figures import feed_mark, published, receive
from omnistock.db import Database, UnitOfWork, tables
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import Item, LocationType
from omnistock.domain.errors import InsufficientStock, ShortLine
from omnistock.domain.reservations import ACTIVE, EXPIRED, Reservation
from omnistock.domain.stock import MovementType
from omnistock.services import availability, catalog, channels, reservations, stock
from samples import STORE, TEE, WAREHOUSE

WEB, MARKETPLACE = "web", "mkt"
WEB_SHOP = Channel(code=WEB, name="Web shop")  # every ship-enabled location
MARKETPLACE_CHANNEL = Channel(
    code=MARKETPLACE, name="Marketplace", location_types=(LocationType.WAREHOUSE,)
)


# --------------------------------------------------------------------------- helpers


def newest_published(db: Database) -> dict[tuple[str, str], int]:
    return {(channel, sku): ats for channel, sku, ats in published(db)}


def ats_now(db: Database, channel: str, skus: Sequence[str]) -> dict[tuple[str, str], int]:
    with db.reading() as reads:
        found = availability.of_items(reads, channel=channel, skus=skus)
    return {(channel, a.sku): a.available_to_sell for a in found}


def hold_tees(quantity: int) -> Callable[[UnitOfWork], Reservation]:
    return lambda uow: reservations.hold(uow, channel=WEB, lines=[(TEE.sku, quantity)])


def wait_until_expired(holds: Sequence[Reservation]) -> None:
    """Sleep until every hold is past its expiry, with a margin (setting up, not asserting)."""
    latest = max(h.expires_at for h in holds)
    time.sleep(max(0.0, (latest - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)


def statuses(db: Database, holds: Sequence[Reservation]) -> Counter[str]:
    with db.reading() as reads:
        return Counter(reservations.get(reads, h.id).status for h in holds)


def assert_the_stock_matches_the_active_holds(db: Database, sku: str) -> None:
    """The ledger replays clean, and each position reserves exactly what the active holds
    (released or not yet swept) have allocated there."""
    lines, holds = tables.reservation_lines.c, tables.reservations.c
    held_by_active_holds = (
        select(lines.location, func.sum(lines.quantity))
        .select_from(tables.reservation_lines.join(tables.reservations))
        .where(holds.status == ACTIVE, lines.sku == sku, lines.location.is_not(None))
        .group_by(lines.location)
    )
    with db.reading() as reads:
        assert list(stock.check(reads)) == []
        held = {
            location: int(units) for location, units in reads.conn.execute(held_by_active_holds)
        }
        reserved = {loc: p.reserved for loc, p in stock.stock_of(reads, sku) if p.reserved}
    assert reserved == held


# --------------------------------------------------------------------------- 1. expired holds


#: Expired holds a hold ends at once (`services.reservations._end_expired`).
BATCH = 500
UNSWEPT = BATCH + 1  # one-unit carts, expired and not yet released
FREE = 3  # units no cart ever held


def test_a_hold_behind_more_expired_holds_than_one_batch_is_refused_never_crashes_then_fits(
    db: Database,
) -> None:
    def open_shop(uow: UnitOfWork) -> None:
        catalog.put_item(uow, TEE)
        catalog.put_location(uow, WAREHOUSE)
        channels.put_channel(uow, WEB_SHOP)
        receive(uow, WAREHOUSE.code, TEE.sku, FREE + UNSWEPT)

    def place_carts(uow: UnitOfWork) -> list[Reservation]:
        return [
            reservations.hold(uow, channel=WEB, lines=[(TEE.sku, 1)], ttl_seconds=1)
            for _ in range(UNSWEPT)
        ]

    db.run(open_shop)
    carts = db.run(place_carts)
    wait_until_expired(carts)  # and nothing sweeps them
    assert ats_now(db, WEB, [TEE.sku]) == {(WEB, TEE.sku): FREE + UNSWEPT}, "readers count all"

    # The hold ends one batch: the last cart still holds its unit, so one unit is missing.
    with pytest.raises(InsufficientStock) as refused:
        db.run(hold_tees(FREE + UNSWEPT))
    assert refused.value.lines == [ShortLine(TEE.sku, FREE + UNSWEPT, FREE + BATCH)]
    assert statuses(db, carts) == {ACTIVE: UNSWEPT}, "a refused hold ends no cart either"
    assert_the_stock_matches_the_active_holds(db, TEE.sku)

    taken = db.run(hold_tees(FREE + BATCH))
    assert [(a.location, a.sku, a.quantity) for a in taken.allocations] == [
        (WAREHOUSE.code, TEE.sku, FREE + BATCH)
    ]
    assert statuses(db, carts) == {EXPIRED: BATCH, ACTIVE: 1}
    assert_the_stock_matches_the_active_holds(db, TEE.sku)
    assert ats_now(db, WEB, [TEE.sku]) == {(WEB, TEE.sku): 1}, "the last cart's unit"
    assert newest_published(db)[WEB, TEE.sku] == 1

    assert db.run(lambda uow: reservations.release_expired(uow)) == 1
    assert statuses(db, carts) == {EXPIRED: UNSWEPT}
    assert_the_stock_matches_the_active_holds(db, TEE.sku)
    assert db.run(hold_tees(1)).allocations[0].quantity == 1
    assert ats_now(db, WEB, [TEE.sku]) == {(WEB, TEE.sku): 0}


# --------------------------------------------------------------------------- 2. healing


AT_WAREHOUSE, AT_STORE = 10, 5


def close_the_warehouse(uow: UnitOfWork) -> None:
    catalog.put_location(uow, dataclasses.replace(WAREHOUSE, active=False))


def keep_units_at_warehouses_from_the_marketplace(uow: UnitOfWork) -> None:
    rule = BufferRule(id=0, channel=MARKETPLACE, location_type=LocationType.WAREHOUSE, units=4)
    channels.add_rule(uow, rule)


def keep_tees_at_the_warehouse_from_the_marketplace(uow: UnitOfWork) -> None:
    rule = BufferRule(id=0, channel=MARKETPLACE, location=WAREHOUSE.code, sku=TEE.sku, units=4)
    channels.add_rule(uow, rule)


#: A change of configuration, and the marketplace's ATS of T-shirts afterwards.
CHANGES: dict[str, tuple[Callable[[UnitOfWork], Any], int]] = {
    "warehouse-closed": (close_the_warehouse, 0),
    "rule-without-sku": (keep_units_at_warehouses_from_the_marketplace, AT_WAREHOUSE - 4),
    "rule-for-the-sku": (keep_tees_at_the_warehouse_from_the_marketplace, AT_WAREHOUSE - 4),
}
#: A movement at the store, outside the marketplace's pool.
MOVEMENTS = {"pos-sale": (MovementType.SALE, 1), "receipt": (MovementType.RECEIPT, 3)}


@pytest.mark.parametrize("movement", MOVEMENTS.values(), ids=MOVEMENTS.keys())
@pytest.mark.parametrize(("change", "after"), CHANGES.values(), ids=CHANGES.keys())
def test_a_figure_left_behind_by_a_configuration_change_heals_at_the_next_movement_anywhere(
    db: Database,
    change: Callable[[UnitOfWork], Any],
    after: int,
    movement: tuple[MovementType, int],
) -> None:
    def open_shop(uow: UnitOfWork) -> None:
        catalog.put_item(uow, TEE)
        catalog.put_location(uow, WAREHOUSE)
        catalog.put_location(uow, STORE)
        channels.put_channel(uow, WEB_SHOP)
        channels.put_channel(uow, MARKETPLACE_CHANNEL)
        receive(uow, WAREHOUSE.code, TEE.sku, AT_WAREHOUSE)
        receive(uow, STORE.code, TEE.sku, AT_STORE)

    db.run(open_shop)
    assert newest_published(db)[MARKETPLACE, TEE.sku] == AT_WAREHOUSE
    db.run(change)
    assert ats_now(db, MARKETPLACE, [TEE.sku]) == {(MARKETPLACE, TEE.sku): after}

    movement_type, quantity = movement
    db.run(
        functools.partial(
            stock.record_movement,
            location=STORE.code,
            sku=TEE.sku,
            movement_type=movement_type,
            quantity=quantity,
        )
    )
    newest = newest_published(db)
    assert newest[MARKETPLACE, TEE.sku] == after
    now = {**ats_now(db, WEB, [TEE.sku]), **ats_now(db, MARKETPLACE, [TEE.sku])}
    assert newest == now, "every channel's figure is the ATS now"


# --------------------------------------------------------------------------- 3. batches


#: Items stocked in one transaction: more (channel, sku) figures than one batch (1,000).
MANY = 1_100
MANY_ITEMS = [Item(sku=f"SKU-{n:04d}", name=f"Item {n}") for n in range(MANY)]
KEPT_FROM_THE_MARKETPLACE = 2


def received(n: int) -> int:
    return 1 + n % 7


@pytest.mark.parametrize(
    "selling", [[WEB_SHOP], [WEB_SHOP, MARKETPLACE_CHANNEL]], ids=["one-channel", "two-channels"]
)
def test_one_transaction_stocking_more_items_than_a_batch_publishes_each_figure_once(
    db: Database, selling: list[Channel]
) -> None:
    def open_shop(uow: UnitOfWork) -> None:
        for item in MANY_ITEMS:
            catalog.put_item(uow, item)
        catalog.put_location(uow, WAREHOUSE)
        for channel in selling:
            channels.put_channel(uow, channel)
        if MARKETPLACE_CHANNEL in selling:
            kept = BufferRule(id=0, channel=MARKETPLACE, units=KEPT_FROM_THE_MARKETPLACE)
            channels.add_rule(uow, kept)

    def receive_everything(uow: UnitOfWork) -> None:
        for n, item in enumerate(MANY_ITEMS):
            receive(uow, WAREHOUSE.code, item.sku, received(n))

    db.run(open_shop)
    mark = feed_mark(db)
    db.run(receive_everything)

    shown = published(db, after=mark)
    expected = {(WEB, item.sku): received(n) for n, item in enumerate(MANY_ITEMS)}
    if MARKETPLACE_CHANNEL in selling:
        expected |= {
            (MARKETPLACE, item.sku): max(0, received(n) - KEPT_FROM_THE_MARKETPLACE)
            for n, item in enumerate(MANY_ITEMS)
        }
    assert len(shown) == MANY * len(selling)
    assert Counter((channel, sku) for channel, sku, _ in shown) == dict.fromkeys(expected, 1)
    assert {(channel, sku): ats for channel, sku, ats in shown} == expected
    skus = [item.sku for item in MANY_ITEMS]
    for channel in selling:
        assert ats_now(db, channel.code, skus) == {
            key: ats for key, ats in expected.items() if key[0] == channel.code
        }
