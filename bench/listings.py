"""How long the listings take on a catalogue of 100,000 items, on SQLite and PostgreSQL.

    python bench/listings.py [--items 100000] [--repeat 15] [--postgres ADMIN_URL]

Loads `--items` items (names of three to five words drawn from a vocabulary with accents and
hyphens, a barcode each) through `db/bulk.put_items`, as imports do, into a fresh SQLite file
and, with `--postgres`, a fresh database on that server; then times each query of
`GET /v1/items` through the service (`services.listings.items` in a read unit): the median
and the worst of `--repeat` runs, in ms. The searches range from a word on most names (a
page fills at once) to a word on none (every row is looked at). It never asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import make_url

from omnistock.db import Database
from omnistock.domain.catalog import Item
from omnistock.services import listings

_WORDS = [
    "tee-shirt",
    "pull",
    "robe",
    "jupe",
    "veste",
    "manteau",
    "chemise",
    "short",
    "écharpe",
    "bonnet",
    "chaussette",
    "bleu",
    "rouge",
    "vert",
    "noir",
    "blanc",
    "écru",
    "été",
    "hiver",
    "coton",
    "lin",
    "laine",
    "soie",
    "éco",
    "brodé",
    "rayé",
    "uni",
]
_BATCH = 5000


def load(database: Database, count: int, rng: random.Random) -> None:
    for start in range(0, count, _BATCH):
        batch = [
            Item(
                sku=f"SKU-{n:07d}",
                name=" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 5))).capitalize(),
                barcode=f"{4000000000000 + n}",
            )
            for n in range(start, min(count, start + _BATCH))
        ]
        with database.unit_of_work() as uow:
            uow.bulk.put_items(batch, now=dt.datetime.now(dt.UTC))


def queries(count: int) -> dict[str, dict[str, Any]]:
    last = f"SKU-{count - 150:07d}"
    return {
        "first page, no filter": {},
        "a page deep in the list": {"after": last},
        "q: a word on most names (tee)": {"q": "tee"},
        "q: two words, accents (Ecru ETE)": {"q": "Ecru ETE"},
        "q: a word on no name (zzz)": {"q": "zzz"},
        "q: a sku prefix (SKU-00999)": {"q": "SKU-00999"},
        "barcode": {"barcode": f"{4000000000000 + count // 2}"},
        "q + limit 1000 (bleu)": {"q": "bleu", "limit": 1000},
    }


def time_queries(database: Database, count: int, repeat: int) -> None:
    for label, params in queries(count).items():
        spent = []
        rows = 0
        for _ in range(repeat):
            started = time.perf_counter()
            with database.reading() as reads:
                rows = len(listings.items(reads, **params).rows)
            spent.append((time.perf_counter() - started) * 1000)
        print(
            f"  {label:<36} {rows:>5} rows  median {statistics.median(spent):7.1f} ms"
            f"  worst {max(spent):7.1f} ms"
        )


def bench(url: str, name: str, count: int, repeat: int) -> None:
    database = Database(url)
    database.migrate()
    started = time.perf_counter()
    load(database, count, random.Random(14))
    print(f"{name}: {count:,} items loaded in {time.perf_counter() - started:.1f} s")
    time_queries(database, count, repeat)
    database.dispose()


def postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"bench_listings_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), name


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", help="an admin URL: a fresh database is made there")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        bench(f"sqlite:///{Path(directory) / 'bench.db'}", "SQLite", args.items, args.repeat)
    if args.postgres:
        url, name = postgres_database(args.postgres)
        try:
            bench(url, "PostgreSQL", args.items, args.repeat)
        finally:
            with psycopg.connect(_libpq(args.postgres), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
