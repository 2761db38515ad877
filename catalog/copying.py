"""Copy whole tables from one catalog into another, or out to JSON-ready rows and back in.

Why: the register, accounts, tokens, the audit log and the fixity history are not in
the archive, so a catalog rebuilt from the archive gets them from the old catalog. Rows
keep their ids (audit entries and fixity failures are cited by id), so on PostgreSQL
each table's id sequence is then moved past the highest id copied: otherwise the next
sign-in would be given an id that is already taken ("duplicate key value violates
unique constraint audit_log_pkey").

The same rows also travel through the object store (:mod:`records.catalog_backup`,
:mod:`records.audit_trail`) for when the old catalog cannot be read at all:
:func:`export_rows` turns a table into plain JSON values and :func:`import_rows` puts
them back with their types, so a backup is readable without sohoa's ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Session

from catalog.connection import storage_errors
from catalog.database import Catalog
from catalog.search_index import on_postgres
from catalog.tables import UtcDateTime

CHUNK = 1000


def copy_tables(
    source: Catalog,
    target: Catalog,
    tables: Sequence[type[DeclarativeBase]],
    *,
    emptied: Sequence[type[DeclarativeBase]] = (),
) -> dict[str, int]:
    """Replace ``tables`` (parents first) in ``target`` with ``source``'s rows; rows per table.

    ``emptied`` tables are only cleared in ``target`` (sessions: everyone signs in again).
    One write transaction: the target has all of them or none.
    """
    copied = {}
    with source._read() as reading, target._write() as writing:
        for table in [*reversed(tables), *emptied]:  # children first
            writing.execute(table.__table__.delete())
        for table in tables:
            rows = reading.execute(select(table.__table__).execution_options(yield_per=CHUNK))
            copied[table.__tablename__] = 0
            for chunk in rows.partitions(CHUNK):
                writing.execute(insert(table), [dict(r._mapping) for r in chunk])
                copied[table.__tablename__] += len(chunk)
            _advance_sequence(writing, table)
    return copied


def _advance_sequence(session: Session, table: type[DeclarativeBase]) -> None:
    """On PostgreSQL, make the table's next generated id follow the highest one it holds."""
    column = table.__table__.autoincrement_column
    if column is None or not on_postgres(session):
        return
    highest = session.execute(select(func.max(column))).scalar()
    session.execute(
        text("SELECT setval(pg_get_serial_sequence(:table, :column), :value, :called)"),
        {
            "table": table.__tablename__,
            "column": column.name,
            "value": highest or 1,
            "called": highest is not None,
        },
    )


def _plain(value: Any) -> Any:
    """A column value as JSON: dates and times in ISO 8601 (times are UTC)."""
    return value.isoformat() if isinstance(value, date | datetime) else value


@storage_errors
def export_rows(
    source: Catalog,
    table: type[DeclarativeBase],
    *,
    where: Sequence[Any] = (),
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``table`` (matching ``where``) as dicts of JSON values, in key order."""
    columns = table.__table__.columns
    order = list(table.__table__.primary_key.columns)
    query = select(table.__table__).where(*where).order_by(*order).limit(limit)
    with source._read() as reading:
        rows = reading.execute(query)
        return [{c.name: _plain(row._mapping[c.name]) for c in columns} for row in rows]


def _typed(table: type[DeclarativeBase], row: Mapping[str, Any]) -> dict[str, Any]:
    """One exported row with its dates and times parsed again; unknown keys dropped.

    A column the row lacks (a backup taken before the column existed) gets the column's
    default: a token backed up before tokens had a scope comes back ``full``, not NULL.
    """
    typed = {}
    for column in table.__table__.columns:
        value = row[column.name] if column.name in row else _default(column)
        if isinstance(value, str) and isinstance(column.type, UtcDateTime):
            value = datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(column.type, Date):
            value = date.fromisoformat(value)
        typed[column.name] = value
    return typed


def _default(column: Any) -> Any:
    """The column's plain Python default (``None`` when it has none, or a computed one)."""
    default = column.default
    return default.arg if default is not None and default.is_scalar else None


@storage_errors
def import_rows(
    target: Catalog,
    tables: Iterable[tuple[type[DeclarativeBase], Sequence[Mapping[str, Any]]]],
) -> dict[str, int]:
    """Insert exported rows, parents first, in one transaction; rows written per table.

    Rows whose primary key the target already holds are left out: in a rebuilt catalog
    the archive's facts (an archived batch) win over a backup's older row for the same key.
    """
    written = {}
    with target._write() as writing:
        for table, rows in tables:
            typed = [_typed(table, row) for row in rows]
            fresh = _not_there(writing, table, typed)
            for start in range(0, len(fresh), CHUNK):
                writing.execute(insert(table), fresh[start : start + CHUNK])
            _advance_sequence(writing, table)
            written[table.__tablename__] = len(fresh)
    return written


def _not_there(
    session: Session, table: type[DeclarativeBase], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows whose primary key the table does not hold yet (asked in chunks, so the
    cost follows the rows brought, not the table's size)."""
    key = next(iter(table.__table__.primary_key.columns))
    wanted = [r[key.name] for r in rows]
    have: set[Any] = set()
    for start in range(0, len(wanted), CHUNK):
        have.update(session.scalars(select(key).where(key.in_(wanted[start : start + CHUNK]))))
    return [r for r in rows if r[key.name] not in have]
