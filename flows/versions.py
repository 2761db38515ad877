"""Add or replace pages of an archived record (``sohoa record add-page|replace-page``, and
the review page's form, :mod:`web.record_pages`).

The steps around :func:`records.versions.change_pages`: the new scan is checked the way
ingest checks a file (:func:`ocr.pages.detect_format`, the same limits, its page count
read from its structure before any page is decoded), turned into page images by the same
:func:`ocr.pages.iter_pages`, read by ingest's own page step (:func:`flows.batch.ocr_page`:
cleaning, OCR, codes, MRC layers; one Tesseract per core, as ingest) and made a PDF/A by
:func:`pdf.assemble.build_archival_pdf`; the version is signed by :func:`flows.batch._sign`,
unless a killed attempt of the same change already stored it signed
(:func:`records.resume.reusable_signed_pdf`). Why here (flows) and not in ``records/``:
the page step lives in :mod:`flows.batch`, which ``records/`` must not import.

A multi-page scan is added whole (pages N..N+k-1 of one new version); replacing takes a
one-page scan (:func:`records.versions.check_count`). Everything slow (OCR) happens
before the record's claim is taken; a bad file is refused before anything is stored,
and so is a page number outside the record.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from catalog.database import open_catalog
from flows import batch
from ocr.fields import PageFields, extract_page, merge_fields, merge_record
from ocr.pages import count_pages, detect_format, iter_pages
from ocr.rules import load_rules
from pdf.assemble import build_archival_pdf
from pdf.keys.signing_key import require_signing_key
from records.commit import page_summaries
from records.versions import (
    NewPages,
    PageChange,
    change_pages,
    changed_pages,
    check_count,
    check_page,
)
from schemas.fields import FieldValue, Person
from schemas.models import (
    Manifest,
    PageImage,
    PageReading,
    RecordDraft,
    SignatureSummary,
    SourceFile,
)
from schemas.settings import Settings
from sohoa.errors import NotFoundError
from storage.objectstore import sha256_file
from storage.stores import open_store
from storage.waiting import claim_place


def change_record_page(
    settings: Settings, record_id: str, scan: Path, change: PageChange
) -> Manifest:
    """Check ``scan``, read it, and archive the record's next version with its pages.

    Raises:
        NotFoundError: no such record, or ``scan`` does not exist.
        BadInputError: an empty, unknown or unreadable scan, one of several pages to
            replace a page, or a page number outside the record; nothing was stored.
        StaleRevisionError: the record changed since ``change.revision``; nothing stored.
        ConfigError: no signing key; nothing was done.
        OcrError, SigningError, StorageError: nothing catalogued; the old version stays.
    """
    require_signing_key(settings)
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    check_page(change, row.page_count)  # early: before the OCR's seconds
    source = checked_scan(scan, settings)
    check_count(change, source.name, count_pages(source, scan), settings.limits.max_pages)
    work = settings.work_dir / f"version-{row.id}-{uuid.uuid4().hex[:8]}"
    try:
        page = read_new_pages(scan, source, settings, work)
        check_count(change, source.name, page.count, settings.limits.max_pages)  # as decoded
        return change_pages(
            store=open_store(settings),
            catalog=catalog,
            record_id=row.id,
            change=change,
            page=page,
            sign=lambda unsigned, signed: batch._sign(unsigned, signed, settings),
            work=work / "pdf",
            claims_at=claim_place(settings),
            signed_earlier=lambda key, dest: _signed_earlier(key, dest, settings),
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _signed_earlier(key: str, dest: Path, settings: Settings) -> SignatureSummary | None:
    """The signed PDF a killed attempt stored at ``key``, checked as a batch's would be."""
    from records.resume import reusable_signed_pdf  # pyHanko: imported when first needed

    return reusable_signed_pdf(open_store(settings), key, dest, settings)


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


def read_new_pages(scan: Path, source: SourceFile, settings: Settings, work: Path) -> NewPages:
    """The scan's pages, read by ingest's page step, with their archival PDF.

    Raises:
        BadInputError: the file's pages could not be read (as at ingest).
    """
    pages = list(iter_pages(source, scan, work / "pages", start_index=0, limits=settings.limits))
    readings = _read(pages, settings)
    found = [_fields_on(r, settings) for r in readings]
    fields = _merged(found, settings)
    draft = RecordDraft(
        record_id="new-pages",
        dossier_code=None,
        pages=tuple(pages),
        ocr=tuple(r.ocr for r in readings),
        doc_types=tuple(f.facts.doc_type if f else "other" for f in found),
        codes=tuple(r.codes for r in readings),
    )
    pdf = build_archival_pdf(
        pages,
        [r.ocr for r in readings],
        work / "pages.pdf",
        metadata={},
        tessdata_dir=settings.ocr.tessdata_dir,
        settings=settings.pdf,
    )
    summaries = page_summaries(draft)
    texts = tuple(r.ocr.text for r in readings)
    return NewPages(scan, source, pdf, summaries, texts, fields, _people(found, settings))


def _read(pages: list[PageImage], settings: Settings) -> list[PageReading]:
    """Every page through ingest's page step, one Tesseract per core (``ocr.workers``)."""
    decode = settings.fields.enabled and settings.fields.decode_codes
    workers = max(1, min(len(pages), settings.ocr.workers or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="version-ocr") as pool:
        return list(
            pool.map(lambda p: batch.ocr_page(p, settings.ocr, decode, settings.pdf), pages)
        )


def _fields_on(reading: PageReading, settings: Settings) -> PageFields | None:
    """Field candidates and document type of one page (rules as at ingest)."""
    if not settings.fields.enabled:
        return None
    rules = load_rules(settings.fields.rules_path)
    return extract_page(
        reading.ocr, reading.codes, rules, separator_codes=settings.fields.separator_codes
    )


def _merged(found: list[PageFields | None], settings: Settings) -> tuple[FieldValue, ...]:
    """One value per field over the new pages alone (to compare with the record's)."""
    pages = [f for f in found if f is not None]
    if not pages:
        return ()
    fields, _ = merge_fields(pages, load_rules(settings.fields.rules_path))
    return fields


def _people(found: list[PageFields | None], settings: Settings) -> tuple[Person, ...]:
    """The people the new pages name (``page`` = position within the scan)."""
    pages = [f for f in found if f is not None]
    if not pages:
        return ()
    return merge_record(pages, load_rules(settings.fields.rules_path), kind=None).persons


def version_result(manifest: Manifest) -> dict:
    """The record after a page change, as the CLI prints it and ``--json`` returns it
    (``changed_pages``: the pages this version brought, 1-based)."""
    return {
        "id": manifest.record_id,
        "version": manifest.version,
        "pages": len(manifest.pages),
        "changed_pages": changed_pages(manifest),
        "status": manifest.status,
        "revision": len(manifest.corrections),
        "review_reasons": list(manifest.review_reasons),
        "pdf": manifest.pdf.key,
        "sha256": manifest.pdf.sha256,
        "history": [h.model_dump(mode="json") for h in manifest.history],
    }
