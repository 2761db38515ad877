"""A running fixity check's counters in its history row, so every web server shows them.

Why: a check runs on a Prefect worker, in the nightly run, or in one of several web
processes, and its counters live in that process's memory only; the history row
(:mod:`records.fixity_runs`) is what every web server can read. The running check
writes the sample's size as soon as it is drawn, then records checked and problems
at most once a second; the run's end writes the final counts
(:func:`records.fixity_runs.finish_run`).

Each of those writes is also a heartbeat (``heartbeat_at``), and :func:`beating` keeps
one going while the check is slow (one big record, the orphan listing): a ``running``
row whose heartbeat is too old lost its process, wherever it ran
(:func:`records.fixity_runs.close_abandoned`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import and_, or_, update

from catalog.connection import storage_errors
from catalog.database import Catalog, open_catalog
from catalog.tables import FixityRunTable
from records import fixity
from records.fixity import FixityProgress
from schemas.settings import Settings
from sohoa.errors import StorageError

__all__ = ["ABANDONED", "RowProgress", "beat", "beating", "note_progress", "reporting_to_row"]

log = logging.getLogger(__name__)

ABANDONED = "abandoned"
"""The error of a run whose heartbeat stopped (:func:`records.fixity_runs.close_abandoned`)."""


@storage_errors
def note_progress(
    catalog: Catalog,
    run_id: int,
    *,
    checked: int | None = None,
    problems: int | None = None,
    chosen: int | None = None,
) -> None:
    """The counts so far of a run still ``running`` (a count left ``None`` is left as it
    is); :func:`records.fixity_runs.finish_run` writes the final ones. A finished row is
    left alone."""
    given = {"checked": checked, "problems": problems, "chosen": chosen}
    counts = {name: value for name, value in given.items() if value is not None}
    if not counts:
        return
    with catalog._write() as session:
        session.execute(
            update(FixityRunTable)
            .where(FixityRunTable.id == run_id, FixityRunTable.state == "running")
            .values(**counts, heartbeat_at=datetime.now(UTC))
        )


@storage_errors
def beat(catalog: Catalog, run_id: int, *, take_up: bool = False) -> bool:
    """Say that run ``run_id`` is still being checked (its ``heartbeat_at``, wall clock);
    return whether the row took it (it is ``running``).

    ``take_up``: the first beat of a check handed to a worker, which may have waited in
    the pool's queue longer than the heartbeat timeout and been closed as ``abandoned``
    meanwhile: it is ``running`` again, since it now runs.
    """
    still = FixityRunTable.state == "running"
    if take_up:
        closed = and_(FixityRunTable.state == "error", FixityRunTable.error == ABANDONED)
        still = or_(still, closed)
    with catalog._write() as session:
        done = session.execute(
            update(FixityRunTable)
            .where(FixityRunTable.id == run_id, still)
            .values(state="running", error=None, finished_at=None, heartbeat_at=datetime.now(UTC))
        )
        return bool(done.rowcount)


@contextmanager
def beating(settings: Settings, run_id: int | None, *, take_up: bool = False) -> Iterator[None]:
    """Keep run ``run_id``'s heartbeat going while the block runs: at once, then every
    fifth of ``web.fixity_stale_seconds`` from a daemon thread, whatever the check is doing.

    Why not the progress writes alone: one record (a large PDF to validate) or the orphan
    listing may take longer than the timeout, and a live check must not be called
    abandoned. A catalog that fails a beat is logged once; the beat and the check go on.
    ``run_id`` ``None`` (the history could not be written): nothing to beat.
    """
    if run_id is None:
        yield
        return
    every_s = settings.web.fixity_stale_seconds / 5
    stop = threading.Event()
    _beat_once(settings, run_id, take_up=take_up, warned=False)
    thread = threading.Thread(
        target=_keep_beating, args=(settings, run_id, every_s, stop),
        name=f"sohoa-fixity-beat-{run_id}", daemon=True,
    )  # fmt: skip
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _keep_beating(settings: Settings, run_id: int, every_s: float, stop: threading.Event) -> None:
    warned = False
    while not stop.wait(every_s):
        warned = _beat_once(settings, run_id, warned=warned)


def _beat_once(settings: Settings, run_id: int, *, warned: bool, take_up: bool = False) -> bool:
    """One beat; whether a failure has been logged (so far, or now)."""
    try:
        beat(open_catalog(settings.resolved_catalog_url), run_id, take_up=take_up)
    except StorageError as exc:
        if not warned:
            log.warning("fixity history: run %s: heartbeat not written: %s", run_id,
                        type(exc).__name__)  # fmt: skip
        return True
    return warned


class RowProgress:
    """A :class:`records.fixity.FixityProgress` that writes the counts into the run's row:
    the sample's size as soon as it is drawn, then records checked and problems at most
    once every ``every_s`` seconds and once the last record is checked (the orphan
    listing may follow for a while; the run's end writes the final counts). Once the
    catalog fails it stops writing: the check goes on.

    Why: a check running on a Prefect worker, in another web process or in the nightly
    run has its counters in that process's memory only; the row is what every web
    server can read. Thread-safe: a check may report from several threads.
    """

    def __init__(self, settings: Settings, run_id: int, every_s: float = 1.0) -> None:
        self._settings, self._run_id, self._every_s = settings, run_id, every_s
        self._lock = threading.Lock()
        self._checked = self._problems = 0
        self._chosen: int | None = None
        self._last = 0.0
        self._broken = False

    def started(self, records: int) -> None:
        with self._lock:
            self._chosen, self._last = records, time.monotonic()
            self._write(chosen=records)  # the counts so far stay as they are

    def checked(self, result: fixity.VerifyResult) -> None:
        with self._lock:
            self._checked += 1
            self._problems += not result.ok
            last = self._checked == self._chosen
            if last or time.monotonic() - self._last >= self._every_s:
                self._last = time.monotonic()
                self._write(checked=self._checked, problems=self._problems)

    def _write(self, **counts: int) -> None:
        if self._broken:
            return
        try:
            catalog = open_catalog(self._settings.resolved_catalog_url)
            note_progress(catalog, self._run_id, **counts)
        except StorageError as exc:
            self._broken = True
            log.warning("fixity history: run %s: no more progress: %s", self._run_id,
                        type(exc).__name__)  # fmt: skip


class _Both:
    """Hands every progress event to each of several sinks, in order."""

    def __init__(self, *sinks: FixityProgress) -> None:
        self._sinks = sinks

    def started(self, records: int) -> None:
        for sink in self._sinks:
            sink.started(records)

    def checked(self, result: fixity.VerifyResult) -> None:
        for sink in self._sinks:
            sink.checked(result)


def reporting_to_row(
    settings: Settings,
    run_id: int | None,
    also: FixityProgress | None = None,
    *,
    every_s: float = 1.0,
) -> FixityProgress:
    """The progress sink of a recorded check: its row's counters (:class:`RowProgress`),
    then ``also`` (a progress bar, a web server's own counters).

    ``run_id`` ``None`` (the history could not be written): ``also`` alone.
    """
    sinks = [RowProgress(settings, run_id, every_s)] if run_id is not None else []
    if also is not None:
        sinks.append(also)
    return _Both(*sinks)
