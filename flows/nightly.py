"""The ``nightly`` flow: every waiting batch, bounded retries, a fixity sample, the reports.

Thin wiring. Which batches wait, their claims and their attempt counts are plain
functions in :mod:`storage.waiting` (this machine's inbox) and :mod:`storage.intake`
(batches any machine received into the store: every worker's nightly run drains it,
claims keep two off one batch); each batch runs the ``digitise_batch`` flow as
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
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from catalog.database import open_catalog
from flows.digitise import run_digitise, worth_retrying
from flows.fixity import run_fixity_check
from schemas.models import Manifest
from schemas.nightly import BatchOutcome, NightlySummary, StepError
from schemas.settings import Settings
from services import integrity
from services.integrity import BackupResult
from sohoa import logmask
from sohoa.errors import (
    BadInputError,
    BatchBusyError,
    OcrError,
    SohoaError,
    StorageError,
    exit_code_of,
)
from storage import claims, intake, waiting
from storage.inbox import ReceivedBatch
from storage.stores import open_store


@task(name="find-waiting", cache_policy=NO_CACHE)
def waiting_task(settings: Settings) -> tuple[list[ReceivedBatch], list[str]]:
    """List the batches waiting in the inbox (oldest first) and the incomplete folders."""
    return waiting.scan_inbox(settings)


@task(name="find-received", cache_policy=NO_CACHE)
def intake_task(settings: Settings) -> tuple[list[intake.Ticket], list[str]]:
    """List the batches waiting in the store's intake (oldest first) and unreadable tickets."""
    return intake.waiting(open_store(settings))


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
    backup, backup_error = _backup(settings)
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
        backup_key=backup.key if backup else None,
        audit_sealed=backup.entries if backup else 0,
        step_errors=tuple(
            e for e in (*errors, fixity_error, report_error, backup_error) if e is not None
        ),
    )
    _log_summary(summary, log)
    return summary


SWEEP_TRIES = 3
"""Tries the intake sweep gives one batch (reset when it is sent again); then only the
nights' attempts are left, so a batch that kills its worker each time does not do so
every ten minutes."""


@flow(name="drain_intake", validate_parameters=False, log_prints=False)
def drain_intake(
    *, settings: Settings | None = None, min_age_minutes: float = 15.0
) -> list[BatchOutcome]:
    """Digitise every batch that has waited in the store's intake at least ``min_age_minutes``.

    Why: a dispatched run whose worker died leaves its batch in the intake (its claim
    died with the worker; Prefect keeps the run "running"). The ``intake-sweep``
    deployment runs this every few minutes, so such a batch is finished within one
    sweep, not at the next night. Younger batches are left to the runs dispatched for
    them; claims keep a sweep and a dispatched run off one batch, and a run that finds
    its batch done only returns its records.
    """
    logmask.install()
    settings = settings or Settings()
    cutoff = datetime.now(UTC) - timedelta(minutes=min_age_minutes)
    tickets, unreadable = intake_task.with_options(**_retrying(settings))(settings)
    for key in unreadable:
        get_run_logger().warning("intake sweep: ticket %s cannot be read; left alone", key)
    old = [t for t in tickets if t.received_at <= cutoff]
    return [outcome for t in old if (outcome := _guarded(t, settings, sweep=True)) is not None]


def run_nightly(settings: Settings, *, day: date | str | None = None) -> NightlySummary:
    """Run the flow once, here (``sohoa nightly``, tests); a deployment runs :func:`nightly`."""
    return nightly(day=day, settings=settings)


# --- batches -------------------------------------------------------------------------------


def _all_batches(
    settings: Settings,
) -> tuple[list[BatchOutcome], list[str], list[StepError]]:
    """Run every waiting batch in turn, this machine's inbox first, then the store's intake
    (batches any machine received); a source that cannot be read is a step error."""
    log = get_run_logger()
    outcomes, errors = [], []
    try:
        batches, incomplete = waiting_task(settings)
    except OSError as exc:
        log.error("nightly: cannot read the inbox: %s", type(exc).__name__)
        code = int(exit_code_of(StorageError))  # an unreadable inbox is a storage failure
        errors.append(StepError(step="inbox", error=type(exc).__name__, exit_code=code))
        batches, incomplete = [], []
    for name in incomplete:
        log.warning("nightly: inbox folder %s has no complete batch.json; left alone", name)
    outcomes += [outcome for b in batches if (outcome := _one_batch(b, settings)) is not None]
    try:
        tickets, unreadable = intake_task.with_options(**_retrying(settings))(settings)
    except SohoaError as exc:
        log.error("nightly: cannot read the intake: %s", type(exc).__name__)
        errors.append(
            StepError(step="intake", error=type(exc).__name__, exit_code=int(exc.exit_code))
        )
        tickets, unreadable = [], []
    for key in unreadable:
        log.warning("nightly: intake ticket %s cannot be read; left alone", key)
    outcomes += [outcome for t in tickets if (outcome := _guarded(t, settings)) is not None]
    return outcomes, [*incomplete, *unreadable], errors


