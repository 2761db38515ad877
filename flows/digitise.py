"""The ``digitise_batch`` flow: one upload in, signed searchable PDFs in the archive out.

Thin wiring only: the steps and their order are :mod:`flows.batch`'s (plain Python,
shared with :mod:`flows.plain`); here each step is a Prefect task and the batch's
pages are Prefect task runs on the flow's task runner (threads, or a Dask cluster).
Every task's arguments go in ``quote``: Prefect otherwise walks every word of the
batch's pages, readings and drafts looking for futures, three times per call
(0.5-1 s a call on a 15-page batch, on the serial tail the clerk waits for).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows import batch as steps
from flows.progress import ProgressSink
from schemas.models import Manifest
from schemas.settings import Kind, Settings
from sohoa.errors import ConfigError, SohoaError

DASK_CONNECT_TIMEOUT_S = 10

_TASKS: dict[Callable[..., Any], Any] = {
    step: task(name=name, cache_policy=NO_CACHE)(step)
    for step, name in (
        (steps.extract_pages, "extract-pages"),
        (steps.ocr_page, "ocr-page"),
        (steps.draft, "fields-and-split"),
        (steps.build_pdf, "build-and-sign-pdf"),
        (steps.store_originals, "store-originals"),
        (steps.commit, "store-and-catalog"),
        (steps.catalog_stored, "catalog-stored-record"),
        (steps.signed_earlier, "reuse-signed-pdf"),
        (steps.find_committed, "find-committed"),
    )
}
"""Each step of :mod:`flows.batch` as a Prefect task, under the names its runs show."""


def worth_retrying(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect's retry condition for storage steps (:func:`flows.batch.worth_retrying`)."""
    return steps.worth_retrying(state.result(raise_on_failure=False))


class PrefectEngine:
    """Runs each step as a task of the current flow run (:class:`flows.batch.Engine`)."""

    @property
    def log(self):
        return get_run_logger()

    def call(self, step, *args: Any, retry_delays: Sequence[float] = ()) -> Any:
        run = _TASKS[step]
        if retry_delays:
            run = run.with_options(
                retries=len(retry_delays),
                retry_delay_seconds=list(retry_delays),
                retry_condition_fn=worth_retrying,
            )
        return run(*(quote(a) for a in args))

    def each_done(self, step, items, args: tuple, window: int) -> Iterator[tuple[int, Any]]:
        """Submit ``items`` as task runs, a new one as an earlier one finishes.

        Why here and not only in the task runner: a deployment or the nightly run starts
        the bare flow with Prefect's default thread pool, which has no bound. A page's
        arguments are small (a path, settings) and are not quoted: Dask would take the
        quote's tuple apart on its way to a worker."""
        run, queued = _TASKS[step], iter(enumerate(items))
        running: dict[Any, int] = {}

        def fill() -> None:
            while len(running) < window and (nxt := next(queued, None)) is not None:
                running[run.submit(nxt[1], *args)] = nxt[0]  # no quote: Dask unpacks tuples

        fill()
        while running:
            future = next(as_completed(list(running)))
            yield running.pop(future), future.result()
            fill()


@flow(name="digitise_batch", validate_parameters=False, log_prints=False)
def digitise_batch(
    files: list[str] | None = None,
    *,
    batch_id: str | None = None,
    kind: Kind = "thanh-phan",
    unit: str | None = None,
    dossier_code: str | None = None,
    settings: Settings | None = None,
    progress: Any = None,
    claim: Any = None,
) -> list[Manifest]:
    """Digitise one batch into signed, archived, catalogued records: ``files`` (in order,
    on this machine), or the batch ``batch_id`` received into the store's intake by any
    machine (:func:`flows.batch.digitise`, which says what each outcome leaves behind).

    ``progress`` and ``claim`` are typed loosely: Prefect builds a schema of the
    parameters (a :class:`flows.progress.ProgressSink`, a :class:`storage.claims.Claim`).
    """
    return steps.digitise(
        PrefectEngine(),
        files,
        batch_id=batch_id,
        kind=kind,
        unit=unit,
        dossier_code=dossier_code,
        settings=settings,
        progress=progress,
        claim=claim,
    )


def run_digitise(
    files: list[str], *, settings: Settings, progress: ProgressSink | None = None, **options
) -> list[Manifest]:
    """Run the flow with a thread pool sized to the configured OCR workers, or on the Dask
    cluster of ``dask_address`` (its pages read as many at a time as it has threads)."""
    if settings.dask_address:
        runner, settings = _on_dask(settings)
    else:
        runner = ThreadPoolTaskRunner(max_workers=settings.ocr.workers or os.cpu_count() or 1)
    return digitise_batch.with_options(task_runner=runner)(
        files, settings=settings, progress=progress, **options
    )


def _on_dask(settings: Settings) -> tuple[Any, Settings]:
    """prefect-dask's runner on the cluster, and settings whose ``ocr.workers`` (the pages
    in flight, :func:`_read_all`) is the cluster's thread count unless set.

    Raises:
        ConfigError: the scheduler cannot be reached.
    """
    from distributed import Client
    from prefect_dask import DaskTaskRunner

    if not settings.ocr.workers:
        try:
            with Client(settings.dask_address, timeout=DASK_CONNECT_TIMEOUT_S) as client:
                threads = sum(client.nthreads().values())
        except OSError as exc:  # distributed raises OSError subclasses when it cannot connect
            raise ConfigError(
                reason=f"no Dask scheduler at {settings.dask_address}: {exc}"
            ) from None
        ocr = settings.ocr.model_copy(update={"workers": max(1, threads)})
        settings = settings.model_copy(update={"ocr": ocr})
    return DaskTaskRunner(address=settings.dask_address), settings


__all__ = ["SohoaError", "digitise_batch", "run_digitise"]
