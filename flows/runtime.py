"""How a process prepares Prefect before its first flow run (the CLI's and the web app's alike)."""

from __future__ import annotations

import os
from pathlib import Path


def prepare_prefect(settings) -> None:
    """Quiet, offline, self-contained Prefect unless the user configured their own."""
    os.environ.setdefault("PREFECT_HOME", str(settings.data_dir / "prefect"))
    # Prefect creates its home without parents: on a first run the data dir does not exist yet.
    Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Prefect's 20 s default is too short for its first start on a busy two-core machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # Task failures are reported by the CLI in one line; Prefect's tracebacks only with -v.
    os.environ.setdefault(
        "PREFECT_LOGGING_LEVEL", "INFO" if os.environ.get("SOHOA_VERBOSE") else "CRITICAL"
    )
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


def runs_on_prefect(settings) -> bool:
    """Whether a command's batches run as Prefect flow runs (:mod:`flows.digitise`) or
    plainly in the process (:mod:`flows.plain`): on Prefect when a Prefect server is
    configured (``PREFECT_API_URL``: the runs are recorded there) or the pages go to a
    Dask cluster (prefect-dask's runner); plainly on embedded defaults, where Prefect
    would start a temporary server for every command (``flows/plain.py`` says why)."""
    return bool(os.environ.get("PREFECT_API_URL") or settings.dask_address)
