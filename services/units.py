"""Library calls behind ``sohoa units`` and the admin's unit pages (``/admin/units``).

As with :mod:`services.users`, the CLI, the page and the API call these same
functions, so a unit added either way obeys the same rules and leaves the same
audit entry (ids and codes only: unit names are public, but the log stays uniform).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from catalog import audit, units
from catalog.audit import Action, Actor
from catalog.database import open_catalog
from schemas.settings import Settings

__all__ = ["list_units", "remove_unit", "save_unit"]


def list_units(settings: Settings) -> list[dict[str, Any]]:
    """Every unit in hierarchy order with what refers to it, then codes used but not listed."""
    rows = units.overview(open_catalog(settings.resolved_catalog_url))
    return [{**asdict(row), "in_use": row.in_use} for row in rows]


def save_unit(
    settings: Settings,
    code: str,
    *,
    name: str,
    level: str | None = None,
    parent: str | None = None,
    actor: Actor,
) -> dict[str, Any]:
    """Add or change a unit (see :func:`catalog.units.save_unit` for the rules)."""
    catalog = open_catalog(settings.resolved_catalog_url)
    unit, created = units.save_unit(catalog, code, name=name, level=level, parent=parent)
    audit.record(
        catalog,
        actor,
        Action.UNIT_SAVE,
        target=unit.code,
        detail={"created": created, "level": unit.level, "parent": unit.parent},
    )
    return {**unit.model_dump(), "created": created}


def remove_unit(settings: Settings, code: str, *, actor: Actor) -> None:
    """Remove a unit nothing refers to (see :func:`catalog.units.delete_unit`)."""
    catalog = open_catalog(settings.resolved_catalog_url)
    units.delete_unit(catalog, code)
    audit.record(catalog, actor, Action.UNIT_DELETE, target=code)
