"""The one-stop-shop register: real CSV/XLSX exports written here, imported into a real catalog.

Exports differ between systems (headers with or without diacritics, ``;`` or tabs,
Windows-1258 or UTF-16 text, title rows, Excel date cells), so each variant is a
file on disk read through the same :func:`catalog.register.import_register`.
"""

from __future__ import annotations

import io
import json
import unicodedata
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import SOHOA, Cli
from openpyxl import Workbook
from sqlalchemy import create_engine, text
from test_catalog import _add, make_manifest

from catalog import register
from catalog.connection import parse
from catalog.database import Catalog
from catalog.register import (
    copy_register,
    digitised_index,
    entries,
    import_register,
    mismatches,
    units,
)
from catalog.register_file import FIELDS, normalise
from catalog.register_rows import parse_date
from schemas.register import RegisterEntry, Unit
from sohoa.errors import BadInputError, ConfigError, EncryptedInputError, ExitCode, NotFoundError

HEADERS_VI = [
    "STT",
    "Mã hồ sơ",
    "Mã TTHC",
    "Tên TTHC",
    "Mã lĩnh vực",
    "Tên lĩnh vực",
    "Mã đơn vị",
    "Tên đơn vị",
    "Cấp",
    "Đơn vị cấp trên",
    "Ngày tiếp nhận",
    "Ngày hẹn trả",
    "Ngày kết thúc xử lý",
    "Trạng thái",
    "Kênh",
    "Kết quả giấy",
]
HEADERS_ASCII = [
    "stt",
    "MA_HO_SO",
    "MA_TTHC",
    "TEN_TTHC",
    "MA_LINH_VUC",
    "TEN_LINH_VUC",
    "MA_DON_VI",
    "TEN_DON_VI",
    "CAP",
    "DON_VI_CAP_TREN",
    "NGAY_TIEP_NHAN",
    "NGAY_HEN_TRA",
    "NGAY_KET_THUC_XU_LY",
    "TRANG_THAI",
    "KENH",
    "KET_QUA_GIAY",
]
XA, HUYEN = "000.00.31.H56", "000.00.06.H56"
C1, C2, C3 = (f"{HUYEN}-240315-000{i}" for i in (1, 2, 3))
ROWS = [
    # STT, code, TTHC, name, field code, field, unit, unit name, level, parent, received, due, end,
    # status, channel, paper
    [
        "1",
        C1,
        "1.004616.000.00.00.H56",
        "Đăng ký khai sinh",
        "HT",
        "Hộ tịch",
        XA,
        "UBND xã Triệu Phong",
        "Cấp xã",
        HUYEN,
        "15/03/2024",
        "20/3/2024 17:00",
        "2024-03-18",
        "10",
        "1",
        "có",
    ],
    [
        "2",
        C2,
        "1.001234.000.00.00.H56",
        "Cấp giấy chứng nhận quyền sử dụng đất",
        "DD",
        "Đất đai",
        HUYEN,
        "UBND huyện Gio Linh",
        "huyen",
        "",
        "2024-03-15 08:30:00",
        "05/04/2024",
        "",
        "4",
        "2",
        "không",
    ],
    [
        "3",
        C3,
        "1.004616.000.00.00.H56",
        "Đăng ký khai sinh",
        "HT",
        "Hộ tịch",
        XA,
        "UBND xã Triệu Phong",
        "Xã",
        HUYEN,
        "1/4/2024",
        "",
        "02/04/2024 09:15:00",
        "Đã trả kết quả",
        "Trực tuyến",
        "x",
    ],
]
EXPECTED = {
    C1: RegisterEntry(
        dossier_code=C1,
        unit=XA,
        procedure_code="1.004616.000.00.00.H56",
        procedure_name="Đăng ký khai sinh",
        field_code="HT",
        field_name="Hộ tịch",
        received_on=date(2024, 3, 15),
        due_on=date(2024, 3, 20),
        finished_on=date(2024, 3, 18),
        status=10,
        channel=1,
        paper_result=True,
    ),
    C2: RegisterEntry(
        dossier_code=C2,
        unit=HUYEN,
        procedure_code="1.001234.000.00.00.H56",
        procedure_name="Cấp giấy chứng nhận quyền sử dụng đất",
        field_code="DD",
        field_name="Đất đai",
        received_on=date(2024, 3, 15),
        due_on=date(2024, 4, 5),
        finished_on=None,
        status=4,
        channel=2,
        paper_result=False,
    ),
    C3: RegisterEntry(
        dossier_code=C3,
        unit=XA,
        procedure_code="1.004616.000.00.00.H56",
        procedure_name="Đăng ký khai sinh",
        field_code="HT",
        field_name="Hộ tịch",
        received_on=date(2024, 4, 1),
        due_on=None,
        finished_on=date(2024, 4, 2),
        status=10,
        channel=2,
        paper_result=True,
    ),
}
EXPECTED_UNITS = [
    Unit(code=XA, name="UBND xã Triệu Phong", level="xa", parent=HUYEN),
    Unit(code=HUYEN, name="UBND huyện Gio Linh", level="huyen", parent=None),
]


