"""Seals on 1-bit scans: their rings found and erased, and the text lines under them cut apart.

Why a module of its own: on a black-and-white scan a seal cannot be told from print by
its colour, and its ring runs through the signer's title and name; Tesseract then reads
the lines and the ring as one picture and returns nothing for them. The second reading
(:mod:`ocr.reread`) asks this module for the ring-free pixels of such a region
(:func:`erase_rings`) and for the bands of its text lines (:func:`line_bands`), and reads
each band as a line. Pure pixel work: no Tesseract, no reading state.
"""

from __future__ import annotations

import cv2
import numpy as np

MAX_RING_LINES = 15
"""A seal's ring is at most this many text lines in radius. Vietnamese office seals are
35-42 mm across and a 12-14 pt line 3-4 mm tall: 5-7 lines of radius; twice that leaves
room for big seals and small print. Why a bound: a tall region without a seal (a table,
a QR code beside a signature block) was searched for circles as wide as the page
(1.7-3 s of a one-page ingest's 8 s on a receipt)."""

RING_COVER = 0.4
"""A circle around which this share of the circumference is ink is a seal's ring: a line
of print covers at most a third of any circle wider than two lines (measured on the
real-world corpus's 1-bit seals: rings 0.42-1.0, print under 0.3)."""


def erase_rings(image: np.ndarray, ink: np.ndarray, box, line_h: float) -> np.ndarray:
    """``image`` with the rings of a seal around ``box`` made white (a copy, if any).

    Why: a 1-bit seal's ring crosses the lines it stamps, and a line read with two arcs
    through it comes back as "/®>KT:GIẦM". The ring is looked for in all the ink
    (words read included) of ``box`` and half its size around (at most a seal's radius,
    :data:`MAX_RING_LINES`): a thin ring broken by the threshold is not part of the
    region. Hough's circles give candidate centres; the
    centre is refined to where ink covers one radius most fully (:func:`_ring_radii`),
    and every ink pixel at a ring's radius is erased; ``ink`` too (where lines are found).
    A letter the ring runs along loses that stroke: less harm than the arcs.
    """
    left, top, width, height = (int(v) for v in box)
    reach = min(max(width, height) // 2, int(MAX_RING_LINES * line_h))
    x0, y0 = max(0, left - reach), max(0, top - reach)
    x1, y1 = left + width + reach, top + height + reach
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    _, whole = cv2.threshold(grey[y0:y1, x0:x1], 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    found = _ring_radii(whole, line_h)
    if found is None:
        return image
    ys, xs = found[0] + y0, found[1] + x0
    image = image.copy()
    image[ys, xs] = 255
    ink[ys, xs] = 0
    return image


def _ring_radii(region: np.ndarray, line_h: float):
    """Rows and columns of the region's ink that lie on a seal's rings, or ``None``."""
    circles = _hough_centres(region, line_h)
    if not circles:
        return None
    ys, xs = np.nonzero(region)
    step = max(1, int(0.05 * line_h))
    reach = range(-4 * step, 4 * step + 1, step)
    widest = MAX_RING_LINES * line_h
    best = None
    for cx, cy in circles:  # only the ink a ring around this centre could pass through
        near = (np.abs(xs - cx) <= widest + 4 * step) & (np.abs(ys - cy) <= widest + 4 * step)
        if not near.any():
            continue
        cys, cxs = ys[near], xs[near]
        for dx in reach:
            for dy in reach:
                found = _cover(cys, cxs, cx + dx, cy + dy, line_h)
                if best is None or found[0] > best[0][0]:
                    best = (found, cys, cxs)
    if best is None:
        return None
    (peak, dist, cover), ys, xs = best
    radii = np.flatnonzero(cover >= RING_COVER)
    radii = radii[(radii >= 2 * line_h) & (radii <= widest)]
    if peak < RING_COVER or radii.size == 0:
        return None
    hit = np.isin(dist, radii)
    return ys[hit], xs[hit]


def _hough_centres(region: np.ndarray, line_h: float) -> list[tuple[float, float]]:
    """Centres of Hough's three strongest circles wider than two lines, found at a tenth
    of a line's height a pixel (a fiftieth of the work at 200 dpi: the centres are
    refined on the full image anyway, :func:`_ring_radii`)."""
    scale = min(1.0, 10 / line_h)
    small = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    circles = cv2.HoughCircles(
        cv2.GaussianBlur(small, (3, 3), 0),
        cv2.HOUGH_GRADIENT,
        dp=1,
        minDist=2 * line_h * scale,
        param1=100,
        param2=30,
        minRadius=int(2 * line_h * scale),
        maxRadius=min(max(small.shape), int(MAX_RING_LINES * line_h * scale)),
    )
    if circles is None:
        return []
    return [(float(x) / scale, float(y) / scale) for x, y, _ in circles[0][:3]]


def _cover(ys, xs, cx: float, cy: float, line_h: float):
    """(best cover between two lines' radius and a seal's widest, each pixel's radius,
    cover per radius)."""
    dist = np.hypot(xs - cx, ys - cy).round().astype(int)
    cover = np.bincount(dist) / (2 * np.pi * np.maximum(np.arange(dist.max() + 1), 1))
    far = cover[int(2 * line_h) : int(MAX_RING_LINES * line_h) + 1]
    return (float(far.max()) if far.size else 0.0), dist, cover


def line_bands(ink: np.ndarray, box, line_h: float) -> list[tuple[int, int, int, int]]:
    """The text lines inside a tall inked region, as (left, top, width, height).

    Why: on a 1-bit scan a seal cannot be told from print by its colour, and its ring
    runs through the signer's title and name; smeared along the line, ring, signature
    and both lines are one region many lines tall. Across a row of print a third of
    the width or more is ink; a ring or a pen stroke adds a few pixels a row. So the
    rows inked above Otsu's level of the region's rows (:func:`_otsu`), in runs of a
    text line's height, are the lines; each is cut to its most inked stretch along the row
    (:func:`_inked_span`), leaving the ring's far side out. What a band holds is only
    kept when it reads as confident text (:func:`_reads_as_text`).
    """
    left, top, width, height = (int(v) for v in box)
    region = ink[top : top + height, left : left + width] > 0
    rows = np.convolve(region.sum(axis=1), np.ones(3) / 3, mode="same")
    dense = np.flatnonzero(rows > _otsu(rows))
    if dense.size == 0:
        return []
    bands = []
    for run in np.split(dense, np.flatnonzero(np.diff(dense) > 1) + 1):
        if not 0.5 * line_h <= len(run) <= 1.5 * line_h:
            continue
        grow = int(0.2 * line_h)
        y0, y1 = max(0, run[0] - grow), min(height, run[-1] + 1 + grow)
        span = _inked_span(region[y0:y1], line_h)
        if span and span[1] - span[0] >= 2.5 * line_h:
            bands.append((left + span[0], top + y0, span[1] - span[0], y1 - y0))
    return bands


def _otsu(values: np.ndarray) -> float:
    """The level that best parts ``values`` in two groups (Otsu's threshold)."""
    top = float(values.max()) or 1.0
    scaled = np.round(values / top * 255).astype(np.uint8).reshape(1, -1)
    level, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return level / 255 * top


def _inked_span(band: np.ndarray, line_h: float) -> tuple[int, int] | None:
    """The columns of a band's most inked stretch: columns closer than a text height
    are one stretch (the gaps between words), farther ones are not (a ring's arc)."""
    cols = np.flatnonzero(band.sum(axis=0))
    if cols.size == 0:
        return None
    runs = np.split(cols, np.flatnonzero(np.diff(cols) > line_h) + 1)
    best = max(runs, key=lambda r: band[:, r[0] : r[-1] + 1].sum())
    return int(best[0]), int(best[-1]) + 1
