"""The web app in a real browser: Debian's Chromium driven by Playwright against `sohoa serve`.

One journey as the issue describes it: a clerk signs in, uploads a generated scan and
watches it finish without reloading; an auditor finds it by a name typed without
diacritics, opens the record with its signed PDF; the clerk corrects a field and the
history shows it; an auditor cannot upload. The server is the real command in a
subprocess (uvicorn, the job runner, the Prefect flow, Tesseract), one per test over a
data directory of that test's own; screenshots of every step go to ``test-artifacts/web/``
for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
PASSWORD = "mật-khẩu-đủ-dài-2026"
CHROMIUM_ARGS = [
    "--no-sandbox",  # runs as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine has no internet: no phoning home
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sohoa(env: dict[str, str], *args: str, stdin: str | None = None, timeout: int = 120) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli.app", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _data_dir(folder: Path, prefect_api_url: str) -> tuple[Path, dict[str, str]]:
    """A fresh data directory with one account per role, and the environment that uses it."""
    data = folder / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data), PREFECT_API_URL=prefect_api_url, SOHOA_LANG="vi")
    for name, role in (("quan.tri", "admin"), ("can.bo", "clerk"), ("thanh.tra", "auditor")):
        _sohoa(env, "users", "add", name, "--role", role, "--password-file", "-", stdin=PASSWORD)
    return data, env


def _serve(data: Path, env: dict[str, str]) -> Iterator[str]:
    """`sohoa serve` on a free port over ``data``; yields its URL, stops it afterwards."""
    port = _free_port()
    log = (data / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.app", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert process.poll() is None, (data / "serve.log").read_text()
            assert time.monotonic() < deadline, "sohoa serve did not answer /health"
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def server(tmp_path, prefect_api_url) -> Iterator[str]:
    """`sohoa serve` over an empty archive of this test's own, with one account per role."""
    yield from _serve(*_data_dir(tmp_path, prefect_api_url))


