"""Key-field extraction (first version: the mã hồ sơ pattern only).

The full, table-driven extraction with QR codes and validators is a later
issue; this module is where it grows.
"""

from __future__ import annotations

import re

# {agency id}-{yyMMdd}-{NNNN}: "000.00.06.H56-231027-0361", "H21.65-220914-0011".
DOSSIER_CODE = re.compile(r"(?<![\w.])((?:[A-Z0-9]{1,4}\.){1,4}[A-Z0-9]{2,4}-\d{6}-\d{4})(?![\w])")


def find_dossier_code(text: str) -> str | None:
    """The first mã hồ sơ written in ``text``, or ``None``."""
    match = DOSSIER_CODE.search(text.upper())
    return match.group(1) if match else None
