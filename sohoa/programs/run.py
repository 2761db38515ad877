"""The single runner through which sohoa starts external programs.

Why one runner: every program gets a mandatory timeout, an environment passed per
call (never set process-wide, so one caller's thread limit cannot leak into another
program), its stderr goes to the logger ``sohoa.programs.<name>`` (never to the
user's terminal unfiltered), failures become :class:`~sohoa.errors.ExternalProgramError`
(:class:`~sohoa.errors.ProgramMissingError` and :class:`~sohoa.errors.ProgramTimeoutError`
by type), and callers can demand that an expected output file exists afterwards.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sohoa.errors import ExternalProgramError, ProgramMissingError, ProgramTimeoutError

__all__ = ["ProgramResult", "program_logger", "run_program", "stop_all"]

_RUNNING: set[subprocess.Popen] = set()
_RUNNING_LOCK = threading.Lock()
_STOPPING = threading.Event()


def stop_all() -> int:
    """Kill every program this process's threads are running, and start no more; return
    how many were killed.

    Why: a command being stopped (Ctrl-C, SIGTERM from systemd or ``docker stop``) gets
    the interrupt in its main thread only; the Tesseracts its page threads run would
    otherwise read on, and the process wait for them, before it could exit.
    """
    _STOPPING.set()  # and none started after: a page's next step would start one
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for child in running:
        child.kill()
    return len(running)


@dataclass(frozen=True)
class ProgramResult:
    """Outcome of one external program run."""

    returncode: int
    """The program's exit status."""
    stdout: str
    """Captured standard output, decoded as UTF-8 with replacement (empty when binary)."""
    stderr: str
    """Captured standard error, decoded as UTF-8 with replacement."""
    stdout_bytes: bytes = b""
    """Standard output as the program wrote it (images, for ``binary_stdout`` runs)."""


def program_logger(program: str | os.PathLike[str]) -> logging.Logger:
    """The logger that receives ``program``'s stderr: ``sohoa.programs.<file name>``."""
    return logging.getLogger(f"sohoa.programs.{Path(program).name}")


def run_program(
    args: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    check: bool = True,
    ok_codes: Sequence[int] = (0,),
    expect_output: Path | None = None,
    env: Mapping[str, str] | None = None,
    input_bytes: bytes | None = None,
    binary_stdout: bool = False,
) -> ProgramResult:
    """Run ``args`` and return its output, raising a domain error on failure.

    Args:
        args: program and arguments; the program is looked up on ``PATH``.
        timeout: seconds before the program is killed; mandatory by design.
        check: raise when the exit code is not in ``ok_codes``; with ``False`` the
            caller reads the exit code itself (a program whose "failure" is an answer).
        ok_codes: exit codes that count as success.
        expect_output: a file the program must have created when it succeeded.
        env: variables for this child only, merged over the current environment.
        input_bytes: data sent to the program's standard input.
        binary_stdout: keep stdout as bytes only (``stdout_bytes``), e.g. an image,
            instead of decoding it as text.

    Raises:
        ProgramMissingError: the program is not on ``PATH``.
        ProgramTimeoutError: it ran longer than ``timeout`` seconds (it is killed).
        ExternalProgramError: it failed (``check``) or did not create ``expect_output``.
    """
    program = str(args[0])
    if _STOPPING.is_set():
        raise ExternalProgramError("program_stopped", program=program)
    if shutil.which(program) is None:
        raise ProgramMissingError(program=program)
    try:
        returncode, out, err = _communicate(
            [str(a) for a in args], timeout, {**os.environ, **(env or {})}, input_bytes
        )
    except subprocess.TimeoutExpired as exc:
        _log_stderr(program, exc.stderr or b"")
        raise ProgramTimeoutError(program=program, seconds=timeout) from exc
    except OSError as exc:  # on PATH but not executable, or removed since the lookup
        raise ProgramMissingError(program=program) from exc
    done = subprocess.CompletedProcess(args, returncode, out, err)
    stdout = "" if binary_stdout else done.stdout.decode("utf-8", "replace")
    stderr = _log_stderr(program, done.stderr)
    if check and done.returncode not in ok_codes:
        detail = (stderr.strip() or stdout.strip()).splitlines()[-1:] or [""]
        raise ExternalProgramError(
            "program_failed", program=program, code=done.returncode, detail=detail[0][:200]
        )
    succeeded = done.returncode in ok_codes
    if succeeded and expect_output is not None and not expect_output.exists():
        raise ExternalProgramError("program_no_output", program=program, path=str(expect_output))
    return ProgramResult(done.returncode, stdout, stderr, done.stdout)


def _communicate(
    args: list[str], timeout: float, env: dict[str, str], input_bytes: bytes | None
) -> tuple[int, bytes, bytes]:
    """Run ``args``; on a timeout or an interrupt kill it before passing the error on.

    The child stays in our process group on purpose: whoever stops sohoa by its group
    (a terminal's Ctrl-C, ``kill -- -PGID``, a test harness) stops its programs too.
    """
    with subprocess.Popen(
        args,
        stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    ) as child:
        with _RUNNING_LOCK:
            _RUNNING.add(child)
        try:
            out, err = child.communicate(input_bytes, timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
            raise subprocess.TimeoutExpired(args, timeout, out, err) from None
        except BaseException:  # Ctrl-C, SIGTERM: never leave the program behind
            child.kill()
            raise
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(child)
    return child.returncode, out, err


def _log_stderr(program: str, raw: bytes) -> str:
    """Decode ``raw`` stderr and hand it to the program's logger at debug level."""
    stderr = raw.decode("utf-8", "replace")
    if stderr.strip():
        program_logger(program).debug("%s", stderr.strip())
    return stderr
