"""The watched scan folder's loop: scan, wait for whole files, hand each batch on, clean up.

Scanners save into a folder (scan-to-folder over SMB); :class:`Watcher` takes each
finished scan through the caller's ``take`` (the one entrance and the digitising run,
:mod:`flows.watch`), which removes the files once their batch is archived. The rules
(which files count, when a file is whole, what a sub-folder means, which files form a
batch) are :mod:`storage.watchfolder`'s plain functions; this module only applies them.

Why events are only a wake-up: watchdog's inotify events can be lost (a full event
queue, a folder replaced, a network share whose server's writes raise none), so every
wake-up, and every ``poll_interval_s`` without one, re-scans the whole folder and
decides from what is there. A restart therefore needs no state: the folder is the state.

Why nothing is processed twice: a batch's id is the hash of its files and options, so
the same files sent again are the same batch, and an archived one is only taken away
again (:func:`services.intake.receive`); the files are removed only after that. Two
watchers on one folder take turns on each sub-folder under a claim (a ``flock``, or a
PostgreSQL advisory lock on a shared catalog, :mod:`storage.claims`): the second waits
and finds the files gone.

What it reports (one line per batch or per problem, never a file name: names may name a
citizen) goes to ``report(level, key, **params)``; keys are texts of the message
catalogue, so the CLI prints them in the clerk's language and a flow logs them in English.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from ocr.pages import detect_format
from schemas.models import Manifest
from schemas.settings import Settings, WatchSettings
from sohoa.errors import (
    BadInputError,
    BatchBusyError,
    NotFoundError,
    OcrError,
    SohoaError,
    StorageError,
)
from sohoa.messages import text
from storage import claims
from storage import watchfolder as folder_rules
from storage.waiting import claim_place
from storage.watchfolder import FolderBatch, Seen

log = logging.getLogger("sohoa.watch")

WAKE_SLICE_S = 0.25
"""How often a sleeping watcher looks at its stop event (a stop is seen within this)."""
DEBOUNCE_S = 0.1
"""After an event, how long to let a burst of events (a scanner writing) gather."""
IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})
"""Events that change nothing (reading a file, ours included): no wake-up."""


class Report(Protocol):
    """Where the watcher says what it did (module docstring)."""

    def __call__(self, level: int, key: str, **params: Any) -> None: ...


@dataclass(frozen=True)
class Phrase:
    """A catalogue text inside a report's text, rendered in the report's language."""

    key: str
    params: dict[str, Any]

    def render(self, lang: str) -> str:
        return text(self.key, lang, **self.params)


def render(key: str, lang: str, **params: Any) -> str:
    """A watcher's report as text in ``lang``: errors and phrases among the params too."""
    shown = {
        k: v.render(lang) if isinstance(v, SohoaError | Phrase) else v for k, v in params.items()
    }
    return text(key, lang, **shown)


def log_report(level: int, key: str, **params: Any) -> None:
    """The default :class:`Report`: one English line on the ``sohoa.watch`` logger."""
    log.log(level, render(key, "en", **params))


@dataclass(frozen=True)
class _Later:
    """A batch tried and not finished: tried again, as the same batch, at ``at``."""

    batch: FolderBatch
    stamps: tuple[tuple[int, int], ...]
    at: float


