"""The ``fixity_check`` flow: read the archive back and prove it is intact (nightly job).

Thin wiring over :mod:`records.fixity`: one task plans the run, ``check-records``
tasks are mapped over chunks of records on a thread pool bounded to the core
count, one task lists orphans, and the flow returns and logs a summary with
counts and record ids only (no names, no OCR text, no signer).

Chunks rather than one task per record: each task run costs Prefect API calls,
which would dominate on a large archive; a chunk is still small enough for the
progress sink to move steadily.

Every run is written to the fixity history (:mod:`records.fixity_runs`) with who
started it — ``weekly flow`` when the deployment runs the flow itself, ``nightly``
through :func:`run_fixity_check` — so the auditor's ``/verify`` page lists it, and
while it runs its counts go into its row (:mod:`records.fixity_progress`), so every web
server shows how far it has got. A catalog that cannot be written is logged and the
check goes on.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from catalog import units
from catalog.database import open_catalog
from catalog.rows import RecordRow
from records import fixity, fixity_runs
from records.verify import VerifyResult
from schemas.settings import Settings
from sohoa import logmask
from storage.stores import open_store

MAX_CHUNK = 25
"""Most records per ``check-records`` task."""


@task(name="plan-fixity", cache_policy=NO_CACHE)
def plan_task(
    settings: Settings, sample: float | None, seed: int | None, unit: str | None = None
) -> tuple[int, list[RecordRow]]:
    """Read the catalog and pick the records to check (all or a random sample).

    With ``unit``, only the records of that unit and the units under it (as the web
    check and the reports count a district with its communes).
    """
    catalog = open_catalog(settings.resolved_catalog_url)
    everything = catalog.list_records()
    if unit is not None:
        covered = set(units.units_under(catalog, unit))
        everything = [r for r in everything if r.unit in covered]
    return len(everything), fixity.select_rows(everything, sample, seed=seed)


@task(name="check-records", cache_policy=NO_CACHE)
def check_task(rows: list[RecordRow], settings: Settings) -> list[VerifyResult]:
    """Hash and validate one chunk of records, one after the other."""
    return fixity.check_records(rows, open_store(settings), settings)


@task(name="find-orphans", cache_policy=NO_CACHE)
def orphans_task(settings: Settings) -> list[str]:
    """List archive objects the catalog does not point at."""
    return fixity.find_orphans(open_store(settings), open_catalog(settings.resolved_catalog_url))


def chunks(rows: list[RecordRow], workers: int) -> list[list[RecordRow]]:
    """Split rows so every worker gets several chunks (progress moves, load balances)."""
    size = max(1, min(MAX_CHUNK, len(rows) // (workers * 4) or 1))
    return [rows[i : i + size] for i in range(0, len(rows), size)]


@flow(name="fixity_check", validate_parameters=False, log_prints=False)
def fixity_check(
    *,
    sample: float | None = None,
    seed: int | None = None,
    orphans: bool = True,
    settings: Settings | None = None,
    progress: Any = None,
    workers: int | None = None,
    unit: str | None = None,
    started_by: str = "weekly flow",
    run_id: int | None = None,
) -> fixity.FixityReport:
    """Check every archived record (or a sample, or one unit's) and list orphans; return the report.

    ``progress`` is a :class:`records.fixity.FixityProgress` (typed loosely: Prefect
    builds a parameter schema). The flow run completes even when damage is found:
    the report says so, and callers decide (the CLI exits non-zero). The run goes
    into the fixity history under ``started_by`` (the deployment's default: the
    weekly schedule), or, given ``run_id``, into the row a web server wrote when it
    handed the check to the work pool. Its counts go into that row about once a
    second, so ``/verify`` on any web server shows the check's progress. ``workers``:
    chunks checked at a time (default and ceiling: the cores of the machine running it).
    """
    logmask.install()
    settings = settings or Settings()
    workers = fixity.workers_for(workers)  # a deployment's run: the cores of its worker
    report = fixity_runs.recorded_live(  # counts into the run's row as it goes: every web
        settings,  # server shows them, wherever this runs
        lambda sink: _check(settings, sample, seed, orphans, sink, workers, unit),
        started_by=started_by,
        sample=sample,
        unit=unit,
        run_id=run_id,
        progress=progress,
    )
    log = get_run_logger()
    log.log(logging.INFO if report.ok else logging.WARNING, fixity.summary_line(report))
    for failure in report.failures():
        log.warning(
            "fixity: %s %s %s", failure["status"], failure["role"] or "object", failure["key"]
        )
    if any(r.renewal_is_due() for r in report.results):  # B-LTA: re-time-stamp before expiry
        log.info(fixity.renewal_line(renew_task(quote(report), settings)))
    return report


@task(name="renew-timestamps", cache_policy=NO_CACHE)
def renew_task(report: fixity.FixityReport, settings: Settings) -> list:
    """Give the records the check found due a new archive time-stamp, each a new version."""
    from storage.waiting import claim_place

    catalog, store = open_catalog(settings.resolved_catalog_url), open_store(settings)
    return fixity.renew_due_records(
        report, settings, store=store, catalog=catalog, claims_at=claim_place(settings)
    )


def _check(
    settings: Settings,
    sample: float | None,
    seed: int | None,
    orphans: bool,
    progress: Any,
    workers: int,
    unit: str | None,
) -> fixity.FixityReport:
    """The flow's body: plan, map the checks over chunks, look for orphans, assemble."""
    progress = progress or fixity.NullFixityProgress()
    started = time.monotonic()
    total, rows = plan_task(settings, sample, seed, unit)
    progress.started(len(rows))
    lost = orphans_task.submit(settings) if orphans else None
    results: list[VerifyResult] = []
    for result in _checked(rows, settings, workers):
        progress.checked(result)
        results.append(result)
    return fixity.make_report(
        catalog_records=total,
        results=results,
        orphans=lost.result() if lost is not None else None,
        sampled=len(rows) < total,
        workers=workers,
        seconds=time.monotonic() - started,
    )


def _checked(rows: list[RecordRow], settings: Settings, workers: int) -> Iterator[VerifyResult]:
    """Each record's result, checked in chunks, at most ``workers`` chunks at a time.

    Why a window and not one ``map``: a deployment's run (the weekly check, a check a
    web server handed to the pool) gets Prefect's default thread pool, which has no
    bound, so every chunk of the archive ran at once on the worker.
    """
    waiting, running = deque(chunks(rows, workers)), set()
    while waiting or running:
        while waiting and len(running) < workers:
            # quoted: Prefect would visit every field of every row, several times per chunk
            running.add(check_task.submit(quote(waiting.popleft()), settings))
        done = next(iter(as_completed(running)))
        running.discard(done)
        yield from done.result()


def run_fixity_check(
    settings: Settings,
    *,
    sample: float | None = None,
    seed: int | None = None,
    orphans: bool = True,
    workers: int | None = None,
    progress: fixity.FixityProgress | None = None,
    unit: str | None = None,
    started_by: str = "nightly",
) -> fixity.FixityReport:
    """Run the flow on a thread pool bounded to the cores this process may use.

    ``started_by`` names the run in the fixity history; the default is the one
    caller in the code base, the nightly flow's sample.
    """
    pool = fixity.workers_for(workers)
    return fixity_check.with_options(task_runner=ThreadPoolTaskRunner(max_workers=pool))(
        sample=sample,
        seed=seed,
        orphans=orphans,
        settings=settings,
        progress=progress,
        workers=pool,
        unit=unit,
        started_by=started_by,
    )
