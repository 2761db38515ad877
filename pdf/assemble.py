"""Assemble the archival PDF (PDF/A-2b): the colour scan of each page plus an invisible text layer.

Each page shows its scan at its true size (pixels / dpi), turned straight by the
tilt of its text (:mod:`pdf.placement`: a placement matrix, the image bytes as
scanned, so every reader sees straight lines), or a photographed sheet flattened
(:mod:`pdf.sheet`), and carries the OCR
words as invisible text (render mode 3) in Tesseract's glyphless font, placed
and stretched to each word's box, so selecting, copying and searching work in
any reader. The scan is stored as set by :class:`~schemas.settings.PdfSettings`:
``original`` embeds JPEG scans byte for byte (no generation loss); ``mrc``
stores the ink as sharp full-resolution masks in its colours over a small
colour background (:mod:`pdf.mrc`), about a tenth of the size. XMP metadata
carries the record's identity so the file explains itself; :mod:`pdf.pdfa`
adds what PDF/A-2b needs (output intent, identification, extension schema).
"""

from __future__ import annotations

import io
import math
import statistics
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pikepdf
from pikepdf import Dictionary, Name, Pdf
from PIL import Image

from pdf.mrc import MrcLayers, g4_encode, split_page
from pdf.pdfa import XMP_NS, add_srgb_output_intent, write_xmp
from pdf.placement import Placement, page_tilt
from pdf.sheet import flattened_page
from schemas.models import PageImage, PageOcr, Word
from schemas.settings import PdfSettings
from sohoa import SOFTWARE
from sohoa.errors import BadInputError, ConfigError

GLYPH_WIDTH = 0.5  # the glyphless font's advance, in ems (Tesseract's /DW 500)
# Declared ascent/descent (in ems): readers draw a glyph's box from baseline-ASCENT to
# baseline+DESCENT, so a word set at size = box height on a baseline DESCENT above the
# box bottom is highlighted exactly over its box (with Descent 0, poppler assumes 0.35).
DESCENT = 0.2
# Below this skew a line may be drawn upright (see line_angle): poppler's layout analysis
# splits and interleaves slightly rotated lines, and reads upright ones cleanly.
UPRIGHT_BELOW_DEG = 10.0
# How far (in line heights) straightening a line may move its end words off their ink.
MAX_SNAP_DRIFT = 0.75
# The narrowest space drawn between two words (in ems), when their boxes touch or overlap.
MIN_SPACE_EM = 0.25
# A line's glyphs fill this share of the distance to the nearest line (see line_sizes),
# growing to at most MAX_SIZE_GROWTH times its words' height.
LINE_FILL = 0.8
MAX_SIZE_GROWTH = 2.0
# pdfminer.six's default LAParams.line_margin: lines closer than this share of a glyph's
# height are joined into one paragraph (see line_leads).
PDFMINER_LINE_MARGIN = 0.5
JPEG_QUALITY_FOR_LOSSLESS_INPUT = 90
FONT_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata/pdf.ttf",
    "/usr/share/tesseract-ocr/4.00/tessdata/pdf.ttf",
    "/usr/share/tessdata/pdf.ttf",
)


def find_glyphless_font(tessdata_dir: Path | None = None) -> Path:
    """Locate Tesseract's ``pdf.ttf``, a font whose every glyph is blank."""
    candidates = [Path(tessdata_dir) / "pdf.ttf"] if tessdata_dir else []
    candidates += [Path(p) for p in FONT_CANDIDATES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(reason="Tesseract's pdf.ttf not found; install tesseract-ocr")


@lru_cache(maxsize=2)
def _font_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def _glyphless_font(pdf: Pdf, font_path: Path) -> pikepdf.Object:
    """A Type0 font mapping every CID (= UTF-16 code unit) to the blank glyph 1."""
    cid_to_gid = pikepdf.Stream(pdf, zlib.compress(b"\x00\x01" * 65536))
    cid_to_gid.Filter = Name.FlateDecode
    to_unicode = pikepdf.Stream(
        pdf,
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"1 beginbfrange <0000> <FFFF> <0000> endbfrange\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end\n",
    )
    font_file = pikepdf.Stream(pdf, _font_bytes(str(font_path)))
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=Name.GlyphLessFont,
        Flags=5,
        FontBBox=[0, -200, 500, 800],
        ItalicAngle=0,
        Ascent=800,
        Descent=-200,
        CapHeight=800,
        StemV=80,
        FontFile2=pdf.make_indirect(font_file),
    )
    cid_font = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name.GlyphLessFont,
        CIDSystemInfo=Dictionary(
            Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0
        ),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=int(GLYPH_WIDTH * 1000),
        CIDToGIDMap=pdf.make_indirect(cid_to_gid),
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name.GlyphLessFont,
            Encoding=Name("/Identity-H"),
            DescendantFonts=[pdf.make_indirect(cid_font)],
            ToUnicode=pdf.make_indirect(to_unicode),
        )
    )


