"""Turn uploaded files into one image per paper page, in order, without needless resampling.

A scanner's PDF page that shows a single image and nothing else gives that image
back untouched (JPEG bytes are copied, not re-encoded; a CropBox, /Rotate or ICC
profile is applied as a viewer would); every other PDF page is rasterised with
poppler's ``pdftoppm`` (:mod:`sohoa.programs.pdftoppm`), and so is a single-image
page whose image alone is not what a viewer shows (a mask, CMYK, inks, a flipped or
partial placement) or cannot be taken out (a JBIG2 scan without ``jbig2dec``). JBIG2
is decoded through :mod:`sohoa.programs.jbig2dec`, with a timeout. TIFF frames and
JPEG/PNG files become pages directly. Every input is checked first (empty, wrong
format, encrypted, truncated, absurd dimensions) so a bad file fails with a clear
reason before anything is archived.
"""

from __future__ import annotations

import io
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pikepdf
from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from schemas.models import PageImage, SourceFile
from schemas.settings import LimitSettings
from sohoa.errors import (
    BadInputError,
    EncryptedInputError,
    ExternalProgramError,
    InputTooLargeError,
    ProgramMissingError,
    without_server_paths,
)
from sohoa.programs import jbig2dec, pdftoppm

log = logging.getLogger(__name__)

ASSUMED_DPI = 300.0
RASTERISE_TIMEOUT_S = 120.0
"""Seconds ``pdftoppm`` may take to render one page before the file counts as corrupt."""
JBIG2_TIMEOUT_S = 60.0
"""Seconds ``jbig2dec`` may take to decode one image before the file counts as corrupt."""
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
    ImageCms.PyCMSError,  # an ICC profile littleCMS cannot use: poppler falls back
)
"""Errors meaning "this image cannot be taken out as it is", so the page is rasterised.

Why only these, and not damaged data (a truncated JPEG, a JBIG2 stream ``jbig2dec``
rejects or cannot finish in :data:`JBIG2_TIMEOUT_S`, a broken zlib stream, which raise
``DataDecodingError``, ``ImageDecompressionError`` or Pillow's ``OSError``): poppler
draws such an image half grey and still exits 0, so rasterising would archive a
damaged page in silence. Those stay a clear ``corrupt_pdf``.
"""
_MALFORMED = (TypeError, IndexError)
"""A page object of the wrong type or length (a box of names, ``cm`` with four numbers):
sohoa cannot tell what the page shows, poppler, lenient, may still draw it."""
_QUIET_OPS = frozenset(
    ("q", "Q", "cm", "w", "J", "j", "M", "d", "ri", "i")  # graphics state
    + ("BT", "ET", "Tf", "Td", "TD", "Tm", "T*", "Tc", "Tw", "Tz", "TL", "Ts", "Tr")  # text state
    + ("g", "G", "rg", "RG", "k", "K", "cs", "CS", "sc", "SC", "scn", "SCN")  # colour
)
"""Operators that set state but paint nothing. Any other (a path, a shading, an inline
image, ``gs`` with its blend modes and soft masks) paints on the page besides the image."""
_SHOW_TEXT = frozenset(("Tj", "TJ", "'", '"'))
_INVISIBLE = 3
"""Text render mode "neither fill nor stroke": the OCR layer of a "searchable PDF" scan."""
_AS_SHOWN_SPACES = frozenset(("/DeviceGray", "/DeviceRGB", "/CalGray", "/CalRGB", "/ICCBased"))
"""Colour spaces (also as a palette's base) whose samples, with their profile, are the
colours shown; CMYK, Lab, DeviceN and Separation are left to poppler's conversion."""
_TURN = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
"""/Rotate turns the page clockwise; Pillow's ``ROTATE_n`` turn counter-clockwise."""
_UNDO_TURN = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}
_EDGE_PX = 2.0
"""Image pixels of the visible page an image may leave uncovered (rounded page sizes)."""
_LETTER = (0.0, 0.0, 612.0, 792.0)
"""The MediaBox viewers assume when a page has none."""
_SRGB = ImageCms.createProfile("sRGB")


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


