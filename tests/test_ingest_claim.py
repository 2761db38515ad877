"""One claim per batch for every run, and the web job runner's settings.

``digitise_batch`` takes the batch's claim itself, before the inbox or the work folder
is touched, so ``sohoa ingest`` of scans that another process is digitising (the
nightly run, the web job runner) is refused with a bilingual message and exit 2, and
changes nothing. The holder is a real process holding a real ``flock``; ``ingest`` is
the real console script against the session's Prefect server. The runner's worker
count and queue size come from ``web.job_workers`` and ``web.job_queue``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.settings import Settings, WebSettings
from sohoa.errors import BatchBusyError, ExitCode
from sohoa.messages import message
from storage import claims, inbox
from storage.objectstore import sha256_file
from storage.waiting import claim_place
from web.app import create_app
from web.errors import QueueFull
from web.jobs import JobRunner

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette suggests httpx2, which is not pinned here
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
UNIT = "H56.01"
WAIT_S = 120  # a bound so a broken runner fails the test instead of hanging it
HOLD_CLAIM = """
import sys, time
from pathlib import Path
from storage import claims
where = sys.argv[1]
place = claims.PgLocks(where, "holder") if where.startswith("postgresql") else Path(where)
with claims.claim(place, sys.argv[2]) as held:
    print(held, flush=True)
    time.sleep(600)
