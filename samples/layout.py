"""Page-layout machinery of the labelled-document generator (:mod:`samples.docgen`).

Why a module of its own: every document kind is composed from the same few drawing steps (an
A4 :class:`Sheet` with a text cursor, word wrap, crisp QR and barcode symbols, the Decree-30
heading, signature blocks, photocopied cards), and those steps carry the invariants the truth
depends on: what is recorded is exactly what was drawn, text never touches a code or leaves the
page, and a page that overflows is rebuilt with fewer optional lines (:func:`fitted`). Keeping
them apart from the document texts (:mod:`samples.data`) and compositions
(:mod:`samples.pages`) lets each change without wading through the others.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import segno
from barcode.codex import Code39, Code128
from PIL import Image, ImageDraw, ImageFont

from samples import synth
from schemas.fields import Box
from sohoa.errors import SampleOverflowError

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_STYLES = {"r": "", "b": "-Bold", "i": "-Italic", "c": "Condensed", "cb": "Condensed-Bold"}
_INK, _PEN, _SPACING = (20, 20, 25), (25, 45, 140), 1.45
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")


# Defined here because Sheet.page builds it; samples.docgen re-exports it as the public name.
@dataclass(frozen=True)
class GeneratedPage:
    """One page with everything printed on it, for scoring field extraction and OCR.

    ``line_boxes`` has one ``(left, top, width, height)`` box per line of ``text`` and
    ``code_boxes`` one box (quiet zone included) per entry of ``codes``, in page pixels.
    """

    image: Image.Image
    dpi: int
    doc_type: str
    truth: dict[str, str]
    codes: tuple[tuple[str, str], ...]
    dossier: int
    text: str
    line_boxes: tuple[Box, ...] = field(default=(), repr=False)
    code_boxes: tuple[Box, ...] = field(default=(), repr=False)


def _font(family: str, style: str, size_px: int) -> ImageFont.FreeTypeFont:
    """A DejaVu face; synth's probed fallback when the file is missing (other distributions)."""
    suffix = _STYLES[style].replace("Italic", "Oblique" if family == "Sans" else "Italic")
    path = _FONT_DIR / f"DejaVu{family}{suffix}.ttf"
    return synth._load_font(str(path) if path.is_file() else None, max(6, size_px))


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: int = 0) -> list[str]:
    """Greedy word wrap; the first row is ``indent`` px narrower."""
    rows: list[str] = []
    for word in text.split():
        if rows and font.getlength(f"{rows[-1]} {word}") <= width - indent * (len(rows) == 1):
            rows[-1] = f"{rows[-1]} {word}"
        else:
            rows.append(word)
    return rows


