"""Which strings can be a Vietnamese syllable, generated from the language's spelling rules.

Why: the second reading (:mod:`ocr.reread`) may only replace a word on evidence that is
not Tesseract's own confidence. The first piece of evidence is whether a reading can be
Vietnamese at all: "kêt" cannot (a syllable ending in c, ch, p or t takes the sắc or nặng
tone only), "kết" can; "TrỊ" cannot (case changes inside a word), "Trị" can; a word with
"Ð" (Icelandic eth, U+00D0) in place of "Đ" cannot.

The inventory is generated, not listed: every written onset (with its spelling rules:
k/gh/ngh before i, e, ê; c/g/ng elsewhere; qu and gi) joined to every written rhyme
(nucleus, optional glide o/u, optional coda, and the iê/yê/ia/ya, uô/ua, ươ/ưa spellings),
in both tone-mark placements ("hoà"/"hòa"), with the rule that a stop coda takes only
sắc or nặng. It is deliberately generous (a loan syllable such as "pin" passes): it must
never call a real syllable invalid, and tests check it against every syllable of the
name lexicon and the gazetteer. Real but different syllables ("hiên"/"hiện") both pass:
telling them apart is the job of context (:func:`ocr.lexicon.supported_in_context`).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from itertools import product

__all__ = ["is_syllable", "is_word_form", "toneless"]

TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
"""Huyền, sắc, ngã, hỏi, nặng (combining marks)."""
STOP_TONES = frozenset("\u0301\u0323")
"""The only tones a syllable ending in a stop (c, ch, p, t) can carry; it must carry one."""
ONSETS = (
    "", "b", "c", "ch", "d", "đ", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh",
    "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x",
)  # fmt: skip
_CODAS = {
    "a": "- c ch i o u y m n ng nh p t",
    "ă": "c m n ng p t",
    "â": "c m n ng p t u y",
    "e": "- c ch m n ng o p t",
    "ê": "- ch m n nh p t u",
    "i": "- a ch m n nh p t u",
    "y": "- a ch n nh t u",
    "o": "- c i m n ng p t oc ong",
    "ô": "- c i m n ng p t",
    "ơ": "- i m n p t",
    "u": "- a c i m n ng p t y",
    "ư": "- a c i m n ng t u",
    "iê": "c m n ng p t u",
    "yê": "c m n ng p t u",
    "uô": "c i m n ng t",
    "ươ": "c i m n ng p t u",
    "oa": "- c ch i m n ng nh p t y",
    "oă": "c m n ng t",
    "oe": "- m n o t",
    "uâ": "n ng t y",
    "uê": "- ch n nh",
    "uy": "- a ch n nh p t u",
    "uyê": "n t",
    "uơ": "-",
}
"""Written nucleus (with its glide) -> the written codas it takes; ``-`` is no coda."""
_FRONT = ("i", "y", "e", "ê")
"""After these, /k/ /ɣ/ /ŋ/ are written k, gh, ngh."""


def _rhymes() -> set[str]:
    return {
        nucleus + ("" if coda == "-" else coda)
        for nucleus, codas in _CODAS.items()
        for coda in codas.split()
    }


def _spelled(onset: str, rhyme: str) -> str | None:
    """``onset + rhyme`` as written, or ``None`` where the spelling rules forbid it."""
    front = rhyme.startswith(_FRONT)
    if onset in ("c", "g", "ng") and front or onset in ("k", "gh", "ngh") and not front:
        return None
    if onset == "qu" and rhyme.startswith(("u", "ư", "o")):
        return None  # "qu" carries its glide: quốc is qu + ôc, not q + uôc
    if onset == "gi" and rhyme.startswith("i"):
        return "g" + rhyme  # gi + in -> "gìn", gi + iêng -> "giêng"
    if rhyme.startswith("yê") and onset:
        return onset + "i" + rhyme[1:] if onset not in ("qu",) else onset + rhyme
    if rhyme.startswith("iê") and not onset:
        return None  # no onset: "yên", "yêu"
    return onset + rhyme


@lru_cache(maxsize=1)
def _inventory() -> frozenset[str]:
    """Every written Vietnamese syllable without its tone mark (lower case, NFC)."""
    found = {_spelled(onset, rhyme) for onset, rhyme in product(ONSETS, _rhymes())}
    found |= {"gi", "gin", "ghi"} | {"qua", "quy"}  # glide spellings the rules above fold away
    found.discard(None)
    return frozenset(found)


def toneless(word: str) -> tuple[str, str]:
    """``word`` in lower case without its tone marks (NFC), and the tone marks it had."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = "".join(c for c in decomposed if c in TONES)
    base = "".join(c for c in decomposed if c not in TONES)
    return unicodedata.normalize("NFC", base), tones


def is_syllable(word: str) -> bool:
    """Whether ``word`` (any case) is spelled as a Vietnamese syllable, tone included."""
    base, tones = toneless(word)
    if len(tones) > 1 or base not in _inventory():
        return False
    return tones in STOP_TONES if base.endswith(("c", "p", "t")) else True


def is_word_form(word: str) -> bool:
    """A Vietnamese syllable written in one of the three cases print uses.

    Lower case ("hiện"), capitalised ("Trị") or all capitals ("TỈNH"): a capital
    inside a lower-case word ("TrỊ") is a misreading, never print.
    """
    if not (word.islower() or word.isupper() or word[:1].isupper() and word[1:].islower()):
        return len(word) == 1 and is_syllable(word)
    return is_syllable(word)
