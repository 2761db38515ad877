"""The watched scan folder wired to the one entrance: ``sohoa watch`` and the ``watch`` flow.

Each batch the watcher (:class:`services.watch.Watcher`) finds ready is received through
:func:`flows.batch.received_here`, exactly as ``sohoa ingest`` receives files (claim,
then :func:`services.intake.receive`, or the local inbox on a store outage), then
digitised by id in this process: plainly (:func:`flows.plain.run_plain`) on embedded
defaults, or as a ``digitise_batch`` flow run when a Prefect server is configured
(:func:`flows.runtime.runs_on_prefect`). Its files are removed while the batch's claim
is still held, after its records are archived, and never before.

This module must not import Prefect (the ``watch`` flow is :mod:`flows.watch_flow`).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from flows.batch import received_here
from flows.runtime import prepare_prefect, runs_on_prefect
from schemas.models import Manifest
from schemas.settings import Settings
from services.watch import Report, Watcher, log_report
from storage.watchfolder import FolderBatch, remove_files

RunBatch = Callable[..., list[Manifest]]
"""``run_plain`` or ``run_digitise``: ``(files, *, settings, batch_id, claim) -> records``."""


def sender_name() -> str:
    """Who received a watched folder's batches, as the intake's ticket records it."""
    return f"watch:{socket.gethostname()}"


def batch_runner(settings: Settings) -> RunBatch:
    """The flow run when a Prefect server (or a Dask cluster) is configured, else the same
    steps plainly in this process (:func:`flows.runtime.runs_on_prefect` says why)."""
    if runs_on_prefect(settings):
        prepare_prefect(settings)
        from flows.digitise import run_digitise

        return run_digitise
    from flows.plain import run_plain

    return run_plain


def take_batch(
    batch: FolderBatch,
    *,
    settings: Settings,
    run_batch: RunBatch,
    sender: str,
    report: Report = log_report,
) -> list[Manifest]:
    """Receive ``batch`` through the one entrance, digitise it by id here, and remove its
    files once its records are archived, all under the batch's claim.

    Raises:
        BadInputError, OcrError: the files were refused (at the door, or quarantined by
            the run); they are still in the folder, for the watcher to move.
        BatchBusyError: another run holds these very scans; nothing was done.
        StorageError, SigningError, ConfigError: the batch waits (in the store's intake or
            this machine's inbox); its files are still in the folder.
    """
    files = [str(p) for p in batch.files]
    options = {"unit": batch.unit, "kind": batch.kind}
    with received_here(files, settings, sender=sender, **options) as (batch_id, held):
        report(
            logging.INFO,
            "watch_received",
            batch=batch_id,
            files=len(files),
            where=batch.where,
            **options,
        )
        manifests = run_batch([], batch_id=batch_id, settings=settings, claim=held)
        remove_files(batch.files, settings.watch.done_markers)
    return manifests


def run_watch(
    settings: Settings,
    *,
    folder: Path | None = None,
    stop: threading.Event | None = None,
    report: Report = log_report,
    run_batch: RunBatch | None = None,
    **watcher: Any,
) -> None:
    """Watch ``folder`` (default ``settings.watch_dir``) until ``stop`` is set; each batch
    goes through :func:`take_batch`. ``run_batch`` defaults to :func:`batch_runner`'s."""
    take = partial(
        take_batch,
        settings=settings,
        run_batch=run_batch or batch_runner(settings),
        sender=sender_name(),
        report=report,
    )
    Watcher(settings, take=take, report=report, folder=folder, stop=stop, **watcher).run()
