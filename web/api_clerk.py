"""The clerk's JSON API under ``/api``: uploads, batches, review — twins of the clerk's pages.

Each route calls the function its page calls (:mod:`web.uploads`, :mod:`web.batches`,
:mod:`web.review`), so both refuse and record the same things. Authentication and
errors as in :mod:`web.api`: a bearer token (or the page's session cookie with
``X-CSRF-Token``), 401 without credentials, 403 for a role without the power or a
record of another unit, ``{"error", "message"}`` bodies.

Corrections and acceptance *require* the record's ``revision`` (from
``GET /api/review/{id}``): a script is a form like any other, and a stale one gets
409 with the record's current state instead of overwriting a colleague's change.
Only ``sohoa review set`` may omit it (documented there). ``POST /api/review/accept``
accepts several records with one (required) reason, each with the revision the caller
saw (``GET /api/review`` lists them), and answers what became of each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from services.review import BULK_OUTCOMES, MAX_BULK_ACCEPT, review_result
from sohoa.errors import StaleRevisionError
from web import review
from web.auth import Principal, require
from web.batches import STATUSES, BatchInfo, batch_info, list_batches, retry_batch
from web.i18n import request_lang, text
from web.roles import Permission
from web.uploads import accept_upload, upload_form

router = APIRouter(prefix="/api", tags=["clerk"])

Uploader = Annotated[Principal, Depends(require(Permission.UPLOAD))]
Reviewer = Annotated[Principal, Depends(require(Permission.REVIEW))]
Corrector = Annotated[Principal, Depends(require(Permission.CORRECT))]
Status = Literal["waiting", "running", "archived", "needs_review", "failed", "quarantined"]
assert set(Status.__args__) == set(STATUSES)  # type: ignore[attr-defined]


class RecordBriefOut(BaseModel):
    """A record a batch made."""

    id: str
    dossier_code: str
    status: str = Field(description="archived or needs_review")
    status_text: str
    pages: int
    review_url: str | None = Field(description="The review page, for a record in review")


class BatchOut(BaseModel):
    """One batch: status, progress, records. Poll it every second or so while ``done`` is false."""

    id: str
    status: Status
    status_text: str = Field(description="The status in the caller's language")
    reason: str | None = Field(description="Why it failed or was quarantined")
    unit: str | None
    kind: str | None
    dossier_code: str | None
    files: int
    pages_total: int | None = Field(description="Pages found; null until counted")
    pages_done: int = Field(description="Pages read so far")
    stage: str | None = Field(description="pages, sign or store while running")
    stage_text: str | None
    created_at: datetime | None
    updated_at: datetime | None
    records: list[RecordBriefOut]
    in_review: int = Field(description="Records of the batch that need review")
    retryable: bool = Field(description="POST /api/batches/{id}/retry would queue it again")
    done: bool = Field(description="Nothing more happens without a person")
    url: str = Field(description="The batch's web page")


class BatchListOut(BaseModel):
    """One page of batches, newest first."""

    total: int
    page: int
    per_page: int
    pages: int
    batches: list[BatchOut]


def batch_out(info: BatchInfo, lang: str) -> BatchOut:
    """The JSON form of a batch (also what ``static/upload.js`` reads)."""
    records = [
        RecordBriefOut(
            id=r.id,
            dossier_code=r.dossier_code,
            status=r.status,
            status_text=text(f"web_batch_status_{r.status}", lang),
            pages=r.pages,
            review_url=f"/review/{r.id}" if r.status == "needs_review" else None,
        )
        for r in info.records
    ]
    return BatchOut(
        id=info.id,
        status=info.status,  # type: ignore[arg-type]
        status_text=text(f"web_batch_status_{info.status}", lang),
        reason=info.reason,
        unit=info.unit,
        kind=info.kind,
        dossier_code=info.dossier_code,
        files=info.files,
        pages_total=info.pages_total,
        pages_done=info.pages_done,
        stage=info.stage,
        stage_text=text(f"web_stage_{info.stage}", lang) if info.stage else None,
        created_at=info.created_at,
        updated_at=info.updated_at,
        records=records,
        in_review=info.in_review,
        retryable=info.retryable,
        done=info.done,
        url=f"/batches/{info.id}",
    )


# --- uploads and batches -----------------------------------------------------------------------


@router.post("/uploads", response_model=BatchOut, status_code=202, summary="Upload one batch")
def upload(
    request: Request,
    principal: Uploader,
    files: Annotated[list[UploadFile], File(description="PDF, TIFF, JPEG or PNG, in order")],
    kind: Annotated[str, Form(description="thanh-phan or ket-qua")] = "thanh-phan",
    unit: Annotated[str, Form(description="unit code; empty: the account's unit")] = "",
    dossier_code: Annotated[str, Form(description="mã hồ sơ for the whole batch")] = "",
) -> Any:
    """Check the files (size, type) before storing anything, receive them as one batch and
    queue it. The same files with the same options give the same batch (200 when it is
    already archived or queued). 413: a file too large; 422: not a PDF/TIFF/JPEG/PNG or
    empty; 503: too many batches queued (nothing stored)."""
    form = upload_form(request, principal, kind=kind, unit=unit, dossier_code=dossier_code)
    batch_id = accept_upload(request, principal, files, form)
    info = batch_info(request, principal, batch_id)
    status = 202 if info.status in ("waiting", "running") else 200
    body = batch_out(info, request_lang(request)).model_dump(mode="json")
    return JSONResponse(body, status_code=status)


@router.get("/batches", response_model=BatchListOut, summary="List batches")
def batches(
    request: Request,
    principal: Uploader,
    status: Annotated[Status | Literal[""], Query(description="filter")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 25,
) -> BatchListOut:
    """The caller's batches (their unit's, when limited to one), newest first."""
    found = list_batches(request, principal, status=status, page=page, per_page=per_page)
    lang = request_lang(request)
    return BatchListOut(
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        batches=[batch_out(b, lang) for b in found.batches],
    )


@router.get("/batches/{batch_id}", response_model=BatchOut, summary="One batch and its progress")
def batch(request: Request, principal: Uploader, batch_id: str) -> BatchOut:
    """Status, pages read so far, records made. 404 unknown; 403 another unit's."""
    return batch_out(batch_info(request, principal, batch_id), request_lang(request))


