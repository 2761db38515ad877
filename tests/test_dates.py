"""One date parser for every command and page (:mod:`sohoa.dates`).

Why these tests: ``sohoa nightly --day``, ``sohoa report``, ``sohoa search`` and the
web's date fields used to read days with three parsers, so ``21.11.2026`` was a day
for one command and refused by the next. Every form accepted anywhere is now
accepted everywhere, and a bad day is one error type that names its option.
"""

from __future__ import annotations

import json
import sys
import types
from datetime import UTC, date, datetime

import pytest
import typer
from typer.testing import CliRunner

from sohoa.dates import parse_day, parse_optional_day, printed_day
from sohoa.errors import BadDayError, ExitCode, InvalidRequestError
from storage import waiting


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21",  # ISO, what a browser's date input sends
        "2026-11-21 ",  # surrounding blanks are ignored
        "21/11/2026",
        "21.11.2026",
        "21-11-2026",
        " 21/11/2026\t",
    ],
)
def test_every_form_names_the_same_day(text):
    assert parse_day(text) == date(2026, 11, 21)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-3-5", date(2024, 3, 5)),  # one-digit month and day, ISO order
        ("5/3/2024", date(2024, 3, 5)),  # day first, as offices write it
        ("05.03.2024", date(2024, 3, 5)),
        ("5-3-2024", date(2024, 3, 5)),
        ("29/02/2024", date(2024, 2, 29)),  # a leap day is a day
    ],
)
def test_short_and_dotted_forms(text, day):
    assert parse_day(text) == day


@pytest.mark.parametrize(
    "text",
    ["31/02/2026", "29/02/2025", "2026-13-01", "2024/03/05", "10/9/22", "March 5", "", "  "],
)
def test_anything_else_is_refused_with_the_option_named(text):
    with pytest.raises(BadDayError) as caught:
        parse_day(text, option="--from")
    error = caught.value
    assert error.params == {"option": "--from", "value": text.strip()}
    assert error.key == "bad_day" and "--from" in error.render("en")
    # one type for every caller: a usage error (CLI exit 2, HTTP 400) and a ValueError
    assert isinstance(error, InvalidRequestError) and isinstance(error, ValueError)
    assert error.exit_code == ExitCode.USAGE


def test_a_long_refused_value_is_not_echoed_whole():
    with pytest.raises(BadDayError) as caught:
        parse_day("x" * 500, option="to")
    assert len(caught.value.params["value"]) == 32


def test_a_blank_form_field_is_no_day():
    assert parse_optional_day(None, option="from") is None
    assert parse_optional_day("  ", option="from") is None
    assert parse_optional_day("21.11.2026", option="from") == date(2026, 11, 21)
    with pytest.raises(BadDayError):
        parse_optional_day("31/02/2026", option="to")


def test_the_nightly_report_day_takes_every_form():
    assert waiting.report_day("21.11.2026", "UTC") == date(2026, 11, 21)
    assert waiting.report_day("2026-11-21", "UTC") == waiting.report_day("21/11/2026", "UTC")
    with pytest.raises(ValueError):
        waiting.report_day("31.02.2026", "UTC")


def _nightly_app(monkeypatch) -> tuple[typer.Typer, list[date | None]]:
    """``sohoa nightly`` alone, with the flow replaced by one that records the day it got."""
    from cli import common
    from cli.nightly import nightly
    from schemas.nightly import NightlySummary

    asked: list[date | None] = []

    def run_nightly(settings, *, day):
        asked.append(day)
        return NightlySummary(day=day, started_at=datetime.now(UTC), duration_s=0.0)

    fake_flow = types.ModuleType("flows.nightly")
    fake_flow.run_nightly = run_nightly  # type: ignore[attr-defined]
    fake_runtime = types.ModuleType("flows.runtime")
    fake_runtime.prepare_prefect = lambda settings: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "flows.nightly", fake_flow)
    monkeypatch.setitem(sys.modules, "flows.runtime", fake_runtime)
    monkeypatch.setattr(common, "load_settings", lambda: object())
    app = typer.Typer()
    app.command()(nightly)
    return app, asked


def test_nightly_accepts_a_dotted_day(monkeypatch):
    """``sohoa nightly --day 21.11.2026`` was refused while ``sohoa report`` took it."""
    app, asked = _nightly_app(monkeypatch)
    result = CliRunner().invoke(app, ["--day", "21.11.2026", "--json"])
    assert result.exit_code == 0, result.output
    assert asked == [date(2026, 11, 21)]
    assert json.loads(result.stdout)["day"] == "2026-11-21"


def test_nightly_still_refuses_a_day_that_does_not_exist(monkeypatch):
    app, asked = _nightly_app(monkeypatch)
    result = CliRunner().invoke(app, ["--day", "31.02.2026"])
    assert result.exit_code == int(ExitCode.USAGE) and asked == []


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("14 giờ 30 phút, ngày 05 tháng 11 năm 2026", date(2026, 11, 5)),  # a receipt's time
        ("08h00 ngày 05/11/2026", date(2026, 11, 5)),
        ("14:30, 05/11/2026", date(2026, 11, 5)),
        ("ngày 31 tháng 10 năm 2 023", date(2023, 10, 31)),  # OCR split the year
        ("ngày 0 5 tháng 1 1 năm 2026", date(2026, 11, 5)),  # ... and the day and month
        ("05/11/2 026", date(2026, 11, 5)),
        ("NGÀY 5 THÁNG 11 NĂM 2026", date(2026, 11, 5)),
        ("ngay 5 thang 11 nam 2026", date(2026, 11, 5)),  # diacritics lost
    ],
)
def test_printed_days_as_ocr_reads_them(text, day):
    assert printed_day(text) == day


@pytest.mark.parametrize(
    "text",
    [
        "ngày 31/02/2026",  # no such day
        "14 giờ 30 phút",  # a time is no day: its digits never join a date
        "Năm sinh: 1996",
        "ngày 05 tháng 11 năm 20  26",  # two spaces: not one number
        "Nguyễn Văn An",
    ],
)
def test_no_printed_day(text):
    assert printed_day(text) is None
