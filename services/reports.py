"""Library calls behind ``sohoa report``: read the register, compute, render, write.

The CLI and (later) the nightly flow call these; the arithmetic itself is the pure
:func:`reports.rates.build_report`, and the formats are :func:`reports.render.render`.
They raise domain errors (:mod:`sohoa.errors`) and never print.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

from reports.rates import build_report
from reports.render import FORMATS, render
from schemas.register import RegisterEntry, Unit
from schemas.report import Period, Report
from schemas.settings import Settings
from schemas.unit_tree import UnitTree, UnknownUnitError
from sohoa.errors import NotFoundError, StorageError

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
        try:
            codes = [code for code, _ in UnitTree(units).subtree(unit)]
        except UnknownUnitError:
            raise NotFoundError("report_unknown_unit", unit=unit) from None
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
    catalog=None,
) -> Report:
    """The report for ``unit``'s subtree (whole register when ``None``) over ``start..end``.

    Raises:
        NotFoundError: unknown unit.
        StorageError: the catalog database failed.
    """
    if catalog is None:
        from catalog.database import open_catalog

        catalog = open_catalog(settings.resolved_catalog_url)
    period = Period(start=start, end=end)
    entries, units, digitised = load_register(catalog, period, unit)
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
    """:func:`reports.rates.build_report` with the configured scoring, errors made domain errors."""
    try:
        return build_report(
            entries, units, digitised, period=period, unit=unit, by=by, settings=settings.report
        )
    except UnknownUnitError:
        raise NotFoundError("report_unknown_unit", unit=unit) from None


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
