"""The people a record names: ``persons_json`` on ``records`` and the ``record_persons`` table.

Why: a dossier names several people by role (the applicant, the person the procedure is
for, the parents, the signer), and an auditor searching one of them must find the record
whatever their role, by an index lookup (``record_persons``), and be told which. Records
catalogued before this revision keep ``[]`` and no rows: their manifests name nobody, so
nothing needs re-indexing.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("persons_json", sa.Text(), server_default="[]", nullable=False))
    op.create_table(
        "record_persons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("name_key", sa.String(length=255), nullable=True),
        sa.Column("id_number", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_persons_record_id", "record_persons", ["record_id"])
    op.create_index("ix_record_persons_name_key", "record_persons", ["name_key"])
    op.create_index("ix_record_persons_id_number", "record_persons", ["id_number"])


def downgrade() -> None:
    """Not supported: a catalog is rebuilt from the archive, never downgraded."""
    raise NotImplementedError("sohoa catalogs are not downgraded; rebuild from the archive")