class Watcher:
    """Watches ``folder`` until ``stop`` is set (or the thread is interrupted).

    Args:
        settings: the one settings model; ``settings.watch`` says how to watch.
        take: receives and digitises one batch, removes its files once archived and
            returns its records; raises the domain error when it cannot.
        report: where each batch's outcome and each problem is said.
        folder: the watched folder; default ``settings.watch_dir``.
        stop: set it to end :meth:`run` (within :data:`WAKE_SLICE_S`).
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        take: Callable[[FolderBatch], list[Manifest]],
        report: Report = log_report,
        folder: Path | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings, self.opts = settings, settings.watch
        self.root = Path(folder or settings.watch_dir).expanduser().absolute()
        self.stop = stop or threading.Event()
        self._take_batch, self._report, self._clock = take, report, clock
        self._wake = threading.Event()
        self._seen: dict[Path, Seen] = {}
        self._checked: dict[Path, tuple[int, int]] = {}
        self._later: dict[tuple[Path, ...], _Later] = {}
        self._said: set[tuple[str, Path]] = set()
        self._unlisted: set[Path] = set()
        self._missing = False
        self._events = _Events(self)

    def run(self) -> None:
        """Scan, take what is ready, sleep until an event or the next due time; again."""
        self._report(logging.INFO, "watch_started", **self._describe())
        try:
            while not self.stop.is_set():
                self._sleep(self._safe_pass())
        finally:
            self._events.stop()

    def _describe(self) -> dict[str, Any]:
        seconds = f"{self.opts.poll_interval_s:g}"
        how = "watch_how_polling" if self.opts.poll else "watch_how_events"
        return {
            "folder": str(self.root),
            "how": Phrase(how, {"seconds": seconds}),
            "layout": self.opts.layout or "-",
            "refused": self.opts.refused_folder,
        }

    def _safe_pass(self) -> float:
        """One pass; a failure of the pass itself (a bug, a disk error) is reported and
        the watcher goes on at the next poll, so it never dies of one bad moment."""
        try:
            return self.scan_once()
        except Exception as exc:  # the watcher must outlive any one pass
            log.info("watch pass failed", exc_info=True)  # shown with -v
            self._report(
                logging.ERROR,
                "watch_unexpected",
                where=".",
                error=f"{type(exc).__name__}",
                seconds=f"{self.opts.poll_interval_s:g}",
            )
            return self.opts.poll_interval_s

    def scan_once(self) -> float:
        """Look at the folder once and take every batch that is ready; returns the seconds
        until something falls due (a file quiet, a retry), at most one poll interval."""
        if not self._folder_present():
            return self.opts.poll_interval_s
        try:
            stats, unlisted = folder_rules.list_files(self.root, self.opts)
        except FileNotFoundError:  # gone between the check and the walk
            return self.opts.poll_interval_s
        for path in set(unlisted) - self._unlisted:  # said once, until it can be listed
            self._report(logging.WARNING, "watch_unlisted", where=self._where(path))
        self._unlisted = set(unlisted)
        now = self._clock()
        self._seen = folder_rules.observe(self._seen, stats, now)
        self._forget_gone()
        marked = folder_rules.marked_done(self._seen, self.opts.done_markers)
        self._refuse_empty(folder_rules.empty_refusals(self._seen, now, self.opts, marked))
        for later in self._due_retries(now):
            self._take(later.batch)
        held = {p for later in self._later.values() for p in later.batch.files}
        for where, paths in folder_rules.ready_groups(
            self.root, self._seen, now, self.opts, marked=marked, held=held
        ):
            batch = self._checked_batch(where, paths)
            if batch is not None:
                self._take(batch)
        return self._next_due()

    # --- the folder and its events -----------------------------------------------------

    def _folder_present(self) -> bool:
        """Whether the folder is there; said once when it goes and once when it is back.

        Why keep running: a network share comes back after a reboot or an outage, and
        a watcher that exits then would need a person to notice and restart it.
        """
        try:
            present = self.root.is_dir()
        except OSError:  # a dead mount answers with an error rather than "no"
            present = False
        if present:
            if self._missing:
                self._missing = False
                self._report(logging.INFO, "watch_folder_back", folder=str(self.root))
            self._events.follow(self.root)
            return True
        if not self._missing:
            self._missing = True
            self._events.stop()
            seconds = f"{self.opts.poll_interval_s:g}"
            self._report(
                logging.WARNING, "watch_folder_missing", folder=str(self.root), seconds=seconds
            )
        return False

    def wake(self) -> None:
        """Something changed in the folder: scan it soon (called from watchdog's thread)."""
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        deadline = self._clock() + max(seconds, 0.0)
        while not self.stop.is_set():
            left = deadline - self._clock()
            if left <= 0:
                return
            if self._wake.wait(min(left, WAKE_SLICE_S)):
                self._wake.clear()
                self.stop.wait(DEBOUNCE_S)
                return

    def _next_due(self) -> float:
        now = self._clock()
        due = [self.opts.poll_interval_s]
        if (change := folder_rules.next_change(self._seen, now, self.opts)) is not None:
            due.append(change)
        due += [later.at - now for later in self._later.values()]
        return max(min(due), 0.05)

    # --- before a batch is taken ---------------------------------------------------------

    def _checked_batch(self, where: PurePosixPath, paths: list[Path]) -> FolderBatch | None:
        """The batch of ``paths``, without the files refused or unreadable on their own.

        Why each file is checked before its batch: one empty or foreign file (a scanner's
        job sheet) would otherwise have the intake refuse the whole scan with it.
        """
        try:
            unit, kind = folder_rules.place_of(
                where, self.opts.layout, default_unit=self.settings.default_unit
            )
        except BadInputError as exc:
            self._refuse(paths, exc, where)
            return None
        good = [p for p in paths if self._readable_scan(p, where)]
        return FolderBatch(where, tuple(good), unit, kind) if good else None

    def _readable_scan(self, path: Path, where: PurePosixPath) -> bool:
        seen = self._seen[path]
        if self._checked.get(path) == (seen.size, seen.mtime_ns):
            return True
        try:
            detect_format(path, limits=self.settings.limits)
        except BadInputError as exc:
            self._refuse([path], exc, where)
            return False
        except FileNotFoundError:  # taken meanwhile (another watcher): nothing to say
            return False
        except OSError as exc:  # no permission: a person must fix it; the file stays
            self._say_once(path, where, exc)
            return False
        self._checked[path] = (seen.size, seen.mtime_ns)
        self._said.discard(("watch_unreadable", path))
        return True

    def _refuse_empty(self, paths: list[Path]) -> None:
        for path in paths:
            where = PurePosixPath(path.parent.relative_to(self.root).as_posix())
            self._refuse([path], BadInputError("empty_file", file=path.name), where)

    # --- taking a batch --------------------------------------------------------------------

    def _take(self, batch: FolderBatch) -> None:
        """Take one batch under its sub-folder's claim; each outcome decides what happens
        to its files (archived: removed by ``take``; refused: to the refused folder;
        anything else: left, and the same batch tried again later)."""
        name = "watch-" + hashlib.sha256(batch.where.encode()).hexdigest()[:32]
        try:
            with claims.hold(claim_place(self.settings), name) as held:
                if held is None:
                    self._again(batch, busy=True)
                    return
                self._take_held(batch)
        except StorageError as exc:  # the claims' database cannot be reached
            self._again(batch, error=exc)

    def _take_held(self, batch: FolderBatch) -> None:
        try:
            manifests = self._take_batch(batch)
        except (BadInputError, OcrError) as exc:
            self._later.pop(batch.files, None)
            self._refuse([p for p in batch.files if p.exists()], exc, batch.folder)
        except NotFoundError:  # taken meanwhile (by another watcher): nothing left to do
            self._later.pop(batch.files, None)
        except BatchBusyError:
            self._again(batch, busy=True)
        except SohoaError as exc:  # an outage, the signing key: the files wait here
            self._again(batch, error=exc)
        except Exception as exc:  # one batch's bug must not stop the watcher
            log.info("watch: batch from %s failed", batch.where, exc_info=True)
            self._again(batch, error=exc)
        else:
            self._later.pop(batch.files, None)
            self._forget(batch.files)
            ids = sorted({m.batch_id for m in manifests}) or ["-"]
            self._report(
                logging.INFO,
                "watch_archived",
                batch=", ".join(ids),
                records=len(manifests),
                files=len(batch.files),
                where=batch.where,
            )

    def _again(
        self, batch: FolderBatch, *, busy: bool = False, error: BaseException | None = None
    ) -> None:
        """Keep ``batch`` as it is for another try: busy, after a poll; else after ``retry_s``."""
        delay = self.opts.poll_interval_s if busy else self.opts.retry_s
        stamps = tuple((self._seen[p].size, self._seen[p].mtime_ns) for p in batch.files)
        first = batch.files not in self._later
        self._later[batch.files] = _Later(batch, stamps, self._clock() + delay)
        seconds = f"{delay:g}"
        if busy:
            if first:
                self._report(logging.INFO, "watch_busy", where=batch.where, seconds=seconds)
            return
        key = "watch_waiting" if isinstance(error, SohoaError) else "watch_unexpected"
        shown = error if isinstance(error, SohoaError) else type(error).__name__
        self._report(logging.WARNING, key, where=batch.where, error=shown, seconds=seconds)

    def _due_retries(self, now: float) -> list[_Later]:
        """Batches due for another try, still made of the same unchanged files.

        Why the same batch and not regrouped with files that came since: a batch tried
        before may already wait in the store's intake under its id; another grouping
        would be another batch, and both would be archived.
        """
        due = []
        for files, later in list(self._later.items()):
            stamps = tuple(
                (s.size, s.mtime_ns) if (s := self._seen.get(p)) else None for p in files
            )
            if stamps != later.stamps:  # a file changed or went: its files are new again
                del self._later[files]
            elif later.at <= now:
                due.append(later)
        return due

    def _refuse(self, paths: list[Path], error: SohoaError, where: PurePosixPath) -> None:
        """Move ``paths`` to the refused folder with ``error`` beside each; one report line."""
        moved = 0
        for path in paths:
            try:
                folder_rules.move_refused(self.root, path, error, self.opts)
                self._forget([path])
                moved += 1
            except FileNotFoundError:  # taken meanwhile: nothing to refuse
                continue
            except OSError as exc:  # cannot move it (permissions): it stays, said once
                self._say_once(path, where, exc)
        if moved:
            self._report(
                logging.WARNING,
                "watch_refused",
                files=moved,
                where=str(where),
                error=f"{type(error).__name__}: {error.key}",
                refused=self.opts.refused_folder,
            )

    # --- small helpers ---------------------------------------------------------------------

    def _forget(self, paths: Iterable[Path]) -> None:
        """Files archived or refused in this pass: no later group of the pass may hold them."""
        for path in paths:
            self._seen.pop(path, None)

    def _forget_gone(self) -> None:
        self._checked = {p: s for p, s in self._checked.items() if p in self._seen}
        self._said = {(k, p) for k, p in self._said if p in self._seen}

    def _where(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def _say_once(self, path: Path, where: PurePosixPath, error: OSError) -> None:
        """Say once that ``path`` cannot be read or moved, until it goes or can be read.

        Why once: it is tried again at every scan, and a line a second would bury the rest.
        """
        if ("watch_unreadable", path) in self._said:
            return
        self._said.add(("watch_unreadable", path))
        reason = type(error).__name__
        self._report(logging.WARNING, "watch_unreadable", where=str(where), error=reason)


class _Events:
    """watchdog's observer on the folder, used only to wake the watcher up.

    inotify (``Observer``), or ``PollingObserver`` snapshots when ``watch.poll`` is set
    (network shares) or inotify cannot start (its watch limit reached). Restarted when
    the folder is replaced: inotify follows the old folder, not the path.
    """

    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher
        self._observer: Any = None
        self._identity: tuple[int, int] | None = None
        self._poll = watcher.opts.poll

    def follow(self, root: Path) -> None:
        info = root.stat()
        identity = (info.st_dev, info.st_ino)
        alive = self._observer is not None and self._observer.is_alive()
        if alive and identity == self._identity:
            return
        self.stop()
        try:
            self._observer = self._start(root, poll=self._poll)
        except OSError as exc:  # inotify's limits: polling works everywhere
            self._poll = True
            interval = f"{self._watcher.opts.poll_interval_s:g}"
            self._watcher._report(
                logging.WARNING, "watch_polling_fallback", error=str(exc), seconds=interval
            )
            self._observer = self._start(root, poll=True)
        self._identity = identity

    def _start(self, root: Path, *, poll: bool) -> Any:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self._watcher

        class WakeUp(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type not in IGNORED_EVENTS:
                    watcher.wake()

        observer = PollingObserver(timeout=watcher.opts.poll_interval_s) if poll else Observer()
        observer.schedule(WakeUp(), str(root), recursive=True)
        observer.start()
        return observer

    def stop(self) -> None:
        if self._observer is None:
            return
        observer, self._observer = self._observer, None
        try:
            observer.stop()
            observer.join(timeout=5)
        except (OSError, RuntimeError):  # the folder went with its watches
            log.debug("watch: observer stopped with an error", exc_info=True)


__all__ = ["FolderBatch", "Phrase", "Report", "WatchSettings", "Watcher", "log_report", "render"]
