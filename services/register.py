"""Library calls behind ``sohoa register`` (import and check), shared by the CLI and the web app.

Like :mod:`services.records`, they take the settings, open the shared catalog,
return plain dicts ready for JSON and let domain errors travel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.database import open_catalog
from catalog.register import import_register, mismatches
from schemas.settings import Settings
from sohoa.messages import current_lang


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
