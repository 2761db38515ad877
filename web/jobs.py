"""The web app's background work: digitising uploaded batches in this process, with live progress.

Why in-process and not a Prefect deployment: ``sohoa serve`` must work on one
machine with nothing else running, as ``sohoa ingest`` does; the flow itself is
the same (:func:`flows.digitise.run_digitise`), so a production set-up loses
nothing but can still hand batches to the nightly deployment.

**Design.** :class:`JobRunner` owns a FIFO queue (bounded: :meth:`JobRunner.submit`
refuses beyond ``web.job_queue`` waiting batches, before the upload is stored) and
``web.job_workers`` daemon threads (one by default: the flow already OCRs a batch's
pages in parallel, one Tesseract per core). Each job is a batch already received into
the store's intake (the one entrance, :mod:`services.intake`); the worker takes it as
the nightly run does — under the batch's claim (so ``sohoa nightly`` or ``sohoa
ingest`` in another process never takes the same batch), its ticket read again — and
runs the flow by batch id, handing it the claim, with a progress sink that updates the
job's :class:`Job` (pages found, pages done, stage). A batch waiting in this machine's
inbox instead (the store could not take it at the door) is taken from there, as the
nightly run takes it. Pages poll ``GET /api/batches/{id}``, which reads
:meth:`JobRunner.view`.

What lives where: *running* and the page counts of a batch being processed are
in this process's memory only (a restart forgets them, and a batch left in the
inbox is then ``waiting`` until a retry or the nightly run); every outcome is
also in the catalog's batch row — ``archived``/``failed`` written by the flow,
``quarantined`` written here (the flow leaves no row for bad input) — so the
batch list survives restarts. Finished jobs are kept (at most ``keep``) so a
failure can be shown in the reader's language rather than the catalog's English.

Started and stopped with the app (:func:`lifespan`, attached to the upload
router); :func:`runner_of` also starts it on first use, for apps run without
their lifespan (tests).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request

from catalog.database import open_catalog
from schemas.settings import Settings
from sohoa.errors import BadInputError, BatchBusyError, OcrError, SohoaError
from storage import claims, intake, waiting
from storage.claims import Claim
from storage.inbox import ReceivedBatch
from storage.stores import open_store
from web.deps import state_once
from web.errors import QueueFull

__all__ = ["Job", "JobRunner", "JobView", "lifespan", "runner_of"]

log = logging.getLogger(__name__)

DEFAULT_KEEP = 500
ACTIVE = frozenset({"queued", "running"})


@dataclass(frozen=True)
class JobView:
    """A snapshot of one job, safe to read from any thread."""

    batch_id: str
    unit: str | None
    state: str
    """``queued``, ``running``, ``done``, ``failed``, ``quarantined``; ``busy`` when another
    process (the nightly run) held the batch, ``gone`` when it had left the inbox."""
    pages_total: int | None
    """Pages found in the batch, ``None`` until they are counted."""
    pages_done: int
    """Pages OCR'd so far."""
    stage: str | None
    """``pages`` (extracting and reading), ``sign``, ``store``; ``None`` before the start."""
    records: tuple[tuple[str, str], ...]
    """``(record id, status)`` of what a finished job archived."""
    error: SohoaError | None
    """Why it failed or was quarantined (rendered in the reader's language)."""
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


@dataclass
class Job:
    """The mutable state behind a :class:`JobView` (changed only under the runner's lock)."""

    view: JobView
    finished: threading.Event = field(default_factory=threading.Event)


class _Progress:
    """The :class:`flows.progress.ProgressSink` of one job: every event updates its view."""

    def __init__(self, runner: JobRunner, batch_id: str) -> None:
        self._runner, self._batch_id = runner, batch_id

    def batch_started(self, batch_id: str, files: int) -> None:
        self._runner._update(self._batch_id, stage="pages")

    def pages_found(self, batch_id: str, pages: int) -> None:
        self._runner._update(self._batch_id, pages_total=pages)

    def page_done(self, batch_id: str, index: int) -> None:
        self._runner._advance(self._batch_id)

    def stage(self, batch_id: str, name: str) -> None:
        self._runner._update(self._batch_id, stage=name)


Digitise = Callable[..., list[Any]]
"""``run_digitise(files, *, settings, progress, kind, unit, dossier_code, claim) -> manifests``."""


def _real_digitise(files: list[str], **options: Any) -> list[Any]:
    """The real flow, imported on first use (Prefect is slow to import and start)."""
    from flows.runtime import prepare_prefect

    prepare_prefect(options["settings"])
    from flows.digitise import run_digitise

    return run_digitise(files, **options)


