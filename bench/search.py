"""Search latency at scale: sohoa's search on SQLite and PostgreSQL, against bm25 and ILIKE.

Run: ``nice -n 10 .venv/bin/python bench/search.py [--records N] [--rebuild] [--queries Q]
[--url URL ...] [--postgres]`` (default N = 1,000,000, Q = 200 per query class). The first
run builds the catalog (about 17 minutes and 9 GB for a million records on 2 cores) and
keeps it under ``bench/out/search-<N>.sqlite``; later runs reuse it unless ``--rebuild``.
``--url`` measures the catalog at a database URL instead (repeatable; a PostgreSQL database
must be empty or built by this script), ``--postgres`` adds a database ``search_<N>`` on the
bench's own PostgreSQL server (:mod:`bench.pgserver_bench`, kept under ``bench/out/pg/``):
with both backends the same corpus and queries run on each, side by side in one table.

Why: auditors search a province's whole archive, typed without diacritics, and
a district alone files 34,000-60,000 dossiers a year (domain.md). The target is
p95 under 50 ms for names, ID numbers and words at a million records, on both backends.

The catalog: N synthetic records with fictitious people, procedures, places and
dossier codes from :mod:`samples.docgen`/:mod:`samples.data`, 12-digit CCCD numbers
(sometimes printed in groups of three), ~72 units, both kinds, 10 % needing review,
ngày tiếp nhận spread over 2021-2024, and 150-300 words of OCR-like text per record
drawn (Zipf) from ~6,000 Vietnamese syllables with ~1 % of words misread. Rows are
computed by the catalog's own :func:`catalog.database.record_values`,
:func:`catalog.search_index.index_entry` (and on PostgreSQL
:func:`~catalog.search_index.word_vectors`) in two worker processes and inserted with
``executemany`` (PostgreSQL's ``search_words`` with ``COPY``), 2,000 records per
transaction, into a database whose schema :class:`~catalog.database.Catalog` created; a
self-check writes a few records again through ``Catalog.add_record`` and compares every
row. SQLite: no ANALYZE and no FTS5 'optimize', the file is what the pipeline would have
written. PostgreSQL: GIN indexes created after loading, then ``VACUUM ANALYZE`` (see
:func:`build`); before timing, the bench's server loads the word index into its shared
buffers (:func:`bench.pgserver_bench.prewarm`), as a server that has been running holds it.

Measured, warm (10 queries of every class on every backend, then 5 of the class again,
before timing), end to end through ``Catalog.find`` (ranking, total, loading the page,
snippets; 20 hits a page): accent-free full names, surname + given name, 12-digit IDs typed
plain and in groups, dossier codes, common words, two-word queries, rare (misread) words, a
word with unit + kind + three-month filters, and browsing with filters; the backends take
turns class by class. Alternatives in the same run, on fewer queries (they are slow;
``--alt-queries 0`` skips them): (1) the ranking sohoa used before, FTS5 ``bm25()`` over
every match, on the same FTS5 table (SQLite only: there is no FTS5 on PostgreSQL); (2) the
portable ``ILIKE`` fallback (``Catalog(fulltext=False)``) on a 100,000-record SQLite catalog
from the same generator (the fallback is the same SQL on both backends; SQLite alone shows
its cost). One cold query per backend is timed last, after evicting the files from the OS
cache (``posix_fadvise DONTNEED``; the bench's PostgreSQL server is restarted too, emptying
its buffers). Output: printed and written to ``bench/out/search.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import contextlib
import itertools
import multiprocessing
import os
import platform
import random
import re
import sqlite3
import statistics
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bench.pgserver_bench import PgServer, evict, local_cluster, prewarm, restart_cold
from bench.pipeline import git, load, measure, table
from catalog.connection import location, make_engine, parse
from catalog.database import Catalog, SearchFilters, record_values
from catalog.search_index import WORDS_DDL, WORDS_TABLE, index_entry, on_postgres, word_vectors
from samples import data
from samples.docgen import random_dossier_code, random_person, random_procedure
from schemas.fields import FieldValue
from schemas.models import Manifest, PageSummary, SignatureSummary, SourceFile, StoredObject
from sohoa.textfold import fold, fts_query, query_terms, snippet

OUT = ROOT / "bench" / "out"
OUT_MD = OUT / "search.md"
SEED = 7
CHUNK = 2000
SUBSET = 100_000
FIRST_DAY, SPAN_DAYS = date(2021, 1, 4), 1400

# --- synthetic records ----------------------------------------------------------------------

_ONSETS = "_ b c ch d đ g gi h k kh l m n ng nh ph qu r s t th tr v x"
_RHYMES = (
    "a ai am an ang anh ao at au ay ac ach e em en eng et ec ê êm ên ênh êt êch i ia im in "
    "inh it ich iêu iên iêt o oa oai oan oang oanh oat oc oi om on ong ot ô ôi ôm ôn ông ôt ôc ơ ơi "
    "ơm ơn ơt u ua ui um un ung ut uc uy uyên uôi uôn uông ư ưa ưng ươi ươn ương ươc ưu"
)
"""Onsets and rhymes of made-up syllables, space-separated (``_`` is no onset)."""
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")


def _toned(rhyme: str, tone: str) -> str:
    """Put ``tone`` on the rhyme's main vowel (close enough: folding removes it anyway)."""
    marked = [i for i, c in enumerate(rhyme) if c in "ơôêâăư"]
    vowels = [i for i, c in enumerate(rhyme) if c in "aeiouyơôêâăư"]
    two = len(vowels) > 1 and rhyme[-1] in "aeiouy"
    at = marked[-1] if marked else (vowels[-2] if two else vowels[-1])
    return unicodedata.normalize("NFC", rhyme[: at + 1] + tone + rhyme[at + 1 :])


