"""HTTP-only failures (not signed in, not allowed, bad CSRF token, too many attempts).

Domain errors stay in :mod:`sohoa.errors`; these are the web layer's own. Both
kinds become responses in exactly one place, :func:`web.app.install_error_handlers`,
which answers ``/api`` requests with JSON and pages with HTML.
"""

from __future__ import annotations

__all__ = ["AuthRequired", "CsrfFailed", "Forbidden", "TooManyAttempts", "WebError"]


class WebError(Exception):
    """Base: an HTTP status and the text key (:mod:`sohoa.texts`) of what the user is told."""

    status: int = 400
    key: str = "web_bad_request"

    def __init__(self, key: str | None = None, **params: object) -> None:
        if key is not None:
            self.key = key
        self.params = params
        super().__init__(self.key)

    @property
    def headers(self) -> dict[str, str]:
        return {}


class AuthRequired(WebError):
    """No valid session (pages redirect to /login) or no valid token (API: 401)."""

    status = 401
    key = "web_login_required"


class Forbidden(WebError):
    """Signed in, but the role lacks the permission the route requires."""

    status = 403
    key = "web_forbidden"


class CsrfFailed(WebError):
    """A state-changing request without the CSRF token of the browser's session."""

    status = 403
    key = "web_csrf_failed"


class TooManyAttempts(WebError):
    """Sign-in refused for a while; ``retry_after`` seconds go in the ``Retry-After`` header."""

    status = 429
    key = "web_login_locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(minutes=max(1, -(-retry_after // 60)))
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
