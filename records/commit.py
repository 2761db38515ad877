"""Commit a processed batch: sign its PDF, store its objects and manifest, index it.

The order is what makes failures safe: originals, then the signed PDF, then the
manifest (the archive's own record of the object), and only then the catalog
row in one transaction. A failure before the catalog commit leaves no row that
points at a missing object; a retry rewrites the same keys, and an object whose
bytes are already there is not uploaded again (no duplicate retained version). A run
killed after the PDF was stored leaves it to be reused, not signed again
(:mod:`records.resume`; the crash table in ``docs/archive.md``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from catalog.database import Catalog
from schemas.models import (
    Manifest,
    PageOcr,
    PageSummary,
    RecordDraft,
    RecordView,
    SignatureSummary,
    StoredObject,
)
from sohoa import SOFTWARE
from sohoa.errors import NotFoundError
from storage import object_keys
from storage.inbox import ReceivedBatch
from storage.objectstore import ObjectInfo, ObjectStore, put_file_once


def record_id_for(batch_id: str, segment: int = 0) -> str:
    """Stable record id: re-ingesting the same batch gives the same record."""
    return hashlib.sha256(f"{batch_id}:{segment}".encode()).hexdigest()[:16]


def xmp_metadata(batch: ReceivedBatch, record_id: str, dossier_code: str | None) -> dict[str, str]:
    """The record identity written into the PDF's XMP (no personal data)."""
    return {
        "recordId": record_id,
        "batchId": batch.batch_id,
        "dossierCode": dossier_code or "",
        "kind": batch.kind,
        "unit": batch.unit,
    }


def store_originals(batch: ReceivedBatch, store: ObjectStore) -> list[StoredObject]:
    """Put every uploaded original into the store under its batch."""
    stored = []
    for number, (path, source) in enumerate(zip(batch.files, batch.sources, strict=True)):
        key = object_keys.original_key(
            batch.unit, batch.received_at, batch.batch_id, number, source.name
        )
        content_type = object_keys.CONTENT_TYPES[source.format]
        info = put_file_once(
            store, key, path, content_type=content_type, metadata={"batch": batch.batch_id}
        )
        stored.append(
            StoredObject(key=key, sha256=info.sha256, size=info.size, content_type=content_type)
        )
    return stored


def page_summaries(draft: RecordDraft) -> tuple[PageSummary, ...]:
    """Per-page facts for the manifest, in paper order."""
    doc_types = draft.doc_types or ("other",) * len(draft.pages)
    codes = draft.codes or ((),) * len(draft.pages)
    return tuple(
        PageSummary(
            dpi_known=p.dpi_known,
            dpi_estimated=o.dpi_estimated,
            dpi_source=o.dpi_source,
            sheet=o.sheet,
            rotation=o.rotation,
            blank=o.blank,
            steps=o.steps,
            words=tuple(
                (w.text, round(w.left), round(w.top), round(w.width), round(w.height), w.conf)
                for w in o.words
            ),
            index=p.index,
            source=p.source,
            source_page=p.source_page,
            width=p.width,
            height=p.height,
            dpi=p.dpi,
            mean_confidence=o.mean_confidence,
            word_count=len(o.words),
            skew_deg=o.skew_deg,
            needs_review=o.needs_review,
            doc_type=t,
            codes=c,
        )
        for p, o, t, c in zip(draft.pages, draft.ocr, doc_types, codes, strict=True)
    )


def review_reasons(draft: RecordDraft) -> tuple[str, ...]:
    """What a clerk should re-check: field problems, a missing mã hồ sơ, pages read badly."""
    reasons = list(draft.field_reasons)
    if not draft.dossier_code and "missing:dossier_code" not in reasons:
        reasons.insert(0, "missing:dossier_code")
    reasons.extend(
        f"page_low_confidence:{number}"
        for number, result in enumerate(draft.ocr, start=1)
        if result.needs_review
    )
    return tuple(reasons)


def mean_confidence(ocr: Sequence[PageOcr]) -> float:
    """Word-weighted mean confidence over the record's pages (0 when no words)."""
    total = sum(len(o.words) for o in ocr)
    if not total:
        return 0.0
    return round(sum(o.mean_confidence * len(o.words) for o in ocr) / total, 2)


def commit_record(
    *,
    batch: ReceivedBatch,
    draft: RecordDraft,
    signed_pdf: Path,
    signature: SignatureSummary,
    store: ObjectStore,
    catalog: Catalog,
    originals: Sequence[StoredObject] | None = None,
) -> Manifest:
    """Store originals (unless given), PDF and manifest, then write the catalog row."""
    prefix = object_keys.record_prefix(batch.unit, batch.received_at, draft.dossier_code)
    if originals is None:
        originals = store_originals(batch, store)
    pdf_key = object_keys.pdf_key(prefix, draft.record_id)
    meta = {"dossier": draft.dossier_code or "", "kind": batch.kind, "record": draft.record_id}
    pdf_info = put_file_once(
        store, pdf_key, signed_pdf, content_type="application/pdf", metadata=meta
    )
    reasons = review_reasons(draft)
    manifest = Manifest(
        record_id=draft.record_id,
        batch_id=batch.batch_id,
        dossier_code=draft.dossier_code or "",
        kind=batch.kind,
        unit=batch.unit,
        status="needs_review" if reasons else "archived",
        review_reasons=reasons,
        created_at=datetime.now(UTC),
        software=SOFTWARE,
        pages=page_summaries(draft),
        mean_confidence=mean_confidence(draft.ocr),
        fields=draft.fields,
        persons=draft.persons,
        segment=draft.segment,
        segments=draft.segments,
        sources=batch.sources,
        originals=tuple(originals),
        signature=signature,
        pdf=StoredObject(
            key=pdf_key, sha256=pdf_info.sha256, size=pdf_info.size, content_type="application/pdf"
        ),
        text="\f".join(o.text for o in draft.ocr),
    )
    manifest_key = object_keys.manifest_key(prefix, draft.record_id)
    manifest = _keep_review(manifest, store, manifest_key)
    stored = _stored_already(manifest, store, manifest_key)
    if stored is None:
        put_manifest(manifest, manifest_key, store, catalog)
        return manifest
    catalog.add_record(stored[0], manifest_key=manifest_key, manifest_sha256=stored[1])
    return stored[0]


