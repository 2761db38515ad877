"""Frozen value types passed between steps and written to manifests.

Everything here is plain data (pydantic, frozen): no I/O. Coordinates are in
pixels of the *archived* page image, origin top-left, unless a field says
otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.fields import CodeHit, Correction, FieldValue, Person
from schemas.settings import Kind

RecordStatus = Literal["archived", "needs_review"]
BatchStatus = Literal["received", "running", "archived", "failed", "quarantined"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SourceFile(_Frozen):
    """One uploaded file as received."""

    name: str
    """The file name the user gave (no directories)."""
    sha256: str
    """Hex SHA-256 of the file's bytes."""
    size: int
    """Size in bytes."""
    format: Literal["pdf", "tiff", "jpeg", "png"]
    """Detected from the file's magic bytes, not its extension."""


class PageImage(_Frozen):
    """One paper page as an image file on disk, ready for the archive and for OCR."""

    index: int
    """0-based position in the batch."""
    path: str
    """Image file in the batch work folder (JPEG, PNG or TIFF as extracted)."""
    source: str
    """Name of the uploaded file this page came from."""
    source_page: int
    """0-based page number inside that file."""
    width: int
    """Pixels."""
    height: int
    """Pixels."""
    dpi: float
    """Resolution; 300 assumed when the scan does not say."""
    dpi_known: bool = True
    """False when the resolution was assumed rather than read from the file."""
    mode: str
    """PIL mode of the archived image (RGB, L, 1, CMYK)."""
    encoding: Literal["jpeg", "png", "tiff"]
    """How ``path`` is encoded; JPEG pages go into the PDF without recompression."""


class Word(_Frozen):
    """One recognised word with its box in archived-page pixels."""

    text: str
    """NFC-normalised text."""
    left: float
    top: float
    width: float
    height: float
    angle: float = 0.0
    """Degrees counter-clockwise of the text baseline on the archived page (deskew undone)."""
    conf: float
    """Tesseract's word confidence, 0–100."""
    line: int = 0
    """Line number within the page, for rebuilding the text."""


class PageOcr(_Frozen):
    """OCR result for one page."""

    index: int
    width: int
    height: int
    dpi: float
    words: tuple[Word, ...]
    text: str
    """Plain text, lines separated by newlines, NFC."""
    mean_confidence: float
    """Mean word confidence (0–100); 0 when the page has no words."""
    skew_deg: float = 0.0
    """Skew removed before OCR."""
    rotation: int = 0
    """Clockwise degrees (0/90/180/270) the scan must turn to read upright; the PDF page's /Rotate."""
    blank: bool = False
    """The page has no content; it was not OCR'd."""
    steps: tuple[str, ...] = ()
    """Cleaning steps that ran, e.g. ``("orient:180", "denoise", "deskew:-2.31")``."""
    needs_review: bool = False
    """True when the page has words and their mean confidence is under the threshold."""
    dpi_estimated: float | None = None
    """Resolution measured from the letters' height (``None``: not measured, e.g. a blank page)."""
    sheet: tuple[tuple[float, float], ...] | None = None
    """A photographed sheet's corners on the photo (top-left, top-right, bottom-right,
    bottom-left), when OCR found and flattened one: the archival PDF shows it flattened."""
    dpi_source: Literal["stated", "assumed", "measured"] | None = None
    """Where the resolution OCR used came from: the file (``stated``), the 300-dpi default
    (``assumed``: none stated, nothing measurable) or the letters (``measured``);
    ``None`` when not recorded (results made before sohoa measured it)."""


class PageReading(_Frozen):
    """Everything read from one page: its OCR and the QR codes and barcodes on it."""

    ocr: PageOcr
    codes: tuple[CodeHit, ...] = ()


class PageSummary(_Frozen):
    """Per-page facts kept in the manifest."""

    index: int
    source: str
    source_page: int
    width: int
    height: int
    dpi: float
    mean_confidence: float
    word_count: int
    skew_deg: float
    needs_review: bool
    dpi_known: bool = True
    """False when the scan did not state its resolution and 300 dpi was assumed."""
    dpi_estimated: float | None = None
    """Resolution measured from the letters' height (:attr:`PageOcr.dpi_estimated`)."""
    dpi_source: Literal["stated", "assumed", "measured"] | None = None
    """Where the resolution OCR used came from (:attr:`PageOcr.dpi_source`); ``None`` in
    manifests written before it was recorded."""
    sheet: tuple[tuple[float, float], ...] | None = None
    """A photographed sheet's corners on the photo (:attr:`PageOcr.sheet`)."""
    rotation: int = 0
    blank: bool = False
    steps: tuple[str, ...] = ()
    words: tuple[tuple[str, int, int, int, int, float], ...] = ()
    """Every word as ``(text, left, top, width, height, confidence)`` in archived-page pixels."""
    doc_type: str = "other"
    """Document type of the page (see :data:`schemas.fields.DOC_TYPES`)."""
    codes: tuple[CodeHit, ...] = ()
    """QR codes and barcodes decoded on the page."""
    version: int = 1
    """The record version that brought this page in (1: scanned with the batch; see
    :attr:`Manifest.history`); a later page's ``index`` is its position in that version."""


