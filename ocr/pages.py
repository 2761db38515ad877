"""Turn uploaded files into one image per paper page, in order, without needless resampling.

A scanner's PDF page that is a single image gives that image back untouched
(JPEG bytes are copied, not re-encoded); other PDF pages are rasterised with
poppler's ``pdftoppm`` (:mod:`sohoa.programs.pdftoppm`), and so is a single-image
page whose image cannot be taken out as it is (a JBIG2 scan without ``jbig2dec``, a
DeviceN colour space). TIFF frames and JPEG/PNG files become pages directly. Every
input is checked first (empty, wrong format, encrypted, truncated, absurd dimensions)
so a bad file fails with a clear reason before anything is archived.
"""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import pikepdf
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from schemas.models import PageImage, SourceFile
from schemas.settings import LimitSettings
from sohoa.errors import (
    BadInputError,
    EncryptedInputError,
    ExternalProgramError,
    InputTooLargeError,
    ProgramMissingError,
)
from sohoa.programs import pdftoppm

log = logging.getLogger(__name__)

ASSUMED_DPI = 300.0
RASTERISE_TIMEOUT_S = 120.0
"""Seconds ``pdftoppm`` may take to render one page before the file counts as corrupt."""
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
)
_ARCHIVE_MODES = {"RGB", "L", "1"}
_NOT_EXTRACTABLE: tuple[type[Exception], ...] = (
    pikepdf.DependencyError,  # JBIG2 and no ``jbig2dec`` on PATH (or one older than 0.15)
    pikepdf.NotExtractableError,  # DeviceN / Separation: HifiPrintImageNotTranscodableError
    pikepdf.UnsupportedImageTypeError,  # 1-bit CMYK, 16-bit palettes, odd CCITT parameters
    NotImplementedError,  # colour spaces and palettes pikepdf does not interpret
)
"""Errors meaning "this image cannot be taken out as it is", so the page is rasterised.

Why only these, and not damaged data (a truncated JPEG, a JBIG2 stream ``jbig2dec``
rejects, a broken zlib stream, which raise ``DataDecodingError``, ``ImageDecompressionError``
or Pillow's ``OSError``): poppler draws such an image half grey and still exits 0, so
rasterising would archive a damaged page in silence. Those stay a clear ``corrupt_pdf``.

``jbig2dec`` is started by pikepdf itself (:mod:`pikepdf.jbig2`), not by sohoa, so it
does not go through :func:`sohoa.programs.run.run_program`; the "one door per program"
rule covers the programs sohoa starts. ``sohoa settings`` warns when it is missing.
"""


def detect_format(path: Path, *, limits: LimitSettings) -> str:
    """Return ``pdf``, ``tiff``, ``jpeg`` or ``png`` from the file's first bytes.

    Raises:
        BadInputError: empty file or an unsupported format.
        InputTooLargeError: the file is larger than ``limits.max_file_mb``.
    """
    size = path.stat().st_size
    if size == 0:
        raise BadInputError("empty_file", file=path.name)
    if size > limits.max_file_mb * 1024 * 1024:
        raise InputTooLargeError(
            file=path.name, reason=f"{size / 1e6:.0f} MB > {limits.max_file_mb:g} MB"
        )
    with path.open("rb") as handle:
        head = handle.read(1024)
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if fmt_pdf_after_junk(head):
        return "pdf"
    raise BadInputError("unsupported_format", file=path.name)


def fmt_pdf_after_junk(head: bytes) -> bool:
    """PDF readers accept a header within the first 1024 bytes; so do we."""
    return b"%PDF-" in head