# --- helpers ---------------------------------------------------------------------------------


def write_csv(path: Path, rows: list[list], *, delimiter: str = ",", encoding: str = "utf-8"):
    """Write a CSV as an export tool would (quoted where needed)."""
    import csv

    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def windows_1258(text: str) -> str:
    """Spell ``text`` as Windows-1258 does: â/ê/ô/ă/ơ/ư precomposed, tone marks combining.

    Why: Python's cp1258 codec maps one code point per byte and has no "ệ"; Vietnamese
    Windows writes "ê" followed by a combining dot below, which is what we must read.
    """
    out = []
    for char in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", char)
        tones = "".join(c for c in parts if c in TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        out.append(base + tones)
    return "".join(out)


def write_xlsx(path: Path, rows: list[list], *, title: str = "Hồ sơ") -> Path:
    """Write a real workbook; dates may be ``date``/``datetime`` cells."""
    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def row_count(catalog: Catalog, table: str = "register_entries") -> int:
    """Rows of ``table`` as the database holds them (read apart from the catalog's code)."""
    engine = create_engine(parse(catalog.url))
    try:
        with engine.connect() as connection:
            return connection.scalar(text(f"select count(*) from {table}"))
    finally:
        engine.dispose()


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """An empty catalog: a SQLite file, or a database on the session's PostgreSQL."""
    cat = Catalog(catalog_url)
    yield cat
    cat.close()


def stored(catalog: Catalog) -> dict[str, RegisterEntry]:
    return {e.dossier_code: e for e in entries(catalog)}


# --- reading the export variants ---------------------------------------------------------------


def test_csv_with_vietnamese_headers(catalog, tmp_path):
    path = write_csv(tmp_path / "so-dang-ky.csv", [HEADERS_VI, *ROWS])
    result = import_register(catalog, path)
    assert (result.inserted, result.updated, result.unchanged, result.bad) == (3, 0, 0, 0)
    assert result.header_line == 1 and result.delimiter == ","
    assert result.ignored_columns == ("STT",)
    assert stored(catalog) == EXPECTED
    assert units(catalog) == sorted(EXPECTED_UNITS, key=lambda u: u.code)
    assert (result.units_inserted, result.units_updated) == (2, 0)


@pytest.mark.parametrize(
    ("headers", "delimiter", "encoding"),
    [
        (HEADERS_ASCII, ",", "utf-8"),
        (HEADERS_VI, ";", "utf-8-sig"),
        (HEADERS_VI, ";", "cp1258"),
        (HEADERS_VI, "\t", "utf-16"),
        ([h.lower().replace("_", " ") for h in HEADERS_ASCII], "|", "utf-8"),
    ],
    ids=["ascii-upper", "semicolon-bom", "semicolon-cp1258", "tab-utf16", "pipe-lower"],
)
def test_csv_variants(catalog, tmp_path, headers, delimiter, encoding):
    rows = ROWS
    if encoding == "cp1258":
        rows = [[windows_1258(c) for c in r] for r in ROWS]
        headers = [windows_1258(h) for h in headers]
    path = write_csv(
        tmp_path / "export.csv", [headers, *rows], delimiter=delimiter, encoding=encoding
    )
    result = import_register(catalog, path)
    assert (result.delimiter, result.encoding) == (delimiter, encoding)
    assert result.bad == 0, [r.render("en") for r in result.bad_rows]
    assert stored(catalog) == EXPECTED  # names back in NFC whatever the file's encoding
    assert len(result.columns) == len(FIELDS)


def _changed(row: list, number: int, **cells) -> list:
    """A copy of ``row`` with STT ``number`` and the cells named by header index ``c<i>``."""
    copy = [number, *row[1:]]
    for key, value in cells.items():
        copy[int(key[1:])] = value
    return copy


def test_xlsx_with_title_rows_and_date_cells(catalog, tmp_path):
    first = _changed(ROWS[0], 1, c10=datetime(2024, 3, 15, 8, 30), c11=date(2024, 3, 20), c13=10)
    second = _changed(ROWS[1], 2, c8="Huyện", c9=None, c10=date(2024, 3, 15), c12=None, c13=4.0)
    second[14], second[15] = 2, 0  # real numbers, as Excel stores them
    no_code = _changed(ROWS[0], 3, c1="")
    serial = 45383  # Excel's serial number of 2024-04-01, in a cell without a date format
    third = _changed(ROWS[2], 4, c10=serial, c11=None, c12=datetime(2024, 4, 2, 9, 15), c14=2)
    rows = [["DANH SÁCH HỒ SƠ TIẾP NHẬN"], [], HEADERS_VI, first, second, no_code, third]
    path = write_xlsx(tmp_path / "so.xlsx", rows)
    result = import_register(catalog, path)
    assert (result.format, result.sheet, result.header_line) == ("xlsx", "Hồ sơ", 3)
    assert [(r.line, r.reason) for r in result.bad_rows] == [(6, "missing")]
    assert result.bad_rows[0].column == "Mã hồ sơ"
    assert stored(catalog) == EXPECTED


def test_workbook_named_csv_is_read_as_xlsx(catalog, tmp_path):
    path = write_xlsx(tmp_path / "tmp.xlsx", [HEADERS_ASCII, *ROWS])
    renamed = path.rename(tmp_path / "export.csv")
    assert import_register(catalog, renamed).format == "xlsx"
    assert set(stored(catalog)) == set(EXPECTED)


MAPPED_HEADERS = ["Số biên nhận", "Cơ quan xử lý", "Tình trạng", "Ngày nhận hồ sơ", "Ghi chú"]


def test_mapping_file_names_other_columns(catalog, tmp_path):
    rows = [MAPPED_HEADERS, [C1, XA, "10", "15/03/2024", "ghi chú"], [C2, XA, "2", "", ""]]
    path = write_csv(tmp_path / "khac.csv", rows)
    with pytest.raises(BadInputError) as error:
        import_register(catalog, path)  # without the mapping nothing is recognised
    assert error.value.key == "register_no_header"
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        "[columns]\n"
        'dossier_code = "Số biên nhận"\n'
        'unit = ["Mã cơ quan", "co quan xu ly"]\n'  # a list; matched without diacritics
        'status = "TÌNH TRẠNG"\n'
        'received_on = "Ngày nhận hồ sơ"\n',
        encoding="utf-8",
    )
    result = import_register(catalog, path, mapping=mapping)
    assert result.inserted == 2 and result.ignored_columns == ("Ghi chú",)
    got = stored(catalog)
    assert got[C1].received_on == date(2024, 3, 15) and got[C1].status == 10
    assert got[C2].unit == XA and got[C2].received_on is None
    assert units(catalog) == [Unit(code=XA, name=XA)]  # no name column: the code stands in


