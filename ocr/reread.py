"""A second, narrower reading of what the page reading doubted or dropped.

Why: Tesseract reads a whole page with its layout analysis, and two of its failures
cost key fields even on clean scans:

* a tone mark on a capital is misread inside a long line ("NGUYỄN" → "NGUYÊN",
  "TỈNH" → "TĨNH", "Trị" → "TrỊ"), with a low word confidence; the same word cut
  out alone and read as one word (``--psm 8``) comes back right and confident;
* a bold line standing alone under a signature ("Nguyễn Hữu Mạnh") is dropped with
  the signature as if it were a picture; read as one line (``--psm 7``) it is plain.

A third failure costs whole lines: Tesseract may take two blocks set side by side
(the footer's "Nơi nhận" list beside the signature block, the two header blocks) for
one block, and fitting one set of baselines across both mangles the side whose lines
are set closer ("- Như trên;" / "- UBND thành phố Cần Thơ (b/c);" came back as "R Xe tê
h phố Cần Thơ (b/c)" / "< anh pho Can C);"); each side cut out alone and read as a
block (``--psm 6``) is plain (:func:`split_blocks`).

So after the page run, such merged blocks, the doubtful words and the inked lines that
got no words are cut out of the cleaned image, enlarged, and read again by one
Tesseract process per kind (a list file of crops: the model loads once). A re-read word replaces the
original only when it spells the same letters (tone marks and case aside), is more
confident, *and* has more evidence than the page's reading (:func:`better_reading`):
it is a Vietnamese word form where the old one is none (:mod:`ocr.syllables`), or its
neighbours support it and not the old one (:func:`ocr.lexicon.context_support`). A
word cut out alone is read *more* confidently and sometimes *worse*: on 200-dpi
black-and-white scans the dot below or a hook is lost ("hiện" -> "hiên", "tháng" ->
"thắng", "sơ" -> "SƠ"), so confidence never decides alone. A second reading can fix
diacritics but never invents a different word; a recovered line is kept only when it
reads as confident text.
"""

from __future__ import annotations

import logging
import tempfile
import unicodedata
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from ocr.lexicon import context_support, retoned
from ocr.noise import margin_notes
from ocr.orient import label_components
from ocr.seals import erase_rings, line_bands
from ocr.syllables import is_word_form
from schemas.settings import OcrSettings
from sohoa.errors import ExternalProgramError, ProgramMissingError
from sohoa.programs import tesseract

ENLARGE = 1.5
"""Lines are enlarged this much before the second reading."""
WORD_SCALES = (1.5, 2.0)
"""Each doubtful word is read at these enlargements (one process); the most confident
reading that spells the same letters wins. One scale alone fails on a few short words
("Trị" at 1.5x read "..)"), two disagree rarely."""
BLOCK_DOUBT = 50.0
"""A block with a word read under this confidence and a line parted at a wide gap is read
again side by side (:func:`split_blocks`)."""
WIDE_GAP = 2.0
"""A gap this many text heights wide between two words of one line parts two blocks."""
MAX_BLOCK_SHARE = 0.15
"""Blocks larger than this share of the page are not read again: headers and footers are
small (at most 9 % of the page on the real-world corpus's 36 pages), and reading half a page
again would cost a second page reading (a body merged with its margin notes: 2 s of CPU)."""
MIN_LINE_CONFIDENCE = 75.0
"""A recovered line's mean word confidence must reach this (signature scribbles stay out)."""
log = logging.getLogger(__name__)
_EDGE = ".,:;()\"'“”‘’!?-–—/"
_ETH_FOR_D = str.maketrans({"Ð": "Đ", "ð": "đ"})


@dataclass(frozen=True)
class Crop:
    """One region of the cleaned image to read again, in cleaned-image pixels."""

    left: int
    top: int
    width: int
    height: int
    scale: float = ENLARGE
    pad: int | None = None
    """White margin taken around the crop; ``None``: 30 % of its height (a word or a line)."""
    replaces: bool = False
    """Its reading, if kept, replaces the words read inside it (a band of :func:`ocr.seals.line_bands`)."""


def doubtful_words(data: dict, below: float) -> list[int]:
    """Rows of Tesseract's TSV holding a word of two letters or more read under ``below``."""
    rows = []
    for i, level in enumerate(data["level"]):
        text = str(data["text"][i]).strip().strip(_EDGE)
        conf = float(data["conf"][i])
        if int(level) == 5 and 0 <= conf < below and len(text) >= 2 and text.isalpha():
            rows.append(i)
    return rows


