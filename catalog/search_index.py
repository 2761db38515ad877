"""The search index: what each record contributes to search, and keeping it current.

Why a module of its own: :mod:`catalog.database` writes these values with every
record and :mod:`catalog.search` reads them, and both must agree on them
exactly (the benchmark writes them in bulk through the same functions).

Per record the catalog keeps, beside its row:

* search columns on ``records`` (:func:`search_columns`): the dossier code and ID
  number with their separators removed, the applicant's folded name, mã TTHC,
  folded lĩnh vực and ngày tiếp nhận;
* one integer search key (:func:`sort_key`, stored in ``records.fts_rowid``) that
  sorts by ngày tiếp nhận and is the record's rowid in both FTS5 tables;
* ``records_fts`` (folded dossier code and OCR text) and ``keys_fts`` (folded key
  fields and the names and ID numbers of everyone the record names), each with a
  ``tags`` column of filter tokens (:func:`record_tags`);
* ``record_persons`` (:func:`person_rows`): one row per person the record names, with
  their role, folded name and compact ID number, for exact lookups whatever the role.

A catalog written by an older sohoa is upgraded by :func:`reindex` the first time
it is searched or written (see ``Catalog._prepare_search``).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, or_, select, text, update
from sqlalchemy.orm import Session

from catalog.rows import PersonMatch
from catalog.tables import RecordPersonTable, RecordTable
from sohoa.textfold import Term, fold

__all__ = [
    "FTS_TABLES",
    "KEY_FIELDS",
    "compact",
    "day_range",
    "delete_index",
    "free_key",
    "index_entry",
    "index_stale",
    "is_index_table",
    "matched_people",
    "person_rows",
    "persons_of",
    "procedure_prefixes",
    "record_tags",
    "reindex",
    "search_columns",
    "sort_key",
    "tag",
    "words",
    "write_index",
    "write_persons",
]

TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"
FTS_TABLES: dict[str, str] = {
    "records_fts": "record_id UNINDEXED, dossier_code, body, tags",
    "keys_fts": "keys, tags",
}
"""Columns of the two FTS5 tables; a catalog whose tables differ is re-indexed."""

WORDS_TABLE = "search_words"
"""PostgreSQL's counterpart of the two FTS5 tables: per search key, the words of the key
fields and of the dossier code and text, each a ``tsvector`` (GIN-indexed) with the tags."""
WORDS_DDL = (
    (
        f"CREATE TABLE {WORDS_TABLE} (key BIGINT PRIMARY KEY, keys TSVECTOR NOT NULL, "
        "body TSVECTOR NOT NULL)"
    ),
    f"CREATE INDEX ix_{WORDS_TABLE}_keys ON {WORDS_TABLE} USING GIN (keys)",
    f"CREATE INDEX ix_{WORDS_TABLE}_body ON {WORDS_TABLE} USING GIN (body)",
)
MAX_POSITION = 16383
"""PostgreSQL's largest word position; later words keep it (a phrase there may not match)."""

KEY_FIELDS = (
    "applicant_name",
    "id_number",
    "procedure_code",
    "sector",
    "document_number",
    "phone",
    "email",
)
"""Fields indexed in ``keys_fts`` beside the dossier code: what an auditor looks a record up
by. The procedure's *name* is left out: "đăng ký ..." would drown people named Đặng."""

REINDEX_CHUNK = 2000
"""Records read and written per statement batch when a catalog is re-indexed."""

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_DELAY_BITS, _HASH_BITS = 22, 10
_CODE_DATE = re.compile(r"-(\d{2})(\d{2})(\d{2})-\d+\s*$")
_WORDS = re.compile(r"[^\W_]+")


def compact(value: str) -> str:
    """Folded letters and digits only: ``000.00.06.H56-231027-0361`` -> ``0000006h562310270361``."""
    return "".join(_WORDS.findall(fold(unicodedata.normalize("NFC", value))))


def words(value: str) -> str:
    """Folded words joined by one space: ``Tư pháp - Hộ tịch`` -> ``tu phap ho tich``."""
    return " ".join(_WORDS.findall(fold(unicodedata.normalize("NFC", value))))


def received_on(fields: Mapping[str, str], dossier_code: str, created_at: datetime) -> date:
    """The dossier's ngày tiếp nhận, as well as the record tells it.

    Why this date: auditors and the rate reports count dossiers by the day they
    were received, and a dossier's components and result share it. The
    ``received_date`` field (ISO once validated) wins; else the ``yyMMdd`` group
    of the dossier code; else the day the record was archived, in Vietnam.
    """
    value = (fields.get("received_date") or "").strip()
    try:
        found = date.fromisoformat(value[:10])
        if 1990 <= found.year <= 2100:
            return found
    except ValueError:
        pass
    match = _CODE_DATE.search(dossier_code)
    if match:
        yy, mm, dd = (int(g) for g in match.groups())
        try:
            return date(2000 + yy, mm, dd)
        except ValueError:
            pass
    stamp = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    return stamp.astimezone(VN_TZ).date()


