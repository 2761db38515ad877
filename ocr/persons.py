"""People a dossier names, each with a role, and their name, ID number and date of birth kept together.

Why: a birth-registration dossier names the applicant (người nộp), the child (người
được khai sinh), both parents and the signer of the result. Read as one flat set of
fields, the record kept the child's date of birth beside a parent's ID number and
silently chose one of two applicants printed on a receipt. Here each value read after
a label is placed with a person:

* the label says whose it is ("Họ, chữ đệm, tên người mẹ", "Họ và tên người nộp"),
  by its rule's ``role`` or the role words of ``[persons.roles]`` around it;
* else the section above says so ("Đề nghị … cho người dưới đây:", "THÔNG TIN NGƯỜI
  NỘP HỒ SƠ");
* an ID number or date of birth after a name belongs to that name; an unmarked
  "Họ và tên" takes the page type's default role (the applicant on a receipt, the
  person the paper is issued to on a certificate).

Across a record's pages, people of one role are the same person when their names
(without diacritics, allowing OCR slips) or ID numbers agree; an ID-card copy's
holder joins whoever has their name or number. Two different people for one role
(two applicants on one receipt) are a conflict; an ID number is checked against the
date of birth of the same person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz

from ocr.labels import LabelFind, looks_like_heading
from ocr.rules import Line, same_row
from ocr.validators import check_id_number
from schemas.fields import FieldValue, Person
from sohoa.textfold import fold

PERSON_FIELDS = {"applicant_name": "name", "id_number": "id_number", "birth_date": "birth_date"}
"""Flat fields that belong to a person, and the person's attribute each one fills."""
PRIMARY_ROLES = {
    "thanh-phan": ("applicant", "subject", "other"),
    "ket-qua": ("subject", "applicant", "other"),
}
"""Whose values the record's flat fields show, by record kind (the dossier's components
are the applicant's; a result is issued to its subject); unknown kind: as components."""
NO_CONFLICT_ROLES = frozenset({"signer", "other"})
"""Roles several different people legitimately hold in one dossier."""
SAME_NAME = 88.0
"""rapidfuzz ratio two folded names need to be one person's (one OCR slip in eight letters)."""
SECTION_CUE_MIN = 5
"""Role words shorter than this ("cha", "mẹ") count in a label only, never in a heading."""
_YEAR_ONLY = re.compile(r"^\D*(\d{4})\D*$")


@dataclass
class PagePerson:
    """One person on one page, while the page is read (values are every reading of each)."""

    role: str
    page: int
    values: dict[str, list[FieldValue]] = field(default_factory=dict)
    """Attribute (``name``, ``id_number``, ``birth_date``) -> the readings found for it."""

    def best(self, attribute: str) -> FieldValue | None:
        """The most trustworthy reading: valid first, then most confident."""
        found = self.values.get(attribute, [])
        return min(found, key=lambda v: (v.problem is not None, -v.confidence), default=None)

    def name_key(self) -> str | None:
        name = self.best("name")
        return fold(name.value) if name is not None and not name.problem else None

    def id_key(self) -> str | None:
        value = self.best("id_number")
        return value.value if value is not None and not value.problem else None


# --------------------------------------------------------------------------- one page


def page_persons(
    finds: Sequence[LabelFind],
    signers: Sequence[FieldValue],
    lines: Sequence[Line],
    *,
    default_role: str,
    cues: Sequence[tuple[str, str]],
) -> list[PagePerson]:
    """The people one page names, in reading order (see the module docstring)."""
    order = reading_order(lines)
    sections = _sections(lines, {id(f.line) for f in finds}, cues, order)
    people: list[PagePerson] = []
    current: PagePerson | None = None
    section: str | None = None
    for find in sorted(finds, key=lambda f: order[id(f.line)]):
        above = _section_above(sections, order[id(find.line)])
        if above != section:
            current, section = None, above
        attribute = PERSON_FIELDS[find.value.name]
        if attribute == "name" and is_signing_instruction(find.value.value):
            continue  # "(Ký và ghi rõ họ tên)" under a signature line names nobody
        said = role_in(find.zone, cues) or find.rule.role  # the printed words first
        current = _place(people, current, find.value, attribute, said, section or default_role)
    people.extend(PagePerson("signer", s.page or 0, {"name": [s]}) for s in signers)
    return people


_SIGNING_INSTRUCTION = re.compile(r"\bky\b.*\bghi ro\b|\bghi ro ho\b|\bky ten\b.*\bdong dau\b")


def is_signing_instruction(value: str) -> bool:
    """Whether a "name" is the instruction printed under a signature line ("Ký và ghi rõ
    họ tên", "Ký, ghi rõ họ tên", "Ký tên, đóng dấu"), as OCR read it, brackets lost."""
    return bool(_SIGNING_INSTRUCTION.search(fold(value).lower()))


