"""The catalog: one row per batch and per archived record, plus accent-insensitive search.

The object store holds the truth (PDFs and manifests); the catalog is an index
that can be rebuilt from the manifests. It is SQLite in embedded mode: WAL so
auditors can search while the pipeline writes, ``BEGIN IMMEDIATE`` for writes
so concurrent writers queue on ``busy_timeout`` instead of failing, and an FTS5
table ``records_fts`` holding the *folded* dossier code and OCR text (see
:mod:`sohoa.textfold`) so "dang ky" finds "Đăng ký". The FTS row is written
in the same transaction as its record row, so the two never disagree.

Other databases (any SQLAlchemy URL) work without FTS5: search falls back to
``ILIKE`` on a folded copy of the text kept in ``records.folded``.

Every method opens a short session and returns frozen rows, never ORM objects,
so one :class:`Catalog` can be shared by the pipeline's threads.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, Self, TypeVar

from sqlalchemy import Engine, and_, create_engine, delete, event, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from schemas.models import Manifest
from sohoa.errors import NotFoundError, StorageError
from sohoa.textfold import Term, fold, fts_query, query_terms, snippet
from storage import register_tables  # noqa: F401  (the register's tables, created with ours)
from storage.catalog_tables import (
    Base,
    BatchRow,
    BatchTable,
    CorrectionTable,
    RecordRow,
    RecordTable,
    SearchHit,
    batch_row,
    record_row,
)

__all__ = ["BatchRow", "Catalog", "RecordRow", "SearchHit"]

MIN_PREFIX = 8
"""Shortest record-id prefix accepted by :meth:`Catalog.get_record` (like git)."""

BUSY_TIMEOUT_MS = 30_000
"""How long a writer waits for another writer before SQLite reports 'database is locked'."""

FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5("
    "record_id UNINDEXED, dossier_code, body, tokenize = 'unicode61 remove_diacritics 2')"
)
BM25 = "bm25(records_fts, 0.0, 10.0, 1.0)"
"""Ranking: a hit in the dossier code weighs ten times a hit in the body text."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


# --- errors and engine ---------------------------------------------------------------------


