"""Clean a page image for OCR only; the archived page keeps the original colour scan.

Why a separate, pure module: cleaning is the part of OCR quality we control,
so it is measured in isolation on synthetic scans (see :mod:`sohoa.synth`)
and kept free of Prefect and storage concerns.

Steps, in order, each switched by its :class:`~schemas.settings.OcrSettings`
flag: colour suppression while converting to grey (``suppress_colour``), dark
border and punch-hole removal (``remove_borders``), illumination flattening
(``normalise_illumination``), median denoising (``denoise``), upscaling of
low-resolution scans (``min_ocr_dpi``), 90/180/270° orientation (``orient``,
see :mod:`ocr.orient`), deskew (``deskew``) and binarisation (``binarise``).
Blank pages are recognised (``detect_blank``) without Tesseract.

Angle convention (everywhere in this module): degrees, positive =
counter-clockwise on screen, exactly as :func:`cv2.getRotationMatrix2D`.
Coordinates are pixel centres (pixel (i, j) of the cleaned image sits at
x = j, y = i), the convention of :func:`cv2.warpAffine` and :func:`cv2.rotate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ocr.orient import (
    InkSample,
    Orientation,
    find_rotation,
    flip_copy,
    ink_sample,
    skew_from_points,
    turn_image,
    turn_matrix,
    turn_points,
)
from schemas.settings import OcrSettings

_MIN_PEAK_GAIN = 2.0
"""The best skew angle must beat the median candidate by this factor to be trusted.

Measured: text pages score 8-35 (one line of text: ~9), a lone seal ~1.4,
pure noise ~1.1.
"""
_SPECK_LIMIT = 0.00075
"""Median-filter only above this speck fraction.

Measured (Tesseract vie, 12-line pages, skew 2.5°): at 0.05 % specks the
median is neutral to slightly harmful, from 0.1 % on it cuts CER 3-10 fold.
"""
MIN_DESKEW_DEG = 0.1
"""Smaller skews are left alone: rotating by a few hundredths of a degree only resamples.