def vocabulary(rng: random.Random) -> list[str]:
    """~6,000 syllables: the documents' own wording first (most frequent), then made ones."""
    texts = [*data.LABELS.values(), *data.SUMMARIES, *data.BASES]
    texts += [*data.COMPONENTS.values(), *(p[3] for p in data.PROCS)]
    words = dict.fromkeys(
        w.lower() for t in texts for w in re.findall(r"[^\W\d_]+", t) if len(w) > 1
    )
    made = [
        o.strip("_") + _toned(r, t)
        for o in _ONSETS.split()
        for r in _RHYMES.split()
        for t in _TONES
    ]
    rng.shuffle(made)
    for word in made:
        words.setdefault(word, None)
    return list(words)[:6000]


class Corpus:
    """Record ``i`` of ``n`` is always the same (seeded per index), in order of its date."""

    def __init__(self, n: int, seed: int = SEED) -> None:
        self.n, self.seed = n, seed
        self.vocab = vocabulary(random.Random(seed))
        self.cum = list(itertools.accumulate(1 / (r + 2.7) ** 1.05 for r in range(6000)))

    def words(self, rng: random.Random, count: int) -> str:
        """``count`` words in sentences; ~1.2 % of them with one letter misread."""
        picked = rng.choices(self.vocab, cum_weights=self.cum, k=count)
        for i, word in enumerate(picked):
            if rng.random() < 0.012:
                j = rng.randrange(len(word))
                picked[i] = word[:j] + rng.choice("aeiouncmhtlrkgđươ") + word[j + 1 :]
        out, i = [], 0
        while i < count:
            size = rng.randint(6, 18)
            sentence = " ".join(picked[i : i + size])
            out.append(sentence[:1].upper() + sentence[1:] + rng.choice(".,.;"))
            i += size
        return " ".join(out)

    def manifest(self, index: int) -> Manifest:
        """One archived record as its manifest would describe it."""
        rng = random.Random(self.seed * 1_000_003 + index)
        person, locality = random_person(rng), data.random_locality(rng)
        hcode = locality[0].hcode
        procedure = random_procedure(rng, hcode=hcode)
        received = FIRST_DAY + timedelta(days=index * SPAN_DAYS // self.n)
        received += timedelta(days=max(0, 7 - received.weekday()) if received.weekday() > 4 else 0)
        code = random_dossier_code(rng, received, hcode=hcode)
        kind = "thanh-phan" if rng.random() < 0.6 else "ket-qua"
        created = datetime(received.year, received.month, received.day, 1, tzinfo=UTC)
        created += timedelta(days=rng.randrange(30), seconds=rng.randrange(36000))
        number = person.id_number
        if rng.random() < 0.2:
            number = " ".join(number[i : i + 3] for i in range(0, len(number), 3))
        name = person.full_name.upper() if rng.random() < 0.3 else person.full_name
        title = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" if kind == "thanh-phan" else "QUYẾT ĐỊNH"
        text = (
            f"ỦY BAN NHÂN DÂN {locality[1].upper()}\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\n"
            f"Độc lập - Tự do - Hạnh phúc\n{title}\nMã hồ sơ: {code}\nHọ và tên: {name}\n"
            f"Ngày sinh: {person.birth_date:%d/%m/%Y}\nSố định danh cá nhân: {number}\n"
            f"Địa chỉ: {person.address}\nNội dung yêu cầu: {procedure.name}\n"
            f"Lĩnh vực: {procedure.sector}\nMã TTHC: {procedure.code}\n"
            f"Ngày tiếp nhận: {received:%d/%m/%Y}\n{self.words(rng, rng.randint(150, 300))}\n"
            f"Người ký: {data.random_name(rng, rng.choice(data.SEXES))}"
        )
        values = {
            "dossier_code": code,
            "applicant_name": person.full_name,
            "id_number": person.id_number,
            "birth_date": person.birth_date.isoformat(),
            "address": person.address,
            "procedure_code": procedure.code,
            "procedure_name": procedure.name,
            "sector": procedure.sector,
            "received_date": received.isoformat(),
        }
        return self._wrap(index, rng, code, kind, created, values, text, hcode)

    def _wrap(self, index, rng, code, kind, created, values, text, hcode) -> Manifest:
        """The manifest around a record's facts (a one-page signed PDF, one source file)."""
        record_id = f"{self.seed:02d}{index:014d}".ljust(64, "a")
        fields = tuple(
            FieldValue(name=k, value=v, confidence=0.95, method="label") for k, v in values.items()
        )
        page = PageSummary(
            index=0, source="scan.pdf", source_page=0, width=2480, height=3508, dpi=300,
            mean_confidence=91.0, word_count=250, skew_deg=0.0, needs_review=False,
        )  # fmt: skip
        sha = f"{index:064x}"
        return Manifest(
            record_id=record_id,
            batch_id=f"b{self.seed:02d}{index // 2:013d}".ljust(64, "b"),
            dossier_code=code,
            kind=kind,
            unit=f"{hcode}.{rng.randint(1, 12):02d}",
            status="needs_review" if rng.random() < 0.1 else "archived",
            created_at=created,
            software="bench",
            pages=(page,),
            mean_confidence=91.0,
            fields=fields,
            sources=(SourceFile(name="scan.pdf", sha256=sha, size=1, format="pdf"),),
            pdf=StoredObject(
                key=f"archive/{record_id}.pdf", sha256=sha, size=1, content_type="application/pdf"
            ),
            originals=(),
            signature=SignatureSummary(
                signer="Bench Signer", issuer="Bench CA", serial="01", demo=True, signed_at=created
            ),
            text=text,
        )


# --- building the catalog -------------------------------------------------------------------

_CORPUS: Corpus | None = None
_FULLTEXT = True
_POSTGRES = False


@dataclass(frozen=True)
class Target:
    """One catalog measured: its URL, and the bench's own server when it runs there (so its
    database may be dropped and created again)."""

    url: str
    server: PgServer | None = None

    @property
    def postgres(self) -> bool:
        return parse(self.url).get_backend_name() == "postgresql"

    @property
    def label(self) -> str:
        return "PostgreSQL" if self.postgres else "SQLite"

    @property
    def path(self) -> Path:
        """The SQLite file (SQLite only)."""
        return Path(parse(self.url).database or "")


def _init_worker(n: int, fulltext: bool, postgres: bool) -> None:
    global _CORPUS, _FULLTEXT, _POSTGRES
    _CORPUS, _FULLTEXT, _POSTGRES = Corpus(n), fulltext, postgres


def _rows(start: int) -> list[tuple[dict, dict | None, dict]]:
    """Rows of records ``start``..``start+CHUNK``: record values, word-index entry (FTS5 columns,
    or on PostgreSQL the ``keys``/``body`` vectors), batch values."""
    assert _CORPUS is not None
    out = []
    for index in range(start, min(start + CHUNK, _CORPUS.n)):
        m = _CORPUS.manifest(index)
        values = record_values(m, f"archive/{m.record_id}.json", m.pdf.sha256, fulltext=_FULLTEXT)
        fields = {f.name: f.value for f in m.fields}
        entry = index_entry(values, fields) if _FULLTEXT else None
        if entry is not None and _POSTGRES:
            entry = word_vectors(entry)
        batch = {"id": m.batch_id, "status": "archived", "reason": None, "file_count": 1,
                 "page_count": 1, "created_at": m.created_at, "updated_at": m.created_at,
                 "unit": m.unit, "kind": m.kind, "dossier_code": values["dossier_code"]}  # fmt: skip
        out.append((values, entry, batch))
    return out


def _insert(catalog: Catalog, rows: list[tuple[dict, dict | None, dict]], used: set[int]) -> None:
    """One transaction: batches, records and the word index, in search-key order."""
    from sqlalchemy import insert
    from sqlalchemy.dialects import postgresql, sqlite

    from catalog.tables import BatchTable, RecordTable

    rows.sort(key=lambda row: row[0]["fts_rowid"])
    for values, entry, _ in rows:
        while values["fts_rowid"] in used:  # the catalog's rule: the next free key
            values["fts_rowid"] += 1
        used.add(values["fts_rowid"])
        if entry is not None:
            entry["key"] = values["fts_rowid"]
    batches = list({b["id"]: b for _, _, b in rows}.values())
    with catalog._write() as session:
        dialect = postgresql if on_postgres(session) else sqlite
        session.execute(dialect.insert(BatchTable).on_conflict_do_nothing(), batches)
        session.execute(insert(RecordTable), [values for values, _, _ in rows])
        entries = [entry for _, entry, _ in rows if entry is not None]
        if entries:
            (_copy_words if on_postgres(session) else _insert_fts)(session, entries)


def _insert_fts(session: Session, entries: list[dict]) -> None:
    """SQLite: both FTS5 tables, as :func:`catalog.search_index.write_index` writes them."""
    session.execute(
        text(
            "INSERT INTO records_fts (rowid, record_id, dossier_code, body, tags) "
            "VALUES (:key, :record_id, :dossier_code, :body, :tags)"
        ),
        entries,
    )
    session.execute(
        text("INSERT INTO keys_fts (rowid, keys, tags) VALUES (:key, :keys, :tags)"), entries
    )


def _copy_words(session: Session, entries: list[dict]) -> None:
    """PostgreSQL: the rows of ``search_words`` through ``COPY`` (text format, so the server
    reads each vector as ``CAST(:x AS tsvector)`` does in ``write_index``)."""
    raw = session.connection().connection.driver_connection
    sql = f"COPY {WORDS_TABLE} (key, keys, body) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for entry in entries:
            copy.write_row((entry["key"], entry["keys"], entry["body"]))


def build(target: Target, n: int, *, fulltext: bool = True) -> float:
    """Write a catalog of ``n`` synthetic records to an empty ``target``; return the seconds.

    On PostgreSQL ``search_words`` is loaded without its GIN indexes, which are created
    afterwards (one pass over sorted entries instead of a million index updates), then
    ``VACUUM ANALYZE``: the pipeline's own catalog would get both from autovacuum, which
    vacuums and analyzes an insert-only table after enough rows.
    """
    started = time.perf_counter()
    catalog = Catalog(target.url, fulltext=fulltext)
    if catalog.count_records():
        raise SystemExit(f"{location(target.url)} holds records: give an empty database")
    catalog.find("")  # creates the word index (FTS5 tables; PostgreSQL: search_words)
    if target.postgres and fulltext:
        _autocommit(catalog, f"DROP TABLE {WORDS_TABLE}", WORDS_DDL[0])
    used: set[int] = set()
    context = multiprocessing.get_context("fork")
    setup = (n, fulltext, target.postgres)
    with context.Pool(2, initializer=_init_worker, initargs=setup) as pool:
        for done, rows in enumerate(pool.imap(_rows, range(0, n, CHUNK)), start=1):
            _insert(catalog, rows, used)
            if done % 50 == 0:
                print(
                    f"  {done * CHUNK:,} records, {time.perf_counter() - started:.0f} s", flush=True
                )
    if target.postgres and fulltext:
        loaded = time.perf_counter()
        _autocommit(catalog, "SET maintenance_work_mem = '1GB'", *WORDS_DDL[1:])
        print(f"  GIN indexes: {time.perf_counter() - loaded:.0f} s", flush=True)
    if target.postgres:
        _autocommit(catalog, "VACUUM ANALYZE")
    catalog.close()
    if not target.postgres:
        with sqlite3.connect(target.path) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
    return time.perf_counter() - started


def _autocommit(catalog: Catalog, *statements: str) -> None:
    """Run ``statements`` on one connection outside a transaction (VACUUM must be)."""
    with catalog._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for statement in statements:
            connection.execute(text(statement))


_WORD_ROWS = {
    "sqlite": (
        "SELECT rowid, * FROM records_fts WHERE rowid = :key",
        "SELECT rowid, * FROM keys_fts WHERE rowid = :key",
    ),
    "postgresql": (f"SELECT key, keys::text, body::text FROM {WORDS_TABLE} WHERE key = :key",),
}
"""The word-index rows of one search key, per backend."""


def self_check(catalog: Catalog, corpus: Corpus) -> str:
    """Write three records again through ``Catalog.add_record`` (which replaces a record and
    its index rows) and compare every row with what the bulk load had written."""

    def rows(record_id: str) -> list[list[tuple]]:
        with catalog._read() as session:
            record = session.execute(
                text("SELECT * FROM records WHERE id = :id"), {"id": record_id}
            )
            found = record.all()
            key = {"key": found[0].fts_rowid if found else None}
            queries = _WORD_ROWS[session.get_bind().dialect.name]
            words = [session.execute(text(q), key).all() for q in queries]
            return [[tuple(row) for row in part] for part in (found, *words)]

    indexes, same = (0, corpus.n // 2, corpus.n - 1), 0
    for i in indexes:
        m = corpus.manifest(i)
        bulk = rows(m.record_id)
        catalog.add_record(m, manifest_key=f"archive/{m.record_id}.json", manifest_sha256=m.pdf.sha256)  # fmt: skip
        same += bulk == rows(m.record_id) and all(bulk)
    return f"{same}/{len(indexes)} records identical to `Catalog.add_record` (every column, every word-index row)"


# --- queries --------------------------------------------------------------------------------

Query = tuple[str, SearchFilters, str | None]
"""What is typed, the filters, and the record it was taken from (None: no single target)."""


def _months_around(day: date) -> tuple[date, date]:
    """A three-month window: the month before ``day``'s month to the month after."""
    start = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
    end = (day.replace(day=28) + timedelta(days=40)).replace(day=1) - timedelta(days=1)
    return start, end


def _misread(text: str, known: set[str], rng: random.Random) -> str | None:
    """A word of the text that is not in the vocabulary: an OCR misreading."""
    words = [w for w in re.findall(r"[^\W\d_]{3,}", fold(text)) if w not in known]
    return rng.choice(words) if words else None


def _province(unit: str, size: int = 13) -> tuple[str, ...]:
    """A unit-limited account's scope: the province code, its 12 units, then made-up codes
    up to ``size`` (a province with hundreds of communes; unknown codes cost a lookup each)."""
    province = unit.split(".")[0]
    known = [province, *(f"{province}.{i:02d}" for i in range(1, 13))]
    return tuple(known + [f"{province}.{i:03d}" for i in range(100, 100 + size - len(known))])


def query_sets(corpus: Corpus, count: int, *, below: int, seed: int = 11) -> dict[str, list[Query]]:
    """``count`` queries per class, taken from random records with index < ``below``."""
    rng = random.Random(seed)
    known = {fold(w) for w in corpus.vocab}
    common = list(dict.fromkeys(fold(w) for w in corpus.vocab if len(w) > 1))[: max(count, 50)]
    none = SearchFilters()
    sets: dict[str, list[Query]] = {k: [] for k in CLASSES}
    while min(len(v) for v in sets.values()) < count:
        m = corpus.manifest(rng.randrange(below))
        fields = {f.name: f.value for f in m.fields}
        name = fold(fields["applicant_name"]).split()
        number, rid = fields["id_number"], m.record_id
        months = _months_around(date.fromisoformat(fields["received_date"]))
        body = fold(m.text.rsplit("\n", 2)[-2]).split()
        pair = rng.randrange(len(body) - 1)
        candidates: dict[str, Query | None] = {
            "name": (" ".join(name), none, rid),
            "surname + given": (f"{name[0]} {name[-1]}", none, rid),
            "ID, 12 digits": (number, none, rid) if number.isdigit() else None,
            "ID in groups of 4": (" ".join(re.findall(".{1,4}", number)), none, rid)
            if number.isdigit() else None,
            "dossier code": (m.dossier_code, none, rid),
            "common word": (common[len(sets["common word"]) % len(common)], none, None),
            "two words": (" ".join(re.sub(r"\W", "", w) for w in body[pair : pair + 2]), none, None),
            "rare (misread) word": ((w, none, None) if (w := _misread(m.text, known, rng)) else None),
            "word + unit + kind + 3 months": (
                common[rng.randrange(20)],
                SearchFilters(unit=m.unit, kind=m.kind, date_from=months[0], date_to=months[1]),
                None,
            ),
            "browse: unit + kind": ("", SearchFilters(unit=m.unit, kind=m.kind), None),
            "word + province scope (13 units)": (
                common[rng.randrange(20)], SearchFilters(unit=_province(m.unit)), None
            ),
            "word + 300-unit scope": (
                common[rng.randrange(20)], SearchFilters(unit=_province(m.unit, 300)), None
            ),
            "browse: lĩnh vực + 3 months": (
                "",
                SearchFilters(sector=fields["sector"], date_from=months[0], date_to=months[1]),
                None,
            ),
        }  # fmt: skip
        for name_, query in candidates.items():
            if query is not None and len(sets[name_]) < count and query[0] != " ":
                sets[name_].append(query)
    return sets


CLASSES = (
    "name",
    "surname + given",
    "ID, 12 digits",
    "ID in groups of 4",
    "dossier code",
    "common word",
    "two words",
    "rare (misread) word",
    "word + unit + kind + 3 months",
    "browse: unit + kind",
    "browse: lĩnh vực + 3 months",
    "word + province scope (13 units)",
    "word + 300-unit scope",
)
TARGETED = ("name", "surname + given", "ID, 12 digits", "ID in groups of 4", "dossier code")
TEXT_ONLY = CLASSES[:8]


# --- timing ---------------------------------------------------------------------------------


def timed(run: Callable[[str, SearchFilters], list[str]], queries: Sequence[Query]) -> dict:
    """Milliseconds per query, and where each query's own record came (rank 1 = first)."""
    for q, f, _ in queries[:5]:
        run(q, f)  # warm the caches for this class
    times, ranks = [], []
    for q, f, target in queries:
        start = time.perf_counter()
        ids = run(q, f)
        times.append((time.perf_counter() - start) * 1000)
        if target is not None:
            ranks.append(ids.index(target) + 1 if target in ids else None)
    return {"times": times, "ranks": ranks}


def warm(runners: Sequence[Callable], sets: dict[str, list[Query]], count: int = 10) -> None:
    """Run ``count`` queries of every class on every backend before anything is timed.

    Why: a freshly started PostgreSQL server has empty shared buffers, so whichever class
    came first (names) paid for filling them; SQLite's pages stay in the OS cache.
    """
    for queries in sets.values():
        for run in runners:
            for q, f, _ in queries[:count]:
                run(q, f)


def sohoa_runner(catalog: Catalog) -> Callable[[str, SearchFilters], list[str]]:
    def run(q: str, f: SearchFilters) -> list[str]:
        return [h.record_id for h in catalog.find(q, filters=f, limit=20).hits]

    return run


def bm25_runner(path: Path) -> Callable[[str, SearchFilters], list[str]]:
    """sohoa's search before this change: FTS5 bm25 over every match, exact code first."""
    db = sqlite3.connect(path, check_same_thread=False)
    sql = (
        "SELECT record_id, bm25(records_fts, 0.0, 10.0, 1.0) AS score FROM records_fts "
        "WHERE records_fts MATCH ? ORDER BY (dossier_code = ?) DESC, score, record_id LIMIT 20"
    )

    def run(q: str, _: SearchFilters) -> list[str]:
        exact = fold(unicodedata.normalize("NFC", q.strip()))
        ids = [r[0] for r in db.execute(sql, (fts_query(q), exact))]
        marks = ",".join("?" * len(ids))
        texts = dict(db.execute(f"SELECT id, text FROM records WHERE id IN ({marks})", ids))
        terms = query_terms(q)
        for record_id in ids:
            snippet(texts[record_id], terms)
        return ids

    return run


def summary(result: dict) -> tuple[str, str, str]:
    """p50 / p95 / max in ms."""
    times = sorted(result["times"])
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return f"{statistics.median(times):.1f}", f"{p95:.1f}", f"{times[-1]:.1f}"


def found(result: dict) -> str:
    """Share of targeted queries whose own record is on the first page, and first."""
    ranks = result["ranks"]
    if not ranks:
        return "—"
    top = sum(r is not None for r in ranks) / len(ranks)
    first = sum(r == 1 for r in ranks) / len(ranks)
    return f"{top:.0%} / {first:.0%}"


def cold_query(target: Target, query: str) -> float | None:
    """First query of a new catalog object after its files left the OS page cache (ms);
    on the bench's own PostgreSQL server after a restart too (its buffer cache). ``None``
    for a server the bench does not run."""
    if target.postgres and target.server is None:
        return None
    if target.postgres:
        restart_cold()
    else:
        for suffix in ("", "-wal"):
            evict(Path(f"{target.path}{suffix}"))
    start = time.perf_counter()
    with Catalog(target.url) as catalog:
        catalog.find(query)
    return (time.perf_counter() - start) * 1000


# --- the run --------------------------------------------------------------------------------


def _machine(targets: Sequence[Target]) -> str:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
         if ln.startswith("model name")), platform.processor() or "?",
    )  # fmt: skip
    versions = [f"SQLite {sqlite3.sqlite_version}"]
    for target in (t for t in targets if t.postgres):
        with Catalog(target.url) as catalog, catalog._read() as session:
            version = session.scalar(text("SHOW server_version"))
        versions.append(f"PostgreSQL {version.split()[0]}")
    python = f"Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({cpu}), {python}, {', '.join(versions)}"


