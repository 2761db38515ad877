"""A batch's progress in its row, so a web server can show what a worker is doing.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("pages_done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stage", sa.String(length=16), nullable=True))


def downgrade() -> None:
    """Not supported: a catalog is rebuilt from the archive, never downgraded."""
    raise NotImplementedError("sohoa catalogs are not downgraded; rebuild from the archive")
