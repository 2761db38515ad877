"""Connecting to the catalog database: the engine for a URL, and what to tell the user when
it fails.

SQLite (embedded mode) gets WAL, foreign keys, a busy timeout and explicit ``BEGIN
IMMEDIATE`` for writers. PostgreSQL (a province's shared catalog) is reached through
psycopg 3: a plain ``postgresql://`` URL, as a sysadmin writes it, means psycopg, not
SQLAlchemy's default psycopg2 (which sohoa does not install).

A failure names the database by where it is (host, port and database, or the file;
never the password) and says which kind of failure it is, because each has another
remedy: a wrong password, a missing database or an unknown driver is a configuration
error (fix ``SOHOA_CATALOG_URL``; retrying cannot help), while a server that cannot be
reached or fails mid-way is a storage failure (the batch stays in the inbox and the next
run completes it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import URL, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from sohoa.errors import ConfigError, SohoaError, StorageError

__all__ = ["BUSY_TIMEOUT_MS", "catalog_error", "location", "make_engine", "parse", "storage_errors"]

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another writer before 'database is locked'."""
CONNECT_TIMEOUT_S = 10
"""How long to wait for a PostgreSQL server before saying it cannot be reached."""
POSTGRES_DRIVER = "postgresql+psycopg"
LOGIN_REFUSED = frozenset({"28P01", "28000"})
"""SQLSTATEs of a refused login: wrong password, no such role or not allowed (pg_hba)."""
NO_DATABASE = "3D000"
"""SQLSTATE of a database that does not exist."""
LOGIN_REFUSED_TEXT = (
    "password authentication failed",
    "no pg_hba.conf entry",
    "authentication failed",
    "password is required",
    'role "',  # role "x" does not exist
)
NO_DATABASE_TEXT = ('database "',)  # database "x" does not exist
"""libpq gives a refused connection no SQLSTATE, only the server's message (in English on
Debian's default ``lc_messages``): these phrases tell a login refused from a missing
database; any other failure to connect is a server that could not be reached."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def parse(url: str) -> URL:
    """``url`` as SQLAlchemy connects to it: ``postgresql://`` and ``postgres://`` mean psycopg 3.

    Raises:
        ConfigError: not a database URL at all.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError("catalog_url", reason=str(exc)) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    return parsed


def location(url: str | URL) -> str:
    """Where the catalog is, for messages: the SQLite file, or ``host:port/database``.

    Never the password or the user (logs are read by more people than the URL is).
    """
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "?"
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def make_engine(url: str) -> Engine:
    """The engine for the catalog at ``url`` (see the module docstring)."""
    parsed = parse(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    connect_args = (
        {"connect_timeout": CONNECT_TIMEOUT_S} if parsed.drivername == POSTGRES_DRIVER else {}
    )
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def catalog_error(exc: BaseException, url: str | None) -> SohoaError:
    """The error to show for a database or file failure of the catalog at ``url``."""
    where = location(url) if url else "?"
    original = getattr(exc, "orig", None) or exc
    reason = _reason(original)
    state = getattr(original, "sqlstate", None) or _connect_state(str(original))
    if state in LOGIN_REFUSED:
        return ConfigError("catalog_login", where=where, reason=reason)
    if state == NO_DATABASE:
        return ConfigError("catalog_no_database", where=where, reason=reason)
    if isinstance(exc, NoSuchModuleError | ImportError):
        return ConfigError("catalog_driver", where=where, reason=reason)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated or _unreachable(exc, state):
        return StorageError("catalog_unreachable", operation="catalog", where=where, reason=reason)
    return StorageError("catalog_failed", operation="catalog", where=where, reason=reason)


def _reason(error: BaseException) -> str:
    """The failure in the server's or the driver's own words, without libpq's preamble
    ("connection failed: connection to server at …, port … failed: FATAL:")."""
    first = " ".join((str(error).strip().splitlines() or [type(error).__name__])[0].split())
    for marker in ("FATAL:", "failed: "):
        if marker in first:
            first = first.rsplit(marker, 1)[1].strip() or first
            break
    return first[:300]


def _connect_state(message: str) -> str | None:
    """The SQLSTATE a refused connection would have had, read from libpq's message."""
    if any(phrase in message for phrase in LOGIN_REFUSED_TEXT):
        return "28P01"
    if any(phrase in message and "does not exist" in message for phrase in NO_DATABASE_TEXT):
        return NO_DATABASE
    return None


def _unreachable(exc: BaseException, state: str | None) -> bool:
    """A PostgreSQL server that did not answer (refused, timed out, went away): no SQLSTATE,
    or one of class 08 (connection exception) or 57P (shut down by the administrator)."""
    if not isinstance(exc, DBAPIError) or not type(
        getattr(exc, "orig", None)
    ).__module__.startswith("psycopg"):
        return False
    return state is None or state.startswith(("08", "57P"))


def storage_errors(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn database and file-system failures into :func:`catalog_error`'s errors.

    The wrapped function's first argument is the catalog (or, for :class:`Catalog`'s own
    methods, ``self``) or its URL: that says which database the message names.
    """

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except (SQLAlchemyError, OSError, ImportError) as exc:
            first = args[0] if args else None
            url = first if isinstance(first, str) else getattr(first, "url", None)
            raise catalog_error(exc, url) from exc

    return wrapper


def _sqlite_engine(url: URL) -> Engine:
    """Create a SQLite engine with WAL, foreign keys, a busy timeout and explicit BEGINs."""
    database = url.database or ""
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
