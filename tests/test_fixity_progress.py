"""A fixity check's live counters reach every web server, wherever the check runs.

A check started on ``/verify`` with ``web.dispatch = "deployment"`` runs on a Prefect
worker; the nightly run and other web processes run theirs too. Their counters used to
live in the memory of the process running them, so other web servers showed the run's
history row only. The running check now writes records chosen, checked and problems
into that row (about once a second, and as soon as the sample is drawn), and every
app reads them from there.

Real everything: the session's small archive (three records made by the real
pipeline) copied per test, a SQLite or PostgreSQL catalog, real checks (hashes,
pyHanko, pdfsig). The check runs in a separate process (the worker's place) or in
another app's thread; each step waits for the test, so the counters are read at
known points, with no timing in the test.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from archive_fixture import small_archive  # noqa: F401
from conftest import copy_data_dir
from pgserver import copy_database, moved_to_postgres
from sqlalchemy import DateTime, bindparam, create_engine, text
from webclient import TestClient, csrf_of

from catalog.audit import Actor
from catalog.connection import parse
from catalog.database import Catalog, forget_catalog, open_catalog
from catalog.schema import _config, head_revision
from records import fixity_runs
from schemas.settings import Settings
from services import users
from storage.stores import open_store
from web.app import create_app
from web.fixity_jobs import FixityJobs, _real_check

PASSWORD = "mat-khau-du-dai-1"
AUDITOR = "binh.audit"
CLI = Actor("root", via="cli")
WAIT_S = 180


@dataclass(frozen=True)
class World:
    """The small archive with an auditor, on one catalog backend (copied per test)."""

    data_dir: Path
    catalog_url: str | None
    """None: the SQLite file in ``data_dir``; else a PostgreSQL database to copy."""
    record_ids: tuple[str, ...]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, small_archive, tmp_path_factory) -> World:
    settings = small_archive.copy(tmp_path_factory.mktemp("progress") / "data")
    if request.param == "postgresql":
        settings = moved_to_postgres(settings, request.getfixturevalue("pg_server"), records=3)
    users.add_user(settings, AUDITOR, PASSWORD, role="auditor", unit="", actor=CLI)
    forget_catalog(settings.resolved_catalog_url)  # fold the WAL, or let PostgreSQL copy it
    return World(settings.data_dir, settings.catalog_url, tuple(sorted(small_archive.record_ids)))


def _settings(world: World, dest: Path, request, dispatch: str = "here") -> Settings:
    """This test's own copy of the data directory and catalog, with ``web.dispatch``."""
    copy_data_dir(world.data_dir, dest)
    url = world.catalog_url
    if url is not None:
        url = copy_database(request.getfixturevalue("pg_server"), url)
    settings = Settings(data_dir=dest, catalog_url=url)
    web = settings.web.model_copy(update={"dispatch": dispatch})
    return settings.model_copy(update={"web": web})


def _tamper(settings: Settings, record_id: str) -> None:
    """Flip one byte of the record's archived PDF behind the store's back."""
    row = open_catalog(settings.resolved_catalog_url).get_record(record_id)
    path = settings.local_store_root / row.pdf_key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


