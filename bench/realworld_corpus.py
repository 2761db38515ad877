"""Labelled pages as offices actually hand them over, one category per kind of real input.

Run alone to look at them: ``.venv/bin/python bench/realworld_corpus.py OUT_DIR
[--pages-per-kind N] [--seed N]`` writes each page's input file (what sohoa is given), the
scanner's image beside it (what raw Tesseract is given) and ``.txt`` truth.

Unlike :mod:`bench.ocr_corpus` (one clean layout, then a list of damages), each category
here copies how one kind of real file comes about:

``phone photo``
    A printed page photographed on a desk and sent through a chat app: the page rendered at
    300 dpi, warped in perspective (tilt, rotation) onto a wood or grey desk, a soft shadow
    and a light fall-off over it, defocus, sensor noise and phone sharpening, downscaled so
    the page text is 75-145 dpi, stored as JPEG q 70-80 **with no DPI tag**.
``bilevel 200 dpi``
    A feeder scanner's black-and-white mode: slight skew, optics blur, 200 dpi, one fixed
    threshold, dust; a 1-bit CCITT G4 image in a PDF (``/CCITTFaxDecode``).
``colour 200 dpi`` / ``colour 300 dpi``
    An office colour scan: off-white paper, skew under 1°, optics blur, noise, a blue ink
    signature and (often) a red seal, JPEG q 60-75 (4:2:0) embedded in a PDF.
``yellowed + notes``
    An old file: yellowed, mottled and foxed paper, faded ink, a crease, and handwritten
    blue-pen notes (a script font and pen strokes: margin notes, underlines, a tick, a
    circled number), scanned in colour at 300 or 200 dpi. The notes are not in the truth.
``signed, poor text layer``
    A "searchable PDF" from a scanner whose own OCR knows no Vietnamese (its invisible text
    drops the tone marks and confuses some letters), then digitally signed (pyHanko, a
    throwaway key made here) before it reaches the archive.

The texts are this module's own Vietnamese administrative documents (công văn, quyết định,
giấy mời, tờ trình, thông báo, biên bản; written for this file, not taken from
``samples``), laid out as the
state's format does it (two-column header, centred title, justified body, "Nơi nhận" and a
signature block) in Liberation Serif (Times-metric; ``fonts-liberation2``), Noto Serif or
DejaVu Serif at 12-14 pt with varied margins and leading. Truth = the printed text in
reading order: the header's left block, then its right block; title; body; "Nơi nhận",
then the signature block. Seals, signatures and handwriting are not text. Deterministic
for a seed (and the same installed fonts).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import io
import math
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.realworld_texts import Doc, make_doc

FONT_FILES: dict[str, dict[str, str]] = {
    "Liberation Serif": {
        s: f"/usr/share/fonts/truetype/liberation2/LiberationSerif-{f}.ttf"
        for s, f in (("r", "Regular"), ("b", "Bold"), ("i", "Italic"), ("bi", "BoldItalic"))
    },
    "Noto Serif": {
        s: f"/usr/share/fonts/truetype/noto/NotoSerif-{f}.ttf"
        for s, f in (("r", "Regular"), ("b", "Bold"), ("i", "Italic"), ("bi", "BoldItalic"))
    },
    "DejaVu Serif": {
        s: f"/usr/share/fonts/truetype/dejavu/DejaVuSerif{f}.ttf"
        for s, f in (("r", ""), ("b", "-Bold"), ("i", "-Italic"), ("bi", "-BoldItalic"))
    },
}
SCRIPT_FONT = "/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf"
"""A chancery script (fonts-urw-base35, pulled in by Ghostscript) for handwritten notes."""
RENDER_DPI = 300
A4_IN = (8.27, 11.69)
KINDS = (
    "phone photo",
    "bilevel 200 dpi",
    "colour 200 dpi",
    "colour 300 dpi",
    "yellowed + notes",
    "signed, poor text layer",
)


def fonts_available() -> list[str]:
    """Families whose four styles are installed (Liberation needs ``fonts-liberation2``)."""
    return [n for n, f in FONT_FILES.items() if all(Path(p).is_file() for p in f.values())]


@dataclass(frozen=True)
class RealPage:
    """One labelled input file, as an office would hand it to sohoa."""

    name: str
    kind: str
    path: Path
    """The file given to sohoa and OCRmyPDF (a JPEG for photos, else a PDF)."""
    image: Path
    """The page image raw Tesseract reads: the photo itself, or the scanner's image file."""
    truth: str
    dpi: float
    """True resolution of the page in the file (for a photo: page width px / 8.27 in)."""
    dpi_tagged: bool
    font: str
    size_pt: float
    doc: str
    detail: str
    leading: float = 1.0
    """Body line pitch / font size (the page's line spacing)."""
    existing_layer: str = ""
    """The invisible text the file already carries (signed category), else ""."""


