"""The second reading: doubtful words read again alone, dropped lines recovered.

Real Tesseract throughout. The page readings are Tesseract's own TSV for a rendered page;
a misread or a dropped line is made by editing that TSV the way Tesseract's failures
look (a capital's tone mark lost with a low confidence; a whole line missing), so each
test fails if the second reading does not repair it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np
import pytesseract
import pytest
from conftest import rendered_and_read
from PIL import ImageDraw

import ocr.reread
from ocr.orient import label_components
from ocr.reread import (
    MOST_EVIDENCE,
    _inked_regions,
    _row_crop,
    better_reading,
    doubtful_words,
    evidence,
    lost_lines,
    read_crops,
    reread_page,
)
from samples.synth import cer, degrade, render_page, render_page_with_truth
from schemas.settings import OcrSettings

LINES = [
    "ỦY BAN NHÂN DÂN TỈNH QUẢNG TRỊ",
    "Họ và tên người nộp: NGUYỄN THỊ THANH THƠ",
    "Địa chỉ: số 12 đường Lê Duẩn, phường 1, thành phố Đông Hà",
    "Nguyễn Hữu Mạnh",  # a signer's name: bold lower case under the signature (Decree 30)
    "Ghi chú: bản sao được cấp từ sổ đăng ký khai sinh.",
]
OPTS = OcrSettings()
DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


@pytest.fixture(scope="module")
def page() -> tuple[np.ndarray, dict]:
    """A rendered 300-dpi page in grey and Tesseract's reading of it."""
    return rendered_and_read(LINES)


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


# --------------------------------------------------------------------------- evidence, not confidence

OFFICE_LINES = [
    "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH",
    "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
    "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Mã hồ sơ: 000.00.12.H23-240312-0087",
    "Tiếp nhận hồ sơ của: ông TRẦN ĐỨC PHÁT, đội trưởng Đội Quản lý thị trường số 3",
    "Địa chỉ: thôn Đông Thịnh, xã Cẩm Bình, huyện Cẩm Xuyên, tỉnh Hà Tĩnh",
    (
        "Nội dung yêu cầu giải quyết: cấp giấy phép kinh doanh; thực hiện thủ tục đăng ký"
        " hộ kinh doanh, phát hành hóa đơn."
    ),
    "Thời gian trả kết quả: 15 giờ 00 phút, ngày 18 tháng 3 năm 2024.",
    "Kết quả được trả tại Bộ phận một cửa hoặc qua dịch vụ bưu chính công ích.",
    "Người tiếp nhận: HOÀNG THỊ MỸ LỆ, công chức Văn phòng HĐND và UBND huyện.",
    "Ghi chú: hồ sơ đã được số hóa theo Nghị định số 45/2020/NĐ-CP của Chính phủ.",
]


@pytest.fixture(scope="module")
def office_scan() -> tuple[np.ndarray, dict, str]:
    """A black-and-white 200-dpi office scan, Tesseract's reading of it, and its true text.

    Blur and noise before the threshold make the strokes ragged, as a real scanner's
    are: thin marks (a dot below, a hook) then read differently in a word cut out alone.
    """
    pil, truth = render_page_with_truth(
        OFFICE_LINES, dpi=200, font_path=str(DEJAVU_SANS), font_size_pt=12
    )
    grey = np.array(degrade(pil.convert("L"), blur_sigma=0.8, noise=0.08, seed=11))
    image = np.where(grey > 140, 255, 0).astype(np.uint8)
    data = pytesseract.image_to_data(
        image, lang="vie", config="--psm 3 --dpi 200", output_type=pytesseract.Output.DICT
    )
    return image, data, truth


def _text(data: dict) -> str:
    lines: dict[tuple, list[str]] = {}
    for i, level in enumerate(data["level"]):
        if int(level) == 5 and str(data["text"][i]).strip():
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            lines.setdefault(key, []).append(str(data["text"][i]).strip())
    return "\n".join(" ".join(words) for words in lines.values())


