"""API tokens for the JSON API: created from the CLI, shown once, stored as SHA-256 only.

Split from :mod:`catalog.accounts` (same catalog tables, same conventions). A token
works while it is not revoked and its account is active; each request re-reads
both, so revoking or disabling takes effect on the next call.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update

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

__all__ = ["TOKEN_PREFIX", "create_token", "list_tokens", "revoke_token", "token_user"]

TOKEN_PREFIX = "sohoa_"
"""API tokens start with this, so a leaked one is recognisable (secret scanners, logs)."""


@storage_errors
def create_token(
    catalog: Catalog, name: str, label: str, *, now: datetime | None = None
) -> tuple[str, TokenInfo]:
    """Create an API token for account ``name``; return the token (shown once) and its record.

    Raises:
        InvalidRequestError: a bad label, or the account is disabled.
        ConflictError: the account already has an active token with this label.
    """
    label = label.strip()
    if not NAME_PATTERN.fullmatch(label.lower()):
        raise InvalidRequestError("bad_token_name", name=label[:64])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog._write() as session:
        user = _find(session, name)
        if not user.active:
            raise InvalidRequestError("user_disabled", name=user.name)
        taken = select(ApiTokenTable.id).where(
            ApiTokenTable.user_id == user.id,
            ApiTokenTable.name == label,
            ApiTokenTable.revoked_at.is_(None),
        )
        if session.scalar(taken) is not None:
            raise ConflictError("token_exists", name=label)
        row = ApiTokenTable(
            token_hash=digest(token), user_id=user.id, name=label, created_at=_now(now)
        )
        session.add(row)
        session.flush()
        return token, _token(row)


@storage_errors
def token_user(
    catalog: Catalog, token: str, *, now: datetime | None = None
) -> tuple[TokenInfo, User] | None:
    """The active token ``token`` and its active user, or ``None`` (unknown, revoked, disabled)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    at = _now(now)
    with catalog._read() as session:
        found = session.execute(
            select(ApiTokenTable, UserTable)
            .join(UserTable, UserTable.id == ApiTokenTable.user_id)
            .where(ApiTokenTable.token_hash == digest(token))
        ).first()
        if found is None:
            return None
        info, user = _token(found[0]), _user(found[1])
    if not info.active or not user.active:
        return None
    if info.last_used_at is None or at - info.last_used_at >= TOUCH_EVERY:
        with catalog._write() as session:
            session.execute(
                update(ApiTokenTable).where(ApiTokenTable.id == info.id).values(last_used_at=at)
            )
    return info, user


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
