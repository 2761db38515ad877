"""The ``nightly`` flow: every waiting batch, bounded retries, a fixity sample, the reports.

Thin wiring. Which batches wait, their claims and their attempt counts are plain
functions in :mod:`storage.waiting`; each batch runs the ``digitise_batch`` flow as
a subflow (the very code ``sohoa ingest`` runs); the fixity sample is the
``fixity_check`` flow; the reports come from :mod:`services.publish`. A failing
batch or step never stops the others: the returned :class:`NightlySummary` says
what happened, and ``sohoa nightly`` turns it into an exit code.

Why it is idempotent and resumable: a batch is waiting exactly while its inbox
folder exists, and ``digitise_batch`` removes that folder only after the archive
and the catalog hold every record, reusing records an interrupted run already
committed. A second run finds nothing to do; a run killed mid-batch leaves the
folder (and its claim is dropped by the kernel), so the next run completes the
batch without storing anything twice. Claims keep two runs at once off the same
batch: this run claims a batch to read it again and count the attempt, then hands
that claim to ``digitise_batch``, which claims every batch it digitises (so an
``ingest`` of the same scans meanwhile is refused). Reports are written under keys
named by their day, so a re-run overwrites.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from catalog.database import open_catalog
from flows.digitise import run_digitise, worth_retrying
from flows.fixity import run_fixity_check
from schemas.models import Manifest
from schemas.nightly import BatchOutcome, NightlySummary, StepError
from schemas.settings import Settings
from sohoa import logmask
from sohoa.errors import (
    BadInputError,
    BatchBusyError,
    OcrError,
    SohoaError,
    StorageError,
    exit_code_of,
)
from storage import waiting
from storage.claims import Claim
from storage.inbox import ReceivedBatch
from storage.stores import open_store


@task(name="find-waiting", cache_policy=NO_CACHE)
def waiting_task(settings: Settings) -> tuple[list[ReceivedBatch], list[str]]:
    """List the batches waiting in the inbox (oldest first) and the incomplete folders."""
    return waiting.scan_inbox(settings)


@task(name="write-reports", cache_policy=NO_CACHE)
def reports_task(settings: Settings, day: date) -> list[str]:
    """Write the day's and the month-to-date reports into the store's derived area."""
    from services import publish

    catalog = open_catalog(settings.resolved_catalog_url)
    return publish.write_reports(settings, catalog, open_store(settings), day=day)


def _retrying(settings: Settings) -> dict[str, Any]:
    """Task options for the report step: store outages are retried with backoff, as in
    ``digitise_batch`` (2 s, 8 s, 32 s); anything else fails at once."""
    delays = [settings.store.retry_delay_s * 4**i for i in range(settings.store.retries)]
    return {
        "retries": settings.store.retries,
        "retry_delay_seconds": delays,
        "retry_condition_fn": _outage,
    }


def _outage(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry when the store or catalog was unreachable, not for a bug or a bad setting."""
    error = state.result(raise_on_failure=False)
    return isinstance(error, StorageError) and worth_retrying(_task, _task_run, state)


@flow(name="nightly", validate_parameters=False, log_prints=False)
def nightly(*, day: date | str | None = None, settings: Settings | None = None) -> NightlySummary:
    """Process every waiting batch, check a sample of the archive, publish the reports.

    Args:
        day: the day to report (``yyyy-mm-dd`` or ``dd/mm/yyyy``); default yesterday in
            ``nightly.timezone``. Batches are processed whatever their day.
        settings: default :class:`Settings` from the environment (deployments).
    """
    logmask.install()
    settings = settings or Settings()
    log = get_run_logger()
    started_at, clock = datetime.now(UTC), time.monotonic()
    reported = waiting.report_day(day, settings.nightly.timezone)
    outcomes, incomplete, errors = _all_batches(settings)
    checked, problems, fixity_code, fixity_error = _fixity(settings)
    keys, reports_skipped, report_error = _reports(settings, reported)
    summary = NightlySummary(
        day=reported,
        started_at=started_at,
        duration_s=round(time.monotonic() - clock, 2),
        batches=tuple(outcomes),
        incomplete=tuple(incomplete),
        fixity_checked=checked,
        fixity_problems=problems,
        fixity_exit_code=fixity_code,
        report_keys=tuple(keys),
        reports_skipped=reports_skipped,
        step_errors=tuple(e for e in (*errors, fixity_error, report_error) if e is not None),
    )
    _log_summary(summary, log)
    return summary


