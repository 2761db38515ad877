"""Words that are ink noise, not text: read from seals, signatures, handwriting, specks.

Why: on real office pages Tesseract turns a signature, the ring of a red seal or a
handwritten margin note into "words" ("X⁄Ẳ++⁄", "Cftuayert", "@®", "¬Yy"): insertions
that cost 1-3 points of CER on yellowed pages and photos, and junk in search and in the
PDF's text layer. A word is dropped only when Tesseract itself doubts it *and* it cannot
be print:

* under :data:`NOISE_BELOW`: it holds a character no Vietnamese document prints, or it is
  all letters, not all capitals, and no Vietnamese syllable in a printed case
  (:func:`ocr.syllables.is_word_form`);
* under :data:`SHAPE_BELOW`: its box is not the size of the page's print (a signature's
  loop read as "67.5" stands twice as tall as the body text; a pen dot read as "R" is a
  few pixels high), or it is punctuation alone that is no dash or dot ("<", "+", "£").

A doubtful real word ("Nguyễn" at 30), an abbreviation ("VT", "UBND"), a code
("2320/TB-BQLDA"), a number or a list's dash is kept.

Pen notes in the top and left margins are read with confidence, so they are judged by
where they stand instead (:func:`margin_notes`).
"""

from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Hashable, Sequence

from ocr.syllables import is_word_form

NOISE_BELOW = 50.0
"""Words read with at least this confidence are kept whatever they look like."""
SHAPE_BELOW = 60.0
"""Words read with less confidence are also judged by their size and their characters.

Measured on the real-world corpus (seed 7100, 18 pages, after the rule above): words
under 60 that are off-size or bare symbols were 37 insertions and no true word."""
TALL, SHORT = 1.6, 0.4
"""Off-size: taller than ``TALL`` or (holding a letter or digit) shorter than ``SHORT``
times the page's body-text word height. Title lines are at most ~1.3x the body."""
SURE = 80.0
"""Words this confident (with a letter) give the page's body-text word height."""
_PUNCTUATION = frozenset(".,:;!?()[]/\\-–—%\"'“”‘’&@+*=#°²³_<>")
_EDGE = ".,:;!?()[]\"'“”‘’"
_RULES = frozenset("-–—.…")
"""Bare punctuation that print does set alone: a list's dash, a leader's dots."""


def _printable(ch: str) -> bool:
    """A character a Vietnamese document prints: a Latin letter (marks and đ), a digit, punctuation."""
    if ch.isdigit() or ch in _PUNCTUATION:
        return True
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return ("a" <= base <= "z") or base == "đ"


def is_noise(text: str, conf: float, size: float = 1.0) -> bool:
    """Whether a word read with ``conf`` is ink noise rather than print (see the module).

    ``size``: the word's box height over the page's body-text word height (1.0: unknown).
    """
    if conf < SHAPE_BELOW and _odd_shape(text, size):
        return True
    if conf >= NOISE_BELOW:
        return False
    if not all(_printable(ch) for ch in text):
        return True
    core = text.strip(_EDGE)
    if core.isupper():  # abbreviations: VT, UBND, HĐND, TNMT are no syllables, and print
        return False
    return len(core) >= 2 and core.isalpha() and not is_word_form(core)


def _odd_shape(text: str, size: float) -> bool:
    """Off the print's size, or bare symbols that are no dash or dot."""
    plain = any(ch.isalnum() for ch in text)
    if not plain:
        return not set(text) <= _RULES
    return size > TALL or size < SHORT


def body_height(words: Sequence[tuple[str, float, float]]) -> float | None:
    """Median box height of the confident words with a letter: the page's print size.

    ``words``: (text, confidence, box height) in any one unit of length.
    """
    sure = [h for text, conf, h in words if conf >= SURE and any(ch.isalpha() for ch in text)]
    return statistics.median(sure) if len(sure) >= 5 else None


def kept(words: Sequence[tuple[str, float, float]]) -> list[bool]:
    """Per word (text, confidence, box height): not noise (:func:`is_noise`), judged against
    the page's print (:func:`body_height`)."""
    body = body_height(words)
    return [not is_noise(text, conf, h / body if body else 1.0) for text, conf, h in words]


MARGIN_SIZE = 0.15
"""A margin word off the print's height by more than this share is handwriting."""


def margin_notes(
    words: Sequence[tuple[str, float, tuple[float, float, float, float]]], lines: Sequence[Hashable]
) -> list[bool]:
    """Per word (text, confidence, box left/top/width/height) and its line's number: a
    handwritten note in the page's margin.

    Why: a reader's pen notes in the top and left margins ("đ/c", "s0", "- trình") are
    read at 60-95, above the doubt :func:`is_noise` needs, and each costs a page's CER a
    few tenths. Print starts at the left edge and the top of the lines that hold two
    words or more read at :data:`SURE` (header and body do; a note seldom has two sure
    words). A word wholly left of that edge or above that top (:func:`_outside`) is a
    note when it is also unlike print: read under :data:`SURE`, off the print's height
    by more than :data:`MARGIN_SIZE`, or neither a Vietnamese syllable, an abbreviation
    nor a number. Costs no Tesseract run.
    """
    body = body_height([(t, c, box[3]) for t, c, box in words])
    area = _print_area(words, lines)
    if body is None or area is None:
        return [False] * len(words)
    return [
        _outside(box, area) and _unlike_print(text, conf, box[3] / body)
        for text, conf, box in words
    ]


def _print_area(words, lines) -> tuple[float, float] | None:
    """The left edge and top of the lines holding two words or more read at :data:`SURE`."""
    sure: dict[Hashable, list] = {}
    for (text, conf, box), line in zip(words, lines, strict=True):
        if conf >= SURE and any(ch.isalnum() for ch in text):
            sure.setdefault(line, []).append(box)
    boxes = [box for found in sure.values() if len(found) >= 2 for box in found]
    if len(boxes) < 10:
        return None
    return min(b[0] for b in boxes), min(b[1] for b in boxes)


def _outside(box, area) -> bool:
    """Wholly left of the print's area or above it: where a reader writes on a page
    handed to them. Not right of it or below: the signer's name stands there, alone on
    its line, its seal-crossed words doubted."""
    left, top, width, height = box
    return left + width < area[0] or top + height < area[1]


def _unlike_print(text: str, conf: float, size: float) -> bool:
    core = text.strip(_EDGE)
    if conf < SURE or abs(size - 1.0) > MARGIN_SIZE:
        return True
    return not (core.isdigit() or (core.isalpha() and (core.isupper() or is_word_form(core))))
