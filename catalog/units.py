"""The office's units (đơn vị): the admin's list, and what a unit-limited user may see.

Units live in the register's ``register_units`` table, which ``sohoa register
import`` fills from the one-stop-shop export. An office that has not imported a
register yet still needs units to limit accounts to, and an export may leave a
unit's name or parent blank, so an administrator can add and correct them here
(``/admin/units``). A later import overwrites what its file states (the export is
the office's source of truth) and keeps what it leaves blank.

A user limited to a unit sees that unit *and every unit under it*: an auditor of a
district reads its communes' records, as the report already rolls them up.
:func:`scope_of` turns the account's unit into that set, from the same
:class:`schemas.unit_tree.UnitTree` the reports use.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from catalog.connection import storage_errors
from catalog.database import Catalog
from catalog.register import units as register_units
from catalog.tables import BatchTable, RecordTable, RegisterEntryTable, RegisterUnitTable, UserTable
from schemas.register import Unit, UnitLevel
from schemas.unit_tree import UnitTree
from sohoa.errors import ConflictError, InvalidRequestError, NotFoundError

__all__ = [
    "LEVELS",
    "UNIT_CODE",
    "UnitOverview",
    "UnitScope",
    "delete_unit",
    "overview",
    "save_unit",
    "scope_of",
]

log = logging.getLogger(__name__)

UNIT_CODE = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What a unit code may be: the one-stop-shop codes (``000.00.06.H56``) and short ones (``H56``)."""

LEVELS: tuple[str, ...] = get_args(UnitLevel)
"""Cấp đơn vị in hierarchy order: tỉnh, sở, huyện, xã."""

NAME_MAX = 200


# --- scope -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitScope:
    """The units a user limited to ``root`` may see: ``root`` and its descendants."""

    root: str
    codes: frozenset[str]

    def allows(self, unit: str | None) -> bool:
        """Whether a record, batch or filter of ``unit`` is inside the scope."""
        return unit is not None and unit in self.codes


def _tree(catalog: Catalog) -> UnitTree:
    return UnitTree(register_units(catalog))


def subtree_codes(tree: UnitTree, unit: str) -> frozenset[str]:
    """``unit`` and every unit under it; just ``unit`` when the unit list does not know it."""
    if unit not in tree.units:
        return frozenset({unit})
    return frozenset(code for code, _ in tree.subtree(unit))


def scope_of(catalog: Catalog, unit: str | None) -> UnitScope | None:
    """The scope of an account limited to ``unit`` (``None``: not limited, every unit).

    Raises:
        StorageError: the catalog cannot be read.
    """
    if unit is None:
        return None
    return UnitScope(unit, subtree_codes(_tree(catalog), unit))


def units_under(catalog: Catalog, unit: str) -> tuple[str, ...]:
    """``unit`` and its descendants, for a unit filter that should include the units below."""
    return tuple(sorted(subtree_codes(_tree(catalog), unit)))


# --- the admin's list --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitOverview:
    """One row of ``/admin/units``: the unit, where it sits, and what refers to it."""

    code: str
    name: str
    level: str | None
    parent: str | None
    depth: int
    listed: bool
    """In the unit list; ``False``: only records, batches, users or register rows name it."""
    dossiers: int
    records: int
    users: int
    batches: int
    """Uploaded batches naming it, still waiting or long archived (their records count too)."""
    children: int = 0
    """Units listed under it."""

    @property
    def in_use(self) -> bool:
        return bool(self.dossiers or self.records or self.users or self.batches or self.children)


def _counts(session: Session) -> dict[str, Counter[str]]:
    """Register dossiers, records, accounts and batches per unit code, one query each."""
    columns = {
        "dossiers": RegisterEntryTable.unit,
        "records": RecordTable.unit,
        "users": UserTable.unit,
        "batches": BatchTable.unit,
    }
    return {
        name: Counter(
            {
                code: n
                for code, n in session.execute(select(col, func.count()).group_by(col))
                if code
            }
        )
        for name, col in columns.items()
    }


