"""`omnistock keys`: make, list and revoke API keys, straight on the database."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from omnistock.cli import DatabaseOption, _open, _settings
from omnistock.domain.access import Role
from omnistock.domain.errors import OmnistockError
from omnistock.services import access

app = typer.Typer(help="Make, list and revoke API keys.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what holds the key")],
    role: Annotated[Role, typer.Option("--role", help="admin, viewer, integration or store")],
    channel: Annotated[
        str | None, typer.Option("--channel", help="The channel of an integration key")
    ] = None,
    location: Annotated[
        list[str] | None,
        typer.Option("--location", help="A location of a store key (repeat for more)"),
    ] = None,
    database: DatabaseOption = None,
) -> None:
    """Make a key and print its secret, this once (only its hash is kept)."""
    db = _open(_settings(database))
    try:
        made = db.run(lambda uow: access.create(uow, access.NewKey(name, role, channel, location)))
    except OmnistockError as error:
        err_console.print(f"[red]Refused:[/] {error.detail}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    console.print(f"Key [bold]{made['id']}[/] ({_reach(made)}). Its secret, shown this once:")
    console.print(made["secret"], soft_wrap=True, highlight=False)


@app.command("list")
def list_keys(database: DatabaseOption = None) -> None:
    """The stored keys (never their secrets)."""
    db = _open(_settings(database))
    try:
        with db.reading() as reads:
            found = access.list_keys(reads)
    finally:
        db.dispose()
    console.print(keys_table(found))


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id")],
    database: DatabaseOption = None,
) -> None:
    """Revoke a key: the server refuses it from its next request on."""
    db = _open(_settings(database))
    try:
        db.run(lambda uow: access.revoke(uow, key_id))
    except OmnistockError as error:
        err_console.print(f"[red]Refused:[/] {error.detail}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    console.print(f"Key {key_id} revoked.")


def keys_table(found: list[dict[str, Any]], *, secrets: bool = False) -> Table:
    """The keys as a table (with their secrets, just made, when `secrets`)."""
    table = Table(title=f"{len(found)} API key(s)")
    table.add_column("id", no_wrap=True)
    for column in ("name", "role", "reach", "created", "last used"):
        table.add_column(column)
    if secrets:
        table.add_column("secret (shown once)", overflow="fold")
    for key in found:
        row = [
            key["id"],
            key["name"],
            str(key["role"] or "custom"),
            _reach(key),
            f"{key['created_at']:%Y-%m-%d %H:%M}",
            "never" if key["last_used_at"] is None else f"{key['last_used_at']:%Y-%m-%d %H:%M}",
        ]
        table.add_row(*row, *([key["secret"]] if secrets else []))
    return table


def _reach(key: dict[str, Any]) -> str:
    if key["channel"] is not None:
        return f"channel {key['channel']}"
    if key["locations"] is not None:
        return "at " + ", ".join(key["locations"])
    return {Role.ADMIN: "everything", Role.VIEWER: "every read"}.get(key["role"], "its scopes")
