"""Synthetic scans of Vietnamese administrative documents whose true text is known.

Why: the demo command, the tests and the benchmarks all need realistic scans
(skewed, noisy, JPEG-compressed, with red seals and dark scanner borders)
together with the exact text printed on them, so OCR quality can be measured
as a character error rate (:func:`cer`) instead of eyeballed.

Everything here is deterministic for a given ``seed``.
"""

from __future__ import annotations

import io
import math
import os
import random
import re
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import pikepdf
from PIL import Image, ImageDraw, ImageFont

VIETNAMESE_LINES: tuple[str, ...] = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Mã hồ sơ: 000.00.06.H56-231027-0361",
    "Họ và tên người nộp: Nguyễn Thị Hồng Đào",
    "Địa chỉ: số 12 đường Lê Lợi, phường Đông Hà, tỉnh Quảng Trị",
    "Nội dung yêu cầu: Đăng ký khai sinh",
    "Số điện thoại liên hệ: 0912 345 678",
    "Thư điện tử: hongdao.nguyen@example.vn",
    "Số giấy tờ tùy thân: 045187002319 do Cục Cảnh sát cấp ngày 15/03/2021",
    "Bộ phận Tiếp nhận và Trả kết quả Ủy ban nhân dân phường Đông Hà",
    "Tiếp nhận hồ sơ của ông (bà): Trần Văn Hưởng",
    "Thành phần hồ sơ gồm có:",
    "1. Tờ khai đăng ký khai sinh theo mẫu quy định (bản chính).",
    "2. Giấy chứng sinh do cơ sở y tế cấp (bản chính).",
    "3. Giấy chứng nhận kết hôn của cha, mẹ (bản sao có chứng thực).",
    "4. Căn cước công dân của người đi đăng ký (xuất trình bản chính).",
    "Số lượng hồ sơ: 01 (bộ)",
    "Thời gian giải quyết hồ sơ theo quy định là: 03 ngày làm việc.",
    "Thời gian nhận hồ sơ: 08 giờ 30 phút, ngày 27 tháng 10 năm 2023.",
    "Thời gian trả kết quả giải quyết hồ sơ: 14 giờ 00 phút, ngày 31 tháng 10 năm 2023.",
    "Vào Sổ theo dõi hồ sơ, Quyển số: 05, Số thứ tự: 361.",
    "Người nộp hồ sơ ký và ghi rõ họ tên.",
    "Người tiếp nhận hồ sơ: Lê Thị Mỹ Duyên",
    "Ghi chú: Kết quả được trả tại Bộ phận Một cửa hoặc qua dịch vụ bưu chính công ích.",
    "TỜ KHAI ĐĂNG KÝ KHAI SINH",
    "Kính gửi: Ủy ban nhân dân phường Đông Hà, thành phố Đông Hà",
    "Quan hệ với người được khai sinh: Mẹ đẻ",
    "Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:",
    "Họ, chữ đệm, tên: Phạm Ngọc Bảo Trâm",
    (
        "Ngày, tháng, năm sinh: 20/10/2023, ghi bằng chữ: "
        "Ngày hai mươi tháng mười năm hai nghìn không trăm hai mươi ba"
    ),
    "Giới tính: Nữ. Dân tộc: Kinh. Quốc tịch: Việt Nam",
    "Nơi sinh: Bệnh viện Đa khoa tỉnh Quảng Trị",
    "Quê quán: xã Triệu Thượng, huyện Triệu Phong, tỉnh Quảng Trị",
    "Họ, chữ đệm, tên người mẹ: Nguyễn Thị Hồng Đào. Năm sinh: 1996",
    "Họ, chữ đệm, tên người cha: Phạm Quốc Huy. Năm sinh: 1993",
    "Nơi cư trú: khu phố 4, phường Đông Lễ, thành phố Đông Hà",
    "Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật.",
    "Tôi chịu trách nhiệm trước pháp luật về cam đoan của mình.",
    "Làm tại: phường Đông Hà, ngày 27 tháng 10 năm 2023",
    "Người yêu cầu (ký, ghi rõ họ, chữ đệm, tên)",
    "QUYẾT ĐỊNH",
    "Về việc cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở",
    "CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN HẢI LĂNG",
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật Đất đai ngày 29 tháng 11 năm 2013;",
    "Căn cứ Nghị định số 43/2014/NĐ-CP ngày 15 tháng 5 năm 2014 của Chính phủ;",
    "Xét đề nghị của Trưởng phòng Tài nguyên và Môi trường huyện,",
    "Điều 1. Cấp Giấy chứng nhận cho hộ ông Hoàng Đức Thịnh và bà Võ Thị Yến.",
    "Thửa đất số 215, tờ bản đồ số 18, diện tích 312,5 m² tại thôn Mỹ Thủy.",
    "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
    "Điều 3. Chánh Văn phòng HĐND và UBND huyện chịu trách nhiệm thi hành.",
    "Nơi nhận: Như Điều 3; Lưu: VT, TNMT.",
    "TM. ỦY BAN NHÂN DÂN, KT. CHỦ TỊCH, PHÓ CHỦ TỊCH",
    "Phí, lệ phí: 8.000 đồng (Tám nghìn đồng chẵn).",
    "Đã thu đủ lệ phí theo Biên lai số 0004521 ngày 27/10/2023.",
    "Hồ sơ đã được số hóa và lưu trữ điện tử theo Nghị định số 45/2020/NĐ-CP.",
    "Yêu cầu bổ sung: Bản sao Sổ hộ khẩu hoặc xác nhận thông tin về cư trú.",
    "Lý do chậm trễ: chờ ý kiến của cơ quan chuyên môn cấp tỉnh.",
    "Ông Ngô Xuân Lưỡng, ấp Tân Mỹ, xã Hướng Hóa, đề nghị trích lục bản sao.",
    "Bà Đặng Thị Tuyết Nhung, thôn Lệ Xuyên, xác nhận tình trạng hôn nhân.",
    "Kỹ sư Lữ Khắc Quỳnh phụ trách thẩm định hồ sơ xây dựng nhà ở riêng lẻ.",
)
"""Pool of administrative sentences covering đ/Đ, ư, ơ and every tone mark."""

