"""Every table of the catalog, in one place: records, batches, accounts, audit, register, fixity.

The ORM classes never leave the catalog's modules: callers get the frozen rows of
:mod:`catalog.rows`, so no caller ever holds a session or trips over a detached object.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Index, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ENTRY_COLUMNS",
    "UNIT_COLUMNS",
    "ApiTokenTable",
    "AuditTable",
    "Base",
    "BatchTable",
    "CorrectionTable",
    "FixityFailureTable",
    "FixityRunTable",
    "RecordPersonTable",
    "RecordTable",
    "RegisterEntryTable",
    "RegisterUnitTable",
    "SessionTable",
    "UserTable",
    "UtcDateTime",
]

# --- tables --------------------------------------------------------------------------------


class UtcDateTime(TypeDecorator[datetime]):
    """Store datetimes as naive UTC and read them back aware, since SQLite drops time zones."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value  # naive values are taken to be UTC already
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Metadata of the catalog's ordinary tables (the FTS5 table is raw DDL in the catalog)."""


class BatchTable(Base):
    """One uploaded batch, from its arrival to ``archived``/``failed``/``quarantined``."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    file_count: Mapped[int] = mapped_column(default=0)
    page_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unit: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(32))
    dossier_code: Mapped[str | None] = mapped_column(String(255))
    pages_done: Mapped[int | None] = mapped_column(nullable=True)
    """Pages read so far by the run digitising it (a worker's progress, for every web server)."""
    stage: Mapped[str | None] = mapped_column(String(16))
    """The stage that run is in: ``pages``, ``sign``, ``store``."""


class RecordTable(Base):
    """One archived record; rebuildable from its manifest in the object store.

    The search columns (``code_key`` to ``received_on``) are derived from the
    manifest by :func:`catalog.search_index.search_columns`; each filter column has a
    composite index ending in ``fts_rowid`` so a filtered list comes out newest
    first straight from the index.
    """

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_unit_key", "unit", "fts_rowid"),
        Index("ix_records_kind_key", "kind", "fts_rowid"),
        Index("ix_records_status_key", "status", "fts_rowid"),
        Index("ix_records_procedure_key", "procedure_code", "fts_rowid"),
        Index("ix_records_sector_key", "sector", "fts_rowid"),
        Index("ux_records_fts_rowid", "fts_rowid", unique=True),
    )

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id"), index=True)
    dossier_code: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    page_count: Mapped[int]
    mean_confidence: Mapped[float]
    pdf_key: Mapped[str] = mapped_column(Text)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    manifest_key: Mapped[str] = mapped_column(Text)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    signer: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    fields_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    text: Mapped[str] = mapped_column(Text, default="")
    fts_rowid: Mapped[int | None] = mapped_column(BigInteger, default=None)
    """The record's search key: rowid of its ``records_fts``/``keys_fts`` rows and the order
    of results. It encodes ``received_on`` (see :func:`catalog.search_index.sort_key`), so "newest
    first" and a date range are rowid order and a rowid range, in SQL and in FTS5 alike.
    64-bit: the day sits above bit 32 (~3×10¹⁵), past a 32-bit ``integer`` on PostgreSQL."""
    folded: Mapped[str | None] = mapped_column(Text, default=None)
    """Folded code and text for the ``ILIKE`` fallback; NULL when FTS5 is used."""
    review_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    """The manifest's review reasons (JSON list of codes such as ``missing:applicant_name``)."""
    code_key: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    """Folded dossier code with every separator removed: ``0000006h562310270361``."""
    id_number: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """The applicant's CCCD/CMND/passport number, folded, letters and digits only."""
    name_key: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    """The applicant's name folded, one space between words: ``dang van duc``."""
    procedure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    """Mã TTHC as read (``1.004616.000.00.00.H56``); filters match it or its first 2+ groups."""
    sector: Mapped[str | None] = mapped_column(String(255), default=None)
    """Lĩnh vực folded to its words (``ho tich``), so a filter matches with or without marks."""
    received_on: Mapped[date | None] = mapped_column(Date, default=None)
    """Ngày tiếp nhận: the received-date field, else the date in the dossier code, else the
    day the record was archived (Asia/Ho_Chi_Minh). Date filters and result order use it."""
    persons_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    """The manifest's people (JSON list of :class:`~schemas.fields.Person`: role, name, ID
    number, birth date, page); ``[]`` for a record made before sohoa kept people."""


class RecordPersonTable(Base):
    """One person a record names, by role, folded for exact lookups (search tier 0).

    Why a table and not the records' own columns: a dossier names several people (the
    applicant, the child, both parents), and search by any one of them, whatever their
    role, must be an index lookup. Derived from ``records.persons_json``, written with it.
    """

    __tablename__ = "record_persons"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name_key: Mapped[str | None] = mapped_column(String(255), index=True, default=None)
    """The name folded, one space between words: ``le van tam``."""
    id_number: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    """Their ID number folded, letters and digits only."""


class CorrectionTable(Base):
    """One change made in review (a copy of the manifest's history, for listing and audit)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"), index=True)
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")


# --- accounts, sessions, API tokens and the audit log ------------------------------------


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
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """When it stops working; ``None``: never (made with ``--no-expiry``, or before tokens
    expired: revision 0004)."""
    scope: Mapped[str] = mapped_column(String(8), default="full", server_default="full")
    """``full``: what the account's role may do; ``read``: its GET requests only."""


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


