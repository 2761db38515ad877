"""Frozen result types of the digitisation-rate report (Decision 766/QĐ-TTg).

:mod:`reports.rates` computes them from the dossier register (:mod:`schemas.register`)
and the digitised-record index; :mod:`reports.render` turns them into a table, CSV,
JSON, XLSX or HTML. They hold numbers only: labels and number formats belong to the
renderer, so one report renders in Vietnamese and English alike. No I/O here.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from schemas.grouping import GROUP_BY, GroupBy  # noqa: F401 - GROUP_BY re-exported
from schemas.register import UnitLevel

IndicatorName = Literal["components", "results", "dossiers", "on_time", "online"]
"""The five rates of a row; the first three are scored under Decision 766."""

INDICATORS: tuple[IndicatorName, ...] = ("components", "results", "dossiers", "on_time", "online")
"""Every indicator, in report column order."""

SCORED: tuple[IndicatorName, ...] = ("components", "results", "dossiers")
"""Indicators that earn 766 points and a Đạt / Không đạt assessment."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Period(_Frozen):
    """The reporting period: both ends included, in the office's calendar days."""

    start: date
    """First day (``--from``)."""
    end: date
    """Last day (``--to``), included."""

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start > self.end:
            raise ValueError(f"period starts ({self.start}) after it ends ({self.end})")
        return self

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


class Counts(_Frozen):
    """The raw counts behind one row's rates; every rate is one of these over another."""

    received: int = 0
    """Dossiers received (status in RECEIVED_STATUSES) with ngày tiếp nhận in the period."""
    components_digitised: int = 0
    """Of those, dossiers with a digitised thành phần hồ sơ record."""
    dossiers_digitised: int = 0
    """Of those, dossiers fully digitised in the 4.2 sense (components, and the result where
    the result is paper and the dossier was solved by the end of the period)."""
    online: int = 0
    """Of those, dossiers received through channel 2 (trực tuyến)."""
    solved: int = 0
    """Dossiers solved (status in SOLVED_STATUSES) with ngày kết thúc xử lý in the period."""
    results_digitised: int = 0
    """Of those, dossiers whose result is digitised or is not a paper document."""
    solved_with_due: int = 0
    """Of the solved ones, those with a ngày hẹn trả (the on-time denominator)."""
    on_time: int = 0
    """Of those, dossiers that ended on or before ngày hẹn trả."""


class Indicator(_Frozen):
    """One rate with its fraction, and for the 766 indicators its points and assessment."""

    numerator: int
    """Dossiers that satisfy the indicator."""
    denominator: int
    """Dossiers the indicator is measured over; 0 makes the rate N/A."""
    rate: Decimal | None
    """Percentage with two decimals, rounded half-up (``86.30``); ``None`` is N/A."""
    max_points: Decimal | None = None
    """Points the indicator is worth; ``None`` for rates that are not scored."""
    points: Decimal | None = None
    """Points earned (two decimals, half-up); ``None`` when not scored or N/A."""
    met: bool | None = None
    """``True`` Đạt (rate ≥ the pass rate), ``False`` Không đạt, ``None`` not scored or N/A."""


class ReportRow(_Frozen):
    """One line of the report: a unit (rolled up), a lĩnh vực, a procedure, a day or a month."""

    key: str
    """Unit code, lĩnh vực code, mã TTHC, ISO day (``2024-03-05``) or month (``2024-03``);
    empty when the register left the grouping field blank."""
    label: str | None = None
    """Unit / lĩnh vực / procedure name as the register gives it; ``None`` when unknown."""
    depth: int = 0
    """Depth below the report's root unit (0 = root); 0 for rows that are not units."""
    unit_level: UnitLevel | None = None
    """Cấp of a unit row (tỉnh, sở, huyện, xã) when the register says it."""
    counts: Counts
    """Counts the rates are computed from (rolled up over the unit's subtree for units)."""
    components: Indicator
    """Tỷ lệ số hóa thành phần hồ sơ: components_digitised / received."""
    results: Indicator
    """Tỷ lệ số hóa kết quả: results_digitised / solved."""
    dossiers: Indicator
    """Tỷ lệ số hóa hồ sơ (4.2): dossiers_digitised / received (formula UNCONFIRMED)."""
    on_time: Indicator
    """Tỷ lệ giải quyết đúng hạn: on_time / solved_with_due (not scored)."""
    online: Indicator
    """Tỷ lệ hồ sơ trực tuyến: online / received (not scored)."""

    def indicator(self, name: IndicatorName) -> Indicator:
        """The indicator called ``name`` (lets renderers loop over :data:`INDICATORS`)."""
        return getattr(self, name)


class Report(_Frozen):
    """A computed report: what was asked, the rows, the totals and a monthly trend."""

    period: Period
    """The reporting period."""
    unit: str | None = None
    """Code of the unit whose subtree is reported; ``None`` for the whole register."""
    unit_name: str | None = None
    """That unit's name, for titles."""
    by: GroupBy = "unit"
    """How :attr:`rows` are grouped."""
    rows: tuple[ReportRow, ...] = ()
    """Units in tree order (parents before children), or groups sorted by key."""
    totals: ReportRow
    """Every dossier in scope once (for ``by="unit"`` equal to the root's roll-up)."""
    trend: tuple[ReportRow, ...] = ()
    """One row per calendar month touched by the period (for the HTML trend line)."""
    pass_rate: Decimal = Decimal(80)
    """The rate (percent) at or above which an indicator is Đạt and earns full points."""
