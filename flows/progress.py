"""How a flow reports progress to whoever started it (CLI progress bars, the web app).

Plain Python, no Prefect: the flow calls these hooks; the default does nothing. A run
on a worker of another machine reports into the batch's catalog row instead
(:class:`CatalogProgress`), which every web server reads.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from catalog.database import open_catalog
from schemas.settings import Settings
from sohoa.errors import StorageError

log = logging.getLogger(__name__)


class ProgressSink(Protocol):
    """Receives progress events from :func:`flows.digitise.digitise_batch`."""

    def batch_started(self, batch_id: str, files: int) -> None:
        """The batch's originals are in the inbox."""

    def pages_found(self, batch_id: str, pages: int) -> None:
        """Page extraction finished; ``pages`` pages will be OCR'd."""

    def page_done(self, batch_id: str, index: int) -> None:
        """One page finished OCR."""

    def stage(self, batch_id: str, name: str) -> None:
        """A later stage started: ``pdf``, ``sign``, ``store``, ``catalog``."""


class NullProgress:
    """Ignores every event (unattended runs)."""

    def batch_started(self, batch_id: str, files: int) -> None:
        pass

    def pages_found(self, batch_id: str, pages: int) -> None:
        pass

    def page_done(self, batch_id: str, index: int) -> None:
        pass

    def stage(self, batch_id: str, name: str) -> None:
        pass


class CatalogProgress:
    """Writes each event into the batch's catalog row (:meth:`Catalog.note_progress`).

    For a batch run by id on the work pool: nobody holds this process's memory, so the
    row is where a web server on another machine reads pages read and stage. A catalog
    that cannot be reached costs the progress, never the batch.
    """

    def __init__(self, settings: Settings) -> None:
        self._url = settings.resolved_catalog_url
        self._done = 0
        self._lock = threading.Lock()  # pages finish on the task runner's threads

    def _note(self, batch_id: str, **values: object) -> None:
        try:
            open_catalog(self._url).note_progress(batch_id, **values)  # type: ignore[arg-type]
        except StorageError as exc:
            log.warning("batch %s: progress not recorded: %s", batch_id, exc)

    def batch_started(self, batch_id: str, files: int) -> None:
        self._done = 0
        self._note(batch_id, pages_done=0, stage="pages")

    def pages_found(self, batch_id: str, pages: int) -> None:
        self._note(batch_id, pages_total=pages)

    def page_done(self, batch_id: str, index: int) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        self._note(batch_id, pages_done=done)

    def stage(self, batch_id: str, name: str) -> None:
        self._note(batch_id, stage=name)
