"""Key fields of a page and of a record, with evidence: value, confidence, page, box, method.

A page is classified by its printed title, then every rule of its document type
(``field_rules.toml``) proposes candidates: decoded QR/barcode payloads, values
after printed labels, values recognised by their own shape, the issuing agency's
block and the signer's name. :func:`merge_fields` picks one value per field for
a record — a decoded code beats OCR, a valid value beats an invalid one, the
receipt beats other pages — and reports where a code and the printed text
disagree. Values that fail their validator are kept as read and flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from ocr.codes import is_separator, parse_code_payload
from ocr.lexicon import (
    repaired_email,
    respelled_document_number,
    respelled_name,
    respelled_place,
)
from ocr.rules import FieldRule, LabelHit, Line, Rules, find_label, find_labels, page_lines
from ocr.validators import PATTERNS, VALIDATORS, Checked, check_id_number
from schemas.fields import CodeHit, FieldValue, PageFacts
from schemas.models import PageOcr
from sohoa.textfold import fold

METHOD_RANK = {"manual": 0, "qr": 1, "barcode": 2, "label": 3, "pattern": 4}
PATTERN_DISCOUNT = 0.9
"""A value found by its shape alone is less certain than one after its label."""
MIN_NAME_CONFIDENCE = 60.0
"""Tesseract word confidence below which a line under a signing title is taken for a scribble."""
NO_COLON_DISCOUNT = 0.8
"""A label without its colon ("(Ký và ghi rõ họ tên)") is weaker evidence than "Họ tên: …"."""
_SEPARATORS = " \t:;,.-–=()|_…"
_LIST_MARKER = re.compile(r"^\s*(\d{1,2}\s*[.)]|[-•+*]|dieu\s+\d|can cu\b|noi nhan\b)")
_ID_SHAPE = re.compile(r"(?<![\d])(\d(?:[ .]?\d){8,11})(?![\d])|(?<![A-Za-z])([A-Z]\d{7})(?!\d)")


@dataclass(frozen=True)
class PageFields:
    """Everything field extraction found on one batch page."""

    facts: PageFacts
    candidates: tuple[FieldValue, ...]
    """Every candidate value, ``page`` = batch page index."""

    def best(self, name: str) -> FieldValue | None:
        """This page's best candidate for ``name`` (codes first, valid first)."""
        found = [c for c in self.candidates if c.name == name]
        return min(found, key=_rank_on_page) if found else None


def _rank_on_page(value: FieldValue) -> tuple:
    return (value.problem is not None, METHOD_RANK[value.method], -value.confidence)


# --------------------------------------------------------------------------- one page


def extract_page(
    page: PageOcr, codes: Sequence[CodeHit], rules: Rules, *, separator_codes: Collection[str]
) -> PageFields:
    """Classify one page and collect every field candidate on it."""
    lines = page_lines(page)
    doc_type, confidence = classify(lines, codes, rules, separator_codes)
    facts = PageFacts(
        index=page.index, doc_type=doc_type, doc_type_confidence=confidence, codes=tuple(codes)
    )
    if doc_type == "separator":
        return PageFields(facts, ())
    candidates = list(_code_candidates(codes, page.index))
    doc_rules = rules.doc_types.get(doc_type)
    stops = rules.labels_for(doc_type)
    for rule in doc_rules.fields if doc_rules else ():
        candidates.extend(_CANDIDATES[rule.kind](lines, rule, stops, page.index))
    votes = _page_spellings(page)
    candidates = [_respelled(c, votes) if c.name in RESPELL_FIELDS else c for c in candidates]
    return PageFields(facts, tuple(_lexicon_spelled(c) for c in candidates))


RESPELL_FIELDS = frozenset({"applicant_name", "signer", "issuer", "address"})
"""Names and places, which a page prints more than once, often once in capitals."""
_EDGE = ".,;:()"


