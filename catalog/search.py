"""Catalog search: one box for words, names, ID numbers and dossier codes, plus filters.

Why not FTS5's bm25 any more: bm25 scores *every* match before the first page
can be shown, and computes each word's IDF by walking that word's whole posting
list. On a million records a common word ("giấy", "đăng ký") took 2 s and a
full name 0.4 s (``bench/search.py``). Here every step reads postings newest
first and stops early, so a page costs about the same on 1,000 or 1,000,000
records:

* Every record has one integer *search key* (``records.fts_rowid``, see
  :func:`sort_key`) that orders records by ngày tiếp nhận; it is the rowid of
  the record's rows in both FTS5 tables. "Newest first" is ``ORDER BY rowid
  DESC``, which FTS5 walks lazily, and a date range is a rowid range.
* Relevance is a tier, then newest first inside the tier: 0 the dossier code,
  ID number or applicant's full name equals the query, or the full name or ID
  number of anyone the record names, whatever their role (B-tree lookups on
  ``records`` and ``record_persons``, so a code or an ID typed with or without
  spaces and dots is found first; inside the tier a code beats an ID number, which
  beats a name); 1 every word is in the record's key fields (``keys_fts``: code,
  applicant, ID, procedure, lĩnh vực, phone, everyone's names and ID numbers ...
  so "dang" lists people named Đặng before the thousands of texts saying "đăng
  ký"); 2 every word is in the OCR text (``records_fts``). Each hit names the
  people the query matched, with their role
  (:func:`~catalog.search_index.matched_people`).
* Filters on unit, kind, status, procedure and lĩnh vực are tokens in a
  ``tags`` column of both FTS5 tables, so FTS5 intersects posting lists instead
  of checking each match against the records table.
* A search ranks at most ``cap`` (:data:`RESULT_CAP`) records: ``total`` is
  exact below it and reads "1000+" from it on, and pages stop there.
* Tiers 1 and 2 are counted within a time budget each
  (:data:`TEXT_COUNT_BUDGET_S`): once the page asked for is full and the budget
  is spent, SQLite is interrupted between rows and ``total`` becomes a lower
  bound ("at least 425"); the next page reads further. Why: a full name's
  syllables ("huynh", "ngoc", "trong") are each in most texts and many names,
  and counting the few hundred records that hold all four meant walking their
  whole posting lists — the slowest search class at a million records
  (``bench/search.py``). A small catalog is counted to the end, as before;
  exact matches (tier 0) always are. An empty
  query lists the filtered records newest first, every page reachable, through
  the same ``tags`` (or the key index alone for dates), counted up to ``cap``.

The last word is completed as a prefix (type-ahead for codes and IDs) only in
the key fields and only when no key field holds it as a whole word: "tran"
finds Trần, not Trang; "h21.65-2209" still finds ``H21.65-220914-0011``.

On PostgreSQL the same words are ``tsvector`` columns of one table
(:data:`~catalog.search_index.WORDS_TABLE`): tier 1 matches its ``keys``, tier 2 its
``body``, each with the tags, as a ``tsquery`` built here (phrases with ``<->``, prefixes
with ``:*``), read newest first from a server-side cursor that stops, like SQLite's
progress handler, once the page is full and the budget spent.

Without a word index (``fulltext=False``) tiers 1 and 2 become one ``ILIKE`` over
``records.folded``; filters and order are the same SQL columns.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select, text
from sqlalchemy.orm import Session

from catalog.rows import SearchHit
from catalog.search_index import (
    WORDS_TABLE,
    day_range,
    matched_people,
    on_postgres,
    tag,
    words,
)
from catalog.tables import RecordPersonTable, RecordTable
from sohoa.textfold import Term, query_terms, snippet

__all__ = ["RESULT_CAP", "SearchFilters", "SearchPage", "find"]

RESULT_CAP = 1000
"""Most records one text search ranks and counts; more reads as "1000+"."""

TEXT_COUNT_BUDGET_S = 0.005
"""How long tiers 1 and 2 may each go on counting once the page asked for is full."""

_PROGRESS_STEPS = 1000
"""SQLite virtual-machine steps between two looks at the clock while counting."""

_PG_BATCH = 100
"""Keys fetched per round trip from PostgreSQL while counting (the clock is read between)."""


# --- what a search returns ------------------------------------------------------------------


@dataclass(frozen=True)
class SearchFilters:
    """What a search is narrowed to; every filter given must hold (AND).

    ``unit`` takes one code or several (any of them). ``procedure_code`` matches a
    record's mã TTHC or a prefix of it of two or more whole dot-groups, so
    ``1.004616`` finds ``1.004616.000.00.00.H56`` (``1.0046`` and ``1`` do not). ``sector`` (lĩnh vực) is compared folded,
    so "ho tich" matches "Hộ tịch". ``date_from``/``date_to`` bound ngày tiếp nhận
    (:attr:`RecordTable.received_on`), both days included.
    """

    unit: str | Sequence[str] | None = None
    kind: str | None = None
    status: str | None = None
    procedure_code: str | None = None
    sector: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def units(self) -> tuple[str, ...]:
        """The unit filter as a tuple (empty: any unit)."""
        if self.unit is None:
            return ()
        units = (self.unit,) if isinstance(self.unit, str) else tuple(self.unit)
        return tuple(u.strip() for u in units if u and u.strip())

    def tag_groups(self) -> list[list[str]]:
        """The FTS5 ``tags`` tokens: one group per filter, any token of a group may match."""
        groups = [[tag("u", u) for u in self.units]] if self.units else []
        singles = (("k", self.kind), ("s", self.status), ("p", self.procedure_code))
        groups += [[tag(kind, v.strip())] for kind, v in singles if v and v.strip()]
        if self.sector and words(self.sector):
            groups.append([tag("l", words(self.sector))])
        return groups


@dataclass(frozen=True)
class SearchPage:
    """One page of results and how many records match in all."""

    hits: tuple[SearchHit, ...]
    """The page, best first."""
    total: int
    """Matching records; a lower bound when ``total_is_exact`` is False."""
    total_is_exact: bool
    """False when the search stopped counting at its cap (:data:`RESULT_CAP`): show
    ``f"{total}+"``."""
    limit: int
    offset: int

    @property
    def has_more(self) -> bool:
        """True when a next page exists."""
        return self.offset + len(self.hits) < self.total


@dataclass(frozen=True)
class _Parsed:
    """A user query, folded: its terms, letters-and-digits form and words form."""

    terms: list[Term]
    compact: str
    words: str
    has_digit: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "has_digit", any(c.isdigit() for c in self.compact))


def _parse(query: str) -> _Parsed:
    terms = query_terms(query)
    parts = [p for t in terms for p in t.parts]
    return _Parsed(terms, "".join(parts), " ".join(parts))


# --- SQL pieces -------------------------------------------------------------------------------


def _sql_filters(filters: SearchFilters, *, driving: bool) -> list[ColumnElement[bool]]:
    """Filter conditions on ``records``; with ``driving`` the most selective one may use its index.

    Why the ``|| ''``: without statistics SQLite cannot tell that a unit is rarer
    than a kind and may walk the wrong index; a concatenated column cannot use an
    index, so only the first (most selective) filter can drive the query.
    """
    r = RecordTable
    conditions: list[ColumnElement[bool]] = []
    used = not driving

    def column(col: Any) -> Any:
        nonlocal used
        if used:
            return col.concat("")
        used = True
        return col

    if filters.units:
        conditions.append(column(r.unit).in_(filters.units))
    if filters.procedure_code and filters.procedure_code.strip():
        code = filters.procedure_code.strip()
        col = column(r.procedure_code)
        longer = and_(col >= code + ".", col < code + "/")  # "code." and more groups
        conditions.append(or_(col == code, longer) if "." in code else col == code)
    if filters.sector and words(filters.sector):
        conditions.append(column(r.sector) == words(filters.sector))
    for col, value in ((r.status, filters.status), (r.kind, filters.kind)):
        if value and value.strip():
            conditions.append(column(col) == value.strip())
    low, high = day_range(filters.date_from, filters.date_to)
    if low is not None:
        conditions.append(r.fts_rowid >= low)
    if high is not None:
        conditions.append(r.fts_rowid < high)
    return conditions


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _match(columns: str, terms: list[Term], parsed: _Parsed, tags: list[list[str]]) -> str:
    """An FTS5 expression: every term in ``columns``, the compact form as an alternative."""
    every = " AND ".join(_quote(" ".join(t.parts)) + ("*" if t.prefix else "") for t in terms)
    expression = f"{columns} : ({every})"
    split = len(parsed.terms) > 1 or len(parsed.terms[0].parts) > 1
    if split and parsed.has_digit and len(parsed.compact) >= 6:  # an ID typed with spaces
        expression = f"({expression} OR {columns} : ({_quote(parsed.compact)}))"
    return " AND ".join([expression, *(_tags(group) for group in tags)])


def _tags(group: list[str]) -> str:
    """An FTS5 expression: any of ``group`` in the ``tags`` column."""
    return "tags : (" + " OR ".join(_quote(t) for t in group) + ")"


def _newest_first(table: str, expression: str, filters: SearchFilters) -> tuple[str, list[Any]]:
    """The SQL of the keys matching ``expression`` in the filters' dates, newest first
    (its last parameter, the ``LIMIT``, left to the caller)."""
    sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ?"
    params: list[Any] = [expression]
    low, high = day_range(filters.date_from, filters.date_to)
    if low is not None:
        sql, params = sql + " AND rowid >= ?", [*params, low]
    if high is not None:
        sql, params = sql + " AND rowid < ?", [*params, high]
    return sql + " ORDER BY rowid DESC LIMIT ?", params


def _fts_keys(
    session: Session,
    table: str,
    expression: str,
    filters: SearchFilters,
    limit: int,
    offset: int = 0,
    *,
    count: bool = False,
) -> list[int]:
    """Search keys matching ``expression`` in ``table``, newest first (or ``[their count]``).

    Read through the DB-API cursor: up to ``cap`` bare integers per tier, where
    SQLAlchemy's per-row result processing cost more than SQLite's own work.
    """
    sql, params = _newest_first(table, expression, filters)
    sql += " OFFSET ?"
    if count:
        sql = f"SELECT count(*) FROM ({sql})"
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(sql, [*params, limit, offset])
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def _fts_keys_within(
    session: Session,
    table: str,
    expression: str,
    filters: SearchFilters,
    cap: int,
    *,
    needed: int,
    budget_s: float | None = None,
) -> tuple[list[int], bool]:
    """:func:`_fts_keys`, interrupted once ``needed`` keys are read and the budget is spent.

    Returns the keys read (newest first) and whether they are all there are (up to
    ``cap``). SQLite checks the progress handler between rows, so the keys read
    before the interruption are kept.
    """
    clock = _CountingClock(needed, TEXT_COUNT_BUDGET_S if budget_s is None else budget_s)
    keys: list[int] = []
    sql, params = _newest_first(table, expression, filters)
    raw = session.connection().connection.driver_connection
    raw.set_progress_handler(lambda: clock.spent(len(keys)), _PROGRESS_STEPS)
    cursor = raw.cursor()
    try:
        for (key,) in cursor.execute(sql, [*params, cap]):
            keys.append(key)
    except sqlite3.OperationalError as exc:
        if not _interrupted(exc):
            raise
        return keys, False
    finally:
        cursor.close()
        raw.set_progress_handler(None, 0)
    return keys, len(keys) < cap


class _CountingClock:
    """The counting budget, started when the page asked for is full, not before.

    Started with the query, a query slow to begin (a loaded machine, a cold cache)
    spent the budget before counting began, and five hits read as "3+".
    """

    def __init__(self, needed: int, budget_s: float) -> None:
        self._needed = needed
        self._budget_s = budget_s
        self._deadline: float | None = None

    def spent(self, read: int) -> bool:
        """True once ``read`` keys fill the page and the budget since then is spent."""
        if read <= self._needed:
            return False
        now = time.perf_counter()
        if self._deadline is None:
            self._deadline = now + self._budget_s
        return now >= self._deadline


def _interrupted(exc: sqlite3.OperationalError) -> bool:
    """True when SQLite stopped the statement because the progress handler said so.

    Matched on SQLite's result code, never on the message text (which may change
    between SQLite versions): any other failure is a real one and is raised.
    """
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT


def _is_key_word(session: Session, word: str) -> bool:
    """True when some record's key fields hold ``word`` as a whole word."""
    if on_postgres(session):
        sql = f"SELECT 1 FROM {WORDS_TABLE} WHERE keys @@ CAST(:q AS tsquery) LIMIT 1"
        return session.execute(text(sql), {"q": _lexeme(word)}).first() is not None
    found = session.execute(
        text("SELECT 1 FROM keys_fts WHERE keys_fts MATCH :q LIMIT 1"),
        {"q": f"keys : {_quote(word)}"},
    )
    return found.first() is not None


