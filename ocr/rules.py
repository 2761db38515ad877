"""Field rules loaded from data, and the text geometry they are applied to.

Why data: offices print many variants of the same form ("Họ và tên", "Họ, chữ
đệm, tên", "Tôi tên là"), and a new variant should be one line in
``field_rules.toml``, not a new branch in code. This module turns that file into
frozen rule objects, turns a page's OCR words into upright :class:`Line` objects
(text, folded text, word spans, position on the upright page), and finds printed
labels in a line without diacritics and case, tolerating small OCR errors.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from pathlib import Path

from rapidfuzz import fuzz

from schemas.fields import DOC_TYPES, FIELD_NAMES, PERSON_ROLES
from schemas.models import PageOcr, Word
from sohoa.errors import ConfigError
from sohoa.textfold import fold

BUILTIN_RULES = Path(__file__).with_name("field_rules.toml")
KINDS = ("label", "pattern", "top_left", "signature")
FUZZY_MIN_LENGTH = 6
"""Labels shorter than this must match exactly (after folding): "số", "đt", "email"."""
OTHER_LABEL_MIN_LENGTH = 5
"""Another type's label shorter than this ("số", "no.") ends no value: too common a word."""
FIRST_WORD_MIN = 50.0
"""rapidfuzz ratio a fuzzy match's first word needs against the label's ("h0" for "họ": 50)."""
FUZZY_CUTOFF = 88.0
"""rapidfuzz partial-ratio score a longer label needs (about one OCR error per eight letters)."""


@dataclass(frozen=True)
class FieldRule:
    """How to find one field on one document type (a row of ``field_rules.toml``)."""

    name: str
    kind: str = "label"
    labels: tuple[str, ...] = ()
    folded_labels: tuple[str, ...] = ()
    shape: str | None = None
    validator: str = "text"
    continuation: int = 0
    keep_label: bool = False
    next_line: bool = False
    role: str | None = None
    """Whose value this label gives (``applicant``, ``subject``, ``father``, ``mother``) when the
    label itself says so; ``None``: the words around it or the page's default decide."""
    families: tuple[str, ...] = ()
    """Template families (``tiep-nhan``, ``to-khai``, …) the labels were taken from; empty for
    general Vietnamese wording. Extraction ignores it; a benchmark drops a family's rows with
    :func:`without_families` to measure that family as never seen."""


@dataclass(frozen=True)
class DocTypeRules:
    """A document type: the titles that identify it and its field rules."""

    name: str
    titles: tuple[str, ...]
    fields: tuple[FieldRule, ...]
    families: tuple[str, ...] = ()
    """As :attr:`FieldRule.families`, for a document type added for one template family."""
    default_role: str = "other"
    """Whose name an unmarked "Họ và tên" gives on this type (``[persons]`` of the rules file)."""
    labels_from: tuple[str, ...] = ()
    """Types whose label rows a page of this type also reads, after its own (see
    :func:`_with_lent_rows`)."""


@dataclass(frozen=True)
class Rules:
    """Everything in one rules file."""

    doc_types: dict[str, DocTypeRules]
    stop_labels: tuple[str, ...]
    required: dict[str, tuple[str, ...]]
    preferred_source: tuple[str, ...]
    role_cues: tuple[tuple[str, str], ...] = ()
    """``(folded words, role)``: words in a label or a section heading that say whose value
    follows ("người mẹ" -> mother), most specific first."""

    def labels_for(self, doc_type: str) -> tuple[str, ...]:
        """Every folded label that can end a value on a page of ``doc_type`` (cached)."""
        if doc_type not in self._label_sets:
            self._label_sets[doc_type] = self._labels_for(doc_type)
        return self._label_sets[doc_type]

    @cached_property
    def _label_sets(self) -> dict[str, tuple[str, ...]]:
        return {}

    def _labels_for(self, doc_type: str) -> tuple[str, ...]:
        """Every folded label that can end a value on a page of ``doc_type``.

        The page's own labels first, then every other type's and the stop labels: a form
        of one office prints a label that another office's form of the same type lacks
        ("… CCCD: 0010… Ngày sinh: 12/03/1996" on a receipt), and a value ends where the
        next known label starts.
        """
        rules = self.doc_types.get(doc_type)
        own = [label for rule in (rules.fields if rules else ()) for label in rule.folded_labels]
        others = [
            label
            for other in self.doc_types.values()
            for rule in other.fields
            if rule.kind == "label"
            for label in rule.folded_labels
            if len(label) >= OTHER_LABEL_MIN_LENGTH
        ]
        return tuple(dict.fromkeys(own + others + list(self.stop_labels)))

    def borrowed_labels(self, doc_type: str) -> dict[int, frozenset[str]]:
        """Other types' labels lent to ``doc_type``'s rules (cached; see :meth:`_borrowed`)."""
        if doc_type not in self._lent:
            self._lent[doc_type] = self._borrowed(doc_type)
        return self._lent[doc_type]

    @cached_property
    def _lent(self) -> dict[str, dict[int, frozenset[str]]]:
        return {}

    def _borrowed(self, doc_type: str) -> dict[int, frozenset[str]]:
        """Other types' labels of each field, lent to the first label rule of that field on
        ``doc_type`` (by its position among the type's rules).

        Why: an application that prints the receipt's "Số CMND/CCCD" still gives an ID
        number; the longer foreign label would otherwise hide the type's own "Số CMND".
        """
        rules = self.doc_types.get(doc_type)
        if rules is None:
            return {}
        first: dict[str, int] = {}
        for n, rule in enumerate(rules.fields):
            if rule.kind == "label":
                first.setdefault(rule.name, n)
        lent: dict[int, frozenset[str]] = {}
        for name, n in first.items():
            own = {
                label for rule in rules.fields if rule.name == name for label in rule.folded_labels
            }
            lent[n] = frozenset(
                label
                for other in self.doc_types.values()
                for rule in other.fields
                if rule.kind == "label" and rule.name == name
                for label in rule.folded_labels
                if len(label) >= OTHER_LABEL_MIN_LENGTH and label not in own
            )
        return lent


