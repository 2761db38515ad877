"""The archive's integrity for the CLI and the web: verify, fixity check, catalog rebuild.

``sohoa verify``, ``check`` and ``catalog rebuild`` (:mod:`cli.integrity`) and the
record page's "verify again" (:mod:`web.routes_records`) call these. The checks
themselves are :mod:`records.fixity` and :mod:`records.rebuild`; here the store and
the catalog are opened from the settings.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from catalog.database import open_catalog
from records.verify import VerifyResult
from schemas.settings import Settings
from services.records import record_row
from storage.stores import open_store

__all__ = [
    "BackupResult",
    "backup_catalog",
    "check_archive",
    "rebuild_catalog",
    "summary_of",
    "verify",
    "verify_audit",
]


def check_archive(
    settings: Settings,
    *,
    record_id: str | None = None,
    sample: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    orphans: bool = True,
    progress=None,
):
    """Fixity check: one record, or all of them (an int ``sample`` is a count, a float a
    fraction) on threads bounded to the core count, plus orphans when checking the whole
    archive. Returns a :class:`records.fixity.FixityReport`."""
    from records import fixity

    catalog = open_catalog(settings.resolved_catalog_url)
    store = open_store(settings)
    if record_id is None:
        return fixity.run_fixity(
            settings,
            store=store,
            catalog=catalog,
            sample=sample,
            seed=seed,
            workers=workers,
            orphans=orphans,
            progress=progress,
        )
    started = time.monotonic()
    row = catalog.get_record(record_id)
    if progress is not None:
        progress.started(1)
    results = fixity.check_records([row], store, settings, on_result=progress and progress.checked)
    return fixity.make_report(
        catalog_records=1,
        results=results,
        orphans=None,
        sampled=False,
        workers=1,
        seconds=time.monotonic() - started,
    )


def rebuild_catalog(settings: Settings, *, keep_going: bool = False, progress=None):
    """Recreate the catalog from the archive's manifests; see :mod:`records.rebuild`."""
    from records.rebuild import rebuild_catalog as rebuild

    return rebuild(
        settings.resolved_catalog_url,
        store=open_store(settings),
        keep_going=keep_going,
        progress=progress,
    )


def upgrade_catalog(settings: Settings) -> dict[str, Any]:
    """Bring the catalog's layout to this sohoa's (also done whenever a catalog is opened):
    where it is, and its layout revision before and after."""
    from catalog.connection import location
    from catalog.schema import upgrade_at

    url = settings.resolved_catalog_url
    before, after = upgrade_at(url)
    return {"catalog": location(url), "before": before, "after": after, "changed": before != after}


def verify(settings: Settings, record_id: str, *, scope: str | None = None) -> VerifyResult:
    """Check the record again now: hashes of its PDF and manifest, and its signature.

    Raises:
        NotFoundError, PermissionDeniedError: as :func:`services.records.record_row`.
        ConfigError, ExternalProgramError: trust roots or ``pdfsig`` are not set up.
    """
    from records.fixity import check_one

    row = record_row(settings, record_id, scope=scope)
    return check_one(row, open_store(settings), settings)


def summary_of(result: VerifyResult) -> dict[str, Any]:
    """What the audit log keeps of a verification: the verdict, never the signer's name."""
    return {"ok": result.ok, "status": result.status, "problems": len(result.problems)}


@dataclass(frozen=True)
class BackupResult:
    """What ``sohoa catalog backup`` and the nightly run's backup step did."""

    key: str
    """The new backup's object key."""
    rows: dict[str, int]
    """Rows backed up, per table."""
    segments: tuple[int, ...]
    """Audit segments sealed before it (numbers); empty when nothing was waiting."""
    entries: int
    """Audit entries sealed into them."""
    sealing_busy: bool = False
    """Another process was sealing the audit log; its segments are that process's."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backup_catalog(settings: Settings) -> BackupResult:
    """Back up what only the catalog holds, then seal the audit entries not yet in the store.

    Why both: together they are everything a rebuild cannot take from the manifests, so
    after this a catalog lost for good loses nothing written before it. The backup comes
    first so that a damaged audit trail, which stops sealing, never stops the backup.

    Raises:
        StorageError: the catalog or the store failed (what was written stays written).
        VerificationError: the audit trail's last segment is damaged; nothing was sealed
            (the backup was written).
    """
    from records import audit_trail, catalog_backup
    from storage.waiting import claim_place

    catalog, store = open_catalog(settings.resolved_catalog_url), open_store(settings)
    info = catalog_backup.write_backup(catalog, store)
    sealed = audit_trail.seal(catalog, store, place=claim_place(settings))
    return BackupResult(info.key, info.rows, sealed.segments, sealed.entries, sealed.busy)


def verify_audit(settings: Settings):
    """Walk the audit log's sealed segments (:func:`records.audit_trail.verify_trail`), with
    the catalog's newest seal note as the anchor when the catalog can be read (a damaged
    catalog must not stop the one check that does not need it)."""
    from catalog.audit import last_seal
    from records import audit_trail
    from sohoa.errors import SohoaError

    store = open_store(settings)
    try:
        anchor = last_seal(open_catalog(settings.resolved_catalog_url))
    except SohoaError:
        anchor = None
    return audit_trail.verify_trail(store, anchor)
