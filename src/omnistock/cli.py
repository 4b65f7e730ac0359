"""The `omnistock` command."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from omnistock.config import Settings
from omnistock.db import Database
from omnistock.services import access
from omnistock.services import stock as stock_service

app = typer.Typer(
    help="omnistock: omnichannel order management with one unified, real-time stock.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

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

    settings = _settings(database, host=host, port=port, workers=workers)
    db = _open(settings)
    if demo:
        _load_demo(db)
    admin_key = settings.admin_key.get_secret_value() if settings.admin_key else None
    generated = admin_key is None
    if admin_key is None:
        admin_key = db.run(access.new_admin_key)
    db.dispose()

    url = f"http://{settings.host}:{settings.port}"
    origin = "generated for this run, only its hash is stored" if generated else "from env"
    console.print(
        Panel.fit(
            f"API        [bold]{url}/v1[/]\n"
            f"Docs       {url}/docs\n"
            f"Database   {settings.database_url}\n"
            f"Admin key  [bold yellow]{admin_key}[/]\n"
            f"           [dim]{origin}[/]",
            title="omnistock",
        )
    )
    if generated:
        console.print("[dim]Set OMNISTOCK_ADMIN_KEY to keep one key across restarts.[/]")
    console.print(
        f"Try: curl -H 'Authorization: Bearer {admin_key}' {url}/v1/locations", soft_wrap=True
    )
    # Worker processes build their settings from the environment (Settings()).
    os.environ["OMNISTOCK_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "omnistock.api.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )


def _load_demo(db: Database) -> None:
    from omnistock.services import demo as demo_service

    summary = demo_service.load_demo(db, console=console)
    console.print(f"[green]Demo retailer ready:[/] {summary}")


@app.command()
def demo(database: DatabaseOption = None) -> None:
    """Load a realistic retailer: warehouses, stores in French cities, items and stock."""
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
        with db.read() as conn:
            found = list(stock_service.check(conn))
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
