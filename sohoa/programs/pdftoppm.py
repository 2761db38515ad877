"""Rasterise PDF pages with poppler's ``pdftoppm``; pdf2image reads the images it writes.

Why not pdf2image's ``convert_from_path``: for one page it starts three programs
(``pdfinfo`` for the page count, ``pdftoppm -v`` for the version, then
``pdftoppm``), with no timeout on the first two and stderr thrown away. Here the one
``pdftoppm`` run goes through :func:`~sohoa.programs.run.run_program` (timeout,
stderr to ``sohoa.programs.pdftoppm``, domain errors) with the command line
pdf2image built, and pdf2image's own parser turns the PPM stream into images.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pdf2image.parsers import parse_buffer_to_ppm
from PIL import Image

from sohoa.programs.run import run_program

__all__ = ["render", "render_bytes"]


def render(
    pdf: Path | str, *, first_page: int, last_page: int, dpi: int, timeout: float
) -> list[Image.Image]:
    """Pages ``first_page`` to ``last_page`` (1-based) of ``pdf`` at ``dpi``, as RGB images.

    Raises:
        ProgramMissingError: poppler is not installed.
        ProgramTimeoutError: rendering took longer than ``timeout`` seconds.
        ExternalProgramError: ``pdftoppm`` failed (a corrupt PDF, a page out of range).
    """
    args = ["pdftoppm", "-r", str(dpi), str(pdf), "-f", str(first_page), "-l", str(last_page)]
    done = run_program(args, timeout=timeout, binary_stdout=True)
    return parse_buffer_to_ppm(done.stdout_bytes)


def render_bytes(
    data: bytes, *, first_page: int, last_page: int, dpi: int, timeout: float
) -> list[Image.Image]:
    """:func:`render` for a PDF held in memory (written to a temporary file first)."""
    with tempfile.NamedTemporaryFile(prefix="sohoa-render-", suffix=".pdf") as handle:
        handle.write(data)
        handle.flush()
        return render(
            Path(handle.name), first_page=first_page, last_page=last_page, dpi=dpi, timeout=timeout
        )