def overlap(a: Box, b: Box) -> bool:
    """Whether two ``(left, top, width, height)`` boxes share any pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


class Sheet:
    """An A4 page laid out top to bottom with a cursor ``y``.

    Why a class: the truth (text, line boxes, codes) must be exactly what was drawn, text must
    never touch a code or leave the page, and a page whose required lines do not fit must be
    rebuilt with fewer optional lines (:func:`fitted`) rather than silently cut.
    """

    def __init__(self, rng: random.Random, dpi: int) -> None:
        self.dpi, self.optional = dpi, 0
        width, height = (round(v / 25.4 * dpi) for v in synth.PAPER_MM["A4"])
        self.img = Image.new("RGB", (width, height), "white")
        self.draw = ImageDraw.Draw(self.img)
        self.left, self.right = self.mm(rng.uniform(22, 30)), width - self.mm(rng.uniform(15, 20))
        self.top, self.bottom = self.mm(rng.uniform(12, 18)), height - self.mm(rng.uniform(14, 20))
        self.y = float(self.top)
        self.family = rng.choice(("Serif", "Serif", "Sans"))
        self.size_pt = rng.choice((11.0, 11.5, 12.0, 12.5, 13.0))
        self.lines: list[str] = []
        self.boxes: list[Box] = []
        self.codes: list[tuple[str, str]] = []
        self.code_boxes: list[Box] = []

    def mm(self, value: float) -> int:
        return round(value * self.dpi / 25.4)

    def font(self, style: str = "r", scale: float = 1.0) -> ImageFont.FreeTypeFont:
        return _font(self.family, style, round(self.size_pt * scale * self.dpi / 72))

    def put(self, x: float, y: float, text: str, font: ImageFont.FreeTypeFont) -> None:
        """Draw and record one line; refuse a line off the page or over a code."""
        text = unicodedata.normalize("NFC", text)
        left, top, right, bottom = (round(v) for v in self.draw.textbbox((x, y), text, font=font))
        box = (left, top, right - left, bottom - top)
        if left < 0 or top < 0 or right > self.img.width or bottom > self.img.height:
            raise ValueError(f"text off the page: {text!r}")
        if any(overlap(box, c) for c in self.code_boxes):
            raise ValueError(f"text over a code: {text!r}")
        self.draw.text((x, y), text, font=font, fill=_INK)
        self.lines.append(text)
        self.boxes.append(box)

    def para(
        self,
        text: str,
        style: str = "r",
        scale: float = 1.0,
        align: str = "l",
        x0: float | None = None,
        x1: float | None = None,
        indent_mm: float = 0,
    ) -> None:
        """Draw a wrapped paragraph (first-line indent, align l/c/r).

        Raises:
            SampleOverflowError: the paragraph would run past the bottom margin.
        """
        font, indent = self.font(style, scale), self.mm(indent_mm)
        x0, x1 = self.left if x0 is None else x0, self.right if x1 is None else x1
        rows, width = _wrap(text, font, x1 - x0, indent), x1 - x0
        while align == "c" and len(rows) > 1 and len(_wrap(text, font, width * 0.95)) == len(rows):
            width *= 0.95  # balance centred headings instead of leaving one orphan word
            rows = _wrap(text, font, width)
        step = font.size * _SPACING
        if self.y + len(rows) * step > self.bottom:
            raise SampleOverflowError(self.optional)
        for i, row in enumerate(rows):
            free = x1 - x0 - font.getlength(row)
            self.put(
                x0 + {"l": indent if i == 0 else 0, "c": free / 2, "r": free}[align],
                self.y,
                row,
                font,
            )
            self.y += step

    def underline(self, fraction: float = 1.0) -> None:
        """A rule under the last line, ``fraction`` of its width, as under Decree-30 headings."""
        left, top, width, height = self.boxes[-1]
        y, half, mid = top + height + self.mm(1.2), width * fraction / 2, left + width / 2
        self.draw.line((mid - half, y, mid + half, y), fill=_INK, width=self.mm(0.25))
        self.y = max(self.y, y + self.mm(1.5))

    def symbol(
        self, fmt: str, payload: str, modules: np.ndarray, mx: int, my: int, x: int, y: int
    ) -> Box:
        """Paste a module array (quiet zone included) crisply, each module ``mx`` x ``my`` px."""
        pixels = np.repeat(np.repeat(modules, my, axis=0), mx, axis=1)
        sym = Image.fromarray(np.where(pixels, 0, 255).astype(np.uint8), "L").convert("RGB")
        box = (x, y, sym.width, sym.height)
        if x < 0 or y < 0 or x + sym.width > self.img.width or y + sym.height > self.img.height:
            raise ValueError(f"{fmt} off the page")
        if any(overlap(box, b) for b in self.boxes):
            raise ValueError(f"{fmt} over text")
        self.img.paste(sym, (x, y))
        self.codes.append((fmt, payload))
        self.code_boxes.append(box)
        return box

    def page(self, doc_type: str, truth: dict[str, str]) -> GeneratedPage:
        """Freeze what was drawn (dossier 0; batches re-tag it)."""
        nfc = {k: unicodedata.normalize("NFC", v) for k, v in truth.items()}
        return GeneratedPage(
            self.img,
            self.dpi,
            doc_type,
            nfc,
            tuple(self.codes),
            0,
            "\n".join(self.lines),
            tuple(self.boxes),
            tuple(self.code_boxes),
        )


def fitted(
    rng: random.Random, build: Callable[[random.Random, int | None], GeneratedPage]
) -> GeneratedPage:
    """Build a page with as many optional lines as fit, one fewer after each overflow.

    Why: required fields must never be cut; optional body text is what gives way.
    """
    seed, limit = rng.getrandbits(64), None
    while True:
        try:
            return build(random.Random(seed), limit)
        except SampleOverflowError as exc:
            if exc.optional <= 0:
                raise RuntimeError("required text does not fit on one A4 page") from exc
            limit = exc.optional - 1


def draw_qr(sheet: Sheet, payload: str, x: int, y: int, size_mm: float) -> Box:
    """QR (level M) with its dark area from (x, y): modules >= 0.33 mm, 4-module quiet zone."""
    matrix = np.array(segno.make(payload, error="m", micro=False).matrix, dtype=bool)
    px = max(math.ceil(0.33 * sheet.dpi / 25.4), round(sheet.mm(size_mm) / matrix.shape[0]))
    return sheet.symbol("QRCode", payload, np.pad(matrix, 4), px, px, x - 4 * px, y - 4 * px)


def draw_barcode(sheet: Sheet, fmt: str, payload: str, height_mm: float) -> None:
    """Centred Code 39 / Code 128 at the cursor: 0.25 mm modules, 10-module quiet zones."""
    coder = Code39(payload, add_checksum=False) if fmt == "Code39" else Code128(payload)
    bars = np.pad(np.array([c == "1" for c in coder.build()[0]]), 10)[None, :]
    mx = math.ceil(0.25 * sheet.dpi / 25.4)
    x = round((sheet.left + sheet.right - bars.shape[1] * mx) / 2)
    box = sheet.symbol(fmt, payload, bars, mx, sheet.mm(height_mm), x, round(sheet.y))
    sheet.y += box[3] + sheet.mm(2)


def _col_scale(sheet: Sheet, texts: Sequence[tuple[str, str]], width: float) -> float:
    """Largest scale in [0.79, 0.95] at which each (text, style) fits ``width`` (else it wraps)."""
    scale = 0.95
    while scale > 0.8 and any(sheet.font(s, scale).getlength(t) > width for t, s in texts):
        scale -= 0.04
    return scale


def draw_header(
    sheet: Sheet, agency: Sequence[str], date_line: str, number: str = "", x0: int | None = None
) -> None:
    """Decree-30 heading: agency (left) over its "Số:", motto (right) over the date line."""
    x0 = sheet.left if x0 is None else x0
    split, gap, y0, ends = x0 + (sheet.right - x0) * 0.42, sheet.mm(2), sheet.y, []
    left = [(t, "c") for t in agency[:-1]] + [(agency[-1], "cb")]
    for texts, a, b, frac in (
        (left, x0, split - gap, 0.4),
        ([(m, "cb") for m in MOTTO], split + gap, sheet.right, 1.0),
    ):
        scale, sheet.y = _col_scale(sheet, texts, b - a), y0
        for text, style in texts:
            sheet.para(text, style, scale, "c", a, b)
        sheet.underline(frac)
        ends.append(sheet.y)
    y1, ends = max(ends) + sheet.mm(1), []
    for text, style, a, b in (
        (number, "r", x0, split - gap),
        (date_line, "i", split + gap, sheet.right),
    ):
        sheet.y = y1
        if text:
            sheet.para(text, style, _col_scale(sheet, [(text, style)], b - a), "c", a, b)
        ends.append(sheet.y)
    sheet.y = max(ends) + sheet.mm(4)


def draw_signatures(
    sheet: Sheet, rng: random.Random, blocks: Sequence[tuple[float, Sequence[str], str, str]]
) -> None:
    """Signature blocks side by side: (centre x, bold titles, italic note, signer's name).

    The blue pen stroke in the gap is drawn, not recorded: it is not text.
    """
    y0, ends, gap = sheet.y, [], sheet.mm(rng.uniform(16, 22))
    for cx, titles, note, name in blocks:
        half, sheet.y = min(cx - sheet.left, sheet.right - cx), y0
        for text, style, scale in [(t, "b", 1.0) for t in titles] + [(note, "i", 0.9)] * bool(note):
            sheet.para(text, style, scale, "c", cx - half, cx + half)
        t = np.linspace(0, rng.uniform(3, 5) * math.pi, 40)
        xs = cx + sheet.mm(14) * (t / t[-1] - 0.5) + sheet.mm(3) * np.sin(t * rng.uniform(0.8, 1.6))
        ys = sheet.y + gap * (0.5 + 0.3 * np.sin(t + rng.uniform(0, 3)) * np.cos(t / 3))
        sheet.draw.line(list(zip(xs, ys)), fill=_PEN, width=max(2, sheet.mm(0.35)), joint="curve")
        sheet.y += gap
        sheet.para(name, "b", 1.0, "c", cx - half, cx + half)
        ends.append(sheet.y)
    sheet.y = max(ends)


def draw_card(sheet: Sheet, x: int, rows: Sequence[tuple[str, str]], photo: bool) -> None:
    """A photocopied card at 1.5x ID-1 size at the cursor: grey ground, photo box, text rows."""
    w, h, pad, y = sheet.mm(128), sheet.mm(81), sheet.mm(4), round(sheet.y)
    sheet.draw.rounded_rectangle(
        (x, y, x + w, y + h),
        radius=sheet.mm(4),
        fill=(236, 236, 232),
        outline=_INK,
        width=sheet.mm(0.3),
    )
    if photo:
        sheet.draw.rectangle(
            (x + pad, y + sheet.mm(24), x + sheet.mm(30), y + sheet.mm(58)), fill=(190, 190, 186)
        )
    sheet.y, bottom, sheet.bottom = y + pad, sheet.bottom, y + h - pad
    for text, style in rows:
        centred = style.endswith("c")
        sheet.para(
            text,
            style.rstrip("c") or "r",
            0.85,
            "c" if centred else "l",
            x + (pad if centred or not photo else sheet.mm(33)),
            x + w - pad,
        )
    sheet.bottom, sheet.y = bottom, y + h + sheet.mm(8)


def rotate_boxes(
    boxes: Sequence[Box], matrix: np.ndarray, size: tuple[int, int]
) -> tuple[Box, ...]:
    """Bounding boxes of ``boxes`` after the page's rotation, clipped to the page."""
    out = []
    for left, top, w, h in boxes:
        corners = np.array(
            [[left, top, 1], [left + w, top, 1], [left, top + h, 1], [left + w, top + h, 1]], float
        )
        xs, ys = (corners @ matrix.T).T
        x0, y0 = max(0, math.floor(xs.min())), max(0, math.floor(ys.min()))
        out.append(
            (x0, y0, min(size[0], math.ceil(xs.max())) - x0, min(size[1], math.ceil(ys.max())) - y0)
        )
    return tuple(out)
