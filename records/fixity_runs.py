"""The history of fixity checks: every run, who started it, what it was asked, what it found.

Why keep it: an auditor (thanh tra) must show that the archive is read back and
proven intact *regularly*, not only that it is intact today. The nightly sample,
the weekly full check, ``sohoa verify --all`` and checks started from ``/verify``
all write here, so one table answers "when was the archive last checked, by
whom, and what was wrong".

What is kept: ids, units, statuses and counts only — a failure names its record
id, its unit and short codes (``pdf:changed``), never the problem text (it may
name the signer) and never a citizen's data. Orphans (archive objects no record
points at) are kept with their key.

Recording must never make a check fail: the ``safe_*`` functions and
:func:`recorded` log a catalog that cannot be written and carry on; only the web
app, which needs a run id to show progress, uses the raising :func:`start_run`.

Like the accounts and the audit log these rows are not in the archive, so a
catalog rebuild carries them over (:func:`copy_runs`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from catalog.connection import storage_errors
from catalog.copying import copy_tables
from catalog.database import Catalog, open_catalog
from catalog.tables import FixityFailureTable, FixityRunTable, RecordTable
from records import fixity
from records.fixity import FixityProgress, FixityReport
from records.fixity_progress import (
    ABANDONED,
    RowProgress,
    beating,
    note_progress,
    reporting_to_row,
)
from schemas.settings import Settings
from sohoa.errors import NotFoundError, SohoaError
from storage.objectstore import ObjectStore

__all__ = [
    "FixityFailure",
    "FixityRun",
    "RowProgress",
    "RunPage",
    "beating",
    "check_scope",
    "close_abandoned",
    "copy_runs",
    "error_code",
    "fail_run",
    "finish_run",
    "get_run",
    "latest_finished",
    "list_runs",
    "note_progress",
    "recorded",
    "recorded_live",
    "reporting_to_row",
    "safe_fail",
    "safe_finish",
    "safe_start",
    "sample_text",
    "start_run",
]

log = logging.getLogger(__name__)

MAX_FAILURES_KEPT = 10_000
"""Failures stored per run; the run's counts stay exact beyond that."""
MAX_PER_PAGE = 200


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixityFailure:
    """One damaged record or orphan of a run (ids and codes only)."""

    record_id: str | None
    unit: str | None
    status: str
    reason: str
    """``role:status`` codes joined by ``;``; empty for an orphan."""
    key: str | None = None
    """The orphan's object key."""

    @property
    def objects(self) -> list[tuple[str, str]]:
        """The bad objects as ``(role, status)`` pairs, for display."""
        return [tuple(part.split(":", 1)) for part in self.reason.split(";") if ":" in part]  # type: ignore[misc]