def _storage_errors(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn database and file-system failures into :class:`StorageError` for the CLI."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except DBAPIError as exc:
            reason = str(exc.orig) if exc.orig is not None else str(exc)
            raise StorageError(operation="catalog", reason=reason) from exc
        except (SQLAlchemyError, OSError, ImportError) as exc:
            raise StorageError(operation="catalog", reason=str(exc)) from exc

    return wrapper


def _sqlite_engine(url: str) -> Engine:
    """Create a SQLite engine with WAL, foreign keys, a busy timeout and explicit BEGINs."""
    parsed = make_url(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in database
    if not in_memory and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        options["poolclass"] = StaticPool  # one shared connection, or each thread sees its own DB
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes cannot wait for a lock held
        # by another writer (SQLITE_BUSY at once); taking the write lock up front can.
        write = connection.get_execution_options().get("sohoa_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


# --- the catalog ---------------------------------------------------------------------------


class Catalog:
    """Batches, records and full-text search over one SQLAlchemy database.

    Args:
        url: SQLAlchemy URL, usually ``Settings.resolved_catalog_url``.
        fulltext: use the FTS5 index; ``None`` (default) means "when the URL is SQLite".
            ``False`` on SQLite exercises the portable ``ILIKE`` fallback (tests only:
            do not switch an existing catalog between the two).

    Raises:
        StorageError: the database cannot be created, opened or is not a database.
    """

    @_storage_errors
    def __init__(self, url: str, *, fulltext: bool | None = None) -> None:
        self.url = url
        is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self._engine = _sqlite_engine(url) if is_sqlite else create_engine(url, pool_pre_ping=True)
        self._fts = is_sqlite if fulltext is None else (fulltext and is_sqlite)
        write_engine = self._engine.execution_options(sohoa_write=True)
        self._read = sessionmaker(self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(write_engine, expire_on_commit=False)
        self._create_all()

    def _create_all(self) -> None:
        """Create missing tables (and the FTS5 table on SQLite); existing data is kept."""
        Base.metadata.create_all(self._engine)
        self._add_missing_columns()
        if self._fts:
            with self._engine.begin() as connection:
                connection.exec_driver_sql(FTS_DDL)

    def _add_missing_columns(self) -> None:
        """Add columns a newer sohoa defines to a catalog an older one created (never drops)."""
        inspector = inspect(self._engine)
        with self._engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                present = {c["name"] for c in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name in present:
                        continue
                    kind = column.type.compile(self._engine.dialect)
                    default = column.server_default.arg if column.server_default else None
                    suffix = f" DEFAULT '{default}'" if isinstance(default, str) else ""
                    connection.exec_driver_sql(
                        f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{suffix}'
                    )

    def close(self) -> None:
        """Close pooled connections (the catalog must not be used afterwards)."""
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close on leaving a ``with`` block, so short-lived catalogs do not leak file handles."""
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._write_sessions.begin() as session:
            yield session

    # --- batches ---------------------------------------------------------------------------

    @_storage_errors
    def upsert_batch(
        self,
        batch_id: str,
        *,
        status: str,
        reason: str | None = None,
        file_count: int = 0,
        page_count: int = 0,
        unit: str | None = None,
        kind: str | None = None,
        dossier_code: str | None = None,
        created_at: datetime | None = None,
    ) -> None:
        """Create the batch or move it to ``status``.

        ``status`` and ``reason`` are always written (a retried batch loses its old
        failure reason). Zero counts and ``None`` facts keep what is stored, so a
        later status change does not erase what an earlier step recorded.
        ``created_at`` is for a catalog rebuilt from the archive, which restores the
        batch's original time (from its manifests) rather than the rebuild's.
        """
        facts = {
            "file_count": file_count or None,
            "page_count": page_count or None,
            "unit": unit,
            "kind": kind,
            "dossier_code": dossier_code,
            "created_at": created_at,
        }
        with self._write() as session:
            self._apply_batch(session, batch_id, status=status, reason=reason, facts=facts)

    @staticmethod
    def _apply_batch(
        session: Session, batch_id: str, *, status: str, reason: str | None, facts: dict[str, Any]
    ) -> BatchTable:
        """Insert or update a batch inside the caller's transaction; return it."""
        now = datetime.now(UTC)
        batch = session.get(BatchTable, batch_id)
        if batch is None:
            batch = BatchTable(id=batch_id, created_at=now, file_count=0, page_count=0)
            session.add(batch)
        batch.status, batch.reason, batch.updated_at = status, reason, now
        for name, value in facts.items():
            if value is not None:
                setattr(batch, name, value)
        session.flush()  # the batch row must exist before a record refers to it
        return batch

    @_storage_errors
    def get_batch(self, batch_id: str) -> BatchRow | None:
        """Return the batch, or ``None`` when it was never recorded."""
        with self._read() as session:
            batch = session.get(BatchTable, batch_id)
            return None if batch is None else batch_row(batch)

    # --- records ---------------------------------------------------------------------------

    @_storage_errors
    def add_record(self, manifest: Manifest, *, manifest_key: str, manifest_sha256: str) -> None:
        """Catalog an archived record and mark its batch ``archived``, in one transaction.

        Idempotent: adding the same ``record_id`` again replaces the row and its
        search entry, so re-running a batch or rebuilding from manifests is safe.
        """
        with self._write() as session:
            self._put_record(session, manifest, manifest_key, manifest_sha256)

    @_storage_errors
    def add_records(self, entries: Iterable[tuple[Manifest, str, str]], *, chunk: int = 500) -> int:
        """Catalog many ``(manifest, manifest_key, manifest_sha256)`` at once (catalog rebuild).

        The same rows as :meth:`add_record` one by one, in transactions of ``chunk``
        records: one commit per record would make rebuilding a large archive slow.
        Returns how many records were written.
        """
        written = 0
        pending = iter(entries)
        while batch := list(itertools.islice(pending, chunk)):
            with self._write() as session:
                for manifest, key, sha256 in batch:
                    self._put_record(session, manifest, key, sha256)
            written += len(batch)
        return written

    def _put_record(
        self, session: Session, manifest: Manifest, manifest_key: str, manifest_sha256: str
    ) -> None:
        """Insert or replace one record, its search entry and corrections, and touch its batch."""
        values = self._record_values(manifest, manifest_key, manifest_sha256)
        facts = {
            "file_count": len(manifest.sources) or None,
            "unit": manifest.unit,
            "kind": manifest.kind,
            "dossier_code": values["dossier_code"],
        }
        batch = self._apply_batch(
            session, manifest.batch_id, status="archived", reason=None, facts=facts
        )
        if not batch.page_count:  # the pipeline sets the whole scan's count; a later
            batch.page_count = len(manifest.pages)  # correction must not shrink it to one record's
        record = session.get(RecordTable, manifest.record_id)
        if record is None:
            record = RecordTable(id=manifest.record_id)
            session.add(record)
        elif self._fts:
            self._delete_fts(session, record)
        for name, value in values.items():
            setattr(record, name, value)
        if self._fts:
            code, body = values["dossier_code"], values["text"]
            record.fts_rowid = self._insert_fts(session, record.id, code, body)
        session.flush()
        self._replace_corrections(session, manifest)

    @staticmethod
    def _replace_corrections(session: Session, manifest: Manifest) -> None:
        """Mirror the manifest's review history (the manifest is the record of truth)."""
        session.execute(
            delete(CorrectionTable).where(CorrectionTable.record_id == manifest.record_id)
        )
        session.add_all(
            CorrectionTable(record_id=manifest.record_id, **c.model_dump())
            for c in manifest.corrections
        )

    @_storage_errors
    def list_for_review(self, *, unit: str | None = None) -> list[RecordRow]:
        """Records whose status is ``needs_review``, oldest first (the clerk's work queue)."""
        with self._read() as session:
            query = select(RecordTable).where(RecordTable.status == "needs_review")
            if unit:
                query = query.where(RecordTable.unit == unit)
            query = query.order_by(RecordTable.created_at, RecordTable.id)
            return [record_row(r) for r in session.scalars(query)]

    @_storage_errors
    def corrections(self, record_id: str) -> list[dict[str, Any]]:
        """The record's review history, oldest first."""
        with self._read() as session:
            query = (
                select(CorrectionTable)
                .where(CorrectionTable.record_id == record_id)
                .order_by(CorrectionTable.at, CorrectionTable.id)
            )
            return [
                {k: getattr(c, k) for k in ("field", "old", "new", "by", "at", "reason")}
                for c in session.scalars(query)
            ]

    def _record_values(
        self, manifest: Manifest, manifest_key: str, manifest_sha256: str
    ) -> dict[str, Any]:
        """Column values of a record row; code and text are NFC so folding keeps offsets.

        Field values not printed verbatim in the OCR text (a corrected name, a value
        decoded from a QR code) are appended to the indexed text, so search finds them.
        """
        body = unicodedata.normalize("NFC", manifest.text)
        extra = [f.value for f in manifest.fields if f.value and f.value not in body]
        if extra:
            body = body + "\n" + "\n".join(unicodedata.normalize("NFC", v) for v in extra)
        code = unicodedata.normalize("NFC", manifest.dossier_code)
        fields_json = json.dumps({f.name: f.value for f in manifest.fields}, ensure_ascii=False)
        return {
            "batch_id": manifest.batch_id,
            "dossier_code": code,
            "kind": manifest.kind,
            "unit": manifest.unit,
            "status": manifest.status,
            "page_count": len(manifest.pages),
            "mean_confidence": manifest.mean_confidence,
            "pdf_key": manifest.pdf.key,
            "pdf_sha256": manifest.pdf.sha256,
            "manifest_key": manifest_key,
            "manifest_sha256": manifest_sha256,
            "signer": manifest.signature.signer,
            "created_at": manifest.created_at,
            "fields_json": fields_json,
            "review_json": json.dumps(list(manifest.review_reasons), ensure_ascii=False),
            "text": body,
            "folded": None if self._fts else f"{fold(code)}\n{fold(body)}",
        }

    @staticmethod
    def _insert_fts(session: Session, record_id: str, code: str, body: str) -> int:
        """Index the folded code and text; return the FTS rowid kept on the record."""
        result = session.execute(
            text(
                "INSERT INTO records_fts (record_id, dossier_code, body) VALUES (:id, :code, :body)"
            ),
            {"id": record_id, "code": fold(code), "body": fold(body)},
        )
        return int(result.lastrowid)  # type: ignore[attr-defined]

    @staticmethod
    def _delete_fts(session: Session, record: RecordTable) -> None:
        """Remove the record's FTS row (by rowid when known, else by a scan on record_id)."""
        if record.fts_rowid is not None:
            session.execute(
                text("DELETE FROM records_fts WHERE rowid = :r"), {"r": record.fts_rowid}
            )
        else:
            session.execute(
                text("DELETE FROM records_fts WHERE record_id = :id"), {"id": record.id}
            )

    @_storage_errors
    def get_record(self, record_id: str) -> RecordRow:
        """Return a record by id, or by a unique id prefix of at least 8 characters.

        Raises:
            NotFoundError: no record has that id, or the prefix is too short or matches
                several records.
        """
        with self._read() as session:
            record = session.get(RecordTable, record_id)
            if record is None and len(record_id) >= MIN_PREFIX:
                found = session.scalars(
                    select(RecordTable)
                    .where(RecordTable.id.startswith(record_id, autoescape=True))
                    .limit(2)
                ).all()
                if len(found) > 1:
                    raise NotFoundError(what="record", name=f"{record_id} (ambiguous prefix)")
                record = found[0] if found else None
            if record is None:
                raise NotFoundError(what="record", name=record_id)
            return record_row(record)

    @_storage_errors
    def get_text(self, record_id: str) -> str:
        """Return the full OCR text of a record (exact id).

        Raises:
            NotFoundError: no record has that id.
        """
        with self._read() as session:
            body = session.scalar(select(RecordTable.text).where(RecordTable.id == record_id))
            if body is None:
                raise NotFoundError(what="record", name=record_id)
            return body

    @_storage_errors
    def find_records_for_batch(self, batch_id: str) -> list[RecordRow]:
        """Return the records produced by one batch, oldest first."""
        with self._read() as session:
            query = (
                select(RecordTable)
                .where(RecordTable.batch_id == batch_id)
                .order_by(RecordTable.created_at, RecordTable.id)
            )
            return [record_row(r) for r in session.scalars(query)]

    @_storage_errors
    def list_records(self, limit: int | None = None) -> list[RecordRow]:
        """Return records newest first, at most ``limit`` of them when given."""
        with self._read() as session:
            query = (
                select(RecordTable)
                .order_by(RecordTable.created_at.desc(), RecordTable.id)
                .limit(limit)
            )
            return [record_row(r) for r in session.scalars(query)]

    @_storage_errors
    def delete_record(self, record_id: str) -> None:
        """Delete a record and its search entry (exact id only: no prefixes for deletes).

        Raises:
            NotFoundError: no record has that id.
        """
        with self._write() as session:
            record = session.get(RecordTable, record_id)
            if record is None:
                raise NotFoundError(what="record", name=record_id)
            if self._fts:
                self._delete_fts(session, record)
            session.execute(delete(CorrectionTable).where(CorrectionTable.record_id == record_id))
            session.delete(record)

    @_storage_errors
    def object_keys(self) -> set[str]:
        """Every PDF and manifest key the catalog points at (for finding orphans)."""
        with self._read() as session:
            pairs = session.execute(select(RecordTable.pdf_key, RecordTable.manifest_key))
            return {key for pair in pairs for key in pair}

    @_storage_errors
    def count_records(self) -> int:
        """Return the number of records in the catalog."""
        with self._read() as session:
            return int(session.scalar(select(func.count()).select_from(RecordTable)) or 0)

    # --- search ----------------------------------------------------------------------------

    @_storage_errors
    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Search dossier codes and OCR text, ignoring case and diacritics.

        A record whose dossier code equals the query comes first; the rest are
        ranked by bm25 (code hits weigh more than text hits). Free input is
        made safe by :func:`sohoa.textfold.fts_query`, so it never raises on
        FTS5 syntax.

        Returns:
            Up to ``limit`` hits after skipping ``offset``; ``[]`` for no match or
            a query without letters or digits.
        """
        terms = query_terms(query)
        if not terms or limit <= 0:
            return []
        exact = fold(unicodedata.normalize("NFC", query.strip()))
        if self._fts:
            ranked = self._rank_fts(query, exact, limit, max(offset, 0))
        else:
            ranked = self._rank_like(terms, exact, limit, max(offset, 0))
        return self._hits(ranked, terms)

    def _rank_fts(self, query: str, exact: str, limit: int, offset: int) -> list[tuple[str, float]]:
        """Return (record id, bm25) of one page of FTS5 matches, best first."""
        sql = text(
            f"SELECT record_id, {BM25} AS score FROM records_fts WHERE records_fts MATCH :q "
            "ORDER BY (dossier_code = :exact) DESC, score, record_id LIMIT :limit OFFSET :offset"
        )
        params = {"q": fts_query(query), "exact": exact, "limit": limit, "offset": offset}
        with self._read() as session:
            return [(row[0], float(row[1])) for row in session.execute(sql, params)]

    def _rank_like(
        self, terms: list[Term], exact: str, limit: int, offset: int
    ) -> list[tuple[str, float]]:
        """Portable fallback: every term's parts must appear, in order, in the folded text."""
        patterns = ["%" + "%".join(term.parts) + "%" for term in terms]
        is_exact = func.lower(RecordTable.dossier_code) == exact
        query = (
            select(RecordTable.id)
            .where(and_(*(RecordTable.folded.ilike(p) for p in patterns)))
            .order_by(is_exact.desc(), RecordTable.created_at.desc(), RecordTable.id)
            .limit(limit)
            .offset(offset)
        )
        with self._read() as session:
            return [(record_id, 0.0) for record_id in session.scalars(query)]

    def _hits(self, ranked: list[tuple[str, float]], terms: list[Term]) -> list[SearchHit]:
        """Load the ranked records and cut a snippet of the original text around each match."""
        if not ranked:
            return []
        ids = [record_id for record_id, _ in ranked]
        with self._read() as session:
            records = {
                r.id: r for r in session.scalars(select(RecordTable).where(RecordTable.id.in_(ids)))
            }
        hits = []
        for record_id, score in ranked:
            record = records.get(record_id)
            if record is None:  # deleted between the two queries
                continue
            hits.append(
                SearchHit(
                    record_id=record.id,
                    dossier_code=record.dossier_code,
                    unit=record.unit,
                    kind=record.kind,
                    status=record.status,
                    score=score,
                    snippet=snippet(record.text, terms),
                )
            )
        return hits


MAX_OPEN = 8
"""Shared catalogs kept per process (tests open one per data directory)."""
_OPEN: dict[str, Catalog] = {}
_OPEN_LOCK = threading.Lock()


def open_catalog(url: str) -> Catalog:
    """One shared :class:`Catalog` per URL and process, so connection pools are not leaked."""
    with _OPEN_LOCK:
        catalog = _OPEN.get(url)
        if catalog is None:
            if len(_OPEN) >= MAX_OPEN:  # drop (not close: a caller may hold it) the oldest
                _OPEN.pop(next(iter(_OPEN)))
            catalog = _OPEN[url] = Catalog(url)
        return catalog


def forget_catalog(url: str) -> None:
    """Close this process's shared catalog for ``url``, e.g. before its file is replaced.

    Why: pooled SQLite connections keep the old file (and its WAL) open, so after a
    rebuild swaps a new file in they would go on reading the old one.
    """
    with _OPEN_LOCK:
        catalog = _OPEN.pop(url, None)
    if catalog is not None:
        catalog.close()
