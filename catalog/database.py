"""The catalog: one row per batch and per archived record, plus accent-insensitive search.

The object store holds the truth (PDFs and manifests); the catalog is an index
that can be rebuilt from the manifests. It is SQLite in embedded mode: WAL so
auditors can search while the pipeline writes, ``BEGIN IMMEDIATE`` for writes
so concurrent writers queue on ``busy_timeout`` instead of failing, and two FTS5
tables holding *folded* text (see :mod:`sohoa.textfold`) so "dang ky" finds
"Đăng ký": ``records_fts`` (dossier code and OCR text) and ``keys_fts`` (the key
fields). Their rows are written in the same transaction as the record row, so
they never disagree. How search uses them is in :mod:`catalog.search`.

PostgreSQL (:mod:`catalog.connection`) keeps the same words in ``tsvector`` columns with
GIN indexes instead of FTS5 (:mod:`catalog.search_index`). Without a word index
(``fulltext=False``) search falls back to ``ILIKE`` on a folded copy of the text kept
in ``records.folded``.

Upgrading: opening a catalog brings its tables to this sohoa's layout with Alembic
migrations (:mod:`catalog.schema`); the first search or write then fills new search
columns and rebuilds the FTS5 tables from the records table in one transaction
(minutes per million records, once). ``sohoa catalog rebuild`` writes the current
layout too.

Every method opens a short session and returns frozen rows, never ORM objects,
so one :class:`Catalog` can be shared by the pipeline's threads.
"""

from __future__ import annotations

import itertools
import json
import threading
import unicodedata
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from catalog import schema, search, search_index
from catalog.connection import make_engine, storage_errors
from catalog.rows import BatchRow, RecordRow, SearchHit, batch_row, record_row
from catalog.search import RESULT_CAP, SearchFilters, SearchPage
from catalog.tables import BatchTable, CorrectionTable, RecordTable
from sohoa.errors import NotFoundError
from sohoa.textfold import fold, query_terms

if TYPE_CHECKING:  # annotations only: a search need not build the manifest's models
    from schemas.models import Manifest

__all__ = [
    "Catalog",
    "SearchFilters",
    "SearchPage",
    "record_values",
]

MIN_PREFIX = 8
"""Shortest record-id prefix accepted by :meth:`Catalog.get_record` (like git)."""

# --- record rows -----------------------------------------------------------------------------


def record_values(
    manifest: Manifest, manifest_key: str, manifest_sha256: str, *, fulltext: bool
) -> dict[str, Any]:
    """Column values of a record row; code and text are NFC so folding keeps offsets.

    Field values not printed verbatim in the OCR text (a corrected name, a value
    decoded from a QR code) are appended to the indexed text, so search finds them.
    ``fts_rowid`` is the record's preferred search key; the catalog moves it up by
    one in the rare case another record holds it. Public so the search benchmark
    writes exactly these rows in bulk.
    """
    body = unicodedata.normalize("NFC", manifest.text)
    extra = [f.value for f in manifest.fields if f.value and f.value not in body]
    if extra:
        body = body + "\n" + "\n".join(unicodedata.normalize("NFC", v) for v in extra)
    code = unicodedata.normalize("NFC", manifest.dossier_code)
    fields = {f.name: f.value for f in manifest.fields}
    columns = search_index.search_columns(
        dossier_code=code, fields=fields, created_at=manifest.created_at
    )
    return {
        "id": manifest.record_id,
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
        "fields_json": json.dumps(fields, ensure_ascii=False),
        "review_json": json.dumps(list(manifest.review_reasons), ensure_ascii=False),
        "persons_json": persons_json(manifest),
        "text": body,
        "folded": None if fulltext else f"{fold(code)}\n{fold(body)}",
        **columns,
        "fts_rowid": search_index.sort_key(
            columns["received_on"], manifest.created_at, manifest.record_id
        ),
    }


def persons_json(manifest: Manifest) -> str:
    """The manifest's people as the ``persons_json`` column keeps them (NFC, no empty keys)."""
    people = [
        {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v for k, v in p.items()}
        for p in (person.model_dump(mode="json", exclude_none=True) for person in manifest.persons)
    ]
    return json.dumps(people, ensure_ascii=False)


# --- the catalog ---------------------------------------------------------------------------


