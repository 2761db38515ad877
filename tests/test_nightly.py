"""The nightly run: real batches in the inbox, real Prefect flow runs, real OCR and signatures.

Batches are put in the inbox the way an upload leaves them (``storage.inbox.receive``)
and each is one small generated page, so a test OCRs a handful of pages. What is
checked: a second run does nothing twice; a failing batch is retried and stops after
``nightly.max_attempts``; a run killed with SIGKILL loses and duplicates nothing; a
batch another process holds is left alone, and a dead holder frees it; reports land
under their day's keys and are overwritten; the CLI's JSON summary and exit codes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from conftest import CLI_TIMEOUT_S, SOHOA, make_cli

from schemas.settings import NightlySettings, Settings, StoreSettings
from storage import claims, inbox, waiting
from storage import object_keys as keys
from storage.stores import open_store

ROOT = Path(__file__).resolve().parents[1]
DAY = "2026-11-21"
HOLD_CLAIM = """
import sys, time
from pathlib import Path
from storage import claims
with claims.claim(Path(sys.argv[1]), sys.argv[2]) as held:
    print(held, flush=True)
    time.sleep(600)
"""


def scan(folder: Path, number: int) -> Path:
    """A one-page receipt of its own (so every batch has its own id and dossier code)."""
    from samples.synth import render_page, write_png

    lines = [
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        f"Họ và tên người nộp: Nguyễn Văn Số {number}",
        "Nội dung yêu cầu: Đăng ký khai sinh",
        f"Mã hồ sơ: 000.00.06.H56-231027-{number:04d}",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bien-nhan-{number}.png"
    write_png(path, render_page(lines, dpi=200, paper="A5", font_size_pt=12, seed=number), dpi=200)
    return path


def wait_in_inbox(settings: Settings, path: Path, unit: str = "H56.01") -> inbox.ReceivedBatch:
    """Leave a batch in the inbox as an upload does, without processing it."""
    return inbox.receive([path], settings, kind="thanh-phan", unit=unit, dossier_code=None)


def original_key(batch: inbox.ReceivedBatch) -> str:
    """Where the store puts the batch's (only) original."""
    name = batch.sources[0].name
    return keys.original_key(batch.unit, batch.received_at, batch.batch_id, 0, name)


def records(settings: Settings) -> list[tuple]:
    """(id, batch_id, page_count, pdf_key, pdf_sha256) of every catalog record."""
    db = settings.data_dir / "catalog.sqlite"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute(
                "select id, batch_id, page_count, pdf_key, pdf_sha256 from records order by id"
            ).fetchall()
        except sqlite3.OperationalError:  # the tables are not created yet
            rows = []
    conn.close()
    return rows


def objects(settings: Settings, area: str) -> list[str]:
    return list(open_store(settings).list(f"{area}/"))


def test_report_day_is_yesterday_in_the_office_time_zone():
    # 18:30 UTC on the 21st is 01:30 on the 22nd in Hanoi: the night reports the 21st
    evening = datetime(2026, 11, 21, 18, 30, tzinfo=UTC)
    assert waiting.report_day(None, "Asia/Ho_Chi_Minh", now=evening) == date(2026, 11, 21)
    assert waiting.report_day(None, "UTC", now=evening) == date(2026, 11, 20)
    assert waiting.report_day("05/01/2026", "UTC") == waiting.report_day("2026-01-05", "UTC")
    with pytest.raises(ValueError):
        waiting.parse_day("31/02/2026")


def test_exit_code_names_the_worst_problem_first():
    from cli.nightly import exit_code
    from schemas.nightly import BatchOutcome, NightlySummary, StepError
    from sohoa.errors import ExitCode

    def night(*batches: tuple[str, int | None], fixity: int = 0, steps=()) -> NightlySummary:
        outcomes = [
            BatchOutcome(batch_id=f"b{i}", result=r, exit_code=c)
            for i, (r, c) in enumerate(batches)
        ]
        return NightlySummary(
            day=date(2026, 11, 21),
            started_at=datetime(2026, 11, 21, 18, tzinfo=UTC),
            duration_s=1.0,
            batches=tuple(outcomes),
            fixity_exit_code=fixity,
            step_errors=tuple(steps),
        )

    assert exit_code(night(("archived", None), ("skipped", None), ("busy", None))) == ExitCode.OK
    assert exit_code(night(("quarantined", 4))) == ExitCode.ENCRYPTED_INPUT
    assert exit_code(night(("quarantined", 3), ("failed", 7))) == ExitCode.SIGNING_FAILED
    assert exit_code(night(("failed", 8), fixity=9)) == ExitCode.VERIFY_FAILED
    reports_down = StepError(step="reports", error="StorageError", exit_code=8)
    assert exit_code(night(("archived", None), steps=[reports_down])) == ExitCode.STORAGE_FAILED
    assert not night(("quarantined", 3)).ok and night(("skipped", None)).ok