# --------------------------------------------------------------------------- layout


@dataclass
class Line:
    """One printed line: where it went, for the truth and for a scanner's text layer."""

    text: str
    x: float
    y: float
    width: float
    size_px: float


@dataclass
class Style:
    family: str
    size_pt: float
    leading: float
    margins_mm: tuple[float, float, float, float]  # left, top, right, bottom
    indent_mm: float
    justify: bool
    para_gap_pt: float


@dataclass
class Canvas:
    """A page being drawn at ``dpi``: the image, the drawn lines, the pen position."""

    img: Image.Image
    dpi: int
    style: Style
    lines: list[Line] = field(default_factory=list)
    marks: dict[str, tuple[float, float]] = field(default_factory=dict)

    def px(self, mm: float) -> float:
        return mm / 25.4 * self.dpi

    def font(self, weight: str = "r", scale: float = 1.0) -> ImageFont.FreeTypeFont:
        path = FONT_FILES[self.style.family][weight]
        return _font(path, round(self.style.size_pt * scale * self.dpi / 72))


_FONTS: dict[tuple[str, int], ImageFont.FreeTypeFont] = {}


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    if (path, size) not in _FONTS:
        _FONTS[path, size] = ImageFont.truetype(path, size)
    return _FONTS[path, size]


INK = (22, 22, 28)


def _text(c: Canvas, x: float, y: float, text: str, font, record: bool = True) -> float:
    """Draw ``text`` with its top-left at (x, y); return its width."""
    draw = ImageDraw.Draw(c.img)
    draw.text((x, y), text, font=font, fill=INK)
    width = draw.textlength(text, font=font)
    if record and text.strip():
        c.lines.append(Line(text, x, y, width, font.size))
    return width


def _wrap(text: str, font, width: float) -> list[str]:
    words, lines, cur = text.split(), [], ""
    for word in words:
        trial = f"{cur} {word}".strip()
        if font.getlength(trial) <= width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    return [*lines, cur] if cur else lines


def _justified(c: Canvas, x: float, y: float, line: str, font, width: float) -> None:
    words = line.split()
    gaps = len(words) - 1
    spare = width - sum(font.getlength(w) for w in words)
    draw = ImageDraw.Draw(c.img)
    pos = x
    for i, word in enumerate(words):
        draw.text((pos, y), word, font=font, fill=INK)
        pos += font.getlength(word) + (spare / gaps if gaps else 0)
    c.lines.append(Line(line, x, y, width, font.size))


def _centred_block(c: Canvas, lines, x0: float, width: float, y: float) -> float:
    """Lines of (text, weight, scale), each centred in [x0, x0+width]; underline marks."""
    step = c.style.size_pt * c.dpi / 72 * 1.25
    for text, weight, scale in lines:
        if text == "---":  # the short rule under a heading
            mid = x0 + width / 2
            rule_y = y + step * 0.08  # below the previous line's descenders
            ImageDraw.Draw(c.img).line(
                [(mid - width * 0.18, rule_y), (mid + width * 0.18, rule_y)],
                fill=INK,
                width=max(1, round(c.dpi / 150)),
            )
            y += step * 0.45
            continue
        font = c.font(weight, scale)
        while font.getlength(text) > width and scale > 0.7:  # too wide for its column
            scale -= 0.04
            font = c.font(weight, scale)
        w = font.getlength(text)
        _text(c, x0 + (width - w) / 2, y, text, font)
        y += step * scale
    return y


def _paragraph(c: Canvas, style: str, text: str, y: float, dry: bool = False) -> float:
    """A body paragraph; returns the y after it (``dry``: measure only)."""
    s = c.style
    left, right = c.px(s.margins_mm[0]), c.img.width - c.px(s.margins_mm[2])
    step = s.size_pt * c.dpi / 72 * s.leading
    weight = {"c": "b", "i": "i", "h": "b"}.get(style, "r")
    font = c.font(weight)
    if style == "c":
        lines = _wrap(text, font, (right - left) * 0.9)
        if not dry:
            for line in lines:
                _text(c, left + (right - left - font.getlength(line)) / 2, y, line, font)
                y += step
        else:
            y += step * len(lines)
        return y + c.px(s.para_gap_pt * 25.4 / 72)
    indent = c.px(s.indent_mm) if style in ("p", "i", "h") else 0
    hang = c.px(6) if style == "n" else 0
    lines = _wrap(text, font, right - left - max(indent, hang))
    for i, line in enumerate(lines):
        x = left + (indent if i == 0 else hang)
        if not dry:
            last = i == len(lines) - 1
            if s.justify and not last:
                _justified(c, x, y, line, font, right - x)
            else:
                _text(c, x, y, line, font)
        y += step
    return y + c.px(s.para_gap_pt * 25.4 / 72)


