"""One province on loopback: two Prefect workers, a web app, the CLI, and a worker killed mid-batch.

The topology of ``docker-compose.yml`` run as processes: PostgreSQL (the catalog and the
claims), SeaweedFS (the store and its intake), the session's Prefect server with the
``sohoa-process`` pool and sohoa's deployments, a web app that hands uploads to the pool
(``web.dispatch = "deployment"``), the CLI's ``ingest --queue``, and real ``prefect
worker`` processes, each with a data directory of its own. Worker A is killed (SIGKILL, its
whole process group) while Tesseract reads one of its batches; worker B takes the runs
still scheduled, and its nightly run finishes the batch A held, whose claim (a PostgreSQL
advisory lock) died with A's connection. Every page ends archived exactly once: one record
per batch, one version of every archive object, no catalog row without its objects, an
empty intake.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from conftest import make_cli
from test_deployments import PREFECT, deployed  # noqa: F401 (fixture)
from test_flow import TesseractCount
from test_nightly import scan
from test_web_clerk import add_people, signed_in, upload_api

from catalog.database import open_catalog
from schemas.settings import NightlySettings, Settings
from storage import intake
from storage.object_keys import AUDIT_PREFIX
from storage.stores import open_store
from tests.s3server import TEST_RETENTION, s3_server  # noqa: F401 (fixture)
from web.app import create_app

WAIT_S = 600


@pytest.fixture
def province(tmp_path, pg_url, s3_server) -> dict:  # noqa: F811
    """What every machine shares: the catalog, the store (with its credentials)."""
    stem = f"prov-{uuid.uuid4().hex[:10]}"
    store = {"backend": "s3", "endpoint": s3_server.endpoint, "bucket": stem, "part_size_mb": 5}
    store |= TEST_RETENTION | {"access_key": s3_server.access_key}
    store |= {"secret_key": s3_server.secret_key}
    return {"catalog_url": pg_url, "store": store, "bucket": stem, "server": s3_server}


def machine_env(province: dict, data_dir: Path) -> dict[str, str]:
    """A machine's sohoa settings as environment variables (what compose gives a worker)."""
    env = {"SOHOA_DATA_DIR": str(data_dir), "SOHOA_CATALOG_URL": province["catalog_url"]}
    env |= {f"SOHOA_STORE__{k.upper()}": str(v) for k, v in province["store"].items()}
    return env | {"SOHOA_OCR__WORKERS": "1", "SOHOA_STORE__RETRIES": "0"}


def start_worker(api_url: str, province: dict, data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": api_url, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    env |= machine_env(province, data_dir)
    args = [str(PREFECT), "worker", "start", "--pool", "sohoa-process", "--type", "process"]
    return subprocess.Popen(
        [*args, "--limit", "1"],
        cwd=data_dir.parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: killed with its flow runs
    )


def _kill_machine(worker: subprocess.Popen) -> None:
    """SIGKILL a worker and every process under it, as a machine lost mid-batch.

    Not its process group alone: Prefect's process worker may start each flow run in a
    session of its own, and that run then outlived the worker and finished its batch
    itself, so nothing was left for the nightly run to recover.
    """
    import psutil

    tree = [psutil.Process(worker.pid), *psutil.Process(worker.pid).children(recursive=True)]
    for process in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(tree, timeout=30)
    worker.wait()


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(
    prefect_api_url,
    deployed,  # noqa: F811
    tmp_path,
    province,
):
    from flows.dispatch import latest_runs
    from flows.nightly import run_nightly

    assert deployed.returncode == 0, deployed.stdout[-2000:]
    settings = {"catalog_url": province["catalog_url"], "store": province["store"]}
    web = Settings(data_dir=tmp_path / "web", web={"dispatch": "deployment"}, **settings)
    add_people(web)
    browser = signed_in(create_app(web), "chi.clerk")
    ids = [upload_api(browser, scan(tmp_path / "scans", n)).json()["id"] for n in (21, 22)]
    clerk = make_cli(tmp_path / "clerk", prefect_api_url)
    queued = clerk(
        "ingest",
        "--queue",
        "--json",
        str(scan(tmp_path / "scans", 23)),
        extra_env=machine_env(province, tmp_path / "clerk"),
    )
    assert queued.returncode == 0, queued.stderr

    [row] = json.loads(queued.stdout)
    assert row["flow_run"], queued.stdout  # dispatched to the pool
    ids.append(row["batch_id"])

    worker_a = start_worker(prefect_api_url, province, tmp_path / "worker-a")
    with TesseractCount(root=worker_a.pid) as reading:
        deadline = time.monotonic() + WAIT_S
        while not reading.seen and time.monotonic() < deadline:
            time.sleep(0.05)
    assert reading.seen, "worker A never started reading"
    _kill_machine(worker_a)
    killed = [i for i, r in latest_runs(ids).items() if r.state == "RUNNING"]
    assert len(killed) == 1  # the run A held stays "running" for ever: nobody reports it

    worker_b = start_worker(prefect_api_url, province, tmp_path / "worker-b")
    try:
        _wait_until(lambda: _ended(latest_runs(ids), killed) == len(ids) - 1)
        nightly = NightlySettings(fixity_sample=0, report_formats=())
        b = Settings(data_dir=tmp_path / "worker-b", nightly=nightly, **settings)
        night = run_nightly(b, day="2026-12-01")
    finally:
        os.killpg(worker_b.pid, signal.SIGTERM)
        worker_b.wait(timeout=60)

    assert [(o.batch_id, o.result) for o in night.batches] == [(killed[0], "archived")]
    states = latest_runs(ids)
    assert all(states[i].state == "COMPLETED" for i in ids if i not in killed)
    _assert_each_archived_once(province, b, ids)


def _ended(runs: dict, killed: list[str]) -> int:
    return sum(
        r.state in ("COMPLETED", "FAILED", "CRASHED") for i, r in runs.items() if i not in killed
    )


def _wait_until(condition, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(1)


def _assert_each_archived_once(province: dict, settings: Settings, ids: list[str]) -> None:
    catalog, store = open_catalog(settings.resolved_catalog_url), open_store(settings)
    for batch_id in ids:
        assert catalog.get_batch(batch_id).status == "archived"
        (record,) = catalog.find_records_for_batch(batch_id)
        assert store.exists(record.pdf_key) and store.exists(record.manifest_key)
    assert catalog.count_records() == len(ids)
    assert intake.waiting(store) == ([], [])
    client = province["server"].client()
    versions = list(
        client.list_objects(f"{province['bucket']}-archive", recursive=True, include_version=True)
    )
    names = [v.object_name for v in versions if not v.object_name.startswith(AUDIT_PREFIX)]
    assert len(names) == len(set(names)) == 2 * len(ids)  # a PDF and a manifest each, once
