"""Add or replace a page of an archived record: a new signed version beside the old one.

Why a version and not an edit: the signed PDF is the legal copy and is never rewritten
(Circular 01/2023: integrity kept in storage), and the archive bucket is under object
lock. A page change therefore makes version N+1 of the record: a new signed PDF holding
every page (the old ones copied as they are, :mod:`pdf.versions`) and a new manifest
under new keys (:func:`storage.object_keys.version_manifest_key`), which lists what
changed (:class:`~schemas.models.VersionChange`: the page, why, who, when, the new
scan) and where the version before it lies with its hashes. Version N stays untouched.

**Order** (as in :mod:`records.commit`): the new scan, then the signed PDF, then the
manifest, and only then the catalog row. A crash before the row leaves version N
current; the row then points at the new version only once its objects are complete.
A retry of the same change finds the stored manifest (:func:`_stored_already`) and only
catalogs it, so nothing is stored twice.

**Concurrency**: read, check and write happen under the record's claim
(:func:`records.review.record_lock`), with the same revision check as review: the change
appends a ``version`` entry to the record's corrections, so a clerk's form opened before
a page was added is refused (:class:`~sohoa.errors.StaleRevisionError`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from catalog.database import Catalog
from catalog.rows import RecordRow
from pdf.versions import assemble_version
from records.commit import manifest_from_bytes, put_manifest, stored_record
from records.review import check_revision, record_lock
from schemas.fields import Correction, FieldValue
from schemas.models import (
    Manifest,
    PageSummary,
    SignatureSummary,
    SourceFile,
    StoredObject,
    VersionChange,
    VersionRef,
)
from sohoa import SOFTWARE
from sohoa.errors import BadInputError, VerificationError
from sohoa.textfold import fold
from storage import claims, object_keys
from storage.objectstore import ObjectStore, put_file_once, sha256_file

Action = Literal["add_page", "replace_page"]
VERSION_FIELD = "version"
"""The ``field`` of the correction a page change appends (the history's one list)."""
Signer = Callable[[Path, Path], SignatureSummary]
"""Signs the unsigned PDF (first path) into the second; returns who signed and how."""


@dataclass(frozen=True)
class PageChange:
    """What a clerk asks for: which page, and why."""

    action: Action
    page: int | None
    """1-based page number in the new version (where it is added, or which is replaced);
    ``None`` adds after the last page (counted under the record's claim)."""
    reason: str
    by: str
    revision: int | None = None
    """The revision the clerk saw (:func:`records.review.revision_of`); ``None``: no check."""


@dataclass(frozen=True)
class NewPage:
    """The new scan, read by the ingest page step, ready to join the record."""

    scan: Path
    """The file as given (stored as an original)."""
    source: SourceFile
    pdf: Path
    """A one-page unsigned archival PDF of it (:func:`pdf.assemble.build_archival_pdf`)."""
    summary: PageSummary
    text: str
    fields: tuple[FieldValue, ...] = ()
    """Field values read on the page alone (to spot one that contradicts the record)."""


def check_page(change: PageChange, pages: int) -> None:
    """Refuse a page number outside the record (adding may also append after the last).

    Raises:
        BadInputError: the page does not exist (replace) or leaves a gap (add).
    """
    last = pages + 1 if change.action == "add_page" else pages
    if change.page is None and change.action == "add_page":
        return
    if change.page is None or not 1 <= change.page <= last:
        raise BadInputError("version_page_range", page=change.page, pages=pages)


def change_pages(
    *,
    store: ObjectStore,
    catalog: Catalog,
    record_id: str,
    change: PageChange,
    page: NewPage,
    sign: Signer,
    work: Path,
    claims_at: claims.Place | None = None,
) -> Manifest:
    """Make and archive the record's next version with ``page`` added or replaced.

    Args:
        work: a scratch folder for the previous PDF and the new unsigned and signed ones.
        claims_at: where the per-record claim is kept (``None``: no lock).

    Raises:
        NotFoundError: no such record.
        StaleRevisionError: the record changed since ``change.revision``; nothing stored.
        BadInputError: the page number is outside the record; nothing stored.
        VerificationError: the current version's objects no longer match their hashes.
        SigningError, StorageError: nothing catalogued; version N stays current.
    """
    record_id = catalog.get_record(record_id).id  # a prefix names the same lock as the full id
    with record_lock(claims_at, record_id):
        row = catalog.get_record(record_id)
        current, previous = _current_version(store, row)
        check_revision(current, change.revision)
        check_page(change, len(current.pages))
        if change.page is None:
            change = replace(change, page=len(current.pages) + 1)
        version = current.version + 1
        prefix = row.manifest_key.rsplit("/", 1)[0]
        manifest_key = object_keys.version_manifest_key(prefix, record_id, version)
        done = _stored_already(store, manifest_key, previous, change, page)
        if done is not None:
            catalog.add_record(done[0], manifest_key=manifest_key, manifest_sha256=done[1])
            return done[0]
        original = _store_scan(store, current, page, version)
        signed, signature = _signed_pdf(store, current, change, page, sign, work)
        pdf = _store_pdf(store, current, signed, object_keys.version_pdf_key(
            prefix, record_id, version))  # fmt: skip
        manifest = next_manifest(
            current, change, page, previous=previous, original=original, pdf=pdf,
            signature=signature,
        )  # fmt: skip
        put_manifest(manifest, manifest_key, store, catalog)
    return manifest


def _current_version(store: ObjectStore, row: RecordRow) -> tuple[Manifest, VersionRef]:
    """The manifest the catalog points at, and a reference to it for the next version.

    Raises:
        VerificationError: the manifest's bytes are not the ones catalogued (a change
            must never be built on a damaged or swapped record).
    """
    data = store.get_bytes(row.manifest_key)
    sha = hashlib.sha256(data).hexdigest()
    if sha != row.manifest_sha256:
        raise VerificationError(record=row.id, reason="manifest changed; run sohoa verify")
    manifest = manifest_from_bytes(data)
    ref = VersionRef(
        version=manifest.version,
        manifest=StoredObject(
            key=row.manifest_key, sha256=sha, size=len(data), content_type="application/json"
        ),
        pdf=manifest.pdf,
    )
    return manifest, ref


def _stored_already(
    store: ObjectStore, key: str, previous: VersionRef, change: PageChange, page: NewPage
) -> tuple[Manifest, str] | None:
    """The same change's manifest, stored by an earlier attempt that could not catalog it.

    Why: signing again would give new bytes (a new signing time) and a second retained
    PDF for one change. It is the same change when it was made from the same version
    (key and hash) with the same scan at the same page.
    """
    found = stored_record(store, key)
    if found is None:
        return None
    info, stored, pdf = found
    last = stored.history[-1] if stored.history else None
    same = (
        last is not None
        and last.previous.manifest == previous.manifest
        and (last.action, last.page) == (change.action, change.page)
        and last.original.sha256 == page.source.sha256
        and pdf.sha256 == stored.pdf.sha256
    )
    return (stored, info.sha256) if same else None


def _store_scan(store: ObjectStore, current: Manifest, page: NewPage, version: int) -> StoredObject:
    """Keep the new page's scan as an original (never lost, like a batch's uploads)."""
    first = current.originals[0].key if current.originals else ""
    key = object_keys.version_original_key(
        first, current.unit, current.batch_id, version, page.source.name
    )
    content_type = object_keys.CONTENT_TYPES[page.source.format]
    info = put_file_once(
        store, key, page.scan, content_type=content_type, metadata={"batch": current.batch_id}
    )
    return StoredObject(key=key, sha256=info.sha256, size=info.size, content_type=content_type)


def _signed_pdf(
    store: ObjectStore,
    current: Manifest,
    change: PageChange,
    page: NewPage,
    sign: Signer,
    work: Path,
) -> tuple[Path, SignatureSummary]:
    """Download the current PDF (hash checked), merge the new page in, sign the result."""
    work.mkdir(parents=True, exist_ok=True)
    previous = work / "previous.pdf"
    store.download(current.pdf.key, previous)
    if sha256_file(previous) != current.pdf.sha256:
        raise VerificationError(record=current.record_id, reason="PDF changed; run sohoa verify")
    metadata = {
        "recordId": current.record_id,
        "batchId": current.batch_id,
        "dossierCode": current.dossier_code,
        "kind": current.kind,
        "unit": current.unit,
        "version": str(current.version + 1),
    }
    unsigned = assemble_version(
        previous,
        page.pdf,
        work / "version.unsigned.pdf",
        position=change.page - 1,
        replace=change.action == "replace_page",
        metadata=metadata,
    )
    signed = work / "version.pdf"
    return signed, sign(unsigned, signed)


def _store_pdf(store: ObjectStore, current: Manifest, signed: Path, key: str) -> StoredObject:
    meta = {"dossier": current.dossier_code, "kind": current.kind, "record": current.record_id}
    info = put_file_once(store, key, signed, content_type="application/pdf", metadata=meta)
    return StoredObject(key=key, sha256=info.sha256, size=info.size, content_type="application/pdf")


def next_manifest(
    current: Manifest,
    change: PageChange,
    page: NewPage,
    *,
    previous: VersionRef,
    original: StoredObject,
    pdf: StoredObject,
    signature: SignatureSummary,
) -> Manifest:
    """Version N+1's manifest: pages, text and reasons with the change, the history grown.

    The fields stay as they were (with their corrections): they are not read again over
    the new page set. A value on the new page that contradicts one of them is flagged
    ``version_conflict:<field>`` for a clerk to settle. ``created_at`` stays the
    record's; the change's time is in the history.
    """
    version, position = current.version + 1, change.page - 1
    replacing = change.action == "replace_page"
    summary = page.summary.model_copy(update={"index": position, "version": version})
    pages, texts = list(current.pages), _page_texts(current)
    pages[position : position + replacing] = [summary]
    texts[position : position + replacing] = [page.text]
    now = datetime.now(UTC)
    entry = VersionChange(
        version=version, action=change.action, page=change.page, reason=change.reason,
        by=change.by, at=now, original=original, previous=previous,
    )  # fmt: skip
    note = Correction(
        field=VERSION_FIELD, old=str(current.version), new=f"{version}: {change.action} {change.page}",
        by=change.by, at=now, reason=change.reason,
    )  # fmt: skip
    reasons = _reasons(current, change, summary, page.fields)
    return current.model_copy(
        update={
            "version": version,
            "history": (*current.history, entry),
            "corrections": (*current.corrections, note),
            "pages": tuple(pages),
            "text": "\f".join(texts),
            "fields": current.fields if replacing else _shifted(current.fields, position),
            "review_reasons": reasons,
            "status": "needs_review" if reasons else "archived",
            "mean_confidence": _mean_confidence(pages),
            "pdf": pdf,
            "signature": signature,
            "software": SOFTWARE,
        }
    )


def _page_texts(manifest: Manifest) -> list[str]:
    """The manifest's text, one entry per page (padded if an old manifest has fewer)."""
    texts = manifest.text.split("\f")
    return texts + [""] * (len(manifest.pages) - len(texts))


def _shifted(fields: tuple[FieldValue, ...], position: int) -> tuple[FieldValue, ...]:
    """Fields' evidence pages after a page is inserted at ``position`` (0-based)."""
    return tuple(
        f.model_copy(update={"page": f.page + 1})
        if f.page is not None and f.page >= position
        else f
        for f in fields
    )


def _reasons(
    current: Manifest, change: PageChange, summary: PageSummary, found: tuple[FieldValue, ...]
) -> tuple[str, ...]:
    """Review reasons of the new version: page numbers moved, the new page's own doubts."""
    moved = [m for r in current.review_reasons if (m := _moved(r, change)) is not None]
    if summary.needs_review:
        moved.append(f"page_low_confidence:{change.page}")
    moved.extend(f"version_conflict:{name}" for name in conflicts(current.fields, found))
    return tuple(dict.fromkeys(moved))


def _moved(reason: str, change: PageChange) -> str | None:
    """A ``page_low_confidence:N`` reason after the change (``None``: its page was replaced)."""
    kind, _, number = reason.partition(":")
    if kind != "page_low_confidence" or not number.isdigit() or int(number) < change.page:
        return reason
    if change.action == "add_page":
        return f"{kind}:{int(number) + 1}"
    return None if int(number) == change.page else reason


def conflicts(fields: tuple[FieldValue, ...], found: tuple[FieldValue, ...]) -> list[str]:
    """Fields the new page shows with a valid value other than the record's (folded)."""
    have = {f.name: f.value for f in fields if f.value}
    return [
        f.name
        for f in found
        if f.value and not f.problem and f.name in have and fold(f.value) != fold(have[f.name])
    ]


def _mean_confidence(pages: list[PageSummary]) -> float:
    """Word-weighted mean confidence over the pages (0 when no words), as at ingest."""
    words = sum(p.word_count for p in pages)
    if not words:
        return 0.0
    return round(sum(p.mean_confidence * p.word_count for p in pages) / words, 2)
