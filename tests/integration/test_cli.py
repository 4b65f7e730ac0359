"""The `omnistock` command: check, migrate, demo, serve and worker, on SQLite and PostgreSQL.

check, migrate and demo run in-process through Typer's runner; serve and worker run for real,
as the installed console script in its own process group, and are always stopped at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import queue
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner, Result

from omnistock.cli import app
from omnistock.db import Database, UnitOfWork
from omnistock.db.tables import api_keys, metadata, movements, positions
from omnistock.domain.availability import Channel
from omnistock.domain.reservations import ACTIVE, EXPIRED, Reservation
from omnistock.domain.stock import MovementType
from omnistock.services import catalog, channels, reservations, stock
from samples import CAP, STORE, TEE
from servers import (
    OMNISTOCK,
    STARTUP_SECONDS,
    STOP_SECONDS,
    omnistock_env,
    output_until,
    read_lines,
    serving,
    start,
    stop,
)


def omnistock(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def in_database(url: str, fn: Callable[[UnitOfWork], object]) -> None:
    database = Database(url)
    try:
        database.run(fn)
    finally:
        database.dispose()


def stock_a_store(uow: UnitOfWork) -> None:
    """T-shirts: 12 received, 5 sold (7 on hand); caps: 3 received, 1 damaged."""
    catalog.put_item(uow, TEE)
    catalog.put_item(uow, CAP)
    catalog.put_location(uow, STORE)
    for sku, movement_type, quantity in (
        (TEE.sku, MovementType.RECEIPT, 12),
        (TEE.sku, MovementType.SALE, 5),
        (CAP.sku, MovementType.RECEIPT, 3),
        (CAP.sku, MovementType.DAMAGE, 1),
    ):
        stock.record_movement(
            uow, location=STORE.code, sku=sku, movement_type=movement_type, quantity=quantity
        )


def add_one_tee_behind_the_ledgers_back(uow: UnitOfWork) -> None:
    uow.conn.execute(
        text("UPDATE positions SET on_hand = on_hand + 1 WHERE sku = :sku AND location = :loc"),
        {"sku": TEE.sku, "loc": STORE.code},
    )


def table_body(output: str) -> list[list[str]]:
    """The body rows of the table rich printed (its header is drawn with heavier lines)."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in output.splitlines()
        if line.strip().startswith("│")
    ]


# --------------------------------------------------------------------------- check


def test_check_says_the_ledger_is_clean_when_every_position_equals_its_movements(
    database_url: str,
) -> None:
    in_database(database_url, stock_a_store)

    result = omnistock("check", "--database", database_url)

    assert result.exit_code == 0, result.output
    assert "Ledger clean" in result.output


def test_check_fails_and_names_the_position_whose_stored_quantity_left_the_ledger(
    database_url: str,
) -> None:
    in_database(database_url, stock_a_store)
    in_database(database_url, add_one_tee_behind_the_ledgers_back)

    result = omnistock("check", "--database", database_url)

    assert result.exit_code == 1, result.output
    assert "1 position(s) differ from their ledger" in result.output
    header = next(line for line in result.output.splitlines() if "ledger sum" in line)
    assert re.findall(r"[a-z]+(?: [a-z]+)?", header) == [
        "sku",
        "location",
        "quantity",
        "stored",
        "ledger sum",
    ]
    assert table_body(result.output) == [["TEE-M", "PAR-01", "on_hand", "8", "7"]]


# --------------------------------------------------------------------------- migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database that exists but holds no table at all (SQLite: not even a file)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/new.db"
        return
    server: str = request.getfixturevalue("pg_server_url")
    name = f"t_empty_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def tables_in(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def contents(url: str) -> dict[str, object]:
    """The schema version, the tables and the stock: what a migration must not disturb."""
    database = Database(url)
    try:
        with database.read() as conn:
            return {
                "version": conn.execute(text("SELECT version_num FROM alembic_version")).all(),
                "tables": sorted(inspect(conn).get_table_names()),
                "positions": conn.execute(select(positions).order_by(positions.c.sku)).all(),
                "movements": conn.execute(select(func.count()).select_from(movements)).scalar(),
            }
    finally:
        database.dispose()


def test_migrate_creates_the_whole_schema_in_an_empty_database(empty_database_url: str) -> None:
    assert tables_in(empty_database_url) == set()

    result = omnistock("migrate", "--database", empty_database_url)

    assert result.exit_code == 0, result.output
    assert "Schema up to date" in result.output
    assert tables_in(empty_database_url) == {*metadata.tables, "alembic_version"}
    assert omnistock("check", "--database", empty_database_url).exit_code == 0


def test_migrate_on_an_up_to_date_database_changes_nothing(database_url: str) -> None:
    in_database(database_url, stock_a_store)
    before = contents(database_url)

    result = omnistock("migrate", "--database", database_url)

    assert result.exit_code == 0, result.output
    assert "Schema up to date" in result.output
    assert contents(database_url) == before


# --------------------------------------------------------------------------- demo


def test_demo_loads_the_retailer_once_and_leaves_a_clean_ledger(database_url: str) -> None:
    first = omnistock("demo", "--database", database_url)
    again = omnistock("demo", "--database", database_url)
    checked = omnistock("check", "--database", database_url)

    assert first.exit_code == 0, first.output
    assert "Demo retailer ready: 2 warehouses, 32 stores, 2,000 items" in first.output
    for phase in (
        "Importing locations",
        "Importing items",
        "Importing stock",
        "Orders",
        "Transfers",
    ):
        assert phase in first.output  # a progress bar for each phase the load reports
    assert again.exit_code == 0, again.output
    assert "already loaded, nothing changed" in again.output
    assert checked.exit_code == 0, checked.output
    assert "Ledger clean" in checked.output


