"""Clean a page image for OCR only; the archived page keeps the original colour scan.

Why a separate, pure module: cleaning is the part of OCR quality we control,
so it is measured in isolation on synthetic scans (see :mod:`sohoa.synth`)
and kept free of Prefect and storage concerns.

Angle convention (everywhere in this module): degrees, positive =
counter-clockwise on screen, exactly as :func:`cv2.getRotationMatrix2D`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from schemas.settings import OcrSettings

_WORK_LONG_SIDE = 1200
"""Long side (px) of the binarised copy on which skew is measured."""
_MIN_INK_PIXELS = 400
"""Below this many ink pixels on the working copy there is no usable signal."""
_MIN_PEAK_GAIN = 2.0
"""The best angle must beat the median candidate by this factor to be trusted.

Measured: text pages score 8-35 (one line of text: ~9), a lone seal ~1.4,
pure noise ~1.1.
"""
_SPECK_LIMIT = 0.00075
"""Median-filter only above this speck fraction.

Measured (Tesseract vie, 12-line pages, skew 2.5°): at 0.05 % specks the
median is neutral to slightly harmful, from 0.1 % on it cuts CER 3-10 fold.
"""
_COARSE_STEP = 0.5
_FINE_STEP = 0.05


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


def _ink_points(gray: np.ndarray) -> np.ndarray:
    """Centred (x, y) coordinates of text ink on a downscaled, binarised copy.

    Components touching the image edge (dark scanner borders, punched holes
    cut by the edge) and very large blobs (photos, seals filled with ink) are
    dropped: they are axis-aligned with the scanner, not with the text, and
    would pull the estimate towards 0°.
    """
    h, w = gray.shape
    factor = min(1.0, _WORK_LONG_SIDE / max(h, w))
    small = (
        cv2.resize(
            gray,
            (max(1, round(w * factor)), max(1, round(h * factor))),
            interpolation=cv2.INTER_AREA,
        )
        if factor < 1.0
        else gray
    )
    otsu, _ = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # On nearly blank pages Otsu splits the paper grain itself; ink is always
    # well below the paper level, so cap the threshold there.
    paper = float(np.percentile(small[::4, ::4], 90))
    _, ink = cv2.threshold(small, min(otsu, paper - 60), 255, cv2.THRESH_BINARY_INV)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    sh, sw = ink.shape
    x, y, bw, bh, area = (stats[:, i] for i in range(5))
    touches = (x == 0) | (y == 0) | (x + bw >= sw) | (y + bh >= sh)
    huge = (bh > sh * 0.2) | (area > sh * sw * 0.01)
    keep = ~(touches | huge | (area < 4))
    keep[0] = False
    if count <= 1 or not keep.any():
        return np.empty((0, 2), dtype=np.float32)
    ys, xs = np.nonzero(keep[labels])
    return np.column_stack([xs - (sw - 1) / 2, ys - (sh - 1) / 2]).astype(np.float32)


def _profile_scores(points: np.ndarray, angles_deg: np.ndarray) -> np.ndarray:
    """Sharpness of the horizontal projection profile after rotating by each angle.

    The score is the sum of squared differences between adjacent rows of the
    profile (Postl's criterion): text lines give tall, narrow peaks with empty
    gaps in between only when they are horizontal.
    """
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    scores = np.empty(len(angles_deg))
    for i, angle in enumerate(np.radians(angles_deg)):
        rows = -x * np.sin(angle) + y * np.cos(angle)
        rows = np.rint(rows - rows.min()).astype(np.intp)
        profile = np.bincount(rows).astype(np.float64)
        scores[i] = np.sum(np.diff(profile) ** 2)
    return scores


def _refine_peak(angles: np.ndarray, scores: np.ndarray) -> float:
    """Sub-step angle of the best score by fitting a parabola through it and its neighbours."""
    best = int(np.argmax(scores))
    if best == 0 or best == len(scores) - 1:
        return float(angles[best])
    s0, s1, s2 = scores[best - 1 : best + 2]
    denom = s0 - 2 * s1 + s2
    offset = 0.5 * (s0 - s2) / denom if denom < 0 else 0.0
    return float(angles[best] + np.clip(offset, -0.5, 0.5) * (angles[1] - angles[0]))


def estimate_skew(gray: np.ndarray, max_deg: float = 15.0) -> float:
    """Angle by which to rotate ``gray`` so its text lines become horizontal.

    The result follows :func:`cv2.getRotationMatrix2D`: positive means rotate
    counter-clockwise on screen. A page whose content was turned
    counter-clockwise by 3° (lines rising to the right) yields about -3.0.

    Method: projection-profile search on a ~1200 px binarised copy, first in
    0.5° steps over ±``max_deg``, then in 0.05° steps around the best coarse
    angle, with parabolic interpolation of the peak. It returns 0.0 when there
    is too little ink or no clear peak (blank or noise-only pages, a lone seal).

    Args:
        gray: the page, uint8 greyscale (colour is converted as BGR).
        max_deg: largest skew considered, in degrees.
    """
    points = _ink_points(_to_gray(gray))
    if len(points) < _MIN_INK_PIXELS:
        return 0.0
    coarse = np.arange(-max_deg, max_deg + _COARSE_STEP / 2, _COARSE_STEP)
    coarse_scores = _profile_scores(points, coarse)
    if coarse_scores.max() < _MIN_PEAK_GAIN * np.median(coarse_scores):
        return 0.0
    centre = float(coarse[int(np.argmax(coarse_scores))])
    fine = np.arange(centre - _COARSE_STEP, centre + _COARSE_STEP + _FINE_STEP / 2, _FINE_STEP)
    angle = _refine_peak(fine, _profile_scores(points, fine))
    if abs(angle) > max_deg:
        return 0.0
    return round(angle, 3)


@dataclass(frozen=True)
class CleanResult:
    """A page ready for Tesseract and the way back to the original pixels."""

    image: np.ndarray
    """uint8 greyscale page, upscaled and deskewed as needed."""
    skew_deg: float
    """Rotation applied (cv2 convention, positive = counter-clockwise); 0.0 if none."""
    scale: float
    """Upscale factor applied before rotation (1.0 if none)."""
    to_original: np.ndarray
    """2x3 affine matrix: ``to_original @ [x, y, 1]`` is the original-pixel position of (x, y)."""

    def map_points(self, points: np.ndarray) -> np.ndarray:
        """Map an (N, 2) array of cleaned-image points to original-image pixel coordinates."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return pts @ self.to_original[:, :2].T + self.to_original[:, 2]


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


def speck_fraction(gray: np.ndarray) -> float:
    """Fraction of pixels that are isolated specks (salt-and-pepper noise).

    A speck differs by more than 80 grey levels from every one of its eight
    neighbours; text strokes (several pixels wide at scan resolution) never
    do, so, unlike ``|img - median(img)|``, this does not fire on clean text.
    Measured on 8 evenly spread bands of 128 rows to stay fast (~4 ms per A4 page).
    """
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


def clean_for_ocr(image: np.ndarray, *, dpi: float, opts: OcrSettings) -> CleanResult:
    """Prepare one page for Tesseract: grey, upscale, denoise, deskew.

    No binarisation: Tesseract's own Otsu on the grey page does at least as
    well on these scans, and keeping grey levels preserves thin diacritics.
    OpenCV is limited to one thread (process-wide) because pages already run
    one per core.

    Args:
        image: the page as decoded by OpenCV: BGR (or BGRA) uint8, or greyscale.
            Convert RGB arrays with ``cv2.cvtColor(a, cv2.COLOR_RGB2BGR)`` first.
        dpi: resolution of ``image``; pages below ``opts.min_ocr_dpi`` are upscaled.
        opts: which steps run (``deskew``, ``denoise``, ``min_ocr_dpi``).
    """
    cv2.setNumThreads(1)
    gray = _to_gray(image)
    # Specks are detected at scan resolution, where they are still one pixel.
    noisy = opts.denoise and speck_fraction(gray) > _SPECK_LIMIT
    forward = np.eye(3)
    scale = 1.0
    if dpi and dpi < opts.min_ocr_dpi:
        scale = opts.min_ocr_dpi / dpi
        gray, forward = _upscale(gray, scale)
    if noisy:
        gray = cv2.medianBlur(gray, 3)
    skew = estimate_skew(gray) if opts.deskew else 0.0
    if skew:
        h, w = gray.shape
        rotation = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), skew, 1.0)
        gray = cv2.warpAffine(
            gray,
            rotation,
            (w, h),
            flags=cv2.INTER_CUBIC,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )
        forward = _as3(rotation) @ forward
    to_original = np.linalg.inv(forward)[:2, :]
    return CleanResult(image=gray, skew_deg=float(skew), scale=scale, to_original=to_original)
