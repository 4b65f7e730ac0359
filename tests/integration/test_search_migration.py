"""Migration 0011 fills what the listings search by for the rows already there: each item's
name words (as `domain.catalog.searchable` writes them) and each order's case-folded
customer email (null without one), on both backends; and downgrading takes them away again.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from omnistock.db import Database
from omnistock.db.database import MIGRATIONS
from omnistock.db.tables import channels, items, orders


def move_to(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)


def test_the_migration_fills_the_words_of_existing_items_and_the_emails_of_orders(
    db: Database,
) -> None:
    move_to(db, "0009")
    now = dt.datetime.now(dt.UTC)
    old_items = sa.table("items", *(sa.column(c) for c in ("sku", "name")),
                         sa.column("created_at", items.c.created_at.type),
                         sa.column("updated_at", items.c.updated_at.type))  # fmt: skip
    old_orders = sa.table(
        "orders",
        *(sa.column(c) for c in ("channel", "delivery_method", "currency")),
        sa.column("customer", sa.JSON()),
        sa.column("created_at", orders.c.created_at.type),
    )
    with db.engine.begin() as conn:
        conn.execute(
            old_items.insert(),
            [
                {"sku": f"S-{n}", "name": name, "created_at": now, "updated_at": now}
                for n, name in enumerate(["Tee-shirt BLEU", "Été", "x"] * 2000)
            ],
        )
        conn.execute(
            channels.insert().values(
                code="web", name="Web", location_types=[], locations=[],
                created_at=now, updated_at=now,
            )
        )  # fmt: skip
        conn.execute(
            old_orders.insert(),
            [
                {"channel": "web", "delivery_method": "ship", "currency": "EUR",
                 "customer": customer, "created_at": now}
                for customer in ({"name": "A", "email": "Zoé@Example.COM"}, {})
            ],
        )  # fmt: skip

    move_to(db, "head")

    with db.engine.connect() as conn:
        words = dict(conn.execute(sa.select(items.c.sku, items.c.search_words)).all())
        emails = list(conn.scalars(sa.select(orders.c.customer_email).order_by(orders.c.id)))
    assert (words["S-0"], words["S-1"], words["S-5999"]) == (" tee shirt bleu", " ete", " x")
    assert len(words) == 6000  # more than one batch
    assert emails == ["zoé@example.com", None]

    move_to(db, "0009")
    with db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("items")}
    assert "search_words" not in columns
