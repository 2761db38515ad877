"""The catalog's layout, kept current by Alembic migrations (``catalog/migrations/``).

Every catalog, SQLite or PostgreSQL, records its revision in :data:`VERSION_TABLE` (not
Alembic's default ``alembic_version``: a province may keep the catalog in the database
that holds Prefect's own, Alembic-managed, tables). Opening a catalog upgrades it
(:func:`upgrade`), which is safe to do on start-up because:

* a catalog already current is only read (one query), so a read-only SQLite copy or an
  auditor's read-only database role opens as before;
* an upgrade runs in one transaction, under SQLite's write lock or a PostgreSQL advisory
  lock, re-checked once the lock is held: several workers starting together upgrade it
  once, the others wait and find it done; a failure leaves the old layout whole;
* a catalog a newer sohoa has upgraded is refused with a clear message, never altered.

A catalog made before migrations existed (its tables, no version table) is completed to
the baseline revision from that revision's own frozen layout (missing tables, columns
and indexes added; nothing dropped), stamped, then upgraded like any other.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, inspect

from catalog.connection import make_engine, storage_errors
from sohoa.errors import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "BASELINE",
    "VERSION_TABLE",
    "current_revision",
    "head_revision",
    "types_differ",
    "upgrade",
    "upgrade_at",
]

VERSION_TABLE = "sohoa_catalog_version"
BASELINE = "0001"
"""The revision of the layout the last release without migrations left."""
MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_LOCK = 0x736F686F61
"""PostgreSQL advisory-lock key held while a catalog is upgraded ("sohoa" in ASCII)."""


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


@cache
def head_revision() -> str:
    """The newest revision this sohoa knows: the highest number among the migration files.

    Why from the file names and not Alembic's script directory: every command that opens
    the catalog (``search``, ``show``) asks, and importing Alembic and parsing the scripts
    cost 0.3-0.8 s of a read that takes milliseconds. Each file ``NNNN_*.py`` holds
    revision ``NNNN`` on one line of revisions (``tests/test_catalog_schema.py``).
    """
    numbers = sorted(
        p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    )
    assert numbers, "catalog/migrations has no revisions"
    return numbers[-1]


def current_revision(connection: Connection) -> str | None:
    """The catalog's revision; ``None`` when it has none (empty, or made before migrations).

    Read with one query (Alembic's own reader is imported only for an upgrade)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    if len(rows) > 1:  # several heads: not a layout this sohoa writes
        raise ConfigError(
            "catalog_newer", revision=",".join(r[0] for r in rows), head=head_revision()
        )
    return rows[0][0] if rows else None


def upgrade(engine: Engine, write_engine: Engine) -> tuple[str | None, str]:
    """Bring the catalog to :func:`head_revision`; returns (revision before, revision after).

    ``write_engine`` is ``engine`` with the catalog's write options (SQLite's ``BEGIN
    IMMEDIATE``): the upgrade waits for other writers instead of failing.
    """
    head = head_revision()
    with engine.connect() as connection:
        before = current_revision(connection)
    if before == head:
        return before, head
    from alembic import command

    _known(before)
    with write_engine.begin() as connection:
        _hold_upgrade_lock(connection)
        before = current_revision(connection)  # another process may have done it meanwhile
        _known(before)
        if before is None and inspect(connection).has_table("records"):
            _complete_to_baseline(connection)
            command.stamp(_config(connection), BASELINE)
        if before != head:
            command.upgrade(_config(connection), "head")
    return before, head


def types_differ(context, inspected, metadata_column, inspected_type, metadata_type) -> bool | None:
    """Alembic's ``compare_type`` hook: SQLite's ``INTEGER`` and ``BIGINT`` are one storage
    class (64-bit), so a catalog made before the key was declared 64-bit is not different;
    anything else is left to Alembic's own comparison (``None``)."""
    if context.dialect.name == "sqlite":
        integers = (sa.Integer, sa.BigInteger)
        if isinstance(inspected_type, integers) and isinstance(metadata_type, integers):
            return False
    return None


@storage_errors
def upgrade_at(url: str) -> tuple[str | None, str]:
    """:func:`upgrade` for the catalog at ``url`` (``sohoa catalog upgrade``)."""
    engine = make_engine(url)
    try:
        return upgrade(engine, engine.execution_options(sohoa_write=True))
    finally:
        engine.dispose()


def _known(revision: str | None) -> None:
    """Refuse a catalog upgraded by a newer sohoa: altering it could lose what it added."""
    from alembic.util.exc import CommandError

    if revision is None:
        return
    try:
        _scripts().get_revision(revision)
    except CommandError as exc:
        raise ConfigError("catalog_newer", revision=revision, head=head_revision()) from exc


def _hold_upgrade_lock(connection: Connection) -> None:
    """PostgreSQL: one upgrader at a time, until this transaction ends (SQLite's
    ``BEGIN IMMEDIATE`` already holds its write lock)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})


def _complete_to_baseline(connection: Connection) -> None:
    """Add what a pre-migration catalog lacks of the baseline layout (never drops anything).

    Releases before migrations added columns when a catalog was opened; one that missed
    some releases lacks those columns and their indexes. On PostgreSQL the search key was
    a 32-bit ``integer``, which no record's key fits: it is widened.
    """
    layout = _baseline_module().baseline()
    layout.create_all(connection, checkfirst=True)
    inspector = inspect(connection)
    for table in layout.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                _add_column(connection, table.name, column)
        indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexes:
                index.create(connection)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE records ALTER COLUMN fts_rowid TYPE BIGINT")


def _add_column(connection: Connection, table: str, column: sa.Column) -> None:
    kind = column.type.compile(connection.dialect)
    default = column.server_default.arg if column.server_default is not None else None
    suffix = f" DEFAULT '{default}'" if isinstance(default, str) else ""
    connection.exec_driver_sql(f'ALTER TABLE {table} ADD COLUMN "{column.name}" {kind}{suffix}')


def _baseline_module() -> ModuleType:
    """The baseline revision's module (its file name starts with a digit: loaded by path)."""
    path = Path(_scripts().get_revision(BASELINE).path)
    spec = importlib.util.spec_from_file_location("sohoa_catalog_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
