"""Values after printed labels: on the label's line, in the next cell of a table row, or below.

Why its own module: the label rules are most of what field extraction does, and the
rest of :mod:`ocr.fields` (codes, layout rules, merging a record) does not need their
details. A value ends where the next known label starts — any document type's label,
since an office's form prints labels another office's form of the same type lacks — or
at a cell border (a wide gap between words). A label with nothing after it takes the
next cell of its row, else the words under it in its column (a table's header row, or a
value printed on the next line); :func:`label_finds` also says which words stood before
the value, so :mod:`ocr.persons` can tell whose value it is ("Họ, chữ đệm, tên người mẹ").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ocr.lexicon import repaired_email
from ocr.rules import (
    FieldRule,
    LabelHit,
    Line,
    cell_right,
    column_below,
    find_labels,
    same_row,
    word_span,
)
from ocr.validators import PATTERNS, VALIDATORS, Checked
from schemas.fields import FieldValue
from sohoa.dates import printed_day
from sohoa.textfold import fold

PATTERN_DISCOUNT = 0.9
"""A value found by its shape alone is less certain than one after its label."""
NO_COLON_DISCOUNT = 0.8
"""A label without its colon ("(Ký và ghi rõ họ tên)") is weaker evidence than "Họ tên: …"."""
SEPARATORS = " \t:;,.-–=()|_…"
_LIST_MARKER = re.compile(r"^\s*(\d{1,2}\s*[.)]|[-•+*]|dieu\s+\d|can cu\b|noi nhan\b)")
_ID_SHAPE = re.compile(r"(?<![\d])(\d(?:[ .]?\d){8,11})(?![\d])|(?<![A-Za-z])([A-Z]\d{7})(?!\d)")


def looks_like_heading(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def checked_value(rule: FieldRule, raw: str) -> Checked:
    """The validator's verdict; a date or an e-mail it rejects gets one more reading.

    A date whose digit groups OCR split ("ngày 0 5 tháng 1 1 năm 2026") or that hides
    behind a time ("08h00, 05/11/2 026") is read by :func:`sohoa.dates.printed_day`.

    OCR garbles the provider of an address ("gmaiïl.com") more than anything else
    in it; :func:`ocr.lexicon.repaired_email` restores a common provider only when
    exactly one is near, and the reading stays in ``raw``.
    """
    checked = VALIDATORS[rule.validator](raw)
    if not checked.ok and rule.validator == "date":
        day = printed_day(raw)
        return Checked(day.isoformat(), None) if day is not None else checked
    if not checked.ok and rule.validator == "email":
        repaired = repaired_email(raw)
        again = VALIDATORS["email"](repaired) if repaired is not None else checked
        return again if again.ok else checked
    return checked


def evidence(rule, line: Line, start: int, end: int, raw: str, score: float, method: str, page):
    """A candidate with its box and confidence from the words it was read from."""
    checked = checked_value(rule, raw)
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

CELL_GAP = 2.0
"""A gap between two words this many line heights wide is a cell border (or a tab stop)."""
BORDERS = ("|", "¦", "│")
"""What Tesseract reads a table's vertical rule as, when it reads it at all."""


@dataclass(frozen=True)
class LabelFind:
    """A value read after a label, with the words that introduced it."""

    value: FieldValue
    line: Line
    """The label's line (the value may lie in the next cell or below)."""
    zone: str
    """Folded words of the label up to its value, and any before the line's first label:
    "ho, chu dem, ten nguoi me", "me - ho va ten" say whose value it is."""
    rule: FieldRule


def label_candidates(
    lines: Sequence[Line], rule: FieldRule, stops, page: int, *, also: frozenset[str] = frozenset()
) -> list:
    """Every value ``rule``'s labels (and ``also``) introduce on the page."""
    return [find.value for find in label_finds(lines, rule, stops, page, also=also)]


def label_finds(
    lines: Sequence[Line], rule: FieldRule, stops, page: int, *, also: frozenset[str] = frozenset()
) -> list[LabelFind]:
    """:func:`label_candidates` with the label's line and words kept (see :class:`LabelFind`).

    ``also``: more labels that introduce the same field (another document type's wording).
    """
    out = []
    for line in lines:
        hits = find_labels(line.folded, stops)
        for n, hit in enumerate(hits):
            if hit.label not in rule.folded_labels and hit.label not in also:
                continue
            if _in_brackets(line.folded, hit):
                continue
            found = _read_after(lines, line, hits, n, rule, stops)
            if found is not None:
                (src, start, stop, raw), score, value_at = found
                value = evidence(rule, src, start, stop, raw, score, "label", page)
                opens = 0 if n == 0 else hit.start  # words before the line's first label
                out.append(LabelFind(value, line, line.folded[opens:value_at], rule))
    return out


