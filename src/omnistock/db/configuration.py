"""The configuration every request reads and few requests change, cached in each process.

Locations, channels and the buffer rules without a sku are read by every availability
question and every hold, and change a few times a day. Each process keeps them resolved in
a `Rulebook` and, in the transaction that uses it, checks one small row: the configuration's
revision. Every change to those tables stores a new random revision in the same
transaction, so a cached book is used only while it is exactly what the database holds
(random, not counted up: a revision written by a transaction that rolled back is never
written again, so a book cached from it can never look current).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence

from sqlalchemy import Connection, String, bindparam, select, text, update

from omnistock.db import catalog as catalog_sql
from omnistock.db import channels as channels_sql
from omnistock.db.tables import configuration
from omnistock.domain.availability import BufferRule, Rulebook

_REVISION = text("SELECT revision FROM configuration WHERE id = 1")
#: The revision, with the rules of some skus (never cached: there may be very many).
_REVISION_AND_SKU_RULES = text(
    """
    SELECT configuration.revision, buffer_rules.*
    FROM configuration LEFT JOIN buffer_rules ON buffer_rules.sku IN :skus
    WHERE configuration.id = 1
    """
).bindparams(bindparam("skus", expanding=True, type_=String))
_NEW_REVISION = text("UPDATE configuration SET revision = :revision WHERE id = 1")
#: Loads that see the configuration change under them before giving up on caching.
_LOAD_ATTEMPTS = 3


class ConfigurationCache:
    """This process's copy of the configuration, checked against the database on each use."""

    def __init__(self) -> None:
        self._book: Rulebook | None = None
        self._lock = threading.Lock()

    def current(
        self, conn: Connection, skus: Sequence[str] = ()
    ) -> tuple[Rulebook, dict[str, list[BufferRule]]]:
        """The configuration as `conn`'s transaction sees it, and the buffer rules naming
        each of `skus` (one query when the configuration is cached)."""
        rows = conn.execute(_REVISION_AND_SKU_RULES, {"skus": list(skus)}).all()
        revision = rows[0].revision
        sku_rules: dict[str, list[BufferRule]] = {sku: [] for sku in skus}
        for row in rows:
            if row.id is not None:
                sku_rules[row.sku].append(channels_sql.rule_of(row))
        book = self._book
        if book is None or book.revision != revision:
            with self._lock:  # one thread loads; the others then find its book
                book = self._book
                if book is None or book.revision != revision:
                    book = self._load(conn, revision)
        return book, sku_rules

    def _load(self, conn: Connection, revision: int) -> Rulebook:
        # Under READ COMMITTED each statement may see a newer configuration: the book is
        # cached only when the revision did not move while it was read.
        for _ in range(_LOAD_ATTEMPTS):
            book = Rulebook(
                revision,
                locations=catalog_sql.list_locations(conn),
                channels=channels_sql.list_channels(conn),
                rules=channels_sql.rules_without_sku(conn),
            )
            after = conn.execute(_REVISION).scalar_one()
            if after == revision:
                self._book = book
                return book
            revision = after
        return book


def changed(conn: Connection) -> None:
    """Note, in the transaction making it, a change to locations, channels or sku-less rules."""
    conn.execute(_NEW_REVISION, {"revision": secrets.randbits(62)})


def republishing(conn: Connection) -> tuple[int, int | None, str | None]:
    """Lock the configuration row until commit and answer how far republishing is: the
    revision now, the revision the last pass was for, and the last sku that pass covered
    (None once it is over)."""
    c = configuration.c
    row = conn.execute(
        select(c.revision, c.republished_revision, c.republished_through)
        .where(c.id == 1)
        .with_for_update()
    ).one()
    return row.revision, row.republished_revision, row.republished_through


def record_republished(conn: Connection, *, revision: int, through: str | None) -> None:
    c = configuration.c
    conn.execute(
        update(configuration)
        .where(c.id == 1)
        .values(republished_revision=revision, republished_through=through)
    )
