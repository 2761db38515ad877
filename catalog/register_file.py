"""Reading one-stop-shop register exports (CSV or XLSX) into rows of cells with line numbers.

Offices export the register from different one-stop-shop systems, with or without
diacritics in the headers, sometimes with a title above the header, as UTF-8,
Windows-1258 or UTF-16 text, or as an Excel workbook. This module only finds the
header and streams the rows; :mod:`catalog.register_rows` turns cells into
:class:`schemas.register.RegisterEntry` values and :mod:`catalog.register` stores them.

Everything that makes the whole file unusable (empty, no header, corrupt or
encrypted workbook, binary junk) is raised here as a domain error *before* any
row is written. Line numbers are those a user sees: the spreadsheet's row number,
or the physical line in a text editor (a quoted cell spanning lines counts them all).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tomllib
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sohoa.errors import BadInputError, ConfigError, EncryptedInputError, NotFoundError
from sohoa.textfold import fold

__all__ = [
    "FIELDS",
    "REQUIRED",
    "Header",
    "Table",
    "load_mapping",
    "normalise",
    "open_table",
]

FIELDS: dict[str, tuple[str, ...]] = {
    # our field: header aliases, already normalised (folded, punctuation as single spaces)
    "dossier_code": ("ma ho so", "ma hs", "so ho so", "ma so ho so", "dossier code"),
    "procedure_code": ("ma tthc", "ma thu tuc", "ma thu tuc hanh chinh", "procedure code"),
    "procedure_name": (
        "ten tthc",
        "ten thu tuc",
        "ten thu tuc hanh chinh",
        "thu tuc hanh chinh",
        "thu tuc",
        "procedure name",
    ),
    "field_code": ("ma linh vuc", "field code"),
    "field_name": ("ten linh vuc", "linh vuc", "field name"),
    "unit": (
        "ma don vi",
        "ma co quan",
        "ma don vi tiep nhan",
        "ma co quan tiep nhan",
        "unit",
        "unit code",
    ),
    "unit_name": (
        "ten don vi",
        "don vi",
        "ten co quan",
        "co quan",
        "don vi tiep nhan",
        "co quan tiep nhan",
        "unit name",
    ),
    "unit_level": ("cap", "cap don vi", "cap hanh chinh", "cap co quan", "unit level", "level"),
    "parent_unit": (
        "ma don vi cap tren",
        "don vi cap tren",
        "ma don vi cha",
        "ma co quan cap tren",
        "co quan cap tren",
        "parent unit",
        "parent",
    ),
    "received_on": ("ngay tiep nhan", "ngay nhan", "thoi gian tiep nhan", "received on"),
    "due_on": ("ngay hen tra", "ngay hen tra ket qua", "hen tra", "thoi gian hen tra", "due on"),
    "finished_on": (
        "ngay ket thuc xu ly",
        "ngay ket thuc",
        "thoi gian ket thuc xu ly",
        "ngay xu ly xong",
        "ngay hoan thanh",
        "finished on",
    ),
    "status": ("trang thai", "ma trang thai", "trang thai ho so", "status"),
    "channel": ("kenh", "kenh thuc hien", "kenh nop", "hinh thuc nop", "channel"),
    "paper_result": (
        "ket qua giay",
        "ket qua ban giay",
        "ket qua la giay",
        "ket qua la ban giay",
        "ket qua la van ban giay",
        "kq giay",
        "paper result",
    ),
}
"""Every column the import understands. Our own field names (``dossier_code``,
``MA_HO_SO``…) match too, since underscores normalise to spaces."""

REQUIRED = ("dossier_code", "unit", "status")
"""Columns without which no :class:`schemas.register.RegisterEntry` can be built."""

LABELS: dict[str, str] = {
    "dossier_code": "Mã hồ sơ",
    "procedure_code": "Mã TTHC",
    "procedure_name": "Tên TTHC",
    "field_code": "Mã lĩnh vực",
    "field_name": "Tên lĩnh vực",
    "unit": "Mã đơn vị",
    "unit_name": "Tên đơn vị",
    "unit_level": "Cấp",
    "parent_unit": "Đơn vị cấp trên",
    "received_on": "Ngày tiếp nhận",
    "due_on": "Ngày hẹn trả",
    "finished_on": "Ngày kết thúc xử lý",
    "status": "Trạng thái",
    "channel": "Kênh",
    "paper_result": "Kết quả giấy",
}
"""The usual Vietnamese header of each field, for messages about missing columns."""

HEADER_SCAN_ROWS = 30
"""How far down a title block may push the header row."""
SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_XLSX_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zlib.error,
    SyntaxError,  # xml.etree's ParseError
    KeyError,
    ValueError,
    TypeError,
    EOFError,
    OSError,
)
"""What openpyxl lets through on a damaged workbook (its own errors subclass these)."""


def normalise(header: Any) -> str:
    """Fold a header for matching: no case, no diacritics, no units in brackets, single spaces.

    "Ngày tiếp nhận (dd/mm/yyyy)", "NGAY_TIEP_NHAN" and "ngày  tiếp nhận" all become
    ``"ngay tiep nhan"``; Windows-1258 text (decomposed tone marks) folds the same.
    """
    text = unicodedata.normalize("NFC", "" if header is None else str(header))
    folded = "".join(c for c in fold(_PARENS.sub(" ", text)) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", folded).strip()


# --- the mapping file ------------------------------------------------------------------------


def load_mapping(path: Path | str) -> dict[str, tuple[str, ...]]:
    """Read a TOML mapping ``our field = "their header"`` (or a list of headers).

    The keys may sit at the top level or under ``[columns]``. Why a file: the
    aliases cover the exports we know; any other system's export can be read by
    naming its columns once, without a code change.

    Raises:
        NotFoundError: the mapping file does not exist.
        ConfigError: it is not TOML, names an unknown field, or a value is not text.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(key="register_file_missing", file=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(key="register_mapping_invalid", file=path.name, reason=str(exc)) from exc
    table = data.get("columns", data)
    mapping: dict[str, tuple[str, ...]] = {}
    for name, value in table.items():
        if name not in FIELDS:
            known = ", ".join(FIELDS)
            raise ConfigError(key="register_mapping_field", file=path.name, field=name, known=known)
        headers = [value] if isinstance(value, str) else value
        if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
            reason = f"{name}: expected a column name or a list of column names"
            raise ConfigError(key="register_mapping_invalid", file=path.name, reason=reason)
        mapping[name] = tuple(normalise(h) for h in headers if normalise(h))
    return mapping


# --- header ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """The header row and which column holds which field."""

    line: int
    """Line (spreadsheet row) of the header, 1-based."""
    columns: Mapping[str, int]
    """Our field name -> 0-based column index."""
    names: Mapping[str, str]
    """Our field name -> the header text as written in the file."""
    ignored: tuple[str, ...] = ()
    """Non-empty headers that matched no field (shown so a user can write a mapping)."""


def _match_header(
    line: int, cells: tuple[Any, ...], mapping: Mapping[str, tuple[str, ...]]
) -> Header | None:
    """Read ``cells`` as a header; ``None`` unless it names the dossier code and another field."""
    aliases = {alias: name for name, names in FIELDS.items() for alias in names}
    aliases.update({name.replace("_", " "): name for name in FIELDS})
    explicit = {alias: name for name, names in mapping.items() for alias in names}
    columns: dict[str, int] = {}
    names: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        key = normalise(cell)
        if not key:
            continue
        name = explicit.get(key)
        if name is None and aliases.get(key) not in mapping:
            name = aliases.get(key)
        if name is None or name in columns:
            ignored.append(str(cell).strip())
            continue
        columns[name], names[name] = index, str(cell).strip()
    if "dossier_code" not in columns or len(columns) < 2:
        return None
    return Header(line=line, columns=columns, names=names, ignored=tuple(ignored))


def _check_header(header: Header, mapping: Mapping[str, tuple[str, ...]], file: str) -> None:
    """Refuse a header that lacks a required column or a column the mapping promised."""
    absent = [name for name in mapping if mapping[name] and name not in header.columns]
    if absent:
        wanted = ", ".join(f"{name} = {' | '.join(mapping[name])}" for name in absent)
        raise BadInputError(key="register_mapping_column", file=file, columns=wanted)
    missing = [name for name in REQUIRED if name not in header.columns]
    if missing:
        columns = ", ".join(f"{LABELS[name]} ({name})" for name in missing)
        raise BadInputError(key="register_missing_columns", file=file, columns=columns)


def _find_header(
    rows: Iterator[tuple[int, tuple[Any, ...]]], mapping: Mapping[str, tuple[str, ...]]
) -> tuple[Header | None, bool]:
    """Consume ``rows`` up to and including the header; return it and whether any cell had text."""
    seen_text = False
    for count, (line, cells) in enumerate(rows):
        if count >= HEADER_SCAN_ROWS:
            break
        if any(normalise(c) for c in cells):
            seen_text = True
        header = _match_header(line, cells, mapping)
        if header is not None:
            return header, True
    return None, seen_text


# --- the table -------------------------------------------------------------------------------


@dataclass
class Table:
    """An opened export: where the header is, and an iterator over the rows below it."""

    file: str
    """The file's name (no directory)."""
    format: str
    """``csv`` or ``xlsx``."""
    header: Header
    rows: Iterator[tuple[int, tuple[Any, ...]]]
    """``(line, cells)`` of every row after the header, blank ones included."""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


@contextmanager
def open_table(path: Path, mapping: Mapping[str, tuple[str, ...]] | None = None) -> Iterator[Table]:
    """Open a CSV or XLSX register export, find its header and stream its rows.

    The format is recognised from the bytes, not the name, so a workbook saved as
    ``.csv`` or a CSV named ``.xlsx`` is still read.

    Raises:
        NotFoundError: ``path`` does not exist.
        BadInputError: empty, no recognisable header, missing required columns, not a table,
            corrupt workbook, or a legacy ``.xls`` file.
        EncryptedInputError: a password-protected workbook.
    """
    path = Path(path)
    if not path.is_file():
        raise NotFoundError(key="register_file_missing", file=str(path))
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise BadInputError(key="register_empty", file=path.name)
    if head.startswith(_OLE_MAGIC):
        _refuse_ole(path)
    opener = _open_xlsx if head.startswith(_ZIP_MAGIC) else _open_csv
    with opener(path, mapping or {}) as table:
        yield table


def _refuse_ole(path: Path) -> None:
    """An OLE2 file is a password-protected workbook or an old ``.xls``: say which."""
    with path.open("rb") as handle:
        data = handle.read(4 * 1024 * 1024)
    if "EncryptionInfo".encode("utf-16-le") in data:
        raise EncryptedInputError(key="register_encrypted", file=path.name)
    raise BadInputError(key="register_xls", file=path.name)


def _no_header(path: Path, seen_text: bool) -> BadInputError:
    key = "register_no_header" if seen_text else "register_empty"
    return BadInputError(key=key, file=path.name)


# --- XLSX ------------------------------------------------------------------------------------


def _sheet_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """Rows of a read-only sheet with their spreadsheet row numbers (openpyxl pads gaps)."""
    sheet.reset_dimensions()  # some exporters write a wrong <dimension>; never trust it
    for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield line, tuple(cells)


def _guarded(rows: Iterator[tuple[int, tuple[Any, ...]]], file: str) -> Iterator:
    """Turn a workbook that breaks half-way through into a domain error."""
    try:
        yield from rows
    except _XLSX_ERRORS as exc:
        raise BadInputError(key="register_corrupt", file=file, reason=_reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


@contextmanager
def _open_xlsx(path: Path, mapping: Mapping[str, tuple[str, ...]]) -> Iterator[Table]:
    """Open a workbook read-only (streaming) and use the first sheet that has a header."""
    from openpyxl import load_workbook

    with path.open("rb") as handle:  # a file object: openpyxl then ignores the extension
        try:
            book = load_workbook(handle, read_only=True, data_only=True)
        except _XLSX_ERRORS as exc:
            raise BadInputError(
                key="register_corrupt", file=path.name, reason=_reason(exc)
            ) from exc
        try:
            seen_text = False
            for sheet in book.worksheets:
                rows = _guarded(_sheet_rows(sheet), path.name)
                header, text = _find_header(rows, mapping)
                seen_text = seen_text or text
                if header is not None:
                    _check_header(header, mapping, path.name)
                    yield Table(path.name, "xlsx", header, rows, sheet=sheet.title)
                    return
            raise _no_header(path, seen_text)
        finally:
            book.close()


# --- CSV -------------------------------------------------------------------------------------


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes strictly (streamed in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as handle:
        try:
            while chunk := handle.read(1024 * 1024):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _encoding(path: Path) -> str:
    """Pick the text encoding: BOM, else UTF-16 by its NUL bytes, else UTF-8, else Windows-1258.

    Raises:
        BadInputError: binary content (not a text table).
    """
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        half = len(sample) // 4
        if sample[1::2].count(0) > half and sample[0::2].count(0) == 0:
            return "utf-16-le"
        if sample[0::2].count(0) > half and sample[1::2].count(0) == 0:
            return "utf-16-be"
        raise BadInputError(key="register_not_table", file=path.name)
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\r\n\x1a")
    if controls > len(sample) // 100:
        raise BadInputError(key="register_not_table", file=path.name)
    for encoding in ("utf-8", "cp1258"):
        if _decodes(path, encoding):
            return encoding
    raise BadInputError(key="register_not_table", file=path.name)


def _csv_rows(lines: Any, delimiter: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """CSV records with the editor line on which each one starts."""
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    for record in reader:
        yield start, tuple(record)
        start = reader.line_num + 1


def _delimiter(sample: str, mapping: Mapping[str, tuple[str, ...]]) -> tuple[str, Header | None]:
    """The delimiter under which the sample has the fullest header (the sniffer's guess first)."""
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = ","
    best: tuple[str, Header | None] = (guess, None)
    for delimiter in dict.fromkeys(guess + DELIMITERS):
        try:
            header, _ = _find_header(_csv_rows(io.StringIO(sample), delimiter), mapping)
        except csv.Error:
            continue
        if header is not None and (best[1] is None or len(header.columns) > len(best[1].columns)):
            best = (delimiter, header)
    return best


@contextmanager
def _open_csv(path: Path, mapping: Mapping[str, tuple[str, ...]]) -> Iterator[Table]:
    """Open a delimited text export: encoding and delimiter detected, header found."""
    encoding = _encoding(path)
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(SAMPLE_BYTES)
        if len(sample) == SAMPLE_BYTES and "\n" in sample:
            sample = sample[: sample.rindex("\n") + 1]  # do not judge a cut-off last line
    if not sample.strip().strip("\ufeff"):
        raise BadInputError(key="register_empty", file=path.name)
    delimiter, header = _delimiter(sample, mapping)
    if header is None:
        raise _no_header(path, seen_text=True)
    _check_header(header, mapping, path.name)
    with path.open(encoding=encoding, newline="") as handle:
        rows = _csv_rows(handle, delimiter)
        for line, _ in rows:  # skip to the header found in the sample
            if line == header.line:
                break
        yield Table(
            path.name,
            "csv",
            header,
            _guarded_text(rows, path.name),
            encoding=encoding,
            delimiter=delimiter,
        )


def _guarded_text(rows: Iterator[tuple[int, tuple[Any, ...]]], file: str) -> Iterator:
    """A text file that stops decoding or parsing half-way is a bad file, not a crash."""
    try:
        yield from rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadInputError(key="register_corrupt", file=file, reason=_reason(exc)) from exc
