"""Alembic's entry point for the catalog's migrations, always run from :mod:`catalog.schema`.

:func:`catalog.schema.upgrade` hands over an open connection, already inside the
transaction (and, on PostgreSQL, the advisory lock) that the whole upgrade runs in;
nothing here opens a connection of its own or reads an ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

from catalog.schema import VERSION_TABLE, types_differ
from catalog.search_index import is_index_table
from catalog.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=types_differ,
    include_name=lambda name, kind, _parent: not (kind == "table" and is_index_table(name)),
)
with context.begin_transaction():
    context.run_migrations()
