"""The `omnistock` command."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url

from omnistock import logs, worker
from omnistock.config import Settings
from omnistock.db import Database
from omnistock.services import access
from omnistock.services import stock as stock_service

if TYPE_CHECKING:
    from omnistock.demo import ProgressCallback

app = typer.Typer(
    help="omnistock: omnichannel order management with one unified, real-time stock.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
relay_app = typer.Typer(help="Relay the event feed to an event bus.", no_args_is_help=True)
app.add_typer(relay_app, name="relay")

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database", "-d", help="Database URL (default: $OMNISTOCK_DATABASE_URL or ./omnistock.db)"
    ),
]


def _settings(database: str | None, **overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if database is not None:
        values["database_url"] = database
    return Settings(**values)  # type: ignore[arg-type]


def _open(settings: Settings) -> Database:
    database = Database(
        settings.database_url,
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=settings.pool_size,
        policy=settings.order_policy(),
    )
    database.migrate()
    return database


@app.command()
def serve(
    database: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes (PostgreSQL)")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load the demo retailer first")] = False,
) -> None:
    """Run the API (and its docs at /docs), migrating the database first."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    settings = _settings(database, host=host, port=port, workers=workers)
    db = _open(settings)
    if db.is_sqlite and settings.workers > 1:
        console.print(
            f"[yellow]{settings.workers} workers share one SQLite file, which has one writer "
            "at a time: writes will not go faster and will wait on each other. "
            "Use one worker on SQLite, several on PostgreSQL.[/]"
        )
    if demo:
        _load_demo(db)
    shown, origin = _admin_key(db, settings)
    db.dispose()
    _welcome(settings, shown, origin)
    # Worker processes build their settings from the environment (Settings()): the session
    # secret too, so that every worker reads the console's cookies.
    os.environ["OMNISTOCK_DATABASE_URL"] = settings.database_url
    if settings.session_secret is None:
        os.environ["OMNISTOCK_SESSION_SECRET"] = secrets.token_urlsafe(32)
    json_logs = settings.log_format == "json"
    with _shared_metrics(settings), _deliverer_beside(settings):
        uvicorn.run(
            "omnistock.api.app:create_app_from_env",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level="info",
            log_config=logs.json_config() if json_logs else LOGGING_CONFIG,
            access_log=not json_logs,  # in json, the app's own line per request replaces it
        )


#: Where prometheus_client's multiprocess mode keeps each process's values (named here rather
#: than imported, so that prometheus_client is first imported once the variable is set).
_PROMETHEUS_DIR = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def _shared_metrics(settings: Settings) -> Iterator[None]:
    """With several worker processes, a fresh directory where they share their metrics
    (any one then answers /metrics for all), set in the environment they inherit and
    deleted once they have stopped; with one, none: its metrics stay in its memory."""
    os.environ.pop(_PROMETHEUS_DIR, None)  # never another run's values
    if settings.workers == 1 or not settings.metrics:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="omnistock-metrics-") as directory:
        os.environ[_PROMETHEUS_DIR] = directory
        try:
            yield
        finally:
            del os.environ[_PROMETHEUS_DIR]


def _admin_key(db: Database, settings: Settings) -> tuple[str, str]:
    """The admin key to show, and where it comes from: a new one for this run, or the
    environment's (never printed: it would end up in logs)."""
    if settings.admin_key is None:
        return db.run(access.new_admin_key), "generated for this run, only its hash is stored"
    db.run(access.retire_generated_admin_key)
    return (
        "$OMNISTOCK_ADMIN_KEY",
        "from the environment; a key generated by an earlier start no longer works",
    )


def _welcome(settings: Settings, shown: str, origin: str) -> None:
    """Where the console and the API are, and how to call it."""
    url = f"http://{settings.host}:{settings.port}"
    database_shown = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(
        Panel.fit(
            f"Console    [bold]{url}/[/]  (sign in with a key)\n"
            f"API        [bold]{url}/v1[/]\n"
            f"Docs       {url}/docs\n"
            f"Database   {database_shown}\n"
            f"Admin key  [bold yellow]{shown}[/]\n"
            f"           [dim]{origin}[/]",
            title="omnistock",
        )
    )
    if settings.admin_key is None:
        console.print("[dim]Set OMNISTOCK_ADMIN_KEY to keep one key across restarts.[/]")
    console.print(
        f'Try: curl -H "Authorization: Bearer {shown}" {url}/v1/locations', soft_wrap=True
    )


@app.command("worker")
def run_worker(database: DatabaseOption = None) -> None:
    """Run the periodic jobs alone until SIGINT or SIGTERM (serve runs them too): release
    expired holds, expire uncollected pickups, republish the ATS, forget old idempotency keys."""
    _run_until_signalled(database, worker.run, "Worker")


@contextlib.contextmanager
def _deliverer_beside(settings: Settings) -> Iterator[None]:
    """`omnistock deliver` in a process of its own while the server runs (unless
    OMNISTOCK_DELIVER_WEBHOOKS=false): in a thread of a server process it would take the
    GIL from the requests at every send (measured: orders/s 0.64 of none with a webhook on
    `*`, against 0.99 from a process of its own). It shares serve's process group, so
    Ctrl+C or a signal to the group stops it too; serve stops it when it ends."""
    if not settings.deliver_webhooks:
        yield
        return
    env = {**os.environ, "OMNISTOCK_HOST": settings.host, "OMNISTOCK_PORT": str(settings.port)}
    child = subprocess.Popen([sys.executable, "-m", "omnistock", "deliver"], env=env)
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@app.command("deliver")
def run_deliverer(database: DatabaseOption = None) -> None:
    """Deliver webhooks until SIGINT or SIGTERM (serve starts one in a process of its own,
    unless OMNISTOCK_DELIVER_WEBHOOKS=false): one deliverer at a time delivers, across
    processes and servers."""
    _run_until_signalled(database, worker.deliver, "Deliverer")