def _read_after(lines, line: Line, hits, n: int, rule: FieldRule, stops):
    """``((line, start, end, raw), score, value_at)`` for the ``n``-th label of ``line``."""
    hit = hits[n]
    after = [h.start for h in hits[n + 1 :] if _ends_value(line, h)]
    end = after[0] if after else len(line.text)
    value_at = _past_label_cell(line, hit, _value_start(line.text, hit, end), end)
    colon = ":" in line.text[hit.start : value_at]  # a fuzzy match may take in the colon
    cell = _bare_label(line, hit, value_at)
    labelled = colon or rule.keep_label or cell
    if not labelled and looks_like_heading(line.text):
        return None  # a title or signature heading, not a label ("NGƯỜI NỘP HỒ SƠ")
    found = _value_after(lines, line, hit, end, value_at, labelled, rule, stops)
    if found is None and end == value_at and (colon or cell):
        found = _cell_value(lines, line, hits, n, rule, stops, last=end == len(line.text))
    if found is None or (not labelled and _sentence_not_value(rule, found[3])):
        return None
    return found, hit.score * (1.0 if labelled else NO_COLON_DISCOUNT), value_at


def _sentence_not_value(rule: FieldRule, raw: str) -> bool:
    """After a label in running text (no colon, no cell of its own), the rest of a sentence
    rather than a value: no digit after a date label, a lower-case word after a name label
    ("… đăng ký khai sinh trong Sổ …" is neither a birth date nor a person)."""
    if rule.validator == "date":
        return not any(c.isdigit() for c in raw)
    return rule.validator == "person_name" and raw.lstrip()[:1].islower()


def _in_brackets(folded: str, hit: LabelHit) -> bool:
    """A label inside brackets is an instruction to the signer: "(Ký và ghi rõ họ tên)"."""
    before = folded[: hit.start]
    return before.count("(") > before.count(")")


def _ends_value(line: Line, hit: LabelHit) -> bool:
    """A later label ends a value only as a real label: opening the line, followed by a colon
    or opening a cell ("Số 79, thôn …" inside an address is not the label "Số:")."""
    return (
        hit.start == 0
        or ":" in line.folded[hit.end : hit.end + 4]
        or line.folded[: hit.start].rstrip().endswith(BORDERS)
        or _gap_before(line, hit.start) >= CELL_GAP
    )


def _gap_before(line: Line, position: int) -> float:
    """The blank before the word at ``position``, in line heights (0 for the first word)."""
    for n, (start, _) in enumerate(line.spans):
        if start >= position:
            if n == 0:
                return 0.0
            blank = (line.word_x[n][0] - line.word_x[n - 1][1]) * line.page_width
            return blank / max(1.0, line.y1 - line.y0)
    return 0.0


def _bare_label(line: Line, hit: LabelHit, value_at: int) -> bool:
    """The label alone in its cell: nothing but a list number before it, and nothing after it
    but a cell border ("HỌ VÀ TÊN" in a table's header, "Họ và tên │ Nguyễn Văn An")."""
    before = line.folded[: hit.start].rstrip()
    alone_before = (
        not before.strip(SEPARATORS + "0123456789")
        or before.endswith(BORDERS)
        or _gap_before(line, hit.start) >= CELL_GAP
    )
    between = line.text[hit.end : value_at]
    if between.strip(SEPARATORS) or value_at >= len(line.text):
        return alone_before and not between.strip(SEPARATORS)
    border = any(c in BORDERS for c in between) or _gap_before(line, value_at) >= CELL_GAP
    return alone_before and border


def _value_after(lines, line: Line, hit: LabelHit, end: int, value_at: int, labelled, rule, stops):
    """The text a label introduces on its own line, cut to the value's shape:
    ``(line, start, end, raw)``; ``None`` when nothing follows the label there."""
    start = hit.start if rule.keep_label else value_at
    if rule.shape in CUT_SHAPES:  # the label is searched too: "Số: 12/QĐ-UBND" needs its "Số"
        found = shape_span(rule.shape, line.text[hit.start : end])
        if found is not None:
            a, b = found[0] + hit.start, found[1] + hit.start
            return line, a, b, line.text[a:b].strip()
    raw = line.text[start:end].strip()
    if not raw.strip(SEPARATORS):
        return None
    raw = (raw + _continuation(lines, line, rule, stops, (start, end))).strip(SEPARATORS)
    if rule.shape in CUT_SHAPES and not labelled:
        return None  # a label-like word without a colon and no value of the right shape
    return (line, start, end, raw) if raw else None


