"""The second reading: doubtful words read again alone, dropped lines recovered.

Real Tesseract throughout. The page readings are Tesseract's own TSV for a rendered page;
a misread or a dropped line is made by editing that TSV the way Tesseract's failures
look (a capital's tone mark lost with a low confidence; a whole line missing), so each
test fails if the second reading does not repair it.
"""

from __future__ import annotations

import copy

import numpy as np
import pytesseract
import pytest
from PIL import ImageDraw

from ocr.reread import doubtful_words, lost_lines, reread_page
from samples.synth import render_page
from schemas.settings import OcrSettings

LINES = [
    "ỦY BAN NHÂN DÂN TỈNH QUẢNG TRỊ",
    "Họ và tên người nộp: NGUYỄN THỊ THANH THƠ",
    "Địa chỉ: số 12 đường Lê Duẩn, phường 1, thành phố Đông Hà",
    "Nguyễn Hữu Mạnh",  # a signer's name: bold lower case under the signature (Decree 30)
    "Ghi chú: bản sao được cấp từ sổ đăng ký khai sinh.",
]
OPTS = OcrSettings()


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, dict]:
    """A rendered 300-dpi page in grey and Tesseract's reading of it."""
    image = np.array(render_page(LINES, dpi=300, font_size_pt=13).convert("L"))
    data = pytesseract.image_to_data(
        image, lang="vie", config="--psm 3 --dpi 300", output_type=pytesseract.Output.DICT
    )
    return image, data


def _words(data: dict) -> list[str]:
    return [
        str(t).strip()
        for t, lv in zip(data["text"], data["level"], strict=True)
        if int(lv) == 5 and str(t).strip()
    ]


def _row_of(data: dict, text: str) -> int:
    return next(i for i, t in enumerate(data["text"]) if str(t).strip() == text)


def test_page_reading_is_right_to_begin_with(page):
    _, data = page
    assert "NGUYỄN" in _words(data) and "Mạnh" in _words(data)


def test_doubtful_words_are_alphabetic_words_under_the_threshold():
    data = {
        "level": [4, 5, 5, 5, 5, 5],
        "text": ["", "NGUYÊN", "12/3", "a", "Trị", "tên:"],
        "conf": [-1, 52.0, 40.0, 10.0, 95.0, 70.0],
    }
    assert doubtful_words(data, 80) == [1, 5]
    assert doubtful_words(data, 60) == [1]


def test_a_lost_tone_mark_is_read_back(page):
    image, data = page
    misread = copy.deepcopy(data)
    row = _row_of(misread, "NGUYỄN")
    misread["text"][row], misread["conf"][row] = "NGUYÊN", 40.0
    fixed = reread_page(image, misread, OcrSettings(recover_lines=False), 300)
    assert fixed["text"][row] == "NGUYỄN"
    assert float(fixed["conf"][row]) > 40.0


def test_a_different_word_is_never_substituted(page):
    """The second reading may fix marks and case, not letters: "NGUYEM" stays as read."""
    image, data = page
    misread = copy.deepcopy(data)
    row = _row_of(misread, "NGUYỄN")
    misread["text"][row], misread["conf"][row] = "NGUYEM", 40.0
    fixed = reread_page(image, misread, OcrSettings(recover_lines=False), 300)
    assert fixed["text"][row] == "NGUYEM"


def test_a_dropped_line_is_recovered_in_reading_order(page):
    image, data = page
    dropped = copy.deepcopy(data)
    last = _row_of(dropped, "Mạnh")
    gone = {last - 2, last - 1, last}  # the words of that line are consecutive rows
    assert [str(dropped["text"][i]).strip() for i in sorted(gone)] == ["Nguyễn", "Hữu", "Mạnh"]
    keep = [i for i in range(len(dropped["level"])) if i not in gone]
    dropped = {k: [v[i] for i in keep] for k, v in dropped.items()}
    assert "Mạnh" not in _words(dropped)

    recovered = reread_page(image, dropped, OPTS, 300)
    words = _words(recovered)
    at = words.index("Mạnh")
    assert words[at - 2 : at + 1] == ["Nguyễn", "Hữu", "Mạnh"]
    assert words.index("Đông") < at < words.index("Ghi")  # between the lines above and below


def test_a_signature_scribble_is_not_read_as_text(page):
    _, data = page
    pil = render_page(LINES, dpi=300, font_size_pt=13)
    draw = ImageDraw.Draw(pil)
    # A flourish one text line high: shaped like a line of ink, so it reaches the second
    # reading, and must be turned away there (no confident text in it).
    xs = range(1400, 1900, 18)
    draw.line([(x, 3000 + (18 if n % 2 else -18)) for n, x in enumerate(xs)], fill="navy", width=5)
    scribbled = np.array(pil.convert("L"))
    assert any(2950 < c.top < 3050 for c in lost_lines(scribbled, data))
    before = _words(data)
    after = _words(reread_page(scribbled, copy.deepcopy(data), OcrSettings(reread_below=0), 300))
    assert after == before


def test_nothing_is_recovered_where_every_line_was_read(page):
    image, data = page
    assert lost_lines(image, data) == []
