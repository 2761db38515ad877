"""A sysadmin's first steps with sohoa's deployments, against a real Prefect server.

Why: with FastAPI 0.151+ Prefect 3.8's server answered its own CLI's filters with 422
(the client sends ``"limit": null``), so ``prefect deploy --all`` crashed after the first
deployment and ``deployment ls``, ``flow-run ls`` and ``work-pool ls`` failed, while every
flow run in the test suite went on working. The commands run here as the README's
``prefect.yaml`` says, in subprocesses on the session's Prefect server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_flow import TesseractCount

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
    names = ("digitise_batch/digitise", "nightly/nightly", "fixity_check/fixity")
    for name in (*names, "drain_intake/intake-sweep"):
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


def test_a_worker_runs_a_digitise_deployment_to_an_archived_record(
    prefect_api_url, deployed, tmp_path, scan_pdf
):
    """A sysadmin's path end to end: a deployment run of ``digitise`` taken by a real
    ``prefect worker`` (a process work pool), with sohoa's settings from the worker's
    environment; the batch is archived once, as from the command line."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from catalog.database import open_catalog
    from schemas.settings import Settings

    data = tmp_path / "worker-data"
    run = run_deployment(
        "digitise_batch/digitise",
        parameters={"files": [str(scan_pdf)], "unit": "H56.01"},
        timeout=0,  # only schedule it: the worker below takes it
    )
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "SOHOA_DATA_DIR": str(data)}
    env |= {"SOHOA_OCR__WORKERS": "1", "PREFECT_WORKER_QUERY_SECONDS": "1"}
    worker = subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", "sohoa-process", "--type", "process"],
        cwd=tmp_path,  # not the checkout: the deployment must not need it
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with TesseractCount(root=worker.pid) as tesseracts:
            state = _wait_for_end(run.id, get_client)
    finally:
        errors = stop_worker(worker)
    assert state.is_completed(), (state, errors[-3000:])
    assert tesseracts.seen and tesseracts.most == 1  # ocr.workers, not one per page (3)
    settings = Settings(data_dir=data)
    (row,) = open_catalog(settings.resolved_catalog_url).list_records()
    assert row.unit == "H56.01" and row.page_count == 3
    assert (settings.local_store_root / row.pdf_key).is_file()


def stop_worker(worker: subprocess.Popen, *, group: bool = False, grace_s: float = 60) -> str:
    """Stop a ``prefect worker`` as systemd or ``docker stop`` would; return its stderr.

    SIGTERM first, a second SIGTERM after ``grace_s``, then SIGKILL. Why: ``prefect worker
    start`` turns the first SIGTERM into a SIGINT to itself (a graceful stop: no new runs,
    the running ones finish) and only the second into SIGKILL
    (``prefect.utilities.processutils.setup_signal_handlers_worker``); under a loaded test
    session an idle worker was seen not to leave its poll loop after the first one, and
    the test then left it running for good. ``group``: signal the worker's process group.
    """
    send = (lambda s: os.killpg(worker.pid, s)) if group else worker.send_signal
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        with contextlib.suppress(ProcessLookupError):
            send(sig)
        try:
            return worker.communicate(timeout=wait_s)[1] or ""
        except subprocess.TimeoutExpired:
            continue
    return ""