def test_mapping_file_errors(catalog, tmp_path):
    path = write_csv(tmp_path / "so.csv", [HEADERS_VI, *ROWS])
    bad_field = tmp_path / "field.toml"
    bad_field.write_text('ma_ho_so = "Mã hồ sơ"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        import_register(catalog, path, mapping=bad_field)
    assert error.value.key == "register_mapping_field" and "dossier_code" in str(error.value)
    not_toml = tmp_path / "broken.toml"
    not_toml.write_text("dossier_code = \n", encoding="utf-8")
    with pytest.raises(ConfigError):
        import_register(catalog, path, mapping=not_toml)
    absent = tmp_path / "absent.toml"
    absent.write_text('due_on = "Hạn xử lý"\n', encoding="utf-8")
    with pytest.raises(BadInputError) as error:
        import_register(catalog, path, mapping=absent)
    assert error.value.key == "register_mapping_column"
    with pytest.raises(NotFoundError):
        import_register(catalog, path, mapping=tmp_path / "none.toml")
    assert row_count(catalog) == 0


def test_missing_required_column_is_named(catalog, tmp_path):
    headers = [h for h in HEADERS_VI if h != "Trạng thái"]
    rows = [[c for i, c in enumerate(r) if HEADERS_VI[i] != "Trạng thái"] for r in ROWS]
    with pytest.raises(BadInputError) as error:
        import_register(catalog, write_csv(tmp_path / "so.csv", [headers, *rows]))
    assert error.value.key == "register_missing_columns"
    assert "Trạng thái (status)" in error.value.params["columns"]
    assert row_count(catalog) == 0


# --- bad rows, re-imports ----------------------------------------------------------------------


def test_bad_rows_are_reported_with_their_lines_and_good_rows_kept(catalog, tmp_path):
    bad_date = [*ROWS[0][:1], f"{HUYEN}-240315-0100", *ROWS[0][2:]]
    bad_date[10] = "31/02/2024"
    bad_status = [*ROWS[1][:1], f"{HUYEN}-240315-0101", *ROWS[1][2:]]
    bad_status[13] = "11"
    no_code = [*ROWS[2][:1], "", *ROWS[2][2:]]
    multiline = [*ROWS[2][:3], "Đăng ký\nkhai sinh", *ROWS[2][4:]]
    rows = [HEADERS_VI, ROWS[0], bad_date, multiline, bad_status, [], no_code, ROWS[1], ROWS[0]]
    result = import_register(catalog, write_csv(tmp_path / "so.csv", rows))
    # header 1, C1 2, bad date 3, C3 4-5 (quoted line break), bad status 6, blank 7, ...
    got = [(r.line, r.reason, r.column, r.value) for r in result.bad_rows]
    assert got == [
        (3, "bad_date", "Ngày tiếp nhận", "31/02/2024"),
        (6, "bad_status", "Trạng thái", "11"),
        (8, "missing", "Mã hồ sơ", ""),
        (10, "duplicate", "Mã hồ sơ", C1),
    ]
    assert result.bad_rows[-1].first_line == 2
    assert (result.inserted, result.bad) == (3, 4)
    assert row_count(catalog) == 3
    assert stored(catalog)[C3].procedure_name == "Đăng ký\nkhai sinh"
    assert "31/02/2024" in result.bad_rows[0].render("vi")
    assert "not a valid date" in result.bad_rows[0].render("en")


def test_one_row_with_two_bad_cells_counts_once(catalog, tmp_path):
    row = list(ROWS[0])
    row[11], row[14], row[15], row[8] = "2024-13-01", "7", "có lẽ", "thành phố"
    result = import_register(catalog, write_csv(tmp_path / "so.csv", [HEADERS_VI, row]))
    reasons = {r.reason for r in result.bad_rows}
    assert reasons == {"bad_date", "bad_channel", "bad_paper_result", "bad_level"}
    assert result.bad == 1 and row_count(catalog) == 0


def test_reimport_updates_instead_of_duplicating(catalog, tmp_path):
    import_register(catalog, write_csv(tmp_path / "a.csv", [HEADERS_VI, *ROWS]))
    changed = [list(r) for r in ROWS]
    changed[1][12], changed[1][13] = "10/04/2024", "10"  # C2 finished
    extra = [*ROWS[0][:1], f"{HUYEN}-240401-0009", *ROWS[0][2:]]
    for row in (changed[0], changed[2], extra):
        row[7] = "UBND xã Triệu Phong (mới)"  # the unit renamed
    result = import_register(catalog, write_csv(tmp_path / "b.csv", [HEADERS_VI, *changed, extra]))
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 2)
    assert (result.units_inserted, result.units_updated) == (0, 1)
    assert row_count(catalog) == 4 and row_count(catalog, "register_units") == 2
    got = stored(catalog)
    assert got[C2].status == 10 and got[C2].finished_on == date(2024, 4, 10)
    assert units(catalog)[1].name == "UBND xã Triệu Phong (mới)"
    again = import_register(catalog, tmp_path / "b.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


def test_reimport_without_a_column_keeps_its_stored_values(catalog, tmp_path):
    import_register(catalog, write_csv(tmp_path / "a.csv", [HEADERS_VI, *ROWS]))
    keep = [i for i, h in enumerate(HEADERS_VI) if h not in ("Kênh", "Tên đơn vị", "Cấp")]
    narrow = [[row[i] for i in keep] for row in [HEADERS_VI, *ROWS]]
    narrow[1][keep.index(13)] = "9"  # one status changed
    result = import_register(catalog, write_csv(tmp_path / "b.csv", narrow))
    assert (result.updated, result.unchanged) == (1, 2)
    got = stored(catalog)
    assert got[C1].status == 9 and got[C1].channel == 1 and got[C3].channel == 2
    assert units(catalog) == sorted(EXPECTED_UNITS, key=lambda u: u.code)


# --- whole-file errors: nothing written --------------------------------------------------------


def _seed(catalog, tmp_path) -> None:
    import_register(catalog, write_csv(tmp_path / "seed.csv", [HEADERS_VI, *ROWS]))
    assert row_count(catalog) == 3


def test_empty_files_are_refused(catalog, tmp_path):
    for name, data in [("zero.csv", b""), ("blank.csv", b"\xef\xbb\xbf \r\n\r\n")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(BadInputError) as error:
            import_register(catalog, tmp_path / name)
        assert error.value.key == "register_empty", name
    blank_book = tmp_path / "blank.xlsx"
    Workbook().save(blank_book)
    with pytest.raises(BadInputError) as error:
        import_register(catalog, blank_book)
    assert error.value.key == "register_empty"
    assert row_count(catalog) == 0


def test_header_only_export_is_an_empty_period_not_an_error(catalog, tmp_path):
    result = import_register(catalog, write_csv(tmp_path / "so.csv", [HEADERS_VI]))
    assert (result.inserted, result.bad) == (0, 0)


def test_non_tabular_files_are_refused(catalog, tmp_path):
    _seed(catalog, tmp_path)
    png = tmp_path / "scan.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40)
    with pytest.raises(BadInputError) as error:
        import_register(catalog, png)
    assert error.value.key == "register_not_table"
    prose = tmp_path / "note.csv"
    prose.write_text("Kính gửi: UBND xã\nĐề nghị cấp lại giấy khai sinh.\n", encoding="utf-8")
    with pytest.raises(BadInputError) as error:
        import_register(catalog, prose)
    assert error.value.key == "register_no_header"
    with pytest.raises(NotFoundError):
        import_register(catalog, tmp_path / "missing.csv")
    assert row_count(catalog) == 3


def test_corrupt_and_encrypted_workbooks_are_refused(catalog, tmp_path):
    _seed(catalog, tmp_path)
    good = write_xlsx(tmp_path / "good.xlsx", [HEADERS_VI, *ROWS]).read_bytes()
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(BadInputError) as error:
        import_register(catalog, truncated)
    assert error.value.key == "register_corrupt" and error.value.exit_code == ExitCode.BAD_INPUT
    # An encrypted OOXML file is an OLE2 compound file holding an "EncryptionInfo" stream.
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptionInfo".encode("utf-16-le")
    (tmp_path / "locked.xlsx").write_bytes(ole + bytes(1024))
    with pytest.raises(EncryptedInputError) as error:
        import_register(catalog, tmp_path / "locked.xlsx")
    assert error.value.exit_code == ExitCode.ENCRYPTED_INPUT
    (tmp_path / "old.xls").write_bytes(ole[:8] + bytes(2048))
    with pytest.raises(BadInputError) as error:
        import_register(catalog, tmp_path / "old.xls")
    assert error.value.key == "register_xls"
    assert stored(catalog) == EXPECTED  # the earlier import is untouched


def test_a_workbook_that_breaks_half_way_writes_nothing(catalog, tmp_path, monkeypatch):
    """The sheet XML is cut after a few hundred rows: earlier chunks must be rolled back."""
    rows = [HEADERS_ASCII] + [
        [i, f"{XA}-240101-{i:04d}", "", "", "", "", XA, "Xã", "xa", "", "01/01/2024", "", "", 2]
        for i in range(1, 1501)
    ]
    good = write_xlsx(tmp_path / "big.xlsx", rows)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    monkeypatch.setattr(register, "CHUNK", 100)
    with pytest.raises(BadInputError) as error:
        import_register(catalog, broken)
    assert error.value.key == "register_corrupt"
    assert row_count(catalog) == 0 and row_count(catalog, "register_units") == 0


def test_a_crash_during_the_import_rolls_everything_back(catalog, tmp_path, monkeypatch):
    _seed(catalog, tmp_path)
    rows = [HEADERS_VI] + [
        ["", f"{XA}-240201-{i:04d}", "", "", "", "", XA, "Xã", "", "", "01/02/2024", "", "", "2"]
        for i in range(250)
    ]
    path = write_csv(tmp_path / "more.csv", rows)
    calls = []
    real = register._upsert_entries

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk unplugged")
        return real(*args, **kwargs)

    monkeypatch.setattr(register, "CHUNK", 100)
    monkeypatch.setattr(register, "_upsert_entries", failing)
    with pytest.raises(RuntimeError):
        import_register(catalog, path)
    assert len(calls) == 3 and row_count(catalog) == 3
    assert units(catalog) == sorted(EXPECTED_UNITS, key=lambda u: u.code)  # "Xã" not applied


# --- queries -----------------------------------------------------------------------------------


def test_entries_filter_in_sql_and_stream(catalog, tmp_path):
    _seed(catalog, tmp_path)
    stream = entries(catalog, units=[XA])
    assert iter(stream) is stream  # a generator, not a list
    assert [e.dossier_code for e in stream] == [C1, C3]
    assert [e.dossier_code for e in entries(catalog, units=[])] == []
    march = entries(catalog, received_from=date(2024, 3, 1), received_to=date(2024, 3, 15))
    assert [e.dossier_code for e in march] == [C1, C2]
    ended = entries(catalog, finished_from=date(2024, 3, 18), finished_to=date(2024, 4, 1))
    assert [e.dossier_code for e in ended] == [C1]
    both = entries(catalog, units={HUYEN, XA}, finished_to=date(2024, 12, 31))
    assert [e.dossier_code for e in both] == [C1, C3]  # C2 has no end date


def _record(catalog, record_id, code, *, unit, kind="thanh-phan", status="archived"):
    manifest = make_manifest(record_id, dossier_code=code, text="Tờ khai")
    _add(catalog, manifest.model_copy(update={"unit": unit, "kind": kind, "status": status}))


def test_digitised_index_and_mismatches(catalog, tmp_path):
    _seed(catalog, tmp_path)
    _record(catalog, "r1" * 8, C1, unit=XA)
    _record(catalog, "r2" * 8, C1, unit=XA, kind="ket-qua", status="needs_review")
    _record(catalog, "r3" * 8, C2, unit=XA)  # the register says the district
    _record(catalog, "r4" * 8, "H21.65-220914-0011", unit=XA)  # not in the register
    _record(catalog, "r5" * 8, "", unit="DEMO")  # no code read
    index = digitised_index(catalog)
    assert index == {
        C1: frozenset({"thanh-phan", "ket-qua"}),
        C2: frozenset({"thanh-phan"}),
        "H21.65-220914-0011": frozenset({"thanh-phan"}),
    }
    assert digitised_index(catalog, [C1, C3]) == {C1: frozenset({"thanh-phan", "ket-qua"})}
    assert digitised_index(catalog, []) == {}
    found = mismatches(catalog)
    assert [(r.record_id, r.dossier_code) for r in found.unregistered] == [
        ("r5" * 8, ""),
        ("r4" * 8, "H21.65-220914-0011"),
    ]
    assert [(m.dossier_code, m.register_unit, m.record_unit) for m in found.wrong_unit] == [
        (C2, HUYEN, XA)
    ]


def test_copy_register_carries_the_register_into_a_new_catalog(catalog, tmp_path):
    _seed(catalog, tmp_path)
    with Catalog(f"sqlite:///{tmp_path / 'new.sqlite'}") as fresh:
        assert copy_register(catalog, fresh) == 3
        assert stored(fresh) == EXPECTED and units(fresh) == units(catalog)


def test_large_xlsx_import_streams_every_row(catalog, tmp_path):
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    sheet.append(HEADERS_VI[1:])
    total = 20_000
    for i in range(total):
        unit = f"000.00.{i % 40:02d}.H56"
        code = f"{unit}-2403{i % 28 + 1:02d}-{i:05d}"
        day = date(2024, 3, i % 28 + 1)
        names = ["1.004616", "Khai sinh", "HT", "Hộ tịch", unit, f"Xã {i % 40}", "xa", HUYEN]
        sheet.append([code, *names, day, None, None, 2 + i % 9, 1 + i % 3, i % 2])
    path = tmp_path / "large.xlsx"
    book.save(path)
    result = import_register(catalog, path)
    assert (result.inserted, result.bad, result.units_inserted) == (total, 0, 40)
    assert row_count(catalog) == total
    assert sum(1 for _ in entries(catalog, units=["000.00.07.H56"])) == total // 40


# --- parsing details ---------------------------------------------------------------------------


def test_every_header_alias_names_one_field():
    owners: dict[str, str] = {}
    for name, aliases in FIELDS.items():
        for alias in aliases:
            assert normalise(alias) == alias, alias
            assert owners.setdefault(alias, name) == name, alias
    assert normalise("Ngày tiếp nhận (dd/mm/yyyy)") == "ngay tiep nhan"
    assert normalise("  MÃ_HỒ_SƠ ") == normalise("ma ho so") == "ma ho so"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/2024", date(2024, 3, 15)),
        ("5/3/2024", date(2024, 3, 5)),
        ("05-03-2024", date(2024, 3, 5)),
        ("2024-03-05", date(2024, 3, 5)),
        ("2024-03-05T08:30:00+07:00", date(2024, 3, 5)),
        ("05/03/2024 08:30:00 SA", date(2024, 3, 5)),
        ("08:30 05/03/2024", date(2024, 3, 5)),
        ("", None),
        (datetime(2024, 3, 5, 23, 59), date(2024, 3, 5)),
        (45356, date(2024, 3, 5)),
    ],
)
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["31/02/2024", "2024-13-01", "15/03/24", "hôm qua", "03/15/2024"])
def test_bad_dates_are_refused(text):
    from sohoa.errors import BadCellError

    with pytest.raises(BadCellError):
        parse_date(text)


