"""Reading order for side-by-side blocks: read a two-column band column by column.

Vietnamese official documents set their header as two blocks side by side (the
issuing body and its number on the left, the national motto and the place and
date on the right) and their footer the same way ("Nơi nhận" on the left, the
signature block on the right). Tesseract (psm 3) often returns such a row as one
line running across both blocks, so the page text, the search snippets and the
PDF text layer interleave the two blocks. This module finds those bands on the
upright, cleaned page and numbers the lines so that each block reads whole: the
left block's lines top to bottom, then the right block's.

It is deliberately conservative: nothing moves unless a row parts at a wide gap,
the rows around it keep to one common column gap, *and* the band looks like blocks
meant to be read down (a column of centred lines, as headers and signature blocks
are set, or two columns of full-width lines, as newspaper-style text is set). A
plain page, a form whose rows pair label and value, or a table keeps Tesseract's
order.

All coordinates are pixels of the image Tesseract read; a box is
``(left, top, right, bottom)``.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from sohoa.textfold import fold

Box = tuple[float, float, float, float]
"""A word's box on the OCR'd image: left, top, right, bottom (pixels)."""
Ref = tuple[int, int]
"""A word as (index of its Tesseract line, index of the word in that line)."""
Fit = tuple[list["Part"], list["Part"], tuple[float, float], bool]
"""A row against a band: its parts left of the gutter, right of it, the narrowed gutter, and
whether a line had to be split at a modest gap to get there (:data:`SPLIT_GAP`)."""

WIDE_GAP = 2.0
"""A gap this many word heights wide (and well above the line's other gaps) parts a line:
word spaces, even in justified text, stay under one height."""
WIDE_OVER_OTHERS = 3.0
"""...and this many times the line's median other gap, so a sparse justified line stays whole."""
SPLIT_GAP = 0.6
"""Inside a band, a line running across both blocks splits at a gap this many heights wide
that lies in the band's column gap: the first header row is often set so wide that its two
blocks nearly touch (its halves must still line up with the band's sides)."""
SPLIT_OVER_OTHERS = 2.0
"""...and this many times the line's median other gap (justified lines have even gaps)."""
MIN_GUTTER = 0.25
"""The whitespace common to every row of a band stays at least this many heights wide."""
MARK = 0.8
"""A lone word narrower than this many heights is a speck (a seal's, a rule's or a
signature's noise, a dash): it neither parts nor narrows the column gap."""
ROW_STEP = 2.2
"""A row joins a band when its top is at most this many heights below the band (or, for a
row with text on one side only, below that side's last line)."""
SIGN_STEP = 6.0
"""...a line centred under one side may stand this far below it: the signer's name under
the room left to sign."""
ALIGN = 0.6
"""Two lines are centred (or left-/right-aligned) alike within this many heights."""
MIN_FULL_ROWS = 3
"""Newspaper-style columns: at least this many rows with both lines full-width."""
RECIPIENTS = "noi nhan"
"""The folded heading of the recipients list ("Nơi nhận:") that opens an official
document's footer on the left, beside the signature block (Decree 30/2020/NĐ-CP)."""


@dataclass(frozen=True)
class Part:
    """A run of words of one Tesseract line between gaps that part it."""

    line: int
    """Index of the Tesseract line the words belong to."""
    words: tuple[int, ...]
    """Indices of the words in that line, left to right."""
    box: Box
    """The union of the words' boxes."""
    mark: bool
    """A speck rather than text (see :data:`MARK`): placed, but never evidence of a column."""

    @property
    def centre(self) -> float:
        """Horizontal centre: centred lines of one block share it."""
        return (self.box[0] + self.box[2]) / 2

    @property
    def width(self) -> float:
        """Horizontal extent."""
        return self.box[2] - self.box[0]


@dataclass
class _Band:
    """Rows read column by column: per row, the left and right side's parts."""

    rows: list[tuple[int, list[Part], list[Part]]]
    gutter: tuple[float, float]

    def side_parts(self, side: int) -> list[Part]:
        """The text (specks left out) of one side (0 left, 1 right), top to bottom."""
        parts = (p for row in self.rows for p in row[1 + side] if not p.mark)
        return sorted(parts, key=lambda p: p.box[1])

    def paired(self) -> int:
        """Rows with text on both sides: the evidence of two columns."""
        return sum(1 for _, left, right in self.rows if _text(left) and _text(right))


def _text(parts: Sequence[Part]) -> list[Part]:
    return [p for p in parts if not p.mark]


def reading_lines(
    lines: Sequence[Sequence[Box]], texts: Sequence[Sequence[str]] | None = None
) -> list[list[Ref]]:
    """Tesseract's lines (word boxes, in its order) regrouped and reordered for reading.

    Returns the output lines in reading order, each a list of word references.
    Lines outside any two-column band come out whole and in Tesseract's order; a
    band's lines come out at the place of its first Tesseract line, split at the
    column gap, left column first. ``texts`` (the words, as ``lines``) lets a
    footer be told by its "Nơi nhận" heading when its geometry alone cannot.
    """
    height = _page_height(lines)
    footers = _recipient_lines(texts or [])
    units: list[tuple[int, int, list[Ref]]] = []
    taken: set[int] = set()
    if height > 0:
        parts = {i: split_line(i, words, height) for i, words in enumerate(lines)}
        for band in _bands(_rows(lines), parts, lines, height):
            if not (reads_down(band, height) or _opens_footer(band, footers)):
                continue
            band_lines = {p.line for _, left, right in band.rows for p in left + right}
            taken |= band_lines
            first = min(band_lines)
            units += [(first, n, refs) for n, refs in enumerate(_band_lines(band))]
    for i, words in enumerate(lines):
        if i not in taken and words:
            units.append((i, 0, [(i, j) for j in range(len(words))]))
    return [refs for _, _, refs in sorted(units, key=lambda u: (u[0], u[1]))]


def _recipient_lines(texts: Sequence[Sequence[str]]) -> set[int]:
    """The lines that start with the recipients heading ("Nơi nhận")."""
    return {i for i, words in enumerate(texts) if fold(" ".join(words[:2])).startswith(RECIPIENTS)}


def _opens_footer(band: _Band, footers: set[int]) -> bool:
    """Whether the band's left side opens with "Nơi nhận": the footer, read block by block.

    The signature block's lines often have nearly one width ("KT. GIÁM ĐỐC", "PHÓ
    GIÁM ĐỐC", the name), so their centring cannot be told from their geometry; the
    heading can, and a form or a table does not begin with it.
    """
    left = band.side_parts(0)
    return bool(left and band.paired()) and left[0].line in footers and left[0].words[0] == 0


def _page_height(lines: Sequence[Sequence[Box]]) -> float:
    """The median word height: the page's unit for gaps, steps and alignment."""
    heights = [b[3] - b[1] for words in lines for b in words]
    return float(statistics.median(heights)) if heights else 0.0


def _gaps(words: Sequence[Box]) -> list[float]:
    return [b[0] - a[2] for a, b in pairwise(words)]


def split_line(index: int, words: Sequence[Box], height: float) -> list[Part]:
    """One Tesseract line cut at gaps far wider than a word space (see :data:`WIDE_GAP`)."""
    cuts = [k + 1 for k in range(len(words) - 1) if _parts_at(words, k, height, wide=True)]
    bounds = [0, *cuts, len(words)]
    return [_part(index, words, range(a, b), height) for a, b in pairwise(bounds)]


def _parts_at(words: Sequence[Box], k: int, height: float, *, wide: bool) -> bool:
    """Whether the gap after word ``k`` parts the line: wide for its height and its other gaps."""
    gaps = _gaps(words)
    floor, ratio = (WIDE_GAP, WIDE_OVER_OTHERS) if wide else (SPLIT_GAP, SPLIT_OVER_OTHERS)
    size = statistics.median(b[3] - b[1] for b in words)
    if gaps[k] < floor * min(size, height * 1.5):
        return False
    others = [max(g, 0.0) for n, g in enumerate(gaps) if n != k]
    return not others or gaps[k] >= ratio * statistics.median(others)


def _part(index: int, words: Sequence[Box], span: Sequence[int], height: float) -> Part:
    box = _extent([words[k] for k in span])
    return Part(index, tuple(span), box, len(span) == 1 and box[2] - box[0] < MARK * height)


def _extent(words: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in words),
        min(b[1] for b in words),
        max(b[2] for b in words),
        max(b[3] for b in words),
    )


