"""A second, narrower reading of what the page reading doubted or dropped.

Why: Tesseract reads a whole page with its layout analysis, and two of its failures
cost key fields even on clean scans:

* a tone mark on a capital is misread inside a long line ("NGUYỄN" → "NGUYÊN",
  "TỈNH" → "TĨNH", "Trị" → "TrỊ"), with a low word confidence; the same word cut
  out alone and read as one word (``--psm 8``) comes back right and confident;
* a bold line standing alone under a signature ("Nguyễn Hữu Mạnh") is dropped with
  the signature as if it were a picture; read as one line (``--psm 7``) it is plain.

So after the page run, the doubtful words and the inked lines that got no words are
cut out of the cleaned image, enlarged, and read again by one Tesseract process per
kind (a list file of crops: the model loads once). A re-read word replaces the
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
from pathlib import Path

import cv2
import numpy as np

from ocr.lexicon import context_support
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
    """Inked, text-shaped regions of the page that received no word at all.

    Ink is found by Otsu's threshold; every word box Tesseract returned is blanked;
    what is left is smeared along the line and kept where it has the height of the
    page's text and the width of a word or more.
    """
    heights = [
        int(h)
        for lv, h, c, t in zip(
            data["level"], data["height"], data["conf"], data["text"], strict=True
        )
        if int(lv) == 5 and float(c) >= 60 and str(t).strip()
    ]
    if len(heights) < 5:
        return []
    line_h = float(np.median(heights))
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    _, ink = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    margin = max(2, int(0.15 * line_h))
    for i, level in enumerate(data["level"]):
        if int(level) == 5 and str(data["text"][i]).strip():
            x, y = int(data["left"][i]), int(data["top"][i])
            w, h = int(data["width"][i]), int(data["height"][i])
            ink[max(0, y - margin) : y + h + margin, max(0, x - margin) : x + w + margin] = 0
    smear = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(0.8 * line_h)), 1))
    joined = cv2.dilate(ink, smear)
    count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    page_h, page_w = grey.shape[:2]
    crops = []
    for left, top, width, height, _area in stats[1:count]:
        if not (0.6 * line_h <= height <= 2.0 * line_h and width >= 2.5 * line_h):
            continue
        if left <= 0 or top <= 0 or left + width >= page_w or top + height >= page_h:
            continue  # scanner edges and page borders, not text
        density = cv2.countNonZero(ink[top : top + height, left : left + width]) / (width * height)
        if 0.08 <= density <= 0.6:
            crops.append(Crop(int(left), int(top), int(width), int(height)))
    return crops


def read_crops(image: np.ndarray, crops: list[Crop], psm: int, opts: OcrSettings, dpi: float):
    """Read each crop with one Tesseract process; per crop, its words as (text, conf)."""
    if not crops:
        return []
    with tempfile.TemporaryDirectory(prefix="sohoa-reread-") as tmp:
        paths = []
        for n, crop in enumerate(crops):
            pad = max(4, int(0.3 * crop.height))
            y0, x0 = max(0, crop.top - pad), max(0, crop.left - pad)
            part = image[y0 : crop.top + crop.height + pad, x0 : crop.left + crop.width + pad]
            part = cv2.resize(
                part, None, fx=crop.scale, fy=crop.scale, interpolation=cv2.INTER_CUBIC
            )
            path = Path(tmp) / f"{n:05d}.pgm"
            cv2.imwrite(str(path), part)
            paths.append(str(path))
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
            return [[] for _ in crops]
    found: list[list[tuple[str, float]]] = [[] for _ in crops]
    for i, level in enumerate(out["level"]):
        text = unicodedata.normalize("NFC", str(out["text"][i]).strip())
        page = int(out["page_num"][i]) - 1
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
    if opts.recover_lines:
        data = _add_lost_lines(image, data, opts, dpi)
    if opts.reread_below > 0:  # recovered lines too: they are read no better than the page
        _fix_doubtful(image, data, opts, dpi)
    return data


def _fix_doubtful(image: np.ndarray, data: dict, opts: OcrSettings, dpi: float) -> None:
    rows = doubtful_words(data, opts.reread_below)
    crops = [replace(_row_crop(data, i), scale=scale) for i in rows for scale in WORD_SCALES]
    readings = read_crops(image, crops, 8, opts, dpi)
    per_word = len(WORD_SCALES)
    for n, i in enumerate(rows):
        old = (float(data["conf"][i]), str(data["text"][i]).strip())
        mine = readings[n * per_word : (n + 1) * per_word]
        best = better_reading(old, mine, *_neighbours(data, i))
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
    conf, text = old
    options = [
        (words[0][1], _first_letter_case_of(text, words[0][0]))
        for words in readings
        if len(words) == 1 and _same_letters(words[0][0], text)
    ]
    floor = evidence(text, before, after)
    scored = [
        (evidence(new, before, after), c, new) for c, new in options if new != text and c > conf
    ]
    best = max(scored, default=None)
    return (best[1], best[2]) if best and best[0] > floor else None


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
    crops = lost_lines(image, data)
    kept = [
        (crop, words)
        for crop, words in zip(crops, read_crops(image, crops, 7, opts, dpi), strict=True)
        if _reads_as_text(words)
    ]
    return _insert_lines(data, kept) if kept else data


def _reads_as_text(words: list[tuple[str, float]]) -> bool:
    """Confident words, mostly letters and digits, one of them a real syllable."""
    if not words or sum(c for _, c in words) / len(words) < MIN_LINE_CONFIDENCE:
        return False
    text = "".join(t for t, _ in words)
    plain = sum(ch.isalnum() for ch in text)
    return plain >= 0.8 * len(text) and any(len(t.strip(_EDGE)) >= 2 for t, _ in words)


def _insert_lines(data: dict, kept: list[tuple[Crop, list[tuple[str, float]]]]) -> dict:
    """Add each recovered line as its own block, placed after the words above it.

    The words get boxes spread over the crop in proportion to their length: the
    second reading ran on an enlarged, padded crop, so its own boxes are not page
    coordinates, and a proportional split is exact enough for a text layer.
    """
    columns = list(data)
    rows = [{k: data[k][i] for k in columns} for i in range(len(data["level"]))]
    block = max((int(b) for b in data["block_num"]), default=0)
    for crop, words in sorted(kept, key=lambda kw: kw[0].top):
        block += 1
        at = _after_last_line_above(rows, crop.top)
        rows[at:at] = _line_rows(columns, crop, words, block)
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
