"""`omnistock import items|locations|stock FILE`: an import file straight into the database,
by the same code and rules as `POST /v1/imports/...`, with a progress bar."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from omnistock.api.schemas.imports import validator
from omnistock.cli import DatabaseOption, _open, _settings
from omnistock.db import Database
from omnistock.domain.errors import OmnistockError
from omnistock.domain.imports import (
    FileFormat,
    ImportKind,
    ImportRefused,
    Summary,
    fingerprint,
)
from omnistock.services import imports

console = Console()
err_console = Console(stderr=True)
_READ_SIZE = 1024 * 1024
_NDJSON_SUFFIXES = {".ndjson", ".jsonl"}


def import_file(
    kind: Annotated[ImportKind, typer.Argument(help="items, locations or stock")],
    file: Annotated[Path, typer.Argument(help="CSV (header row) or .ndjson/.jsonl", exists=True)],
    location: Annotated[
        str | None, typer.Option("--location", help="Stock: the location the file counts")
    ] = None,
    complete: Annotated[
        bool,
        typer.Option("--complete", help="Stock: count the location's positions left out as 0"),
    ] = False,
    snapshot_id: Annotated[
        str | None,
        typer.Option("--snapshot-id", help="Name the file: imported again, it changes nothing"),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Import a file of items, locations or stock counts: all of it, or nothing."""
    db = _open(_settings(database))
    try:
        with _progress(file.stat().st_size) as advance:
            summary = run_import(
                db, kind, file, location=location, complete=complete,
                snapshot_id=snapshot_id, progress=advance,
            )  # fmt: skip
    except ImportRefused as refused:
        _print_errors(refused)
        raise typer.Exit(1) from None
    except OmnistockError as error:
        err_console.print(f"[red]Refused:[/] {error.detail}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    console.print(
        f"[green]Imported[/] {file}: {summary.rows} rows, {summary.created} created, "
        f"{summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.movements} movements",
        soft_wrap=True,
    )


def run_import(
    db: Database,
    kind: ImportKind,
    path: Path,
    *,
    location: str | None = None,
    complete: bool = False,
    snapshot_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Import the file at `path` in one unit of work; `progress(bytes, rows)` hears how far."""
    file_format = FileFormat.NDJSON if path.suffix.lower() in _NDJSON_SUFFIXES else FileFormat.CSV
    read = [0]
    sent = fingerprint(file_format, location=location, complete=complete)
    if snapshot_id is not None:
        with path.open("rb") as f:
            while chunk := f.read(_READ_SIZE):
                sent.update(chunk)

    def chunks() -> Iterator[bytes]:
        read[0] = 0
        with path.open("rb") as f:
            while chunk := f.read(_READ_SIZE):
                read[0] += len(chunk)
                yield chunk

    file = imports.ImportFile(
        kind=kind,
        file_format=file_format,
        chunks=chunks,
        validate=None if kind is ImportKind.STOCK else validator(kind, file_format),
        location=location,
        complete=complete,
        key=None if snapshot_id is None else f"snapshot:{snapshot_id}",
        fingerprint=sent.hexdigest(),
        progress=None if progress is None else (lambda rows: progress(read[0], rows)),
    )
    return db.run(lambda uow: imports.run(uow, file))


class _RowsPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        rate = rows / task.elapsed if task.elapsed else 0.0
        return Text(f"{rows:,} rows, {rate:,.0f} rows/s")


@contextlib.contextmanager
def _progress(size: int) -> Iterator[Callable[[int, int], None]]:
    columns = (TextColumn("importing"), BarColumn(), _RowsPerSecond(), TimeRemainingColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err_console, transient=True) as bars:
        task = bars.add_task("import", total=size or 1, rows=0)

        def advance(done: int, rows: int) -> None:
            bars.update(task, completed=done, rows=rows)

        yield advance


def _print_errors(refused: ImportRefused) -> None:
    table = Table(title=f"Nothing imported: {refused.total} bad row(s)")
    for column in ("line", "field", "reason"):
        table.add_column(column)
    for error in refused.errors:
        table.add_row(str(error.line), error.field, error.reason)
    err_console.print(table)