# --------------------------------------------------------------------------- serve


def stored_keys(url: str) -> list[tuple[str, ...]]:
    database = Database(url)
    try:
        with database.read() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
            return [tuple(str(value) for value in row) for row in rows]
    finally:
        database.dispose()


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_serve_prints_a_generated_admin_key_that_opens_the_api_and_stores_only_its_hash(
    database_url: str,
) -> None:
    with serving(database_url) as server:
        assert server.admin_key.startswith("osk_")
        assert "generated for this run, only its hash is stored" in server.output
        assert server.locations(server.admin_key).status_code == 200
        assert server.locations("osk_not-the-key").status_code == 401

    keys = stored_keys(database_url)
    assert [key[:3] for key in keys] == [
        ("admin", "admin key generated by `omnistock serve`", sha256(server.admin_key))
    ]
    assert not any(server.admin_key in value for key in keys for value in key)


def test_each_start_of_serve_replaces_the_generated_key_and_the_old_one_stops_working(
    database_url: str,
) -> None:
    with serving(database_url) as first:
        assert first.locations(first.admin_key).status_code == 200

    with serving(database_url) as second:
        assert second.admin_key.startswith("osk_")
        assert second.admin_key != first.admin_key
        assert second.locations(second.admin_key).status_code == 200
        assert second.locations(first.admin_key).status_code == 401

    assert [key[2] for key in stored_keys(database_url)] == [sha256(second.admin_key)]


def test_serve_uses_the_admin_key_from_the_environment_says_so_and_never_prints_it(
    database_url: str,
) -> None:
    with serving(database_url, admin_key="chosen-key") as server:
        assert server.admin_key == "$OMNISTOCK_ADMIN_KEY"
        assert "from the environment" in server.output
        assert "chosen-key" not in server.output
        assert "osk_" not in server.output
        assert server.locations("chosen-key").status_code == 200
        assert server.locations("chosen-key-2").status_code == 401

    assert stored_keys(database_url) == []


def test_setting_an_admin_key_in_the_environment_retires_the_key_generated_by_an_earlier_start(
    database_url: str,
) -> None:
    with serving(database_url) as earlier:
        assert earlier.locations(earlier.admin_key).status_code == 200

    with serving(database_url, admin_key="chosen-key") as server:
        assert server.locations("chosen-key").status_code == 200
        assert server.locations(earlier.admin_key).status_code == 401

    assert stored_keys(database_url) == []


def test_serve_publishes_the_figures_a_new_buffer_rule_moved_within_seconds(
    database_url: str,
) -> None:
    """Nothing moves the stock after the rule: the server's housekeeping publishes it."""
    in_database(database_url, stock_a_store)
    with serving(database_url) as server:
        headers = {"Authorization": f"Bearer {server.admin_key}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as api:
            assert api.put("/v1/channels/web", json={"name": "Web"}).status_code == 201
            rule = {"channel": "web", "location": "PAR-01", "units": 2}
            assert api.post("/v1/buffer-rules", json=rule).status_code == 201
            expected = api.get(f"/v1/availability/{TEE.sku}", params={"channel": "web"}).json()
            assert expected["available_to_sell"] == 7 - 2
            deadline, newest = time.monotonic() + 15, None
            while time.monotonic() < deadline and newest != expected["available_to_sell"]:
                shown = api.get("/v1/events", params={"limit": 1000}).json()["events"]
                figures = [
                    e["data"]["available_to_sell"]
                    for e in shown
                    if e["type"] == "availability.changed"
                    and (e["data"]["channel"], e["data"]["sku"]) == ("web", TEE.sku)
                ]
                newest = figures[-1] if figures else None
                time.sleep(0.2)
    assert newest == expected["available_to_sell"]


# --------------------------------------------------------------------------- worker


def hold_two_tees_for_a_second(uow: UnitOfWork) -> Reservation:
    channels.put_channel(uow, Channel(code="web", name="Web shop"))
    return reservations.hold(uow, channel="web", lines=[(TEE.sku, 2)], ttl_seconds=1)


def hold_status_and_reserved_tees(url: str, hold: Reservation) -> tuple[str, int]:
    database = Database(url)
    try:
        with database.reading() as reads:
            status = reservations.get(reads, hold.id).status
            reserved = sum(p.reserved for _, p in stock.stock_of(reads, TEE.sku))
            return status, reserved
    finally:
        database.dispose()


def test_worker_alone_releases_an_expired_hold_then_stops_cleanly_on_sigterm(
    database_url: str,
) -> None:
    in_database(database_url, stock_a_store)
    database = Database(database_url)
    try:
        hold = database.run(hold_two_tees_for_a_second)
    finally:
        database.dispose()
    time.sleep(max(0.0, (hold.expires_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.1)
    assert hold_status_and_reserved_tees(database_url, hold) == (ACTIVE, 2), "nothing swept"
    assert OMNISTOCK.exists(), f"the console script is not installed at {OMNISTOCK}"

    process = start([str(OMNISTOCK), "worker", "--database", database_url], omnistock_env())
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(process, lines), daemon=True)
    reader.start()
    try:
        output = output_until(lines, "Worker running")
        deadline, seen = time.monotonic() + STARTUP_SECONDS, (ACTIVE, 2)
        while seen != (EXPIRED, 0) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
            seen = hold_status_and_reserved_tees(database_url, hold)
        assert seen == (EXPIRED, 0), output
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(STOP_SECONDS)
        reader.join(STOP_SECONDS)  # everything it printed, to the end
    finally:
        stop(process)
        reader.join(STOP_SECONDS)
    output += "".join(iter(lines.get_nowait, None))

    assert exit_code == 0, output
    assert "released 1 expired holds" in output
    assert output.rstrip().endswith("Worker stopped."), output
