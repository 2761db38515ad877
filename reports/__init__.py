"""Digitisation-rate reports (Decision 766/QĐ-TTg).

:mod:`reports.rates` computes a :class:`schemas.report.Report` from the dossier
register and the index of digitised records, as a pure function (no I/O), so the
CLI, the nightly flow and the tests share one computation; :mod:`reports.render`
turns a report into bytes (table, CSV, JSON, XLSX, HTML) in Vietnamese or English.
"""

from __future__ import annotations

from reports.rates import build_report, percent
from reports.render import FORMATS, render

__all__ = ["FORMATS", "build_report", "percent", "render"]
