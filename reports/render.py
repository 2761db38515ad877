"""A computed report as bytes: terminal table, CSV, JSON, XLSX or HTML, in Vietnamese or English.

:func:`render` is the one entry point the CLI and the nightly flow share; the
heavier formats live in :mod:`reports.xlsx` and :mod:`reports.html` and are
imported only when asked for.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

from reports.cells import csv_text
from reports.layout import (
    Column,
    Lang,
    columns,
    fmt_cell,
    fmt_int,
    fmt_met,
    fmt_points,
    fmt_rate,
    group_columns,
    label,
    notes,
    period_text,
    row_name,
    title,
)
from schemas.report import INDICATORS, SCORED, IndicatorName, Report, ReportRow

Format = Literal["table", "csv", "json", "xlsx", "html"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json", "xlsx", "html")
"""Every format :func:`render` knows."""

FILE_ONLY: frozenset[str] = frozenset({"xlsx", "html"})
"""Formats meant to be opened or printed as files, never dumped on a terminal."""

TABLE_WIDTH = 160
"""Columns of the plain-text table written to a file (a terminal uses its own width)."""


def render(report: Report, fmt: str, lang: str = "vi") -> bytes:
    """The report as the bytes of a file in ``fmt``.

    Args:
        report: the computed report.
        fmt: one of :data:`FORMATS`.
        lang: ``vi`` or ``en`` (JSON is language-neutral and ignores it).

    Raises:
        ValueError: unknown format or language.
    """
    if lang not in ("vi", "en"):
        raise ValueError(f"unknown language {lang!r} (vi, en)")
    if fmt == "table":
        return table_text(report, lang).encode("utf-8")
    if fmt == "csv":
        return to_csv(report, lang)
    if fmt == "json":
        return to_json(report)
    if fmt == "xlsx":
        from reports.xlsx import to_xlsx

        return to_xlsx(report, lang)
    if fmt == "html":
        from reports.html import to_html

        return to_html(report, lang).encode("utf-8")
    raise ValueError(f"unknown report format {fmt!r} ({', '.join(FORMATS)})")


def to_csv(report: Report, lang: Lang) -> bytes:
    """CSV in UTF-8 with a BOM (so Excel reads the Vietnamese letters right), comma-separated.

    Values are formatted as people read them in ``lang`` (``86,30%``, ``Đạt``); a
    field holding the decimal comma is quoted, so the csv module and Excel's import
    read it back whole. Text fields (codes and names from outside) go through
    :func:`reports.cells.csv_text`, so none can start a formula. The last line is the
    totals row.
    """
    cols = columns(report, lang)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_text(c.header) for c in cols])
    for row in report.rows:
        writer.writerow(_csv_row(cols, row, lang))
    writer.writerow(_csv_row(cols, report.totals, lang, total=True))
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def _csv_row(cols: list[Column], row: ReportRow, lang: Lang, *, total: bool = False) -> list[str]:
    """One CSV line: text cells made inert, numbers as they are (a count stays a number)."""
    cells = [(c, fmt_cell(c, row, lang, total=total)) for c in cols]
    return [csv_text(text) if c.kind == "text" else text for c, text in cells]


def to_json(report: Report) -> bytes:
    """The report as JSON: counts as numbers, rates and points as decimal strings.

    Rates are strings (``"86.30"``, always a decimal point) so the two rounded
    decimals survive exactly; N/A is ``null``; ``met`` is ``true``/``false``/``null``.
    Keys are English; the shape is :class:`schemas.report.Report`'s.
    """
    data = report.model_dump(mode="json")
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _scored_cell(row: ReportRow, name: IndicatorName, lang: Lang) -> Text:
    ind = row.indicator(name)
    text = Text(fmt_rate(ind.rate, lang))
    if name in SCORED and ind.rate is not None:
        text.append(f"\n{fmt_points(ind.points, lang)} · ")
        text.append(fmt_met(ind.met, lang), style="green" if ind.met else "bold red")
    return text


def rich_table(report: Report, lang: Lang) -> Table:
    """A compact terminal table: one column per indicator (rate · points · assessment)."""
    table = Table(title=f"{title(report, lang)}\n{period_text(report, lang)}", show_footer=False)
    (name_column,) = [c for c in group_columns(report.by, lang) if c.key == "name"]
    table.add_column(name_column.header)
    if report.by == "unit":
        table.add_column(label("col_unit_code", lang), no_wrap=True)
    table.add_column(label("col_received", lang), justify="right")
    table.add_column(label("col_solved", lang), justify="right")
    for name in INDICATORS:
        table.add_column(label(f"rate_{name}", lang), justify="right")
    for row in report.rows:
        _add_row(table, report, row, lang)
    table.add_section()
    _add_row(table, report, report.totals, lang, total=True)
    return table


def _add_row(table: Table, report: Report, row: ReportRow, lang: Lang, *, total=False) -> None:
    name = label("total", lang) if total else "  " * row.depth + row_name(row, report.by, lang)
    cells: list[str | Text] = [Text(name, style="bold" if total else "")]
    if report.by == "unit":
        cells.append("" if total else row.key)
    cells += [fmt_int(row.counts.received, lang), fmt_int(row.counts.solved, lang)]
    cells += [_scored_cell(row, name, lang) for name in INDICATORS]
    table.add_row(*cells)


def table_text(report: Report, lang: Lang, *, width: int = TABLE_WIDTH) -> str:
    """The terminal table as plain text (no colours), with the footnotes."""
    console = Console(
        file=io.StringIO(), width=width, color_system=None, force_terminal=False, record=True
    )
    console.print(rich_table(report, lang))
    for note in notes(report, lang):
        console.print(note, highlight=False)
    return console.export_text()