def lost_lines(image: np.ndarray, data: dict) -> list[Crop]:
    """Inked, text-shaped regions of the page that received no word at all."""
    return find_lost_lines(image, data)[0]


def find_lost_lines(image: np.ndarray, data: dict) -> tuple[list[Crop], np.ndarray]:
    """The lost lines (see :func:`lost_lines`) and the image to read them from.

    Ink is found by Otsu's threshold; every word box Tesseract returned is blanked;
    what is left is smeared along the line and kept where it has the height of the
    page's text and the width of a word or more. A region taller than two lines is
    searched for a seal's rings, which are erased from the image returned
    (:func:`ocr.seals.erase_rings`), and cut into its lines (:func:`ocr.seals.line_bands`).
    """
    heights = [
        int(h)
        for lv, h, c, t in zip(
            data["level"], data["height"], data["conf"], data["text"], strict=True
        )
        if int(lv) == 5 and float(c) >= 60 and str(t).strip()
    ]
    if len(heights) < 5:
        return [], image
    line_h = float(np.median(heights))
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    # One threshold serves both searches: the tall regions are looked for with the words
    # held at HELD blanked, then the other words are blanked too, for the lines.
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    words = _word_rows(data)
    held = [_held_at(data, i, line_h, HELD) for i in words]
    _blank(ink, data, [i for i, h in zip(words, held, strict=True) if h], line_h)
    tall = _inked_regions(ink, line_h, True)
    _blank(ink, data, [i for i, h in zip(words, held, strict=True) if not h], line_h)
    crops = [Crop(*box) for box in _inked_regions(ink, line_h, False) if _text_dense(ink, box)]
    for box in tall:
        image = erase_rings(image, ink, box, line_h)  # only writes to ink, no longer read
        whole = _all_ink(image, box)
        for band in line_bands(whole, box, line_h):
            if not _centre_in(band, crops) and _text_dense(whole, band):
                crops.append(Crop(*band, replaces=True))
    return crops, image


def _text_dense(ink: np.ndarray, box) -> bool:
    """Inked like a line of print: not a speck, not a filled shape."""
    x, y, w, h = box
    return 0.08 <= cv2.countNonZero(ink[y : y + h, x : x + w]) / (w * h) <= 0.6


def _all_ink(image: np.ndarray, box) -> np.ndarray:
    """A page-sized mask of all ink (words read included) inside ``box``, by Otsu's
    threshold over it: the lines of a region whose words were partly read are cut
    on the whole lines (:func:`ocr.seals.line_bands`), not on what is left of them."""
    x, y, w, h = box
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    ink = np.zeros(grey.shape[:2], np.uint8)
    _, ink[y : y + h, x : x + w] = cv2.threshold(
        grey[y : y + h, x : x + w], 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU
    )
    return ink


def _centre_in(box, crops: list[Crop]) -> bool:
    """Whether a band's centre lies in a line already found (read once is enough)."""
    x, y = box[0] + box[2] / 2, box[1] + box[3] / 2
    return any(c.left <= x <= c.left + c.width and c.top <= y <= c.top + c.height for c in crops)


def _inked_regions(ink: np.ndarray, line_h: float, tall: bool) -> list[tuple[int, int, int, int]]:
    """Boxes of the ink smeared along the line, a word wide or more, clear of the page's
    edges, and of a line's height (or, with ``tall``, more than two lines high).

    The smear is along the line only, so a region never spans a row without ink: each run
    of inked rows is smeared and labelled on its own, cut to its inked columns, and runs
    too low for a region are skipped. Most of a page read well is blank here: the
    components are the whole page's, in the same order (:func:`_run_regions`), for a few
    per cent of its pixels.
    """
    reach = max(3, int(0.8 * line_h))
    smear = cv2.getStructuringElement(cv2.MORPH_RECT, (reach, 1))
    inked = np.flatnonzero(ink.max(axis=1))
    if inked.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(inked) > 1)
    starts = np.concatenate(([inked[0]], inked[breaks + 1]))
    ends = np.concatenate((inked[breaks], [inked[-1]])) + 1
    boxes = []
    for y0, y1 in zip(starts.tolist(), ends.tolist(), strict=True):
        if y1 - y0 < 0.6 * line_h or (tall and y1 - y0 <= 2.0 * line_h):
            continue  # no region of that height fits in the run
        boxes += _run_regions(ink, y0, y1, smear, reach, line_h, tall)
    return boxes


