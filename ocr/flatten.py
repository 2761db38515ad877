"""Find the sheet in a photographed page and flatten it (for OCR only).

A phone photo shows the sheet as a bright quadrilateral, in perspective, on a
darker desk. Tesseract reads text lines best when they are straight and
evenly spaced, which perspective breaks (lines converge; no one deskew angle
fits them all), and the desk around the sheet is read as noise.

What is archived: the photo as taken, as the batch's original file (its hash is
what the inbox recorded), and in the archival PDF the sheet flattened the same way
from the colour photo (:mod:`pdf.sheet`), so the record reads and prints like a
scan. Here, flattening is one more invertible step of the cleaning chain, like the
upscale and the deskew: word boxes found on the flattened page go back through the
inverse homography onto the words of the photo (the manifest's coordinates), and
the sheet's corners travel with the reading (``PageOcr.sheet``).

Flattening happens only when a sheet is clearly found (:func:`find_sheet`): a
convex four-cornered bright region, clearly brighter than what surrounds it,
with the surround making up a real part of the picture. A flatbed scan (the
page fills the image, or only thin scanner borders show) is left untouched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ocr.paper import block_mean

_WORK_LONG_SIDE = 640
"""The sheet is looked for on a copy this long: corners within ~0.2 % of the photo's size."""
_AREA = (0.2, 0.9)
"""The sheet covers between these fractions of the picture.

Below: too small to be the page (a card, a label). Above: the page fills the
picture as on a flatbed scan, and any margin is a scanner border, for
:func:`ocr.clean.remove_borders`.
"""
_CONTRAST = 40
"""The sheet's median grey must exceed the surround's by this many levels (of 255)."""
_EDGE_STEP = 25
"""Across every side of the sheet the grey must drop by this many levels within ~1 % of the picture.

Why: a lighting fall-off or a shadow band on a flatbed scan also outlines a
bright region, but smoothly; a sheet's edge is a step, in shadow too.
"""
_MAX_CORNER_DEG = 35
"""Each corner of the found quadrilateral is within this many degrees of a right angle."""


@dataclass(frozen=True)
class Sheet:
    """A sheet found in a photo and the homography that flattens it."""

    corners: np.ndarray
    """(4, 2) float corners in photo pixels: top-left, top-right, bottom-right, bottom-left."""
    size: tuple[int, int]
    """(width, height) of the flattened page, in pixels of about the photo's own density."""
    homography: np.ndarray
    """3x3 matrix taking photo pixels to flattened-page pixels."""


def _work_copy(gray: np.ndarray) -> tuple[np.ndarray, int]:
    """A smoothed copy at most :data:`_WORK_LONG_SIDE` long, and its integer reduction factor.

    An integer factor (:func:`ocr.paper.block_mean`): 4 ms for an A4 page at 300
    dpi where an arbitrary one costs 44 ms, on every page, photo or not.
    """
    k = math.ceil(max(gray.shape) / _WORK_LONG_SIDE)
    small = block_mean(gray, k) if k > 1 else gray
    return cv2.GaussianBlur(small, (5, 5), 0), k