def sort_key(day: date, created_at: datetime, record_id: str) -> int:
    """The record's search key: ``day`` in the high bits, so rowid order is date order.

    Below the day come the seconds from that day's start to ``created_at``
    (capped at ~48 days) and 10 bits of a hash of the id, which keeps keys of
    one day distinct; the catalog adds 1 in the rare case a key is taken.
    """
    start = datetime.combine(day, time(), tzinfo=VN_TZ)
    stamp = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
    delay = min(max(int((stamp - start).total_seconds()), 0), (1 << _DELAY_BITS) - 1)
    spread = zlib.crc32(record_id.encode()) & ((1 << _HASH_BITS) - 1)
    return (day.toordinal() << 32) | (delay << _HASH_BITS) | spread


def free_key(session: Session, key: int, record_id: str) -> int:
    """``key``, moved up by one while another record holds it (keys are rowids: unique)."""
    while True:
        owner = session.scalar(select(RecordTable.id).where(RecordTable.fts_rowid == key))
        if owner is None or owner == record_id:
            return key
        key += 1


def day_range(date_from: date | None, date_to: date | None) -> tuple[int | None, int | None]:
    """Search keys bounding the days ``date_from``..``date_to`` (both included): ``[lo, hi)``."""
    low = None if date_from is None else date_from.toordinal() << 32
    high = None if date_to is None else (date_to.toordinal() + 1) << 32
    return low, high


def search_columns(
    *, dossier_code: str, fields: Mapping[str, str], created_at: datetime
) -> dict[str, Any]:
    """The records table's search columns for one record (all derived from its manifest)."""
    name = words(fields.get("applicant_name") or "")
    procedure = (fields.get("procedure_code") or "").strip()
    sector = words(fields.get("sector") or "")
    return {
        "code_key": fit(compact(dossier_code), KEY_LENGTH),
        "id_number": fit(compact(fields.get("id_number") or ""), ID_LENGTH) or None,
        "name_key": fit(name, KEY_LENGTH) or None,
        "procedure_code": fit(procedure, ID_LENGTH) or None,
        "sector": fit(sector, KEY_LENGTH) or None,
        "received_on": received_on(fields, dossier_code, created_at),
    }


KEY_LENGTH = 255
"""Characters of a name, sector or code key column (``varchar(255)``)."""
ID_LENGTH = 64
"""Characters of an ID number or procedure code column (``varchar(64)``)."""


def fit(value: str, length: int) -> str:
    """``value`` cut to a column's ``length``, at a word's end where there is one.

    Why: PostgreSQL refuses a value longer than its ``varchar`` where SQLite stores it,
    so a name OCR ran together with the lines after it failed the record's commit on
    PostgreSQL alone. These columns are search keys: their first words are what finds
    the record; the manifest keeps the whole value."""
    if len(value) <= length:
        return value
    cut = value[:length]
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def tag(kind: str, value: str) -> str:
    """One filter token: a letter and 40 bits of a hash, a single word for ``unicode61``."""
    digest = hashlib.blake2b(value.encode(), digest_size=5).hexdigest()
    return f"{kind}{digest}"


def procedure_prefixes(code: str) -> list[str]:
    """``1.004616.000.00.00.H56`` -> ``1.004616``, ``1.004616.000``, ..., the whole code.

    Why: a procedure filter may name the national code (``1.004616``) or a
    province's full one. A single group (``1``, the kind of procedure) is no
    filter; :func:`catalog.search._sql_filters` selects exactly the same.
    """
    groups = code.split(".")
    return [".".join(groups[:n]) for n in range(min(2, len(groups)), len(groups) + 1)]


def record_tags(values: Mapping[str, Any]) -> str:
    """The ``tags`` text of a record: one token per filterable value it has."""
    tokens = [tag("u", values["unit"]), tag("k", values["kind"]), tag("s", values["status"])]
    if values.get("procedure_code"):
        tokens += [tag("p", p) for p in procedure_prefixes(values["procedure_code"])]
    if values.get("sector"):
        tokens.append(tag("l", values["sector"]))
    return " ".join(tokens)


