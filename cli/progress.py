"""Rich progress bars for the CLI: one bar for batches, one for the current batch's pages."""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sohoa.messages import t


def bars(console: Console, *, enabled: bool) -> Progress:
    """The CLI's one bar style: description, bar, done/total, elapsed time."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


class RichProgress:
    """A :class:`flows.progress.ProgressSink` drawing terminal progress bars."""

    def __init__(self, console: Console, *, total_batches: int, enabled: bool = True) -> None:
        self._progress = bars(console, enabled=enabled)
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


class CountBar:
    """A progress bar for a known number of items (records checked, manifests read)."""

    def __init__(self, console: Console, description: str, *, enabled: bool) -> None:
        self._progress = bars(console, enabled=enabled)
        self._task = self._progress.add_task(description, total=None)

    def __enter__(self) -> Self:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, records: int) -> None:
        self._progress.update(self._task, total=records)

    def checked(self, result: object = None) -> None:
        self._progress.advance(self._task)

    advanced = checked