def _all_doubtful(data: dict) -> dict:
    doubted = copy.deepcopy(data)
    doubted["conf"] = [
        40.0 if int(lv) == 5 and float(c) >= 0 else c
        for lv, c in zip(doubted["level"], doubted["conf"], strict=True)
    ]
    return doubted


def test_the_office_scan_is_read_right_and_its_words_read_alone_differ(office_scan):
    """The premise of the next test: right page reading, tone marks lost in single words."""
    image, data, truth = office_scan
    assert cer(truth, _text(data)) == 0.0
    rows = [i for i in doubtful_words(_all_doubtful(data), 80) if len(data["text"][i]) > 1]
    crops = [_row_crop(data, i) for i in rows]
    readings = read_crops(image, crops, 8, OPTS, 200)
    differ = [
        (data["text"][i], words[0][0])
        for i, words in zip(rows, readings, strict=True)
        if len(words) == 1 and words[0][0] != data["text"][i]
    ]
    assert differ  # e.g. "tháng" read "thắng", "sơ" read "SƠ", "hồ" read "hổ"


def test_the_second_reading_never_makes_a_right_page_worse(office_scan):
    """Even with every word doubted, tone marks read more confidently alone are not taken
    where nothing but confidence speaks for them (it used to make "tháng" "thắng")."""
    image, data, truth = office_scan
    reread = reread_page(image, _all_doubtful(data), OcrSettings(recover_lines=False), 200)
    assert cer(truth, _text(reread)) <= cer(truth, _text(data))
    assert _words(reread) == _words(data)


@pytest.mark.parametrize(
    ("old", "readings", "before", "after", "expected"),
    [
        # confidence alone never decides: both are words, nothing supports the new one
        ((60.0, "hiện"), [[("hiên", 90.0)]], "Thực", "kế", None),
        ((60.0, "đội"), [[("đôi", 92.0)], [("đôi", 90.0)]], "đạo", "ngũ", None),
        ((40.0, "hiên"), [[("hiện", 95.0)]], None, None, None),
        # no Vietnamese word form: a capital inside a lower-case word, a toneless stop
        ((60.0, "sơ"), [[("SƠ", 96.0)]], "hồ", None, None),
        ((40.0, "TrỊ"), [[("Trị", 90.0)]], "Quảng", None, (90.0, "Trị")),
        ((40.0, "kêt"), [[("kết", 90.0)]], None, "quả", (90.0, "kết")),
        # both words: the neighbours decide
        ((40.0, "TĨNH"), [[("TỈNH", 88.0)]], "DÂN", "HÀ", (88.0, "TỈNH")),
        ((40.0, "TĨNH"), [[("TỈNH", 88.0)]], "HÀ", None, None),
        ((40.0, "NGUYÊN"), [[("NGUYỄN", 91.0)]], "nộp:", "THỊ", (91.0, "NGUYỄN")),
        ((40.0, "hồ"), [[("hỗ", 91.0)]], "vụ", "trợ", (91.0, "hỗ")),
        ((40.0, "hồ"), [[("hỗ", 91.0)]], "Mã", "sơ:", None),
        # other letters never pass: the eth look-alike of Đ, a letter read twice
        ((40.0, "ĐT"), [[("ÐT", 95.0)]], "GD", None, None),
        ((40.0, "ĐT"), [[("ĐÐĐT", 95.0)]], "GD", None, None),
        # and a less confident reading is no reason to change either
        ((80.0, "TĨNH"), [[("TỈNH", 70.0)]], "DÂN", "HÀ", None),
    ],
)
def test_a_reading_replaces_the_page_only_on_evidence(old, readings, before, after, expected):
    assert better_reading(old, readings, before, after) == expected


def test_the_eth_look_alike_is_read_as_the_vietnamese_letter_whatever_the_settings():
    """Tesseract gives "Ð" (U+00D0) for "Đ" (U+0110); a search for "GD&ĐT" must find it."""
    data = {"level": [4, 5, 5], "text": ["", "GD&ÐT", "ðội"], "conf": [-1, 90.0, 91.0]}
    off = OcrSettings(
        reread_below=0,
        recover_lines=False,
        split_blocks=False,
        retone_words=False,
        drop_margin_notes=False,
    )
    fixed = reread_page(np.zeros((10, 10), np.uint8), data, off, 300)
    assert fixed["text"][1:] == ["GD&ĐT", "đội"]