def _run_until_signalled(
    database: str | None, loop: Callable[[Settings, Database, threading.Event], None], name: str
) -> None:
    settings = _settings(database)
    db = _open(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logs.configure(settings.log_format)
    say = _say(settings)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    say(f"{name} running on {shown}; stop it with Ctrl+C or SIGTERM.")
    stop = threading.Event()

    def ask_to_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()  # the loop ends after its current batch

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    # The loop runs in a thread: the signal handler then never sets `stop` while this
    # thread holds its lock (in stop.wait), which would deadlock.
    jobs = threading.Thread(target=loop, args=(settings, db, stop), name=name.lower())
    jobs.start()
    try:
        while jobs.is_alive():
            jobs.join(0.5)
    finally:
        stop.set()
        jobs.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        db.dispose()
    say(f"{name} stopped.")


def _say(settings: Settings) -> Callable[[str], None]:
    """How a long-running command tells what it does: on the console, or as a JSON log line
    with OMNISTOCK_LOG_FORMAT=json (nothing else on the output then)."""
    if settings.log_format == "json":
        return logging.getLogger("omnistock").info
    return lambda text: console.print(text, soft_wrap=True)


@relay_app.command("nats")
def relay_nats(
    url: Annotated[str, typer.Option(help="The NATS server, e.g. nats://127.0.0.1:4222")],
    stream: Annotated[
        str, typer.Option(help="The JetStream stream (made if missing)")
    ] = "OMNISTOCK",
    database: DatabaseOption = None,
) -> None:
    """Relay every event to NATS JetStream (subject omnistock.<type>, message id = seq),
    resuming after the last event relayed, until SIGINT or SIGTERM."""
    import asyncio

    from omnistock.events import relay

    settings = _settings(database)
    db = _open(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    console.print(
        f"Relaying the events of {shown} to {url}, stream {stream}; stop it with Ctrl+C.",
        soft_wrap=True,
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await relay.relay(db, url=url, stream=stream, stop=stop)

    try:
        last = asyncio.run(main())
    finally:
        db.dispose()
    console.print(f"Relay stopped after event {last}.")


def _load_demo(db: Database) -> None:
    from omnistock import demo as demo_retailer
    from omnistock.api.schemas.imports import validator
    from omnistock.cli_keys import keys_table
    from omnistock.demo.keys import make_demo_keys

    with _progress_bars() as progress:
        summary = demo_retailer.load_demo(db, checks=validator, progress=progress)
    console.print(f"[green]Demo retailer ready:[/] {summary}")
    made = db.run(make_demo_keys)
    console.print(keys_table(made, secrets=True))
    console.print("[dim]One key of each role, to try what each may do; new ones at each load.[/]")


@contextlib.contextmanager
def _progress_bars() -> Iterator[ProgressCallback]:
    """A bar on the console for each phase a long job reports."""
    columns = (TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bars:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bars.add_task(phase, total=total)
            bars.update(tasks[phase], completed=done, total=total)

        yield report


@app.command()
def demo(
    database: DatabaseOption = None,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export",
            help="Write the demo's items, locations and opening stock as the CSV files "
            "`omnistock import` takes, into this directory, and load nothing",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Load a realistic retailer: warehouses, stores in French cities, items and stock."""
    if export is not None:
        from omnistock.demo.export import export as export_demo
        from omnistock.demo.plan import plan_demo

        written = export_demo(plan_demo(), export)
        for name, rows in written.items():
            console.print(f"{export / name}: {rows:,} rows")
        console.print(f"[dim]Import them with: omnistock import items {export / 'items.csv'}[/]")
        return
    db = _open(_settings(database))
    try:
        _load_demo(db)
    finally:
        db.dispose()


@app.command()
def migrate(database: DatabaseOption = None) -> None:
    """Apply the database migrations (serve does it too)."""
    _open(_settings(database)).dispose()
    console.print("[green]Schema up to date.[/]")


@app.command()
def check(database: DatabaseOption = None) -> None:
    """Replay the ledger and compare every position; exit 1 on any difference."""
    db = _open(_settings(database))
    try:
        with db.reading() as reads:
            found = list(stock_service.check(reads))
    finally:
        db.dispose()
    if not found:
        console.print("[green]Ledger clean:[/] every position equals the sum of its movements.")
        return
    table = Table(title=f"{len(found)} position(s) differ from their ledger")
    for column in ("sku", "location", "quantity", "stored", "ledger sum"):
        table.add_column(column)
    for drift in found:
        for name in ("on_hand", "reserved", "unsellable", "inbound"):
            stored, replayed = getattr(drift.stored, name), getattr(drift.replayed, name)
            if stored != replayed:
                table.add_row(drift.sku, drift.location, name, str(stored), str(replayed))
    console.print(table)
    raise typer.Exit(1)


# Sub-commands in modules of their own (imported last: they use the helpers above).
from omnistock.cli_imports import import_file  # noqa: E402
from omnistock.cli_keys import app as keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")
app.command("import")(import_file)