def _run_regions(ink, y0: int, y1: int, smear, reach: int, line_h: float, tall: bool):
    """The regions (see :func:`_inked_regions`) of page rows ``y0:y1``, a run of inked rows
    between two rows without ink.

    The window starts on an even row and column (the blank row above, if need be) and ends
    on the blank row below, if the page has one; it reaches the smear's width beyond the
    run's ink: OpenCV labels 2x2 blocks in scan order, the window's blocks are then the
    page's, and its labels come in the page's order.
    """
    page_h, page_w = ink.shape[:2]
    cols = np.flatnonzero(ink[y0:y1].max(axis=0))
    top = y0 - y0 % 2  # row y0 - 1 has no ink: the run starts at y0
    bottom = min(page_h, y1 + 1)
    left = max(0, int(cols[0]) - reach - 1)
    left -= left % 2
    right = min(page_w, int(cols[-1]) + 1 + reach + 1)
    window = cv2.dilate(ink[top:bottom, left:right], smear)
    count, _, stats = label_components(window)
    stats = stats[1:count].astype(np.int64)
    x, y = stats[:, 0] + left, stats[:, 1] + top
    w, h = stats[:, 2], stats[:, 3]
    keep = (w >= 2.5 * line_h) & (h >= 0.6 * line_h) & ((h > 2.0 * line_h) == tall)
    keep &= (x > 0) & (y > 0) & (x + w < page_w) & (y + h < page_h)  # not scanner edges
    return [
        (int(a), int(b), int(c), int(d))
        for a, b, c, d in zip(x[keep], y[keep], w[keep], h[keep], strict=True)
    ]


def _blank(ink: np.ndarray, data: dict, rows: list[int], line_h: float) -> None:
    """Blank the boxes of ``rows``, a margin around each, in ``ink`` (in place)."""
    margin = max(2, int(0.15 * line_h))
    lefts, tops, widths, heights = data["left"], data["top"], data["width"], data["height"]
    for i in rows:
        x, y = int(lefts[i]), int(tops[i])
        w, h = int(widths[i]), int(heights[i])
        ink[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin] = 0


def _held_at(data: dict, i: int, line_h: float, held: float) -> bool:
    """Whether word row ``i`` (a row of :func:`_word_rows`) counts as read: read at ``held``
    or more, and (if ``held``) no taller than two lines.

    Why: through a seal's ring Tesseract often reads the stamped lines as a few junk
    words ("KT" 71 px tall at 26, "xrưy" 153 px at 0); counted as read, they would hide
    the lines from :func:`ocr.seals.line_bands`. Such words give way to a recovered line that
    covers them (:func:`_insert_lines`). Only regions taller than two lines are looked
    for this way: a doubted word alone is for :func:`_fix_doubtful`.
    """
    if float(data["conf"][i]) < held:
        return False
    return not held or int(data["height"][i]) <= 2 * line_h


HELD = 50.0
"""Words read under this confidence do not hide their ink from the search for lost lines."""


def _crop_tsv(image: np.ndarray, crops: list[Crop], psm: int, opts: OcrSettings, dpi: float):
    """Tesseract's TSV of all crops read in one process (``page_num`` = crop + 1), and per
    crop the page position of its enlarged image's origin; ``None`` if the run failed."""
    with tempfile.TemporaryDirectory(prefix="sohoa-reread-") as tmp:
        paths, origins = [], []
        for n, crop in enumerate(crops):
            pad = max(4, int(0.3 * crop.height)) if crop.pad is None else crop.pad
            y0, x0 = max(0, crop.top - pad), max(0, crop.left - pad)
            part = image[y0 : crop.top + crop.height + pad, x0 : crop.left + crop.width + pad]
            part = cv2.resize(
                part, None, fx=crop.scale, fy=crop.scale, interpolation=cv2.INTER_CUBIC
            )
            path = Path(tmp) / f"{n:05d}.pgm"
            cv2.imwrite(str(path), part)
            paths.append(str(path))
            origins.append((x0, y0))
        listing = Path(tmp) / "crops.txt"
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        try:
            out = tesseract.tsv(
                listing,
                lang=opts.language,
                psm=psm,
                dpi=round(dpi * ENLARGE),
                tessdata_dir=opts.tessdata_dir,
                timeout=opts.page_timeout_s,
            )
        except ProgramMissingError:
            raise
        except ExternalProgramError as exc:  # failed or timed out: the first reading stands
            log.warning(
                "second reading of %d crops failed, first reading kept: %s", len(crops), exc
            )
            return None, origins
    out["text"] = [unicodedata.normalize("NFC", str(t).strip()) for t in out["text"]]
    return out, origins