@storage_errors
def overview(catalog: Catalog) -> list[UnitOverview]:
    """Every unit in hierarchy order (parents first), then codes used but never listed."""
    tree = _tree(catalog)
    listed = set(tree.units)
    with catalog._read() as session:
        counts = _counts(session)
    unlisted = sorted(set().union(*counts.values()) - listed)
    order = [*tree.subtree(None), *((code, 0) for code in unlisted)]
    rows = []
    for code, depth in order:
        unit = tree.units.get(code)
        rows.append(
            UnitOverview(
                code=code,
                name=unit.name if unit else "",
                level=unit.level if unit else None,
                parent=unit.parent if unit else None,
                depth=depth,
                listed=unit is not None,
                **{name: counted[code] for name, counted in counts.items()},
                children=len(tree.children.get(code, ())),
            )
        )
    return rows


def _checked(code: str, name: str, level: str | None, parent: str | None) -> Unit:
    """The unit as the admin typed it, or the reason it cannot be saved."""
    code, name = code.strip(), " ".join(name.split())
    if not UNIT_CODE.fullmatch(code):
        raise InvalidRequestError("upload_bad_unit", unit=code[:70])
    if not name or len(name) > NAME_MAX:
        raise InvalidRequestError("unit_bad_name", limit=NAME_MAX)
    if level and level not in LEVELS:
        raise InvalidRequestError("unit_bad_level", level=level[:20], levels=", ".join(LEVELS))
    parent = (parent or "").strip() or None
    if parent == code:
        raise InvalidRequestError("unit_parent_cycle", unit=code, parent=code)
    return Unit(code=code, name=name, level=level or None, parent=parent)


@storage_errors
def save_unit(
    catalog: Catalog,
    code: str,
    *,
    name: str,
    level: str | None = None,
    parent: str | None = None,
) -> tuple[Unit, bool]:
    """Add a unit or change one's name, level and parent; returns it and whether it was new.

    Raises:
        InvalidRequestError: a bad code, name or level; a parent that is not in the list
            or lies under the unit itself (a loop would hide units from every scope).
    """
    unit = _checked(code, name, level, parent)
    with catalog._write() as session:
        known = {
            row.code: row.parent
            for row in session.execute(select(RegisterUnitTable.code, RegisterUnitTable.parent))
        }
        if unit.parent is not None:
            _check_parent(unit, known)
        values = {"name": unit.name, "level": unit.level, "parent": unit.parent}
        row = session.get(RegisterUnitTable, unit.code)
        now = datetime.now(UTC)
        if row is None:
            session.add(RegisterUnitTable(code=unit.code, updated_at=now, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
    log.info("unit %s %s", unit.code, "added" if row is None else "changed")
    return unit, row is None


def _check_parent(unit: Unit, known: dict[str, str | None]) -> None:
    """Refuse an unknown parent, or one that is the unit itself or below it."""
    if unit.parent not in known:
        raise InvalidRequestError("unit_parent_unknown", parent=unit.parent)
    seen, step = set(), unit.parent
    while step is not None and step not in seen:
        if step == unit.code:
            raise InvalidRequestError("unit_parent_cycle", unit=unit.code, parent=unit.parent)
        seen.add(step)
        step = known.get(step)


@storage_errors
def delete_unit(catalog: Catalog, code: str) -> None:
    """Remove a unit nothing refers to (a typo, a test entry).

    Raises:
        NotFoundError: no such unit in the list.
        ConflictError: a register dossier, record, batch, account or child unit still names it;
            removing it would drop them from reports and scopes.
    """
    with catalog._write() as session:  # counted inside the transaction that deletes
        if session.get(RegisterUnitTable, code) is None:
            raise NotFoundError("unit_not_found", unit=code[:70])
        children = session.scalar(select(func.count()).where(RegisterUnitTable.parent == code))
        used = sum(counted[code] for counted in _counts(session).values()) + (children or 0)
        if used:
            raise ConflictError("unit_in_use", unit=code, count=used)
        session.execute(delete(RegisterUnitTable).where(RegisterUnitTable.code == code))
    log.info("unit %s removed", code)
