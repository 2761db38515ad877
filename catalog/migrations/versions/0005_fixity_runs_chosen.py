"""A fixity run's sample size in its row: ``chosen`` on ``fixity_runs``.

Why: a check running on a Prefect worker (or in another web process, or the nightly
run) writes its counts into its history row as it goes, so any web server shows its
progress; "checked 12 of ?" needs the records it picked. Runs recorded before this
revision keep ``NULL`` (shown as not known).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fixity_runs") as batch:
        batch.add_column(sa.Column("chosen", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Not supported: a catalog is rebuilt from the archive, never downgraded."""
    raise NotImplementedError("sohoa catalogs are not downgraded; rebuild from the archive")
