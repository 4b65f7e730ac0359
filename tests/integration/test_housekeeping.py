"""Idempotency keys are kept at least 24 hours, then forgotten by the housekeeping."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from omnistock.db import Database
from omnistock.db import idempotency as idempotency_sql
from omnistock.db.tables import idempotency_keys
from omnistock.services import housekeeping


def claim(db: Database, key: str) -> None:
    def store(uow) -> None:
        assert (
            idempotency_sql.claim(uow.conn, owner="admin", key=key, request_hash="h", now=uow.now)
            is None
        )
        idempotency_sql.store(uow.conn, owner="admin", key=key, status_code=201, response={})

    db.run(store)


def age(db: Database, key: str, hours: float) -> None:
    then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    db.run(
        lambda uow: uow.conn.execute(
            update(idempotency_keys).where(idempotency_keys.c.key == key).values(created_at=then)
        )
    )


def kept_keys(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.scalars(select(idempotency_keys.c.key)))


def test_keys_older_than_the_retention_are_forgotten_and_younger_ones_kept(db: Database) -> None:
    for key, hours in (("fresh", 0), ("a-day-less-a-minute", 24 - 1 / 60), ("stale", 25)):
        claim(db, key)
        age(db, key, hours)

    purged = db.run(lambda uow: housekeeping.purge_idempotency_keys(uow, keep_hours=24))

    assert purged == 1
    assert kept_keys(db) == {"fresh", "a-day-less-a-minute"}


def test_a_forgotten_key_can_be_claimed_again(db: Database) -> None:
    claim(db, "k")
    age(db, "k", 48)
    db.run(lambda uow: housekeeping.purge_idempotency_keys(uow, keep_hours=24))

    claim(db, "k")  # claim asserts it was free

    assert kept_keys(db) == {"k"}


def test_the_purge_works_in_batches_oldest_first(db: Database) -> None:
    for n in range(5):
        claim(db, f"k{n}")
        age(db, f"k{n}", 30 + n)  # k4 is the oldest

    first = db.run(lambda uow: housekeeping.purge_idempotency_keys(uow, keep_hours=24, most=2))

    assert first == 2
    assert kept_keys(db) == {"k0", "k1", "k2"}
    rest = db.run(lambda uow: housekeeping.purge_idempotency_keys(uow, keep_hours=24, most=2))
    assert rest == 2
    assert kept_keys(db) == {"k0"}
