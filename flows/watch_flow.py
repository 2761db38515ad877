"""The ``watch_folder`` flow: ``sohoa watch`` as a long-running Prefect deployment.

Thin wiring around :func:`flows.watch.run_watch`: the same loop, with each batch
digitised as a ``digitise_batch`` subflow run (as the nightly run does), so every batch
shows in the Prefect server, and the watcher's lines in the run's log. The run lasts
until it is cancelled (the process worker then stops the process: files not yet
archived stay in the folder and the next run takes them); ``concurrency_limit: 1`` in
``prefect.yaml`` keeps one per deployment. A worker watches a folder on its own machine
(``watch.folder``, or the ``folder`` parameter), typically a mounted scanner share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.digitise import run_digitise
from flows.watch import run_watch
from schemas.settings import Settings
from services.watch import render
from sohoa import logmask


@flow(name="watch_folder", validate_parameters=False, log_prints=False)
def watch_folder(
    folder: str | None = None,
    poll: bool | None = None,
    settings: Settings | None = None,
) -> None:
    """Watch a scan folder until the run is cancelled (module docstring).

    Args:
        folder: the folder on the worker's machine; default ``watch.folder`` or
            ``data_dir/watch``.
        poll: poll (network shares) rather than wait for inotify events; default
            ``watch.poll``.
        settings: default :class:`Settings` from the worker's environment.
    """
    logmask.install()
    settings = settings or Settings()
    if poll is not None:
        watch = settings.watch.model_copy(update={"poll": poll})
        settings = settings.model_copy(update={"watch": watch})
    log = get_run_logger()

    def report(level: int, key: str, **params: Any) -> None:
        log.log(level, render(key, "en", **params))

    run_watch(
        settings,
        folder=Path(folder) if folder else None,
        report=report,
        run_batch=run_digitise,
    )