def iter_pages(
    source: SourceFile, path: Path, out_dir: Path, *, start_index: int, limits: LimitSettings
) -> Iterator[PageImage]:
    """Yield the pages of one uploaded file, writing each image into ``out_dir``.

    Pages are produced one at a time so memory does not grow with the file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if source.format == "pdf":
        yield from _pdf_pages(source, path, out_dir, start_index, limits)
    else:
        yield from _image_pages(source, path, out_dir, start_index, limits)


# --------------------------------------------------------------------------- images


def _check_pixels(name: str, width: int, height: int, limits: LimitSettings) -> None:
    megapixels = width * height / 1e6
    if width <= 0 or height <= 0:
        raise BadInputError("corrupt_image", file=name, reason=f"size {width}x{height}")
    if megapixels > limits.max_page_megapixels:
        raise InputTooLargeError(
            file=name,
            reason=f"{width}x{height} px = {megapixels:.0f} MP > {limits.max_page_megapixels:g} MP",
        )


def _dpi_of(img: Image.Image) -> tuple[float, bool]:
    dpi = img.info.get("dpi")
    if dpi and float(dpi[0]) >= 50:
        return float(dpi[0]), True
    return ASSUMED_DPI, False


def _archive_mode(img: Image.Image) -> Image.Image:
    """Convert exotic modes (palette, CMYK, 16-bit, alpha) to RGB or L for the archive."""
    if img.mode in _ARCHIVE_MODES:
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return img.point(lambda v: v / 256).convert("L") if img.mode != "F" else img.convert("L")
    if img.mode in ("LA", "La"):
        return img.convert("L")
    return img.convert("RGB")


def _image_pages(source, path, out_dir, start_index, limits) -> Iterator[PageImage]:
    try:
        with Image.open(path) as img:
            frames = ImageSequence.Iterator(img)
            for number, frame in enumerate(frames):
                _check_pixels(source.name, frame.width, frame.height, limits)
                yield _save_frame(source, path, frame, out_dir, start_index + number, number)
    except Image.DecompressionBombError as exc:
        raise InputTooLargeError(file=source.name, reason=_short(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputError("corrupt_image", file=source.name, reason=_short(exc)) from exc


def _save_frame(source, path, frame, out_dir, index, number) -> PageImage:
    """Write one frame as a page; a plain JPEG file is copied byte for byte."""
    dpi, known = _dpi_of(frame)
    frame.load()  # decode fully now: a truncated file fails here, not in the archive
    orientation = frame.getexif().get(0x0112, 1) if source.format == "jpeg" else 1
    if source.format == "jpeg" and frame.mode in ("RGB", "L") and orientation == 1:
        dest = out_dir / f"{index:05d}.jpg"
        shutil.copyfile(path, dest)
        return _page(index, dest, source, number, frame, dpi, known, "jpeg")
    image = _archive_mode(ImageOps.exif_transpose(frame) if orientation != 1 else frame)
    dest = out_dir / f"{index:05d}.png"
    image.save(dest, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return _page(index, dest, source, number, image, dpi, known, "png")


def _page(index, dest, source, number, image, dpi, known, encoding) -> PageImage:
    return PageImage(
        index=index,
        path=str(dest),
        source=source.name,
        source_page=number,
        width=image.width,
        height=image.height,
        dpi=dpi,
        dpi_known=known,
        mode=image.mode,
        encoding=encoding,
    )


# --------------------------------------------------------------------------- PDFs


def _open_pdf(source: SourceFile, path: Path) -> pikepdf.Pdf:
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        raise EncryptedInputError(file=source.name) from exc
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise BadInputError("corrupt_pdf", file=source.name, reason=_short(exc)) from exc
    if len(pdf.pages) == 0:
        pdf.close()
        raise BadInputError("no_pages", file=source.name)
    return pdf


def _pdf_pages(source, path, out_dir, start_index, limits) -> Iterator[PageImage]:
    pdf = _open_pdf(source, path)
    try:
        for number, page in enumerate(pdf.pages):
            index = start_index + number
            extracted = _try_extract(source, page, out_dir, index, number, limits)
            yield extracted or _rasterise(source, path, page, out_dir, index, number, limits)
    finally:
        pdf.close()


def _try_extract(source, page, out_dir, index, number, limits) -> PageImage | None:
    """The page's single image as it is, or ``None`` when the page must be rasterised.

    Why a fallback and not an error: a scanner page whose image pikepdf cannot hand
    over untouched (see :data:`_NOT_EXTRACTABLE`) is still a good page that poppler
    can draw; refusing it, or ending in an internal error, would leave a real scan in
    the inbox. Damaged data is still refused with the reason.
    """
    try:
        return _extract_single_image(source, page, out_dir, index, number, limits)
    except _NOT_EXTRACTABLE as exc:
        log.info(
            "%s page %d: image cannot be taken out as it is (%s: %s); rasterising instead",
            source.name,
            number + 1,
            type(exc).__name__,
            _short(exc),
        )
        return None
    except Image.DecompressionBombError as exc:  # pikepdf's own bomb guard subclasses it
        raise InputTooLargeError(file=source.name, reason=_short(exc)) from exc
    except (pikepdf.PdfError, OSError, ValueError, KeyError, SyntaxError) as exc:
        raise BadInputError("corrupt_pdf", file=source.name, reason=_short(exc)) from exc


def _page_size_pt(page: pikepdf.Page) -> tuple[float, float]:
    box = [float(v) for v in page.mediabox]
    return abs(box[2] - box[0]), abs(box[3] - box[1])


def _extract_single_image(source, page, out_dir, index, number, limits) -> PageImage | None:
    """Return the page's only image, untouched, when the page is just a scanned image."""
    images = list(page.get_images().values())
    resources = page.obj.get("/Resources", pikepdf.Dictionary())
    if len(images) != 1 or "/Font" in resources or int(page.obj.get("/Rotate", 0)) % 360:
        return None
    raw = pikepdf.PdfImage(images[0])
    _check_pixels(source.name, raw.width, raw.height, limits)
    width_pt, height_pt = _page_size_pt(page)
    if abs(raw.width / raw.height - width_pt / height_pt) > 0.02 * (width_pt / height_pt):
        return None  # image does not fill the page: rasterise to keep the layout
    dpi = round(raw.width / (width_pt / 72.0), 1)
    filters = [str(f) for f in raw.filters]
    if filters == ["/DCTDecode"] and raw.colorspace in ("/DeviceRGB", "/DeviceGray"):
        data = images[0].read_raw_bytes()
        with Image.open(io.BytesIO(data)) as probe:
            probe.load()  # truncated JPEG data fails here
        dest = out_dir / f"{index:05d}.jpg"
        dest.write_bytes(data)
        return _page(index, dest, source, number, probe, dpi, True, "jpeg")
    image = _archive_mode(raw.as_pil_image())
    dest = out_dir / f"{index:05d}.png"
    image.save(dest, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return _page(index, dest, source, number, image, dpi, True, "png")


def _rasterise(source, path, page, out_dir, index, number, limits) -> PageImage:
    """Render a page that is not a single image (text, vector, several images)."""
    width_pt, height_pt = _page_size_pt(page)
    dpi = limits.rasterise_dpi
    _check_pixels(source.name, int(width_pt / 72 * dpi), int(height_pt / 72 * dpi), limits)
    try:
        images = pdftoppm.render(
            path, dpi=dpi, first_page=number + 1, last_page=number + 1, timeout=RASTERISE_TIMEOUT_S
        )
    except ProgramMissingError:
        raise  # poppler not installed: a set-up problem, not a bad file
    except (ExternalProgramError, OSError) as exc:  # failed, timed out, unreadable output
        raise BadInputError("corrupt_pdf", file=source.name, reason=_short(exc)) from exc
    if not images:
        raise BadInputError(
            "corrupt_pdf", file=source.name, reason=f"page {number + 1} did not render"
        )
    image = _archive_mode(images[0])
    dest = out_dir / f"{index:05d}.png"
    image.save(dest, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return _page(index, dest, source, number, image, float(dpi), True, "png")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:160]