def _size(target: Target) -> str:
    if target.postgres:
        with Catalog(target.url) as catalog, catalog._read() as session:
            total = session.scalar(text("SELECT pg_database_size(current_database())"))
    else:
        files = [Path(f"{target.path}{s}") for s in ("", "-wal")]
        total = sum(file.stat().st_size for file in files if file.exists())
    return f"{total / 1e9:.2f} GB"


def _layout(postgres: bool) -> str:
    """Changes when the catalog's tables change, so a cached catalog is built again."""
    from catalog import search_index
    from catalog.tables import RecordTable

    columns = ",".join(c.name for c in RecordTable.__table__.columns)
    words = WORDS_DDL if postgres else search_index.fts_ddl()
    return f"{columns}|{words}|{CHUNK}|{SEED}"


def _read_stamp(target: Target) -> str | None:
    """What built the catalog: a file beside SQLite's, a comment on PostgreSQL's word index
    (gone with the table or the database, so a dropped catalog is never taken as built)."""
    if not target.postgres:
        stamp = Path(f"{target.path}.built")
        return stamp.read_text() if target.path.exists() and stamp.exists() else None
    engine = make_engine(target.url)
    try:
        with engine.connect() as connection:
            sql = "SELECT obj_description(to_regclass(:t), 'pg_class')"
            return connection.scalar(text(sql), {"t": WORDS_TABLE})
    except SQLAlchemyError:  # no such database yet
        return None
    finally:
        engine.dispose()