@pytest.fixture
def server_with_a_record(tmp_path, prefect_api_url) -> Iterator[str]:
    """`sohoa serve` over an archive of this test's own holding one receipt in unit H56.01
    (digitised by `sohoa ingest`, so this test needs no other test's upload)."""
    from archive_fixture import DPI, RECEIPT

    from samples.synth import render_page, write_png

    data, env = _data_dir(tmp_path, prefect_api_url)
    scan = tmp_path / "bien-nhan.png"
    write_png(scan, render_page(RECEIPT, dpi=DPI, paper="A5", font_size_pt=12), dpi=DPI)
    _sohoa(env, "ingest", str(scan), "--unit", "H56.01", timeout=600)
    yield from _serve(data, env)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _signed_in(browser, server: str, name: str):
    page = browser.new_context(locale="vi-VN").new_page()
    page.goto(f"{server}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    return page


def _shot(page, step: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{step}.png"), full_page=True)


def test_upload_find_open_correct_and_roles(server, browser, scan_pdf):
    clerk = _signed_in(browser, server, "can.bo")
    _shot(clerk, "01-clerk-home")

    # upload one batch and watch it finish on the same page (no reload)
    clerk.goto(f"{server}/upload")
    clerk.select_option("[data-testid=upload-kind]", "thanh-phan")
    clerk.fill("[data-testid=upload-unit]", "H56.01")
    clerk.set_input_files("[data-testid=file-input]", str(scan_pdf))
    clerk.click("[data-testid=upload-submit]")
    entry = clerk.locator("[data-testid=batch-progress]").first
    entry.wait_for()
    _shot(clerk, "02-upload-running")
    done = '[data-testid=batch-progress][data-status="archived"], '
    done += '[data-testid=batch-progress][data-status="needs_review"]'
    clerk.wait_for_selector(done, timeout=300_000)  # OCR of 3 pages on a busy CI machine
    assert clerk.url.endswith("/upload")  # it finished without leaving the page
    pages = clerk.locator("[data-testid=pages-progress]").first
    assert pages.get_attribute("value") == pages.get_attribute("max") == "3"
    _shot(clerk, "03-upload-done")

    # an auditor finds it by the applicant's name typed without diacritics
    auditor = _signed_in(browser, server, "thanh.tra")
    auditor.goto(f"{server}/search")
    auditor.fill("[data-testid=search-box]", "nguyen thi hong dao")
    auditor.click("[data-testid=search-submit]")
    rows = auditor.locator("[data-testid=result-row]")
    rows.first.wait_for()
    assert rows.count() == 1
    assert "Đào" in rows.first.inner_text()
    _shot(auditor, "04-auditor-search")
    auditor.click("[data-testid=result-link]")
    auditor.locator("[data-testid=record-title]").wait_for()
    assert auditor.locator("[data-testid=pdf-frame]").count() == 1
    record_url = auditor.url
    pdf = auditor.request.get(record_url.rstrip("/") + "/pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    _shot(auditor, "05-auditor-record")

    # the clerk corrects the procedure name on the review page; the history keeps it
    record_id = record_url.rstrip("/").rsplit("/", 1)[1]
    clerk.goto(f"{server}/review/{record_id}")
    clerk.fill("[data-testid=field-input-procedure_name]", "Đăng ký khai sinh (đã đối chiếu)")
    clerk.fill("[data-testid=field-reason-procedure_name]", "đối chiếu bản gốc")
    clerk.click("[data-testid=field-save-procedure_name]")
    history = clerk.locator("[data-testid=history-row]")
    history.first.wait_for()
    assert "đã đối chiếu" in history.first.inner_text()
    _shot(clerk, "06-clerk-corrected")

    # an auditor may not upload: the page answers 403 and offers no form
    answer = auditor.goto(f"{server}/upload")
    assert answer is not None and answer.status == 403
    assert auditor.locator("[data-testid=upload-form]").count() == 0
    _shot(auditor, "07-auditor-cannot-upload")


def test_verify_overview_and_admin_pages(server_with_a_record, browser):
    """Over an archive of one record: a check started from /verify ends on the same page
    (static/verify.js), and an administrator builds the unit tree and reads the settings."""
    server = server_with_a_record
    auditor = _signed_in(browser, server, "thanh.tra")
    auditor.goto(f"{server}/verify")
    auditor.fill("[data-testid=fixity-sample]", "5")
    auditor.click("[data-testid=fixity-submit]")
    auditor.wait_for_selector("[data-testid=fixity-run][data-verdict=ok]", timeout=120_000)
    assert auditor.locator("[data-testid=fixity-checked]").inner_text().startswith("1")
    assert auditor.locator("[data-testid=fixity-problems]").inner_text() == "0"
    assert auditor.locator("[data-testid=fixity-history-row]").count() >= 1
    _shot(auditor, "08-auditor-verify")

    admin = _signed_in(browser, server, "quan.tri")
    admin.goto(f"{server}/admin/units")
    form = admin.locator("#unit-new")
    form.locator("input[name=code]").fill("H56")
    form.locator("input[name=name]").fill("Huyện Gio Linh")
    form.locator("select[name=level]").select_option("huyen")
    form.locator("button[type=submit]").click()
    admin.wait_for_url("**/admin/units?done=unit_saved")
    unlisted = admin.locator("tr[data-code='H56.01']")  # named by the record, not yet listed
    assert "chưa có trong danh sách" in unlisted.inner_text()
    unlisted.locator("input[name=name]").fill("Xã Gio Mỹ")
    unlisted.locator("input[name=parent]").fill("H56")
    unlisted.locator("button[type=submit]").click()
    admin.wait_for_url("**/admin/units?done=unit_saved")
    child = admin.locator("tr[data-code='H56.01']")
    assert "depth-1" in (child.get_attribute("class") or "")
    _shot(admin, "09-admin-units")
    admin.goto(f"{server}/admin/settings")
    tesseract = admin.locator("tr[data-check=tesseract] td.verdict")
    assert tesseract.inner_text() == "Tốt"
    assert admin.locator("tr[data-key='web.session_hours']").count() == 1
    _shot(admin, "10-admin-settings")
