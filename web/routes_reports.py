"""Digitisation rates for the auditor: ``GET /reports`` and its XLSX export.

The numbers are ``sohoa report``'s (:func:`services.reports.compute_report`,
which limits it to the user's unit), the table cells, labels and both
SVG charts are the HTML report's pieces (:func:`reports.html.page_parts`,
:func:`reports.html.chart_svgs`), laid out in this app's template because the
report's own page carries inline styles this app's CSP refuses. The export is
``render(report, "xlsx", lang)``, the file ``sohoa report -o x.xlsx`` writes.

A user limited to a unit sees their unit (rolled up with the units under it);
asking for another is 403. Every report shown or exported is audited
``report.view`` with its period, unit, grouping and format.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from catalog.audit import Action
from catalog.register import units as register_units
from reports.html import chart_svgs, page_parts
from reports.layout import label
from schemas.report import GROUP_BY, Counts, Report
from services import reports as report_service
from sohoa.dates import parse_optional_day
from sohoa.errors import InvalidRequestError, NotFoundError, SohoaError
from web.audit import audit, office_zone
from web.auth import Principal, require, unit_scope
from web.deps import catalog_of, now_of, settings_of
from web.i18n import error_text, request_lang
from web.pages import render
from web.roles import Permission
from web.statuses import http_status

__all__ = ["default_period", "report_download", "router", "run_report"]

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(require(Permission.REPORTS))]
Day = Annotated[str, Query(max_length=32)]
Unit = Annotated[str, Query(max_length=64)]
By = Annotated[str, Query(max_length=16)]


def default_period(request: Request) -> tuple[date, date]:
    """The month to date in the office's time zone: what the nightly run publishes."""
    today = now_of(request).astimezone(office_zone(request)).date()
    return today.replace(day=1), today


def run_report(
    request: Request,
    principal: Principal,
    *,
    day_from: str,
    day_to: str,
    unit: str,
    by: str,
    fmt: str,
) -> Report:
    """Compute the report asked for (blank days: this month) and log it (``report.view``).

    Raises:
        InvalidRequestError: a bad day, a reversed period or an unknown grouping.
        NotFoundError: the unit is not in the register.
        PermissionDeniedError: a unit-limited user asked for another unit.
    """
    first, last = default_period(request)
    start = parse_optional_day(day_from, option="from") or first
    end = parse_optional_day(day_to, option="to") or max(start, last)
    found = report_service.compute_report(
        settings_of(request),
        start=start,
        end=end,
        unit=unit.strip() or None,
        by=by or "unit",
        scope=unit_scope(principal),
    )
    audit(
        request,
        Action.REPORT_VIEW,
        target=found.unit,
        start=start.isoformat(),
        end=end.isoformat(),
        by=found.by,
        format=fmt,
        rows=len(found.rows),
    )
    return found


def report_download(report: Report, fmt: str, lang: str) -> Response:
    """The report as a file to save (``xlsx``)."""
    data, media_type, name = report_service.report_file(report, fmt, lang)
    return Response(
        data,
        media_type=media_type,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def _units(request: Request, principal: Principal) -> list[tuple[str, str]]:
    """``(code, name)`` of the units the form offers: the register's, or the user's own."""
    try:
        known = [(u.code, u.name or u.code) for u in register_units(catalog_of(request))]
    except SohoaError:
        known = []
    if principal.unit:
        return [(c, n) for c, n in known if c == principal.unit] or [
            (principal.unit, principal.unit)
        ]
    return known


@router.get("/reports")
def reports_page(
    request: Request,
    principal: Reader,
    day_from: Annotated[str, Query(alias="from", max_length=32)] = "",
    day_to: Annotated[str, Query(alias="to", max_length=32)] = "",
    unit: Unit = "",
    by: By = "unit",
) -> Response:
    """The form, the rates table and the two charts; the XLSX link repeats the form's values."""
    lang = request_lang(request)
    first, last = default_period(request)
    values = {
        "from": day_from or first.isoformat(),
        "to": day_to or last.isoformat(),
        "unit": principal.unit or unit,
        "by": by,
    }
    context: dict[str, Any] = {
        "values": values,
        "units": _units(request, principal),
        "groupings": [(key, label(f"by_{key}", lang)) for key in GROUP_BY],
        "parts": None,
        "charts": None,
        "empty": False,
        "error": None,
        "export": "/reports/export.xlsx?" + urlencode({k: v for k, v in values.items() if v}),
    }
    try:
        found = run_report(
            request,
            principal,
            day_from=values["from"],
            day_to=values["to"],
            unit=unit,
            by=by,
            fmt="html",
        )
    except (InvalidRequestError, NotFoundError) as exc:
        context["error"] = error_text(exc, lang)
        return render(request, "reports.html", status=http_status(exc), **context)
    parts = page_parts(found, lang)  # type: ignore[arg-type]
    context.update(parts=parts, charts=chart_svgs(parts), empty=found.totals.counts == Counts())
    return render(request, "reports.html", **context)


@router.get("/reports/export.xlsx")
def reports_export(
    request: Request,
    principal: Reader,
    day_from: Annotated[str, Query(alias="from", max_length=32)] = "",
    day_to: Annotated[str, Query(alias="to", max_length=32)] = "",
    unit: Unit = "",
    by: By = "unit",
) -> Response:
    """The same report as a print-ready workbook (``sohoa report -o ….xlsx``)."""
    found = run_report(
        request, principal, day_from=day_from, day_to=day_to, unit=unit, by=by, fmt="xlsx"
    )
    return report_download(found, "xlsx", request_lang(request))
