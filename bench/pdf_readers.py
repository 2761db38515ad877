"""Text extractors that share no code, each reading one page of a PDF's text layer.

Used by ``tests/test_text_layer.py`` (the layer must read back as the OCR read it) and by
``bench/ocr.py`` (CER of the text each reader gets from sohoa's and OCRmyPDF's PDFs).
poppler's ``pdftotext`` in its three modes, pypdf, pdfminer.six and PyMuPDF (MuPDF), which
are dev dependencies, and pdf.js (Firefox's reader, ``pdfjs-dist`` from npm, run by node;
``scripts/bootstrap.sh`` installs it in ``bench/pdfjs``). Pages are numbered from 1, as the
readers' own options are.
"""

from __future__ import annotations

import importlib.util
import subprocess
from collections.abc import Callable
from pathlib import Path

Reader = Callable[[Path, int], str]
PDFJS = Path(__file__).resolve().parent / "pdfjs"


def _pdftotext(mode: str | None) -> Reader:
    def read(pdf: Path, number: int) -> str:
        args = ["pdftotext", "-enc", "UTF-8", "-f", str(number), "-l", str(number)]
        args += [mode] if mode else []
        done = subprocess.run([*args, str(pdf), "-"], capture_output=True, check=True, timeout=60)
        return done.stdout.decode("utf-8")

    return read


def _pypdf(pdf: Path, number: int) -> str:
    import pypdf

    return pypdf.PdfReader(pdf).pages[number - 1].extract_text()


def _pdfminer(pdf: Path, number: int) -> str:
    from pdfminer.high_level import extract_text

    return extract_text(pdf, page_numbers=[number - 1])


def _pymupdf(pdf: Path, number: int) -> str:
    import pymupdf

    with pymupdf.open(pdf) as doc:
        return doc[number - 1].get_text()


def _pdfjs(pdf: Path, number: int) -> str:
    args = ["node", str(PDFJS / "extract.mjs"), str(pdf), str(number)]
    done = subprocess.run(args, capture_output=True, check=True, timeout=60)
    return done.stdout.decode("utf-8")


READERS: dict[str, Reader] = {
    "pdftotext": _pdftotext(None),
    "pdftotext -layout": _pdftotext("-layout"),
    "pdftotext -raw": _pdftotext("-raw"),
    "pypdf": _pypdf,
    "pdfminer": _pdfminer,
    "pymupdf": _pymupdf,
    "pdf.js": _pdfjs,
}
MODULES = {"pypdf": "pypdf", "pdfminer": "pdfminer", "pymupdf": "pymupdf"}
"""Reader name -> the Python module it needs (the others need only poppler-utils)."""


def installed(reader: str) -> bool:
    """Whether the reader's module (if it needs one) can be imported, or its npm package run."""
    if reader == "pdf.js":
        return (PDFJS / "node_modules" / "pdfjs-dist").is_dir()
    return reader not in MODULES or importlib.util.find_spec(MODULES[reader]) is not None


def read_pages(reader: str, pdf: Path, count: int) -> tuple[list[str], list[str]]:
    """Pages 1..``count`` as ``reader`` gets them, and per page the error it raised ("" if none).

    A page the reader fails on counts as empty text (a benchmark reports, it does not stop).
    """
    read, texts, errors = READERS[reader], [], []
    for number in range(1, count + 1):
        try:
            texts.append(read(pdf, number))
            errors.append("")
        except Exception as exc:  # noqa: BLE001 - recorded per page
            texts.append("")
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
    return texts, errors
