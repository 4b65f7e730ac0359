"""Keyset paging under concurrent writes: walking GET /v1/items, /v1/locations and
/v1/stock?location= page by page while another thread adds rows, every row there before the
walk is listed exactly once, in key order; a row added ahead of the page being read is
listed, one added behind it is not (it would have to come twice or out of order).

The writer thread adds one row behind and one ahead of the walk between two pages (a
handshake, so what each page must hold is known), and keeps adding rows freely meanwhile.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import pytest

from omnistock.db import Database, UnitOfWork
from omnistock.domain.catalog import Item, Location, LocationType
from omnistock.services import catalog, stock

PAGE = 5


def key(n: int) -> str:
    return f"K-{n:04d}"


def add_item(uow: UnitOfWork, n: int) -> None:
    uow.bulk.put_items([Item(key(n), f"Added tee {n}")], now=uow.now)


def add_location(uow: UnitOfWork, n: int) -> None:
    place = Location(key(n), f"Added depot {n}", LocationType.WAREHOUSE, 45.0, 5.0, True, False)
    catalog.put_location(uow, place)


def add_position(uow: UnitOfWork, n: int) -> None:
    stock.record_movement(uow, location="WH-1", sku=key(n), movement_type="receipt", quantity=1)


Adder = Callable[[UnitOfWork, int], None]
LISTINGS: dict[str, tuple[str, dict[str, str], str, Adder]] = {
    "items": ("/v1/items", {"q": "added"}, "items", add_item),
    "locations": ("/v1/locations", {"q": "K"}, "locations", add_location),
    "stock": ("/v1/stock", {"location": "WH-1"}, "positions", add_position),
}


@pytest.fixture
def keyed(db: Database, shop) -> None:
    """Items K-0000..K-0999 (for the positions); nothing else."""
    shop.location("WH-1")
    db.run(
        lambda uow: uow.bulk.put_items(
            [Item(key(n), "Some item") for n in range(1000)], now=uow.now
        )
    )


@pytest.mark.usefixtures("keyed")
def test_a_walk_lists_every_row_once_in_order_while_another_thread_adds_rows(
    client, db: Database
) -> None:
    for listing in LISTINGS:  # one after the other, on one database
        walk_while_adding(client, db, *LISTINGS[listing])


def walk_while_adding(
    client, db: Database, path: str, params: dict[str, str], rows_field: str, add: Adder
) -> None:
    first = list(range(100, 600, 20))  # 25 rows before the walk
    for n in first:
        db.run(lambda uow, n=n: add(uow, n))
    wanted: queue.Queue[int | None] = queue.Queue()
    done = queue.Queue[int]()
    stop = threading.Event()

    def writer() -> None:
        free = iter(range(602, 1000))  # rows added freely, beyond every other
        while not stop.is_set():
            try:
                asked = wanted.get(timeout=0.01)
            except queue.Empty:
                n = next(free, None)
                if n is not None:
                    db.run(lambda uow, n=n: add(uow, n))
                continue
            if asked is None:
                return
            db.run(lambda uow, n=asked: add(uow, n))
            done.put(asked)

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[str] = []
    must_see: set[str] = set()
    must_not: set[str] = set()
    try:
        after = None
        while True:
            page = client.get(
                path, params={**params, "limit": PAGE, **({"after": after} if after else {})}
            )
            assert page.status_code == 200, page.text
            body = page.json()
            seen += [row.get("sku") or row.get("code") for row in body[rows_field]]
            after = body["next"]
            if after is None:
                break
            cursor = int(after[2:])
            if cursor > 590:  # among the rows added freely
                continue
            for n, target in ((cursor - 3, must_not), (cursor + 3, must_see)):
                if n not in first and key(n) not in must_see | must_not:
                    wanted.put(n)
                    assert done.get(timeout=10) == n
                    target.add(key(n))
    finally:
        stop.set()
        wanted.put(None)
        thread.join(timeout=10)

    assert seen == sorted(set(seen)), f"{path}: each row once, in key order"
    assert {key(n) for n in first} <= set(seen)
    assert must_see <= set(seen)
    assert not must_not & set(seen)
    assert must_see and must_not, path