def _key_terms(session: Session, parsed: _Parsed) -> list[Term]:
    """The terms for the key fields: the last one a prefix only when it is not a whole word."""
    last = parsed.terms[-1]
    tail = last.parts[-1]
    wanted = len(tail) >= (4 if tail.isdigit() else 3)
    prefix = wanted and not _is_key_word(session, tail)
    return [*parsed.terms[:-1], Term(last.parts, prefix=prefix)]


# --- tiers ------------------------------------------------------------------------------------


def _exact_tier(session: Session, parsed: _Parsed, filters: SearchFilters, cap: int) -> list[int]:
    """Tier 0: dossier code, then ID number, then name equal to the query (the applicant's
    columns on ``records``, or anyone's in ``record_persons``, whatever their role)."""
    r, p = RecordTable, RecordPersonTable
    matches = [(r.code_key == parsed.compact, 0)] if parsed.compact else []
    if parsed.has_digit and parsed.compact:
        matches.append((r.id_number == parsed.compact, 1))
        people = select(p.record_id).where(p.id_number == parsed.compact)
        matches.append((r.id.in_(people), 1))
    if not parsed.has_digit and " " in parsed.words:
        matches.append((r.name_key == parsed.words, 2))
        people = select(p.record_id).where(p.name_key == parsed.words)
        matches.append((r.id.in_(people), 2))
    if not matches:
        return []
    which = case(*matches, else_=3)
    query = (
        select(r.fts_rowid)
        .where(or_(*(condition for condition, _ in matches)))
        .where(*_sql_filters(filters, driving=False))
        .order_by(which, r.fts_rowid.desc())
        .limit(cap)
    )
    return [key for key in session.scalars(query) if key is not None]


