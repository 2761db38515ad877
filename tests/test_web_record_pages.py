"""Adding or replacing pages from the review page: ``POST /review/pages`` and the version page.

The real app (``web.app.create_app``) through FastAPI's TestClient, on a SQLite file and on
PostgreSQL (the ``catalog_url`` fixture; PostgreSQL gets its catalog by ``sohoa catalog
rebuild`` of the same archive), over a record archived once per module by a real ``sohoa
ingest`` (real OCR, real signing). Each change goes through the call ``sohoa record
add-page|replace-page`` makes (:func:`flows.versions.change_record_page`): real OCR of the
new page, a new signed PDF, the old one kept. A browser test at the end drives Debian's
Chromium (Playwright) against ``sohoa serve``: choose a scan, give a reason, submit.
"""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_data_dir, make_cli
from test_attack_anonymous import MB, send
from test_web_browser import CHROMIUM, _serve, _shot, _signed_in, browser  # noqa: F401
from test_web_browser import PASSWORD as BROWSER_PASSWORD
from webclient import TestClient, csrf_of

from catalog import audit
from catalog.audit import Action, Actor, AuditFilter
from catalog.database import open_catalog
from schemas.settings import Settings
from services import integrity
from services import users as user_service
from web.app import create_app
from web.security import SESSION_COOKIE

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
UNIT = "H56.01"
FIRST = ["GIẤY TIẾP NHẬN HỒ SƠ", "Họ và tên người nộp: Lê Thị Thu Hà", "Nội dung: cấp bản sao"]
ADDED = ["BIÊN BẢN BỔ SUNG", "Người làm chứng: Phạm Minh Khôi", "Nội dung: trang còn thiếu"]
SECOND = ["PHỤ LỤC", "Danh mục giấy tờ kèm theo", "Bản sao giấy khai sinh"]
REASON = "thiếu trang biên bản"


@dataclass(frozen=True)
class Scans:
    archived: Path
    """A data directory with one archived one-page record (do not change: copy it)."""
    record_id: str
    page: Path
    """A one-page PNG to add."""
    two_pages: Path
    """A two-page PDF."""


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> Scans:
    from samples.synth import render_page, write_pdf

    folder = tmp_path_factory.mktemp("web-page-scans")
    first, page = folder / "tiep-nhan.png", folder / "bo-sung.png"
    render_page(FIRST, font_size_pt=14).save(first, dpi=(300, 300))
    render_page(ADDED, font_size_pt=14).save(page, dpi=(300, 300))
    two = folder / "hai-trang.pdf"
    write_pdf(two, [render_page(ADDED, font_size_pt=14), render_page(SECOND, font_size_pt=14)])
    cli = make_cli(folder / "data")
    (record,) = cli.json("ingest", str(first), "--unit", UNIT)
    return Scans(cli.data_dir, record["id"], page, two)


@dataclass(frozen=True)
class Site:
    settings: Settings
    app: object
    record_id: str
    scans: Scans


@pytest.fixture
def site(scans: Scans, tmp_path: Path, catalog_url: str) -> Site:
    """This test's copy of the archive on the catalog backend, its clerks and an auditor."""
    data = copy_data_dir(scans.archived, tmp_path / "data")
    if catalog_url.startswith("postgresql"):
        cli = make_cli(data)
        done = cli("catalog", "rebuild", "--json", extra_env={"SOHOA_CATALOG_URL": catalog_url})
        assert done.returncode == 0, done.stderr
    settings = Settings(data_dir=data, catalog_url=catalog_url, store={"retries": 0})
    for name, role, unit in (
        ("chi.clerk", "clerk", UNIT),
        ("dung.clerk", "clerk", "H56.02"),
        ("binh.audit", "auditor", None),
    ):
        user_service.add_user(settings, name, PASSWORD, role=role, unit=unit, actor=CLI)
    app = create_app(settings)
    yield Site(settings, app, scans.record_id, scans)
    runner = getattr(app.state, "jobs", None)
    if runner is not None:
        runner.stop(timeout=60)


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return client


def _form(client: TestClient, record_id: str) -> tuple[str, int]:
    """The review page's CSRF token and the revision its page-change form carries."""
    page = client.get(f"/review/{record_id}?lang=en")
    assert page.status_code == 200, page.text
    form = page.text[page.text.index('data-testid="page-form"') :]
    revision = re.search(r'name="revision" value="(\d+)"', form)
    assert revision, "no revision in the page-change form"
    return csrf_of(page.text), int(revision.group(1))


