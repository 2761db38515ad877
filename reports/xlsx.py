"""The report as an Excel workbook laid out for printing (openpyxl).

Offices print this and attach it to their monthly report, so the sheet carries
its own title (unit, period), a bold frozen header repeated on every printed
page, real numbers (rates as percentages, so Excel shows the decimal mark of the
machine's locale), a bold totals row, footnotes, and a landscape page fitted to
the paper's width.

Every text cell is written through :func:`reports.cells.put_text`: unit and procedure names
come from outside, and openpyxl would make a live formula of one starting with ``=``.
"""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.cells import put_text
from reports.layout import (
    NA,
    Column,
    Lang,
    columns,
    fmt_met,
    group_columns,
    label,
    notes,
    period_text,
    title,
    value_columns,
)
from schemas.report import Report, ReportRow

HEADER_ROW = 4
"""Row of the column headers: title, period and a blank line come first."""

PERCENT = "0.00%"
POINTS = "0.00"
_WIDTHS = {"code": 20, "name": 36, "level": 10, "depth": 6}
_THIN = Side(style="thin", color="808080")
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
_NOT_MET = Font(color="C00000")


def to_xlsx(report: Report, lang: Lang) -> bytes:
    """The workbook's bytes: the report sheet, then a sheet with the monthly trend."""
    book = Workbook()
    sheet = book.active
    sheet.title = label("sheet_report", lang)
    _write_sheet(sheet, report, columns(report, lang), list(report.rows), lang)
    trend = book.create_sheet(label("sheet_trend", lang))
    monthly = report.model_copy(update={"by": "month"})
    trend_cols = group_columns("month", lang) + value_columns(report, lang)
    _write_sheet(trend, monthly, trend_cols, list(report.trend), lang)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _write_sheet(
    sheet: Worksheet, report: Report, cols: list[Column], rows: list[ReportRow], lang: Lang
) -> None:
    put_text(sheet["A1"], title(report, lang))
    sheet["A1"].font = Font(bold=True, size=14)
    put_text(sheet["A2"], period_text(report, lang))
    sheet["A2"].font = Font(italic=True)
    for index, column in enumerate(cols, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=index)
        put_text(cell, column.header)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        cell.border = Border(top=_THIN, bottom=_THIN, left=_THIN, right=_THIN)
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column.key, 12)
    sheet.row_dimensions[HEADER_ROW].height = 45
    line = HEADER_ROW
    for row in rows:
        line += 1
        _write_row(sheet, line, cols, row, lang, total=False)
    line += 1
    _write_row(sheet, line, cols, report.totals, lang, total=True)
    for offset, note in enumerate(notes(report, lang), start=2):
        cell = sheet.cell(row=line + offset, column=1)
        put_text(cell, note)
        cell.font = Font(italic=True, size=9)
    _page_setup(sheet, len(cols), line)


def _write_row(
    sheet: Worksheet, line: int, cols: list[Column], row: ReportRow, lang: Lang, *, total: bool
) -> None:
    for index, column in enumerate(cols, start=1):
        cell = sheet.cell(row=line, column=index)
        if total and column.key in ("code", "name", "level", "depth"):
            put_text(cell, label("total", lang) if column.key == "name" else None)
        else:
            _set_value(cell, column, column.get(row), lang)
        if column.key == "name" and not total and row.depth:
            cell.alignment = Alignment(indent=min(row.depth * 2, 15))
        if total:
            cell.font = Font(bold=True)
            cell.border = Border(top=_THIN, bottom=Side(style="double"))


def _set_value(cell, column: Column, value, lang: Lang) -> None:
    """Numbers stay numbers (rates as fractions of 1 in a percent format); text is text.

    N/A, the assessment and the naming columns go through :func:`put_text`.
    """
    if column.kind in ("rate", "points"):
        if value is None:
            put_text(cell, NA)
        else:
            cell.value = value / Decimal(100) if column.kind == "rate" else value
        cell.number_format = PERCENT if column.kind == "rate" else POINTS
        cell.alignment = Alignment(horizontal="right")
    elif column.kind == "met":
        put_text(cell, fmt_met(value, lang))
        if value is False:
            cell.font = _NOT_MET
    elif column.kind == "text":
        put_text(cell, value)
    else:
        cell.value = value


def _page_setup(sheet: Worksheet, width: int, last_row: int) -> None:
    """Landscape A4, fitted to one page wide, header row repeated, panes frozen under it."""
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1)
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.print_area = f"A1:{get_column_letter(width)}{last_row + 3}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = "&P / &N"
