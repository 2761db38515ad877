"""Drawing primitives of the official-form generator: an A4 page, Decree-30 headers, tables.

Why its own canvas (not :mod:`samples.layout`): this generator exists to measure field
extraction on layouts the rules were *not* written against, so it draws with other fonts
(Times-metric Liberation Serif as offices print, Noto Serif / Sans), other margins (Decree
30: left 30-35 mm), ruled tables whose label and value sit in separate cells, dotted leaders
after values, and several fields on one line. Everything drawn is recorded in :attr:`Canvas.lines`
so a test can compare the page's text with what Tesseract reads.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from sohoa.errors import SampleOverflowError

FACES: dict[str, dict[str, str]] = {
    "liberation-serif": {
        "r": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
        "b": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Bold.ttf",
        "i": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Italic.ttf",
        "bi": "/usr/share/fonts/truetype/liberation2/LiberationSerif-BoldItalic.ttf",
    },
    "noto-serif": {
        "r": "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
        "b": "/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf",
        "i": "/usr/share/fonts/truetype/noto/NotoSerif-Italic.ttf",
        "bi": "/usr/share/fonts/truetype/noto/NotoSerif-BoldItalic.ttf",
    },
    "noto-sans": {
        "r": "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "b": "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
        "i": "/usr/share/fonts/truetype/noto/NotoSans-Italic.ttf",
        "bi": "/usr/share/fonts/truetype/noto/NotoSans-BoldItalic.ttf",
    },
}
FALLBACK = {
    "r": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "b": "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    "i": "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
    "bi": "/usr/share/fonts/truetype/dejavu/DejaVuSerif-BoldItalic.ttf",
}
MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
INK = (15, 15, 20)
LINE_GAP = 1.4
"""Line pitch as a multiple of the font size (Word's "single" spacing for Times is ~1.15-1.3)."""


def available_faces() -> tuple[str, ...]:
    """Face ids whose files are installed (the DejaVu fallback always counts as one)."""
    found = tuple(k for k, v in FACES.items() if all(Path(p).is_file() for p in v.values()))
    return found or ("dejavu-serif",)


def _font_file(face: str, style: str) -> str:
    return FACES.get(face, FALLBACK).get(style, FALLBACK[style])


class Canvas:
    """An A4 page with Decree-30 margins, a cursor ``y`` and a base font size ``pt``."""

    def __init__(self, rng: random.Random, dpi: int, face: str, pt: float) -> None:
        self.dpi, self.face, self.pt = dpi, face, pt
        self.img = Image.new("RGB", (self.mm(210), self.mm(297)), "white")
        self.draw = ImageDraw.Draw(self.img)
        self.left = self.mm(rng.uniform(28, 34))
        self.right = self.img.width - self.mm(rng.uniform(14, 19))
        self.y = float(self.mm(rng.uniform(14, 20)))
        self.bottom = self.img.height - self.mm(15)
        self.lines: list[str] = []
        self.ruled = 0
        self._fonts: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}

    # ----------------------------------------------------------------- units and fonts

    def mm(self, value: float) -> int:
        return round(value * self.dpi / 25.4)

    def font(self, style: str = "r", scale: float = 1.0) -> ImageFont.FreeTypeFont:
        size = max(8, round(self.pt * scale * self.dpi / 72))
        key = (style, size)
        if key not in self._fonts:
            self._fonts[key] = ImageFont.truetype(_font_file(self.face, style), size)
        return self._fonts[key]

    def pitch(self, scale: float = 1.0) -> float:
        return self.font("r", scale).size * LINE_GAP

    @property
    def width(self) -> int:
        return self.right - self.left

    # ----------------------------------------------------------------- text

    def text(self, x: float, y: float, text: str, style: str = "r", scale: float = 1.0) -> float:
        """Draw one run of text at ``(x, y)``; returns its right edge."""
        text = unicodedata.normalize("NFC", text)
        font = self.font(style, scale)
        if y + font.size * LINE_GAP > self.bottom:
            raise SampleOverflowError(0)
        self.draw.text((x, y), text, font=font, fill=INK)
        self.lines.append(text)
        return x + font.getlength(text)

    def wrap(self, text: str, width: float, style: str = "r", scale: float = 1.0) -> list[str]:
        font, rows = self.font(style, scale), []
        for word in text.split():
            if rows and font.getlength(f"{rows[-1]} {word}") <= width:
                rows[-1] = f"{rows[-1]} {word}"
            else:
                rows.append(word)
        return rows or [""]

    def para(
        self,
        text: str,
        *,
        style: str = "r",
        scale: float = 1.0,
        align: str = "l",
        x0: float | None = None,
        x1: float | None = None,
        indent: float = 0.0,
        after: float = 0.0,
    ) -> list[str]:
        """A wrapped paragraph from the cursor down; returns the rows as drawn."""
        x0 = self.left if x0 is None else x0
        x1 = self.right if x1 is None else x1
        font = self.font(style, scale)
        rows = self.wrap(text, x1 - x0 - indent, style, scale)
        if len(rows) > 1 and indent:
            rest = self.wrap(" ".join(rows[1:]), x1 - x0, style, scale)
            rows = rows[:1] + rest
        for n, row in enumerate(rows):
            free = x1 - x0 - font.getlength(row)
            dx = {"l": indent if n == 0 else 0, "c": free / 2, "r": free}[align]
            self.text(x0 + dx, self.y, row, style, scale)
            self.y += self.pitch(scale)
        self.y += self.mm(after)
        return rows

    def runs(self, parts: Sequence[tuple[str, str]], *, x0: float | None = None) -> None:
        """Several ``(text, style)`` runs on one line (label regular, value bold, ...)."""
        x = self.left if x0 is None else x0
        for text, style in parts:
            x = self.text(x, self.y, text, style) + self.font(style).getlength(" ")
        self.y += self.pitch()

    def leader(self, label: str, value: str, *, x1: float | None = None, style: str = "r") -> None:
        """``Label: value .........`` with dotted leaders to the column end, as on trích lục.

        A value too long for the line wraps and the leaders follow its last row.
        """
        x1 = self.right if x1 is None else x1
        head = f"{label} "
        rows = self.wrap(value, x1 - self.left - self.font().getlength(head) - self.mm(6), style)
        x = self.text(self.left, self.y, head) if head.strip() else self.left
        for n, row in enumerate(rows):
            if n:
                self.y += self.pitch()
                x = self.left
            x = self.text(x, self.y, row, style)
        dot = self.font().getlength(".")
        count = int((x1 - x - dot) // dot) - 1
        if count >= 3:
            self.text(x + dot, self.y, "." * count)
        self.y += self.pitch()

    def rule(self, x0: float, x1: float, y: float, width_mm: float = 0.25) -> None:
        self.draw.line((x0, y, x1, y), fill=INK, width=max(1, self.mm(width_mm)))

    # ----------------------------------------------------------------- Decree-30 blocks

    def header(
        self,
        left: Sequence[str],
        right_extra: Sequence[str] = (),
        *,
        left_extra: Sequence[str] = (),
        left_share: float = 0.42,
        scale: float = 0.92,
    ) -> tuple[float, float]:
        """Agency block left, Quốc hiệu and tiêu ngữ right, each underlined (Decree 30, Annex I).

        The first agency line (cơ quan chủ quản) is regular, the last (cơ quan ban hành)
        bold. Lines in ``left_extra`` (``Số: 12/QĐ-UBND``) go under the agency and lines in
        ``right_extra`` (the date line, italic) under the motto, on the same row; the cursor
        ends under the taller column. Returns ``(split x, y under the rules)``.
        """
        split = self.left - self.mm(12) + (self.width + self.mm(12)) * left_share
        lx0, lx1 = self.left - self.mm(12), split
        y0 = self.y
        for n, line in enumerate(left):
            style = "b" if n == len(left) - 1 else "r"
            self.para(line, style=style, scale=scale, align="c", x0=lx0, x1=lx1)
        left_end = self.y
        mid = (lx0 + lx1) / 2
        self.rule(mid - self.mm(12), mid + self.mm(12), left_end + self.mm(1))
        self.y = y0
        self.para(MOTTO[0], style="b", scale=scale, align="c", x0=split, x1=self.right)
        motto = self.para(
            MOTTO[1], style="b", scale=scale + 0.08, align="c", x0=split, x1=self.right
        )
        half = self.font("b", scale + 0.08).getlength(motto[0]) / 2
        centre = (split + self.right) / 2
        self.rule(centre - half, centre + half, self.y + self.mm(0.8))
        under = max(self.y, left_end) + self.mm(2)
        self.y = under
        for line in left_extra:
            self.para(line, align="c", x0=lx0, x1=lx1)
        left_end, self.y = self.y, under
        for line in right_extra:
            self.para(line, style="i", align="c", x0=split, x1=self.right)
        self.y = max(self.y, left_end)
        return split, under

    def signature(
        self, titles: Sequence[str], name: str, *, x0: float, x1: float, note: str = ""
    ) -> None:
        """A signing block: titles in capitals, an optional note, blank room, the name."""
        for title in titles:
            self.para(title, style="b", align="c", x0=x0, x1=x1)
        if note:
            self.para(note, style="i", scale=0.9, align="c", x0=x0, x1=x1)
        self.y += self.mm(17)
        self.para(name, style="b", align="c", x0=x0, x1=x1)

    # ----------------------------------------------------------------- ruled tables

    def table(
        self,
        widths: Sequence[float],
        rows: Sequence[Sequence[str]],
        *,
        header_rows: int = 0,
        scale: float = 0.95,
        bold_cols: Sequence[int] = (),
        x0: float | None = None,
    ) -> None:
        """A ruled table (every cell boxed) from the cursor down; ``widths`` are fractions.

        A cell's text wraps inside it; header rows are bold and centred. Labels and values
        sit in separate cells, so a label's value is to its right across a vertical rule,
        or below a header across a horizontal one.
        """
        x0 = self.left if x0 is None else x0
        total = self.right - x0
        edges = [x0]
        for w in widths:
            edges.append(edges[-1] + w * total)
        pad = self.mm(1.5)
        pitch = self.pitch(scale)
        top = self.y
        lines_y = [top]
        for r, row in enumerate(rows):
            header = r < header_rows
            cells = []
            for c, cell in enumerate(row):
                style = "b" if header or c in bold_cols else "r"
                cells.append(
                    (self.wrap(cell, edges[c + 1] - edges[c] - 2 * pad, style, scale), style)
                )
            height = max(len(rows_) for rows_, _ in cells) * pitch + 2 * pad
            if lines_y[-1] + height > self.bottom:
                raise SampleOverflowError(0)
            for c, (cell_rows, style) in enumerate(cells):
                for n, text in enumerate(cell_rows):
                    font = self.font(style, scale)
                    free = edges[c + 1] - edges[c] - 2 * pad - font.getlength(text)
                    dx = free / 2 if header else 0
                    if text:
                        self.text(
                            edges[c] + pad + dx, lines_y[-1] + pad + n * pitch, text, style, scale
                        )
            lines_y.append(lines_y[-1] + height)
        width = max(1, self.mm(0.3))
        for y in lines_y:
            self.draw.line((edges[0], y, edges[-1], y), fill=INK, width=width)
        for x in edges:
            self.draw.line((x, top, x, lines_y[-1]), fill=INK, width=width)
        self.ruled += len(lines_y) + len(edges)
        self.y = lines_y[-1] + self.mm(2)