def count_pages(source: SourceFile, path: Path) -> int:
    """How many pages ``path`` holds, read from its structure, no page decoded.

    Why: the page limit must refuse a 583 KB PDF of 2,500 blank pages before the first
    is rasterised (it took 90 s to reach the limit page by page), and a TIFF of as many
    frames before the first is decoded.

    Raises:
        BadInputError, EncryptedInputError: as reading its pages would.
    """
    if source.format == "pdf":
        pdf = _open_pdf(source, path)
        try:
            return len(pdf.pages)
        finally:
            pdf.close()
    try:
        with Image.open(path) as img:
            return int(getattr(img, "n_frames", 1))
    except Image.DecompressionBombError as exc:
        raise InputTooLargeError(file=source.name, reason=_short(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadInputError("corrupt_image", file=source.name, reason=_short(exc)) from exc


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
    orientation = frame.getexif().get(0x0112, 1) if source.format == "jpeg" else 1
    if source.format == "jpeg" and frame.mode in ("RGB", "L") and orientation == 1:
        shape = _decoded_shape(frame)  # a truncated file fails here, not in the archive
        dest = out_dir / f"{index:05d}.jpg"
        shutil.copyfile(path, dest)
        return _page(index, dest, source, number, shape, dpi, known, "jpeg")
    frame.load()  # decode fully now: a truncated file fails here, not in the archive
    image = _archive_mode(ImageOps.exif_transpose(frame) if orientation != 1 else frame)
    dest = out_dir / f"{index:05d}.png"
    image.save(dest, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return _page(index, dest, source, number, image, dpi, known, "png")


class _Shape(NamedTuple):
    """What :func:`_page` needs of an image kept as it is: its size and mode."""

    width: int
    height: int
    mode: str


def _decoded_shape(jpeg: Image.Image) -> _Shape:
    """Decode an opened JPEG to the last byte (so damage fails now) and return its shape.

    Why at an eighth of its size: Pillow's draft mode still reads and entropy-decodes
    every block, so truncated or damaged data fails exactly as a full decode would,
    but skips most of the inverse DCT: 7 ms instead of 38 ms for an A4 page at 300 dpi,
    on the one step that runs page after page before OCR starts. The pixels are not
    used: the file is kept byte for byte.
    """
    shape = _Shape(jpeg.width, jpeg.height, jpeg.mode)
    jpeg.draft(jpeg.mode, (max(1, jpeg.width // 8), max(1, jpeg.height // 8)))
    jpeg.load()
    return shape


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


_MustRasterise = pikepdf.NotExtractableError
"""Raised here when the page shows more, or other, than its image's samples; the
message says what. pikepdf's own "cannot be taken out as it is" error, reused (it is in
:data:`_NOT_EXTRACTABLE`), so one ``except`` sends every such page to poppler."""


def _open_pdf(source: SourceFile, path: Path) -> pikepdf.Pdf:
    jbig2dec.use_for_pikepdf(timeout=JBIG2_TIMEOUT_S)
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

    Why a fallback and not an error: a scanner page whose image cannot be handed over
    as the page shows it (see :data:`_NOT_EXTRACTABLE` and :data:`_MustRasterise`) is
    still a good page that poppler can draw; refusing it, or ending in an internal
    error, would leave a real scan in the inbox. Damaged data is still refused.
    """
    try:
        return _extract_single_image(source, page, out_dir, index, number, limits)
    except (*_NOT_EXTRACTABLE, *_MALFORMED) as exc:
        log.info(
            "%s page %d: rasterised, its image alone is not what the page shows (%s: %s)",
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


def _extract_single_image(source, page, out_dir, index, number, limits) -> PageImage:
    """The page's only image, untouched but for the CropBox and /Rotate a viewer applies.

    Why so strict: the archive must hold what a reader of the page saw, and a viewer
    shows the page, not the image object. So the content stream must paint that one
    image and nothing visible besides, upright and covering the visible page, and the
    image's decoded samples must be the colours shown (no masks, CMYK or inks).
    Anything else raises :data:`_MustRasterise` and poppler draws the page.
    """
    _refuse_visible_annotations(page)
    name, ctm = _sole_drawing(page)
    raw = pikepdf.PdfImage(_image_xobject(page, name))
    _refuse_unlike_shown(raw)
    _check_pixels(source.name, raw.width, raw.height, limits)
    crop, dpi = _placement(page, ctm, raw)
    turn = _rotation(page)
    if crop is None and not turn and _is_plain_jpeg(raw):
        data = raw.obj.read_raw_bytes()
        with Image.open(io.BytesIO(data)) as probe:
            shape = _decoded_shape(probe)  # truncated JPEG data fails here
        dest = out_dir / f"{index:05d}.jpg"
        dest.write_bytes(data)
        return _page(index, dest, source, number, shape, dpi, True, "jpeg")
    image = _viewer_colours(raw, raw.as_pil_image())
    image = image.crop(crop) if crop else image
    image = image.transpose(_TURN[turn]) if turn else image
    dest = out_dir / f"{index:05d}.png"
    image.save(dest, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return _page(index, dest, source, number, image, dpi, True, "png")


def _sole_drawing(page: pikepdf.Page) -> tuple[str, pikepdf.Matrix]:
    """The name of the one XObject the page paints and its placement (the CTM there).

    Why parse the content stream: the image dictionary does not say where, how often
    or with what else the image is drawn. Invisible text (render mode 3, a scanner's
    "searchable PDF" layer) paints nothing and is allowed; any other painting is not.
    """
    ctm, mode, stack, drawn = pikepdf.Matrix(), 0, [], []
    try:
        instructions = pikepdf.parse_content_stream(page)
    except pikepdf.DataDecodingError:
        raise  # the content stream's data is damaged: refused, not drawn half
    except pikepdf.PdfError as exc:
        raise _MustRasterise(f"content stream: {_short(exc)}") from exc
    for operands, operator in instructions:
        op = str(operator)
        if op == "q":
            stack.append((ctm, mode))
        elif op == "Q" and stack:
            ctm, mode = stack.pop()
        elif op == "cm":
            ctm = pikepdf.Matrix(*(float(v) for v in operands)) @ ctm
        elif op == "Tr":
            mode = int(operands[0])
        elif op == "Do":
            drawn.append((str(operands[0]), ctm))
        elif (op in _SHOW_TEXT and mode != _INVISIBLE) or op not in _QUIET_OPS | _SHOW_TEXT:
            raise _MustRasterise(f"the page also paints with {op!r}")
    if len(drawn) != 1:
        raise _MustRasterise(f"the page paints {len(drawn)} objects")
    return drawn[0]


def _refuse_visible_annotations(page: pikepdf.Page) -> None:
    """Viewers (and poppler) draw annotation appearances: a stamp or note is page content."""
    for annot in page.obj.get("/Annots", pikepdf.Array()):
        if not isinstance(annot, pikepdf.Dictionary):
            continue
        hidden = int(annot.get("/F", 0)) & (2 | 32)  # Hidden, NoView
        rect = [float(v) for v in annot.get("/Rect", [0, 0, 0, 0])]
        if "/AP" in annot and not hidden and rect[2] != rect[0] and rect[3] != rect[1]:
            raise _MustRasterise(f"a visible {annot.get('/Subtype', '')} annotation")


def _image_xobject(page: pikepdf.Page, name: str) -> pikepdf.Stream:
    resources = _inherited(page.obj, "/Resources") or pikepdf.Dictionary()
    xobject = resources.get("/XObject", pikepdf.Dictionary()).get(name)
    if not isinstance(xobject, pikepdf.Stream) or xobject.get("/Subtype") != "/Image":
        raise _MustRasterise(f"{name} is a form or missing, not an image")
    return xobject


def _refuse_unlike_shown(raw: pikepdf.PdfImage) -> None:
    """Raise unless the decoded samples, colour-managed to sRGB, are what a viewer paints.

    Why each refusal: a mask (/SMask, /Mask, /ImageMask) blends the image with the
    page; CMYK, Lab and inks need the viewer's own conversion (a CMYK JPEG even comes
    out inverted); a /Decode array on JPEG, JPEG 2000 or palette data is not applied
    by pikepdf; Cal* data inside JPEG carries no profile pikepdf can hand over.
    """
    obj = raw.obj
    if raw.image_mask or "/SMask" in obj or "/Mask" in obj or int(obj.get("/SMaskInData", 0)):
        raise _MustRasterise("the image is a mask or has one")
    if raw.colorspace not in _AS_SHOWN_SPACES:
        raise _MustRasterise(f"colour space {raw.colorspace}")
    codec = {"/DCTDecode", "/JPXDecode"} & {str(f) for f in raw.filters}
    if codec and raw.colorspace in ("/CalGray", "/CalRGB"):
        raise _MustRasterise(f"{raw.colorspace} inside {codec.pop()}")
    if "/Decode" in obj and (codec or raw.indexed) and not _identity_decode(raw):
        raise _MustRasterise(f"/Decode {list(obj.Decode)} that pikepdf does not apply")


def _identity_decode(raw: pikepdf.PdfImage) -> bool:
    values = [float(v) for v in raw.obj.Decode]
    if raw.indexed:
        return values == [0.0, float((1 << raw.bits_per_component) - 1)]
    return values == [0.0, 1.0] * (len(values) // 2)


def _is_plain_jpeg(raw: pikepdf.PdfImage) -> bool:
    """A JPEG whose bytes can be archived as they are (no profile to apply, no /Decode)."""
    filters = [str(f) for f in raw.filters]
    plain = raw.colorspace in ("/DeviceRGB", "/DeviceGray") and "/Decode" not in raw.obj
    return filters == ["/DCTDecode"] and plain


def _placement(page, ctm: pikepdf.Matrix, raw) -> tuple[tuple[int, int, int, int] | None, float]:
    """The pixel box of the image a viewer shows (``None``: all of it) and its resolution.

    Why: a viewer shows the CropBox (within the MediaBox) in physical units of
    /UserUnit points, and the image where its CTM puts it. An image turned, flipped or
    skewed by its CTM, with non-square pixels, or leaving part of the visible page
    uncovered (by more than :data:`_EDGE_PX`) is not the page: it is rasterised.
    """
    if abs(ctm.b) > 1e-6 * abs(ctm.a) or abs(ctm.c) > 1e-6 * abs(ctm.d):
        raise _MustRasterise(f"the image is turned or skewed ({ctm})")
    if ctm.a <= 0 or ctm.d <= 0:
        raise _MustRasterise(f"the image is flipped or empty ({ctm})")
    sx, sy = raw.width / ctm.a, raw.height / ctm.d  # image pixels per point
    if abs(sx - sy) > 0.01 * sx:
        raise _MustRasterise(f"non-square pixels ({sx * 72:.0f} x {sy * 72:.0f} dpi)")
    x0, y0, x1, y1 = _visible_box(page)
    top = ctm.f + ctm.d
    box = ((x0 - ctm.e) * sx, (top - y1) * sy, (x1 - ctm.e) * sx, (top - y0) * sy)
    if min(box[0], box[1]) < -_EDGE_PX or box[2] > raw.width + _EDGE_PX:
        raise _MustRasterise("the image does not cover the visible page")
    if box[3] > raw.height + _EDGE_PX:
        raise _MustRasterise("the image does not cover the visible page")
    left, upper = max(0, round(box[0])), max(0, round(box[1]))
    right, lower = min(raw.width, round(box[2])), min(raw.height, round(box[3]))
    if right <= left or lower <= upper:
        raise _MustRasterise("the visible page is empty")
    dpi = round(sx * 72 / _user_unit(page), 1)
    whole = (left, upper, right, lower) == (0, 0, raw.width, raw.height)
    return (None if whole else (left, upper, right, lower)), dpi


def _viewer_colours(raw: pikepdf.PdfImage, image: Image.Image) -> Image.Image:
    """``image`` in an archive mode, with the PDF's ICC or Cal* profile applied to sRGB.

    Why: a viewer converts ICCBased and calibrated colours through their profile;
    the raw samples of an Adobe RGB or ProPhoto scan look washed out or too vivid.
    """
    profile = _profile_of(raw, image)
    image = _archive_mode(image)
    image.info.pop("icc_profile", None)  # the archive's pixels are sRGB, whatever the source
    if profile is None or image.mode == "1":
        return image
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    converted = ImageCms.profileToProfile(
        image,
        source,
        _SRGB,
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
    )
    return converted.convert("L") if image.mode == "L" else converted


def _profile_of(raw: pikepdf.PdfImage, image: Image.Image) -> bytes | None:
    """The profile the PDF gives the image's colours (not one inside its JPEG data)."""
    if raw.colorspace == "/ICCBased":
        return raw.icc.tobytes() if raw.icc is not None else None
    if raw.colorspace in ("/CalGray", "/CalRGB"):
        return image.info.get("icc_profile")  # pikepdf builds it from the Cal* parameters
    return None


def _rasterise(source, path, page, out_dir, index, number, limits) -> PageImage:
    """Render a page that is not just its image (text, vector, masks, several images)."""
    width_pt, height_pt = _page_size_pt(page)
    dpi = limits.rasterise_dpi
    render_dpi = round(dpi * _user_unit(page))  # poppler ignores /UserUnit
    _check_pixels(
        source.name, int(width_pt / 72 * render_dpi), int(height_pt / 72 * render_dpi), limits
    )
    try:
        images = pdftoppm.render(
            path,
            dpi=render_dpi,
            first_page=number + 1,
            last_page=number + 1,
            timeout=RASTERISE_TIMEOUT_S,
        )
    except ProgramMissingError:
        raise  # poppler not installed: a set-up problem, not a bad file
    except (ExternalProgramError, OSError) as exc:  # failed, timed out, unreadable output
        raise BadInputError("corrupt_pdf", file=source.name, reason=_short(exc)) from exc
    if not images:
        raise BadInputError(
            "corrupt_pdf", file=source.name, reason=f"page {number + 1} did not render"
        )
    image = _visible_part(_archive_mode(images[0]), page, render_dpi)
    dest = out_dir / f"{index:05d}.png"
    image.save(dest, format="PNG", dpi=(dpi, dpi), compress_level=1)
    return _page(index, dest, source, number, image, float(dpi), True, "png")


def _visible_part(image: Image.Image, page: pikepdf.Page, dpi: float) -> Image.Image:
    """Cut poppler's render of the MediaBox down to the CropBox, the part viewers show.

    Why here: ``pdftoppm`` draws the whole MediaBox unless given ``-cropbox``. The
    render is turned back upright (losslessly), cut, and turned again.
    """
    media, visible = _box(page, "/MediaBox"), _visible_box(page)
    if visible == media:
        return image
    turn, scale = _rotation(page), dpi / 72
    upright = image.transpose(_UNDO_TURN[turn]) if turn else image
    box = (
        round((visible[0] - media[0]) * scale),
        round((media[3] - visible[3]) * scale),
        round((visible[2] - media[0]) * scale),
        round((media[3] - visible[1]) * scale),
    )
    cut = upright.crop(box)
    return cut.transpose(_TURN[turn]) if turn else cut


def _inherited(obj: pikepdf.Dictionary, key: str, default=None):
    """A page attribute, looked up through the page tree (/Resources, boxes, /Rotate)."""
    for _ in range(64):  # a cycle in /Parent must not loop for ever
        if key in obj:
            return obj[key]
        if "/Parent" not in obj:
            break
        obj = obj.Parent
    return default


def _box(page: pikepdf.Page, key: str) -> tuple[float, float, float, float]:
    """A page box, normalised; a missing or malformed one falls back as viewers do."""
    try:
        x0, y0, x1, y1 = (float(v) for v in _inherited(page.obj, key))
    except (TypeError, ValueError):  # absent (None), not four numbers
        return _box(page, "/MediaBox") if key != "/MediaBox" else _LETTER
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _visible_box(page: pikepdf.Page) -> tuple[float, float, float, float]:
    """CropBox clipped to the MediaBox: what a viewer shows, in PDF points."""
    media, crop = _box(page, "/MediaBox"), _box(page, "/CropBox")
    return (
        max(media[0], crop[0]),
        max(media[1], crop[1]),
        min(media[2], crop[2]),
        min(media[3], crop[3]),
    )


def _page_size_pt(page: pikepdf.Page) -> tuple[float, float]:
    x0, y0, x1, y1 = _box(page, "/MediaBox")
    return x1 - x0, y1 - y0


def _user_unit(page: pikepdf.Page) -> float:
    """Size of one PDF unit in 1/72 inch (/UserUnit, PDF 1.6); 1 when absent or absurd."""
    try:
        unit = float(page.obj.get("/UserUnit", 1))
    except (TypeError, ValueError):
        return 1.0
    return unit if 0.01 <= unit <= 1000 else 1.0


def _rotation(page: pikepdf.Page) -> int:
    """/Rotate in degrees clockwise (0, 90, 180 or 270); 0 when it is not a quarter turn."""
    try:
        turn = int(_inherited(page.obj, "/Rotate", 0)) % 360
    except (TypeError, ValueError):
        return 0
    return turn if turn in _TURN else 0


def _short(exc: BaseException) -> str:
    """A library's message as a refusal's reason: its first line, no server paths."""
    text = str(exc).strip().splitlines()
    return without_server_paths(text[0] if text else type(exc).__name__)[:160]
