"""Words that are ink noise, not text: read from seals, signatures, handwriting, specks.

Why: on real office pages Tesseract turns a signature, the ring of a red seal or a
handwritten margin note into "words" ("X⁄Ẳ++⁄", "Cftuayert", "@®", "¬Yy"): insertions
that cost 1-3 points of CER on yellowed pages and photos, and junk in search and in the
PDF's text layer. A word is dropped only when Tesseract itself doubts it (confidence
under :data:`NOISE_BELOW`) *and* it cannot be print: it holds a character no Vietnamese
document prints, or it is all letters, not all capitals, and no Vietnamese syllable in a
printed case (:func:`ocr.syllables.is_word_form`). A doubtful real word ("Nguyễn" at 30),
an abbreviation ("VT", "UBND"), a code ("2320/TB-BQLDA") or a number is kept.
"""

from __future__ import annotations

import unicodedata

from ocr.syllables import is_word_form

NOISE_BELOW = 50.0
"""Words read with at least this confidence are kept whatever they look like."""
_PUNCTUATION = frozenset(".,:;!?()[]/\\-–—%\"'“”‘’&@+*=#°²³_<>")
_EDGE = ".,:;!?()[]\"'“”‘’"


def _printable(ch: str) -> bool:
    """A character a Vietnamese document prints: a Latin letter (marks and đ), a digit, punctuation."""
    if ch.isdigit() or ch in _PUNCTUATION:
        return True
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return ("a" <= base <= "z") or base == "đ"


def is_noise(text: str, conf: float) -> bool:
    """Whether a word read with ``conf`` is ink noise rather than print (see the module)."""
    if conf >= NOISE_BELOW:
        return False
    if not all(_printable(ch) for ch in text):
        return True
    core = text.strip(_EDGE)
    if core.isupper():  # abbreviations: VT, UBND, HĐND, TNMT are no syllables, and print
        return False
    return len(core) >= 2 and core.isalpha() and not is_word_form(core)