def _flate_stream(pdf: Pdf, data: bytes) -> pikepdf.Stream:
    """A Flate-compressed content stream whose last byte is neither CR nor LF.

    Why: before ``endstream`` qpdf writes one LF; a stream whose data ends in CR
    then looks like it ends in a CR-LF marker, and PDF/A validators read its
    /Length as one byte too long (ISO 19005-2, 6.1.7.1). Trailing spaces are
    harmless in a content stream, so one is added until the compressed data
    (whose last byte is its Adler-32 checksum's) ends otherwise.
    """
    packed = zlib.compress(data, 6)
    while packed[-1] in b"\r\n":
        data += b" "
        packed = zlib.compress(data, 6)
    stream = pikepdf.Stream(pdf, packed)
    stream.Filter = Name.FlateDecode
    return stream


def _image_stream(pdf: Pdf, data: bytes, width: int, height: int, **entries) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, data)
    stream.Type, stream.Subtype = Name.XObject, Name.Image
    stream.Width, stream.Height = width, height
    for key, value in entries.items():
        stream[Name("/" + key)] = value
    return stream


def _ccitt(pdf: Pdf, data: bytes, width: int, height: int, **entries) -> pikepdf.Stream:
    """A 1-bit image (or image mask) holding a G4 strip from :func:`pdf.mrc.g4_encode`."""
    parms = Dictionary(K=-1, Columns=width, Rows=height, BlackIs1=True)
    return _image_stream(
        pdf,
        data,
        width,
        height,
        BitsPerComponent=1,
        Filter=Name.CCITTFaxDecode,
        DecodeParms=parms,
        **entries,
    )


def _image_xobject(pdf: Pdf, page: PageImage) -> pikepdf.Stream:
    """Embed the scan: RGB/grey JPEG as is, bilevel as CCITT G4, anything else as JPEG.

    A CMYK JPEG is converted to RGB: PDF/A allows DeviceCMYK only under a CMYK
    output intent, and the archive's intent is sRGB.
    """
    path = Path(page.path)
    if page.encoding == "jpeg" and page.mode in ("RGB", "L"):
        return _jpeg_stream(pdf, path.read_bytes(), page, page.mode)
    with Image.open(path) as img:
        img.load()
        if img.mode == "1":  # G4 is lossless for bilevel, and far smaller than Flate
            ink = np.asarray(img) == 0
            return _ccitt(pdf, g4_encode(ink), page.width, page.height, ColorSpace=Name.DeviceGray)
        img = img if img.mode in ("RGB", "L") else img.convert("RGB")
        buf = io.BytesIO()
        img.save(
            buf,
            format="JPEG",
            quality=JPEG_QUALITY_FOR_LOSSLESS_INPUT,
            subsampling=0,
            optimize=True,
        )
        mode = img.mode
    return _jpeg_stream(pdf, buf.getvalue(), page, mode)


def _jpeg_stream(pdf: Pdf, data: bytes, page: PageImage, mode: str) -> pikepdf.Stream:
    """A JPEG image XObject of the page's size, RGB or grey."""
    colour = Name.DeviceRGB if mode == "RGB" else Name.DeviceGray
    return _image_stream(
        pdf,
        data,
        page.width,
        page.height,
        ColorSpace=colour,
        BitsPerComponent=8,
        Filter=Name.DCTDecode,
    )


