"""The clerk's review pages: the queue (``/review``), one record (``/review/{id}``), its crops.

Each field is shown with its value, confidence, how it was found, its problem and
the crop of the page around where it was read
(``/records/{id}/pages/{n}/crop?box=l,t,w,h``), beside a form to correct it (value
and reason). Every form carries the record's revision: a form older than the
record gets 409 and the page again, with the current values and what the clerk
typed still in the form, so they decide knowing the other change — nothing is
lost. An invalid value gets 422 and the same treatment, unless "keep anyway" was
ticked. Successful changes redirect (so a reload does not post twice).

The review page also carries the form that adds or replaces pages
(``POST /review/pages``, :mod:`web.record_pages`): a new signed version of the record,
shown after on ``GET /review/{id}/versions/{n}``; a refusal shows the review page again
with the reason and what was typed (the file must be chosen again).

The queue accepts several records at once: a box per record (its id and the revision
shown), ``?select=all`` to tick every box and ``?batch=ID`` to list one batch only —
links, so it works without JavaScript — and one reason for all (``POST /review/accept``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from records.review import review_reason
from services.review import MAX_BULK_ACCEPT
from sohoa.errors import BadInputError, InvalidRequestError, StaleRevisionError
from web import record_pages, review
from web.auth import Principal, require
from web.crops import parse_box
from web.i18n import error_text, request_lang
from web.pages import render
from web.roles import Permission
from web.statuses import http_status

router = APIRouter(include_in_schema=False)

Reviewer = Annotated[Principal, Depends(require(Permission.REVIEW))]
Corrector = Annotated[Principal, Depends(require(Permission.CORRECT))]
Viewer = Annotated[Principal, Depends(require(Permission.REVIEW, Permission.VIEW))]
DONE = frozenset({"saved", "accepted"})
Value = Annotated[str, Form(max_length=2000)]
Reason = Annotated[str, Form(max_length=500)]
Revision = Annotated[int, Form(ge=0, le=1_000_000)]
BatchId = Annotated[str, Query(max_length=100)]


@router.get("/review")
def queue_page(
    request: Request,
    principal: Reviewer,
    done: str | None = None,
    batch: BatchId = "",
    select: str = "",
) -> Response:
    """Records to check, oldest first, with why; ``batch`` lists one batch's, ``select=all``
    ticks every box (a link rather than a script, so it works without JavaScript)."""
    done = done if done in DONE else None
    return _queue(request, principal, batch=batch, done=done, select_all=select == "all")


def _queue(
    request: Request, principal: Principal, *, batch: str, status: int = 200, **shown
) -> Response:
    """The queue page; ``shown`` is what to show besides the records (see the template)."""
    items = review.queue(request, principal, batch=batch or None)
    context = {"done": None, "select_all": False, "selected": (), "error": None, "result": None}
    context["max_bulk"] = MAX_BULK_ACCEPT
    context |= {"typed": {"reason": "", "force": False}} | shown
    return render(request, "review_queue.html", status=status, items=items, batch=batch, **context)


@router.post("/review/accept")
def bulk_accept_post(
    request: Request,
    principal: Corrector,
    record: Annotated[list[str] | None, Form()] = None,
    reason: Reason = "",
    force: Annotated[bool, Form()] = False,
    batch: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Accept the ticked records with one reason; the queue again, saying what became of each.

    Rendered rather than redirected: the refused records and why do not fit in a URL.
    Posting it again is harmless: the records accepted have left the queue and are
    reported so, never accepted twice. Nothing ticked, too many or no reason: 400, the
    boxes and the reason as they were.
    """
    picked = record or []
    typed = {"reason": reason, "force": force}
    try:
        items = review.parse_selection(picked)
        result = review.accept_many(request, principal, items, reason=reason, force=force)
    except InvalidRequestError as exc:
        error = error_text(exc, request_lang(request))
        selected = {value.rpartition(":")[0] for value in picked}
        status = http_status(exc)
        shown = {"error": error, "selected": selected, "typed": typed}
        return _queue(request, principal, batch=batch, status=status, **shown)
    return _queue(request, principal, batch=batch, result=result)


def record_page(
    request: Request,
    principal: Principal,
    record_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    typed: dict[str, dict[str, str]] | None = None,
    stale: bool = False,
    done: str | None = None,
) -> Response:
    """The record's review page; ``typed`` keeps what the clerk entered, per form."""
    detail = review.review_detail(request, principal, record_id)
    typed = typed or {}
    others = {name for name, _ in detail.others}
    other = next(({"field": k, **v} for k, v in typed.items() if k in others), None)
    return render(
        request,
        "review_record.html",
        status=status,
        record=detail,
        error=error,
        typed=typed,
        other=other,
        stale=stale,
        done=done if done in DONE else None,
        label=lambda name: review.field_label(name, request_lang(request)),
        version=record_pages.current_version(detail.corrections),
    )


