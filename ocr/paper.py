"""Paper-level maps on a ~100-dpi copy of the page: borders, punch holes, lighting, ink marks.

Why a separate module: these are the analyses behind three cleaning steps of
:mod:`ocr.clean` (border removal, illumination flattening, blank detection) and
they share the same building blocks (a closing wider than any stroke, the
coarse paper level, "darker than a fraction of the paper" tests). They run on
every page, so they are written to cost little CPU: comparisons against a
per-pixel paper level are one :func:`cv2.LUT` plus one :func:`cv2.compare`
(tables built from the very numpy expressions they replace, so the results are
identical), percentiles of uint8 maps come from a histogram, components are
labelled with 16-bit labels where they fit, and work whose result a gate would
throw away is skipped when a cheap bound proves the gate's answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.orient import label_components

MAP_DPI = 100.0
"""Resolution of the copy on which borders and lighting are estimated."""
DARK_BORDER = 0.4
"""Borders are darker than this fraction of the local paper (shadows of lighting are not)."""
VERY_DARK = 0.25
"""Darker than this fraction of the paper level is a border whatever its width."""
UNEVEN_LIGHT = 0.12
"""Flatten lighting only if the background's 2nd percentile is this far below its 98th."""

_LEVELS = np.arange(256)
_BELOW_DARK_BORDER = np.array(
    [np.count_nonzero(_LEVELS.astype(np.uint8) < DARK_BORDER * np.float32(p)) for p in _LEVELS],
    dtype=np.uint8,
)
"""For each paper level p, how many grey levels s satisfy ``s < DARK_BORDER * float32(p)``."""
_PAPER_I16 = _LEVELS.astype(np.int16)
_BELOW_INK = np.array(
    [np.count_nonzero(_PAPER_I16 < min(p - 40, p * 0.6)) for p in _PAPER_I16], dtype=np.uint8
)
"""For each paper level p, how many levels s are ink: ``s < min(p - 40, 0.6 p)`` (see marks)."""


def px(mm: float, dpi: float) -> int:
    """``mm`` millimetres in pixels at ``dpi`` (at least 1)."""
    return max(1, round(mm / 25.4 * dpi))


