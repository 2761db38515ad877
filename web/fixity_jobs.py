"""The auditor's integrity overview (``/verify`` and ``/api/fixity``): history, and checks started here.

What the page and its JSON twin share, so both refuse, scope and audit alike:
:func:`overview` (the latest verdict, a page of the history, one run),
:func:`run_view` (one run with the failures the caller may see, and live progress),
:func:`start_check` (validate, scope, record, audit, start).

**One check at a time per process.** A check reads every sampled PDF back and
validates its signature: CPU and disk work the pages share. :class:`FixityJobs`
runs it in one background thread (the request returns at once) and refuses a
second start while one runs (:class:`CheckRunning`, 409). The outcome goes to the
fixity history (:mod:`records.fixity_runs`) like the nightly and CLI runs.

**Progress wherever the check runs.** Every check — here, in another web process, on
a Prefect worker, the nightly run — writes its counts (records chosen, checked,
problems) into its history row about once a second (:mod:`records.fixity_progress`).
This process shows its own check's counters from memory (fresher), any other
running check's from the row, so every web server shows the same progress. A run
left ``running`` by a process of this host that died is closed as interrupted; one
whose heartbeat (written with its counts, and by a beat while it is slow) is older than
``web.fixity_stale_seconds`` — its worker died, wherever it ran — as abandoned, so the
page stops polling it and another check may start.

**Several web servers** (``web.dispatch = "deployment"``): the web server writes the
history row and hands the check to the work pool (:func:`flows.dispatch.start_fixity`);
the worker counts into and finishes that row, and a check waiting or running anywhere
refuses another.

**Unit scope.** A user limited to a unit sees the whole history (counts only)
but the failures of their own units only (other units' records and orphan
objects, which belong to no unit, are hidden and counted), and a check they start
covers their unit and the units under it — naming another unit is 403.
Orphans are looked for only by checks covering every unit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from catalog import units
from catalog.audit import Action
from catalog.database import open_catalog
from records import fixity, fixity_runs
from records.fixity import FixityReport
from records.fixity_runs import FixityFailure, FixityRun, RunPage
from records.verify import VerifyResult
from schemas.settings import Settings
from sohoa.errors import PermissionDeniedError
from storage.stores import open_store
from web.audit import audit
from web.auth import Principal
from web.deps import catalog_of, now_of, settings_of
from web.errors import BadSample, BadUnit, CheckRunning

__all__ = [
    "DEFAULT_SAMPLE",
    "MAX_SAMPLE",
    "FixityJobs",
    "Overview",
    "Progress",
    "RunView",
    "jobs_of",
    "overview",
    "parse_sample",
    "run_view",
    "start_check",
]

log = logging.getLogger(__name__)

DEFAULT_SAMPLE = 50
"""Records a check from the page reads when the auditor does not say."""
MAX_SAMPLE = 1000
"""Most records one web check may read (a whole-archive check is ``sohoa verify --all``)."""
PER_PAGE = 20


# --- the background check ----------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """How far the check running in this process has got."""

    run_id: int
    done: int
    total: int | None
    """Records chosen, ``None`` until the sample is drawn."""
    problems: int


Check = Callable[..., FixityReport]
"""``check(settings, *, sample, units, orphans, progress) -> FixityReport``."""


def _real_check(
    settings: Settings,
    *,
    sample: int,
    units: Collection[str] | None,
    orphans: bool,
    progress: fixity.FixityProgress,
) -> FixityReport:
    """The plain library check (no Prefect: it must not cost the server a Prefect start)."""
    return fixity_runs.check_scope(
        settings,
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
        sample=sample,
        units=units,
        orphans=orphans,
        workers=max(1, fixity.workers_for() // 2),  # leave a core for the pages
        progress=progress,
    )


@dataclass
class _Live:
    """The running check's counters (changed only under the runner's lock)."""

    run_id: int | None = None
    done: int = 0
    total: int | None = None
    problems: int = 0
    finished: threading.Event = field(default_factory=threading.Event)


class FixityJobs:
    """Runs at most one fixity check at a time, in a daemon thread (module docstring).

    Args:
        settings: the app's settings.
        check: the check to run (tests may wrap the real one); default the library's.
    """

    def __init__(self, settings: Settings, *, check: Check | None = None) -> None:
        self.settings = settings
        self._check = check or _real_check
        self._lock = threading.Lock()
        self._live: _Live | None = None

    def launch(
        self,
        begin: Callable[[], int],
        *,
        sample: int,
        units: Collection[str] | None,
        orphans: bool,
    ) -> int:
        """Reserve the one slot, ``begin()`` (record the run, get its id), start the thread.

        Raises:
            CheckRunning: a check is already running here.
            Whatever ``begin`` raises (the slot is then free again).
        """
        with self._lock:
            if self._live is not None:
                raise CheckRunning(run=self._live.run_id or "…")
            live = self._live = _Live()
        try:
            live.run_id = begin()
        except BaseException:
            with self._lock:
                self._live = None
            raise
        options = {"sample": sample, "units": units, "orphans": orphans}
        thread = threading.Thread(
            target=self._work, args=(live, options), name=f"sohoa-fixity-{live.run_id}", daemon=True
        )
        thread.start()
        return live.run_id

    def progress(self, run_id: int) -> Progress | None:
        """The live counters of ``run_id`` if it is the check running here."""
        with self._lock:
            live = self._live
            if live is None or live.run_id != run_id:
                return None
            return Progress(run_id, live.done, live.total, live.problems)

    def running(self) -> int | None:
        """The id of the run in progress here, if any."""
        with self._lock:
            return None if self._live is None else self._live.run_id

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no check runs here (or ``timeout`` s); return whether none runs."""
        with self._lock:
            live = self._live
        return live is None or live.finished.wait(timeout)

    # --- the thread ----------------------------------------------------------------------------

    def _work(self, live: _Live, options: dict[str, Any]) -> None:
        try:
            sink = fixity_runs.reporting_to_row(self.settings, live.run_id, _Sink(self, live))
            with fixity_runs.beating(self.settings, live.run_id):
                report = self._check(self.settings, progress=sink, **options)
        except Exception as exc:  # noqa: BLE001 - recorded as an ``error`` run; the server goes on
            log.warning("fixity run %s could not complete: %s", live.run_id, type(exc).__name__)
            fixity_runs.safe_fail(self.settings, live.run_id, exc)
        else:
            fixity_runs.safe_finish(self.settings, live.run_id, report)
        finally:
            with self._lock:
                self._live = None
            live.finished.set()

    def _started(self, live: _Live, records: int) -> None:
        with self._lock:
            live.total = records

    def _checked(self, live: _Live, result: VerifyResult) -> None:
        with self._lock:
            live.done += 1
            live.problems += not result.ok