PAPER_MM: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}
"""Portrait paper sizes (width, height) in millimetres."""

_FONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
)
_GLYPH_PROBE = "ĐđƯưƠơẦầỄễỴỵỹẫậặồộờợừựỳ"
_LINE_SPACING = 1.6
_INK = (20, 20, 25)


def sample_lines(seed: int, n: int) -> list[str]:
    """Pick ``n`` distinct lines (repeating only when ``n`` exceeds the pool), deterministically."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        pool = list(VIETNAMESE_LINES)
        rng.shuffle(pool)
        out.extend(pool[: n - len(out)])
    return out


def _has_glyphs(font: ImageFont.FreeTypeFont, text: str) -> bool:
    """True when no character of ``text`` renders as the font's missing-glyph box."""

    def bitmap(ch: str) -> bytes:
        canvas = Image.new("L", (font.size * 2, font.size * 2), 0)
        ImageDraw.Draw(canvas).text((0, 0), ch, font=font, fill=255)
        return canvas.tobytes()

    notdef = bitmap("\ue000")
    return all(bitmap(ch) != notdef for ch in text)


@lru_cache(maxsize=32)
def _load_font(font_path: str | None, size_px: int) -> ImageFont.FreeTypeFont:
    """Open ``font_path`` or the first installed font able to draw Vietnamese."""
    candidates = (font_path,) if font_path else _FONT_CANDIDATES
    for path in candidates:
        if path is None or not Path(path).is_file():
            continue
        font = ImageFont.truetype(path, size_px)
        if font_path or _has_glyphs(font, _GLYPH_PROBE):
            return font
    raise FileNotFoundError(f"no usable font among {candidates}")


