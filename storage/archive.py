"""Commit a processed batch: sign its PDF, store its objects and manifest, index it.

The order is what makes failures safe: originals, then the signed PDF, then the
manifest (the archive's own record of the object), and only then the catalog
row in one transaction. A failure before the catalog commit leaves no row that
points at a missing object; a retry rewrites the same keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from schemas.models import (
    Manifest,
    PageImage,
    PageOcr,
    PageSummary,
    RecordView,
    SignatureSummary,
    StoredObject,
)
from sohoa import SOFTWARE
from storage import keys
from storage.catalog import Catalog
from storage.inbox import ReceivedBatch
from storage.objectstore import ObjectStore

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "tiff": "image/tiff",
    "jpeg": "image/jpeg",
    "png": "image/png",
}


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
        key = keys.original_key(batch.unit, batch.received_at, batch.batch_id, number, source.name)
        content_type = CONTENT_TYPES[source.format]
        info = store.put_file(
            key, path, content_type=content_type, metadata={"batch": batch.batch_id}
        )
        stored.append(
            StoredObject(key=key, sha256=info.sha256, size=info.size, content_type=content_type)
        )
    return stored


def page_summaries(pages: Sequence[PageImage], ocr: Sequence[PageOcr]) -> tuple[PageSummary, ...]:
    """Per-page facts for the manifest, in paper order."""
    return tuple(
        PageSummary(
            dpi_known=p.dpi_known,
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
        )
        for p, o in zip(pages, ocr, strict=True)
    )


def review_reasons(
    dossier_code: str | None, pages: Sequence[PageImage], ocr: Sequence[PageOcr]
) -> tuple[str, ...]:
    """What a clerk should re-check: a missing mã hồ sơ, pages read with low confidence."""
    reasons = [] if dossier_code else ["no dossier code found; give it with --dossier"]
    for page, result in zip(pages, ocr, strict=True):
        if result.needs_review:
            reasons.append(
                f"page {page.index + 1} ({page.source} #{page.source_page + 1}): "
                f"OCR confidence {result.mean_confidence:.1f}"
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
    record_id: str,
    dossier_code: str | None,
    pages: Sequence[PageImage],
    ocr: Sequence[PageOcr],
    signed_pdf: Path,
    signature: SignatureSummary,
    store: ObjectStore,
    catalog: Catalog,
) -> Manifest:
    """Store originals, PDF and manifest, then write the catalog row; return the manifest."""
    prefix = keys.record_prefix(batch.unit, batch.received_at, dossier_code)
    originals = store_originals(batch, store)
    pdf_key = keys.pdf_key(prefix, record_id)
    meta = {"dossier": dossier_code or "", "kind": batch.kind, "record": record_id}
    pdf_info = store.put_file(pdf_key, signed_pdf, content_type="application/pdf", metadata=meta)
    reasons = review_reasons(dossier_code, pages, ocr)
    manifest = Manifest(
        record_id=record_id,
        batch_id=batch.batch_id,
        dossier_code=dossier_code or "",
        kind=batch.kind,
        unit=batch.unit,
        status="needs_review" if reasons else "archived",
        review_reasons=reasons,
        created_at=datetime.now(UTC),
        software=SOFTWARE,
        pages=page_summaries(pages, ocr),
        mean_confidence=mean_confidence(ocr),
        sources=batch.sources,
        originals=tuple(originals),
        signature=signature,
        pdf=StoredObject(
            key=pdf_key, sha256=pdf_info.sha256, size=pdf_info.size, content_type="application/pdf"
        ),
        text="\f".join(o.text for o in ocr),
    )
    body = json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=1).encode()
    manifest_key = keys.manifest_key(prefix, record_id)
    info = store.put_bytes(manifest_key, body, content_type="application/json", metadata=meta)
    catalog.add_record(manifest, manifest_key=manifest_key, manifest_sha256=info.sha256)
    return manifest


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
    """Read a manifest object back into a :class:`Manifest`."""
    return Manifest.model_validate_json(store.get_bytes(key))
