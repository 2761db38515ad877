"""The one place where domain errors and their exit codes are defined.

Every error a user can meet carries a message key (rendered in Vietnamese or
English by :mod:`sohoa.i18n`), the parameters for that message, and an exit
code. Only the CLI (and later the web app) turns these into exit codes or HTTP
statuses; everything else raises and lets them travel.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes, stable so scripts and the nightly job can branch on them."""

    OK = 0
    USAGE = 2
    BAD_INPUT = 3
    ENCRYPTED_INPUT = 4
    INPUT_TOO_LARGE = 5
    OCR_FAILED = 6
    SIGNING_FAILED = 7
    STORAGE_FAILED = 8
    VERIFY_FAILED = 9
    NOT_FOUND = 10
    CONFIG = 11
    EXTERNAL_PROGRAM = 12
    INTERNAL = 70


class SohoaError(Exception):
    """Base of all domain errors.

    Args:
        key: message key in :data:`sohoa.i18n.MESSAGES`.
        **params: values substituted into the message (file names, reasons).
    """

    exit_code: ExitCode = ExitCode.INTERNAL
    key: str = "internal"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        if key is not None:
            self.key = key
        self.params = params
        super().__init__(self.render("en"))

    def render(self, lang: str = "vi") -> str:
        """Return the user-facing one-line message in ``lang``."""
        from sohoa.i18n import message

        return message(self.key, lang, **self.params)


class BadInputError(SohoaError):
    """The file is empty, corrupt, truncated, or not an image/PDF we accept."""

    exit_code = ExitCode.BAD_INPUT
    key = "bad_input"


class EncryptedInputError(BadInputError):
    """A password-protected PDF: we cannot read it without the owner's password."""

    exit_code = ExitCode.ENCRYPTED_INPUT
    key = "encrypted_pdf"


class InputTooLargeError(BadInputError):
    """The file or one of its images exceeds the configured limits (decompression bomb guard)."""

    exit_code = ExitCode.INPUT_TOO_LARGE
    key = "too_large"


class OcrError(SohoaError):
    """Tesseract failed or timed out on a page."""

    exit_code = ExitCode.OCR_FAILED
    key = "ocr_failed"


class SigningError(SohoaError):
    """The PDF could not be signed (missing or unreadable certificate, bad password)."""

    exit_code = ExitCode.SIGNING_FAILED
    key = "signing_failed"


class StorageError(SohoaError):
    """The object store or catalog could not be reached or refused an operation."""

    exit_code = ExitCode.STORAGE_FAILED
    key = "storage_failed"


class ChecksumMismatchError(StorageError):
    """The store returned an object whose bytes do not match the sha256 recorded for it.

    Not an outage: the store answered, the content is wrong. ``verify`` reports it as a
    changed object, while any other :class:`StorageError` while reading is "unreadable".
    """


class ObjectLockedError(StorageError):
    """An archived object version is under retention (object lock) and cannot be deleted yet."""

    key = "object_locked"


class VerificationError(SohoaError):
    """An archived PDF no longer matches its hash or its signature does not validate."""

    exit_code = ExitCode.VERIFY_FAILED
    key = "verify_failed"


class NotFoundError(SohoaError):
    """A record, object or file asked for does not exist."""

    exit_code = ExitCode.NOT_FOUND
    key = "not_found"


class ConfigError(SohoaError):
    """Settings are invalid or a configured resource is missing."""

    exit_code = ExitCode.CONFIG
    key = "config"


class ExternalProgramError(SohoaError):
    """An external program (pdfsig, qpdf, pdftoppm...) is missing, failed or timed out."""

    exit_code = ExitCode.EXTERNAL_PROGRAM
    key = "external_program"


# --- web (issue 7) ---


class InvalidRequestError(SohoaError):
    """A request the user can correct: a bad account name, role or password, an impossible change.

    The CLI exits 2 (usage); the web app answers 400 and shows the form again.
    """

    exit_code = ExitCode.USAGE
    key = "invalid_request"


class ConflictError(InvalidRequestError):
    """The request clashes with what exists (an account or token name already taken): HTTP 409."""

    key = "conflict"


class PermissionDeniedError(SohoaError):
    """The user's role or unit does not allow this action: HTTP 403.

    Raised by library code that enforces a unit scope (a clerk limited to their
    unit), so the web pages and the API refuse the same things.
    """

    exit_code = ExitCode.USAGE
    key = "permission_denied"


class StaleRevisionError(ConflictError):
    """A correction made from a form older than the record (someone changed it since): HTTP 409.

    Nothing was changed. ``manifest`` is the record as it is now, so the web page
    can show the current values beside what the clerk typed.
    """

    key = "stale_revision"

    def __init__(self, *, record: str, expected: int, current: int, manifest: Any = None) -> None:
        super().__init__(record=record, expected=expected, current=current)
        self.manifest = manifest


class BatchBusyError(ConflictError):
    """Another live run (the nightly run, the web job runner, another ``ingest``) holds the
    batch's claim: HTTP 409, CLI exit 2 like the other conflicts.

    Nothing was done: the caller's files and the batch's inbox copies are untouched, and
    the holder finishes the batch, so trying again later is always safe.
    """

    key = "batch_busy"
