"""The clerk's pages and API: upload, live progress, batches and retry, review with corrections.

The real app (``web.app.create_app``) through FastAPI's TestClient, with the real
pipeline (Prefect test server, Tesseract, signing, local store) run by the app's
own job runner on one-page generated scans. One upload is made once for the module
(:func:`archive`); tests that change things work on a copy of its data directory.
Waiting for a batch uses the runner's own completion event, never a sleep or a
time limit on the work.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_data_dir
from pgserver import PgServer, copy_database
from PIL import Image
from test_ingest_claim import holder  # noqa: F401  (fixture)
from webclient import TestClient, csrf_of

from catalog import audit
from catalog.audit import Action, Actor, AuditFilter
from catalog.database import forget_catalog, open_catalog
from schemas.settings import Settings
from services import records as record_service
from services import review as review_service
from services import users as user_service
from sohoa.errors import StaleRevisionError
from storage import intake
from storage.stores import open_store
from web.app import create_app
from web.jobs import JobRunner

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
BAD_ID = "999187002319"  # no province 999: the field is kept as read and flagged
RECEIPT = [  # no mã hồ sơ printed: the record needs review whatever OCR reads
    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Tiếp nhận hồ sơ của: Ông/Bà NGUYỄN VĂN AN",
    f"Số CCCD/CMND/Hộ chiếu: {BAD_ID}",
    "Nội dung yêu cầu giải quyết: Đăng ký khai sinh",
]
CODE = "000.00.06.H56-231027-0361"
NAMES = ("Lê Văn Một", "Trần Thị Hai", "Phạm Văn Ba", "Đỗ Thị Bốn")
WAIT_S = 900  # a bound so a broken runner fails the test instead of hanging it


# --- helpers -----------------------------------------------------------------------------------


def make_settings(data_dir: Path, **extra) -> Settings:
    """A data dir of its own; a store outage fails at once instead of after 2 + 8 + 32 s."""
    return Settings(data_dir=data_dir, store={"retries": 0}, **extra)


def receipt_png(folder: Path, name: str = "bien-nhan.png", seed: int = 0) -> Path:
    from samples.synth import render_page, write_png

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_png(path, render_page(RECEIPT, dpi=200, paper="A5", font_size_pt=12, seed=seed), dpi=200)
    return path


def add_people(settings: Settings) -> None:
    """Clerks of H56.01, of H56.02 and of every unit; an auditor."""
    for name, role, unit in (
        ("chi.clerk", "clerk", "H56.01"),
        ("dung.clerk", "clerk", "H56.02"),
        ("an.clerk", "clerk", None),
        ("binh.audit", "auditor", None),
    ):
        user_service.add_user(settings, name, PASSWORD, role=role, unit=unit, actor=CLI)


def client(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def signed_in(app, name: str) -> TestClient:
    browser = client(app)
    token = csrf_of(browser.get("/login").text)
    answer = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return browser


def token_of(browser: TestClient, path: str = "/upload") -> str:
    return csrf_of(browser.get(path).text)


def bearer(settings: Settings, name: str) -> dict[str, str]:
    made = user_service.create_token(settings, name, f"t-{name}", actor=CLI)
    return {"Authorization": f"Bearer {made['token']}"}


def entries(settings: Settings, action: str | None = None) -> list[audit.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit.query(catalog, AuditFilter(action=action), per_page=500).entries)


def inbox_folders(settings: Settings) -> list[str]:
    root = settings.inbox_dir
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def wait_for(app, batch_id: str) -> None:
    view = app.state.jobs.wait(batch_id, timeout=WAIT_S)
    assert view is not None and not view.active, view


def upload_api(browser: TestClient, *paths: Path, **form: str):
    """Upload as upload.js does: multipart to /api/uploads with the page's CSRF header."""
    token = token_of(browser)
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    return browser.post(
        "/api/uploads",
        files=files,
        data={"kind": "thanh-phan", **form},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )


@pytest.fixture
def stop_runners():
    """Apps made in a test; their worker threads are stopped at its end."""
    apps: list = []
    yield apps
    for app in apps:
        runner = getattr(app.state, "jobs", None)
        if runner is not None:
            runner.stop(timeout=60)


