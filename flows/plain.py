"""A batch run without Prefect: ``sohoa ingest`` on embedded defaults.

Why: Prefect 3 has no local mode. A flow run with no ``PREFECT_API_URL`` starts a
temporary Prefect server in a subprocess (≈ 8-10 s here), and importing Prefect
costs ≈ 2 s more, on every command; a one-page batch is read in 2-7 s. So when no
Prefect server is configured, the CLI runs :func:`flows.batch.digitise` with
:class:`PlainEngine`: the same steps in the same order, the same claims, the same
retries of storage steps and the same bound on pages read at once; what it lacks is
the record of the run in a Prefect server, which embedded defaults would throw
away with the temporary server anyway. With a server configured, or a Dask cluster,
the CLI runs the ``digitise_batch`` flow (:mod:`flows.digitise`) as before.

This module must not import Prefect (``tests/test_floorplan.py`` checks it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from flows import batch as steps
from flows.progress import ProgressSink
from schemas.models import Manifest
from schemas.settings import Settings
from sohoa.programs.run import stop_all

T = TypeVar("T")

log = logging.getLogger("sohoa.digitise")  # quiet unless -v (cli.app)


class PlainEngine:
    """Runs each step as a plain call, a batch's pages on a thread pool (:class:`flows.batch.Engine`).

    Args:
        sleep: how a retry waits (tests pass a recorder).
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep

    @property
    def log(self) -> logging.Logger:
        return log

    def call(self, step: Callable[..., T], *args: Any, retry_delays: Sequence[float] = ()) -> T:
        for delay in (*retry_delays, None):
            try:
                return step(*args)
            except Exception as exc:
                if delay is None or not steps.worth_retrying(exc):
                    raise
                log.warning("%s failed, retried in %g s: %s", step.__name__, delay, exc)
                self._sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")

    def each_done(
        self, step: Callable[..., T], items: Sequence[Any], args: tuple, window: int
    ) -> Iterator[tuple[int, T]]:
        """At most ``window`` items in flight: a page waiting for a thread is not started
        (nor decoded), so memory stays that of ``window`` pages. On a failure the pages
        not yet started are dropped and the running ones finish; on an interrupt (the
        command stopped) their programs are killed too."""
        queued = iter(enumerate(items))
        with ThreadPoolExecutor(max_workers=window, thread_name_prefix="page") as pool:
            running: dict[Future, int] = {}
            try:
                while True:
                    while len(running) < window and (nxt := next(queued, None)) is not None:
                        running[pool.submit(step, nxt[1], *args)] = nxt[0]
                    if not running:
                        return
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield running.pop(future), future.result()
            except KeyboardInterrupt:  # the command is being stopped: so are its pages
                stop_all()
                raise
            finally:
                for future in running:
                    future.cancel()


def run_plain(
    files: list[str],
    *,
    settings: Settings,
    progress: ProgressSink | None = None,
    **options: Any,
) -> list[Manifest]:
    """Digitise one batch in this process, without Prefect (module docstring).

    Takes what :func:`flows.digitise.run_digitise` takes and raises what it raises.
    """
    return steps.digitise(PlainEngine(), files, settings=settings, progress=progress, **options)
