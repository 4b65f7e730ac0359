"""Returns and their lines; transfers between locations (or from suppliers) and their lines.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import BigId, Key, Money, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "returns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("location", Key, nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_returns_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_returns_location_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_returns")),
    )
    op.create_index("ix_returns_order_id", "returns", ["order_id", "id"], unique=False)
    op.create_index("ix_returns_location", "returns", ["location", "id"], unique=False)
    op.create_table(
        "return_lines",
        sa.Column("return_id", BigId, nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("condition", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("unit_price", Money, nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_positive")),
        sa.CheckConstraint(
            "condition IN ('sellable', 'damaged')", name=op.f("ck_return_lines_condition")
        ),
        sa.ForeignKeyConstraint(
            ["return_id"], ["returns.id"], name=op.f("fk_return_lines_return_id_returns")
        ),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name=op.f("fk_return_lines_sku_items")),
        sa.PrimaryKeyConstraint("return_id", "line", name=op.f("pk_return_lines")),
    )
    op.create_table(
        "transfers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("origin", Key, nullable=True),
        sa.Column("destination", Key, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("eta", UTCDateTime, nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("shipped_at", UTCDateTime, nullable=True),
        sa.Column("received_at", UTCDateTime, nullable=True),
        sa.Column("cancelled_at", UTCDateTime, nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'shipped', 'received', 'cancelled')",
            name=op.f("ck_transfers_status"),
        ),
        sa.ForeignKeyConstraint(
            ["origin"], ["locations.code"], name=op.f("fk_transfers_origin_locations")
        ),
        sa.ForeignKeyConstraint(
            ["destination"], ["locations.code"], name=op.f("fk_transfers_destination_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    op.create_index("ix_transfers_status", "transfers", ["status", "id"], unique=False)
    op.create_index("ix_transfers_origin", "transfers", ["origin", "status"], unique=False)
    op.create_index(
        "ix_transfers_destination", "transfers", ["destination", "status"], unique=False
    )
    op.create_table(
        "transfer_lines",
        sa.Column("transfer_id", BigId, nullable=False),
        sa.Column("sku", Key, nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "quantity >= 0 AND quantity <= requested AND (received IS NULL OR received >= 0)",
            name=op.f("ck_transfer_lines_units"),
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"], ["transfers.id"], name=op.f("fk_transfer_lines_transfer_id_transfers")
        ),
        sa.ForeignKeyConstraint(["sku"], ["items.sku"], name=op.f("fk_transfer_lines_sku_items")),
        sa.PrimaryKeyConstraint("transfer_id", "sku", name=op.f("pk_transfer_lines")),
    )
    op.create_index("ix_transfer_lines_sku", "transfer_lines", ["sku", "transfer_id"], unique=False)


def downgrade() -> None:
    for table in ("transfer_lines", "transfers", "return_lines", "returns"):
        op.drop_table(table)
