"""API tokens for the JSON API: created from the CLI, shown once, stored as SHA-256 only.

Split from :mod:`catalog.accounts` (same catalog tables, same conventions). A token
works while it is not revoked, not expired and its account is active; each request
re-reads all three, so revoking or disabling takes effect on the next call.

Each token has a scope (:data:`SCOPES`): ``full`` acts with its account's role, ``read``
only reads (the web app refuses it every state-changing request), for a reporting script
that must not be able to change anything even when it leaks. And an expiry: the caller
(:mod:`services.users`) gives one unless an administrator asks for none; tokens made
before tokens expired have none (revision 0004) and are listed as such.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from catalog.accounts import (
    NAME_PATTERN,
    TOUCH_EVERY,
    TokenInfo,
    User,
    _find,
    _now,
    _token,
    _user,
    digest,
)
from catalog.connection import storage_errors
from catalog.database import Catalog
from catalog.tables import ApiTokenTable, UserTable
from sohoa.errors import ConflictError, InvalidRequestError, NotFoundError

__all__ = [
    "SCOPES",
    "TOKEN_PREFIX",
    "TokenCheck",
    "check_token",
    "create_token",
    "list_tokens",
    "revoke_token",
    "token_user",
]

TOKEN_PREFIX = "sohoa_"
"""API tokens start with this, so a leaked one is recognisable (secret scanners, logs)."""
SCOPES: tuple[str, ...] = ("full", "read")
"""``full``: whatever the account's role may do; ``read``: GET requests only."""


@dataclass(frozen=True)
class TokenCheck:
    """What a bearer token is worth at one moment, and why (for the audit log and the
    message: an expired token is told so, so its owner knows to ask for a new one)."""

    reason: str
    """``ok``, ``unknown`` (also a malformed token), ``revoked``, ``disabled`` or ``expired``."""
    token: TokenInfo | None = None
    user: User | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


@storage_errors
def create_token(
    catalog: Catalog,
    name: str,
    label: str,
    *,
    scope: str = "full",
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """Create an API token for account ``name``; return the token (shown once) and its record.

    Args:
        scope: one of :data:`SCOPES`.
        expires_at: when it stops working (``None``: never; the caller decides that).

    Raises:
        InvalidRequestError: a bad label or scope, an expiry not in the future, or the
            account is disabled.
        ConflictError: the account already has a working token with this label (an
            expired one is revoked instead: :func:`_free_label`).
    """
    at = _now(now)
    label = _check_request(label, scope, expires_at, at)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog._write() as session:
        user = _find(session, name)
        if not user.active:
            raise InvalidRequestError("user_disabled", name=user.name)
        _free_label(session, user.id, label, at)
        row = ApiTokenTable(
            token_hash=digest(token),
            user_id=user.id,
            name=label,
            created_at=at,
            expires_at=expires_at,
            scope=scope,
        )
        session.add(row)
        session.flush()
        return token, _token(row)


def _free_label(session: Session, user_id: int, label: str, at: datetime) -> None:
    """Make ``label`` free for a new token: a namesake that expired is revoked now (making
    a token again under its old label is how it is renewed); a working one is a conflict."""
    namesake = session.scalar(
        select(ApiTokenTable).where(
            ApiTokenTable.user_id == user_id,
            ApiTokenTable.name == label,
            ApiTokenTable.revoked_at.is_(None),
        )
    )
    if namesake is None:
        return
    if not _token(namesake).expired(at):
        raise ConflictError("token_exists", name=label)
    namesake.revoked_at = at


def _check_request(label: str, scope: str, expires_at: datetime | None, at: datetime) -> str:
    """The label to store, once the label, scope and expiry are found valid."""
    label = label.strip()
    if not NAME_PATTERN.fullmatch(label.lower()):
        raise InvalidRequestError("bad_token_name", name=label[:64])
    if scope not in SCOPES:
        raise InvalidRequestError("bad_token_scope", scope=scope[:16], known=", ".join(SCOPES))
    if expires_at is not None and expires_at <= at:
        raise InvalidRequestError("bad_token_expiry")
    return label


@storage_errors
def check_token(catalog: Catalog, token: str, *, now: datetime | None = None) -> TokenCheck:
    """Look ``token`` up: its record and user when it works, else why it does not.

    Its last use is recorded (at most once a :data:`TOUCH_EVERY`) only when it works.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return TokenCheck("unknown")
    at = _now(now)
    with catalog._read() as session:
        found = session.execute(
            select(ApiTokenTable, UserTable)
            .join(UserTable, UserTable.id == ApiTokenTable.user_id)
            .where(ApiTokenTable.token_hash == digest(token))
        ).first()
        if found is None:
            return TokenCheck("unknown")
        info, user = _token(found[0]), _user(found[1])
    reason = _unusable(info, user, at)
    if reason is not None:
        return TokenCheck(reason, info, user)
    if info.last_used_at is None or at - info.last_used_at >= TOUCH_EVERY:
        with catalog._write() as session:
            session.execute(
                update(ApiTokenTable).where(ApiTokenTable.id == info.id).values(last_used_at=at)
            )
    return TokenCheck("ok", info, user)


def _unusable(info: TokenInfo, user: User, at: datetime) -> str | None:
    """Why a known token does not work at ``at``, or ``None``."""
    if not info.active:
        return "revoked"
    if not user.active:
        return "disabled"
    if info.expired(at):
        return "expired"
    return None


def token_user(
    catalog: Catalog, token: str, *, now: datetime | None = None
) -> tuple[TokenInfo, User] | None:
    """The working token ``token`` and its user, or ``None`` (unknown, revoked, expired,
    disabled). :func:`check_token` also says which."""
    found = check_token(catalog, token, now=now)
    if not found.ok or found.token is None or found.user is None:
        return None
    return found.token, found.user


@storage_errors
def list_tokens(catalog: Catalog, name: str | None = None) -> list[TokenInfo]:
    """Tokens of one account (or of all), newest first, revoked ones included."""
    query = select(ApiTokenTable).order_by(ApiTokenTable.created_at.desc(), ApiTokenTable.id)
    with catalog._read() as session:
        if name is not None:
            query = query.where(ApiTokenTable.user_id == _find(session, name).id)
        return [_token(r) for r in session.scalars(query)]


@storage_errors
def revoke_token(
    catalog: Catalog, name: str, label: str, *, now: datetime | None = None
) -> TokenInfo:
    """Revoke the active token ``label`` of account ``name``. Raises :class:`NotFoundError`."""
    with catalog._write() as session:
        user = _find(session, name)
        row = session.scalar(
            select(ApiTokenTable).where(
                ApiTokenTable.user_id == user.id,
                ApiTokenTable.name == label.strip(),
                ApiTokenTable.revoked_at.is_(None),
            )
        )
        if row is None:
            raise NotFoundError("token_not_found", name=label[:64])
        row.revoked_at = _now(now)
        return _token(row)