def _cell_value(lines, line: Line, hits, n: int, rule: FieldRule, stops, *, last: bool):
    """The value of a label with nothing after it: the next cell of its row (when the label
    ends its line), else the words under it in its column. Never a label, nor an instruction
    in brackets."""
    right = cell_right(lines, line) if last else None
    if right is not None and not _opens_value(right, 0, stops):
        right = None
    if right is not None:
        cut = [h.start for h in find_labels(right.folded, stops) if _ends_value(right, h)]
        found = (right, 0, cut[0] if cut else len(right.text))
    else:
        left, edge = _column(lines, line, hits, n)
        found = column_below(lines, line, left, edge)
        if found is None or not _opens_value(found[0], found[1], stops):
            return None
    src, start, end = found
    if rule.shape in CUT_SHAPES:
        span = shape_span(rule.shape, src.text[start:end])
        if span is None:
            return None
        return src, start + span[0], start + span[1], src.text[start + span[0] : start + span[1]]
    raw = src.text[start:end].strip()
    if rule.continuation and end == len(src.text):
        raw += _continuation(lines, src, rule, stops, (start, end))
    raw = raw.strip(SEPARATORS)
    return (src, start, end, raw) if raw else None


def _opens_value(line: Line, start: int, stops) -> bool:
    """Text at ``start`` of ``line`` can be a value: no label opens it, no bracket or dots."""
    text = line.text[start:].lstrip()
    if not text or text[0] in "(…":
        return False
    offset = len(line.text) - len(text)  # folded text is aligned with the text
    return not any(offset <= h.start <= offset + 2 for h in find_labels(line.folded, stops))


def _column(lines, line: Line, hits, n: int) -> tuple[float, float]:
    """Left and right bound (page-width fractions) of the ``n``-th label's table column:
    halfway to the neighbouring labels or cells of its row, else the page's edges."""
    hit = hits[n]
    x0, x1 = word_span(line, hits[n].start, hit.end)
    left, right = 0.0, 1.0
    if n > 0:
        left = (word_span(line, hits[n - 1].start, hits[n - 1].end)[1] + x0) / 2
    if n + 1 < len(hits) and _ends_value(line, hits[n + 1]):
        right = (x1 + word_span(line, hits[n + 1].start, hits[n + 1].end)[0]) / 2
    width = line.page_width
    for other in lines:
        if other is line or not same_row(other, line):
            continue
        if other.x1 / width <= x0 and n == 0:
            left = max(left, (other.x1 / width + x0) / 2)
        elif other.x0 / width >= x1 and right == 1.0:
            right = min(right, (x1 + other.x0 / width) / 2)
    return left, right


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
    while position < end and text[position] in SEPARATORS:
        position += 1
    return position


LABEL_CELL_MAX = 40
"""Characters a label cell may hold beyond the label itself ("Thủ tục hành chính")."""


def _past_label_cell(line: Line, hit: LabelHit, value_at: int, end: int) -> int:
    """Where the value starts when the label opens a table cell: past the cell's border.

    "Thủ tục hành chính │ Đăng ký …" matches the label "thủ tục"; the words up to the
    border still belong to the label's cell, as the words up to a colon do
    (:func:`_value_start`). Only for a label opening the line, with no colon after it
    and a few lower-case words, no digits, before the border: a value starts in capitals
    or digits ("Nguyễn Văn An", "Số 12"), and a colon ends a label.
    """
    if hit.start > 3 or value_at >= end or _border_at(line, hit.end, value_at + 1) is not None:
        return value_at  # the label's cell already ended: what follows is the value
    border = _border_at(line, value_at, end)
    if border is None:
        return value_at
    between = line.text[value_at:border].strip()
    if not between[:1].islower() or len(between) > LABEL_CELL_MAX:
        return value_at  # a value ("Nguyễn Văn An", "Số 12"), not the rest of a label
    if ":" in line.text[hit.end : value_at] or any(c.isdigit() for c in between):
        return value_at
    position = border
    while position < end and (line.text[position] in SEPARATORS or line.text[position] in BORDERS):
        position += 1
    return position


