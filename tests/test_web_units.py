"""The administrator's unit list: ``/admin/units``, ``/api/units`` and the rules behind them.

The real app (``web.app.create_app``) on a real SQLite catalog in ``tmp_path``
through FastAPI's TestClient; the register is imported from a real CSV file.
"""

from __future__ import annotations

import csv
import re

import pytest
from webclient import TestClient, csrf_of

from catalog import audit, units
from catalog.audit import Actor, AuditFilter
from catalog.database import open_catalog
from catalog.register import import_register
from catalog.register import units as register_units
from schemas.settings import Settings
from services import users as user_service
from sohoa.errors import ConflictError, InvalidRequestError
from web.app import create_app

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")


@pytest.fixture
def settings(tmp_path, catalog_url) -> Settings:
    """Units and their accounts on each catalog backend (SQLite, PostgreSQL)."""
    made = Settings(data_dir=tmp_path / "data", catalog_url=catalog_url)
    user_service.add_user(made, "an.admin", PASSWORD, role="admin", actor=CLI)
    user_service.add_user(made, "binh.audit", PASSWORD, role="auditor", actor=CLI)
    user_service.add_user(made, "chi.clerk", PASSWORD, role="clerk", unit="X99", actor=CLI)
    return made


@pytest.fixture
def app(settings):
    return create_app(settings)


def catalog(settings: Settings):
    return open_catalog(settings.resolved_catalog_url)


def signed_in(app, name: str) -> TestClient:
    browser = TestClient(app, follow_redirects=False)
    token = csrf_of(browser.get("/login").text)
    answer = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return browser


def post_unit(browser: TestClient, **form: str):
    token = csrf_of(browser.get("/admin/units").text)
    return browser.post("/admin/units", data={"csrf_token": token, **form})


def codes_in_order(html: str) -> list[tuple[str, str]]:
    """``(code, depth class)`` of each row of the unit table, top to bottom."""
    return re.findall(r'<tr class="depth-(\d)[^"]*" data-code="([^"]+)"', html)


def test_only_administrators_reach_the_unit_pages(app):
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/admin/units").status_code in (302, 303)
    assert anonymous.get("/api/units").status_code == 401
    for name in ("binh.audit", "chi.clerk"):
        browser = signed_in(app, name)
        assert browser.get("/admin/units").status_code == 403, name
        assert browser.get("/api/units").status_code == 403, name
    home = signed_in(app, "an.admin").get("/").text
    assert 'href="/admin/units"' in home


def test_an_admin_builds_the_tree_and_every_change_is_audited(app, settings):
    browser = signed_in(app, "an.admin")
    assert post_unit(browser, code="H56", name="Huyện Gio Linh", level="huyen").status_code == 303
    made = post_unit(browser, code="H56.01", name="Xã  Gio Mỹ ", level="xa", parent="H56")
    assert made.status_code == 303 and made.headers["location"] == "/admin/units?done=unit_saved"
    page = browser.get("/admin/units?done=unit_saved").text
    assert "Đã lưu đơn vị." in page
    rows = [(code, depth) for depth, code in codes_in_order(page)]
    assert rows.index(("H56", "0")) < rows.index(("H56.01", "1"))
    stored = {u.code: u for u in register_units(catalog(settings))}
    assert stored["H56.01"].name == "Xã Gio Mỹ" and stored["H56.01"].parent == "H56"
    assert stored["H56.01"].level == "xa"
    post_unit(browser, code="H56.01", name="Xã Gio Mỹ (mới)", level="xa", parent="H56")
    assert {u.code: u.name for u in register_units(catalog(settings))}[
        "H56.01"
    ] == "Xã Gio Mỹ (mới)"
    logged = audit.query(catalog(settings), AuditFilter(action="unit.*"), per_page=50).entries
    assert [(e.target, e.username) for e in logged].count(("H56.01", "an.admin")) == 2
    assert {e.target for e in logged} == {"H56", "H56.01"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"code": "H56 01", "name": "Xã"}, "không hợp lệ"),
        ({"code": "H56.09", "name": "   "}, "Tên đơn vị"),
        ({"code": "H56.09", "name": "Xã", "level": "thon"}, "Cấp “thon”"),
        ({"code": "H56.09", "name": "Xã", "parent": "H99"}, "chưa có trong danh sách"),
        ({"code": "H56", "name": "Huyện", "parent": "H56.01"}, "nằm dưới nó"),
        ({"code": "H56", "name": "Huyện", "parent": "H56"}, "nằm dưới nó"),
    ],
)
def test_a_bad_unit_is_refused_with_the_reason_and_nothing_changes(app, settings, form, message):
    units.save_unit(catalog(settings), "H56", name="Huyện Gio Linh", level="huyen")
    units.save_unit(catalog(settings), "H56.01", name="Xã Gio Mỹ", parent="H56")
    before = register_units(catalog(settings))
    answer = post_unit(signed_in(app, "an.admin"), **form)
    assert answer.status_code == 400
    assert message in answer.text and 'role="alert"' in answer.text
    assert register_units(catalog(settings)) == before


