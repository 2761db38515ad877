"""Page geometry on a small binarised copy: ink sampling, projection profiles and
detection of pages turned by 90, 180 or 270 degrees.

Why not Tesseract's OSD for every page: it costs 0.6-1 s per A4 page (as much
as the OCR itself), fails ("Too few characters") on sparse pages and read 171
of 184 test pages right, while the two cues below (the text axis from binned
projection profiles, up/down from ink above vs below the line cores) take
about 0.1 s including the ink sampling and read 366 of 368 right (single
sentences to full pages, 150-300 dpi, five fonts, noise, blur, JPEG, skew up
to 8°). OSD is only asked when a cue is weak (about 3 % of those pages).

Conventions: ``rotation`` is the clockwise angle in degrees (0, 90, 180, 270)
by which an image must be turned to read upright, the meaning of Tesseract
OSD's ``Rotate:`` line and of a PDF page's ``/Rotate``. Points are (x, y) in
pixels relative to the centre of the working copy, y growing downwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from sohoa.errors import ExternalProgramError, ProgramMissingError
from sohoa.programs import tesseract

_WORK_LONG_SIDE = 1200
"""Long side (px) of the binarised working copy (about 100 dpi for A4)."""
_MIN_INK_PIXELS = 400
"""Below this many ink pixels there is no usable signal for skew or orientation."""
_MIN_MARKS = 8
"""Fewer separate marks than this (a signature, a stamp) say nothing about orientation."""
_SURE_MARKS = 20
"""Fewer marks (a two-word heading) may show the up/down cue wrongly: then ask OSD."""
_AXIS_MARGIN = 3.0
"""The axis cue is sure when one binned profile is this much sharper than the other.

Measured on 368 pages (single sentences to full pages, 150-300 dpi, five
fonts, noise, blur, JPEG, skew up to 8°): the true axis scores 7-75x.
"""
_FLIP_MARGIN = 0.12
"""The up/down cue is sure beyond this |flip score| (measured: 2 % of pages fall below)."""
_FLIP_DPI = 200.0
"""Resolution of the copies for the upright/upside-down cue and for Tesseract OSD."""
_OSD_MIN_CONFIDENCE = 2.0
"""Tesseract OSD answers below this orientation confidence are ignored."""
OSD_TIMEOUT_S = 60.0
"""OSD on the ~200 dpi copy takes about a second; one that runs this long is given up."""
_COARSE_STEP = 0.5
_FINE_STEP = 0.05
_SEARCH_POINTS = 16000
"""Ink points used for the axis and coarse skew searches (all of them for the fine skew)."""


@dataclass(frozen=True)
class InkSample:
    """Text-like ink of a page on a ~1200 px binarised copy."""

    points: np.ndarray
    """(N, 2) float32 ink pixel centres, relative to the working copy's centre."""
    boxes: np.ndarray
    """(M, 5) int: x, y, width, height, area of each kept component (working pixels)."""
    size: tuple[int, int]
    """(width, height) of the working copy."""
    factor: float
    """Working-copy pixels per pixel of the sampled image (at most 1)."""


@dataclass(frozen=True)
class Orientation:
    """Result of :func:`detect_rotation`."""

    rotation: int
    """Clockwise degrees (0, 90, 180, 270) to turn the image upright."""
    axis_ratio: float
    """Profile sharpness across the page / along it (> 1: lines run across)."""
    flip_score: float
    """(ink above - ink below line cores) / both, once lines are horizontal; > 0 upright."""
    skew_deg: float
    """Skew of the lines once turned (cv2 convention), as :func:`skew_from_points` finds it."""
    skew_gain: float
    """Sharpness gain of that skew angle (see :func:`skew_from_points`)."""
    method: str
    """``profile`` (cues sure), ``weak`` (not sure), ``osd`` (Tesseract decided) or
    ``none`` (too little ink or too few marks: assumed upright)."""


