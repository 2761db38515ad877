"""Turning the cells of a register export into dossiers and units, or into reasons a row is bad.

One-stop-shop systems write the same facts in many ways: dates as ``15/3/2024``,
``2024-03-15 08:30`` or real Excel dates; levels as "Cấp xã" or "huyen"; the
paper-result flag as có/không/x; statuses as codes or as their Vietnamese labels.
Each cell is parsed on its own so a bad row names the exact column and value,
and the row is left out while every good row is kept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError

from catalog.register_file import Table, normalise
from schemas.register import RegisterEntry, UnitLevel
from sohoa.errors import BadCellError

__all__ = ["BadRow", "ParsedRow", "UnitFacts", "parse_rows"]

MAX_CODE = {
    "dossier_code": 255,
    "unit": 64,
    "parent_unit": 64,
    "procedure_code": 128,
    "field_code": 128,
}
"""Column widths of the register tables (PostgreSQL enforces them, SQLite does not)."""

STATUS_LABELS: dict[str, int] = {
    "moi dang ky": 1,
    "duoc tiep nhan": 2,
    "da tiep nhan": 2,
    "khong duoc tiep nhan": 3,
    "dang xu ly": 4,
    "yeu cau bo sung": 5,
    "nghia vu tai chinh": 6,
    "cong dan rut ho so": 7,
    "rut ho so": 7,
    "dung xu ly": 8,
    "da xu ly xong": 9,
    "da tra ket qua": 10,
}
"""Status labels of domain.md, folded, for exports that write words instead of codes."""

CHANNEL_LABELS: dict[str, int] = {
    "truc tiep": 1,
    "truc tuyen": 2,
    "online": 2,
    "buu chinh": 3,
    "buu chinh cong ich": 3,
    "dich vu buu chinh cong ich": 3,
}

LEVELS: dict[str, UnitLevel] = {
    "tinh": "tinh",
    "province": "tinh",
    "so": "so",
    "so ban nganh": "so",
    "ban nganh": "so",
    "department": "so",
    "huyen": "huyen",
    "quan": "huyen",
    "thi xa": "huyen",
    "district": "huyen",
    "xa": "xa",
    "phuong": "xa",
    "thi tran": "xa",
    "commune": "xa",
    "ward": "xa",
}
"""Folded level words; "thành phố" is left out on purpose (a city can be tỉnh or huyện)."""

YES = frozenset({"co", "c", "yes", "y", "x", "1", "true", "dung", "giay", "ban giay"})
NO = frozenset({"khong", "k", "no", "n", "0", "false", "sai", "dien tu", "ban dien tu"})

_TIME = re.compile(
    r"(?:T|\s)*\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:AM|PM|SA|CH)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})")
_EXCEL_SERIAL = (1.0, 2958466.0)
"""Numbers Excel can show as a date (1900-01-01 .. 9999-12-31)."""


@dataclass(frozen=True)
class BadRow:
    """One problem that kept a row out of the register."""

    line: int
    """Line the user sees in the spreadsheet or editor (header on line 1 when it is first)."""
    reason: str
    """Code: ``missing``, ``bad_date``, ``bad_status``, ``bad_channel``, ``bad_level``,
    ``bad_paper_result``, ``too_long``, ``duplicate`` or ``invalid``."""
    column: str = ""
    """The column's header as written in the file."""
    value: str = ""
    """The offending cell's text (register cells hold no personal data)."""
    first_line: int | None = None
    """For ``duplicate``: the line where the dossier code first appeared."""

    def render(self, lang: str | None = None) -> str:
        """The problem as one sentence in ``lang`` (vi/en)."""
        from sohoa.messages import message

        params = {"line": self.line, "column": self.column, "value": self.value}
        return message(f"register_row_{self.reason}", lang, first=self.first_line, **params)


@dataclass(frozen=True)
class UnitFacts:
    """What one row says about its unit; ``None`` where the file does not say."""

    code: str
    name: str | None = None
    level: UnitLevel | None = None
    parent: str | None = None


@dataclass(frozen=True)
class ParsedRow:
    """A good row: its dossier and what it says about the unit."""

    line: int
    entry: RegisterEntry
    unit: UnitFacts


def cell_text(value: Any) -> str:
    """The text of a cell: NFC, trimmed; whole floats without ``.0`` (Excel numbers)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return unicodedata.normalize("NFC", str(value)).strip()


def parse_date(value: Any) -> date | None:
    """A date from an Excel date cell or serial number, ``d/m/yyyy`` or ISO, any time part dropped.

    The date is taken as written (local time); a time zone suffix is ignored.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not _EXCEL_SERIAL[0] <= value < _EXCEL_SERIAL[1]:
            raise BadCellError("bad_date")
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()
    text = cell_text(value)
    if not text:
        return None
    rest = _TIME.sub("", text, count=1).strip()
    found = _DMY.fullmatch(rest)
    parts = (found.group(3), found.group(2), found.group(1)) if found else None
    if parts is None and (found := _YMD.fullmatch(rest)):
        parts = found.groups()
    if parts is None:
        raise BadCellError("bad_date")
    year, month, day = (int(p) for p in parts)
    if not 1900 <= year <= 2100:
        raise BadCellError("bad_date")
    try:
        return date(year, month, day)
    except ValueError:
        raise BadCellError("bad_date") from None