def test_units_only_used_by_accounts_or_records_are_listed_to_be_added(app, settings):
    browser = signed_in(app, "an.admin")
    page = browser.get("/admin/units").text
    assert ("0", "X99") in codes_in_order(page) and "chưa có trong danh sách" in page
    (row,) = [r for r in browser.get("/api/units").json() if r["code"] == "X99"]
    assert row["listed"] is False and row["users"] == 1 and row["in_use"] is True
    assert post_unit(browser, code="X99", name="Phường Một").status_code == 303
    (row,) = [r for r in browser.get("/api/units").json() if r["code"] == "X99"]
    assert row["listed"] is True and row["name"] == "Phường Một"


def test_a_unit_in_use_is_kept_and_an_unused_one_removed(app, settings, tmp_path):
    path = tmp_path / "so.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["Mã hồ sơ", "Mã đơn vị", "Tên đơn vị", "Cấp", "Đơn vị cấp trên", "Trạng thái"],
                ["000.00.06.H56-231027-0361", "H56.01", "Xã Gio Mỹ", "xa", "H56", "4"],
            ]
        )
    import_register(catalog(settings), path)
    units.save_unit(catalog(settings), "H56", name="Huyện Gio Linh", level="huyen")
    units.save_unit(catalog(settings), "TYPO", name="Gõ nhầm")
    browser = signed_in(app, "an.admin")
    page = browser.get("/admin/units").text
    assert 'action="/admin/units/TYPO/remove"' in page
    assert 'action="/admin/units/H56/remove"' not in page  # a unit is listed under it
    assert 'action="/admin/units/H56.01/remove"' not in page  # one register dossier
    token = csrf_of(page)
    for code in ("H56", "H56.01"):  # a child unit; a dossier
        kept = browser.post(f"/admin/units/{code}/remove", data={"csrf_token": token})
        assert kept.status_code == 409 and "không thể xóa" in kept.text, code
    gone = browser.post("/admin/units/TYPO/remove", data={"csrf_token": token})
    assert gone.status_code == 303
    assert {u.code for u in register_units(catalog(settings))} == {"H56", "H56.01"}
    assert browser.delete("/api/units/TYPO").status_code in (403, 404)  # cookie: CSRF first
    with pytest.raises(ConflictError):
        units.delete_unit(catalog(settings), "H56")


def test_a_form_without_its_csrf_token_is_refused(app, settings):
    browser = signed_in(app, "an.admin")
    assert browser.post("/admin/units", data={"code": "H1", "name": "A"}).status_code == 403
    assert register_units(catalog(settings)) == []