def index_entry(values: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, str]:
    """What the FTS5 tables hold for a record whose columns are ``values``.

    ``body`` already carries any field value not printed in the OCR text (see
    :func:`catalog.database.record_values`), so ``records_fts`` alone finds every word.
    ``keys`` adds the name and ID number of everyone in ``values["persons_json"]``, so a
    word of a parent's name is a key-field match (tier 1), whatever their role.
    """
    keys = [values["dossier_code"], *(fields.get(name) or "" for name in KEY_FIELDS)]
    for person in persons_of(values):  # anyone named, whatever their role (tier 1)
        keys += [person.get("name") or "", person.get("id_number") or ""]
    return {
        "record_id": values["id"],
        "dossier_code": fold(values["dossier_code"]),
        "body": fold(values["text"]),
        "keys": fold("\n".join(k for k in keys if k)),
        "tags": record_tags(values),
    }


def persons_of(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The people of a record row (its ``persons_json``; none for a row made before)."""
    return json.loads(values.get("persons_json") or "[]")


def person_rows(record_id: str, persons_json: str | None) -> list[dict[str, Any]]:
    """The ``record_persons`` rows of a record: role, folded name, compact ID number.

    A person with neither a name nor an ID number is left out: nothing finds them.
    """
    rows = []
    for person in json.loads(persons_json or "[]"):
        name = fit(words(person.get("name") or ""), KEY_LENGTH) or None
        number = fit(compact(person.get("id_number") or ""), ID_LENGTH) or None
        if name or number:
            rows.append(
                {
                    "record_id": record_id,
                    "role": person["role"],
                    "name_key": name,
                    "id_number": number,
                }
            )
    return rows


def write_persons(session: Session, record_id: str, persons_json: str | None) -> None:
    """Replace the record's ``record_persons`` rows with those of ``persons_json``."""
    session.execute(delete(RecordPersonTable).where(RecordPersonTable.record_id == record_id))
    rows = person_rows(record_id, persons_json)
    if rows:
        session.execute(insert(RecordPersonTable), rows)


def is_index_table(name: str | None) -> bool:
    """Whether a table is the word index (FTS5's tables and their shadow tables, or
    :data:`WORDS_TABLE`): derived from ``records``, rebuilt here, outside the migrations."""
    return bool(name) and (name == WORDS_TABLE or any(name.startswith(t) for t in FTS_TABLES))


def on_postgres(session: Session) -> bool:
    """Whether ``session`` talks to PostgreSQL (its word index is :data:`WORDS_TABLE`)."""
    return session.get_bind().dialect.name == "postgresql"


def tsvector(folded: str) -> str:
    """A ``tsvector`` literal of ``folded``'s words at their positions, built here rather than
    by PostgreSQL's text parser, so the words are exactly FTS5's: runs of letters and digits
    (the parser would read "1.5" as a number and "-4" as a signed one)."""
    found = _WORDS.findall(folded)
    return " ".join(f"'{word}':{min(n, MAX_POSITION)}" for n, word in enumerate(found, start=1))


def word_vectors(entry: Mapping[str, str]) -> dict[str, str]:
    """The ``keys`` and ``body`` vectors of an :func:`index_entry`, tags included."""
    body = f"{entry['dossier_code']}\n{entry['body']}"
    return {
        "keys": tsvector(f"{entry['keys']} {entry['tags']}"),
        "body": tsvector(f"{body} {entry['tags']}"),
    }


def write_index(session: Session, key: int, entry: Mapping[str, str]) -> None:
    """Insert a record's rows into both FTS5 tables under rowid ``key`` (PostgreSQL: its
    row of :data:`WORDS_TABLE`)."""
    if on_postgres(session):
        session.execute(
            text(
                f"INSERT INTO {WORDS_TABLE} (key, keys, body) "
                "VALUES (:key, CAST(:keys AS tsvector), CAST(:body AS tsvector))"
            ),
            {"key": key, **word_vectors(entry)},
        )
        return
    session.execute(
        text(
            "INSERT INTO records_fts (rowid, record_id, dossier_code, body, tags) "
            "VALUES (:key, :record_id, :dossier_code, :body, :tags)"
        ),
        {"key": key, **entry},
    )
    session.execute(
        text("INSERT INTO keys_fts (rowid, keys, tags) VALUES (:key, :keys, :tags)"),
        {"key": key, "keys": entry["keys"], "tags": entry["tags"]},
    )


def delete_index(session: Session, key: int) -> None:
    """Remove a record's rows from both FTS5 tables (PostgreSQL: from :data:`WORDS_TABLE`)."""
    if on_postgres(session):
        session.execute(text(f"DELETE FROM {WORDS_TABLE} WHERE key = :key"), {"key": key})
        return
    for table in FTS_TABLES:
        session.execute(text(f"DELETE FROM {table} WHERE rowid = :key"), {"key": key})


# --- keeping the index current --------------------------------------------------------------


def fts_ddl() -> dict[str, str]:
    """The CREATE statement of each FTS5 table, as SQLite stores it."""
    return {
        name: f"CREATE VIRTUAL TABLE {name} USING fts5({columns}, {TOKENIZE})"
        for name, columns in FTS_TABLES.items()
    }


def index_stale(session: Session, *, fulltext: bool) -> bool:
    """True when a record lacks its search columns or an FTS5 table is missing or older."""
    lacking = session.scalar(
        select(RecordTable.id)
        .where(or_(RecordTable.code_key.is_(None), RecordTable.fts_rowid.is_(None)))
        .limit(1)
    )
    if lacking is not None:
        return True
    if not fulltext:
        return False
    if on_postgres(session):
        found = session.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": WORDS_TABLE})
        return not found
    for name, ddl in fts_ddl().items():
        found = session.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": name}
        )
        if found is None or " ".join(found.split()) != " ".join(ddl.split()):
            return True
    return False


