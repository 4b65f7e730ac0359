"""Importing a file of items, locations or stock counts: all of it, or nothing.

The file is read once, as a stream, and checked row by row as it comes; good rows are
applied (items, locations) or staged (stock) in batches in the one transaction, so memory
holds a batch, not the file. Any bad row makes the whole import fail (ImportRefused lists
them) and the transaction roll back. An import under a key (an `Idempotency-Key`, a
`snapshot_id`) is recorded with its summary: sent again, it changes nothing and is answered
the same summary.

A stock file is a snapshot: each position it names is set to the counted figures by a
`count` movement of the difference (none where nothing differs), and with `complete` the
positions of its location that it leaves out are counted as 0. The changes are applied
set-based (`omnistock.db.imports`), emit one `stock.changed` a changed position, publish
the availability they moved, and heal the promises a count below what is reserved breaks,
as a single count does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from omnistock.db import UnitOfWork
from omnistock.domain.catalog import Item, Location
from omnistock.domain.errors import IdempotencyKeyReused, InvalidInput, OmnistockError
from omnistock.domain.events import Event
from omnistock.domain.imports import (
    MAX_ERRORS,
    MAX_LINE_BYTES,
    Counted,
    Errors,
    FileFormat,
    ImportKind,
    Record,
    RowError,
    Summary,
    Validator,
    records,
    stock_batches,
)
from omnistock.services import availability, catalog, healing

#: Rows applied or staged at a time.
BATCH = 5000


@dataclass(frozen=True, slots=True)
class ImportFile:
    """What to import: `chunks` opens the file's bytes afresh (a transaction that is tried
    again reads it again), `validate` checks an item or location row (not needed for stock),
    `progress` hears of each batch's rows."""

    kind: ImportKind
    file_format: FileFormat
    chunks: Callable[[], Iterable[bytes]]
    validate: Validator | None = None
    location: str | None = None
    complete: bool = False
    key: str | None = None
    #: What identifies the content sent under `key` (a digest of the body and options).
    fingerprint: str | None = None
    max_line: int = MAX_LINE_BYTES
    progress: Callable[[int], None] | None = None


def run(uow: UnitOfWork, file: ImportFile) -> Summary:
    """Import `file` in this unit of work (ImportRefused, nothing applied, on a bad row)."""
    if file.complete and file.location is None:
        raise InvalidInput("complete", "a complete count needs the location it is of")
    if file.key is not None:
        stored = uow.imports.claim(
            kind=str(file.kind), key=file.key, fingerprint=file.fingerprint, now=uow.now
        )
        if stored is not None:
            answered, sent = stored
            if sent != file.fingerprint:
                raise _reused(file.key)
            return Summary(**answered)
    errors = Errors()
    if file.kind is ImportKind.STOCK:
        counted = stock_batches(file.chunks(), file.file_format, errors, max_line=file.max_line)
        try:
            summary = _stock(uow, _told_batches(counted, file.progress), errors, file)
        finally:
            uow.imports.release_stock_stage()
    else:
        rows = records(file.chunks(), file.file_format, errors, max_line=file.max_line)
        summary = _catalogue(uow, _told(rows, file.progress), errors, file)
    if file.key is not None:
        uow.imports.record(kind=str(file.kind), key=file.key, summary=summary.as_dict())
    return summary


def _reused(key: str) -> OmnistockError:
    """The same key sent again with another file: refused, naming what carried the key."""
    if key.startswith("snapshot:"):
        return InvalidInput(
            "snapshot_id",
            f"{key.removeprefix('snapshot:')!r} was imported from another file: "
            "give a new snapshot_id for a new snapshot",
        )
    return IdempotencyKeyReused(key.partition("/")[2])


def _told(rows: Iterator[Record], progress: Callable[[int], None] | None) -> Iterator[Record]:
    """The rows, telling `progress` the line reached every 4,096 rows."""
    if progress is None:
        yield from rows
        return
    for count, row in enumerate(rows, 1):
        yield row
        if not count % 4096:
            progress(row.line)


def _told_batches(
    batches: Iterator[list[Counted]], progress: Callable[[int], None] | None
) -> Iterator[list[Counted]]:
    """The batches, telling `progress` the line reached after each."""
    for batch in batches:
        yield batch
        if progress is not None and batch:
            progress(batch[-1][0])


