"""The administrator's settings page and machine checks: ``/admin/settings``, ``/api/settings``.

The real app on a real catalog in ``tmp_path``; the checks run the real Tesseract,
pdfsig and signer loading, and an S3 endpoint where nothing listens.
"""

from __future__ import annotations

import re

import pytest
from webclient import TestClient

from catalog.audit import Actor
from schemas.settings import Settings
from services import users
from services.settings_view import setting_rows
from services.system_check import run_checks
from web.app import create_app

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
SECRET = "khoa-bi-mat-KHONG-DUOC-HIEN"
DB_PASSWORD = "mat-khau-csdl-rat-kin"


def people(settings: Settings) -> None:
    users.add_user(settings, "an.admin", PASSWORD, role="admin", actor=CLI)
    users.add_user(settings, "binh.audit", PASSWORD, role="auditor", actor=CLI)
    users.add_user(settings, "chi.clerk", PASSWORD, role="clerk", actor=CLI)


def signed_in(app, name: str) -> TestClient:
    browser = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text).group(1)
    answer = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return browser


@pytest.fixture
def app(tmp_path, monkeypatch):
    """Settings from all three sources: the environment, a TOML file, the program."""
    config = tmp_path / "sohoa.toml"
    config.write_text('default_unit = "H56"\n[nightly]\nmax_attempts = 5\n', encoding="utf-8")
    monkeypatch.setenv("SOHOA_CONFIG", str(config))
    monkeypatch.setenv("SOHOA_WEB__IDLE_MINUTES", "45")
    monkeypatch.setenv("SOHOA_STORE__SECRET_KEY", SECRET)
    settings = Settings(data_dir=tmp_path / "data")
    people(settings)
    return create_app(settings)


def test_only_administrators_read_the_settings(app):
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/admin/settings").status_code in (302, 303)
    assert anonymous.get("/api/settings").status_code == 401
    for name in ("binh.audit", "chi.clerk"):
        browser = signed_in(app, name)
        assert browser.get("/admin/settings").status_code == 403
        assert browser.get("/api/settings").status_code == 403


def test_the_page_shows_each_value_with_its_source_and_never_a_secret(app):
    page = signed_in(app, "an.admin").get("/admin/settings")
    assert page.status_code == 200
    html = page.text
    assert SECRET not in html

    def row(key: str) -> str:
        found = re.search(rf'<tr data-key="{re.escape(key)}"[^>]*>(.*?)</tr>', html, re.DOTALL)
        assert found, key
        return found.group(1)

    assert "45" in row("web.idle_minutes") and "biến môi trường" in row("web.idle_minutes")
    assert "SOHOA_WEB__IDLE_MINUTES" in row("web.idle_minutes")
    assert "H56" in row("default_unit") and "tệp cấu hình" in row("default_unit")
    assert "tệp cấu hình" in row("nightly.max_attempts")
    assert "đã đặt (ẩn)" in row("store.secret_key") and "chưa đặt" in row("store.access_key")
    assert "mặc định" in row("ocr.psm")
    assert "segmentation" in row("ocr.psm")  # the field's docstring explains it
    verdicts = dict(
        re.findall(r'data-check="(\w+)">\s*<td>[^<]*</td>\s*<td class="verdict">([^<]+)', html)
    )
    assert verdicts["tesseract"] == "Tốt" and verdicts["poppler"] == "Tốt"
    assert verdicts["signer"] == "Cần chú ý"  # the demo certificate is never "OK"


def test_a_password_inside_the_catalog_url_is_masked(tmp_path):
    settings = Settings(
        data_dir=tmp_path, catalog_url=f"postgresql+psycopg://sohoa:{DB_PASSWORD}@db:5432/sohoa"
    )
    (row,) = [r for r in setting_rows(settings) if r.key == "catalog_url"]
    assert (
        DB_PASSWORD not in row.value and row.value == "postgresql+psycopg://sohoa:***@db:5432/sohoa"
    )
    assert row.source == "program" and row.changed


def test_broken_parts_of_the_machine_are_named_with_the_reason(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        ocr={"language": "vie+xyz"},
        store={"backend": "s3", "endpoint": "127.0.0.1:9", "retries": 0},
    )
    checks = {c.name: c for c in run_checks(settings)}
    assert checks["tesseract"].status == "fail" and "xyz" in checks["tesseract"].detail
    assert checks["store"].status == "fail"
    assert checks["catalog"].status == "ok" and checks["disk"].status in ("ok", "warn")


def test_the_catalog_check_reads_a_postgresql_catalog_and_names_a_refused_login(
    tmp_path, pg_server, pg_url
):
    """The machine check on a province's set-up: a live PostgreSQL catalog is "ok"; one
    that refuses the password fails, saying where, and the password appears nowhere."""
    live = {c.name: c for c in run_checks(Settings(data_dir=tmp_path, catalog_url=pg_url))}
    assert live["catalog"].status == "ok" and live["catalog"].detail == "0 records"
    database = pg_url.rsplit("/", 1)[1]
    wrong = pg_server.url(database, password="sai-mat-khau")
    refused = {c.name: c for c in run_checks(Settings(data_dir=tmp_path, catalog_url=wrong))}
    detail = refused["catalog"].detail
    assert refused["catalog"].status == "fail" and "log in" in detail, detail
    assert f"{pg_server.host}:{pg_server.port}" in detail and "sai-mat-khau" not in detail
    assert pg_server.password not in detail


def test_the_api_twin_gives_the_same_rows(app):
    made = users.create_token(app.state.settings, "an.admin", "monitor", actor=CLI)
    api = TestClient(app, headers={"Authorization": f"Bearer {made['token']}"})
    body = api.get("/api/settings").json()
    assert SECRET not in str(body)
    rows = {r["key"]: r for r in body["settings"]}
    assert rows["web.idle_minutes"]["value"] == "45" and rows["web.idle_minutes"]["source"] == "env"
    assert rows["store.secret_key"]["value"] == "set" and rows["store.secret_key"]["secret"]
    assert body["config_file_exists"] is True
    assert {c["name"] for c in body["checks"]} == {
        "tesseract",
        "poppler",
        "signer",
        "store",
        "catalog",
        "disk",
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:ab/cd@host/db", "postgresql://u:***@host/db"),
        ("postgresql://u:p w@host/db", "postgresql://u:***@host/db"),
        ("https://user:pa@ss@host:443/x", "https://user:***@host:443/x"),
        ("postgresql://host/db?password=hunter2&sslmode=require",
         "postgresql://host/db?password=***&sslmode=require"),
        ("http://tsa.example/ts?token=abc&x=1", "http://tsa.example/ts?token=***&x=1"),
        ("postgresql://u@host/db", "postgresql://u@host/db"),
        ("http://host/a@b/c", "http://host/a@b/c"),
    ],
)  # fmt: skip
def test_passwords_and_tokens_in_urls_are_masked_however_they_are_written(url, shown):
    from services.settings_view import masked_url

    assert masked_url(url) == shown
