"""Rich progress bars for the CLI: one bar for batches, one for the current batch's pages."""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sohoa.texts import t


class RichProgress:
    """A :class:`flows.progress.ProgressSink` drawing terminal progress bars."""

    def __init__(self, console: Console, *, total_batches: int, enabled: bool = True) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._batches = self._progress.add_task(t("progress_batches"), total=total_batches)
        self._pages: int | None = None

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def batch_started(self, batch_id: str, files: int) -> None:
        self._pages = self._progress.add_task(t("progress_pages", batch=batch_id[:8]), total=None)

    def pages_found(self, batch_id: str, pages: int) -> None:
        if self._pages is not None:
            self._progress.update(self._pages, total=pages)

    def page_done(self, batch_id: str, index: int) -> None:
        if self._pages is not None:
            self._progress.advance(self._pages)

    def stage(self, batch_id: str, name: str) -> None:
        if self._pages is not None:
            self._progress.update(
                self._pages,
                description=t("progress_stage", stage=t(f"stage_{name}"), batch=batch_id[:8]),
            )

    def batch_finished(self) -> None:
        self._progress.advance(self._batches)
