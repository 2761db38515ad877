"""What the clerk sees of batches: one batch's status and progress, the list, retrying a failure.

The batch pages (:mod:`web.routes_batches`), the upload page's polling and the
API (:mod:`web.api_clerk`) all call these functions, so they always agree.

A batch's status for people merges two sources (see :mod:`web.jobs`):

========================  ==========================================================
``waiting``               received, not processed yet (queued here, left by a restart,
                          or held by the nightly run)
``running``               a worker of this process is digitising it
``archived``              every record archived, none left to review
``needs_review``          archived, with at least one record to check
``failed``                an outage or signing problem; originals wait in the intake
``quarantined``           bad input (corrupt, encrypted, too large): never retried
========================  ==========================================================

A failed batch (or one left waiting with no worker on it) whose originals are
still in the intake (or the inbox) can be retried: queued again as a new upload is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from catalog import batches as batch_list
from catalog.rows import BatchRow, RecordRow
from schemas.settings import Settings
from sohoa.errors import ConflictError, NotFoundError, SohoaError
from storage import intake, waiting
from storage.inbox import REASON_FILE
from storage.stores import open_store
from web.audit import audit
from web.auth import Principal, check_unit, scope_units
from web.deps import catalog_of, settings_of
from web.dispatch import runner_for
from web.errors import QueueFull, UploadBusy
from web.i18n import request_lang, text
from web.jobs import JobView

__all__ = ["BATCH_RETRY", "STATUSES", "BatchInfo", "RecordBrief", "batch_info", "retry_batch"]

STATUSES = ("waiting", "running", "archived", "needs_review", "failed", "quarantined")
BATCH_RETRY = "batch.retry"
"""Audit action of a retry (the foundation's :class:`catalog.audit.Action` has no member)."""


@dataclass(frozen=True)
class RecordBrief:
    """One record a batch made."""

    id: str
    dossier_code: str
    status: str
    pages: int


@dataclass(frozen=True)
class BatchInfo:
    """One batch as the clerk sees it (module docstring for ``status``)."""

    id: str
    status: str
    reason: str | None
    """Why it failed or was quarantined, in the reader's language when known."""
    unit: str | None
    kind: str | None
    dossier_code: str | None
    files: int
    pages_total: int | None
    pages_done: int
    stage: str | None
    created_at: datetime | None
    updated_at: datetime | None
    records: tuple[RecordBrief, ...]
    in_review: int
    retryable: bool

    @property
    def done(self) -> bool:
        """Nothing more will happen without a person (archived, reviewed, failed...)."""
        return self.status not in ("waiting", "running")


@dataclass(frozen=True)
class _Facts:
    """What the catalog and the file system say about a batch, besides the job."""

    status: str | None
    reason: str | None
    in_review: int
    in_inbox: bool
    quarantine_reason: str | None


def _still_waiting(settings: Settings, batch_id: str) -> bool:
    """Whether the batch's originals still wait to be digitised: in the store's intake
    (where uploads are received), or, in embedded mode, in this machine's inbox (a
    batch the store could not take at the door)."""
    try:
        if intake.read(open_store(settings), batch_id) is not None:
            return True
    except SohoaError:  # the store is unreachable, or the ticket is not valid
        pass
    if settings.web.dispatch == "deployment":
        return False
    return waiting.read_waiting(settings.inbox_dir / batch_id) is not None


def _quarantine_reason(settings: Settings, batch_id: str, lang: str) -> str | None:
    """The reason in the store's quarantine ticket, or (embedded mode) the ``vi:``/``en:``
    line of ``quarantine/<batch>/reason.txt``, if it is there."""
    try:
        if (reason := intake.refusal(open_store(settings), batch_id, lang)) is not None:
            return reason
    except SohoaError:
        pass
    if settings.web.dispatch == "deployment":
        return None
    path = settings.quarantine_dir / batch_id / REASON_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    prefix = f"{lang}: "
    return next((line[len(prefix) :] for line in lines if line.startswith(prefix)), None)


def _status(facts: _Facts, job: JobView | None) -> str:
    finished = facts.status in ("archived", "quarantined") and not facts.in_inbox
    if job is not None and job.active and not finished:  # a dead worker's run stays "active"
        return "running" if job.state == "running" else "waiting"
    stored = facts.status
    if stored is None:  # a job this process ran, whose row could not be written
        return {"done": "archived", "failed": "failed", "quarantined": "quarantined"}.get(
            job.state if job else "", "waiting"
        )
    if stored == "archived":
        return "needs_review" if facts.in_review else "archived"
    if stored == "waiting" and not facts.in_inbox and facts.quarantine_reason is not None:
        return "quarantined"  # the nightly run quarantined it (it leaves the row alone)
    return stored


def _reason(status: str, facts: _Facts, job: JobView | None, lang: str) -> str | None:
    if status not in ("failed", "quarantined"):
        return None
    if job is not None and job.error is not None and job.state in ("failed", "quarantined"):
        return job.error.render(lang)
    if status == "quarantined" and facts.quarantine_reason:
        return facts.quarantine_reason
    return facts.reason


def _compose(
    settings: Settings,
    lang: str,
    row: BatchRow | batch_list.BatchSummary | None,
    job: JobView | None,
    records: tuple[RecordBrief, ...],
    in_review: int,
) -> BatchInfo:
    """One :class:`BatchInfo` from the row, this process's job and the records."""
    batch_id = row.id if row is not None else job.batch_id  # type: ignore[union-attr]
    in_inbox = _still_waiting(settings, batch_id)
    facts = _Facts(
        status=row.status if row else None,
        reason=row.reason if row else None,
        in_review=in_review,
        in_inbox=in_inbox,
        quarantine_reason=_quarantine_reason(settings, batch_id, lang),
    )
    status = _status(facts, job)
    total = row.page_count if row and row.page_count else None
    done = (total or 0) if status in ("archived", "needs_review") else 0
    if (
        job is not None
        and job.pages_total is not None
        and status not in ("archived", "needs_review")
    ):
        total, done = job.pages_total, job.pages_done  # running, or how far a failure got
    retryable = status in ("failed", "waiting") and in_inbox and not (job and job.active)
    return BatchInfo(
        id=batch_id,
        status=status,
        reason=_reason(status, facts, job, lang),
        unit=row.unit if row else (job.unit if job else None),
        kind=row.kind if row else None,
        dossier_code=row.dossier_code if row else None,
        files=row.file_count if row else 0,
        pages_total=total,
        pages_done=done,
        stage=job.stage if job is not None and job.active else None,
        created_at=row.created_at if row else (job.queued_at if job else None),
        updated_at=row.updated_at if row else None,
        records=records,
        in_review=in_review,
        retryable=retryable,
    )


def _brief(row: RecordRow) -> RecordBrief:
    return RecordBrief(row.id, row.dossier_code, row.status, row.page_count)


def batch_info(request: Request, principal: Principal, batch_id: str) -> BatchInfo:
    """One batch with its records, progress and whether it can be retried.

    Raises:
        NotFoundError: no such batch (404).
        PermissionDeniedError: a batch of another unit than the clerk's (403).
    """
    catalog, job = catalog_of(request), runner_for(request).view(batch_id)
    row = catalog.get_batch(batch_id)
    if row is None and job is None:
        raise NotFoundError(what="batch", name=batch_id[:40])
    check_unit(request, principal, row.unit if row is not None else job.unit)  # type: ignore[union-attr]
    records = tuple(_brief(r) for r in catalog.find_records_for_batch(batch_id))
    in_review = sum(r.status == "needs_review" for r in records)
    settings, lang = settings_of(request), request_lang(request)
    return _compose(settings, lang, row, job, records, in_review)


@dataclass(frozen=True)
class BatchListing:
    """One page of the list, newest first."""

    batches: tuple[BatchInfo, ...]
    total: int
    page: int
    per_page: int
    pages: int


def list_batches(
    request: Request, principal: Principal, *, status: str = "", page: int = 1, per_page: int = 25
) -> BatchListing:
    """The batches the clerk may see (their unit's, when limited), newest first.

    ``status`` (one of :data:`STATUSES`, or empty for all) filters as the list shows
    it: ``running`` are the batches this process is digitising, ``waiting`` the rest
    of those not processed yet.
    """
    runner = runner_for(request)
    running = [i for i, state in runner.active().items() if state == "running"]
    filters: dict = {
        "": {},
        "running": {"only": running},
        "waiting": {"statuses": ["waiting"], "without": running},
        "archived": {"statuses": ["archived"], "in_review": False},
        "needs_review": {"statuses": ["archived"], "in_review": True},
        "failed": {"statuses": ["failed"]},
        "quarantined": {"statuses": ["quarantined"]},
    }[status]
    found = batch_list.list_batches(
        catalog_of(request),
        unit=scope_units(request, principal),
        page=page,
        per_page=per_page,
        **filters,
    )
    settings, lang = settings_of(request), request_lang(request)
    jobs = runner.views([row.id for row in found.batches])
    infos = tuple(
        _compose(settings, lang, row, jobs.get(row.id), (), row.in_review) for row in found.batches
    )
    return BatchListing(infos, found.total, found.page, found.per_page, found.pages)


def retry_batch(request: Request, principal: Principal, batch_id: str) -> BatchInfo:
    """Queue a failed batch again from its originals (in the store's intake, or the inbox).

    Raises:
        ConflictError: the batch is not failed (or waiting idle), or its originals
            have left the inbox (409).
        UploadBusy: the queue is full (503).
    """
    info = batch_info(request, principal, batch_id)
    if not info.retryable:
        status = text(f"web_batch_status_{info.status}", request_lang(request))
        raise ConflictError("batch_not_retryable", batch=batch_id, status=status)
    runner = runner_for(request)
    if not runner.has_room():
        raise UploadBusy(queued=runner.max_queued)
    catalog_of(request).upsert_batch(batch_id, status="waiting", reason=None)
    try:
        runner.submit(batch_id, unit=info.unit)
    except QueueFull as exc:
        raise UploadBusy(queued=exc.queued) from None
    audit(request, BATCH_RETRY, target=batch_id, previous=info.status)
    return batch_info(request, principal, batch_id)
