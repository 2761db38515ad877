"""Library calls behind ``sohoa users`` and the web app's user administration.

The CLI and the admin pages call these same functions, so an account made either
way obeys the same rules and leaves the same audit entry. Each change takes the
:class:`catalog.audit.Actor` who makes it: the signed-in administrator in the web
app, the OS user (:func:`cli_actor`) on the command line. They return plain dicts
ready for JSON and let domain errors travel.
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog import accounts as users
from catalog import audit
from catalog import tokens as api_tokens
from catalog.audit import Action, Actor
from catalog.database import Catalog, open_catalog
from schemas.settings import Settings
from sohoa.errors import InvalidRequestError

__all__ = [
    "MAX_TOKEN_DAYS",
    "active_admins",
    "add_user",
    "cli_actor",
    "create_token",
    "list_tokens",
    "list_users",
    "reset_password",
    "revoke_token",
    "set_active",
    "set_role",
]


MAX_TOKEN_DAYS = 3650
"""The longest expiry ``--days`` takes (ten years); longer is ``--no-expiry``, said outright."""


def cli_actor() -> Actor:
    """The person at the terminal, as the audit log names them (the OS user)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        name = "unknown"
    return Actor(name=name[:64], via="cli")


def _catalog(settings: Settings) -> Catalog:
    return open_catalog(settings.resolved_catalog_url)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def user_dict(user: users.User, *, tokens: int = 0) -> dict[str, Any]:
    """One account for JSON and pages (no hash)."""
    return {
        "name": user.name,
        "role": user.role,
        "unit": user.unit,
        "active": user.active,
        "created_at": _iso(user.created_at),
        "password_changed_at": _iso(user.password_changed_at),
        "tokens": tokens,
    }


def token_dict(info: users.TokenInfo, *, now: datetime | None = None) -> dict[str, Any]:
    """One API token's record (never its value); ``active``: it works now (not revoked,
    not expired), ``expires_at`` ``None``: it never expires."""
    expired = info.expired(now or datetime.now(UTC))
    return {
        "name": info.name,
        "scope": info.scope,
        "created_at": _iso(info.created_at),
        "expires_at": _iso(info.expires_at),
        "last_used_at": _iso(info.last_used_at),
        "revoked_at": _iso(info.revoked_at),
        "expired": expired,
        "active": info.active and not expired,
    }


def add_user(
    settings: Settings,
    name: str,
    password: str,
    *,
    role: str,
    unit: str | None = None,
    actor: Actor,
) -> dict[str, Any]:
    """Create an account (see :func:`catalog.accounts.create_user` for the rules)."""
    catalog = _catalog(settings)
    user = users.create_user(
        catalog,
        name,
        password,
        role=role,
        unit=unit,
        min_password_length=settings.web.min_password_length,
        min_password_strength=settings.web.min_password_strength,
    )
    audit.record(
        catalog, actor, Action.USER_CREATE, target=user.name, detail={"role": role, "unit": unit}
    )
    return user_dict(user)


def list_users(settings: Settings) -> list[dict[str, Any]]:
    """Every account by name, with its count of working API tokens."""
    catalog = _catalog(settings)
    counts: dict[int, int] = {}
    now = datetime.now(UTC)
    for info in api_tokens.list_tokens(catalog):
        if info.active and not info.expired(now):
            counts[info.user_id] = counts.get(info.user_id, 0) + 1
    return [user_dict(u, tokens=counts.get(u.id, 0)) for u in users.list_users(catalog)]


def set_active(settings: Settings, name: str, active: bool, *, actor: Actor) -> dict[str, Any]:
    """Enable or disable an account; disabling ends its sessions and stops its tokens.

    Raises:
        InvalidRequestError: an administrator disabling their own account from the web
            app, or the last active administrator.
    """
    catalog = _catalog(settings)
    if not active and actor.via != "cli" and users.normalise_name(name) == actor.name:
        raise InvalidRequestError("self_disable")
    user = users.set_active(catalog, name, active)
    action = Action.USER_ENABLE if active else Action.USER_DISABLE
    audit.record(catalog, actor, action, target=user.name)
    return user_dict(user)