def _write_stamp(target: Target, stamp: str) -> None:
    if not target.postgres:
        Path(f"{target.path}.built").write_text(stamp)
        return
    quoted = stamp.replace("'", "''")
    with Catalog(target.url) as catalog:
        _autocommit(catalog, f"COMMENT ON TABLE {WORDS_TABLE} IS '{quoted}'")


def _empty(target: Target) -> None:
    """Remove the SQLite file, or drop and create the bench server's database (any other
    PostgreSQL database must be empty: :func:`build` refuses one holding records)."""
    if not target.postgres:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{target.path}{suffix}").unlink(missing_ok=True)
    elif target.server is not None:
        name = parse(target.url).database
        target.server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        target.server.execute(f'CREATE DATABASE "{name}"')


def ensure_catalog(target: Target, n: int, *, fulltext: bool, rebuild: bool) -> float:
    """Build ``target`` unless a catalog of the same layout is there; return its build seconds."""
    stamp = _read_stamp(target)
    if not rebuild and stamp is not None:
        layout, seconds = stamp.rsplit("\n", 1)
        if layout == _layout(target.postgres):
            return float(seconds)
    print(f"building {location(target.url)}: {n:,} records", flush=True)
    _empty(target)
    seconds = build(target, n, fulltext=fulltext)
    _write_stamp(target, f"{_layout(target.postgres)}\n{seconds:.1f}")
    return seconds


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200, help="per query class")
    parser.add_argument(
        "--alt-queries", type=int, default=30, help="per class, alternatives (0: skip them)"
    )
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--url",
        action="append",
        default=[],
        help="a catalog database URL, built there if empty (repeatable; default: the SQLite "
        "file bench/out/search-N.sqlite)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also measure a database on the bench's own PostgreSQL server (bench/out/pg/)",
    )
    return parser.parse_args(argv)