def start_worker(prefect_api_url: str, cwd: Path, **sohoa_env: str) -> subprocess.Popen:
    """A real ``prefect worker`` of the process pool, sohoa's settings in its environment."""
    env = {**os.environ, "PREFECT_API_URL": prefect_api_url, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    env |= {f"SOHOA_{k.upper()}": v for k, v in sohoa_env.items()}
    return subprocess.Popen(
        [str(PREFECT), "worker", "start", "--pool", "sohoa-process", "--type", "process"],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_web_uploads_become_flow_runs_that_a_worker_on_another_machine_archives(
    prefect_api_url, deployed, tmp_path, scan_pdf
):
    """``web.dispatch = "deployment"``: the upload is received into the store's intake and
    run on the work pool; two web servers and a worker share only the store, the catalog
    and the Prefect server, and both web servers follow the batch to its records."""
    from prefect.client.orchestration import get_client
    from test_web_clerk import add_people, signed_in, upload_api

    from catalog.database import open_catalog
    from schemas.settings import Settings
    from storage import intake
    from storage.stores import open_store
    from web.app import create_app

    assert deployed.returncode == 0, deployed.stdout[-2000:]
    objects, catalog_url = tmp_path / "objects", f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    shared = {"store": {"local_root": objects}, "catalog_url": catalog_url}
    web = Settings(data_dir=tmp_path / "web", web={"dispatch": "deployment"}, **shared)
    web2 = Settings(data_dir=tmp_path / "web2", web={"dispatch": "deployment"}, **shared)
    add_people(web)
    browser, other = (
        signed_in(create_app(web), "chi.clerk"),
        signed_in(create_app(web2), "an.clerk"),
    )

    first = upload_api(browser, scan_pdf, unit="H56.01")
    assert first.status_code == 202, first.text
    batch_id = first.json()["id"]
    assert first.json()["status"] == "waiting"
    store = open_store(web)
    assert intake.read(store, batch_id).sender == "web:chi.clerk"
    assert not web.inbox_dir.exists()  # nothing is digitised on the web server
    again = upload_api(browser, scan_pdf, unit="H56.01")  # a double click: one batch, one run
    assert again.json()["id"] == batch_id
    assert other.get(f"/api/batches/{batch_id}").json()["status"] == "waiting"

    worker_data = tmp_path / "worker"
    worker = start_worker(
        prefect_api_url,
        tmp_path,
        data_dir=str(worker_data),
        store__local_root=str(objects),
        catalog_url=catalog_url,
        ocr__workers="1",
    )
    try:
        final = _wait_for_batch(other, batch_id)
        check = _fixity_on_a_worker(create_app(web2))  # started on one web server
        [fixity_run] = _runs_tagged("sohoa-fixity")  # it ran on the worker, not in the web app
        # the run writes its row before it reports its end: stop the worker only after that
        fixity_state = _wait_for_end(fixity_run.id, get_client)
    finally:
        errors = stop_worker(worker)
    assert final["status"] in ("archived", "needs_review"), (final, errors[-3000:])
    assert check["state"] == "done" and check["verdict"] == "ok", (check, errors[-3000:])
    assert check["checked"] == 1 and check["orphans"] == 0
    assert check["started_by"] == "web:binh.audit"
    assert fixity_run.parameters["run_id"] == check["id"] and fixity_state.is_completed()
    assert final["pages_total"] == 3 and len(final["records"]) == 1
    assert intake.read(store, batch_id) is None
    rows = open_catalog(catalog_url).find_records_for_batch(batch_id)
    assert [r.id for r in rows] == [final["records"][0]["id"]]
    assert browser.get(f"/api/batches/{batch_id}").json()["status"] == final["status"]
    from flows.dispatch import latest_runs

    assert latest_runs([batch_id])[batch_id].state == "COMPLETED"
    assert len(_runs_of(batch_id)) == 1  # the double click scheduled nothing more


def _fixity_on_a_worker(app) -> dict:
    """A fixity check started on ``/api/fixity``, run by the worker, followed to its end."""
    import time

    from test_web_clerk import signed_in
    from webclient import csrf_of

    auditor = signed_in(app, "binh.audit")
    token = csrf_of(auditor.get("/verify").text)
    started = auditor.post("/api/fixity", json={"sample": 5}, headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.text
    run = started.json()
    again = auditor.post("/api/fixity", json={"sample": 5}, headers={"X-CSRF-Token": token})
    assert again.status_code == 409, again.text  # one check at a time, wherever it runs
    deadline = time.monotonic() + TIMEOUT_S
    while run["state"] == "running" and time.monotonic() < deadline:
        time.sleep(1)
        run = auditor.get(f"/api/fixity/{run['id']}").json()
    return run


def _runs_of(batch_id: str) -> list:
    return _runs_tagged(f"batch:{batch_id}")


def _runs_tagged(tag: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    wanted = FlowRunFilter(tags=FlowRunFilterTags(all_=[tag]))
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_run_filter=wanted)


def _wait_for_batch(browser, batch_id: str, timeout_s: float = TIMEOUT_S) -> dict:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        seen = browser.get(f"/api/batches/{batch_id}").json()
        if seen["done"]:
            return seen
        time.sleep(1)
    raise AssertionError(f"batch {batch_id} not done within {timeout_s} s: {seen}")


def _wait_for_end(run_id, get_client, timeout_s: float = TIMEOUT_S):
    import time

    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(run_id).state
            if state is not None and state.is_final():
                return state
            time.sleep(1)
    raise AssertionError(f"flow run {run_id} did not end within {timeout_s} s")
