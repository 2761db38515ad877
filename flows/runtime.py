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