@lru_cache(maxsize=8)
def load_rules(path: Path | None = None) -> Rules:
    """Read and check a rules file (the built-in one when ``path`` is ``None``).

    Raises:
        ConfigError: the file is missing, not TOML, or names an unknown field,
            document type, kind or validator.
    """
    from ocr.validators import PATTERNS, VALIDATORS  # local: validators import nothing from here

    source = path or BUILTIN_RULES
    try:
        data = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(reason=f"field rules {source}: {exc}") from exc
    persons = data.get("persons", {})
    defaults = persons.get("default_role", {})
    doc_types = {}
    for name, table in data.get("doc_types", {}).items():
        if name not in DOC_TYPES:
            raise ConfigError(reason=f"field rules {source}: unknown document type {name!r}")
        shapes = {*PATTERNS, "id_number"}
        rules = tuple(
            _field_rule(source, row, VALIDATORS, shapes) for row in table.get("fields", ())
        )
        doc_types[name] = DocTypeRules(
            name=name,
            titles=tuple(fold(t) for t in table.get("titles", ())),
            fields=rules,
            families=tuple(table.get("families", ())),
            default_role=_role(source, defaults.get(name, "other")),
            labels_from=_known_types(source, table.get("labels_from", ())),
        )
    doc_types = _with_lent_rows(doc_types)
    record = data.get("record", {})
    for kind, names in record.get("required", {}).items():
        if kind not in ("thanh-phan", "ket-qua") or set(names) - set(FIELD_NAMES):
            raise ConfigError(reason=f"field rules {source}: bad required.{kind} = {names}")
    cues = [
        (fold(words), _role(source, role))
        for role, phrases in persons.get("roles", {}).items()
        for words in phrases
    ]
    return Rules(
        doc_types=doc_types,
        stop_labels=tuple(fold(s) for s in data.get("stop_labels", ())),
        required={k: tuple(v) for k, v in record.get("required", {}).items()},
        preferred_source=tuple(record.get("preferred_source", DOC_TYPES)),
        role_cues=tuple(sorted(cues, key=lambda cue: -len(cue[0]))),
    )


def _known_types(source: Path, names: Collection[str]) -> tuple[str, ...]:
    unknown = set(names) - set(DOC_TYPES)
    if unknown:
        raise ConfigError(reason=f"field rules {source}: labels_from names {sorted(unknown)}")
    return tuple(names)


def _with_lent_rows(doc_types: dict[str, DocTypeRules]) -> dict[str, DocTypeRules]:
    """Each type with ``labels_from`` gets those types' label rows after its own.

    Why: a page whose title is none sohoa knows (another office's slip, a form printed
    without its heading, a title OCR could not read) still prints "Họ và tên người nộp:
    …" or "Mã hồ sơ | …" in a table; read with no label rows, it gave nothing but the
    codes on it. A lent row keeps the families of the type it came from, so a benchmark
    that holds a family out (:func:`without_families`) drops it here too.
    """
    lent_to = {}
    for name, table in doc_types.items():
        seen = {(row.name, row.folded_labels) for row in table.fields}
        lent = []
        for source in table.labels_from:
            giver = doc_types.get(source)
            for row in giver.fields if giver else ():
                if row.kind != "label" or (row.name, row.folded_labels) in seen:
                    continue
                seen.add((row.name, row.folded_labels))
                families = tuple(dict.fromkeys(row.families + giver.families))
                lent.append(replace(row, families=families))
        lent_to[name] = replace(table, fields=table.fields + tuple(lent))
    return lent_to