def _guarded(
    ticket: intake.Ticket, settings: Settings, *, sweep: bool = False
) -> BatchOutcome | None:
    """:func:`_one_ticket`, with anything unexpected turned into that batch's failure:
    one batch must never stop the others, the fixity sample or the reports."""
    try:
        return _one_ticket(ticket, settings, sweep=sweep)
    except Exception as exc:  # noqa: BLE001 - said in the outcome and the log
        get_run_logger().exception("batch %s could not be taken", ticket.batch_id)
        code = int(exit_code_of(exc))
        return BatchOutcome(
            batch_id=ticket.batch_id, result="failed", error=type(exc).__name__, exit_code=code
        )


@dataclass(frozen=True)
class _Attempt:
    """Tonight's attempt at one batch, wherever it waits (the inbox or the intake)."""

    batch_id: str
    number: int
    retried: bool
    run: Callable[[], list[Manifest]]
    """Digitise it, under the claim this run holds."""
    forget: Callable[[], None]
    """Take the counted attempt back (it never started)."""
    failed: Callable[[str], None]
    """Note the error type the attempt ended with, where the batch waits."""
    row: dict[str, Any]
    """Facts for its catalog row (``file_count``, ``unit``, ``kind``)."""


def _one_batch(listed: ReceivedBatch, settings: Settings) -> BatchOutcome | None:
    """Claim, count the attempt, digitise; ``None`` when another run finished it meanwhile."""
    with waiting.claimed(settings, listed) as (held, batch):
        if not held:
            return _busy(listed.batch_id)
        if batch is None:
            return None  # archived by another run between listing and claiming
        retried, skipped = _used_up(batch.batch_id, batch.attempts, batch.last_error, settings)
        if skipped is not None:
            return skipped
        try:
            number = waiting.record_attempt(batch)
        except OSError as exc:  # an attempt that cannot be counted is not made
            return _uncounted(batch.batch_id, exc)

        def run() -> list[Manifest]:
            with waiting.staged_files(batch, settings) as files:
                return run_digitise(
                    files,
                    settings=settings,
                    kind=batch.kind,
                    unit=batch.unit,
                    dossier_code=batch.dossier_code,
                    claim=held,
                )

        attempt = _Attempt(
            batch.batch_id,
            number,
            retried,
            run,
            forget=lambda: waiting.forget_attempt(batch, number),
            failed=lambda error: waiting.record_failure(batch, number, error),
            row={"file_count": len(batch.files), "unit": batch.unit, "kind": batch.kind},
        )
        return _digitise(attempt, settings)


def _one_ticket(
    listed: intake.Ticket, settings: Settings, *, sweep: bool = False
) -> BatchOutcome | None:
    """As :func:`_one_batch`, for a batch waiting in the store's intake. A ``sweep`` try is
    counted apart from the nights' attempts, and bounded by :data:`SWEEP_TRIES`."""
    store = open_store(settings)
    with claims.hold(waiting.claim_place(settings), listed.batch_id) as held:
        if not held:
            return _busy(listed.batch_id)
        try:
            ticket = intake.read(store, listed.batch_id)  # again, under the claim
        except SohoaError as exc:
            return _uncounted(listed.batch_id, exc)
        if ticket is None:
            return None  # archived by another run between listing and claiming
        tries = ticket.sweeps if sweep else ticket.attempts
        limit = SWEEP_TRIES if sweep else settings.nightly.max_attempts
        retried, skipped = _used_up(ticket.batch_id, tries, ticket.last_error, settings, limit)
        if skipped is not None:
            return skipped
        try:
            ticket = intake.counted(store, ticket, sweep=sweep)
        except SohoaError as exc:
            return _uncounted(ticket.batch_id, exc)
        taken_back = {"sweeps": ticket.sweeps - 1} if sweep else {"attempts": ticket.attempts - 1}
        attempt = _Attempt(
            ticket.batch_id,
            ticket.sweeps if sweep else ticket.attempts,
            retried,
            run=lambda: run_digitise([], batch_id=ticket.batch_id, settings=settings, claim=held),
            forget=lambda: intake.write(store, replace(ticket, **taken_back)),
            failed=lambda error: intake.failed(store, ticket, error),
            row={"file_count": len(ticket.files), "unit": ticket.unit, "kind": ticket.kind},
        )
        return _digitise(attempt, settings)