def _wrap(text: str, font: ImageFont.FreeTypeFont, width_px: float) -> list[str]:
    """Greedy word wrap so every returned line fits ``width_px``."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if current and font.getlength(trial) > width_px:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines


def _is_heading(line: str) -> bool:
    """Headings (all capitals, or the national motto) are centred, as on real forms."""
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and (all(c.isupper() for c in letters) or line.startswith("Độc lập"))


def render_page_with_truth(
    lines: Sequence[str],
    *,
    dpi: int = 300,
    font_path: str | None = None,
    font_size_pt: float = 12.0,
    margin_mm: float = 20,
    paper: str = "A4",
    seed: int = 0,
) -> tuple[Image.Image, str]:
    """Render ``lines`` on a white page and return it with the text as laid out.

    Long lines are wrapped to the text width; lines that no longer fit on the
    page are dropped (and are absent from the truth). The truth is the drawn
    lines joined by ``"\\n"``, NFC-normalised, ready for :func:`cer`.

    Args:
        lines: sentences to print, one paragraph each.
        dpi: output resolution; the page is ``paper`` at this resolution.
        font_path: TrueType font; ``None`` picks DejaVu Sans (Noto as fall-back).
        font_size_pt: type size in points.
        margin_mm: margin on every side.
        paper: key of :data:`PAPER_MM`.
        seed: varies the small left-indent jitter of body lines.
    """
    width_mm, height_mm = PAPER_MM[paper]
    size = (round(width_mm / 25.4 * dpi), round(height_mm / 25.4 * dpi))
    margin = round(margin_mm / 25.4 * dpi)
    font = _load_font(font_path, max(6, round(font_size_pt / 72 * dpi)))
    step = font.size * _LINE_SPACING
    page = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(page)
    rng = random.Random(seed)
    text_width = size[0] - 2 * margin
    drawn: list[str] = []
    y = float(margin)
    for paragraph in lines:
        for line in _wrap(unicodedata.normalize("NFC", paragraph), font, text_width):
            if y + step > size[1] - margin:
                break
            if _is_heading(line):
                x = margin + (text_width - font.getlength(line)) / 2
            else:
                x = margin + rng.uniform(0, 0.01 * dpi)
            draw.text((x, y), line, font=font, fill=_INK)
            drawn.append(line)
            y += step
    return page, "\n".join(drawn)


def render_page(
    lines: Sequence[str],
    *,
    dpi: int = 300,
    font_path: str | None = None,
    font_size_pt: float = 12.0,
    margin_mm: float = 20,
    paper: str = "A4",
    seed: int = 0,
) -> Image.Image:
    """Render ``lines`` on a white RGB page; see :func:`render_page_with_truth` for options."""
    page, _ = render_page_with_truth(
        lines,
        dpi=dpi,
        font_path=font_path,
        font_size_pt=font_size_pt,
        margin_mm=margin_mm,
        paper=paper,
        seed=seed,
    )
    return page


def _seal_layer(size_px: int, text: str, font: ImageFont.FreeTypeFont, ring: int) -> Image.Image:
    """Draw a stamp (two rings, text around, a star) as an ``L`` ink-coverage mask."""
    mask = Image.new("L", (size_px, size_px), 0)
    draw = ImageDraw.Draw(mask)
    r = size_px / 2
    draw.ellipse((ring, ring, size_px - ring, size_px - ring), outline=255, width=ring)
    inner = r * 0.62
    draw.ellipse((r - inner, r - inner, r + inner, r + inner), outline=255, width=max(1, ring // 2))
    text_r = (r + inner) / 2
    for i, ch in enumerate(text):
        angle = 2 * math.pi * i / len(text) - math.pi / 2
        glyph = Image.new("L", (font.size * 2, font.size * 2), 0)
        ImageDraw.Draw(glyph).text((font.size, font.size), ch, font=font, fill=255, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
        cx, cy = r + text_r * math.cos(angle), r + text_r * math.sin(angle)
        mask.paste(255, (round(cx - font.size), round(cy - font.size)), glyph)
    star = [
        (
            r + inner * 0.5 * (1 if k % 2 == 0 else 0.4) * math.cos(math.pi * k / 5 - math.pi / 2),
            r + inner * 0.5 * (1 if k % 2 == 0 else 0.4) * math.sin(math.pi * k / 5 - math.pi / 2),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=255)
    return mask


def add_red_seal(
    img: Image.Image,
    *,
    center: tuple[int, int] | None = None,
    radius_mm: float = 20,
    dpi: int = 300,
    seed: int = 0,
    text: str = "ỦY BAN NHÂN DÂN PHƯỜNG ĐÔNG HÀ * ",
) -> Image.Image:
    """Return an RGB copy of ``img`` with a semi-transparent red round seal stamped on it.

    The ink is multiplied onto the page, like real stamp ink over toner, so the
    text underneath stays visible. ``center`` defaults to a seeded spot in the
    lower right quarter, over the signature area.
    """
    rng = random.Random(seed)
    radius = round(radius_mm / 25.4 * dpi)
    if center is None:
        center = (
            round(img.width * rng.uniform(0.6, 0.75)),
            round(img.height * rng.uniform(0.55, 0.8)),
        )
    font = _load_font(None, max(8, radius // 6))
    mask = _seal_layer(2 * radius, text, font, ring=max(2, radius // 18))
    mask = mask.rotate(rng.uniform(0, 360), resample=Image.Resampling.BICUBIC)
    alpha = np.asarray(mask, dtype=np.float32)[..., None] / 255.0 * rng.uniform(0.6, 0.8)
    page = np.asarray(img.convert("RGB"), dtype=np.float32).copy()
    x0, y0 = center[0] - radius, center[1] - radius
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(page.shape[1], x0 + 2 * radius), min(page.shape[0], y0 + 2 * radius)
    a = alpha[ys - y0 : ye - y0, xs - x0 : xe - x0]
    red = np.array([215, 30, 40], dtype=np.float32) / 255.0
    page[ys:ye, xs:xe] *= 1.0 - a * (1.0 - red)
    return Image.fromarray(np.clip(page, 0, 255).astype(np.uint8), "RGB")


def add_uneven_light(
    img: Image.Image, *, strength: float = 0.4, shadow: float = 0.5, seed: int = 0
) -> Image.Image:
    """Return a copy lit unevenly, so no single global threshold separates ink from paper.

    The page is multiplied by a linear fall-off in a seeded direction (the far
    side is ``strength`` darker) and by a soft shadow band about 6 % of the
    page wide (``shadow`` darker at its centre), like a lid gap or a book spine.
    """
    rng, arr = random.Random(seed), np.asarray(img, dtype=np.float32)
    xs, ys = np.linspace(0, 1, arr.shape[1])[None, :], np.linspace(0, 1, arr.shape[0])[:, None]
    angle = rng.uniform(0, 2 * math.pi)
    ramp = xs * math.cos(angle) + ys * math.sin(angle)
    field = 1.0 - strength * (ramp - ramp.min()) / max(1e-6, float(np.ptp(ramp)))
    band = (xs if rng.random() < 0.5 else ys) - rng.uniform(0.15, 0.85)
    field = field * (1.0 - shadow * np.exp(-((band / 0.03) ** 2)))
    out = arr * (field[..., None] if arr.ndim == 3 else field)
    return Image.fromarray(np.clip(out, 0, 255).round().astype(np.uint8), img.mode)


def add_punch_holes(img: Image.Image, *, dpi: int = 300, seed: int = 0) -> Image.Image:
    """Return a copy with two dark filing holes (6 mm, 80 mm apart) near the left edge."""
    rng, mm = random.Random(seed), dpi / 25.4
    out, r, x = img.copy(), 3 * mm, rng.uniform(9, 14) * mm
    y0 = img.height / 2 - 40 * mm + rng.uniform(-5, 5) * mm
    for k in range(2):  # the scanner lid shows through dark
        box = (x - r, y0 + k * 80 * mm - r, x + r, y0 + k * 80 * mm + r)
        ImageDraw.Draw(out).ellipse(box, fill=30 if img.mode == "L" else (30, 30, 30))
    return out


def turn_page(img: Image.Image, quarter_turns: int) -> Image.Image:
    """Return the page turned counter-clockwise by 90° x ``quarter_turns`` (lossless)."""
    return img.rotate(90 * (quarter_turns % 4), expand=True)


def _add_borders(arr: np.ndarray, border_px: int, rng: np.random.Generator) -> None:
    """Darken uneven strips along the edges in place, like a lid-open flatbed scan."""
    h, w = arr.shape[:2]
    for side in range(4):
        length = w if side < 2 else h
        depth = np.clip(
            border_px * (1 + 0.3 * np.sin(np.linspace(0, rng.uniform(2, 6), length))), 1, None
        ).astype(int)
        level = rng.uniform(15, 60)
        for i in range(0, length, 8):
            d = int(depth[i])
            if side == 0:
                arr[:d, i : i + 8] = level
            elif side == 1:
                arr[h - d :, i : i + 8] = level
            elif side == 2:
                arr[i : i + 8, :d] = level
            else:
                arr[i : i + 8, w - d :] = level


def degrade(
    img: Image.Image,
    *,
    skew_deg: float = 0.0,
    blur_sigma: float = 0.0,
    noise: float = 0.0,
    jpeg_quality: int | None = None,
    border_px: int = 0,
    seed: int = 0,
) -> Image.Image:
    """Make a clean render look scanned, deterministically per ``seed``.

    Args:
        img: the page (RGB or L); the mode is kept.
        skew_deg: rotation of the content, positive = counter-clockwise on
            screen (PIL and OpenCV convention); corners are filled white and
            the size is kept. :func:`ocr.clean.estimate_skew` returns ``-skew_deg``.
        blur_sigma: Gaussian blur sigma in pixels (defocus, cheap optics).
        noise: strength in [0, 1]: Gaussian noise with sigma ``64 * noise``
            grey levels plus salt-and-pepper on ``2 % * noise`` of the pixels.
        jpeg_quality: if set, a JPEG encode/decode round trip at this quality.
        border_px: typical width of dark scanner borders on all four edges.
        seed: seeds every random choice.
    """
    rng = np.random.default_rng(seed % 2**64)
    mode = img.mode if img.mode in ("RGB", "L") else "RGB"
    arr = np.asarray(img.convert(mode), dtype=np.float32)
    if skew_deg:
        h, w = arr.shape[:2]
        matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), skew_deg, 1.0)
        fill = (255.0,) * (3 if arr.ndim == 3 else 1)
        arr = cv2.warpAffine(arr, matrix, (w, h), flags=cv2.INTER_CUBIC, borderValue=fill)
    else:
        arr = arr.copy()
    if blur_sigma > 0:
        arr = cv2.GaussianBlur(arr, (0, 0), blur_sigma)
    if noise > 0:
        gauss = rng.standard_normal(arr.shape[:2], dtype=np.float32) * np.float32(64.0 * noise)
        arr += gauss[..., None] if arr.ndim == 3 else gauss
        hit = rng.random(arr.shape[:2]) < 0.02 * noise
        salt = rng.random(arr.shape[:2]) < 0.5
        arr[hit & salt] = 255
        arr[hit & ~salt] = 0
    if border_px > 0:
        _add_borders(arr, border_px, rng)
    out = Image.fromarray(np.clip(arr, 0, 255).round().astype(np.uint8), mode)
    if jpeg_quality is not None:
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=jpeg_quality)
        out = Image.open(io.BytesIO(buf.getvalue())).convert(mode)
    return out


def _atomic_write(path: Path, writer: Callable[[Path], None]) -> None:
    """Let ``writer`` fill a temporary file beside ``path``, then rename it into place.

    Why: a watcher or a crash must never see a half-written scan.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jpeg_bytes(img: Image.Image, dpi: int, quality: int) -> tuple[bytes, str]:
    """Encode a page as baseline JPEG and name its PDF colour space."""
    gray = img.mode in ("L", "1")
    buf = io.BytesIO()
    img.convert("L" if gray else "RGB").save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    return buf.getvalue(), "/DeviceGray" if gray else "/DeviceRGB"


