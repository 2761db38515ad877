"""Uploads handed to the Prefect work pool (``web.dispatch = "deployment"``).

The stand-in for :class:`web.jobs.JobRunner` when several web servers and workers
serve one province: the same questions (is there room, what is this batch doing,
which batches are active), answered from the Prefect server, where every dispatched
run is tagged with its batch (:mod:`flows.dispatch`), so any web process can answer
for a batch another one received. Pages read and the stage come from the batch's
catalog row, where the worker running it writes them (:class:`flows.progress.CatalogProgress`).
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime

from starlette.requests import Request

from catalog.database import open_catalog
from catalog.rows import BatchRow
from flows.dispatch import RunState, latest_runs, start_digitise
from schemas.settings import Settings
from sohoa.errors import StorageError
from web.deps import state_once
from web.errors import QueueFull
from web.jobs import JobRunner, JobView, runner_of

__all__ = ["DeploymentRunner", "runner_for"]

log = logging.getLogger(__name__)

POLL_S = 1.0
_JOB_STATES = {"RUNNING": "running", "CANCELLING": "running", "COMPLETED": "done"}
_ENDED = {"FAILED": "failed", "CRASHED": "failed", "CANCELLED": "failed"}


class DeploymentRunner:
    """The job runner's questions, answered by the Prefect server (module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_queued = settings.web.job_queue

    def start(self) -> None:
        """Nothing runs here: the workers of the pool do the work."""

    def stop(self, timeout: float = 10.0) -> None:
        """Nothing to stop: dispatched runs go on without this process."""

    def has_room(self) -> bool:
        """Fewer than ``web.job_queue`` dispatched batches wait for a worker.

        A Prefect server that cannot be reached leaves room: the upload is received
        into the intake all the same, and the nightly run takes it.
        """
        try:
            queued = [r for r in latest_runs(only_active=True).values() if r.state != "RUNNING"]
        except StorageError as exc:
            log.warning("cannot count the dispatched batches: %s", exc)
            return True
        return len(queued) < self.max_queued

    def submit(self, batch_id: str, *, unit: str | None, attempt_key: str | None = None) -> None:
        """Schedule the batch's digitise run on the work pool (once per ``attempt_key``).

        Raises:
            QueueFull: ``web.job_queue`` batches already wait for a worker.
            StorageError: the Prefect server cannot be reached; the batch waits in the intake.
        """
        if not self.has_room():
            raise QueueFull(self.max_queued)
        run_id = start_digitise(batch_id, self.settings, attempt_key=attempt_key or _fresh())
        log.info("batch %s dispatched as flow run %s", batch_id, run_id)

    def view(self, batch_id: str) -> JobView | None:
        """The batch's latest dispatched run as a job, ``None`` when it has none (or the
        Prefect server cannot be reached: the catalog's row still says what is known)."""
        try:
            run = latest_runs([batch_id]).get(batch_id)
        except StorageError as exc:
            log.warning("cannot read batch %s's run: %s", batch_id, exc)
            return None
        if run is None:
            return None
        row = open_catalog(self.settings.resolved_catalog_url).get_batch(batch_id)
        return _as_job(run, row)

    def views(self, batch_ids: list[str]) -> dict[str, JobView]:
        """The jobs of several batches in one question to the Prefect server (a list page)."""
        try:
            runs = latest_runs(batch_ids) if batch_ids else {}
        except StorageError as exc:
            log.warning("cannot read the batches' runs: %s", exc)
            return {}
        return {i: _as_job(run, None) for i, run in runs.items()}

    def active(self) -> dict[str, str]:
        """Batch id → ``queued`` or ``running``, for every dispatched batch not finished."""
        try:
            runs = latest_runs(only_active=True)
        except StorageError as exc:
            log.warning("cannot list the dispatched batches: %s", exc)
            return {}
        return {i: ("running" if r.state == "RUNNING" else "queued") for i, r in runs.items()}

    def wait(self, batch_id: str, timeout: float | None = None) -> JobView | None:
        """Poll until the batch's run has ended (or ``timeout`` s); return its view."""
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        while (job := self.view(batch_id)) is not None and job.active:
            if time.monotonic() >= deadline:
                break
            time.sleep(POLL_S)
        return job


def _as_job(run: RunState, row: BatchRow | None) -> JobView:
    """The run's state, with the pages and stage its worker writes into the batch's row
    (:class:`flows.progress.CatalogProgress`) while it runs."""
    state = _JOB_STATES.get(run.state) or _ENDED.get(run.state) or "queued"
    live = state == "running" and row is not None and row.pages_done is not None
    return JobView(
        batch_id=run.batch_id,
        unit=None,
        state=state,
        pages_total=(row.page_count or None) if live and row else None,
        pages_done=(row.pages_done or 0) if live and row else 0,
        stage=(row.stage if live and row else None) or ("pages" if state == "running" else None),
        records=(),
        error=None,
        queued_at=run.scheduled_at or datetime.now(UTC),
        started_at=run.started_at,
        finished_at=run.ended_at,
    )


def _fresh() -> str:
    return uuid.uuid4().hex


def runner_for(request: Request) -> JobRunner | DeploymentRunner:
    """Who digitises this app's uploads: the Prefect work pool when ``web.dispatch`` is
    ``deployment``, else this process's job runner (:func:`web.jobs.runner_of`)."""
    if request.app.state.settings.web.dispatch != "deployment":
        return runner_of(request)
    return state_once(request, "dispatcher", DeploymentRunner)
