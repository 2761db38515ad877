"""Visible signature stamps on page 1: the digitiser top-left, the agency signature top-right.

Why: the digitisation rules ask for the signature information to be visible on the copy
(Circular 01/2023/TT-VPCP): who digitised it and when, at the top-left of page 1, and
the agency's signature (name, time) at the top-right. The agency box is the signature
field's own appearance; the digitiser's box is drawn into page 1 in the same revision,
so the signature covers both. Both use an embedded subset of a TrueType font (DejaVu
Sans by default) through pyHanko's OpenType support, so Vietnamese renders anywhere.
"""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.stamp import TextStamp, TextStampStyle

from pdf.keys.signing_key import SignerInfo
from schemas.settings import Settings
from sohoa.errors import ConfigError
from storage.objectstore import atomic_write_bytes

VIETNAM = timezone(timedelta(hours=7), "+07:00")  # no daylight saving time
DIGITISER_TEXT = "Người số hóa: %(digitiser)s\nThời gian: %(time)s"
AGENCY_TEXT = "Ký bởi: %(agency)s\nThời gian ký: %(time)s"
FONT_SIZE = 7
Box = tuple[float, float, float, float]
# Latin, Latin-1, Latin Extended-A/B, combining marks, Vietnamese, punctuation, đồng sign.
_UNICODES = [
    *range(0x20, 0x250),
    *range(0x300, 0x370),
    *range(0x1EA0, 0x1F00),
    *range(0x2000, 0x2070),
    0x20AB,
]
_font_lock = threading.Lock()


def page_box(
    stamp: tuple[float, float, float, float], mediabox: tuple[float, float, float, float]
) -> Box:
    """Convert ``(left, top, right, bottom)`` measured from the page's top-left corner
    (negative x from the right edge) into PDF ``(x1, y1, x2, y2)`` user-space coordinates.
    """
    llx, lly, urx, ury = mediabox
    width, height = urx - llx, ury - lly
    left, top, right, bottom = stamp
    x1 = llx + (left if left >= 0 else width + left)
    x2 = llx + (right if right >= 0 else width + right)
    box = (
        round(x1, 2),
        round(lly + height - bottom, 2),
        round(x2, 2),
        round(lly + height - top, 2),
    )
    if not (llx <= box[0] < box[2] <= urx and lly <= box[1] < box[3] <= ury):
        raise ConfigError(
            reason=f"stamp box {stamp} does not fit on page 1 ({width:g}x{height:g} pt)"
        )
    return box


def stamp_font(settings: Settings) -> Path:
    """The stamp font reduced to Vietnamese/Latin and rescaled to 1000 units per em.

    Why: pyHanko 0.38 writes the PDF ``/W`` glyph widths in font units, which is only
    right for fonts with 1000 units per em; DejaVu Sans has 2048, so letters would be
    spaced twice too wide and the widths would disagree with the font (a PDF/A error).
    fontTools rescales a copy once; it is kept under ``data_dir/cache/fonts``.

    Raises:
        ConfigError: the configured font is missing or not a TrueType/OpenType font.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont, TTLibError
    from fontTools.ttLib.scaleUpem import scale_upem

    source = settings.signing.stamp_font
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConfigError(reason=f"signing.stamp_font {source}: {exc.strerror}") from None
    digest = hashlib.sha256(data).hexdigest()[:16]
    target = settings.data_dir / "cache" / "fonts" / f"{source.stem}-{digest}-upem1000.ttf"
    with _font_lock:
        if target.is_file():
            return target
        try:
            font = TTFont(io.BytesIO(data))
            options = subset.Options(layout_features=["*"], name_IDs=["*"], notdef_outline=True)
            options.drop_tables += ["FFTM"]
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=_UNICODES)
            subsetter.subset(font)
            scale_upem(font, 1000)
            out = io.BytesIO()
            font.save(out)
        except (TTLibError, AssertionError, KeyError) as exc:
            raise ConfigError(reason=f"signing.stamp_font {source} is not usable: {exc}") from None
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, out.getvalue())
    return target


def _style(settings: Settings, text: str) -> TextStampStyle:
    glyphs = GlyphAccumulatorFactory(str(stamp_font(settings)), font_size=FONT_SIZE)
    return TextStampStyle(stamp_text=text, text_box_style=TextBoxStyle(font=glyphs), border_width=1)


def _mediabox(writer: IncrementalPdfFileWriter) -> tuple[float, float, float, float]:
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    while "/Kids" in page:  # nested page tree
        page = page["/Kids"][0].get_object()
    box = page.get("/MediaBox") or page["/Parent"].get_object()["/MediaBox"]
    llx, lly, urx, ury = (float(v) for v in box)
    return llx, lly, urx, ury


def add_stamps(
    writer: IncrementalPdfFileWriter,
    settings: Settings,
    *,
    info: SignerInfo,
    digitiser: str | None,
    field_name: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Draw the digitiser's stamp on page 1 and describe the agency's signature box.

    Returns:
        ``{"signer": {...}, "sign": {...}}``: keyword arguments for pyHanko's
        ``PdfSigner`` (field position and stamp style) and for ``async_sign_pdf``
        (the text shown in the agency box).

    Raises:
        ConfigError: the font is missing or a box does not fit on page 1.
    """
    cfg = settings.signing
    when = (now or datetime.now(UTC)).astimezone(VIETNAM).strftime("%H:%M:%S %d/%m/%Y (+07:00)")
    mediabox = _mediabox(writer)
    left = page_box(cfg.digitiser_stamp_box, mediabox)
    right = page_box(cfg.agency_stamp_box, mediabox)
    params = {"digitiser": digitiser or "—", "time": when}
    size = BoxConstraints(width=left[2] - left[0], height=left[3] - left[1])
    stamp = TextStamp(writer, _style(settings, DIGITISER_TEXT), text_params=params, box=size)
    stamp.apply(0, left[0], left[1])
    field = SigFieldSpec(sig_field_name=field_name, on_page=0, box=right)
    return {
        "signer": {"new_field_spec": field, "stamp_style": _style(settings, AGENCY_TEXT)},
        "sign": {"appearance_text_params": {"agency": info.signer, "time": when}},
    }