def _place(people, current, value: FieldValue, attribute: str, said, fallback) -> PagePerson:
    """Put one reading with the person it belongs to (a new one when nobody fits)."""
    role = said or (current.role if current is not None and attribute != "name" else fallback)
    key = fold(value.value) if not value.problem else None
    fits = [p for p in people if p.role == role]
    if attribute == "name" and key is not None:
        same = next((p for p in fits if _same_name(p.name_key(), key)), None)
        if same is not None:
            same.values.setdefault("name", []).append(value)
            return same
    if current is not None and current.role == role and _takes(current, attribute, value):
        target = current
    elif attribute == "name":
        target = None  # a second name of one role is a second person (or a conflict)
    else:
        target = next((p for p in reversed(fits) if _takes(p, attribute, value)), None)
    if target is None:
        target = PagePerson(role, value.page or 0)
        people.append(target)
    target.values.setdefault(attribute, []).append(value)
    return target


def _takes(person: PagePerson, attribute: str, value: FieldValue) -> bool:
    """The person has no valid reading of ``attribute`` yet, or the same one again (a reading
    that failed its validator never keeps a valid one from its holder)."""
    had = [h for h in person.values.get(attribute, []) if not h.problem]
    return not had or value.problem is not None or any(h.value == value.value for h in had)


def role_in(folded: str, cues: Sequence[tuple[str, str]], *, min_length: int = 0) -> str | None:
    """The role the words in ``folded`` name ("ho, chu dem, ten nguoi me" -> mother).

    Cues are whole words; the longest wins ("người được khai sinh" over "người").
    """
    for words, role in cues:  # longest first
        if len(words) < min_length:
            continue
        start = folded.find(words)
        while start >= 0:
            end = start + len(words)
            before = folded[start - 1] if start else " "
            after = folded[end] if end < len(folded) else " "
            if not before.isalnum() and not (after.isalnum() and words[-1].isalnum()):
                return role
            start = folded.find(words, start + 1)
    return None


def reading_order(lines: Sequence[Line]) -> dict[int, tuple[int, float]]:
    """Each line's ``(row, x)``: lines side by side (table cells) share a row, left first.

    Why not Tesseract's order: it reads a table column by column, and "Năm sinh" in the
    cell right of the mother's name must come after her name, not before.
    """
    rows: list[Line] = []
    order = {}
    for line in sorted(lines, key=lambda ln: ln.y0):
        if not rows or not same_row(rows[-1], line):
            rows.append(line)
        order[id(line)] = (len(rows) - 1, line.x0)
    return order


def _sections(lines, label_lines: set[int], cues, order) -> list[tuple[tuple[int, float], str]]:
    """Headings and lead-in lines that say whose values follow ("… cho người dưới đây:")."""
    found = []
    for line in lines:
        if id(line) in label_lines:
            continue
        text = line.text.rstrip()
        lead_in = ":" not in text or text.endswith(":") or looks_like_heading(text)
        role = role_in(line.folded, cues, min_length=SECTION_CUE_MIN) if lead_in else None
        if role is not None:
            found.append((order[id(line)], role))
    return sorted(found)


def _section_above(sections, position: tuple[int, float]) -> str | None:
    above = [role for at, role in sections if at[0] < position[0]]
    return above[-1] if above else None


