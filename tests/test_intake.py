"""The one entrance: a batch received into the store's intake is digitised by id on any machine.

"Machines" here are data dirs that share nothing but the object store and the catalog,
as a province's web server and workers do: the batch is received on one
(:func:`services.intake.receive`) and ``digitise_batch(batch_id=…)`` runs on another,
which reads the originals from the store. Both stores (a shared local directory and a
real S3 server) and both catalogs (SQLite, PostgreSQL).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from catalog.database import open_catalog
from flows.digitise import digitise_batch
from schemas.settings import LimitSettings, Settings
from services.intake import receive
from sohoa.errors import BadInputError, NotFoundError
from storage import intake
from storage.stores import open_store
from tests.s3server import s3_server, store_settings  # noqa: F401 (fixture)

UNIT = "H56.01"


@pytest.fixture(params=["local", "s3"])
def shared(request, tmp_path: Path, catalog_url: str) -> dict:
    """What two machines share: the store and the catalog (each param of both)."""
    if request.param == "local":
        store = {"backend": "local", "local_root": tmp_path / "shared-objects"}
        return {"store": store, "catalog_url": catalog_url}
    server = request.getfixturevalue("s3_server")
    s3 = store_settings(server, f"intake-{uuid.uuid4().hex[:12]}")
    keys = {"access_key": server.access_key, "secret_key": server.secret_key}
    return {"store": s3.model_dump() | keys, "catalog_url": catalog_url}


def machine(tmp_path: Path, shared: dict, name: str, **more) -> Settings:
    return Settings(data_dir=tmp_path / name, **shared, **more)


def test_a_batch_received_on_one_machine_is_archived_by_id_on_another(
    prefect_api_url, tmp_path, scan_pdf, shared
):
    web, worker = machine(tmp_path, shared, "web"), machine(tmp_path, shared, "worker")
    ticket = receive([scan_pdf], web, unit=UNIT, sender="web:clerk1")
    store = open_store(web)
    assert intake.read(store, ticket.batch_id) == ticket
    assert open_catalog(web.resolved_catalog_url).get_batch(ticket.batch_id).status == "waiting"
    [original] = ticket.files
    assert store.stat(original.key).sha256 == original.sha256 and original.name == scan_pdf.name

    [manifest] = digitise_batch(batch_id=ticket.batch_id, settings=worker)

    assert manifest.batch_id == ticket.batch_id and manifest.unit == UNIT
    assert [s.name for s in manifest.sources] == [scan_pdf.name]
    assert [o.key for o in manifest.originals] == [original.key]  # stored once, at receipt
    assert intake.read(store, ticket.batch_id) is None  # no longer waiting
    catalog = open_catalog(worker.resolved_catalog_url)
    assert catalog.get_batch(ticket.batch_id).status == "archived"
    assert [r.id for r in catalog.find_records_for_batch(ticket.batch_id)] == [manifest.record_id]
    assert not list((worker.inbox_dir).iterdir()) and not (web.data_dir / "inbox").exists()
    assert not any(worker.work_dir.iterdir())  # the scratch copy is gone


def test_the_same_files_sent_twice_are_one_batch_and_one_set_of_objects(
    prefect_api_url, tmp_path, scan_pdf, shared
):
    web, worker = machine(tmp_path, shared, "web"), machine(tmp_path, shared, "worker")
    first = receive([scan_pdf], web, unit=UNIT)
    again = receive([scan_pdf], web, unit=UNIT)
    assert again == first
    store = open_store(web)
    originals = sorted(k for k in store.list("originals/") if "/_" not in k)
    assert originals == [f.key for f in first.files]
    [manifest] = digitise_batch(batch_id=first.batch_id, settings=worker)
    archived = sorted(store.list("archive/"))

    # sent again once archived: waiting again, and a worker only takes the ticket away
    later = receive([scan_pdf], web, unit=UNIT)
    assert later.batch_id == first.batch_id and intake.read(store, first.batch_id) is not None
    [same] = digitise_batch(batch_id=first.batch_id, settings=machine(tmp_path, shared, "w2"))
    assert same.record_id == manifest.record_id and same.pdf.sha256 == manifest.pdf.sha256
    assert sorted(store.list("archive/")) == archived
    assert intake.read(store, first.batch_id) is None
    assert open_catalog(web.resolved_catalog_url).get_batch(first.batch_id).status == "archived"


def test_a_refused_file_is_refused_at_the_door_and_nothing_is_stored(tmp_path, shared):
    web = machine(tmp_path, shared, "web")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(BadInputError) as refused:
        receive([empty], web, unit=UNIT)
    assert "empty.pdf" in refused.value.render("vi")
    assert list(open_store(web).list("originals/")) == []
    with pytest.raises(NotFoundError):
        receive([tmp_path / "missing.pdf"], web, unit=UNIT)


def test_input_the_worker_refuses_is_quarantined_in_the_store_with_its_originals(
    prefect_api_url, tmp_path, scan_pdf, shared
):
    web = machine(tmp_path, shared, "web")
    tiny = LimitSettings(max_page_megapixels=0.5)  # this worker refuses every page
    worker = machine(tmp_path, shared, "worker", limits=tiny)
    ticket = receive([scan_pdf], web, unit=UNIT)
    with pytest.raises(BadInputError):
        digitise_batch(batch_id=ticket.batch_id, settings=worker)
    store = open_store(web)
    assert intake.read(store, ticket.batch_id) is None
    refused = json.loads(store.get_bytes(intake.quarantine_key(ticket.batch_id)))
    assert refused["batch_id"] == ticket.batch_id and refused["error"] == "InputTooLargeError"
    assert "MP" in refused["reason"]["en"] and refused["reason"]["vi"]
    assert all(store.exists(f.key) for f in ticket.files)  # the originals are kept
    row = open_catalog(web.resolved_catalog_url).get_batch(ticket.batch_id)
    assert row.status == "quarantined" and "MP" in row.reason
    assert list(store.list("archive/")) == []


def test_an_unknown_batch_id_is_not_found(prefect_api_url, tmp_path, shared):
    with pytest.raises(NotFoundError, match="0123abcd"):
        digitise_batch(batch_id="0123abcd", settings=machine(tmp_path, shared, "worker"))


def test_a_ticket_cannot_name_a_file_outside_the_scratch_folder(tmp_path, scan_pdf, shared):
    web = machine(tmp_path, shared, "web")
    ticket = receive([scan_pdf], web, unit=UNIT)
    store = open_store(web)
    body = json.loads(store.get_bytes(intake.ticket_key(ticket.batch_id)))
    key = intake.ticket_key(ticket.batch_id)
    tampered = {
        "a path": ("files", lambda f: [{**f[0], "name": "../../escape.pdf"}], "plain file name"),
        "another object": (
            "files",
            lambda f: [{**f[0], "key": "archive/H56.02/2026/01/x/y.pdf"}],
            "not the batch's original",
        ),
        "other bytes": ("files", lambda f: [{**f[0], "sha256": "0" * 64}], "not the batch's"),
        "a naive time": ("received_at", lambda t: t[:19], "time zone"),
        "a bad id": ("batch_id", lambda _: "bad id", "not a batch id"),
    }
    for what, (field, change, why) in tampered.items():
        store.put_bytes(key, json.dumps({**body, field: change(body[field])}).encode())
        with pytest.raises(BadInputError, match=why):
            intake.read(store, ticket.batch_id)
        assert intake.waiting(store) == ([], [key]), what


def test_the_cli_queues_a_batch_and_another_machine_digitises_it_by_id(
    tmp_path, prefect_api_url, scan_pdf
):
    """``sohoa ingest --queue`` receives into the intake (its deployment is one this Prefect
    server does not have, whichever tests deployed sohoa's before: the batch waits, and the
    CLI says why it was not dispatched);
    ``sohoa ingest --batch ID`` on another data dir sharing the store digitises it."""
    from conftest import make_cli

    shared_env = {
        "SOHOA_STORE__LOCAL_ROOT": str(tmp_path / "objects"),
        "SOHOA_CATALOG_URL": f"sqlite:///{tmp_path / 'catalog.sqlite'}",
    }
    clerk = make_cli(tmp_path / "clerk", prefect_api_url)
    missing = {"SOHOA_WEB__DEPLOYMENT": "digitise_batch/not-deployed-here"}
    queued = clerk("ingest", "--queue", "--json", str(scan_pdf), extra_env=shared_env | missing)
    assert queued.returncode == 0, queued.stderr
    [row] = json.loads(queued.stdout)
    assert row["files"] == 1 and row["flow_run"] is None
    assert "prefect dispatch" in queued.stdout + queued.stderr  # why it waits
    settings = Settings(data_dir=tmp_path / "clerk", store={"local_root": tmp_path / "objects"})
    assert intake.read(open_store(settings), row["batch_id"]).sender == "cli"
    assert not (tmp_path / "clerk" / "inbox").exists()

    worker = make_cli(tmp_path / "worker", prefect_api_url)
    done = worker("ingest", "--batch", row["batch_id"], "--json", extra_env=shared_env)
    assert done.returncode == 0, done.stderr
    [record] = json.loads(done.stdout)
    assert record["pages"] == 3
    assert intake.read(open_store(settings), row["batch_id"]) is None

    both = worker("ingest", str(scan_pdf), "--batch", row["batch_id"], extra_env=shared_env)
    assert both.returncode == 2 and "--batch" in both.stdout + both.stderr


def test_a_cli_ingest_killed_mid_batch_is_finished_from_the_intake_on_another_machine(
    tmp_path, scan_pdf
):
    """``sohoa ingest FILES`` goes through the one entrance too: killed (SIGKILL) while it
    reads the pages, its batch waits in the shared store's intake, not on the clerk's disk,
    and a machine that shares only the store and the catalog archives it exactly once."""
    import os
    import signal
    import subprocess
    import time

    from conftest import SOHOA, make_cli

    shared_env = {
        "SOHOA_STORE__LOCAL_ROOT": str(tmp_path / "objects"),
        "SOHOA_CATALOG_URL": f"sqlite:///{tmp_path / 'catalog.sqlite'}",
    }
    clerk = make_cli(tmp_path / "clerk")
    pages = tmp_path / "clerk" / "work"
    running = subprocess.Popen(
        [str(SOHOA), "ingest", str(scan_pdf), "--unit", UNIT, "--json"],
        env=clerk.env | shared_env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "stderr").open("w"),
    )
    deadline = time.monotonic() + 120
    while not any(pages.rglob("pages/*.*")) and running.poll() is None:
        assert time.monotonic() < deadline, "the ingest never started reading pages"
        time.sleep(0.05)
    assert running.poll() is None, (tmp_path / "stderr").read_text()
    os.kill(running.pid, signal.SIGKILL)
    running.wait()
    store = open_store(
        Settings(data_dir=tmp_path / "x", store={"local_root": tmp_path / "objects"})
    )
    [ticket], _ = intake.waiting(store)
    assert ticket.sender == "cli" and [f.name for f in ticket.files] == [scan_pdf.name]
    assert not any(store.list("archive/"))

    worker = make_cli(tmp_path / "worker")
    done = worker("ingest", "--batch", ticket.batch_id, "--json", extra_env=shared_env)
    assert done.returncode == 0, done.stderr
    [record] = json.loads(done.stdout)
    assert record["pages"] == 3
    assert intake.read(store, ticket.batch_id) is None
    assert sum(k.endswith(".pdf") for k in store.list("archive/")) == 1
    again = clerk("ingest", str(scan_pdf), "--unit", UNIT, "--json", extra_env=shared_env)
    assert json.loads(again.stdout)[0]["id"] == record["id"]  # the clerk's retry: a no-op
    assert sum(k.endswith(".pdf") for k in store.list("archive/")) == 1


def test_a_worker_reports_its_progress_into_the_batch_row_for_every_web_server(
    prefect_api_url, tmp_path, scan_pdf, monkeypatch
):
    """A batch run by id writes pages read and its stage into its catalog row as it goes
    (one web server on another machine reads them), not only its outcome at the end.

    Pages are sampled as a web page polls; each stage is read back through the web
    server's own connection right after the worker writes it, since a stage can now
    last less than a poll (signing a record takes 0.08 s)."""
    import threading
    import time

    from catalog.database import Catalog

    shared = {"store": {"local_root": tmp_path / "objects"}}
    shared["catalog_url"] = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    web, worker = machine(tmp_path, shared, "web"), machine(tmp_path, shared, "worker")
    ticket = receive([scan_pdf], web, unit=UNIT)
    catalog = open_catalog(web.resolved_catalog_url)
    reader = Catalog(web.resolved_catalog_url)  # the web server's own connection
    seen: list[tuple] = []
    stages_read: list[tuple] = []
    write = Catalog.note_progress

    def noted(self, batch_id, **progress):
        write(self, batch_id, **progress)
        if "stage" in progress:  # the worker's write, read back as the web server reads it
            row = reader.get_batch(batch_id)
            stages_read.append((row.status, row.stage))

    monkeypatch.setattr(Catalog, "note_progress", noted)
    run = threading.Thread(
        target=digitise_batch, kwargs={"batch_id": ticket.batch_id, "settings": worker}
    )
    run.start()
    while run.is_alive():
        row = catalog.get_batch(ticket.batch_id)
        seen.append((row.status, row.pages_done, row.stage, row.page_count))
        time.sleep(0.05)
    run.join()
    during = [s for s in seen if s[0] == "waiting" and s[1] is not None]
    assert during, seen[:5]  # progress was visible before the batch was archived
    done = [s[1] for s in during]
    assert done == sorted(done) and max(done) == 3 and {s[3] for s in during if s[1]} == {3}
    assert {"pages"} <= {s[2] for s in during}
    assert {("waiting", stage) for stage in ("sign", "store")} <= set(stages_read), stages_read


def test_a_fault_of_the_worker_after_reading_leaves_the_batch_waiting_not_refused(
    prefect_api_url, tmp_path, scan_pdf, monkeypatch
):
    """A BadInputError raised after the pages were read (the worker cannot read back its
    own page image: a full or failing disk, injected here) says nothing about the scan:
    the ticket stays for another try and the row is not marked quarantined."""
    import flows.batch
    from sohoa.errors import BadInputError as Bad

    def failing_disk(*args, **kwargs):
        raise Bad("corrupt_image", file="page-000.png", reason="I/O error")

    shared = {"store": {"local_root": tmp_path / "objects"}}
    shared["catalog_url"] = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    web, worker = machine(tmp_path, shared, "web"), machine(tmp_path, shared, "worker")
    ticket = receive([scan_pdf], web, unit=UNIT)
    monkeypatch.setattr(flows.batch, "build_archival_pdf", failing_disk)
    with pytest.raises(Bad):
        digitise_batch(batch_id=ticket.batch_id, settings=worker)
    store = open_store(web)
    assert intake.read(store, ticket.batch_id) is not None
    assert not store.exists(intake.quarantine_key(ticket.batch_id))
    assert open_catalog(web.resolved_catalog_url).get_batch(ticket.batch_id).status == "waiting"


def test_a_batch_finished_by_the_sweep_is_not_shown_running_for_its_dead_workers_run():
    """Prefect keeps a killed worker's run RUNNING for ever; once the sweep or the nightly
    run has archived the batch (row archived, no ticket), the row wins over that run."""
    from datetime import UTC, datetime

    from web.batches import _Facts, _status
    from web.jobs import JobView

    now = datetime.now(UTC)
    stuck = JobView("b1", None, "running", None, 0, "pages", (), None, now, now, None)
    archived = _Facts(
        status="archived", reason=None, in_review=0, in_inbox=False, quarantine_reason=None
    )
    still_waiting = _Facts(
        status="waiting", reason=None, in_review=0, in_inbox=True, quarantine_reason=None
    )
    assert _status(archived, stuck) == "archived"
    assert _status(still_waiting, stuck) == "running"
