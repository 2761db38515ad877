"""Mask personal data in every log record: CCCD/CMND numbers, phone numbers, e-mail addresses.

sohoa never logs OCR text on purpose, but file names, library messages and
exceptions can carry a citizen's ID number. Installing one log-record factory
masks them whoever logs (sohoa, Prefect, pyHanko), before any handler formats
the record. Names cannot be recognised reliably, so code must not log them.
"""

from __future__ import annotations

import logging
import re

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # e-mail: keep the first letter and the domain
    (re.compile(r"\b([\w.+-])[\w.+-]*@([\w-]+\.[\w.-]+)\b"), r"\1***@\2"),
    # 9- or 12-digit identity numbers (CMND, CCCD), alone or inside other text: keep the last 3
    (re.compile(r"(?<!\d)\d{6}(\d{3})(?!\d)|(?<!\d)\d{9}(\d{3})(?!\d)"), r"*********\1\2"),
    # Vietnamese phone numbers, with or without spaces/dots: keep the last 3 digits
    (
        re.compile(r"(?<!\d)(?:\+84|0)(?:[\s.]?\d){5,8}[\s.]?(\d)[\s.]?(\d)[\s.]?(\d)(?!\d)"),
        r"*******\1\2\3",
    ),
)


_SOHOA_ID = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9a-f]*[a-f][0-9a-f]*[0-9][0-9a-f]*[a-f])"
    r"[0-9a-f]{16}(?:[0-9a-f]{4})?(?![0-9A-Za-z])"
)
"""A record id (16) or batch id (20) in lowercase hex, letters on both sides of any digits.

Why kept apart: about one id in ten holds a run of 9 or 12 digits that read as an ID
number, and ``b03b00bf*********324e3e`` is an id nobody can look up. A letter prefix
followed by digits only (``cccd045187002319``, a scan named after its owner) is no id
of ours: it is masked.
"""


def mask_personal_data(text: str) -> str:
    """Return ``text`` with ID numbers, phone numbers and e-mail addresses masked,
    sohoa's own record and batch ids left whole."""
    return _mask_around_ids(text)


def _mask_around_ids(text: str) -> str:
    """:func:`_mask` on the text between sohoa ids, the ids as they are."""
    out, last = [], 0
    for found in _SOHOA_ID.finditer(text):
        out += [_mask(text[last : found.start()]), found.group()]
        last = found.end()
    return "".join([*out, _mask(text[last:])])


def _mask(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def install() -> None:
    """Mask every log record created from now on in this process (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "_sohoa_masking", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = current(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return record
        masked = mask_personal_data(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    factory._sohoa_masking = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
