"""From pages to record drafts: read each page, find its fields, split the batch into dossiers.

The flow calls :func:`read_page` once per page (in parallel) and
:func:`draft_records` once per batch; both are plain functions so tests and
benchmarks run exactly what the pipeline runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from ocr.codes import decode_codes
from ocr.engine import load_page_pixels, ocr_page
from ocr.fields import (
    PageFields,
    extract_page,
    merge_record,
    review_reasons,
    valid_value,
    with_field,
)
from ocr.rules import load_rules
from ocr.split import split_batch
from ocr.validators import PATTERNS, check_dossier_code
from schemas.fields import FieldValue, Segment
from schemas.models import PageImage, PageReading, RecordDraft
from schemas.settings import FieldSettings, Kind, OcrSettings

log = logging.getLogger(__name__)


def read_page(
    page: PageImage,
    opts: OcrSettings,
    *,
    decode_symbols: bool = True,
    pixels: np.ndarray | None = None,
) -> PageReading:
    """OCR one page and decode its QR codes and barcodes (on the archived colour scan).

    ``pixels``: the page decoded by :func:`ocr.engine.load_page_pixels`, when the caller
    holds it; otherwise decoded here, once for both readings.
    """
    if pixels is None:
        pixels = load_page_pixels(page)
    result = ocr_page(page, opts, pixels)
    codes = decode_codes(_grey(pixels), page.index) if decode_symbols and not result.blank else ()
    return PageReading(ocr=result, codes=codes)


def _grey(pixels: np.ndarray) -> np.ndarray:
    """OpenCV's BGR page as luminance (:func:`decode_codes` takes three channels as RGB)."""
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY) if pixels.ndim == 3 else pixels


def draft_records(
    pages: Sequence[PageImage],
    readings: Sequence[PageReading],
    *,
    kind: Kind,
    record_id: Callable[[int], str],
    forced_dossier: str | None,
    settings: FieldSettings,
) -> list[RecordDraft]:
    """Split the batch into dossiers and draft one record for each.

    Args:
        pages, readings: every page of the batch and what was read on it, in order.
        kind: ``thanh-phan`` or ``ket-qua`` (decides the required fields).
        record_id: the stable record id of the n-th dossier of this batch.
        forced_dossier: the mã hồ sơ given by the clerk; keeps the batch as one record.
        settings: field extraction options.
    """
    if not settings.enabled:
        return [_plain_draft(pages, readings, record_id(0), forced_dossier)]
    rules = load_rules(settings.rules_path)
    found = [
        extract_page(r.ocr, r.codes, rules, separator_codes=settings.separator_codes)
        for r in readings
    ]
    segments = split_batch(found, split=settings.split and forced_dossier is None)
    if not segments:  # only separator sheets: archive them rather than lose the scan
        segments = [Segment(pages=tuple(p.index for p in pages), dossier_code=None, reason="start")]
    by_index = {p.index: (p, r, f) for p, r, f in zip(pages, readings, found, strict=True)}
    drafts = []
    for n, segment in enumerate(segments):
        members = [by_index[i] for i in segment.pages]
        draft = _draft(members, segment, kind, forced_dossier, rules, settings)
        drafts.append(draft.model_copy(update={"record_id": record_id(n), "segment": n}))
    log.info("batch split into %d record(s): %s", len(drafts), [s.reason for s in segments])
    return [d.model_copy(update={"segments": len(drafts)}) for d in drafts]


def _draft(members, segment: Segment, kind, forced_dossier, rules, settings) -> RecordDraft:
    page_fields: list[PageFields] = [f for _, _, f in members]
    merged = merge_record(page_fields, rules, kind=kind)
    fields, disagreements = _apply_forced(merged.fields, merged.disagreements, forced_dossier)
    reasons = review_reasons(
        fields,
        disagreements,
        rules.required.get(kind, ()),
        settings.review_confidence,
        merged.persons,
    )
    code = valid_value(fields, "dossier_code")
    return RecordDraft(
        record_id="",
        dossier_code=code or segment.dossier_code,
        pages=tuple(p for p, _, _ in members),
        ocr=tuple(r.ocr for _, r, _ in members),
        doc_types=tuple(f.facts.doc_type for f in page_fields),
        codes=tuple(r.codes for _, r, _ in members),
        fields=fields,
        persons=merged.persons,
        field_reasons=reasons,
    )


def _apply_forced(fields, disagreements, forced: str | None):
    """The clerk's ``--dossier`` wins; a different code read from the pages is flagged."""
    if forced is None:
        return fields, disagreements
    found = next((f for f in fields if f.name == "dossier_code"), None)
    if found is not None and not found.problem and found.value != forced:
        disagreements = (*disagreements, "dossier_code")
    given = FieldValue(
        name="dossier_code", value=forced, raw=forced, confidence=1.0, method="manual"
    )
    return with_field(fields, given), disagreements


def _plain_draft(pages, readings, record_id: str, forced: str | None) -> RecordDraft:
    """Field extraction off: one record, filed under the given mã hồ sơ or the first valid one
    printed in its text."""
    text = "\n".join(r.ocr.text for r in readings)
    printed = (check_dossier_code(m.group(1)) for m in PATTERNS["dossier_code"].finditer(text))
    return RecordDraft(
        record_id=record_id,
        dossier_code=forced or next((c.value for c in printed if c.problem is None), None),
        pages=tuple(pages),
        ocr=tuple(r.ocr for r in readings),
        codes=tuple(r.codes for r in readings),
    )