def _footer(c: Canvas, doc: Doc, y: float, dry: bool = False) -> float:
    """ "Nơi nhận" block on the left, signature block on the right (with room to sign)."""
    s = c.style
    left, right = c.px(s.margins_mm[0]), c.img.width - c.px(s.margins_mm[2])
    width = right - left
    step = s.size_pt * c.dpi / 72 * 1.2
    sig_h = step * (len(doc.signer) + 3.2)
    rec_h = step * 0.9 * (len(doc.recipients) + 1)
    if dry:
        return y + max(sig_h, rec_h)
    yy = y
    _text(c, left, yy, "Nơi nhận:", c.font("bi", 0.9))
    for line in doc.recipients:
        yy += step * 0.85
        _text(c, left, yy, line, c.font("r", 0.8))
    x0 = left + width * 0.45
    roles = [(t, "b", 1.0) for t in doc.signer[:-1]]
    yy = _centred_block(c, roles, x0, width * 0.55, y)
    c.marks["signature"] = (x0 + width * 0.275, yy + step * 1.1)
    _centred_block(c, [(doc.signer[-1], "b", 1.0)], x0, width * 0.55, yy + step * 2.4)
    return y + max(sig_h, rec_h)


def render(doc: Doc, style: Style, dpi: int = RENDER_DPI) -> Canvas:
    """Lay ``doc`` out on a white A4 page; body paragraphs stop where the footer begins."""
    w, h = round(A4_IN[0] * dpi), round(A4_IN[1] * dpi)
    c = Canvas(Image.new("RGB", (w, h), (255, 255, 255)), dpi, style)
    left, right = c.px(style.margins_mm[0]), w - c.px(style.margins_mm[2])
    top, bottom = c.px(style.margins_mm[1]), h - c.px(style.margins_mm[3])
    width = right - left
    split = 0.40 if style.size_pt <= 13 else 0.42
    y1 = _centred_block(c, doc.left, left - c.px(8), width * split + c.px(8), top)
    y2 = _centred_block(c, doc.right, left + width * split, width * (1 - split), top)
    y = max(y1, y2) + c.px(4)
    y = _centred_block(c, doc.title, left, width, y) + c.px(3)
    room = bottom - _footer(c, doc, 0, dry=True)
    for kind, text in doc.body:
        after = _paragraph(c, kind, text, y, dry=True)
        if after > room:
            break
        y = _paragraph(c, kind, text, y)
    _footer(c, doc, y + c.px(2))
    return c


def truth_of(c: Canvas) -> str:
    return "\n".join(line.text for line in c.lines)


def pick_style(rng: random.Random, family: str) -> Style:
    return Style(
        family=family,
        size_pt=rng.choice((12, 13, 13, 14)),
        leading=rng.uniform(1.2, 1.5),
        margins_mm=(rng.uniform(25, 35), rng.uniform(15, 25), rng.uniform(12, 20), 15),
        indent_mm=rng.uniform(8, 13),
        justify=rng.random() < 0.75,
        para_gap_pt=rng.uniform(2, 6),
    )


# --------------------------------------------------------------------------- ink and paper


def add_signature(img: Image.Image, centre, dpi: int, rng: random.Random) -> None:
    """A blue ballpoint scribble: a few loops and a flourish."""
    arr = np.asarray(img).copy()
    cx, cy = centre
    scale = dpi / 300
    t = np.linspace(0, 1, 400)
    loops = rng.randint(3, 5)
    xs = cx - 180 * scale + 360 * scale * t + 25 * scale * np.sin(2 * math.pi * loops * t)
    ys = cy + 38 * scale * np.cos(2 * math.pi * loops * t + rng.uniform(0, 3)) * (1 - 0.6 * t)
    pts = np.stack([xs, ys], 1).astype(np.int32)
    cv2.polylines(arr, [pts], False, (30, 50, 160), max(2, round(3 * scale)), cv2.LINE_AA)
    tail = np.array([[xs[-1], ys[-1]], [xs[-1] + 60 * scale, ys[-1] - 50 * scale]], np.int32)
    cv2.polylines(arr, [tail], False, (30, 50, 160), max(2, round(3 * scale)), cv2.LINE_AA)
    img.paste(Image.fromarray(arr))


