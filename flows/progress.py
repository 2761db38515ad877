"""How a flow reports progress to whoever started it (CLI progress bars, later the web app).

Plain Python, no Prefect: the flow calls these hooks; the default does nothing.
"""

from __future__ import annotations

from typing import Protocol


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
