"""The frozen rows the catalog returns: copies of table rows that hold no session.

The ORM classes (:mod:`catalog.tables`) never leave :class:`catalog.database.Catalog`:
callers get these frozen copies, so no caller ever holds a session or trips over a
detached object.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import TYPE_CHECKING

from catalog.tables import BatchTable, RecordTable

if TYPE_CHECKING:
    from schemas.models import RecordView

__all__ = ["BatchRow", "PersonMatch", "RecordRow", "SearchHit", "batch_row", "record_row"]


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
    pages_done: int | None = None
    """Pages read so far by a worker digitising it (see :meth:`Catalog.note_progress`)."""
    stage: str | None = None


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
        from schemas.models import RecordView  # only here: a search need not build it

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
class PersonMatch:
    """A person of a found record whose name or ID number the query matched."""

    role: str
    """``applicant``, ``subject``, ``father``, ``mother``, ``signer`` or ``other``
    (:data:`schemas.fields.PersonRole`); shown by its label ``person_role_<role>``."""
    name: str
    """Their name as the record keeps it (empty when only their ID number is known)."""


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
    people: tuple[PersonMatch, ...] = ()
    """Who the query named, with their role: the record's people whose name holds every
    word searched or whose ID number is the one searched (none for a record made before
    sohoa kept people, or a query that names nobody)."""


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
