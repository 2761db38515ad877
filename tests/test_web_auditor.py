"""The auditor's pages and API: search, record (fields, history, integrity, PDF), reports.

Real everything: the small archive of :mod:`archive_fixture` (three records made by the
real pipeline, one corrected, one accepted) copied once for this module, plus one more
receipt digitised here in another unit, with an applicant, an ID number and a procedure
in its QR code; the real app through FastAPI's TestClient on that SQLite catalog and
local object store; passwords hashed with the real argon2id parameters. Tests that
damage the archive work on their own copy.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from archive_fixture import small_archive  # noqa: F401
from conftest import copy_data_dir
from openpyxl import load_workbook
from pgserver import moved_to_postgres
from webclient import TestClient, csrf_of

from catalog import audit
from catalog.audit import Actor, AuditFilter
from catalog.database import open_catalog
from catalog.register import import_register
from schemas.settings import Settings
from services import review as review_service
from services import search as search_service
from services import users as user_service
from web.app import create_app
from web.roles import ROLE_PERMISSIONS, Permission

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
OTHER_UNIT = "H56.02"
OTHER_CODE = "000.00.31.H56-240315-0007"
OTHER_ID_NUMBER = "045087002319"
OTHER_PROCEDURE = "2.000884.000.00.00.H56"
RECEIPT_CODE = "000.00.06.H56-231027-0361"
MARKUP = '<img src=x onerror="alert(1)"> xyzzy'
PEOPLE = {
    "auditor": ("binh.audit", "auditor", None),
    "scoped": ("cuc.audit", "auditor", "H56.01"),
    "district": ("dung.audit", "auditor", "H56"),
    "clerk": ("chi.clerk", "clerk", "H56.01"),
    "admin": ("an.admin", "admin", None),
    "new unit": ("giang.audit", "auditor", "H56.09"),  # a unit with no register rows yet
}


@dataclass(frozen=True)
class World:
    """The module's archive: four records in two units, and who may look at them."""

    settings: Settings
    receipt: str
    """Nguyễn Thị Hồng Đào's receipt (H56.01), with the injected markup in its summary."""
    corrected: str
    """A ket-qua record (H56.01) whose applicant a clerk corrected to Trần Văn Dũng."""
    accepted: str
    other: str
    """Đặng Văn Đức's receipt in H56.02, with an ID number and a procedure code."""


def _other_receipt(folder: Path) -> Path:
    """A receipt whose QR code (JSON) carries the dossier code, procedure and ID number."""
    from samples import docgen
    from samples.synth import write_png

    person = docgen.Person(
        full_name="Đặng Văn Đức",
        sex="nam",
        birth_date=date(1987, 6, 15),
        id_number=OTHER_ID_NUMBER,
        id_kind="cccd",
        phone="0912345678",
        email="dang.duc@gmail.com",
        address="Số 5 đường Trần Hưng Đạo, phường Đông Hà, tỉnh Quảng Trị",
    )
    (procedure,) = [p for p in docgen.PROCEDURES if p.code == OTHER_PROCEDURE]
    page = docgen.make_receipt(
        random.Random(7), person, procedure, OTHER_CODE, dpi=200, qr_style="json"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bien-nhan-khac.png"
    write_png(path, page.image, dpi=200)
    return path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, small_archive, tmp_path_factory) -> World:  # noqa: F811
    """The small archive plus one receipt of another unit, its catalog a SQLite file or a
    PostgreSQL database: every test of this module runs on both."""
    from flows.digitise import run_digitise

    root = tmp_path_factory.mktemp("auditor")
    settings = small_archive.copy(root / "data")
    if request.param == "postgresql":
        settings = moved_to_postgres(settings, request.getfixturevalue("pg_server"), records=3)
    (made,) = run_digitise(
        [str(_other_receipt(root / "scans"))], settings=settings, unit=OTHER_UNIT
    )
    fields = {f.name: f.value for f in made.fields}
    assert fields.get("id_number") == OTHER_ID_NUMBER, fields
    assert fields.get("procedure_code") == OTHER_PROCEDURE, fields
    assert made.dossier_code == OTHER_CODE
    receipt, corrected, accepted = small_archive.record_ids
    review_service.review_set(
        settings, receipt, "summary", MARKUP, by="tester", reason="thử", force=True
    )
    for name, role, unit in PEOPLE.values():
        user_service.add_user(settings, name, PASSWORD, role=role, unit=unit or "", actor=CLI)
    return World(settings, receipt, corrected, accepted, made.record_id)


