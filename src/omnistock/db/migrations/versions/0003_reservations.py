"""Reservations (holds) with their lines and allocations; the last published ATS.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import Key, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("channel", Key, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("ended_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_reservations"),
        sa.ForeignKeyConstraint(
            ["channel"], ["channels.code"], name="fk_reservations_channel_channels"
        ),
    )
    op.create_index("ix_reservations_status_expires_at", "reservations", ["status", "expires_at"])
    op.create_table(
        "reservation_lines",
        sa.Column("reservation_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("location", Key),
        sa.Column("quantity", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("reservation_id", "position", name="pk_reservation_lines"),
        sa.ForeignKeyConstraint(
            ["reservation_id"],
            ["reservations.id"],
            name="fk_reservation_lines_reservation_id_reservations",
        ),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name="fk_reservation_lines_sku_items"),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name="fk_reservation_lines_location_locations"
        ),
    )
    op.create_index("ix_reservation_lines_sku", "reservation_lines", ["sku"])
    op.create_table(
        "channel_availability",
        sa.Column("channel", Key, nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("available_to_sell", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("channel", "sku", name="pk_channel_availability"),
        sa.ForeignKeyConstraint(
            ["channel"], ["channels.code"], name="fk_channel_availability_channel_channels"
        ),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name="fk_channel_availability_sku_items"),
    )


def downgrade() -> None:
    op.drop_table("channel_availability")
    op.drop_table("reservation_lines")
    op.drop_table("reservations")
