"""Browser-facing defences: cookies, CSRF tokens, security headers, body size, sign-in limits.

**CSRF.** Every state-changing request (POST, PUT, PATCH, DELETE) made with cookies
must carry a token, in the form field ``csrf_token`` or the ``X-CSRF-Token`` header
(for ``fetch``; pages put it in ``<meta name="csrf-token">``). The token is derived
from the cookie that identifies the browser — the session cookie once signed in,
before that a random ``sohoa_pre`` cookie — as SHA-256 of a fixed label and that
value: another site can neither read the cookie nor compute the token, no server
state is needed, and signing in (a new session id) changes the token. API calls
with ``Authorization: Bearer`` are exempt: a browser never adds that header on
its own, and such calls ignore cookies entirely (:mod:`web.auth`).

**Cookies** are ``HttpOnly``, ``SameSite=Lax`` (links from other sites still open
a signed-in page; their POSTs carry no cookie) and ``Secure`` when the request
came over HTTPS or ``web.secure_cookies = "always"``.

**Headers.** A strict Content-Security-Policy (scripts and styles only from
``/static``, no inline code, no framing), ``nosniff``, no referrer, and
``Cache-Control: no-store`` on everything but static files, since pages show
personal data. A response that sets one of these itself keeps its own value
(a PDF viewer page may need ``frame-src 'self'``).

**Sign-in limits** (:class:`LoginLimiter`) count failures in a sliding window per
account name and per client address, in the catalog (:mod:`catalog.sign_in`): every web
process and machine serving the catalog counts them together, and a restart keeps them. The access log written here has no query strings, since searches carry
citizens' names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog import sign_in
from catalog.audit import Action
from catalog.database import Catalog
from schemas.settings import WebSettings
from web.audit import audit
from web.errors import CsrfFailed

__all__ = [
    "CSP",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "BodyLimitMiddleware",
    "LoginLimiter",
    "SecurityHeadersMiddleware",
    "csrf_protect",
    "csrf_token",
    "delete_cookie",
    "issue_cookies",
    "set_cookie",
]

access_log = logging.getLogger("sohoa.web.access")

SESSION_COOKIE = "sohoa_session"
PRE_COOKIE = "sohoa_pre"
"""Identifies a browser before it signs in, so the login form has a CSRF token too."""
PRE_COOKIE_SECONDS = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

CSP_DIRECTIVES = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
)
"""No inline script or style, nothing from another origin: machines here are offline anyway."""
CSP = "; ".join(CSP_DIRECTIVES)

HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)


# --- cookies -----------------------------------------------------------------------------------


def secure_request(request: Request) -> bool:
    """Whether cookies set in answer to ``request`` must be ``Secure``."""
    web: WebSettings = request.app.state.settings.web
    return web.secure_cookies == "always" or request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, max_age: int | None
) -> None:
    """Set an HttpOnly, SameSite=Lax cookie for the whole site (Secure over HTTPS)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=secure_request(request),
        httponly=True,
        samesite="lax",
    )


def delete_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a cookie set by :func:`set_cookie`."""
    response.delete_cookie(
        name, path="/", secure=secure_request(request), httponly=True, samesite="lax"
    )


# --- CSRF --------------------------------------------------------------------------------------


def _binding(request: Request) -> str | None:
    """The cookie value the CSRF token is derived from (session first, then pre-session)."""
    return (
        request.cookies.get(SESSION_COOKIE)
        or getattr(request.state, "new_pre_cookie", None)
        or request.cookies.get(PRE_COOKIE)
    )


def _derive(binding: str) -> str:
    digest = hashlib.sha256(b"sohoa-csrf\x00" + binding.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def csrf_token(request: Request) -> str:
    """The token forms on this page must send back.

    A browser with neither cookie gets a new pre-session cookie, which
    :func:`issue_cookies` adds to the response.
    """
    binding = _binding(request)
    if binding is None:
        binding = request.state.new_pre_cookie = secrets.token_urlsafe(32)
    return _derive(binding)


def issue_cookies(request: Request, response: Response) -> None:
    """Add the pre-session cookie :func:`csrf_token` created while rendering, if any."""
    value = getattr(request.state, "new_pre_cookie", None)
    if value:
        set_cookie(response, request, PRE_COOKIE, value, max_age=PRE_COOKIE_SECONDS)


def bearer_request(request: Request) -> bool:
    """An API call authenticated by a bearer token (cookies are not looked at)."""
    return request.url.path.startswith("/api/") and request.headers.get(
        "authorization", ""
    ).lower().startswith("bearer ")


async def _sent_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuse a state-changing cookie request without the right token.

    Raises:
        CsrfFailed: the token is missing, wrong, or the browser has no identifying cookie.
    """
    if request.method in SAFE_METHODS or bearer_request(request):
        return
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_COOKIE)
    sent = await _sent_token(request)
    if binding and sent and hmac.compare_digest(sent.encode(), _derive(binding).encode()):
        return
    await run_in_threadpool(
        audit, request, Action.CSRF_REJECTED, target=request.url.path, token_sent=bool(sent)
    )
    raise CsrfFailed()


# --- middleware --------------------------------------------------------------------------------


class SecurityHeadersMiddleware:
    """Add the security headers to every response and log one access line (no query string)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
                if not path.startswith("/static/"):
                    headers.setdefault("cache-control", "no-store")
                if https:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
                access_log.info("%s %s %s", scope["method"], path[:200], message["status"])
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Answer 413 to a request body larger than ``max_bytes``, before it is all read.

    ``Content-Length`` is checked first; a chunked body is counted as it streams and
    stopped with an ``HTTPException(413)``, which FastAPI passes through its body
    parsing untouched.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await Response(status_code=413, content="413 Request Entity Too Large")(
                scope, receive, send
            )
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(status_code=413)
            return message

        await self.app(scope, limited, send)


# --- sign-in limits ----------------------------------------------------------------------------


class LoginLimiter:
    """Failed sign-ins per account name and per client address (see the module docstring)."""

    def __init__(self, web: WebSettings, catalog: Callable[[], Catalog]) -> None:
        self.window = timedelta(minutes=web.login_window_minutes)
        self.per_name, self.per_ip = web.login_max_failures, web.login_max_failures_per_ip
        self.catalog = catalog

    def _keys(self, name: str, ip: str | None) -> tuple[str, str]:
        return sign_in.key_of("name", name), sign_in.key_of("ip", ip or "-")

    def retry_after(self, name: str, ip: str | None, now: datetime) -> int | None:
        """Seconds to wait before this name may try from this address, or ``None``."""
        by_name, by_ip = self._keys(name, ip)
        limits = [(by_name, self.per_name), (by_ip, self.per_ip)]
        return sign_in.retry_after(self.catalog(), limits, self.window, now)

    def failed(self, name: str, ip: str | None, now: datetime) -> None:
        sign_in.record_failure(self.catalog(), self._keys(name, ip), self.window, now)

    def succeeded(self, name: str) -> None:
        """A correct password clears the name's failures (not the address's)."""
        sign_in.clear(self.catalog(), sign_in.key_of("name", name))
