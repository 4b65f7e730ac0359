"""Channels and buffer rules.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import BigId, Key, UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("code", Key, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("location_types", sa.JSON, nullable=False),
        sa.Column("locations", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_channels"),
    )
    op.create_table(
        "buffer_rules",
        sa.Column("id", BigId, autoincrement=True),
        sa.Column("channel", Key),
        sa.Column("location", Key),
        sa.Column("location_type", sa.String(16)),
        sa.Column("sku", Key),
        sa.Column("units", sa.BigInteger),
        sa.Column("basis_points", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_buffer_rules"),
        sa.ForeignKeyConstraint(
            ["channel"], ["channels.code"], name="fk_buffer_rules_channel_channels"
        ),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name="fk_buffer_rules_location_locations"
        ),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name="fk_buffer_rules_sku_items"),
        sa.CheckConstraint(
            "(units IS NULL) <> (basis_points IS NULL)", name="ck_buffer_rules_one_amount"
        ),
    )


def downgrade() -> None:
    op.drop_table("buffer_rules")
    op.drop_table("channels")
