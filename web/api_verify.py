"""The JSON twins of ``/verify``: the fixity history, one run with live progress, starting a check.

``GET /api/fixity`` (runs, newest first, paginated), ``GET /api/fixity/{run_id}``
(one run, the failures the caller may see, and ``progress`` while it runs, here or
elsewhere: poll it every second or so while ``state`` is ``running``) and
``POST /api/fixity`` (start a sampled check: 202 with the new run; 409 while one
runs). They call the page's functions (:mod:`web.fixity_jobs`), so scope, limits
and the ``fixity.start`` audit entry are the same. Authentication as for all of
``/api``: a bearer token, or a browser session with ``X-CSRF-Token`` on POST.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from starlette.requests import Request

from records import fixity_runs
from records.fixity_runs import FixityFailure
from web.auth import Principal, require
from web.deps import catalog_of
from web.fixity_jobs import DEFAULT_SAMPLE, MAX_SAMPLE, PER_PAGE, RunView, run_view, start_check
from web.i18n import request_lang, text
from web.roles import Permission
from web.routes_verify import scope_text, started_by_text

router = APIRouter(prefix="/api", tags=["auditor"])

Verifier = Annotated[Principal, Depends(require(Permission.VERIFY))]
RunId = Annotated[int, Path(ge=1, le=2**62)]
Verdict = Literal["running", "error", "abandoned", "empty", "ok", "problems"]


class ProgressOut(BaseModel):
    """How far a running check has got (wherever it runs: its counts are in its row)."""

    done: int = Field(description="Records checked so far")
    total: int | None = Field(description="Records chosen; null until the sample is drawn")
    problems: int = Field(description="Records found not intact so far")


class FailureOut(BaseModel):
    """One damaged record (or orphan object): ids and codes, no personal data."""

    record_id: str | None = Field(description="null for an orphan object")
    unit: str | None
    status: str = Field(description="missing, changed, invalid, unreadable or orphan")
    status_text: str = Field(description="The status in the caller's language")
    objects: list[str] = Field(description="Bad objects as role:status (pdf:changed)")
    objects_text: str = Field(description="The bad objects in the caller's language")
    key: str | None = Field(description="The orphan object's key")
    record_url: str | None = Field(description="The record's page")


class RunOut(BaseModel):
    """One fixity check of the history."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    started_by: str = Field(description="nightly, weekly flow, cli, web:<account>, api:<account>")
    started_by_text: str
    sample: str | None = Field(description="Records asked (50) or a share (10%); null: all")
    unit: str | None = Field(description="Unit checked, with the units under it; null: all")
    scope_text: str = Field(description="What was checked, in the caller's language")
    state: Literal["running", "done", "error"]
    verdict: Verdict
    verdict_text: str
    catalog_records: int | None = Field(description="Records the check chose from")
    checked: int
    problems: int = Field(description="Records not intact plus orphan objects")
    orphans: int | None = Field(description="Orphan objects; null when not looked for")
    error: str | None = Field(description="Why the check could not complete (error type)")


class RunDetailOut(RunOut):
    """One run with the failures the caller may see and, while it runs, its progress."""

    failures: list[FailureOut]
    hidden_failures: int = Field(description="Failures of units outside the caller's scope")
    progress: ProgressOut | None


class RunsOut(BaseModel):
    """One page of the history, newest first."""

    total: int
    page: int
    per_page: int
    pages: int
    runs: list[RunOut]


class StartIn(BaseModel):
    """What to check."""

    sample: int = Field(DEFAULT_SAMPLE, description=f"Records read at random (1–{MAX_SAMPLE})")
    unit: str | None = Field(
        None, max_length=64, description="Limit to a unit and those under it (forced when limited)"
    )


def _verdict_text(run: fixity_runs.FixityRun, lang: str) -> str:
    return text(
        f"web_verify_verdict_{run.verdict}",
        lang,
        problems=run.problems,
        error=run.error or "",
    )


def run_out(run: fixity_runs.FixityRun, lang: str) -> RunOut:
    """The API's view of a run of the history."""
    return RunOut(
        id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        started_by=run.started_by,
        started_by_text=started_by_text(run.started_by, lang),
        sample=run.sample,
        unit=run.unit,
        scope_text=scope_text(run, lang),
        state=run.state,  # type: ignore[arg-type]
        verdict=run.verdict,  # type: ignore[arg-type]
        verdict_text=_verdict_text(run, lang),
        catalog_records=run.catalog_records,
        checked=run.checked,
        problems=run.problems,
        orphans=run.orphans,
        error=run.error,
    )


def _failure_out(failure: FixityFailure, lang: str) -> FailureOut:
    return FailureOut(
        record_id=failure.record_id,
        unit=failure.unit,
        status=failure.status,
        status_text=text(f"web_verify_status_{failure.status}", lang),
        objects=[f"{role}:{status}" for role, status in failure.objects],
        objects_text="; ".join(
            f"{text('web_object_' + role, lang)}: {text('web_verify_status_' + status, lang)}"
            for role, status in failure.objects
        ),
        key=failure.key,
        record_url=failure.record_id and f"/records/{failure.record_id}",
    )


def run_detail_out(view: RunView, lang: str) -> RunDetailOut:
    """The API's view of one run as the caller may see it."""
    progress = view.progress
    return RunDetailOut(
        **run_out(view.run, lang).model_dump(),
        failures=[_failure_out(f, lang) for f in view.failures],
        hidden_failures=view.hidden,
        progress=progress
        and ProgressOut(done=progress.done, total=progress.total, problems=progress.problems),
    )


@router.get("/fixity", response_model=RunsOut, summary="The history of fixity checks")
def api_runs(
    request: Request,
    _: Verifier,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=fixity_runs.MAX_PER_PAGE)] = PER_PAGE,
) -> RunsOut:
    """Every check (nightly, weekly, CLI, web), newest first, without their failures."""
    found = fixity_runs.list_runs(catalog_of(request), page=page, per_page=per_page)
    lang = request_lang(request)
    return RunsOut(
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        runs=[run_out(r, lang) for r in found.runs],
    )


@router.get("/fixity/{run_id}", response_model=RunDetailOut, summary="One fixity check")
def api_run(request: Request, principal: Verifier, run_id: RunId) -> RunDetailOut:
    """The run, its failures within the caller's units, and live progress while it runs."""
    return run_detail_out(run_view(request, principal, run_id), request_lang(request))


@router.post(
    "/fixity",
    response_model=RunDetailOut,
    status_code=202,
    summary="Start a fixity check",
    responses={409: {"description": "A check is already running"}},
)
def api_start(request: Request, principal: Verifier, body: StartIn | None = None) -> RunDetailOut:
    """Start a sampled check in the background (audited ``fixity.start``); poll the run."""
    body = body or StartIn()
    run_id = start_check(request, principal, sample=body.sample, unit=body.unit)
    return run_detail_out(run_view(request, principal, run_id), request_lang(request))
