"""Where a catalog rebuild writes the new catalog, and how it takes the old one's place.

Both kinds keep the rebuild atomic: the new catalog is complete before anything of the
old one changes, the switch is one step, and a failure before it leaves the old catalog
as it was (and removes the half-built new one).

* SQLite: a new file beside the old one, renamed over it (:class:`SqliteTarget`).
* PostgreSQL: a new schema in the same database, then, in one transaction, the old
  catalog's tables moved aside and the new ones moved into the catalog's schema
  (:class:`PostgresTarget`); only sohoa's own tables move, so anything else kept in that
  schema (Prefect's tables, say) is untouched. Sessions of other processes see the new
  tables at their next statement. The catalog's role needs CREATE on the database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import URL, inspect, text

from catalog.connection import make_engine, parse, storage_errors
from catalog.database import forget_catalog
from catalog.schema import VERSION_TABLE
from catalog.search_index import WORDS_TABLE
from catalog.tables import Base
from sohoa.errors import ConfigError

__all__ = ["PostgresTarget", "SqliteTarget", "target_for"]

log = logging.getLogger(__name__)


class SqliteTarget:
    """A rebuild into a new file beside the catalog's, renamed over it."""

    def __init__(self, url: str, dest: Path) -> None:
        self.url, self.dest = url, dest
        self.where = str(dest)
        self._new: Path | None = None

    @property
    def old_url(self) -> str | None:
        """The old catalog, if there is one to carry accounts and the register from."""
        return self.url if self.dest.exists() else None

    @contextlib.contextmanager
    def building(self) -> Iterator[str]:
        """A URL for the new catalog (a fresh file); removed again unless swapped in."""
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            dir=self.dest.parent, prefix=f".{self.dest.name}.rebuild-", suffix=".tmp"
        )
        os.close(fd)
        self._new = Path(name)
        self._new.unlink()  # SQLite creates it; an empty file is a valid but odd database
        try:
            yield f"sqlite:///{self._new}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self._new}{suffix}").unlink(missing_ok=True)

    def swap_in(self) -> bool:
        """Replace the old file by the new one in one rename; whether one was replaced.

        The new file's WAL is folded in first (one self-contained file), and the old
        file's checkpointed, so no committed write is left in a ``-wal`` file that would
        then be applied to the new database.
        """
        assert self._new is not None
        _leave_wal(self._new)
        forget_catalog(self.url)
        existed = self.dest.exists()
        if existed:
            _fold_wal(self.dest)
        os.replace(self._new, self.dest)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{self.dest}{suffix}").unlink(missing_ok=True)
        directory = os.open(self.dest.parent, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)
        return existed


def _fold_wal(path: Path) -> None:
    """Checkpoint the old file's WAL before it is replaced, if it is a database at all.

    A damaged file (truncated, overwritten, not SQLite) is the usual reason to rebuild:
    it cannot be checkpointed and needs not be, since it is replaced and its side files
    removed; a locked one is replaced all the same (its writer's later commits go to a
    file no longer in place).
    """
    db = None
    try:
        db = sqlite3.connect(path, timeout=1.0)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error as exc:
        log.warning("old catalog not checkpointed before it is replaced: %s", exc)
    finally:
        if db is not None:
            db.close()


def _leave_wal(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    db.close()


class PostgresTarget:
    """A rebuild into a new schema of the catalog's database, swapped for the old one."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        with self._engine.connect() as connection:
            self.schema = connection.scalar(text("SELECT current_schema()"))
            self._had_catalog = inspect(connection).has_table("records", schema=self.schema)
        parsed = parse(url)
        self.where = f"{parsed.host}/{parsed.database} (schema {self.schema})"
        self._new = f"sohoa_rebuild_{uuid.uuid4().hex[:12]}"

    @property
    def old_url(self) -> str | None:
        return self.url if self._had_catalog else None

    @contextlib.contextmanager
    def building(self) -> Iterator[str]:
        """A URL whose tables land in a new schema; the schema is dropped unless swapped in."""
        with self._engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{self._new}"')
        new_url = parse(self.url).update_query_dict({"options": f"-csearch_path={self._new}"})
        try:
            yield new_url.render_as_string(hide_password=False)
        finally:
            forget_catalog(_plain(new_url))
            with self._engine.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self._new}" CASCADE')
            self._engine.dispose()

    def swap_in(self) -> bool:
        """In one transaction: the old catalog's tables aside, the new ones in their place,
        the old ones dropped; whether an old catalog was replaced."""
        aside = f"sohoa_replaced_{uuid.uuid4().hex[:12]}"
        forget_catalog(self.url)
        with self._engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{aside}"')
            _move(connection, self.schema, aside)
            _move(connection, self._new, self.schema)
            connection.exec_driver_sql(f'DROP SCHEMA "{aside}" CASCADE')
        return self._had_catalog


def _ours(connection, schema: str) -> list[str]:
    """sohoa's catalog tables in ``schema``: the model's, the layout revision, the word index."""
    names = {*Base.metadata.tables, VERSION_TABLE, WORDS_TABLE}
    return [t for t in inspect(connection).get_table_names(schema=schema) if t in names]


def _move(connection, source: str, dest: str) -> None:
    """Move sohoa's tables (with their indexes, constraints and sequences) between schemas."""
    for table in _ours(connection, source):
        connection.exec_driver_sql(f'ALTER TABLE "{source}"."{table}" SET SCHEMA "{dest}"')


def _plain(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@storage_errors
def target_for(url: str) -> SqliteTarget | PostgresTarget:
    """The rebuild target for the catalog at ``url``.

    Raises:
        ConfigError: an in-memory SQLite catalog, or a database sohoa does not rebuild into.
    """
    parsed = parse(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return PostgresTarget(url)
    database = parsed.database or ""
    if backend != "sqlite" or database in ("", ":memory:") or "mode=memory" in database:
        raise ConfigError("rebuild_unsupported", backend=backend)
    path = Path(database.removeprefix("file:").split("?")[0]).expanduser().resolve()
    return SqliteTarget(url, path)