def _same_name(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and (a == b or fuzz.ratio(a, b) >= SAME_NAME)


# --------------------------------------------------------------------------- a record


@dataclass(frozen=True)
class RecordPeople:
    """The people of a record and the readings its flat person fields are chosen from."""

    persons: tuple[Person, ...]
    primary: dict[str, tuple[FieldValue, ...]]
    """Flat field name -> the primary person's readings (``page`` = batch page index)."""
    primary_role: str | None


def record_people(
    people: Iterable[PagePerson], position: dict[int, int], kind: str | None
) -> RecordPeople:
    """Join the people of a record's pages (``position``: batch page -> place in the record)."""
    groups: list[list[PagePerson]] = []
    placed = sorted(people, key=lambda p: (p.role == "other", position.get(p.page, 0)))
    for person in placed:
        group = next((g for g in groups if _joins(g, person)), None)
        if group is None:
            groups.append([person])
        else:
            group.append(person)
    merged = [_merged(g) for g in groups]
    roles = PRIMARY_ROLES.get(kind or "", PRIMARY_ROLES["thanh-phan"])
    primary = next(
        (m for role in roles for m in merged if m.role == role and m.best("name")), None
    ) or next((m for role in roles for m in merged if m.role == role), None)
    readings = {}
    if primary is not None:
        for name, attribute in PERSON_FIELDS.items():
            values = [v for v in primary.values.get(attribute, []) if not _year_only(v)]
            if values:
                readings[name] = tuple(values)
    persons = tuple(
        _person(m, position) for m in sorted(merged, key=lambda m: position.get(m.page, 0))
    )
    return RecordPeople(persons, readings, primary.role if primary else None)


def _joins(group: list[PagePerson], person: PagePerson) -> bool:
    """Same role (or a card's holder, who joins anyone but a signer) and the same name or
    ID number."""
    head = group[0]
    if person.role != head.role and (person.role != "other" or head.role == "signer"):
        return False
    names = {p.name_key() for p in group} - {None}
    ids = {p.id_key() for p in group} - {None}
    name, number = person.name_key(), person.id_key()
    if number is not None and number in ids:
        return True
    if name is None or not any(_same_name(name, n) for n in names):
        return False
    return number is None or not ids  # the same name with another ID number: two people


def _merged(group: list[PagePerson]) -> PagePerson:
    first = group[0]
    values: dict[str, list[FieldValue]] = {}
    for person in group:
        for attribute, found in person.values.items():
            values.setdefault(attribute, []).extend(found)
    return PagePerson(first.role, first.page, values)


def _year_only(value: FieldValue) -> bool:
    return value.problem is not None and _YEAR_ONLY.match(value.raw or value.value) is not None


def _person(person: PagePerson, position: dict[int, int]) -> Person:
    """The output model: best reading of each attribute, and the ID checked against the birth."""
    name, number = person.best("name"), person.best("id_number")
    births = person.values.get("birth_date", [])
    full = min((b for b in births if not b.problem), key=lambda b: -b.confidence, default=None)
    year = int(full.value[:4]) if full else None
    if year is None:
        years = [_YEAR_ONLY.match(b.raw or b.value) for b in births if _year_only(b)]
        year = int(years[0].group(1)) if years else None
    problem = None
    if number is not None and not number.problem and year is not None:
        born = date.fromisoformat(full.value) if full else date(year, 1, 1)
        problem = check_id_number(number.value, birth_date=born).problem
    return Person(
        role=person.role,
        name=name.value if name and not name.problem else None,
        id_number=number.value if number and not number.problem else None,
        birth_date=full.value if full else None,
        birth_year=year,
        page=position.get(person.page, person.page),
        problem=problem,
    )


# --------------------------------------------------------------------------- review


def person_reasons(persons: Sequence[Person], flat_id: str | None) -> list[str]:
    """Review reasons: one role held by different people, and an ID number that
    disagrees with its holder's birth (the flat field's own check already says so for
    the record's main person, whose ID is ``flat_id``)."""
    reasons = []
    by_role: dict[str, list[Person]] = {}
    for person in persons:
        by_role.setdefault(person.role, []).append(person)
    for role, same in by_role.items():
        shown = [p for p in same if p.name or p.id_number]
        if role not in NO_CONFLICT_ROLES and len(shown) > 1:
            names = {fold(p.name) for p in shown if p.name}
            by_name = len(names) > 1
            values = "|".join(
                f"{(p.name if by_name else p.id_number) or '?'}@{(p.page or 0) + 1}" for p in shown
            )
            reasons.append(f"person_conflict:{role}:{values}")
    reasons.extend(
        f"person_invalid:{p.role}:{p.problem}"
        for p in persons
        if p.problem and p.id_number != flat_id
    )
    return reasons


def with_corrected(persons: Sequence[Person], kind: str, field: str, value: str | None):
    """The record's people after a clerk corrected the flat field ``field`` to ``value``.

    Why: the flat applicant_name, id_number and birth_date are the primary person's
    (:data:`PRIMARY_ROLES`); a correction of one that left the person unchanged would show
    the wrong name in search by person and keep the old value's doubts. The first person of
    the first primary role present takes the value; with none, one is added under that role.
    Other fields leave the people as they are.
    """
    attribute = PERSON_FIELDS.get(field)
    if attribute is None:
        return tuple(persons)
    roles = PRIMARY_ROLES.get(kind, PRIMARY_ROLES["thanh-phan"])
    at = next((i for role in roles for i, p in enumerate(persons) if p.role == role), None)
    if at is None:
        return (*persons, Person(role=roles[0], **{attribute: value}))
    update: dict = {attribute: value, "problem": None}  # a typed value replaces the doubt
    if attribute == "birth_date":
        update["birth_year"] = int(value[:4]) if value and value[:4].isdigit() else None
    changed = persons[at].model_copy(update=update)
    return (*persons[:at], changed, *persons[at + 1 :])
