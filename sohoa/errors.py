"""The one place where domain errors and their exit codes are defined.

Every error a user can meet carries a message key (rendered in Vietnamese or
English from the catalogue ``sohoa/messages.toml``), the parameters for that message, and an exit
code. Only the CLI turns these into exit codes (with :func:`exit_code_of`, which
the nightly summary also reads to record them) and only the web app into HTTP
statuses (:mod:`web.statuses`); everything else raises and lets them travel, and
library results say what happened as an error type, never as an exit code.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit codes, stable so scripts and the nightly job can branch on them."""

    OK = 0
    FINDINGS = 1
    """A check found what it looks for (``register check``: records the register lacks),
    as ``diff`` does: scripts and the nightly job can tell a clean register from one to fix."""
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


class StopRequested(BaseException):
    """SIGTERM, raised in the main thread as Ctrl-C raises ``KeyboardInterrupt``.

    A ``BaseException``, not a :class:`SohoaError`: being stopped is not an error of the
    work, and no ``except Exception`` on the way may swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class SohoaError(Exception):
    """Base of all domain errors.

    Args:
        key: message key in the catalogue (:mod:`sohoa.messages`).
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
        from sohoa.messages import message

        return message(self.key, lang, **self.params)


_SERVER_PATH = re.compile(r"(?<![\w.])(?:/[^\s/:'\"()]+)+/([^\s/:'\"()]+)")


def without_server_paths(text: str) -> str:
    """``text`` with every absolute path cut to its last part (the file's name).

    Why: a library's own words (pikepdf: "/srv/sohoa/data/work/3f…/scan.pdf: unable to
    find trailer") become the reason a clerk reads for a refused scan; the server's
    folders are none of the clerk's business, and the file's name is all they need.
    """
    return _SERVER_PATH.sub(r"\1", text)


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


class ProgramMissingError(ExternalProgramError):
    """The program is not installed (not on ``PATH``): a set-up problem, never the file's fault.

    Its own type so callers that turn a program's failure into a finding about the
    input (a page that would not OCR, a PDF that would not render) let this one travel.
    Param ``program``.
    """

    key = "program_missing"


class ProgramTimeoutError(ExternalProgramError):
    """The program ran past its timeout and was killed.

    Its own type so callers can tell "too slow on this input" from "broken" by type,
    never by message key. Params ``program`` and ``seconds``.
    """

    key = "program_timeout"


# --- web ---


class InvalidRequestError(SohoaError):
    """A request the user can correct: a bad account name, role or password, an impossible change.

    The CLI exits 2 (usage); the web app answers 400 and shows the form again.
    """

    exit_code = ExitCode.USAGE
    key = "invalid_request"


class BadDayError(InvalidRequestError, ValueError):
    """A typed day that is not one (``31/02/2026``, ``March 5``), from :func:`sohoa.dates.parse_day`.

    Params ``option`` (the option or form field) and ``value``. CLI exit 2, HTTP 400.
    Also a :class:`ValueError`, the type a bad date is everywhere else in Python, so
    code that reads a day among other values catches it with them.
    """

    key = "bad_day"


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


# --- lookups, register cells, generated samples ---


class UnknownUnitError(NotFoundError, LookupError):
    """A unit code that is neither in the unit list nor in any register entry.

    Still a :class:`LookupError`, as it was before it joined the hierarchy, so code that
    treats "not in the tree" as a failed lookup keeps working.
    """

    key = "report_unknown_unit"

    def __init__(self, unit: str) -> None:
        super().__init__(unit=unit)
        self.unit = unit


class BadCellError(BadInputError, ValueError):
    """A register cell that cannot be read (a date, a status code, a yes/no…).

    ``reason`` is the row problem's code (``bad_date``, ``bad_status``…): the register
    import turns it into one reported bad row rather than failing the file. Still a
    :class:`ValueError`, as it was before it joined the hierarchy.
    """

    key = "register_bad_cell"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)
        self.reason = reason


class SampleOverflowError(SohoaError):
    """Required text of a generated sample page ran past its bottom margin.

    ``optional`` is how many optional lines were drawn: the generator retries with one
    fewer, and only a page whose required text alone does not fit is a bug.
    """

    key = "sample_overflow"

    def __init__(self, optional: int) -> None:
        super().__init__(optional=optional)
        self.optional = optional


def exit_code_of(error: BaseException | type[BaseException] | None) -> ExitCode:
    """The exit code for an error, given as an instance or as its type; ``OK`` for none.

    Why one function: the CLI's exit status and the exit codes the nightly summary
    records for each batch and step must agree, so both read them here rather than
    each choosing ``ExitCode`` members. A domain error's code is its own; anything
    outside the hierarchy is an internal error.
    """
    if error is None:
        return ExitCode.OK
    kind = error if isinstance(error, type) else type(error)
    return kind.exit_code if issubclass(kind, SohoaError) else ExitCode.INTERNAL
