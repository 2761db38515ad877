"""Read one page with Tesseract: words, boxes, confidences and text from a single run.

The page is cleaned for OCR only; word boxes are mapped back through the
cleaning transform onto the archived (colour, un-deskewed) scan, so the PDF's
invisible text layer sits on the words a reader sees.
"""

from __future__ import annotations

import math
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ocr import noise
from ocr.clean import clean_for_ocr
from ocr.flatten import apply_matrix
from ocr.reading_order import reading_lines
from ocr.reread import reread_page
from schemas.models import PageImage, PageOcr, Word
from schemas.settings import OcrSettings
from sohoa.errors import (
    ExternalProgramError,
    OcrError,
    ProgramMissingError,
    without_server_paths,
)
from sohoa.programs import tesseract


def load_page_pixels(page: PageImage) -> np.ndarray:
    """Decode the archived page image (BGR or grayscale) for cleaning."""
    pixels = cv2.imread(page.path, cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise OcrError(file=page.source, page=page.source_page + 1, reason="cannot decode image")
    if pixels.dtype != np.uint8:
        pixels = cv2.convertScaleAbs(pixels, alpha=255.0 / max(1, int(pixels.max())))
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    return pixels


def ocr_page(page: PageImage, opts: OcrSettings, pixels: np.ndarray | None = None) -> PageOcr:
    """Clean and OCR one page; raise :class:`OcrError` naming the file and page on failure.

    ``pixels``: the page as :func:`load_page_pixels` decodes it, when the caller already
    holds it (it is only read): one decode then serves OCR, codes and MRC.
    """
    cv2.setNumThreads(1)
    if pixels is None:
        pixels = load_page_pixels(page)
    cleaned = clean_for_ocr(pixels, dpi=page.dpi, opts=opts, dpi_known=page.dpi_known)
    blank = bool(getattr(cleaned, "blank", False))
    words: list[Word] = []
    if not blank:  # a blank page is reported, not OCR'd at length
        dpi = cleaned.dpi or page.dpi * cleaned.scale  # the measured resolution, when it was
        data = reread_page(cleaned.image, _run_tesseract(page, cleaned.image, opts, dpi), opts, dpi)
        words = words_from_tsv(data, cleaned.to_original, cleaned.skew_deg, opts.drop_noise)
    text = text_from_words(words)
    mean = float(np.mean([w.conf for w in words])) if words else 0.0
    return PageOcr(
        index=page.index,
        width=page.width,
        height=page.height,
        dpi=page.dpi,
        words=tuple(words),
        text=text,
        mean_confidence=round(mean, 2),
        skew_deg=round(cleaned.skew_deg, 3),
        rotation=int(getattr(cleaned, "rotation", 0)),
        blank=blank,
        steps=tuple(getattr(cleaned, "steps", ())),
        needs_review=bool(words) and mean < opts.review_confidence,
        dpi_estimated=cleaned.dpi_measured,
        dpi_source=cleaned.dpi_source,
        sheet=cleaned.sheet,
    )


def _run_tesseract(page: PageImage, image: np.ndarray, opts: OcrSettings, dpi: float) -> dict:
    """One Tesseract run on the cleaned image, returning its TSV as columns.

    The image is handed over as an uncompressed PGM written by OpenCV (which
    releases the GIL): letting pytesseract PNG-compress a 9-megapixel array
    costs about a second of GIL-holding CPU per page and serialises the workers.
    Tesseract's OpenMP thread limit travels with the call (see
    :mod:`sohoa.programs.tesseract`). A missing Tesseract is a set-up problem, not
    the page's: it travels as :class:`~sohoa.errors.ProgramMissingError`.
    """
    with tempfile.TemporaryDirectory(prefix="sohoa-ocr-") as tmp:
        path = Path(tmp) / "page.pgm"
        if not cv2.imwrite(str(path), image):
            raise OcrError(file=page.source, page=page.source_page + 1, reason="cannot write image")
        try:
            return tesseract.tsv(
                path,
                lang=opts.language,
                psm=opts.psm,
                dpi=round(dpi),
                tessdata_dir=opts.tessdata_dir,
                timeout=opts.page_timeout_s,
            )
        except ProgramMissingError:
            raise
        except ExternalProgramError as exc:  # failed, timed out or wrote no TSV
            raise OcrError(
                file=page.source, page=page.source_page + 1, reason=_reason(exc)
            ) from exc


def _reason(exc: ExternalProgramError) -> str:
    """Tesseract's own words when it failed (as reported before), else the error's message."""
    return without_server_paths(str(exc.params.get("detail") or exc.render("en")))[:160]


def words_from_tsv(
    data: dict, to_original: np.ndarray, skew_deg: float, drop_noise: bool = False
) -> list[Word]:
    """Build words from Tesseract's TSV columns, mapping boxes to the original image.

    With ``drop_noise``, words read from seals, signatures and handwriting
    (:mod:`ocr.noise`) are dropped first: left in, a margin note's "word" beside the
    body text passes for a column and hides the real header and footer blocks.

    Lines are numbered in reading order (:func:`ocr.reading_order.reading_lines`),
    worked out on the upright, cleaned image the boxes come from, before they are
    mapped: a header row Tesseract read across both blocks becomes two lines, each
    block read whole. The text, the PDF text layer and search all follow the numbers.

    A box in the cleaned image is mapped by its bottom-left corner (the text
    origin in the PDF), its bottom-right corner and its top-left corner: the
    distance between the first two mapped points is the word's width on the
    scan and their direction its angle; the distance from the bottom-left to
    the top-left is its height. Three points rather than a scale factor, so a
    flattened photo's homography (whose scale changes across the page) gives
    each word the size it has where it stands.
    """
    lines = _tsv_lines(data)
    if drop_noise:
        lines = _without_noise(lines)
    boxes = [[(b[0], b[1], b[0] + b[2], b[1] + b[3]) for _, _, b in line] for line in lines]
    words: list[Word] = []
    texts = [[text for text, _, _ in line] for line in lines]
    for number, refs in enumerate(reading_lines(boxes, texts)):
        for i, j in refs:
            text, conf, box = lines[i][j]
            words.append(_mapped_word(text, conf, number, box, to_original))
    return words


def _tsv_lines(data: dict) -> list[list[tuple[str, float, tuple[float, float, float, float]]]]:
    """Tesseract's words (text, confidence, left/top/width/height) grouped by its lines, in order."""
    lines: dict[tuple[int, int, int], list] = {}
    for i, level in enumerate(data["level"]):
        text = unicodedata.normalize("NFC", str(data["text"][i]).strip())
        conf = float(data["conf"][i])
        if int(level) != 5 or not text or conf < 0:
            continue
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        box = (float(data["left"][i]), float(data["top"][i]))
        box += (float(data["width"][i]), float(data["height"][i]))
        lines.setdefault(key, []).append((text, conf, box))
    return list(lines.values())


def _without_noise(lines: list[list]) -> list[list]:
    """The lines with their noise words (:func:`ocr.noise.kept`) left out; empty lines too."""
    flags = iter(noise.kept([(text, conf, box[3]) for line in lines for text, conf, box in line]))
    out = [[word for word in line if next(flags)] for line in lines]
    return [line for line in out if line]


def _mapped_word(text, conf, line, box: Sequence[float], to_original) -> Word:
    left, top, width, height = box
    x0, y0 = apply_matrix(to_original, left, top + height)  # bottom-left
    x1, y1 = apply_matrix(to_original, left + width, top + height)  # bottom-right
    x2, y2 = apply_matrix(to_original, left, top)  # top-left
    tall = math.hypot(x2 - x0, y2 - y0)
    angle = math.degrees(math.atan2(-(y1 - y0), x1 - x0))  # counter-clockwise, y grows down
    return Word(
        text=text,
        left=x0,
        top=y0 - tall,
        width=max(1.0, math.hypot(x1 - x0, y1 - y0)),
        height=max(1.0, tall),
        angle=round(angle, 3),
        conf=conf,
        line=line,
    )


def text_from_words(words: Sequence[Word]) -> str:
    """Plain text: words of a line joined by spaces, lines by newlines."""
    lines: dict[int, list[str]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word.text)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
