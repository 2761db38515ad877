"""The auditor's JSON API under ``/api``: search, record, PDF, verification, report.

Each endpoint is the twin of a page and calls the same functions
(:mod:`services.search`, :mod:`services.records`, :mod:`services.integrity` and
:mod:`services.reports` through the helpers of ``routes_search``,
``routes_records`` and ``routes_reports``), so limits, unit scope and audit
entries are the same. Authentication as for all of ``/api`` (:mod:`web.api`):
a bearer token, or a browser session with ``X-CSRF-Token`` on POST; anonymous
callers get 401, roles without the permission 403, another unit's record 403.

Snippets keep the catalog's « » around the match: a client escapes the text
and turns those marks into its own highlighting.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from catalog.rows import PersonMatch
from records.verify import VerifyResult
from schemas.report import Report
from services import search as search_service
from services.records import record_detail
from sohoa.messages import text
from web.auth import Principal, require, unit_scope
from web.deps import settings_of
from web.i18n import request_lang
from web.roles import Permission
from web.routes_records import RecordId, serve_pdf, verify_record
from web.routes_reports import report_download, run_report
from web.routes_search import query_from, run_search

router = APIRouter(prefix="/api", tags=["auditor"])

Searcher = Annotated[Principal, Depends(require(Permission.SEARCH))]
Viewer = Annotated[Principal, Depends(require(Permission.VIEW))]
Verifier = Annotated[Principal, Depends(require(Permission.VERIFY))]
Reader = Annotated[Principal, Depends(require(Permission.REPORTS))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- models ------------------------------------------------------------------------------------


class PersonOut(BaseModel):
    """A person of a found record whom the query named."""

    role: str = Field(description="applicant, subject, father, mother, signer or other")
    name: str = Field(description="Their name as the record keeps it")
    role_label: str = Field(description="The role in the request's language (người nộp, cha …)")


class HitOut(BaseModel):
    """One search result."""

    id: str = Field(description="Record id (open it with GET /api/records/{id})")
    dossier_code: str = Field(description="Mã hồ sơ; empty when none was found")
    applicant_name: str = Field(description="Người nộp, when it was read")
    unit: str
    kind: str = Field(description="thanh-phan or ket-qua")
    status: str = Field(description="archived or needs_review")
    received_on: date | None = Field(description="Ngày tiếp nhận as the catalog knows it")
    score: float = Field(description="Relevance tier, lower is better")
    snippet: str = Field(description="Original text around the match, the match between « and »")
    people: list[PersonOut] = Field(
        default_factory=list, description="Who the query named in this record, with their role"
    )


class SearchOut(BaseModel):
    """One page of search results."""

    total: int = Field(description="Matching records (a lower bound when total_is_exact is false)")
    total_is_exact: bool
    page: int
    per_page: int
    pages: int
    hits: list[HitOut]


class FieldOut(BaseModel):
    """One key field with its evidence."""

    name: str
    value: str
    raw: str = Field(description="The text as read, before normalisation")
    confidence: float | None = Field(description="0–1; null when the manifest is unreadable")
    method: str | None = Field(description="qr, barcode, label, pattern or manual")
    page: int | None = Field(description="1-based page where it was found")
    problem: str | None = Field(description="Why the value failed validation, if it did")


class CorrectionOut(BaseModel):
    """One change made in review (field "*": the record accepted as reviewed)."""

    field: str
    old: str | None
    new: str | None
    by: str
    at: datetime
    reason: str


class RecordOut(BaseModel):
    """A record: catalog facts, fields, review history."""

    id: str
    dossier_code: str
    kind: str
    unit: str
    status: str
    pages: int
    created_at: datetime
    mean_confidence: float
    sha256: str = Field(description="SHA-256 of the signed PDF as archived")
    signer: str
    review_reasons: list[str]
    fields: list[FieldOut]
    corrections: list[CorrectionOut]
    manifest_problem: str | None = Field(description="Why the manifest could not be read")
    pdf_url: str


class ObjectOut(BaseModel):
    """One archived object's check."""

    key: str
    role: Literal["pdf", "manifest", "original"]
    status: str = Field(description="ok, missing, changed, invalid or unreadable")
    problems: list[str]


class VerifyOut(BaseModel):
    """The verdict of checking a record again: hashes of its objects and its signature."""

    record_id: str
    ok: bool
    status: str = Field(description="The worst object status")
    problems: list[str]
    signer: str | None
    signed_at: datetime | None
    level: str | None = Field(description="PAdES level reached: B-B, B-T or B-LT")
    timestamped_at: datetime | None
    modification: str | None = Field(description="Added after signing: none, validation-data…")
    objects: list[ObjectOut]


def verify_out(result: VerifyResult) -> VerifyOut:
    """The API's view of a :class:`records.verify.VerifyResult`."""
    return VerifyOut(
        record_id=result.record_id,
        ok=result.ok,
        status=result.status,
        problems=list(result.problems),
        signer=result.signer,
        signed_at=result.signed_at,
        level=result.level,
        timestamped_at=result.timestamped_at,
        modification=result.modification,
        objects=[
            ObjectOut(key=o.key, role=o.role, status=o.status, problems=list(o.problems))
            for o in result.objects
        ],
    )


