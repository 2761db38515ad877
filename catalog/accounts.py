"""Accounts and sign-in sessions of the web app, in the catalog database (tokens: ``api_tokens``).

Plain functions over a :class:`catalog.database.Catalog`, like :mod:`catalog.register`:
the CLI (``sohoa users``) and the web app call the same ones (through
:mod:`services.users`), so both enforce the same rules — valid names and
roles, passwords long and hard enough to guess (:mod:`catalog.passwords`), never
removing the last active administrator.

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile) and
re-hashed at sign-in when the parameters change. Session ids and API tokens are
256-bit random strings handed to the client once; only their SHA-256 is stored, so
a copy of the database signs nobody in. Disabling a user or changing their password
ends all their sessions; a disabled user's tokens stop working at once because
every request re-reads the account.

Callers get frozen :class:`User`, :class:`SessionInfo` and :class:`TokenInfo`
copies, never ORM objects. Nothing here logs names or passwords.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from catalog.connection import storage_errors
from catalog.copying import copy_tables
from catalog.database import Catalog
from catalog.passwords import DEFAULT_MIN_STRENGTH, MAX_PASSWORD, check_password
from catalog.tables import ApiTokenTable, AuditTable, SessionTable, UserTable
from sohoa.errors import ConflictError, InvalidRequestError, NotFoundError

__all__ = [
    "HASHER",
    "ROLES",
    "SessionInfo",
    "TokenInfo",
    "User",
    "authenticate",
    "copy_accounts",
    "count_admins",
    "create_user",
    "end_session",
    "end_sessions",
    "get_user",
    "list_users",
    "session_user",
    "set_active",
    "set_password",
    "set_role",
    "start_session",
]

ROLES: tuple[str, ...] = ("clerk", "auditor", "admin")
"""Clerk: upload, review, correct. Auditor: search, view, verify, reports (read-only).
Admin: users, units, settings, audit log. What each may do is :mod:`web.roles`."""

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
"""Account names: 2–64 of lower-case ASCII letters, digits, ``.``, ``_``, ``-``."""
TOUCH_EVERY = timedelta(minutes=1)
"""A session's or token's last use is written at most this often (fewer writes per request)."""

HASHER = PasswordHasher()
"""argon2id with argon2-cffi's default (RFC 9106 low-memory) parameters."""

log = logging.getLogger(__name__)


# --- returned rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """One account as stored (without its password hash)."""

    id: int
    name: str
    role: str
    unit: str | None
    active: bool
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True)
class SessionInfo:
    """One signed-in browser."""

    id_hash: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None


@dataclass(frozen=True)
class TokenInfo:
    """One API token (its value is shown once, at creation, and never stored)."""

    id: int
    user_id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None = None
    """When it stops working; ``None``: never."""
    scope: str = "full"
    """``full`` (the role's permissions) or ``read`` (GET requests only)."""

    @property
    def active(self) -> bool:
        """Not revoked (it may still have expired: :meth:`expired`)."""
        return self.revoked_at is None

    def expired(self, at: datetime) -> bool:
        """Whether it has stopped working by ``at``."""
        return self.expires_at is not None and self.expires_at <= at


def _user(row: UserTable) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=row.role,
        unit=row.unit,
        active=row.active,
        created_at=row.created_at,
        password_changed_at=row.password_changed_at,
    )


def _session(row: SessionTable) -> SessionInfo:
    return SessionInfo(
        row.id_hash, row.user_id, row.created_at, row.last_seen_at, row.expires_at, row.ip
    )


def _token(row: ApiTokenTable) -> TokenInfo:
    return TokenInfo(
        row.id,
        row.user_id,
        row.name,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
        row.expires_at,
        row.scope,
    )


# --- helpers -----------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def digest(secret: str) -> str:
    """SHA-256 (hex) of a session id or token: what the database keeps instead of it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def normalise_name(name: str) -> str:
    """The stored form of an account name (lower case), or :class:`InvalidRequestError`."""
    folded = name.strip().lower()
    if not NAME_PATTERN.fullmatch(folded):
        raise InvalidRequestError("bad_user_name", name=name[:64])
    return folded


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRequestError("bad_role", role=role[:32], known=", ".join(ROLES))
    return role


def _check_unit(unit: str | None) -> str | None:
    unit = (unit or "").strip()
    if len(unit) > 64:
        raise InvalidRequestError("bad_unit", unit=unit[:64])
    return unit or None


def _find(session: Session, name: str) -> UserTable:
    row = session.scalar(select(UserTable).where(UserTable.name == name.strip().lower()))
    if row is None:
        raise NotFoundError("user_not_found", name=name[:64])
    return row


def _active_admins(session: Session) -> int:
    query = select(func.count()).where(UserTable.role == "admin", UserTable.active.is_(True))
    return session.scalar(query) or 0


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so both cases take as long."""
    return HASHER.hash(secrets.token_urlsafe(16))


