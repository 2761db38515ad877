"""Accent- and case-folding of Vietnamese text, and safe FTS5 queries built from user input.

Auditors search the catalog mostly *without* diacritics ("dang ky khai sinh"
for "Đăng ký khai sinh"). SQLite's ``unicode61`` tokenizer removes combining
marks but does not fold ``đ``/``Đ`` (a letter of its own, not ``d`` plus a
mark), so the catalog indexes text folded by :func:`fold` and folds every
query the same way.

:func:`fold` maps **one code point to exactly one code point**. For any input
``s``, ``len(fold(s)) == len(s)`` and ``fold(s)[i]`` is the folding of
``s[i]``. This lets the catalog find a match in the folded text and cut the
*original* text (with its diacritics) at the same offsets to build a snippet.
Catalog text is NFC (one code point per Vietnamese letter), so every letter is
folded whole; decomposed input still keeps the length property (a lone
combining mark is kept as is, and the tokenizer ignores it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

__all__ = ["Term", "fold", "fts_query", "query_terms", "snippet", "term_pattern"]

_D_WITH_STROKE = {"đ": "d", "Đ": "d", "Ɖ": "d"}
"""Letters that look like ``d`` with a bar; ``Ɖ`` (U+0189) turns up in badly converted text."""


def _fold_char(char: str) -> str:
    """Fold one code point to exactly one code point.

    Follows NFD -> drop combining marks (Mn) -> map đ/Đ -> NFC -> casefold, but
    falls back to a one-character result whenever a step would change the
    length (e.g. ``ß`` casefolds to ``ss``; ``lower()`` keeps ``ß``), so offsets
    in folded text stay equal to offsets in the original.
    """
    if char in _D_WITH_STROKE:
        return _D_WITH_STROKE[char]
    base = "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")
    base = unicodedata.normalize("NFC", base)
    if len(base) != 1:  # a lone combining mark, or a multi-letter decomposition
        base = char
    base = _D_WITH_STROKE.get(base, base)
    for candidate in (base.casefold(), base.lower()):
        if len(candidate) == 1:
            return candidate
    return base


class _FoldTable(dict[int, int]):
    """A ``str.translate`` table that computes and caches each code point's folding on demand.

    ``str.translate`` runs in C and only calls back into Python on a cache miss,
    which keeps folding multi-megabyte OCR texts fast.
    """

    def __missing__(self, code_point: int) -> int:
        folded = ord(_fold_char(chr(code_point)))
        self[code_point] = folded
        return folded


_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lowercase ``text`` and remove Vietnamese diacritics, including ``đ``/``Đ`` -> ``d``.

    Args:
        text: any text; catalog text and queries are NFC.

    Returns:
        Folded text of exactly the same length, character for character, so
        an offset into the result is an offset into ``text``.

    Example:
        >>> fold("Đặng Văn Đức ở Quảng Trị")
        'dang van duc o quang tri'
    """
    return text.translate(_TABLE)


# --- FTS5 queries ------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
"""A run of letters and digits: what ``unicode61`` treats as one token."""


@dataclass(frozen=True)
class Term:
    """One search term: the folded word parts that must appear consecutively.

    A plain word has one part; a dossier code such as ``000.00.06.H56-231027-0361``
    or any chunk with internal punctuation has several and is searched as a phrase.
    """

    parts: tuple[str, ...]
    """Folded letters-and-digits runs, in order."""
    prefix: bool = False
    """True when the last part may be the start of a longer token (type-ahead)."""


def query_terms(user_query: str) -> list[Term]:
    """Split free user input into folded search terms.

    Whitespace separates terms; inside a whitespace-separated chunk, any
    punctuation separates the *parts* of one phrase, so ``H56-231027`` matches
    the consecutive tokens ``h56 231027`` and never an FTS5 operator. The last
    term is a prefix when its last part has 3+ characters, so typing a code or
    a word partially already finds it.

    Args:
        user_query: what the user typed, with or without diacritics.

    Returns:
        The terms in input order; empty when the input has no letters or digits.
    """
    folded = fold(unicodedata.normalize("NFC", user_query))
    terms: list[Term] = []
    for chunk in folded.split():
        parts = tuple(_WORD.findall(chunk))
        if parts:
            terms.append(Term(parts))
    if terms and len(terms[-1].parts[-1]) >= 3:
        terms[-1] = replace(terms[-1], prefix=True)
    return terms


