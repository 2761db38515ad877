"""One archived record for people: show, export, the record page's detail, the checked PDF.

``sohoa show`` and ``sohoa export`` (:mod:`cli.app`), the auditor's record page
and the JSON API (:mod:`web.routes_records`, :mod:`web.api_auditor`) call these
same functions. Each raises domain errors (:mod:`sohoa.errors`): an unknown record
is :class:`~sohoa.errors.NotFoundError`; given the caller's unit ``scope`` (``None``:
every unit), another unit's record is :class:`~sohoa.errors.PermissionDeniedError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalog.database import open_catalog
from catalog.rows import RecordRow
from records.commit import load_manifest
from schemas.fields import Correction, FieldValue
from schemas.models import SignatureSummary
from schemas.settings import Settings
from services.scope import allowed
from sohoa.errors import PermissionDeniedError, SohoaError, VerificationError
from storage.objectstore import atomic_copy, sha256_file
from storage.stores import open_store

__all__ = [
    "FieldView",
    "RecordDetail",
    "checked_pdf",
    "download_checked",
    "export_record",
    "record_detail",
    "record_row",
    "show_record",
]


def show_record(settings: Settings, record_id: str) -> dict:
    """The record's catalog row with its manifest's per-page details."""
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    manifest = load_manifest(open_store(settings), row.manifest_key)
    view = row.to_view().model_dump()
    view.update(
        created_at=row.created_at.isoformat(timespec="seconds"),
        signer=row.signer,
        batch_id=row.batch_id,
        manifest=row.manifest_key,
        review_reasons=list(manifest.review_reasons),
        fields_detail=[f.model_dump(mode="json") for f in manifest.fields],
        corrections=[c.model_dump(mode="json") for c in manifest.corrections],
        revision=len(manifest.corrections),
        version=manifest.version,
        pages_detail=[p.model_dump(mode="json", exclude={"words"}) for p in manifest.pages],
        history_detail=[h.model_dump(mode="json") for h in manifest.history],
        persons=[p.model_dump(mode="json", exclude_none=True) for p in manifest.persons],
    )
    return view


def export_record(settings: Settings, record_id: str, output: Path) -> Path:
    """Copy the signed PDF out of the archive, refusing a file whose hash no longer matches."""
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    output = Path(output)
    tmp = output.with_name(f".{output.name}.download")
    try:
        download_checked(settings, row, tmp)
        atomic_copy(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def download_checked(settings: Settings, row: RecordRow, dest: Path) -> None:
    """Download ``row``'s signed PDF to ``dest``; refuse it unless its sha256 is the catalog's.

    Shared by ``sohoa export`` and the web app's PDF view and download.

    Raises:
        VerificationError: the bytes changed since archiving (``dest`` is removed).
    """
    open_store(settings).download(row.pdf_key, dest)
    if sha256_file(dest) != row.pdf_sha256:
        Path(dest).unlink(missing_ok=True)
        raise VerificationError(record=row.id, reason="sha256 mismatch; run sohoa verify")


def record_row(settings: Settings, record_id: str, *, scope: str | None = None) -> RecordRow:
    """The catalog row of a record the caller may see.

    Raises:
        NotFoundError: no such record (or an ambiguous id prefix).
        PermissionDeniedError: the record belongs to a unit outside ``scope`` (the caller's
            unit and the units under it).
    """
    row = open_catalog(settings.resolved_catalog_url).get_record(record_id)
    if scope is not None and not allowed(settings, scope, row.unit):
        raise PermissionDeniedError("unit_denied", unit=row.unit)
    return row


@dataclass(frozen=True)
class FieldView:
    """One key field as the record page and the API show it."""

    name: str
    value: str
    raw: str = ""
    """The text as read, before normalisation."""
    confidence: float | None = None
    """0–1; ``None`` when only the catalog's value is known (manifest unreadable)."""
    method: str | None = None
    """qr, barcode, label, pattern or manual; ``None`` as for ``confidence``."""
    page: int | None = None
    """0-based page within the record."""
    problem: str | None = None
    """Why the value failed validation, if it did."""

    @classmethod
    def of(cls, field: FieldValue) -> FieldView:
        return cls(field.name, field.value, field.raw, field.confidence, field.method,
                   field.page, field.problem)  # fmt: skip


@dataclass(frozen=True)
class RecordDetail:
    """What the record page shows: the catalog row, fields with their evidence, history."""

    row: RecordRow
    fields: tuple[FieldView, ...]
    """From the manifest (value, confidence, method, page); values only if it is unreadable."""
    corrections: tuple[Correction, ...]
    """Every review change, oldest first (the catalog's copy of the manifest's history)."""
    review_reasons: tuple[str, ...]
    signature: SignatureSummary | None
    """The signature as archived (signer, level, time); ``None`` if the manifest is unreadable."""
    manifest_problem: str | None = None
    """Why the manifest could not be read (English); the page still shows the catalog's facts."""

    def history_of(self, field: str) -> list[Correction]:
        """The changes made to one field, oldest first."""
        return [c for c in self.corrections if c.field == field]


def record_detail(settings: Settings, record_id: str, *, scope: str | None = None) -> RecordDetail:
    """The record's facts for people: fields with confidence and method, corrections, signer.

    Why not :func:`show_record` alone: an auditor most needs the page when something
    is wrong, so a missing or unreadable manifest degrades to the catalog's values
    (and says so) instead of failing the page.

    Raises:
        NotFoundError, PermissionDeniedError: as :func:`record_row`.
    """
    row = record_row(settings, record_id, scope=scope)
    catalog = open_catalog(settings.resolved_catalog_url)
    corrections = tuple(Correction(**c) for c in catalog.corrections(row.id))
    try:
        manifest = load_manifest(open_store(settings), row.manifest_key)
    except (SohoaError, ValueError) as exc:
        problem = exc.render("en") if isinstance(exc, SohoaError) else str(exc)[:200]
        values = tuple(FieldView(name, value) for name, value in row.fields.items())
        return RecordDetail(row, values, corrections, row.review_reasons, None, problem)
    reasons = row.review_reasons or manifest.review_reasons
    fields = tuple(FieldView.of(f) for f in manifest.fields)
    return RecordDetail(row, fields, corrections, reasons, manifest.signature)


def checked_pdf(
    settings: Settings, record_id: str, dest: Path, *, scope: str | None = None
) -> RecordRow:
    """Download the record's signed PDF to ``dest``, refusing bytes that no longer match.

    The same check as ``sohoa export`` (:func:`download_checked`): the file's sha256
    must equal the catalog's, so nobody is handed a changed file as the archived one.

    Raises:
        VerificationError: the bytes changed (``dest`` is removed).
        NotFoundError, PermissionDeniedError: as :func:`record_row`.
        StorageError: the store could not be read.
    """
    row = record_row(settings, record_id, scope=scope)
    download_checked(settings, row, dest)
    return row