def _targets(args: argparse.Namespace, stack: contextlib.ExitStack) -> list[Target]:
    targets = [Target(url) for url in args.url]
    if not targets:
        targets.append(Target(f"sqlite:///{OUT / f'search-{args.records}.sqlite'}"))
    if args.postgres:
        server = stack.enter_context(local_cluster())
        targets.append(Target(server.url(f"search_{args.records}"), server))
    return targets


def alternatives(targets: Sequence[Target], sets: dict, n: int, count: int) -> tuple[dict, dict]:
    """bm25 on the first SQLite catalog (an FTS5 function: none on PostgreSQL) and ILIKE on
    a SQLite catalog of its own (the fallback's SQL is the same on both backends)."""
    if count <= 0:
        return {}, {}
    sqlite_target = next((t for t in targets if not t.postgres), None)
    before = {}
    if sqlite_target is not None:
        bm25 = bm25_runner(sqlite_target.path)
        before = {k: timed(bm25, sets[k][:count]) for k in TEXT_ONLY}
    subset = min(n, SUBSET)
    like_target = Target(f"sqlite:///{OUT / f'search-like-{subset}.sqlite'}")
    ensure_catalog(like_target, subset, fulltext=False, rebuild=False)
    like_sets = query_sets(Corpus(subset), count, below=subset)
    with Catalog(like_target.url, fulltext=False) as like_catalog:
        like = {k: timed(sohoa_runner(like_catalog), q) for k, q in like_sets.items()}
    return before, like


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    n = args.records
    OUT.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        targets = _targets(args, stack)
        built = [ensure_catalog(t, n, fulltext=True, rebuild=args.rebuild) for t in targets]
        for target in targets:
            if target.server is not None:
                prewarm(target.url, WORDS_TABLE)
        corpus = Corpus(n)
        catalogs = [stack.enter_context(Catalog(t.url)) for t in targets]
        checks = [self_check(catalog, corpus) for catalog in catalogs]
        sets = query_sets(corpus, args.queries, below=n)
        runners = [sohoa_runner(catalog) for catalog in catalogs]
        warm(runners, sets)
        run = measure(lambda: {k: [timed(r, sets[k]) for r in runners] for k in CLASSES})
        before, like = alternatives(targets, sets, n, args.alt_queries)
        for catalog in catalogs:
            catalog.close()
        cold = [cold_query(t, sets["name"][-1][0]) for t in targets]  # last: empties caches
        notes = [
            f"{t.label}: {_size(t)}, built in {b / 60:.1f} min; self-check: {c}; cold first "
            f"query {'—' if ms is None else f'{ms:.0f} ms'}."
            for t, b, c, ms in zip(targets, built, checks, cold, strict=True)
        ]
        report = _report(args, targets, notes, sets, run, before, like)
    OUT_MD.write_text(report + "\n", encoding="utf-8")
    print(report)


