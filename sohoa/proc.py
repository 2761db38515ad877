"""The single wrapper through which sohoa runs external programs.

Why one wrapper: every program gets a mandatory timeout, its stderr goes to a
per-program logger (never to the user's terminal unfiltered), failures become
:class:`~sohoa.errors.ExternalProgramError`, and callers can demand that an
expected output file exists afterwards.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sohoa.errors import ExternalProgramError


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of one external program run."""

    returncode: int
    """The program's exit status."""
    stdout: str
    """Captured standard output, decoded as UTF-8 with replacement."""
    stderr: str
    """Captured standard error, decoded as UTF-8 with replacement."""


def run_program(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    check: bool = True,
    ok_codes: Sequence[int] = (0,),
    expect_output: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
) -> ProgramResult:
    """Run ``args`` and return its output, raising a domain error on failure.

    Args:
        args: program and arguments; the program is looked up on ``PATH``.
        timeout: seconds before the program is killed; mandatory by design.
        check: raise when the exit code is not in ``ok_codes``.
        ok_codes: exit codes that count as success.
        expect_output: a file the program must have created.
        env: extra environment variables merged over the current environment.
        input_bytes: data sent to the program's standard input.
    """
    program = str(args[0])
    log = logging.getLogger(f"sohoa.proc.{Path(program).name}")
    if shutil.which(program) is None:
        raise ExternalProgramError("program_missing", program=program)
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run(
            [str(a) for a in args],
            capture_output=True,
            timeout=timeout,
            env=full_env,
            input=input_bytes,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ExternalProgramError("program_timeout", program=program, seconds=timeout) from exc
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    if stderr.strip():
        log.debug("%s", stderr.strip())
    if check and done.returncode not in ok_codes:
        detail = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [""]
        raise ExternalProgramError(
            "program_failed", program=program, code=done.returncode, detail=detail[0][:200]
        )
    if expect_output is not None and not expect_output.exists():
        raise ExternalProgramError("program_no_output", program=program, path=str(expect_output))
    return ProgramResult(done.returncode, stdout, stderr)