"""


def receipt(folder: Path) -> Path:
    """A one-page generated receipt (OCR'd only by the test that lets the ingest through)."""
    from samples.synth import render_page, write_png

    lines = [
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Họ và tên người nộp: Nguyễn Văn Khóa",
        "Mã hồ sơ: 000.00.06.H56-231027-0777",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bien-nhan.png"
    write_png(path, render_page(lines, dpi=200, paper="A5", font_size_pt=12, seed=77), dpi=200)
    return path


def batch_id_of(path: Path) -> str:
    """The id ``sohoa ingest PATH --unit H56.01`` gives the batch."""
    hashes = [sha256_file(path)]
    return inbox.batch_id_for(hashes, kind="thanh-phan", unit=UNIT, dossier_code=None)


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under ``folder`` (empty when it is missing)."""
    if not folder.is_dir():
        return {}
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture
def holder() -> Iterator:
    """Start another process holding a claim: ``holder(place, name)``; killed at the end."""
    started: list[subprocess.Popen] = []

    def hold(place: claims.Place, name: str) -> subprocess.Popen:
        where = place.conninfo if isinstance(place, claims.PgLocks) else str(place)
        process = subprocess.Popen(
            [sys.executable, "-c", HOLD_CLAIM, where, name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout.readline().strip() == "True"
        return process

    yield hold
    for process in started:
        process.kill()
        process.wait()


# --- sohoa ingest against a claimed batch ------------------------------------------------------


def test_ingest_of_a_batch_another_process_holds_is_refused_and_changes_nothing(
    cli, tmp_path, holder
):
    settings = Settings(data_dir=cli.data_dir)
    scan = receipt(tmp_path / "scans")
    before = sha256_file(scan)
    batch_id = batch_id_of(scan)
    scratch = settings.work_dir / batch_id / "pages" / "000.png"  # the holder's work folder
    scratch.parent.mkdir(parents=True)
    scratch.write_bytes(b"page image of the running batch")
    holder(claim_place(settings), batch_id)

    refused = cli("ingest", str(scan), "--unit", UNIT)
    assert refused.returncode == BatchBusyError.exit_code == ExitCode.USAGE, refused.stderr
    assert message("batch_busy", "en", batch=batch_id) in " ".join(refused.stderr.split())
    in_vietnamese = cli("ingest", str(scan), "--unit", UNIT, lang="vi")
    assert in_vietnamese.returncode == ExitCode.USAGE
    assert message("batch_busy", "vi", batch=batch_id) in " ".join(in_vietnamese.stderr.split())

    assert sha256_file(scan) == before  # the clerk's file
    assert scratch.read_bytes() == b"page image of the running batch"  # the holder's scratch
    assert not (settings.inbox_dir / batch_id).exists()  # nothing received under its claim
    assert cli.record_count() == 0 and cli.archive_objects() == []


def test_a_waiting_batch_stays_as_it_was_while_held_and_ingests_once_the_holder_dies(
    cli, tmp_path, holder
):
    settings = Settings(data_dir=cli.data_dir)
    scan = receipt(tmp_path / "scans")
    waiting = inbox.receive([scan], settings, kind="thanh-phan", unit=UNIT, dossier_code=None)
    assert waiting.batch_id == batch_id_of(scan)
    as_uploaded = tree_digest(waiting.folder)
    process = holder(claim_place(settings), waiting.batch_id)  # the nightly run, say

    refused = cli("ingest", str(scan), "--unit", UNIT)
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    assert tree_digest(waiting.folder) == as_uploaded  # batch.json and the originals untouched
    assert cli.record_count() == 0

    process.kill()  # SIGKILL: the kernel drops its lock
    process.wait()
    done = cli("ingest", str(scan), "--unit", UNIT, "--json")
    assert done.returncode == 0, done.stderr
    assert cli.record_count() == 1 and not waiting.folder.exists()
    assert not (claim_place(settings) / f"{waiting.batch_id}.lock").exists()  # tidied


# --- handing a claim on ------------------------------------------------------------------------


def test_a_held_claim_is_handed_on_and_never_taken_twice_in_one_process(tmp_path):
    locks = tmp_path / "locks"
    with claims.hold(locks, "batch-a") as held:
        assert held is not None and held.held and held.name == "batch-a"
        with claims.hold(locks, "batch-a") as again:
            assert again is None  # flock refuses a second open, even from this process
        with claims.hold_or_reuse(locks, "batch-a", held) as reused:
            assert reused is held
        with claims.hold_or_reuse(locks, "batch-b", held) as other:
            assert other is not None and other is not held and other.name == "batch-b"
    assert not held.held
    with claims.hold_or_reuse(locks, "batch-a", held) as fresh:  # a spent claim is not reused
        assert fresh is not None and fresh is not held
    assert list(locks.iterdir()) == []


# --- several machines: claims on a PostgreSQL catalog ------------------------------------------


def test_on_a_postgresql_catalog_claims_are_advisory_locks_every_machine_sees(pg_url, tmp_path):
    place = claim_place(Settings(data_dir=tmp_path / "a", catalog_url=pg_url))
    elsewhere = claim_place(Settings(data_dir=tmp_path / "b", catalog_url=pg_url))
    assert isinstance(place, claims.PgLocks) and "sohoa_test" not in repr(place)  # no login
    with claims.hold(place, "batch-a") as held:
        assert held is not None and held.held
        with claims.hold(elsewhere, "batch-a") as other_machine:  # another data dir
            assert other_machine is None
        with claims.hold(place, "batch-a") as again:
            assert again is None  # a second hold in this process is refused, as with flock
        with claims.hold_or_reuse(place, "batch-a", held) as reused:
            assert reused is held
        with claims.hold(place, "batch-b") as other:
            assert other is not None
    assert not held.held
    with claims.hold(elsewhere, "batch-a") as freed:
        assert freed is not None
    assert not (tmp_path / "a").exists()  # no lock files on anyone's disk


def test_a_killed_workers_claim_on_postgresql_is_free_at_once(pg_url, tmp_path, holder):
    place = claim_place(Settings(data_dir=tmp_path, catalog_url=pg_url))
    process = holder(place, "batch-k")
    with claims.hold(place, "batch-k") as held:
        assert held is None
    process.kill()  # SIGKILL: its connection closes, the server drops its locks
    process.wait()
    deadline = time.monotonic() + 10
    while True:
        with claims.hold(place, "batch-k") as held:
            if held is not None or time.monotonic() > deadline:
                break
        time.sleep(0.1)
    assert held is not None


def test_a_claim_connection_asks_the_server_to_notice_a_vanished_machine(pg_url, tmp_path):
    """A machine that vanishes (power, network) closes nothing: only the server's own TCP
    keepalives end its session and free its advisory locks, after two hours by default."""
    place = claim_place(Settings(data_dir=tmp_path, catalog_url=pg_url))
    connection = claims._connect(place)
    try:
        shown = [connection.execute(f"SHOW {name}").fetchone()[0] for name in KEEPALIVES]
    finally:
        connection.close()
    assert shown == ["30", "10", "3"], shown  # seconds, seconds, probes


KEEPALIVES = ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")


def test_an_unreachable_claim_server_is_a_storage_error_naming_it(pg_server, tmp_path):
    from sohoa.errors import StorageError

    url = pg_server.url("postgres").replace(f":{pg_server.port}/", ":9/")
    place = claim_place(Settings(data_dir=tmp_path, catalog_url=url))
    with pytest.raises(StorageError) as caught, claims.hold(place, "batch-x"):
        pass
    assert "127.0.0.1:9/postgres" in caught.value.render("en")
    assert pg_server.password not in caught.value.render("en")


def test_ingest_on_another_machine_is_refused_while_a_worker_holds_the_batch(
    cli, tmp_path, holder, pg_url
):
    """Two machines: a worker (the holder) on one, a clerk's ``sohoa ingest`` on another
    (its own data dir), one PostgreSQL catalog."""
    scan = receipt(tmp_path / "scans")
    worker = Settings(data_dir=tmp_path / "worker", catalog_url=pg_url)
    holder(claim_place(worker), batch_id_of(scan))
    refused = cli("ingest", str(scan), "--unit", UNIT, extra_env={"SOHOA_CATALOG_URL": pg_url})
    assert refused.returncode == ExitCode.USAGE, refused.stderr
    busy = message("batch_busy", "en", batch=batch_id_of(scan))
    assert busy in " ".join(refused.stderr.split())
    assert not (cli.data_dir / "inbox" / batch_id_of(scan)).exists()


# --- the job runner's settings -----------------------------------------------------------------


def test_job_settings_are_validated_and_read_from_the_environment(tmp_path, monkeypatch):
    assert (WebSettings().job_workers, WebSettings().job_queue) == (1, 20)
    for bad in ({"job_workers": 0}, {"job_queue": 0}):
        with pytest.raises(ValidationError):
            WebSettings(**bad)
    monkeypatch.setenv("SOHOA_WEB__JOB_WORKERS", "3")
    monkeypatch.setenv("SOHOA_WEB__JOB_QUEUE", "7")
    web = Settings(data_dir=tmp_path / "data").web
    assert (web.job_workers, web.job_queue) == (3, 7)


def test_the_app_runner_takes_its_workers_and_queue_from_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", web=WebSettings(job_workers=2, job_queue=5))
    app = create_app(settings)
    with TestClient(app):  # runs the app's lifespan, which makes and starts the runner
        runner = app.state.jobs
        assert (runner.workers, runner.max_queued) == (2, 5)


def test_a_full_queue_is_refused_at_the_configured_size(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", web=WebSettings(job_queue=2))
    running, finish = threading.Event(), threading.Event()

    def digitise(files, *, settings, progress, kind, unit, dossier_code, claim):
        running.set()  # the runner's one worker is now busy
        finish.wait(WAIT_S)
        return []

    upload = tmp_path / "scan.png"
    upload.write_bytes(b"bytes the stand-in never reads")
    batch = inbox.receive([upload], settings, kind="thanh-phan", unit=UNIT, dossier_code=None)
    runner = JobRunner(settings, digitise=digitise)
    try:
        runner.submit(batch.batch_id, unit=UNIT)
        assert running.wait(WAIT_S)
        for number in range(settings.web.job_queue):
            assert runner.submit(f"waiting-{number}", unit=UNIT).state == "queued"
        assert not runner.has_room()
        with pytest.raises(QueueFull) as refused:
            runner.submit("one-too-many", unit=UNIT)
        assert refused.value.queued == 2 and runner.view("one-too-many") is None
    finally:
        finish.set()
        runner.stop(timeout=WAIT_S)
    assert runner.view(batch.batch_id).state == "done"
