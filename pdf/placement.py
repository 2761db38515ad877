"""Where a scan sits on its PDF page: shown straightened, its image bytes untouched.

Why: on a scan tilted by a degree or two every text line is tilted, and poppler
(``pdftotext``, Evince and Okular, the indexers built on them) cuts tilted text into a
new word wherever its baseline moves by half a point, then builds lines from the pieces
and interleaves them with the neighbouring lines: 20-65 % CER on a full-width line
tilted by 1.5-5°, whatever the text layer's own shape (measured: one tilted text object
per line, one upright text object per word, upright pieces per line). A straight line
drawn over tilted ink leaves its ends a line or more off the words at 3°.

So the page shows the scan turned back by the tilt of its text, about its centre: the
image XObject is the scan as received, placed with a rotation in its ``cm`` matrix. The
OCR words are moved by the same turn, so text and ink are both straight and each word
lies on its ink. The page keeps the scan's size (an A4 scan stays A4, for copies at
1:1); what the turn moves past the page box is the corners of the scanner glass around a
tilted sheet, as with OCRmyPDF's ``--deskew``, except that here it is still in the image
and the original file is archived beside the PDF. This is how a reader sees the page, not
a change to the scan: the image is byte for byte what the scanner wrote (``--deskew``
re-encodes it).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from schemas.models import Word

MIN_TILT_DEG = 0.1
"""Smaller tilts are left as they are: every line straightened in place stays on its ink."""
MAX_TILT_DEG = 10.0
"""Larger residual angles are not a scan's tilt (a stamp, a diagonal note): left alone."""
MIN_WORDS = 5
"""A tilt is measured only on this many words of three letters or more."""


def _residual(angle: float, rotation: int) -> float:
    """The angle left once the page's quarter turn is taken off, in (-180, 180]."""
    return (angle - rotation + 180.0) % 360.0 - 180.0


def page_tilt(words: Sequence[Word], rotation: int) -> float:
    """How far the page's text leans (degrees counter-clockwise), or 0.0 to leave it as is.

    The median over words long enough for their box to give an angle; short words and
    words far from the page's direction (a turned stamp, a margin note) do not move it.
    """
    angles = [
        _residual(w.angle, rotation)
        for w in words
        if len(w.text) >= 3 and abs(_residual(w.angle, rotation)) < MAX_TILT_DEG
    ]
    if len(angles) < MIN_WORDS:
        return 0.0
    tilt = statistics.median(angles)
    return tilt if abs(tilt) >= MIN_TILT_DEG else 0.0


@dataclass(frozen=True)
class Placement:
    """A page of ``width`` x ``height`` scan pixels showing its scan turned back by ``tilt``.

    Page coordinates are the scan's pixels, y down; the page is the scan's size.
    """

    width: float
    height: float
    tilt: float = 0.0

    def _cos_sin(self) -> tuple[float, float]:
        return math.cos(math.radians(self.tilt)), math.sin(math.radians(self.tilt))

    def point(self, x: float, y: float) -> tuple[float, float]:
        """A scan pixel's place on the page: turned clockwise by ``tilt`` about the centre."""
        cos, sin = self._cos_sin()
        dx, dy = x - self.width / 2, y - self.height / 2
        return self.width / 2 + dx * cos - dy * sin, self.height / 2 + dx * sin + dy * cos

    def word(self, word: Word) -> Word:
        """The word moved with the scan: its origin (bottom-left corner) turned, its angle too."""
        if not self.tilt:
            return word
        x, y = self.point(word.left, word.top + word.height)
        return word.model_copy(
            update={"left": x, "top": y - word.height, "angle": round(word.angle - self.tilt, 3)}
        )

    def image_cm(self, px: float) -> str:
        """The ``cm`` operator that turns what is drawn after it, as :meth:`point` does.

        In PDF space (points, y up) that is clockwise by ``tilt`` about the page's centre;
        ``px`` is the size of a scan pixel in points.
        """
        if not self.tilt:
            return ""
        cos, sin = self._cos_sin()
        a, b, c, d = cos, -sin, sin, cos
        cx, cy = self.width * px / 2, self.height * px / 2
        e, f = cx - (a * cx + c * cy), cy - (b * cx + d * cy)
        return f"{a:.6f} {b:.6f} {c:.6f} {d:.6f} {e:.4f} {f:.4f} cm "