# --- the CLI -----------------------------------------------------------------------------------


@pytest.fixture
def sohoa(tmp_path) -> Cli:
    """The real ``sohoa`` console script with its own data dir (no Prefect needed here)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(tmp_path / "data"), COLUMNS="200")
    assert SOHOA.exists()
    return Cli(tmp_path / "data", env)


def test_cli_import_and_check(sohoa, tmp_path):
    path = write_csv(tmp_path / "so.csv", [HEADERS_VI, *ROWS])
    done = sohoa("register", "import", str(path), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["inserted"] == 3
    done = sohoa("register", "import", str(path), lang="vi")
    assert done.returncode == 0 and "3 không đổi" in done.stdout
    clean = sohoa("register", "check")
    assert clean.returncode == 0, clean.stderr  # nothing to fix
    with Catalog(f"sqlite:///{sohoa.data_dir / 'catalog.sqlite'}") as catalog:
        _record(catalog, "r9" * 8, "H21.65-220914-0011", unit=XA)
        _record(catalog, "r8" * 8, C2, unit=XA)
    checked = sohoa("register", "check", "--json")
    assert checked.returncode == ExitCode.FINDINGS, checked.stderr  # scripts can tell
    found = json.loads(checked.stdout)
    assert [r["record_id"] for r in found["unregistered"]] == ["r9" * 8]
    assert found["wrong_unit"] == [
        {"dossier_code": C2, "register_unit": HUYEN, "record_unit": XA, "record_id": "r8" * 8}
    ]
    shown = sohoa("register", "check", lang="vi")
    assert "không có trong sổ đăng ký" in shown.stdout and C2 in shown.stdout
    assert shown.returncode == ExitCode.FINDINGS


def test_cli_reports_bad_rows_in_both_languages(sohoa, tmp_path):
    row = list(ROWS[0])
    row[10] = "31/02/2024"
    path = write_csv(tmp_path / "so.csv", [HEADERS_VI, row, ROWS[1]])
    done = sohoa("--lang", "en", "register", "import", str(path), lang="vi")
    assert done.returncode == ExitCode.BAD_INPUT
    assert "1 new dossiers" in done.stdout and "31/02/2024" in done.stdout
    assert "not a valid date" in done.stdout
    done = sohoa("register", "import", str(path), lang="vi")
    assert "không phải ngày hợp lệ" in done.stdout and "1 dòng lỗi" in done.stdout


def test_cli_refuses_an_empty_file_with_its_exit_code(sohoa, tmp_path):
    (tmp_path / "rong.csv").write_bytes(b"")
    done = sohoa("register", "import", str(tmp_path / "rong.csv"), lang="vi")
    assert done.returncode == ExitCode.BAD_INPUT
    assert "tệp rỗng" in done.stderr
    done = sohoa("--lang", "en", "register", "import", str(tmp_path / "rong.csv"), lang="vi")
    assert "empty" in done.stderr and done.returncode == ExitCode.BAD_INPUT
    with Catalog(f"sqlite:///{sohoa.data_dir / 'catalog.sqlite'}") as catalog:
        assert row_count(catalog) == 0
