"""Browser-facing defences: cookies, CSRF tokens, security headers.

**CSRF.** Every state-changing request (POST, PUT, PATCH, DELETE) made with cookies
must carry a token, in the form field ``csrf_token`` or the ``X-CSRF-Token`` header
(for ``fetch``; pages put it in ``<meta name="csrf-token">``). The token is derived
from the cookie that identifies the browser — the session cookie once signed in,
before that a random ``sohoa_pre`` cookie — as SHA-256 of a fixed label and that
value: another site can neither read the cookie nor compute the token, no server
state is needed, and signing in (a new session id) changes the token. API calls
with ``Authorization: Bearer`` are exempt: a browser never adds that header on
its own, and such calls ignore cookies entirely (:mod:`web.auth`). The check itself,
and what a request must show before its body is read, are :mod:`web.gate`'s.

**Cookies** are ``HttpOnly``, ``SameSite=Lax`` (links from other sites still open
a signed-in page; their POSTs carry no cookie) and ``Secure`` when the request
came over HTTPS or ``web.secure_cookies = "always"``.

**Headers.** A strict Content-Security-Policy (scripts and styles only from
``/static``, no inline code, no framing), ``nosniff``, no referrer, and
``Cache-Control: no-store`` on everything but static files, since pages show
personal data. A response that sets one of these itself keeps its own value
(a PDF viewer page may need ``frame-src 'self'``). The access log written here has
no query strings, since searches carry citizens' names.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.settings import WebSettings

__all__ = [
    "CSP",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "PRE_COOKIE",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "SecurityHeadersMiddleware",
    "bearer_request",
    "csrf_token",
    "csrf_valid",
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


async def sent_token(request: Request) -> str:
    """The CSRF token the request sent: its header, else its form field (the form is read)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def csrf_valid(request: Request, sent: str) -> bool:
    """Whether ``sent`` is the token of the cookie that identifies this browser."""
    binding = request.cookies.get(SESSION_COOKIE) or request.cookies.get(PRE_COOKIE)
    return bool(binding and sent) and hmac.compare_digest(
        sent.encode(), _derive(binding or "").encode()
    )


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
