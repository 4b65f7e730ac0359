"""What SQLAlchemy's execution layer costs on the movement's hot statements.

    python bench/execution_overhead.py [--transactions 3000]

On one SQLite file (fsync off, so that only CPU is measured), the same transaction (the
guarded position upsert and the ledger insert, through `Database.run`) is run with the two
statements executed by SQLAlchemy (`omnistock.db.stock`, as the app does) and by the DBAPI
cursor of the very same connection and transaction. It prints microseconds per transaction
for each, alternating runs, and the ratio. It asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable

from omnistock.db import Database, UnitOfWork
from omnistock.db import stock as stock_sql
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.domain.stock import Deltas
from omnistock.services import catalog

ITEMS, LOCATIONS = 100, 10


def setup(url: str) -> Database:
    db = Database(url, sqlite_synchronous="OFF")
    db.migrate()

    def catalogue(uow: UnitOfWork) -> None:
        for i in range(ITEMS):
            catalog.put_item(uow, Item(f"S{i}", "item"))
        for j in range(LOCATIONS):
            catalog.put_location(
                uow, Location(f"L{j}", "store", LocationType.STORE, 48.0, 2.0, True, True)
            )

    db.run(catalogue)
    return db


def through_sqlalchemy(rng: random.Random) -> Callable[[UnitOfWork], None]:
    def transaction(uow: UnitOfWork) -> None:
        sku, location = f"S{rng.randrange(ITEMS)}", f"L{rng.randrange(LOCATIONS)}"
        deltas = Deltas(on_hand=1)
        stock_sql.apply_deltas(uow.conn, sku=sku, location=location, deltas=deltas)
        stock_sql.append_movement(
            uow.conn, at=uow.now, sku=sku, location=location, type="receipt", deltas=deltas
        )

    return transaction


def through_the_cursor(rng: random.Random) -> Callable[[UnitOfWork], None]:
    upsert, append = str(stock_sql._UPSERT), str(stock_sql._APPEND)

    def transaction(uow: UnitOfWork) -> None:
        sku, location = f"S{rng.randrange(ITEMS)}", f"L{rng.randrange(LOCATIONS)}"
        cursor = uow.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        params = {
            "k_sku": sku,
            "k_location": location,
            "d_on_hand": 1,
            "d_reserved": 0,
            "d_unsellable": 0,
            "d_inbound": 0,
        }
        cursor.execute(upsert, params).fetchone()
        at = uow.now.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        extra = {"at": at, "type": "receipt", "reason": None, "reference": None}
        cursor.execute(append, {**params, **extra}).fetchone()

    return transaction


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = setup(f"sqlite:///{folder}/overhead.db")
        rng = random.Random(7)
        ways = {"SQLAlchemy (as the app)": through_sqlalchemy, "DBAPI cursor": through_the_cursor}
        timings: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(options.rounds):
            for name, way in ways.items():
                transaction = way(rng)
                for _ in range(300):  # warm up
                    db.run(transaction)
                start = time.perf_counter()
                for _ in range(options.transactions):
                    db.run(transaction)
                timings[name].append((time.perf_counter() - start) / options.transactions)
        db.dispose()
    print(f"SQLite, fsync off, {options.transactions} transactions x {options.rounds} rounds")
    for name, values in timings.items():
        print(f"  {name:<24} {statistics.median(values) * 1e6:7.0f} us per transaction (median)")
    sqlalchemy, cursor = (statistics.median(v) for v in timings.values())
    print(f"  SQLAlchemy / cursor      {sqlalchemy / cursor:7.2f}x")


if __name__ == "__main__":
    main()
