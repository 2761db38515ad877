"""Library calls behind ``sohoa register`` (import and check), shared by the CLI and the web app.

Like :mod:`sohoa.commands`, they take the settings, open the shared catalog,
return plain dicts ready for JSON and let domain errors travel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from schemas.settings import Settings
from sohoa.i18n import current_lang
from storage.catalog import open_catalog
from storage.register import import_register, mismatches


def register_import(
    settings: Settings, path: Path, *, mapping: Path | None = None
) -> dict[str, Any]:
    """Import one register export into the catalog; bad rows come with a message in the UI language."""
    catalog = open_catalog(settings.resolved_catalog_url)
    result = import_register(catalog, path, mapping=mapping)
    return result.to_dict(current_lang())


def register_check(settings: Settings) -> dict[str, Any]:
    """Digitised records the register does not know, and records filed under another unit."""
    catalog = open_catalog(settings.resolved_catalog_url)
    return mismatches(catalog).to_dict()
