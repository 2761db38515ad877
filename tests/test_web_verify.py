"""The auditor's integrity overview: ``/verify``, ``/api/fixity``, and the fixity history.

Real everything: the small archive of :mod:`archive_fixture` (three records in H56.01
made by the real pipeline) plus one receipt digitised here in H56.02; the real app
through FastAPI's TestClient on that SQLite catalog and local object store; real
checks (hashes, pyHanko and pdfsig) in the app's background thread. Every test
works on its own copy of the data directory, since checks write the history and
some tests damage PDFs behind the store's back.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from archive_fixture import DPI, RECEIPT, small_archive  # noqa: F401
from conftest import copy_data_dir, make_cli
from pgserver import copy_database, moved_to_postgres
from webclient import TestClient, csrf_of

from catalog import audit
from catalog.audit import Actor, AuditFilter
from catalog.database import forget_catalog, open_catalog
from records import fixity_runs
from records.rebuild import rebuild_catalog
from schemas.settings import Settings
from services import users
from sohoa.errors import StorageError
from storage.stores import open_store
from web.app import create_app
from web.fixity_jobs import MAX_SAMPLE, FixityJobs, _real_check

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
OTHER_UNIT = "H56.02"
OTHER_CODE = "000.00.31.H56-240315-0007"
PEOPLE = {
    "auditor": ("binh.audit", "auditor", None),
    "scoped": ("cuc.audit", "auditor", "H56.01"),
    "district": ("dung.audit", "auditor", "H56"),
    "clerk": ("chi.clerk", "clerk", "H56.01"),
    "admin": ("an.admin", "admin", None),
}
WAIT_S = 120


@dataclass(frozen=True)
class World:
    """A finished data directory: four records in two units, and four accounts."""

    data_dir: Path
    catalog_url: str | None
    """None: the SQLite file in ``data_dir``; else a PostgreSQL database to copy."""
    receipt: str
    """The H56.01 receipt."""
    in_unit: tuple[str, ...]
    """Every H56.01 record."""
    other: str
    """The H56.02 receipt."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, small_archive, tmp_path_factory) -> World:
    """Every test of this module runs on a SQLite catalog and on a PostgreSQL one."""
    from flows.digitise import run_digitise
    from samples.synth import render_page, write_png

    root = tmp_path_factory.mktemp("verify")
    settings = small_archive.copy(root / "data")
    if request.param == "postgresql":
        settings = moved_to_postgres(settings, request.getfixturevalue("pg_server"), records=3)
    scan = root / "bien-nhan-khac.png"
    lines = [*RECEIPT[:-1], f"Mã hồ sơ: {OTHER_CODE}"]
    write_png(scan, render_page(lines, dpi=DPI, paper="A5", font_size_pt=12, seed=5), dpi=DPI)
    (made,) = run_digitise([str(scan)], settings=settings, unit=OTHER_UNIT)
    for name, role, unit in PEOPLE.values():
        users.add_user(settings, name, PASSWORD, role=role, unit=unit or "", actor=CLI)
    ids = small_archive.record_ids
    forget_catalog(settings.resolved_catalog_url)  # fold the WAL, or let PostgreSQL copy it
    return World(settings.data_dir, settings.catalog_url, ids[0], ids, made.record_id)


@dataclass
class Site:
    """One test's copy of the world, and its app."""

    settings: Settings
    app: object

    def jobs(self) -> FixityJobs:
        return self.app.state.fixity_jobs

    def wait(self) -> None:
        assert self.jobs().wait(WAIT_S), "the check did not finish"