@pytest.fixture(scope="module")
def app(world):
    return create_app(world.settings)


def client(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def signed_in(app, who: str) -> TestClient:
    browser = client(app)
    token = csrf_of(browser.get("/login").text)
    name = PEOPLE[who][0]
    answer = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return browser


@pytest.fixture(scope="module")
def auditor(app) -> TestClient:
    return signed_in(app, "auditor")


def entries(settings: Settings, action: str) -> list[audit.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit.query(catalog, AuditFilter(action=action), per_page=500).entries)


def result_ids(html: str) -> list[str]:
    return re.findall(r'data-testid="result-row" data-record="([^"]+)"', html)


def api_ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [hit["id"] for hit in answer.json()["hits"]]


# --- search ------------------------------------------------------------------------------------


def test_a_name_typed_without_diacritics_finds_the_record_first(auditor, world):
    page = auditor.get("/search", params={"q": "nguyen thi hong dao"})
    assert page.status_code == 200
    assert result_ids(page.text)[0] == world.receipt
    assert 'data-testid="search-box"' in page.text and 'value="nguyen thi hong dao"' in page.text
    snippet = re.search(r'data-testid="result-snippet">(.*?)</td>', page.text, re.DOTALL).group(1)
    assert "<mark>" in snippet and "Hồng Đào" in snippet  # cut from the original, marks kept


@pytest.mark.parametrize("typed", ["dang van duc", "Đặng Văn Đức", "DANG VAN DUC", "đặng văn đức"])
def test_d_and_dj_and_case_do_not_matter(auditor, world, typed):
    ids = api_ids(auditor.get("/api/search", params={"q": typed}))
    assert ids and ids[0] == world.other
    assert world.receipt not in ids


@pytest.mark.parametrize("typed", [OTHER_ID_NUMBER, "045 087 002 319"])
def test_an_id_number_finds_its_record(auditor, world, typed):
    answer = auditor.get("/api/search", params={"q": typed})
    assert api_ids(answer)[0] == world.other
    assert answer.json()["hits"][0]["applicant_name"]


@pytest.mark.parametrize("typed", [RECEIPT_CODE, "000.00.06.h56-231027-0361", "H56-231027-0361"])
def test_a_dossier_code_finds_its_record(auditor, world, typed):
    assert api_ids(auditor.get("/api/search", params={"q": typed}))[0] == world.receipt


def test_filters_narrow_the_results(auditor, world):
    def browse(**filters) -> set[str]:
        answer = auditor.get("/api/search", params={"q": "", **filters})
        body = answer.json()
        assert body["total"] == len(body["hits"]), body
        return set(api_ids(answer))

    everything = browse()
    assert everything == {world.receipt, world.corrected, world.accepted, world.other}
    assert browse(unit=OTHER_UNIT) == {world.other}
    assert browse(unit="H56.01") == everything - {world.other}
    assert browse(kind="ket-qua") == {world.corrected, world.accepted}
    assert browse(procedure="2.000884") == {world.other}
    assert browse(sector="chung thuc") == {world.other}
    assert browse(**{"from": "2024-01-01", "to": "31/12/2024"}) == {world.other}
    statuses = {i: open_catalog(world.settings.resolved_catalog_url).get_record(i).status
                for i in everything}  # fmt: skip
    review = {i for i, s in statuses.items() if s == "needs_review"}
    assert review and browse(status="needs_review") == review
    assert browse(q="nguyen", kind="ket-qua") == set()
    page = auditor.get("/search", params={"q": "", "unit": OTHER_UNIT})
    assert result_ids(page.text) == [world.other]


def test_results_come_in_pages_with_a_total(auditor, world, monkeypatch):
    first = auditor.get("/api/search", params={"q": "", "per_page": 3}).json()
    second = auditor.get("/api/search", params={"q": "", "per_page": 3, "page": 2}).json()
    assert first["total"] == second["total"] == 4 and first["pages"] == 2
    assert len(first["hits"]) == 3 and len(second["hits"]) == 1
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    monkeypatch.setattr(search_service, "PER_PAGE", 3)
    page_one = auditor.get("/search", params={"q": ""})
    assert 'data-testid="result-total"' in page_one.text and "4" in page_one.text
    assert 'data-testid="page-prev"' not in page_one.text
    link = re.search(r'href="([^"]+)" rel="next"', page_one.text).group(1).replace("&amp;", "&")
    page_two = auditor.get(link)
    assert len(result_ids(page_one.text)) == 3 and len(result_ids(page_two.text)) == 1
    assert 'data-testid="page-next"' not in page_two.text


def test_a_count_cut_short_reads_at_least_and_the_next_page_reads_on(auditor, monkeypatch):
    from catalog import search

    counted = auditor.get("/api/search", params={"q": "so"}).json()
    assert counted["total_is_exact"] and counted["total"] >= 3  # "số" in three texts
    monkeypatch.setattr(search, "TEXT_COUNT_BUDGET_S", 0.0)
    monkeypatch.setattr(search, "_PROGRESS_STEPS", 1)
    monkeypatch.setattr(search_service, "PER_PAGE", 1)
    first = auditor.get("/search", params={"q": "so"})
    assert "Ít nhất" in first.text and len(result_ids(first.text)) == 1
    link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1).replace("&amp;", "&")
    second = result_ids(auditor.get(link).text)
    assert len(second) == 1 and second != result_ids(first.text)
    api = auditor.get("/api/search", params={"q": "so", "per_page": 1}).json()
    assert api["total_is_exact"] is False and api["total"] < counted["total"] + 1


