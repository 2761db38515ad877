"""Digitisation-rate reports: counts, rates, 766 points, roll-up, grouping, formats.

The register below is small enough to count by hand; every expected number is
worked out in the comments next to it, independently of the code under test.

Period: 01/03/2024 – 30/04/2024. Units: district H (Huyện Hải Lăng) with communes
X1 (Xã Hải An) and X2 (Xã Hải Ba). Procedures: P1 khai sinh (hộ tịch, paper result),
P2 xác nhận hôn nhân điện tử (hộ tịch, NOT a paper result), P3 đất đai (paper).
Kinds: tp = thành phần digitised, kq = kết quả digitised.

| code | unit | proc | received | due   | finished | status | ch | kinds  | notes
| D01  | H    | P3   | 03-04    | 03-20 | 03-18    | 10     | 1  | tp kq  | all good
| D02  | H    | P3   | 03-05    | 03-25 | 03-28    | 9      | 2  | tp     | late, result missing
| D03  | H    | P3   | 04-10    | 05-10 | —        | 4      | 3  | —      | in progress
| D04  | H    | P3   | 02-20    | 03-05 | 03-06    | 10     | 1  | kq     | received before the period, late
| D05  | H    | P3   | 04-25    | 05-20 | 05-15    | 10     | 2  | tp     | solved after the period
| D06  | H    | P1   | 03-12    | —     | —        | 3      | 1  | —      | not received
| D07  | X1   | P1   | 03-01    | 03-05 | 03-05    | 10     | 1  | tp kq  | on time (same day)
| D08  | X1   | P1   | 03-15    | 03-20 | 03-19    | 10     | 2  | tp     | result missing
| D09  | X1   | P2   | 04-02    | 04-03 | 04-03    | 9      | 2  | tp     | non-paper result
| D10  | X1   | P1   | 04-20    | 04-25 | 04-22    | 7      | 1  | —      | withdrawn (counts as solved)
| D11  | X1   | P1   | 04-01    | —     | —        | 3      | 1  | —      | not received
| D12  | X1   | P1   | 01-15    | 01-25 | 01-20    | 10     | 1  | tp kq  | outside the period
| D13  | X2   | P1   | 03-10    | 03-15 | 03-14    | 10     | 3  | tp kq  | all good
| D14  | X2   | P2   | 03-11    | —     | 03-12    | 10     | 2  | —      | non-paper, no due date
| D15  | X2   | P1   | 04-05    | —     | —        | 3      | 1  | —      | not received
| D16  | X2   | P1   | 04-28    | 05-10 | —        | 5      | 1  | tp     | waiting for papers
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from reports.layout import fmt_rate
from reports.rates import build_report, percent, score
from reports.render import render, table_text
from schemas.register import RegisterEntry, Unit
from schemas.report import Period, Report
from schemas.settings import ReportSettings
from sohoa.dates import parse_day
from sohoa.errors import UnknownUnitError

D = Decimal
PERIOD = Period(start=date(2024, 3, 1), end=date(2024, 4, 30))
H, X1, X2 = "H56.01", "H56.01.01", "H56.01.02"
UNITS = [
    Unit(code=H, name="Huyện Hải Lăng", level="huyen"),
    Unit(code=X1, name="Xã Hải An", level="xa", parent=H),
    Unit(code=X2, name="Xã Hải Ba", level="xa", parent=H),
]


def _proc(code: str, name: str, field_code: str, field_name: str, *, paper: bool) -> dict:
    return {"procedure_code": code, "procedure_name": name, "field_code": field_code,
            "field_name": field_name, "paper_result": paper}  # fmt: skip


PROCS = {
    "P1": _proc("1.001", "Đăng ký khai sinh", "HT", "Hộ tịch", paper=True),
    "P2": _proc("1.003", "Xác nhận tình trạng hôn nhân (điện tử)", "HT", "Hộ tịch", paper=False),
    "P3": _proc("3.001", "Cấp giấy chứng nhận quyền sử dụng đất", "DD", "Đất đai", paper=True),
}
ROWS = [
    # code, unit, proc, received, due, finished, status, channel, kinds
    ("D01", H, "P3", "03-04", "03-20", "03-18", 10, 1, "tp kq"),
    ("D02", H, "P3", "03-05", "03-25", "03-28", 9, 2, "tp"),
    ("D03", H, "P3", "04-10", "05-10", None, 4, 3, ""),
    ("D04", H, "P3", "02-20", "03-05", "03-06", 10, 1, "kq"),
    ("D05", H, "P3", "04-25", "05-20", "05-15", 10, 2, "tp"),
    ("D06", H, "P1", "03-12", None, None, 3, 1, ""),
    ("D07", X1, "P1", "03-01", "03-05", "03-05", 10, 1, "tp kq"),
    ("D08", X1, "P1", "03-15", "03-20", "03-19", 10, 2, "tp"),
    ("D09", X1, "P2", "04-02", "04-03", "04-03", 9, 2, "tp"),
    ("D10", X1, "P1", "04-20", "04-25", "04-22", 7, 1, ""),
    ("D11", X1, "P1", "04-01", None, None, 3, 1, ""),
    ("D12", X1, "P1", "01-15", "01-25", "01-20", 10, 1, "tp kq"),
    ("D13", X2, "P1", "03-10", "03-15", "03-14", 10, 3, "tp kq"),
    ("D14", X2, "P2", "03-11", None, "03-12", 10, 2, ""),
    ("D15", X2, "P1", "04-05", None, None, 3, 1, ""),
    ("D16", X2, "P1", "04-28", "05-10", None, 5, 1, "tp"),
]
KIND = {"tp": "thanh-phan", "kq": "ket-qua"}


def _day(mmdd: str | None) -> date | None:
    return None if mmdd is None else date.fromisoformat(f"2024-{mmdd}")


ENTRIES = [
    RegisterEntry(
        dossier_code=code,
        unit=unit,
        received_on=_day(rec),
        due_on=_day(due),
        finished_on=_day(fin),
        status=status,
        channel=channel,
        **PROCS[proc],
    )
    for code, unit, proc, rec, due, fin, status, channel, _ in ROWS
]
DIGITISED = {code: frozenset(KIND[k] for k in kinds.split()) for code, *_, kinds in ROWS if kinds}


def _report(**kwargs) -> Report:
    kwargs.setdefault("period", PERIOD)
    return build_report(ENTRIES, UNITS, DIGITISED, **kwargs)


def _row(report: Report, key: str):
    (row,) = [r for r in report.rows if r.key == key]
    return row


def _check(ind, numerator, denominator, rate, points=None, met=None):
    assert (ind.numerator, ind.denominator) == (numerator, denominator)
    assert ind.rate == (None if rate is None else D(rate))
    assert ind.points == (None if points is None else D(points))
    assert ind.met is met


# --- the arithmetic --------------------------------------------------------------------------


def test_commune_x1_counts_rates_and_points():
    row = _row(_report(), X1)
    c = row.counts
    # received in period: D07 D08 D09 D10 (D11 not received, D12 outside) = 4
    assert c.received == 4
    # components: D07 D08 D09 = 3 -> 3/4 = 75.00 % < 80 -> 75 × 8 ÷ 80 = 7.50 points, Không đạt
    _check(row.components, 3, 4, "75.00", "7.50", False)
    # solved in period: D07 D08 D09 D10(withdrawn, status 7) = 4; results: D07 (kq),
    # D09 (non-paper) = 2 -> 50.00 % -> 50 × 8 ÷ 80 = 5.00
    _check(row.results, 2, 4, "50.00", "5.00", False)
    # 4.2: D07 (tp+kq) and D09 (tp, non-paper) = 2 of 4 -> 50.00 % -> 50 × 6 ÷ 80 = 3.75
    _check(row.dossiers, 2, 4, "50.00", "3.75", False)
    # on time: all four ended on/before their due day (D07 and D09 on the day) -> 4/4
    _check(row.on_time, 4, 4, "100.00")
    # online: D08 D09 of 4 received
    _check(row.online, 2, 4, "50.00")
    assert (row.depth, row.unit_level, row.label) == (1, "xa", "Xã Hải An")


def test_commune_x2_counts_rates_and_points():
    row = _row(_report(), X2)
    # received: D13 D14 D16 = 3 (D15 not received); components D13 D16 = 2 -> 66.666… -> 66.67
    # points 66.67 × 8 ÷ 80 = 6.667 -> 6.67
    _check(row.components, 2, 3, "66.67", "6.67", False)
    # solved: D13 (kq) D14 (non-paper) = 2 of 2 -> 100.00 % ≥ 80 -> full 8.00, Đạt
    _check(row.results, 2, 2, "100.00", "8.00", True)
    # 4.2: D13 yes; D14 no components; D16 components, not solved -> yes: 2/3 -> 66.67
    # points 66.67 × 6 ÷ 80 = 5.00025 -> 5.00
    _check(row.dossiers, 2, 3, "66.67", "5.00", False)
    # on time: only D13 has a due date (D14 has none) -> 1/1
    _check(row.on_time, 1, 1, "100.00")
    # online: D14 of 3 -> 33.33
    _check(row.online, 1, 3, "33.33")


def test_district_rolls_up_its_own_dossiers_and_both_communes():
    report = _report()
    row = _row(report, H)
    # own received: D01 D02 D03 D05 = 4 (D04 received before the period, D06 not received)
    # rolled: 4 + 4 (X1) + 3 (X2) = 11
    assert row.counts.received == 11
    # components: own D01 D02 D05 = 3, + 3 + 2 = 8 -> 8/11 = 72.7272… -> 72.73
    # points 72.73 × 8 ÷ 80 = 7.273 -> 7.27
    _check(row.components, 8, 11, "72.73", "7.27", False)
    # solved: own D01 D02 D04 = 3 (D05 finished 15/05), + 4 + 2 = 9
    # results: own D01 D04 = 2, + 2 + 2 = 6 -> 66.67 -> 6.67 points
    _check(row.results, 6, 9, "66.67", "6.67", False)
    # 4.2: own D01 yes, D02 no (paper result missing), D03 no, D05 yes (solved only after
    # the period, so components suffice) = 2, + 2 + 2 = 6 -> 6/11 = 54.5454… -> 54.55
    # points 54.55 × 6 ÷ 80 = 4.09125 -> 4.09
    _check(row.dossiers, 6, 11, "54.55", "4.09", False)
    # on time: own D01 only of 3 (D02, D04 late), + 4/4 + 1/1 -> 6/8 = 75.00
    _check(row.on_time, 6, 8, "75.00")
    # online: own D02 D05, + 2 + 1 = 5 -> 45.4545… -> 45.45
    _check(row.online, 5, 11, "45.45")
    assert report.totals.counts == row.counts  # one root: totals = the district's roll-up
    assert [(r.key, r.depth) for r in report.rows] == [(H, 0), (X1, 1), (X2, 1)]


def test_a_parent_named_only_by_its_units_gets_a_row_that_rolls_them_up():
    """District rows name their province only as the parent unit (issue 18): the report
    still has the province row, summing both districts, and a province report works."""
    province, other = "H56", "H56.02"
    units = [u.model_copy(update={"parent": province}) if u.code == H else u for u in UNITS]
    units.append(Unit(code=other, name="Huyện Gio Linh", level="huyen", parent=province))
    report = build_report(ENTRIES, units, DIGITISED, period=PERIOD)
    assert [(r.key, r.depth) for r in report.rows][:2] == [(province, 0), (H, 1)]
    assert (province, 0) in [(r.key, r.depth) for r in report.rows]
    assert _row(report, province).counts == _row(report, H).counts  # H56.02 has no dossiers
    assert report.totals.counts == _row(report, province).counts  # one root again
    scoped = build_report(ENTRIES, units, DIGITISED, period=PERIOD, unit=province)
    assert scoped.unit_name == province and scoped.totals.counts.received == 11


def test_unit_option_limits_the_report_to_that_subtree():
    report = _report(unit=X2)
    assert [r.key for r in report.rows] == [X2]
    assert report.totals.counts.received == 3 and report.unit_name == "Xã Hải Ba"
    with pytest.raises(UnknownUnitError) as unknown:
        _report(unit="NO-SUCH-UNIT")
    assert unknown.value.key == "report_unknown_unit"  # its own message, naming the unit
    assert "NO-SUCH-UNIT" in unknown.value.render("vi")


def test_zero_denominator_is_na_without_points_or_assessment():
    report = _report(period=Period(start=date(2024, 5, 1), end=date(2024, 5, 31)))
    x1 = _row(report, X1)  # nothing of X1 happened in May
    for name in ("components", "results", "dossiers", "on_time", "online"):
        _check(x1.indicator(name), 0, 0, None)
    # May for H: only D05 finished (15/05), received nothing: results 0/1 -> 0.00 %, 0 points
    h = _row(report, H)
    _check(h.components, 0, 0, None)
    _check(h.results, 0, 1, "0.00", "0.00", False)
    _check(h.on_time, 1, 1, "100.00")  # 15/05 ≤ due 20/05


def test_rounding_is_half_up_on_exact_decimals():
    # 1/32 = 3.125 % exactly: half-up gives 3.13 (float round() gives 3.12)
    assert percent(1, 32) == D("3.13") and round(100 / 32, 2) == 3.12
    assert percent(1, 3) == D("33.33") and percent(2, 3) == D("66.67")
    assert percent(863, 1000) == D("86.30") and percent(0, 5) == D("0.00")
    assert percent(0, 0) is None
    # points 50.05 × 8 ÷ 80 = 5.005 exactly -> 5.01 (half-even would say 5.00)
    assert score(D("50.05"), D(8), D(80)) == (D("5.01"), False)
    # the pass rate itself earns full points
    assert score(D("80.00"), D(6), D(80)) == (D("6.00"), True)
    # just under the pass rate: 79.99 × 8 ÷ 80 = 7.999 -> 8.00 points, yet still Không đạt
    assert score(D("79.99"), D(8), D(80)) == (D("8.00"), False)
    assert score(None, D(8), D(80)) == (None, None)


def test_configured_max_points_and_pass_rate_are_used():
    settings = ReportSettings(max_points_components=D(10), pass_rate=D(70))
    row = _row(_report(settings=settings), X1)
    # X1 components 75.00 % ≥ 70 -> full 10 points, Đạt
    _check(row.components, 3, 4, "75.00", "10.00", True)
    # X1 results 50.00 % < 70 -> 50 × 8 ÷ 70 = 5.714… -> 5.71
    _check(row.results, 2, 4, "50.00", "5.71", False)


def test_grouping_by_linh_vuc():
    report = _report(by="linh-vuc")
    # sorted the Vietnamese way: Đất đai (d) before Hộ tịch (h)
    assert [(r.key, r.label) for r in report.rows] == [("DD", "Đất đai"), ("HT", "Hộ tịch")]
    dd, ht = report.rows
    # Đất đai = P3 = D01..D05: received D01 D02 D03 D05 = 4, components 3 -> 75.00
    _check(dd.components, 3, 4, "75.00", "7.50", False)
    # solved D01 D02 D04 = 3; results D01 D04 = 2 -> 66.67
    _check(dd.results, 2, 3, "66.67", "6.67", False)
    # Hộ tịch: received D07 D08 D09 D10 D13 D14 D16 = 7; components D07 D08 D09 D13 D16 = 5
    # -> 5/7 = 71.428… -> 71.43
    _check(ht.components, 5, 7, "71.43", "7.14", False)
    # solved D07 D08 D09 D10 D13 D14 = 6; results D07 D09 D13 D14 = 4 -> 66.67
    _check(ht.results, 4, 6, "66.67", "6.67", False)
    assert report.totals.counts.received == 11


def test_grouping_by_procedure_and_the_80_percent_boundary():
    report = _report(by="tthc")
    # by folded name: "cap giay…" (P3), "dang ky khai sinh" (P1), "xac nhan…" (P2)
    assert [r.key for r in report.rows] == ["3.001", "1.001", "1.003"]
    p1 = _row(report, "1.001")
    # P1 received: D07 D08 D10 D13 D16 = 5; components D07 D08 D13 D16 = 4 -> exactly 80.00 %
    # -> full 8.00 points, Đạt
    _check(p1.components, 4, 5, "80.00", "8.00", True)
    # P2 (non-paper result): solved D09 D14 -> both count as digitised
    _check(_row(report, "1.003").results, 2, 2, "100.00", "8.00", True)


def test_grouping_by_month_and_day_dates_each_side_on_its_own_day():
    months = _report(by="month")
    assert [r.key for r in months.rows] == ["2024-03", "2024-04"]
    march, april = months.rows
    # March received: D01 D02 D07 D08 D13 D14 = 6; components D01 D02 D07 D08 D13 = 5 -> 83.33
    _check(march.components, 5, 6, "83.33", "8.00", True)
    # March solved: D01 D02 D04 D07 D08 D13 D14 = 7; results D01 D04 D07 D13 D14 = 5 -> 71.43
    _check(march.results, 5, 7, "71.43", "7.14", False)
    # April received: D03 D05 D09 D10 D16 = 5; components D05 D09 D16 = 3 -> 60.00
    _check(april.components, 3, 5, "60.00", "6.00", False)
    # April solved: D09 D10 = 2; results D09 = 1 -> 50.00
    _check(april.results, 1, 2, "50.00", "5.00", False)
    assert months.trend == months.rows  # both months had dossiers
    days = _report(by="day")
    # 11 distinct receiving days + 8 more finishing days (05/03 is both) = 19 rows
    assert len(days.rows) == 19
    fifth = _row(days, "2024-03-05")  # D02 received, D07 finished that day
    assert (fifth.counts.received, fifth.counts.solved) == (1, 1)
    assert sum(r.counts.received for r in days.rows) == 11


def test_trend_has_every_month_of_the_period_even_empty_ones():
    report = _report(period=Period(start=date(2024, 3, 1), end=date(2024, 6, 30)))
    assert [r.key for r in report.trend] == ["2024-03", "2024-04", "2024-05", "2024-06"]
    assert report.trend[3].components.rate is None  # June: nothing -> N/A


def test_period_dates_and_order():
    assert parse_day("05/03/2024") == parse_day("2024-03-05") == date(2024, 3, 5)
    assert parse_day("5/3/2024") == date(2024, 3, 5)
    for bad in ("31/02/2024", "2024/03/05", "March 5", ""):
        with pytest.raises(ValueError):
            parse_day(bad)
    with pytest.raises(ValueError):
        Period(start=date(2024, 4, 1), end=date(2024, 3, 1))
    with pytest.raises(ValueError):
        _report(by="week")


def test_duplicate_codes_count_once_and_unknown_units_are_kept():
    extra = RegisterEntry(dossier_code="Z1", unit="LOST", status=2, received_on=date(2024, 3, 2))
    report = build_report(
        [*ENTRIES, ENTRIES[0], extra], UNITS, DIGITISED, period=PERIOD
    )  # D01 twice, and a dossier of a unit missing from the unit list
    assert _row(report, H).counts.received == 11
    assert _row(report, "LOST").counts.received == 1
    assert report.totals.counts.received == 12


# --- the formats -----------------------------------------------------------------------------


def test_vietnamese_and_english_number_formats():
    assert fmt_rate(percent(863, 1000), "vi") == "86,30%"
    assert fmt_rate(percent(863, 1000), "en") == "86.30%"
    assert fmt_rate(None, "vi") == "N/A"
    vi = table_text(_report(), "vi")
    en = table_text(_report(), "en")
    assert "72,73%" in vi and "Không đạt" in vi and "01/03/2024" in vi
    assert "72.73%" in en and "Not met" in en and "2024-03-01" in en


def test_csv_has_bom_and_parses_back():
    data = render(_report(), "csv", "vi")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["Mã đơn vị"] for r in rows] == [H, X1, X2, ""]
    district, total = rows[0], rows[-1]
    assert district["Tỷ lệ số hóa TPHS"] == "72,73%"
    assert district["Hồ sơ tiếp nhận"] == "11"
    assert district["Đánh giá TPHS"] == "Không đạt"
    assert district["Điểm TPHS (tối đa 8)"] == "7,27"
    assert total["Tên đơn vị"] == "Tổng cộng" and total["Tỷ lệ trực tuyến"] == "45,45%"
    en = list(csv.DictReader(io.StringIO(render(_report(), "csv", "en").decode("utf-8-sig"))))
    assert en[2]["Results rate"] == "100.00%" and en[2]["Results assessment"] == "Met"


def test_json_numbers_and_decimal_strings():
    data = json.loads(render(_report(unit=X1), "json", "vi"))
    assert data["period"] == {"start": "2024-03-01", "end": "2024-04-30"}
    row = data["rows"][0]
    assert row["counts"]["received"] == 4  # a number
    assert row["components"]["rate"] == "75.00" and row["components"]["points"] == "7.50"
    assert row["components"]["met"] is False
    empty = json.loads(
        render(_report(period=Period(start=date(2025, 1, 1), end=date(2025, 1, 1))), "json")
    )
    assert (
        empty["totals"]["components"]["rate"] is None
        and empty["totals"]["components"]["met"] is None
    )


def test_xlsx_is_formatted_for_printing(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(render(_report(), "xlsx", "vi"))
    sheet = load_workbook(path).worksheets[0]
    assert "Báo cáo" in sheet["A1"].value and "Toàn bộ sổ" in sheet["A1"].value
    assert "01/03/2024" in sheet["A2"].value and "30/04/2024" in sheet["A2"].value
    header = [c.value for c in sheet[4]]
    assert header[:2] == ["Mã đơn vị", "Tên đơn vị"] and all(c.font.bold for c in sheet[4])
    assert sheet.freeze_panes == "A5"
    rate_col = header.index("Tỷ lệ số hóa TPHS") + 1
    district = sheet.cell(row=5, column=rate_col)
    assert district.number_format == "0.00%" and abs(district.value - 0.7273) < 1e-9
    total_row = 5 + 3
    assert sheet.cell(row=total_row, column=2).value == "Tổng cộng"
    assert sheet.cell(row=total_row, column=2).font.bold
    assert sheet.cell(row=total_row, column=header.index("Hồ sơ tiếp nhận") + 1).value == 11
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$4:$4"
    assert sheet.cell(row=6, column=2).alignment.indent > 0  # a commune, indented


def test_html_is_self_contained_with_bars_trend_and_escaped_names():
    units = [*UNITS[:2], UNITS[2].model_copy(update={"name": 'Xã <script>alert("x")</script>'})]
    report = build_report(ENTRIES, units, DIGITISED, period=PERIOD)
    html = render(report, "html", "vi").decode("utf-8")
    assert "<svg" in html and 'lang="vi"' in html
    # one bar per unit for each 766 rate (every unit has a rate here)
    assert len(re.findall(r'<rect class="bar components"', html)) == 3
    assert len(re.findall(r'<rect class="bar dossiers"', html)) == 3
    # the trend: one polyline per rate, through both months
    lines = re.findall(r'<polyline class="trend components" points="([^"]*)"', html)
    assert len(lines) == 1 and len(lines[0].split()) == 2
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    assert "Tỷ lệ số hóa hồ sơ (4.2)" in html and "72,73%" in html


def test_render_refuses_unknown_format_or_language():
    with pytest.raises(ValueError):
        render(_report(), "pdf", "vi")
    with pytest.raises(ValueError):
        render(_report(), "csv", "fr")


def test_every_grouping_renders_in_every_format_and_language():
    for by in ("unit", "linh-vuc", "tthc", "day", "month"):
        report = _report(by=by)
        for lang, total in (("vi", "Tổng cộng"), ("en", "Total")):
            for fmt in ("table", "csv", "html"):
                assert total in render(report, fmt, lang).decode("utf-8-sig"), (by, fmt, lang)
            book = load_workbook(io.BytesIO(render(report, "xlsx", lang)))
            assert len(book.worksheets) == 2  # the report and the monthly trend
        assert json.loads(render(report, "json"))["by"] == by


# --- the command line, on a real catalog database --------------------------------------------

REGISTER_HEADER = (
    "dossier_code,unit,unit_name,unit_level,parent_unit,procedure_code,procedure_name,"
    "field_code,field_name,received_on,due_on,finished_on,status,channel,paper_result"
)


@pytest.fixture
def register_db(tmp_path, monkeypatch, catalog_url):
    """The register above imported into a fresh catalog (SQLite and PostgreSQL), with one
    record per digitised kind."""
    from test_catalog import make_manifest

    from catalog.database import forget_catalog, open_catalog
    from catalog.register import import_register
    from schemas.settings import Settings

    monkeypatch.setenv("SOHOA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SOHOA_LANG", "vi")
    monkeypatch.setenv("SOHOA_CATALOG_URL", catalog_url)
    settings = Settings()
    catalog = open_catalog(settings.resolved_catalog_url)
    units = {u.code: u for u in UNITS}
    lines = [REGISTER_HEADER]
    for e in ENTRIES:
        u = units[e.unit]
        cells = [e.dossier_code, e.unit, u.name, u.level, u.parent or "", e.procedure_code,
                 e.procedure_name, e.field_code, e.field_name, e.received_on, e.due_on,
                 e.finished_on, e.status, e.channel, int(e.paper_result)]  # fmt: skip
        lines.append(",".join(f'"{"" if c is None else c}"' for c in cells))
    source = tmp_path / "so-theo-doi.csv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert import_register(catalog, source).bad == 0
    for code, kinds in DIGITISED.items():
        for kind in kinds:
            manifest = make_manifest(f"{code}-{kind}", dossier_code=code, text="hồ sơ")
            catalog.add_record(
                manifest.model_copy(update={"kind": kind}),
                manifest_key=f"archive/{code}/{kind}.json",
                manifest_sha256="0" * 64,
            )
    yield settings
    forget_catalog(settings.resolved_catalog_url)


def _cli(*args: str):
    from typer.testing import CliRunner

    from cli.app import app

    return CliRunner().invoke(app, list(args))


def test_cli_report_json_matches_the_hand_counts(register_db):
    result = _cli("report", "--from", "01/03/2024", "--to", "2024-04-30", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {r["key"]: r for r in data["rows"]}
    assert [r["key"] for r in data["rows"]] == [H, X1, X2]
    assert rows[H]["counts"]["received"] == 11 and rows[H]["components"]["rate"] == "72.73"
    assert rows[X2]["results"]["met"] is True and rows[X1]["dossiers"]["points"] == "3.75"
    # the same numbers as the pure computation fed directly
    assert data == json.loads(render(_report(), "json"))


def test_cli_report_unit_csv_and_files(register_db, tmp_path):
    result = _cli("report", "--from", "01/03/2024", "--to", "30/04/2024", "--unit", X1,
                  "--by", "month", "-f", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    # X1 in March: received D07 D08, both with components -> 100,00 %; April: D09 D10 -> 50,00 %
    assert [r[0] for r in rows[1:]] == ["03/2024", "04/2024", "Tổng cộng"]
    assert rows[1][3] == "100,00%" and rows[2][3] == "50,00%"
    target = tmp_path / "out" / "bao-cao.xlsx"
    result = _cli("report", "--from", "01/03/2024", "--to", "30/04/2024", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert load_workbook(target).worksheets[0]["A4"].value == "Mã đơn vị"
    assert not [p for p in target.parent.iterdir() if p.name != "bao-cao.xlsx"]  # no temp left
    result = _cli("--lang", "en", "report", "--from", "2024-03-01", "--to", "2024-04-30")
    assert result.exit_code == 0 and "72.73%" in result.stdout and "Not met" in result.stdout


def test_cli_report_usage_errors(register_db):
    base = ("report", "--from", "01/03/2024", "--to", "30/04/2024")
    later = _cli("report", "--from", "30/04/2024", "--to", "01/03/2024")
    assert later.exit_code == 2 and "--from" in later.output
    assert _cli("report", "--from", "31/02/2024", "--to", "30/04/2024").exit_code == 2
    assert _cli(*base, "--by", "week").exit_code == 2
    assert _cli(*base, "--format", "pdf").exit_code == 2
    html = _cli(*base, "--format", "html")
    assert html.exit_code == 2 and "-o" in html.output
    unknown = _cli(*base, "--unit", "NO-SUCH")
    assert unknown.exit_code == 10 and "NO-SUCH" in unknown.output


def test_cli_report_on_an_empty_period_says_so_and_shows_na(register_db):
    result = _cli("report", "--from", "01/01/2030", "--to", "31/01/2030", "-f", "json")
    assert result.exit_code == 0, result.output
    assert "sohoa register import" in result.stderr
    data = json.loads(result.stdout)
    assert [r["key"] for r in data["rows"]] == [H, X1, X2]  # every unit listed, all N/A
    assert {r["components"]["rate"] for r in data["rows"]} == {None}
