"""A record's next version as a PDF: the pages it had, as they were, plus the new pages.

Why the pages come from the signed file's *first* revision: that revision is the PDF/A
exactly as assembled from the scans (images, MRC layers and text layer), before the
signature's incremental update added a signature field and, with visible stamps, the
signing time drawn on page 1. Copying its pages with pikepdf moves their streams as
they are (no decoding, no re-encoding), and leaves the old signature and stamps behind
so the new file is signed afresh. The new pages come from
:func:`pdf.assemble.build_archival_pdf` (the same PDF/A pages as ingest), whose file is
the base: it already carries the output intent and the PDF/A identification.
"""

from __future__ import annotations

import io
from pathlib import Path

from pikepdf import Pdf
from pyhanko.pdf_utils.reader import PdfFileReader

from pdf.assemble import save_archival
from sohoa.errors import BadInputError

EOF_MARKER = b"%%EOF"


def unsigned_revision(signed: Path) -> bytes:
    """The bytes of ``signed`` as they were before its first signature was added.

    Raises:
        BadInputError: the file carries no signature (not an archived record's PDF).
    """
    data = signed.read_bytes()
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signatures = reader.embedded_signatures
    if not signatures:
        raise BadInputError("version_unsigned_pdf", file=signed.name)
    revision = min(s.signed_revision for s in signatures) - 1
    if revision < 0:  # signed in its first revision: nothing unsigned to go back to
        raise BadInputError("version_unsigned_pdf", file=signed.name)
    xref_end = reader.xrefs.get_xref_container_info(revision).end_location
    end = data.find(EOF_MARKER, xref_end)
    if end < 0:
        raise BadInputError("version_unsigned_pdf", file=signed.name)
    return data[: end + len(EOF_MARKER)] + b"\n"


def page_count(signed: Path) -> int:
    """Pages in a PDF (the archived record's, to check a page number against)."""
    with Pdf.open(signed) as pdf:
        return len(pdf.pages)


def assemble_version(
    previous: Path,
    new_page: Path,
    dest: Path,
    *,
    position: int,
    replace: bool,
    metadata: dict[str, str],
) -> Path:
    """Write the next version's unsigned PDF/A to ``dest`` (atomically) and return it.

    Args:
        previous: the current version's signed PDF (read only).
        new_page: an archival PDF of the new scan (:func:`build_archival_pdf`), one page
            or several (added together, in their order).
        dest: where the unsigned PDF goes.
        position: 0-based position of the (first) new page in the new version.
        replace: the new page takes the place of the page at ``position``; else they
            are inserted there (``position`` = page count appends them).
        metadata: the record's ``sohoa:`` XMP properties (``pageCount`` and ``software``
            are set here).
    """
    with (
        Pdf.open(io.BytesIO(unsigned_revision(previous))) as old,
        Pdf.open(new_page) as pdf,
    ):
        kept = list(range(len(old.pages)))
        if replace:
            del kept[position]
        for at, number in enumerate(kept[:position]):
            pdf.pages.insert(at, old.pages[number])
        for number in kept[position:]:
            pdf.pages.append(old.pages[number])
        tmp = save_archival(pdf, dest, metadata)
    tmp.replace(dest)
    return dest
