"""Handing a received batch to the Prefect work pool, and reading back how its run goes.

Where several web servers and workers serve one province (``web.dispatch =
"deployment"``), an upload is received into the store's intake
(:func:`services.intake.receive`) and digitised by a flow run of the ``digitise``
deployment, ``digitise_batch(batch_id=…)``, on whichever worker of the pool takes it.
Each run is tagged with its batch, so any web process can read its state from the
Prefect server: nothing about a batch lives in one web process's memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.settings import Settings
from sohoa.errors import StorageError

BATCH_TAG = "sohoa-batch"
"""Tag of every dispatched digitise run (beside ``batch:<id>``)."""
ACTIVE_STATES = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")
"""Prefect state types of a run that has not ended (a retry waits as ``SCHEDULED``)."""


def batch_tag(batch_id: str) -> str:
    return f"batch:{batch_id}"


@dataclass(frozen=True)
class RunState:
    """The latest flow run of one batch, as the Prefect server tells it."""

    batch_id: str
    flow_run_id: str
    state: str
    """Prefect's state type: ``SCHEDULED``, ``PENDING``, ``RUNNING``, ``COMPLETED``,
    ``FAILED``, ``CRASHED``, ``CANCELLED``…"""
    scheduled_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def start_digitise(batch_id: str, settings: Settings, *, attempt_key: str) -> str:
    """Schedule ``digitise_batch(batch_id=…)`` on the work pool; return the flow run's id.

    ``attempt_key`` makes the call idempotent (Prefect's ``idempotency_key``): a double
    click or two web servers receiving the same upload schedule one run.

    Raises:
        StorageError: the Prefect server cannot be reached or has no such deployment;
            the batch still waits in the intake for the next run (or the nightly run).
    """
    from prefect.deployments import run_deployment

    with _prefect_errors("dispatch"):
        run = run_deployment(
            settings.web.deployment,
            parameters={"batch_id": batch_id},
            timeout=0,
            tags=[BATCH_TAG, batch_tag(batch_id)],
            idempotency_key=f"{settings.web.deployment}:{attempt_key}",
            as_subflow=False,
        )
    return str(run.id)


FIXITY_TAG = "sohoa-fixity"
FIXITY_STALE_AFTER = timedelta(hours=6)
"""A web-started check reads at most ``MAX_SAMPLE`` records (minutes); a run "active" for
longer is one whose worker died (Prefect keeps it running) and must not block the next."""


def start_fixity(settings: Settings, *, run_id: int, sample: int, unit: str | None) -> str:
    """Schedule the fixity check whose history row ``run_id`` a web server wrote; return
    the flow run's id. Orphans are looked for only when every unit is covered.

    Raises:
        StorageError: the Prefect server cannot be reached or has no such deployment.
    """
    from prefect.deployments import run_deployment

    parameters = {"sample": sample, "unit": unit, "orphans": unit is None, "run_id": run_id}
    with _prefect_errors("dispatch"):
        run = run_deployment(
            settings.web.fixity_deployment,
            parameters=parameters,
            timeout=0,
            tags=[FIXITY_TAG],
            idempotency_key=f"{settings.web.fixity_deployment}:{run_id}",  # one run per row
            as_subflow=False,
        )
    return str(run.id)


def fixity_running() -> bool:
    """Whether a dispatched fixity check is waiting or running (a stale one excepted).

    Raises:
        StorageError: the Prefect server cannot be reached.
    """
    runs = _read_runs(all_tags=[FIXITY_TAG], only_active=True, limit=20)
    fresh_after = datetime.now(UTC) - FIXITY_STALE_AFTER
    return any((r.expected_start_time or fresh_after) >= fresh_after for r in runs)


def latest_runs(batch_ids: list[str] | None = None, *, only_active: bool = False) -> dict:
    """Batch id → :class:`RunState` of its latest dispatched run (every batch, or these).

    Raises:
        StorageError: the Prefect server cannot be reached.
    """
    if batch_ids is None:
        runs = _read_runs(all_tags=[BATCH_TAG], only_active=only_active)
    else:
        runs = _read_runs(any_tags=[batch_tag(b) for b in batch_ids], only_active=only_active)
    latest: dict[str, RunState] = {}
    for run in runs:  # newest first
        batch_id = _batch_of(run.tags)
        if batch_id and batch_id not in latest:
            latest[batch_id] = _state_of(batch_id, run)
    return latest


def _read_runs(
    *,
    all_tags: list[str] | None = None,
    any_tags: list[str] | None = None,
    only_active: bool = False,
    limit: int = 200,
) -> list:
    """Flow runs with the tags, newest expected start first (one quick request)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.sorting import FlowRunSort

    tags = FlowRunFilterTags(all_=all_tags, any_=any_tags)
    states = FlowRunFilterStateType(any_=list(ACTIVE_STATES)) if only_active else None
    wanted = FlowRunFilter(tags=tags, state=FlowRunFilterState(type=states) if states else None)
    with _prefect_errors("read runs"), _quick(), get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=wanted, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit
        )


def _batch_of(tags: list[str]) -> str | None:
    return next((t.split(":", 1)[1] for t in tags if t.startswith("batch:")), None)


def _state_of(batch_id: str, run: Any) -> RunState:
    state = run.state.type.value if run.state is not None else "SCHEDULED"
    return RunState(
        batch_id,
        str(run.id),
        state,
        run.expected_start_time,
        run.start_time,
        run.end_time,
    )


READ_TIMEOUT_S = 5.0
"""A web page waits at most this long for the Prefect server's answer about a run."""


@contextmanager
def _quick() -> Iterator[None]:
    """Reads a web page waits on: one try with a short timeout, not Prefect's five retries
    (2 + 4 + 8 + 16 + 32 s) on a 60-s timeout, so a Prefect host that is down costs a page
    seconds, not minutes; what a run is doing is then unknown and the catalog's row shows."""
    from prefect.settings import (
        PREFECT_API_REQUEST_TIMEOUT,
        PREFECT_CLIENT_MAX_RETRIES,
        temporary_settings,
    )

    quick = {PREFECT_CLIENT_MAX_RETRIES: 0, PREFECT_API_REQUEST_TIMEOUT: READ_TIMEOUT_S}
    with temporary_settings(quick):
        yield


@contextmanager
def _prefect_errors(operation: str) -> Iterator[None]:
    """Turn a Prefect server that cannot be reached (or refuses) into a :class:`StorageError`."""
    import httpx
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    try:
        yield
    except (ObjectNotFound, PrefectHTTPStatusError, httpx.HTTPError, OSError) as exc:
        reason = f"Prefect server: {type(exc).__name__}"
        raise StorageError(operation=f"prefect {operation}", reason=reason) from None