def write_pdf(
    path: Path, pages: Sequence[Image.Image], *, dpi: int = 300, jpeg_quality: int = 85
) -> None:
    """Write an image-only PDF the way a document scanner does.

    Each page holds exactly one DCTDecode (JPEG) image XObject ``/Im0`` that
    fills the page; the page measures ``pixels / dpi * 72`` points, so the
    pipeline can recover the scan resolution and pass the JPEG through untouched.
    """
    pdf = pikepdf.Pdf.new()
    for img in pages:
        data, colour_space = _jpeg_bytes(img, dpi, jpeg_quality)
        w_pt, h_pt = img.width / dpi * 72, img.height / dpi * 72
        image = pikepdf.Stream(pdf, data)
        image.Type = pikepdf.Name.XObject
        image.Subtype = pikepdf.Name.Image
        image.Width, image.Height = img.width, img.height
        image.ColorSpace = pikepdf.Name(colour_space)
        image.BitsPerComponent = 8
        image.Filter = pikepdf.Name.DCTDecode
        content = pikepdf.Stream(pdf, f"q {w_pt:.4f} 0 0 {h_pt:.4f} 0 0 cm /Im0 Do Q".encode())
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, round(w_pt, 4), round(h_pt, 4)],
            Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
            Contents=content,
        )
        pdf.pages.append(pikepdf.Page(pdf.make_indirect(page)))
    _atomic_write(Path(path), lambda tmp: pdf.save(tmp))


