"""Add or replace a page of an archived record (``sohoa record add-page|replace-page``).

The steps around :func:`records.versions.change_pages`: the new scan is checked the way
ingest checks a file (:func:`ocr.pages.detect_format`, the same limits), turned into a
page image by the same :func:`ocr.pages.iter_pages`, read by ingest's own page step
(:func:`flows.batch.ocr_page`: cleaning, OCR, codes, MRC layers) and made a one-page
PDF/A by :func:`pdf.assemble.build_archival_pdf`; the version is signed by
:func:`flows.batch._sign`. Why here (flows) and not in ``records/``: the page step lives
in :mod:`flows.batch`, which ``records/`` must not import.

Everything slow (OCR) happens before the record's claim is taken; a bad file is refused
before anything is stored, and so is a page number outside the record.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from catalog.database import open_catalog
from flows import batch
from ocr.fields import extract_page, merge_fields
from ocr.pages import detect_format, iter_pages
from ocr.rules import load_rules
from pdf.assemble import build_archival_pdf
from pdf.keys.signing_key import require_signing_key
from records.commit import page_summaries
from records.versions import NewPage, PageChange, change_pages, check_page
from schemas.fields import FieldValue
from schemas.models import Manifest, PageReading, RecordDraft, SourceFile
from schemas.settings import Settings
from sohoa.errors import BadInputError, NotFoundError
from storage.objectstore import sha256_file
from storage.stores import open_store
from storage.waiting import claim_place


def change_record_page(
    settings: Settings, record_id: str, scan: Path, change: PageChange
) -> Manifest:
    """Check ``scan``, read it, and archive the record's next version with it.

    Raises:
        NotFoundError: no such record, or ``scan`` does not exist.
        BadInputError: an empty, unknown, multi-page or unreadable scan, or a page
            number outside the record; nothing was stored.
        StaleRevisionError: the record changed since ``change.revision``; nothing stored.
        ConfigError: no signing key; nothing was done.
        OcrError, SigningError, StorageError: nothing catalogued; the old version stays.
    """
    require_signing_key(settings)
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    check_page(change, row.page_count)  # early: before the OCR's seconds
    source = checked_scan(scan, settings)
    work = settings.work_dir / f"version-{row.id}-{uuid.uuid4().hex[:8]}"
    try:
        page = read_new_page(scan, source, settings, work)
        return change_pages(
            store=open_store(settings),
            catalog=catalog,
            record_id=row.id,
            change=change,
            page=page,
            sign=lambda unsigned, signed: batch._sign(unsigned, signed, settings),
            work=work / "pdf",
            claims_at=claim_place(settings),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def checked_scan(scan: Path, settings: Settings) -> SourceFile:
    """The scan as ingest would receive it: exists, not empty, a known format, in limits.

    Raises:
        NotFoundError: no such file.
        BadInputError: empty, unsupported or too large.
    """
    if not scan.is_file():
        raise NotFoundError(what="file", name=str(scan))
    fmt = detect_format(scan, limits=settings.limits)
    size = scan.stat().st_size
    return SourceFile(name=scan.name, sha256=sha256_file(scan), size=size, format=fmt)  # type: ignore[arg-type]


def read_new_page(scan: Path, source: SourceFile, settings: Settings, work: Path) -> NewPage:
    """One page image, read by ingest's page step, with its one-page archival PDF.

    Raises:
        BadInputError: the file holds more than one page (or none).
    """
    pages = list(iter_pages(source, scan, work / "pages", start_index=0, limits=settings.limits))
    if len(pages) != 1:
        raise BadInputError("version_one_page", file=source.name, pages=len(pages))
    (page,) = pages
    decode = settings.fields.enabled and settings.fields.decode_codes
    reading = batch.ocr_page(page, settings.ocr, decode, settings.pdf)
    fields, doc_type = _fields_on(reading, settings)
    draft = RecordDraft(
        record_id="new-page",
        dossier_code=None,
        pages=(page,),
        ocr=(reading.ocr,),
        doc_types=(doc_type,),
        codes=(reading.codes,),
    )
    pdf = build_archival_pdf(
        [page],
        [reading.ocr],
        work / "page.pdf",
        metadata={},
        tessdata_dir=settings.ocr.tessdata_dir,
        settings=settings.pdf,
    )
    summary = page_summaries(draft)[0]
    return NewPage(scan, source, pdf, summary, reading.ocr.text, fields)


def _fields_on(reading: PageReading, settings: Settings) -> tuple[tuple[FieldValue, ...], str]:
    """Field values and document type of the page alone (rules as at ingest)."""
    if not settings.fields.enabled:
        return (), "other"
    rules = load_rules(settings.fields.rules_path)
    found = extract_page(
        reading.ocr, reading.codes, rules, separator_codes=settings.fields.separator_codes
    )
    fields, _ = merge_fields([found], rules)
    return fields, found.facts.doc_type


def version_result(manifest: Manifest) -> dict:
    """The record after a page change, as the CLI prints it and ``--json`` returns it."""
    return {
        "id": manifest.record_id,
        "version": manifest.version,
        "pages": len(manifest.pages),
        "status": manifest.status,
        "revision": len(manifest.corrections),
        "review_reasons": list(manifest.review_reasons),
        "pdf": manifest.pdf.key,
        "sha256": manifest.pdf.sha256,
        "history": [h.model_dump(mode="json") for h in manifest.history],
    }