def _small_int(value: Any, labels: dict[str, int], low: int, high: int, reason: str) -> int | None:
    """An integer code in ``low..high`` (``10``, ``10.0``) or one of its folded labels."""
    text = cell_text(value)
    if not text:
        return None
    number: int | None = None
    if re.fullmatch(r"\d+(?:\.0+)?", text):
        number = int(float(text))
    else:
        number = labels.get(normalise(text))
    if number is None or not low <= number <= high:
        raise BadCellError(reason)
    return number


def parse_status(value: Any) -> int | None:
    """Trạng thái 1–10, as a code or its label ("Đã trả kết quả")."""
    return _small_int(value, STATUS_LABELS, 1, 10, "bad_status")


def parse_channel(value: Any) -> int | None:
    """Kênh 1–3, as a code or its label ("Trực tuyến")."""
    return _small_int(value, CHANNEL_LABELS, 1, 3, "bad_channel")


def parse_paper(value: Any) -> bool:
    """có/không, yes/no, 1/0, x; a blank cell means paper (it never inflates a rate)."""
    if isinstance(value, bool):
        return value
    text = normalise(cell_text(value))
    if not text:
        return True
    if text in YES:
        return True
    if text in NO:
        return False
    raise BadCellError("bad_paper_result")


def parse_level(value: Any) -> UnitLevel | None:
    """Cấp: "Tỉnh", "huyen", "Cấp xã", "Sở, ban, ngành"…"""
    text = normalise(cell_text(value))
    if not text:
        return None
    text = text.removeprefix("cap ").strip()
    level = LEVELS.get(text)
    if level is None:
        raise BadCellError("bad_level")
    return level


_PARSERS = {
    "received_on": parse_date,
    "due_on": parse_date,
    "finished_on": parse_date,
    "status": parse_status,
    "channel": parse_channel,
    "paper_result": parse_paper,
    "unit_level": parse_level,
}


def _read_cells(line: int, cells: tuple[Any, ...], table: Table) -> tuple[dict, list[BadRow]]:
    """Parse every known column of one row; collect one :class:`BadRow` per bad cell."""
    values: dict[str, Any] = {}
    problems: list[BadRow] = []
    failed: set[str] = set()
    for name, index in table.header.columns.items():
        raw = cells[index] if index < len(cells) else None
        column = table.header.names[name]
        try:
            parser = _PARSERS.get(name)
            value = parser(raw) if parser else (cell_text(raw) or None)
        except BadCellError as bad:
            problems.append(BadRow(line, bad.reason, column, cell_text(raw)))
            failed.add(name)
            continue
        if isinstance(value, str) and len(value) > MAX_CODE.get(name, 10_000):
            problems.append(BadRow(line, "too_long", column, value[:40] + "…"))
            failed.add(name)
            continue
        values[name] = value
    for name in ("dossier_code", "unit", "status"):
        if name not in failed and values.get(name) is None:
            problems.append(BadRow(line, "missing", table.header.names[name]))
    return values, problems


def _build(line: int, values: dict[str, Any]) -> ParsedRow:
    """Make the frozen entry and the unit facts of a row whose cells all parsed."""
    unit = values["unit"]
    parent = values.get("parent_unit")
    facts = UnitFacts(
        code=unit,
        name=values.get("unit_name"),
        level=values.get("unit_level"),
        parent=parent if parent != unit else None,
    )
    fields = {k: v for k, v in values.items() if k in RegisterEntry.model_fields}
    if fields.get("paper_result") is None:
        fields.pop("paper_result", None)
    return ParsedRow(line, RegisterEntry(**fields), facts)


def parse_rows(table: Table) -> Iterator[ParsedRow | BadRow]:
    """Every non-blank row below the header: a :class:`ParsedRow`, or its :class:`BadRow` s.

    A dossier code seen earlier in the same file makes the later row bad
    (``duplicate``): an export lists each dossier once, so a repeat is a mistake
    to show, not a silent overwrite.
    """
    seen: dict[str, int] = {}
    code_column = table.header.names["dossier_code"]
    for line, cells in table.rows:
        if not any(cell_text(c) for c in cells):
            continue
        values, problems = _read_cells(line, cells, table)
        code = values.get("dossier_code")
        if not problems and code in seen:
            problems.append(BadRow(line, "duplicate", code_column, code, first_line=seen[code]))
        if problems:
            yield from problems
            continue
        try:
            parsed = _build(line, values)
        except ValidationError as exc:
            yield BadRow(line, "invalid", "", str(exc.errors()[0].get("msg", ""))[:200])
            continue
        seen[code] = line
        yield parsed