def work_copy(gray: np.ndarray, long_side: int = _WORK_LONG_SIDE) -> np.ndarray:
    """Downscale (INTER_AREA) so the long side is at most ``long_side``.

    Exactly this resampling, even where an integer factor would be 20 times
    cheaper (:func:`ocr.paper.block_mean`): the skew angle is measured on this copy, and
    resampling it differently moves the angle by ~0.01°, which alone changed
    Tesseract's reading of skewed pages (bench/ocr.py, skew kind CER 0.08 % ->
    0.11 %).
    """
    h, w = gray.shape
    factor = min(1.0, long_side / max(h, w))
    if factor >= 1.0:
        return gray
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def flip_copy(gray: np.ndarray, dpi: float) -> np.ndarray:
    """``gray`` at no more than ``_FLIP_DPI``, the resolution of the up/down cue.

    INTER_AREA even though it costs 25 ms on an A4 page at 300 dpi (bilinear:
    3 ms): bilinear thins serifs and tone marks, and turned two single-line
    pages in 368 the wrong way. The ~100-dpi sample for the skew is taken
    from this copy, so see :func:`work_copy` too.
    """
    return work_copy(gray, round(max(gray.shape) * min(1.0, _FLIP_DPI / dpi)))


def label_components(binary: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count, labels, stats) of the 8-connected components of a uint8 mask.

    16-bit labels when there are fewer than 65535 components: OpenCV then
    labels an A4 page at 200 dpi in 11 ms instead of 29 ms, with the same
    labels and stats. More components (pure noise) fall back to 32-bit labels.
    """
    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            binary, connectivity=8, ltype=cv2.CV_16U
        )
    except cv2.error:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    return count, labels, stats


def ink_sample(gray: np.ndarray, long_side: int = _WORK_LONG_SIDE) -> InkSample:
    """Text ink of ``gray`` (uint8) on a downscaled, binarised copy.

    Components touching the image edge (dark scanner borders, punched holes
    cut by the edge), very large blobs (photos, filled seals, table grids)
    and specks are dropped: they are aligned with the scanner, not the text.
    Points are in row-major order (as :func:`np.nonzero` gives them).
    """
    small = work_copy(gray, long_side)
    otsu, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    # On nearly blank pages Otsu splits the paper grain itself; ink is always
    # well below the paper level, so cap the threshold there.
    paper = float(np.percentile(small[::4, ::4], 90))
    if paper - 60 < otsu:
        _, ink = cv2.threshold(small, paper - 60, 255, cv2.THRESH_BINARY_INV)
    count, labels, stats = label_components(ink)
    sh, sw = ink.shape
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    touches = (x == 0) | (y == 0) | (x + bw >= sw) | (y + bh >= sh)
    huge = (bh > sh * 0.2) | (bw > sw * 0.5) | (area > sh * sw * 0.01)
    keep = ~(touches | huge | (area < 4))
    keep[0] = False
    factor = sw / gray.shape[1]
    if count <= 1 or not keep.any():
        return InkSample(np.empty((0, 2), np.float32), np.empty((0, 5), int), (sw, sh), factor)
    # All ink pixels, then those of kept components: a gather over the ink
    # only, 5x cheaper than mapping every pixel's label through ``keep``.
    # (np.compress and per-column subtraction: numpy is slow on rows of two.)
    found = cv2.findNonZero(ink).reshape(-1, 2)
    points = np.compress(keep[labels[found[:, 1], found[:, 0]]], found, axis=0)
    points = points.astype(np.float32)
    points[:, 0] -= np.float32((sw - 1) / 2)
    points[:, 1] -= np.float32((sh - 1) / 2)
    return InkSample(points, stats[keep].astype(int), (sw, sh), factor)


def turn_points(points: np.ndarray, rotation: int) -> np.ndarray:
    """Centred points as they lie after turning the image clockwise by ``rotation``."""
    x, y = points[:, 0], points[:, 1]
    turned = {0: (x, y), 90: (-y, x), 180: (-x, -y), 270: (y, -x)}[rotation % 360]
    return np.column_stack(turned).astype(np.float32)


def turn_matrix(rotation: int, width: int, height: int) -> np.ndarray:
    """3x3 map of pixel centres of a ``width`` x ``height`` image to the turned image.

    Matches :func:`cv2.rotate` exactly (``ROTATE_90_CLOCKWISE`` for 90,
    ``ROTATE_180``, ``ROTATE_90_COUNTERCLOCKWISE`` for 270).
    """
    w, h = width - 1, height - 1
    m = {
        0: [[1, 0, 0], [0, 1, 0]],
        90: [[0, -1, h], [1, 0, 0]],
        180: [[-1, 0, w], [0, -1, h]],
        270: [[0, 1, 0], [-1, 0, w]],
    }[rotation % 360]
    return np.vstack([np.array(m, dtype=np.float64), [0.0, 0.0, 1.0]])


def turn_image(image: np.ndarray, rotation: int) -> np.ndarray:
    """Turn ``image`` clockwise by a multiple of 90 degrees, losslessly."""
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(image, codes[rotation % 360]) if rotation % 360 else image


def _rows(points: np.ndarray, angle_deg: float) -> np.ndarray:
    """Integer row index of each point after rotating by ``angle_deg`` (cv2 convention)."""
    a = np.radians(angle_deg)
    rows = -points[:, 0].astype(np.float64) * np.sin(a) + points[:, 1] * np.cos(a)
    return np.rint(rows - rows.min()).astype(np.intp)


def profile_scores(points: np.ndarray, angles_deg: np.ndarray, bin_px: int = 1) -> np.ndarray:
    """Sharpness of the horizontal projection profile after rotating by each angle.

    The score is the sum of squared differences between adjacent bins of the
    profile (Postl's criterion): text lines give tall, narrow peaks with empty
    gaps in between only when they are horizontal. Bins of most of a
    character height (``bin_px``) ignore the stroke-level detail that makes
    the profile along a single line look sharp too.

    The rows are :func:`_rows`'s float64 arithmetic done in place in two
    reused buffers, and the sum of squares is an integer dot product: the same
    scores at a third of the CPU (this runs ~150 times per page).
    """
    x = -points[:, 0].astype(np.float64)
    y = points[:, 1].astype(np.float64)
    rows, term = np.empty_like(x), np.empty_like(x)
    scores = np.empty(len(angles_deg))
    for i, angle in enumerate(angles_deg):
        a = np.radians(angle)
        np.multiply(x, np.sin(a), out=rows)
        rows += np.multiply(y, np.cos(a), out=term)
        rows -= rows.min()
        bins = np.rint(rows, out=rows).astype(np.intp)
        if bin_px > 1:
            bins //= bin_px
        steps = np.diff(np.bincount(bins))
        scores[i] = float(np.dot(steps, steps))
    return scores


def _line_spans(profile: np.ndarray, char_px: float) -> list[tuple[int, int]]:
    """Row ranges [start, end) of the text lines, cut at the profile minimum between lines.

    Smoothing over one character height merges the two peaks of a line
    (x-height line and baseline) into one hump per line; humps closer than a
    character height are the same line.
    """
    size = max(3, round(char_px)) | 1
    smooth = np.convolve(profile, np.ones(size) / size, mode="same")
    local_max = cv2.dilate(smooth.reshape(1, -1), np.ones((1, 2 * size + 1), np.uint8)).ravel()
    peaks = np.flatnonzero((smooth >= local_max) & (smooth > 0.05 * smooth.max()))
    if len(peaks) > 1:
        peaks = peaks[np.concatenate([[True], np.diff(peaks) > size])]
    cuts = [0, *(int(a + np.argmin(profile[a:b])) for a, b in pairwise(peaks)), len(profile)]
    return list(pairwise(cuts))


def _core(line: np.ndarray, char_px: float) -> tuple[int, int]:
    """Rows [top, bottom) of a line's dense band (x-height, or cap height for capitals).

    The band grows from the centre of the line's hump while rows hold at
    least 40 % of the line's densest row; the sparser zones of ascenders,
    tone marks and descenders on either side stop it.
    """
    size = max(3, round(char_px)) | 1
    centre = int(np.argmax(np.convolve(line, np.ones(size), mode="same")))
    sparse = line < 0.4 * line.max()
    above, below = np.flatnonzero(sparse[:centre]), np.flatnonzero(sparse[centre:])
    top = int(above[-1]) + 1 if len(above) else 0
    bottom = centre + int(below[0]) if len(below) else len(line)
    return top, bottom


def flip_score(points: np.ndarray, angle_deg: float, char_px: float) -> float:
    """How much more ink lies above the line cores than below them, in [-1, 1].

    Upright Latin script, and Vietnamese far more so, carries ascenders,
    capitals and tone marks above the x-height band and only descenders and
    the dot-below (dấu nặng) under it; a page turned 180° shows the reverse.
    ``char_px`` is the typical character height in rows.
    """
    profile = np.bincount(_rows(points, angle_deg)).astype(np.float64)
    above = below = 0.0
    for start, end in _line_spans(profile, char_px):
        line = profile[start:end]
        if line.sum() < 20:
            continue
        top, bottom = _core(line, char_px)
        reach = max(2, bottom - top)
        above += line[max(0, top - reach) : top].sum()
        below += line[bottom : bottom + reach].sum()
    total = above + below
    return float((above - below) / total) if total else 0.0


def _thin(points: np.ndarray) -> np.ndarray:
    """Every k-th point, so at most ``_SEARCH_POINTS`` remain for wide angle searches."""
    step = -(-len(points) // _SEARCH_POINTS)
    return points[::step] if step > 1 else points


def _refine_peak(angles: np.ndarray, scores: np.ndarray) -> float:
    """Sub-step angle of the best score by fitting a parabola through it and its neighbours."""
    best = int(np.argmax(scores))
    if best == 0 or best == len(scores) - 1:
        return float(angles[best])
    s0, s1, s2 = scores[best - 1 : best + 2]
    denom = s0 - 2 * s1 + s2
    offset = 0.5 * (s0 - s2) / denom if denom < 0 else 0.0
    return float(angles[best] + np.clip(offset, -0.5, 0.5) * (angles[1] - angles[0]))


def skew_from_points(points: np.ndarray, max_deg: float = 15.0) -> tuple[float, float]:
    """(angle, gain): rotation (cv2 convention) that makes the text lines horizontal.

    Projection-profile search, first in 0.5° steps over ±``max_deg``, then in
    0.05° steps around the best coarse angle, with parabolic interpolation of
    the peak. ``gain`` is the best coarse score over the median one (text
    pages: 8-35, a lone seal ~1.4, noise ~1.1); (0.0, 0.0) without enough ink.
    """
    if len(points) < _MIN_INK_PIXELS:
        return 0.0, 0.0
    coarse = np.arange(-max_deg, max_deg + _COARSE_STEP / 2, _COARSE_STEP)
    coarse_scores = profile_scores(_thin(points), coarse)
    gain = float(coarse_scores.max() / max(1e-9, np.median(coarse_scores)))
    centre = float(coarse[int(np.argmax(coarse_scores))])
    fine = np.arange(centre - _COARSE_STEP, centre + _COARSE_STEP + _FINE_STEP / 2, _FINE_STEP)
    angle = _refine_peak(fine, profile_scores(points, fine))
    return float(np.clip(angle, -max_deg, max_deg)), gain


def detect_rotation(
    sample: InkSample, max_skew_deg: float = 15.0, fine: InkSample | None = None
) -> Orientation:
    """Decide from the ink alone how the page is turned; see :class:`Orientation`.

    First the axis: the projection profile (allowing any skew up to
    ``max_skew_deg``) is far sharper across text lines than along them. Then
    the direction, from :func:`flip_score` on the lines made exactly horizontal.
    """
    if len(sample.points) < _MIN_INK_PIXELS or len(sample.boxes) < _MIN_MARKS:
        return Orientation(0, 1.0, 0.0, 0.0, 0.0, "none")
    axis = np.arange(-max_skew_deg, max_skew_deg + 0.5, 1.0)
    turned = turn_points(sample.points, 90)
    size = np.median(np.maximum(sample.boxes[:, 2], sample.boxes[:, 3]))
    bin_px = max(1, round(0.8 * float(size)))
    across = float(profile_scores(_thin(sample.points), axis, bin_px).max())
    along = float(profile_scores(_thin(turned), axis, bin_px).max())
    ratio = across / along if along else float("inf")
    if ratio < 1.0:
        base, points, char_px = 90, turned, float(np.median(sample.boxes[:, 2]))
    else:
        base, points, char_px = 0, sample.points, float(np.median(sample.boxes[:, 3]))
    skew, gain = skew_from_points(points, max_skew_deg)
    if fine is not None and len(fine.points):
        points = turn_points(fine.points, base)
        char_px = float(np.median(fine.boxes[:, 2 if base else 3]))
    score = flip_score(points, skew, char_px)
    sure = (
        abs(score) >= _FLIP_MARGIN
        and not 1 / _AXIS_MARGIN <= ratio < _AXIS_MARGIN
        and len(sample.boxes) >= _SURE_MARKS
    )
    rotation = base if score >= 0 else base + 180
    return Orientation(rotation, ratio, score, skew, gain, "profile" if sure else "weak")


def osd_rotation(
    gray: np.ndarray, dpi: float, *, timeout: float = OSD_TIMEOUT_S
) -> tuple[int, float] | None:
    """Tesseract OSD's (rotation, confidence), or ``None`` if it cannot tell.

    OSD fails with "Too few characters" on sparse pages, and a run past ``timeout``
    is given up; neither is an error here. The small copy is handed over as an
    uncompressed PGM (cheaper to write than the PNG pytesseract used to make).
    """
    with tempfile.TemporaryDirectory(prefix="sohoa-osd-") as tmp:
        path = Path(tmp) / "page.pgm"
        if not cv2.imwrite(str(path), gray):
            return None
        try:
            found = tesseract.osd(path, dpi=max(70, round(dpi)), timeout=timeout)
        except ProgramMissingError:
            raise  # a set-up problem: the page's OCR could not run either
        except ExternalProgramError:  # timed out or wrote no answer: cannot tell
            return None
    if not found or "rotate" not in found or "orientation_conf" not in found:
        return None
    return int(found["rotate"]) % 360, float(found["orientation_conf"])


def find_rotation(gray: np.ndarray, dpi: float) -> tuple[Orientation, InkSample]:
    """Clockwise turn (0/90/180/270) that makes ``gray`` (at ``dpi``) upright.

    The fast ink cues (:func:`detect_rotation`, on a copy of at most 200 dpi)
    decide when they are clear. Otherwise Tesseract OSD is asked; it is
    trusted only with enough confidence and, if the text axis was clear, only
    to choose the direction along it. Failing that the page stays as it is,
    or, if its lines clearly run vertically, is turned by the weak cue's
    choice (either beats leaving vertical text to Tesseract). Also returns
    the ~1200 px ink sample, for deskewing.
    """
    fine_copy = flip_copy(gray, dpi)
    sample = ink_sample(fine_copy)
    found = detect_rotation(sample, fine=ink_sample(fine_copy, max(fine_copy.shape)))
    if found.method != "weak":
        return found, sample
    axis_sure = not 1 / _AXIS_MARGIN < found.axis_ratio < _AXIS_MARGIN
    base = 90 if found.axis_ratio < 1 else 0
    osd = osd_rotation(fine_copy, dpi * fine_copy.shape[0] / gray.shape[0])
    if (
        osd is not None
        and osd[1] >= _OSD_MIN_CONFIDENCE
        and (not axis_sure or osd[0] % 180 == base)
    ):
        return Orientation(osd[0], found.axis_ratio, found.flip_score, 0.0, 0.0, "osd"), sample
    rotation = found.rotation if axis_sure and base == 90 else 0
    weak = Orientation(rotation, found.axis_ratio, found.flip_score, 0.0, 0.0, "weak")
    return weak, sample
