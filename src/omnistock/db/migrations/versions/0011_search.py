"""Search and filters of the listings: the words of each item's name, its barcode indexed;
each order's customer email (case-folded) and the indexes of the orders' new filters.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-08
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from omnistock.domain.catalog import searchable

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    words = sa.Column("search_words", sa.Text(), nullable=False, server_default=sa.text("''"))
    op.add_column("items", words)
    op.create_index("ix_items_barcode", "items", ["barcode"])
    op.add_column("orders", sa.Column("customer_email", sa.String(length=254), nullable=True))
    op.create_index("ix_orders_external_id", "orders", ["external_id"])
    op.create_index("ix_orders_customer_email", "orders", ["customer_email"])
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    conn = op.get_bind()
    _backfill(conn, "items", "sku", "name", "search_words", searchable)
    _backfill(conn, "orders", "id", "customer", "customer_email", _email)


def _email(customer: Any) -> str | None:
    email = customer.get("email") if isinstance(customer, dict) else None
    return email.casefold() if isinstance(email, str) else None


def _backfill(
    conn: sa.Connection, table: str, key: str, source: str, target: str, rule: Any
) -> None:
    """Write `target` from `source` by `rule` (Python's, not the database's: the same as the
    code writes), in batches in key order."""
    kind = sa.JSON() if source == "customer" else sa.Text()
    t = sa.table(table, sa.column(key), sa.column(source, kind), sa.column(target))
    after: Any = None
    while True:
        query = sa.select(t.c[key], t.c[source]).order_by(t.c[key]).limit(_BATCH)
        if after is not None:
            query = query.where(t.c[key] > after)
        rows = conn.execute(query).all()
        if not rows:
            return
        update = (
            sa.update(t).where(t.c[key] == sa.bindparam("k")).values({target: sa.bindparam("v")})
        )
        conn.execute(update, [{"k": row[0], "v": rule(row[1])} for row in rows])
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_orders_created_at", table_name="orders")
    op.drop_index("ix_orders_customer_email", table_name="orders")
    op.drop_index("ix_orders_external_id", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("customer_email")
    op.drop_index("ix_items_barcode", table_name="items")
    with op.batch_alter_table("items") as batch:
        batch.drop_column("search_words")