def write_tiff(path: Path, pages: Sequence[Image.Image], *, dpi: int = 300) -> None:
    """Write a multi-page Deflate-compressed TIFF carrying the resolution tag."""
    first, *rest = list(pages)
    _atomic_write(
        Path(path),
        lambda tmp: first.save(
            tmp,
            "TIFF",
            save_all=True,
            append_images=rest,
            compression="tiff_deflate",
            dpi=(dpi, dpi),
        ),
    )


def write_jpeg(path: Path, img: Image.Image, *, dpi: int = 300, quality: int = 90) -> None:
    """Write one page as a JPEG with its resolution in the JFIF header."""
    _atomic_write(
        Path(path),
        lambda tmp: img.convert("RGB").save(tmp, "JPEG", quality=quality, dpi=(dpi, dpi)),
    )


def write_png(path: Path, img: Image.Image, *, dpi: int = 300) -> None:
    """Write one page as a PNG with its resolution in the pHYs chunk."""
    _atomic_write(Path(path), lambda tmp: img.save(tmp, "PNG", dpi=(dpi, dpi)))


def make_demo_batch(out_dir: Path, seed: int = 0) -> list[Path]:
    """Write a small, varied batch of scans for the demo and return their paths.

    The batch: a 3-page image-only PDF (receipt with a red seal, application
    form, decision) with mild skew and noise; a 2-page greyscale TIFF; and one
    200-dpi JPEG photo-like scan that exercises upscaling.
    """
    out_dir = Path(out_dir)
    receipt = list(VIETNAMESE_LINES[:25])
    form = list(VIETNAMESE_LINES[25:41])
    decision = list(VIETNAMESE_LINES[41:54])
    pdf_pages = [
        degrade(
            add_red_seal(render_page(receipt, seed=seed), seed=seed),
            skew_deg=1.2,
            noise=0.08,
            border_px=12,
            seed=seed,
        ),
        degrade(render_page(form, seed=seed + 1), skew_deg=-0.8, noise=0.05, seed=seed + 1),
        degrade(
            add_red_seal(render_page(decision, seed=seed + 2), seed=seed + 2),
            skew_deg=2.0,
            noise=0.05,
            seed=seed + 2,
        ),
    ]
    tiff_pages = [
        degrade(
            render_page(sample_lines(seed + 3, 18), seed=seed + 3),
            skew_deg=-1.5,
            noise=0.1,
            seed=seed + 3,
        ).convert("L"),
        degrade(
            render_page(sample_lines(seed + 4, 12), seed=seed + 4),
            skew_deg=0.6,
            noise=0.1,
            seed=seed + 4,
        ).convert("L"),
    ]
    photo = degrade(
        render_page(sample_lines(seed + 5, 15), dpi=200, seed=seed + 5),
        skew_deg=3.0,
        blur_sigma=0.6,
        noise=0.06,
        seed=seed + 5,
    )
    paths = [out_dir / "ho-so-tiep-nhan.pdf", out_dir / "to-khai.tiff", out_dir / "quyet-dinh.jpg"]
    write_pdf(paths[0], pdf_pages, dpi=300, jpeg_quality=80)
    write_tiff(paths[1], tiff_pages, dpi=300)
    write_jpeg(paths[2], photo, dpi=200, quality=85)
    return paths


