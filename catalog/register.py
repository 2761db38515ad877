"""The one-stop-shop dossier register in the catalog database: import, query, match.

The digitisation rates an office reports divide "dossiers digitised" by
"dossiers received/solved", and only the one-stop-shop register knows the
dossiers that were never scanned. :func:`import_register` loads its CSV/XLSX
exports (see :mod:`catalog.register_file` and :mod:`catalog.register_rows`),
keyed by mã hồ sơ so a re-import updates rather than duplicates; the report code
reads it back through :func:`entries`, :func:`units` and :func:`digitised_index`.

Plain functions over a :class:`catalog.database.Catalog` (no Prefect). They use the
catalog's own sessions, so an import is one ``BEGIN IMMEDIATE`` transaction: all
good rows or nothing. Logs carry counts only, never row contents.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from catalog.connection import storage_errors
from catalog.copying import copy_tables
from catalog.database import Catalog
from catalog.register_file import Table, load_mapping, open_table
from catalog.register_rows import BadRow, ParsedRow, UnitFacts, parse_rows
from catalog.tables import (
    ENTRY_COLUMNS,
    UNIT_COLUMNS,
    RecordTable,
    RegisterEntryTable,
    RegisterUnitTable,
)
from schemas.register import RegisterEntry, Unit
from schemas.settings import Kind
from sohoa.errors import StorageError

__all__ = [
    "DIGITISED_STATUSES",
    "BadRow",
    "ImportResult",
    "Mismatches",
    "UnitMismatch",
    "UnregisteredRecord",
    "copy_register",
    "digitised_index",
    "entries",
    "import_register",
    "mismatches",
    "units",
]

log = logging.getLogger(__name__)

DIGITISED_STATUSES = ("archived", "needs_review")
"""Record statuses that count as digitised: a record waiting for review is already scanned."""
CHUNK = 1000
"""Rows compared and written per round trip (well under SQLite's 32,766 parameters)."""
IN_CHUNK = 500
"""Dossier codes per ``IN (...)`` when looking codes up."""


# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    """What one import read and wrote."""

    file: str
    """The file's name (no directory)."""
    format: str
    """``csv`` or ``xlsx``."""
    header_line: int
    """Line of the header row."""
    columns: Mapping[str, str]
    """Our field name -> the file's header it was read from."""
    ignored_columns: tuple[str, ...]
    """Headers that matched no field (write a mapping file to use them)."""
    inserted: int
    """Dossiers new to the register."""
    updated: int
    """Dossiers already in the register whose values changed."""
    unchanged: int
    """Dossiers already in the register with the same values."""
    bad_rows: tuple[BadRow, ...]
    """Every problem found, one per bad cell, in file order."""
    units_inserted: int = 0
    """Units new to the register."""
    units_updated: int = 0
    """Known units whose name, level or parent changed."""
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    @property
    def bad(self) -> int:
        """How many rows were left out (a row with two bad cells counts once)."""
        return len({row.line for row in self.bad_rows})

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        """Plain data for JSON, bad rows with their message in ``lang``."""
        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.sheet,
            "header_line": self.header_line,
            "columns": dict(self.columns),
            "ignored_columns": list(self.ignored_columns),
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "bad": self.bad,
            "units_inserted": self.units_inserted,
            "units_updated": self.units_updated,
            "bad_rows": [
                {
                    "line": row.line,
                    "reason": row.reason,
                    "column": row.column,
                    "value": row.value,
                    "message": row.render(lang),
                }
                for row in self.bad_rows
            ],
        }


@dataclass(frozen=True)
class UnregisteredRecord:
    """A digitised record whose mã hồ sơ is not in the register (or that has none)."""

    record_id: str
    dossier_code: str
    unit: str
    kind: str


@dataclass(frozen=True)
class UnitMismatch:
    """A dossier the register files under one unit while its record says another."""

    dossier_code: str
    register_unit: str
    record_unit: str
    record_id: str


@dataclass(frozen=True)
class Mismatches:
    """What ``sohoa register check`` lists."""

    unregistered: tuple[UnregisteredRecord, ...] = ()
    wrong_unit: tuple[UnitMismatch, ...] = ()

    def to_dict(self) -> dict[str, list[dict[str, str]]]:
        return {
            "unregistered": [asdict(r) for r in self.unregistered],
            "wrong_unit": [asdict(r) for r in self.wrong_unit],
        }


# --- import ----------------------------------------------------------------------------------