def set_role(
    settings: Settings, name: str, *, role: str, unit: str | None, actor: Actor
) -> dict[str, Any]:
    """Change an account's role and unit (blank unit: every unit)."""
    catalog = _catalog(settings)
    user = users.set_role(catalog, name, role=role, unit=unit)
    audit.record(
        catalog, actor, Action.USER_ROLE, target=user.name, detail={"role": role, "unit": user.unit}
    )
    return user_dict(user)


def reset_password(settings: Settings, name: str, password: str, *, actor: Actor) -> dict[str, Any]:
    """Set a new password for an account; its sessions end."""
    catalog = _catalog(settings)
    user = users.set_password(
        catalog,
        name,
        password,
        min_password_length=settings.web.min_password_length,
        min_password_strength=settings.web.min_password_strength,
    )
    audit.record(catalog, actor, Action.USER_PASSWORD, target=user.name)
    return user_dict(user)


def create_token(
    settings: Settings,
    name: str,
    label: str,
    *,
    actor: Actor,
    scope: str = "full",
    days: int | None = None,
    expires: bool = True,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Create an API token; the result's ``token`` is the only time its value is seen.

    Args:
        scope: ``full`` (the role's permissions) or ``read`` (GET requests only).
        days: how long it works; ``None``: ``web.token_days`` (90).
        expires: ``False`` makes a token that never expires: only when asked outright
            (``--no-expiry``), since a forgotten one works for ever.
        now: the moment it is made (tests; the clock otherwise).

    Raises:
        InvalidRequestError: ``days`` out of 1-:data:`MAX_TOKEN_DAYS`, or given with
            ``expires=False``; a bad label or scope; a disabled account.
    """
    at = now or datetime.now(UTC)
    expires_at = _expiry(settings, days, expires=expires, now=at)
    catalog = _catalog(settings)
    token, info = api_tokens.create_token(
        catalog, name, label, scope=scope, expires_at=expires_at, now=at
    )
    target = users.normalise_name(name)
    days_given = None if expires_at is None else days or settings.web.token_days
    detail = {"token": info.name, "scope": info.scope, "days": days_given}
    audit.record(catalog, actor, Action.TOKEN_CREATE, target=target, detail=detail)
    return {"user": target, "token": token, **token_dict(info, now=at)}


def _expiry(
    settings: Settings, days: int | None, *, expires: bool, now: datetime
) -> datetime | None:
    """When a token made now with these options stops working (``None``: never)."""
    if not expires:
        if days is not None:
            raise InvalidRequestError("token_days_no_expiry")
        return None
    days = settings.web.token_days if days is None else days
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidRequestError("bad_token_days", days=days, max=MAX_TOKEN_DAYS)
    return now + timedelta(days=days)


def list_tokens(
    settings: Settings, name: str, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """An account's API tokens, newest first, revoked and expired ones included
    (``expired`` says which have expired by ``now``)."""
    tokens = api_tokens.list_tokens(_catalog(settings), name)
    return [token_dict(t, now=now) for t in tokens]


def revoke_token(settings: Settings, name: str, label: str, *, actor: Actor) -> dict[str, Any]:
    """Revoke an account's active token ``label``; calls with it get 401 from now on."""
    catalog = _catalog(settings)
    info = api_tokens.revoke_token(catalog, name, label)
    target = users.normalise_name(name)
    audit.record(catalog, actor, Action.TOKEN_REVOKE, target=target, detail={"token": info.name})
    return token_dict(info)


def active_admins(settings: Settings) -> int:
    """How many active administrators there are (``sohoa serve`` needs one)."""
    return users.count_admins(_catalog(settings))