def _like_tier(session: Session, parsed: _Parsed, filters: SearchFilters, cap: int) -> list[int]:
    """Without FTS5: every term's parts, in order, somewhere in the folded text."""
    patterns = ["%" + "%".join(term.parts) + "%" for term in parsed.terms]
    query = (
        select(RecordTable.fts_rowid)
        .where(and_(*(RecordTable.folded.ilike(p) for p in patterns)))
        .where(*_sql_filters(filters, driving=True))
        .order_by(RecordTable.fts_rowid.desc())
        .limit(cap)
    )
    return [key for key in session.scalars(query) if key is not None]


def _ranked(
    session: Session,
    parsed: _Parsed,
    filters: SearchFilters,
    *,
    cap: int,
    fulltext: bool,
    needed: int,
) -> tuple[dict[int, int], bool, list[Term]]:
    """Every matching key (at most ``cap``) mapped to its tier, in result order.

    Returns the ordered mapping, whether it is complete (no tier hit its limit) and
    the terms as matched (the last one a prefix or not), for the snippets. A tier
    is skipped once the ones before it hold ``cap`` keys: nothing after is shown.
    ``needed`` is the offset plus the page size: past that many keys, tiers 1 and
    2 stop counting when their time budget is spent.
    """
    ranked: dict[int, int] = {}
    complete = True

    def add(tier: int, keys: list[int]) -> None:
        nonlocal complete
        for key in keys:
            ranked.setdefault(key, tier)
        complete = complete and len(keys) < cap

    add(0, _exact_tier(session, parsed, filters, cap))
    matched = parsed.terms
    if fulltext:
        matched = _key_terms(session, parsed)
        whole = [Term(t.parts) for t in parsed.terms]  # words of the text are never completed
        for tier, (where, terms) in enumerate((("keys", matched), ("body", whole)), start=1):
            if len(ranked) >= cap:  # the tiers before already fill every page there is
                break
            keys, counted = _word_tier(session, where, terms, parsed, filters, cap, needed)
            add(tier, keys)
            complete = complete and counted
    elif len(ranked) < cap:
        add(2, _like_tier(session, parsed, filters, cap))
    return ranked, complete, matched