def _order(quad: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left (image axes)."""
    pts = quad.reshape(4, 2).astype(np.float64)
    total, diff = pts.sum(axis=1), pts[:, 1] - pts[:, 0]
    return np.array(
        [pts[np.argmin(total)], pts[np.argmin(diff)], pts[np.argmax(total)], pts[np.argmax(diff)]]
    )


def _corner_angles(quad: np.ndarray) -> np.ndarray:
    """Inner angle at each corner of the ordered quadrilateral, in degrees."""
    prev, nxt = np.roll(quad, 1, axis=0) - quad, np.roll(quad, -1, axis=0) - quad
    cos = (prev * nxt).sum(axis=1) / (np.linalg.norm(prev, axis=1) * np.linalg.norm(nxt, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _candidate(mask: np.ndarray) -> np.ndarray | None:
    """The largest region of ``mask`` if it simplifies to a convex quadrilateral, ordered."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4:
        return None
    ordered = _order(quad)
    if len({tuple(p) for p in ordered}) != 4:
        return None
    return ordered


def _edge_steps(small: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Median grey drop from just inside to just outside each side of ``quad``.

    Sampled at 24 points along the middle 80 % of each side, 4 pixels either
    side of it (the corners' own error is a pixel or two at this size).
    """
    centre = quad.mean(axis=0)
    t = np.linspace(0.1, 0.9, 24)[:, None]
    h, w = small.shape
    steps = []
    for p, q in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        normal = np.array([q[1] - p[1], p[0] - q[0]]) / max(1e-9, float(np.linalg.norm(q - p)))
        normal *= np.sign(np.dot((p + q) / 2 - centre, normal)) or 1.0  # pointing outwards
        points = p + t * (q - p)
        inside, outside = (np.rint(points + d * 4 * normal).astype(int) for d in (-1, 1))
        values = [
            small[np.clip(a[:, 1], 0, h - 1), np.clip(a[:, 0], 0, w - 1)] for a in (inside, outside)
        ]
        steps.append(float(np.median(values[0].astype(np.int16) - values[1])))
    return np.array(steps)


def _clear(small: np.ndarray, quad: np.ndarray) -> bool:
    """Whether ``quad`` (in ``small``'s pixels) is clearly a sheet on a darker surround."""
    area = cv2.contourArea(quad.astype(np.float32)) / small.size
    if not _AREA[0] <= area <= _AREA[1]:
        return False
    if np.any(np.abs(_corner_angles(quad) - 90) > _MAX_CORNER_DEG):
        return False
    h, w = small.shape
    margin = 1  # a corner on the frame: the sheet is cut off there, its true corner unseen
    if (
        np.any(quad < margin)
        or np.any(quad[:, 0] > w - 1 - margin)
        or np.any(quad[:, 1] > h - 1 - margin)
    ):
        return False
    if np.any(_edge_steps(small, quad) < _EDGE_STEP):
        return False
    inside = np.zeros(small.shape, np.uint8)
    cv2.fillConvexPoly(inside, np.round(quad).astype(np.int32), 1)
    ring = max(3, min(small.shape) // 60)  # stay clear of the blurred edge
    kernel = np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)
    sheet = small[cv2.erode(inside, kernel) > 0]
    surround = small[cv2.dilate(inside, kernel) == 0]
    return float(np.median(sheet)) - float(np.median(surround)) >= _CONTRAST


def _sheet_mask(small: np.ndarray) -> np.ndarray:
    """Bright regions (Otsu), with text and specks closed over so the sheet is one region."""
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    size = max(3, min(small.shape) // 40) | 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (size, size))
    return cv2.morphologyEx(
        cv2.morphologyEx(bright, cv2.MORPH_CLOSE, kernel), cv2.MORPH_OPEN, kernel
    )


def _outline_mask(small: np.ndarray) -> np.ndarray:
    """Regions enclosed by strong edges: the sheet's outline survives a shadow across it.

    Why a second mask: a deep shadow over a corner makes that part of the sheet
    darker than the lit desk, so brightness alone cuts the corner off; the
    sheet-to-desk step stays a strong edge in the shadow too.
    """
    edges = cv2.dilate(cv2.Canny(small, 30, 90), np.ones((3, 3), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(edges)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return filled


def find_sheet(gray: np.ndarray) -> Sheet | None:
    """The sheet of paper photographed in ``gray`` (uint8), or ``None`` if none is clearly there.

    Found as the largest bright region (or, failing that, the largest region
    enclosed by strong edges) of a ~640-px copy whose outline simplifies to a
    convex, nearly rectangular quadrilateral covering 20-90 % of the picture,
    with all four corners inside the picture, clearly brighter than its
    surround (:func:`_clear`).
    """
    if min(gray.shape) < 64:
        return None
    small, k = _work_copy(gray)
    for mask in (_sheet_mask(small), _outline_mask(small)):
        quad = _candidate(mask)
        if quad is not None and _clear(small, quad):
            break
    else:
        return None
    corners = (quad + 0.5) * k - 0.5  # pixel centres, as cv2.resize
    return sheet_from_corners(corners)


def sheet_from_corners(corners: np.ndarray) -> Sheet:
    """The flattening of ``corners`` onto an upright rectangle as large as its longer sides.

    Taking the longer of each pair of opposite sides keeps the nearer (larger)
    edge's density, so no part of the sheet is shrunk.
    """
    tl, tr, br, bl = corners
    width = round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], float)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target.astype(np.float32))
    return Sheet(corners=corners, size=(width, height), homography=matrix.astype(np.float64))


def flatten(image: np.ndarray, sheet: Sheet, *, fill: int = 255) -> np.ndarray:
    """``image`` (grey or a per-pixel map of the photo) warped onto the flat sheet.

    Bicubic: the text of a 70-150 dpi photo is a few pixels high, and bilinear
    softens it further. Outside the photo (a corner cut off) is ``fill``.
    """
    return cv2.warpPerspective(
        image,
        sheet.homography,
        sheet.size,
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )


def apply_matrix(matrix: np.ndarray, x: float, y: float) -> tuple[float, float]:
    """``matrix`` (2x3 affine, or 3x3 homography) applied to the point (x, y)."""
    u = float(matrix[0, 0] * x + matrix[0, 1] * y + matrix[0, 2])
    v = float(matrix[1, 0] * x + matrix[1, 1] * y + matrix[1, 2])
    if matrix.shape[0] == 2:
        return u, v
    w = float(matrix[2, 0] * x + matrix[2, 1] * y + matrix[2, 2])
    return u / w, v / w