def run_nightly(settings: Settings, *, day: date | str | None = None) -> NightlySummary:
    """Run the flow once, here (``sohoa nightly``, tests); a deployment runs :func:`nightly`."""
    return nightly(day=day, settings=settings)


# --- batches -------------------------------------------------------------------------------


def _all_batches(
    settings: Settings,
) -> tuple[list[BatchOutcome], list[str], list[StepError]]:
    """Run every waiting batch in turn; an inbox that cannot be read is a step error."""
    log = get_run_logger()
    try:
        batches, incomplete = waiting_task(settings)
    except OSError as exc:
        log.error("nightly: cannot read the inbox: %s", type(exc).__name__)
        code = int(exit_code_of(StorageError))  # an unreadable inbox is a storage failure
        return [], [], [StepError(step="inbox", error=type(exc).__name__, exit_code=code)]
    for name in incomplete:
        log.warning("nightly: inbox folder %s has no complete batch.json; left alone", name)
    outcomes = [outcome for b in batches if (outcome := _one_batch(b, settings)) is not None]
    return outcomes, incomplete, []


def _one_batch(listed: ReceivedBatch, settings: Settings) -> BatchOutcome | None:
    """Claim, count the attempt, digitise; ``None`` when another run finished it meanwhile."""
    log = get_run_logger()
    with waiting.claimed(settings, listed) as (held, batch):
        if not held:
            log.info("nightly: batch %s is being processed elsewhere", listed.batch_id)
            return BatchOutcome(batch_id=listed.batch_id, result="busy")
        if batch is None:
            return None  # archived by another run between listing and claiming
        retried = batch.attempts > 0 or _catalog_status(settings, batch.batch_id) == "failed"
        if batch.attempts >= settings.nightly.max_attempts:
            log.warning(
                "nightly: batch %s skipped: %d attempts used (last error %s)",
                batch.batch_id,
                batch.attempts,
                batch.last_error,
            )
            return BatchOutcome(
                batch_id=batch.batch_id, result="skipped", retried=retried, error=batch.last_error
            )
        try:
            attempt = waiting.record_attempt(batch)
        except OSError as exc:  # an attempt that cannot be counted is not made
            log.error("nightly: batch %s: cannot count the attempt", batch.batch_id)
            code = int(exit_code_of(StorageError))  # the inbox folder cannot be written
            error = type(exc).__name__
            return BatchOutcome(
                batch_id=batch.batch_id, result="failed", error=error, exit_code=code
            )
        return _digitise(batch, settings, held, attempt=attempt, retried=retried)


def _digitise(
    batch: ReceivedBatch, settings: Settings, held: Claim, *, attempt: int, retried: bool
) -> BatchOutcome:
    """Run ``digitise_batch`` on the batch's originals, under our claim, and say how it ended."""
    common = {"batch_id": batch.batch_id, "attempt": attempt, "retried": retried}
    try:
        with waiting.staged_files(batch, settings) as files:
            manifests: list[Manifest] = run_digitise(
                files,
                settings=settings,
                kind=batch.kind,
                unit=batch.unit,
                dossier_code=batch.dossier_code,
                claim=held,
            )
    except BatchBusyError:  # not ours after all (its files hash to another batch's id)
        waiting.forget_attempt(batch, attempt)
        return BatchOutcome(result="busy", **common)
    except (BadInputError, OcrError) as exc:  # digitise_batch moved it to quarantine
        code = int(exit_code_of(exc))
        return BatchOutcome(
            result="quarantined", error=type(exc).__name__, exit_code=code, **common
        )
    except SohoaError as exc:  # digitise_batch recorded it failed; the originals stay
        waiting.record_failure(batch, attempt, type(exc).__name__)
        code = int(exit_code_of(exc))
        return BatchOutcome(result="failed", error=type(exc).__name__, exit_code=code, **common)
    except Exception as exc:  # noqa: BLE001 - a bug in one batch must not stop the night
        _record_unexpected(batch, settings, attempt, exc)
        code = int(exit_code_of(exc))
        return BatchOutcome(result="failed", error=type(exc).__name__, exit_code=code, **common)
    review = sum(m.status == "needs_review" for m in manifests)
    return BatchOutcome(result="archived", records=len(manifests), needs_review=review, **common)


