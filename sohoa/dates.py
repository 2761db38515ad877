"""Days as people type them: the one parser every command, page and API uses.

Why one: ``sohoa nightly --day``, ``sohoa report --from``, ``sohoa search --from``
and the web's date fields each had their own parser, so ``21.11.2026`` worked in
one command and was refused by the next. Each form accepted anywhere is accepted
everywhere now:

* ISO ``yyyy-mm-dd``, month and day with one or two digits (``2026-11-21``,
  ``2026-1-5``), what a browser's date input sends;
* day first, as Vietnamese offices write it: ``dd/mm/yyyy``, ``dd.mm.yyyy`` or
  ``dd-mm-yyyy``, one or two digits for day and month (``5/3/2024``).

A four-digit year is required (``10/9/22`` is refused: which century?), surrounding
blanks are ignored, and an impossible day (``31/02/2026``) is refused like any
other text. Kernel module: standard library and :mod:`sohoa.errors` only.
"""

from __future__ import annotations

import re
from datetime import date

from sohoa.errors import BadDayError

__all__ = ["parse_day", "parse_optional_day"]

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", re.ASCII)
_ECHO = 32
"""At most this many characters of a refused value are repeated in the message."""


def parse_day(text: str, *, option: str = "day") -> date:
    """The day ``text`` names, in any of the forms of the module docstring.

    Args:
        text: what the user typed.
        option: the option or field it came from (``--day``, ``from``), named in the error.

    Raises:
        BadDayError: not one of the forms, or not a real day.
    """
    cleaned = text.strip()
    if match := _ISO.fullmatch(cleaned):
        year, month, day = match.groups()
    elif match := _DAY_FIRST.fullmatch(cleaned):
        day, month, year = match.groups()
    else:
        raise BadDayError(option=option, value=cleaned[:_ECHO])
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise BadDayError(option=option, value=cleaned[:_ECHO]) from None


def parse_optional_day(text: str | None, *, option: str) -> date | None:
    """:func:`parse_day`, with a blank field read as "no day" (``None``).

    Why: a form's empty date input means "no bound", while a command's option,
    when given, must be a day.

    Raises:
        BadDayError: as :func:`parse_day`.
    """
    if text is None or not text.strip():
        return None
    return parse_day(text, option=option)