class Viewer:
    """An auditor looking at one app: its JSON API (token) and its page (signed in)."""

    made = 0

    def __init__(self, settings: Settings, app) -> None:
        Viewer.made += 1
        made = users.create_token(settings, AUDITOR, f"script-{Viewer.made}", actor=CLI)
        self.api = TestClient(app, headers={"Authorization": f"Bearer {made['token']}"})
        self.browser = TestClient(app, follow_redirects=False)
        token = csrf_of(self.browser.get("/login").text)
        answer = self.browser.post(
            "/login", data={"name": AUDITOR, "password": PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 303

    def run(self, run_id: int) -> dict:
        answer = self.api.get(f"/api/fixity/{run_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()

    def page_bar(self, run_id: int | None = None) -> tuple[int, str, str]:
        """The run the page shows in detail, and its progress bar's ``value`` and ``max``."""
        html = self.browser.get("/verify", params={"run": run_id} if run_id else None).text
        shown = re.search(r'data-testid="fixity-run" data-run="(\d+)"', html)
        bar = re.search(r'<progress [^>]*max="(\d+)" value="(\d+)"', html)
        assert shown and bar, html
        return int(shown.group(1)), bar.group(2), bar.group(1)


def _counts(run: dict) -> tuple[int, int | None, int]:
    progress = run["progress"]
    assert progress is not None, run
    return progress["done"], progress["total"], progress["problems"]


# --- a check in another process: the worker's place ----------------------------------------

WORKER = """
import sys

from catalog.database import open_catalog
from records import fixity_runs
from schemas.settings import Settings
from storage.stores import open_store

data_dir, catalog_url, run_id = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
settings = Settings(data_dir=data_dir, catalog_url=catalog_url)


class Paced:
    # Heard after the row is written: says so, then waits for the test's go-ahead.
    def started(self, records):
        self._step()

    def checked(self, result):
        self._step()

    def _step(self):
        print("step", flush=True)
        sys.stdin.readline()


def check(sink):
    return fixity_runs.check_scope(
        settings,
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
        sample=None,
        units=None,
        orphans=True,
        progress=sink,
    )


fixity_runs.recorded_live(
    settings, check, started_by="web:binh.audit", sample=None, run_id=run_id,
    progress=Paced(), every_s=0,
)
"""


@pytest.mark.parametrize("dispatch", ["here", "deployment"])
def test_a_check_in_another_process_shows_rising_counts_on_another_app(
    world, tmp_path, request, dispatch
):
    """The web server writes the row (as when it hands the check to the pool); a separate
    process runs the check as the worker's flow does (:func:`records.fixity_runs.
    recorded_live`); at each step an app that has never seen the check shows the counts
    so far, on its API and its page, and finally the outcome."""
    settings = _settings(world, tmp_path / "data", request, dispatch)
    bad = world.record_ids[1]
    _tamper(settings, bad)
    catalog = open_catalog(settings.resolved_catalog_url)
    run_id = fixity_runs.start_run(
        catalog, started_by="web:binh.audit", sample=None, unit=None, owned=False
    )
    viewer = Viewer(settings, create_app(settings))
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(settings.data_dir), settings.catalog_url or "",
         str(run_id)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
    )  # fmt: skip
    seen, pages = [], []
    try:
        for _line in worker.stdout:  # the worker wrote its counts and waits
            seen.append(_counts(viewer.run(run_id)))
            pages.append(viewer.page_bar())
            worker.stdin.write("\n")
            worker.stdin.flush()
        assert worker.wait(WAIT_S) == 0, (tmp_path / "worker.log").read_text()
    finally:
        worker.kill()
        log.close()
    problems = [int(record_id == bad) for record_id in world.record_ids]
    assert seen == [(0, 3, 0)] + [(n + 1, 3, sum(problems[: n + 1])) for n in range(3)]
    assert pages == [(run_id, str(n), "3") for n in range(4)]  # the running check by default
    done = viewer.run(run_id)
    assert (done["state"], done["checked"], done["problems"], done["progress"]) == (
        "done", 3, 1, None
    )  # fmt: skip
    assert [f["record_id"] for f in done["failures"]] == [bad]
    assert fixity_runs.get_run(catalog, run_id).chosen == 3


# --- a check in one web server, seen from another --------------------------------------------


class Stepped:
    """Wraps a check's progress sink: after each event, tells the test and waits."""

    def __init__(self, inner, told: queue.Queue, go: threading.Semaphore) -> None:
        self._inner, self._told, self._go = inner, told, go

    def started(self, records: int) -> None:
        self._inner.started(records)
        self._step()

    def checked(self, result) -> None:
        self._inner.checked(result)
        self._step()

    def _step(self) -> None:
        self._told.put("step")
        assert self._go.acquire(timeout=WAIT_S)


def test_a_check_started_on_one_web_server_shows_its_counts_on_another(world, tmp_path, request):
    """Two web processes on one catalog (embedded mode): the check runs in the first's
    thread with the usual once-a-second writer; the second, which has no counters of its
    own for it, reads them from the row: the sample's size as soon as it is drawn, and
    every count once the last record is checked (both written whatever the interval)."""
    settings = _settings(world, tmp_path / "data", request)
    told, go = queue.Queue(), threading.Semaphore(0)

    def stepped_check(settings, *, progress, **options):
        return _real_check(settings, progress=Stepped(progress, told, go), **options)

    first = create_app(settings)
    first.state.fixity_jobs = FixityJobs(settings, check=stepped_check)
    other = Viewer(settings, create_app(settings))
    started = Viewer(settings, first).api.post("/api/fixity", json={"sample": 3})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    assert told.get(timeout=WAIT_S) == "step"  # the sample is drawn: written at once
    assert _counts(other.run(run_id)) == (0, 3, 0)
    assert other.page_bar(run_id)[1:] == ("0", "3")
    for _ in range(3):
        go.release()
        assert told.get(timeout=WAIT_S) == "step"
    assert _counts(other.run(run_id)) == (3, 3, 0)  # the last record: written at once
    go.release()
    assert first.state.fixity_jobs.wait(WAIT_S)
    assert other.run(run_id)["verdict"] == "ok"


# --- the flow the worker and the nightly run -----------------------------------------------


def test_the_fixity_flow_writes_its_counts_for_every_web_server(
    world, tmp_path, request, prefect_api_url
):
    """The nightly sample (the flow, a run it records itself): while it runs, an app reads
    the sample's size and, once the last record is checked, all of its counts."""
    from flows.fixity import run_fixity_check

    settings = _settings(world, tmp_path / "data", request)
    viewer = Viewer(settings, create_app(settings))
    catalog = open_catalog(settings.resolved_catalog_url)
    seen = []

    class Looking:
        """Heard after the row is written: what the other app shows then."""

        def started(self, records: int) -> None:
            self._look()

        def checked(self, result) -> None:
            self._look()

        def _look(self) -> None:
            (run,) = fixity_runs.list_runs(catalog).runs
            seen.append(_counts(viewer.run(run.id)))

    report = run_fixity_check(settings, sample=2, seed=7, workers=1, progress=Looking())
    problems = sum(not r.ok for r in report.results)
    assert len(report.results) == 2 and len(seen) == 3
    assert seen[0] == (0, 2, 0) and seen[-1] == (2, 2, problems)
    (run,) = fixity_runs.list_runs(catalog).runs
    assert (run.started_by, run.state, run.checked, run.chosen) == ("nightly", "done", 2, 2)


def test_the_flow_as_a_deployment_runs_it_checks_no_more_chunks_at_once_than_asked(
    world, tmp_path, request, prefect_api_url, monkeypatch
):
    """The bare flow (as a worker runs the weekly deployment or a web server's check) gets
    Prefect's default thread pool, which has no bound: every chunk ran at once. It now
    keeps ``workers`` chunks going (three chunks of one record here, ``workers`` 1)."""
    from flows.fixity import fixity_check
    from records import fixity

    settings = _settings(world, tmp_path / "data", request)
    real, lock = fixity.check_records, threading.Lock()
    counts = {"now": 0, "most": 0, "calls": 0}

    def counted(rows, *args, **kwargs):
        with lock:
            counts["now"] += 1
            counts["calls"] += 1
            counts["most"] = max(counts["most"], counts["now"])
        try:
            return real(rows, *args, **kwargs)
        finally:
            with lock:
                counts["now"] -= 1

    monkeypatch.setattr(fixity, "check_records", counted)
    report = fixity_check(settings=settings, workers=1, orphans=False)
    assert len(report.results) == 3 and report.workers == 1
    assert counts["calls"] == 3 and counts["most"] == 1, counts


# --- the catalog layout --------------------------------------------------------------------------


def test_runs_recorded_before_revision_0005_keep_their_counts_and_no_sample_size(
    tmp_path, catalog_url
):
    """A catalog at 0004 with a finished run and one left running: upgraded, both read
    back with ``chosen`` unknown; the running one then takes counts like any other."""
    from alembic import command

    if catalog_url.startswith("sqlite"):
        Path(catalog_url.removeprefix("sqlite:///")).parent.mkdir(parents=True)
    engine = create_engine(parse(catalog_url))
    at = datetime(2026, 1, 5, 1, 0)
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "0004")
            for state in ("done", "running"):
                insert = text(
                    "INSERT INTO fixity_runs (started_at, started_by, state, checked,"
                    " problems) VALUES (:at, 'nightly', :state, 7, 1)"
                ).bindparams(bindparam("at", type_=DateTime()))
                connection.execute(insert, {"at": at, "state": state})
    finally:
        engine.dispose()
    with Catalog(catalog_url) as catalog:
        assert catalog.layout_revisions == ("0004", head_revision())
        finished, running = sorted(fixity_runs.list_runs(catalog).runs, key=lambda r: r.id)
        assert (finished.checked, finished.problems, finished.chosen) == (7, 1, None)
        fixity_runs.note_progress(catalog, running.id, checked=8, problems=1, chosen=9)
        fixity_runs.note_progress(catalog, finished.id, checked=0, problems=0, chosen=9)
        assert fixity_runs.get_run(catalog, running.id).chosen == 9
        assert fixity_runs.get_run(catalog, finished.id).chosen is None  # finished: left alone


# --- a check whose process dies: the heartbeat ---------------------------------------------

STALE_S = 2.0
"""The heartbeat timeout of the worker and of the app that closes its row (a beat every
fifth of it)."""


def _with_stale(settings: Settings, seconds: float) -> Settings:
    web = settings.web.model_copy(update={"fixity_stale_seconds": seconds})
    return settings.model_copy(update={"web": web})


def _start_button(viewer: Viewer) -> str:
    """The page's start button: ``disabled`` while a check runs on the pool, else ``""``."""
    html = viewer.browser.get("/verify").text
    found = re.search(r'data-testid="fixity-submit"( disabled)?', html)
    assert found, html
    return (found.group(1) or "").strip()


def _wait_for(condition, what: str):
    """Poll ``condition`` until it returns something true (bounded by ``WAIT_S``)."""
    deadline = time.monotonic() + WAIT_S
    while not (found := condition()):
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.1)
    return found


