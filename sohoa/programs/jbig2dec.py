"""Decode JBIG2 images for pikepdf with ``jbig2dec``, through sohoa's one runner.

Why: pikepdf cannot decode JBIG2 (what black-and-white office scanners write) by
itself; its own decoder starts ``jbig2dec`` with no timeout and its stderr dropped,
so one damaged or hostile stream could hold a worker for ever. :func:`use_for_pikepdf`
hands pikepdf this decoder instead (``pikepdf.jbig2.set_decoder``): every
``jbig2dec`` run then goes through :func:`~sohoa.programs.run.run_program`, with a
timeout, its stderr logged to ``sohoa.programs.jbig2dec``, and failures turned into
the errors pikepdf's interface promises its callers (``DependencyError`` when the
program is missing, ``DataDecodingError`` when the data cannot be decoded in time).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pikepdf
from pikepdf.jbig2 import JBIG2DecoderInterface, set_decoder
from PIL import Image

from sohoa.errors import ExternalProgramError, ProgramMissingError
from sohoa.programs.run import run_program

__all__ = ["Jbig2Decoder", "use_for_pikepdf"]

VERSION_TIMEOUT_S = 30.0
"""Seconds ``jbig2dec --version`` may take."""
MIN_VERSION = (0, 15)
"""Older ``jbig2dec`` cannot read the embedded streams PDF holds (pikepdf's own rule)."""


class Jbig2Decoder(JBIG2DecoderInterface):
    """pikepdf's JBIG2 decoder interface, served by ``jbig2dec`` through ``run_program``."""

    def __init__(self, *, timeout: float) -> None:
        """Keep the timeout for every image this decoder is given.

        Args:
            timeout: seconds one image may take to decode before it counts as damaged.
        """
        self.timeout = timeout

    def check_available(self) -> None:
        """Raise ``DependencyError`` when ``jbig2dec`` is missing or too old.

        Why pikepdf asks: a missing decoder means "cannot take this image out" (the
        page is rasterised), not "this file is damaged".
        """
        program = shutil.which("jbig2dec")
        if program is None:
            raise pikepdf.DependencyError("jbig2dec - not installed or not found")
        version = _version(program)
        if version is not None and version < MIN_VERSION:
            raise pikepdf.DependencyError("jbig2dec is too old (older than version 0.15)")

    def decode_jbig2(self, jbig2: bytes, jbig2_globals: bytes) -> bytes:
        """Decoded 1-bit rows of one embedded JBIG2 stream (with its globals, if any).

        Raises:
            DependencyError: ``jbig2dec`` is not installed.
            DataDecodingError: it rejected the data, wrote nothing, or ran past the timeout.
        """
        with tempfile.TemporaryDirectory(prefix="sohoa-jbig2-") as tmp:
            image, globals_, out = Path(tmp, "image"), Path(tmp, "global"), Path(tmp, "out.png")
            image.write_bytes(jbig2)
            args = ["jbig2dec", "--embedded", "--format", "png", "--output", str(out)]
            if jbig2_globals:
                globals_.write_bytes(jbig2_globals)
                args.append(str(globals_))
            try:
                run_program([*args, str(image)], timeout=self.timeout, expect_output=out)
            except ProgramMissingError as exc:
                raise pikepdf.DependencyError("jbig2dec - not installed or not found") from exc
            except ExternalProgramError as exc:  # failed, timed out, wrote no image
                raise pikepdf.DataDecodingError(str(exc)) from exc
            with Image.open(out) as decoded:
                return decoded.tobytes()


def use_for_pikepdf(*, timeout: float) -> None:
    """Make pikepdf decode every JBIG2 image with :class:`Jbig2Decoder` (process-wide).

    Why process-wide: pikepdf keeps one decoder for the process and decodes JBIG2
    wherever an image is read; setting it again is cheap and only changes the timeout.
    """
    set_decoder(Jbig2Decoder(timeout=timeout))


@lru_cache(maxsize=8)
def _version(program: str) -> tuple[int, ...] | None:
    """``jbig2dec``'s version as numbers, or ``None`` when it prints none we can read.

    Cached per program path: pikepdf asks before every image, the answer does not change.
    """
    try:
        done = run_program([program, "--version"], timeout=VERSION_TIMEOUT_S)
    except ProgramMissingError as exc:
        raise pikepdf.DependencyError("jbig2dec - not installed or not found") from exc
    except ExternalProgramError as exc:
        raise pikepdf.DependencyError(f"jbig2dec does not run: {exc}") from exc
    found = re.search(r"(\d+)\.(\d+)", done.stdout)
    return tuple(int(part) for part in found.groups()) if found else None