class JobRunner:
    """A bounded queue of batches and the worker threads that digitise them (module docstring).

    Args:
        settings: the app's settings.
        workers: threads digitising at once; default ``settings.web.job_workers``.
        max_queued: most batches waiting for a thread; more are refused (:class:`QueueFull`);
            default ``settings.web.job_queue``.
        keep: finished jobs remembered, oldest forgotten first.
        digitise: the flow runner (tests may pass a stand-in); default the real flow.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        workers: int | None = None,
        max_queued: int | None = None,
        keep: int = DEFAULT_KEEP,
        digitise: Digitise | None = None,
    ) -> None:
        self.settings = settings
        self.workers = max(1, settings.web.job_workers if workers is None else workers)
        self.max_queued = settings.web.job_queue if max_queued is None else max_queued
        self.keep = keep
        self._digitise = digitise or _real_digitise
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # --- control -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker threads (again after :meth:`stop`); a no-op while they run."""
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            for number in range(len(self._threads), self.workers):
                thread = threading.Thread(
                    target=self._work, name=f"sohoa-jobs-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the threads to finish after their current batch and wait up to ``timeout`` s.

        A batch still running after that keeps its daemon thread until the process
        exits; its originals stay in the inbox either way, so nothing is lost.
        """
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout)

    def has_room(self) -> bool:
        """Whether :meth:`submit` would accept one more batch now."""
        with self._lock:
            return self._queued() < self.max_queued

    def submit(self, batch_id: str, *, unit: str | None) -> JobView:
        """Queue a batch already in the inbox; a batch queued or running is not queued twice.

        Raises:
            QueueFull: ``max_queued`` batches are already waiting.
        """
        with self._lock:
            job = self._jobs.get(batch_id)
            if job is not None and job.view.active:
                return job.view
            if (queued := self._queued()) >= self.max_queued:
                raise QueueFull(queued)
            view = JobView(batch_id, unit, "queued", None, 0, None, (), None, _now(), None, None)
            self._jobs[batch_id] = Job(view)
            self._jobs.move_to_end(batch_id)
            self._queue.put(batch_id)
        self.start()
        return view

    def _queued(self) -> int:
        return sum(job.view.state == "queued" for job in self._jobs.values())

    # --- reading -------------------------------------------------------------------------------

    def view(self, batch_id: str) -> JobView | None:
        """The job of ``batch_id`` in this process, if any."""
        with self._lock:
            job = self._jobs.get(batch_id)
            return None if job is None else job.view

    def views(self, batch_ids: list[str]) -> dict[str, JobView]:
        """The jobs of several batches (those this process has), by batch id."""
        return {i: view for i in batch_ids if (view := self.view(i)) is not None}

    def active(self) -> dict[str, str]:
        """Batch id → ``queued`` or ``running``, for every batch not finished yet."""
        with self._lock:
            return {i: j.view.state for i, j in self._jobs.items() if j.view.active}

    def wait(self, batch_id: str, timeout: float | None = None) -> JobView | None:
        """Block until the batch's job has finished (or ``timeout`` s); return its view."""
        with self._lock:
            job = self._jobs.get(batch_id)
        if job is not None:
            job.finished.wait(timeout)
        return self.view(batch_id)

    # --- the worker ----------------------------------------------------------------------------

    def _update(self, batch_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs.get(batch_id)
            if job is not None:
                job.view = replace(job.view, **changes)

    def _advance(self, batch_id: str) -> None:
        with self._lock:
            job = self._jobs.get(batch_id)
            if job is not None:
                job.view = replace(job.view, pages_done=job.view.pages_done + 1)

    def _finish(self, batch_id: str, state: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs.get(batch_id)
            if job is None:
                return
            job.view = replace(job.view, state=state, finished_at=_now(), **changes)
            job.finished.set()
            finished = [i for i, j in self._jobs.items() if not j.view.active]
            for old in finished[: max(0, len(finished) - self.keep)]:
                del self._jobs[old]

    def _work(self) -> None:
        while (batch_id := self._queue.get()) is not None:
            try:
                self._run(batch_id)
            except Exception as exc:  # one batch must not stop the worker
                log.exception("batch %s: unexpected error in the web job", batch_id)
                self._record(batch_id, {}, "failed", f"internal error ({type(exc).__name__})")
                self._finish(batch_id, "failed", error=SohoaError(detail=type(exc).__name__))

    def _run(self, batch_id: str) -> None:
        """Claim the batch as the nightly run does, then digitise it (module docstring):
        from the store's intake, where uploads are received, or from this machine's inbox,
        where a batch waits that the store could not take at the door."""
        listed = waiting.read_waiting(self.settings.inbox_dir / batch_id)
        if listed is None or self._waits_in_intake(batch_id):  # a failed run left both
            self._run_received(batch_id)
            return
        with waiting.claimed(self.settings, listed) as (held, batch):
            if not held:
                self._finish(batch_id, "busy")
            elif batch is None:
                self._finish(batch_id, "gone")
            else:
                self._update(batch_id, state="running", started_at=_now())
                self._digitise_claimed(batch, held)

    def _waits_in_intake(self, batch_id: str) -> bool:
        try:
            return intake.read(open_store(self.settings), batch_id) is not None
        except SohoaError:  # unreachable or unreadable: told when the run reads it again
            return True

    def _run_received(self, batch_id: str) -> None:
        """A batch in the store's intake: claimed, its ticket read again under the claim,
        then digitised by id (the flow downloads the originals into this machine's
        scratch folder, and takes the ticket away once every record is archived)."""
        store = open_store(self.settings)
        with claims.hold(waiting.claim_place(self.settings), batch_id) as held:
            if not held:
                self._finish(batch_id, "busy")
                return
            try:
                ticket = intake.read(store, batch_id)
            except SohoaError as exc:  # the store is unreachable, or the ticket is not valid
                self._record(batch_id, {}, "failed", exc.render("en"))
                self._finish(batch_id, "failed", error=exc)
                return
            if ticket is None:
                self._finish(batch_id, "gone")
                return
            self._update(batch_id, state="running", started_at=_now())
            facts = {"file_count": len(ticket.files), **ticket.options}
            self._outcome(batch_id, facts, lambda: self._digitise(
                [], batch_id=batch_id, settings=self.settings,
                progress=_Progress(self, batch_id), claim=held,
            ))  # fmt: skip

    def _digitise_claimed(self, batch: ReceivedBatch, held: Claim) -> None:
        """Run the flow under ``held`` (the flow reuses it: claiming again would refuse)."""
        progress = _Progress(self, batch.batch_id)

        def run() -> list[Any]:
            with waiting.staged_files(batch, self.settings) as files:
                return self._digitise(
                    files,
                    settings=self.settings,
                    progress=progress,
                    kind=batch.kind,
                    unit=batch.unit,
                    dossier_code=batch.dossier_code,
                    claim=held,
                )

        facts = {"file_count": len(batch.files), "unit": batch.unit, "kind": batch.kind}
        self._outcome(batch.batch_id, facts | {"dossier_code": batch.dossier_code}, run)

    def _outcome(self, batch_id: str, facts: dict[str, Any], run: Callable[[], list]) -> None:
        """Run the flow and finish the job with what it came to (its row says it too)."""
        try:
            manifests = run()
        except BatchBusyError:  # the files hash to another batch, which another run holds
            self._finish(batch_id, "busy")
            return
        except (BadInputError, OcrError) as exc:  # the flow moved it to quarantine
            self._record(batch_id, facts, "quarantined", exc.render("en"))
            self._finish(batch_id, "quarantined", error=exc)
            return
        except SohoaError as exc:  # the originals stay where they waited
            self._record(batch_id, facts, "failed", exc.render("en"))
            self._finish(batch_id, "failed", error=exc)
            return
        records = tuple((m.record_id, m.status) for m in manifests)
        self._finish(batch_id, "done", records=records)

    def _record(self, batch_id: str, facts: dict[str, Any], status: str, reason: str) -> None:
        """Write the outcome into the batch's catalog row (a down catalog is only logged)."""
        try:
            open_catalog(self.settings.resolved_catalog_url).upsert_batch(
                batch_id, status=status, reason=reason, **facts
            )
        except SohoaError as exc:
            log.error("batch %s: cannot record %s: %s", batch_id, status, exc)


def _now() -> datetime:
    return datetime.now(UTC)


def runner_of(request: Request) -> JobRunner:
    """The app's runner, created and started on first use."""
    return state_once(request, "jobs", JobRunner)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the runner with the app and let its threads finish their batch when it stops
    (none when uploads go to the Prefect work pool: :mod:`web.dispatch`)."""
    if app.state.settings.web.dispatch == "deployment":
        yield
        return
    runner = getattr(app.state, "jobs", None)
    if runner is None:
        runner = app.state.jobs = JobRunner(app.state.settings)
    runner.start()
    try:
        yield
    finally:
        runner.stop()