def _page_regions(ink: np.ndarray, line_h: float, tall: bool) -> list[tuple[int, int, int, int]]:
    """:func:`ocr.reread._inked_regions` as it was first written: the whole page smeared and
    labelled at once."""
    smear = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(0.8 * line_h)), 1))
    count, _, stats = label_components(cv2.dilate(ink, smear))
    page_h, page_w = ink.shape[:2]
    boxes = []
    for left, top, width, height, _area in stats[1:count]:
        if width < 2.5 * line_h or height < 0.6 * line_h or (height > 2.0 * line_h) != tall:
            continue
        if left <= 0 or top <= 0 or left + width >= page_w or top + height >= page_h:
            continue
        boxes.append((int(left), int(top), int(width), int(height)))
    return boxes


@pytest.mark.parametrize("seed", range(4))
def test_inked_regions_run_by_run_are_the_whole_pages_in_its_order(seed):
    """Labelling each run of inked rows alone finds the regions labelling the whole page
    finds, in the same order (the order the lost lines are read and placed in): runs
    starting on odd and even rows, strokes a row apart, ink at the page's edges."""
    rng = np.random.default_rng(seed)
    for _ in range(150):
        height, width = (int(v) for v in rng.integers(20, 400, 2))
        ink = np.zeros((height, width), np.uint8)
        for _ in range(int(rng.integers(0, 60))):
            y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
            if rng.random() < 0.5:
                end = (x + int(rng.integers(-80, 80)), y + int(rng.integers(-3, 4)))
                cv2.line(ink, (x, y), end, 255, 1)
            else:
                h, w = int(rng.integers(1, 30)), int(rng.integers(1, 60))
                patch = rng.random(ink[y : y + h, x : x + w].shape) < rng.random()
                ink[y : y + h, x : x + w] = patch * 255
        for _ in range(int(rng.integers(0, 15))):  # blank rows: many runs
            y = int(rng.integers(0, height))
            ink[y : y + int(rng.integers(1, 5))] = 0
        line_h = float(rng.uniform(2, 25))
        for tall in (False, True):
            assert _inked_regions(ink, line_h, tall) == _page_regions(ink, line_h, tall)


def test_a_doubtful_word_with_the_most_evidence_is_not_read_again(monkeypatch):
    """No reading can have more evidence than a known phrase with a neighbour
    (:func:`ocr.reread.better_reading`): such a word is not cut out and read again, unless
    the word before it is doubtful too (replaced first, it may be another neighbour then)."""
    data = {
        "level": [5, 5, 5, 5, 5, 5],
        "block_num": [1] * 6,
        "par_num": [1] * 6,
        "line_num": [1] * 6,
        "left": [0, 100, 200, 300, 400, 500],
        "top": [0] * 6,
        "width": [90] * 6,
        "height": [30] * 6,
        "conf": [96.0, 60.0, 95.0, 40.0, 40.0, 95.0],
        "text": ["Thực", "hiện", "kế", "kêt", "quả", "năm"],
    }
    assert evidence("hiện", "Thực", "kế") == MOST_EVIDENCE
    assert evidence("quả", "kêt", "năm") < MOST_EVIDENCE <= evidence("quả", "kết", "năm")
    read = []

    def reading(image, crops, psm, opts, dpi):
        read.extend((crop.left, crop.scale) for crop in crops)
        return [[("kết", 90.0)] if crop.left == 300 else [] for crop in crops]

    monkeypatch.setattr(ocr.reread, "read_crops", reading)
    ocr.reread._fix_doubtful(np.zeros((40, 600), np.uint8), data, OcrSettings(), 300)
    assert sorted({left for left, _ in read}) == [300, 400]  # not "hiện" (100)
    assert data["text"] == ["Thực", "hiện", "kế", "kết", "quả", "năm"]
