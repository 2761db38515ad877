"""A photographed sheet is shown flattened in the archival PDF; the photo stays the original.

Why: a phone photo shows the sheet in perspective on a desk. Its text lines converge,
so no one turn makes them straight, and poppler and pdf.js read converging lines out
of order (a page read at 3 % CER by the OCR came back at 10 % from ``pdftotext
-layout``); the desk and the shadows are nothing an archive, a printer or a reader
wants either. So when OCR found and flattened a sheet (:mod:`ocr.flatten`), the PDF
page is that sheet, flattened the same way from the colour photo, and the OCR words
are moved onto it by the same homography. Nothing is lost: the photo as taken is
archived unchanged as the batch's original file (its hash is the one the inbox
recorded), and the manifest keeps the words on the photo and the sheet's corners.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from ocr.flatten import apply_matrix, sheet_from_corners
from schemas.models import PageImage, PageOcr, Word
from sohoa.errors import BadInputError

JPEG_QUALITY = 90
"""The flattened sheet is a new image (resampled), so it is stored as a good JPEG."""


def moved_word(word: Word, homography: np.ndarray) -> Word:
    """``word`` (a box on the photo) on the flattened sheet: three corners mapped.

    The bottom-left corner is the origin, the bottom-right gives width and angle, the
    top-left the height, so a word keeps the size it has where it stands.
    """
    a = math.radians(word.angle)
    x0, y0 = word.left, word.top + word.height
    points = ((x0, y0), (x0 + word.width * math.cos(a), y0 - word.width * math.sin(a)))
    points += ((x0 - word.height * math.sin(a), y0 - word.height * math.cos(a)),)
    (bx, by), (rx, ry), (tx, ty) = (apply_matrix(homography, x, y) for x, y in points)
    height = max(1.0, math.hypot(tx - bx, ty - by))
    return word.model_copy(
        update={
            "left": bx,
            "top": by - height,
            "width": max(1.0, math.hypot(rx - bx, ry - by)),
            "height": height,
            "angle": round(math.degrees(math.atan2(-(ry - by), rx - bx)), 3),
        }
    )


def flattened_page(page: PageImage, ocr: PageOcr, work: Path) -> tuple[PageImage, PageOcr]:
    """The flattened sheet as a page image in ``work``, and the reading moved onto it.

    Raises:
        BadInputError: the photo cannot be decoded (it could when OCR read it).
    """
    sheet = sheet_from_corners(np.array(ocr.sheet, dtype=np.float64))
    photo = cv2.imread(page.path, cv2.IMREAD_COLOR)
    if photo is None:
        raise BadInputError(reason=f"cannot read page image {Path(page.path).name}")
    flat = cv2.warpPerspective(
        photo,
        sheet.homography,
        sheet.size,
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(255, 255, 255),
    )
    dest = work / f"sheet-{page.index}.jpg"
    cv2.imwrite(str(dest), flat, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    width, height = sheet.size
    shown = page.model_copy(
        update={
            "path": str(dest),
            "width": width,
            "height": height,
            "mode": "RGB",
            "encoding": "jpeg",
        }
    )
    words = tuple(moved_word(w, sheet.homography) for w in ocr.words)
    return shown, ocr.model_copy(update={"words": words, "width": width, "height": height})