def block_mean(gray: np.ndarray, k: int) -> np.ndarray:
    """Mean of every ``k`` x ``k`` block (the last ``k - 1`` rows and columns at most are dropped).

    This is INTER_AREA with an integer factor, OpenCV's fast path: 5 ms for an
    A4 page from 300 to 100 dpi, where the nearest non-integer factor costs 18 ms.
    """
    h, w = gray.shape
    crop = gray[: h // k * k, : w // k * k]
    return cv2.resize(crop, (w // k, h // k), interpolation=cv2.INTER_AREA)


def integer_factor(ratio: float) -> int:
    """``round(ratio)`` if ``ratio`` is within 5 % of an integer of 2 or more, else 0."""
    k = round(ratio)
    return k if k >= 2 and abs(ratio / k - 1) <= 0.05 else 0


def map_copy(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The page at about ``MAP_DPI`` (never upscaled) and its resolution.

    Scans at 200, 300, 400 or 600 dpi are reduced by an integer factor
    (:func:`block_mean`: 5 ms instead of 18 ms for A4 at 300 dpi).
    """
    factor = min(1.0, MAP_DPI / dpi)
    if factor >= 1.0:
        return gray.copy(), dpi
    if k := integer_factor(dpi / MAP_DPI):
        return block_mean(gray, k), dpi / k
    h, w = gray.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dpi * factor


def closing(image: np.ndarray, size: int, white_outside: bool = False) -> np.ndarray:
    """Grey closing with a square kernel: erases dark features narrower than ``size``.

    With ``white_outside`` the page is padded with white, so a dark band along
    an edge is erased like one inside the page (it has paper on one side only).
    """
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    if white_outside:
        return cv2.morphologyEx(
            image, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=255
        )
    return cv2.morphologyEx(image, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)


def coarse_paper(small: np.ndarray, dpi: float) -> np.ndarray:
    """Local paper level ignoring anything dark up to 15 mm wide, borders included.

    A closing on a quarter-resolution copy (:func:`block_mean` by 4) padded
    with white (so a band along an edge counts as narrow), brought back to the
    size of ``small``.
    """
    h, w = small.shape
    if min(h, w) < 4:
        tiny = cv2.resize(small, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    else:
        tiny = block_mean(small, 4)
    tiny = closing(tiny, px(15, dpi / 4) | 1, white_outside=True)
    return cv2.resize(tiny, (w, h), interpolation=cv2.INTER_LINEAR)


def percentiles(image: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(image, q)`` (linear method) for each q, from a histogram of a uint8 map.

    Same values as numpy (same order statistics, same interpolation formula)
    at a fifth of the cost: numpy partitions a copy of the whole map.
    """
    if image.dtype != np.uint8 or image.size >= 1 << 24 or image.size == 0:
        return [float(v) for v in np.percentile(image, qs)]
    hist = cv2.calcHist([np.ascontiguousarray(image)], [0], None, [256], [0, 256])
    cum = np.cumsum(hist.ravel().astype(np.int64))
    n = int(cum[-1])
    out = []
    for q in qs:
        virtual = (n - 1) * (q / 100)
        before = min(math.floor(virtual), n - 1)
        a, b = (
            int(np.searchsorted(cum, k, side="right")) for k in (before, min(before + 1, n - 1))
        )
        gamma = virtual - before
        out.append(a + (b - a) * gamma if gamma < 0.5 else b - (b - a) * (1 - gamma))
    return out


def darker_than_border(image: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """uint8 0/255: ``image < DARK_BORDER * paper`` pixel by pixel (both uint8, same size)."""
    return cv2.compare(image, cv2.LUT(paper, _BELOW_DARK_BORDER), cv2.CMP_LT)


def _replace_dark_objects(paper: np.ndarray, coarse: np.ndarray) -> np.ndarray:
    """``paper`` with its parts darker than ``DARK_BORDER`` of ``coarse`` taken from ``coarse``."""
    out = paper.copy()
    cv2.copyTo(coarse, darker_than_border(paper, coarse), out)
    return out


def hole_like(stats: np.ndarray, shape: tuple[int, int], dpi: float) -> np.ndarray:
    """Components shaped like punch holes: round, 4-10 mm wide, within 30 mm of an edge."""
    h, w = shape
    x, y, bw, bh, area = (stats[:, i].astype(np.float64) for i in range(5))
    size_ok = (np.minimum(bw, bh) >= px(4, dpi)) & (np.maximum(bw, bh) <= px(10, dpi))
    round_ok = (np.maximum(bw, bh) <= 1.35 * np.minimum(bw, bh)) & (area >= 0.6 * bw * bh)
    near = px(30, dpi)
    edge_ok = (x < near) | (y < near) | (x + bw > w - near) | (y + bh > h - near)
    return size_ok & round_ok & edge_ok


_StatsFilter = Callable[[np.ndarray, tuple[int, int], float], np.ndarray]


def _touching(binary: np.ndarray, also: _StatsFilter | None = None, dpi: float = 0.0) -> np.ndarray:
    """uint8 0/1 mask of the components of ``binary`` touching the image edge.

    With ``also`` (a stats filter such as :func:`hole_like`), components it
    selects are kept too. Nothing to label (the usual clean page) costs one count.
    """
    if cv2.countNonZero(binary) == 0:
        return np.zeros(binary.shape, np.uint8)
    _, labels, stats = label_components(binary)
    h, w = binary.shape
    x, y, bw, bh = (stats[:, i] for i in range(4))
    keep = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    if also is not None:
        keep |= also(stats, (h, w), dpi)
    keep[0] = False
    mask = np.zeros(binary.shape, np.uint8)
    xs, ys = cv2.findNonZero(binary).reshape(-1, 2).T
    chosen = keep[labels[ys, xs]]
    mask[ys[chosen], xs[chosen]] = 1
    return mask


def border_map(small: np.ndarray, dpi: float, coarse: np.ndarray) -> np.ndarray:
    """Mask (uint8 0/255, same size as ``small``) of dark borders and punch holes.

    Dark means below 40 % of the local paper level (``coarse``, see
    :func:`coarse_paper`) or below a quarter of the page's paper level (borders
    wider than 15 mm). Thick dark regions (a 1.5 mm opening erases text
    strokes) that touch the image edge are borders, round ones near an edge
    are punch holes; thin dark strips within 3 mm of the edge that touch it
    go too. The mask is grown by 1 mm to cover the blurred rims.
    """
    paper = percentiles(coarse, (90,))[0]
    # small < 0.4 * coarse or small < 0.25 * paper, as one per-pixel threshold
    limit = np.maximum(_BELOW_DARK_BORDER, math.ceil(VERY_DARK * paper)).astype(np.uint8)
    dark = cv2.compare(small, cv2.LUT(coarse, limit), cv2.CMP_LT)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (px(1.5, dpi) | 1,) * 2)
    mask = _touching(cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel), hole_like, dpi)
    band = np.zeros_like(dark)
    edge = px(3, dpi)
    band[:edge], band[-edge:], band[:, :edge], band[:, -edge:] = 255, 255, 255, 255
    mask |= _touching(cv2.bitwise_and(dark, band))
    if not mask.any():
        return mask
    # Grow by 1 mm to take the blurred rim too; text is never that close to a hole.
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px(1.0, dpi) + 1,) * 2)
    return cv2.dilate(mask, grow) * 255


def upsize(small: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    """``small`` resized to ``shape`` (rows, columns): bilinear, or nearest for masks."""
    if small.shape == shape:
        return small
    flag = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(small, (shape[1], shape[0]), interpolation=flag)


def paper_fill(small: np.ndarray, mask: np.ndarray, dpi: float) -> np.ndarray:
    """Paper tone to paint under ``mask``: the surrounding paper, smoothly extended.

    A normalised convolution (Gaussian of 10 mm, on a quarter-resolution
    copy) of the text-free paper level outside the mask; far from any paper
    it is the page's paper level.
    """
    h, w = small.shape
    quarter = (max(1, w // 4), max(1, h // 4))
    paper_map = closing(small, px(3, dpi) | 1)
    paper_map = cv2.resize(paper_map, quarter, interpolation=cv2.INTER_AREA).astype(np.float32)
    valid = cv2.resize((mask == 0).astype(np.float32), quarter, interpolation=cv2.INTER_AREA)
    sigma = px(10, dpi / 4)
    num = cv2.GaussianBlur(paper_map * valid, (0, 0), sigma)
    den = cv2.GaussianBlur(valid, (0, 0), sigma)
    paper = float(np.percentile(paper_map[valid > 0.5], 90)) if (valid > 0.5).any() else 255.0
    fill = np.where(den > 0.02, num / np.maximum(den, 1e-6), paper)
    fill = np.clip(fill, 0, 255).astype(np.uint8)
    return cv2.resize(fill, (w, h), interpolation=cv2.INTER_LINEAR)


@dataclass(frozen=True)
class Lighting:
    """The smoothed paper background of a 100-dpi copy, when it is uneven enough to flatten."""

    background: np.ndarray | None
    """uint8, at least 1, same size as the copy; ``None``: lighting even, nothing to do."""


def lighting(small: np.ndarray, dpi: float, coarse: np.ndarray) -> Lighting:
    """Background of ``small`` if its 2nd percentile is ``UNEVEN_LIGHT`` below its 98th.

    The background is a 3 mm closing (wider than any text stroke) of a
    median-filtered copy (the median keeps noise from biasing the closing, a
    running maximum, upwards); dark objects in it (borders, punch holes,
    filled boxes: darker than 40 % of ``coarse``) stand for paper there; then a
    Gaussian of 2 mm. That Gaussian is the costly part, so it is skipped when
    bounds prove the page even: every blurred pixel lies between the minimum
    and the maximum of its kernel's window (a normalised positive kernel), so
    the 2nd percentile is at least that of an erosion over the window and
    the 98th at most the maximum (1 level of rounding allowed each way).
    """
    background = _replace_dark_objects(closing(cv2.medianBlur(small, 5), px(3, dpi) | 1), coarse)
    sigma = px(2, dpi)
    reach = round(sigma * 3 * 2 + 1) | 1  # OpenCV's kernel size for an 8-bit Gaussian
    low = cv2.erode(background, cv2.getStructuringElement(cv2.MORPH_RECT, (reach, reach)))
    lo_bound = percentiles(low, (2,))[0] - 1
    hi_bound = float(cv2.minMaxLoc(background)[1]) + 1
    if max(lo_bound, 1) >= hi_bound * (1 - UNEVEN_LIGHT):
        return Lighting(None)
    background = np.maximum(cv2.GaussianBlur(background, (0, 0), sigma), 1)
    lo, hi = percentiles(background, (2, 98))
    if lo >= hi * (1 - UNEVEN_LIGHT):
        return Lighting(None)
    return Lighting(background)


def _inside_marks(ink: np.ndarray) -> np.ndarray:
    """Stats (x, y, w, h, area) of the components of ``ink`` not touching the image edge."""
    if cv2.countNonZero(ink) == 0:
        return np.empty((0, 5), np.int32)
    _, _, stats = label_components(ink)
    h, w = ink.shape
    x, y, bw, bh = (stats[:, i] for i in range(4))
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    inside[0] = False
    return stats[inside]


def _has_content(stats: np.ndarray, dpi: float) -> bool:
    """True if marks (stats of a 100-dpi copy at ``dpi``) hold a glyph, 3 dashes or a stroke."""
    if len(stats) == 0:
        return False
    _, _, bw, bh, area = (stats[:, i].astype(np.float64) for i in range(5))
    mm = 25.4 / dpi
    extent, width = np.maximum(bw, bh) * mm, np.minimum(bw, bh) * mm
    solid = (area >= 0.6 * bw * bh) & (extent <= 1.35 * width) & (extent >= 4)
    marks = (extent >= 0.8) & (extent <= 15) & ~solid
    glyphs = marks & (extent >= 1.5)
    strokes = (extent >= 10) & (area < 0.3 * bw * bh)
    return bool(glyphs.any() or marks.sum() >= 3 or strokes.any())


def blank(small: np.ndarray, dpi: float, colour: Callable[[], np.ndarray] | None) -> bool:
    """No ink marks that could be content on a 100-dpi copy ``small`` (at ``dpi``).

    Ink is at least 40 grey levels and 40 % below the local paper (a 3 mm
    closing, or around dark objects the coarse paper level), so lighting,
    paper grain and noise (a 3x3 median first) are not ink; nor is anything
    touching the image edge (borders). Coloured ink, pixels that colour
    suppression lightened by 40 levels or more (``colour()``, same size),
    counts too; it is only made and looked at when the grey ink alone shows
    nothing, since more marks can only add content.
    """
    small = cv2.medianBlur(small, 3)
    paper = _replace_dark_objects(closing(small, px(3, dpi) | 1), coarse_paper(small, dpi))
    marks = _inside_marks(cv2.compare(small, cv2.LUT(paper, _BELOW_INK), cv2.CMP_LT))
    if _has_content(marks, dpi):
        return False
    if colour is None:
        return True
    coloured = _inside_marks(cv2.threshold(colour(), 39, 255, cv2.THRESH_BINARY)[1])
    return not _has_content(np.vstack([marks, coloured]), dpi)