def test_cli_runs_each_batch_once_publishes_reports_and_exits_9_on_damage(
    tmp_path, prefect_api_url
):
    import openpyxl

    cli = make_cli(tmp_path / "data", prefect_api_url)
    settings = Settings(data_dir=cli.data_dir)
    ids = {wait_in_inbox(settings, scan(tmp_path / "scans", n)).batch_id for n in (1, 2)}

    first = cli.json("nightly", "--day", DAY)
    assert {b["batch_id"] for b in first["batches"]} == ids
    counts = [first[k] for k in ("processed", "archived", "failed", "retried")]
    assert counts == [2, 2, 0, 0]
    assert first["exit_code"] == 0 and first["ok"] is True
    assert first["fixity_checked"] == 2 and first["fixity_problems"] == 0
    keys = [
        "derived/reports/daily/2026-11-21.xlsx",
        "derived/reports/daily/2026-11-21.json",
        "derived/reports/monthly/2026-11.xlsx",
        "derived/reports/monthly/2026-11.json",
    ]
    assert first["report_keys"] == keys
    store = open_store(settings)
    daily = json.loads(store.get_bytes(keys[1]))
    monthly = json.loads(store.get_bytes(keys[3]))
    assert daily["period"] == {"start": DAY, "end": DAY}
    assert monthly["period"] == {"start": "2026-11-01", "end": DAY}
    assert openpyxl.load_workbook(io.BytesIO(store.get_bytes(keys[0]))).sheetnames
    done = (records(settings), objects(settings, "archive"), objects(settings, "originals"))
    assert len(done[0]) == 2 and len(done[1]) == 4 and len(done[2]) == 2
    assert not list(settings.inbox_dir.iterdir())
    written = (settings.local_store_root / keys[0]).stat().st_mtime_ns

    second = cli.json("nightly", "--day", DAY)
    assert second["batches"] == [] and second["processed"] == 0 and second["exit_code"] == 0
    assert (records(settings), objects(settings, "archive"), objects(settings, "originals")) == done
    assert not (settings.local_store_root / ".versions").exists()  # no object stored twice
    assert second["report_keys"] == keys
    derived = objects(settings, "derived")  # the reports, and each night's catalog backup
    assert [k for k in derived if k.startswith("derived/reports/")] == sorted(keys)
    backups = [k for k in derived if k.startswith("derived/catalog-backup/")]
    assert [first["backup_key"], second["backup_key"]] == backups
    assert (settings.local_store_root / keys[0]).stat().st_mtime_ns != written  # overwritten

    pdf = settings.local_store_root / done[0][0][3]
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    damaged = cli("--lang", "en", "nightly", "--day", DAY, lang="vi")
    assert damaged.returncode == 9, damaged.stderr
    assert "Fixity sample: 2 records checked, 1 problem" in damaged.stdout, damaged.stdout
    assert cli("nightly", "--day", "31/02/2026").returncode == 2


