"""What every report format shows: labels (vi/en), columns and the number/date formats.

Kept in one place so the table, CSV, XLSX and HTML say the same thing in the same
words. The labels themselves are the ``report_*`` keys of the one message catalogue
(``sohoa/messages.toml``); they belong to the report document, not to the CLI (the
nightly flow renders reports without a terminal), hence their own prefix.
Vietnamese uses a decimal comma and ``dd/mm/yyyy`` (86,30%); English a decimal point
and ISO dates (86.30%, 2024-03-05).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from schemas.report import GroupBy, IndicatorName, Report, ReportRow
from sohoa import messages

Lang = Literal["vi", "en"]
CellKind = Literal["text", "int", "rate", "points", "met"]

NA = "N/A"
"""Shown for a rate, points or assessment whose denominator is 0 (both languages)."""


def label(key: str, lang: Lang, **params: Any) -> str:
    """The report label ``key`` in ``lang``, with ``params`` substituted.

    The texts are the catalogue's ``report_*`` keys (``sohoa/messages.toml``): ``title``
    reads ``report_title``.
    """
    return messages.text(f"report_{key}", lang, **params)


def _number(value: Decimal, lang: Lang) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if lang == "vi" else text


def fmt_rate(rate: Decimal | None, lang: Lang) -> str:
    """``86,30%`` (vi) / ``86.30%`` (en); N/A for no denominator."""
    return NA if rate is None else f"{_number(rate, lang)}%"


def fmt_points(points: Decimal | None, lang: Lang) -> str:
    """Points with two decimals in the language's decimal mark; N/A when not assessed."""
    return NA if points is None else _number(points, lang)


def fmt_max(value: Decimal, lang: Lang) -> str:
    """A maximum as written in headers: ``8`` or ``7,5``."""
    text = format(value.normalize(), "f")
    return text.replace(".", ",") if lang == "vi" else text


def fmt_met(met: bool | None, lang: Lang) -> str:
    """Đạt / Không đạt (Met / Not met); N/A when the rate is N/A."""
    return NA if met is None else label("met" if met else "not_met", lang)


def fmt_day(day: date, lang: Lang) -> str:
    """``05/03/2024`` (vi) or ``2024-03-05`` (en)."""
    return day.strftime("%d/%m/%Y") if lang == "vi" else day.isoformat()


def fmt_month(key: str, lang: Lang) -> str:
    """A ``yyyy-mm`` key as ``03/2024`` (vi) or ``2024-03`` (en)."""
    year, month = key.split("-")
    return f"{month}/{year}" if lang == "vi" else key


def fmt_int(value: int, lang: Lang) -> str:
    """Counts with a thousands separator (``.`` in Vietnamese, ``,`` in English)."""
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "vi" else text


def row_name(row: ReportRow, by: GroupBy, lang: Lang) -> str:
    """What names a row for people: its label, a formatted day/month, or (không rõ)."""
    if by == "day" and row.key:
        return fmt_day(date.fromisoformat(row.key), lang)
    if by == "month" and row.key:
        return fmt_month(row.key, lang)
    return row.label or row.key or label("unknown", lang)


def level_name(row: ReportRow, lang: Lang) -> str:
    """Tỉnh / Sở / Huyện / Xã of a unit row, empty when the register does not say."""
    return label(f"level_{row.unit_level}", lang) if row.unit_level else ""


@dataclass(frozen=True)
class Column:
    """One report column: a header and how to read its value from a row."""

    key: str
    """Stable machine name (the CSV/XLSX test and the HTML class use it)."""
    header: str
    """Header in the report's language."""
    kind: CellKind
    """How the value is formatted (and typed in XLSX)."""
    get: Callable[[ReportRow], Any]
    """The raw value of the cell for a row."""


def group_columns(by: GroupBy, lang: Lang) -> list[Column]:
    """The leading columns that name a row."""
    if by == "unit":
        return [
            Column("code", label("col_unit_code", lang), "text", lambda r: r.key),
            Column("name", label("col_unit_name", lang), "text", lambda r: r.label or r.key),
            Column("level", label("col_level", lang), "text", lambda r: level_name(r, lang)),
            Column("depth", label("col_depth", lang), "int", lambda r: r.depth),
        ]
    if by in ("linh-vuc", "tthc"):
        return [
            Column("code", label(f"col_{by}_code", lang), "text", lambda r: r.key),
            Column("name", label(f"col_{by}_name", lang), "text", lambda r: row_name(r, by, lang)),
        ]
    return [Column("name", label(f"col_{by}", lang), "text", lambda r: row_name(r, by, lang))]


