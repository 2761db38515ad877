"""Who is asking: browser sessions, API bearer tokens, and the ``require`` dependency.

Sessions are server-side rows (:mod:`catalog.accounts`): the cookie holds a random
id whose SHA-256 is stored, so signing out, disabling a user or resetting a
password ends a session at once — something a signed cookie (Starlette's
``SessionMiddleware``) cannot do before it expires. Each request re-reads the
account, so a role change applies to the next page.

Under ``/api`` an ``Authorization: Bearer`` header is the only credential looked
at (no cookie, hence no CSRF token needed); a wrong, revoked, expired or disabled
user's token gets 401 and an audit entry (one per address and minute:
:func:`web.audit.audit_refusal`); an expired one is told so. A read-only token
(scope ``read``) gets 403 on every state-changing request (:func:`check_scope`).
Elsewhere only the session cookie counts.

Routes declare what they need::

    @router.get("/search")
    def search(request: Request, who: Annotated[Principal, Depends(require(Permission.SEARCH))]):
        ...

``require()`` with no permission admits any signed-in user; with several, any
one of them suffices. Anonymous page requests are redirected to ``/login``, API
ones get 401; a signed-in user without the permission gets 403 (and an entry in
the audit log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import Request
from starlette.responses import Response

from catalog import accounts as users
from catalog import tokens as api_tokens
from catalog import units
from catalog.audit import Action
from sohoa.errors import PermissionDeniedError
from web.deps import catalog_of, client_ip, now_of, settings_of
from web.errors import AuthRequired, Forbidden
from web.roles import Permission, permissions_of
from web.security import (
    SAFE_METHODS,
    SESSION_COOKIE,
    bearer_request,
    delete_cookie,
    set_cookie,
)

__all__ = [
    "Principal",
    "check_scope",
    "check_unit",
    "current_principal",
    "end_browser_session",
    "optional_principal",
    "require",
    "scope_units",
    "start_browser_session",
    "unit_scope",
]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `sohoa users token NAME --name LABEL`.",
)


@dataclass(frozen=True)
class Principal:
    """The signed-in user of one request."""

    user_id: int
    name: str
    role: str
    unit: str | None
    """The unit the user is limited to, or ``None``."""
    via: str
    """``web`` (session cookie) or ``api`` (bearer token)."""
    token_id: int | None = None
    scope: str = "full"
    """``full``, or ``read`` for a read-only API token (GET requests only)."""
    expires_at: datetime | None = None
    """When the API token stops working (``None``: a session, or a token without expiry)."""

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.role)

    def can(self, *permissions: Permission) -> bool:
        """Whether the user has any one of ``permissions``."""
        return any(p in self.permissions for p in permissions)


def _principal(user: users.User, via: str, token: users.TokenInfo | None = None) -> Principal:
    if token is None:
        return Principal(user.id, user.name, user.role, user.unit, via)
    return Principal(
        user.id, user.name, user.role, user.unit, via, token.id, token.scope, token.expires_at
    )


def _from_token(request: Request) -> Principal:
    """The bearer token's user, or 401: an expired token says so and when, so its owner
    knows to ask for a new one rather than suspect the server."""
    token = request.headers["authorization"].split(None, 1)[-1].strip()
    found = api_tokens.check_token(catalog_of(request), token, now=now_of(request))
    if found.ok and found.token is not None and found.user is not None:
        return _principal(found.user, "api", found.token)
    from web.audit import audit_refusal

    audit_refusal(request, Action.TOKEN_REJECTED, target=request.url.path, reason=found.reason)
    if found.reason == "expired" and found.token is not None and found.token.expires_at:
        at = found.token.expires_at.strftime("%Y-%m-%d %H:%M")
        raise AuthRequired("web_token_expired", name=found.token.name, at=at)
    raise AuthRequired("web_token_invalid")


def current_principal(request: Request) -> Principal | None:
    """The request's user, or ``None`` when anonymous (cached on the request).

    Raises:
        AuthRequired: an API request with a bearer token that is not valid.
    """
    if getattr(request.state, "principal_loaded", False):
        return request.state.principal
    principal = None
    if bearer_request(request):
        principal = _from_token(request)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        idle = timedelta(minutes=settings_of(request).web.idle_minutes)
        found = users.session_user(catalog_of(request), cookie, idle=idle, now=now_of(request))
        principal = None if found is None else _principal(found[1], "web")
    request.state.principal = principal
    request.state.principal_loaded = True
    return principal


def optional_principal(request: Request) -> Principal | None:
    """Like :func:`current_principal`, but never raises (for error pages and layouts)."""
    try:
        return current_principal(request)
    except Exception:  # noqa: BLE001 - an error page must render even if the catalog is down
        return None


def require(*permissions: Permission) -> Callable[..., Principal]:
    """A dependency admitting signed-in users with any of ``permissions`` (any user if none).

    Raises (from the dependency):
        AuthRequired: nobody is signed in (pages redirect to the login form, API: 401).
        Forbidden: the user's role has none of the permissions (403, audited).
    """

    def dependency(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    ) -> Principal:
        principal = current_principal(request)
        if principal is None:
            raise AuthRequired()
        check_scope(request, principal)
        if permissions and not principal.can(*permissions):
            from web.audit import audit

            needed = [str(p) for p in permissions]
            audit(request, Action.ACCESS_DENIED, target=request.url.path, needed=needed)
            raise Forbidden()
        return principal

    dependency.__name__ = f"require_{'_'.join(permissions) or 'user'}"
    return dependency


def check_scope(request: Request, principal: Principal) -> None:
    """Refuse a read-only token anything but reading (GET, HEAD, OPTIONS).

    Why by method and not by permission: a read token of a clerk may still list its
    batches and review queue, and a read token of an auditor may search and fetch
    reports, but nothing that writes, starts or re-runs (uploads, corrections, a fixity
    check, a re-verification) whatever the role allows.

    Raises:
        Forbidden: a state-changing request with a ``read`` token (403, audited).
    """
    if principal.scope != "read" or request.method in SAFE_METHODS:
        return
    from web.audit import audit

    audit(request, Action.ACCESS_DENIED, target=request.url.path, needed=["scope:full"])
    raise Forbidden("web_token_read_only")


def unit_scope(principal: Principal) -> str | None:
    """The unit whose records the user may see or change, ``None`` for every unit.

    Pass it as the ``scope`` of :mod:`services.records`, :mod:`services.search` and
    :mod:`services.reports` calls, which widen it to the units under it (a district's
    auditor sees its communes; :mod:`services.scope`).
    """
    return principal.unit


def scope_units(request: Request, principal: Principal) -> tuple[str, ...] | None:
    """The user's unit and every unit under it, ``None`` for every unit.

    Pass it as the ``unit`` filter of catalog listings (review queue, batches).
    """
    scope = units.scope_of(catalog_of(request), principal.unit)
    return None if scope is None else tuple(sorted(scope.codes))


def check_unit(request: Request, principal: Principal, unit: str | None) -> None:
    """Refuse a record or batch outside the user's unit and the units under it.

    Raises:
        PermissionDeniedError: 403 in the web app, audited there.
    """
    scope = units.scope_of(catalog_of(request), principal.unit)
    if scope is not None and not scope.allows(unit):
        raise PermissionDeniedError("unit_denied", unit=unit or "—")


def start_browser_session(request: Request, response: Response, user: users.User) -> None:
    """Sign ``user`` in: end any session this browser had, open a new one, set the cookie.

    A new id at every sign-in means an id planted before login is worthless (session
    fixation), and the CSRF token changes with it.
    """
    catalog, web = catalog_of(request), settings_of(request).web
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        users.end_session(catalog, old)
    lifetime = timedelta(hours=web.session_hours)
    token = users.start_session(
        catalog, user, lifetime=lifetime, ip=client_ip(request), now=now_of(request)
    )
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()))
    request.state.principal = _principal(user, "web")
    request.state.principal_loaded = True


def end_browser_session(request: Request, response: Response) -> None:
    """Sign this browser out: delete its session row and its cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        users.end_session(catalog_of(request), cookie)
    delete_cookie(response, request, SESSION_COOKIE)
