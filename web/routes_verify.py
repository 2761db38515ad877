"""The auditor's integrity overview: ``GET /verify`` and ``POST /verify`` (start a check).

The page answers the inspector's question "is the archive being proven intact,
and what was wrong last time": the latest completed check's verdict up top, the
history of checks (nightly, weekly, ``sohoa verify --all``, this page) in pages
of 20, and one run's failures with links to their records (``?run=ID``).

The form starts a sampled check in the background (:mod:`web.fixity_jobs`) and
redirects to its run (post/redirect/get), whose progress ``static/verify.js``
polls from ``GET /api/fixity/{id}`` without reloading. A second start while one
runs is answered 409 on the page with a link to the running check; a bad sample
400; another unit, for a unit-limited auditor, 403 (audited).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from records.fixity_runs import FixityRun
from web.audit import office_zone
from web.auth import Principal, require
from web.errors import BadSample, BadUnit, CheckRunning, WebError
from web.fixity_jobs import (
    DEFAULT_SAMPLE,
    MAX_SAMPLE,
    Overview,
    overview,
    start_check,
)
from web.i18n import request_lang, text
from web.pages import render
from web.roles import Permission

__all__ = ["router", "scope_text", "started_by_text"]

router = APIRouter(include_in_schema=False)

Verifier = Annotated[Principal, Depends(require(Permission.VERIFY))]

KNOWN_STARTERS = {"nightly": "nightly", "weekly flow": "weekly", "cli": "cli"}
"""Who starts checks besides people, and the text key suffix naming each."""


def started_by_text(started_by: str, lang: str) -> str:
    """Who started a run, for people: the nightly run, the weekly flow, the CLI, or an account."""
    if started_by in KNOWN_STARTERS:
        return text(f"web_verify_by_{KNOWN_STARTERS[started_by]}", lang)
    via, _, name = started_by.partition(":")
    return text("web_verify_by_person", lang, name=name or via, via=via)


def scope_text(run: FixityRun, lang: str) -> str:
    """What a run was asked to check, for people: every record or a sample, and the unit."""
    if run.sample:
        asked = text("web_verify_asked_sample", lang, sample=run.sample)
    else:
        asked = text("web_verify_asked_all", lang)
    if run.unit:
        asked += " · " + text("web_verify_asked_unit", lang, unit=run.unit)
    return asked


def _links(found: Overview, run: int | None) -> dict[str, Any]:
    """Previous/next links of the history, keeping the run shown."""
    kept = {"run": run} if run else {}

    def to(page: int) -> str:
        return "?" + urlencode({**kept, "page": page})

    runs = found.runs
    return {
        "prev": runs.page > 1 and to(runs.page - 1),
        "next": runs.page < runs.pages and to(runs.page + 1),
    }


def verify_page(
    request: Request,
    principal: Principal,
    *,
    page: int = 1,
    run: int | None = None,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """Render the overview (with a refused form's message and values, if any)."""
    found = overview(request, principal, page=page, run_id=run)
    lang = request_lang(request)
    return render(
        request,
        "verify.html",
        status=status,
        found=found,
        links=_links(found, run),
        error=error,
        values=values or {"sample": str(DEFAULT_SAMPLE), "unit": principal.unit or ""},
        fixed_unit=principal.unit,
        max_sample=MAX_SAMPLE,
        started_by=lambda value: started_by_text(value, lang),
        scope=lambda run: scope_text(run, lang),
        zone=office_zone(request).key,
    )


@router.get("/verify")
def verify_get(
    request: Request,
    principal: Verifier,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    run: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """The latest verdict, the history of checks, and one run's failures."""
    return verify_page(request, principal, page=page, run=run)


@router.post("/verify")
def verify_post(
    request: Request,
    principal: Verifier,
    sample: Annotated[str, Form(max_length=16)] = "",
    unit: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Start a sampled check; on to its run, or the page again with why it did not start."""
    try:
        run_id = start_check(request, principal, sample=sample, unit=unit)
    except (BadSample, BadUnit, CheckRunning) as exc:
        return _refused(request, principal, exc, {"sample": sample, "unit": unit})
    return RedirectResponse(f"/verify?run={run_id}", status_code=303)


def _refused(
    request: Request, principal: Principal, exc: WebError, values: dict[str, str]
) -> Response:
    message = text(exc.key, request_lang(request), **exc.params)
    running = exc.params.get("run") if isinstance(exc, CheckRunning) else None
    return verify_page(
        request,
        principal,
        run=running if isinstance(running, int) else None,
        status=exc.status,
        error=message,
        values=values,
    )
