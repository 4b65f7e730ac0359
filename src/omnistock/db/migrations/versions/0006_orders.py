"""Orders, their lines and fulfilments, sourcing decisions, history and daily capacity.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import BigId, Key, Money, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfillment_capacity",
        sa.Column("location", Key, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location"],
            ["locations.code"],
            name=op.f("fk_fulfillment_capacity_location_locations"),
        ),
        sa.PrimaryKeyConstraint("location", "day", name=op.f("pk_fulfillment_capacity")),
    )
    op.create_table(
        "orders",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", Key, nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("customer", sa.JSON(), nullable=False),
        sa.Column("delivery_method", sa.String(length=16), nullable=False),
        sa.Column("location", Key, nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reservation_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(
            "delivery_method IN ('ship', 'pickup', 'in_store')",
            name=op.f("ck_orders_delivery_method"),
        ),
        sa.ForeignKeyConstraint(
            ["channel"], ["channels.code"], name=op.f("fk_orders_channel_channels")
        ),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_orders_location_locations")
        ),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name=op.f("fk_orders_reservation_id_reservations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
    )
    op.create_index(
        "ix_orders_channel_external_id", "orders", ["channel", "external_id"], unique=True
    )
    op.create_table(
        "fulfillments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("location", Key, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=True),
        sa.Column("tracking", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("status_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_fulfillments_location_locations")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fulfillments_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfillments")),
    )
    op.create_index(
        "ix_fulfillments_location", "fulfillments", ["location", "status", "id"], unique=False
    )
    op.create_index("ix_fulfillments_order_id", "fulfillments", ["order_id"], unique=False)
    op.create_index("ix_fulfillments_status", "fulfillments", ["status", "status_at"], unique=False)
    op.create_table(
        "order_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_history_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_history")),
    )
    op.create_index("ix_order_history_order_id", "order_history", ["order_id", "id"], unique=False)
    op.create_table(
        "order_lines",
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", Money, nullable=False),
        sa.Column("backordered", sa.BigInteger(), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "backordered >= 0 AND cancelled >= 0 AND backordered + cancelled <= quantity",
            name=op.f("ck_order_lines_units"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_lines_order_id_orders")
        ),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name=op.f("fk_order_lines_sku_items")),
        sa.PrimaryKeyConstraint("order_id", "line", name=op.f("pk_order_lines")),
    )
    op.create_table(
        "sourcing_decisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sourcing_decisions_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sourcing_decisions")),
    )
    op.create_index(
        "ix_sourcing_decisions_order_id", "sourcing_decisions", ["order_id", "id"], unique=False
    )
    op.create_table(
        "fulfillment_lines",
        sa.Column("fulfillment_id", BigId, nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_fulfillment_lines_positive")),
        sa.ForeignKeyConstraint(
            ["fulfillment_id"],
            ["fulfillments.id"],
            name=op.f("fk_fulfillment_lines_fulfillment_id_fulfillments"),
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["items.sku"], name=op.f("fk_fulfillment_lines_sku_items")
        ),
        sa.PrimaryKeyConstraint("fulfillment_id", "sku", name=op.f("pk_fulfillment_lines")),
    )
    op.create_index(
        "ix_fulfillment_lines_sku", "fulfillment_lines", ["sku", "fulfillment_id"], unique=False
    )


def downgrade() -> None:
    for table in (
        "order_history",
        "sourcing_decisions",
        "fulfillment_lines",
        "fulfillments",
        "order_lines",
        "fulfillment_capacity",
        "orders",
    ):
        op.drop_table(table)