def test_snippets_are_escaped_and_only_the_match_is_marked(auditor, world):
    page = auditor.get("/search", params={"q": "xyzzy"})
    assert result_ids(page.text) == [world.receipt]
    assert "<img" not in page.text and "onerror=" not in page.text.replace("onerror=&#34;", "")
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; <mark>xyzzy</mark>" in page.text
    hit = auditor.get("/api/search", params={"q": "xyzzy"}).json()["hits"][0]
    assert "«xyzzy»" in hit["snippet"] and MARKUP.split(" xyzzy")[0] in hit["snippet"]


def test_search_is_audited_with_counts_never_the_words(app, world):
    browser = signed_in(app, "auditor")
    before = len(entries(world.settings, "search"))
    browser.get("/search", params={"q": "nguyen thi hong dao", "kind": "thanh-phan"})
    browser.get("/search")  # the empty form searches nothing and logs nothing
    logged = entries(world.settings, "search")
    assert len(logged) == before + 1
    entry = logged[0]
    assert entry.username == "binh.audit" and entry.detail["hits"] >= 1
    assert entry.detail["filters"] == ["kind"] and entry.detail["words"] is True
    assert "nguyen" not in json.dumps(entry.to_dict()).lower()


def test_a_bad_day_or_reversed_period_is_explained(auditor):
    page = auditor.get("/search", params={"q": "", "from": "31/02/2024"})
    assert page.status_code == 400 and 'role="alert"' in page.text
    api = auditor.get("/api/search", params={"from": "2024-05-01", "to": "2024-04-01"})
    assert api.status_code == 400 and api.json()["error"] == "bad_period"


# --- the record --------------------------------------------------------------------------------


def test_the_record_page_shows_fields_history_and_a_verified_signature(app, world):
    browser = signed_in(app, "auditor")
    page = browser.get(f"/records/{world.corrected}?lang=en")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="record-title"' in html
    value = re.search(r'data-testid="field-value" data-field="applicant_name">([^<]*)<', html)
    assert value and value.group(1) == "Trần Văn Dũng"
    history = re.findall(r'data-testid="history-row" data-field="([^"]+)"', html)
    assert history == ["applicant_name"] and "ghi rõ" in html and "tester" in html
    assert re.search(r'data-testid="verify-status" data-status="ok"', html)
    assert "Intact" in html and "B-B" in html
    assert f'src="/records/{world.corrected}/pdf"' in html and 'data-testid="pdf-frame"' in html
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in html and " style=" not in html
    accepted = browser.get(f"/records/{world.accepted}").text
    assert re.findall(r'data-testid="history-row" data-field="([^"]+)"', accepted) == ["*"]
    viewed = entries(world.settings, "record.view")
    assert viewed[0].target == world.accepted and viewed[1].target == world.corrected