def _catalogue(
    uow: UnitOfWork, rows: Iterator[Record], errors: Errors, file: ImportFile
) -> Summary:
    """Items or locations: each row checked as its PUT checks it, keys once a file."""
    assert file.validate is not None
    seen: dict[str, int] = {}
    batch: list[Item | Location] = []
    tally = Summary()
    for record in rows:
        found = file.validate(record)
        if isinstance(found, list):
            for error in found:
                errors.add(error)
            continue
        key = found.sku if isinstance(found, Item) else found.code
        if key in seen:
            field = "sku" if isinstance(found, Item) else "code"
            errors.add(RowError(record.line, field, f"{key!r} is on line {seen[key]} already"))
            continue
        seen[key] = record.line
        batch.append(found)
        if len(batch) >= BATCH:
            tally = _add(tally, _put(uow, batch, errors))
            batch = []
    tally = _add(tally, _put(uow, batch, errors))
    errors.raise_if_any()
    return tally


def _put(uow: UnitOfWork, batch: list[Item | Location], errors: Errors) -> Summary:
    """Create or update the batch's records that differ from what is stored, with the events
    their PUTs emit (nothing once the file is known to be refused)."""
    if not batch or errors.count:
        return Summary()
    if isinstance(batch[0], Item):
        summary = _put_items(uow, [i for i in batch if isinstance(i, Item)])
    else:
        summary = _put_locations(uow, [loc for loc in batch if isinstance(loc, Location)])
    uow.flush_events()  # written a batch at a time: memory holds one batch of events
    return summary


def _put_items(uow: UnitOfWork, batch: list[Item]) -> Summary:
    stored = uow.imports.existing_items([item.sku for item in batch])
    changed = [item for item in batch if stored.get(item.sku) != item]
    created = uow.bulk.put_items(changed, now=uow.now)
    for item in changed:
        kind = Event.ITEM_CREATED if item.sku in created else Event.ITEM_UPDATED
        uow.emit(kind, catalog.item_view(item))
    return Summary(len(batch), len(created), len(changed) - len(created), len(batch) - len(changed))


def _put_locations(uow: UnitOfWork, batch: list[Location]) -> Summary:
    created = updated = 0
    for location in batch:
        if uow.catalog.get_location(location.code) == location:
            continue
        if catalog.put_location(uow, location):  # notes the change of configuration
            created += 1
        else:
            updated += 1
    return Summary(len(batch), created, updated, len(batch) - created - updated)


def _add(a: Summary, b: Summary) -> Summary:
    return Summary(
        a.rows + b.rows,
        a.created + b.created,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
        a.movements + b.movements,
    )


def _stock(
    uow: UnitOfWork, batches: Iterator[list[Counted]], errors: Errors, file: ImportFile
) -> Summary:
    uow.imports.open_stock_stage()
    count = _stage(uow, batches, errors, file.location)
    uow.imports.index_stock_stage()
    for line, field, reason in uow.imports.stock_stage_errors(most=MAX_ERRORS):
        errors.add(RowError(line, field, reason))
    errors.raise_if_any()
    if file.complete and file.location is not None:
        uow.imports.complete_stock_stage(location=file.location)
    reference = None if file.key is None else f"import:{file.key}"[:200]
    applied: list[Any] = []

    def apply() -> list[tuple[str, str]]:
        applied[:] = [uow.imports.apply_stock(at=uow.now, reference=reference)]
        return list(applied[0].short)

    healing.bulk_fact(uow, apply=apply, cause="an imported count")
    result = applied[0]
    uow.imports.close_stock_stage()
    for sku in result.touched_skus:
        availability.watch(uow, sku)
    changed, created = int(result.changed), int(result.created)
    return Summary(
        rows=count,
        created=created,
        updated=changed - created,
        unchanged=count - int(result.changed_from_file),
        movements=changed,
    )


def _stage(
    uow: UnitOfWork, batches: Iterator[list[Counted]], errors: Errors, location: str | None
) -> int:
    """Stage every good row, even after a bad one: the checks made on the staged rows (an
    unknown sku or location, a position counted twice) then name their lines too, so one
    answer lists every bad row of the file."""
    count = 0
    for batch in batches:
        count += len(batch)
        if location is not None:
            elsewhere = [row for row in batch if row[1] != location]
            for row in elsewhere:
                reason = f"must be {location!r}: the import is of that location"
                errors.add(RowError(row[0], "location", reason))
            if elsewhere:
                batch = [row for row in batch if row[1] == location]
        uow.imports.stage_stock(batch)
    return count
