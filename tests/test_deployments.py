"""A sysadmin's first steps with sohoa's deployments, against a real Prefect server.

Why: with FastAPI 0.151+ Prefect 3.8's server answered its own CLI's filters with 422
(the client sends ``"limit": null``), so ``prefect deploy --all`` crashed after the first
deployment and ``deployment ls``, ``flow-run ls`` and ``work-pool ls`` failed, while every
flow run in the test suite went on working. The commands run here as the README's
``prefect.yaml`` says, in subprocesses on the session's Prefect server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PREFECT = Path(sys.executable).with_name("prefect")
TIMEOUT_S = 300


def prefect(api_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": api_url, "COLUMNS": "200"}
    return subprocess.run(
        [str(PREFECT), "--no-prompt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def deployed(prefect_api_url) -> subprocess.CompletedProcess:
    """The work pool created (unless this worker's server has it) and ``prefect deploy --all``."""
    pool = prefect(prefect_api_url, "work-pool", "create", "sohoa-process", "--type", "process")
    assert pool.returncode == 0 or "already exists" in pool.stdout + pool.stderr, pool.stderr
    return prefect(prefect_api_url, "deploy", "--all")


def test_prefect_deploy_all_and_the_listing_commands_work(prefect_api_url, deployed):
    assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-2000:]
    listed = prefect(prefect_api_url, "deployment", "ls")
    assert listed.returncode == 0, listed.stderr[-2000:]
    for name in ("digitise_batch/digitise", "nightly/nightly", "fixity_check/fixity"):
        assert name in listed.stdout
    for command in (("flow-run", "ls"), ("work-pool", "ls"), ("flow", "ls")):
        done = prefect(prefect_api_url, *command)
        assert done.returncode == 0, (command, done.stderr[-2000:])


def test_a_worker_anywhere_runs_the_deployments_from_its_installed_sohoa(deployed):
    """What a worker is given: a module path and no step that changes into this checkout."""
    from prefect.client.orchestration import get_client

    assert deployed.returncode == 0, deployed.stdout[-2000:]
    with get_client(sync_client=True) as client:
        stored = client.read_deployment_by_name("digitise_batch/digitise")
    assert stored.entrypoint == "flows.digitise.digitise_batch"
    assert not stored.pull_steps and str(ROOT) not in stored.model_dump_json()
