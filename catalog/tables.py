"""Tables of the catalog and the frozen rows it returns (split from :mod:`catalog.database`).

The ORM classes never leave :class:`catalog.database.Catalog`: callers get the
frozen :class:`BatchRow`, :class:`RecordRow` and :class:`SearchHit` copies, so
no caller ever holds a session or trips over a detached object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, ForeignKey, Index, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schemas.models import RecordView

__all__ = [
    "Base",
    "BatchRow",
    "BatchTable",
    "CorrectionTable",
    "RecordRow",
    "RecordTable",
    "SearchHit",
    "batch_row",
    "record_row",
]

# --- tables --------------------------------------------------------------------------------


class UtcDateTime(TypeDecorator[datetime]):
    """Store datetimes as naive UTC and read them back aware, since SQLite drops time zones."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value  # naive values are taken to be UTC already
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Metadata of the catalog's ordinary tables (the FTS5 table is raw DDL in the catalog)."""


class BatchTable(Base):
    """One uploaded batch, from its arrival to ``archived``/``failed``/``quarantined``."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    file_count: Mapped[int] = mapped_column(default=0)
    page_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unit: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(32))
    dossier_code: Mapped[str | None] = mapped_column(String(255))


class RecordTable(Base):
    """One archived record; rebuildable from its manifest in the object store.

    The search columns (``code_key`` to ``received_on``) are derived from the
    manifest by :func:`catalog.search_index.search_columns`; each filter column has a
    composite index ending in ``fts_rowid`` so a filtered list comes out newest
    first straight from the index.
    """

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_unit_key", "unit", "fts_rowid"),
        Index("ix_records_kind_key", "kind", "fts_rowid"),
        Index("ix_records_status_key", "status", "fts_rowid"),
        Index("ix_records_procedure_key", "procedure_code", "fts_rowid"),
        Index("ix_records_sector_key", "sector", "fts_rowid"),
        Index("ux_records_fts_rowid", "fts_rowid", unique=True),
    )

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    page_count: Mapped[int]
    mean_confidence: Mapped[float]
    pdf_key: Mapped[str] = mapped_column(Text)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    manifest_key: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    signer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    fields_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    text: Mapped[str] = mapped_column(Text, default="")
    fts_rowid: Mapped[int | None] = mapped_column(default=None)
    """The record's search key: rowid of its ``records_fts``/``keys_fts`` rows and the order
    of results. It encodes ``received_on`` (see :func:`catalog.search_index.sort_key`), so "newest
    first" and a date range are rowid order and a rowid range, in SQL and in FTS5 alike."""
    folded: Mapped[str | None] = mapped_column(Text, default=None)
    """Folded code and text for the ``ILIKE`` fallback; NULL when FTS5 is used."""
    review_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    """The manifest's review reasons (JSON list of codes such as ``missing:applicant_name``)."""
    code_key: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    """Folded dossier code with every separator removed: ``0000006h562310270361``."""
    id_number: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """The applicant's CCCD/CMND/passport number, folded, letters and digits only."""
    name_key: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    """The applicant's name folded, one space between words: ``dang van duc``."""
    procedure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    """Mã TTHC as read (``1.004616.000.00.00.H56``); filters match it or its first 2+ groups."""
    sector: Mapped[str | None] = mapped_column(String(255), default=None)
    """Lĩnh vực folded to its words (``ho tich``), so a filter matches with or without marks."""
    received_on: Mapped[date | None] = mapped_column(Date, default=None)
    """Ngày tiếp nhận: the received-date field, else the date in the dossier code, else the
    day the record was archived (Asia/Ho_Chi_Minh). Date filters and result order use it."""


class CorrectionTable(Base):
    """One change made in review (a copy of the manifest's history, for listing and audit)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")


# --- returned rows -------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    """One batch as stored."""

    id: str
    status: str
    reason: str | None
    file_count: int
    page_count: int
    created_at: datetime
    updated_at: datetime
    unit: str | None
    kind: str | None
    dossier_code: str | None


@dataclass(frozen=True)
class RecordRow:
    """One archived record as stored (without its OCR text; see :meth:`Catalog.get_text`)."""

    id: str
    batch_id: str
    dossier_code: str
    kind: str
    unit: str
    status: str
    page_count: int
    mean_confidence: float
    pdf_key: str
    pdf_sha256: str
    manifest_key: str
    manifest_sha256: str
    signer: str
    created_at: datetime
    fields: Mapping[str, str] = field(default_factory=dict)
    review_reasons: tuple[str, ...] = ()

    def to_view(self) -> RecordView:
        """Return what the CLI prints for this record."""
        return RecordView.model_validate(
            {
                "id": self.id,
                "dossier_code": self.dossier_code,
                "kind": self.kind,
                "unit": self.unit,
                "pages": self.page_count,
                "status": self.status,
                "pdf": self.pdf_key,
                "sha256": self.pdf_sha256,
                "mean_confidence": self.mean_confidence,
                "fields": dict(self.fields),
            }
        )


@dataclass(frozen=True)
class SearchHit:
    """One search result.

    ``score`` is the relevance tier, lower is better (see :mod:`catalog.search`):
    0.0 a dossier code, ID number or applicant name equal to the query, 1.0 every
    word found in the key fields, 2.0 every word found in the text. Within a tier
    hits come newest first (by ``received_on``).
    """

    record_id: str
    dossier_code: str
    unit: str
    kind: str
    status: str
    score: float
    snippet: str
    received_on: date | None = None
    """Ngày tiếp nhận as the catalog knows it (see :attr:`RecordTable.received_on`)."""
    applicant_name: str = ""
    """Người nộp, for a result list; empty when it was not read."""


def batch_row(batch: BatchTable) -> BatchRow:
    """Copy a batch out of its session."""
    return BatchRow(**{f.name: getattr(batch, f.name) for f in fields(BatchRow)})


def record_row(record: RecordTable) -> RecordRow:
    """Copy a record (minus its text) out of its session."""
    names = [f.name for f in fields(RecordRow) if f.name not in ("fields", "review_reasons")]
    values = {name: getattr(record, name) for name in names}
    return RecordRow(
        **values,
        fields=json.loads(record.fields_json or "{}"),
        review_reasons=tuple(json.loads(record.review_json or "[]")),
    )