def test_the_api_gives_the_record_with_its_evidence(app, world):
    made = user_service.create_token(world.settings, "binh.audit", "script-rec", actor=CLI)
    api = client(app)
    answer = api.get(
        f"/api/records/{world.corrected}", headers={"Authorization": f"Bearer {made['token']}"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == world.corrected and body["unit"] == "H56.01"
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["applicant_name"]["value"] == "Trần Văn Dũng"
    assert fields["applicant_name"]["method"] == "manual"
    assert [c["field"] for c in body["corrections"]] == ["applicant_name"]
    assert body["corrections"][0]["reason"] == "ghi rõ"
    assert entries(world.settings, "record.view")[0].via == "api"


def test_the_pdf_is_served_inline_with_its_archived_bytes(app, world):
    browser = signed_in(app, "auditor")
    row = open_catalog(world.settings.resolved_catalog_url).get_record(world.other)
    answer = browser.get(f"/records/{world.other}/pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith("inline;")
    assert answer.content.startswith(b"%PDF-")
    assert hashlib.sha256(answer.content).hexdigest() == row.pdf_sha256
    assert answer.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in answer.headers["content-security-policy"]
    stored = (world.settings.local_store_root / row.pdf_key).read_bytes()
    assert answer.content == stored
    viewed = entries(world.settings, "record.view")[0]
    assert viewed.target == world.other and viewed.detail["part"] == "pdf"


def test_a_download_is_an_attachment_and_is_audited(app, world):
    browser = signed_in(app, "auditor")
    before = len(entries(world.settings, "record.download"))
    answer = browser.get(f"/records/{world.receipt}/pdf", params={"download": "1"})
    assert answer.status_code == 200
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment;") and "000.00.06.H56-231027-0361" in disposition
    downloads = entries(world.settings, "record.download")
    assert len(downloads) == before + 1
    assert downloads[0].target == world.receipt and downloads[0].username == "binh.audit"


def test_verify_again_posts_checks_and_is_audited(app, world):
    browser = signed_in(app, "auditor")
    page = browser.get(f"/records/{world.receipt}")
    assert 'data-testid="verify-button"' in page.text
    assert browser.post(f"/records/{world.receipt}/verify").status_code == 403  # no CSRF token
    again = browser.post(
        f"/records/{world.receipt}/verify", data={"csrf_token": csrf_of(page.text)}
    )
    assert again.status_code == 200
    assert re.search(r'data-testid="verify-status" data-status="ok"', again.text)
    assert "Đã kiểm tra lại theo yêu cầu" in again.text
    verified = entries(world.settings, "record.verify")[0]
    assert verified.target == world.receipt and verified.detail["ok"] is True
    assert verified.detail["status"] == "ok"


@pytest.fixture
def damaged(world, tmp_path):
    """A copy of the module's archive whose receipt PDF had one byte flipped behind the store."""
    folder = tmp_path / "data"
    if world.settings.catalog_url is None:  # SQLite: a consistent copy of the file comes along
        with sqlite3.connect(world.settings.data_dir / "catalog.sqlite") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    copy_data_dir(world.settings.data_dir, folder)
    settings = Settings(data_dir=folder, catalog_url=world.settings.catalog_url)
    row = open_catalog(settings.resolved_catalog_url).get_record(world.receipt)
    path = settings.local_store_root / row.pdf_key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return settings


def test_a_changed_pdf_is_refused_and_verify_reports_it(damaged, world):
    app = create_app(damaged)
    browser = signed_in(app, "auditor")
    shown = browser.get(f"/records/{world.receipt}/pdf?lang=en")
    assert shown.status_code == 409
    assert "has changed since it was archived" in shown.text and "SHA-256" in shown.text
    assert shown.headers["content-type"].startswith("text/html")
    got = browser.get(f"/api/records/{world.receipt}/pdf", params={"download": "1"})
    assert got.status_code == 409 and got.json()["error"] == "web_pdf_changed"
    refused = entries(damaged, "record.download")[0]
    assert refused.target == world.receipt and refused.detail["refused"] == "sha256"
    page = browser.get(f"/records/{world.receipt}")
    assert re.search(r'data-testid="verify-status" data-status="changed"', page.text)
    assert 'data-testid="pdf-withheld"' in page.text and 'data-testid="pdf-frame"' not in page.text
    token = csrf_of(page.text)
    verdict = browser.post(
        f"/api/records/{world.receipt}/verify", headers={"X-CSRF-Token": token}
    ).json()
    assert verdict["ok"] is False and verdict["status"] == "changed"
    assert any("sha256" in p.lower() for p in verdict["problems"])
    logged = entries(damaged, "record.verify")[0]
    assert logged.detail["ok"] is False and logged.detail["status"] == "changed"
    assert browser.get(f"/records/{world.other}/pdf").status_code == 200  # others still served


def test_a_missing_manifest_still_shows_the_record_from_the_catalog(damaged, world):
    row = open_catalog(damaged.resolved_catalog_url).get_record(world.corrected)
    (damaged.local_store_root / row.manifest_key).unlink()
    browser = signed_in(create_app(damaged), "auditor")
    page = browser.get(f"/records/{world.corrected}")
    assert page.status_code == 200 and 'data-testid="manifest-problem"' in page.text
    assert re.search(r'data-testid="verify-status" data-status="missing"', page.text)
    assert "Trần Văn Dũng" in page.text  # the catalog's value and its history
    assert re.findall(r'data-testid="history-row" data-field="([^"]+)"', page.text)


# --- reports -----------------------------------------------------------------------------------


REGISTER = [
    ["Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Mã lĩnh vực", "Tên lĩnh vực", "Mã đơn vị", "Tên đơn vị",
     "Cấp", "Đơn vị cấp trên", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý",
     "Trạng thái", "Kênh", "Kết quả giấy"],
    [RECEIPT_CODE, "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT", "Hộ tịch", "H56.01",
     "UBND xã Gio Linh", "xa", "H56", "27/10/2023", "30/10/2023", "", "4", "1", "có"],
    ["000.00.06.H56-231028-0001", "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT",
     "Hộ tịch", "H56.01", "UBND xã Gio Linh", "xa", "H56", "28/10/2023", "", "", "4", "2", "có"],
    ["000.00.31.H56-231029-0002", "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT",
     "Hộ tịch", OTHER_UNIT, "UBND xã Cam Lộ", "xa", "H56", "29/10/2023", "", "", "4", "1", "có"],
    ["000.00.06.H56-230915-0003", "1.001193.000.00.00.H56", "Đăng ký khai sinh", "HT",
     "Hộ tịch", "H56", "UBND huyện <Hải Lăng>", "huyen", "", "15/09/2023", "", "", "4", "1", "có"],
]  # fmt: skip
"""Three dossiers received in October 2023 by two communes: one digitised (the receipt), two
not; and one received in September by the district both communes belong to (its name
carries markup, to prove escaping)."""


@pytest.fixture(scope="module")
def register(world, tmp_path_factory) -> None:
    import csv

    path = tmp_path_factory.mktemp("register") / "so-theo-doi.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(REGISTER)
    result = import_register(open_catalog(world.settings.resolved_catalog_url), path)
    assert result.inserted == 4, result


PERIOD = {"from": "2023-10-01", "to": "31/10/2023"}


def test_the_reports_page_shows_the_rates_and_charts(app, world, register):
    browser = signed_in(app, "auditor")
    page = browser.get("/reports", params={**PERIOD, "unit": "H56"})
    assert page.status_code == 200
    html = page.text
    total = re.search(r'data-testid="report-total">(.*?)</tr>', html, re.DOTALL).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", total)
    assert "3" in cells and "33,33%" in cells  # 1 of 3 received dossiers has its components
    assert html.count('data-testid="report-row"') == 3  # the district and its two communes
    assert html.count("<svg") == 2 and 'class="bar components"' in html
    assert "UBND huyện &lt;Hải Lăng&gt;" in html and "<Hải Lăng>" not in html
    assert 'data-testid="report-xlsx"' in html and " style=" not in html
    logged = entries(world.settings, "report.view")[0]
    assert logged.detail["start"] == "2023-10-01" and logged.detail["format"] == "html"


def test_the_report_exports_as_xlsx_and_json(app, world, register):
    browser = signed_in(app, "auditor")
    page = browser.get("/reports", params={**PERIOD, "unit": "H56"})
    link = re.search(r'href="([^"]+)" data-testid="report-xlsx"', page.text).group(1)
    xlsx = browser.get(link.replace("&amp;", "&"))
    assert xlsx.status_code == 200 and xlsx.headers["content-disposition"].startswith("attachment")
    book = load_workbook(io.BytesIO(xlsx.content))
    values = [cell.value for row in book.worksheets[0].iter_rows() for cell in row]
    assert "UBND xã Cam Lộ" in values and 3 in values
    assert entries(world.settings, "report.view")[0].detail["format"] == "xlsx"
    body = browser.get("/api/reports", params={**PERIOD, "unit": "H56.01"}).json()
    assert body["totals"]["counts"]["received"] == 2
    assert body["totals"]["components"]["rate"] == "50.00"
    api_xlsx = browser.get("/api/reports", params={**PERIOD, "format": "xlsx"})
    assert load_workbook(io.BytesIO(api_xlsx.content)).worksheets


def test_reports_explain_bad_input(auditor, register):
    reversed_ = auditor.get("/reports", params={"from": "2023-11-01", "to": "2023-10-01"})
    assert reversed_.status_code == 400 and 'data-testid="report-error"' in reversed_.text
    unknown = auditor.get("/reports", params={**PERIOD, "unit": "KHONG-CO"})
    assert unknown.status_code == 404 and 'data-testid="report-form"' in unknown.text
    assert auditor.get("/api/reports", params={**PERIOD, "by": "x"}).status_code == 400


# --- who may do what ---------------------------------------------------------------------------

MY_PAGES = ["/search", "/reports", "/records/{id}", "/records/{id}/pdf"]
MY_API = ["/api/search", "/api/reports", "/api/records/{id}", "/api/records/{id}/pdf"]


def test_anonymous_pages_go_to_login_and_api_calls_get_401(app, world):
    browser = client(app)
    for path in MY_PAGES:
        answer = browser.get(path.replace("{id}", world.receipt))
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    for path in MY_API:
        answer = browser.get(path.replace("{id}", world.receipt))
        assert answer.status_code == 401 and answer.json()["error"] == "web_login_required"
    bad = {"Authorization": "Bearer sohoa_not-a-token"}
    assert browser.post(f"/api/records/{world.receipt}/verify", headers=bad).status_code == 401
    assert browser.post(f"/api/records/{world.receipt}/verify").status_code == 403  # no CSRF


@pytest.mark.parametrize("who", ["clerk", "admin"])
def test_clerks_and_administrators_get_403_on_the_auditor_pages(app, world, who):
    browser = signed_in(app, who)
    for path in MY_PAGES + MY_API:
        answer = browser.get(path.replace("{id}", world.receipt))
        assert answer.status_code == 403, (who, path)
    token = csrf_of(browser.get("/").text)
    verify = browser.post(f"/records/{world.receipt}/verify", data={"csrf_token": token})
    assert verify.status_code == 403
    denied = {e.target for e in entries(world.settings, "access.denied")}
    assert f"/records/{world.receipt}/verify" in denied


def test_the_auditor_is_read_only(app, world):
    auditor_powers = ROLE_PERMISSIONS["auditor"]
    assert not auditor_powers & {Permission.UPLOAD, Permission.REVIEW, Permission.CORRECT}
    browser = signed_in(app, "auditor")
    token = csrf_of(browser.get("/").text)
    mine = {"/login", "/logout", "/records/{record_id}/verify", "/api/records/{record_id}/verify",
            "/verify", "/api/fixity"}  # fmt: skip
    posts = [p for p, methods in app.state.route_methods if "POST" in methods and p not in mine]
    assert "/admin/users" in posts
    for path in posts:  # every other change the app offers (the clerk's and admin's, as they exist)
        url = re.sub(r"\{[^}]+\}", world.receipt, path)
        answer = browser.post(url, data={"csrf_token": token}, headers={"X-CSRF-Token": token})
        assert answer.status_code == 403, path


def test_a_unit_limited_auditor_sees_only_their_unit(app, world):
    browser = signed_in(app, "scoped")
    everything = set(api_ids(browser.get("/api/search", params={"q": ""})))
    assert everything == {world.receipt, world.corrected, world.accepted}
    assert api_ids(browser.get("/api/search", params={"q": OTHER_ID_NUMBER})) == []
    assert browser.get("/api/search", params={"unit": OTHER_UNIT}).status_code == 403
    page = browser.get("/search", params={"q": "dang van duc"})
    assert result_ids(page.text) == [] and 'readonly data-testid="filter-unit"' in page.text
    for path in (f"/records/{world.other}", f"/records/{world.other}/pdf",
                 f"/api/records/{world.other}"):  # fmt: skip
        assert browser.get(path).status_code == 403, path
    assert browser.get(f"/records/{world.receipt}").status_code == 200
    denied = [e for e in entries(world.settings, "access.denied") if e.username == "cuc.audit"]
    assert f"/records/{world.other}" in {e.target for e in denied}


def test_a_unit_limited_auditor_reports_on_their_unit_only(app, world, register):
    browser = signed_in(app, "scoped")
    page = browser.get("/reports", params=PERIOD)
    assert page.status_code == 200 and "UBND xã Gio Linh" in page.text
    assert "UBND xã Cam Lộ" not in page.text
    assert browser.get("/reports", params={**PERIOD, "unit": "H56"}).status_code == 403
    body = browser.get("/api/reports", params=PERIOD).json()
    assert body["unit"] == "H56.01" and body["totals"]["counts"]["received"] == 2


def test_an_auditor_of_a_unit_with_no_register_rows_gets_an_empty_report(app, world, register):
    """Not 404: the unit exists for its auditor, it has received nothing yet."""
    browser = signed_in(app, "new unit")
    page = browser.get("/reports", params=PERIOD)
    assert page.status_code == 200, page.text[:500]
    body = browser.get("/api/reports", params=PERIOD).json()
    assert body["unit"] == "H56.09" and body["totals"]["counts"]["received"] == 0
    assert browser.get("/reports", params={**PERIOD, "unit": "H56"}).status_code == 403


def test_a_district_auditor_sees_the_communes_under_it(app, world, register):
    """The register puts H56.01 and H56.02 under the district H56: its auditor sees both."""
    browser = signed_in(app, "district")
    every = {world.receipt, world.corrected, world.accepted, world.other}
    assert set(api_ids(browser.get("/api/search", params={"q": ""}))) == every
    assert api_ids(browser.get("/api/search", params={"q": OTHER_ID_NUMBER})) == [world.other]
    narrowed = browser.get("/api/search", params={"q": "", "unit": OTHER_UNIT})
    assert set(api_ids(narrowed)) == {world.other}
    assert browser.get(f"/records/{world.other}").status_code == 200
    body = browser.get("/api/reports", params=PERIOD).json()
    assert body["unit"] == "H56" and body["totals"]["counts"]["received"] == 3
    assert browser.get("/api/search", params={"unit": "H57"}).status_code == 403


def test_a_commune_auditor_still_cannot_see_its_sibling(app, world, register):
    browser = signed_in(app, "scoped")
    assert browser.get(f"/api/records/{world.other}").status_code == 403
    assert browser.get("/api/search", params={"unit": "H56"}).status_code == 403


def test_an_unlimited_auditor_filtering_on_a_district_gets_its_communes(auditor, world, register):
    found = set(api_ids(auditor.get("/api/search", params={"q": "", "unit": "H56"})))
    assert found == {world.receipt, world.corrected, world.accepted, world.other}


def test_the_openapi_description_lists_the_auditor_api(app, world):
    made = user_service.create_token(world.settings, "binh.audit", "script-doc", actor=CLI)
    spec = (
        client(app)
        .get("/api/openapi.json", headers={"Authorization": f"Bearer {made['token']}"})
        .json()
    )
    paths = set(spec["paths"])
    assert {"/api/search", "/api/records/{record_id}", "/api/records/{record_id}/pdf",
            "/api/records/{record_id}/verify", "/api/reports"} <= paths  # fmt: skip
    assert "/search" not in paths and "/records/{record_id}" not in paths
    hits = spec["components"]["schemas"]["SearchOut"]["properties"]
    assert {"total", "hits", "pages"} <= set(hits)
