"""Library calls behind the auditor's pages and their JSON API: search, record, PDF, verify, report.

The pages (``web/routes_search.py``, ``routes_records.py``, ``routes_reports.py``)
and the API (``web/api_auditor.py``) call these same functions, so both answer
alike; the CLI's own read commands live in :mod:`services.records` and
:mod:`services.reports`, which these reuse. Each takes the settings and the
caller's unit scope (``None``: every unit) and raises domain errors
(:mod:`sohoa.errors`) that the web app turns into statuses: a record of another
unit is :class:`PermissionDeniedError` (403), an unknown one :class:`NotFoundError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from catalog import units
from catalog.database import open_catalog
from catalog.search import RESULT_CAP, SearchFilters
from catalog.tables import RecordRow, SearchHit
from catalog.units import UnitScope
from records.verify import VerifyResult
from schemas.fields import Correction, FieldValue
from schemas.models import SignatureSummary
from schemas.report import GROUP_BY, Report
from schemas.settings import Settings
from sohoa.errors import InvalidRequestError, PermissionDeniedError, SohoaError

__all__ = [
    "PER_PAGE",
    "FieldView",
    "RecordDetail",
    "RecordQuery",
    "ResultPage",
    "checked_pdf",
    "record_detail",
    "record_row",
    "report",
    "search",
    "verify",
]

PER_PAGE = 20
"""Hits per page of search results unless the caller asks otherwise."""
MAX_PER_PAGE = 100


# --- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordQuery:
    """What an auditor asks the catalog for: words and filters; empty words browse newest first."""

    text: str = ""
    """Words, a name, an ID number or a dossier code, with or without diacritics."""
    unit: str | None = None
    kind: str | None = None
    """``thanh-phan`` or ``ket-qua``."""
    status: str | None = None
    """``archived`` or ``needs_review``."""
    procedure: str | None = None
    """Mã TTHC or a dot-prefix of it (``1.004616``)."""
    sector: str | None = None
    """Lĩnh vực, compared without diacritics."""
    date_from: date | None = None
    """First day of ngày tiếp nhận, included."""
    date_to: date | None = None
    """Last day of ngày tiếp nhận, included."""

    def filters_used(self) -> list[str]:
        """Names of the filters given: what the audit log keeps instead of the values searched."""
        names = ("unit", "kind", "status", "procedure", "sector", "date_from", "date_to")
        return [name for name in names if getattr(self, name)]


@dataclass(frozen=True)
class ResultPage:
    """One page of search results, with the count of every record that matches."""

    hits: tuple[SearchHit, ...]
    """Best first; each ``snippet`` marks the match with « and »."""
    total: int
    """Matching records; a lower bound when ``total_is_exact`` is False."""
    total_is_exact: bool
    """False above :data:`catalog.search.RESULT_CAP` matches (show "1000+")."""
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Pages that can be shown (a text search stops at the cap)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def capped(self) -> bool:
        """The search stopped at its cap: later pages do not exist, filters narrow it."""
        return self.total >= RESULT_CAP

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _scope(settings: Settings, scope: str | None) -> UnitScope | None:
    """The units a caller limited to ``scope`` may see: that unit and every unit under it."""
    return units.scope_of(open_catalog(settings.resolved_catalog_url), scope)


def _scoped(settings: Settings, unit: str | None, scope: str | None) -> str | None:
    """The unit a report is for: the one asked if the caller may see it, else their own.

    Raises:
        PermissionDeniedError: a unit-limited user asked for a unit outside their scope.
    """
    if scope is None:
        return unit or None
    if unit and not _allowed(settings, scope, unit):
        raise PermissionDeniedError("unit_denied", unit=unit)
    return unit or scope


def _allowed(settings: Settings, scope: str, unit: str) -> bool:
    allowed = _scope(settings, scope)
    return allowed is None or allowed.allows(unit)


def _search_units(settings: Settings, unit: str | None, scope: str | None) -> tuple[str, ...]:
    """Units a search is limited to: the one asked and those under it, within the scope.

    Why the units under: an auditor filtering on a district expects its communes'
    records too, as its report counts them.

    Raises:
        PermissionDeniedError: a unit-limited user filtered on a unit outside their scope.
    """
    root = _scoped(settings, unit, scope)
    if root is None:
        return ()
    return units.units_under(open_catalog(settings.resolved_catalog_url), root)


def search(
    settings: Settings,
    query: RecordQuery,
    *,
    scope: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ResultPage:
    """One page of records matching ``query``, ranked (see :meth:`catalog.database.Catalog.find`).

    Args:
        scope: the caller's unit; results are limited to it and the units under it.
        page: 1-based page number.
        per_page: hits per page (at most 100).

    Raises:
        PermissionDeniedError: a unit-limited caller filtered on another unit.
        InvalidRequestError: the first day is after the last.
    """
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise InvalidRequestError("bad_period", start=str(query.date_from), end=str(query.date_to))
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = min(max(page, 1), math.ceil(RESULT_CAP / per_page))
    filters = SearchFilters(
        unit=_search_units(settings, query.unit, scope),
        kind=query.kind or None,
        status=query.status or None,
        procedure_code=query.procedure or None,
        sector=query.sector or None,
        date_from=query.date_from,
        date_to=query.date_to,
    )
    catalog = open_catalog(settings.resolved_catalog_url)
    found = catalog.find(query.text, filters=filters, limit=per_page, offset=(page - 1) * per_page)
    return ResultPage(found.hits, found.total, found.total_is_exact, page, per_page)


# --- one record --------------------------------------------------------------------------------


def record_row(settings: Settings, record_id: str, *, scope: str | None = None) -> RecordRow:
    """The catalog row of a record the caller may see.

    Raises:
        NotFoundError: no such record (or an ambiguous id prefix).
        PermissionDeniedError: the record belongs to a unit outside ``scope`` (the caller's
            unit and the units under it).
    """
    row = open_catalog(settings.resolved_catalog_url).get_record(record_id)
    if scope is not None and not _allowed(settings, scope, row.unit):
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

    Why not :func:`services.records.show_record` alone: an auditor most needs the page
    when something is wrong, so a missing or unreadable manifest degrades to the
    catalog's values (and says so) instead of failing the page.

    Raises:
        NotFoundError, PermissionDeniedError: as :func:`record_row`.
    """
    from records.commit import load_manifest
    from storage.objectstore import open_store

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

    The same check as ``sohoa export`` (:func:`services.records.download_checked`): the
    file's sha256 must equal the catalog's, so nobody is handed a changed file as the
    archived one.

    Raises:
        VerificationError: the bytes changed (``dest`` is removed).
        NotFoundError, PermissionDeniedError: as :func:`record_row`.
        StorageError: the store could not be read.
    """
    from services.records import download_checked

    row = record_row(settings, record_id, scope=scope)
    download_checked(settings, row, dest)
    return row


def verify(settings: Settings, record_id: str, *, scope: str | None = None) -> VerifyResult:
    """Check the record again now: hashes of its PDF and manifest, and its signature.

    Raises:
        NotFoundError, PermissionDeniedError: as :func:`record_row`.
        ConfigError, ExternalProgramError: trust roots or ``pdfsig`` are not set up.
    """
    from records.fixity import check_one
    from storage.objectstore import open_store

    row = record_row(settings, record_id, scope=scope)
    return check_one(row, open_store(settings), settings)


# --- reports -----------------------------------------------------------------------------------


def report(
    settings: Settings,
    *,
    start: date,
    end: date,
    unit: str | None = None,
    by: str = "unit",
    scope: str | None = None,
) -> Report:
    """The ``sohoa report`` computation for the caller's unit (its subtree) or the one asked.

    Raises:
        InvalidRequestError: the start is after the end, or ``by`` is unknown.
        PermissionDeniedError: a unit-limited caller asked for another unit.
        NotFoundError: the unit is not in the register.
    """
    from services.reports import compute_report

    if start > end:
        raise InvalidRequestError("bad_period", start=str(start), end=str(end))
    if by not in GROUP_BY:
        raise InvalidRequestError("report_bad_by", value=by[:32], known=", ".join(GROUP_BY))
    unit = _scoped(settings, unit, scope)
    return compute_report(settings, start=start, end=end, unit=unit, by=by)


def report_file(report: Report, fmt: str, lang: str) -> tuple[bytes, str, str]:
    """``(bytes, media type, file name)`` of the report in ``fmt`` (``xlsx`` or ``json``)."""
    from reports.render import render

    types: dict[str, str] = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
    }
    name = f"ty-le-so-hoa_{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.{fmt}"
    return render(report, fmt, lang), types[fmt], name


def summary_of(result: VerifyResult) -> dict[str, Any]:
    """What the audit log keeps of a verification: the verdict, never the signer's name."""
    return {"ok": result.ok, "status": result.status, "problems": len(result.problems)}