def _record_unexpected(
    batch: ReceivedBatch, settings: Settings, attempt: int, exc: Exception
) -> None:
    """Count the failure and mark the batch failed in the catalog, as an outage would be."""
    get_run_logger().exception("nightly: batch %s failed unexpectedly", batch.batch_id)
    waiting.record_failure(batch, attempt, type(exc).__name__)
    try:
        open_catalog(settings.resolved_catalog_url).upsert_batch(
            batch.batch_id,
            status="failed",
            reason=f"internal error ({type(exc).__name__}) in the nightly run",
            file_count=len(batch.files),
            unit=batch.unit,
            kind=batch.kind,
        )
    except SohoaError:
        pass  # the catalog is down too: nightly.json and the log keep the count


def _catalog_status(settings: Settings, batch_id: str) -> str | None:
    """The batch's catalog status, ``None`` when unknown (no row, or the catalog is down)."""
    try:
        row = open_catalog(settings.resolved_catalog_url).get_batch(batch_id)
    except SohoaError:
        return None
    return None if row is None else row.status


# --- fixity and reports --------------------------------------------------------------------


def _fixity(settings: Settings) -> tuple[int, int, int, StepError | None]:
    """Check a random sample of the archive: (checked, problems, exit code, step error)."""
    sample = settings.nightly.fixity_sample
    if not sample:
        return 0, 0, 0, None
    try:
        report = run_fixity_check(settings, sample=sample, orphans=settings.nightly.fixity_orphans)
    except Exception as exc:  # noqa: BLE001 - the batches are done; report and go on
        get_run_logger().error("nightly: fixity check could not run: %s", type(exc).__name__)
        code = int(exit_code_of(exc))
        return 0, 0, 0, StepError(step="fixity", error=type(exc).__name__, exit_code=code)
    problems = sum(not r.ok for r in report.results) + len(report.orphans)
    return len(report.results), problems, int(exit_code_of(report.error_kind)), None


def _reports(settings: Settings, day: date) -> tuple[list[str], str | None, StepError | None]:
    """Publish the reports: (keys, why skipped, step error)."""
    log = get_run_logger()
    if not settings.nightly.report_formats:
        return [], "no report formats configured (nightly.report_formats)", None
    try:
        import services.publish
        import services.reports  # noqa: F401
    except ImportError as exc:
        reason = f"the report code cannot be imported ({exc.name or exc})"
        log.warning("nightly: reports skipped: %s", reason)
        return [], reason, None
    try:
        return reports_task.with_options(**_retrying(settings))(settings, day), None, None
    except SohoaError as exc:
        log.error("nightly: reports not written: %s", type(exc).__name__)
        code = int(exit_code_of(exc))
        return [], None, StepError(step="reports", error=type(exc).__name__, exit_code=code)
    except Exception as exc:  # the night's batches are done; say so and go on
        log.exception("nightly: reports failed")
        code = int(exit_code_of(exc))
        return [], None, StepError(step="reports", error=type(exc).__name__, exit_code=code)


def _log_summary(summary: NightlySummary, log: logging.Logger | logging.LoggerAdapter) -> None:
    """One line of counts, then the ids of batches that need a person (no personal data)."""
    s = summary
    log.log(
        logging.INFO if s.ok else logging.WARNING,
        "nightly %s: %d batch(es) processed: %d archived (%d with records to review), "
        "%d failed, %d quarantined; %d retried, %d skipped (attempts used up), %d busy; "
        "fixity: %d checked, %d problem(s); reports: %d written%s; %.1f s",
        s.day.isoformat(),
        s.processed,
        s.archived,
        s.needs_review,
        s.failed,
        s.quarantined,
        s.retried,
        s.skipped,
        s.busy,
        s.fixity_checked,
        s.fixity_problems,
        len(s.report_keys),
        f" (skipped: {s.reports_skipped})" if s.reports_skipped else "",
        s.duration_s,
    )
    for b in s.batches:
        if b.result in ("failed", "quarantined", "skipped"):
            log.warning(
                "nightly: batch %s %s (%s, attempt %d)", b.batch_id, b.result, b.error, b.attempt
            )
    for e in s.step_errors:
        log.warning("nightly: step %s failed (%s)", e.step, e.error)
