"""After a change of configuration, every stocked item's ATS is published again, in batches.

A change of locations, channels or rules moves many items' ATS at once and publishes nothing
in its own transaction; `availability.republish` (run by the server's housekeeping) then
publishes each moved figure once, 500 items a batch in sku order, and starts over when the
configuration changes during a pass. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from figures import feed_mark, published, receive
from omnistock.db import Database, UnitOfWork
from omnistock.domain.availability import BufferRule, Channel
from omnistock.domain.catalog import Item, LocationType
from omnistock.services import availability, catalog, channels
from samples import STORE, WAREHOUSE

WEB, MARKETPLACE = "web", "mkt"
SKUS = [f"SKU-{n}" for n in range(5)]


def open_shop(db: Database) -> None:
    """Two channels, five items stocked at both locations (5 + n at the warehouse, 3 at the
    store), and one pass of republishing already done: the feed is up to date."""

    def setup(uow: UnitOfWork) -> None:
        catalog.put_location(uow, WAREHOUSE)
        catalog.put_location(uow, STORE)
        channels.put_channel(uow, Channel(WEB, "Web shop"))
        kinds = (LocationType.WAREHOUSE,)
        channels.put_channel(uow, Channel(MARKETPLACE, "Marketplace", location_types=kinds))
        for n, sku in enumerate(SKUS):
            catalog.put_item(uow, Item(sku=sku, name=sku))
            receive(uow, WAREHOUSE.code, sku, 5 + n)
            receive(uow, STORE.code, sku, 3)

    db.run(setup)
    while db.run(lambda uow: availability.republish(uow)):
        pass


def ats_now(db: Database, skus: Sequence[str] = SKUS) -> dict[tuple[str, str], int]:
    found = {}
    with db.reading() as reads:
        for channel in (WEB, MARKETPLACE):
            for a in availability.of_items(reads, channel=channel, skus=skus):
                found[channel, a.sku] = a.available_to_sell
    return found


def republish_all(db: Database, most: int = 500) -> list[int]:
    """Run republishing until it says every item is up to date; what each batch covered."""
    covered = []
    while batch := db.run(lambda uow: availability.republish(uow, most=most)):
        covered.append(batch)
    return covered


def test_a_new_rule_is_published_for_every_item_it_moves_once_then_nothing_more(
    db: Database,
) -> None:
    open_shop(db)
    before = ats_now(db)
    mark = feed_mark(db)

    db.run(lambda uow: channels.add_rule(uow, BufferRule(0, channel=WEB, units=2)))
    assert published(db, mark) == []  # the change itself publishes nothing
    assert republish_all(db) == [len(SKUS)]

    after = ats_now(db)
    moved = sorted((c, sku, ats) for (c, sku), ats in after.items() if before[c, sku] != ats)
    assert sorted(published(db, mark)) == moved
    assert {(WEB, sku) for _, sku, _ in moved} == {(WEB, sku) for sku in SKUS}
    assert all(c == WEB for c, _, _ in moved)  # the marketplace's figures did not move
    assert republish_all(db) == []  # up to date: nothing to do, nothing published
    assert published(db, mark) == moved


def test_a_location_taken_out_of_the_pools_is_published_as_zero_where_it_was_all(
    db: Database,
) -> None:
    open_shop(db)
    mark = feed_mark(db)
    closed = dataclasses.replace(WAREHOUSE, active=False)

    db.run(lambda uow: catalog.put_location(uow, closed))
    republish_all(db)

    newest = {(c, sku): ats for c, sku, ats in published(db, mark)}
    assert newest == {
        **{(MARKETPLACE, sku): 0 for sku in SKUS},  # it sold from the warehouse only
        **{(WEB, sku): 3 for sku in SKUS},  # the store's units are left
    }
    assert newest == ats_now(db)


def test_republishing_goes_in_batches_in_sku_order(db: Database) -> None:
    open_shop(db)
    mark = feed_mark(db)
    db.run(lambda uow: channels.add_rule(uow, BufferRule(0, channel=WEB, units=1)))

    assert republish_all(db, most=2) == [2, 2, 1]

    assert [sku for _, sku, _ in published(db, mark)] == SKUS  # one batch after the other
    assert {(c, sku): ats for c, sku, ats in published(db, mark)} == {
        (WEB, sku): ats for (c, sku), ats in ats_now(db).items() if c == WEB
    }


def test_a_change_during_a_pass_starts_it_again_from_the_first_item(db: Database) -> None:
    open_shop(db)
    mark = feed_mark(db)
    db.run(lambda uow: channels.add_rule(uow, BufferRule(0, channel=WEB, units=1)))
    assert db.run(lambda uow: availability.republish(uow, most=2)) == 2  # SKU-0, SKU-1 done

    db.run(lambda uow: channels.add_rule(uow, BufferRule(0, channel=WEB, units=2)))
    assert republish_all(db, most=2) == [2, 2, 1]  # from SKU-0 again

    first_two = [(sku, ats) for c, sku, ats in published(db, mark) if sku in SKUS[:2]]
    assert [sku for sku, _ in first_two] == SKUS[:2] * 2  # published under each rule
    newest = {(c, sku): ats for c, sku, ats in published(db, mark)}
    assert newest == {key: ats for key, ats in ats_now(db).items() if key[0] == WEB}


def test_republishing_racing_holds_and_movements_ends_with_every_figure_right(
    db: Database,
) -> None:
    """Two threads republish (as two server processes would) while two others move stock
    and a third keeps changing a rule; afterwards the newest figure of every (channel, sku)
    in the feed is the ATS now, and no thread saw an error."""
    open_shop(db)
    stop, errors = threading.Event(), []

    def repeat(action) -> None:
        try:
            while not stop.is_set():
                action()
        except Exception as error:  # reported below
            errors.append(error)
            stop.set()

    def move(n: int) -> None:
        sku = SKUS[n % len(SKUS)]
        db.run(lambda uow: receive(uow, WAREHOUSE.code, sku, 1))

    counter = iter(range(1_000_000))
    toggles = iter(range(1_000_000))

    def toggle() -> None:
        units = next(toggles) % 4
        db.run(lambda uow: channels.add_rule(uow, BufferRule(0, channel=WEB, units=units)))

    workers = [
        threading.Thread(target=repeat, args=(lambda: republish_all(db, most=2),)),
        threading.Thread(target=repeat, args=(lambda: republish_all(db, most=3),)),
        threading.Thread(target=repeat, args=(lambda: move(next(counter)),)),
        threading.Thread(target=repeat, args=(lambda: move(next(counter)),)),
        threading.Thread(target=repeat, args=(toggle,)),
    ]
    for worker in workers:
        worker.start()
    stop.wait(3.0)
    stop.set()
    for worker in workers:
        worker.join()
    assert errors == []

    republish_all(db)
    newest = {(c, sku): ats for c, sku, ats in published(db)}
    assert {key: newest.get(key) for key in ats_now(db)} == ats_now(db)