class Catalog:
    """Batches, records and full-text search over one SQLAlchemy database.

    Args:
        url: SQLAlchemy URL, usually ``Settings.resolved_catalog_url``.
        fulltext: keep a word index (SQLite: FTS5; PostgreSQL: tsvectors with GIN
            indexes, :mod:`catalog.search_index`); ``None`` (default) means yes. ``False``
            exercises the portable ``ILIKE`` fallback (tests and the benchmark's
            comparison only: do not switch an existing catalog between the two).

    Raises:
        StorageError: the database cannot be created, opened or is not a database.
    """

    @storage_errors
    def __init__(self, url: str, *, fulltext: bool | None = None) -> None:
        self.url = url
        self._engine = make_engine(url)
        self._fts = True if fulltext is None else fulltext
        write_engine = self._engine.execution_options(sohoa_write=True)
        self._read = sessionmaker(self._engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(write_engine, expire_on_commit=False)
        self._search_ready = False
        self._search_lock = threading.Lock()
        self._upgrade_layout(write_engine)

    def _upgrade_layout(self, write_engine: Engine) -> None:
        """Bring the tables to this sohoa's layout (:func:`catalog.schema.upgrade`).

        The FTS5 tables and the search columns' values come later, from
        :meth:`_prepare_search`, so opening a catalog never takes long.
        """
        self.layout_revisions = schema.upgrade(self._engine, write_engine)

    # --- the search index: created or upgraded on first use ---------------------------------

    def _prepare_search(self) -> None:
        """Make the search columns and FTS5 tables current, once per catalog object.

        Checked in a read transaction first, so a catalog that is up to date (or a
        read-only file) is never locked for writing; an old one is upgraded inside
        one write transaction, re-checked there because another process may have
        done it meanwhile.
        """
        if self._search_ready:
            return
        with self._search_lock:
            if self._search_ready:
                return
            with self._read() as session:
                stale = search_index.index_stale(session, fulltext=self._fts)
            if stale:
                with self._write() as session:
                    if search_index.index_stale(session, fulltext=self._fts):
                        search_index.reindex(session, fulltext=self._fts)
            self._search_ready = True

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

    @storage_errors
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

    @storage_errors
    def note_progress(
        self,
        batch_id: str,
        *,
        pages_total: int | None = None,
        pages_done: int | None = None,
        stage: str | None = None,
    ) -> None:
        """Record how far the run digitising ``batch_id`` has got (``None``: unchanged).

        One UPDATE of the row (none when the batch has no row): a worker reports each
        page, and every web server reads it, whichever machine runs the batch.
        """
        values: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if pages_total is not None:
            values["page_count"] = pages_total
        if pages_done is not None:
            values["pages_done"] = pages_done
        if stage is not None:
            values["stage"] = stage
        with self._write() as session:
            session.execute(update(BatchTable).where(BatchTable.id == batch_id).values(**values))

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

    @storage_errors
    def get_batch(self, batch_id: str) -> BatchRow | None:
        """Return the batch, or ``None`` when it was never recorded."""
        with self._read() as session:
            batch = session.get(BatchTable, batch_id)
            return None if batch is None else batch_row(batch)

    # --- records ---------------------------------------------------------------------------

    @storage_errors
    def add_record(self, manifest: Manifest, *, manifest_key: str, manifest_sha256: str) -> None:
        """Catalog an archived record and mark its batch ``archived``, in one transaction.

        Idempotent: adding the same ``record_id`` again replaces the row and its
        search entry, so re-running a batch or rebuilding from manifests is safe.
        """
        self._prepare_search()
        with self._write() as session:
            self._put_record(session, manifest, manifest_key, manifest_sha256)

    @storage_errors
    def add_records(self, entries: Iterable[tuple[Manifest, str, str]], *, chunk: int = 500) -> int:
        """Catalog many ``(manifest, manifest_key, manifest_sha256)`` at once (catalog rebuild).

        The same rows as :meth:`add_record` one by one, in transactions of ``chunk``
        records: one commit per record would make rebuilding a large archive slow.
        Each chunk is written in search-key order, the order FTS5 appends fastest.
        Returns how many records were written.
        """
        self._prepare_search()
        written = 0
        pending = iter(entries)
        while batch := list(itertools.islice(pending, chunk)):
            rows = [(record_values(m, k, h, fulltext=self._fts), m) for m, k, h in batch]
            rows.sort(key=lambda row: row[0]["fts_rowid"])
            with self._write() as session:
                for values, manifest in rows:
                    self._put_record(session, manifest, values=values)
            written += len(batch)
        return written

    def _put_record(
        self,
        session: Session,
        manifest: Manifest,
        manifest_key: str = "",
        manifest_sha256: str = "",
        *,
        values: dict[str, Any] | None = None,
    ) -> None:
        """Insert or replace a record, its search entries, people, corrections; touch its batch."""
        if values is None:
            values = record_values(manifest, manifest_key, manifest_sha256, fulltext=self._fts)
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
        if record is not None and self._fts and record.fts_rowid is not None:
            search_index.delete_index(session, record.fts_rowid)
        key = search_index.free_key(session, values["fts_rowid"], values["id"])  # before add()
        values = {**values, "fts_rowid": key}
        if record is None:
            record = RecordTable(id=manifest.record_id)
            session.add(record)
        for name, value in values.items():
            setattr(record, name, value)
        session.flush()
        search_index.write_persons(session, manifest.record_id, values["persons_json"])
        if self._fts:
            fields = {f.name: f.value for f in manifest.fields}
            search_index.write_index(
                session, values["fts_rowid"], search_index.index_entry(values, fields)
            )
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

    @storage_errors
    def list_for_review(self, *, unit: str | Collection[str] | None = None) -> list[RecordRow]:
        """Records whose status is ``needs_review``, oldest first (the clerk's work queue).

        ``unit``: one unit code, or several (a unit and those under it); ``None``: all.
        """
        with self._read() as session:
            query = select(RecordTable).where(RecordTable.status == "needs_review")
            if unit is not None and unit != "":
                codes = [unit] if isinstance(unit, str) else list(unit)
                query = query.where(RecordTable.unit.in_(codes))
            query = query.order_by(RecordTable.created_at, RecordTable.id)
            return [record_row(r) for r in session.scalars(query)]

    @storage_errors
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

    @storage_errors
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

    @storage_errors
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

    @storage_errors
    def find_records_for_batch(self, batch_id: str) -> list[RecordRow]:
        """Return the records produced by one batch, oldest first."""
        with self._read() as session:
            query = (
                select(RecordTable)
                .where(RecordTable.batch_id == batch_id)
                .order_by(RecordTable.created_at, RecordTable.id)
            )
            return [record_row(r) for r in session.scalars(query)]

    @storage_errors
    def list_records(self, limit: int | None = None) -> list[RecordRow]:
        """Return records newest first, at most ``limit`` of them when given."""
        with self._read() as session:
            query = (
                select(RecordTable)
                .order_by(RecordTable.created_at.desc(), RecordTable.id)
                .limit(limit)
            )
            return [record_row(r) for r in session.scalars(query)]

    @storage_errors
    def delete_record(self, record_id: str) -> None:
        """Delete a record and its search entry (exact id only: no prefixes for deletes).

        Raises:
            NotFoundError: no record has that id.
        """
        self._prepare_search()
        with self._write() as session:
            record = session.get(RecordTable, record_id)
            if record is None:
                raise NotFoundError(what="record", name=record_id)
            if self._fts and record.fts_rowid is not None:
                search_index.delete_index(session, record.fts_rowid)
            session.execute(delete(CorrectionTable).where(CorrectionTable.record_id == record_id))
            search_index.write_persons(session, record_id, None)
            session.delete(record)

    @storage_errors
    def object_keys(self) -> set[str]:
        """Every PDF and manifest key the catalog points at (for finding orphans)."""
        with self._read() as session:
            pairs = session.execute(select(RecordTable.pdf_key, RecordTable.manifest_key))
            return {key for pair in pairs for key in pair}

    @storage_errors
    def count_records(self) -> int:
        """Return the number of records in the catalog."""
        with self._read() as session:
            return int(session.scalar(select(func.count()).select_from(RecordTable)) or 0)

    # --- search ----------------------------------------------------------------------------

    @storage_errors
    def find(
        self,
        query: str = "",
        *,
        filters: SearchFilters | None = None,
        limit: int = 20,
        offset: int = 0,
        cap: int = RESULT_CAP,
    ) -> SearchPage:
        """Search words, names, ID numbers and dossier codes, with or without diacritics.

        Exact code, ID or name first, then key-field matches, then text matches,
        newest first within each; an empty query lists the filtered records.
        Free input never raises on FTS5 syntax. Rules: :mod:`catalog.search`.

        Returns:
            The page, with the total (a lower bound "``cap``+" when more match).
        """
        self._prepare_search()
        with self._read() as session:
            return search.find(
                session,
                query,
                filters or SearchFilters(),
                limit=limit,
                offset=offset,
                cap=cap,
                fulltext=self._fts,
            )

    def search(self, query: str, *, limit: int = 20, offset: int = 0) -> list[SearchHit]:
        """Hits of :meth:`find` without filters; ``[]`` for a query without letters or digits."""
        if not query_terms(query) or limit <= 0:
            return []
        return list(self.find(query, limit=limit, offset=offset).hits)


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