class _Sink:
    """The :class:`records.fixity.FixityProgress` of one web check."""

    def __init__(self, jobs: FixityJobs, live: _Live) -> None:
        self._jobs, self._live = jobs, live

    def started(self, records: int) -> None:
        self._jobs._started(self._live, records)

    def checked(self, result: VerifyResult) -> None:
        self._jobs._checked(self._live, result)


_create_lock = threading.Lock()


def jobs_of(request: Request) -> FixityJobs:
    """The app's check runner, created on first use."""
    state = request.app.state
    with _create_lock:
        if getattr(state, "fixity_jobs", None) is None:
            state.fixity_jobs = FixityJobs(state.settings)
        return state.fixity_jobs


# --- what pages and API show -------------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    """One run as the caller may see it."""

    run: FixityRun
    failures: tuple[FixityFailure, ...]
    """The failures of records in the caller's units (all of them when not limited)."""
    hidden: int
    """Failures left out: other units' records, and orphans for a unit-limited caller."""
    progress: Progress | None
    """Live counters while the run runs (here, or anywhere: from its row)."""


@dataclass(frozen=True)
class Overview:
    """Everything ``/verify`` shows."""

    latest: FixityRun | None
    """The newest completed run: the archive's current verdict."""
    runs: RunPage
    selected: RunView | None
    running: int | None
    """The run in progress in this process (with ``web.dispatch = "deployment"``: on
    the work pool), if any: another may not start."""


def run_view(request: Request, principal: Principal, run_id: int) -> RunView:
    """One run with its visible failures and live progress.

    Raises:
        NotFoundError: no such run (404).
    """
    catalog = catalog_of(request)
    run = fixity_runs.get_run(catalog, run_id)
    if run.state == "running" and _close_abandoned(request):
        run = fixity_runs.get_run(catalog, run_id)  # its process died: interrupted, abandoned
    scope = units.scope_of(catalog, principal.unit)
    shown = tuple(f for f in run.failures if scope is None or scope.allows(f.unit))
    progress = _progress(request, run)
    return RunView(run, shown, len(run.failures) - len(shown), progress)


def _close_abandoned(request: Request) -> int:
    """Close the runs whose process died or stopped beating (:func:`records.fixity_runs.
    close_abandoned`); how many."""
    stale_s = settings_of(request).web.fixity_stale_seconds
    return fixity_runs.close_abandoned(catalog_of(request), stale_after_s=stale_s)