def _rows(lines: Sequence[Sequence[Box]]) -> list[list[int]]:
    """Tesseract lines grouped into rows: side by side, overlapping by half their height.

    Tesseract may have read the two blocks as separate lines (even separate
    blocks); set side by side they are one row of the page.
    """
    spans = {i: _extent(words) for i, words in enumerate(lines) if words}
    rows: list[list[int]] = []
    for i in sorted(spans, key=lambda i: (spans[i][1] + spans[i][3]) / 2):
        if rows and _same_row(spans, rows[-1], i):
            rows[-1].append(i)
        else:
            rows.append([i])
    return rows


def _same_row(spans: dict[int, Box], row: list[int], i: int) -> bool:
    box = spans[i]
    if any(box[0] < spans[j][2] and spans[j][0] < box[2] for j in row):
        return False  # one above the other, not beside it
    first = spans[row[0]]
    overlap = min(box[3], first[3]) - max(box[1], first[1])
    return overlap >= 0.5 * min(box[3] - box[1], first[3] - first[1])


def _bands(rows, parts, lines, height: float) -> list[_Band]:
    """Two-column bands, seeded by rows that part at a gap, grown down and up.

    A seed row with several gaps (a date line with blanks left to fill) tries each;
    the gap that gathers the most rows is the column gap.
    """
    bands: list[_Band] = []
    used: set[int] = set()
    r = 0
    while r < len(rows):
        seed = sorted(_text([p for i in rows[r] for p in parts[i]]), key=lambda p: p.box[0])
        candidates = [
            _grow(rows, r, (a.box[2], b.box[0]), parts, lines, height, used)
            for a, b in pairwise(seed)
            if b.box[0] - a.box[2] >= MIN_GUTTER * height
        ]
        best = max(candidates, key=lambda c: (len(c[0].rows), c[0].paired()), default=None)
        if best is None or not best[0].paired():
            r += 1
            continue
        band, last = best
        bands.append(band)
        used.update(row[0] for row in band.rows)
        r = last + 1
    return bands


