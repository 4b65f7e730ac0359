"""Set-based SQL of imports: rows staged in a temporary table, checked by joins, applied in
a few statements, whatever the number of rows.

A stock file is staged in `import_stock` (PostgreSQL: COPY through the driver's own
connection, the fastest way in; SQLite: an executemany, cheap in process), in the caller's
transaction. Its changes are then worked out in `import_changes` from the positions as
they are (locked, on PostgreSQL, in the one (location, sku) order), and applied: one
`count` movement per changed position (INSERT ... SELECT), the positions updated under the
same physical guard as single movements, and one `stock.changed` event per changed
position written straight into the outbox (SQLite numbers them at insert, PostgreSQL leaves
them to the sequencer, as `omnistock.db.outbox` says).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from omnistock.db import outbox
from omnistock.db.catalog import dialect_insert
from omnistock.db.tables import UTCDateTime, imports, items
from omnistock.domain.catalog import Item
from omnistock.domain.imports import Counted

_STAGE_COLUMNS = "line, location, sku, on_hand, unsellable"


@dataclass(frozen=True, slots=True)
class StockApplied:
    """What applying a staged stock file changed."""

    created: int
    changed: int
    changed_from_file: int
    touched_skus: list[str]
    short: list[tuple[str, str]]


def claim(
    conn: Connection, *, kind: str, key: str, fingerprint: str | None, now: dt.datetime
) -> tuple[dict[str, Any], str | None] | None:
    """Claim an import's key: None when it is new (the caller goes on and `record`s its
    summary), else the summary stored for it and the fingerprint of what was sent then. On
    PostgreSQL a concurrent import of the same key waits here for the first one to end."""
    stmt = dialect_insert(conn, imports).values(
        kind=kind, key=key, fingerprint=fingerprint, created_at=now
    )
    inserted = conn.execute(stmt.on_conflict_do_nothing().returning(imports.c.key)).first()
    if inserted is not None:
        return None
    summary, stored = conn.execute(
        select(imports.c.summary, imports.c.fingerprint).where(
            imports.c.kind == kind, imports.c.key == key
        )
    ).one()
    return dict(summary), stored


def record(conn: Connection, *, kind: str, key: str, summary: dict[str, int]) -> None:
    conn.execute(
        imports.update().where(imports.c.kind == kind, imports.c.key == key).values(summary=summary)
    )


def existing_items(conn: Connection, skus: Sequence[str]) -> dict[str, Item]:
    """The items among `skus` that exist, by sku."""
    rows = conn.execute(select(items).where(items.c.sku.in_(skus)))
    return {r.sku: Item(r.sku, r.name, r.barcode, r.price) for r in rows}


#: SQLite's page cache while a stock file is applied (64 MiB, against 2 MiB by default):
#: a million positions, movements and events written through a 2 MiB cache spend most of
#: their time reading back index pages it just let go (measured: twice as long in all).
_SQLITE_IMPORT_CACHE_KIB = 65536
_SQLITE_DEFAULT_CACHE_KIB = 2000


def open_stock_stage(conn: Connection) -> None:
    """An empty staging table for a stock file, private to this transaction (and on SQLite,
    a larger page cache until `release_stock_stage`)."""
    if conn.dialect.name == "sqlite":
        for schema in ("main", "temp"):
            conn.exec_driver_sql(f"PRAGMA {schema}.cache_size=-{_SQLITE_IMPORT_CACHE_KIB}")
    conn.execute(text("DROP TABLE IF EXISTS import_changes"))
    conn.execute(text("DROP TABLE IF EXISTS import_stock"))
    temporary = "TEMPORARY"
    ending = " ON COMMIT DROP" if conn.dialect.name == "postgresql" else ""
    conn.execute(
        text(
            f"CREATE {temporary} TABLE import_stock (line BIGINT NOT NULL, location TEXT NOT NULL,"
            f" sku TEXT NOT NULL, on_hand BIGINT NOT NULL, unsellable BIGINT){ending}"
        )
    )
    conn.execute(
        text(
            f"CREATE {temporary} TABLE import_changes (line BIGINT NOT NULL, location TEXT NOT "
            f"NULL, sku TEXT NOT NULL, d_on_hand BIGINT NOT NULL, d_unsellable BIGINT NOT NULL,"
            f" created INTEGER NOT NULL, short INTEGER NOT NULL){ending}"
        )
    )


def close_stock_stage(conn: Connection) -> None:
    """Drop the staging tables (SQLite keeps temporary tables for the connection's life)."""
    conn.execute(text("DROP TABLE IF EXISTS import_changes"))
    conn.execute(text("DROP TABLE IF EXISTS import_stock"))


def release_stock_stage(conn: Connection) -> None:
    """Give back what staging took outside the transaction (SQLite: the larger cache), whether
    the import was applied or refused."""
    if conn.dialect.name == "sqlite":
        for schema in ("main", "temp"):
            conn.exec_driver_sql(f"PRAGMA {schema}.cache_size=-{_SQLITE_DEFAULT_CACHE_KIB}")


def stage_stock(conn: Connection, rows: Sequence[Counted]) -> None:
    """Add a batch of rows to the staging table."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY import_stock ({_STAGE_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql(
        f"INSERT INTO import_stock ({_STAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def index_stock_stage(conn: Connection) -> None:
    """Index the staged rows by key once they are all in (faster than as they come)."""
    conn.execute(text("CREATE INDEX import_stock_key ON import_stock (location, sku, line)"))
    if conn.dialect.name == "postgresql":
        conn.execute(text("ANALYZE import_stock"))


_UNKNOWN = """
    SELECT s.line, '{column}', s.{column} FROM import_stock s
    WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{key} = s.{column})
    ORDER BY s.line LIMIT :most