def _word_tier(
    session: Session,
    where: str,
    terms: list[Term],
    parsed: _Parsed,
    filters: SearchFilters,
    cap: int,
    needed: int,
) -> tuple[list[int], bool]:
    """Tier 1 (``where`` is ``keys``) or 2 (``body``): keys of records holding every term,
    newest first, and whether they are all (see :func:`_fts_keys_within`)."""
    tags = filters.tag_groups()
    if on_postgres(session):
        query = _tsquery(terms, parsed, tags)
        return _pg_keys_within(session, where, query, filters, cap, needed=needed)
    table, columns = (
        ("keys_fts", "keys") if where == "keys" else ("records_fts", "{dossier_code body}")
    )
    expression = _match(columns, terms, parsed, tags)
    return _fts_keys_within(session, table, expression, filters, cap, needed=needed)


# --- PostgreSQL: the same words in tsvectors (catalog.search_index.WORDS_TABLE) -------------


def _lexeme(word: str) -> str:
    """One word as a ``tsquery`` lexeme (quoted; words are letters and digits already)."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(terms: list[Term], parsed: _Parsed, tags: list[list[str]]) -> str:
    """The ``tsquery`` of :func:`_match`: each term a phrase of its parts (``<->``), the last
    part completed (``:*``) for a prefix term; all terms; the compact form as an
    alternative for an ID typed in groups; one of each tag group."""
    phrases = []
    for term in terms:
        parts = [_lexeme(p) for p in term.parts]
        if term.prefix:
            parts[-1] += ":*"
        phrases.append("(" + " <-> ".join(parts) + ")")
    expression = "(" + " & ".join(phrases) + ")"
    split = len(parsed.terms) > 1 or len(parsed.terms[0].parts) > 1
    if split and parsed.has_digit and len(parsed.compact) >= 6:
        expression = f"({expression} | {_lexeme(parsed.compact)})"
    groups = ["(" + " | ".join(_lexeme(t) for t in group) + ")" for group in tags]
    return " & ".join([expression, *groups])


def _pg_newest_first(
    where: str, query: str, filters: SearchFilters, *, ordered: bool = True
) -> tuple[str, dict]:
    """:func:`_newest_first` on :data:`WORDS_TABLE` (the ``LIMIT`` left to the caller)."""
    sql = f"SELECT key FROM {WORDS_TABLE} WHERE {where} @@ CAST(:q AS tsquery)"
    params: dict[str, Any] = {"q": query}
    low, high = day_range(filters.date_from, filters.date_to)
    if low is not None:
        sql, params = sql + " AND key >= :low", {**params, "low": low}
    if high is not None:
        sql, params = sql + " AND key < :high", {**params, "high": high}
    return (sql + " ORDER BY key DESC" if ordered else sql), params


def _pg_keys(
    session: Session, query: str, filters: SearchFilters, limit: int, offset: int = 0
) -> list[int]:
    """Keys whose key fields match ``query``, newest first: a page of a filtered browse."""
    sql, params = _pg_newest_first("keys", query, filters)
    rows = session.execute(text(sql + " LIMIT :n OFFSET :o"), {**params, "n": limit, "o": offset})
    return [key for (key,) in rows]


def _pg_count(session: Session, query: str, filters: SearchFilters, cap: int) -> int:
    """Matches of ``query`` in the key fields, counted up to ``cap``, in no order: ordered,
    PostgreSQL walked the key index reading 48,000-137,000 rows to count 1,000 (browse p95
    27-91 ms at a million records); unordered, it counts from the GIN index (12-14 ms)."""
    sql, params = _pg_newest_first("keys", query, filters, ordered=False)
    counted = f"SELECT count(*) FROM ({sql} LIMIT :n) AS found"
    return int(session.scalar(text(counted), {**params, "n": cap}) or 0)


def _pg_keys_within(
    session: Session,
    where: str,
    query: str,
    filters: SearchFilters,
    cap: int,
    *,
    needed: int,
) -> tuple[list[int], bool]:
    """:func:`_fts_keys_within` on PostgreSQL: rows streamed from a server-side cursor,
    reading stopped between batches once ``needed`` keys are read and the budget spent.

    The cursor is planned for its whole result (``cursor_tuple_fraction = 1``): by default
    PostgreSQL plans a cursor for its first 10 % of rows, so "newest first, at most 1000"
    for a rare word (an ID number) walked the key index backwards through every record,
    checking each text, instead of asking the GIN index: 3.7 s warm and 103 s cold at a
    million records, against 0.4 ms (``bench/search.py``). Planned whole, a common word
    still walks the key index (its thousand newest come quickly) and a rare one uses GIN.
    """
    clock = _CountingClock(needed, TEXT_COUNT_BUDGET_S)
    sql, params = _pg_newest_first(where, query, filters)
    session.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    result = session.execute(
        text(sql + " LIMIT :n").execution_options(stream_results=True, yield_per=_PG_BATCH),
        {**params, "n": cap},
    )
    keys: list[int] = []
    asked = needed + 1  # the page asked for (and one to see more)
    try:
        batch = result.fetchmany(asked)
        while batch:
            keys += [key for (key,) in batch]
            if len(batch) < asked or len(keys) >= cap:
                break  # every key is read (up to the cap)
            if clock.spent(len(keys)):
                return keys, False
            asked = _PG_BATCH
            batch = result.fetchmany(asked)
    finally:
        result.close()
    return keys, len(keys) < cap


def _browse(
    session: Session, filters: SearchFilters, *, limit: int, offset: int, cap: int, fulltext: bool
) -> tuple[list[int], int, bool]:
    """No words: the filtered records newest first.

    With FTS5, filters other than dates are the ``tags`` of the small ``keys_fts``
    table, so neither the page nor the count reads a records row (checking a kind
    or status on each row of a unit read scattered pages of a multi-GB table).
    Otherwise, and for dates alone, the records table's indexes serve.
    """
    groups = filters.tag_groups()
    if fulltext and groups and on_postgres(session):
        query = " & ".join("(" + " | ".join(_lexeme(t) for t in g) + ")" for g in groups)
        total = _pg_count(session, query, filters, cap)
        return _pg_keys(session, query, filters, limit, offset), total, total < cap
    if fulltext and groups:
        expression = " AND ".join(_tags(group) for group in groups)
        keys = _fts_keys(session, "keys_fts", expression, filters, limit, offset)
        total = _fts_keys(session, "keys_fts", expression, filters, cap, count=True)[0]
        return keys, total, total < cap
    conditions = _sql_filters(filters, driving=True)
    keys = session.scalars(
        select(RecordTable.fts_rowid)
        .where(*conditions)
        .order_by(RecordTable.fts_rowid.desc())
        .limit(limit)
        .offset(offset)
    )
    counted = select(literal(1)).select_from(RecordTable).where(*conditions).limit(cap)
    total = int(session.scalar(select(func.count()).select_from(counted.subquery())) or 0)
    return [k for k in keys if k is not None], total, total < cap


# --- the search -------------------------------------------------------------------------------


def find(
    session: Session,
    query: str,
    filters: SearchFilters,
    *,
    limit: int,
    offset: int,
    cap: int = RESULT_CAP,
    fulltext: bool,
) -> SearchPage:
    """Run one search inside ``session`` (see the module docstring for the rules).

    Args:
        session: a read session of the catalog.
        query: words, a name, an ID number or a dossier code; empty to browse.
        filters: what to narrow to.
        limit: hits per page (0 or less: no hits, total only).
        offset: hits to skip; a text search stops at ``cap``.
        cap: most records a text search ranks and counts.
        fulltext: the catalog has the FTS5 tables.
    """
    limit, offset = max(limit, 0), max(offset, 0)
    parsed, matched = _parse(query), []
    if not parsed.terms:
        keys, total, exact = _browse(
            session, filters, limit=limit, offset=offset, cap=cap, fulltext=fulltext
        )
        tiers = dict.fromkeys(keys, 0)
    else:
        ranked, complete, matched = _ranked(
            session, parsed, filters, cap=cap, fulltext=fulltext, needed=offset + limit
        )
        keys = list(ranked)[:cap][offset : offset + limit]
        tiers = {key: ranked[key] for key in keys}
        total, exact = min(len(ranked), cap), complete and len(ranked) < cap
    hits = _hits(session, keys, tiers, matched)
    return SearchPage(tuple(hits), total, exact, limit, offset)


def _hits(
    session: Session, keys: list[int], tiers: Mapping[int, int], terms: list[Term]
) -> list[SearchHit]:
    """Load the page's records in order and cut a snippet of the original text for each."""
    if not keys:
        return []
    r = RecordTable
    wanted = (r.fts_rowid, r.id, r.dossier_code, r.unit, r.kind, r.status, r.text)
    rows = session.execute(
        select(*wanted, r.received_on, r.fields_json, r.persons_json).where(r.fts_rowid.in_(keys))
    )
    records = {row.fts_rowid: row for row in rows}
    hits = []
    for key in keys:
        record = records.get(key)
        if record is None:  # deleted between the two queries
            continue
        fields = json.loads(record.fields_json or "{}")
        hits.append(
            SearchHit(
                record_id=record.id,
                dossier_code=record.dossier_code,
                unit=record.unit,
                kind=record.kind,
                status=record.status,
                score=float(tiers.get(key, 0)),
                snippet=snippet(record.text, terms),
                received_on=record.received_on,
                applicant_name=fields.get("applicant_name") or "",
                people=matched_people(json.loads(record.persons_json or "[]"), terms),
            )
        )
    return hits