@dataclass(frozen=True)
class FixityRun:
    """One run of the history, with its failures when read with :func:`get_run`."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    started_by: str
    sample: str | None
    unit: str | None
    state: str
    catalog_records: int | None
    checked: int
    problems: int
    orphans: int | None
    error: str | None
    failures: tuple[FixityFailure, ...] = ()
    chosen: int | None = None
    """Records picked to check; ``None`` until the sample is drawn (or for a run recorded
    before the history kept it)."""
    heartbeat_at: datetime | None = None
    """When the process running it last said it is alive (:func:`beating`)."""

    @property
    def verdict(self) -> str:
        """``running``, ``error``, ``abandoned`` (an error: its process stopped beating),
        ``empty`` (nothing checked), ``ok`` or ``problems``."""
        if self.state == "error" and self.error == ABANDONED:
            return ABANDONED
        if self.state != "done":
            return self.state
        if self.problems:
            return "problems"
        return "ok" if self.checked or self.orphans is not None else "empty"

    @property
    def seconds(self) -> float | None:
        """How long the run took, once finished."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RunPage:
    """One page of runs, newest first, with the count of all runs."""

    runs: tuple[FixityRun, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def sample_text(sample: float | None) -> str | None:
    """How a run's sample is stored: ``50`` (records), ``10%`` (a share), ``None`` (all)."""
    if sample is None:
        return None
    if isinstance(sample, int):
        return str(sample)
    return f"{sample * 100:g}%"


def _run(row: FixityRunTable, failures: Iterable[FixityFailureTable] = ()) -> FixityRun:
    return FixityRun(
        id=row.id,
        started_at=row.started_at,
        finished_at=row.finished_at,
        started_by=row.started_by,
        sample=row.sample,
        unit=row.unit,
        state=row.state,
        catalog_records=row.catalog_records,
        checked=row.checked,
        problems=row.problems,
        orphans=row.orphans,
        error=row.error,
        chosen=row.chosen,
        heartbeat_at=row.heartbeat_at,
        failures=tuple(
            FixityFailure(f.record_id, f.unit, f.status, f.reason, f.key) for f in failures
        ),
    )


# --- writing -----------------------------------------------------------------------------------


@storage_errors
def start_run(
    catalog: Catalog,
    *,
    started_by: str,
    sample: float | None,
    unit: str | None,
    now: datetime | None = None,
    owned: bool = True,
) -> int:
    """Write a ``running`` row for a check about to start; return its id.

    ``owned``: the check runs in this process, which :func:`close_abandoned` may then
    declare dead; ``False`` for a check handed to a worker elsewhere, which finishes the
    row whatever becomes of this process.
    """
    row = FixityRunTable(
        started_at=now or datetime.now(UTC),
        started_by=started_by[:80],
        sample=sample_text(sample),
        unit=unit,
        state="running",
        owner=_this_process() if owned else None,
        heartbeat_at=datetime.now(UTC),  # wall clock, whatever ``now`` says: beats compare to it
    )
    with catalog._write() as session:
        session.add(row)
        session.flush()
        return row.id


def _reason(result: fixity.VerifyResult) -> str:
    return ";".join(f"{o.role}:{o.status}" for o in result.objects if o.status != "ok")[:200]


def _units_of(catalog: Catalog, record_ids: list[str]) -> dict[str, str]:
    """Each damaged record's unit, read in chunks (SQLite bounds the parameters per query)."""
    found: dict[str, str] = {}
    with catalog._read() as session:
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            query = select(RecordTable.id, RecordTable.unit).where(RecordTable.id.in_(chunk))
            found.update({record_id: unit for record_id, unit in session.execute(query)})
    return found


def _failure_rows(catalog: Catalog, run_id: int, report: FixityReport) -> list[dict]:
    bad = [r for r in report.results if not r.ok][:MAX_FAILURES_KEPT]
    units = _units_of(catalog, [r.record_id for r in bad])
    rows = [
        {"run_id": run_id, "record_id": r.record_id, "unit": units.get(r.record_id),
         "status": r.status, "reason": _reason(r), "key": None}
        for r in bad
    ]  # fmt: skip
    room = max(0, MAX_FAILURES_KEPT - len(rows))
    rows += [
        {"run_id": run_id, "record_id": None, "unit": None, "status": "orphan", "reason": "",
         "key": key[:1024]}
        for key in report.orphans[:room]
    ]  # fmt: skip
    return rows


@storage_errors
def finish_run(
    catalog: Catalog, run_id: int, report: FixityReport, *, now: datetime | None = None
) -> None:
    """Write what the run found: counts, and its failures (ids, units, codes)."""
    failures = _failure_rows(catalog, run_id, report)
    with catalog._write() as session:
        row = session.get(FixityRunTable, run_id)
        if row is None:
            raise NotFoundError(what="fixity run", name=str(run_id))
        row.finished_at = now or datetime.now(UTC)
        row.state = "done"
        row.catalog_records = report.catalog_records
        row.checked = row.chosen = len(report.results)
        row.problems = sum(not r.ok for r in report.results) + len(report.orphans)
        row.orphans = len(report.orphans) if report.orphans_checked else None
        if failures:
            session.execute(insert(FixityFailureTable), failures)


def error_code(exc: BaseException) -> str:
    """What is kept of an error: its type and exit code (its text may hold paths or names)."""
    code = getattr(exc, "exit_code", None)
    return f"{type(exc).__name__}" + (f" ({int(code)})" if code is not None else "")


@storage_errors
def fail_run(
    catalog: Catalog, run_id: int, exc: BaseException, *, now: datetime | None = None
) -> None:
    """Mark a run that could not complete (the catalog or the store failed, a bug)."""
    with catalog._write() as session:
        row = session.get(FixityRunTable, run_id)
        if row is not None:
            row.finished_at = now or datetime.now(UTC)
            row.state = "error"
            row.error = error_code(exc)[:120]


# --- writing without failing the check ---------------------------------------------------------


def _is_bug(exc: BaseException) -> bool:
    """Whether a recording failure deserves a traceback (not a database or storage outage)."""
    return not isinstance(exc, SohoaError | SQLAlchemyError | OSError)


def safe_start(
    settings: Settings, *, started_by: str, sample: float | None, unit: str | None = None
) -> int | None:
    """:func:`start_run` that logs instead of raising (``None``: the run is not recorded)."""
    try:
        return start_run(
            open_catalog(settings.resolved_catalog_url),
            started_by=started_by,
            sample=sample,
            unit=unit,
        )
    except Exception as exc:  # recording must never fail the check
        log.warning(
            "fixity history: cannot record the start of a run: %s",
            error_code(exc),
            exc_info=_is_bug(exc),
        )
        return None


def safe_finish(settings: Settings, run_id: int | None, report: FixityReport) -> None:
    """:func:`finish_run` that logs instead of raising."""
    _safely(finish_run, settings, run_id, report)


def safe_fail(settings: Settings, run_id: int | None, exc: BaseException) -> None:
    """:func:`fail_run` that logs instead of raising."""
    _safely(fail_run, settings, run_id, exc)


def _safely(
    write: Callable[..., None], settings: Settings, run_id: int | None, what: object
) -> None:
    """Record the end of run ``run_id`` (if it was recorded at all); never raise."""
    if run_id is None:
        return
    try:
        write(open_catalog(settings.resolved_catalog_url), run_id, what)
    except Exception as exc:
        log.warning(
            "fixity history: cannot record run %s: %s",
            run_id,
            error_code(exc),
            exc_info=_is_bug(exc),
        )


def recorded(
    settings: Settings,
    check: Callable[[], FixityReport],
    *,
    started_by: str,
    sample: float | None,
    unit: str | None = None,
    run_id: int | None = None,
) -> FixityReport:
    """Run ``check`` and record it in the history; recording problems are only logged.

    ``run_id``: the history row a web server already wrote for a check it handed to a
    worker (:func:`flows.dispatch.start_fixity`); ``None``: a new row is written.
    The check's own errors are recorded (state ``error``) and raised again unchanged.
    """
    return recorded_live(
        settings,
        lambda _progress: check(),
        started_by=started_by,
        sample=sample,
        unit=unit,
        run_id=run_id,
    )


def recorded_live(
    settings: Settings,
    check: Callable[[FixityProgress], FixityReport],
    *,
    started_by: str,
    sample: float | None,
    unit: str | None = None,
    run_id: int | None = None,
    progress: FixityProgress | None = None,
    every_s: float = 1.0,
) -> FixityReport:
    """:func:`recorded` for a check that reports progress: ``check(sink)`` is given a sink
    that writes its counts into the run's row as it goes (:func:`reporting_to_row`, at
    most once every ``every_s`` seconds) and passes every event on to ``progress``.

    Why: the check may run on a worker, in the nightly run or in another web process;
    every web server reads the counts from the row (:mod:`web.fixity_jobs`). The row's
    heartbeat is kept going meanwhile (:func:`beating`), so a check whose process dies
    is closed as abandoned (:func:`close_abandoned`) and a slow one is not.
    """
    handed = run_id is not None  # a worker's check may have waited past the timeout
    if run_id is None:
        run_id = safe_start(settings, started_by=started_by, sample=sample, unit=unit)
    sink = reporting_to_row(settings, run_id, progress, every_s=every_s)
    try:
        with beating(settings, run_id, take_up=handed):
            report = check(sink)
    except BaseException as exc:
        safe_fail(settings, run_id, exc)
        raise
    safe_finish(settings, run_id, report)
    return report


# --- reading -----------------------------------------------------------------------------------


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def _gone(owner: str | None) -> bool:
    """Whether ``owner`` (``host:pid``) is a process of this host that no longer exists."""
    host, _, pid = (owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another machine's run (or an old row): only it can say
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


@storage_errors
def close_abandoned(
    catalog: Catalog, *, now: datetime | None = None, stale_after_s: float | None = None
) -> int:
    """Close the runs left ``running`` by a process that is gone; return how many.

    A run of a dead process of this host is ``error (interrupted)``. With
    ``stale_after_s`` (``web.fixity_stale_seconds``), a run whose heartbeat
    (:func:`beating`; its start for a run recorded before revision 0006) is older than
    that, wherever it ran, is ``error (abandoned)``: a worker that died holding a check
    handed to the pool has no process here to look at.

    Why: a restart mid-check, or a worker lost mid-check, leaves its row ``running``
    forever; the page would poll it for as long as it is open and, with the work pool,
    refuse another check. ``now``: the closing time written (the age of a heartbeat is
    measured on the wall clock, as it was written).
    """
    table = FixityRunTable
    with catalog._read() as session:
        rows = session.execute(
            select(table.id, table.owner, table.heartbeat_at, table.started_at).where(
                table.state == "running"
            )
        ).all()
    closed = 0
    dead = [row.id for row in rows if _gone(row.owner)]
    if dead:
        closed += _close(catalog, table.id.in_(dead), "interrupted", now)
        log.warning("fixity history: %d run(s) of a stopped process marked interrupted", closed)
    if stale_after_s is None:
        return closed
    cutoff = datetime.now(UTC) - timedelta(seconds=stale_after_s)
    silent = [
        row.id
        for row in rows
        if (row.heartbeat_at or row.started_at) < cutoff and row.id not in dead
    ]
    if silent:  # written only then: the page reads this on every view
        old = or_(table.heartbeat_at < cutoff,
                  and_(table.heartbeat_at.is_(None), table.started_at < cutoff))  # fmt: skip
        stale = _close(catalog, and_(table.id.in_(silent), old), ABANDONED, now)
        log.warning("fixity history: %d run(s) without a heartbeat marked abandoned", stale)
        closed += stale
    return closed


def _close(catalog: Catalog, which, error: str, now: datetime | None) -> int:
    """Close the ``running`` rows matching ``which`` as ``error (<error>)``, in one
    statement (a beat written meanwhile keeps its row running); how many."""
    with catalog._write() as session:
        done = session.execute(
            update(FixityRunTable)
            .where(which, FixityRunTable.state == "running")
            .values(state="error", error=error, finished_at=now or datetime.now(UTC))
        )
        return done.rowcount


@storage_errors
def list_runs(catalog: Catalog, *, page: int = 1, per_page: int = 20) -> RunPage:
    """One page (from 1) of runs, newest first, without their failures."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    with catalog._read() as session:
        total = session.scalar(select(func.count()).select_from(FixityRunTable)) or 0
        rows = session.scalars(
            select(FixityRunTable)
            .order_by(FixityRunTable.started_at.desc(), FixityRunTable.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        runs = tuple(_run(r) for r in rows)
    return RunPage(runs, total, page, per_page)


@storage_errors
def latest_finished(catalog: Catalog) -> FixityRun | None:
    """The archive's current verdict: the newest completed run over every unit.

    Why not simply the newest run: a commune's clean check of 50 of its records must
    not replace the nightly finding of damage elsewhere. Only when no whole-archive
    run exists yet is the newest of any scope shown.
    """
    done = (
        select(FixityRunTable)
        .where(FixityRunTable.state == "done")
        .order_by(FixityRunTable.finished_at.desc(), FixityRunTable.id.desc())
        .limit(1)
    )
    with catalog._read() as session:
        row = session.scalars(done.where(FixityRunTable.unit.is_(None))).first()
        row = row or session.scalars(done).first()
        return None if row is None else _run(row)


@storage_errors
def get_run(catalog: Catalog, run_id: int) -> FixityRun:
    """One run with its failures (records by id, then orphans by key).

    Raises:
        NotFoundError: no such run.
    """
    with catalog._read() as session:
        row = session.get(FixityRunTable, run_id)
        if row is None:
            raise NotFoundError(what="fixity run", name=str(run_id))
        failures = session.scalars(
            select(FixityFailureTable)
            .where(FixityFailureTable.run_id == run_id)
            .order_by(FixityFailureTable.record_id.is_(None), FixityFailureTable.record_id,
                      FixityFailureTable.key)
        )  # fmt: skip
        return _run(row, list(failures))


# --- a check limited to some units -------------------------------------------------------------


def check_scope(
    settings: Settings,
    *,
    store: ObjectStore,
    catalog: Catalog,
    sample: int | None,
    units: Collection[str] | None,
    orphans: bool,
    workers: int = 1,
    progress: FixityProgress | None = None,
) -> FixityReport:
    """Check a random sample of the records of ``units`` (``None``: of every unit).

    :func:`records.fixity.run_fixity` with a unit filter, for the web app, where an
    auditor limited to a unit checks that unit's records only.
    """
    started = time.monotonic()
    progress = progress or fixity.NullFixityProgress()
    pool = [r for r in catalog.list_records() if units is None or r.unit in units]
    rows = fixity.select_rows(pool, sample)
    progress.started(len(rows))
    results = fixity.check_records(
        rows, store, settings, workers=workers, on_result=progress.checked
    )
    lost = fixity.find_orphans(store, catalog) if orphans else None
    return fixity.make_report(
        catalog_records=len(pool),
        results=results,
        orphans=lost,
        sampled=len(rows) < len(pool),
        workers=workers,
        seconds=time.monotonic() - started,
    )


# --- catalog rebuild ---------------------------------------------------------------------------


@storage_errors
def copy_runs(source: Catalog, target: Catalog) -> int:
    """Copy the whole history from ``source`` into ``target`` (replacing it); return the runs.

    Why: like the audit log the history is not in the archive, so a rebuilt catalog
    would otherwise forget every check made before it.
    """
    copied = copy_tables(source, target, (FixityRunTable, FixityFailureTable))  # parents first
    return copied[FixityRunTable.__tablename__]
