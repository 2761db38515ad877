"""Tables of the web app's accounts, sessions, API tokens and audit log, in the catalog database.

They share :class:`catalog.tables.Base`, so :class:`catalog.database.Catalog`
creates them with its own tables once this module is imported (``catalog.accounts``
and ``catalog.audit`` import it, and create the tables themselves on a catalog
opened before the import).

Like the dossier register, these rows are not in the archive: a catalog rebuild
must carry them over (:func:`catalog.accounts.copy_accounts`).

Secrets are never stored: passwords as argon2id hashes, session ids and API tokens
as SHA-256 digests (they are 256-bit random values, so a fast hash is enough and a
leaked database gives no usable credential).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.tables import Base, UtcDateTime

__all__ = ["ApiTokenTable", "AuditTable", "SessionTable", "UserTable"]


class UserTable(Base):
    """One person who signs in to the web app (never deleted, only disabled, for the audit log)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    """Login name, lower case (``nguyen.van.a``)."""
    password_hash: Mapped[str] = mapped_column(Text)
    """argon2id PHC string (``$argon2id$v=19$m=…``)."""
    role: Mapped[str] = mapped_column(String(16))
    """``clerk``, ``auditor`` or ``admin``."""
    unit: Mapped[str | None] = mapped_column(String(64), default=None)
    """Mã đơn vị the user's records are limited to; ``None``: every unit."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SessionTable(Base):
    """One signed-in browser; deleting the row signs it out."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 (hex) of the session cookie's value."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    """Absolute end of the session, whatever the activity."""
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    """Client address at sign-in."""


class ApiTokenTable(Base):
    """A bearer token for the JSON API, shown once when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 (hex) of the token."""
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    """The label given when it was created (``may-quet-1``)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)


class AuditTable(Base):
    """Who did what, when, from where; appended to, never updated.

    ``detail_json`` holds ids, field names, counts and reasons, never personal
    data values (see :func:`catalog.audit.clean_detail`).
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(default=None, index=True)
    """Not a foreign key: a failed login names no user, and the log outlives accounts."""
    username: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    """The account name (for a failed login, the name that was typed)."""
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(255), default=None)
    detail_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(256), default=None)
    via: Mapped[str] = mapped_column(String(16), default="web")
    """``web`` (a browser session), ``api`` (a bearer token) or ``cli``."""