def test_a_dispatched_check_whose_worker_is_killed_is_closed_as_abandoned(world, tmp_path, request):
    """A check handed to the pool has no owner process a web server can look at: its
    worker, SIGKILLed, left the row ``running`` for ever and the page polled it and kept
    its start button disabled. The worker beats while the check is stuck on one record
    (no counts written); once killed, an app with the default timeout still shows it
    running, one with a small timeout closes it as abandoned (reason in both languages)
    and the page lets another check start."""
    from web.i18n import text

    settings = _settings(world, tmp_path / "data", request, "deployment")
    catalog = open_catalog(settings.resolved_catalog_url)
    run_id = fixity_runs.start_run(
        catalog, started_by="web:binh.audit", sample=None, unit=None, owned=False
    )
    patient = Viewer(settings, create_app(settings))  # the default timeout: minutes
    strict = Viewer(settings, create_app(_with_stale(settings, STALE_S)))
    env = {**os.environ, "SOHOA_WEB__FIXITY_STALE_SECONDS": str(STALE_S)}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(settings.data_dir), settings.catalog_url or "",
         str(run_id)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env,
    )  # fmt: skip
    try:
        assert worker.stdout.readline() == "step\n"  # the sample is drawn; it waits for us
        first = fixity_runs.get_run(catalog, run_id).heartbeat_at
        beats = set()

        def beaten_twice_since() -> bool:
            beats.add(fixity_runs.get_run(catalog, run_id).heartbeat_at)
            return len({beat for beat in beats if beat > first}) >= 2

        _wait_for(beaten_twice_since, "the stuck check's heartbeat moves on")
        stuck = fixity_runs.get_run(catalog, run_id)
        assert (stuck.state, stuck.checked, stuck.chosen) == ("running", 0, 3)  # beating only
        assert strict.run(run_id)["state"] == "running"  # a slow check is not abandoned
        assert _start_button(patient) == "disabled"
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(WAIT_S)
        log.close()
    assert patient.run(run_id)["state"] == "running"  # its beat is seconds old, not minutes
    assert _start_button(patient) == "disabled"
    closed = _wait_for(lambda: (run := strict.run(run_id))["state"] != "running" and run, "closed")
    assert (closed["state"], closed["error"], closed["verdict"]) == (
        "error", "abandoned", "abandoned"
    )  # fmt: skip
    assert closed["verdict_text"] in {
        text("web_verify_verdict_abandoned", lang) for lang in ("vi", "en")
    }
    assert "Bị bỏ dở" in text("web_verify_verdict_abandoned", "vi")
    assert "Abandoned" in text("web_verify_verdict_abandoned", "en")
    assert closed["progress"] is None and closed["finished_at"] is not None
    assert _start_button(patient) == ""  # closed for every app: another check may start
    html = patient.browser.get("/verify", params={"run": run_id}).text
    assert "data-fixity-poll" not in html and 'data-verdict="abandoned"' in html


