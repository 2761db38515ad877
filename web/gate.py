"""What a request must show before its body is read, and the CSRF check of what gets in.

Why before the body: FastAPI reads a route's form or JSON before any dependency runs, so
a CSRF check made only as a dependency came after an anonymous 450 MB POST to ``/login``
had been spooled to disk. :class:`BodyLimitMiddleware` decides from the headers alone:

* A state-changing request (POST, PUT, PATCH, DELETE) needs a credential: an API bearer
  token (under ``/api``), the session cookie, or — for the sign-in form only — the
  pre-session cookie that form sets. Without one it is refused as a CSRF failure (403),
  nothing read: a browser that is not signed in has nothing else to post.
* Each route has a cap (:class:`BodyCaps`): the sign-in form a few KB, other forms and JSON
  a little more, uploads their configured limit. A larger ``Content-Length`` is refused
  (413) at once; a chunked body is counted as it streams and stopped past the cap.
* An upload's cap is hundreds of MB, and a cookie is free to invent: there the session or
  token is looked up too, and a sender who is not signed in is refused before a byte is read.
* An API token is always looked up (one indexed read, reused by the route): a bad or
  expired one gets its 401, a read-only one its 403 (:func:`web.auth.check_scope`), before
  a byte of what it sends is read.

Then :func:`csrf_protect`, the app-wide dependency, checks the token of what got through.
Refusals of anonymous requests are logged throttled (:func:`web.audit.audit_refusal`); a
signed-in user's are each logged with their name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog.audit import Action
from sohoa.errors import SohoaError
from web.audit import audit, audit_refusal
from web.auth import check_scope, current_principal, optional_principal
from web.errors import AuthRequired, CsrfFailed, WebError
from web.security import (
    CSRF_HEADER,
    PRE_COOKIE,
    SAFE_METHODS,
    SESSION_COOKIE,
    bearer_request,
    csrf_valid,
    sent_token,
)

__all__ = [
    "FORM_BODY_BYTES",
    "LOGIN_BODY_BYTES",
    "BodyCaps",
    "BodyLimitMiddleware",
    "Responder",
    "csrf_protect",
]

LOGIN_BODY_BYTES = 16 * 1024
"""The sign-in form: a name, a password, where to go next and the CSRF token."""
FORM_BODY_BYTES = 256 * 1024
"""Any other form or JSON body: a correction is at most a few thousand characters, and
percent-encoded Vietnamese takes up to nine bytes a character."""

Responder = Callable[[Request, Exception], Awaitable[Response]]
"""Renders a refusal as the app's error handlers render the same error raised in a route."""


@dataclass(frozen=True)
class BodyCaps:
    """The largest body each path takes (see the module docstring)."""

    uploads: Mapping[str, int]
    """Paths that take files, each with its cap; the sender is signed in before a byte is read."""
    anonymous: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({"/login": LOGIN_BODY_BYTES})
    )
    """Paths a browser that is not signed in may post to, each with its cap."""
    other: int = FORM_BODY_BYTES
    """Every other path."""

    def of(self, path: str) -> int:
        """The cap of ``path``."""
        return self.uploads.get(path) or self.anonymous.get(path) or self.other


class BodyLimitMiddleware:
    """Refuse, from the headers alone, what must not be read (see the module docstring).

    Refusals are rendered by ``respond``; a chunked body past its cap raises an
    ``HTTPException(413)`` from ``receive``, which FastAPI passes through its body
    parsing untouched to the app's handlers.
    """

    def __init__(self, app: ASGIApp, *, caps: BodyCaps, respond: Responder) -> None:
        self.app = app
        self.caps = caps
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cap = self.caps.of(request.url.path)
        refusal = await self._refusal(request) or _declared_over(request, cap)
        if refusal is not None:
            response = await self.respond(request, refusal)
            await response(scope, receive, send)
            return
        await self.app(scope, _capped(receive, cap), send)

    async def _refusal(self, request: Request) -> Exception | None:
        """Why ``request`` may not send a body at all, or ``None``."""
        if request.method in SAFE_METHODS:
            return None
        path = request.url.path
        if not _has_credential(request, anonymous=path in self.caps.anonymous):
            token_sent = CSRF_HEADER in request.headers
            await run_in_threadpool(
                audit_refusal, request, Action.CSRF_REJECTED, target=path, token_sent=token_sent
            )
            return CsrfFailed()
        if path in self.caps.uploads or bearer_request(request):
            return await _not_signed_in(request)
        return None


def _has_credential(request: Request, *, anonymous: bool) -> bool:
    """A bearer token, a session cookie, or (on a path open to anonymous browsers) a
    pre-session cookie: present, not yet checked."""
    cookies = request.cookies
    return (
        bearer_request(request)
        or SESSION_COOKIE in cookies
        or (anonymous and PRE_COOKIE in cookies)
    )


async def _not_signed_in(request: Request) -> Exception | None:
    """The error for a sender who is not signed in (a bad API token: its own) or whose
    read-only token may not change anything, or ``None``."""
    try:
        principal = await run_in_threadpool(current_principal, request)
        if principal is not None:
            await run_in_threadpool(check_scope, request, principal)
    except (WebError, SohoaError) as exc:
        return exc
    return AuthRequired() if principal is None else None


def _declared_over(request: Request, cap: int) -> Exception | None:
    """413 for a ``Content-Length`` over ``cap``."""
    declared = request.headers.get("content-length", "0")
    return HTTPException(status_code=413) if declared.isdigit() and int(declared) > cap else None


def _capped(receive: Receive, cap: int) -> Receive:
    """``receive``, counting body bytes and raising 413 once past ``cap``."""
    received = 0

    async def limited() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > cap:
            raise HTTPException(status_code=413)
        return message

    return limited


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuse a state-changing cookie request without the right token.

    Raises:
        CsrfFailed: the token is missing, wrong, or the browser has no identifying cookie.
    """
    if request.method in SAFE_METHODS or bearer_request(request):
        return
    sent = await sent_token(request)
    if csrf_valid(request, sent):
        return
    await run_in_threadpool(_log_csrf_failure, request, token_sent=bool(sent))
    raise CsrfFailed()


def _log_csrf_failure(request: Request, *, token_sent: bool) -> None:
    """Each failure of a signed-in user, named (they answer for what they send); anyone
    else's throttled."""
    path = request.url.path
    if optional_principal(request) is None:
        audit_refusal(request, Action.CSRF_REJECTED, target=path, token_sent=token_sent)
    else:
        audit(request, Action.CSRF_REJECTED, target=path, token_sent=token_sent)