def _grow(rows, start, gutter, parts, lines, height, used) -> tuple[_Band, int]:
    """The band seeded by row ``start`` at ``gutter``, grown down then up; and its last row."""
    band = _Band([], gutter)
    last = start
    for r in range(start, len(rows)):
        fitted = _fit(rows[r], band.gutter, parts, lines, height)
        if fitted is None and band.rows:
            fitted = _centred_fit(band, rows[r], parts, lines, height)
        verdict = "stop" if fitted is None else _verdict(band, fitted, height)
        if verdict == "stop":
            break
        if verdict == "join":
            band.rows.append((r, fitted[0], fitted[1]))
            band.gutter = fitted[2]
            last = r
    for r in range(start - 1, -1, -1) if band.rows else ():
        fitted = None if r in used else _fit(rows[r], band.gutter, parts, lines, height)
        if fitted is None and r not in used:
            fitted = _centred_fit(band, rows[r], parts, lines, height)
        if fitted is None or not (_text(fitted[0]) and _text(fitted[1])):
            break
        if _top(band) - _bottom(fitted[0] + fitted[1]) > ROW_STEP * height:
            break
        if fitted[3] and not _lines_up(band, fitted, height):
            break
        band.rows.insert(0, (r, fitted[0], fitted[1]))
        band.gutter = fitted[2]
    return band, last


def _centred_fit(band: _Band, row: list[int], parts, lines, height: float) -> Fit | None:
    """A row that crosses the column gap, yet whose every part is centred on one side's block.

    Header blocks are centred in their halves of the page and may be wider than their
    half: a long issuing body or a "V/v" subject line under the number runs past the
    other block's left edge, and the first header row often has only a word space
    between its halves. Such a row leaves no common gutter, but each of its parts (the
    row split at its widest clear gap, if that helps) still stands centred under or over
    its own block's lines. The band's gutter stays as it was.
    """
    centres = [
        statistics.median(p.centre for p in side) if side else None
        for side in (band.side_parts(0), band.side_parts(1))
    ]
    sides: tuple[list[Part], list[Part]] = ([], [])
    for i in row:
        for part in parts[i]:
            for piece in _halves(part, lines[i], height, centres):
                side = _centred_side(piece, centres, height)
                if side is None and not piece.mark:
                    return None
                sides[side if side is not None else 0].append(piece)
    if not _text(sides[0] + sides[1]):
        return None
    return sides[0], sides[1], band.gutter, True


