"""Lines under a seal on a 1-bit scan, and pen notes in the margins.

Real Tesseract throughout. On a black-and-white scan a seal cannot be removed by its
colour: its rings run through the signer's title and name, and the lines plus the rings
are one inked region several lines tall, which the search for lost lines used to turn
away (:func:`ocr.seals.line_bands`, :func:`ocr.seals.erase_rings`). Pen notes in the
top and left margins are read with confidence, so the noise filter kept them
(:func:`ocr.noise.margin_notes`).
"""

from __future__ import annotations

import numpy as np
import pytesseract
from conftest import RESIDENCE_LETTER
from PIL import Image, ImageDraw, ImageFont

from ocr.engine import ocr_page
from ocr.noise import margin_notes
from ocr.reread import lost_lines, reread_page
from samples.synth import cer, render_page, render_page_with_truth
from schemas.models import PageImage
from schemas.settings import OcrSettings

LINES = [
    "ỦY BAN NHÂN DÂN TỈNH QUẢNG TRỊ",
    "Họ và tên người nộp: NGUYỄN THỊ THANH THƠ",
    "Địa chỉ: số 12 đường Lê Duẩn, phường 1, thành phố Đông Hà",
    "Ghi chú: bản sao được cấp từ sổ đăng ký khai sinh.",
]
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
SCRIPT = "/usr/share/fonts/opentype/urw-base35/Z003-MediumItalic.otf"
SEALED_FROM = 850
"""Page row where the signature block starts on the sealed page."""


def _sealed_page() -> np.ndarray:
    """A 200-dpi 1-bit page: four lines of print, then the title and the signer's name
    in bold with a seal's two rings through both."""
    pil = render_page(LINES, dpi=200, font_size_pt=12)
    draw = ImageDraw.Draw(pil)
    bold = ImageFont.truetype(BOLD, 36)
    draw.text((1000, 1000), "GIÁM ĐỐC", font=bold, fill="black")
    draw.text((900, 1120), "Nguyễn Hữu Mạnh", font=bold, fill="black")
    draw.ellipse((830, 900, 1190, 1260), outline="black", width=5)
    draw.ellipse((870, 940, 1150, 1220), outline="black", width=3)
    grey = np.asarray(pil.convert("L"))
    return np.where(grey < 128, 0, 255).astype(np.uint8)


def _words(data: dict) -> list[str]:
    return [str(t).strip() for t in data["text"] if str(t).strip()]


def test_the_title_under_a_seal_on_a_1_bit_scan_is_recovered() -> None:
    """The signature block is taken out of Tesseract's reading (it fails on it on real
    1-bit scans); the second reading must find the title's line inside the seal."""
    image = _sealed_page()
    data = pytesseract.image_to_data(
        image, lang="vie", config="--psm 3 --dpi 200", output_type=pytesseract.Output.DICT
    )
    keep = [i for i in range(len(data["level"])) if int(data["top"][i]) < SEALED_FROM]
    data = {k: [v[i] for i in keep] for k, v in data.items()}
    assert "ĐỐC" not in _words(data)

    assert any(c.replaces and 990 < c.top < 1040 for c in lost_lines(image, data))
    opts = OcrSettings(reread_below=0, split_blocks=False, retone_words=False)
    words = _words(reread_page(image, data, opts, 200))
    at = words.index("ĐỐC")
    assert words[at - 1 : at + 1] == ["GIÁM", "ĐỐC"]
    assert words.index("sinh.") < at  # after the print above it


def _noted_page(tmp_path) -> tuple[PageImage, str]:
    """A 200-dpi page of print with black-pen notes in the top and the left margin."""
    lines = RESIDENCE_LETTER
    img, truth = render_page_with_truth(lines, dpi=200, font_size_pt=12, margin_mm=30)
    pen = ImageFont.truetype(SCRIPT, 52)
    ImageDraw.Draw(img).text((700, 40), "Kinh chuyen d/c Hung", font=pen, fill=(30, 30, 30))
    layer = Image.new("L", (700, 110), 0)
    ImageDraw.Draw(layer).text((10, 15), "Da xem - trinh", font=pen, fill=255)
    img.paste((30, 30, 30), (30, 500), layer.rotate(90, expand=True))
    path = tmp_path / "noted.png"
    img.save(path)
    record = PageImage(
        index=0,
        path=str(path),
        source="noted.png",
        source_page=0,
        width=img.width,
        height=img.height,
        dpi=200.0,
        mode="RGB",
        encoding="png",
    )
    return record, truth


def test_pen_notes_in_the_margins_are_not_read_as_text(tmp_path) -> None:
    record, truth = _noted_page(tmp_path)
    kept = ocr_page(record, OcrSettings())
    every = ocr_page(record, OcrSettings(drop_margin_notes=False))
    assert cer(truth, kept.text) < cer(truth, every.text)
    assert cer(truth, kept.text) == 0.0


def _box(left: float, top: float, height: float = 40.0) -> tuple[float, float, float, float]:
    return (left, top, 100.0, height)


def test_margin_words_are_notes_only_when_unlike_print() -> None:
    """Print starts at the lines with two sure words; outside it, a sure word of the
    print's size that is a syllable, an abbreviation or a number stays (a page number)."""
    body = [(f"chữ{n}", 95.0, _box(300 + 120 * (n % 5), 400 + 60 * (n // 5))) for n in range(15)]
    body = [("dân", c, b) for _, c, b in body]
    lines = [n // 5 for n in range(15)]
    margin = [
        ("s0", 94.0, _box(40, 700)),  # left of the print: no syllable
        ("trình", 82.0, _box(40, 800, 90)),  # left, twice the print's height
        ("đ/c", 63.0, _box(700, 100)),  # above the print, doubted
        ("12", 95.0, _box(700, 100)),  # above: a number of the print's size
        ("Hà", 96.0, _box(40, 900)),  # left: a syllable of the print's size
        ("ký", 60.0, _box(900, 2000)),  # below the print: the signer's block, kept
    ]
    flags = margin_notes(body + margin, lines + [10, 11, 12, 12, 13, 14])
    assert flags == [False] * 15 + [True, True, True, False, False, False]


def test_rings_are_looked_for_only_at_a_seals_size() -> None:
    """A seal is 5-7 text lines in radius; a circle as wide as the page (a table's rounded
    frame, a page-wide region searched for rings) is not one, and is not looked for
    (which cost up to 3 s a page on receipts with a QR code and a signature block)."""
    import cv2

    from ocr import seals

    line_h = 20
    seal, huge = np.zeros((800, 800), np.uint8), np.zeros((1800, 1800), np.uint8)
    cv2.circle(seal, (400, 400), 6 * line_h, 255, 4)
    cv2.circle(huge, (900, 900), 40 * line_h, 255, 4)
    assert seals._hough_centres(seal, line_h)  # a seal-sized ring is found
    assert seals._ring_radii(huge, line_h) is None