Measured by the lead (bench/ocr.py, 02-blur-0, bicubic deskew): a -0.025° "correction"
raised CER from 0.06 % to 1.22 %.
"""
_MAP_DPI = 100.0
"""Resolution of the copy on which borders and lighting are estimated."""
_SAT_FROM, _SAT_FULL = 31, 77
"""Colour suppression ramps in between these saturations ((max - min) / max, as 0-255)."""
_LIFT = 1.2
"""Suppressed pixels take their brightest channel times this (a red seal's 215 becomes 255)."""
_DARK = 60
"""Pixels whose brightest channel is below this are never lightened."""
_MIN_COLOUR_SHARE = 5e-5
"""Suppress colour only if this share of pixels would lighten by 16 levels or more."""
_DARK_BORDER = 0.4
"""Borders are darker than this fraction of the local paper (shadows of lighting are not)."""
_VERY_DARK = 0.25
"""Darker than this fraction of the paper level is a border whatever its width."""
_UNEVEN_LIGHT = 0.12
"""Flatten lighting only if the background's 2nd percentile is this far below its 98th."""


@dataclass(frozen=True)
class CleanResult:
    """A page ready for Tesseract and the way back to the original pixels.

    The cleaned image is the original upscaled by ``scale``, turned clockwise
    by ``rotation`` (losslessly, as :func:`cv2.rotate`), then rotated by
    ``skew_deg`` about its centre. ``to_original`` is the exact inverse of
    that chain, so a point found in :attr:`image` maps to the same spot of the
    original, unturned scan; a PDF viewer shows that scan upright once the
    page's ``/Rotate`` is ``rotation``.
    """

    image: np.ndarray
    """uint8 greyscale page, upright, upscaled and deskewed as needed."""
    skew_deg: float
    """Rotation applied after turning (cv2 convention: positive = counter-clockwise); 0.0: none."""
    scale: float
    """Upscale factor applied first (1.0 if none)."""
    to_original: np.ndarray
    """2x3 affine matrix: ``to_original @ [x, y, 1]`` is the original-pixel position of (x, y)."""
    rotation: int = 0
    """Clockwise degrees (0, 90, 180, 270) by which the original must turn to read upright."""
    blank: bool = False
    """No content found (only paper, noise, borders): the page need not be OCR'd."""
    steps: tuple[str, ...] = ()
    """Steps that actually ran, in order, e.g. ``("orient:180", "denoise", "deskew:-2.31")``."""

    def map_points(self, points: np.ndarray) -> np.ndarray:
        """Map an (N, 2) array of cleaned-image points to original-image pixel coordinates."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return pts @ self.to_original[:, :2].T + self.to_original[:, 2]


# --- grey conversion ------------------------------------------------------------


def _to_gray(image: np.ndarray) -> np.ndarray:
    """Return a uint8 single-channel copy of a BGR, BGRA or grey page."""
    if image.ndim == 2:
        gray = image
    elif image.shape[2] == 4:
        gray = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    elif image.shape[2] == 3:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    else:
        gray = image[:, :, 0]
    if gray.dtype != np.uint8:
        gray = cv2.normalize(gray, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return gray


def suppress_colour(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Grey page in which strongly coloured ink (red seals, blue stamps) turns light.

    Saturated pixels take their brightest channel, raised by a fifth, as a
    colour drop-out scanner would: a red seal is bright in the red channel,
    while black text, also where the seal covers it, is dark in every channel
    and stays dark. Saturation is relative ((max - min) / max), so seals in
    shadow are caught too. Returns the grey page and how much each pixel was
    lightened (``None`` if none was): coloured ink is content for :func:`is_blank`.
    """
    if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
        return _to_gray(image), None
    bgr = np.ascontiguousarray(image[:, :, :3])
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    b, g, r = cv2.split(bgr)
    hi = cv2.max(cv2.max(b, g), r)
    sat = cv2.divide(cv2.subtract(hi, cv2.min(cv2.min(b, g), r)), hi, scale=255)
    ramp = np.clip((np.arange(256) - _SAT_FROM) * 255 // (_SAT_FULL - _SAT_FROM), 0, 255)
    weight = cv2.LUT(sat, ramp.astype(np.uint8))
    # Dark pixels are ink whatever their tint (black text under a seal): keep them.
    weight = cv2.bitwise_and(weight, cv2.threshold(hi, _DARK - 1, 255, cv2.THRESH_BINARY)[1])
    if cv2.countNonZero(weight) == 0:
        return gray, None
    target = cv2.max(cv2.convertScaleAbs(hi, alpha=_LIFT), gray)
    # gray + (target - gray) * weight / 255, in saturating uint8 arithmetic.
    lift = cv2.multiply(cv2.subtract(target, gray), weight, scale=1 / 255)
    # JPEG colour fringes lift a few pixels by a few levels: not worth a step.
    if cv2.countNonZero(cv2.compare(lift, 16, cv2.CMP_GE)) < lift.size * _MIN_COLOUR_SHARE:
        return gray, None
    return cv2.add(gray, lift), lift


# --- borders, punch holes and lighting -------------------------------------------


def _map_copy(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """The page at about ``_MAP_DPI`` (never upscaled) and its resolution."""
    factor = min(1.0, _MAP_DPI / dpi)
    if factor >= 1.0:
        return gray.copy(), dpi
    h, w = gray.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dpi * factor


def _closing(image: np.ndarray, size: int, white_outside: bool = False) -> np.ndarray:
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


def _px(mm: float, dpi: float) -> int:
    return max(1, round(mm / 25.4 * dpi))


def _coarse_paper(small: np.ndarray, dpi: float) -> np.ndarray:
    """Local paper level ignoring anything dark up to 15 mm wide, borders included.

    A closing on a quarter-resolution copy padded with white (so a band along
    an edge counts as narrow), brought back to the size of ``small``.
    """
    h, w = small.shape
    tiny = cv2.resize(small, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    tiny = _closing(tiny, _px(15, dpi / 4) | 1, white_outside=True)
    return cv2.resize(tiny, (w, h), interpolation=cv2.INTER_LINEAR)


def _hole_like(stats: np.ndarray, shape: tuple[int, int], dpi: float) -> np.ndarray:
    """Components shaped like punch holes: round, 4-10 mm wide, within 30 mm of an edge."""
    h, w = shape
    x, y, bw, bh, area = (stats[:, i].astype(np.float64) for i in range(5))
    size_ok = (np.minimum(bw, bh) >= _px(4, dpi)) & (np.maximum(bw, bh) <= _px(10, dpi))
    round_ok = (np.maximum(bw, bh) <= 1.35 * np.minimum(bw, bh)) & (area >= 0.6 * bw * bh)
    near = _px(30, dpi)
    edge_ok = (x < near) | (y < near) | (x + bw > w - near) | (y + bh > h - near)
    return size_ok & round_ok & edge_ok


def _border_map(small: np.ndarray, dpi: float) -> np.ndarray:
    """Mask (uint8 0/255, same size as ``small``) of dark borders and punch holes.

    Dark means below 40 % of the local paper level (see :func:`_coarse_paper`)
    or below a quarter of the page's paper level (borders wider than 15 mm).
    Thick dark regions (a 1.5 mm opening erases text strokes) that touch the
    image edge are borders, round ones near an edge are punch holes; thin
    dark strips within 3 mm of the edge that touch it go too. The mask is
    grown by 1 mm to cover the blurred rims.
    """
    paper_local = _coarse_paper(small, dpi)
    paper = float(np.percentile(paper_local, 90))
    dark = (small < _DARK_BORDER * paper_local.astype(np.float32)) | (small < _VERY_DARK * paper)
    dark = dark.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_px(1.5, dpi) | 1,) * 2)
    thick = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(thick, connectivity=8)
    h, w = small.shape
    x, y, bw, bh = (stats[:, i] for i in range(4))
    touches = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    keep = touches | _hole_like(stats, (h, w), dpi)
    keep[0] = False
    mask = keep[labels].astype(np.uint8)
    band = np.zeros_like(dark)
    edge = _px(3, dpi)
    band[:edge], band[-edge:], band[:, :edge], band[:, -edge:] = 1, 1, 1, 1
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark & band, connectivity=8)
    x, y, bw, bh = (stats[:, i] for i in range(4))
    touches = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    touches[0] = False
    mask |= touches[labels].astype(np.uint8)
    # Grow by 1 mm to take the blurred rim too; text is never that close to a hole.
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _px(1.0, dpi) + 1,) * 2)
    return cv2.dilate(mask, grow) * 255


