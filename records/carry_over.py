"""What a catalog rebuild carries over besides the records: from the old catalog, or the store.

Why: the archive's manifests give back records, corrections and archived batches, but
accounts, API tokens, units, the register, failed and quarantined batch rows, the fixity
history and the audit log are not in them. A catalog too damaged to read is the usual
reason to rebuild, so each part is taken from the best place that answers:

* the old catalog, when it can be opened and that part read (it is the newest);
* else the newest backup in the store (:mod:`records.catalog_backup`);
* else nowhere: the part is reported lost, and the rebuild still goes ahead.

The audit log comes from its sealed segments (:mod:`records.audit_trail`), which win
over whatever the old catalog says for the same entries, plus the old catalog's entries
not sealed yet when it can be read. Every part is one write transaction into the new
catalog, so a part that fails half way leaves nothing behind for the next source to trip on.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from catalog import audit
from catalog.copying import copy_tables, export_rows, import_rows
from catalog.database import Catalog
from catalog.tables import AuditTable, BatchTable
from records import audit_trail
from records.catalog_backup import PARTS, newest_key, read_backup, restore_part
from sohoa.errors import SohoaError
from storage.objectstore import ObjectStore

log = logging.getLogger(__name__)

FAULTS = (SohoaError, sqlite3.Error, SQLAlchemyError)
"""What a damaged old catalog raises while being read (wrapped or not)."""


@dataclass(frozen=True)
class Carried:
    """Where one part of the new catalog came from."""

    part: str
    """``accounts``, ``register``, ``batches``, ``fixity`` or ``audit``."""
    source: str | None
    """``catalog`` (the old one), ``backup``, ``segments`` (the audit log), or ``None``: lost."""
    rows: dict[str, int] = field(default_factory=dict)
    """Rows written, per table."""
    backup: str | None = None
    """Key of the backup it came from."""
    unsealed: int = 0
    """Audit entries taken from the old catalog because they were not sealed yet."""

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class _Backup:
    """The newest backup, read once and only when a part needs it."""

    def __init__(self, store: ObjectStore) -> None:
        self._store, self._read = store, False
        self.key: str | None = None
        self.tables: dict[str, list[dict[str, Any]]] | None = None

    def get(self) -> dict[str, list[dict[str, Any]]] | None:
        if not self._read:
            self._read = True
            self.key = newest_key(self._store)
            if self.key is not None:
                try:
                    self.tables = read_backup(self._store, self.key)
                except SohoaError as exc:
                    log.warning("catalog backup %s unusable: %s", self.key, exc.render("en"))
        return self.tables


def open_old(old_url: str | None) -> tuple[Catalog | None, str | None]:
    """The old catalog and ``None``, or ``None`` and why it could not be opened
    (``None`` and ``None`` when there was no old catalog)."""
    if old_url is None:
        return None, None
    try:
        return Catalog(old_url), None
    except FAULTS as exc:
        reason = exc.render("en") if isinstance(exc, SohoaError) else str(exc)
        log.warning("old catalog unreadable: %s", reason)
        return None, reason.splitlines()[0][:200] if reason else type(exc).__name__


def _from_old(old: Catalog, new: Catalog, part: str) -> dict[str, int]:
    """Copy one part from the old catalog (batches: only those the archive did not give)."""
    if part == "batches":
        return import_rows(new, [(BatchTable, export_rows(old, BatchTable))])
    return copy_tables(old, new, PARTS[part])


def _carry_part(part: str, old: Catalog | None, new: Catalog, backup: _Backup) -> Carried:
    if old is not None:
        try:
            return Carried(part, "catalog", _from_old(old, new, part))
        except FAULTS as exc:
            log.warning("%s: not readable in the old catalog: %s", part, type(exc).__name__)
    tables = backup.get()
    if tables is None:
        return Carried(part, None)
    return Carried(part, "backup", restore_part(tables, part, new), backup=backup.key)


def _unsealed(old: Catalog, new: Catalog, after_id: int) -> int:
    """Copy the old catalog's entries after ``after_id`` (not sealed yet), in chunks."""
    copied = 0
    while rows := audit.rows_after(old, after_id, limit=audit_trail.SEGMENT_MAX):
        import_rows(new, [(AuditTable, rows)])
        copied, after_id = copied + len(rows), int(rows[-1]["id"])
    return copied


def _carry_audit(old: Catalog | None, new: Catalog, store: ObjectStore) -> Carried:
    sealed, tail = audit_trail.restore(store, new)
    unsealed = 0
    if old is not None:
        try:
            unsealed = _unsealed(old, new, tail.last_id)
        except FAULTS as exc:
            log.warning("audit: unsealed entries not readable: %s", type(exc).__name__)
    audit_trail.anchor(new, tail)
    source = "segments" if sealed else ("catalog" if unsealed else None)
    rows = {AuditTable.__tablename__: sealed + unsealed}
    return Carried("audit", source, rows, unsealed=unsealed)


def carry_over(
    old_url: str | None, new_url: str, store: ObjectStore
) -> tuple[list[Carried], str | None]:
    """Fill the new catalog's other parts; what came from where, and why the old catalog
    could not be read (``None`` when it could, or there was none).

    Raises:
        StorageError: the store or the new catalog failed (the rebuild is abandoned).
    """
    old, unreadable = open_old(old_url)
    backup = _Backup(store)
    new = Catalog(new_url)
    try:
        carried = [_carry_part(part, old, new, backup) for part in PARTS]
        carried.append(_carry_audit(old, new, store))
    finally:
        new.close()
        _close(old)
    return carried, unreadable


def _close(catalog: Catalog | None) -> None:
    """Close the old catalog; a damaged one failing to close changes nothing."""
    if catalog is not None:
        try:
            catalog.close()
        except FAULTS:
            log.debug("old catalog did not close cleanly")