def new_app(settings: Settings, apps: list):
    app = create_app(settings)
    apps.append(app)
    return app


# --- one real upload for the module ------------------------------------------------------------


@dataclass(frozen=True)
class Archive:
    """A data directory holding one uploaded, digitised batch (copy it before changing it)."""

    data_dir: Path
    batch_id: str
    record_id: str
    first: dict
    """What POST /api/uploads answered."""
    final: dict
    """What GET /api/batches/{id} answered once the job had finished."""
    queue: list
    """What GET /api/review answered then."""
    server: PgServer | None = None
    """The PostgreSQL server holding the catalog, or None for the data dir's SQLite file."""
    catalog_url: str | None = None

    @property
    def settings(self) -> Settings:
        return make_settings(self.data_dir, catalog_url=self.catalog_url)

    def copy(self, dest: Path, apps: list, **extra):
        """The data dir (and on PostgreSQL the catalog database) copied, and an app on it."""
        copy_data_dir(self.data_dir, dest, skip=("prefect", "locks"))
        if self.server is not None:
            extra["catalog_url"] = copy_database(self.server, self.catalog_url)
        settings = make_settings(dest, **extra)
        return settings, new_app(settings, apps)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory, prefect_api_url) -> Archive:
    """One upload digitised by the web app, its catalog a SQLite file or a PostgreSQL
    database (a new one on the session's server): every test using it runs on both."""
    root = tmp_path_factory.mktemp("clerk-archive")
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    url = None
    if server is not None:
        url = server.url(f"clerk_{uuid.uuid4().hex[:12]}")
        server.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    settings = make_settings(root / "data", catalog_url=url)
    add_people(settings)
    app = create_app(settings)
    scan = receipt_png(root / "scans")
    browser = signed_in(app, "chi.clerk")
    first = upload_api(browser, scan)
    assert first.status_code == 202, first.text
    batch_id = first.json()["id"]
    wait_for(app, batch_id)
    final = browser.get(f"/api/batches/{batch_id}").json()
    queue = browser.get("/api/review").json()
    app.state.jobs.stop(timeout=60)
    (record,) = final["records"]
    forget_catalog(settings.resolved_catalog_url)  # PostgreSQL copies only an idle database
    made = (root / "data", batch_id, record["id"], first.json(), final, queue, server, url)
    return Archive(*made)


def test_an_upload_is_digitised_in_the_background_with_progress(archive):
    settings = archive.settings
    assert archive.first["status"] in ("waiting", "running") and not archive.first["done"]
    assert archive.first["unit"] == "H56.01" and archive.first["files"] == 1
    final = archive.final
    assert final["done"] and final["status"] == "needs_review", final
    assert final["pages_total"] == final["pages_done"] == 1
    assert final["in_review"] == 1 and not final["retryable"] and final["reason"] is None
    assert final["records"][0]["review_url"] == f"/review/{archive.record_id}"
    assert [item["id"] for item in archive.queue] == [archive.record_id]
    assert "missing:dossier_code" in archive.queue[0]["reasons"]
    assert inbox_folders(settings) == []  # released once archived
    assert not list((settings.work_dir / "uploads").iterdir())  # staging removed
    (upload,) = entries(settings, Action.BATCH_UPLOAD)
    assert upload.target == archive.batch_id and upload.username == "chi.clerk"
    assert upload.detail["files"] == 1 and upload.detail["formats"] == ["png"]
    row = open_catalog(settings.resolved_catalog_url).get_batch(archive.batch_id)
    assert row.status == "archived" and row.unit == "H56.01"