def _border_at(line: Line, start: int, end: int) -> int | None:
    """The first cell border in ``line.text[start:end]``: a rule read as "│", or the start of
    a word after a gap of :data:`CELL_GAP` line heights."""
    for a, _ in line.spans:
        if a <= start or a >= end:
            continue
        if _gap_before(line, a) >= CELL_GAP:
            bar = next((i for i in range(start, a) if line.text[i] in BORDERS), None)
            return bar if bar is not None else a
    bar = next((i for i in range(start, end) if line.text[i] in BORDERS), None)
    return bar


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


def _continuation(lines: Sequence[Line], line: Line, rule: FieldRule, stops, span) -> str:
    """Following lines that carry on a wrapped value (address, trích yếu, procedure name).

    A line continues the value when it follows closely, starts no new label, list
    item or heading, and either starts in lower case or starts at the left edge of
    the value's line (a wrapped line) while the value so far has no final full stop.
    When another cell follows the value on its row (``span``: the value's characters on
    ``line``), the value wraps inside its own cell: only the words of later lines within
    that column carry it on, not the neighbouring cells' ("Mã thủ tục │ 1.004…").
    """
    column = _value_column(lines, line, *span)
    parts: list[str] = []
    prev = line
    for _ in range(rule.continuation):
        nxt = _line_below(lines, prev)
        if nxt is None:
            break
        text = nxt.text if column is None else _words_within(nxt, *column)
        if not text or _LIST_MARKER.match(fold(text)):
            break
        if any(_ends_value(nxt, h) for h in find_labels(nxt.folded, stops) if _by(nxt, h, text)):
            break  # a new row: its label in the label's column, or in the value's
        if looks_like_heading(text):
            break
        aligned = column is not None or abs(nxt.x0 - line.x0) < 0.03 * line.page_width
        if not (text[:1].islower() or ((aligned or rule.keep_label) and not _full_stop(prev))):
            break
        parts.append(text.strip())
        prev = nxt
    return "".join(f" {p}" for p in parts)


def _full_stop(line: Line) -> bool:
    return line.text.rstrip().endswith(".")


def _value_column(lines, line: Line, start: int, end: int) -> tuple[float, float] | None:
    """Left and right bound (page-width fractions) of a value's table cell, when another
    cell follows it on its row (words after ``end`` past a border, or a line to its right);
    ``None`` when the value runs to the end of its row (running text wraps to the margin)."""
    left = word_span(line, start, end)[0] - 0.01
    after = [x0 for (a, _), (x0, _) in zip(line.spans, line.word_x, strict=False) if a >= end]
    right = cell_right(lines, line)
    edges = after[:1] + ([right.x0 / right.page_width] if right is not None else [])
    return (left, min(edges)) if edges else None


def _words_within(line: Line, left: float, right: float) -> str:
    """The words of ``line`` whose centres lie between ``left`` and ``right``."""
    span = line.span_between(left, right)
    return "" if span is None else line.text[span[0] : span[1]]


def _by(line: Line, hit: LabelHit, text: str) -> bool:
    """The label ``hit`` starts before the end of ``text``, the part of ``line`` the value
    may take: in a cell left of the value's column, or in it (not in a cell to its right)."""
    return hit.start < line.text.find(text) + len(text)


# --------------------------------------------------------------------------- shapes


def _shape_pattern(shape: str) -> re.Pattern[str]:
    return PATTERNS.get(shape) or _ID_SHAPE if shape == "id_number" else PATTERNS[shape]


CUT_SHAPES = {"dossier_code", "procedure_code", "id_number", "phone", "email", "document_number"}


def _value_span(match: re.Match[str], shape: str) -> tuple[int, int]:
    """Where the value is in a shape match: group 1 when the pattern has one (``Số: 12/QĐ``)."""
    group = 1 if match.re.groups and shape != "date_line" and match.group(1) else 0
    return match.start(group), match.end(group)


def shape_span(shape: str, text: str) -> tuple[int, int] | None:
    match = _shape_pattern(shape).search(text)
    return None if match is None else _value_span(match, shape)


def pattern_candidates(lines: Sequence[Line], rule: FieldRule, _stops, page: int) -> list:
    """Values recognised by their own shape anywhere on the page."""
    shape = rule.shape or ""
    out = []
    for line in lines:
        for match in _shape_pattern(shape).finditer(line.text):
            start, end = _value_span(match, shape)
            raw = line.text[start:end].strip()
            score = 100 * PATTERN_DISCOUNT
            out.append(evidence(rule, line, start, end, raw, score, "pattern", page))
    return out


# --------------------------------------------------------------------------- wrapped label cells