def _mrc_layers(page: PageImage, settings: PdfSettings) -> MrcLayers | None:
    """Split the page for MRC, or ``None`` to keep its original image (bilevel, photo, tiny)."""
    if page.mode == "1":
        return None
    try:  # not decoded here: the layers split while pages were read need no pixels
        with Image.open(page.path) as img:
            layers = split_page(
                img,
                page.dpi,
                background_dpi=settings.background_dpi,
                background_quality=settings.background_quality,
                ink_colour_dpi=settings.ink_colour_dpi,
                max_ink_share=settings.max_ink_share,
            )
    except (OSError, ValueError) as exc:
        raise BadInputError(reason=f"cannot read page image {Path(page.path).name}: {exc}") from exc
    if layers is None:
        return None
    size = sum(
        len(b or b"")
        for b in (layers.text_mask, layers.colour_mask, layers.colour_jpeg, layers.background_jpeg)
    )
    if page.encoding == "jpeg" and size >= Path(page.path).stat().st_size:
        return None  # the scan is already smaller than its layers
    return layers


Box = tuple[int, int, int, int]
"""Left, top, width, height in page pixels."""


def _mrc_xobjects(pdf: Pdf, layers: MrcLayers) -> list[tuple[str, pikepdf.Stream, Box]]:
    """The MRC image XObjects with where each is painted, bottom to top.

    Painted in order: the background over the whole page; the coloured-ink
    image through its mask (explicit masking, which is not transparency),
    over the box the coloured ink occupies; the dark ink as a stencil mask in
    its colour over the whole page.
    """
    w, h = layers.width, layers.height
    bg_w, bg_h = layers.background_size
    bg_colour = Name.DeviceGray if layers.background_grey else Name.DeviceRGB
    background = _image_stream(
        pdf,
        layers.background_jpeg,
        bg_w,
        bg_h,
        ColorSpace=bg_colour,
        BitsPerComponent=8,
        Filter=Name.DCTDecode,
    )
    placed = [("Background", background, (0, 0, w, h))]
    if layers.colour_jpeg and layers.colour_mask:
        box = layers.colour_box
        mask = _ccitt(pdf, layers.colour_mask, box[2], box[3], ImageMask=True)
        colours = _image_stream(
            pdf,
            layers.colour_jpeg,
            *layers.colour_size,
            ColorSpace=Name.DeviceRGB,
            BitsPerComponent=8,
            Filter=Name.DCTDecode,
            Mask=pdf.make_indirect(mask),
        )
        placed.append(("ColourInk", colours, box))
    if layers.text_mask:
        text = _ccitt(pdf, layers.text_mask, w, h, ImageMask=True)
        placed.append(("TextInk", text, (0, 0, w, h)))
    return placed


def _utf16_hex(text: str) -> str:
    """Encode BMP characters as the CIDs of the Identity-H glyphless font."""
    return "".join(f"{ord(ch):04X}" for ch in text if ord(ch) <= 0xFFFF)


def upright_angle(angle: float, rotation: int) -> float:
    """The angle to draw a word at: snapped to the page's upright direction when nearly so.

    A page shown with ``/Rotate r`` (clockwise) reads upright for text drawn at ``r``
    degrees counter-clockwise; a word within :data:`UPRIGHT_BELOW_DEG` of that is drawn
    exactly at ``r``, so extractors see straight lines after the turn.
    """
    residual = (angle - rotation + 180.0) % 360.0 - 180.0
    return float(rotation) if abs(residual) < UPRIGHT_BELOW_DEG else angle


def _unit(angle: float) -> tuple[float, float]:
    return math.cos(math.radians(angle)), math.sin(math.radians(angle))


