"""Key fields of a page and of a record, with evidence: value, confidence, page, box, method.

A page is classified by its printed title, then every rule of its document type
(``field_rules.toml``) proposes candidates: decoded QR/barcode payloads, values
after printed labels, values recognised by their own shape, the issuing agency's
block and the signer's name (label rules: :mod:`ocr.labels`). Names, ID numbers
and dates of birth are kept with the person they belong to (:mod:`ocr.persons`).
:func:`merge_fields` picks one value per field for a record — a decoded code beats
OCR, a valid value beats an invalid one, the receipt beats other pages, and the
person fields are all one person's (the applicant's, or a result's subject's) —
and reports where a code and the printed text disagree; :func:`merge_record` adds
the record's people. Values that fail their validator are kept as read and flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import pairwise

from ocr.codes import is_separator, parse_code_payload
from ocr.labels import (
    SEPARATORS,
    checked_value,
    evidence,
    label_candidates,
    label_finds,
    looks_like_heading,
    pattern_candidates,
    wrapped_label_cells,
)
from ocr.lexicon import respelled_document_number, respelled_name, respelled_place
from ocr.persons import (
    PERSON_FIELDS,
    PagePerson,
    page_persons,
    person_reasons,
    record_people,
)
from ocr.rules import FieldRule, Line, Rules, find_label, page_lines
from ocr.validators import check_id_number
from schemas.fields import CodeHit, FieldValue, PageFacts, Person
from schemas.models import PageOcr
from sohoa.textfold import fold

METHOD_RANK = {"manual": 0, "qr": 1, "barcode": 2, "label": 3, "pattern": 4}
MIN_NAME_CONFIDENCE = 60.0
"""Tesseract word confidence below which a line under a signing title is taken for a scribble."""


@dataclass(frozen=True)
class PageFields:
    """Everything field extraction found on one batch page."""

    facts: PageFacts
    candidates: tuple[FieldValue, ...]
    """Every candidate value, ``page`` = batch page index; of the person fields, those of
    the page's main person only (the applicant, else the subject, else a card's holder)."""
    persons: tuple[PagePerson, ...] = ()
    """Everyone the page names, with their role and readings (:mod:`ocr.persons`)."""

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
    lines = wrapped_label_cells(lines, stops)
    finds, lent = [], rules.borrowed_labels(doc_type)
    for n, rule in enumerate(doc_rules.fields if doc_rules else ()):
        also = lent.get(n, frozenset())
        if rule.kind == "label" and rule.name in PERSON_FIELDS:
            finds.extend(label_finds(lines, rule, stops, page.index, also=also))
        elif rule.kind == "label":
            candidates.extend(label_candidates(lines, rule, stops, page.index, also=also))
        else:
            candidates.extend(_CANDIDATES[rule.kind](lines, rule, stops, page.index))
    votes = _page_spellings(page)

    def spelled(value: FieldValue) -> FieldValue:
        respelled = _respelled(value, votes) if value.name in RESPELL_FIELDS else value
        return _lexicon_spelled(respelled)

    candidates = [spelled(c) for c in candidates]
    people = page_persons(
        [replace(f, value=spelled(f.value)) for f in finds],
        [c for c in candidates if c.name == "signer"],
        lines,
        default_role=doc_rules.default_role if doc_rules else "other",
        cues=rules.role_cues,
    )
    main = record_people(people, {page.index: 0}, None).primary
    candidates.extend(value for values in main.values() for value in values)
    return PageFields(facts, tuple(candidates), tuple(people))


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
        if not looks_like_heading(line.text):
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


# --------------------------------------------------------------------------- layout rules


def _top_left_candidates(lines: Sequence[Line], rule: FieldRule, _stops, page: int) -> list:
    """The issuing agency: capital lines at the top left, above "Số:" and the title."""
    parts, used = [], []
    for line in sorted(lines, key=lambda ln: ln.y0):
        if line.y0 > 0.3 * line.page_height:
            break
        left = _left_of_motto(line).strip(SEPARATORS)
        if not left:
            continue  # a line of the right-hand column only (the national motto)
        folded = fold(left)
        if not looks_like_heading(left) or _NUMBER_LINE.match(folded):
            if parts:
                break
            continue
        parts.append(left)
        used.append(line)
    if not parts:
        return []
    raw = " ".join(parts)
    first = used[0]
    return [evidence(rule, first, 0, len(first.text), raw, 95.0, "label", page)]


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
        right = line.column_text(0.45, 1.0).strip(SEPARATORS)
        if not right or looks_like_heading(right) or right.startswith("("):
            continue
        checked = checked_value(rule, right)
        if checked.problem is None and _plausible_name(line, right):
            start = line.text.find(right)
            return [evidence(rule, line, start, start + len(right), right, 95.0, "label", page)]
    return []


def _plausible_name(line: Line, text: str) -> bool:
    """OCR of a signature scribble ("Ị Ị", "F Đế") is no name: read with confidence, and every
    syllable has two letters or more (or is "Y", a real given name)."""
    words = [w for w in line.words if w.text in text.split()]
    confident = bool(words) and sum(w.conf for w in words) / len(words) >= MIN_NAME_CONFIDENCE
    return confident and all(len(s) >= 2 or s.upper() == "Y" for s in text.split())


_CANDIDATES = {
    "label": label_candidates,
    "pattern": pattern_candidates,
    "top_left": _top_left_candidates,
    "signature": _signature_candidates,
}


# --------------------------------------------------------------------------- a record


@dataclass(frozen=True)
class RecordFields:
    """What field extraction gives a record: flat fields, code/text disagreements, people."""

    fields: tuple[FieldValue, ...]
    """One value per field (``page`` = position within the record)."""
    disagreements: tuple[str, ...]
    """Fields whose decoded code and printed text differ."""
    persons: tuple[Person, ...]
    """Everyone the record names, with their role (``page`` = position within the record)."""


def merge_fields(
    pages: Sequence[PageFields], rules: Rules, *, kind: str | None = None
) -> tuple[tuple[FieldValue, ...], tuple[str, ...]]:
    """One value per field for a record whose pages are ``pages`` (in record order).

    Returns the fields (``page`` = position within the record) and the names
    of fields where a decoded code and the printed text disagree. ``kind``
    (``thanh-phan``/``ket-qua``) says whose name, ID number and date of birth the
    flat fields show: see :func:`merge_record`.
    """
    merged = merge_record(pages, rules, kind=kind)
    return merged.fields, merged.disagreements


def merge_record(pages: Sequence[PageFields], rules: Rules, *, kind: str | None) -> RecordFields:
    """:func:`merge_fields` with the record's people.

    The person fields (applicant_name, id_number, birth_date) are all one person's: the
    applicant's for a dossier's components, the subject's for a result (the other when
    the record names only one), never a third person's; a QR code's ID number counts
    for the applicant only.
    """
    position = {p.facts.index: n for n, p in enumerate(pages)}
    doc_type = {p.facts.index: p.facts.doc_type for p in pages}
    prefer = {t: n for n, t in enumerate(rules.preferred_source)}
    people = record_people([person for p in pages for person in p.persons], position, kind)
    chosen: dict[str, FieldValue] = {}
    disagreements = []
    names = dict.fromkeys([*(c.name for p in pages for c in p.candidates), *people.primary])
    for name in names:
        found = [c for p in pages for c in p.candidates if c.name == name]
        if name in PERSON_FIELDS:
            coded = people.primary_role in (None, "applicant")
            found = [c for c in found if c.method in ("qr", "barcode") and coded]
            found += people.primary.get(name, ())
            if not found:
                continue
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
    return RecordFields(cross_checked(chosen.values()), tuple(disagreements), people.persons)


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
    """A CCCD must agree with the record's date of birth.

    Both are one person's (:func:`merge_record` takes them from the same person, never
    the applicant's ID number with the child's birth). Checked from scratch each time,
    so a corrected date of birth also clears a mismatch found against the old one.
    """
    id_value, birth = chosen.get("id_number"), chosen.get("birth_date")
    if not id_value:
        return
    problem = check_id_number(id_value.value).problem
    if problem is None and birth is not None and not birth.problem:
        born = date.fromisoformat(birth.value)
        problem = check_id_number(id_value.value, birth_date=born).problem
    if problem != id_value.problem:
        chosen["id_number"] = id_value.model_copy(update={"problem": problem})


def review_reasons(
    fields: Sequence[FieldValue],
    disagreements: Sequence[str],
    required: Sequence[str],
    min_confidence: float,
    persons: Sequence[Person] = (),
) -> tuple[str, ...]:
    """Machine-readable reasons a record needs a clerk's second look (see ``records.review``).

    ``persons`` adds ``person_conflict:ROLE:VALUE@PAGE|VALUE@PAGE`` (one role, two people)
    and ``person_invalid:ROLE:PROBLEM`` (an ID number against its holder's birth).
    """
    by_name = {f.name: f for f in fields}
    reasons = [f"missing:{name}" for name in required if name not in by_name]
    for value in fields:
        if value.problem:
            reasons.append(f"invalid:{value.name}:{value.problem}")
        elif value.confidence < min_confidence:
            reasons.append(f"low_confidence:{value.name}")
    reasons.extend(f"disagreement:{name}" for name in disagreements)
    reasons.extend(person_reasons(persons, valid_value(fields, "id_number")))
    return tuple(reasons)


__all__ = [
    "PageFields",
    "RecordFields",
    "classify",
    "extract_page",
    "merge_fields",
    "merge_record",
    "review_reasons",
]