WRAP_LINES = 3
"""Lines a table's label cell may wrap over ("Tổ chức, cá │ nhân nộp hồ │ sơ")."""


def wrapped_label_cells(lines: Sequence[Line], stops) -> list[Line]:
    """``lines`` with a line added after each table row whose label cell wraps: the label's
    words from the lines below (in its column only), then its value cell.

    Why: in a narrow column "Tên tổ chức, cá nhân nộp hồ sơ" is printed over three lines,
    and Tesseract reads the rows across the table ("Tổ chức,cá │ Nguyễn Mỹ Ngọc Linh",
    "nhân nộp hồ", "sơ"): no line holds the label, so the value beside it was lost. A
    cell joins the words below it only while it is no label yet, and only when a
    neighbouring cell bounds its column (running text is left as it is).
    """
    out: list[Line] = []
    for line in lines:
        out.append(line)
        cells = _cells(line)
        for n in range(len(cells)):
            right = _cell_right_edge(lines, line, cells, n)
            joined = _joined_label(lines, line, cells[n], right, stops) if right else None
            if joined is not None:
                beside = n + 1 < len(cells) and word_span(line, *cells[n + 1])[0] <= right
                out.append(_label_cell_line(line, joined, cells[n + 1] if beside else None))
    return out


def _cells(line: Line) -> list[tuple[int, int]]:
    """The character spans of ``line``'s cells, split at borders (a "│" or a wide gap)."""
    cuts, start = [], 0
    while (border := _border_at(line, start, len(line.text))) is not None:
        cuts.append((start, border))
        start = border + 1 if line.text[border] in BORDERS else border
    cuts.append((start, len(line.text)))
    return [(a, b) for a, b in cuts if line.text[a:b].strip(SEPARATORS + "".join(BORDERS))]


def _label_length(folded: str, stops) -> int:
    """The length of ``folded`` when it is one label and nothing more (a cell holding only
    its label), else 0."""
    text = folded.strip(SEPARATORS + "".join(BORDERS))
    hits = find_labels(text, stops)
    return len(text) if any(h.start <= 1 and h.end >= len(text) - 1 for h in hits) else 0


def _joined_label(lines, line: Line, cell, right: float, stops) -> list | None:
    """The pieces ``(line, start, end)`` of the label ``cell`` opens, when the words under it
    in its column (up to ``right``) complete one, longer than any the cell holds alone;
    ``None`` otherwise."""
    a, b = cell
    left = word_span(line, a, b)[0] - 0.01
    text, prev = line.folded[a:b].strip(SEPARATORS), line
    pieces, alone = [(line, a, b)], _label_length(text, stops)
    for _ in range(WRAP_LINES - 1):
        nxt = _line_below(lines, prev)
        if nxt is None:
            return None
        span = nxt.span_between(left, right)
        if span is None:
            return None
        start, end = span
        pieces.append((nxt, start, end))
        text = f"{text} {nxt.folded[start:end]}"
        if _label_length(text, stops) > alone:
            return pieces
        prev = nxt
    return None


def _cell_right_edge(lines, line: Line, cells, n: int) -> float | None:
    """Where the ``n``-th cell's column ends: the next cell of the line, or a line on the
    same row that starts right of the cell (before that next cell); ``None`` when nothing
    bounds it."""
    a, b = cells[n]
    cell_x1 = word_span(line, a, b)[1]
    edges = [word_span(line, *cells[n + 1])[0]] if n + 1 < len(cells) else []
    edges += [
        other.x0 / other.page_width
        for other in lines
        if other is not line and same_row(other, line) and other.x0 / other.page_width >= cell_x1
    ]
    return min(edges) if edges else None


def _label_cell_line(line: Line, pieces, value: tuple[int, int] | None) -> Line:
    """A line holding the joined label, a "|", and the value cell of ``line`` (if any)."""
    parts = [placed for src, start, end in pieces for placed in src.placed_in(start, end)]
    label_count = len(parts)
    if value is not None:
        parts += line.placed_in(*value)
    text, spans = "", []
    for k, (word, _) in enumerate(parts):
        if k == label_count:
            text += " | "
        elif k:
            text += " "
        spans.append((len(text), len(text) + len(word.text)))
        text += word.text
    return replace(
        line,
        x1=max(x1 for _, (_, x1) in parts) * line.page_width,
        text=text,
        folded=fold(text),
        words=tuple(w for w, _ in parts),
        spans=tuple(spans),
        word_x=tuple(x for _, x in parts),
    )
