"""The report as one self-contained HTML page (Jinja2, autoescaped, inline CSS and SVG).

Office machines are offline, so the page loads nothing: no CDN, no script, no
font; the charts are inline SVG drawn from :mod:`reports.charts`. Every string
from the register (unit names can hold anything) passes through Jinja's
autoescaping, and the template is strict about undefined names.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reports.charts import bar_chart, trend_chart
from reports.layout import (
    Column,
    Lang,
    columns,
    fmt_cell,
    label,
    notes,
    period_text,
    title,
)
from schemas.report import SCORED, Report, ReportRow

TEMPLATE = "report.html.j2"


def _cells(cols: list[Column], row: ReportRow, lang: Lang, *, total: bool = False) -> list[tuple]:
    """``(column key, css class, text)`` per cell; a Không đạt cell is marked to stand out."""
    out = []
    for c in cols:
        css = c.kind + (" not-met" if c.kind == "met" and c.get(row) is False else "")
        out.append((c.key, css, fmt_cell(c, row, lang, grouping=True, total=total)))
    return out


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def to_html(report: Report, lang: Lang) -> str:
    """The page's text: title, period, bar chart per row, monthly trend, full table, notes."""
    cols = columns(report, lang)
    table = [{"depth": row.depth, "cells": _cells(cols, row, lang)} for row in report.rows]
    totals = _cells(cols, report.totals, lang, total=True)
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            lang=lang,
            title=title(report, lang),
            period=period_text(report, lang),
            grouped=label("grouped", lang, by=label(f"by_{report.by}", lang)),
            headers=[(c.key, c.header) for c in cols],
            rows=table,
            totals=totals,
            notes=notes(report, lang),
            bars=bar_chart(list(report.rows), report.by, lang, report.pass_rate),
            bars_title=label("chart_rates", lang, by=label(f"by_{report.by}", lang)),
            trend=trend_chart(list(report.trend), lang, report.pass_rate),
            trend_title=label("chart_trend", lang),
            legend=[(name, label(f"rate_{name}", lang)) for name in SCORED],
        )
    )
