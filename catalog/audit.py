"""The audit log: who viewed, downloaded, corrected, verified or administered what, when, from where.

Plain functions over a :class:`catalog.database.Catalog` (the ``audit_log`` table of
:mod:`catalog.tables`). The web app writes through :func:`web.audit.audit`,
which fills the :class:`Actor` from the request; the CLI writes with an actor
built from the OS user (``via="cli"``).

The log must not become a second copy of citizens' data: an entry names records by
id and fields by name, never their values. :func:`clean_detail` enforces what it
can (flat JSON of short scalars, ID numbers/phones/e-mails masked), and callers
pass counts instead of search words.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from catalog.connection import storage_errors
from catalog.copying import export_rows
from catalog.database import Catalog
from catalog.tables import AuditTable
from sohoa.logmask import mask_personal_data

__all__ = [
    "Action",
    "Actor",
    "AuditEntry",
    "AuditFilter",
    "AuditPage",
    "actions",
    "clean_detail",
    "last_seal",
    "query",
    "record",
    "rows_after",
]

MAX_PER_PAGE = 500
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,63}")
_MAX_TEXT = 200
_MAX_ITEMS = 50


class Action(StrEnum):
    """Action names, dotted ``area.verb``; the filter accepts ``area.*``."""

    LOGIN = "login"
    LOGIN_FAILED = "login.failed"
    LOGIN_BLOCKED = "login.blocked"
    LOGOUT = "logout"
    USER_CREATE = "user.create"
    USER_DISABLE = "user.disable"
    USER_ENABLE = "user.enable"
    USER_PASSWORD = "user.password"
    USER_ROLE = "user.role"
    UNIT_SAVE = "unit.save"
    UNIT_DELETE = "unit.delete"
    TOKEN_CREATE = "token.create"
    TOKEN_REVOKE = "token.revoke"
    TOKEN_REJECTED = "token.rejected"
    ACCESS_DENIED = "access.denied"
    CSRF_REJECTED = "csrf.rejected"
    AUDIT_VIEW = "audit.view"
    # Used by the clerk's and auditor's pages.
    BATCH_UPLOAD = "batch.upload"
    RECORD_VIEW = "record.view"
    RECORD_DOWNLOAD = "record.download"
    RECORD_CORRECT = "record.correct"
    RECORD_ACCEPT = "record.accept"
    RECORD_VERIFY = "record.verify"
    RECORD_VERSION = "record.version"
    """Pages added to or replaced in a record from the review page: a new signed version."""
    SEARCH = "search"
    REPORT_VIEW = "report.view"
    FIXITY_START = "fixity.start"
    """A fixity check of the archive started from ``/verify`` or ``POST /api/fixity``."""
    AUDIT_SEAL = "audit.seal"
    """Entries were sealed into an object-locked segment (:mod:`records.audit_trail`); the
    target is the segment's head hash and the detail its number: the anchor ``sohoa verify
    --audit`` checks the store's last segment against."""


@dataclass(frozen=True)
class Actor:
    """Who acts, and from where (``ip``/``user_agent`` are ``None`` on the command line)."""

    name: str | None
    """Account name; for a failed login, the name typed; for the CLI, the OS user."""
    user_id: int | None = None
    role: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    via: str = "web"
    """``web`` (browser session), ``api`` (bearer token) or ``cli``."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    id: int
    at: datetime
    user_id: int | None
    username: str | None
    role: str | None
    action: str
    target: str | None
    detail: Mapping[str, Any]
    ip: str | None
    user_agent: str | None
    via: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``at`` in ISO 8601 UTC)."""
        return {
            "id": self.id,
            "at": self.at.isoformat(timespec="seconds"),
            "user": self.username,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "detail": dict(self.detail),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "via": self.via,
        }


@dataclass(frozen=True)
class AuditFilter:
    """What an administrator asks the log for; ``None`` fields do not filter."""

    user: str | None = None
    """Account name, exact (any case)."""
    action: str | None = None
    """An action, or ``area.*`` for every action of an area."""
    since: datetime | None = None
    """Entries at or after this instant."""
    until: datetime | None = None
    """Entries strictly before this instant."""


@dataclass(frozen=True)
class AuditPage:
    """One page of entries, newest first, with the count of all that match."""

    entries: tuple[AuditEntry, ...]
    total: int
    page: int
    per_page: int
    filter: AuditFilter = field(default_factory=AuditFilter)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    return mask_personal_data(str(value))[:_MAX_TEXT]


def clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """A flat, short, masked copy of ``detail`` fit for the log.

    Keys must look like identifiers; values become scalars (lists of at most 50
    scalars are kept); text is cut to 200 characters with ID numbers, phone numbers
    and e-mail addresses masked. Why: the detail is free-form for the caller, and
    the one place to stop personal data or huge values reaching the log is here.
    """
    clean: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            continue
        if isinstance(value, list | tuple | set | frozenset):
            clean[key] = [_scalar(v) for v in list(value)[:_MAX_ITEMS]]
        else:
            clean[key] = _scalar(value)
    return clean


_CONTENT_ID = re.compile(r"[0-9a-f]{16,64}")
"""Record, batch and object ids: hex digests, which hold no personal data."""


def _masked_target(target: str) -> str:
    """The entry's target, personal data masked, but a record or batch id kept whole.

    Why: an id is a hex digest, and about one in ten holds a run of nine decimal digits
    ("f241168775c2ee35"), which the ID-number mask would turn into "f*********775c2ee35":
    the audit trail would no longer say which record was viewed.
    """
    return target if _CONTENT_ID.fullmatch(target) else mask_personal_data(target)[:255]


@storage_errors
def record(
    catalog: Catalog,
    actor: Actor,
    action: str,
    *,
    target: str | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Append one entry. A failure raises :class:`StorageError`: an unlogged action must not pass."""
    row = AuditTable(
        at=now or datetime.now(UTC),
        user_id=actor.user_id,
        username=(actor.name or None) and mask_personal_data(actor.name)[:64],
        role=actor.role,
        action=str(action)[:64],
        target=None if target is None else _masked_target(str(target)),
        detail_json=json.dumps(clean_detail(detail), ensure_ascii=False),
        ip=(actor.ip or None) and actor.ip[:64],
        user_agent=(actor.user_agent or None) and actor.user_agent[:256],
        via=actor.via[:16],
    )
    with catalog._write() as session:
        session.add(row)


def _where(flt: AuditFilter) -> list[Any]:
    table, conditions = AuditTable, []
    if flt.user:
        conditions.append(table.username == flt.user.strip().lower())
    if flt.action:
        action = flt.action.strip()
        if action.endswith("*"):
            conditions.append(table.action.startswith(action.rstrip("*"), autoescape=True))
        else:
            conditions.append(table.action == action)
    if flt.since is not None:
        conditions.append(table.at >= flt.since)
    if flt.until is not None:
        conditions.append(table.at < flt.until)
    return conditions


def _entry(row: AuditTable) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        user_id=row.user_id,
        username=row.username,
        role=row.role,
        action=row.action,
        target=row.target,
        detail=json.loads(row.detail_json or "{}"),
        ip=row.ip,
        user_agent=row.user_agent,
        via=row.via,
    )


@storage_errors
def query(
    catalog: Catalog, flt: AuditFilter | None = None, *, page: int = 1, per_page: int = 50
) -> AuditPage:
    """One page (from 1) of the entries matching ``flt``, newest first."""
    flt = flt or AuditFilter()
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(page, 1)
    conditions = _where(flt)
    with catalog._read() as session:
        total = session.scalar(select(func.count()).select_from(AuditTable).where(*conditions))
        rows = session.scalars(
            select(AuditTable)
            .where(*conditions)
            .order_by(AuditTable.at.desc(), AuditTable.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        entries = tuple(_entry(r) for r in rows)
    return AuditPage(entries, total or 0, page, per_page, flt)


@storage_errors
def actions(catalog: Catalog) -> list[str]:
    """Every action name in the log or in :class:`Action`, sorted (for the filter's list)."""
    with catalog._read() as session:
        logged = set(session.scalars(select(AuditTable.action).distinct()))
    return sorted(logged | {a.value for a in Action})


@storage_errors
def rows_after(
    catalog: Catalog, after_id: int, *, until: datetime | None = None, limit: int = 10_000
) -> list[dict[str, Any]]:
    """Up to ``limit`` entries with an id above ``after_id`` (and written by ``until``), as
    exported rows (:func:`catalog.copying.export_rows`) in id order: the next to seal."""
    conditions = [AuditTable.id > after_id]
    if until is not None:
        conditions.append(AuditTable.at <= until)
    return export_rows(catalog, AuditTable, where=conditions, limit=limit)


@storage_errors
def last_seal(catalog: Catalog) -> tuple[int, str] | None:
    """The newest seal note: (segment number, head hash); ``None`` if nothing was sealed."""
    with catalog._read() as session:
        row = session.scalars(
            select(AuditTable)
            .where(AuditTable.action == Action.AUDIT_SEAL)
            .order_by(AuditTable.id.desc())
            .limit(1)
        ).first()
    number = None if row is None else json.loads(row.detail_json or "{}").get("segment")
    if row is None or not isinstance(number, int):
        return None
    return number, str(row.target)
