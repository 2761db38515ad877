"""The catalog as the last release without migrations left it: every table and index.

Revision ID: 0001
Revises: (none)

The layout is :func:`baseline`, a frozen copy (later model changes go in later revisions,
never here). An empty database gets it from :func:`upgrade`; a catalog made by that
release (no version table, its tables present, perhaps from an even older release and
missing a column or index) is completed to it by :func:`catalog.schema.upgrade` from the
same :func:`baseline`, then stamped with this revision. The FTS5 search tables are not
here: they are search-index machinery, built and rebuilt from the records table on first
use (:mod:`catalog.search_index`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def baseline() -> sa.MetaData:
    """Every table, column and index of this revision."""
    metadata = sa.MetaData()
    sa.Table(
        "audit_log",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("detail_json", sa.Text(), server_default="{}", nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_audit_log_action", "action"),
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_user_id", "user_id"),
        sa.Index("ix_audit_log_username", "username"),
    )
    sa.Table(
        "batches",
        metadata,
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("dossier_code", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    sa.Table(
        "fixity_runs",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("sample", sa.String(length=16), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("catalog_records", sa.Integer(), nullable=True),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("orphans", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=120), nullable=True),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_fixity_runs_started_at", "started_at"),
    )
    sa.Table(
        "register_units",
        metadata,
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=True),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    sa.Table(
        "api_tokens",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
        sa.Index("ix_api_tokens_user_id", "user_id"),
    )
    sa.Table(
        "fixity_failures",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=True),
        sa.Column("unit", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["fixity_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_fixity_failures_run_id", "run_id"),
    )
    sa.Table(
        "records",
        metadata,
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("batch_id", sa.String(length=128), nullable=False),
        sa.Column("dossier_code", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("mean_confidence", sa.Double(), nullable=False),
        sa.Column("pdf_key", sa.Text(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("manifest_key", sa.Text(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("fields_json", sa.Text(), server_default="{}", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fts_rowid", sa.BigInteger(), nullable=True),
        sa.Column("folded", sa.Text(), nullable=True),
        sa.Column("review_json", sa.Text(), server_default="[]", nullable=False),
        sa.Column("code_key", sa.String(length=255), nullable=True),
        sa.Column("id_number", sa.String(length=64), nullable=True),
        sa.Column("name_key", sa.String(length=255), nullable=True),
        sa.Column("procedure_code", sa.String(length=64), nullable=True),
        sa.Column("sector", sa.String(length=255), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_records_batch_id", "batch_id"),
        sa.Index("ix_records_code_key", "code_key"),
        sa.Index("ix_records_created_at", "created_at"),
        sa.Index("ix_records_dossier_code", "dossier_code"),
        sa.Index("ix_records_id_number", "id_number"),
        sa.Index("ix_records_name_key", "name_key"),
        sa.Index("ix_records_kind_key", "kind", "fts_rowid"),
        sa.Index("ix_records_procedure_key", "procedure_code", "fts_rowid"),
        sa.Index("ix_records_sector_key", "sector", "fts_rowid"),
        sa.Index("ix_records_status_key", "status", "fts_rowid"),
        sa.Index("ix_records_unit_key", "unit", "fts_rowid"),
        sa.Index("ux_records_fts_rowid", "fts_rowid", unique=True),
    )
    sa.Table(
        "register_entries",
        metadata,
        sa.Column("dossier_code", sa.String(length=255), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("procedure_code", sa.String(length=128), nullable=True),
        sa.Column("procedure_name", sa.Text(), nullable=True),
        sa.Column("field_code", sa.String(length=128), nullable=True),
        sa.Column("field_name", sa.Text(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("finished_on", sa.Date(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Integer(), nullable=True),
        sa.Column("paper_result", sa.Boolean(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit"],
            ["register_units.code"],
        ),
        sa.PrimaryKeyConstraint("dossier_code"),
        sa.Index("ix_register_entries_finished_on", "finished_on"),
        sa.Index("ix_register_entries_received_on", "received_on"),
        sa.Index("ix_register_entries_unit", "unit"),
    )
    sa.Table(
        "user_sessions",
        metadata,
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id_hash"),
        sa.Index("ix_user_sessions_expires_at", "expires_at"),
        sa.Index("ix_user_sessions_user_id", "user_id"),
    )
    sa.Table(
        "corrections",
        metadata,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("old", sa.Text(), nullable=True),
        sa.Column("new", sa.Text(), nullable=True),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.Index("ix_corrections_record_id", "record_id"),
    )

    return metadata


def upgrade() -> None:
    baseline().create_all(op.get_bind())


def downgrade() -> None:
    """Not supported: a catalog is rebuilt from the archive, never downgraded."""
    raise NotImplementedError("sohoa catalogs are not downgraded; rebuild from the archive")
