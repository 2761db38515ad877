"""HTTP-only failures: not signed in, not allowed, a bad CSRF token, too many attempts,
a full job queue, a fixity check already running, a PDF whose bytes changed.

Domain errors stay in :mod:`sohoa.errors`; these are the web layer's own, each with
its status. Every web error class lives here, so the status of each is read in one
file. Both kinds get their status from :func:`web.statuses.http_status` and become
responses in exactly one place, :func:`web.app.install_error_handlers`, which
answers ``/api`` requests with JSON and pages with HTML (a route may render a
domain error inside its own form, with the same status).
"""

from __future__ import annotations

__all__ = [
    "AuthRequired",
    "BadSample",
    "BadUnit",
    "CheckRunning",
    "CsrfFailed",
    "Forbidden",
    "PdfChanged",
    "QueueFull",
    "TooManyAttempts",
    "UploadBusy",
    "WebError",
]


class WebError(Exception):
    """Base: an HTTP status and the text key (``sohoa/messages.toml``) of what the user is told."""

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


class UploadBusy(WebError):
    """The job runner's queue is full: nothing was stored, try again later (503)."""

    status = 503
    key = "web_upload_busy"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "60"}


class QueueFull(UploadBusy):
    """``max_queued`` batches already wait for a job thread (:meth:`web.jobs.JobRunner.submit`).

    Routes check for room first and answer :class:`UploadBusy`; this is the race where
    the queue filled up since. Should it reach the handlers it is answered like that.
    """

    def __init__(self, queued: int) -> None:
        super().__init__(queued=queued)
        self.queued = queued


class PdfChanged(WebError):
    """The archived PDF's bytes no longer match the catalog's sha256: it is not served."""

    status = 409
    key = "web_pdf_changed"


class CheckRunning(WebError):
    """A fixity check started from the web is still running in this process."""

    status = 409
    key = "web_verify_busy"


class BadSample(WebError):
    """The sample is not a whole number of records between 1 and the web's most
    (:data:`web.fixity_jobs.MAX_SAMPLE`)."""

    status = 400
    key = "web_verify_bad_sample"


class BadUnit(WebError):
    """The unit of a fixity check is not a unit code."""

    status = 400
    key = "web_verify_bad_unit"
