"""Library calls behind ``sohoa report`` and the auditor's report page: read the register,
compute, render, write.

The CLI, the nightly flow (:mod:`services.publish`) and the web
(:mod:`web.routes_reports`) call these; the arithmetic itself
is the pure :func:`reports.rates.build_report`, and the formats are
:func:`reports.render.render`. They raise domain errors (:mod:`sohoa.errors`) and
never print.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from reports.rates import build_report
from reports.render import FORMATS, render
from schemas.register import RegisterEntry, Unit
from schemas.report import GROUP_BY, Period, Report
from schemas.settings import Settings
from schemas.unit_tree import UnitTree
from services.scope import scoped_unit
from sohoa.errors import InvalidRequestError, StorageError, UnknownUnitError

SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".xlsx": "xlsx", ".html": "html", ".htm": "html"}
"""Format chosen from ``-o``'s suffix when ``--format`` is not given."""


def choose_format(fmt: str | None, output: Path | None) -> str:
    """``--format`` if given, else the output file's suffix, else the terminal table.

    Raises:
        ValueError: ``fmt`` is not one of :data:`reports.render.FORMATS`.
    """
    if fmt is None:
        return SUFFIX_FORMATS.get(output.suffix.lower(), "table") if output else "table"
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(fmt)
    return fmt


def load_register(
    catalog, period: Period, unit: str | None
) -> tuple[list[RegisterEntry], list[Unit], dict[str, frozenset[str]]]:
    """What the computation needs from the catalog database, filtered in SQL.

    A dossier counts when received *or* solved in the period, so the register is
    read twice (once per date) and merged by mã hồ sơ; only the dossiers found are
    looked up in the index of digitised records.

    Raises:
        NotFoundError: ``unit`` is not in the register's unit list.
        StorageError: the database failed.
    """
    from catalog import register

    units = register.units(catalog)
    codes: list[str] | None = None
    if unit is not None:
        tree = UnitTree(units)
        if unit not in tree:
            raise UnknownUnitError(unit=unit)
        codes = [code for code, _ in tree.subtree(unit)]
    found: dict[str, RegisterEntry] = {}
    ranges = (
        {"received_from": period.start, "received_to": period.end},
        {"finished_from": period.start, "finished_to": period.end},
    )
    for bounds in ranges:
        for entry in register.entries(catalog, units=codes, **bounds):
            found[entry.dossier_code] = entry
    digitised = register.digitised_index(catalog, list(found)) if found else {}
    return list(found.values()), units, digitised


def compute_report(
    settings: Settings,
    *,
    start: date,
    end: date,
    unit: str | None = None,
    by: str = "unit",
    scope: str | None = None,
    catalog=None,
) -> Report:
    """The report for ``unit``'s subtree (whole register when ``None``) over ``start..end``.

    ``sohoa report`` checks its options itself first (usage errors in its own words);
    a web form sends anything, so the same checks raise here as domain errors.

    Args:
        scope: the caller's unit when limited to one (the web's users): the report is
            for ``unit`` if within it, else for ``scope`` itself.
        catalog: an open catalog (the nightly flow's); ``None`` opens the settings' one.

    Raises:
        InvalidRequestError: the start is after the end, or ``by`` is unknown.
        PermissionDeniedError: a unit-limited caller asked for another unit.
        NotFoundError: unknown unit.
        StorageError: the catalog database failed.
    """
    if start > end:
        raise InvalidRequestError("bad_period", start=str(start), end=str(end))
    if by not in GROUP_BY:
        raise InvalidRequestError("report_bad_by", value=by[:32], known=", ".join(GROUP_BY))
    if scope is not None:
        unit = scoped_unit(settings, unit, scope)
    if catalog is None:
        from catalog.database import open_catalog

        catalog = open_catalog(settings.resolved_catalog_url)
    period = Period(start=start, end=end)
    try:
        entries, units, digitised = load_register(catalog, period, unit)
    except UnknownUnitError:
        if scope is None or unit != scope:
            raise
        # the caller's own unit, with no register rows yet: an empty report, not "not found"
        entries, units, digitised = [], [Unit(code=scope, name=scope)], {}
    return report_from(
        entries, units, digitised, period=period, unit=unit, by=by, settings=settings
    )


def report_from(
    entries: Iterable[RegisterEntry],
    units: Iterable[Unit],
    digitised: dict[str, frozenset[str]],
    *,
    period: Period,
    unit: str | None,
    by: str,
    settings: Settings,
) -> Report:
    """:func:`reports.rates.build_report` with the configured scoring."""
    return build_report(
        entries, units, digitised, period=period, unit=unit, by=by, settings=settings.report
    )


def write_report(report: Report, fmt: str, lang: str, output: Path) -> Path:
    """Render and write atomically (temporary file, then replace): a reader of ``output``
    sees the old report or the whole new one, never half of it.

    Raises:
        StorageError: the file cannot be written (no such folder, no permission, disk full).
    """
    from storage.objectstore import atomic_write_bytes

    output = Path(output)
    data = render(report, fmt, lang)
    try:
        atomic_write_bytes(output, data)
    except OSError as exc:
        raise StorageError("report_write_failed", path=str(output), reason=exc.strerror) from exc
    return output


def report_file(report: Report, fmt: str, lang: str) -> tuple[bytes, str, str]:
    """``(bytes, media type, file name)`` of the report in ``fmt`` (``xlsx``, ``json``, ``csv``)."""
    types: dict[str, str] = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "json": "application/json",
        "csv": "text/csv; charset=utf-8",
    }
    name = f"ty-le-so-hoa_{report.period.start:%Y%m%d}-{report.period.end:%Y%m%d}.{fmt}"
    return render(report, fmt, lang), types[fmt], name