def test_the_batch_pages_show_status_and_a_repeated_upload_is_the_same_batch(
    archive, tmp_path, stop_runners
):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    browser = signed_in(app, "chi.clerk")
    page = browser.get("/batches?lang=en")
    assert page.status_code == 200 and archive.batch_id[:12] in page.text
    assert 'data-testid="batch-status">needs review<' in page.text
    assert "<script>" not in page.text and " style=" not in page.text  # CSP: no inline code
    one = browser.get(f"/batches/{archive.batch_id}")
    assert one.status_code == 200 and f"/review/{archive.record_id}" in one.text
    assert 'data-batch-poll=""' in one.text  # done: upload.js does not poll it
    filtered = browser.get("/api/batches", params={"status": "needs_review"}).json()
    assert [b["id"] for b in filtered["batches"]] == [archive.batch_id]
    assert browser.get("/api/batches", params={"status": "failed"}).json()["total"] == 0
    assert browser.get("/api/batches", params={"status": "nonsense"}).status_code == 422

    again = upload_api(browser, receipt_png(tmp_path / "scans"))
    assert again.status_code == 200 and again.json()["id"] == archive.batch_id
    assert again.json()["status"] == "needs_review"
    assert inbox_folders(settings) == [] and app.state.jobs.active() == {}
    assert entries(settings, Action.BATCH_UPLOAD)[0].detail["repeated"] is True


# --- refused before anything is stored ---------------------------------------------------------


def test_oversize_wrong_type_and_empty_files_are_refused_before_anything_is_stored(
    tmp_path, stop_runners
):
    settings = make_settings(
        tmp_path / "data", limits={"max_file_mb": 0.05}, web={"max_upload_mb": 0.5}
    )
    add_people(settings)
    app = new_app(settings, stop_runners)
    browser = signed_in(app, "chi.clerk")
    scans = tmp_path / "scans"
    scans.mkdir()
    big = scans / "lon.pdf"
    big.write_bytes(b"%PDF-1.7\n" + b"0" * 80_000)  # a PDF header, 80 KB > 0.05 MB
    text = scans / "ghi-chu.pdf"
    text.write_text("không phải bản quét")  # named .pdf, but its bytes say otherwise
    empty = scans / "rong.png"
    empty.write_bytes(b"")
    huge = scans / "qua-lon.pdf"
    huge.write_bytes(b"%PDF-1.7\n" + b"0" * 600_000)  # over the whole request limit

    too_big = upload_api(browser, big)
    assert too_big.status_code == 413 and too_big.json()["error"] == "too_large"
    assert "lon.pdf" in too_big.json()["message"]
    wrong = upload_api(browser, text)
    assert wrong.status_code == 422 and wrong.json()["error"] == "unsupported_format"
    assert upload_api(browser, empty).json()["error"] == "empty_file"
    assert upload_api(browser, huge).status_code == 413  # stopped by the body limit
    form = browser.post(
        "/upload?lang=en",
        files=[("files", (text.name, text.read_bytes(), "application/pdf"))],
        data={"kind": "thanh-phan", "csrf_token": token_of(browser)},
    )
    assert form.status_code == 422 and 'data-testid="upload-error"' in form.text
    assert "ghi-chu.pdf" in form.text
    nothing = browser.post("/upload", data={"kind": "thanh-phan", "csrf_token": token_of(browser)})
    assert nothing.status_code == 400

    assert inbox_folders(settings) == []
    assert not list((settings.work_dir / "uploads").iterdir())
    assert browser.get("/api/batches").json()["total"] == 0
    assert entries(settings, Action.BATCH_UPLOAD) == []


def test_bad_options_and_a_full_queue_store_nothing(tmp_path, stop_runners):
    settings = make_settings(tmp_path / "data")
    add_people(settings)
    app = new_app(settings, stop_runners)
    app.state.jobs = JobRunner(settings, max_queued=0)
    scan = receipt_png(tmp_path / "scans")
    clerk = signed_in(app, "chi.clerk")
    assert upload_api(clerk, scan, kind="khac").status_code == 400
    assert upload_api(clerk, scan, dossier_code="a/b").json()["error"] == "upload_bad_dossier"
    other_unit = upload_api(clerk, scan, unit="H56.02")  # a clerk of H56.01 only
    assert other_unit.status_code == 403 and other_unit.json()["error"] == "unit_denied"
    busy = upload_api(clerk, scan)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
    assert inbox_folders(settings) == [] and entries(settings, Action.BATCH_UPLOAD) == []
    assert [e.target for e in entries(settings, Action.ACCESS_DENIED)] == ["/api/uploads"]