def _post(client, site: Site, scan: Path | None, **fields) -> object:
    token, revision = _form(client, site.record_id)
    data = {"csrf_token": token, "record": site.record_id, "revision": str(revision)}
    data |= {"action": "add_page", "page": "", "reason": REASON} | fields
    files = (
        {} if scan is None else {"file": (scan.name, scan.read_bytes(), "application/octet-stream")}
    )
    return client.post("/review/pages", data=data, files=files)


def _archive(settings: Settings) -> dict[str, str]:
    """Every archive object and its sha256 (what must not change on a refusal)."""
    root = settings.data_dir / "objects" / "archive"
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def _entries(settings: Settings, action: Action) -> list:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit.query(catalog, AuditFilter(action=action), per_page=500).entries)


def test_a_clerk_adds_a_page_and_is_shown_the_new_version(site: Site):
    clerk = signed_in(site.app, "chi.clerk")
    before = _archive(site.settings)
    review = clerk.get(f"/review/{site.record_id}?lang=en").text
    assert 'data-testid="page-form"' in review and "Current version: 1 · 1 pages" in review

    answer = _post(clerk, site, site.scans.page)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/review/{site.record_id}/versions/2"

    shown = clerk.get(answer.headers["location"] + "?lang=en")
    assert shown.status_code == 200, shown.text
    assert "Version 2 saved: page(s) 2 added" in shown.text
    assert "This is the current version." in shown.text
    row = open_catalog(site.settings.resolved_catalog_url).get_record(site.record_id)
    assert (row.page_count, row.pdf_key.endswith(".v2.pdf")) == (2, True)
    assert f'data-testid="version-sha256">{row.pdf_sha256}<' in shown.text
    assert 'data-testid="version-by">chi.clerk<' in shown.text
    after = _archive(site.settings)
    assert {k: after[k] for k in before} == before  # version 1 untouched
    assert len(after) == len(before) + 2  # the new PDF and manifest
    assert integrity.verify(site.settings, site.record_id).ok

    (entry,) = _entries(site.settings, Action.RECORD_VERSION)
    assert (entry.username, entry.target) == ("chi.clerk", site.record_id)
    assert (entry.detail["version"], entry.detail["pages"]) == (2, [2])
    again = clerk.get(f"/review/{site.record_id}?lang=en").text
    assert "Current version: 2 · 2 pages" in again


def test_a_multi_page_scan_adds_every_page_in_order(site: Site):
    clerk = signed_in(site.app, "chi.clerk")
    answer = _post(clerk, site, site.scans.two_pages, page="1")
    assert answer.status_code == 303, answer.text
    shown = clerk.get(answer.headers["location"] + "?lang=en").text
    assert "page(s) 1–2 added" in shown
    assert 'data-testid="version-pages">3<' in shown
    row = open_catalog(site.settings.resolved_catalog_url).get_record(site.record_id)
    assert row.page_count == 3


def test_a_multi_page_scan_cannot_replace_one_page(site: Site):
    clerk = signed_in(site.app, "chi.clerk")
    before = _archive(site.settings)
    answer = _post(clerk, site, site.scans.two_pages, action="replace_page", page="1")
    assert answer.status_code == 422, answer.text
    assert "replacing a page takes a one-page file, this one has 2" in answer.text
    assert f'value="{REASON}"' in answer.text  # what the clerk typed is kept
    assert 'value="replace_page" checked' in answer.text
    assert _archive(site.settings) == before
    assert _entries(site.settings, Action.RECORD_VERSION) == []


def test_bad_forms_are_refused_before_anything_is_stored(site: Site):
    clerk = signed_in(site.app, "chi.clerk")
    before = _archive(site.settings)
    for fields, scan, status, words in (
        ({"reason": " "}, site.scans.page, 422, "A reason is required"),
        ({"action": "replace_page", "page": "7"}, site.scans.page, 422, "No page 7"),
        ({"action": "replace_page", "page": ""}, site.scans.page, 422, "Not a page number"),
        ({}, None, 422, "No scan was chosen"),
        ({"action": "delete_page"}, site.scans.page, 400, "Unknown action"),
    ):
        answer = _post(clerk, site, scan, **fields)
        assert answer.status_code == status, (fields, answer.text)
        assert words in answer.text, fields
    assert _archive(site.settings) == before


def test_a_stale_form_is_refused_with_409(site: Site):
    clerk = signed_in(site.app, "chi.clerk")
    token, revision = _form(clerk, site.record_id)
    other = signed_in(site.app, "chi.clerk")
    assert _post(other, site, site.scans.page).status_code == 303  # someone added a page first
    data = {"csrf_token": token, "record": site.record_id, "revision": str(revision)}
    data |= {"action": "replace_page", "page": "1", "reason": REASON}
    files = {"file": ("x.png", site.scans.page.read_bytes(), "image/png")}
    answer = clerk.post("/review/pages?lang=en", data=data, files=files)
    assert answer.status_code == 409, answer.text
    row = open_catalog(site.settings.resolved_catalog_url).get_record(site.record_id)
    assert row.page_count == 2  # the first change only


@pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
def test_who_may_change_pages(site: Site):
    """Another unit's clerk: 403 (audited); an auditor: 403; no CSRF token: 403; nobody
    signed in: 403 before the body is read."""
    before = _archive(site.settings)
    data = {"record": site.record_id, "revision": "0", "reason": REASON}
    files = {"file": ("x.png", site.scans.page.read_bytes(), "image/png")}
    stranger = signed_in(site.app, "dung.clerk")
    token = csrf_of(stranger.get("/review").text)
    answer = stranger.post("/review/pages", data={**data, "csrf_token": token}, files=files)
    assert answer.status_code == 403, answer.text
    denied = _entries(site.settings, Action.ACCESS_DENIED)
    assert any(e.username == "dung.clerk" for e in denied)
    auditor = signed_in(site.app, "binh.audit")
    token = csrf_of(auditor.get("/search").text)
    data["csrf_token"] = token
    assert auditor.post("/review/pages", data=data, files=files).status_code == 403
    clerk = signed_in(site.app, "chi.clerk")
    forged = {**data, "csrf_token": "x" * 40}
    assert clerk.post("/review/pages", data=forged, files=files).status_code == 403
    anonymous = TestClient(site.app, follow_redirects=False)
    assert anonymous.post("/review/pages", data=data, files=files).status_code == 403
    assert _archive(site.settings) == before


@pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
def test_a_body_over_the_upload_cap_is_refused_413(scans: Scans, tmp_path: Path, catalog_url):
    data = copy_data_dir(scans.archived, tmp_path / "data")
    settings = Settings(data_dir=data, catalog_url=catalog_url, web={"max_upload_mb": 0.05})
    user_service.add_user(settings, "chi.clerk", PASSWORD, role="clerk", unit=UNIT, actor=CLI)
    app = create_app(settings)
    clerk = signed_in(app, "chi.clerk")
    site = Site(settings, app, scans.record_id, scans)
    big = tmp_path / "lon.png"
    big.write_bytes(scans.page.read_bytes() + b"\0" * 80_000)
    assert _post(clerk, site, big).status_code == 413
    assert open_catalog(settings.resolved_catalog_url).get_record(scans.record_id).page_count == 1


@pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
def test_a_scan_from_someone_not_signed_in_is_refused_before_its_body_is_read(site: Site):
    """The page form's cap is an upload's (hundreds of MB): a cookie that only looks like a
    session is checked before a byte is read, as for ``/upload``."""
    fake = {"cookie": f"{SESSION_COOKIE}=not-a-session"}
    kind = "multipart/form-data; boundary=b"
    args = (site.app, "POST", "/review/pages", 50 * MB)
    options = {"declared": False, "headers": fake, "content_type": kind}
    with ThreadPoolExecutor(1) as thread:  # its own event loop: Playwright's may be running here
        status, read = thread.submit(send, *args, **options).result()
    assert status == 303 and read == 0  # to the sign-in form


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")
def test_a_clerk_adds_a_page_in_chromium(scans: Scans, tmp_path: Path, browser):  # noqa: F811
    data = copy_data_dir(scans.archived, tmp_path / "data")
    settings = Settings(data_dir=data)
    for name, role in (("quan.tri", "admin"), ("can.bo", "clerk")):  # serve needs an admin
        user_service.add_user(settings, name, BROWSER_PASSWORD, role=role, actor=CLI)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data), SOHOA_LANG="vi")
    server = _serve(data, env)
    url = next(server)
    try:
        clerk = _signed_in(browser, url, "can.bo")
        clerk.goto(f"{url}/review/{scans.record_id}?lang=en")
        clerk.set_input_files("[data-testid=page-file]", str(scans.page))
        clerk.fill("[data-testid=page-reason]", REASON)
        _shot(clerk, "12-clerk-page-form")
        clerk.click("[data-testid=page-submit]")
        clerk.wait_for_url(f"**/review/{scans.record_id}/versions/2", timeout=300_000)
        done = clerk.locator("[data-testid=version-done]").inner_text()
        assert "Version 2 saved: page(s) 2 added" in done
        assert clerk.locator("[data-testid=version-pages]").inner_text() == "2"
        _shot(clerk, "13-clerk-page-added")
    finally:
        server.close()  # its finally stops `sohoa serve`
    row = open_catalog(settings.resolved_catalog_url).get_record(scans.record_id)
    assert (row.page_count, row.pdf_key.endswith(".v2.pdf")) == (2, True)
