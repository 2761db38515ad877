"""A page's true resolution, measured from the height of its letters.

Why: a phone photo or a screenshot carries no resolution, or a false one
(phones write 72 dpi whatever the distance; some tools write 300). Every
cleaning step sizes its windows in millimetres and Tesseract is told the
resolution, so a 70-dpi photo taken for 300 dpi is neither enlarged nor read
with the right expectations (measured: 15-60 % CER where plain Tesseract,
left to estimate the resolution itself, reads 7-14 %).

How: body text is the one thing of known physical size on an office page.
The x-height (the height of ``a``, ``n``, ``o``) of the body text is the
commonest height among letter-sized ink components; Vietnamese tone marks
that touch their letter at low resolution make a second peak about 1.3-1.5x
higher, so the lower of two such peaks is taken. The x-height is then read as
:data:`XHEIGHT_PT` points, the x-height of the type used for official letters
(Times New Roman 13-14 pt, x-height 0.45 em, or a sans at 12 pt) as it comes
out of the binarisation (overshoot included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.paper import block_mean

XHEIGHT_PT = 6.6
"""Assumed x-height of body text, in points, as measured here (ink of ``o`` top to bottom).

Measured on renders (the estimate's ratio to the truth, the same within 3 % from 60 to
300 dpi): DejaVu Sans 11 pt 0.97, 12 pt 1.05; DejaVu Serif 10 pt 0.86, 13 pt 1.09, 14 pt
1.16. Times New Roman (not installed here) is computed from its metrics (x-height
0.448 em plus the same ~0.3 pt of overshoot and blur): 13 pt 0.92, 14 pt 0.99.
"""
CONTRADICTION = 1.6
"""A stated resolution is overruled when the letters say it is off by more than this factor."""
MIN_LETTERS = 40
"""Fewer letter-sized components than this give no estimate (blank pages, pure pictures)."""
_WORK_LONG_SIDE = 1200
"""Pages are measured on a copy at most this long (an A4 page at about 100 dpi: x-height ~9 px).

Measured: the estimate from 60-300 dpi renders is the same within 3 %, so a
larger copy buys nothing but time (110 ms on an A4 page at 300 dpi from a
2000-px copy, 25 ms from this one).
"""
_SECOND_PEAK = (1.2, 1.65)
"""Ascender / tone-mark peak over the x-height peak (DejaVu 1.37, Times 1.5, merged marks 1.3)."""


@dataclass(frozen=True)
class Resolution:
    """The resolution a page is cleaned and read at, and where it came from."""

    dpi: float
    """Resolution used for cleaning and OCR."""
    source: str
    """``stated`` (the file's own, confirmed or not contradicted), ``assumed`` (none stated,
    nothing measurable) or ``measured`` (from the letters)."""
    measured: float | None = None
    """Resolution measured from the letters, when it could be (recorded even if not used)."""


def _ink(gray: np.ndarray) -> np.ndarray:
    """Ink mask (1 = ink): darker than 70 % of the local paper, so shadows do not count.

    The paper level is a grey closing wider than any stroke (1/40 of the
    short side: 5 mm on an A4 page), which follows lighting gradients.
    """
    size = max(15, min(gray.shape) // 40)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    paper = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, kernel)
    return (gray.astype(np.float32) < 0.7 * paper.astype(np.float32)).astype(np.uint8)


def _letter_heights(gray: np.ndarray) -> np.ndarray:
    """Heights of the letter-shaped ink components (specks, lines, blobs and borders dropped)."""
    h, w = gray.shape
    _, _, stats, _ = cv2.connectedComponentsWithStats(_ink(gray), connectivity=8)
    x, y, cw, ch, area = (stats[1:, i] for i in range(5))
    inside = (x > 0) & (y > 0) & (x + cw < w) & (y + ch < h)
    shaped = (ch >= 3) & (cw <= 3 * ch) & (ch <= 3 * cw) & (area >= 0.15 * cw * ch)
    return ch[inside & shaped & (ch < h / 20)]


def xheight_px(gray: np.ndarray) -> float | None:
    """Body-text x-height of ``gray`` (uint8) in its own pixels, or ``None`` if not measurable.

    The lower of the two strongest height peaks when they stand in the ratio
    of x-height to ascender height (:data:`_SECOND_PEAK`), else the strongest.
    The peak is refined to a fraction of a pixel by its neighbours' counts.
    """
    k = math.ceil(max(gray.shape) / _WORK_LONG_SIDE)
    heights = _letter_heights(block_mean(gray, k) if k > 1 else gray)
    if len(heights) < MIN_LETTERS:
        return None
    counts = np.bincount(heights).astype(np.float64)
    smooth = np.convolve(counts, [0.5, 1.0, 0.5], mode="same")
    best = int(np.argmax(smooth))
    lower = [
        h
        for h in range(3, best)
        if _SECOND_PEAK[0] <= best / h <= _SECOND_PEAK[1] and smooth[h] >= 0.4 * smooth[best]
    ]
    peak = max(lower, key=lambda h: smooth[h]) if lower else best
    return _refine(counts, peak) * k


def _refine(counts: np.ndarray, peak: int) -> float:
    """Centre of mass of the counts at ``peak`` and its two neighbours."""
    lo, hi = max(0, peak - 1), min(len(counts), peak + 2)
    weights = counts[lo:hi]
    return float(np.dot(np.arange(lo, hi), weights) / max(1e-9, weights.sum()))


def measure_dpi(gray: np.ndarray) -> float | None:
    """Resolution at which the body text of ``gray`` would have :data:`XHEIGHT_PT` x-height."""
    xheight = xheight_px(gray)
    return None if xheight is None else round(xheight / (XHEIGHT_PT / 72.0), 1)


def resolve(gray: np.ndarray, *, dpi: float, known: bool, min_ocr_dpi: float) -> Resolution:
    """The resolution to clean and read ``gray`` at.

    A stated resolution is kept unless the letters contradict it by more than
    :data:`CONTRADICTION`: downwards always (a 70-dpi photo tagged 300 would
    not be enlarged), upwards only when the stated value would make the page
    be enlarged (a 12-megapixel phone photo tagged 72 dpi would grow to 90
    megapixels for nothing). Large type (a 24-pt certificate scanned at 300
    dpi) thus never lowers a true scanner resolution. With no stated
    resolution the measured one is used; with neither, ``dpi`` (the assumed one).
    """
    measured = measure_dpi(gray)
    if measured is None:
        return Resolution(dpi, "stated" if known else "assumed")
    if not known:
        return Resolution(measured, "measured", measured)
    too_high = dpi > CONTRADICTION * measured
    too_low = measured > CONTRADICTION * dpi and dpi < min_ocr_dpi
    if too_high or too_low:
        return Resolution(measured, "measured", measured)
    return Resolution(dpi, "stated", measured)
