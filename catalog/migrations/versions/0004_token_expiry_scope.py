"""API tokens expire and may be read-only: ``expires_at`` and ``scope`` on ``api_tokens``.

Tokens made before this revision keep working as they did: no expiry (``NULL``) and the
``full`` scope; ``sohoa users tokens`` shows them as never expiring, to be revoked and
made again with an expiry.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(
            sa.Column("scope", sa.String(length=8), server_default="full", nullable=False)
        )


def downgrade() -> None:
    """Not supported: a catalog is rebuilt from the archive, never downgraded."""
    raise NotImplementedError("sohoa catalogs are not downgraded; rebuild from the archive")
