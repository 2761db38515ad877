"""poppler's ``pdfsig``: an implementation of PDF signature checking independent of pyHanko.

Why a door of its own: ``pdfsig`` reports invalid signatures on stdout with a non-zero
exit code, so its exit code is not a failure; only a missing program or a timeout is.
"""

from __future__ import annotations

import os

from sohoa.programs.run import ProgramResult, run_program

__all__ = ["check", "version"]


def check(pdf: str | os.PathLike[str], *, timeout: float) -> ProgramResult:
    """Run ``pdfsig pdf`` and return what it printed, whatever its exit code.

    Raises:
        ProgramMissingError: poppler is not installed.
        ProgramTimeoutError: ``pdfsig`` ran longer than ``timeout`` seconds.
    """
    return run_program(["pdfsig", pdf], timeout=timeout, check=False)


def version(*, timeout: float) -> str:
    """The first line of ``pdfsig -v`` (``pdfsig version 22.12.0``), or ``pdfsig``."""
    found = run_program(["pdfsig", "-v"], timeout=timeout, check=False)
    line = (found.stderr or found.stdout).strip().splitlines()
    return line[0] if line else "pdfsig"