def test_a_check_that_waited_past_the_timeout_is_taken_up_by_its_worker(world, tmp_path, request):
    """A check handed to a busy pool may wait longer than the timeout and be closed as
    abandoned; the worker that finally runs it opens the row again and finishes it. A
    row left without any beat since before revision 0006 is closed from its start."""
    settings = _settings(world, tmp_path / "data", request, "deployment")
    catalog = open_catalog(settings.resolved_catalog_url)
    queued = fixity_runs.start_run(
        catalog, started_by="web:binh.audit", sample=2, unit=None, owned=False
    )
    assert fixity_runs.close_abandoned(catalog, stale_after_s=3600) == 0
    assert fixity_runs.close_abandoned(catalog, stale_after_s=0) == 1
    assert fixity_runs.get_run(catalog, queued).verdict == "abandoned"

    def check(sink):
        return fixity_runs.check_scope(
            settings, store=open_store(settings), catalog=catalog, sample=2, units=None,
            orphans=False, progress=sink,
        )  # fmt: skip

    fixity_runs.recorded_live(settings, check, started_by="web:binh.audit", sample=2, run_id=queued)
    run = fixity_runs.get_run(catalog, queued)
    assert (run.state, run.error, run.checked, run.verdict) == ("done", None, 2, "ok")


