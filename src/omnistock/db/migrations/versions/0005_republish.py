"""How far the ATS of every item has been published again after a configuration change.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from omnistock.db.tables import Key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("configuration", sa.Column("republished_revision", sa.BigInteger))
    op.add_column("configuration", sa.Column("republished_through", Key))


def downgrade() -> None:
    op.drop_column("configuration", "republished_through")
    op.drop_column("configuration", "republished_revision")