def test_failed_batch_is_retried_until_it_works_or_its_attempts_run_out(tmp_path, prefect_api_url):
    from cli.nightly import exit_code
    from flows.nightly import run_nightly
    from sohoa.errors import ExitCode

    settings = Settings(
        data_dir=tmp_path / "data",
        store=StoreSettings(retries=0),
        nightly=NightlySettings(max_attempts=2, fixity_sample=0, report_formats=()),
    )
    flaky = wait_in_inbox(settings, scan(tmp_path / "scans", 3), unit="FLAKY")
    broken = wait_in_inbox(settings, scan(tmp_path / "scans", 4), unit="BROKEN")
    # a folder squatting on each original's key: the store refuses to put it there
    squatters = {b.batch_id: settings.local_store_root / original_key(b) for b in (flaky, broken)}
    for folder in squatters.values():
        (folder / "in-the-way").mkdir(parents=True)

    garbage = tmp_path / "scans" / "hong.pdf"
    garbage.write_bytes(b"%PDF-1.7 cut off in the middle")
    bad = wait_in_inbox(settings, garbage)  # bad input: quarantined, never retried

    night1 = run_nightly(settings)
    outcome = {b.batch_id: (b.result, b.attempt, b.error) for b in night1.batches}
    assert outcome[flaky.batch_id] == outcome[broken.batch_id] == ("failed", 1, "StorageError")
    assert outcome[bad.batch_id][0] == "quarantined"
    assert (settings.quarantine_dir / bad.batch_id).is_dir() and not bad.folder.exists()
    assert exit_code(night1) == ExitCode.STORAGE_FAILED and not night1.ok
    assert all((b.folder / waiting.ATTEMPTS_FILE).is_file() for b in (flaky, broken))

    shutil.rmtree(squatters[flaky.batch_id])  # the outage is over
    night2 = run_nightly(settings)
    outcome = {b.batch_id: b for b in night2.batches}
    assert set(outcome) == {flaky.batch_id, broken.batch_id}  # the quarantined one is gone
    assert outcome[flaky.batch_id].result == "archived" and outcome[flaky.batch_id].retried
    assert outcome[broken.batch_id].result == "failed" and outcome[broken.batch_id].attempt == 2
    assert night2.retried == 2 and night2.archived == 1 and night2.failed == 1
    assert [r[1] for r in records(settings)] == [flaky.batch_id]
    assert not flaky.folder.exists() and broken.folder.is_dir()

    night3 = run_nightly(settings)  # attempts used up: left alone, reported, not failed again
    assert [(b.batch_id, b.result) for b in night3.batches] == [(broken.batch_id, "skipped")]
    assert night3.processed == 0 and night3.skipped == 1 and exit_code(night3) == ExitCode.OK
    assert broken.folder.is_dir() and len(records(settings)) == 1


