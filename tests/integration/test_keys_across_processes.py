"""API keys across processes, on SQLite and PostgreSQL: `omnistock keys` makes, lists and
revokes them straight on the database, and a server of two worker processes refuses a key
revoked anywhere (through either worker, or the command) from its very next request on.

Each request goes on a new connection, so the kernel hands them to both workers: with 30 of
them, the chance that one worker saw none is below one in a billion.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from typer.testing import CliRunner, Result

from omnistock.cli import app
from omnistock.db import Database
from omnistock.domain.availability import Channel
from omnistock.services import channels
from servers import ADMIN_KEY, api_server

REQUESTS = 30


def omnistock(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def statuses(url: str, secret: str) -> set[int]:
    """The statuses of REQUESTS reads with the key, each on a connection of its own."""
    headers = {"Authorization": f"Bearer {secret}", "Connection": "close"}
    with httpx.Client(base_url=url, timeout=10, headers=headers) as http:
        return {http.get("/v1/channels").status_code for _ in range(REQUESTS)}


def test_the_keys_command_makes_lists_and_revokes_keys(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    database.run(lambda uow: channels.put_channel(uow, Channel("web", "Web shop")))
    database.dispose()
    made = omnistock(
        "keys", "create", "--name", "connector", "--role", "integration", "--channel", "web",
        "-d", database_url,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    key_id = re.search(r"Key (key_[0-9a-f]+)", made.output)
    assert key_id is not None, made.output
    assert re.search(r"^osk_\S+$", made.output, re.MULTILINE)
    listed = omnistock("keys", "list", "-d", database_url)
    assert key_id[1] in listed.output and "web" in listed.output, listed.output
    assert "osk_" not in listed.output
    refused = omnistock("keys", "create", "--name", "x", "--role", "store", "-d", database_url)
    assert refused.exit_code == 1 and "locations" in refused.output
    assert omnistock("keys", "revoke", key_id[1], "-d", database_url).exit_code == 0
    assert key_id[1] not in omnistock("keys", "list", "-d", database_url).output
    assert omnistock("keys", "revoke", key_id[1], "-d", database_url).exit_code == 1


def test_a_key_revoked_anywhere_is_refused_by_every_worker_at_once(
    database_url: str, tmp_path: Path
) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    log_path = tmp_path / "server.log"
    with (
        api_server(database_url, workers=2, log_path=log_path) as server,
        httpx.Client(base_url=server.url, timeout=10, headers=admin) as http,
    ):
        first = http.post("/v1/keys", json={"name": "one", "role": "viewer"}).json()
        second = http.post("/v1/keys", json={"name": "two", "role": "viewer"}).json()
        assert statuses(server.url, first["secret"]) == {200}
        assert statuses(server.url, second["secret"]) == {200}

        assert http.delete(f"/v1/keys/{first['id']}").status_code == 204
        assert statuses(server.url, first["secret"]) == {401}

        revoked = omnistock("keys", "revoke", second["id"], "-d", database_url)
        assert revoked.exit_code == 0, revoked.output
        assert statuses(server.url, second["secret"]) == {401}