def read_crops(image: np.ndarray, crops: list[Crop], psm: int, opts: OcrSettings, dpi: float):
    """Read each crop with one Tesseract process; per crop, its words as (text, conf)."""
    if not crops:
        return []
    out, _ = _crop_tsv(image, crops, psm, opts, dpi)
    found: list[list[tuple[str, float]]] = [[] for _ in crops]
    for i, level in enumerate(out["level"] if out else []):
        text, page = out["text"][i], int(out["page_num"][i]) - 1
        if int(level) == 5 and text and float(out["conf"][i]) >= 0 and 0 <= page < len(crops):
            found[page].append((text, float(out["conf"][i])))
    return found


def reread_page(image: np.ndarray, data: dict, opts: OcrSettings, dpi: float) -> dict:
    """Tesseract's TSV columns with doubtful words re-read and dropped lines added.

    Whatever the settings, the look-alike "Ð" (Icelandic eth, U+00D0) that Tesseract's
    Vietnamese model gives for "Đ" ("GD&ÐT") becomes "Đ": Vietnamese never uses it, and
    a search for "GD&ĐT" must find the page (:mod:`ocr.validators` does the same for fields).
    """
    data["text"] = [str(t).translate(_ETH_FOR_D) for t in data["text"]]
    if opts.split_blocks:
        data = split_blocks(image, data, opts, dpi)
    if opts.recover_lines:
        data = _add_lost_lines(image, data, opts, dpi)
    if opts.reread_below > 0:  # recovered lines too: they are read no better than the page
        _fix_doubtful(image, data, opts, dpi)
    if opts.retone_words:
        retone_words(data)
    if opts.drop_margin_notes:
        drop_margin_notes(data)
    return data


def drop_margin_notes(data: dict) -> None:
    """Blank the words :func:`ocr.noise.margin_notes` finds to be pen notes in the margins.

    Here, not with the other noise words, because it needs the words' lines and boxes.
    Costs no Tesseract run.
    """
    rows = _word_rows(data)
    text, conf = data["text"], data["conf"]
    left, top, width, height = data["left"], data["top"], data["width"], data["height"]
    words = [
        (
            str(text[i]).strip(),
            float(conf[i]),
            (float(left[i]), float(top[i]), float(width[i]), float(height[i])),
        )
        for i in rows
    ]
    block, par, line = data["block_num"], data["par_num"], data["line_num"]
    lines = [(int(block[i]), int(par[i]), int(line[i])) for i in rows]
    for i, note in zip(rows, margin_notes(words, lines), strict=True):
        if note:
            data["text"][i] = ""


def retone_words(data: dict) -> None:
    """Give every word the marks its neighbours call for, however confident (:func:`retoned`).

    The re-reading above only looks at doubted words, and Tesseract reads a hook as an
    acute with full confidence on 1-bit scans and photos ("tống hợp", "ốn định"): no
    crop read again can tell, the words around do. A paragraph is one run of words, so
    a word at a line's end has the next line's first word beside it, as a reader sees
    it. Costs no Tesseract run.
    """
    runs: dict[tuple[int, int], list[int]] = {}
    columns = zip(data["level"], data["text"], data["block_num"], data["par_num"], strict=True)
    for i, (level, text, block, par) in enumerate(columns):
        if int(level) == 5 and str(text).strip():
            runs.setdefault((int(block), int(par)), []).append(i)
    for rows in runs.values():
        words = [str(data["text"][i]).strip() for i in rows]
        for n, i in enumerate(rows):
            new = retoned(words, n)
            if new:
                data["text"][i] = words[n] = new


