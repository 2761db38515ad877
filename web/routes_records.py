"""One record for the auditor: ``GET /records/{id}``, its PDF, and ``POST /records/{id}/verify``.

The page shows the catalog's facts, every field with its confidence, method and
page, the correction history, and the record's integrity: the PDF's and the
manifest's sha256 against the catalog and the signature, checked when the page
is opened and again on request (the button posts, is audited ``record.verify``).

The signed PDF is shown in an ``<iframe>`` of ``GET /records/{id}/pdf`` (inline)
and downloaded with ``?download=1`` (attachment, audited ``record.download``).
Either way its bytes are hashed first and refused if they are not the archived
ones (:func:`services.records.checked_pdf`, the check ``sohoa export`` makes):
an auditor must never be handed a changed file as the record.

A user limited to a unit gets 403 for another unit's record, audited as
``access.denied``: record ids are hashes nobody guesses, so hiding that the record
exists (404) would buy nothing, while the denial in the log tells an administrator
someone followed a link out of their unit.

Why the page sets its own Content-Security-Policy: the app-wide one forbids every
frame (``default-src 'none'``); this page adds ``frame-src 'self'`` for its PDF, and
the PDF response allows being framed by this site only (``frame-ancestors 'self'``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from catalog.audit import Action
from records.review import review_reason
from records.verify import VerifyResult
from schemas.fields import FIELD_LABELS_VI
from services import integrity
from services import records as record_service
from sohoa.errors import ChecksumMismatchError, VerificationError
from web.audit import audit
from web.auth import Principal, require, unit_scope
from web.deps import now_of, settings_of
from web.errors import PdfChanged
from web.i18n import request_lang
from web.pages import render
from web.roles import Permission
from web.security import CSP_DIRECTIVES

__all__ = ["PAGE_CSP", "PDF_CSP", "router", "serve_pdf", "verify_record"]

router = APIRouter(prefix="/records", include_in_schema=False)

Viewer = Annotated[Principal, Depends(require(Permission.VIEW))]
Verifier = Annotated[Principal, Depends(require(Permission.VERIFY))]
RecordId = Annotated[str, Path(min_length=8, max_length=128, pattern=r"^[0-9A-Za-z_.-]+$")]

PAGE_CSP = "; ".join((*CSP_DIRECTIVES, "frame-src 'self'"))
"""The record page may frame its own PDF, nothing else."""
PDF_CSP = "; ".join(
    d if not d.startswith("frame-ancestors") else "frame-ancestors 'self'" for d in CSP_DIRECTIVES
)
"""The PDF may be framed by this site's pages only."""
CHUNK = 256 * 1024


# --- the PDF -----------------------------------------------------------------------------------


def _stream(path: FilePath) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _file_name(dossier_code: str, record_id: str) -> str:
    """An ASCII file name: the dossier code's safe characters and the record id's start."""
    code = "".join(c if c.isascii() and (c.isalnum() or c in ".-") else "_" for c in dossier_code)
    return f"{code.strip('_') or 'ho-so'}_{record_id[:12]}.pdf"


def serve_pdf(
    request: Request, principal: Principal, record_id: str, *, download: bool
) -> Response:
    """The record's signed PDF, inline or as an attachment, after checking its sha256.

    Every answer is audited (``record.view`` with ``part=pdf``, or
    ``record.download``), a refused one with ``refused=sha256``.

    Raises:
        PdfChanged: the bytes differ from the catalog's sha256 (409).
        NotFoundError, PermissionDeniedError: unknown record, another unit's record.
        StorageError: the object store failed.
    """
    settings = settings_of(request)
    row = record_service.record_row(settings, record_id, scope=unit_scope(principal))
    action = Action.RECORD_DOWNLOAD if download else Action.RECORD_VIEW
    folder = FilePath(tempfile.mkdtemp(prefix="sohoa-web-pdf-"))
    try:
        record_service.checked_pdf(settings, row.id, folder / "record.pdf", scope=row.unit)
    except (VerificationError, ChecksumMismatchError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        audit(request, action, target=row.id, part="pdf", refused="sha256")
        raise PdfChanged(record=row.id) from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    audit(request, action, target=row.id, part="pdf")
    path = folder / "record.pdf"
    disposition = "attachment" if download else "inline"
    headers = {
        "content-disposition": f'{disposition}; filename="{_file_name(row.dossier_code, row.id)}"',
        "content-length": str(path.stat().st_size),
        "content-security-policy": PDF_CSP,
        "x-frame-options": "SAMEORIGIN",
        "x-sohoa-sha256": row.pdf_sha256,
    }
    cleanup = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return StreamingResponse(
        _stream(path), media_type="application/pdf", headers=headers, background=cleanup
    )


@router.get("/{record_id}/pdf")
def record_pdf(
    request: Request,
    principal: Viewer,
    record_id: RecordId,
    download: Annotated[bool, Query()] = False,
) -> Response:
    """The signed PDF: inline for the page's frame, ``?download=1`` as a file."""
    return serve_pdf(request, principal, record_id, download=download)


# --- the page ----------------------------------------------------------------------------------


def verify_record(request: Request, principal: Principal, record_id: str) -> VerifyResult:
    """Check the record again (hashes and signature) and log the verdict (``record.verify``)."""
    settings = settings_of(request)
    result = integrity.verify(settings, record_id, scope=unit_scope(principal))
    audit(request, Action.RECORD_VERIFY, target=result.record_id, **integrity.summary_of(result))
    return result


def field_label(name: str, lang: str) -> str:
    """A field's name for people: the paper's Vietnamese label, or the English words."""
    if lang == "vi":
        return FIELD_LABELS_VI.get(name, name)
    return name.replace("_", " ").capitalize()


def _servable(result: VerifyResult) -> bool:
    """Whether the PDF can be shown: it is there and its bytes are the archived ones."""
    pdf = [o for o in result.objects if o.role == "pdf"]
    return not pdf or pdf[0].status not in ("missing", "changed")


def _page(
    request: Request,
    principal: Principal,
    detail: record_service.RecordDetail,
    result: VerifyResult,
    *,
    verified_by_request: bool,
) -> Response:
    context: dict[str, Any] = {
        "detail": detail,
        "row": detail.row,
        "check": result,
        "verified_by_request": verified_by_request,
        "checked_at": now_of(request),
        "label": lambda name: field_label(name, request_lang(request)),
        "can_verify": principal.can(Permission.VERIFY),
        "pdf_servable": _servable(result),
        "review_reason": lambda code: review_reason(code, request_lang(request)),
    }
    return render(request, "record.html", headers={"content-security-policy": PAGE_CSP}, **context)


@router.get("/{record_id}")
def record_page(request: Request, principal: Viewer, record_id: RecordId) -> Response:
    """The record's facts, fields, history, integrity verdict (checked now) and signed PDF."""
    settings = settings_of(request)
    detail = record_service.record_detail(settings, record_id, scope=unit_scope(principal))
    audit(request, Action.RECORD_VIEW, target=detail.row.id)
    result = integrity.verify(settings, detail.row.id, scope=detail.row.unit)
    return _page(request, principal, detail, result, verified_by_request=False)


@router.post("/{record_id}/verify")
def verify_page(request: Request, principal: Verifier, record_id: RecordId) -> Response:
    """Check the record again on request; the page shows the new verdict."""
    result = verify_record(request, principal, record_id)
    detail = record_service.record_detail(
        settings_of(request), result.record_id, scope=unit_scope(principal)
    )
    return _page(request, principal, detail, result, verified_by_request=True)