def _copy(world: World, dest: Path, request) -> Settings:
    """The world's data directory (the local store) and catalog, copied for one test."""
    if world.catalog_url is None:
        with sqlite3.connect(world.data_dir / "catalog.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    copy_data_dir(world.data_dir, dest)
    if world.catalog_url is None:
        return Settings(data_dir=dest)
    server = request.getfixturevalue("pg_server")
    return Settings(data_dir=dest, catalog_url=copy_database(server, world.catalog_url))


@pytest.fixture
def site(world, tmp_path, request) -> Site:
    settings = _copy(world, tmp_path / "data", request)
    return Site(settings, create_app(settings))


def tamper(settings: Settings, record_id: str) -> None:
    """Flip one byte of the record's archived PDF behind the store's back."""
    row = open_catalog(settings.resolved_catalog_url).get_record(record_id)
    path = settings.local_store_root / row.pdf_key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def signed_in(app, who: str) -> TestClient:
    browser = TestClient(app, follow_redirects=False)
    token = csrf_of(browser.get("/login").text)
    answer = browser.post(
        "/login", data={"name": PEOPLE[who][0], "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303
    return browser


def start(browser: TestClient, **form: str) -> int:
    """Post the page's form; return the run id the answer redirects to."""
    token = csrf_of(browser.get("/verify").text)
    answer = browser.post("/verify", data={"csrf_token": token, **form})
    assert answer.status_code == 303, answer.text
    return int(re.fullmatch(r"/verify\?run=(\d+)", answer.headers["location"]).group(1))


def failure_rows(html: str) -> list[tuple[str, str]]:
    return re.findall(
        r'data-testid="fixity-failure" data-record="([^"]*)" data-status="(\w+)"', html
    )


def entries(settings: Settings, action: str) -> list[audit.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit.query(catalog, AuditFilter(action=action), per_page=500).entries)


def runs_of(settings: Settings) -> list[fixity_runs.FixityRun]:
    return list(fixity_runs.list_runs(open_catalog(settings.resolved_catalog_url)).runs)


# --- who may look ------------------------------------------------------------------------------


def test_anonymous_goes_to_login_and_other_roles_get_403(site):
    anonymous = TestClient(site.app, follow_redirects=False)
    page = anonymous.get("/verify")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fverify"
    assert anonymous.get("/api/fixity").status_code == 401
    assert anonymous.get("/api/fixity/1").status_code == 401
    for who in ("clerk", "admin"):
        browser = signed_in(site.app, who)
        assert browser.get("/verify").status_code == 403, who
        assert browser.get("/api/fixity").status_code == 403, who
        token = csrf_of(browser.get("/").text)
        assert browser.post("/verify", data={"csrf_token": token}).status_code == 403, who
        assert 'href="/verify"' not in browser.get("/").text
    assert runs_of(site.settings) == []
    denied = {e.target for e in entries(site.settings, "access.denied")}
    assert {"/verify", "/api/fixity"} <= denied


def test_the_auditor_sees_the_page_and_the_navigation_links_it(site):
    browser = signed_in(site.app, "auditor")
    home = browser.get("/")
    assert 'href="/verify"' in home.text
    page = browser.get("/verify")
    assert page.status_code == 200
    assert 'data-verdict="none"' in page.text and "Chưa có lần kiểm tra nào" in page.text
    assert 'data-testid="fixity-form"' in page.text and 'value="50"' in page.text
    assert '<script src="/static/verify.js" defer></script>' in page.text
    assert "<script>" not in page.text and " style=" not in page.text
    assert browser.get("/static/verify.js").status_code == 200


# --- starting a check --------------------------------------------------------------------------


def test_a_check_started_on_the_page_runs_and_is_recorded(site, world):
    browser = signed_in(site.app, "auditor")
    run_id = start(browser, sample="50")
    site.wait()
    page = browser.get(f"/verify?run={run_id}&lang=en")
    assert page.status_code == 200
    assert re.search(r'data-testid="fixity-latest" data-verdict="ok"', page.text)
    assert "Passed: every record checked is intact" in page.text
    assert re.search(r'data-testid="fixity-checked">4 / 4<', page.text)
    assert re.search(r'data-testid="fixity-problems">0<', page.text)
    assert failure_rows(page.text) == []
    rows = re.findall(r'data-testid="fixity-history-row" data-run="(\d+)" data-verdict="(\w+)"',
                      page.text)  # fmt: skip
    assert rows == [(str(run_id), "ok")]
    (run,) = runs_of(site.settings)
    assert (run.id, run.state, run.checked, run.problems, run.orphans) == (run_id, "done", 4, 0, 0)
    assert run.started_by == "web:binh.audit" and run.sample == "50" and run.unit is None
    started = entries(site.settings, "fixity.start")
    assert len(started) == 1 and started[0].target == str(run_id)
    assert started[0].username == "binh.audit" and started[0].detail["sample"] == 50


def test_a_tampered_pdf_is_a_failure_linking_to_its_record(site, world):
    tamper(site.settings, world.receipt)
    browser = signed_in(site.app, "auditor")
    run_id = start(browser)
    site.wait()
    page = browser.get("/verify?lang=en")  # the latest run is shown without asking
    assert re.search(r'data-testid="fixity-latest" data-verdict="problems"', page.text)
    assert failure_rows(page.text) == [(world.receipt, "changed")]
    assert f'<a href="/records/{world.receipt}">{world.receipt}</a>' in page.text
    assert "Signed PDF: Changed" in page.text
    body = browser.get(f"/api/fixity/{run_id}").json()
    assert body["verdict"] == "problems" and body["problems"] == 1 and body["checked"] == 4
    (failure,) = body["failures"]
    assert failure["record_id"] == world.receipt and failure["status"] == "changed"
    assert failure["objects"] == ["pdf:changed"] and failure["unit"] == "H56.01"
    assert failure["record_url"] == f"/records/{world.receipt}"
    assert browser.get(failure["record_url"]).status_code == 200


def test_a_unit_limited_auditor_checks_only_their_unit_and_sees_only_its_failures(site, world):
    tamper(site.settings, world.receipt)
    tamper(site.settings, world.other)
    everyone = signed_in(site.app, "auditor")
    full = start(everyone)
    site.wait()
    assert len(everyone.get(f"/api/fixity/{full}").json()["failures"]) == 2

    scoped = signed_in(site.app, "scoped")
    page = scoped.get(f"/verify?run={full}")
    assert failure_rows(page.text) == [(world.receipt, "changed")]
    assert 'data-testid="fixity-hidden"' in page.text
    assert 'readonly data-testid="fixity-unit"' in page.text
    body = scoped.get(f"/api/fixity/{full}").json()
    assert [f["record_id"] for f in body["failures"]] == [world.receipt]
    assert body["hidden_failures"] == 1 and body["problems"] == 2

    token = csrf_of(page.text)
    refused = scoped.post("/verify", data={"csrf_token": token, "unit": OTHER_UNIT})
    assert refused.status_code == 403
    api = scoped.post("/api/fixity", json={"unit": OTHER_UNIT}, headers={"X-CSRF-Token": token})
    assert api.status_code == 403
    denied = [e for e in entries(site.settings, "access.denied") if e.username == "cuc.audit"]
    assert {"/verify", "/api/fixity"} <= {e.target for e in denied}

    own = start(scoped, unit="")  # blank: forced to their unit
    site.wait()
    run = scoped.get(f"/api/fixity/{own}").json()
    assert run["unit"] == "H56.01" and run["checked"] == len(world.in_unit) == 3
    assert run["orphans"] is None and [f["record_id"] for f in run["failures"]] == [world.receipt]
    assert [r.id for r in runs_of(site.settings)] == [own, full]  # no run for the refusals


REGISTER = [
    ["Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Mã lĩnh vực", "Tên lĩnh vực", "Mã đơn vị", "Tên đơn vị",
     "Cấp", "Đơn vị cấp trên", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý",
     "Trạng thái", "Kênh", "Kết quả giấy"],
    ["000.00.06.H56-231027-0361", "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT", "Hộ tịch",
     "H56.01", "UBND xã Gio Linh", "xa", "H56", "27/10/2023", "", "", "4", "1", "có"],
    [OTHER_CODE, "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT", "Hộ tịch", OTHER_UNIT,
     "UBND xã Cam Lộ", "xa", "H56", "15/03/2024", "", "", "4", "1", "có"],
    ["000.00.06.H56-230915-0003", "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT", "Hộ tịch",
     "H56", "UBND huyện Hải Lăng", "huyen", "", "15/09/2023", "", "", "4", "1", "có"],
]  # fmt: skip
"""Two communes under one district, so a district's auditor covers both."""


def test_a_district_auditor_checks_and_sees_the_communes_under_it(site, world, tmp_path):
    import csv

    from catalog.register import import_register

    path = tmp_path / "so-theo-doi.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(REGISTER)
    import_register(open_catalog(site.settings.resolved_catalog_url), path)
    tamper(site.settings, world.other)
    district = signed_in(site.app, "district")
    run_id = start(district, unit="")
    site.wait()
    run = district.get(f"/api/fixity/{run_id}").json()
    assert run["unit"] == "H56" and run["checked"] == 4 and run["orphans"] is None
    assert [f["record_id"] for f in run["failures"]] == [world.other]
    assert failure_rows(district.get(f"/verify?run={run_id}").text) == [(world.other, "changed")]
    assert start(district, unit=OTHER_UNIT) > run_id  # a commune under the district
    site.wait()
    scoped = signed_in(site.app, "scoped")  # H56.01 does not see its sibling's failure
    assert scoped.get(f"/api/fixity/{run_id}").json()["hidden_failures"] == 1


def test_a_post_without_the_csrf_token_is_refused(site):
    browser = signed_in(site.app, "auditor")
    assert browser.post("/verify", data={"sample": "5"}).status_code == 403
    assert browser.post("/api/fixity", json={"sample": 5}).status_code == 403
    assert runs_of(site.settings) == []
    assert len(entries(site.settings, "csrf.rejected")) == 2


def test_a_second_start_while_one_runs_gets_409(site, world):
    gate = threading.Event()

    def held_check(settings, **options):
        assert gate.wait(WAIT_S)
        return _real_check(settings, **options)

    site.app.state.fixity_jobs = FixityJobs(site.settings, check=held_check)
    browser = signed_in(site.app, "auditor")
    try:
        run_id = start(browser, sample="2")
        page = browser.get("/verify?lang=en")  # the running check is the one shown
        assert f'data-fixity-poll="/api/fixity/{run_id}"' in page.text
        assert 'data-testid="fixity-progress"' in page.text and "Checking… 0/?" in page.text
        assert re.search(r'data-testid="fixity-submit" disabled', page.text)
        live = browser.get(f"/api/fixity/{run_id}").json()
        assert live["state"] == "running" and live["progress"] == {
            "done": 0, "total": None, "problems": 0}  # fmt: skip
        token = csrf_of(page.text)
        again = browser.post("/verify", data={"csrf_token": token, "sample": "3"})
        assert again.status_code == 409 and 'data-testid="fixity-error"' in again.text
        assert f"(lần {run_id})" in again.text or f"(no. {run_id})" in again.text
        api = browser.post("/api/fixity", json={"sample": 3}, headers={"X-CSRF-Token": token})
        assert api.status_code == 409 and api.json()["error"] == "web_verify_busy"
    finally:
        gate.set()
    site.wait()
    done = browser.get(f"/api/fixity/{run_id}").json()
    assert done["state"] == "done" and done["checked"] == 2 and done["progress"] is None
    assert [r.id for r in runs_of(site.settings)] == [run_id]
    assert start(browser, sample="1") > run_id  # free again
    site.wait()


def test_the_api_twins_give_the_same_data_as_the_page(site, world):
    made = users.create_token(site.settings, "binh.audit", "script", actor=CLI)
    api = TestClient(site.app, follow_redirects=False)
    bearer = {"Authorization": f"Bearer {made['token']}"}
    answer = api.post("/api/fixity", json={"sample": 2}, headers=bearer)
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["id"]
    assert answer.json()["started_by"] == "api:binh.audit" and answer.json()["sample"] == "2"
    site.wait()
    one = api.get(f"/api/fixity/{run_id}", headers=bearer).json()
    assert (one["state"], one["checked"], one["catalog_records"], one["orphans"]) == (
        "done", 2, 4, 0)  # fmt: skip
    listed = api.get("/api/fixity", headers=bearer).json()
    assert listed["total"] == 1 and listed["runs"][0]["id"] == run_id
    assert listed["runs"][0]["checked"] == one["checked"]
    page = signed_in(site.app, "auditor").get(f"/verify?run={run_id}")
    assert re.search(r'data-testid="fixity-checked">2 / 4<', page.text)
    for bad in (0, MAX_SAMPLE + 1):
        refused = api.post("/api/fixity", json={"sample": bad}, headers=bearer)
        assert refused.status_code == 400 and refused.json()["error"] == "web_verify_bad_sample"
    assert api.get("/api/fixity/999", headers=bearer).status_code == 404
    spec = api.get("/api/openapi.json", headers=bearer).json()
    assert {"/api/fixity", "/api/fixity/{run_id}"} <= set(spec["paths"])
    assert "/verify" not in spec["paths"]


def test_the_history_is_paginated(site):
    catalog = open_catalog(site.settings.resolved_catalog_url)
    ids = [
        fixity_runs.start_run(catalog, started_by="cli", sample=None, unit=None) for _ in range(25)
    ]
    browser = signed_in(site.app, "auditor")
    first = browser.get("/verify")
    assert first.text.count('data-testid="fixity-history-row"') == 20
    assert f'data-run="{ids[-1]}"' in first.text
    link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    second = browser.get(f"/verify{link}")
    assert second.text.count('data-testid="fixity-history-row"') == 5
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    body = browser.get("/api/fixity", params={"per_page": 10, "page": 3}).json()
    assert body["pages"] == 3 and [r["id"] for r in body["runs"]] == ids[4::-1]


# --- the history outside the web ---------------------------------------------------------------


def test_the_history_survives_a_catalog_rebuild(site, world):
    tamper(site.settings, world.other)
    browser = signed_in(site.app, "auditor")
    run_id = start(browser)
    site.wait()
    before = fixity_runs.get_run(open_catalog(site.settings.resolved_catalog_url), run_id)
    report = rebuild_catalog(site.settings.resolved_catalog_url, store=open_store(site.settings))
    assert report.fixity_runs == 1
    after = fixity_runs.get_run(open_catalog(site.settings.resolved_catalog_url), run_id)
    assert after == before and [f.record_id for f in after.failures] == [world.other]
    page = browser.get("/verify")  # the sessions did not survive: sign in again
    assert page.status_code == 303
    again = signed_in(site.app, "auditor").get("/verify")
    assert failure_rows(again.text) == [(world.other, "changed")]


def test_sohoa_verify_all_records_a_run(world, tmp_path, prefect_api_url, request):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    settings = _copy(world, cli.data_dir, request)
    if settings.catalog_url:
        cli.env["SOHOA_CATALOG_URL"] = settings.catalog_url
    tamper(settings, world.receipt)
    done = cli("verify", "--all")
    assert done.returncode == 9, done.stderr
    one = cli("verify", world.other)  # one record's look is not a check of the archive
    assert one.returncode == 0, one.stderr
    (run,) = runs_of(settings)
    assert (run.started_by, run.state, run.sample, run.checked, run.problems, run.orphans) == (
        "cli", "done", None, 4, 1, 0)  # fmt: skip
    failures = fixity_runs.get_run(open_catalog(settings.resolved_catalog_url), run.id).failures
    assert [(f.record_id, f.status, f.reason) for f in failures] == [
        (world.receipt, "changed", "pdf:changed")]  # fmt: skip


def test_the_flow_records_its_runs_and_survives_an_unwritable_history(
    world, tmp_path, monkeypatch, caplog, request
):
    from flows.fixity import run_fixity_check

    settings = _copy(world, tmp_path / "data", request)
    report = run_fixity_check(settings, sample=2, orphans=False, workers=1)
    (run,) = runs_of(settings)
    assert (run.started_by, run.sample, run.checked, run.orphans, run.verdict) == (
        "nightly", "2", 2, None, "ok")  # fmt: skip
    assert len(report.results) == 2

    def unwritable(*args, **kwargs):
        raise StorageError(operation="catalog", reason="disk full")

    monkeypatch.setattr(fixity_runs, "start_run", unwritable)
    with caplog.at_level("WARNING", logger="records.fixity_runs"):
        report = run_fixity_check(settings, sample=1, orphans=False, workers=1, unit=OTHER_UNIT)
    assert [r.record_id for r in report.results] == [world.other] and report.ok
    assert "cannot record the start of a run: StorageError" in caplog.text
    assert len(runs_of(settings)) == 1


def test_a_run_left_running_by_a_dead_process_is_closed_as_interrupted(tmp_path, catalog_url):
    import socket
    import subprocess
    import sys

    from sqlalchemy import update

    from catalog.tables import FixityRunTable

    catalog = open_catalog(
        Settings(data_dir=tmp_path, catalog_url=catalog_url).resolved_catalog_url
    )
    mine = fixity_runs.start_run(catalog, started_by="cli", sample=5, unit=None)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lost = fixity_runs.start_run(catalog, started_by="nightly", sample=5, unit=None)
    with catalog._write() as session:
        owner = f"{socket.gethostname()}:{dead.stdout.strip()}"
        session.execute(update(FixityRunTable).where(FixityRunTable.id == lost).values(owner=owner))
    assert fixity_runs.close_abandoned(catalog) == 1
    assert fixity_runs.get_run(catalog, lost).state == "error"
    assert fixity_runs.get_run(catalog, lost).error == "interrupted"
    assert fixity_runs.get_run(catalog, mine).state == "running"  # this process is alive


def test_the_archive_verdict_is_the_latest_whole_archive_run(tmp_path, catalog_url):
    from records.fixity import FixityReport

    catalog = open_catalog(
        Settings(data_dir=tmp_path, catalog_url=catalog_url).resolved_catalog_url
    )
    whole = fixity_runs.start_run(catalog, started_by="nightly", sample=200, unit=None)
    fixity_runs.finish_run(catalog, whole, FixityReport(catalog_records=0, results=()))
    commune = fixity_runs.start_run(catalog, started_by="web:cuc", sample=50, unit="H56.01")
    fixity_runs.finish_run(catalog, commune, FixityReport(catalog_records=0, results=()))
    assert fixity_runs.latest_finished(catalog).id == whole


def test_a_check_on_a_worker_writes_its_counts_into_the_row_as_it_goes(tmp_path, catalog_url):
    """A check handed to the Prefect pool (``run_id`` given) counts into its history row,
    at most once a ``every_s``, and never into a row that has finished."""
    from records.verify import VerifyResult

    settings = Settings(data_dir=tmp_path, catalog_url=catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    run_id = fixity_runs.start_run(catalog, started_by="web:binh", sample=5, unit=None, owned=False)
    sink = fixity_runs.RowProgress(settings, run_id, every_s=0.0)
    sink.started(3)
    good = VerifyResult(record_id="a", dossier_code="", pdf="a.pdf", ok=True, problems=())
    bad = VerifyResult(record_id="b", dossier_code="", pdf="b.pdf", ok=False, problems=("x",))
    for result in (good, bad):
        sink.checked(result)
    run = fixity_runs.get_run(catalog, run_id)
    assert (run.state, run.checked, run.problems) == ("running", 2, 1)
    slow = fixity_runs.RowProgress(settings, run_id, every_s=3600)
    slow.started(3)
    slow.checked(good)
    assert fixity_runs.get_run(catalog, run_id).checked == 2  # not written yet: too soon
    fixity_runs.fail_run(catalog, run_id, RuntimeError("stopped"))
    fixity_runs.note_progress(catalog, run_id, checked=9, problems=9)
    assert fixity_runs.get_run(catalog, run_id).checked == 2  # a finished row is left alone


def test_the_page_shows_the_counts_of_a_check_running_on_a_worker(site):
    """``web.dispatch = deployment``: the run's counts come from its row, where the worker
    writes them; this web server has no counters of its own for it."""
    settings = site.settings.model_copy(
        update={"web": site.settings.web.model_copy(update={"dispatch": "deployment"})}
    )
    app = create_app(settings)
    catalog = open_catalog(settings.resolved_catalog_url)
    run_id = fixity_runs.start_run(catalog, started_by="web:binh", sample=5, unit=None, owned=False)
    fixity_runs.note_progress(catalog, run_id, checked=3, problems=1)
    made = users.create_token(settings, "binh.audit", "script", actor=CLI)
    bearer = {"Authorization": f"Bearer {made['token']}"}
    one = TestClient(app).get(f"/api/fixity/{run_id}", headers=bearer).json()
    assert one["state"] == "running"
    assert one["progress"] == {"done": 3, "total": None, "problems": 1}