def _role(source: Path, role: str) -> str:
    if role not in PERSON_ROLES:
        raise ConfigError(reason=f"field rules {source}: unknown person role {role!r}")
    return role


def without_families(rules: Rules, families: Collection[str]) -> Rules:
    """``rules`` with every row and document type tagged with one of ``families`` left out.

    Why: a benchmark measures a template family as never seen by dropping the wording
    written for it; untagged rows (general Vietnamese wording) stay.
    """
    held_out = set(families)
    doc_types = {
        name: replace(
            table, fields=tuple(r for r in table.fields if not held_out & set(r.families))
        )
        for name, table in rules.doc_types.items()
        if not held_out & set(table.families)
    }
    return replace(rules, doc_types=doc_types)


def _field_rule(source: Path, row: dict, validators, shapes: set[str]) -> FieldRule:
    known = {f for f in FieldRule.__dataclass_fields__ if f != "folded_labels"}
    unknown = set(row) - known
    problems = [f"unknown keys {sorted(unknown)}"] if unknown else []
    if row.get("name") not in FIELD_NAMES:
        problems.append(f"unknown field {row.get('name')!r}")
    if row.get("kind", "label") not in KINDS:
        problems.append(f"unknown kind {row.get('kind')!r}")
    if row.get("validator", "text") not in validators:
        problems.append(f"unknown validator {row.get('validator')!r}")
    if row.get("shape") is not None and row["shape"] not in shapes:
        problems.append(f"unknown shape {row['shape']!r}")
    if row.get("kind") == "pattern" and not row.get("shape"):
        problems.append("a pattern rule needs a shape")
    if row.get("kind", "label") in ("label", "signature") and not row.get("labels"):
        problems.append("a label rule needs labels")
    if row.get("role") is not None and row["role"] not in PERSON_ROLES:
        problems.append(f"unknown role {row['role']!r}")
    if problems:
        raise ConfigError(reason=f"field rules {source}: {'; '.join(problems)} in {row}")
    labels = tuple(row.get("labels", ()))
    values = {k: v for k, v in row.items() if k not in ("labels", "families")}
    return FieldRule(
        **values,
        labels=labels,
        folded_labels=tuple(fold(x) for x in labels),
        families=tuple(row.get("families", ())),
    )


# --------------------------------------------------------------------------- lines


@dataclass(frozen=True)
class Line:
    """One OCR line on the upright page, with folded text aligned character by character."""

    number: int
    text: str
    folded: str
    words: tuple[Word, ...]
    spans: tuple[tuple[int, int], ...]
    """``(start, end)`` of each word in ``text``."""
    x0: float
    y0: float
    x1: float
    y1: float
    """Bounding box on the upright page (the scan turned by the page's rotation)."""
    page_width: float
    page_height: float
    word_x: tuple[tuple[float, float], ...] = ()
    """Each word's left and right edge on the upright page, as fractions of its width."""

    def words_in(self, start: int, end: int) -> tuple[Word, ...]:
        """Words overlapping ``text[start:end]``."""
        return tuple(
            w for w, (a, b) in zip(self.words, self.spans, strict=True) if a < end and b > start
        )

    def placed_in(self, start: int, end: int) -> list[tuple[Word, tuple[float, float]]]:
        """Words overlapping ``text[start:end]``, each with its left and right edge."""
        return [
            (w, x)
            for w, (a, b), x in zip(self.words, self.spans, self.word_x, strict=True)
            if a < end and b > start
        ]

    def span_between(self, left: float, right: float) -> tuple[int, int] | None:
        """The characters of the words whose centres lie between the page-width fractions
        ``left`` and ``right`` (one table column of the line); ``None`` when there are none."""
        inside = [n for n, (x0, x1) in enumerate(self.word_x) if left <= (x0 + x1) / 2 < right]
        if not inside:
            return None
        return self.spans[inside[0]][0], self.spans[inside[-1]][1]

    def column_text(self, left: float, right: float, *, min_gap: float = 0.04) -> str:
        """The words of one column of a two-column line (agency | motto, notes | signature).

        Words whose centres lie between the two page-width fractions count only when
        a real gap (``min_gap`` of the page width) separates them from the words
        outside; a centred title crossing the boundary belongs to neither column.
        """
        inside = [n for n, (x0, x1) in enumerate(self.word_x) if left <= (x0 + x1) / 2 < right]
        if not inside:
            return ""
        first, last = inside[0], inside[-1]
        if last + 1 < len(self.words) and self.word_x[last + 1][0] - self.word_x[last][1] < min_gap:
            return ""
        if first > 0 and self.word_x[first][0] - self.word_x[first - 1][1] < min_gap:
            return ""
        return " ".join(self.words[n].text for n in inside)