@router.post("/batches/{batch_id}/retry", response_model=BatchOut, status_code=202, summary="Retry")
def retry(request: Request, principal: Uploader, batch_id: str) -> BatchOut:
    """Queue a failed batch again from its originals in the inbox. 409 when it is not
    failed (or waiting with nobody working on it) or its originals have left the inbox."""
    return batch_out(retry_batch(request, principal, batch_id), request_lang(request))


# --- review --------------------------------------------------------------------------------------


class ReviewItemOut(BaseModel):
    """A record waiting for review."""

    id: str
    batch_id: str
    revision: int = Field(description="Send it back to accept the record")
    dossier_code: str
    unit: str
    kind: str
    pages: int
    created_at: str
    reasons: list[str] = Field(description="Codes such as invalid:id_number:cccd_bad_province")
    reasons_text: list[str]


class FieldOut(BaseModel):
    """One field with its evidence."""

    name: str
    label: str
    value: str
    raw: str
    confidence: float | None
    method: str | None = Field(description="qr, barcode, label, pattern or manual")
    problem: str | None
    page: int | None = Field(description="1-based page of the record's PDF")
    box: list[int] | None = Field(description="left, top, width, height in scan pixels")
    crop_url: str | None
    reasons: list[str]
    present: bool = Field(description="false: a required field that was not found")


class CorrectionOut(BaseModel):
    """One change in review; ``field`` ``*`` is an acceptance."""

    field: str
    old: str | None
    new: str | None
    by: str
    at: datetime
    reason: str


class ReviewDetailOut(BaseModel):
    """A record for review; send ``revision`` back with a correction."""

    id: str
    batch_id: str
    dossier_code: str
    unit: str
    kind: str
    status: str
    pages: int
    revision: int
    reasons: list[str]
    reason_codes: list[str]
    fields: list[FieldOut]
    corrections: list[CorrectionOut]


class ReviewResultOut(BaseModel):
    """The record after a change (or, in a 409, as it is now)."""

    id: str
    status: str
    revision: int
    dossier_code: str
    review_reasons: list[str]
    fields: dict[str, str]
    corrections: list[CorrectionOut]


class StaleOut(BaseModel):
    """409: the record changed since the revision sent; nothing was saved."""

    error: str
    message: str
    current: ReviewResultOut


class FieldIn(BaseModel):
    """A corrected value."""

    value: str = Field(max_length=2000)
    reason: str = Field(default="", max_length=500)
    revision: int = Field(ge=0, description="The revision the value was decided on")
    force: bool = Field(default=False, description="Keep a value that fails validation")


class AcceptIn(BaseModel):
    """Accepting a record as reviewed."""

    reason: str = Field(default="", max_length=500)
    revision: int = Field(ge=0)
    force: bool = Field(default=False, description="Accept missing or invalid fields as they are")


@router.get("/review", response_model=list[ReviewItemOut], summary="The review queue")
def review_queue(request: Request, principal: Reviewer) -> list[dict[str, Any]]:
    """Records needing review that the caller may handle, oldest first."""
    return review.queue(request, principal)


