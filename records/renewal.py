"""Renew records' archive time-stamps before their authority's certificate expires (B-LTA).

Why: a time-stamped record stays verifiable only while the time-stamp authority's
certificate can be trusted. Before it expires (``signing.renew_before_days``), the
record gets a new document time-stamp over the validation data of the previous one
(:func:`pdf.sign.archive_stamp.add_archive_timestamp`): an incremental update, so the
bytes the signature covers are untouched.

**Storage** follows the page-change versions (:mod:`records.versions`): the archive is
under object lock and nothing is overwritten, so the renewed PDF is version N+1 under its
own keys (:func:`storage.object_keys.version_pdf_key`), with a manifest whose history
ends in a ``renew_timestamp`` entry pointing at version N (key and sha256); version N
stays archived and is still verified. Order: PDF, manifest, then the catalog row.

**Idempotent**: a rerun after a crash reuses what was stored (the PDF when it is this
record's PDF plus a valid time-stamp, the manifest when it names version N), so one
renewal leaves exactly one version; a renewal that would gain nothing (the TSA still
signs with a certificate expiring no later than the record's newest time-stamp) is not
made: the record is reported ``blocked`` instead of being re-stamped every night.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pyhanko.pdf_utils.reader import PdfFileReader

from catalog.database import Catalog
from catalog.rows import RecordRow
from pdf.sign.archive_stamp import add_archive_timestamp, authority_expiry, last_timestamp
from pdf.sign.validation import SignatureCheck, validate_signature
from records.commit import put_manifest, stored_record
from records.review import record_lock
from records.verify import VerifyResult
from records.versions import current_version
from schemas.models import Manifest, StoredObject, VersionChange, VersionRef
from schemas.settings import Settings
from sohoa import SOFTWARE
from sohoa.errors import ConfigError, SigningError, SohoaError, VerificationError
from storage import claims, object_keys
from storage.objectstore import ObjectStore, put_file_once, sha256_file

log = logging.getLogger(__name__)

RENEWED_BY = "sohoa fixity"
"""Who the history names for a renewal (the fixity run does it, not a person)."""

Outcome = Literal["renewed", "not_due", "blocked", "failed"]


@dataclass(frozen=True)
class Renewal:
    """What happened to one record whose renewal was due."""

    record_id: str
    outcome: Outcome
    """``renewed``: a new version holds the new time-stamp; ``not_due``: no longer due
    (renewed meanwhile); ``blocked``: renewing would gain nothing or no TSA is set;
    ``failed``: see ``reason`` (nothing catalogued)."""
    reason: str = ""
    """Why it was not renewed, in English (no personal data)."""
    version: int | None = None
    """The version made (``renewed``)."""


def due_records(results: Iterable[VerifyResult], now: datetime | None = None) -> list[str]:
    """Ids of the checked records (intact and validly signed) whose renewal is due."""
    return [r.record_id for r in results if r.renewal_is_due(now)]


def renew_due(
    record_ids: Iterable[str],
    *,
    store: ObjectStore,
    catalog: Catalog,
    settings: Settings,
    claims_at: claims.Place | None = None,
    now: datetime | None = None,
) -> list[Renewal]:
    """Renew each record in ``record_ids``; one record's failure does not stop the others.

    The TSA is asked once which certificate it signs with today: a record whose newest
    time-stamp expires no earlier than that certificate is ``blocked``, not re-stamped.
    """
    ids = list(record_ids)
    if not ids:
        return []
    try:
        tsa_expires = authority_expiry(settings)
    except ConfigError as exc:  # no TSA configured: nothing to renew with
        return [Renewal(i, "blocked", exc.render("en")) for i in ids]
    except SigningError as exc:  # the TSA is down: try again on the next run
        return [Renewal(i, "failed", exc.render("en")) for i in ids]
    done = []
    for record_id in ids:
        try:
            done.append(
                renew_record(
                    record_id,
                    store=store,
                    catalog=catalog,
                    settings=settings,
                    tsa_expires=tsa_expires,
                    claims_at=claims_at,
                    now=now,
                )
            )
        except SohoaError as exc:  # the store, the TSA, a damaged record: report, go on
            done.append(Renewal(record_id, "failed", exc.render("en")))
    for renewal in done:
        log.info("renewal %s: %s", renewal.record_id, renewal.outcome)  # reasons may name a signer
    return done


def renew_record(
    record_id: str,
    *,
    store: ObjectStore,
    catalog: Catalog,
    settings: Settings,
    tsa_expires: datetime,
    claims_at: claims.Place | None = None,
    now: datetime | None = None,
) -> Renewal:
    """Give one record a new archive time-stamp as its next version, if still due.

    Raises:
        VerificationError: the record's manifest or PDF no longer match their hashes.
        SigningError: the TSA or a CA's server failed, or the result does not validate.
        StorageError: the store or catalog failed; version N stays current.
    """
    with record_lock(claims_at, record_id):
        row = catalog.get_record(record_id)
        current, previous = current_version(store, row)
        prefix = row.manifest_key.rsplit("/", 1)[0]
        version = current.version + 1
        manifest_key = object_keys.version_manifest_key(prefix, row.id, version)
        stored = _stored_renewal(store, manifest_key, previous)
        if stored is not None:  # an earlier run stored it but could not catalog it
            catalog.add_record(stored[0], manifest_key=manifest_key, manifest_sha256=stored[1])
            return Renewal(row.id, "renewed", "catalogued an earlier run's renewal", version)
        if store.exists(manifest_key):
            return Renewal(row.id, "blocked", f"version {version} exists: another change")
        work = settings.work_dir / f"renew-{row.id}-{uuid.uuid4().hex[:8]}"
        try:
            return _renew(
                row,
                current,
                previous,
                store=store,
                catalog=catalog,
                settings=settings,
                tsa_expires=tsa_expires,
                work=work,
                now=now or datetime.now(UTC),
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _renew(
    row: RecordRow,
    current: Manifest,
    previous: VersionRef,
    *,
    store: ObjectStore,
    catalog: Catalog,
    settings: Settings,
    tsa_expires: datetime,
    work: Path,
    now: datetime,
) -> Renewal:
    """Download version N's PDF, re-stamp it (or reuse a stored re-stamp), store N+1."""
    work.mkdir(parents=True, exist_ok=True)
    old = work / "current.pdf"
    store.download(current.pdf.key, old)
    if sha256_file(old) != current.pdf.sha256:
        raise VerificationError(record=row.id, reason="PDF changed; run sohoa verify")
    with old.open("rb") as handle:
        newest = last_timestamp(PdfFileReader(handle))
    margin = settings.signing.renew_before_days
    if newest is None or newest.renewal_due(margin) > now:
        return Renewal(row.id, "not_due")
    if newest.expires >= tsa_expires:
        reason = (
            f"the TSA's certificate expires {tsa_expires:%Y-%m-%d}, not later than the record's"
        )
        return Renewal(row.id, "blocked", reason)
    version = current.version + 1
    pdf_key = object_keys.version_pdf_key(row.manifest_key.rsplit("/", 1)[0], row.id, version)
    renewed = _reused_pdf(store, pdf_key, old, work, settings)
    if renewed is None:
        path = add_archive_timestamp(old, work / "renewed.pdf", settings, refresh=True)
        renewed = path, _require_valid(path, settings, row.id)
    meta = {"dossier": current.dossier_code, "kind": current.kind, "record": row.id}
    info = put_file_once(store, pdf_key, renewed[0], content_type="application/pdf", metadata=meta)
    pdf = StoredObject(
        key=pdf_key, sha256=info.sha256, size=info.size, content_type="application/pdf"
    )
    manifest = renewed_manifest(current, previous, pdf, newest.expires, renewed[1])
    key = object_keys.version_manifest_key(row.manifest_key.rsplit("/", 1)[0], row.id, version)
    put_manifest(manifest, key, store, catalog)
    return Renewal(row.id, "renewed", version=version)