def _busy(batch_id: str) -> BatchOutcome:
    get_run_logger().info("nightly: batch %s is being processed elsewhere", batch_id)
    return BatchOutcome(batch_id=batch_id, result="busy")


def _used_up(
    batch_id: str,
    attempts: int,
    last_error: str | None,
    settings: Settings,
    limit: int | None = None,
) -> tuple[bool, BatchOutcome | None]:
    """Whether an earlier attempt failed, and the outcome when no attempt is left (of
    ``limit``; default ``nightly.max_attempts``)."""
    retried = attempts > 0 or _catalog_status(settings, batch_id) == "failed"
    if attempts >= (settings.nightly.max_attempts if limit is None else limit):
        return retried, _skipped(batch_id, attempts, last_error, retried)
    return retried, None


def _skipped(batch_id: str, attempts: int, last_error: str | None, retried: bool) -> BatchOutcome:
    get_run_logger().warning(
        "nightly: batch %s skipped: %d attempts used (last error %s)",
        batch_id,
        attempts,
        last_error,
    )
    return BatchOutcome(batch_id=batch_id, result="skipped", retried=retried, error=last_error)


def _uncounted(batch_id: str, exc: Exception) -> BatchOutcome:
    """An attempt that cannot be counted (the inbox folder or the ticket cannot be written)
    is not made: a storage failure."""
    get_run_logger().error("nightly: batch %s: cannot count the attempt", batch_id)
    code = int(exit_code_of(StorageError))
    return BatchOutcome(
        batch_id=batch_id, result="failed", error=type(exc).__name__, exit_code=code
    )


def _digitise(attempt: _Attempt, settings: Settings) -> BatchOutcome:
    """Run the attempt and say how it ended."""
    common = {"batch_id": attempt.batch_id, "attempt": attempt.number, "retried": attempt.retried}
    try:
        manifests: list[Manifest] = attempt.run()
    except BatchBusyError:  # not ours after all (its files hash to another batch's id)
        attempt.forget()
        return BatchOutcome(result="busy", **common)
    except (BadInputError, OcrError) as exc:  # digitise_batch moved it to quarantine
        code = int(exit_code_of(exc))
        return BatchOutcome(
            result="quarantined", error=type(exc).__name__, exit_code=code, **common
        )
    except SohoaError as exc:  # digitise_batch recorded it failed; the originals stay
        _note_failure(attempt, type(exc).__name__)
        code = int(exit_code_of(exc))
        return BatchOutcome(result="failed", error=type(exc).__name__, exit_code=code, **common)
    except Exception as exc:  # noqa: BLE001 - a bug in one batch must not stop the night
        _record_unexpected(attempt, settings, exc)
        code = int(exit_code_of(exc))
        return BatchOutcome(result="failed", error=type(exc).__name__, exit_code=code, **common)
    review = sum(m.status == "needs_review" for m in manifests)
    return BatchOutcome(result="archived", records=len(manifests), needs_review=review, **common)


def _note_failure(attempt: _Attempt, error: str) -> None:
    try:
        attempt.failed(error)
    except (OSError, SohoaError):  # where it waits cannot be written: the log says it
        get_run_logger().error("nightly: batch %s: cannot note the failure", attempt.batch_id)


def _record_unexpected(attempt: _Attempt, settings: Settings, exc: Exception) -> None:
    """Count the failure and mark the batch failed in the catalog, as an outage would be."""
    get_run_logger().exception("nightly: batch %s failed unexpectedly", attempt.batch_id)
    _note_failure(attempt, type(exc).__name__)
    try:
        open_catalog(settings.resolved_catalog_url).upsert_batch(
            attempt.batch_id,
            status="failed",
            reason=f"internal error ({type(exc).__name__}) in the nightly run",
            **attempt.row,
        )
    except SohoaError:
        pass  # the catalog is down too: the attempt count and the log keep it


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


@task(name="back-up-catalog", cache_policy=NO_CACHE)
def backup_task(settings: Settings) -> BackupResult:
    """Seal the day's audit entries and back up what only the catalog holds."""
    return integrity.backup_catalog(settings)


def _backup(settings: Settings) -> tuple[BackupResult | None, StepError | None]:
    """Run the backup last, so it holds this night's batch outcomes: (result, step error)."""
    try:
        return backup_task.with_options(**_retrying(settings))(settings), None
    except Exception as exc:  # noqa: BLE001 - the night's work is done; report and go on
        get_run_logger().error("nightly: catalog backup failed: %s", type(exc).__name__)
        code = int(exit_code_of(exc))
        return None, StepError(step="backup", error=type(exc).__name__, exit_code=code)


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