@router.get("/review/{record_id}", response_model=ReviewDetailOut, summary="A record for review")
def review_record(request: Request, principal: Reviewer, record_id: str) -> ReviewDetailOut:
    """Fields with evidence, reasons, history and the current revision (audited as a view)."""
    d = review.review_detail(request, principal, record_id)
    fields = [FieldOut(**{**f.__dict__, "box": list(f.box) if f.box else None}) for f in d.fields]
    return ReviewDetailOut(
        id=d.id,
        batch_id=d.batch_id,
        dossier_code=d.dossier_code,
        unit=d.unit,
        kind=d.kind,
        status=d.status,
        pages=d.pages,
        revision=d.revision,
        reasons=list(d.reasons),
        reason_codes=list(d.reason_codes),
        fields=fields,
        corrections=[CorrectionOut.model_validate(c) for c in d.corrections],
    )


def _stale(request: Request, exc: StaleRevisionError) -> JSONResponse:
    """409 with the record as it is now, so the caller can decide again."""
    current = ReviewResultOut.model_validate(review_result(exc.manifest))
    message = exc.render(request_lang(request))
    body = StaleOut(error=exc.key, message=message, current=current)
    return JSONResponse(body.model_dump(mode="json"), status_code=409)


STALE = {409: {"model": StaleOut, "description": "Changed since `revision`; nothing saved"}}


@router.put(
    "/records/{record_id}/fields/{field}",
    response_model=ReviewResultOut,
    responses=STALE,
    summary="Correct a field",
)
@router.post(
    "/records/{record_id}/fields/{field}",
    response_model=ReviewResultOut,
    responses=STALE,
    summary="Correct a field (POST, for clients without PUT)",
    operation_id="correct_field_post",
)
def correct_field(
    request: Request, principal: Corrector, record_id: str, field: str, body: FieldIn
) -> Any:
    """Set a field (history kept; the signed PDF is untouched). 422: unknown field or an
    invalid value without ``force``; 409: stale ``revision``."""
    try:
        return review.correct(
            request,
            principal,
            record_id,
            field,
            value=body.value,
            reason=body.reason,
            revision=body.revision,
            force=body.force,
        )
    except StaleRevisionError as exc:
        return _stale(request, exc)


@router.post(
    "/records/{record_id}/accept",
    response_model=ReviewResultOut,
    responses=STALE,
    summary="Accept a record as reviewed",
)
def accept_record(request: Request, principal: Corrector, record_id: str, body: AcceptIn) -> Any:
    """Leave the queue. 422: a field is still missing or invalid (unless ``force``)."""
    try:
        return review.accept(
            request,
            principal,
            record_id,
            reason=body.reason,
            revision=body.revision,
            force=body.force,
        )
    except StaleRevisionError as exc:
        return _stale(request, exc)


class BulkItemIn(BaseModel):
    """One record to accept, with the revision it was decided on."""

    id: str = Field(max_length=100)
    revision: int = Field(ge=0)


class BulkAcceptIn(BaseModel):
    """Accepting several records as reviewed with one reason."""

    records: list[BulkItemIn] = Field(description=f"1 to {MAX_BULK_ACCEPT} records")
    reason: str = Field(default="", max_length=500, description="Required; kept in each history")
    force: bool = Field(default=False, description="Accept missing or invalid fields as they are")


BulkOutcomeCode = Literal["accepted", *BULK_OUTCOMES]  # type: ignore[valid-type]


class BulkOutcomeOut(BaseModel):
    """What became of one record."""

    id: str
    outcome: BulkOutcomeCode = Field(description="accepted, or why not")
    message: str | None = Field(description="Why not, in the caller's language")
    revision: int | None = Field(description="The record's revision once accepted")


class BulkAcceptOut(BaseModel):
    """Every record sent, in order; a refused record does not stop the others."""

    accepted: int
    refused: int
    results: list[BulkOutcomeOut]


@router.post("/review/accept", response_model=BulkAcceptOut, summary="Accept several records")
def accept_records(request: Request, principal: Corrector, body: BulkAcceptIn) -> BulkAcceptOut:
    """Accept each record as ``POST /api/records/{id}/accept`` does (unit, revision, history,
    audit). 400: none, more than the cap, or no reason (nothing changed)."""
    items = [(item.id, item.revision) for item in body.records]
    result = review.accept_many(request, principal, items, reason=body.reason, force=body.force)
    lang = request_lang(request)
    results = [
        BulkOutcomeOut(
            id=o.id,
            outcome=o.outcome,  # type: ignore[arg-type]
            message=None if o.outcome == "accepted" else text(f"web_review_bulk_{o.outcome}", lang),
            revision=o.revision,
        )
        for o in result.outcomes
    ]
    return BulkAcceptOut(
        accepted=len(result.accepted), refused=len(result.refused), results=results
    )