def normalise_text(text: str) -> str:
    """NFC-normalise and collapse all whitespace runs to one space, so layout does not count."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), vectorised per row.

    Why numpy: pages have thousands of characters and a pure-Python double
    loop takes seconds. Insertions within a row are resolved with the identity
    ``cur[j] = j + min_{k<=j}(tmp[k] - k)`` via a cumulative minimum.
    """
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    idx = np.arange(len(b) + 1, dtype=np.int64)
    prev = idx.copy()
    for i, ch in enumerate(a, start=1):
        sub = prev[:-1] + (codes_b != ord(ch))
        tmp = np.empty_like(prev)
        tmp[0] = i
        tmp[1:] = np.minimum(prev[1:] + 1, sub)
        prev = idx + np.minimum.accumulate(tmp - idx)
    return int(prev[-1])


def cer(truth: str, hyp: str) -> float:
    """Character error rate: edit distance / length of the truth, on normalised text."""
    t, h = normalise_text(truth), normalise_text(hyp)
    if not t:
        return 0.0 if not h else 1.0
    return levenshtein(t, h) / len(t)


def wer(truth: str, hyp: str) -> float:
    """Word error rate: word-level edit distance / number of truth words, on normalised text."""
    t, h = normalise_text(truth).split(), normalise_text(hyp).split()
    codes: dict[str, int] = {}
    t_chars, h_chars = (
        "".join(chr(0xF0000 + codes.setdefault(w, len(codes))) for w in ws) for ws in (t, h)
    )
    return levenshtein(t_chars, h_chars) / len(t) if t else float(bool(h))
