"""Imports through the service, on SQLite and PostgreSQL: items and locations are upserted
with the events their PUTs emit; a stock file is a snapshot applied by `count` movements of
the difference only, with one `stock.changed` a changed position, the ledger still equal to
the positions; a count below what is held heals the hold; a bad row applies nothing; a
resend under the same key changes nothing."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from sqlalchemy import func, select

from omnistock.api.schemas.imports import validator
from omnistock.db import Database, UnitOfWork
from omnistock.db.tables import events, movements
from omnistock.domain.availability import Channel
from omnistock.domain.imports import FileFormat, ImportKind, ImportRefused, Summary
from omnistock.domain.stock import Position
from omnistock.services import catalog, channels, imports, reservations, stock
from samples import CAP, STORE, TEE, WAREHOUSE


@pytest.fixture
def shop(db: Database) -> Database:
    def create(uow: UnitOfWork) -> None:
        for item in (TEE, CAP):
            catalog.put_item(uow, item)
        for location in (STORE, WAREHOUSE):
            catalog.put_location(uow, location)
        channels.put_channel(uow, Channel(code="web", name="Web shop"))

    db.run(create)
    return db


def run(db: Database, kind: str, body: str, **options: object) -> Summary:
    file_format = FileFormat.NDJSON if body.startswith("{") else FileFormat.CSV
    chunks: Iterable[bytes] = [body.encode()[i : i + 7] for i in range(0, len(body.encode()), 7)]
    file = imports.ImportFile(
        kind=ImportKind(kind),
        file_format=file_format,
        chunks=lambda: iter(chunks),
        validate=None if kind == "stock" else validator(ImportKind(kind), file_format),
        **options,  # type: ignore[arg-type]
    )
    return db.run(lambda uow: imports.run(uow, file))


def position(db: Database, sku: str, location: str) -> Position:
    with db.reading() as reads:
        return dict(stock.stock_of(reads, sku)).get(location, Position())


def count(db: Database, table: object, *where: object) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def test_an_item_file_creates_updates_and_leaves_alone_with_the_events_of_single_puts(
    shop: Database,
) -> None:
    before = count(shop, events)
    body = (
        "\ufeffsku,name,price,barcode\r\n"
        f'NEW-1,"Socks, wool",4.50,\r\n{TEE.sku},{TEE.name!r},19.90,{TEE.barcode}\r\n'
        f"{CAP.sku},Cap,,\r\n"
    ).replace(repr(TEE.name), f'"{TEE.name}"')
    summary = run(shop, "items", body)
    assert summary == Summary(rows=3, created=1, updated=0, unchanged=2, movements=0)
    with shop.reading() as reads:
        assert catalog.get_item(reads, "NEW-1").name == "Socks, wool"
    with shop.read() as conn:
        types = list(conn.scalars(select(events.c.type).order_by(events.c.id).offset(before)))
    assert types == ["item.created"]
    again = run(shop, "items", '{"sku": "NEW-1", "name": "Socks"}\n')
    assert again == Summary(rows=1, created=0, updated=1, unchanged=0, movements=0)


def test_a_location_file_is_checked_as_its_put_and_upserts_by_code(shop: Database) -> None:
    body = (
        "code,name,type,lat,lon,ship_enabled,pickup_enabled,daily_capacity\n"
        "NCE-01,Nice,store,43.7,7.26,true,false,30\n"
        "BAD-1,Bad,shed,100,7,yes,no,-1\n"
    )
    with pytest.raises(ImportRefused) as refused:
        run(shop, "locations", body)
    assert {(e.line, e.field) for e in refused.value.errors} >= {
        (3, "type"),
        (3, "lat"),
        (3, "daily_capacity"),
    }
    with shop.reading() as reads:
        assert reads.catalog.get_location("NCE-01") is None  # nothing applied
    summary = run(shop, "locations", body.rsplit("BAD-1", 1)[0])
    assert summary == Summary(rows=1, created=1, updated=0, unchanged=0, movements=0)


def test_a_stock_file_counts_only_the_positions_that_differ(shop: Database) -> None:
    run(shop, "stock", f"location,sku,on_hand\n{STORE.code},{TEE.sku},10\n")
    movements_before, events_before = count(shop, movements), count(shop, events)
    body = (
        f'{{"location": "{STORE.code}", "sku": "{TEE.sku}", "on_hand": 10}}\n'
        f'{{"location": "{STORE.code}", "sku": "{CAP.sku}", "on_hand": 4, "unsellable": 1}}\n'
        f'{{"location": "{WAREHOUSE.code}", "sku": "{CAP.sku}", "on_hand": 0}}\n'
    )
    summary = run(shop, "stock", body)
    assert summary == Summary(rows=3, created=1, updated=0, unchanged=2, movements=1)
    assert position(shop, CAP.sku, STORE.code) == Position(on_hand=4, unsellable=1)
    assert count(shop, movements) == movements_before + 1
    with shop.read() as conn:
        changed = [
            r.data
            for r in conn.execute(select(events.c.type, events.c.data).order_by(events.c.id))
            if r.type == "stock.changed"
        ][-1]
        new_events = conn.execute(
            select(events.c.type).order_by(events.c.id).offset(events_before)
        ).scalars()
        assert list(new_events) == ["stock.changed", "availability.changed"]
    assert changed == {
        "sku": CAP.sku,
        "location": STORE.code,
        "on_hand": 4,
        "reserved": 0,
        "unsellable": 1,
        "inbound": 0,
        "available": 3,
    }
    with shop.reading() as reads:
        assert list(stock.check(reads)) == []  # every position still equals its movements


def test_a_complete_count_of_a_location_zeroes_what_the_file_leaves_out(shop: Database) -> None:
    run(
        shop, "stock", f"location,sku,on_hand\n{STORE.code},{TEE.sku},5\n{STORE.code},{CAP.sku},3\n"
    )
    summary = run(
        shop,
        "stock",
        f"location,sku,on_hand\n{STORE.code},{TEE.sku},6\n",
        location=STORE.code,
        complete=True,
    )
    assert summary == Summary(rows=1, created=0, updated=2, unchanged=0, movements=2)
    assert position(shop, CAP.sku, STORE.code) == Position()
    assert position(shop, TEE.sku, STORE.code).on_hand == 6


def test_a_count_below_what_is_held_lets_the_hold_go(shop: Database) -> None:
    run(shop, "stock", f"location,sku,on_hand\n{STORE.code},{TEE.sku},5\n")
    held = shop.run(
        lambda uow: reservations.hold(uow, channel="web", lines=[(TEE.sku, 4)], location=STORE.code)
    )
    run(shop, "stock", f"location,sku,on_hand\n{STORE.code},{TEE.sku},2\n")
    after = position(shop, TEE.sku, STORE.code)
    assert after.on_hand == 2 and after.available >= 0
    with shop.reading() as reads:
        assert reservations.get(reads, held.id).status != "active"
        assert list(stock.check(reads)) == []


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("NOWHERE,TEE-M,1", "location"),
        ("PAR-01,NOTHING,1", "sku"),
        ("PAR-01,TEE-M,-1", "on_hand"),
        ("PAR-01,TEE-M,1.5", "on_hand"),
        ("PAR-01,CAP-1,1", "sku"),  # already on line 2
        ('PAR-01,"TEE-M,1', "line"),
    ],
)
def test_one_bad_row_applies_nothing_and_names_its_line_and_field(
    shop: Database, line: str, field: str
) -> None:
    body = f"location,sku,on_hand\n{STORE.code},{CAP.sku},7\n{line}\n"
    with pytest.raises(ImportRefused) as refused:
        run(shop, "stock", body)
    assert [(e.line, e.field) for e in refused.value.errors] == [(3, field)]
    assert position(shop, CAP.sku, STORE.code) == Position()


def test_a_resend_under_the_same_key_changes_nothing_and_answers_the_same(shop: Database) -> None:
    body = f"location,sku,on_hand\n{STORE.code},{TEE.sku},5\n"
    first = run(shop, "stock", body, key="nightly-1")
    shop.run(
        lambda uow: stock.record_movement(
            uow, location=STORE.code, sku=TEE.sku, movement_type=stock.MovementType.SALE, quantity=1
        )
    )
    again = run(shop, "stock", body, key="nightly-1")
    assert again == first
    assert position(shop, TEE.sku, STORE.code).on_hand == 4