@router.get("/review/{record_id}")
def record_get(
    request: Request, principal: Reviewer, record_id: str, done: str | None = None
) -> Response:
    """One record's fields beside their crops, with a form per field."""
    return record_page(request, principal, record_id, done=done)


def _change(
    request: Request,
    principal: Principal,
    record_id: str,
    form: str,
    typed: dict[str, str],
    change: Callable[[], Response],
) -> Response:
    """Run a change: on to the record, or the page again with the reason and the typed values."""
    try:
        result = change()
    except (StaleRevisionError, BadInputError) as exc:
        message = error_text(exc, request_lang(request))
        stale = isinstance(exc, StaleRevisionError)
        return record_page(
            request,
            principal,
            record_id,
            status=http_status(exc),
            error=message,
            typed={form: typed},
            stale=stale,
        )
    return result


@router.post("/review/{record_id}/fields/{field}")
def field_post(
    request: Request,
    principal: Corrector,
    record_id: str,
    field: str,
    revision: Revision,
    value: Value = "",
    reason: Reason = "",
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Correct one field from its form."""

    def change() -> Response:
        review.correct(
            request,
            principal,
            record_id,
            field,
            value=value,
            reason=reason,
            revision=revision,
            force=force,
        )
        return RedirectResponse(f"/review/{record_id}?done=saved#field-{field}", status_code=303)

    typed = {"value": value, "reason": reason}
    return _change(request, principal, record_id, field, typed, change)


@router.post("/review/{record_id}/fields")
def other_field_post(
    request: Request,
    principal: Corrector,
    record_id: str,
    revision: Revision,
    field: Annotated[str, Form(max_length=64)],
    value: Value = "",
    reason: Reason = "",
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Add a field that was not found (the form with a choice of field)."""
    return field_post(request, principal, record_id, field, revision, value, reason, force)


@router.post("/review/{record_id}/accept")
def accept_post(
    request: Request,
    principal: Corrector,
    record_id: str,
    revision: Revision,
    reason: Reason = "",
    force: Annotated[bool, Form()] = False,
) -> Response:
    """Mark the record reviewed; back to the queue."""

    def change() -> Response:
        review.accept(request, principal, record_id, reason=reason, revision=revision, force=force)
        return RedirectResponse("/review?done=accepted", status_code=303)

    typed = {"reason": reason}
    return _change(request, principal, record_id, "*accept", typed, change)


@router.post("/review/pages")
def pages_post(
    request: Request,
    principal: Corrector,
    record: Annotated[str, Form(max_length=128)],
    revision: Revision,
    file: Annotated[UploadFile | None, File()] = None,
    action: Annotated[str, Form(max_length=32)] = "add_page",
    page: Annotated[str, Form(max_length=12)] = "",
    reason: Reason = "",
) -> Response:
    """Add the scan's pages or replace a page (:mod:`web.record_pages`); on to the new version.

    Why one fixed path, the record in the form: the body cap and the signed-in check
    before reading are per path (:class:`web.gate.BodyCaps`), like ``/upload``'s.
    """
    form = record_pages.PageForm(action, page, reason, revision)

    def change() -> Response:
        made = record_pages.change_pages(request, principal, record, file, form)
        return RedirectResponse(
            f"/review/{made.record_id}/versions/{made.version}", status_code=303
        )

    typed = {"action": action, "page": page, "reason": reason}
    return _change(request, principal, record, "*pages", typed, change)


@router.get("/review/{record_id}/versions/{version}")
def version_get(
    request: Request,
    principal: Reviewer,
    record_id: str,
    version: Annotated[int, Path(ge=2, le=1_000_000)],
) -> Response:
    """One version a page change made: its pages, the change, its signed PDF's hash."""
    view = record_pages.version_view(request, principal, record_id, version)
    lang = request_lang(request)
    explain = lambda code: review_reason(code, lang)
    return render(request, "record_version.html", view=view, review_reason=explain)


@router.get("/records/{record_id}/pages/{page}/crop")
def crop_get(
    request: Request,
    principal: Viewer,
    record_id: str,
    page: int,
    box: Annotated[str, Query(max_length=80)],
) -> Response:
    """PNG of the page of the signed PDF around ``box`` (scan pixels: left,top,width,height)."""
    png = review.crop(request, principal, record_id, page, parse_box(box))
    return Response(png, media_type="image/png")  # no-store, like every page: personal data