def _upsize(small: np.ndarray, shape: tuple[int, int], nearest: bool = False) -> np.ndarray:
    if small.shape == shape:
        return small
    flag = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(small, (shape[1], shape[0]), interpolation=flag)


def _paper_fill(small: np.ndarray, mask: np.ndarray, dpi: float) -> np.ndarray:
    """Paper tone to paint under ``mask``: the surrounding paper, smoothly extended.

    A normalised convolution (Gaussian of 10 mm, on a quarter-resolution
    copy) of the text-free paper level outside the mask; far from any paper
    it is the page's paper level.
    """
    h, w = small.shape
    quarter = (max(1, w // 4), max(1, h // 4))
    paper_map = _closing(small, _px(3, dpi) | 1)
    paper_map = cv2.resize(paper_map, quarter, interpolation=cv2.INTER_AREA).astype(np.float32)
    valid = cv2.resize((mask == 0).astype(np.float32), quarter, interpolation=cv2.INTER_AREA)
    sigma = _px(10, dpi / 4)
    num = cv2.GaussianBlur(paper_map * valid, (0, 0), sigma)
    den = cv2.GaussianBlur(valid, (0, 0), sigma)
    paper = float(np.percentile(paper_map[valid > 0.5], 90)) if (valid > 0.5).any() else 255.0
    fill = np.where(den > 0.02, num / np.maximum(den, 1e-6), paper)
    fill = np.clip(fill, 0, 255).astype(np.uint8)
    return cv2.resize(fill, (w, h), interpolation=cv2.INTER_LINEAR)


def _remove_borders(gray: np.ndarray, small: np.ndarray, dpi: float) -> tuple[np.ndarray, bool]:
    """:func:`remove_borders` given the 100-dpi copy ``small`` (``dpi``), which is painted too."""
    mask = _border_map(small, dpi)
    if not mask.any():
        return gray, False
    fill = _paper_fill(small, mask, dpi)
    np.copyto(small, fill, where=mask > 0)
    out = gray.copy()
    np.copyto(out, _upsize(fill, gray.shape), where=_upsize(mask, gray.shape, nearest=True) > 0)
    return out, True


def remove_borders(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, bool]:
    """Paint dark scanner borders and punch holes with the surrounding paper tone.

    Returns the page and whether anything was painted. Text near the margins
    survives: it is thinner than the opening that finds borders, and not round.
    """
    small, map_dpi = _map_copy(gray, dpi)
    return _remove_borders(gray, small, map_dpi)


def _normalise_illumination(
    gray: np.ndarray, small: np.ndarray, dpi: float
) -> tuple[np.ndarray, np.ndarray, bool]:
    """:func:`normalise_illumination` given the 100-dpi copy; also returns that copy flattened."""
    # The median keeps noise from biasing the closing (a running maximum) upwards.
    background = _closing(cv2.medianBlur(small, 5), _px(3, dpi) | 1)
    # Dark objects wider than 3 mm (borders, punch holes, filled boxes) are not lighting.
    coarse = _coarse_paper(small, dpi)
    objects = background < _DARK_BORDER * coarse.astype(np.float32)
    background = np.where(objects, coarse, background)
    background = np.maximum(cv2.GaussianBlur(background, (0, 0), _px(2, dpi)), 1)
    lo, hi = np.percentile(background, [2, 98])
    if lo >= hi * (1 - _UNEVEN_LIGHT):
        return gray, small, False
    flat = cv2.divide(gray, _upsize(background, gray.shape), scale=255)
    return flat, cv2.divide(small, background, scale=255), True


def normalise_illumination(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, bool]:
    """Divide the page by its paper background so lighting becomes even.

    The background is a 3 mm closing (wider than any text stroke) of a
    median-filtered 100-dpi copy, smoothed. Dark objects in it (borders,
    punch holes: darker than 40 % of the coarse paper level) stand for paper
    there, so they stay dark. Pages whose background is already even within
    ``_UNEVEN_LIGHT`` are returned untouched. Returns the page and whether it changed.
    """
    small, map_dpi = _map_copy(gray, dpi)
    flat, _, changed = _normalise_illumination(gray, small, map_dpi)
    return flat, changed


# --- noise, skew, blank pages --------------------------------------------------------


def speck_fraction(gray: np.ndarray) -> float:
    """Fraction of pixels that are isolated specks (salt-and-pepper noise).

    A speck differs by more than 80 grey levels from every one of its eight
    neighbours; text strokes (several pixels wide at scan resolution) never
    do, so, unlike ``|img - median(img)|``, this does not fire on clean text.
    Measured on 8 evenly spread bands of 128 rows to stay fast (~4 ms per A4 page).
    """
    if min(gray.shape) < 3:
        return 0.0
    ring = np.ones((3, 3), np.uint8)
    ring[1, 1] = 0
    h = gray.shape[0]
    starts = np.linspace(0, max(0, h - 128), num=8).astype(int) if h > 1024 else [0]
    bands = [gray[s : s + 128] if h > 1024 else gray for s in starts]
    hits = total = 0
    for band in bands:
        lo = cv2.erode(band, ring).astype(np.int16)
        hi = cv2.dilate(band, ring).astype(np.int16)
        px = band.astype(np.int16)
        hits += int(np.count_nonzero((lo - px > 80) | (px - hi > 80)))
        total += band.size
    return hits / max(1, total)


def estimate_skew(gray: np.ndarray, max_deg: float = 15.0) -> float:
    """Angle by which to rotate ``gray`` so its text lines become horizontal.

    The result follows :func:`cv2.getRotationMatrix2D`: positive means rotate
    counter-clockwise on screen. A page whose content was turned
    counter-clockwise by 3° (lines rising to the right) yields about -3.0.

    Method: :func:`ocr.orient.skew_from_points` on a ~1200 px binarised copy.
    It returns 0.0 when there is too little ink or no clear peak (blank or
    noise-only pages, a lone seal).

    Args:
        gray: the page, uint8 greyscale (colour is converted as BGR).
        max_deg: largest skew considered, in degrees.
    """
    angle, gain = skew_from_points(ink_sample(_to_gray(gray)).points, max_deg)
    if gain < _MIN_PEAK_GAIN or abs(angle) < MIN_DESKEW_DEG:
        return 0.0
    return round(angle, 3)


def _inside_marks(ink: np.ndarray) -> np.ndarray:
    """Stats (x, y, w, h, area) of the components of ``ink`` not touching the image edge."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    h, w = ink.shape
    x, y, bw, bh = (stats[:, i] for i in range(4))
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    inside[0] = False
    return stats[inside]


def _marks(small: np.ndarray, dpi: float, colour: np.ndarray | None) -> np.ndarray:
    """Stats of the ink marks of a 100-dpi copy ``small`` (at ``dpi``).

    Ink is at least 40 grey levels and 40 % below the local paper (a 3 mm
    closing, or around dark objects the coarse paper level), so lighting,
    paper grain and noise (a 3x3 median first) are not ink; nor is anything
    touching the image edge (borders). Coloured ink, pixels that colour
    suppression lightened by 40 levels or more (``colour``, same size), counts too.
    """
    small = cv2.medianBlur(small, 3)
    paper = _closing(small, _px(3, dpi) | 1)
    coarse = _coarse_paper(small, dpi)
    paper = np.where(paper < _DARK_BORDER * coarse.astype(np.float32), coarse, paper)
    paper = paper.astype(np.int16)
    stats = _inside_marks(small.astype(np.int16) < np.minimum(paper - 40, paper * 0.6))
    if colour is not None:
        stats = np.vstack([stats, _inside_marks(colour >= 40)])
    return stats


def _blank(small: np.ndarray, dpi: float, colour: np.ndarray | None) -> bool:
    """:func:`is_blank` on the 100-dpi copy and the colour lift at the same size."""
    stats = _marks(small, dpi, colour)
    if len(stats) == 0:
        return True
    _, _, bw, bh, area = (stats[:, i].astype(np.float64) for i in range(5))
    mm = 25.4 / dpi
    extent, width = np.maximum(bw, bh) * mm, np.minimum(bw, bh) * mm
    solid = (area >= 0.6 * bw * bh) & (extent <= 1.35 * width) & (extent >= 4)
    marks = (extent >= 0.8) & (extent <= 15) & ~solid
    glyphs = marks & (extent >= 1.5)
    strokes = (extent >= 10) & (area < 0.3 * bw * bh)
    return not (glyphs.any() or marks.sum() >= 3 or strokes.any())


def is_blank(gray: np.ndarray, dpi: float, lift: np.ndarray | None = None) -> bool:
    """True if the page holds nothing that could be text, handwriting or a stamp.

    Content is one glyph-sized mark (1.5-15 mm, like a page number's digit),
    three smaller ones (0.8 mm and up, like dashes), or one long thin mark of
    10 mm or more (a signature). Noise, paper grain, shadows, dark borders and
    solid round blobs of 4 mm or more (punch holes) are not content.
    ``lift`` is the colour suppression's output (coloured ink, see
    :func:`suppress_colour`), so a page with only a blue signature is not blank.
    Works on a 100-dpi copy: about 25 ms for an A4 page.
    """
    small, map_dpi = _map_copy(gray, dpi)
    colour = _map_copy(lift, dpi)[0] if lift is not None else None
    return _blank(small, map_dpi, colour)


# --- geometry -----------------------------------------------------------------------


def _as3(matrix: np.ndarray) -> np.ndarray:
    """Lift a 2x3 affine matrix to 3x3 so transforms compose by multiplication."""
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _upscale(gray: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Resize by ``scale`` and return the image and its original->resized 3x3 matrix.

    The matrix follows cv2.resize's pixel-centre convention,
    ``x_dst = (x_src + 0.5) * sx - 0.5``, with the per-axis ratio actually used.
    """
    h, w = gray.shape
    new_w, new_h = round(w * scale), round(h * scale)
    resized = cv2.resize(gray, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
    sx, sy = new_w / w, new_h / h
    forward = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0.0, 0.0, 1.0]])
    return resized, forward


