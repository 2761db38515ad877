"""Publish the nightly reports into the object store's derived area.

Two reports a night, each in every configured format (``nightly.report_formats``):

```
derived/reports/daily/{yyyy-mm-dd}.{fmt}     the reported day alone
derived/reports/monthly/{yyyy-mm}.{fmt}      the 1st of that month up to the reported day
```

Keys depend on the day only, so a re-run overwrites the same objects instead of
adding copies, and the month's file grows night by night until, on the 1st of the
next month, it covers the whole month. The figures are those of ``sohoa report``
for the same period (the same :func:`services.reports.compute_report`: the
dossier register for the denominators, the catalog for what was digitised).

Plain functions, no Prefect: :mod:`flows.nightly` wires them.
"""

from __future__ import annotations

from datetime import date

from schemas.settings import Settings

PREFIX = "derived/reports"
"""Where the nightly reports go (the ``derived`` area: its own bucket on S3)."""

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
"""Formats the nightly run can publish, with their MIME types."""


def daily_key(day: date, fmt: str) -> str:
    """Key of the day's report."""
    return f"{PREFIX}/daily/{day:%Y-%m-%d}.{fmt}"


def monthly_key(day: date, fmt: str) -> str:
    """Key of the month-to-date report of ``day``'s month."""
    return f"{PREFIX}/monthly/{day:%Y-%m}.{fmt}"


def write_reports(settings: Settings, catalog, store, *, day: date) -> list[str]:
    """Compute the day's and the month-to-date report and put them in the store.

    Everything is rendered before the first put, so a rendering error writes
    nothing; each put replaces its object atomically.

    Args:
        settings: ``nightly.report_formats`` and ``nightly.report_lang`` choose the
            files; ``report`` the scoring.
        catalog: the catalog holding the dossier register and the records.
        store: the object store (:func:`storage.stores.open_store`).
        day: the reported day.

    Returns:
        The keys written, daily first.

    Raises:
        StorageError: the catalog could not be read or the store refused a put.
        ImportError: the report code is not installed.
    """
    from reports.render import render
    from services.reports import compute_report

    options = settings.nightly
    rendered: list[tuple[str, bytes, str]] = []
    for start, key_of in ((day, daily_key), (day.replace(day=1), monthly_key)):
        report = compute_report(settings, start=start, end=day, catalog=catalog)
        for fmt in options.report_formats:
            body = render(report, fmt, options.report_lang)
            rendered.append((key_of(day, fmt), body, CONTENT_TYPES[fmt]))
    for key, body, content_type in rendered:
        store.put_bytes(key, body, content_type=content_type)
    return [key for key, _, _ in rendered]


__all__ = [
    "PREFIX",
    "daily_key",
    "monthly_key",
    "write_reports",
]