def add_seal(img: Image.Image, centre, dpi: int, rng: random.Random, label: str) -> None:
    """A red round seal (rings, a star, the office's name round the rim), multiplied in."""
    r = round(19 * dpi / 25.4 * rng.uniform(0.9, 1.05))  # ~36-40 mm across
    size = 2 * r + 8
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    draw.ellipse([4, 4, size - 4, size - 4], outline=255, width=max(3, r // 25))
    draw.ellipse(
        [r * 0.3 + 4, r * 0.3 + 4, size - r * 0.3 - 4, size - r * 0.3 - 4],
        outline=255,
        width=max(2, r // 40),
    )
    star = [
        (
            r + 4 + r * 0.22 * (1 if k % 2 == 0 else 0.4) * math.sin(k * math.pi / 5),
            r + 4 - r * 0.22 * (1 if k % 2 == 0 else 0.4) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=255)
    font = _font(FONT_FILES[fonts_available()[0]]["b"], round(r * 0.17))
    text = label.upper()[:34]
    for i, ch in enumerate(text):
        angle = -150 + 300 * i / max(1, len(text) - 1)
        glyph = Image.new("L", (font.size * 2, font.size * 2), 0)
        ImageDraw.Draw(glyph).text((font.size * 0.5, font.size * 0.3), ch, font=font, fill=255)
        glyph = glyph.rotate(-angle, resample=Image.BICUBIC)
        gx = r + 4 + r * 0.83 * math.sin(math.radians(angle)) - font.size
        gy = r + 4 - r * 0.83 * math.cos(math.radians(angle)) - font.size
        layer.paste(255, (round(gx), round(gy)), glyph)
    alpha = np.asarray(layer, np.float32) / 255 * rng.uniform(0.65, 0.85)
    alpha *= np.random.default_rng(rng.randint(0, 99999)).uniform(0.6, 1.0, alpha.shape)
    x0, y0 = round(centre[0] - r - 4), round(centre[1] - r - 4)
    arr = np.asarray(img, np.float32).copy()
    x1, y1 = min(arr.shape[1], x0 + size), min(arr.shape[0], y0 + size)
    a = alpha[: y1 - y0, : x1 - x0, None]
    red = np.array([205, 35, 45], np.float32)
    arr[y0:y1, x0:x1] = arr[y0:y1, x0:x1] * (1 - a) + (arr[y0:y1, x0:x1] * red / 255) * a
    img.paste(Image.fromarray(arr.clip(0, 255).astype(np.uint8)))


def sign_and_stamp(c: Canvas, doc: Doc, rng: random.Random, seal_p: float = 0.6) -> str:
    """Signature always, seal with probability ``seal_p`` (left of the signature)."""
    cx, cy = c.marks["signature"]
    add_signature(c.img, (cx, cy), c.dpi, rng)
    if rng.random() < seal_p:
        add_seal(c.img, (cx - c.px(14), cy - c.px(2)), c.dpi, rng, doc.seal)
        return "signature + seal"
    return "signature"


def _rotate(arr: np.ndarray, deg: float, fill) -> np.ndarray:
    h, w = arr.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(arr, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=fill)


def scanner(
    arr: np.ndarray,
    rng: random.Random,
    *,
    skew: float,
    blur: float,
    noise: float,
    paper=(246, 244, 239),
) -> np.ndarray:
    """Paper tint, skew, the optics' blur and sensor noise of a flatbed or feeder scanner.

    ``arr`` is grey (H, W) with a one-value ``paper``, or RGB (H, W, 3) with three values.
    """
    tint = np.array(paper, np.float32) / 255
    f = arr.astype(np.float32) * (tint if arr.ndim == 3 else tint[0])
    f = _rotate(f, skew, tuple(float(v) for v in paper) if arr.ndim == 3 else float(paper[0]))
    if blur:
        f = cv2.GaussianBlur(f, (0, 0), blur)
    grain = np.random.default_rng(rng.randint(0, 2**31)).normal(0, noise, f.shape[:2])
    f += grain[..., None] if f.ndim == 3 else grain
    return f.clip(0, 255).astype(np.uint8)


def _jpeg(img: Image.Image, quality: int, dpi: float | None) -> bytes:
    out = io.BytesIO()
    kw = {"dpi": (dpi, dpi)} if dpi else {}
    img.save(out, "JPEG", quality=quality, subsampling=2, **kw)
    return out.getvalue()


def _pdf_from(image_file: Path, dest: Path) -> Path:
    """The scanner's image wrapped unchanged in a PDF (img2pdf: JPEG and CCITT pass through)."""
    import img2pdf

    dest.write_bytes(img2pdf.convert(str(image_file)))
    return dest


# --------------------------------------------------------------------------- categories


def make_photo(c: Canvas, rng: random.Random, dest: Path) -> tuple[Path, Path, float, str]:
    """Perspective photo on a desk with a shadow; page text 75-145 dpi; JPEG without DPI."""
    dpi = rng.uniform(75, 145)
    page = np.asarray(c.img.convert("RGB"), np.float32)
    ss = 2  # work at twice the final size, then downscale (as the phone's resize does)
    pw, ph = A4_IN[0] * dpi * ss, A4_IN[1] * dpi * ss
    fill = rng.uniform(0.80, 0.92)
    fh = round(ph / fill)
    fw = round(fh * 3 / 4)
    page = cv2.resize(page, (round(pw), round(ph)), interpolation=cv2.INTER_AREA)
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    tilt = rng.uniform(0.0, 0.08) * pw  # the far (top) edge looks narrower
    rot = math.radians(rng.uniform(-4, 4))
    cx, cy = fw / 2 + rng.uniform(-0.03, 0.03) * fw, fh / 2 + rng.uniform(-0.02, 0.02) * fh
    quad = [
        (-pw / 2 + tilt / 2, -ph / 2),
        (pw / 2 - tilt / 2, -ph / 2),
        (pw / 2, ph / 2),
        (-pw / 2, ph / 2),
    ]
    jitter = lambda: rng.uniform(-0.012, 0.012) * pw
    dst = np.float32(
        [
            (
                cx + x * math.cos(rot) - y * math.sin(rot) + jitter(),
                cy + x * math.sin(rot) + y * math.cos(rot) + jitter(),
            )
            for x, y in quad
        ]
    )
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(page, m, (fw, fh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones(page.shape[:2], np.float32), m, (fw, fh))[..., None]
    frame = warped * mask + _desk(fw, fh, rng) * (1 - mask)
    frame *= _lighting(fw, fh, rng)[..., None]
    frame *= np.array([1.03, 1.0, 0.9], np.float32)  # warm indoor light
    frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.8, 1.6))  # defocus at 2x
    frame = cv2.resize(frame, (fw // ss, fh // ss), interpolation=cv2.INTER_AREA)
    gen = np.random.default_rng(rng.randint(0, 2**31))
    frame += gen.normal(0, rng.uniform(2, 4), frame.shape)
    soft = cv2.GaussianBlur(frame, (0, 0), 1.2)
    frame = frame + rng.uniform(0.3, 0.7) * (frame - soft)  # the phone's sharpening
    img = Image.fromarray(frame.clip(0, 255).astype(np.uint8))
    quality = rng.randint(70, 80)
    path = dest.with_suffix(".jpg")
    path.write_bytes(_jpeg(img, quality, None))
    return (
        path,
        path,
        dpi,
        f"{img.width}x{img.height} px, page ≈{dpi:.0f} dpi, q{quality}, no DPI tag",
    )


def _desk(w: int, h: int, rng: random.Random) -> np.ndarray:
    gen = np.random.default_rng(rng.randint(0, 2**31))
    if rng.random() < 0.5:  # wood: long grain along x with slow waves
        y = np.arange(h, dtype=np.float32)[:, None]
        x = np.arange(w, dtype=np.float32)[None, :]
        grain = np.sin(y / rng.uniform(6, 14) + 3 * np.sin(x / rng.uniform(150, 400)))
        base = np.array([150, 102, 62], np.float32)
        tex = base * (0.85 + 0.1 * grain[..., None]) + gen.normal(0, 6, (h, w, 1))
    else:  # grey laminate
        tex = np.full((h, w, 3), rng.uniform(110, 170), np.float32) + gen.normal(0, 5, (h, w, 1))
    return tex.astype(np.float32)


def _lighting(w: int, h: int, rng: random.Random) -> np.ndarray:
    """Light fall-off across the frame times the soft shadow of the phone and hand."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    ramp = (x / w - 0.5) * math.cos(ang) + (y / h - 0.5) * math.sin(ang)
    light = 1.0 + rng.uniform(0.12, 0.25) * ramp
    shadow = np.zeros((h, w), np.float32)
    corner = rng.choice(((0, 0), (w, 0), (0, h), (w, h)))
    poly = np.array(
        [
            corner,
            (corner[0], h / 2),
            (w * rng.uniform(0.3, 0.6), h * rng.uniform(0.3, 0.6)),
            (w / 2, corner[1]),
        ],
        np.int32,
    )
    cv2.fillPoly(shadow, [poly], 1.0)
    shadow = cv2.GaussianBlur(shadow, (0, 0), w * 0.06)
    return light * (1 - rng.uniform(0.25, 0.45) * shadow)


def make_bilevel(c: Canvas, rng: random.Random, dest: Path) -> tuple[Path, Path, float, str]:
    """Feeder scanner, black-and-white mode: 200 dpi, fixed threshold, CCITT G4 in a PDF."""
    gray = np.asarray(c.img.convert("L"))
    skew = rng.uniform(-1.2, 1.2)
    arr = scanner(gray, rng, skew=skew, blur=rng.uniform(0.8, 1.3), noise=4, paper=(240,))
    arr = cv2.resize(
        arr, (round(A4_IN[0] * 200), round(A4_IN[1] * 200)), interpolation=cv2.INTER_AREA
    )
    level = rng.randint(135, 175)
    bits = arr > level
    gen = np.random.default_rng(rng.randint(0, 2**31))
    bits &= gen.random(bits.shape) > 0.0004  # dust
    img = Image.fromarray(bits.astype(np.uint8) * 255).convert("1")
    tif = dest.with_suffix(".tif")
    img.save(tif, compression="group4", dpi=(200, 200))
    pdf = _pdf_from(tif, dest.with_suffix(".pdf"))
    return pdf, tif, 200.0, f"skew {skew:+.1f}°, threshold {level}, CCITT G4 1-bit"


def _colour_scan(c, rng, dest, dpi, quality_range, paper, detail_extra=""):
    arr = np.asarray(c.img.convert("RGB"))
    skew = rng.uniform(-0.9, 0.9)
    arr = scanner(arr, rng, skew=skew, blur=rng.uniform(0.5, 0.9), noise=3, paper=paper)
    if dpi != RENDER_DPI:
        size = (round(A4_IN[0] * dpi), round(A4_IN[1] * dpi))
        arr = cv2.resize(arr, size, interpolation=cv2.INTER_AREA)
    quality = rng.randint(*quality_range)
    jpg = dest.with_suffix(".jpg")
    jpg.write_bytes(_jpeg(Image.fromarray(arr), quality, dpi))
    pdf = _pdf_from(jpg, dest.with_suffix(".pdf"))
    return pdf, jpg, float(dpi), f"skew {skew:+.1f}°, JPEG q{quality} 4:2:0{detail_extra}"


def make_colour(dpi: int) -> Callable:
    def make(c: Canvas, rng: random.Random, dest: Path):
        return _colour_scan(c, rng, dest, dpi, (60, 75), (247, 245, 240))

    return make


def make_yellowed(c: Canvas, rng: random.Random, dest: Path):
    """Old paper and ink, a crease, handwritten notes; colour scan at 300 or 200 dpi."""
    notes = add_handwriting(c, rng)
    arr = np.asarray(c.img.convert("RGB"), np.float32)
    h, w = arr.shape[:2]
    gen = np.random.default_rng(rng.randint(0, 2**31))
    mottle = cv2.resize(gen.normal(0, 1, (h // 60, w // 60)).astype(np.float32), (w, h))
    mottle = cv2.GaussianBlur(mottle, (0, 0), 40)
    paper = np.array([236, 222, 184], np.float32) * (1 + 0.035 * mottle[..., None])
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = np.minimum.reduce([x, y, w - x, h - y]) / (0.08 * w)
    paper *= (0.86 + 0.14 * np.clip(edge, 0, 1))[..., None]  # browned edges
    for _ in range(rng.randint(8, 25)):  # foxing
        cv2.circle(
            paper,
            (rng.randrange(w), rng.randrange(h)),
            rng.randint(3, 14),
            (170, 130, 80),
            -1,
            cv2.LINE_AA,
        )
    ink = arr / 255
    faded = 1 - (1 - ink) * rng.uniform(0.75, 0.9)  # toner faded to brown-grey
    out = paper * faded
    crease = rng.uniform(0.35, 0.65) * h
    out *= (1 - 0.12 * np.exp(-(((y - crease) / 6) ** 2)))[..., None]
    c.img = Image.fromarray(out.clip(0, 255).astype(np.uint8))
    dpi = (300, 200)[rng.random() < 0.5]
    return _colour_scan(c, rng, dest, dpi, (72, 82), (255, 255, 255), f", {notes}")


NOTES = (
    "Chuyển P. Tài chính xử lý",
    "Đã xem - trình lãnh đạo",
    "Kính chuyển đ/c Hùng",
    "Gấp! Báo cáo trước 15/4",
    "Lưu hồ sơ",
    "Photo 3 bản gửi các xã",
    "Đồng ý",
    "Xem lại số liệu",
)


def _script_text(text: str, path: str) -> str:
    """Keep what the script font can draw (its missing tone marks dropped, as a hand might)."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(path).getBestCmap()
    out = []
    for ch in text:
        if ord(ch) not in cmap:
            ch = unicodedata.normalize("NFD", ch)[0].replace("đ", "d").replace("Đ", "D")
        out.append(ch)
    return "".join(out)


def add_handwriting(c: Canvas, rng: random.Random) -> str:
    """Blue-pen notes in the margins, underlines, a tick and a circled number."""
    blue = (25, 45, 150)
    path = SCRIPT_FONT if Path(SCRIPT_FONT).is_file() else FONT_FILES["DejaVu Serif"]["i"]
    s = c.style
    left = c.px(s.margins_mm[0])
    done = []
    places = rng.sample(("top", "left"), rng.randint(1, 2))
    for where in places:  # notes, slanted, in the top and left margins
        text = rng.choice(NOTES)
        font = _font(path, round(c.px(rng.uniform(4.5, 6.5))))
        text = _script_text(text, path)
        w = int(font.getlength(text)) + 20
        layer = Image.new("L", (w, font.size * 2), 0)
        ImageDraw.Draw(layer).text(
            (10, font.size * 0.3), text, font=font, fill=255, stroke_width=1, stroke_fill=255
        )
        angle = rng.uniform(-8, 8) + (90 if where == "left" else 0)
        layer = layer.rotate(angle, expand=True, resample=Image.BICUBIC)
        if where == "top":
            pos = (round(c.img.width * rng.uniform(0.35, 0.6)), round(c.px(rng.uniform(1, 4))))
        else:
            pos = (round(left * 0.15), round(c.img.height * rng.uniform(0.3, 0.55)))
        c.img.paste(blue, pos, layer)
        done.append(where)
    arr = np.asarray(c.img).copy()
    width = max(2, round(c.dpi / 110))
    body = [ln for ln in c.lines[len(c.lines) // 3 : -8]]
    for line in rng.sample(body, min(len(body), rng.randint(1, 3))):  # underlines
        y = line.y + line.size_px * 1.2
        xs = np.linspace(line.x, line.x + line.width * rng.uniform(0.4, 1.0), 30)
        ys = y + np.cumsum(np.random.default_rng(rng.randint(0, 999)).normal(0, 0.6, 30))
        cv2.polylines(
            arr, [np.stack([xs, ys], 1).astype(np.int32)], False, blue, width, cv2.LINE_AA
        )
    line = rng.choice(body)  # a tick and a circled number in the left margin
    x, y = left * 0.45, line.y + line.size_px * 0.5
    tick = np.array([[x - 20, y], [x - 5, y + 18], [x + 30, y - 25]], np.int32)
    cv2.polylines(arr, [tick], False, blue, width + 1, cv2.LINE_AA)
    cv2.ellipse(
        arr,
        (round(x + 10), round(y + c.px(9))),
        (round(c.px(3.5)), round(c.px(3))),
        0,
        0,
        340,
        blue,
        width,
        cv2.LINE_AA,
    )
    c.img = Image.fromarray(arr)
    d = ImageDraw.Draw(c.img)
    d.text(
        (x + 10 - c.px(1.2), y + c.px(9) - c.px(2.2)),
        str(rng.randint(1, 9)),
        font=_font(path, round(c.px(4.5))),
        fill=blue,
    )
    return f"notes in {'+'.join(done)} margin, underlines, tick"


# --------------------------------------------------------------------------- scanner text layer


def scanner_ocr_text(text: str, rng: random.Random) -> str:
    """What an OCR without Vietnamese writes: tone marks gone, đ→d, some letters confused."""
    plain = unicodedata.normalize("NFD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    plain = plain.replace("đ", "d").replace("Đ", "D")
    swaps = {"rn": "m", "cl": "d", "h": "li", "u": "ii", "o": "0", "l": "1", "e": "c", "a": "o"}
    out = []
    i = 0
    while i < len(plain):
        for a, b in swaps.items():
            if plain.startswith(a, i) and rng.random() < 0.05:
                out.append(b)
                i += len(a)
                break
        else:
            out.append(plain[i])
            i += 1
    return "".join(out).encode("cp1252", "replace").decode("cp1252")


def make_signed(c: Canvas, rng: random.Random, dest: Path, key_dir: Path):
    """Grey 300-dpi scan + the scanner's poor invisible text, then signed with pyHanko."""
    dpi = 300
    lines = list(c.lines)
    gray = np.asarray(c.img.convert("L"))
    skew = rng.uniform(-0.6, 0.6)
    arr = scanner(gray, rng, skew=skew, blur=0.7, noise=3, paper=(244,))
    quality = rng.randint(65, 80)
    jpg = dest.with_suffix(".jpg")
    jpg.write_bytes(_jpeg(Image.fromarray(arr), quality, dpi))
    unsigned = _pdf_from(jpg, dest.with_suffix(".unsigned.pdf"))
    layer = [(scanner_ocr_text(ln.text, rng), ln) for ln in lines]
    graft_text_layer(unsigned, layer, dpi)
    pdf = dest.with_suffix(".pdf")
    sign_with_throwaway(unsigned, pdf, key_dir)
    unsigned.unlink()
    existing = "\n".join(t for t, _ in layer)
    return pdf, jpg, float(dpi), f"skew {skew:+.1f}°, JPEG q{quality}, signed", existing


def graft_text_layer(pdf_path: Path, layer, dpi: int) -> None:
    """Add invisible (``3 Tr``) Helvetica text, line by line where the print is, like a scanner."""
    import pikepdf

    with pikepdf.open(pdf_path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        height = float(page.mediabox[3])
        font = pdf.make_indirect(
            pikepdf.Dictionary(
                Type=pikepdf.Name.Font,
                Subtype=pikepdf.Name.Type1,
                BaseFont=pikepdf.Name.Helvetica,
                Encoding=pikepdf.Name.WinAnsiEncoding,
            )
        )
        res = page.obj.Resources
        res.Font = pikepdf.Dictionary(F1=font)
        ops = ["BT", "3 Tr"]
        for text, ln in layer:
            size = ln.size_px * 72 / dpi
            x, y = ln.x * 72 / dpi, height - (ln.y + ln.size_px * 0.8) * 72 / dpi
            natural = 0.5 * size * max(1, len(text))  # Helvetica averages ~0.5 em
            scale = 100 * (ln.width * 72 / dpi) / natural
            safe = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"/F1 {size:.2f} Tf {scale:.1f} Tz 1 0 0 1 {x:.2f} {y:.2f} Tm")
            ops.append(f"({safe}) Tj")
        ops.append("ET")
        stream = "\n".join(ops).encode("cp1252", "replace")
        page.contents_add(pikepdf.Stream(pdf, stream), prepend=False)
        pdf.save(pdf_path)


def throwaway_key(key_dir: Path) -> tuple[Path, Path]:
    """A self-signed RSA key and certificate for this bench only (made once per folder)."""
    key_pem, cert_pem = key_dir / "throwaway.key.pem", key_dir / "throwaway.cert.pem"
    if key_pem.is_file() and cert_pem.is_file():
        return key_pem, cert_pem
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Văn thư (bench throwaway key)")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_dir.mkdir(parents=True, exist_ok=True)
    key_pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_pem, cert_pem


def sign_with_throwaway(src: Path, dest: Path, key_dir: Path) -> None:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    key_pem, cert_pem = throwaway_key(key_dir)
    signer = signers.SimpleSigner.load(str(key_pem), str(cert_pem))
    meta = signers.PdfSignatureMetadata(field_name="ChuKySo", reason="Ký số văn bản đi")
    with src.open("rb") as inp, dest.open("wb") as out:
        signers.sign_pdf(IncrementalPdfFileWriter(inp), meta, signer=signer, output=out)


# --------------------------------------------------------------------------- corpus


def make_page(kind: str, index: int, seed: int, out_dir: Path, key_dir: Path) -> RealPage:
    """Write page ``index`` of ``kind``: input file, scanner image, truth."""
    rng = random.Random(seed)
    families = fonts_available()
    family = families[(index + KINDS.index(kind)) % len(families)]
    doc = make_doc(rng)
    style = pick_style(rng, family)
    c = render(doc, style)
    truth = truth_of(c)
    extra = ""
    if kind != "yellowed + notes" or rng.random() < 0.5:
        extra = sign_and_stamp(
            c, doc, rng, seal_p=0.0 if kind == "signed, poor text layer" else 0.6
        )
    slug = re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")
    dest = out_dir / f"{KINDS.index(kind):02d}-{slug}-{index}"
    existing = ""
    if kind == "phone photo":
        path, image, dpi, detail = make_photo(c, rng, dest)
    elif kind == "bilevel 200 dpi":
        path, image, dpi, detail = make_bilevel(c, rng, dest)
    elif kind.startswith("colour"):
        path, image, dpi, detail = make_colour(int(kind.split()[1]))(c, rng, dest)
    elif kind == "yellowed + notes":
        path, image, dpi, detail = make_yellowed(c, rng, dest)
    else:
        path, image, dpi, detail, existing = make_signed(c, rng, dest, key_dir)
    dest.with_suffix(".txt").write_text(truth, encoding="utf-8")
    detail = f"{detail}{', ' + extra if extra else ''}"
    return RealPage(
        dest.name,
        kind,
        path,
        image,
        truth,
        dpi,
        kind != "phone photo",
        family,
        style.size_pt,
        doc.kind,
        detail,
        style.leading,
        existing,
    )


def make_corpus(
    out_dir: Path, pages_per_kind: int = 3, seed: int = 7100, kinds: tuple[str, ...] = KINDS
) -> list[RealPage]:
    """``pages_per_kind`` pages of every kind in ``out_dir``, in kind order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        make_page(kind, i, seed + 100 * KINDS.index(kind) + i, out_dir, out_dir / "keys")
        for kind in kinds
        for i in range(pages_per_kind)
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--pages-per-kind", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7100)
    args = parser.parse_args()
    for p in make_corpus(args.out_dir, args.pages_per_kind, args.seed):
        print(f"{p.path.name}\t{p.doc}\t{p.font} {p.size_pt} pt\t{p.dpi:.0f} dpi\t{p.detail}")
