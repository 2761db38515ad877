"""Pure computation of the digitisation-rate report: period, grouping, roll-up, rates, points.

Everything here is a function of values (register entries, units, the index of
digitised records, settings), never of a database, so the arithmetic is tested
by hand-counted examples and reused unchanged by the CLI and the nightly flow.

Reading of the indicators (domain.md; the 766 formulas are UNCONFIRMED):

* A dossier is *received in the period* when its status is in
  :data:`~schemas.register.RECEIVED_STATUSES` and its ngày tiếp nhận falls in the
  period; it is *solved in the period* when its status is in
  :data:`~schemas.register.SOLVED_STATUSES` (which includes 7, withdrawn) and its
  ngày kết thúc xử lý falls in the period. One dossier can count on both sides, or
  on one only; a dossier with no date on a side never counts on that side.
* Components rate = received with a ``thanh-phan`` record / received.
* Results rate = solved whose result has a ``ket-qua`` record or is not paper / solved.
* Dossier rate (4.2) = received whose components are digitised and, when the
  dossier was solved by the end of the period and its result is paper, whose
  result is digitised too / received. A dossier still in progress at the end of
  the period needs only its components; a solved status without a ngày kết thúc
  counts as solved (the status is all the register says).
* On-time rate = solved that ended on or before ngày hẹn trả / solved with a ngày hẹn trả.
* Online rate = received through channel 2 / received.
* Rates are percentages rounded half-up to two decimals (exact rational arithmetic,
  so 3.125 % is 3.13 %), N/A (``None``) when the denominator is 0. Points and the
  Đạt / Không đạt assessment use the rounded rate, as the office reads it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date
from decimal import Decimal
from fractions import Fraction

from schemas.register import ONLINE_CHANNEL, RegisterEntry, Unit
from schemas.report import GROUP_BY, Counts, GroupBy, Indicator, Period, Report, ReportRow
from schemas.settings import ReportSettings
from schemas.unit_tree import UnitTree
from sohoa.errors import UnknownUnitError

COUNT_FIELDS: tuple[str, ...] = tuple(Counts.model_fields)
"""Order of the integer vectors the tallies use internally (one slot per :class:`Counts` field)."""

Vector = tuple[int, ...]
_ZERO: Vector = (0,) * len(COUNT_FIELDS)
_I = {name: i for i, name in enumerate(COUNT_FIELDS)}


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """Round an exact fraction half away from zero to ``places`` decimals.

    Why exact: float rounding turns 3.125 into 3.12 (banker's rule on a binary value),
    while offices round 3.125 % to 3.13 %.
    """
    scaled = abs(value) * 10**places
    whole = int(scaled + Fraction(1, 2))  # floor of a non-negative number
    result = Decimal(whole).scaleb(-places)
    return -result if value < 0 else result


def percent(numerator: int, denominator: int) -> Decimal | None:
    """``numerator / denominator × 100`` with two decimals, half-up; ``None`` (N/A) if 0/0."""
    if denominator <= 0:
        return None
    return round_half_up(Fraction(100 * numerator, denominator))


def score(
    rate: Decimal | None, max_points: Decimal, pass_rate: Decimal
) -> tuple[Decimal | None, bool | None]:
    """766 points and assessment of one rate: full points from ``pass_rate``, else pro rata.

    Returns:
        ``(points, met)``; ``(None, None)`` when the rate is N/A (nothing to assess).
    """
    if rate is None:
        return None, None
    if rate >= pass_rate:
        return round_half_up(Fraction(max_points)), True
    return round_half_up(Fraction(rate) * Fraction(max_points) / Fraction(pass_rate)), False


def _indicator(
    numerator: int, denominator: int, max_points: Decimal | None, pass_rate: Decimal
) -> Indicator:
    rate = percent(numerator, denominator)
    if max_points is None:
        return Indicator(numerator=numerator, denominator=denominator, rate=rate)
    points, met = score(rate, max_points, pass_rate)
    return Indicator(
        numerator=numerator,
        denominator=denominator,
        rate=rate,
        max_points=max_points,
        points=points,
        met=met,
    )


def make_row(
    key: str,
    vector: Vector | Counts,
    settings: ReportSettings,
    *,
    label: str | None = None,
    depth: int = 0,
    unit_level: str | None = None,
) -> ReportRow:
    """A report row from its counts: every rate, and points for the three 766 indicators."""
    c = vector if isinstance(vector, Counts) else Counts(**dict(zip(COUNT_FIELDS, vector)))
    pass_rate = settings.pass_rate
    return ReportRow(
        key=key,
        label=label,
        depth=depth,
        unit_level=unit_level,
        counts=c,
        components=_indicator(
            c.components_digitised, c.received, settings.max_points_components, pass_rate
        ),
        results=_indicator(c.results_digitised, c.solved, settings.max_points_results, pass_rate),
        dossiers=_indicator(
            c.dossiers_digitised, c.received, settings.max_points_dossiers, pass_rate
        ),
        on_time=_indicator(c.on_time, c.solved_with_due, None, pass_rate),
        online=_indicator(c.online, c.received, None, pass_rate),
    )


def contributions(
    entry: RegisterEntry, kinds: Collection[str], period: Period
) -> list[tuple[date, Vector]]:
    """What one dossier adds to the counts, dated by the day each side is counted on.

    Returns up to two ``(day, vector)`` pairs: the received side (dated by ngày tiếp
    nhận) and the solved side (dated by ngày kết thúc xử lý), so grouping by day or
    month puts each side in its own bucket.
    """
    parts: list[tuple[date, Vector]] = []
    components = "thanh-phan" in kinds
    result = (not entry.paper_result) or "ket-qua" in kinds
    if entry.received and entry.received_on in period:
        done_by_end = entry.solved and (
            entry.finished_on is None or entry.finished_on <= period.end
        )
        side = [0] * len(COUNT_FIELDS)
        side[_I["received"]] = 1
        side[_I["components_digitised"]] = int(components)
        side[_I["dossiers_digitised"]] = int(components and (result or not done_by_end))
        side[_I["online"]] = int(entry.channel == ONLINE_CHANNEL)
        parts.append((entry.received_on, tuple(side)))
    if entry.solved and entry.finished_on in period:
        side = [0] * len(COUNT_FIELDS)
        side[_I["solved"]] = 1
        side[_I["results_digitised"]] = int(result)
        if entry.due_on is not None:
            side[_I["solved_with_due"]] = 1
            side[_I["on_time"]] = int(entry.finished_on <= entry.due_on)
        parts.append((entry.finished_on, tuple(side)))
    return parts


def _add(a: Vector, b: Vector) -> Vector:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def sort_key(text: str) -> str:
    """Vietnamese alphabetical order, roughly: marks dropped and đ as d, so "Đất đai"
    sorts with the d's rather than after z (as raw code points would put it)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.replace("đ", "d").replace("Đ", "D").casefold()


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


_GROUP_KEYS: dict[str, Callable[[RegisterEntry, date], tuple[str, str | None]]] = {
    "linh-vuc": lambda e, _d: (e.field_code or e.field_name or "", e.field_name),
    "tthc": lambda e, _d: (e.procedure_code or e.procedure_name or "", e.procedure_name),
    "day": lambda _e, d: (d.isoformat(), None),
    "month": lambda _e, d: (_month_key(d), None),
}


def months_of(period: Period) -> list[str]:
    """Every ``yyyy-mm`` the period touches, in order (the trend's x axis)."""
    out, year, month = [], period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _grouped(
    tallies: list[tuple[RegisterEntry, date, Vector]], by: str, settings: ReportSettings
) -> list[ReportRow]:
    """Rows of a non-unit grouping, sorted by key; buckets with no dossier are left out."""
    key_of = _GROUP_KEYS[by]
    sums: dict[str, Vector] = {}
    labels: dict[str, str | None] = {}
    for entry, day, vector in tallies:
        key, label = key_of(entry, day)
        sums[key] = _add(sums.get(key, _ZERO), vector)
        if labels.get(key) is None:
            labels[key] = label
    ordered = sorted(sums, key=lambda k: (k == "", sort_key(labels[k] or k), k))
    if by in ("day", "month"):
        ordered = sorted(sums)
    return [make_row(k, sums[k], settings, label=labels[k]) for k in ordered]


def _unit_rows(
    tallies: list[tuple[RegisterEntry, date, Vector]],
    tree: UnitTree,
    scope: list[tuple[str, int]],
    settings: ReportSettings,
) -> list[ReportRow]:
    """Every unit of the scope with its own dossiers plus those of all its descendants."""
    rolled: dict[str, Vector] = {code: _ZERO for code, _ in scope}
    for entry, _day, vector in tallies:
        rolled[entry.unit] = _add(rolled[entry.unit], vector)
    for code, depth in reversed(scope):  # children come after parents: sum bottom-up
        parent = tree.placed_parent[code]
        if depth > 0 and parent is not None:
            rolled[parent] = _add(rolled[parent], rolled[code])
    return [
        make_row(
            code,
            rolled[code],
            settings,
            label=tree.units[code].name,
            depth=depth,
            unit_level=tree.units[code].level,
        )
        for code, depth in scope
    ]


def build_report(
    entries: Iterable[RegisterEntry],
    units: Iterable[Unit],
    digitised: Mapping[str, Collection[str]],
    *,
    period: Period,
    unit: str | None = None,
    by: GroupBy = "unit",
    settings: ReportSettings | None = None,
) -> Report:
    """Compute the report for ``unit``'s subtree (the whole register when ``None``).

    Args:
        entries: register entries; those outside the scope or the period are ignored,
            and a dossier code listed twice counts once (the last entry wins).
        units: the unit list (``Unit.parent`` gives the tree).
        digitised: mã hồ sơ → kinds digitised (``thanh-phan``, ``ket-qua``).
        period: the reporting period, both ends included.
        unit: root unit code of the report.
        by: grouping of :attr:`Report.rows`.
        settings: max points and pass rate (defaults of :class:`ReportSettings`).

    Raises:
        UnknownUnitError: ``unit`` is not a known unit.
        ValueError: ``by`` is not one of :data:`schemas.report.GROUP_BY`.
    """
    if by not in GROUP_BY:
        raise ValueError(f"unknown grouping {by!r} ({', '.join(GROUP_BY)})")
    settings = settings or ReportSettings()
    latest = {e.dossier_code: e for e in entries}
    tree = UnitTree(units, {e.unit for e in latest.values()})
    if unit is not None and unit not in tree:
        raise UnknownUnitError(unit=unit)
    scope = tree.subtree(unit)
    codes = {code for code, _ in scope}
    tallies = [
        (entry, day, vector)
        for entry in latest.values()
        if entry.unit in codes
        for day, vector in contributions(entry, digitised.get(entry.dossier_code, ()), period)
    ]
    total: Vector = _ZERO
    for _entry, _day, vector in tallies:
        total = _add(total, vector)
    if by == "unit":
        rows = _unit_rows(tallies, tree, scope, settings)
    else:
        rows = _grouped(tallies, by, settings)
    monthly = {row.key: row for row in _grouped(tallies, "month", settings)}
    trend = [monthly.get(m) or make_row(m, _ZERO, settings) for m in months_of(period)]
    root = tree.units[unit] if unit else None
    return Report(
        period=period,
        unit=unit,
        unit_name=root.name if root else None,
        by=by,
        rows=tuple(rows),
        totals=make_row("", total, settings, label=None),
        trend=tuple(trend),
        pass_rate=settings.pass_rate,
    )