# --- accounts ----------------------------------------------------------------------------------


@storage_errors
def create_user(
    catalog: Catalog,
    name: str,
    password: str,
    *,
    role: str,
    unit: str | None = None,
    min_password_length: int = 12,
    min_password_strength: int = DEFAULT_MIN_STRENGTH,
    hasher: PasswordHasher = HASHER,
    now: datetime | None = None,
) -> User:
    """Create an active account (``min_password_strength``: the lowest zxcvbn score taken).

    Raises:
        InvalidRequestError: a bad name, role, unit or password.
        ConflictError: the name is taken (also by a disabled account: names are never reused,
            so the audit log stays unambiguous).
    """
    name = normalise_name(name)
    _check_role(role)
    unit = _check_unit(unit)
    check_password(
        password,
        name=name,
        min_length=min_password_length,
        min_strength=min_password_strength,
        related=(unit,),
    )
    hashed = hasher.hash(password)  # slow: outside the write transaction
    at = _now(now)
    with catalog._write() as session:
        if session.scalar(select(UserTable.id).where(UserTable.name == name)) is not None:
            raise ConflictError("user_exists", name=name)
        row = UserTable(
            name=name,
            password_hash=hashed,
            role=role,
            unit=unit,
            active=True,
            created_at=at,
            password_changed_at=at,
        )
        session.add(row)
        session.flush()
        return _user(row)


@storage_errors
def get_user(catalog: Catalog, name: str) -> User:
    """One account by name (any case). Raises :class:`NotFoundError`."""
    with catalog._read() as session:
        return _user(_find(session, name))


@storage_errors
def list_users(catalog: Catalog) -> list[User]:
    """Every account, by name."""
    with catalog._read() as session:
        return [_user(r) for r in session.scalars(select(UserTable).order_by(UserTable.name))]


@storage_errors
def count_admins(catalog: Catalog) -> int:
    """Active administrators (``sohoa serve`` refuses to start without one)."""
    with catalog._read() as session:
        return _active_admins(session)


@storage_errors
def set_active(catalog: Catalog, name: str, active: bool) -> User:
    """Enable or disable an account; disabling ends its sessions at once.

    Raises:
        InvalidRequestError: it is the last active administrator (nobody could manage users).
    """
    with catalog._write() as session:
        row = _find(session, name)
        if not active and row.active and row.role == "admin" and _active_admins(session) <= 1:
            raise InvalidRequestError("last_admin")
        row.active = active
        if not active:
            session.execute(delete(SessionTable).where(SessionTable.user_id == row.id))
        return _user(row)


@storage_errors
def set_role(catalog: Catalog, name: str, *, role: str, unit: str | None) -> User:
    """Change an account's role and unit (``None`` or blank: every unit).

    Sessions go on: every request reads the role afresh, so the change applies to the
    next page. Raises :class:`InvalidRequestError` for a bad role or unit, or when it
    would leave no active administrator.
    """
    _check_role(role)
    unit = _check_unit(unit)
    with catalog._write() as session:
        row = _find(session, name)
        demoted = row.role == "admin" and role != "admin" and row.active
        if demoted and _active_admins(session) <= 1:
            raise InvalidRequestError("last_admin")
        row.role, row.unit = role, unit
        return _user(row)


@storage_errors
def set_password(
    catalog: Catalog,
    name: str,
    password: str,
    *,
    min_password_length: int = 12,
    min_password_strength: int = DEFAULT_MIN_STRENGTH,
    hasher: PasswordHasher = HASHER,
    now: datetime | None = None,
) -> User:
    """Replace an account's password and end all its sessions (a reset locks out whoever had it).

    The password is held to the same policy as a new account's, its unit among the words
    guessed first. Raises :class:`NotFoundError` or :class:`InvalidRequestError`.
    """
    folded = normalise_name(name)
    unit = get_user(catalog, folded).unit
    check_password(
        password,
        name=folded,
        min_length=min_password_length,
        min_strength=min_password_strength,
        related=(unit,),
    )
    hashed = hasher.hash(password)
    with catalog._write() as session:
        row = _find(session, folded)
        row.password_hash, row.password_changed_at = hashed, _now(now)
        session.execute(delete(SessionTable).where(SessionTable.user_id == row.id))
        return _user(row)


