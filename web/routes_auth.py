"""Signing in and out: ``GET/POST /login``, ``POST /logout``.

A failed sign-in is told the same thing whether the name exists, is disabled or
the password is wrong (the audit log keeps the real reason). Failures are limited
per (name, client address), per name and per address
(:class:`web.sign_in_limits.LoginLimiter`): each attempt is counted before its password
is checked, and a limited one gets 429 with ``Retry-After`` without being checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from catalog import accounts
from catalog.audit import Action
from web.audit import audit, audit_refusal
from web.auth import current_principal, end_browser_session, start_browser_session
from web.deps import catalog_of, client_ip, now_of
from web.errors import TooManyAttempts
from web.i18n import request_lang, text
from web.pages import render

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    value = (value or "").strip()
    if (
        not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or len(value) > 2000
        or any(ord(c) < 32 for c in value)
    ):
        return "/"
    return value


def _login_page(
    request: Request,
    *,
    next_url: str,
    name: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "login.html",
        status=status,
        headers=headers,
        next_url=safe_next(next_url),
        name=name,
        error=error,
    )


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form (a signed-in user goes straight on)."""
    if current_principal(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_url=next)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    """Check the name and password; open a session and go on, or show the form again."""
    limiter = request.app.state.login_limiter
    key = name.strip().lower()[:64]
    lang = request_lang(request)
    attempt = limiter.attempt(key, client_ip(request), now_of(request))
    if attempt.retry_after is not None:
        refusal = TooManyAttempts(attempt.retry_after)
        audit_refusal(request, Action.LOGIN_BLOCKED, who=key, retry_after=attempt.retry_after)
        message = text(refusal.key, lang, **refusal.params)
        return _login_page(
            request,
            next_url=next_url,
            name=name,
            error=message,
            status=refusal.status,
            headers=refusal.headers,
        )
    user, reason = accounts.authenticate(catalog_of(request), name, password)
    if user is None:  # the attempt's reserved failure stays
        audit(request, Action.LOGIN_FAILED, who=key, reason=reason)
        message = text("web_login_failed", lang)
        return _login_page(request, next_url=next_url, name=name, error=message, status=401)
    limiter.succeeded(attempt)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    start_browser_session(request, response, user)
    audit(request, Action.LOGIN)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End this browser's session (CSRF-checked like every POST) and show the sign-in form."""
    response = RedirectResponse("/login", status_code=303)
    if current_principal(request) is not None:
        audit(request, Action.LOGOUT)
    end_browser_session(request, response)
    return response
