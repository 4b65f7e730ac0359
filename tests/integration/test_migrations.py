"""The Alembic migrations build exactly the schema of omnistock.db.tables, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, inspect, select, text
from sqlalchemy.exc import IntegrityError

from omnistock.db import Database
from omnistock.db.database import MIGRATIONS
from omnistock.db.tables import items, metadata


def schema_differences(db: Database, target: MetaData = metadata) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, target)


def schema_snapshot(db: Database) -> dict[str, object]:
    inspector = inspect(db.engine)
    return {
        name: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)],
            inspector.get_pk_constraint(name)["name"],
            sorted(i["name"] for i in inspector.get_indexes(name)),
            sorted(fk["name"] or "" for fk in inspector.get_foreign_keys(name)),
        )
        for name in sorted(inspector.get_table_names())
    }


def newest_migration() -> str:
    scripts = ScriptDirectory.from_config(migration_config())
    head = scripts.get_current_head()
    assert head is not None
    return head


def migration_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def heads(db: Database) -> list[str]:
    with db.read() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_the_migrated_schema_matches_the_tables_the_code_uses(db: Database) -> None:
    assert schema_differences(db) == []


def test_the_schema_comparison_would_notice_a_difference(db: Database) -> None:
    target = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(target)
    target.tables["items"].append_column(Column("weight_grams", Integer))

    differences = schema_differences(db, target)

    assert [(d[0], d[3].name) for d in differences] == [("add_column", "weight_grams")]


def test_migrating_twice_changes_nothing(db: Database) -> None:
    now = dt.datetime.now(dt.UTC)
    db.run(
        lambda uow: uow.conn.execute(
            items.insert().values(sku="TEE-M", name="T-shirt", created_at=now, updated_at=now)
        )
    )
    before = schema_snapshot(db)

    db.migrate()
    db.migrate()

    assert heads(db) == [newest_migration()]
    assert schema_snapshot(db) == before
    assert schema_differences(db) == []
    with db.read() as conn:
        assert conn.execute(select(items.c.sku)).scalars().all() == ["TEE-M"]


def test_downgrading_to_nothing_and_upgrading_again_rebuilds_the_same_schema(
    db: Database,
) -> None:
    before = schema_snapshot(db)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

    db.migrate()

    assert schema_snapshot(db) == before
    assert schema_differences(db) == []


@pytest.mark.parametrize(
    "tampering",
    [
        "UPDATE positions SET unsellable = on_hand + 1",
        "UPDATE positions SET on_hand = -1, unsellable = -1",
        "UPDATE positions SET reserved = -1",
        "UPDATE positions SET inbound = -1",
    ],
)
def test_the_schema_itself_refuses_an_impossible_position(db: Database, tampering: str) -> None:
    now = dt.datetime.now(dt.UTC)
    with db.engine.begin() as conn:
        conn.execute(
            items.insert().values(sku="TEE-M", name="T-shirt", created_at=now, updated_at=now)
        )
        conn.execute(
            text(
                "INSERT INTO locations (code, name, type, lat, lon, ship_enabled, pickup_enabled,"
                " priority, active, created_at, updated_at) VALUES ('PAR-01', 'Paris', 'store',"
                " 48.86, 2.34, true, true, 100, true, :now, :now)"
            ),
            {"now": now.replace(tzinfo=None) if db.is_sqlite else now},
        )
        conn.execute(
            text(
                "INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)"
                " VALUES ('TEE-M', 'PAR-01', 5, 1, 2, 0)"
            )
        )

    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text(tampering))


def test_the_schema_refuses_a_position_of_an_unknown_item(db: Database) -> None:
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO positions (sku, location, on_hand, reserved, unsellable, inbound)"
                " VALUES ('GHOST', 'NOWHERE', 1, 0, 0, 0)"
            )
        )