@storage_errors
def authenticate(
    catalog: Catalog, name: str, password: str, *, hasher: PasswordHasher = HASHER
) -> tuple[User | None, str]:
    """Check a name and password; return the user (or ``None``) and why.

    The reason (``ok``, ``unknown_user``, ``bad_password``, ``disabled``) is for the
    audit log only: the person at the login form is told the same thing in every
    failed case. An unknown name still costs one argon2 verification, so timing does
    not tell whether an account exists. A hash made with older parameters is
    replaced after a correct password.
    """
    try:
        folded = normalise_name(name)
    except InvalidRequestError:
        folded = None
    with catalog._read() as session:
        row = None
        if folded is not None:
            row = session.scalar(select(UserTable).where(UserTable.name == folded))
        user, stored = (_user(row), row.password_hash) if row is not None else (None, None)
    if not _verify(hasher, stored, password):
        return None, "bad_password" if user is not None else "unknown_user"
    if user is None or stored is None:
        return None, "unknown_user"
    if not user.active:
        return None, "disabled"
    if hasher.check_needs_rehash(stored):
        with catalog._write() as session:
            session.execute(
                update(UserTable)
                .where(UserTable.id == user.id)
                .values(password_hash=hasher.hash(password))
            )
    return user, "ok"


def _verify(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; always costs one verification."""
    try:
        hasher.verify(stored or _dummy_hash(), password[:MAX_PASSWORD])
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored is not None and len(password) <= MAX_PASSWORD


# --- sessions ----------------------------------------------------------------------------------


@storage_errors
def start_session(
    catalog: Catalog,
    user: User,
    *,
    lifetime: timedelta,
    ip: str | None = None,
    now: datetime | None = None,
) -> str:
    """Open a session for ``user``; return its id (for the cookie, never stored as is).

    Also drops sessions that expired long ago, so the table does not grow forever.
    """
    at = _now(now)
    token = secrets.token_urlsafe(32)
    with catalog._write() as session:
        session.execute(delete(SessionTable).where(SessionTable.expires_at <= at))
        session.execute(
            insert(SessionTable).values(
                id_hash=digest(token),
                user_id=user.id,
                created_at=at,
                last_seen_at=at,
                expires_at=at + lifetime,
                ip=(ip or None) and ip[:64],
            )
        )
    return token


@storage_errors
def session_user(
    catalog: Catalog, token: str, *, idle: timedelta, now: datetime | None = None
) -> tuple[SessionInfo, User] | None:
    """The live session ``token`` names and its user, or ``None``.

    A session is over after its absolute expiry, after ``idle`` without a request, or
    when its user is disabled; an ended session's row is deleted.
    """
    at = _now(now)
    key = digest(token)
    with catalog._read() as session:
        found = session.execute(
            select(SessionTable, UserTable)
            .join(UserTable, UserTable.id == SessionTable.user_id)
            .where(SessionTable.id_hash == key)
        ).first()
        if found is None:
            return None
        info, user = _session(found[0]), _user(found[1])
    if info.expires_at <= at or info.last_seen_at + idle <= at or not user.active:
        end_session(catalog, token)
        return None
    if at - info.last_seen_at >= TOUCH_EVERY:
        with catalog._write() as session:
            session.execute(
                update(SessionTable).where(SessionTable.id_hash == key).values(last_seen_at=at)
            )
    return info, user


@storage_errors
def end_session(catalog: Catalog, token: str) -> bool:
    """Sign one session out; return whether it existed."""
    with catalog._write() as session:
        done = session.execute(delete(SessionTable).where(SessionTable.id_hash == digest(token)))
        return bool(done.rowcount)


@storage_errors
def end_sessions(catalog: Catalog, user_id: int) -> int:
    """Sign every session of one user out; return how many there were."""
    with catalog._write() as session:
        done = session.execute(delete(SessionTable).where(SessionTable.user_id == user_id))
        return int(done.rowcount or 0)


# --- catalog rebuild ---------------------------------------------------------------------------


@storage_errors
def copy_accounts(source: Catalog, target: Catalog) -> int:
    """Copy accounts, API tokens and the audit log from ``source`` into ``target``; return users.

    Why: like the dossier register they are not in the archive, so a catalog rebuild
    (a fresh database) must carry them over. Sessions are not copied: everyone signs
    in again after a rebuild.
    """
    tables = (UserTable, ApiTokenTable, AuditTable)  # parents first
    copied = copy_tables(source, target, tables, emptied=(SessionTable,))
    return copied[UserTable.__tablename__]