def test_scans_another_run_is_digitising_are_refused_until_it_ends(
    tmp_path,
    stop_runners,
    holder,  # noqa: F811
):
    """The inbox folder of a batch belongs to the run holding its claim (ingest, nightly)."""
    from storage.inbox import batch_id_for
    from storage.objectstore import sha256_file
    from storage.waiting import claim_place

    settings = make_settings(tmp_path / "data")
    add_people(settings)
    app = new_app(settings, stop_runners)
    scan = receipt_png(tmp_path / "scans")
    batch_id = batch_id_for(
        [sha256_file(scan)], kind="thanh-phan", unit="H56.01", dossier_code=None
    )
    running = holder(claim_place(settings), batch_id)
    clerk = signed_in(app, "chi.clerk")
    refused = upload_api(clerk, scan)
    assert refused.status_code == 409 and refused.json()["error"] == "batch_busy", refused.text
    assert inbox_folders(settings) == []
    assert not list(settings.work_dir.joinpath("uploads").glob("*"))  # the staging is gone
    running.kill()
    running.wait()
    accepted = upload_api(clerk, scan)
    assert accepted.status_code == 202 and accepted.json()["id"] == batch_id
    wait_for(app, batch_id)


# --- progress, quarantine, retry ---------------------------------------------------------------


def test_progress_is_visible_while_the_batch_runs(tmp_path, stop_runners):
    settings = make_settings(tmp_path / "data")
    add_people(settings)
    app = new_app(settings, stop_runners)
    midway, finish = threading.Event(), threading.Event()

    def digitise(files, *, settings, progress, claim, batch_id):
        assert files == []  # an upload is digitised by id, from the store's intake
        assert claim.held and claim.name == batch_id  # the runner hands its claim on
        progress.batch_started(batch_id, 1)
        progress.pages_found(batch_id, 3)
        progress.page_done(batch_id, 0)
        progress.page_done(batch_id, 1)
        midway.set()
        finish.wait(WAIT_S)
        open_catalog(settings.resolved_catalog_url).upsert_batch(
            batch_id, status="archived", page_count=3
        )
        intake.release(open_store(settings), batch_id)
        return []

    app.state.jobs = JobRunner(settings, digitise=digitise)
    browser = signed_in(app, "an.clerk")
    batch_id = upload_api(browser, receipt_png(tmp_path / "scans"), unit="H56.09").json()["id"]
    assert midway.wait(WAIT_S)
    ticket = intake.read(open_store(settings), batch_id)  # received through the one entrance
    assert ticket.sender == "web:an.clerk" and inbox_folders(settings) == []
    running = browser.get(f"/api/batches/{batch_id}", headers={"accept-language": "en"}).json()
    assert (running["status"], running["pages_done"], running["pages_total"]) == ("running", 2, 3)
    assert running["stage"] == "pages" and running["stage_text"] == "reading pages"
    assert not running["done"] and not running["retryable"]
    listed = browser.get("/api/batches", params={"status": "running"}).json()["batches"]
    assert [b["id"] for b in listed] == [batch_id]
    page = browser.get(f"/batches/{batch_id}").text
    assert f'data-batch-poll="/api/batches/{batch_id}"' in page
    assert 'data-testid="pages-progress" max="3" value="2"' in page
    finish.set()
    wait_for(app, batch_id)
    done = browser.get(f"/api/batches/{batch_id}").json()
    assert (done["status"], done["done"], done["pages_done"]) == ("archived", True, 3)


def test_a_corrupt_pdf_from_the_plain_form_is_quarantined_with_its_reason(
    tmp_path, prefect_api_url, stop_runners
):
    settings = make_settings(tmp_path / "data")
    add_people(settings)
    app = new_app(settings, stop_runners)
    browser = signed_in(app, "chi.clerk")
    torn = b"%PDF-1.7 cut off in the middle"  # the right first bytes, then nothing
    sent = browser.post(
        "/upload",
        files=[("files", ("hong.pdf", torn, "application/pdf"))],
        data={"kind": "ket-qua", "dossier_code": CODE, "csrf_token": token_of(browser)},
    )
    assert sent.status_code == 303 and sent.headers["location"].startswith("/batches/")
    batch_id = sent.headers["location"].rsplit("/", 1)[-1]
    wait_for(app, batch_id)
    page = browser.get(f"/batches/{batch_id}?lang=en")
    assert 'data-testid="batch-status">rejected (quarantined)<' in page.text
    assert "hong.pdf" in page.text  # the reason names the file
    assert 'data-role="retry" hidden' in page.text  # bad input is never retried
    info = browser.get(f"/api/batches/{batch_id}").json()
    assert info["status"] == "quarantined" and info["reason"] and not info["retryable"]
    assert info["kind"] == "ket-qua" and info["dossier_code"] == CODE
    assert (settings.quarantine_dir / batch_id).is_dir() and inbox_folders(settings) == []
    quarantined = browser.get("/api/batches", params={"status": "quarantined"}).json()
    assert [b["id"] for b in quarantined["batches"]] == [batch_id]
    retry = browser.post(f"/batches/{batch_id}/retry", data={"csrf_token": token_of(browser)})
    assert retry.status_code == 409