class SignInFailureTable(Base):
    """One failed (or reserved) sign-in, counted against one key: the name typed, the client
    address, or the two together (:mod:`catalog.sign_in`).

    Why in the catalog and not in a web process's memory: several web processes (and
    machines) serve one province, and a limit each of them kept alone would multiply the
    guesses allowed. Keys are SHA-256 digests (the limiter needs no name or address back);
    rows older than their kind's memory are deleted as new ones come.
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    """A kind letter, ``:`` and 62 hex digits of SHA-256 (:func:`catalog.sign_in.key_of`)."""
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


# --- the one-stop-shop register ----------------------------------------------------------


class RegisterUnitTable(Base):
    """One unit that receives dossiers (sở, huyện, xã…), upserted by every import."""

    __tablename__ = "register_units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(8))
    parent: Mapped[str | None] = mapped_column(String(64))
    """Parent unit's code; not a foreign key, since the parent (the province) may be absent."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RegisterEntryTable(Base):
    """One dossier of the register, keyed by mã hồ sơ so a re-import updates it."""

    __tablename__ = "register_entries"

    dossier_code: Mapped[str] = mapped_column(String(255), primary_key=True)
    unit: Mapped[str] = mapped_column(ForeignKey("register_units.code"), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(128))
    procedure_name: Mapped[str | None] = mapped_column(Text)
    field_code: Mapped[str | None] = mapped_column(String(128))
    field_name: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    finished_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[int]
    channel: Mapped[int | None]
    paper_result: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(Text, default="")
    """Name of the file the row was last changed from (no path: paths can name people)."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When an import last inserted or changed the row (an unchanged row keeps its time)."""


ENTRY_COLUMNS: tuple[str, ...] = (
    "dossier_code",
    "unit",
    "procedure_code",
    "procedure_name",
    "field_code",
    "field_name",
    "received_on",
    "due_on",
    "finished_on",
    "status",
    "channel",
    "paper_result",
)
"""Columns that hold a :class:`schemas.register.RegisterEntry` field of the same name."""

UNIT_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent")
"""Columns that hold a :class:`schemas.register.Unit` field of the same name."""


# --- fixity history ----------------------------------------------------------------------


class FixityRunTable(Base):
    """One fixity check, from its start (``running``) to ``done`` or ``error``."""

    __tablename__ = "fixity_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    started_by: Mapped[str] = mapped_column(String(80))
    """``nightly``, ``weekly flow``, ``cli``, ``web:<account>`` or ``api:<account>`` (staff
    account names, as the audit log keeps them; never a citizen's data)."""
    sample: Mapped[str | None] = mapped_column(String(16), default=None)
    """Asked sample: a count (``50``) or a share (``10%``); ``None``: every record."""
    unit: Mapped[str | None] = mapped_column(String(64), default=None)
    """Unit the check was limited to (with the units under it); ``None``: every unit."""
    state: Mapped[str] = mapped_column(String(16), default="running")
    """``running``, ``done`` (whatever it found) or ``error`` (the check could not run)."""
    catalog_records: Mapped[int | None] = mapped_column(default=None)
    """Records the check could choose from (the unit's, or the whole catalog's)."""
    checked: Mapped[int] = mapped_column(default=0)
    problems: Mapped[int] = mapped_column(default=0)
    """Records not intact plus orphans."""
    chosen: Mapped[int | None] = mapped_column(default=None)
    """Records picked to check (the sample drawn); ``None`` until drawn. With ``checked``
    and ``problems``, written by the running check about once a second, so every web
    server shows its progress wherever it runs (revision 0005)."""
    orphans: Mapped[int | None] = mapped_column(default=None)
    """Orphan objects found; ``None`` when not looked for."""
    error: Mapped[str | None] = mapped_column(String(120), default=None)
    """Why the check could not run: the error's type and code, never its text."""
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    """``host:pid`` of the process running it, so a run left ``running`` by a process
    that died (a restart mid-check) can be closed as ``interrupted``."""
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    """When the process running the check last said it is alive (wall clock, written at
    the start, with every count and by a beat while the check is slow); a ``running`` row
    whose beat is older than ``web.fixity_stale_seconds`` lost its process, wherever it
    ran, and is closed as ``abandoned`` (revision 0006). ``None``: a run recorded before."""


class FixityFailureTable(Base):
    """One record found damaged (or one orphan object) by a run."""

    __tablename__ = "fixity_failures"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("fixity_runs.id"), index=True)
    record_id: Mapped[str | None] = mapped_column(String(128), default=None)
    """``None`` for an orphan."""
    unit: Mapped[str | None] = mapped_column(String(64), default=None)
    """The record's unit when the run ended (hides it from other units' users)."""
    status: Mapped[str] = mapped_column(String(16))
    """``missing``, ``changed``, ``invalid``, ``unreadable`` or ``orphan``."""
    reason: Mapped[str] = mapped_column(String(200), default="")
    """Codes of the bad objects, ``role:status`` joined by ``;`` (``pdf:changed``)."""
    key: Mapped[str | None] = mapped_column(String(1024), default=None)
    """The object key of an orphan."""