def _page_spellings(page: PageOcr) -> dict[tuple[str, str, str], Counter]:
    """How the page's words were read next to each neighbour: spelling -> summed confidence.

    Keyed by the folded word pair and the side, so "Quang" in "Quang Trung" and
    "Quảng" in "Quảng Trị" never vote for each other.
    """
    votes: dict[tuple[str, str, str], Counter] = {}
    lines: dict[int, list] = {}
    for word in page.words:
        lines.setdefault(word.line, []).append(word)
    for words in lines.values():
        tokens = [(w.text.strip(_EDGE), max(w.conf, 1.0)) for w in words]
        for (left, lc), (right, rc) in pairwise(tokens):
            if left.isalpha() and right.isalpha():
                pair = (fold(left), fold(right))
                votes.setdefault(("L", *pair), Counter())[left.lower()] += lc
                votes.setdefault(("R", *pair), Counter())[right.lower()] += rc
    return votes


def _respelled(value: FieldValue, votes: dict[tuple[str, str, str], Counter]) -> FieldValue:
    """Each capitalised word of a name or place as the page's readings of the same phrase spell it.

    Tesseract loses tone marks on capitals ("THỪA THIÊN" read "THÙA THIÊN") while it
    reads the same phrase right in the date line or the signature block; the
    spelling with the most confidence over the readings of the word *with the same
    neighbour* wins. ``raw`` keeps what was read at the field itself.
    """
    tokens = value.value.split(" ")
    cores = [t.strip(_EDGE) for t in tokens]
    out = []
    for i, (token, core) in enumerate(zip(tokens, cores, strict=True)):
        options: Counter = Counter()
        if core[:1].isupper() and core.isalpha():
            if i + 1 < len(cores) and cores[i + 1].isalpha():
                options.update(votes.get(("L", fold(core), fold(cores[i + 1])), Counter()))
            if i > 0 and cores[i - 1].isalpha():
                options.update(votes.get(("R", fold(cores[i - 1]), fold(core)), Counter()))
        best = max(options.items(), key=lambda kv: kv[1])[0] if len(options) > 1 else None
        out.append(
            token if best in (None, core.lower()) else token.replace(core, _cased_like(best, core))
        )
    spelled = " ".join(out)
    return value if spelled == value.value else value.model_copy(update={"value": spelled})


LEXICON_SPELLERS = {
    "applicant_name": respelled_name,
    "signer": respelled_name,
    "address": respelled_place,
    "document_number": respelled_document_number,
}
"""Fields checked against a lexicon of names or the gazetteer (:mod:`ocr.lexicon`)."""


def _lexicon_spelled(value: FieldValue) -> FieldValue:
    """A read name or place that exists in no lexicon, restored to the one that does.

    Printed values (label or pattern) only: a code's payload is what it is. ``raw``
    keeps the reading, so the change shows in the manifest.
    """
    speller = LEXICON_SPELLERS.get(value.name)
    if speller is None or value.method not in ("label", "pattern") or value.problem:
        return value
    spelled = speller(value.value)
    return value if spelled == value.value else value.model_copy(update={"value": spelled})


def _cased_like(word: str, model: str) -> str:
    if model.isupper():
        return word.upper()
    return word[:1].upper() + word[1:] if model[:1].isupper() else word


def classify(
    lines: Sequence[Line], codes: Sequence[CodeHit], rules: Rules, separator_codes: Collection[str]
) -> tuple[str, float]:
    """The page's document type from its printed title (the first title line from the top)."""
    if any(is_separator(hit, separator_codes) for hit in codes):
        return "separator", 1.0
    for line in sorted(lines, key=lambda ln: ln.y0):
        if line.y0 > 0.5 * line.page_height:
            break
        if not _looks_like_heading(line.text):
            continue
        for doc_type, doc_rules in rules.doc_types.items():
            for title in doc_rules.titles:
                hit = find_label(line.folded, title)
                if hit and hit.start <= 2 and _title_opens(line.folded[hit.start :], title):
                    if doc_type == "separator" and hit.score < 100:
                        continue  # never drop a page from the archive on a fuzzy reading
                    return doc_type, round(hit.score / 100, 3)
    if any("dossier_code" in parse_code_payload(hit.text) for hit in codes):
        return "receipt", 0.6  # a one-stop-system code without a readable title
    return "other", 0.3