def _rotate(gray: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate about the centre by ``angle`` (cv2 convention), white corners; image and 3x3 matrix.

    Bilinear: 3x faster than bicubic (37 vs 116 ms per A4 page at 300 dpi)
    and measured as accurate (mean CER 0.10 % vs 0.12 % on 18 pages).
    """
    h, w = gray.shape
    rotation = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, 1.0)
    out = cv2.warpAffine(
        gray,
        rotation,
        (w, h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )
    return out, _as3(rotation)


def binarise(gray: np.ndarray) -> np.ndarray:
    """Global Otsu threshold: ink 0, paper 255.

    Global is enough once lighting is flattened, and measured better than
    Sauvola (k 0.2 or 0.34, 4 mm window), which turns paper specks into ink.
    """
    return cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[1]


# --- the pipeline -------------------------------------------------------------------


@dataclass
class _Prepared:
    """The page at scan resolution after the grey-level steps, and its 100-dpi copies."""

    gray: np.ndarray
    small: np.ndarray
    """``gray`` at about 100 dpi (before the median)."""
    small_dpi: float
    colour: np.ndarray | None
    """How much colour suppression lightened each pixel of ``small`` (``None``: nothing)."""


def _prepare(image: np.ndarray, dpi: float, opts: OcrSettings, steps: list[str]) -> _Prepared:
    """Colour, borders, lighting and noise dealt with, at scan resolution."""
    lift = None
    if opts.suppress_colour:
        gray, lift = suppress_colour(image)
        steps += ["colour"] if lift is not None else []
    else:
        gray = _to_gray(image)
    small, small_dpi = _map_copy(gray, dpi)
    if opts.remove_borders:
        gray, changed = _remove_borders(gray, small, small_dpi)
        steps += ["borders"] if changed else []
    if opts.normalise_illumination:
        gray, small, changed = _normalise_illumination(gray, small, small_dpi)
        steps += ["illumination"] if changed else []
    # Specks are detected and removed at scan resolution, where they are one pixel.
    if opts.denoise and speck_fraction(gray) > _SPECK_LIMIT:
        gray = cv2.medianBlur(gray, 3)
        steps.append("denoise")
    colour = _map_copy(lift, dpi)[0] if lift is not None else None
    return _Prepared(gray, small, small_dpi, colour)


def _skew(sample: InkSample, rotation: int, found: Orientation | None) -> float:
    """Deskew angle of the page once turned by ``rotation``; 0.0 without a clear peak or tiny."""
    if found is not None and found.method == "profile":
        angle, gain = found.skew_deg, found.skew_gain
    else:
        angle, gain = skew_from_points(turn_points(sample.points, rotation))
    if gain < _MIN_PEAK_GAIN or abs(angle) < MIN_DESKEW_DEG:
        return 0.0
    return round(angle, 3)


def clean_for_ocr(image: np.ndarray, *, dpi: float, opts: OcrSettings) -> CleanResult:
    """Prepare one page for Tesseract; the steps are listed in the module docstring.

    OpenCV is limited to one thread (process-wide) because pages already run
    one per core.

    Args:
        image: the page as decoded by OpenCV: BGR (or BGRA) uint8, or greyscale.
            Convert RGB arrays with ``cv2.cvtColor(a, cv2.COLOR_RGB2BGR)`` first.
        dpi: resolution of ``image``; pages below ``opts.min_ocr_dpi`` are upscaled.
        opts: which steps run (see :class:`~schemas.settings.OcrSettings`).
    """
    cv2.setNumThreads(1)
    dpi = float(dpi) if dpi and dpi > 0 else float(opts.min_ocr_dpi)
    steps: list[str] = []
    page = _prepare(image, dpi, opts, steps)
    gray = page.gray
    blank = opts.detect_blank and _blank(page.small, page.small_dpi, page.colour)
    found = None
    if opts.orient and not blank:
        found, sample = find_rotation(gray, dpi)
    else:  # the same sample as find_rotation's, so upright pages come out the same
        sample = ink_sample(flip_copy(gray, dpi))
    rotation = found.rotation if found is not None else 0
    forward, scale = np.eye(3), 1.0
    if dpi < opts.min_ocr_dpi:
        scale = opts.min_ocr_dpi / dpi
        gray, forward = _upscale(gray, scale)
        steps.append(f"upscale:{scale:.3g}")
    if rotation:
        forward = turn_matrix(rotation, gray.shape[1], gray.shape[0]) @ forward
        gray = turn_image(gray, rotation)
        steps.append(f"orient:{rotation}")
    skew = _skew(sample, rotation, found) if opts.deskew and not blank else 0.0
    if skew:
        gray, matrix = _rotate(gray, skew)
        forward = matrix @ forward
        steps.append(f"deskew:{skew:.2f}")
    if opts.binarise and not blank:
        gray = binarise(gray)
        steps.append("binarise")
    if blank:
        steps.append("blank")
    to_original = np.linalg.inv(forward)[:2, :]
    return CleanResult(
        image=gray,
        skew_deg=float(skew),
        scale=scale,
        to_original=to_original,
        rotation=rotation,
        blank=blank,
        steps=tuple(steps),
    )