def _halves(part: Part, words: Sequence[Box], height: float, centres) -> list[Part]:
    """``part`` as it is, or split in two: at its widest gap if that is clearly wider than
    its word spaces, else at the one word space that leaves each half centred on its own
    side's block (:func:`_centred_cut`)."""
    if part.mark or len(part.words) < 2:
        return [part]
    boxes = [words[k] for k in part.words]
    gaps = _gaps(boxes)
    n = max(range(len(gaps)), key=lambda k: gaps[k])
    cut = (
        n + 1
        if _parts_at(boxes, n, height, wide=False)
        else _centred_cut(part, words, height, centres)
    )
    if cut is None:
        return [part]
    return [
        _part(part.line, words, part.words[:cut], height),
        _part(part.line, words, part.words[cut:], height),
    ]


def _centred_cut(part: Part, words: Sequence[Box], height: float, centres) -> int | None:
    """The word space after which the left words are centred on the left block and the rest
    on the right block, if exactly one does.

    Why: a crowded first header row ("UBND THÀNH PHỐ VĨNH YÊN CỘNG HÒA XÃ HỘI CHỦ NGHĨA
    VIỆT NAM" on a 90-dpi photo) may leave only a word space between its halves, so no gap
    tells where they meet; the blocks' centres, taken from the rows below, do. Both halves
    must land on their centres at once, which a line of one block never does by chance.
    """
    cuts = [
        k
        for k in range(1, len(part.words))
        if _centred_side(_part(part.line, words, part.words[:k], height), centres, height) == 0
        and _centred_side(_part(part.line, words, part.words[k:], height), centres, height) == 1
    ]
    return cuts[0] if len(cuts) == 1 else None


def _centred_side(part: Part, centres, height: float) -> int | None:
    """The side (0, 1) whose block centre ``part`` is centred on, if exactly one."""
    hits = [
        s for s, c in enumerate(centres) if c is not None and abs(part.centre - c) <= ALIGN * height
    ]
    return hits[0] if len(hits) == 1 else None


def _top(band: _Band) -> float:
    return min(p.box[1] for _, left, right in band.rows for p in left + right)


def _bottom(parts: Sequence[Part]) -> float:
    return max(p.box[3] for p in parts)


def _verdict(band: _Band, fitted: Fit, height: float) -> str:
    """Whether a row below a band joins it, is passed over, or ends it.

    A row with text on both sides joins when it is close below. A row with text on one
    side joins when it lines up with that side's lines right above it, or when it is
    centred under them further down: the signer's name below the room left for the
    signature. A one-sided row that does neither (a seal's or a signature's noise, a
    "Kính gửi" line under the header) is passed over and keeps its place; rows too far
    below end the band.
    """
    left, right = _text(fitted[0]), _text(fitted[1])
    if not band.rows:
        return "join"
    if not (left or right):
        return "skip"
    top = min(p.box[1] for p in left + right)
    gap = top - _bottom([p for _, lp, rp in band.rows for p in lp + rp])
    if left and right:
        near = gap <= ROW_STEP * height
        return "join" if near and (not fitted[3] or _lines_up(band, fitted, height)) else "stop"
    mine = band.side_parts(0 if left else 1)
    if gap > SIGN_STEP * height:
        return "stop"
    if not mine:
        return "skip"
    drop = top - _bottom(mine)
    row = left + right
    if drop <= ROW_STEP * height and any(_aligned(p, q, height) for p in row for q in mine):
        return "join"
    centred = any(_centred(p, q, height) for p in row for q in mine)
    return "join" if drop <= SIGN_STEP * height and centred else "skip"


def _lines_up(band: _Band, fitted: Fit, height: float) -> bool:
    """Whether each side of a row lines up (centred or flush alike) with that side's lines.

    Asked of rows split at a modest gap: a body line above a footer, or below a header,
    may have a word gap that happens to lie in the column gap; its halves do not line
    up with the blocks beside it.
    """
    for side in (0, 1):
        mine, group = band.side_parts(side), _text(fitted[side])
        if group and mine:
            box = _extent([p.box for p in group])
            whole = Part(-1, (), box, False)
            if not any(_aligned(whole, q, height) for q in mine):
                return False
    return True


def _centred(p: Part, q: Part, height: float) -> bool:
    return abs(p.centre - q.centre) <= ALIGN * height


def _aligned(p: Part, q: Part, height: float) -> bool:
    tol = ALIGN * height
    return (
        _centred(p, q, height) or abs(p.box[0] - q.box[0]) <= tol or abs(p.box[2] - q.box[2]) <= tol
    )


