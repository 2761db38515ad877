"""The digitise_batch flow as Prefect sees it: a real flow run with one task run per page."""

from __future__ import annotations

import pytest
from conftest import flow_runs_of
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort

from flows.digitise import run_digitise
from schemas.settings import Settings


def test_flow_run_and_page_tasks_are_recorded(prefect_api_url, tmp_path, scan_pdf):
    settings = Settings(data_dir=tmp_path / "data")
    [manifest] = run_digitise([str(scan_pdf)], settings=settings, kind="ket-qua", unit="U01")
    assert manifest.kind == "ket-qua" and len(manifest.pages) == 3
    assert [p.index for p in manifest.pages] == [0, 1, 2]
    assert all(p.word_count > 5 for p in manifest.pages)
    [ours] = flow_runs_of("digitise_batch", settings.data_dir)  # this test's one run so far
    assert ours.state and ours.state.is_completed(), ours.state
    assert ours.parameters["files"] == [str(scan_pdf)] and ours.parameters["unit"] == "U01"
    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[ours.id])),
            sort=TaskRunSort.EXPECTED_START_TIME_DESC,
            limit=100,
        )
    names = sorted(t.name.rsplit("-", 1)[0] for t in tasks)
    assert names.count("ocr-page") == 3
    assert {"extract-pages", "build-and-sign-pdf", "store-and-catalog"} <= set(names)
    # the same batch again is recognised and not reprocessed
    [again] = run_digitise([str(scan_pdf)], settings=settings, kind="ket-qua", unit="U01")
    assert again.record_id == manifest.record_id and again.created_at == manifest.created_at
    assert len(flow_runs_of("digitise_batch", settings.data_dir)) == 2  # a run of its own


def test_record_without_dossier_code_says_what_to_recheck(prefect_api_url, tmp_path):
    from samples.synth import render_page, write_png

    scan = tmp_path / "don.png"
    write_png(scan, render_page(["ĐƠN ĐỀ NGHỊ", "Kính gửi: Ủy ban nhân dân xã"], font_size_pt=16))
    [manifest] = run_digitise([str(scan)], settings=Settings(data_dir=tmp_path / "d"))
    assert manifest.status == "needs_review" and manifest.dossier_code == ""
    assert "missing:dossier_code" in manifest.review_reasons
    assert manifest.pdf.key.split("/")[-2] == "_chua-xac-dinh"


def test_only_outages_are_retried():
    """A bad configuration or a missing record fails at once; a store outage is retried."""
    from prefect.states import Failed

    from flows.digitise import worth_retrying
    from sohoa.errors import ConfigError, NotFoundError, StorageError

    def failed(error):
        return Failed(data=error)

    assert worth_retrying(None, None, failed(StorageError(reason="connection refused")))
    assert not worth_retrying(None, None, failed(ConfigError(reason="archive bucket has no lock")))
    assert not worth_retrying(None, None, failed(NotFoundError(what="record", name="x")))


def test_prefect_does_not_walk_the_batch_words(prefect_api_url, tmp_path, prefect_walk):
    """The pages' words reach the tasks without Prefect visiting each one.

    Prefect looks for futures in every task argument, object by object, three times a
    call; on a 15-page batch that was 0.5-1 s per call of the serial tail (fields, PDF,
    commit). The flow passes those arguments ``quote``d; without it this counts
    thousands of words.
    """
    from samples.synth import render_page, write_png
    from schemas.models import Word

    scan = tmp_path / "don.png"
    write_png(scan, render_page(["ĐƠN ĐỀ NGHỊ", "Kính gửi: Ủy ban nhân dân xã"], font_size_pt=16))
    [manifest] = run_digitise([str(scan)], settings=Settings(data_dir=tmp_path / "d"))
    assert manifest.pages[0].word_count > 5  # the words were there to be walked
    assert [o for o in prefect_walk if isinstance(o, Word)] == []


class TesseractCount:
    """The most Tesseract processes running at once under ``root`` (default: this process),
    at any depth (or only its own children with ``direct``), sampled from /proc."""

    def __init__(self, root: int | None = None, direct: bool = False) -> None:
        import os
        import threading

        self.root, self.direct = root or os.getpid(), direct
        self.most, self.seen = 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _running(self) -> int:
        from pathlib import Path

        parents, names = {}, {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                name, rest = stat.read_text().split(") ", 1)
            except (OSError, ValueError):  # gone meanwhile
                continue
            pid = int(stat.parent.name)
            parents[pid], names[pid] = int(rest.split()[1]), name
        return sum(
            name.endswith("(tesseract") and self._under(pid, parents) for pid, name in names.items()
        )

    def _under(self, pid: int, parents: dict[int, int]) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == self.root:
                return True
            if self.direct:
                return False
        return False

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            now = self._running()
            self.most, self.seen = max(self.most, now), self.seen + (now > 0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_the_bare_flow_runs_no_more_tesseracts_than_configured(prefect_api_url, tmp_path, scan_pdf):
    """As a deployment or the nightly run starts it: no task runner given, so Prefect's
    default thread pool, which has no bound (a 13-page batch ran 13 Tesseracts at once)."""
    from flows.digitise import digitise_batch

    settings = Settings(data_dir=tmp_path / "data", ocr={"workers": 1})
    with TesseractCount() as tesseracts:
        [manifest] = digitise_batch([str(scan_pdf)], settings=settings)
    assert len(manifest.pages) == 3
    assert tesseracts.seen > 0 and tesseracts.most == 1, vars(tesseracts)


def test_a_batch_read_on_a_dask_cluster_is_the_batch_read_here(prefect_api_url, tmp_path, scan_pdf):
    """``dask_address``: the pages go to a Dask cluster (two worker processes on loopback,
    prefect-dask's runner); the records are the thread runner's, no Tesseract runs here."""
    from distributed import LocalCluster

    here = Settings(data_dir=tmp_path / "here")
    [expected] = run_digitise([str(scan_pdf)], settings=here, unit="U01")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        settings = Settings(data_dir=tmp_path / "dask", dask_address=cluster.scheduler_address)
        # the cluster's worker processes are this process's grandchildren: every Tesseract
        # must run under them, none as a child of this process
        with TesseractCount() as anywhere, TesseractCount(direct=True) as here:
            [manifest] = run_digitise([str(scan_pdf)], settings=settings, unit="U01")
    assert anywhere.seen > 0 and here.seen == 0, (vars(anywhere), vars(here))
    assert [p.model_dump() for p in manifest.pages] == [p.model_dump() for p in expected.pages]
    assert manifest.fields == expected.fields and manifest.record_id == expected.record_id


def test_an_unreachable_dask_scheduler_is_a_configuration_error(tmp_path, scan_pdf):
    from sohoa.errors import ConfigError

    settings = Settings(data_dir=tmp_path / "d", dask_address="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match="no Dask scheduler at tcp://127.0.0.1:9"):
        run_digitise([str(scan_pdf)], settings=settings)
    assert not (settings.inbox_dir).exists() or not any(settings.inbox_dir.iterdir())
