import time

import psycopg
from sqlalchemy import inspect, text

from omnistock.db import Database


def test_select_one_on_a_fresh_migrated_database(db: Database, database_url: str) -> None:
    with db.engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar() == 1
    tables = inspect(db.engine).get_table_names()
    print(database_url, sorted(tables))
    assert "alembic_version" in tables
    assert len(tables) > 1


def test_each_test_gets_its_own_database(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1


def test_pg_server_url_is_admin(pg_server_url: str) -> None:
    t = time.perf_counter()
    with psycopg.connect(pg_server_url.replace("+psycopg", ""), autocommit=True) as c:
        assert c.execute("show fsync").fetchone() == ("off",)
        assert c.execute("show max_connections").fetchone() == ("300",)
        print(c.execute("select datname from pg_database").fetchall())
    print("admin connect", time.perf_counter() - t)
