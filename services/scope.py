"""A caller's unit scope: what a user limited to one unit may see and ask about.

Why a module of its own: records, search and reports each refuse another unit's
data the same way (that unit and every unit under it are allowed), and each of
those services imports this one instead of one another.
"""

from __future__ import annotations

from catalog import units
from catalog.database import open_catalog
from schemas.settings import Settings
from sohoa.errors import PermissionDeniedError

__all__ = ["allowed", "scoped_unit", "units_within"]


def allowed(settings: Settings, scope: str, unit: str) -> bool:
    """Whether a caller limited to ``scope`` may see ``unit`` (``scope`` itself or one under it)."""
    within = units.scope_of(open_catalog(settings.resolved_catalog_url), scope)
    return within is None or within.allows(unit)


def scoped_unit(settings: Settings, unit: str | None, scope: str | None) -> str | None:
    """The unit a request is for: the one asked if the caller may see it, else their own.

    Raises:
        PermissionDeniedError: a unit-limited user asked for a unit outside their scope.
    """
    if scope is None:
        return unit or None
    if unit and not allowed(settings, scope, unit):
        raise PermissionDeniedError("unit_denied", unit=unit)
    return unit or scope


def units_within(settings: Settings, unit: str | None, scope: str | None) -> tuple[str, ...]:
    """Units a request is limited to: the one asked and those under it, within the scope.

    Why the units under: an auditor filtering on a district expects its communes'
    records too, as its report counts them. ``()`` means no limit.

    Raises:
        PermissionDeniedError: a unit-limited user asked for a unit outside their scope.
    """
    root = scoped_unit(settings, unit, scope)
    if root is None:
        return ()
    return units.units_under(open_catalog(settings.resolved_catalog_url), root)