@pytest.mark.timeout(CLI_TIMEOUT_S)
def test_killed_mid_run_the_next_run_completes_without_loss_or_duplicates(
    tmp_path, prefect_api_url
):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    settings = Settings(data_dir=cli.data_dir)
    scans = [scan(tmp_path / "scans", n) for n in (5, 6)]
    batches = [wait_in_inbox(settings, path) for path in scans]
    originals = {b.batch_id: path.read_bytes() for b, path in zip(batches, scans, strict=True)}

    run = subprocess.Popen(
        [str(SOHOA), "nightly", "--day", DAY],
        env={**cli.env, "SOHOA_LANG": "en"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: the kill reaches any child it started
    )
    try:
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while not records(settings) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        [first] = records(settings)  # the first batch is committed, the second is not
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
        run.wait()
    assert run.returncode == -signal.SIGKILL  # it was killed, it did not finish
    for batch in batches:  # nothing lost: every original is in the inbox or archived
        kept = [p.read_bytes() for p in batch.folder.glob("000-*")] if batch.folder.exists() else []
        stored = [k for k in objects(settings, "originals") if f"/{batch.batch_id}/" in k]
        assert originals[batch.batch_id] in kept or stored, batch.batch_id

    again = cli.json("nightly", "--day", DAY)
    assert again["exit_code"] == 0 and again["failed"] == 0
    assert cli.json("nightly", "--day", DAY)["batches"] == []
    rows = records(settings)
    assert sorted(r[1] for r in rows) == sorted(b.batch_id for b in batches)  # once per batch
    assert sum(r[2] for r in rows) == len(scans)  # every page archived, once
    assert first in rows  # the record committed before the kill was not made again
    assert not (settings.local_store_root / ".versions" / first[3]).exists()
    archived = objects(settings, "archive")
    assert sorted(k for k in archived if k.endswith(".pdf")) == sorted(r[3] for r in rows)
    for batch in batches:
        [key] = [k for k in objects(settings, "originals") if f"/{batch.batch_id}/" in k]
        assert open_store(settings).get_bytes(key) == originals[batch.batch_id]
    assert not list(settings.inbox_dir.iterdir())


def test_a_claimed_batch_is_left_to_its_holder_and_a_killed_holder_frees_it(
    tmp_path, prefect_api_url
):
    from flows.nightly import run_nightly

    settings = Settings(
        data_dir=tmp_path / "data",
        nightly=NightlySettings(fixity_sample=0, report_formats=()),
    )
    batch = wait_in_inbox(settings, scan(tmp_path / "scans", 7))
    locks = waiting.claim_place(settings)
    with claims.claim(locks, batch.batch_id) as held:  # another run is working on it
        assert held
        summary = run_nightly(settings)
    assert [(b.batch_id, b.result) for b in summary.batches] == [(batch.batch_id, "busy")]
    assert summary.processed == 0 and batch.folder.is_dir()
    assert not (batch.folder / waiting.ATTEMPTS_FILE).exists()  # not an attempt of ours

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_CLAIM,
            str(locks),
            batch.batch_id,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "True"
        with claims.claim(locks, batch.batch_id) as held:
            assert not held  # a live holder keeps it
    finally:
        holder.kill()  # SIGKILL: no clean-up runs in the holder
        holder.wait()
    with claims.claim(locks, batch.batch_id) as held:
        assert held  # the kernel dropped the dead holder's lock: nothing is stale
    assert not (locks / f"{batch.batch_id}.lock").exists()  # and the holder's file is tidied


def test_prefect_yaml_defines_the_five_deployments_on_the_process_pool():
    import yaml
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.flows import load_flow_from_entrypoint

    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    PrefectYamlModel.model_validate(config)  # the shape `prefect deploy` accepts
    deployments = {d["name"]: d for d in config["deployments"]}
    assert set(deployments) == {"digitise", "nightly", "intake-sweep", "fixity", "watch"}
    flows = {"digitise": "digitise_batch", "nightly": "nightly", "fixity": "fixity_check"}
    flows |= {"intake-sweep": "drain_intake", "watch": "watch_folder"}
    for name, deployment in deployments.items():
        assert deployment["work_pool"]["name"] == "sohoa-process"
        assert ":" not in deployment["entrypoint"]  # a module path: no checkout needed
        assert load_flow_from_entrypoint(deployment["entrypoint"]).name == flows[name]
    assert config["pull"] == []  # no "cd into the deploying machine's checkout" step
    assert "schedules" not in deployments["digitise"]  # on demand
    [nightly] = deployments["nightly"]["schedules"]
    assert (nightly["cron"], nightly["timezone"]) == ("0 1 * * *", "Asia/Ho_Chi_Minh")
    [weekly] = deployments["fixity"]["schedules"]
    CronSchedule(cron=weekly["cron"], timezone=weekly["timezone"])  # a valid cron and zone
    assert weekly["cron"].split()[2:] == ["*", "*", "0"]  # once a week
    [sweep] = deployments["intake-sweep"]["schedules"]
    assert sweep["interval"] == 600 and deployments["intake-sweep"]["concurrency_limit"] == 1
    assert "schedules" not in deployments["watch"]  # started once, runs until cancelled
    assert deployments["watch"]["concurrency_limit"] == 1  # one watcher per deployment


def test_an_attempt_that_never_started_is_taken_back(tmp_path):
    """A batch met busy (another run held it) keeps its attempts for real failures."""
    settings = Settings(data_dir=tmp_path / "data")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7\n% not parsed here\n")
    received = inbox.receive([scan], settings, kind="thanh-phan", unit="H56", dossier_code=None)
    batch = waiting.read_waiting(received.folder)
    first = waiting.record_attempt(batch)
    waiting.record_failure(batch, first, "StorageError")
    second = waiting.record_attempt(waiting.read_waiting(received.folder))
    assert (first, second) == (1, 2)
    waiting.forget_attempt(batch, second)
    again = waiting.read_waiting(received.folder)
    assert again.attempts == 1
    waiting.forget_attempt(again, 5)  # not the latest: nothing changes
    assert waiting.read_waiting(received.folder).attempts == 1


def test_a_release_killed_while_deleting_is_finished_by_the_next_scan(tmp_path):
    """Releasing renames the batch folder before deleting it; what a kill leaves is cleared.

    Why: deleting a folder file by file and being killed half-way left a folder with no
    ``batch.json`` (an "upload cut off" for ever) or one whose originals were gone. Seen
    in the killed-nightly test above, once in a full run.
    """
    settings = Settings(data_dir=tmp_path / "data")
    batch = wait_in_inbox(settings, scan(tmp_path / "scans", 7))
    leftover = settings.inbox_dir / f"{inbox.RELEASED_PREFIX}{batch.batch_id}"
    shutil.copytree(batch.folder, leftover)  # as a kill between rename and delete leaves it
    (leftover / "batch.json").unlink()  # and half deleted
    waiting_now, incomplete = waiting.scan_inbox(settings)
    assert [b.batch_id for b in waiting_now] == [batch.batch_id] and incomplete == []
    assert not leftover.exists()
    inbox.release(batch)
    assert not list(settings.inbox_dir.iterdir())


def test_batches_received_into_the_intake_by_another_machine_are_archived_once(
    tmp_path, prefect_api_url
):
    """The nightly run on a worker also drains the store's intake: what a web server on
    another machine received (sharing only the store and the catalog). A second night
    finds nothing; a ticket whose attempts are used up is skipped, not run."""
    from flows.nightly import run_nightly
    from services.intake import receive
    from storage import intake

    shared = {
        "store": StoreSettings(local_root=tmp_path / "objects"),
        "catalog_url": f"sqlite:///{tmp_path / 'catalog.sqlite'}",
        "nightly": NightlySettings(fixity_sample=0, report_formats=(), max_attempts=2),
    }
    web = Settings(data_dir=tmp_path / "web", **shared)
    worker = Settings(data_dir=tmp_path / "worker", **shared)
    tickets = [receive([scan(tmp_path / "scans", n)], web, unit="H56.01") for n in (11, 12)]
    used_up = receive([scan(tmp_path / "scans", 13)], web, unit="H56.01")
    store = open_store(web)
    intake.write(store, dataclasses.replace(used_up, attempts=2, last_error="StorageError"))

    night = run_nightly(worker, day=DAY)

    by_id = {b.batch_id: b for b in night.batches}
    assert {i: (b.result, b.attempt) for i, b in by_id.items()} == {
        tickets[0].batch_id: ("archived", 1),
        tickets[1].batch_id: ("archived", 1),
        used_up.batch_id: ("skipped", 0),
    }
    assert by_id[used_up.batch_id].error == "StorageError"
    assert [t.batch_id for t in intake.waiting(store)[0]] == [used_up.batch_id]
    archived = sorted(store.list("archive/"))
    assert len(archived) == 4  # two records: a PDF and a manifest each
    assert not list(worker.inbox_dir.iterdir())

    again = run_nightly(worker, day=DAY)
    assert [(b.batch_id, b.result) for b in again.batches] == [(used_up.batch_id, "skipped")]
    assert sorted(store.list("archive/")) == archived


def test_the_intake_sweep_finishes_batches_left_waiting_and_leaves_fresh_ones_to_their_runs(
    tmp_path, prefect_api_url
):
    """``drain_intake`` (the ``intake-sweep`` deployment, every 10 minutes) takes what has
    waited 15 minutes — a dispatched run whose worker died — and not a batch received a
    moment ago, whose own run is on its way."""
    from datetime import timedelta

    from flows.nightly import drain_intake
    from services.intake import receive
    from storage import intake

    shared = {
        "store": StoreSettings(local_root=tmp_path / "objects"),
        "catalog_url": f"sqlite:///{tmp_path / 'catalog.sqlite'}",
    }
    web = Settings(data_dir=tmp_path / "web", **shared)
    worker = Settings(data_dir=tmp_path / "worker", **shared)
    left = receive([scan(tmp_path / "scans", 31)], web, unit="H56.01")
    fresh = receive([scan(tmp_path / "scans", 32)], web, unit="H56.01")
    swept_out = receive([scan(tmp_path / "scans", 33)], web, unit="H56.01")
    store = open_store(web)

    def aged(ticket, **changes):
        """The ticket as if received an hour ago (its keys moved with it)."""
        an_hour_ago = ticket.received_at - timedelta(hours=1)
        moved = []
        for number, item in enumerate(ticket.files):
            key = keys.original_key(ticket.unit, an_hour_ago, ticket.batch_id, number, item.name)
            store.put_bytes(key, store.get_bytes(item.key))
            moved.append(dataclasses.replace(item, key=key))
        old = dataclasses.replace(ticket, received_at=an_hour_ago, files=tuple(moved), **changes)
        intake.write(store, old)
        return old

    aged(left, attempts=3)  # the nights' attempts used up: the sweep counts its own
    tried_out = aged(swept_out, sweeps=3)

    outcomes = drain_intake(settings=worker, min_age_minutes=15)

    results = {o.batch_id: o.result for o in outcomes}
    assert results == {left.batch_id: "archived", swept_out.batch_id: "skipped"}
    waiting_now = [t.batch_id for t in intake.waiting(store)[0]]
    assert sorted(waiting_now) == sorted([fresh.batch_id, swept_out.batch_id])
    assert intake.read(store, swept_out.batch_id).sweeps == 3 == tried_out.sweeps
    resent = receive([scan(tmp_path / "scans", 33)], web, unit="H56.01")  # sent again
    assert (resent.batch_id, resent.sweeps, resent.attempts) == (swept_out.batch_id, 0, 0)