def _quote(text: str) -> str:
    """Quote ``text`` as an FTS5 string so nothing inside it is read as syntax."""
    return '"' + text.replace('"', '""') + '"'


def fts_query(user_query: str) -> str | None:
    """Build a safe FTS5 ``MATCH`` expression from free user input.

    Every term becomes a quoted FTS5 string (a phrase when it has several
    parts), terms are joined with ``AND``, and only the last one may carry a
    ``*`` prefix marker. Quotes, ``NEAR(``, ``*``, ``-``, ``col:`` and bare
    ``OR``/``NOT`` in the input therefore stay plain words.

    Args:
        user_query: what the user typed.

    Returns:
        The MATCH expression, or ``None`` when the input has no searchable words.

    Example:
        >>> fts_query('Đăng ký H56-231027')
        '"dang" AND "ky" AND "h56 231027"*'
    """
    terms = query_terms(user_query)
    if not terms:
        return None
    quoted = [_quote(" ".join(term.parts)) + ("*" if term.prefix else "") for term in terms]
    return " AND ".join(quoted)


def term_pattern(term: Term) -> str:
    """Return a regex that finds ``term`` in folded text the way FTS5 matched it.

    Used to locate the first match for a snippet: parts are whole tokens
    separated by any non-word characters; a prefix term's last part may
    continue with more letters or digits.
    """
    body = r"[\W_]+".join(re.escape(part) for part in term.parts)
    tail = r"[^\W_]*" if term.prefix else r"(?![^\W_])"
    return r"(?<![^\W_])" + body + tail


_SPACES = re.compile(r"\s+")


def _squash(text: str) -> str:
    """Collapse line breaks, form feeds and runs of spaces so a snippet fits on one line."""
    return _SPACES.sub(" ", text).strip()


def _first_match(folded: str, terms: list[Term]) -> tuple[int, int] | None:
    """Offsets of the whole query as one phrase if present, else of the earliest single term.

    One regex pass per step (the terms as one alternation, whose leftmost match is
    the earliest term, the first listed on a tie): a page of search results cuts
    twenty snippets, and one scan per term made multi-word queries slow.
    """
    if not terms:
        return None
    if len(terms) > 1:
        phrase = Term(tuple(p for t in terms for p in t.parts), prefix=terms[-1].prefix)
        found = re.search(term_pattern(phrase), folded)
        if found:
            return found.start(), found.end()
    found = re.search("|".join(f"(?:{term_pattern(term)})" for term in terms), folded)
    return (found.start(), found.end()) if found else None


def snippet(text: str, terms: list[Term], *, width: int = 60, mark: str = "«»") -> str:
    """Cut the original ``text`` around the first match of any of ``terms``.

    The match is found in ``fold(text)`` and, because folding keeps offsets,
    the same offsets cut the original, so the snippet shows the words with
    their diacritics ("Đăng ký" for a query "dang ky").

    Args:
        text: original (NFC) text of the record.
        terms: the folded query terms from :func:`query_terms`.
        width: characters of context on each side of the match.
        mark: two characters put around the match.

    Returns:
        One line of text; the beginning of ``text`` when no term is found in it
        (the match was in the dossier code only).
    """
    best = _first_match(fold(text), terms)
    if best is None:
        head = _squash(text[: 2 * width])
        return head + ("…" if len(text) > 2 * width else "")
    start, end = best
    low, high = max(0, start - width), min(len(text), end + width)
    while low > 0 and not text[low - 1].isspace() and low < start:
        low += 1  # do not begin in the middle of a word
    while high < len(text) and not text[high].isspace() and high > end:
        high -= 1  # nor end in the middle of one
    cut = text[low:start] + mark[0] + text[start:end] + mark[1] + text[end:high]
    prefix = "…" if low > 0 else ""
    suffix = "…" if high < len(text) else ""
    return prefix + _squash(cut) + suffix
