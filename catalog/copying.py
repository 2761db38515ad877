"""Copy whole tables from one catalog into another: what a rebuild carries over.

Why: the register, accounts, tokens, the audit log and the fixity history are not in
the archive, so a catalog rebuilt from the archive gets them from the old catalog. Rows
keep their ids (audit entries and fixity failures are cited by id), so on PostgreSQL
each table's id sequence is then moved past the highest id copied: otherwise the next
sign-in would be given an id that is already taken ("duplicate key value violates
unique constraint audit_log_pkey").
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Session

from catalog.database import Catalog
from catalog.search_index import on_postgres

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
