"""Geometry of the HTML report's two inline SVG charts (no JavaScript, no CDN: offices are offline).

Only numbers and plain strings come out of here; the Jinja template draws the
elements, so every piece of text (unit names included) goes through its
autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from reports.layout import Lang, fmt_month, fmt_rate, label, row_name
from schemas.report import SCORED, GroupBy, ReportRow

LABEL_WIDTH = 280
"""Pixels left of the bars for the row names."""
PLOT_WIDTH = 480
"""Pixels of 0–100 % on the bar chart."""
BAR = 13
"""Height of one bar; a row has one bar per scored indicator."""
ROW_GAP = 12
TOP = 34
NAME_CHARS = 42
"""Row names longer than this are cut with … (the full name is in the bar's tooltip)."""

TREND_WIDTH, TREND_HEIGHT = 760, 272
TREND_LEFT, TREND_RIGHT, TREND_TOP, TREND_BOTTOM = 56, 720, 16, 240


@dataclass(frozen=True)
class Bar:
    """One bar: an indicator's rate for one row."""

    x: float
    y: float
    width: float
    height: float
    indicator: str
    tooltip: str


@dataclass(frozen=True)
class Text:
    """One piece of text drawn at a point."""

    x: float
    y: float
    text: str
    anchor: str = "start"
    tooltip: str = ""
    strong: bool = False
    """Bold: a top-level unit among its communes."""


@dataclass
class BarChart:
    """Grouped horizontal bars of the three 766 rates per row, with the pass line."""

    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    ticks: list[Text] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    pass_x: float = 0.0
    plot_top: float = TOP
    plot_bottom: float = 0.0


def _x(rate: Decimal) -> float:
    return LABEL_WIDTH + float(rate) / 100 * PLOT_WIDTH


def _short(text: str) -> str:
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def bar_chart(rows: list[ReportRow], by: GroupBy, lang: Lang, pass_rate: Decimal) -> BarChart:
    """One group of bars per row (top-level units in bold), ticks every 20 %."""
    group = len(SCORED) * BAR + ROW_GAP
    height = TOP + group * len(rows) + 16
    chart = BarChart(width=LABEL_WIDTH + PLOT_WIDTH + 70, height=height, plot_bottom=height - 16)
    chart.pass_x = _x(pass_rate)
    for step in range(0, 101, 20):
        x = _x(Decimal(step))
        chart.grid.append(x)
        chart.ticks.append(Text(x, TOP - 8, f"{step}%", anchor="middle"))
    for index, row in enumerate(rows):
        top = TOP + index * group
        name = row_name(row, by, lang)
        strong = by == "unit" and row.depth == 0 and len(rows) > 1
        middle = top + len(SCORED) * BAR / 2
        chart.texts.append(Text(LABEL_WIDTH - 8, middle, _short(name), "end", name, strong))
        for slot, indicator in enumerate(SCORED):
            rate = row.indicator(indicator).rate
            y = top + slot * BAR
            tip = f"{name} — {label(f'rate_{indicator}', lang)}: {fmt_rate(rate, lang)}"
            if rate is None:
                chart.texts.append(Text(LABEL_WIDTH + 4, y + BAR / 2, "N/A", tooltip=tip))
                continue
            width = max(float(rate) / 100 * PLOT_WIDTH, 0.5)
            chart.bars.append(Bar(LABEL_WIDTH, y, width, BAR - 1, indicator, tip))
            chart.texts.append(Text(LABEL_WIDTH + width + 4, y + BAR / 2, fmt_rate(rate, lang)))
    return chart


@dataclass(frozen=True)
class Dot:
    """One month's rate on the trend chart."""

    x: float
    y: float
    indicator: str
    tooltip: str


@dataclass
class TrendChart:
    """One polyline per 766 rate across the months of the period."""

    width: int = TREND_WIDTH
    height: int = TREND_HEIGHT
    lines: dict[str, str] = field(default_factory=dict)
    dots: list[Dot] = field(default_factory=list)
    months: list[Text] = field(default_factory=list)
    grid: list[Text] = field(default_factory=list)
    pass_y: float = 0.0
    left: int = TREND_LEFT
    right: int = TREND_RIGHT


def _y(rate: Decimal) -> float:
    return TREND_BOTTOM - float(rate) / 100 * (TREND_BOTTOM - TREND_TOP)


def trend_chart(trend: list[ReportRow], lang: Lang, pass_rate: Decimal) -> TrendChart:
    """Months on x (evenly spaced), 0–100 % on y; a month with N/A breaks no line, it is skipped."""
    chart = TrendChart(pass_y=_y(pass_rate))
    span = TREND_RIGHT - TREND_LEFT
    step = span / max(len(trend) - 1, 1)
    xs = (
        [TREND_LEFT + span / 2]
        if len(trend) == 1
        else [TREND_LEFT + i * step for i in range(len(trend))]
    )
    for value in range(0, 101, 20):
        chart.grid.append(Text(TREND_LEFT - 6, _y(Decimal(value)), f"{value}%", "end"))
    for x, row in zip(xs, trend, strict=True):
        chart.months.append(Text(x, TREND_BOTTOM + 18, fmt_month(row.key, lang), "middle"))
    for indicator in SCORED:
        points = []
        for x, row in zip(xs, trend, strict=True):
            rate = row.indicator(indicator).rate
            if rate is None:
                continue
            y = _y(rate)
            points.append(f"{x:.1f},{y:.1f}")
            tip = f"{fmt_month(row.key, lang)} — {label(f'rate_{indicator}', lang)}: {fmt_rate(rate, lang)}"
            chart.dots.append(Dot(x, y, indicator, tip))
        chart.lines[indicator] = " ".join(points)
    return chart
