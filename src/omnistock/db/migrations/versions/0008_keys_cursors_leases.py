"""API keys with a role, a channel or locations, and when they were last used; the cursors of
the feed's readers outside the API; the leases of one-process jobs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import Key, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("role", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("channel", Key, nullable=True))
        batch.add_column(sa.Column("locations", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("last_used_at", UTCDateTime, nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_channel_channels"), "channels", ["channel"], ["code"]
        )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cursors")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("cursors")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("fk_api_keys_channel_channels"), type_="foreignkey")
        batch.drop_column("last_used_at")
        batch.drop_column("locations")
        batch.drop_column("channel")
        batch.drop_column("role")