class StoredObject(_Frozen):
    """An object written to the store for a record."""

    key: str
    sha256: str
    size: int
    content_type: str


class SignatureSummary(_Frozen):
    """Who signed the archival PDF and how."""

    signer: str
    """Subject common name of the signing certificate."""
    issuer: str
    serial: str
    demo: bool
    """True for the generated demo certificate (not legally valid)."""
    subfilter: str = "ETSI.CAdES.detached"
    signed_at: datetime
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] = "B-B"
    """PAdES baseline level the signature was made at."""
    timestamped_at: datetime | None = None
    """Time certified by the RFC 3161 time-stamp authority (B-T and above)."""


class VersionRef(_Frozen):
    """Where an earlier version of a record lies in the archive, and its bytes' hashes."""

    version: int
    """The version number (1: the record as the batch archived it)."""
    manifest: StoredObject
    """That version's manifest (key and sha256 of its bytes as they were replaced)."""
    pdf: StoredObject
    """That version's signed PDF."""


class VersionChange(_Frozen):
    """One change of a record after archiving: what made version ``version``."""

    version: int
    """The version this change made (2 for the first)."""
    action: Literal["add_page", "replace_page", "renew_timestamp"]
    """``renew_timestamp``: an archive time-stamp added to the same signed PDF (B-LTA
    renewal, :mod:`records.renewal`); the pages and the signed bytes are unchanged."""
    page: int | None = None
    """1-based page number in the new version: where the page was added, or which was
    replaced (``None`` for a time-stamp renewal)."""
    reason: str
    by: str
    at: datetime
    original: StoredObject | None = None
    """The new page's scan as uploaded, stored like a batch's originals (``None`` for a
    time-stamp renewal)."""
    previous: VersionRef
    """The version this one replaces; it stays in the archive under retention."""


class Manifest(_Frozen):
    """The JSON written beside every archived PDF: enough to rebuild the catalog."""

    schema_version: int = 2
    record_id: str
    batch_id: str
    dossier_code: str
    kind: Kind
    unit: str
    status: RecordStatus
    created_at: datetime
    software: str
    pages: tuple[PageSummary, ...]
    mean_confidence: float
    fields: tuple[FieldValue, ...] = ()
    """Key fields with their evidence (the current values, after any correction)."""
    persons: tuple[Person, ...] = ()
    """Everyone the record names, by role (applicant, subject, parents, signer); empty in
    manifests made before sohoa kept people."""
    corrections: tuple[Correction, ...] = ()
    """Every change made in review, oldest first; the signed PDF is never rewritten."""
    segment: int = 0
    """This record's position among the dossiers split out of its batch (0-based)."""
    segments: int = 1
    """How many records the batch was split into."""
    sources: tuple[SourceFile, ...]
    pdf: StoredObject
    originals: tuple[StoredObject, ...]
    signature: SignatureSummary
    review_reasons: tuple[str, ...] = ()
    """Why the record needs a second look, as codes such as ``missing:applicant_name``,
    ``invalid:id_number:cccd_bad_province``, ``disagreement:dossier_code`` or
    ``page_low_confidence:3`` (1-based page); :func:`records.review.review_reason` renders them."""
    text: str = Field(repr=False)
    """Full OCR text, pages separated by form feeds."""
    version: int = 1
    """The record's version: 1 as archived from its batch, one more for each page change."""
    history: tuple[VersionChange, ...] = ()
    """Every page change, oldest first; each names the version it replaced (key and sha256)."""


class RecordView(_Frozen):
    """What the CLI prints for a record (``--json`` keys as in the issue)."""

    id: str
    dossier_code: str
    kind: Kind
    unit: str
    pages: int
    status: RecordStatus
    pdf: str
    sha256: str
    mean_confidence: float
    fields: dict[str, str] = {}


class RecordDraft(_Frozen):
    """One record (one dossier of a batch) after OCR and field extraction, before it is stored."""

    record_id: str
    dossier_code: str | None
    """The mã hồ sơ the record is filed under (``None`` when none was found or given)."""
    pages: tuple[PageImage, ...]
    """The record's pages in paper order (separator sheets left out)."""
    ocr: tuple[PageOcr, ...]
    """OCR of each page, in the same order."""
    doc_types: tuple[str, ...] = ()
    """Document type of each page, in the same order (empty when fields are off)."""
    codes: tuple[tuple[CodeHit, ...], ...] = ()
    """QR codes and barcodes of each page, in the same order."""
    fields: tuple[FieldValue, ...] = ()
    persons: tuple[Person, ...] = ()
    """Everyone the record names, by role (:class:`~schemas.fields.Person`)."""
    field_reasons: tuple[str, ...] = ()
    """Review reasons from field extraction (missing, invalid, low-confidence, disagreeing)."""
    segment: int = 0
    segments: int = 1