def _fix_doubtful(image: np.ndarray, data: dict, opts: OcrSettings, dpi: float) -> None:
    """Read the doubtful words again and keep the better readings (:func:`better_reading`).

    A word that already has the most evidence (:data:`MOST_EVIDENCE`: a known phrase with a
    neighbour) gives way to no reading, so it is not read again: with every doubtful word
    such, no Tesseract process starts. Its neighbours are known before the loop unless the
    word before it is doubtful too (its reading, replaced first, is the neighbour then).
    """
    rows = doubtful_words(data, opts.reread_below)
    doubted = set(rows)
    floors = {
        i: evidence(str(data["text"][i]).strip(), *_neighbours(data, i))
        for i in rows
        if i - 1 not in doubted
    }
    rows = [i for i in rows if floors.get(i) != MOST_EVIDENCE]
    crops = [replace(_row_crop(data, i), scale=scale) for i in rows for scale in WORD_SCALES]
    readings = read_crops(image, crops, 8, opts, dpi)
    per_word = len(WORD_SCALES)
    for n, i in enumerate(rows):
        old = (float(data["conf"][i]), str(data["text"][i]).strip())
        mine = readings[n * per_word : (n + 1) * per_word]
        before, after = _neighbours(data, i)
        floor = floors[i] if i in floors else evidence(old[1], before, after)
        best = _best_reading(old, mine, before, after, floor)
        if best:
            data["conf"][i], data["text"][i] = best


def better_reading(
    old: tuple[float, str], readings, before: str | None, after: str | None
) -> tuple[float, str] | None:
    """The second reading that should replace ``old`` (conf, text), or ``None`` to keep it.

    Tesseract is most confident exactly where it is wrong in a way it cannot see (a dot
    below lost at 200 dpi reads "hiên" at 90 where the page had "hiện" at 60), so
    confidence alone never decides. A reading must spell the same letters (marks and
    case aside), be more confident, and have more evidence than the old one
    (:func:`evidence`): be a Vietnamese word where the old is none ("kêt" -> "kết",
    "TrỊ" -> "Trị"), or be supported by its neighbours where the old is not
    ("DÂN TĨNH HÀ" -> "TỈNH": "tỉnh Hà"; "nộp: NGUYÊN THỊ" -> "NGUYỄN": a family name).
    """
    return _best_reading(old, readings, before, after, evidence(old[1], before, after))


def _best_reading(
    old: tuple[float, str], readings, before: str | None, after: str | None, floor: int
) -> tuple[float, str] | None:
    """:func:`better_reading`, the old reading's :func:`evidence` (``floor``) known."""
    conf, text = old
    options = [
        (words[0][1], _first_letter_case_of(text, words[0][0]))
        for words in readings
        if len(words) == 1 and _same_letters(words[0][0], text)
    ]
    scored = [
        (evidence(new, before, after), c, new) for c, new in options if new != text and c > conf
    ]
    best = max(scored, default=None)
    return (best[1], best[2]) if best and best[0] > floor else None


MOST_EVIDENCE = 2
"""The most :func:`evidence` a word can have (:func:`ocr.lexicon.context_support`'s 2)."""


def evidence(word: str, before: str | None, after: str | None) -> int:
    """-1 for no Vietnamese word form; else how well the neighbours support it (0-2).

    See :func:`ocr.syllables.is_word_form` and :func:`ocr.lexicon.context_support`.
    """
    if not is_word_form(word.strip(_EDGE)):
        return -1
    return context_support(word, before, after)


def _neighbours(data: dict, i: int) -> tuple[str | None, str | None]:
    """The words read just before and after row ``i`` on the same line, if any."""
    key = _tsv_line(data, i)

    def word_at(j: int) -> str | None:
        inside = 0 <= j < len(data["level"]) and int(data["level"][j]) == 5
        text = str(data["text"][j]).strip() if inside else ""
        return text if text and _tsv_line(data, j) == key else None

    return word_at(i - 1), word_at(i + 1)


def _same_letters(a: str, b: str) -> bool:
    """Equal but for tone marks, vowel marks and case, letter for letter.

    "d" and "đ" are different letters, and so are "Đ" (U+0110) and its look-alike "Ð"
    (U+00D0, Icelandic eth): neither decomposes, and the lengths must match, so a
    letter read twice ("ĐÐĐT") never passes for the word.
    """
    a, b = unicodedata.normalize("NFC", a), unicodedata.normalize("NFC", b)
    return len(a) == len(b) and _bare(a) == _bare(b)


def _bare(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower())  # "đ" has no decomposition
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _first_letter_case_of(old: str, new: str) -> str:
    """A word read alone cannot tell a sentence start: keep the page reading's first-letter case."""
    if not old or not new or _bare(old[0]) != _bare(new[0]):
        return new
    first = new[0].upper() if old[0].isupper() else new[0].lower()
    return first + new[1:]


def _tsv_line(data: dict, i: int) -> tuple[int, int, int]:
    return int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i])


def _row_crop(data: dict, i: int) -> Crop:
    return Crop(
        int(data["left"][i]), int(data["top"][i]), int(data["width"][i]), int(data["height"][i])
    )