def test_a_failed_batch_is_retried_from_its_originals(tmp_path, prefect_api_url, stop_runners):
    settings = make_settings(tmp_path / "data")
    add_people(settings)
    app = new_app(settings, stop_runners)
    squatter = settings.local_store_root / "originals" / "H56.01"
    squatter.parent.mkdir(parents=True)
    squatter.write_text("a file where the unit's folder should be: every put fails")
    browser = signed_in(app, "chi.clerk")
    batch_id = upload_api(browser, receipt_png(tmp_path / "scans", seed=3)).json()["id"]
    wait_for(app, batch_id)
    failed = browser.get(f"/api/batches/{batch_id}").json()
    assert failed["status"] == "failed" and failed["retryable"] and failed["reason"]
    assert failed["records"] == [] and inbox_folders(settings) == [batch_id]
    listing = browser.get("/batches", params={"status": "failed"}).text
    assert f'action="/batches/{batch_id}/retry"' in listing and "retry-button" in listing

    squatter.unlink()  # the outage is over
    retried = browser.post(f"/batches/{batch_id}/retry", data={"csrf_token": token_of(browser)})
    assert retried.status_code == 303
    assert retried.headers["location"] == f"/batches/{batch_id}?done=retried"
    wait_for(app, batch_id)
    done = browser.get(f"/api/batches/{batch_id}").json()
    assert done["status"] == "needs_review" and len(done["records"]) == 1, done
    assert inbox_folders(settings) == []
    (entry,) = entries(settings, "batch.retry")
    assert entry.target == batch_id and entry.detail["previous"] == "failed"
    again = browser.post(f"/api/batches/{batch_id}/retry", headers={"X-CSRF-Token": "x"})
    assert again.status_code == 403  # the API from a page needs the CSRF header too
    token = bearer(settings, "chi.clerk")
    assert client(app).post(f"/api/batches/{batch_id}/retry", headers=token).status_code == 409


# --- units, roles, CSRF ------------------------------------------------------------------------


def test_a_clerk_of_another_unit_can_neither_see_nor_correct_the_record(
    archive, tmp_path, stop_runners
):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    rid, bid = archive.record_id, archive.batch_id
    other = signed_in(app, "dung.clerk")
    assert other.get("/api/review").json() == []
    assert other.get("/api/batches").json()["total"] == 0
    for path in (f"/review/{rid}", f"/batches/{bid}", f"/api/batches/{bid}", f"/api/review/{rid}"):
        assert other.get(path).status_code == 403, path
    crop = other.get(f"/records/{rid}/pages/1/crop", params={"box": "0,0,10,10"})
    assert crop.status_code == 403
    put = other.put(
        f"/api/records/{rid}/fields/applicant_name",
        json={"value": "Trần Thị Bé", "revision": 0},
        headers={"X-CSRF-Token": token_of(other, "/review")},
    )
    assert put.status_code == 403 and put.json()["error"] == "unit_denied"
    form = {"value": "Trần Thị Bé", "revision": "0", "csrf_token": token_of(other, "/review")}
    assert other.post(f"/review/{rid}/fields/applicant_name", data=form).status_code == 403
    assert record_service.show_record(settings, rid)["corrections"] == []
    denied = {e.target for e in entries(settings, Action.ACCESS_DENIED)}
    assert f"/review/{rid}" in denied and f"/api/records/{rid}/fields/applicant_name" in denied
    everyone = signed_in(app, "an.clerk")  # a clerk of every unit sees it
    assert [i["id"] for i in everyone.get("/api/review").json()] == [rid]