def _count(name: str, header: str) -> Column:
    return Column(name, header, "int", lambda r: getattr(r.counts, name))


def _rate(name: IndicatorName, lang: Lang) -> Column:
    return Column(
        f"{name}_rate", label(f"rate_{name}", lang), "rate", lambda r: r.indicator(name).rate
    )


def _scored(name: IndicatorName, report: Report, lang: Lang) -> list[Column]:
    short = label(f"short_{name}", lang)
    first = report.totals.indicator(name)
    maximum = fmt_max(first.max_points, lang) if first.max_points is not None else ""
    return [
        _rate(name, lang),
        Column(
            f"{name}_points",
            label("points", lang, name=short, max=maximum),
            "points",
            lambda r: r.indicator(name).points,
        ),
        Column(
            f"{name}_met",
            label("assessment", lang, name=short),
            "met",
            lambda r: r.indicator(name).met,
        ),
    ]


def value_columns(report: Report, lang: Lang) -> list[Column]:
    """Counts, rates, points and assessments, in the order offices read them."""
    col = label
    return [
        _count("received", col("col_received", lang)),
        _count("components_digitised", col("col_components_digitised", lang)),
        *_scored("components", report, lang),
        _count("solved", col("col_solved", lang)),
        _count("results_digitised", col("col_results_digitised", lang)),
        *_scored("results", report, lang),
        _count("dossiers_digitised", col("col_dossiers_digitised", lang)),
        *_scored("dossiers", report, lang),
        _count("solved_with_due", col("col_solved_with_due", lang)),
        _count("on_time", col("col_on_time_count", lang)),
        _rate("on_time", lang),
        _count("online", col("col_online_count", lang)),
        _rate("online", lang),
    ]


def columns(report: Report, lang: Lang) -> list[Column]:
    """Every column of the report's detailed formats (CSV, XLSX, HTML table)."""
    return group_columns(report.by, lang) + value_columns(report, lang)


GROUP_KEYS = frozenset({"code", "name", "level", "depth"})
"""Keys of the columns that name a row rather than count it."""


def fmt_cell(
    column: Column, row: ReportRow, lang: Lang, *, grouping: bool = False, total: bool = False
) -> str:
    """A cell as text in the report's language (CSV, terminal, HTML).

    ``grouping`` adds thousands separators to counts (for people; CSV keeps digits only);
    ``total`` marks the totals row, whose naming columns read "Tổng cộng" or stay empty.
    """
    if total and column.key in GROUP_KEYS:
        return label("total", lang) if column.key == "name" else ""
    value = column.get(row)
    if column.kind == "rate":
        return fmt_rate(value, lang)
    if column.kind == "points":
        return fmt_points(value, lang)
    if column.kind == "met":
        return fmt_met(value, lang)
    if column.kind == "int":
        return fmt_int(value, lang) if grouping else str(value)
    return "" if value is None else str(value)


def title(report: Report, lang: Lang) -> str:
    """``Báo cáo … — Unit name (code)`` for headings and file titles."""
    scope = (
        f"{report.unit_name} ({report.unit})"
        if report.unit and report.unit_name and report.unit_name != report.unit
        else report.unit or label("scope_all", lang)
    )
    return f"{label('title', lang)} — {scope}"


def period_text(report: Report, lang: Lang) -> str:
    """``Từ ngày 01/03/2024 đến ngày 30/04/2024``."""
    return label(
        "period",
        lang,
        start=fmt_day(report.period.start, lang),
        end=fmt_day(report.period.end, lang),
    )


def notes(report: Report, lang: Lang) -> list[str]:
    """The footnotes every printed format carries (scoring rule, the 4.2 reading)."""
    pass_rate = fmt_rate(report.pass_rate, lang).replace(",00%", "%").replace(".00%", "%")
    return [label("note_points", lang, pass_rate=pass_rate), label("note_42", lang)]