def _progress(request: Request, run: fixity_runs.FixityRun) -> Progress | None:
    """A running check's counts: this process's own, or those the process running it
    (a worker, another web server, the nightly run) writes into the run's row."""
    if run.state != "running":
        return None
    here = jobs_of(request).progress(run.id)
    return here or Progress(run.id, run.checked, run.chosen, run.problems)


def overview(
    request: Request, principal: Principal, *, page: int = 1, run_id: int | None = None
) -> Overview:
    """The latest verdict, one page of the history, and the run asked for.

    Without ``run_id`` the run shown in detail is the one running here, else the newest
    run if it is running anywhere (its progress is in its row), else the latest
    completed one.
    """
    catalog = catalog_of(request)
    _close_abandoned(request)  # a restart mid-check, or a lost worker, left its row running
    latest = fixity_runs.latest_finished(catalog)
    runs = fixity_runs.list_runs(catalog, page=page, per_page=PER_PAGE)
    newest = runs.runs[0] if page == 1 and runs.runs else None
    elsewhere = newest.id if newest is not None and newest.state == "running" else None
    running = jobs_of(request).running()
    if running is None and settings_of(request).web.dispatch == "deployment":
        running = elsewhere  # a worker's check: the pool runs one at a time
    chosen = run_id or running or elsewhere or (latest.id if latest else None)
    selected = run_view(request, principal, chosen) if chosen else None
    return Overview(latest, runs, selected, running)


# --- starting a check --------------------------------------------------------------------------


def parse_sample(value: str | int | None) -> int:
    """A form's or a client's sample: blank is :data:`DEFAULT_SAMPLE`.

    Raises:
        BadSample: not a whole number from 1 to :data:`MAX_SAMPLE`.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_SAMPLE
    try:
        count = int(str(value).strip())
    except ValueError:
        raise BadSample(max=MAX_SAMPLE) from None
    if not 1 <= count <= MAX_SAMPLE:
        raise BadSample(max=MAX_SAMPLE)
    return count


def _scope_root(request: Request, principal: Principal, unit: str | None) -> str | None:
    """The unit the check covers (with the units under it); ``None``: every unit.

    Raises:
        BadUnit: not a unit code.
        PermissionDeniedError: a unit-limited user named a unit outside their scope (403).
    """
    unit = (unit or "").strip() or None
    if unit is not None and not units.UNIT_CODE.fullmatch(unit):
        raise BadUnit()
    if principal.unit is None:
        return unit
    scope = units.scope_of(catalog_of(request), principal.unit)
    if unit is not None and scope is not None and not scope.allows(unit):
        raise PermissionDeniedError("unit_denied", unit=unit)
    return unit or principal.unit


def start_check(
    request: Request, principal: Principal, *, sample: str | int | None, unit: str | None
) -> int:
    """Validate, record the run, audit ``fixity.start``, start the check; return the run id.

    Raises:
        BadSample, BadUnit: 400. PermissionDeniedError: another unit (403).
        CheckRunning: a check runs already (409). StorageError: the catalog (503).
    """
    count = parse_sample(sample)
    root = _scope_root(request, principal, unit)
    catalog = catalog_of(request)
    covered = units.units_under(catalog, root) if root else None

    def begin() -> int:
        run_id = fixity_runs.start_run(
            catalog,
            started_by=f"{principal.via}:{principal.name}",
            sample=count,
            unit=root,
            now=now_of(request),
            owned=settings_of(request).web.dispatch != "deployment",
        )
        try:
            audit(request, Action.FIXITY_START, target=str(run_id), sample=count, unit=root)
        except BaseException as exc:  # an unlogged check must not run
            fixity_runs.safe_fail(settings_of(request), run_id, exc)
            raise
        return run_id

    if settings_of(request).web.dispatch == "deployment":
        return _dispatch(request, begin, sample=count, unit=root)
    return jobs_of(request).launch(begin, sample=count, units=covered, orphans=root is None)


def _dispatch(request: Request, begin: Callable[[], int], *, sample: int, unit: str | None) -> int:
    """Record the run here and hand the check to the work pool (``web.dispatch``): the
    worker finishes the same history row, which every web server reads.

    Raises:
        CheckRunning: a dispatched check waits or runs (409).
        StorageError: the Prefect server cannot be reached; the row says so (503).
    """
    from flows.dispatch import fixity_running, start_fixity

    settings = settings_of(request)
    if fixity_running():
        raise CheckRunning(run="…")
    run_id = begin()
    try:
        start_fixity(settings, run_id=run_id, sample=sample, unit=unit)
    except BaseException as exc:
        fixity_runs.safe_fail(settings, run_id, exc)
        raise
    return run_id