def test_the_api_twins_change_units_with_a_token(app, settings):
    made = user_service.create_token(settings, "an.admin", "script", actor=CLI)
    api = TestClient(app, headers={"Authorization": f"Bearer {made['token']}"})
    answer = api.put("/api/units/H56", json={"name": "Huyện Gio Linh", "level": "huyen"})
    assert answer.status_code == 200 and answer.json()["created"] is True
    answer = api.put("/api/units/H56.01", json={"name": "Xã Gio Mỹ", "parent": "H56"})
    assert answer.json()["created"] is True
    assert api.put("/api/units/H56", json={"name": "X", "parent": "H56.01"}).status_code == 400
    listed = [(u["code"], u["depth"]) for u in api.get("/api/units").json() if u["listed"]]
    assert listed == [("H56", 0), ("H56.01", 1)]
    assert api.delete("/api/units/NOPE").status_code == 404
    assert api.delete("/api/units/H56").status_code == 409
    assert api.delete("/api/units/H56.01").status_code == 204
    spec = api.get("/api/openapi.json").json()
    assert {"/api/units", "/api/units/{code}"} <= set(spec["paths"])


def test_a_parent_loop_through_several_units_is_refused(settings):
    db = catalog(settings)
    units.save_unit(db, "T", name="Tỉnh")
    units.save_unit(db, "H", name="Huyện", parent="T")
    units.save_unit(db, "X", name="Xã", parent="H")
    with pytest.raises(InvalidRequestError):
        units.save_unit(db, "T", name="Tỉnh", parent="X")
    assert units.scope_of(db, "T").codes == {"T", "H", "X"}
    assert units.scope_of(db, "H").codes == {"H", "X"}
    assert units.scope_of(db, "UNLISTED").codes == {"UNLISTED"}
    assert units.scope_of(db, None) is None


def _sohoa(settings: Settings, *args: str, **env: str):
    import os
    import subprocess
    import sys
    from pathlib import Path

    program = Path(sys.executable).with_name("sohoa")
    full = {**os.environ, "SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_LANG": "en", **env}
    full |= {"SOHOA_CATALOG_URL": settings.catalog_url} if settings.catalog_url else {}
    return subprocess.run(
        [str(program), *args], check=False, capture_output=True, text=True, env=full, timeout=120
    )


def test_the_cli_twins_obey_the_same_rules(settings):
    import json

    assert _sohoa(settings, "units", "set", "H56", "--name", "Huyện Gio Linh").returncode == 0
    made = _sohoa(settings, "units", "set", "H56.01", "--name", "Xã Gio Mỹ", "--parent", "H56")
    assert made.returncode == 0, made.stderr
    loop = _sohoa(settings, "units", "set", "H56", "--name", "Huyện", "--parent", "H56.01")
    assert loop.returncode == 2 and "cannot be the parent" in " ".join(loop.stderr.split())
    listed = json.loads(_sohoa(settings, "units", "list", "--json").stdout)
    assert [(u["code"], u["depth"]) for u in listed if u["listed"]] == [("H56", 0), ("H56.01", 1)]
    logged = audit.query(catalog(settings), AuditFilter(action="unit.save"), per_page=9)
    assert {e.target for e in logged.entries} == {"H56", "H56.01"}
    assert _sohoa(settings, "units", "remove", "H56").returncode == 2  # it has a child


def test_sohoa_settings_exits_1_when_a_check_fails(settings):
    import json

    fine = _sohoa(settings, "settings", "--json")
    assert fine.returncode == 0, fine.stderr
    body = json.loads(fine.stdout)
    assert {c["name"]: c["status"] for c in body["checks"]}["tesseract"] == "ok"
    broken = _sohoa(settings, "settings", "--changed", SOHOA_OCR__LANGUAGE="vie+xyz")
    printed = " ".join(broken.stdout.split())
    assert broken.returncode == 1 and "xyz" in printed and "ocr.language" in printed


def test_a_unit_named_only_by_a_waiting_batch_is_kept(settings):
    db = catalog(settings)
    units.save_unit(db, "H56.07", name="Xã Gio Hải")
    db.upsert_batch("b" * 64, status="waiting", unit="H56.07", kind="thanh-phan")
    (row,) = [r for r in units.overview(db) if r.code == "H56.07"]
    assert row.batches == 1 and row.in_use
    with pytest.raises(ConflictError):
        units.delete_unit(db, "H56.07")
