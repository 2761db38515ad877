"""The object key layout, in one place (documented in the README).

```
originals/{unit}/{yyyy}/{mm}/{batch_id}/{nnn}-{file name}
originals/_intake/{batch_id}.json          a received batch waiting for a worker
originals/_quarantine/{batch_id}.json      a received batch refused, with the reason
archive/{unit}/{yyyy}/{mm}/{dossier code}/{record_id}.pdf
archive/{unit}/{yyyy}/{mm}/{dossier code}/{record_id}.manifest.json
archive/{unit}/{yyyy}/{mm}/{dossier code}/{record_id}.v{n}.pdf            version n >= 2
archive/{unit}/{yyyy}/{mm}/{dossier code}/{record_id}.v{n}.manifest.json  (a page added/replaced)
originals/{unit}/{yyyy}/{mm}/{batch_id}/v{n}-{file name}                  that version's new scan
archive/_audit/{nnnnnnnnnn}.json           one sealed segment of the hash-chained audit log
derived/catalog-backup/{yyyymmddThhmmssffffffZ}.json.gz   what only the catalog holds
```
Year and month are those of the batch's receipt. The two ``_`` folders hold the
intake's tickets (:mod:`storage.intake`), ``archive/_audit/`` the audit log's segments
(:mod:`records.audit_trail`: under object lock, never rewritten); no unit code starts with
``_``. Catalog backups (:mod:`records.catalog_backup`) get a new key each time, named by the
instant they were taken, so the newest is the last key listed and none is overwritten. A record without a known
dossier code goes under ``_chua-xac-dinh`` (not yet identified).

The first segment is the *area* (:data:`storage.objectstore.AREAS`:
``originals``, ``archive``, ``derived``). On S3 it selects the bucket
(``StoreSettings.buckets``; the object name is the whole key); in the local
store it is a folder. ``archive/`` is versioned and under object lock.
"""

from __future__ import annotations

from datetime import datetime

from storage.inbox import safe_name

UNASSIGNED_DOSSIER = "_chua-xac-dinh"

AUDIT_PREFIX = "archive/_audit/"
"""Where the audit log's sealed segments live: the locked area, so none is changed or
removed before its retention ends (and fixity does not count them as orphans)."""
BACKUP_PREFIX = "derived/catalog-backup/"
"""Where catalog backups (accounts, tokens, units, register, batch outcomes) live."""

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "tiff": "image/tiff",
    "jpeg": "image/jpeg",
    "png": "image/png",
}
"""Content type of an original, by the format :func:`ocr.pages.detect_format` found."""


def original_key(unit: str, received_at: datetime, batch_id: str, number: int, name: str) -> str:
    """Key of one uploaded original."""
    return (
        f"originals/{safe_name(unit)}/{received_at:%Y}/{received_at:%m}/{batch_id}/"
        f"{number:03d}-{safe_name(name)}"
    )


def record_prefix(unit: str, received_at: datetime, dossier_code: str | None) -> str:
    """Folder of a record's archive objects."""
    dossier = safe_name(dossier_code) if dossier_code else UNASSIGNED_DOSSIER
    return f"archive/{safe_name(unit)}/{received_at:%Y}/{received_at:%m}/{dossier}"


def pdf_key(prefix: str, record_id: str) -> str:
    """Key of the signed archival PDF."""
    return f"{prefix}/{record_id}.pdf"


def manifest_key(prefix: str, record_id: str) -> str:
    """Key of the record's JSON manifest (the catalog can be rebuilt from these)."""
    return f"{prefix}/{record_id}.manifest.json"


def version_pdf_key(prefix: str, record_id: str, version: int) -> str:
    """Key of a record's signed PDF at ``version`` (1: the batch's own :func:`pdf_key`).

    Why a new key per version and not a new object version of the same key: every
    version stays addressable by its own name (the newest manifest lists each), so
    ``verify`` and a rebuild read them without the store's version API.
    """
    return pdf_key(prefix, record_id if version <= 1 else f"{record_id}.v{version}")


def version_manifest_key(prefix: str, record_id: str, version: int) -> str:
    """Key of a record's manifest at ``version`` (see :func:`version_pdf_key`)."""
    return manifest_key(prefix, record_id if version <= 1 else f"{record_id}.v{version}")


def version_original_key(
    first_original: str, unit: str, batch_id: str, version: int, name: str
) -> str:
    """Key of the scan a page change brought, beside the batch's originals.

    ``first_original`` is the key of one of the batch's originals (its folder is
    reused); empty when the record lists none, then a folder under the unit is used.
    """
    folder = (
        first_original.rsplit("/", 1)[0]
        if first_original
        else (f"originals/{safe_name(unit)}/_versions/{batch_id}")
    )
    return f"{folder}/v{version}-{safe_name(name)}"


def audit_segment_key(number: int) -> str:
    """Key of audit segment ``number`` (from 1); zero-padded so keys sort as numbers."""
    return f"{AUDIT_PREFIX}{number:010d}.json"


def audit_segment_number(key: str) -> int | None:
    """The segment number a key under :data:`AUDIT_PREFIX` names, ``None`` for another key."""
    name = key.removeprefix(AUDIT_PREFIX)
    stem = name.removesuffix(".json")
    if key == name or stem == name or not stem.isdigit():
        return None
    return int(stem)


def backup_key(taken_at: datetime) -> str:
    """Key of one catalog backup: a new one each time, sortable by the UTC instant taken."""
    return f"{BACKUP_PREFIX}{taken_at:%Y%m%dT%H%M%S%fZ}.json.gz"
