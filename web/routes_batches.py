"""The clerk's batch pages: the list (``/batches``), one batch (``/batches/{id}``), retry.

Everything comes from :mod:`web.batches`, which the API's twins call too. The
list is newest first, 25 a page, filtered by status and limited to the clerk's
unit when they have one; rows still waiting or running update themselves
(``static/upload.js`` polls ``/api/batches/{id}``). A failed batch has a retry
button: a CSRF-protected POST that queues it again from its inbox originals.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from web.auth import Principal, require
from web.batches import STATUSES, batch_info, list_batches, retry_batch
from web.pages import render
from web.roles import Permission

router = APIRouter(include_in_schema=False)

Uploader = Annotated[Principal, Depends(require(Permission.UPLOAD))]
PER_PAGE = 25
DONE = frozenset({"retried"})
StatusFilter = Annotated[str, Query(pattern="^(" + "|".join(STATUSES) + ")?$")]


@router.get("/batches")
def batches_page(
    request: Request,
    principal: Uploader,
    status: StatusFilter = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The clerk's batches, newest first."""
    found = list_batches(request, principal, status=status, page=page, per_page=PER_PAGE)
    kept = {"status": status} if status else {}
    links = {
        "prev": found.page > 1 and "?" + urlencode({**kept, "page": found.page - 1}),
        "next": found.page < found.pages and "?" + urlencode({**kept, "page": found.page + 1}),
    }
    return render(
        request, "batches.html", listing=found, chosen=status, statuses=STATUSES, links=links
    )


@router.get("/batches/{batch_id}")
def batch_page(
    request: Request, principal: Uploader, batch_id: str, done: str | None = None
) -> Response:
    """One batch: status, progress (live while it runs), its records, retry when it failed."""
    info = batch_info(request, principal, batch_id)
    return render(request, "batch.html", batch=info, done=done if done in DONE else None)


@router.post("/batches/{batch_id}/retry")
def batch_retry(request: Request, principal: Uploader, batch_id: str) -> Response:
    """Queue a failed batch again; back to its page, which then follows its progress."""
    info = retry_batch(request, principal, batch_id)
    return RedirectResponse(f"/batches/{info.id}?done=retried", status_code=303)