# --- sohoa verify --all ------------------------------------------------------------------------

CLI_CHECK = """
import sys

import cli.integrity


class Paced:
    # The command's progress bar: after each event (the row is written first), says so
    # and waits for the test's go-ahead.
    def __init__(self, *args, **kwargs):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def started(self, records):
        self._step()

    def checked(self, result=None):
        self._step()

    def _step(self):
        print("step", flush=True)
        sys.stdin.readline()


cli.integrity.CountBar = Paced
from cli.app import app

app(["verify", "--all", "--workers", "1"], prog_name="sohoa")
"""


def test_sohoa_verify_all_shows_its_counts_on_every_web_server(world, tmp_path, request):
    """``sohoa verify --all`` (the real command, its progress bar paced by the test)
    writes its counts into its history row as it goes: an app shows the sample's size as
    soon as it is drawn and every count once the last record is checked (both written
    whatever the once-a-second interval), then the outcome."""
    settings = _settings(world, tmp_path / "data", request)
    bad = world.record_ids[0]
    _tamper(settings, bad)
    viewer = Viewer(settings, create_app(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env |= {"SOHOA_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    if settings.catalog_url:
        env["SOHOA_CATALOG_URL"] = settings.catalog_url
    command = subprocess.Popen(
        [sys.executable, "-c", CLI_CHECK],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip
    seen, said = [], []
    try:
        for line in command.stdout:
            if line != "step\n":
                said.append(line)
                continue
            (run,) = fixity_runs.list_runs(open_catalog(settings.resolved_catalog_url)).runs
            seen.append(_counts(viewer.run(run.id)))
            command.stdin.write("\n")
            command.stdin.flush()
        assert command.wait(WAIT_S) != 0, "".join(said)  # a record is damaged
    finally:
        command.kill()
        stderr = command.stderr.read()
    assert len(seen) == 4, stderr
    assert seen[0] == (0, 3, 0) and seen[-1] == (3, 3, 1), seen
    done = viewer.run(run.id)
    assert (done["started_by"], done["state"], done["checked"], done["problems"]) == (
        "cli", "done", 3, 1
    )  # fmt: skip
