"""Assemble the archival PDF: the colour scan of each page plus an invisible text layer.

Each page shows its scan at its true size (pixels / dpi) and carries the OCR
words as invisible text (render mode 3) in Tesseract's glyphless font, placed
and stretched to each word's box, so selecting, copying and searching work in
any reader. JPEG scans are embedded byte for byte (no generation loss).
XMP metadata carries the record's identity so the file explains itself.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import pikepdf
from pikepdf import Dictionary, Name, Pdf
from PIL import Image

from schemas.models import PageImage, PageOcr, Word
from sohoa import SOFTWARE
from sohoa.errors import ConfigError

XMP_NS = "https://sohoa.example/ns/1.0/"
XMP_PREFIX = "sohoa"
GLYPH_WIDTH = 0.5  # the glyphless font's advance, in ems (Tesseract's /DW 500)
# Declared ascent/descent (in ems): readers draw a glyph's box from baseline-ASCENT to
# baseline+DESCENT, so a word set at size = box height on a baseline DESCENT above the
# box bottom is highlighted exactly over its box (with Descent 0, poppler assumes 0.35).
DESCENT = 0.2
# Below this skew each word is drawn upright at its mapped position: text extractors
# (poppler's layout analysis among them) treat slightly rotated glyphs as horizontal and
# split lines and words on the baseline drift; upright words keep exact boxes and clean lines.
UPRIGHT_BELOW_DEG = 10.0
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


def _image_xobject(pdf: Pdf, page: PageImage) -> pikepdf.Stream:
    """Embed the scan: JPEG as is, bilevel as Flate, other lossless input as JPEG."""
    path = Path(page.path)
    if page.encoding == "jpeg":
        with Image.open(path) as probe:
            mode = probe.mode
        data, filt, bpc = path.read_bytes(), Name.DCTDecode, 8
    else:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode == "1":
                data, filt, bpc = zlib.compress(img.tobytes(), 6), Name.FlateDecode, 1
            else:
                img = img if mode in ("RGB", "L") else img.convert("RGB")
                mode = img.mode
                buf = io.BytesIO()
                img.save(
                    buf,
                    format="JPEG",
                    quality=JPEG_QUALITY_FOR_LOSSLESS_INPUT,
                    subsampling=0,
                    optimize=True,
                )
                data, filt, bpc = buf.getvalue(), Name.DCTDecode, 8
    colour = Name.DeviceRGB if mode == "RGB" else Name.DeviceGray
    stream = pikepdf.Stream(pdf, data)
    stream.Type, stream.Subtype = Name.XObject, Name.Image
    stream.Width, stream.Height = page.width, page.height
    stream.ColorSpace, stream.BitsPerComponent, stream.Filter = colour, bpc, filt
    return stream


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


def text_layer(
    words: Sequence[Word], *, dpi: float, page_height_pt: float, rotation: int = 0
) -> bytes:
    """Content-stream operators drawing each word invisibly over its box, in reading order.

    Words of one line share one font size (the line's median word height), so
    readers see one consistent line; each word is stretched (``Tz``) to its box.
    """
    import math
    import statistics

    px = 72.0 / dpi
    line_size: dict[int, float] = {}
    for line in {w.line for w in words}:
        line_size[line] = statistics.median(w.height for w in words if w.line == line) * px
    ops = ["BT", "3 Tr"]
    for word in words:
        size = max(1.0, line_size[word.line])
        natural = len(word.text) * GLYPH_WIDTH * size
        stretch = 100.0 * (word.width * px) / natural if natural else 100.0
        angle = upright_angle(word.angle, rotation)
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        # origin on the box's baseline, lifted by the descent along the word's "up" direction
        x = word.left * px - sin * DESCENT * size
        y = page_height_pt - (word.top + word.height) * px + cos * DESCENT * size
        ops.append(
            f"/F1 {size:.2f} Tf {stretch:.2f} Tz "
            f"{cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} {x:.2f} {y:.2f} Tm "
            f"<{_utf16_hex(word.text + ' ')}> Tj"
        )
    ops.append("ET")
    return "\n".join(ops).encode("ascii")


def _add_page(pdf: Pdf, page: PageImage, ocr: PageOcr | None, font) -> None:
    width_pt = page.width * 72.0 / page.dpi
    height_pt = page.height * 72.0 / page.dpi
    image = pdf.make_indirect(_image_xobject(pdf, page))
    content = f"q {width_pt:.4f} 0 0 {height_pt:.4f} 0 0 cm /Im0 Do Q\n".encode()
    if ocr and ocr.words:
        content += text_layer(
            ocr.words, dpi=page.dpi, page_height_pt=height_pt, rotation=ocr.rotation
        )
    # turn the page for display; the scan's bytes stay as they are
    extra = {"Rotate": ocr.rotation} if ocr and ocr.rotation else {}
    new_page = pikepdf.Page(
        Dictionary(
            **extra,
            Type=Name.Page,
            MediaBox=[0, 0, round(width_pt, 4), round(height_pt, 4)],
            Resources=Dictionary(XObject=Dictionary(Im0=image), Font=Dictionary(F1=font)),
            Contents=pdf.make_stream(content),
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
) -> Path:
    """Write the unsigned archival PDF to ``dest`` (atomically) and return it.

    Args:
        pages: page images in paper order.
        ocr: OCR result per page (``None`` for a page with no text layer).
        dest: output path; written via a temporary file and rename.
        metadata: XMP properties (``dossierCode``, ``kind``, ``unit``, ``recordId``...).
        tessdata_dir: where to look first for Tesseract's glyphless ``pdf.ttf``.
    """
    font_path = find_glyphless_font(tessdata_dir)
    with Pdf.new() as pdf:
        font = _glyphless_font(pdf, font_path)
        for page, page_ocr in zip(pages, ocr, strict=True):
            _add_page(pdf, page, page_ocr, font)
        _write_metadata(pdf, metadata, page_count=len(pages))
        tmp = dest.with_name(f".{dest.name}.tmp")
        pdf.save(tmp, min_version="1.7", object_stream_mode=pikepdf.ObjectStreamMode.preserve)
    tmp.replace(dest)
    return dest


def _write_metadata(pdf: Pdf, metadata: dict[str, str], *, page_count: int) -> None:
    pikepdf.models.PdfMetadata.register_xml_namespace(XMP_NS, XMP_PREFIX)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    title = f"Hồ sơ {metadata.get('dossierCode') or metadata.get('recordId', '')}".strip()
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = title
        meta["dc:format"] = "application/pdf"
        meta["xmp:CreatorTool"] = SOFTWARE
        meta["xmp:CreateDate"] = now
        meta["pdf:Producer"] = SOFTWARE
        for key, value in {**metadata, "pageCount": str(page_count), "software": SOFTWARE}.items():
            meta[f"{XMP_PREFIX}:{key}"] = str(value)


def read_sohoa_metadata(path: Path) -> dict[str, str]:
    """Read back the ``sohoa:`` XMP properties of an archival PDF."""
    with Pdf.open(path) as pdf:
        meta = pdf.open_metadata()
        prefix = "{" + XMP_NS + "}"
        return {k[len(prefix) :]: str(v) for k, v in meta.items() if k.startswith(prefix)}
