"""The clerk's upload page (``/upload``): several files as one batch, live progress without reloads.

With JavaScript (``static/upload.js``) the files — dropped on the zone or chosen —
go to ``POST /api/uploads`` with the page's CSRF header and an upload progress
bar, and each batch's status and page count are then polled from
``GET /api/batches/{id}`` every second. Without it the same form posts here and
the browser lands on the batch's page (``/batches/{id}``): the page works with a
plain file input, keyboard only. Both ways end in :func:`web.uploads.accept_upload`.

This router also carries the job runner's lifespan (:func:`web.jobs.lifespan`),
so the app starts and stops the worker threads without an edit to ``web/app.py``
beyond listing the router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sohoa.errors import BadInputError, InvalidRequestError
from web.auth import Principal, require
from web.deps import settings_of
from web.i18n import error_text, request_lang
from web.jobs import lifespan
from web.pages import render
from web.roles import Permission
from web.statuses import http_status
from web.uploads import KINDS, accept_upload, upload_form

router = APIRouter(include_in_schema=False, lifespan=lifespan)

Uploader = Annotated[Principal, Depends(require(Permission.UPLOAD))]
MB = 1024 * 1024


def upload_page(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The form, with the limits the browser checks before sending anything."""
    settings = settings_of(request)
    body_limit = settings.web.max_upload_mb or settings.limits.max_file_mb
    values = values or {"kind": "thanh-phan", "unit": principal.unit or "", "dossier_code": ""}
    return render(
        request,
        "upload.html",
        status=status,
        error=error,
        values=values,
        kinds=KINDS,
        fixed_unit=principal.unit,
        default_unit=settings.default_unit,
        max_file_bytes=int(settings.limits.max_file_mb * MB),
        max_upload_bytes=int(body_limit * MB),
        max_file_mb=f"{settings.limits.max_file_mb:g}",
        max_upload_mb=f"{body_limit:g}",
    )


@router.get("/upload")
def upload_get(request: Request, principal: Uploader) -> Response:
    """The upload form."""
    return upload_page(request, principal)


@router.post("/upload")
def upload_post(
    request: Request,
    principal: Uploader,
    files: Annotated[list[UploadFile] | None, File()] = None,
    kind: Annotated[str, Form(max_length=32)] = "thanh-phan",
    unit: Annotated[str, Form(max_length=100)] = "",
    dossier_code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The form posted without JavaScript: on to the batch's page, or the form with the reason."""
    try:
        form = upload_form(request, principal, kind=kind, unit=unit, dossier_code=dossier_code)
        batch_id = accept_upload(request, principal, files or [], form)
    except (InvalidRequestError, BadInputError) as exc:
        values = {"kind": kind, "unit": unit, "dossier_code": dossier_code}
        message = error_text(exc, request_lang(request))
        status = http_status(exc)
        return upload_page(request, principal, status=status, error=message, values=values)
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)
