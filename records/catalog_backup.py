"""Back up what only the catalog holds to the object store, and restore it in a rebuild.

Why: records and corrections come back from the archive's manifests, but accounts, API
tokens, units, the dossier register, the outcomes of failed and quarantined batches and
the fixity history exist nowhere else. Each backup is one gzipped JSON object under
``derived/catalog-backup/`` with a new key named by the UTC instant it was taken, so no
backup is ever overwritten and the newest is simply the last key listed (no pointer that
could disagree with what is there). The nightly run and ``sohoa catalog backup`` write
one; a rebuild that cannot read the old catalog restores the newest.

No secret is written in plain text: passwords are argon2id hashes and API tokens SHA-256
digests, exactly as the catalog stores them (a copy of either signs nobody in). Sign-in
sessions are not backed up (everyone signs in again after a rebuild), nor sign-in failure
counters. The audit log travels apart, hash-chained (:mod:`records.audit_trail`).
"""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import DeclarativeBase

from catalog.copying import export_rows, import_rows
from catalog.database import Catalog
from catalog.tables import (
    ApiTokenTable,
    BatchTable,
    FixityFailureTable,
    FixityRunTable,
    RegisterEntryTable,
    RegisterUnitTable,
    UserTable,
)
from sohoa.errors import StorageError
from storage.object_keys import BACKUP_PREFIX, backup_key
from storage.objectstore import ObjectStore

log = logging.getLogger(__name__)

FORMAT = "sohoa-catalog-backup/1"

PARTS: dict[str, tuple[type[DeclarativeBase], ...]] = {
    "accounts": (UserTable, ApiTokenTable),
    "register": (RegisterUnitTable, RegisterEntryTable),
    "batches": (BatchTable,),
    "fixity": (FixityRunTable, FixityFailureTable),
}
"""What a backup holds, by part (each part's tables parents first). ``register`` holds the
unit list too (units live in ``register_units``)."""


@dataclass(frozen=True)
class BackupInfo:
    """One backup written."""

    key: str
    taken_at: datetime
    rows: dict[str, int]
    """Rows per table."""


def _export(catalog: Catalog) -> dict[str, list[dict[str, Any]]]:
    """Every backed-up table's rows, children first: a child read before its parent is never
    left without it by a write in between (accounts, units and runs are never deleted)."""
    tables = [t for part in PARTS.values() for t in part]
    return {t.__tablename__: export_rows(catalog, t) for t in reversed(tables)}


def write_backup(
    catalog: Catalog, store: ObjectStore, *, now: datetime | None = None
) -> BackupInfo:
    """Write a new backup of :data:`PARTS`; never overwrites an earlier one.

    Raises:
        StorageError: the catalog or the store failed (nothing is half written: one put).
    """
    taken_at = now or datetime.now(UTC)
    tables = _export(catalog)
    body = {"format": FORMAT, "taken_at": taken_at.isoformat(), "tables": tables}
    data = gzip.compress(json.dumps(body, ensure_ascii=False).encode("utf-8"), mtime=0)
    key = backup_key(taken_at)
    if store.exists(key):
        raise StorageError(operation="backup", reason=f"{key} already exists")
    store.put_bytes(key, data, content_type="application/gzip")
    return BackupInfo(key, taken_at, {name: len(rows) for name, rows in tables.items()})


def newest_key(store: ObjectStore) -> str | None:
    """Key of the newest backup, ``None`` when there is none."""
    keys = [k for k in store.list(BACKUP_PREFIX) if k.endswith(".json.gz")]
    return keys[-1] if keys else None


def read_backup(store: ObjectStore, key: str) -> dict[str, list[dict[str, Any]]]:
    """The tables of one backup.

    Raises:
        StorageError: the store failed, or the object is not a catalog backup.
    """
    try:
        body = json.loads(gzip.decompress(store.get_bytes(key)))
        if body.get("format") != FORMAT or not isinstance(body.get("tables"), dict):
            raise ValueError("not a catalog backup")
    except (OSError, ValueError, AttributeError) as exc:
        raise StorageError(operation="read backup", reason=f"{key}: {str(exc)[:120]}") from None
    return body["tables"]


def restore_part(
    tables: dict[str, list[dict[str, Any]]], part: str, target: Catalog
) -> dict[str, int]:
    """Write one part of a backup into ``target``; rows written per table (rows whose key is
    already there, an archived batch rebuilt from its manifests, are left as they are)."""
    return import_rows(target, [(t, tables.get(t.__tablename__, [])) for t in PARTS[part]])