def _require_valid(path: Path, settings: Settings, record_id: str) -> SignatureCheck:
    """Refuse to store a re-stamped PDF that pyHanko and pdfsig do not both accept."""
    check = validate_signature(path, settings)
    if not check.ok or check.level != "B-LTA":
        problems = "; ".join(check.problems) or f"level {check.level}"
        raise SigningError(reason=f"the renewed PDF of {record_id} does not validate: {problems}")
    return check


def _reused_pdf(
    store: ObjectStore, key: str, old: Path, work: Path, settings: Settings
) -> tuple[Path, SignatureCheck] | None:
    """The renewed PDF an interrupted run already stored, when it is ``old`` plus a valid
    archive time-stamp; ``None`` otherwise (then a new one is made).

    Why: a second time-stamp would be other bytes, a second retained object version.
    """
    if not store.exists(key):
        return None
    found = work / "stored.pdf"
    store.download(key, found)
    if not found.read_bytes().startswith(old.read_bytes()):
        return None
    check = validate_signature(found, settings)
    return (found, check) if check.ok and check.level == "B-LTA" else None


def renewed_manifest(
    current: Manifest,
    previous: VersionRef,
    pdf: StoredObject,
    old_expiry: datetime,
    check: SignatureCheck,
) -> Manifest:
    """Version N+1's manifest: the same record, the new PDF, a ``renew_timestamp`` entry."""
    entry = VersionChange(
        version=current.version + 1,
        action="renew_timestamp",
        reason=f"archive time-stamp renewal: the time-stamp authority certificate "
        f"expires {old_expiry:%Y-%m-%d}",
        by=RENEWED_BY,
        at=check.archive_timestamped_at or datetime.now(UTC),
        previous=previous,
    )
    signature = current.signature.model_copy(update={"level": check.level or "B-LTA"})
    return current.model_copy(
        update={
            "version": entry.version,
            "history": (*current.history, entry),
            "pdf": pdf,
            "signature": signature,
            "software": SOFTWARE,
        }
    )


def _stored_renewal(
    store: ObjectStore, key: str, previous: VersionRef
) -> tuple[Manifest, str] | None:
    """The renewal manifest an earlier run stored at ``key`` for this very version N."""
    found = stored_record(store, key)
    if found is None:
        return None
    info, manifest, pdf = found
    last = manifest.history[-1] if manifest.history else None
    same = (
        last is not None
        and last.action == "renew_timestamp"
        and last.previous.manifest == previous.manifest
        and pdf.sha256 == manifest.pdf.sha256
    )
    return (manifest, info.sha256) if same else None
