"""The one mapping from errors to HTTP statuses (:func:`http_status`).

Why a module of its own: the error handlers in :mod:`web.app` and the routes that
render an error inside their own page (a search form, the audit log, the upload
page) must answer the same status for the same error, and :mod:`web.app` imports
every route module, so the mapping cannot live there without an import circle.
Nothing here imports a route.
"""

from __future__ import annotations

from sohoa.errors import (
    BadInputError,
    ConfigError,
    ConflictError,
    InputTooLargeError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    SigningError,
    SohoaError,
    StorageError,
    VerificationError,
)
from web.errors import WebError

__all__ = ["STATUS_BY_ERROR", "http_status"]

STATUS_BY_ERROR: tuple[tuple[type[SohoaError], int], ...] = (
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidRequestError, 400),
    (PermissionDeniedError, 403),
    (InputTooLargeError, 413),
    (BadInputError, 422),
    (VerificationError, 409),
    (StorageError, 503),
    (SigningError, 503),
    (ConfigError, 500),
    (SohoaError, 500),
)
"""Most specific first: the first class an error is an instance of gives its status."""


def http_status(exc: SohoaError | WebError) -> int:
    """The HTTP status for a domain error (:data:`STATUS_BY_ERROR`) or a web error (its own)."""
    if isinstance(exc, WebError):
        return exc.status
    return next(status for kind, status in STATUS_BY_ERROR if isinstance(exc, kind))