def test_roles_sign_in_and_csrf_guard_every_clerk_action(archive, tmp_path, stop_runners):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    rid, bid = archive.record_id, archive.batch_id
    anonymous = client(app)
    for path in ("/upload", "/batches", f"/batches/{bid}", "/review", f"/review/{rid}"):
        answer = anonymous.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    for path in ("/api/batches", f"/api/batches/{bid}", "/api/review"):
        assert anonymous.get(path).status_code == 401, path

    auditor = bearer(settings, "binh.audit")
    scan = receipt_png(tmp_path / "scans")
    files = [("files", (scan.name, scan.read_bytes(), "image/png"))]
    api = client(app)
    assert api.post("/api/uploads", files=files, headers=auditor).status_code == 403
    body = {"value": CODE, "revision": 0}
    put = api.put(f"/api/records/{rid}/fields/dossier_code", json=body, headers=auditor)
    assert put.status_code == 403
    accept = api.post(f"/api/records/{rid}/accept", json={"revision": 0}, headers=auditor)
    assert accept.status_code == 403
    looking = signed_in(app, "binh.audit")
    assert looking.get("/upload").status_code == 403 and looking.get("/review").status_code == 403

    clerk = signed_in(app, "chi.clerk")
    field = {"value": CODE, "revision": "0"}
    for path, form in (
        ("/upload", {"kind": "thanh-phan"}),
        (f"/batches/{bid}/retry", {}),
        (f"/review/{rid}/fields/dossier_code", field),
        (f"/review/{rid}/accept", {"revision": "0", "force": "true"}),
    ):
        assert clerk.post(path, data=form).status_code == 403, path
        assert clerk.post(path, data={**form, "csrf_token": "nope"}).status_code == 403, path
    assert record_service.show_record(settings, rid)["corrections"] == []
    assert inbox_folders(settings) == []
    assert len(entries(settings, Action.CSRF_REJECTED)) == 8


def test_the_openapi_description_lists_the_clerk_api(archive, tmp_path, stop_runners):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    spec = client(app).get("/api/openapi.json", headers=bearer(settings, "chi.clerk")).json()
    paths = spec["paths"]
    assert {"/api/uploads", "/api/batches", "/api/batches/{batch_id}"} <= set(paths)
    assert {"put", "post"} <= set(paths["/api/records/{record_id}/fields/{field}"])
    assert "409" in paths["/api/records/{record_id}/fields/{field}"]["put"]["responses"]
    assert not any(p.startswith(("/upload", "/review", "/batches", "/records")) for p in paths)


# --- review ------------------------------------------------------------------------------------