def upright_point(
    x: float, y: float, width: float, height: float, rotation: int
) -> tuple[float, float]:
    """Where a point of the scan lands after turning it ``rotation`` degrees clockwise."""
    turns = (rotation // 90) % 4
    if turns == 1:
        return height - y, x
    if turns == 2:
        return width - x, height - y
    if turns == 3:
        return y, width - x
    return x, y


def _word_corners(word: Word) -> tuple[tuple[float, float], tuple[float, float]]:
    """Top-left and bottom-right corners of a word's box, turned by its baseline angle."""
    a = math.radians(word.angle)
    bottom_left = (word.left, word.top + word.height)
    top_left = (
        bottom_left[0] - word.height * math.sin(a),
        bottom_left[1] - word.height * math.cos(a),
    )
    bottom_right = (
        bottom_left[0] + word.width * math.cos(a),
        bottom_left[1] - word.width * math.sin(a),
    )
    return top_left, bottom_right


def page_skew(page: PageOcr) -> float:
    """The text's tilt on the upright page, degrees counter-clockwise: the words' median angle.

    Word boxes sit on the scan as scanned (the deskew is undone so the text layer lies on
    the ink), so on a page scanned 2° askew a 16 cm line spans 5 mm more height than its
    letters; layout rules compare lines in the levelled frame instead.
    """
    angles = sorted(
        (w.angle - page.rotation + 45.0) % 90.0 - 45.0 for w in page.words if len(w.text) >= 3
    )
    return angles[len(angles) // 2] if angles else 0.0


def _leveller(page: PageOcr, width: float, height: float):
    """A function taking an upright point to the levelled (deskewed) upright page."""
    theta = math.radians(-page_skew(page))  # turn the text back by its tilt
    cos, sin, cx, cy = math.cos(theta), math.sin(theta), width / 2, height / 2

    def level(point: tuple[float, float]) -> tuple[float, float]:
        dx, dy = point[0] - cx, point[1] - cy
        return cx + dx * cos + dy * sin, cy - dx * sin + dy * cos

    return level


def page_lines(page: PageOcr) -> list[Line]:
    """The page's lines in reading order, with upright, levelled geometry."""
    grouped: dict[int, list[Word]] = {}
    for word in page.words:
        grouped.setdefault(word.line, []).append(word)
    upright_w, upright_h = (
        (page.height, page.width) if page.rotation in (90, 270) else (page.width, page.height)
    )
    level = _leveller(page, upright_w, upright_h)
    lines = []
    for number, words in sorted(grouped.items()):
        text, spans = "", []
        for word in words:
            start = len(text) + (1 if text else 0)
            text = f"{text} {word.text}" if text else word.text
            spans.append((start, len(text)))
        corners = [
            level(upright_point(x, y, page.width, page.height, page.rotation))
            for w in words
            for x, y in _word_corners(w)
        ]
        xs, ys = [c[0] for c in corners], [c[1] for c in corners]
        extents = tuple(
            (min(xs[2 * i], xs[2 * i + 1]) / upright_w, max(xs[2 * i], xs[2 * i + 1]) / upright_w)
            for i in range(len(words))
        )
        lines.append(
            Line(
                number,
                text,
                fold(text),
                tuple(words),
                tuple(spans),
                min(xs),
                min(ys),
                max(xs),
                max(ys),
                float(upright_w),
                float(upright_h),
                extents,
            )
        )
    return lines


# --------------------------------------------------------------------------- label matching


@dataclass(frozen=True, order=True)
class LabelHit:
    """A label found in a line: ``folded[start:end]`` matched ``label`` with ``score`` (0–100)."""

    start: int
    end: int
    score: float = field(compare=False)
    label: str = field(compare=False)


def _bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not before.isalnum() and not (after.isalnum() and text[end - 1].isalnum())


def find_label(folded_line: str, label: str) -> LabelHit | None:
    """Find ``label`` (folded) in a folded line, exactly or within a small edit distance."""
    start = folded_line.find(label)
    while start >= 0:
        if _bounded(folded_line, start, start + len(label)):
            return LabelHit(start, start + len(label), 100.0, label)
        start = folded_line.find(label, start + 1)
    if len(label) < FUZZY_MIN_LENGTH or len(folded_line) < len(label) - 2:
        return None
    found = fuzz.partial_ratio_alignment(label, folded_line, score_cutoff=FUZZY_CUTOFF)
    if found is None:
        return None
    start, end = _snap_to_words(folded_line, found.dest_start, found.dest_end)
    if any(c.isdigit() for c in folded_line[start:end]):
        return None  # labels have no digits: "ngày 06 tháng 6 năm" is a date, not "ngày, tháng, năm sinh"
    first, found_first = label.split(" ", 1)[0], folded_line[start:end].split(" ", 1)[0]
    if fuzz.ratio(first, found_first) < FIRST_WORD_MIN:
        return None  # another word in the label's place: "loại giấy tờ …" is not "số giấy tờ …"
    if any(c in ",:;" and c not in label for c in folded_line[start:end]):
        return (
            None  # a stop the label lacks: "Quảng Bình, ngày 02 …" is a date line, not "sinh ngày"
        )
    return LabelHit(start, end, found.score, label)


def _snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a fuzzy match to whole words, so the value starts after the label's last letter."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end


@lru_cache(maxsize=16384)
def find_labels(folded_line: str, labels: tuple[str, ...]) -> tuple[LabelHit, ...]:
    """Every label in the line, longest first where two overlap, in reading order.

    Cached: every label rule of a document type scans the same lines for the same labels.
    """
    hits = [hit for label in labels if (hit := find_label(folded_line, label))]
    exact = [h for h in hits if h.score >= 100.0]
    hits = [h for h in hits if h.score >= 100.0 or not _cuts_into(h, exact)]
    hits.sort(key=lambda h: (-(h.end - h.start), -h.score))
    kept: list[LabelHit] = []
    for hit in hits:
        if all(hit.end <= k.start or hit.start >= k.end for k in kept):
            kept.append(hit)
    return tuple(sorted(kept))


def _cuts_into(fuzzy: LabelHit, exact: Sequence[LabelHit]) -> bool:
    """A fuzzy match that takes in part of a label printed exactly, without all of it.

    Why: "Họ và tên người nộp Số định danh cá nhân" (two header cells) is, to a partial
    ratio, "họ và tên người nộp hồ sơ" ending on "Số": the longer fuzzy match would
    swallow the next cell's exact label, leaving "định danh cá nhân" as the name.
    """
    return any(
        fuzzy.start < hit.end
        and hit.start < fuzzy.end
        and not (fuzzy.start <= hit.start and hit.end <= fuzzy.end)
        for hit in exact
    )


# --------------------------------------------------------------------------- table cells


def same_row(a: Line, b: Line) -> bool:
    """Two lines side by side: their vertical extents overlap by half the smaller height."""
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap > 0.5 * min(a.y1 - a.y0, b.y1 - b.y0)


def cell_right(lines: Sequence[Line], line: Line) -> Line | None:
    """The next cell of ``line``'s row: the nearest line on the same row to its right."""
    right = [ln for ln in lines if ln is not line and same_row(ln, line) and ln.x0 >= line.x1 - 1]
    return min(right, key=lambda ln: ln.x0) if right else None


def word_span(line: Line, start: int, end: int) -> tuple[float, float]:
    """Left and right edge (page-width fractions) of the words over ``text[start:end]``."""
    edges = [x for (a, b), x in zip(line.spans, line.word_x, strict=False) if a < end and b > start]
    if not edges:
        return line.x0 / line.page_width, line.x1 / line.page_width
    return min(x0 for x0, _ in edges), max(x1 for _, x1 in edges)


def column_below(
    lines: Sequence[Line], line: Line, left: float, right: float
) -> tuple[Line, int, int] | None:
    """The first words under ``line`` whose centres lie between ``left`` and ``right``.

    Why: a table's header row names the columns and the row below holds the values, in
    one Tesseract line or in one line per cell; a label whose value is printed on the
    next line is the same case with one column. Returns the line and the character span
    of those words, or ``None`` when nothing sits below within three line heights.
    """
    height = max(1.0, line.y1 - line.y0)
    below = sorted(
        (ln for ln in lines if line.y1 - 0.3 * height < ln.y0 < line.y1 + 3.0 * height),
        key=lambda ln: ln.y0,
    )
    for candidate in below:
        if candidate is line or same_row(candidate, line):
            continue
        span = candidate.span_between(left, right)
        if span is not None:
            return candidate, *span
    return None
