"""A fixity run's heartbeat in its row: ``heartbeat_at`` on ``fixity_runs``.

Why: a check handed to a Prefect worker has no owner process a web server can look
at, so a worker that died left its row ``running`` for ever and ``/verify`` polled it.
The running check now writes the time into its row with its counts and by a beat
while it is slow; a row whose beat is too old is closed as ``abandoned``. Runs
recorded before this revision keep ``NULL`` (their start time stands in for it).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fixity_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Not supported: a catalog is rebuilt from the archive, never downgraded."""
    raise NotImplementedError("sohoa catalogs are not downgraded; rebuild from the archive")