def test_the_review_page_shows_each_field_with_its_crop(archive, tmp_path, stop_runners):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    clerk = signed_in(app, "chi.clerk")
    queue = clerk.get("/review?lang=en")
    assert queue.status_code == 200 and f'href="/review/{archive.record_id}"' in queue.text
    assert "dossier_code missing" in queue.text
    page = clerk.get(f"/review/{archive.record_id}?lang=en")
    assert page.status_code == 200
    assert 'data-testid="field-dossier_code"' in page.text  # missing: shown to be typed
    assert 'data-testid="field-input-dossier_code"' in page.text
    assert 'name="revision" value="0"' in page.text
    detail = clerk.get(f"/api/review/{archive.record_id}").json()
    assert detail["revision"] == 0 and "missing:dossier_code" in detail["reason_codes"]
    cropped = [f for f in detail["fields"] if f["crop_url"]]
    assert cropped, detail["fields"]  # the applicant or the ID number was read somewhere
    field = cropped[0]
    assert field["crop_url"] in page.text.replace("&amp;", "&")
    assert field["method"] and 0 < field["confidence"] <= 1 and field["page"] == 1
    image = clerk.get(field["crop_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as png:
        assert png.width > 20 and png.height > 10
    assert clerk.get(field["crop_url"]).content == image.content  # served from the cache
    base = f"/records/{archive.record_id}/pages"
    assert clerk.get(f"{base}/1/crop", params={"box": "1,2,x,4"}).status_code == 400
    assert clerk.get(f"{base}/2/crop", params={"box": "1,2,3,4"}).status_code == 404
    views = entries(settings, Action.RECORD_VIEW)
    assert {e.detail["view"] for e in views} == {"review", "crop"}
    assert {e.target for e in views} == {archive.record_id}


def test_two_forms_from_one_revision_the_second_gets_409_and_nothing_is_lost(
    archive, tmp_path, stop_runners
):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    rid = archive.record_id
    first, second = signed_in(app, "chi.clerk"), signed_in(app, "an.clerk")
    form_a = csrf_of(first.get(f"/review/{rid}").text)
    form_b = csrf_of(second.get(f"/review/{rid}").text)  # both read revision 0
    path = f"/review/{rid}/fields/applicant_name"
    saved = first.post(
        path,
        data={
            "value": "Nguyễn Văn Ân",
            "reason": "đối chiếu",
            "revision": "0",
            "csrf_token": form_a,
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("#field-applicant_name")
    stale = second.post(
        path + "?lang=en",
        data={
            "value": "Nguyễn Văn Bình",
            "reason": "theo CCCD",
            "revision": "0",
            "csrf_token": form_b,
        },
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text and 'data-testid="review-error"' in stale.text
    assert 'value="Nguyễn Văn Bình"' in stale.text and 'value="theo CCCD"' in stale.text
    assert "Current value: Nguyễn Văn Ân" in stale.text  # the other clerk's change, shown
    assert 'name="revision" value="1"' in stale.text  # a new submission is a decision
    history = record_service.show_record(settings, rid)["corrections"]
    assert [(c["new"], c["by"]) for c in history] == [("Nguyễn Văn Ân", "chi.clerk")]

    again = second.post(
        path,
        data={
            "value": "Nguyễn Văn Bình",
            "reason": "theo CCCD",
            "revision": "1",
            "csrf_token": form_b,
        },
    )
    assert again.status_code == 303
    detail = second.get(f"/api/review/{rid}").json()
    assert detail["revision"] == 2
    assert [(c["old"], c["new"], c["by"], c["reason"]) for c in detail["corrections"]] == [
        (detail["corrections"][0]["old"], "Nguyễn Văn Ân", "chi.clerk", "đối chiếu"),
        ("Nguyễn Văn Ân", "Nguyễn Văn Bình", "an.clerk", "theo CCCD"),
    ]
    page = second.get(f"/review/{rid}").text
    assert page.count("Nguyễn Văn Ân") >= 2  # in the history table: new, then old
    corrected = entries(settings, Action.RECORD_CORRECT)
    assert [(e.username, e.detail["revision"]) for e in reversed(corrected)] == [
        ("chi.clerk", 1),
        ("an.clerk", 2),
    ]
    assert {(e.target, e.detail["field"]) for e in corrected} == {(rid, "applicant_name")}
    logged = json.dumps([e.to_dict() for e in entries(settings)], ensure_ascii=False)
    assert "Bình" not in logged and "theo CCCD" not in logged  # ids and field names only


def test_the_api_answers_a_stale_revision_with_409_and_the_current_record(
    archive, tmp_path, stop_runners
):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    rid = archive.record_id
    for revision, name in enumerate(("Nguyễn Văn Ân", "Nguyễn Văn Bình")):
        review_service.review_set(settings, rid, "applicant_name", name, by="x", revision=revision)
    api = client(app)
    token = bearer(settings, "chi.clerk")
    url = f"/api/records/{rid}/fields/applicant_name"
    late = api.put(url, json={"value": "Lê Văn Cường", "revision": 1}, headers=token)
    assert late.status_code == 409 and late.json()["error"] == "stale_revision"
    assert late.json()["current"]["revision"] == 2
    assert late.json()["current"]["fields"]["applicant_name"] == "Nguyễn Văn Bình"
    assert api.put(url, json={"value": "Lê Văn Cường"}, headers=token).status_code == 422
    ok = api.post(url, json={"value": "Lê Văn Cường", "revision": 2, "reason": "x"}, headers=token)
    assert ok.status_code == 200 and ok.json()["revision"] == 3
    (corrected,) = entries(settings, Action.RECORD_CORRECT)  # the CLI-side changes are not web
    assert (corrected.target, corrected.detail["field"], corrected.detail["revision"]) == (
        rid,
        "applicant_name",
        3,
    )
    stale = api.post(f"/api/records/{rid}/accept", json={"revision": 0}, headers=token)
    assert stale.status_code == 409 and stale.json()["current"]["revision"] == 3


def test_concurrent_writers_from_one_revision_cannot_both_win(archive, tmp_path, stop_runners):
    settings, _ = archive.copy(tmp_path / "data", stop_runners)
    start = threading.Barrier(4)
    results: list[str] = []

    def write(n: int) -> None:
        start.wait()
        try:
            review_service.review_set(
                settings, archive.record_id, "applicant_name", NAMES[n], by=f"w{n}", revision=0
            )
            results.append("saved")
        except StaleRevisionError:
            results.append("stale")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert sorted(results) == ["saved", "stale", "stale", "stale"]
    detail = record_service.show_record(settings, archive.record_id)
    assert detail["revision"] == 1 and len(detail["corrections"]) == 1


def test_accept_needs_open_fields_fixed_and_leaves_the_queue(archive, tmp_path, stop_runners):
    settings, app = archive.copy(tmp_path / "data", stop_runners)
    rid = archive.record_id
    clerk = signed_in(app, "chi.clerk")
    token = csrf_of(clerk.get(f"/review/{rid}").text)
    refused = clerk.post(
        f"/review/{rid}/accept?lang=en", data={"revision": "0", "reason": "", "csrf_token": token}
    )
    assert refused.status_code == 422 and "missing or invalid" in refused.text
    wrong = clerk.post(
        f"/review/{rid}/fields/dossier_code",
        data={"value": "không phải mã", "revision": "0", "csrf_token": token},
    )
    assert wrong.status_code == 422 and 'value="không phải mã"' in wrong.text
    code = clerk.post(
        f"/review/{rid}/fields/dossier_code",
        data={"value": CODE, "revision": "0", "reason": "giấy gốc", "csrf_token": token},
    )
    assert code.status_code == 303
    revision = clerk.get(f"/api/review/{rid}").json()["revision"]
    accepted = clerk.post(
        f"/review/{rid}/accept",
        data={
            "revision": str(revision),
            "force": "true",
            "reason": "đã đối chiếu",
            "csrf_token": token,
        },
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == "/review?done=accepted"
    assert clerk.get("/api/review").json() == []
    record = record_service.show_record(settings, rid)
    assert record["status"] == "archived" and record["dossier_code"] == CODE
    assert [c["field"] for c in record["corrections"]] == ["dossier_code", "*"]
    (entry,) = entries(settings, Action.RECORD_ACCEPT)
    assert entry.target == rid and entry.detail["forced"] is True
    batch = clerk.get(f"/api/batches/{archive.batch_id}").json()
    assert batch["status"] == "archived" and batch["in_review"] == 0


def test_cli_review_set_checks_a_revision_when_given(archive, tmp_path, stop_runners):
    from typer.testing import CliRunner

    from cli.app import app as cli_app

    settings, _ = archive.copy(tmp_path / "data", stop_runners)
    env = {"SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_LANG": "en"}
    env |= {"SOHOA_CATALOG_URL": settings.catalog_url} if settings.catalog_url else {}

    def run(*args: str):
        return CliRunner().invoke(cli_app, ["review", *args], env=env)

    rid = archive.record_id
    first = run("set", rid, "applicant_name", "Nguyễn Văn Ân", "--revision", "0", "--by", "x")
    assert first.exit_code == 0 and "Revision 1" in first.output
    stale = run("set", rid, "applicant_name", "Nguyễn Văn Bé", "--revision", "0", "--by", "y")
    assert stale.exit_code == 2 and "changed by someone else" in stale.output
    last = run("set", rid, "applicant_name", "Nguyễn Văn Bé", "--by", "y", "--json")
    assert last.exit_code == 0 and json.loads(last.stdout)["revision"] == 2
    assert record_service.show_record(settings, rid)["revision"] == 2
