"""Keys and money sort the same way on SQLite and PostgreSQL, whatever the database locale."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from omnistock.db import Database
from omnistock.db.tables import items
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.services import catalog

CODES = ["b", "A_1", "a-2", "B-1", "AB", "A1", "A-1"]


def by_code_point(values: list[str]) -> list[str]:
    return sorted(values, key=lambda v: [ord(c) for c in v])


@pytest.fixture
def icu_database(pg_server_url: str) -> Iterator[Database]:
    """A PostgreSQL database whose default collation is ICU en-US, not C."""
    name = f"icu_{uuid.uuid4().hex[:12]}"
    admin = make_url(pg_server_url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    database = Database(admin.set(database=name).render_as_string(hide_password=False))
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def put_locations(db: Database) -> None:
    def put(uow) -> None:
        for code in CODES:
            catalog.put_location(
                uow,
                Location(code, code, LocationType.STORE, 48.0, 2.0, True, True),
            )

    db.run(put)


def listed_codes(db: Database) -> list[str]:
    with db.reading() as reads:
        return [loc.code for loc in catalog.list_locations(reads)]


def test_locations_are_listed_by_code_point_order(db: Database) -> None:
    put_locations(db)

    assert listed_codes(db) == by_code_point(CODES)


def test_locations_are_listed_by_code_point_order_in_a_postgresql_database_with_a_locale(
    icu_database: Database,
) -> None:
    with icu_database.read() as conn:
        assert conn.exec_driver_sql("SHOW lc_collate").scalar() == "C"
        provider = conn.exec_driver_sql(
            "SELECT datlocprovider FROM pg_database WHERE datname = current_database()"
        ).scalar()
        assert provider == "i"  # ICU: the database's default ordering is en-US
    put_locations(icu_database)

    assert listed_codes(icu_database) == by_code_point(CODES)


def test_prices_are_exact_and_sort_as_numbers(db: Database) -> None:
    prices = ["100", "20.5", "1E+2", "0", "9.99", "19.90"]
    db.run(
        lambda uow: [
            catalog.put_item(uow, Item(f"P{n}", "priced", price=Decimal(p)))
            for n, p in enumerate(prices)
        ]
    )

    with db.read() as conn:
        stored = list(conn.scalars(select(items.c.price).order_by(items.c.price, items.c.sku)))

    expected = ["0.00", "9.99", "19.90", "20.50", "100.00", "100.00"]
    assert [f"{price:.2f}" for price in stored] == expected
    assert stored[3] == Decimal("20.50")