def _add_lost_lines(image: np.ndarray, data: dict, opts: OcrSettings, dpi: float) -> dict:
    crops, clean = find_lost_lines(image, data)
    readings = [_trimmed(words) for words in read_crops(clean, crops, 7, opts, dpi)]
    kept = [
        (crop, words) for crop, words in zip(crops, readings, strict=True) if _reads_as_text(words)
    ]
    return _insert_lines(data, kept) if kept else data


def _trimmed(words: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """A recovered line without the words at its ends that are marks, not print: no
    letter or digit in them, or read under :data:`HELD`.

    Why: a line cut out of a seal keeps a bit of the ring's lettering or a pen stroke at
    its ends, read as "”," or "⁄„ề" at 0; counted in, they sink a plain line under
    :data:`MIN_LINE_CONFIDENCE` ("⁄„ề Sỹ Nguyên": 61).
    """

    def mark(word: tuple[str, float]) -> bool:
        return word[1] < HELD or not any(ch.isalnum() for ch in word[0])

    words = list(words)
    while words and mark(words[0]):
        words.pop(0)
    while words and mark(words[-1]):
        words.pop()
    return words


def _reads_as_text(words: list[tuple[str, float]]) -> bool:
    """Confident words, mostly letters and digits, one of them a real syllable."""
    if not words or sum(c for _, c in words) / len(words) < MIN_LINE_CONFIDENCE:
        return False
    text = "".join(t for t, _ in words)
    plain = sum(ch.isalnum() for ch in text)
    return plain >= 0.8 * len(text) and any(len(t.strip(_EDGE)) >= 2 for t, _ in words)


def _insert_lines(data: dict, kept: list[tuple[Crop, list[tuple[str, float]]]]) -> dict:
    """Add each recovered line as its own block, placed after the words above it.

    Words whose centre lies in a recovered band (:attr:`Crop.replaces`) were a reading
    of its ink through a seal (:func:`_held_at`) and give way to it, in their place: a
    band may hold the end of a line whose start was read well.

    The words get boxes spread over the crop in proportion to their length: the
    second reading ran on an enlarged, padded crop, so its own boxes are not page
    coordinates, and a proportional split is exact enough for a text layer.
    """
    columns = list(data)
    rows = _rows(data)
    bands = [crop for crop, _ in kept if crop.replaces]
    for crop in bands:  # a marker row where the band's first replaced word was
        at = next((i for i, r in enumerate(rows) if _inside(r, [crop])), None)
        if at is not None:
            rows.insert(at, {"level": 0, "band": crop})
    rows = [r for r in rows if not _inside(r, bands)]
    block = max((int(b) for b in data["block_num"]), default=0)
    for crop, words in sorted(kept, key=lambda kw: kw[0].top):
        block += 1
        spot = [i for i, r in enumerate(rows) if r.get("band") is crop]
        at = spot[0] if spot else _after_last_line_above(rows, crop.top)
        rows[at:at] = _line_rows(columns, crop, words, block)
    rows = [r for r in rows if "band" not in r]
    return {k: [r[k] for r in rows] for k in columns}


def _after_last_line_above(rows: list[dict], top: int) -> int:
    """The row index just after the line of the last word (in reading order) above ``top``."""
    above = [
        i
        for i, r in enumerate(rows)
        if int(r["level"]) == 5
        and str(r["text"]).strip()
        and int(r["top"]) + int(r["height"]) <= top
    ]
    if not above:
        return 0
    at = above[-1] + 1
    line = _line_key(rows[above[-1]])
    while at < len(rows) and int(rows[at]["level"]) == 5 and _line_key(rows[at]) == line:
        at += 1
    return at


def _line_key(row: dict) -> tuple[int, int, int]:
    return int(row["block_num"]), int(row["par_num"]), int(row["line_num"])


def _line_rows(columns, crop: Crop, words: list[tuple[str, float]], block: int) -> list[dict]:
    total = sum(len(t) for t, _ in words) + len(words) - 1
    unit = crop.width / max(1, total)
    out, x = [], float(crop.left)
    for n, (text, conf) in enumerate(words, start=1):
        width = len(text) * unit
        row = dict.fromkeys(columns, 0)
        row.update(
            level=5,
            page_num=1,
            block_num=block,
            par_num=1,
            line_num=1,
            word_num=n,
            left=round(x),
            top=crop.top,
            width=max(1, round(width)),
            height=crop.height,
            conf=conf,
            text=text,
        )
        out.append(row)
        x += width + unit
    return out


# --------------------------------------------------------------------------- merged blocks


def split_blocks(image: np.ndarray, data: dict, opts: OcrSettings, dpi: float) -> dict:
    """Blocks Tesseract merged across a column gap, read again one side at a time.

    A block qualifies when one of its lines parts at a gap :data:`WIDE_GAP` text
    heights wide, it holds a word read under :data:`BLOCK_DOUBT`, and an ink-free
    column runs down the whole block through that gap (:func:`merged_blocks`). Both
    sides of every such block are read in one Tesseract process as uniform blocks
    (``--psm 6``); a block's new reading replaces the old only when it is more
    confident and keeps as much confident text (:func:`better_block`). The sides
    become blocks of their own, left first: read block by block.
    """
    found = merged_blocks(image, data)
    if not found:
        return data
    crops = [crop for _, sides in found for crop in sides]
    out, origins = _crop_tsv(image, crops, 6, opts, dpi)
    if out is None:
        return data
    columns = list(data)
    rows = _rows(data)
    block = max((int(b) for b in data["block_num"]), default=0)
    for n, (number, _) in enumerate(found):
        new = []
        for side in (2 * n, 2 * n + 1):
            block += 1
            new += _crop_rows(out, side, origins[side], crops[side].scale, columns, block)
        sides = crops[2 * n : 2 * n + 2]
        gone = [r for r in rows if int(r["block_num"]) == number or _inside(r, sides)]
        if better_block([r for r in gone if _is_word(r)], new):
            at = next(i for i, r in enumerate(rows) if int(r["block_num"]) == number)
            gone_ids = {id(r) for r in gone}
            rows = [r for r in rows if id(r) not in gone_ids]
            rows[at:at] = new
    return {k: [r[k] for r in rows] for k in columns}


def merged_blocks(image: np.ndarray, data: dict) -> list[tuple[int, tuple[Crop, Crop]]]:
    """Tesseract blocks that hold two side-by-side blocks, and the crop of each side."""
    words = _word_rows(data)
    heights = [int(data["height"][i]) for i in words if float(data["conf"][i]) >= 60]
    if len(heights) < 5:
        return []
    unit = float(np.median(heights))
    blocks: dict[int, list[int]] = {}
    for i in words:
        blocks.setdefault(int(data["block_num"][i]), []).append(i)
    page_px, grey = image.shape[0] * image.shape[1], None
    found = []
    for number in sorted(blocks):
        mine = blocks[number]
        if min(float(data["conf"][i]) for i in mine) >= BLOCK_DOUBT:
            continue
        gaps = _wide_gaps(data, mine, unit)
        if not gaps:
            continue
        box = _union([_box(data, i) for i in mine])
        if (box[2] - box[0]) * (box[3] - box[1]) > MAX_BLOCK_SHARE * page_px:
            continue
        if grey is None:  # only for a doubtful block with a gap: most pages have none
            grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        sides = next(filter(None, (_sides(grey, box, gap, unit) for gap in gaps)), None)
        if sides:
            found.append((number, sides))
    return found


def _wide_gaps(data: dict, rows: list[int], unit: float) -> list[tuple[int, int]]:
    """The gaps (right edge, next left edge) between neighbouring words of one line that
    are :data:`WIDE_GAP` text heights wide."""
    gaps = []
    for a, b in pairwise(rows):
        if _tsv_line(data, a) != _tsv_line(data, b):
            continue
        right, left = int(data["left"][a]) + int(data["width"][a]), int(data["left"][b])
        if left - right >= WIDE_GAP * unit:
            gaps.append((right, left))
    return gaps


def _sides(grey: np.ndarray, box, gap: tuple[int, int], unit: float) -> tuple[Crop, Crop] | None:
    """The block's two sides, split at the middle of the ink-free columns through ``gap``.

    The free run must be at least one text height wide and reach from the block's top to
    its bottom: a signature or a seal across the gap leaves the block whole. Ink is
    Otsu's threshold over the block and two text heights around it (its crops may grow
    that far, :func:`_snapped`), not the page: only doubtful blocks pay for it.
    """
    left, top, right, bottom = box
    reach = int(2 * unit)
    y0, y1 = max(0, top - reach), min(grey.shape[0], bottom + reach)
    _, ink = cv2.threshold(grey[y0:y1, left:right], 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    free = np.flatnonzero(
        ink[top - y0 : bottom - y0, gap[0] - left : gap[1] - left].sum(axis=0) == 0
    )
    if free.size == 0:
        return None
    runs = np.split(free, np.flatnonzero(np.diff(free) > 1) + 1)
    run = max(runs, key=len)
    if len(run) < unit:
        return None
    cut = gap[0] + int(run[len(run) // 2])
    pad = max(4, int(0.3 * unit))
    rows = ink.sum(axis=1, where=np.arange(left, right)[None, :] < cut - pad)
    rows_right = ink.sum(axis=1, where=np.arange(left, right)[None, :] >= cut + pad)
    return (
        _snapped(rows, y0, (left, top, cut - pad, bottom), unit, pad),
        _snapped(rows_right, y0, (cut + pad, top, right, bottom), unit, pad),
    )


def _snapped(rows: np.ndarray, y0: int, box, unit: float, pad: int) -> Crop:
    """A side's crop, its top and bottom moved out to the nearest ink-free row.

    The block's box is the union of the words Tesseract found; a line it lost at the
    block's edge would be cut in half, and half a line reads as junk. ``rows``: the
    side's ink per row, from page row ``y0``.
    """
    left, top, right, bottom = box
    reach = int(2 * unit)
    clear = [y for y in range(top, max(y0, top - reach) - 1, -1) if rows[y - y0] == 0]
    top = clear[0] if clear else top
    clear = [y for y in range(bottom, min(y0 + len(rows), bottom + reach)) if rows[y - y0] == 0]
    bottom = clear[0] if clear else bottom
    return Crop(left, top, right - left, bottom - top, ENLARGE, pad)


def better_block(old: list[dict], new: list[dict]) -> bool:
    """Whether a block's side-by-side reading should replace the first one.

    It must be more confident over its characters, and keep at least as many characters
    read at 80 or more, so a block read whole and well never gives way to fewer words.
    """
    if not new:
        return False

    def mean(rows):
        weights = [len(str(r["text"])) for r in rows]
        return sum(float(r["conf"]) * w for r, w in zip(rows, weights)) / max(1, sum(weights))

    def sure(rows):
        return sum(len(str(r["text"])) for r in rows if float(r["conf"]) >= 80)

    return mean(new) > mean(old) and sure(new) >= sure(old)


def _crop_rows(out: dict, page: int, origin, scale: float, columns, block: int) -> list[dict]:
    """The words Tesseract read in crop ``page``, as page rows of block ``block``."""
    rows = []
    for i in range(len(out["level"])):
        row = _row(out, i)
        if int(row["page_num"]) - 1 != page or not _is_word(row):
            continue
        new = dict.fromkeys(columns, 0) | {k: row[k] for k in columns if k in row}
        new.update(
            page_num=1,
            block_num=block,
            left=origin[0] + round(int(row["left"]) / scale),
            top=origin[1] + round(int(row["top"]) / scale),
            width=max(1, round(int(row["width"]) / scale)),
            height=max(1, round(int(row["height"]) / scale)),
        )
        rows.append(new)
    return rows


def _inside(row: dict, crops) -> bool:
    """A word of another block whose centre lies in one of ``crops``: read again with them."""
    if not _is_word(row):
        return False
    x = int(row["left"]) + int(row["width"]) / 2
    y = int(row["top"]) + int(row["height"]) / 2
    return any(c.left <= x <= c.left + c.width and c.top <= y <= c.top + c.height for c in crops)


def _row(data: dict, i: int) -> dict:
    return {k: data[k][i] for k in data}


def _rows(data: dict) -> list[dict]:
    """Every row of ``data`` as a dict (:func:`_row`), in one pass over the columns."""
    columns = list(data)
    return [dict(zip(columns, values, strict=True)) for values in zip(*data.values(), strict=True)]


def _is_word(row: dict) -> bool:
    return int(row["level"]) == 5 and bool(str(row["text"]).strip()) and float(row["conf"]) >= 0


def _word_rows(data: dict) -> list[int]:
    """The rows of ``data`` that hold a word (:func:`_is_word`), without a dict per row."""
    return [
        i
        for i, (level, text, conf) in enumerate(
            zip(data["level"], data["text"], data["conf"], strict=True)
        )
        if int(level) == 5 and str(text).strip() and float(conf) >= 0
    ]


def _box(data: dict, i: int) -> tuple[int, int, int, int]:
    x, y = int(data["left"][i]), int(data["top"][i])
    return x, y, x + int(data["width"][i]), y + int(data["height"][i])


def _union(boxes) -> tuple[int, int, int, int]:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
