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
other text.

Days as papers print them and OCR reads them are :func:`printed_day`'s: a worded
or numeric date behind a time of day (``14 giờ 30 phút, ngày 05 tháng 11 năm
2026``, ``08h00 ngày 05/11/2026``), with digit groups OCR split by one space
(``ngày 0 5 tháng 1 1 năm 2 026``). Kernel module: standard library and
:mod:`sohoa.errors` only.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from sohoa.errors import BadDayError

__all__ = ["parse_day", "parse_optional_day", "printed_day"]

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


_TIME = re.compile(
    r"(?<!\d)\d{1,2}\s*(?:gio|h)\s*(?:\d{1,2}\s*(?:phut|p)?)?(?![a-z])"
    r"|(?<![\d/.-])\d{1,2}\s*:\s*\d{2}(?![\d/.-])"
)
"""A time of day: ``14 giờ 30 phút``, ``08h00``, ``14:30`` (on text without diacritics)."""
_GROUP = r"(\d(?: ?\d)?)"
"""A day or month of one or two digits, which OCR may read with a space between them."""
_YEAR = r"(\d(?: ?\d){3})"
_PRINTED = (
    re.compile(rf"(?:ngay\s*)?{_GROUP}\s*[,.]?\s*thang\s*{_GROUP}\s*[,.]?\s*nam\s*{_YEAR}(?!\d)"),
    re.compile(rf"(?<![\d/.-]){_GROUP}\s*([/.-])\s*{_GROUP}\s*\2\s*{_YEAR}(?!\d)"),
)
_PRINTED_YEARS = range(1900, 2101)


def _plain(text: str) -> str:
    """Lower case without diacritics (``đ`` -> ``d``): how the patterns above read text."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def printed_day(text: str) -> date | None:
    """The first real day printed in ``text``, read the way OCR gives it (module docstring).

    Why: a receipt prints the time of receipt before its date, and OCR splits a wide
    gap inside a number ("2 023"), so a strict reading loses days a clerk reads at a
    glance. Times are removed first so their digits never join a date; a group holds
    at most one space, and the day must exist (``31/02`` does not).

    Returns:
        The day, or ``None`` when no real day between 1900 and 2100 is printed.
    """
    plain = _TIME.sub(" ", _plain(text))
    found = []
    for pattern in _PRINTED:
        for match in pattern.finditer(plain):
            groups = [g.replace(" ", "") for g in match.groups() if g not in "/.-"]
            found.append((match.start(), groups))
    for _, (day, month, year) in sorted(found, key=lambda item: item[0]):
        if int(year) not in _PRINTED_YEARS:
            continue
        try:
            return date(int(year), int(month), int(day))
        except ValueError:
            continue
    return None