def _report(args, targets, notes, sets, run, before, like) -> str:
    """The markdown report: set-up, then one row per query class, backends side by side."""
    n, subset, alt = args.records, min(args.records, SUBSET), args.alt_queries
    ours = run.result
    headers = ["query class", "n"]
    for t in targets:
        headers += [f"{t.label} p50", f"{t.label} p95", f"{t.label} own record"]
    headers += ["bm25-all p50", "bm25-all p95", "bm25 own record"] if before else []
    headers += [f"ILIKE {subset:,} p50", f"ILIKE {subset:,} p95"] if like else []
    rows = []
    for k in CLASSES:
        row = [k, len(sets[k])]
        for result in ours[k]:
            row += [*summary(result)[:2], found(result)]
        if before:
            row += [*summary(before[k])[:2], found(before[k])] if k in before else ["—"] * 3
        if like:
            row += summary(like[k])[:2]
        rows.append(row)
    dirty = " (uncommitted changes)" if git("status", "--porcelain") else ""
    head = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {git('rev-parse', '--short', 'HEAD')}"
    servers = " (PostgreSQL's server processes count as other processes)" * any(
        t.postgres for t in targets
    )
    method = (
        "Milliseconds per query, warm, 20 hits a page, end to end through `Catalog.find` "
        "(ranking, total, page, snippets); the backends take turns class by class on the same "
        "queries; on the bench's own PostgreSQL server `search_words` and its indexes are "
        "loaded into shared buffers first (`pg_prewarm`). *own record*: share of targeted "
        f"queries whose source record is on page 1 / is first. bm25 (FTS5 only, so SQLite only): {alt} queries per class on the same "
        f"SQLite file. ILIKE: {alt} queries per class on its own {subset:,}-record SQLite "
        "catalog.\n"
    )
    return "\n".join(
        [
            f"# Search latency, {n:,} records\n",
            f"{head}{dirty}; {_machine(targets)}.",
            *notes,
            f"Other processes used {load(run)} of the machine while sohoa was timed{servers}.\n",
            method,
            table(headers, rows),
        ]
    )


if __name__ == "__main__":
    main()