@dataclass
class _Counts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)
    units_before: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """Each unit the file names, as stored before the import (``None``: new)."""
    units_now: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The same units as written so far."""

    def unit_changes(self) -> tuple[int, int]:
        """(new units, changed units), judged on the net effect of the whole file."""
        new = sum(1 for old in self.units_before.values() if old is None)
        changed = sum(
            1
            for code, old in self.units_before.items()
            if old is not None and self.units_now[code] != old
        )
        return new, changed


def import_register(
    catalog: Catalog, path: Path | str, mapping: Path | str | None = None
) -> ImportResult:
    """Import one CSV/XLSX export of the one-stop-shop register, in one transaction.

    Rows are upserted by mã hồ sơ and units by code; a value the file leaves blank
    or has no column for keeps what is stored for a unit, and a column the file
    lacks keeps the stored dossier value. Bad rows are collected, good rows kept.

    Args:
        catalog: the catalog whose database holds the register.
        path: the export (format recognised from its bytes).
        mapping: optional TOML file ``our_field = "their header"`` for other exports.

    Raises:
        NotFoundError: the file or mapping does not exist.
        BadInputError: empty, headerless, not a table, corrupt (nothing is written).
        EncryptedInputError: a password-protected workbook.
        ConfigError: an invalid mapping file.
        StorageError: the database failed (nothing is written).
    """
    columns = load_mapping(mapping) if mapping is not None else None
    with open_table(Path(path), columns) as table:
        counts = _write_all(catalog, table)
    result = ImportResult(
        file=table.file,
        format=table.format,
        header_line=table.header.line,
        columns=dict(table.header.names),
        ignored_columns=table.header.ignored,
        inserted=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        bad_rows=tuple(counts.bad_rows),
        units_inserted=counts.unit_changes()[0],
        units_updated=counts.unit_changes()[1],
        encoding=table.encoding,
        delimiter=table.delimiter,
        sheet=table.sheet,
    )
    log.info(
        "register import (%s): %d inserted, %d updated, %d unchanged, %d bad rows, %d/%d units",
        table.format,
        result.inserted,
        result.updated,
        result.unchanged,
        result.bad,
        result.units_inserted,
        result.units_updated,
    )
    return result


def _write_all(catalog: Catalog, table: Table) -> _Counts:
    """Stream the rows into the database in chunks, all inside one write transaction."""
    counts = _Counts()
    present = set(table.header.columns)
    try:
        with catalog._write() as session:
            rows = parse_rows(table)
            while chunk := list(itertools.islice(rows, CHUNK)):
                good = [row for row in chunk if isinstance(row, ParsedRow)]
                counts.bad_rows.extend(row for row in chunk if isinstance(row, BadRow))
                _upsert_units(session, [row.unit for row in good], counts)
                _upsert_entries(session, good, present, table.file, counts)
    except SQLAlchemyError as exc:
        raise StorageError(operation="register import", reason=str(exc).splitlines()[0]) from exc
    return counts


def _upsert_units(session: Session, facts: list[UnitFacts], counts: _Counts) -> None:
    """Insert new units and update changed ones; a value the row leaves blank is kept.

    ``counts`` remembers every unit's stored values across chunks, so each unit is
    read from the database once per import.
    """
    wanted = {f.code for f in facts} - counts.units_now.keys()
    if wanted:
        columns = (getattr(RegisterUnitTable, c) for c in UNIT_COLUMNS)
        query = select(*columns).where(RegisterUnitTable.code.in_(wanted))
        found = {row.code: dict(row._mapping) for row in session.execute(query)}
        for code in wanted:
            counts.units_before[code] = found.get(code)
            if code in found:
                counts.units_now[code] = found[code]
    inserts: dict[str, dict[str, Any]] = {}
    updates: dict[str, dict[str, Any]] = {}
    for fact in facts:
        given = {"name": fact.name, "level": fact.level, "parent": fact.parent}
        old = counts.units_now.get(fact.code)
        if old is None:
            inserts[fact.code] = {"code": fact.code, **given, "name": fact.name or fact.code}
            counts.units_now[fact.code] = inserts[fact.code]
            continue
        new = {**old, **{k: v for k, v in given.items() if v is not None}}
        if new != old:
            counts.units_now[fact.code] = new
            (inserts if fact.code in inserts else updates)[fact.code] = new
    now = datetime.now(UTC)
    for statement, values in ((insert, inserts), (update, updates)):
        if values:
            rows = [{**v, "updated_at": now} for v in values.values()]
            session.execute(statement(RegisterUnitTable), rows)


def _upsert_entries(
    session: Session, rows: list[ParsedRow], present: set[str], source: str, counts: _Counts
) -> None:
    """Insert new dossiers, update changed ones; only columns the file has are compared."""
    if not rows:
        return
    columns = [c for c in ENTRY_COLUMNS if c in present or c in ("dossier_code", "unit")]
    stored = {
        row.dossier_code: dict(row._mapping)
        for row in session.execute(
            select(*(getattr(RegisterEntryTable, c) for c in columns)).where(
                RegisterEntryTable.dossier_code.in_([r.entry.dossier_code for r in rows])
            )
        )
    }
    now = datetime.now(UTC)
    inserts, updates = [], []
    for row in rows:
        values = row.entry.model_dump()
        old = stored.get(row.entry.dossier_code)
        if old is None:
            inserts.append({**values, "source": source, "updated_at": now})
            continue
        new = {c: values[c] for c in columns}
        if new == old:
            counts.unchanged += 1
        else:
            updates.append({**new, "source": source, "updated_at": now})
    if inserts:
        session.execute(insert(RegisterEntryTable), inserts)
    if updates:
        session.execute(update(RegisterEntryTable), updates)
    counts.inserted += len(inserts)
    counts.updated += len(updates)


# --- queries ---------------------------------------------------------------------------------


def entries(
    catalog: Catalog,
    *,
    units: Iterable[str] | None = None,
    received_from: date | None = None,
    received_to: date | None = None,
    finished_from: date | None = None,
    finished_to: date | None = None,
) -> Iterator[RegisterEntry]:
    """Stream register dossiers, filtered in SQL, ordered by mã hồ sơ.

    Date bounds are inclusive; a dossier without the date is left out by a bound on
    it. ``units`` lists unit codes (roll-ups pass the unit and its descendants);
    an empty collection yields nothing. The read session stays open while the
    caller iterates, so large registers never sit in memory.

    Raises:
        StorageError: the database failed.
    """
    table = RegisterEntryTable
    query = select(*(getattr(table, c) for c in ENTRY_COLUMNS)).order_by(table.dossier_code)
    if units is not None:
        codes = list(dict.fromkeys(units))
        if not codes:
            return
        query = query.where(table.unit.in_(codes))
    bounds = (
        (table.received_on, received_from, received_to),
        (table.finished_on, finished_from, finished_to),
    )
    for column, low, high in bounds:
        if low is not None:
            query = query.where(column >= low)
        if high is not None:
            query = query.where(column <= high)
    try:
        with catalog._read() as session:
            for row in session.execute(query.execution_options(yield_per=CHUNK)):
                yield RegisterEntry(**row._mapping)
    except SQLAlchemyError as exc:
        raise StorageError(operation="register", reason=str(exc).splitlines()[0]) from exc


@storage_errors
def units(catalog: Catalog) -> list[Unit]:
    """Every unit the register knows, ordered by code."""
    columns = (getattr(RegisterUnitTable, c) for c in UNIT_COLUMNS)
    with catalog._read() as session:
        rows = session.execute(select(*columns).order_by(RegisterUnitTable.code))
        return [Unit(**row._mapping) for row in rows]


@storage_errors
def digitised_index(
    catalog: Catalog, codes: Collection[str] | None = None
) -> dict[str, frozenset[Kind]]:
    """Mã hồ sơ -> kinds (``thanh-phan``, ``ket-qua``) of its digitised records.

    Records in review count (the scan exists). Records without a dossier code are
    left out: nothing in the register can match them.

    Args:
        codes: only these dossier codes (looked up in chunks); ``None`` for all.
    """
    base = (
        select(RecordTable.dossier_code, RecordTable.kind)
        .where(RecordTable.status.in_(DIGITISED_STATUSES), RecordTable.dossier_code != "")
        .distinct()
    )
    found: dict[str, set[Kind]] = {}
    with catalog._read() as session:
        if codes is None:
            queries = [base]
        else:
            ordered = list(dict.fromkeys(codes))
            queries = [
                base.where(RecordTable.dossier_code.in_(ordered[i : i + IN_CHUNK]))
                for i in range(0, len(ordered), IN_CHUNK)
            ]
        for query in queries:
            for code, kind in session.execute(query):
                found.setdefault(code, set()).add(kind)
    return {code: frozenset(kinds) for code, kinds in found.items()}


@storage_errors
def mismatches(catalog: Catalog) -> Mismatches:
    """Digitised records missing from the register, and records filed under another unit.

    Why: a record the register does not know is never counted in a rate (a mistyped
    code, or a register not imported yet); a unit disagreement moves a dossier
    between units' rates.
    """
    record, entry = RecordTable, RegisterEntryTable
    join = entry.dossier_code == record.dossier_code
    digitised = record.status.in_(DIGITISED_STATUSES)
    missing = (
        select(record.id, record.dossier_code, record.unit, record.kind)
        .outerjoin(entry, join)
        .where(digitised, entry.dossier_code.is_(None))
        .order_by(record.dossier_code, record.id)
    )
    moved = (
        select(record.dossier_code, entry.unit, record.unit, record.id)
        .join(entry, join)
        .where(digitised, entry.unit != record.unit)
        .order_by(record.dossier_code, record.id)
    )
    with catalog._read() as session:
        unregistered = tuple(UnregisteredRecord(*row) for row in session.execute(missing))
        wrong_unit = tuple(UnitMismatch(*row) for row in session.execute(moved))
    return Mismatches(unregistered=unregistered, wrong_unit=wrong_unit)


@storage_errors
def copy_register(source: Catalog, target: Catalog) -> int:
    """Copy every unit and dossier of ``source``'s register into ``target``; return the dossiers.

    Why: the register cannot be rebuilt from the archive's manifests, so a catalog
    rebuild that writes a fresh database must carry it over (or it must be re-imported).
    """
    tables = (RegisterUnitTable, RegisterEntryTable)  # parents first: entries refer to units
    return copy_tables(source, target, tables)[RegisterEntryTable.__tablename__]