# --- endpoints ---------------------------------------------------------------------------------


@router.get("/search", response_model=SearchOut, summary="Search records (auditor)")
def api_search(
    request: Request,
    principal: Searcher,
    q: Annotated[
        str, Query(max_length=200, description="words, name, ID number, dossier code")
    ] = "",
    unit: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(max_length=16, description="thanh-phan or ket-qua")] = "",
    status: Annotated[str, Query(max_length=16, description="archived or needs_review")] = "",
    procedure: Annotated[str, Query(max_length=64, description="mã TTHC or a prefix")] = "",
    sector: Annotated[str, Query(max_length=200, description="lĩnh vực")] = "",
    day_from: Annotated[str, Query(alias="from", max_length=32, description="yyyy-mm-dd")] = "",
    day_to: Annotated[str, Query(alias="to", max_length=32, description="yyyy-mm-dd")] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=search_service.MAX_PER_PAGE)] = search_service.PER_PAGE,
) -> SearchOut:
    """Ranked records for words and filters (empty words: newest first), within the caller's unit."""
    query = query_from(
        q=q,
        unit=unit,
        kind=kind,
        status=status,
        procedure=procedure,
        sector=sector,
        day_from=day_from,
        day_to=day_to,
    )
    found = run_search(request, principal, query, page=page, per_page=per_page)
    lang = request_lang(request)
    hits = [
        HitOut(
            id=h.record_id,
            dossier_code=h.dossier_code,
            applicant_name=h.applicant_name,
            unit=h.unit,
            kind=h.kind,
            status=h.status,
            received_on=h.received_on,
            score=h.score,
            snippet=h.snippet,
            people=[_person_out(p, lang) for p in h.people],
        )
        for h in found.hits
    ]
    return SearchOut(
        total=found.total,
        total_is_exact=found.total_is_exact,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        hits=hits,
    )


def _person_out(person: PersonMatch, lang: str) -> PersonOut:
    label = text(f"person_role_{person.role}", lang)
    return PersonOut(role=person.role, name=person.name, role_label=label)


@router.get("/records/{record_id}", response_model=RecordOut, summary="One record (auditor)")
def api_record(request: Request, principal: Viewer, record_id: RecordId) -> RecordOut:
    """The record's facts, fields with their evidence and its review history (audited)."""
    from catalog.audit import Action
    from web.audit import audit

    detail = record_detail(settings_of(request), record_id, scope=unit_scope(principal))
    row = detail.row
    audit(request, Action.RECORD_VIEW, target=row.id)
    fields = [
        FieldOut(
            name=f.name,
            value=f.value,
            raw=f.raw,
            confidence=f.confidence,
            method=f.method,
            page=None if f.page is None else f.page + 1,
            problem=f.problem,
        )
        for f in detail.fields
    ]
    return RecordOut(
        id=row.id,
        dossier_code=row.dossier_code,
        kind=row.kind,
        unit=row.unit,
        status=row.status,
        pages=row.page_count,
        created_at=row.created_at,
        mean_confidence=row.mean_confidence,
        sha256=row.pdf_sha256,
        signer=row.signer,
        review_reasons=list(detail.review_reasons),
        fields=fields,
        corrections=[CorrectionOut(**c.model_dump()) for c in detail.corrections],
        manifest_problem=detail.manifest_problem,
        pdf_url=f"/api/records/{row.id}/pdf",
    )


@router.get(
    "/records/{record_id}/pdf",
    summary="The signed PDF (auditor)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 409: {"description": "PDF changed"}},
)
def api_record_pdf(
    request: Request,
    principal: Viewer,
    record_id: RecordId,
    download: Annotated[
        bool, Query(description="as an attachment (audited as a download)")
    ] = False,
) -> Response:
    """The archived bytes, only if their sha256 is still the catalog's (else 409)."""
    return serve_pdf(request, principal, record_id, download=download)


@router.post(
    "/records/{record_id}/verify", response_model=VerifyOut, summary="Verify a record again"
)
def api_verify(request: Request, principal: Verifier, record_id: RecordId) -> VerifyOut:
    """Re-read the PDF and manifest, compare hashes, validate the signature (audited)."""
    return verify_out(verify_record(request, principal, record_id))


@router.get(
    "/reports",
    response_model=Report,
    summary="Digitisation rates (auditor)",
    responses={200: {"content": {XLSX: {}}}},
)
def api_reports(
    request: Request,
    principal: Reader,
    day_from: Annotated[str, Query(alias="from", max_length=32, description="first day")] = "",
    day_to: Annotated[str, Query(alias="to", max_length=32, description="last day")] = "",
    unit: Annotated[str, Query(max_length=64)] = "",
    by: Annotated[
        str, Query(max_length=16, description="unit, linh-vuc, tthc, day, month")
    ] = "unit",
    fmt: Annotated[Literal["json", "xlsx"], Query(alias="format")] = "json",
) -> Report | Response:
    """``sohoa report`` as JSON (rates as decimal strings) or as the XLSX workbook."""
    found = run_report(
        request, principal, day_from=day_from, day_to=day_to, unit=unit, by=by, fmt=fmt
    )
    if fmt == "xlsx":
        return report_download(found, "xlsx", request_lang(request))
    return found