"""
_REPEATED = text(
    """
    SELECT s.line, s.location, s.sku FROM import_stock s
    WHERE EXISTS (SELECT 1 FROM import_stock t
                  WHERE t.location = s.location AND t.sku = s.sku AND t.line < s.line)
    ORDER BY s.line LIMIT :most
    """
)


def stock_stage_errors(conn: Connection, *, most: int) -> list[tuple[int, str, str]]:
    """(line, field, reason) of the staged rows naming an unknown location or sku, or a
    position an earlier line of the file already counted."""
    found: list[tuple[int, str, str]] = []
    for column, table, key, resource in (
        ("location", "locations", "code", "location"),
        ("sku", "items", "sku", "item"),
    ):
        query = text(_UNKNOWN.format(column=column, table=table, key=key))
        for line, field, value in conn.execute(query, {"most": most}):
            found.append((int(line), field, f"no {resource} {value!r} exists"))
    for line, location, sku in conn.execute(_REPEATED, {"most": most}):
        found.append((int(line), "sku", f"{sku!r} at {location!r} is on an earlier line too"))
    return found


def complete_stock_stage(conn: Connection, *, location: str) -> None:
    """Count as 0 the positions of `location` the file leaves out (line 0: not in the file)."""
    conn.execute(
        text(
            f"""
            INSERT INTO import_stock ({_STAGE_COLUMNS})
            SELECT 0, p.location, p.sku, 0, 0 FROM positions p
            WHERE p.location = :location AND NOT EXISTS (
                SELECT 1 FROM import_stock s WHERE s.location = p.location AND s.sku = p.sku)
            """
        ),
        {"location": location},
    )


def apply_stock(conn: Connection, *, at: dt.datetime, reference: str | None) -> StockApplied:
    """Set every staged position to its counted figures by a `count` movement of the
    difference, where there is one; answers what changed and the positions left promising
    more than they hold (to heal)."""
    postgresql = conn.dialect.name == "postgresql"
    if postgresql:  # new positions are written at once, the others locked then updated
        created = int(conn.execute(_CREATE_POSITIONS).rowcount)
        if created >= _ANALYZE_FROM:  # the planner's figures of positions are off by far now
            conn.execute(text("ANALYZE positions"))
        conn.execute(_changes(postgresql=True))
        conn.execute(text("ANALYZE import_changes"))  # no autovacuum sees a temporary table
        conn.execute(_MOVEMENTS["ORDER BY location, sku"], {"at": at, "reference": reference})
        existing = conn.execute(text("SELECT COUNT(*) FROM import_changes WHERE created = 0"))
        updates = int(existing.scalar_one())
        written = created + (conn.execute(_UPDATE_EXISTING).rowcount if updates else 0)
    else:  # one writer: nothing to lock, and new positions are written in the one upsert
        conn.execute(_changes(postgresql=False))
        created = int(conn.execute(_CREATED).scalar_one())
        conn.execute(_MOVEMENTS[""], {"at": at, "reference": reference})
        written = conn.execute(_INSERT_POSITIONS).rowcount
        written += conn.execute(_UPDATE_EXISTING).rowcount
    changed, from_file = conn.execute(_COUNT_CHANGES).one()
    if written != changed:  # a count always leaves a position possible: never refused
        raise AssertionError(f"{changed - written} staged count(s) refused by the guard")
    outbox.append_stock_changed(conn, changed=_CHANGED_KEYS, params={}, at=at)
    if postgresql and changed >= _ANALYZE_FROM:  # the planner's figures are off by far now
        conn.execute(text("ANALYZE positions"))
    touched = list(conn.scalars(text("SELECT DISTINCT sku FROM import_changes ORDER BY sku")))
    short = [(str(loc), str(sku)) for loc, sku in conn.execute(_SHORT)]
    return StockApplied(created, int(changed), int(from_file or 0), touched, short)


#: Changed positions from which PostgreSQL's statistics of the table are taken again, in the
#: transaction (ANALYZE counts its own uncommitted rows): after a first load of a million
#: positions, a table it still thinks empty is scanned whole for each of the availability
#: reads that follow (a `sku IN (...)` of 1,000 skus took minutes instead of milliseconds).
_ANALYZE_FROM = 10_000
#: PostgreSQL: the positions a count creates (counted with units, not there yet), written
#: with their figures, and noted as changes; one a concurrent writer created meanwhile is
#: left to the locked update, as any existing position. (Each is of a line of the file, as
#: only those count units: `line` 1 says so, with no join back to the staged rows.)
_CREATE_POSITIONS = text(
    """
    WITH made AS (
        INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
        SELECT s.sku, s.location, s.on_hand, 0, COALESCE(s.unsellable, 0), 0
        FROM import_stock s
        WHERE s.on_hand > 0 AND NOT EXISTS (
            SELECT 1 FROM positions p WHERE p.sku = s.sku AND p.location = s.location)
        ORDER BY s.location, s.sku
        ON CONFLICT (sku, location) DO NOTHING
        RETURNING sku, location, on_hand, unsellable
    )
    INSERT INTO import_changes (line, location, sku, d_on_hand, d_unsellable, created, short)
    SELECT 1, location, sku, on_hand, unsellable, 1, 0 FROM made
    """
)


def _changes(*, postgresql: bool) -> Any:
    """The deltas of each position whose figures differ from the count, read from the row
    as it is (PostgreSQL: locked first, in (location, sku) order; SQLite: a position not there
    yet counts from zero, `created`). As a single count: the unsellable units are those the
    file gives, else those there were, up to what is on hand."""
    if postgresql:
        unsellable = "COALESCE(s.unsellable, LEAST(p.unsellable, s.on_hand))"
        return text(
            f"""
            INSERT INTO import_changes (line, location, sku, d_on_hand, d_unsellable, created,
                                        short)
            SELECT s.line, p.location, p.sku, s.on_hand - p.on_hand,
                   {unsellable} - p.unsellable, 0,
                   CASE WHEN s.on_hand - p.reserved - {unsellable} < 0 THEN 1 ELSE 0 END
            FROM import_stock s JOIN positions p ON p.sku = s.sku AND p.location = s.location
            WHERE p.on_hand <> s.on_hand OR p.unsellable <> {unsellable}
            ORDER BY p.location, p.sku
            FOR UPDATE OF p
            """
        )
    had = "COALESCE(p.unsellable, 0)"
    unsellable = f"COALESCE(s.unsellable, MIN({had}, s.on_hand))"
    return text(
        f"""
        INSERT INTO import_changes (line, location, sku, d_on_hand, d_unsellable, created, short)
        SELECT s.line, s.location, s.sku, s.on_hand - COALESCE(p.on_hand, 0),
               {unsellable} - {had}, p.sku IS NULL,
               CASE WHEN s.on_hand - COALESCE(p.reserved, 0) - {unsellable} < 0 THEN 1 ELSE 0 END
        FROM import_stock s LEFT JOIN positions p ON p.sku = s.sku AND p.location = s.location
        WHERE COALESCE(p.on_hand, 0) <> s.on_hand OR {had} <> {unsellable}
        ORDER BY s.location, s.sku
        """
    )


_CREATED = text("SELECT COUNT(*) FROM import_changes WHERE created")
#: SQLite: the positions a count creates, written at once (the others are updated).
_INSERT_POSITIONS = text(
    """
    INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)
    SELECT sku, location, d_on_hand, 0, d_unsellable, 0 FROM import_changes WHERE created
    """
)
#: The movements, in (location, sku) order on both databases: PostgreSQL notes the positions
#: it creates first, SQLite writes `import_changes` in that order already (and sorting a
#: million rows again costs it seconds).
_MOVEMENTS = {
    order: text(
        f"""
        INSERT INTO movements (at, sku, location, type, on_hand, reserved, unsellable, inbound,
                               reason, reference)
        SELECT :at, sku, location, 'count', d_on_hand, 0, d_unsellable, 0, 'import', :reference
        FROM import_changes {order}
        """
    ).bindparams(bindparam("at", type_=UTCDateTime))
    for order in ("ORDER BY location, sku", "")
}
_UPDATE_POSITIONS = text(
    """
    UPDATE positions SET on_hand = positions.on_hand + c.d_on_hand,
                         unsellable = positions.unsellable + c.d_unsellable
    FROM import_changes c
    WHERE positions.sku = c.sku AND positions.location = c.location
      AND positions.on_hand + c.d_on_hand >= positions.unsellable + c.d_unsellable
      AND positions.unsellable + c.d_unsellable >= 0
    """
)
_UPDATE_EXISTING = text(_UPDATE_POSITIONS.text + " AND c.created = 0")
_COUNT_CHANGES = text(
    "SELECT COUNT(*), SUM(CASE WHEN line > 0 THEN 1 ELSE 0 END) FROM import_changes"
)
_CHANGED_KEYS = "SELECT sku, location FROM import_changes"
#: The positions left promising more than they hold (their count is below what is reserved),
#: told when the changes were worked out from the locked rows.
_SHORT = text("SELECT location, sku FROM import_changes WHERE short = 1 ORDER BY location, sku")
