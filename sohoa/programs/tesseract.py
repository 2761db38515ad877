"""Every Tesseract call: a page's words (TSV), a list of crops, orientation (OSD), version.

Why run Tesseract through :func:`~sohoa.programs.run.run_program` rather than through
pytesseract's own ``image_to_data``: pytesseract starts the child with the process's
``os.environ``, so a thread limit could only be set for the whole process, and its
stderr, timeout and errors bypass the runner. pytesseract stays the parser and the
configuration point: its ``file_to_dict`` reads the TSV and ``osd_to_dict`` the OSD
answer, and ``pytesseract.pytesseract.tesseract_cmd`` still names the program (a
benchmark wraps it to measure memory). The command lines are the ones pytesseract
built, and images are handed over as files the caller already wrote, so a page still
costs one Tesseract run and no extra image encoding; pytesseract's once-per-process
``tesseract --version`` probe is gone.

``OMP_THREAD_LIMIT`` is passed to each child: pages already run one per core, and
unlimited OpenMP threads made one project 31x slower.

:data:`RUNNING` bounds how many Tesseract children this process runs at once (one per
core by default): a batch may then keep one page more in flight than there are cores,
so that page's Python work (decoding, cleaning, the MRC split) runs while both cores'
Tesseracts read, and a core no longer waits for it (``flows.batch._read_all``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pytesseract import pytesseract as _pt

from sohoa.errors import ExternalProgramError
from sohoa.programs.run import ProgramResult, run_program

__all__ = [
    "DEFAULT_THREADS",
    "RUNNING",
    "RunningLimit",
    "languages",
    "osd",
    "thread_env",
    "tsv",
    "version",
]

DEFAULT_THREADS = 1
"""OpenMP threads per Tesseract child: one, since sohoa runs one Tesseract per core."""


class RunningLimit:
    """At most :attr:`size` Tesseract children at once in this process (``None``: no bound).

    Why one bound for the process and not one per batch: the web app and a worker run
    several batches at once (``web.job_workers``), and what must not be exceeded is
    Tesseracts per machine's cores, not per batch. Waiting callers are woken in turn.
    """

    def __init__(self, size: int | None = None) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self.size = size

    def at_most(self, size: int) -> None:
        """Bound the process's Tesseracts to ``size`` from now on (a batch's ``ocr.workers``)."""
        with self._changed:
            self.size = max(1, size)
            self._changed.notify_all()

    @property
    def running(self) -> int:
        """Tesseract children running now (tests count them)."""
        return self._running

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait for a free slot, hold it while the block runs one Tesseract child."""
        with self._changed:
            self._changed.wait_for(lambda: self.size is None or self._running < self.size)
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify()


RUNNING = RunningLimit()
"""The process's bound on Tesseract children (set per batch by ``flows.batch``)."""


def thread_env(threads: int = DEFAULT_THREADS) -> dict[str, str]:
    """The environment a Tesseract child gets on top of ours: its OpenMP thread limit."""
    return {"OMP_THREAD_LIMIT": str(threads)}


def _command() -> str:
    """The Tesseract program: pytesseract's ``tesseract_cmd`` (``tesseract`` on ``PATH``)."""
    return str(_pt.tesseract_cmd)


def tsv(
    image: Path,
    *,
    lang: str,
    psm: int,
    dpi: int,
    timeout: float,
    tessdata_dir: Path | str | None = None,
    threads: int = DEFAULT_THREADS,
) -> dict[str, list[Any]]:
    """Read ``image`` once and return Tesseract's TSV as columns (pytesseract's ``DICT``).

    ``image`` may be a ``.txt`` list of image files: Tesseract then reads them all in
    one run (the model loads once) and ``page_num`` numbers them from 1. The output is
    written beside ``image``, in the caller's temporary folder.

    Raises:
        ProgramMissingError: Tesseract is not installed.
        ProgramTimeoutError: the run took longer than ``timeout`` seconds.
        ExternalProgramError: Tesseract failed (``detail`` is its whole stderr) or wrote no TSV.
    """
    base = image.with_name(f"{image.stem}-tesseract")
    args: list[str | Path] = [_command(), image, base, "-l", lang, "-c", "tessedit_create_tsv=1"]
    args += ["--psm", str(psm), "--dpi", str(dpi)]
    if tessdata_dir:
        args += ["--tessdata-dir", str(tessdata_dir)]
    out = base.with_name(f"{base.name}.tsv")
    _checked(_run(args, timeout=timeout, threads=threads, expect=out))
    return _pt.file_to_dict(out.read_text(encoding="utf-8"), "\t", -1)


def osd(
    image: Path, *, dpi: int, timeout: float, threads: int = DEFAULT_THREADS
) -> dict[str, Any] | None:
    """Tesseract's orientation and script detection for ``image``, or ``None`` if it cannot tell.

    OSD exits non-zero ("Too few characters") on sparse pages: an answer, not an error.
    Keys as pytesseract's ``osd_to_dict``: ``rotate``, ``orientation_conf``, ``script``...

    Raises:
        ProgramMissingError: Tesseract is not installed.
        ProgramTimeoutError: the run took longer than ``timeout`` seconds.
    """
    base = image.with_name(f"{image.stem}-osd")
    args = [_command(), image, base, "-l", "osd", "--psm", "0", "--dpi", str(dpi)]
    out = base.with_name(f"{base.name}.osd")
    if _run(args, timeout=timeout, threads=threads, expect=out).returncode != 0:
        return None
    try:
        return _pt.osd_to_dict(out.read_text(encoding="utf-8"))
    except (KeyError, ValueError):  # a line pytesseract does not know: cannot tell, not a crash
        return None


def version(*, timeout: float) -> str:
    """The first line of ``tesseract --version`` (``tesseract 5.3.0``)."""
    done = run_program([_command(), "--version"], timeout=timeout)
    return (done.stdout or done.stderr).splitlines()[0].strip()


def languages(*, timeout: float, tessdata_dir: Path | str | None = None) -> set[str]:
    """The language models Tesseract finds (in ``tessdata_dir`` when given)."""
    args = [_command(), "--list-langs"]
    if tessdata_dir:
        args += ["--tessdata-dir", str(tessdata_dir)]
    listed = run_program(args, timeout=timeout)
    return {line.strip() for line in listed.stdout.splitlines()[1:]}


def _run(args: list[str | Path], *, timeout: float, threads: int, expect: Path) -> ProgramResult:
    """One Tesseract child with its thread limit, in one of :data:`RUNNING`'s slots; the
    caller reads the exit code."""
    with RUNNING.slot():
        return run_program(
            args, timeout=timeout, check=False, env=thread_env(threads), expect_output=expect
        )


def _checked(result: ProgramResult) -> ProgramResult:
    """Raise on a failed run with all of stderr as the detail.

    Why not the runner's last line: Tesseract names the cause first ("Error opening
    data file .../vie.traineddata") and ends with a generic "Could not initialize
    tesseract."; joined, the lines read as pytesseract reported them.
    """
    if result.returncode == 0:
        return result
    detail = " ".join(result.stderr.splitlines()).strip() or "no message"
    raise ExternalProgramError(
        "program_failed", program="tesseract", code=result.returncode, detail=detail[:200]
    )
