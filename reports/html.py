"""The report as one self-contained HTML page (Jinja2, autoescaped, inline CSS and SVG).

Office machines are offline, so the page loads nothing: no CDN, no script, no
font; the charts are inline SVG drawn from :mod:`reports.charts`. Every string
from the register (unit names can hold anything) passes through Jinja's
autoescaping, and the template is strict about undefined names.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

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
CHARTS = "charts.svg.j2"
"""Macros drawing the two SVG charts, shared with the web app's report page."""


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


def page_parts(report: Report, lang: Lang) -> dict[str, Any]:
    """Everything the report page shows, as plain values: titles, table cells, chart geometry.

    Why apart from :func:`to_html`: the web app's report page lays the same pieces
    out in its own template (no inline styles there, its CSP forbids them), so the
    numbers, labels and charts come from one place.
    """
    cols = columns(report, lang)
    table = [{"depth": row.depth, "cells": _cells(cols, row, lang)} for row in report.rows]
    return {
        "lang": lang,
        "title": title(report, lang),
        "period": period_text(report, lang),
        "grouped": label("grouped", lang, by=label(f"by_{report.by}", lang)),
        "headers": [(c.key, c.header) for c in cols],
        "rows": table,
        "totals": _cells(cols, report.totals, lang, total=True),
        "notes": notes(report, lang),
        "bars": bar_chart(list(report.rows), report.by, lang, report.pass_rate),
        "bars_title": label("chart_rates", lang, by=label(f"by_{report.by}", lang)),
        "trend": trend_chart(list(report.trend), lang, report.pass_rate),
        "trend_title": label("chart_trend", lang),
        "legend": [(name, label(f"rate_{name}", lang)) for name in SCORED],
    }


def chart_svgs(parts: dict[str, Any]) -> dict[str, Markup]:
    """The bar chart and the trend line of :func:`page_parts` as inline SVG markup.

    Drawn by the same macros as the HTML report (``charts.svg.j2``, autoescaped),
    so the web page embeds exactly the report's charts.
    """
    macros = _environment().get_template(CHARTS).module
    return {
        "bars": Markup(macros.bars_svg(parts["bars"])),  # type: ignore[attr-defined]
        "trend": Markup(macros.trend_svg(parts["trend"])),  # type: ignore[attr-defined]
    }


def to_html(report: Report, lang: Lang) -> str:
    """The page's text: title, period, bar chart per row, monthly trend, full table, notes."""
    return _environment().get_template(TEMPLATE).render(**page_parts(report, lang))