def line_angle(words: Sequence[Word], rotation: int) -> float:
    """The angle to draw a line's baseline at: its words' median, upright when that costs little.

    Why: poppler's layout analysis reads a line drawn exactly upright best, but a long
    line straightened too far leaves its end words off their ink. The snap of
    :func:`upright_angle` is taken only while the line's ends move by at most
    :data:`MAX_SNAP_DRIFT` of its height; otherwise the line keeps its true angle.
    """
    measured = statistics.median(w.angle for w in words)
    snapped = upright_angle(measured, rotation)
    if snapped == measured:
        return measured
    cos, sin = _unit(snapped)
    starts = [w.left * cos - (w.top + w.height) * sin for w in words]
    ends = [s + w.width for s, w in zip(starts, words, strict=True)]
    heights = sorted(w.height for w in words)
    height = heights[3 * len(heights) // 4]  # a tall word's: small letters understate the size
    drift = (max(ends) - min(starts)) / 2 * abs(math.sin(math.radians(measured - snapped)))
    return snapped if drift <= MAX_SNAP_DRIFT * height else measured


def _line_ops(
    words: Sequence[Word],
    angle: float,
    size_px: float,
    px: float,
    page_height_pt: float,
    lead: float = 0.0,
) -> list[str]:
    """One text object for one line: one ``Tm`` on its baseline, words placed along it.

    In page pixels (y down) the baseline runs along ``u = (cos, -sin)`` and "up" is
    ``n = (-sin, -cos)``. Each word's bottom-left corner (its origin, see
    :func:`ocr.engine.words_from_tsv`) is projected on both: along ``u`` it gives the
    word's place on the line; across, the median over the line is the straight line
    the words' box bottoms sit on (a median, so dotted-below and descending letters
    do not tilt it). The baseline is :data:`DESCENT` of the size above that line, so a
    reader's glyph box (baseline - descent .. + ascent) rises from the word's box bottom
    by ``size_px`` (see :func:`line_sizes`). With a ``lead`` (see :func:`line_leads`) the
    object starts that far before the first word, with one space stretched over it.
    """
    cos, sin = _unit(angle)
    placed = sorted((w.left * cos - (w.top + w.height) * sin, w.width, w.text) for w in words)
    bottom = statistics.median(-w.left * sin - (w.top + w.height) * cos for w in words)
    lift = bottom + DESCENT * size_px
    at = (
        placed[0][0] - lead
    )  # where the current Td left the text line, in pixels along the baseline
    x, y = at * cos - lift * sin, -at * sin - lift * cos  # back to page pixels
    size = size_px * px
    ops = [
        "BT 3 Tr",
        (
            f"/F1 {size:.2f} Tf {cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} "
            f"{x * px:.2f} {page_height_pt - y * px:.2f} Tm"
        ),
    ]
    if lead:
        ops.append(f"{_stretch(' ', lead * px, size):.2f} Tz <0020> Tj")
    ends = [start for start, _, _ in placed[1:]] + [math.inf]
    for (start, width, text), end in zip(placed, ends, strict=True):
        # a word whose box touches the next gives up the end of its box to a real gap
        width = max(width / 2, min(width, end - start - MIN_SPACE_EM * size_px))
        ops.append(f"{(start - at) * px:.2f} 0 Td {_stretch(text, width * px, size):.2f} Tz")
        space = _space((end - start - width) * px, size) if end < math.inf else ""
        ops.append(f"<{_utf16_hex(text)}> Tj{space}")
        at = start
    ops.append("ET")
    return ops


def _stretch(text: str, width_pt: float, size: float) -> float:
    """The ``Tz`` percentage that makes ``text`` in the glyphless font ``width_pt`` wide."""
    natural = len(text) * GLYPH_WIDTH * size
    return max(1.0, 100.0 * width_pt / natural) if natural else 100.0


def _space(gap_pt: float, size: float) -> str:
    """A real space after a word, stretched over the gap to the next (OCRmyPDF's way).

    Why: readers that read characters (pdfminer, pypdf, MuPDF) see the space; poppler
    drops space glyphs and splits words on the gap alone, which :func:`_line_ops` keeps
    at least :data:`MIN_SPACE_EM` wide, so no two words ever run together.
    """
    return f" {_stretch(' ', max(gap_pt, MIN_SPACE_EM * size / 2), size):.2f} Tz <0020> Tj"


@dataclass(frozen=True)
class _Extent:
    """A line in the page's upright frame (pixels): where it starts and ends along the
    baseline, how high its word boxes' bottoms sit (the median, measured upwards: a line
    higher on the page has a larger ``bottom``), and its words' median height."""

    start: float
    end: float
    bottom: float
    height: float

    def overlaps(self, other: _Extent) -> bool:
        return self.start < other.end and other.start < self.end


def _extents(lines: Sequence[Sequence[Word]], rotation: int) -> list[_Extent]:
    cos, sin = _unit(float(rotation))
    extents = []
    for words in lines:
        starts = [w.left * cos - (w.top + w.height) * sin for w in words]
        extents.append(
            _Extent(
                start=min(starts),
                end=max(s + w.width for s, w in zip(starts, words, strict=True)),
                bottom=statistics.median(-w.left * sin - (w.top + w.height) * cos for w in words),
                height=max(1.0, statistics.median(w.height for w in words)),
            )
        )
    return extents


def line_sizes(lines: Sequence[Sequence[Word]], rotation: int) -> list[float]:
    """The glyph size of each line, in pixels: its words' height, grown towards the next line.

    Why: pdfminer.six makes a paragraph of lines only when the gap between two lines is
    under half a line's glyph height, and otherwise orders lone lines by a layout guess
    that puts a centred heading inside the paragraph beside it (2-5 % CER on a plain
    letter). So a line's glyphs fill :data:`LINE_FILL` of the distance to the nearest
    line above or below that overlaps it (as OCRmyPDF sizes glyphs to the line height),
    never less than its words' median height nor more than :data:`MAX_SIZE_GROWTH` times it.
    A highlight then covers the line's height from the words' bottom up.
    """
    extents = _extents(lines, rotation)
    sizes = []
    for line in extents:
        pitches = [
            abs(other.bottom - line.bottom)
            for other in extents
            if other is not line
            and other.overlaps(line)
            and abs(other.bottom - line.bottom) > line.height / 2
        ]
        grown = LINE_FILL * min(pitches) if pitches else line.height
        sizes.append(min(max(line.height, grown), MAX_SIZE_GROWTH * line.height))
    return sizes


def line_leads(
    lines: Sequence[Sequence[Word]], rotation: int, sizes: Sequence[float]
) -> list[float]:
    """How far (pixels) each line's text object starts before its first word: 0 or an indent.

    Why: pdfminer.six joins a line to the one below into a paragraph only when they are
    closer than :data:`PDFMINER_LINE_MARGIN` of a glyph's height, of about the same size,
    and their left edges, right edges or centres align; boxes it cannot join it orders by a
    guess that weighs a box's left edge against its height on the page, so a centred
    heading just above a left-aligned line ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" over the
    first line of the text) comes out after that line (1-3 % CER on such pages). So a line
    that would be joined to the nearest line under it but for its alignment begins with
    one invisible space that reaches back to that line's left edge, when nothing else is
    drawn in that stretch of its height (a header row's left block keeps the right block
    where it is). Its words stay on their ink; poppler drops spaces, and other readers at
    most see a leading space. A line that would not be joined anyway is left alone: moving
    its left edge would only move it in pdfminer's guess.
    """
    extents = _extents(lines, rotation)
    leads = []
    for line, size in zip(extents, sizes, strict=True):
        under, under_size = _under(extents, sizes, line)
        lead = 0.0
        if (
            under is not None
            and line.start - under.start > line.height
            and _joinable(line, size, under, under_size)
            and _clear(extents, line, under.start, size)
        ):
            lead = line.start - under.start
        leads.append(lead)
    return leads


def _under(
    extents: Sequence[_Extent], sizes: Sequence[float], line: _Extent
) -> tuple[_Extent | None, float]:
    """The nearest line below ``line`` that overlaps it along the baseline, and its size."""
    below = [
        (other, size)
        for other, size in zip(extents, sizes, strict=True)
        if other.overlaps(line) and line.bottom - other.bottom > line.height / 2
    ]
    return max(below, key=lambda pair: pair[0].bottom, default=(None, 0.0))


def _joinable(line: _Extent, size: float, under: _Extent, under_size: float) -> bool:
    """Whether pdfminer would join the two glyph boxes but for their alignment.

    A glyph box rises ``size`` from the line's ``bottom`` (see :func:`_line_ops`).
    """
    margin = PDFMINER_LINE_MARGIN * size
    gap = line.bottom - (under.bottom + under_size)
    aligned = min(
        abs(line.start - under.start),
        abs(line.end - under.end),
        abs(line.start + line.end - under.start - under.end) / 2,
    )
    return gap < margin and abs(size - under_size) < margin and aligned > margin


def _clear(extents: Sequence[_Extent], line: _Extent, start: float, size: float) -> bool:
    """Whether no other line has ink between ``start`` and ``line``'s start, at its height."""
    return not any(
        other is not line
        and other.start < line.start
        and other.end > start
        and other.bottom < line.bottom + size
        and other.bottom + other.height > line.bottom
        for other in extents
    )


def text_layer(
    words: Sequence[Word], *, dpi: float, page_height_pt: float, rotation: int = 0
) -> bytes:
    """Content-stream operators drawing the OCR words invisibly over their boxes.

    Each line is one text object along one straight baseline (:func:`_line_ops`), lines
    in reading order (the OCR's line numbers): readers then see one line per line,
    words in order and separated by real spaces, whatever the skew or turn of the scan.
    """
    px = 72.0 / dpi
    lines: dict[int, list[Word]] = {}
    for word in words:
        if _utf16_hex(word.text):
            lines.setdefault(word.line, []).append(word)
    ordered = [line for _, line in sorted(lines.items())]
    sizes = line_sizes(ordered, rotation)
    ops = []
    for line, size, lead in zip(ordered, sizes, line_leads(ordered, rotation, sizes), strict=True):
        ops += _line_ops(line, line_angle(line, rotation), size, px, page_height_pt, lead)
    return "\n".join(ops).encode("ascii")


def _page_images(
    pdf: Pdf, page: PageImage, settings: PdfSettings, placement: Placement, px: float
) -> tuple[Dictionary, bytes]:
    """The page's image XObjects and the operators that paint them, turned as ``placement`` says."""
    layers = _mrc_layers(page, settings) if settings.image_mode == "mrc" else None
    paint = ""
    if layers is None:
        image = _image_xobject(pdf, page)
        placed = [("Im0", image, (0, 0, page.width, page.height))]
    else:
        placed = _mrc_xobjects(pdf, layers)
        r, g, b = (c / 255 for c in layers.text_rgb)
        paint = f"{r:.3f} {g:.3f} {b:.3f} rg "
    ops = []
    for name, _, (left, top, width, height) in placed:
        colour = paint if name == "TextInk" else ""
        bottom = (page.height - top - height) * px
        ops.append(
            f"q {colour}{width * px:.4f} 0 0 {height * px:.4f} {left * px:.4f} {bottom:.4f} cm "
            f"/{name} Do Q\n"
        )
    xobjects = Dictionary({f"/{name}": pdf.make_indirect(obj) for name, obj, _ in placed})
    turn = placement.image_cm(px)
    paint_ops = f"q {turn}\n{''.join(ops)}Q\n" if turn else "".join(ops)
    return xobjects, paint_ops.encode()


def page_dpi(page: PageImage, ocr: PageOcr | None) -> float:
    """The resolution the page is shown at: the one OCR measured from the letters, if it did.

    Why: a phone photo with no DPI tag (or a false one) would otherwise be sized at the
    assumed 300 dpi, a 576 x 960 photo of an A4 letter becoming a 5 x 8 cm page.
    """
    if ocr and ocr.dpi_source == "measured" and ocr.dpi_estimated:
        return ocr.dpi_estimated
    return page.dpi


def _add_page(pdf: Pdf, page: PageImage, ocr: PageOcr | None, font, settings: PdfSettings) -> None:
    """Append one page: the scan (straightened for display, see :mod:`pdf.placement`), its text."""
    words = ocr.words if ocr else ()
    rotation = ocr.rotation if ocr else 0
    placement = Placement(page.width, page.height, page_tilt(words, rotation))
    dpi = page_dpi(page, ocr)
    px = 72.0 / dpi
    width_pt, height_pt = placement.width * px, placement.height * px
    xobjects, content = _page_images(pdf, page, settings, placement, px)
    if words:
        moved = [placement.word(w) for w in words]
        content += text_layer(moved, dpi=dpi, page_height_pt=height_pt, rotation=rotation)
    # turn the page for display; the scan's bytes stay as they are
    extra = {"Rotate": rotation} if rotation else {}
    new_page = pikepdf.Page(
        Dictionary(
            **extra,
            Type=Name.Page,
            MediaBox=[0, 0, round(width_pt, 4), round(height_pt, 4)],
            Resources=Dictionary(XObject=xobjects, Font=Dictionary(F1=font)),
            Contents=_flate_stream(pdf, content),
        )
    )
    pdf.pages.append(new_page)


def build_archival_pdf(
    pages: Sequence[PageImage],
    ocr: Sequence[PageOcr | None],
    dest: Path,
    *,
    metadata: dict[str, str],
    tessdata_dir: Path | None = None,
    settings: PdfSettings | None = None,
) -> Path:
    """Write the unsigned PDF/A-2b archival PDF to ``dest`` (atomically) and return it.

    Pages are encoded one at a time and written out by qpdf at the end; an
    encoded page (a few hundred KB) is all that stays in memory per page.

    Args:
        pages: page images in paper order.
        ocr: OCR result per page (``None`` for a page with no text layer).
        dest: output path; written via a temporary file and rename.
        metadata: XMP properties (``dossierCode``, ``kind``, ``unit``, ``recordId``...).
        tessdata_dir: where to look first for Tesseract's glyphless ``pdf.ttf``.
        settings: how page images are stored; default :class:`PdfSettings()`.
    """
    settings = settings or PdfSettings()
    font_path = find_glyphless_font(tessdata_dir)
    with Pdf.new() as pdf, tempfile.TemporaryDirectory(prefix="sohoa-sheets-") as work:
        font = _glyphless_font(pdf, font_path)
        for page, page_ocr in zip(pages, ocr, strict=True):
            if page_ocr is not None and page_ocr.sheet:  # a photographed sheet: see pdf.sheet
                page, page_ocr = flattened_page(page, page_ocr, Path(work))
            _add_page(pdf, page, page_ocr, font, settings)
        add_srgb_output_intent(pdf)
        tmp = save_archival(pdf, dest, metadata)
    tmp.replace(dest)
    return dest


def save_archival(pdf: pikepdf.Pdf, dest: Path, metadata: dict[str, str]) -> Path:
    """Write the record's XMP (title, page count, software) and save ``pdf`` beside
    ``dest`` under a temporary name, returned for the caller to move into place once
    the file is closed (a reader of ``dest`` never sees half a PDF).

    Shared by a record's first build and its later versions (:mod:`pdf.versions`), so
    both carry the same metadata and are saved the same way (deterministic id, PDF 1.7).
    """
    title = f"Hồ sơ {metadata.get('dossierCode') or metadata.get('recordId', '')}".strip()
    properties = {**metadata, "pageCount": str(len(pdf.pages)), "software": SOFTWARE}
    write_xmp(pdf, properties, title=title)
    tmp = dest.with_name(f".{dest.name}.tmp")
    pdf.save(
        tmp,
        min_version="1.7",
        object_stream_mode=pikepdf.ObjectStreamMode.preserve,
        deterministic_id=True,
    )
    return tmp


def read_sohoa_metadata(path: Path) -> dict[str, str]:
    """Read back the ``sohoa:`` XMP properties of an archival PDF."""
    with Pdf.open(path) as pdf:
        meta = pdf.open_metadata()
        prefix = "{" + XMP_NS + "}"
        return {k[len(prefix) :]: str(v) for k, v in meta.items() if k.startswith(prefix)}