def _fit(row: list[int], gutter, parts, lines, height) -> Fit | None:
    """The row's parts on each side of ``gutter`` and the narrowed gutter; None if it crosses.

    A part running across the gutter is split at a word gap inside the gutter when
    that gap is clearly wider than the line's word spaces (:data:`SPLIT_GAP`).
    """
    pieces: list[Part] = []
    whole = sum(len(parts[i]) for i in row)
    for i in row:
        for part in parts[i]:
            pieces += _split_across(part, gutter, lines[i], height)
    mid = (gutter[0] + gutter[1]) / 2
    left = sorted((p for p in pieces if p.centre < mid), key=lambda p: p.box[0])
    right = sorted((p for p in pieces if p.centre >= mid), key=lambda p: p.box[0])
    lo = max([gutter[0], *(p.box[2] for p in _text(left))])
    hi = min([gutter[1], *(p.box[0] for p in _text(right))])
    if hi - lo < MIN_GUTTER * height:
        return None
    return left, right, (lo, hi), len(pieces) > whole


def _split_across(part: Part, gutter, words: Sequence[Box], height: float) -> list[Part]:
    """``part`` split at its widest word gap lying in ``gutter``, if it crosses it there.

    Specks between the two sides (a seal's or a rule's noise) are stepped over and
    become parts of their own.
    """
    lo, hi = gutter
    if part.mark or part.box[2] <= lo or part.box[0] >= hi:
        return [part]
    solid = [k for k in part.words if words[k][2] - words[k][0] >= MARK * height]
    boxes = [words[k] for k in solid]
    best, room = None, 0.0
    for n in range(len(solid) - 1):
        inside = min(boxes[n + 1][0], hi) - max(boxes[n][2], lo)
        if inside > room and _parts_at(boxes, n, height, wide=False):
            best, room = n, inside
    if best is None:
        return [part]
    a, b = part.words.index(solid[best]), part.words.index(solid[best + 1])
    first = _part(part.line, words, part.words[: a + 1], height)
    between = [_part(part.line, words, [k], height) for k in part.words[a + 1 : b]]
    return [first, *between, _part(part.line, words, part.words[b:], height)]


def reads_down(band: _Band, height: float) -> bool:
    """Whether a band holds blocks read down rather than rows read across.

    Headers and signature blocks centre their lines in their column: two lines of
    one side with the same centre but different widths show it (left- or
    right-aligned lines of different widths cannot share a centre). Newspaper-style
    columns fill their width on both sides. A form pairing labels and values, or a
    table, does neither and keeps its rows.
    """
    if not band.paired():
        return False
    if any(_centred_pair(band.side_parts(side), height) for side in (0, 1)):
        return True
    return _full_rows(band, height) >= MIN_FULL_ROWS


def _centred_pair(side: list[Part], height: float) -> bool:
    """Whether most of a side's lines share one centre, some of them of different widths.

    Most, not two: an indented short line under a longer one may share its centre by
    chance in ragged left-aligned text.
    """
    if len(side) < 2:
        return False
    middle = statistics.median(p.centre for p in side)
    near = [p for p in side if abs(p.centre - middle) <= ALIGN * height]
    if 3 * len(near) < 2 * len(side):
        return False
    tol = ALIGN * height  # left-aligned lines of widths this different cannot share a centre
    return any(
        abs(p.centre - q.centre) <= tol and abs(p.width - q.width) > 2 * tol
        for n, p in enumerate(near)
        for q in near[n + 1 :]
    )


def _full_rows(band: _Band, height: float) -> int:
    """Rows whose lines fill their column on both sides (flush left and right)."""
    tol = ALIGN * height
    spans = []
    for side in (0, 1):
        parts = band.side_parts(side)
        spans.append((min(p.box[0] for p in parts), max(p.box[2] for p in parts)))

    def full(group: list[Part], side: int) -> bool:
        lo, hi = spans[side]
        return bool(group) and group[0].box[0] - lo <= tol and hi - group[-1].box[2] <= tol

    rows = [(_text(left), _text(right)) for _, left, right in band.rows]
    return sum(1 for left, right in rows if full(left, 0) and full(right, 1))


def _band_lines(band: _Band) -> list[list[Ref]]:
    """The band's output lines: the left side's rows top to bottom, then the right side's."""
    out: list[list[Ref]] = []
    for side in (0, 1):
        for row in band.rows:
            group = row[1 + side]
            if group:
                out.append([(p.line, k) for p in group for k in p.words])
    return out
