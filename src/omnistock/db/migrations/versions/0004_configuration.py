"""The configuration revision that lets processes cache locations, channels and rules.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "configuration",
        sa.Column("id", sa.Integer, autoincrement=False, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_configuration_one_row"),
        sa.PrimaryKeyConstraint("id", name="pk_configuration"),
    )
    op.bulk_insert(table, [{"id": 1, "revision": secrets.randbits(62)}])
    op.create_index("ix_buffer_rules_sku", "buffer_rules", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_buffer_rules_sku", table_name="buffer_rules")
    op.drop_table("configuration")