def reindex(session: Session, *, fulltext: bool) -> None:
    """Fill every record's search columns, key and people rows, then rebuild the FTS5 tables.

    Why keys first: FTS5 appends fastest in rowid order, so the tables are
    refilled in key order once every key is known. Rows are read in pages by
    primary key, never through a cursor left open while the table changes.
    """
    r = RecordTable
    session.execute(update(r).values(fts_rowid=None).execution_options(synchronize_session=False))
    session.execute(delete(RecordPersonTable))
    used: set[int] = set()
    last = ""
    while chunk := session.execute(
        select(r.id, r.dossier_code, r.fields_json, r.created_at, r.persons_json)
        .where(r.id > last)
        .order_by(r.id)
        .limit(REINDEX_CHUNK)
    ).all():
        changes, people = [], []
        for record_id, code, fields_json, created_at, persons_json in chunk:
            fields = json.loads(fields_json or "{}")
            columns = search_columns(dossier_code=code, fields=fields, created_at=created_at)
            key = sort_key(columns["received_on"], created_at, record_id)
            while key in used:
                key += 1
            used.add(key)
            changes.append({"id": record_id, "fts_rowid": key, **columns})
            people += person_rows(record_id, persons_json)
        session.execute(update(r), changes)
        if people:
            session.execute(insert(RecordPersonTable), people)
        last = chunk[-1][0]
    if fulltext:
        _refill_fts(session)


def _refill_fts(session: Session) -> None:
    """Drop and recreate both FTS5 tables (PostgreSQL: :data:`WORDS_TABLE` and its GIN
    indexes), then index every record in key order."""
    statements = WORDS_DDL if on_postgres(session) else fts_ddl().values()
    for name in [WORDS_TABLE] if on_postgres(session) else FTS_TABLES:
        session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    for ddl in statements:
        session.execute(text(ddl))
    table = RecordTable.__table__
    last = -1
    while rows := session.execute(
        select(table)
        .where(table.c.fts_rowid > last)
        .order_by(table.c.fts_rowid)
        .limit(REINDEX_CHUNK)
    ).all():
        for row in rows:
            values = dict(row._mapping)
            entry = index_entry(values, json.loads(values["fields_json"] or "{}"))
            write_index(session, values["fts_rowid"], entry)
        last = rows[-1].fts_rowid


# --- who a query names ----------------------------------------------------------------------


def matched_people(
    persons: Sequence[Mapping[str, Any]], terms: list[Term]
) -> tuple[PersonMatch, ...]:
    """The people the query ``terms`` name: every word searched is a word of their name
    (the last one completed as a prefix when the search completed it), or the query's
    letters and digits are their ID number (or, typed on, its start).

    Why here and not from the tier that found the record: a record is found once, by
    its best tier, but the auditor wants to know whom it is about ("Lê Văn Tám (cha)")
    whichever way it was found, also when the words were in the key fields only.
    """
    parts = [part for term in terms for part in term.parts]
    if not parts:
        return ()
    prefix = terms[-1].prefix
    typed = "".join(parts)
    found = []
    for person in persons:
        name = person.get("name") or ""
        number = compact(person.get("id_number") or "")
        named = words(name).split()
        by_name = bool(named) and all(
            part in named
            or (prefix and i == len(parts) - 1 and any(w.startswith(part) for w in named))
            for i, part in enumerate(parts)
        )
        by_number = (
            bool(number)
            and any(c.isdigit() for c in typed)
            and (number == typed or (prefix and len(typed) >= 4 and number.startswith(typed)))
        )
        if by_name or by_number:
            found.append(PersonMatch(role=person["role"], name=name))
    return tuple(found)