def stored_record(store: ObjectStore, key: str) -> tuple[ObjectInfo, Manifest, ObjectInfo] | None:
    """The manifest stored at ``key``, its object facts and its PDF's; ``None`` when either
    object is missing (an earlier run stopped before storing both)."""
    try:
        info = store.stat(key)
        manifest = load_manifest(store, key)
        return info, manifest, store.stat(manifest.pdf.key)
    except NotFoundError:
        return None


def catalog_stored(
    batch: ReceivedBatch, draft: RecordDraft, store: ObjectStore, catalog: Catalog
) -> Manifest | None:
    """Catalog the record an earlier run stored (PDF and manifest) but could not catalog.

    Why: when the catalog database went away after a record's objects were stored, the
    next run would otherwise sign the record again (a new signing time: new bytes) and
    add a second retained PDF and manifest to the archive. The stored pair is the
    record; only its row was missing. ``None`` when there is no such pair (or its PDF
    is not the one the manifest names): the record is then signed and stored as usual.
    """
    prefix = object_keys.record_prefix(batch.unit, batch.received_at, draft.dossier_code)
    key = object_keys.manifest_key(prefix, draft.record_id)
    found = stored_record(store, key)
    if found is None:
        return None
    info, manifest, pdf = found
    if pdf.sha256 != manifest.pdf.sha256 or manifest.batch_id != batch.batch_id:
        return None
    catalog.add_record(manifest, manifest_key=key, manifest_sha256=info.sha256)
    return manifest


def _stored_already(
    manifest: Manifest, store: ObjectStore, key: str
) -> tuple[Manifest, str] | None:
    """The manifest at ``key`` and its sha256, when it says all ``manifest`` says but the time.

    Why: a commit retried after its catalog row failed (the database unreachable) has
    already stored this manifest; uploading it again, only ``created_at`` newer, would
    add a retained version in the archive for nothing (see :func:`storage.objectstore.put_file_once`).
    """
    try:
        info = store.stat(key)
    except NotFoundError:
        return None
    old = load_manifest(store, key)
    if old != manifest.model_copy(update={"created_at": old.created_at}):
        return None
    return old, info.sha256


def _keep_review(manifest: Manifest, store: ObjectStore, key: str) -> Manifest:
    """A batch re-run after a partial failure must not erase a clerk's corrections.

    The record's id and key are the same on every run, so a manifest already
    there is this record's: its corrections, the values typed in review and the
    review state they led to are carried into the new manifest.
    """
    if not store.exists(key):
        return manifest
    old = load_manifest(store, key)
    if not old.corrections:
        return manifest
    typed = {f.name: f for f in old.fields if f.method == "manual"}
    fields = tuple(typed.get(f.name, f) for f in manifest.fields) + tuple(
        f for name, f in typed.items() if name not in {g.name for g in manifest.fields}
    )
    return manifest.model_copy(
        update={
            "fields": tuple(sorted(fields, key=lambda f: f.name)),
            "corrections": old.corrections,
            "review_reasons": old.review_reasons,
            "status": old.status,
            "created_at": old.created_at,
        }
    )


def put_manifest(manifest: Manifest, key: str, store: ObjectStore, catalog: Catalog) -> None:
    """Write the manifest object, then its catalog row (the archive first: it is the truth)."""
    body = json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=1).encode()
    meta = {"dossier": manifest.dossier_code, "kind": manifest.kind, "record": manifest.record_id}
    info = store.put_bytes(key, body, content_type="application/json", metadata=meta)
    catalog.add_record(manifest, manifest_key=key, manifest_sha256=info.sha256)


def record_view(manifest: Manifest) -> RecordView:
    """The CLI's per-record summary."""
    return RecordView(
        id=manifest.record_id,
        dossier_code=manifest.dossier_code,
        kind=manifest.kind,
        unit=manifest.unit,
        pages=len(manifest.pages),
        status=manifest.status,
        pdf=manifest.pdf.key,
        sha256=manifest.pdf.sha256,
        mean_confidence=manifest.mean_confidence,
        fields={f.name: f.value for f in manifest.fields},
    )


def load_manifest(store: ObjectStore, key: str) -> Manifest:
    """Read a manifest object back into a :class:`Manifest` (older versions upgraded)."""
    return manifest_from_bytes(store.get_bytes(key))


def manifest_from_bytes(data: bytes) -> Manifest:
    """A manifest from bytes already read (and hashed) by the caller, older versions upgraded.

    Why callers read the bytes themselves: reading once to hash and again to parse would
    cost a second request and could hash one version of the object and parse another.
    """
    manifest = Manifest.model_validate_json(data)
    if manifest.schema_version < 2:
        reasons = tuple(upgraded_reason(r) for r in manifest.review_reasons)
        manifest = manifest.model_copy(update={"review_reasons": reasons})
    return manifest


_V1_PAGE = re.compile(r"^page (\d+) \(.*\): OCR confidence")


def upgraded_reason(reason: str) -> str:
    """A version-1 review reason (English prose) as the code version 2 uses for it."""
    if reason.startswith("no dossier code found"):
        return "missing:dossier_code"
    match = _V1_PAGE.match(reason)
    return f"page_low_confidence:{match.group(1)}" if match else reason