def _title_opens(folded: str, title: str) -> bool:
    """A title's first word must be read exactly: "PHÒNG TIẾP NHẬN HỒ SƠ" is no "PHIẾU …"."""
    return folded.split(" ", 1)[0] == title.split(" ", 1)[0]


def _looks_like_heading(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def _code_candidates(codes: Sequence[CodeHit], page: int) -> list[FieldValue]:
    values = []
    for hit in codes:
        method = "qr" if "qr" in hit.format.lower() else "barcode"
        for name, value in parse_code_payload(hit.text).items():
            values.append(
                FieldValue(
                    name=name,
                    value=value,
                    raw=hit.text,
                    confidence=1.0,
                    page=page,
                    box=hit.box,
                    method=method,
                )
            )
    return values


def _checked_value(rule: FieldRule, raw: str) -> Checked:
    """The validator's verdict; an e-mail it rejects gets one repair attempt first.

    OCR garbles the provider of an address ("gmaiïl.com") more than anything else
    in it; :func:`ocr.lexicon.repaired_email` restores a common provider only when
    exactly one is near, and the reading stays in ``raw``.
    """
    checked = VALIDATORS[rule.validator](raw)
    if not checked.ok and rule.validator == "email":
        repaired = repaired_email(raw)
        again = VALIDATORS["email"](repaired) if repaired is not None else checked
        return again if again.ok else checked
    return checked


def _evidence(rule, line: Line, start: int, end: int, raw: str, score: float, method: str, page):
    """A candidate with its box and confidence from the words it was read from."""
    checked = _checked_value(rule, raw)
    words = line.words_in(start, end) or line.words
    conf = sum(w.conf for w in words) / len(words) / 100 * score / 100
    box = (
        round(min(w.left for w in words)),
        round(min(w.top for w in words)),
        round(max(w.left + w.width for w in words) - min(w.left for w in words)),
        round(max(w.top + w.height for w in words) - min(w.top for w in words)),
    )
    return FieldValue(
        name=rule.name,
        value=checked.value,
        raw=raw,
        confidence=round(max(0.0, conf), 3),
        page=page,
        box=box,
        method=method,
        problem=checked.problem,
    )


# --------------------------------------------------------------------------- label rules


def _label_candidates(lines: Sequence[Line], rule: FieldRule, stops, page: int) -> list[FieldValue]:
    out = []
    for i, line in enumerate(lines):
        hits = find_labels(line.folded, stops)
        for n, hit in enumerate(hits):
            if hit.label not in rule.folded_labels or _in_brackets(line.folded, hit):
                continue
            after = [h.start for h in hits[n + 1 :] if _ends_value(line.folded, h)]
            end = after[0] if after else len(line.text)
            value_at = _value_start(line.text, hit, end)
            colon = ":" in line.text[hit.end : value_at]
            labelled = colon or rule.keep_label
            if not labelled and _looks_like_heading(line.text):
                continue  # a title or signature heading, not a label ("NGƯỜI NỘP HỒ SƠ")
            found = _value_after(lines, i, hit, end, value_at, colon, rule, stops)
            if found is not None:
                src, start, stop, raw = found
                score = hit.score * (1.0 if labelled else NO_COLON_DISCOUNT)
                out.append(_evidence(rule, src, start, stop, raw, score, "label", page))
    return out


def _in_brackets(folded: str, hit: LabelHit) -> bool:
    """A label inside brackets is an instruction to the signer: "(Ký và ghi rõ họ tên)"."""
    before = folded[: hit.start]
    return before.count("(") > before.count(")")


def _ends_value(folded: str, hit: LabelHit) -> bool:
    """A later label ends a value only as a real label: opening the line or followed by a colon
    ("Số 79, thôn …" inside an address is not the label "Số:")."""
    return hit.start == 0 or ":" in folded[hit.end : hit.end + 4]


def _value_after(lines, i, hit: LabelHit, end: int, value_at: int, colon: bool, rule, stops):
    """The text a label introduces, cut to the value's shape: ``(line, start, end, raw)``.

    ``value_at`` is where the value starts after the label (see :func:`_value_start`);
    ``colon`` whether a colon separates them.
    """
    line = lines[i]
    start = hit.start if rule.keep_label else value_at
    if rule.shape in _CUT_SHAPES:  # the label is searched too: "Số: 12/QĐ-UBND" needs its "Số"
        found = _shape_span(rule.shape, line.text[hit.start : end])
        if found is not None:
            a, b = found[0] + hit.start, found[1] + hit.start
            return line, a, b, line.text[a:b].strip()
    raw = line.text[start:end].strip()
    if not raw.strip(_SEPARATORS) and rule.next_line:
        below = _line_below(lines, line)
        if below is None or any(h.start <= 2 for h in find_labels(below.folded, stops)):
            return None
        line, start, end, raw = below, 0, len(below.text), below.text.strip()
    raw = (raw + _continuation(lines, line, rule, stops)).strip(_SEPARATORS)
    if rule.shape in _CUT_SHAPES and not colon:
        return None  # a label-like word without a colon and no value of the right shape
    return (line, start, end, raw) if raw else None


_INNER_COLON = re.compile(r"^[^:\d]{1,40}?[^\W\d]\)?:(?=\s|$)")


def _value_start(text: str, hit: LabelHit, end: int) -> int:
    """Where the value begins: after separators, and after the rest of a longer label.

    "Họ và tên chủ hộ kinh doanh: X" matches the label "họ và tên"; the words up to
    the colon still belong to the label when the label opens the line (mid-line,
    "… nơi cư trú (Bản chính: 01)" is running text, not a label).
    """
    position = hit.end
    rest = text[position:end]
    if hit.start <= 3 and rest[:1] not in (":", "") and (inner := _INNER_COLON.match(rest)):
        position += inner.end()
    while position < end and text[position] in _SEPARATORS:
        position += 1
    return position


def _line_below(lines: Sequence[Line], line: Line) -> Line | None:
    """The next line down that sits under ``line`` (a value printed under its label)."""
    height = max(1.0, line.y1 - line.y0)
    below = [
        ln
        for ln in lines
        if line.y1 - 0.3 * height < ln.y0 < line.y1 + 2.5 * height
        and ln.x0 < line.x1
        and ln.x1 > line.x0
    ]
    return min(below, key=lambda ln: ln.y0) if below else None


def _continuation(lines: Sequence[Line], line: Line, rule: FieldRule, stops) -> str:
    """Following lines that carry on a wrapped value (address, trích yếu, procedure name).

    A line continues the value when it follows closely, starts no new label, list
    item or heading, and either starts in lower case or starts at the left edge of
    the value's line (a wrapped line) while the value so far has no final full stop.
    """
    parts: list[str] = []
    prev = line
    for _ in range(rule.continuation):
        nxt = _line_below(lines, prev)
        if nxt is None or find_labels(nxt.folded, stops) or _LIST_MARKER.match(nxt.folded):
            break
        if _looks_like_heading(nxt.text):
            break
        aligned = abs(nxt.x0 - line.x0) < 0.03 * line.page_width or rule.keep_label
        if not (nxt.text[:1].islower() or (aligned and not prev.text.rstrip().endswith("."))):
            break
        parts.append(nxt.text.strip())
        prev = nxt
    return "".join(f" {p}" for p in parts)


# --------------------------------------------------------------------------- shapes


def _shape_pattern(shape: str) -> re.Pattern[str]:
    return PATTERNS.get(shape) or _ID_SHAPE if shape == "id_number" else PATTERNS[shape]


_CUT_SHAPES = {"dossier_code", "procedure_code", "id_number", "phone", "email", "document_number"}


def _value_span(match: re.Match[str], shape: str) -> tuple[int, int]:
    """Where the value is in a shape match: group 1 when the pattern has one (``Số: 12/QĐ``)."""
    group = 1 if match.re.groups and shape != "date_line" and match.group(1) else 0
    return match.start(group), match.end(group)


def _shape_span(shape: str, text: str) -> tuple[int, int] | None:
    match = _shape_pattern(shape).search(text)
    return None if match is None else _value_span(match, shape)


def _pattern_candidates(lines: Sequence[Line], rule: FieldRule, _stops, page: int) -> list:
    """Values recognised by their own shape anywhere on the page."""
    shape = rule.shape or ""
    out = []
    for line in lines:
        for match in _shape_pattern(shape).finditer(line.text):
            start, end = _value_span(match, shape)
            raw = line.text[start:end].strip()
            score = 100 * PATTERN_DISCOUNT
            out.append(_evidence(rule, line, start, end, raw, score, "pattern", page))
    return out


# --------------------------------------------------------------------------- layout rules


def _top_left_candidates(lines: Sequence[Line], rule: FieldRule, _stops, page: int) -> list:
    """The issuing agency: capital lines at the top left, above "Số:" and the title."""
    parts, used = [], []
    for line in sorted(lines, key=lambda ln: ln.y0):
        if line.y0 > 0.3 * line.page_height:
            break
        left = _left_of_motto(line).strip(_SEPARATORS)
        if not left:
            continue  # a line of the right-hand column only (the national motto)
        folded = fold(left)
        if not _looks_like_heading(left) or _NUMBER_LINE.match(folded):
            if parts:
                break
            continue
        parts.append(left)
        used.append(line)
    if not parts:
        return []
    raw = " ".join(parts)
    first = used[0]
    return [_evidence(rule, first, 0, len(first.text), raw, 95.0, "label", page)]


_NUMBER_LINE = re.compile(r"^so\s*[:.]?\s*\d")
"""The "Số: 12/QĐ-UBND" line under the agency (but not "SỞ TƯ PHÁP", which folds to "so")."""
_MOTTO = ("cong hoa xa hoi chu nghia viet nam", "doc lap - tu do - hanh phuc")


def _left_of_motto(line: Line) -> str:
    """The agency part of a header line, which Tesseract often joins with the national motto."""
    for motto in _MOTTO:
        hit = find_label(line.folded, motto)
        if hit is not None:
            return line.text[: hit.start]
    return line.column_text(0.0, 0.5, min_gap=0.02)


def _signature_candidates(lines: Sequence[Line], rule: FieldRule, _stops, page: int) -> list:
    """The signer: the first name-like line under the last signing title in the lower right."""
    ordered = sorted(lines, key=lambda ln: ln.y0)
    anchors = [
        n
        for n, ln in enumerate(ordered)
        if ln.y0 > 0.25 * ln.page_height
        and any(find_label(fold(ln.column_text(0.45, 1.0)), a) for a in rule.folded_labels)
    ]
    if not anchors:
        return []
    for line in ordered[anchors[-1] + 1 :]:
        right = line.column_text(0.45, 1.0).strip(_SEPARATORS)
        if not right or _looks_like_heading(right) or right.startswith("("):
            continue
        checked = _checked_value(rule, right)
        if checked.problem is None and _plausible_name(line, right):
            start = line.text.find(right)
            return [_evidence(rule, line, start, start + len(right), right, 95.0, "label", page)]
    return []


def _plausible_name(line: Line, text: str) -> bool:
    """OCR of a signature scribble ("Ị Ị", "F Đế") is no name: read with confidence, and every
    syllable has two letters or more (or is "Y", a real given name)."""
    words = [w for w in line.words if w.text in text.split()]
    confident = bool(words) and sum(w.conf for w in words) / len(words) >= MIN_NAME_CONFIDENCE
    return confident and all(len(s) >= 2 or s.upper() == "Y" for s in text.split())


_CANDIDATES = {
    "label": _label_candidates,
    "pattern": _pattern_candidates,
    "top_left": _top_left_candidates,
    "signature": _signature_candidates,
}


# --------------------------------------------------------------------------- a record


def merge_fields(
    pages: Sequence[PageFields], rules: Rules
) -> tuple[tuple[FieldValue, ...], tuple[str, ...]]:
    """One value per field for a record whose pages are ``pages`` (in record order).

    Returns the fields (``page`` = position within the record) and the names
    of fields where a decoded code and the printed text disagree.
    """
    position = {p.facts.index: n for n, p in enumerate(pages)}
    doc_type = {p.facts.index: p.facts.doc_type for p in pages}
    prefer = {t: n for n, t in enumerate(rules.preferred_source)}
    chosen: dict[str, FieldValue] = {}
    disagreements = []
    names = dict.fromkeys(c.name for p in pages for c in p.candidates)
    for name in names:
        found = [c for p in pages for c in p.candidates if c.name == name]
        best = min(
            found,
            key=lambda c: (
                c.problem is not None,
                METHOD_RANK[c.method],
                prefer.get(doc_type[c.page], len(prefer)),
                -c.confidence,
                position[c.page],
            ),
        )
        best = _agreed_spelling(best, found)
        if best.method in ("qr", "barcode") and any(
            c.method in ("label", "pattern") and c.problem is None and c.value != best.value
            for c in found
        ):
            disagreements.append(name)
        chosen[name] = replace_page(best, position[best.page])
    return cross_checked(chosen.values()), tuple(disagreements)


def _agreed_spelling(best: FieldValue, found: Sequence[FieldValue]) -> FieldValue:
    """Among printed readings that differ only in diacritics, the one most pages agree on.

    OCR drops or swaps tone marks more than letters (a capital "NGUYỄN" read as
    "Nguyên"); when the receipt, the form and the ID-card copy print the same
    name, the spelling most of them were read with wins, then the most confident.
    """
    if best.method not in ("label", "pattern"):
        return best
    key = fold(best.value)
    same = [
        c
        for c in found
        if c.problem is None and c.method in ("label", "pattern") and fold(c.value) == key
    ]
    votes = Counter(value for _, value in {(c.page, c.value) for c in same})  # pages, not reads
    return max(same, key=lambda c: (votes[c.value], c.confidence), default=best)


def replace_page(value: FieldValue, page: int) -> FieldValue:
    """The same value with its page number counted within the record."""
    return value.model_copy(update={"page": page})


def valid_value(fields: Sequence[FieldValue], name: str) -> str | None:
    """The value of field ``name`` if the record has one that passed its validator."""
    return next((f.value for f in fields if f.name == name and not f.problem), None)


def with_field(fields: Sequence[FieldValue], value: FieldValue) -> tuple[FieldValue, ...]:
    """The record's fields with ``value`` replacing any value of the same name, by name."""
    return cross_checked([*(f for f in fields if f.name != value.name), value])


def cross_checked(fields: Collection[FieldValue]) -> tuple[FieldValue, ...]:
    """Fields sorted by name, with the checks that need two fields applied (CCCD vs birth)."""
    chosen = {f.name: f for f in fields}
    _cross_check_id(chosen)
    return tuple(chosen[n] for n in sorted(chosen))


def _cross_check_id(chosen: dict[str, FieldValue]) -> None:
    """A CCCD must agree with the date of birth printed beside it.

    Only a date on the same page counts: a birth-registration form carries the
    applicant's ID number and the *child's* date of birth on different pages of the
    dossier more often than not. Checked from scratch each time, so a corrected date
    of birth also clears a mismatch found against the old one.
    """
    id_value, birth = chosen.get("id_number"), chosen.get("birth_date")
    if not id_value:
        return
    problem = check_id_number(id_value.value).problem
    same_person = birth is not None and birth.page == id_value.page  # not a child's birth date
    if problem is None and same_person and not birth.problem:
        born = date.fromisoformat(birth.value)
        problem = check_id_number(id_value.value, birth_date=born).problem
    if problem != id_value.problem:
        chosen["id_number"] = id_value.model_copy(update={"problem": problem})


def review_reasons(
    fields: Sequence[FieldValue],
    disagreements: Sequence[str],
    required: Sequence[str],
    min_confidence: float,
) -> tuple[str, ...]:
    """Machine-readable reasons a record needs a clerk's second look (see ``records.review``)."""
    by_name = {f.name: f for f in fields}
    reasons = [f"missing:{name}" for name in required if name not in by_name]
    for value in fields:
        if value.problem:
            reasons.append(f"invalid:{value.name}:{value.problem}")
        elif value.confidence < min_confidence:
            reasons.append(f"low_confidence:{value.name}")
    reasons.extend(f"disagreement:{name}" for name in disagreements)
    return tuple(reasons)


__all__ = [
    "PageFields",
    "classify",
    "extract_page",
    "merge_fields",
    "review_reasons",
]
