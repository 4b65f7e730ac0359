"""The unified stock ledger: items, locations, positions, movements, outbox, keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import BigId, Key, Money, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("sku", Key, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("barcode", sa.String(64)),
        sa.Column("price", Money),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("sku", name="pk_items"),
    )
    op.create_table(
        "locations",
        sa.Column("code", Key, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("ship_enabled", sa.Boolean, nullable=False),
        sa.Column("pickup_enabled", sa.Boolean, nullable=False),
        sa.Column("daily_capacity", sa.Integer),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_locations"),
        sa.CheckConstraint("type IN ('warehouse', 'store')", name="ck_locations_type"),
    )
    op.create_table(
        "positions",
        sa.Column("sku", Key, nullable=False),
        sa.Column("location", Key, nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("unsellable", sa.BigInteger, nullable=False),
        sa.Column("inbound", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("sku", "location", name="pk_positions"),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name="fk_positions_sku_items"),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name="fk_positions_location_locations"
        ),
        sa.CheckConstraint(
            "unsellable >= 0 AND on_hand >= unsellable", name="ck_positions_physical"
        ),
        sa.CheckConstraint("reserved >= 0 AND inbound >= 0", name="ck_positions_non_negative"),
    )
    op.create_index("ix_positions_location", "positions", ["location", "sku"])
    op.create_table(
        "movements",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("location", Key, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("on_hand", sa.BigInteger, nullable=False),
        sa.Column("reserved", sa.BigInteger, nullable=False),
        sa.Column("unsellable", sa.BigInteger, nullable=False),
        sa.Column("inbound", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("reference", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_movements"),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name="fk_movements_sku_items"),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name="fk_movements_location_locations"
        ),
    )
    op.create_index("ix_movements_sku_location", "movements", ["sku", "location", "id"])
    op.create_table(
        "events",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("seq", sa.BigInteger),
        sa.Column("xid", sa.BigInteger),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("seq", name="uq_events_seq"),
    )
    op.create_index(
        "ix_events_unsequenced",
        "events",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("response", sa.JSON),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("owner", "key", name="pk_idempotency_keys"),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )


def downgrade() -> None:
    for table in ("api_keys", "idempotency_keys", "events", "movements", "positions"):
        op.drop_table(table)
    op.drop_table("locations")
    op.drop_table("items")
