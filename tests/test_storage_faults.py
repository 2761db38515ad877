"""Storage failures mid-run: the real S3 server (SeaweedFS) is stopped while the flow runs.

A progress sink stops the server at a chosen point of a real ``digitise_batch`` run: once
while pages are being read (so nothing can be stored), once between the two records of a
split batch (so the first is archived and the second is not). Each time the storage tasks
retry with backoff, then the batch ends ``failed`` with the reason, the original stays
in the inbox, and no catalog row points at a missing object. With the server back, a
later run completes the batch and every record is archived exactly once.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import pytest
import s3server
from archive_fixture import make_scans
from s3server import s3_server, s3_store  # noqa: F401

from catalog.database import Catalog
from schemas.settings import Settings
from sohoa.errors import StorageError


class StopServer:
    """A :class:`flows.progress.ProgressSink` that stops the S3 server at one event.

    ``at`` is ``("page", n)`` (after the n-th page is read) or ``("sign", n)`` (when
    the n-th record starts being signed, i.e. after the records before it were stored).
    """

    def __init__(self, server, at: tuple[str, int] | None) -> None:
        self.server, self.at, self.seen = server, at, {"page": 0, "sign": 0}
        self.stopped = False

    def _event(self, kind: str) -> None:
        self.seen[kind] += 1
        if self.at == (kind, self.seen[kind]):
            self.server.stop()
            self.stopped = True

    def batch_started(self, batch_id: str, files: int) -> None:
        pass

    def pages_found(self, batch_id: str, pages: int) -> None:
        pass

    def page_done(self, batch_id: str, index: int) -> None:
        self._event("page")

    def stage(self, batch_id: str, name: str) -> None:
        if name == "sign":
            self._event("sign")


@pytest.fixture
def s3_settings(tmp_path, s3_server, s3_store) -> Settings:
    """Embedded catalog and inbox, objects in fresh buckets; quick retries (1 retry, 0.2 s)."""
    store = s3server.store_settings(
        s3_server,
        s3_store.buckets["archive"].removesuffix("-archive"),
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        retries=1,
        retry_delay_s=0.2,
    )
    return Settings(data_dir=tmp_path / "data", store=store)


def catalog_state(settings: Settings, store) -> tuple[dict, list]:
    """The batch rows and the record rows, checking every row's objects are in the store."""
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        batches = {b: catalog.get_batch(b) for b in _batch_ids(settings)}
        rows = catalog.list_records()
    finally:
        catalog.close()
    for row in rows:  # no catalog row may point at a missing object
        assert store.exists(row.pdf_key) and store.exists(row.manifest_key), row.id
    return batches, rows


def _batch_ids(settings: Settings) -> list[str]:
    import sqlite3

    db = settings.data_dir / "catalog.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("select id from batches")]
    conn.close()
    return ids


def waiting_in_inbox(settings: Settings) -> list[bytes]:
    return [p.read_bytes() for p in sorted(settings.inbox_dir.rglob("*.pdf"))]


def flow_task_runs(settings: Settings, runs: int, flow_name: str = "digitise_batch"):
    """This test's newest flow run's state and its task runs (name, state, run count).

    ``runs``: how many runs of ``flow_name`` the test has made with ``settings`` so far.
    """
    from conftest import flow_runs_of
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    ours = flow_runs_of(flow_name, settings.data_dir)
    assert len(ours) == runs, [(r.name, r.state) for r in ours]
    run = ours[0]
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
            sort=TaskRunSort.EXPECTED_START_TIME_DESC,
            limit=100,
        )
    return run.state, [(t.name.rsplit("-", 1)[0], t.state.type.value, t.run_count) for t in tasks]


@pytest.mark.timeout(600)
def test_s3_stopped_mid_run_then_a_later_run_completes_exactly_once(
    s3_settings, s3_server, s3_store, tmp_path, prefect_api_url
):
    from flows.digitise import run_digitise

    _, stack = make_scans(tmp_path / "scans")  # request | separator sheet | form: two records
    original = stack.read_bytes()
    settings = s3_settings

    def run(at):
        sink = StopServer(s3_server, at)
        try:
            return run_digitise([str(stack)], settings=settings, progress=sink, unit="H56.01")
        finally:
            assert sink.stopped == (at is not None)
            s3_server.start()  # back for the checks (and the next run); a no-op if running

    # 1. the server goes away while pages are read: nothing can be stored
    with pytest.raises(StorageError):
        run(("page", 1))
    state, tasks = flow_task_runs(settings, runs=1)
    assert state.is_failed()
    [originals] = [t for t in tasks if t[0] == "store-originals"]
    assert originals[1] == "FAILED" and originals[2] == 2  # tried, retried once, gave up
    batches, rows = catalog_state(settings, s3_store)
    [batch] = batches.values()
    assert batch.status == "failed" and "Storage error" in batch.reason, batch
    assert rows == [] and list(s3_store.list("archive/")) == []
    assert waiting_in_inbox(settings) == [original]
    assert not settings.quarantine_dir.exists()

    # 2. the server goes away between the two records: the first is archived, not the second
    with pytest.raises(StorageError):
        run(("sign", 2))
    batches, rows = catalog_state(settings, s3_store)
    assert batch.id in batches and batches[batch.id].status == "failed"
    assert len(rows) == 1 and waiting_in_inbox(settings) == [original]
    [first] = rows
    first_pdf, first_manifest = s3_store.stat(first.pdf_key), s3_store.get_bytes(first.manifest_key)

    # 3. with the server back, a later run completes the batch
    manifests = run(None)
    assert len(manifests) == 2 and manifests[0].record_id == first.id
    state, tasks = flow_task_runs(settings, runs=3)
    assert state.is_completed()
    assert [t[0] for t in tasks].count("store-and-catalog") == 1  # only the second record
    assert [t[0] for t in tasks].count("build-and-sign-pdf") == 1
    batches, rows = catalog_state(settings, s3_store)
    assert batches[batch.id].status == "archived" and batches[batch.id].reason is None
    assert batches[batch.id].page_count == 3
    assert len(rows) == 2
    # exactly once: the first record's objects are the ones stored by run 2, untouched
    assert s3_store.stat(first.pdf_key).sha256 == first_pdf.sha256
    assert s3_store.get_bytes(first.manifest_key) == first_manifest
    archived = list(s3_store.list("archive/"))
    assert len(archived) == 4 and sum(k.endswith(".pdf") for k in archived) == 2
    assert len(list(s3_store.list("originals/"))) == 1
    assert waiting_in_inbox(settings) == []  # released only now
