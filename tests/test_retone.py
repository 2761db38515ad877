"""Tone marks restored from the neighbouring words, however confident the misreading.

The dictionary is a published one (PyPI ``pyvi``'s word list, MIT), so the tests check
both what it fixes and what it must leave alone: right words beside misread or unlisted
neighbours, names, grammatical and number words, and anything ambiguous.
The page test is real Tesseract's TSV of a rendered page, edited the way its confident
1-bit misreadings look ("tổng" read "tống" at confidence 96), as in ``test_reread.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import rendered_and_read

from ocr.lexicon import _with_tone, retoned
from ocr.reread import reread_page
from schemas.settings import OcrSettings


def _fix(text: str, at: int) -> str | None:
    return retoned(text.split(), at)


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        ("rà soát, tống hợp và báo cáo", 2, "tổng"),
        ("hỗ trợ ốn định đời sống", 2, "ổn"),
        ("Qua kiếm tra thực tế", 1, "kiểm"),
        ("xây dựng đế nghị các cơ quan", 2, "đề"),
        ("cấp có thấm quyền xem xét", 2, "thẩm"),
        ("I. SỰ CÂN THIẾT", 2, "CẦN"),
        ("1. Bố sung kinh phí", 1, "Bổ"),
        ("dự án đấu tư xây dựng", 2, "đầu"),
    ],
)
def test_a_confident_misread_mark_is_restored_from_its_neighbours(text, at, expected):
    assert _fix(text, at) == expected


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("tổng hợp và báo cáo", 0),  # already a word with its neighbour
        ("quyền lợi của hàng triệu người", 2),  # "cửa hàng" is a word: "của" is grammar
        ("chín mươi triệu đồng", 1),  # "chín muồi" is a word: "mươi" is a number word
        ("ủy ban nhân dân quận", 4),  # "dân quân": but "dân" is taken by "nhân dân"
        ("giấy tờ chứng mình nguồn gốc", 2),  # "chứng minh" or "chúng mình"? ambiguous
        ("định kỳ hằng tháng báo cáo", 2),  # "hằng tháng" is listed beside "hàng tháng"
        ("GIẤY MỜI", 1),  # a kind of document (Decree 30/2020)
        ("ông Tống Văn Bình", 1),  # a family name where a name stands
        ("tống, hợp", 0),  # punctuation between: no phrase
    ],
)
def test_what_the_neighbours_do_not_decide_stays_as_read(text, at):
    assert _fix(text, at) is None


def test_punctuation_and_case_are_kept():
    assert retoned(["soát,", "(tống", "hợp)"], 1) == "(tổng"
    assert retoned(["SỰ", "CÂN", "THIẾT"], 1) == "CẦN"
    assert retoned(["TỐNG", "HỢP"], 0) is None  # in capitals it may be a name: "TỐNG HỢP"
    assert retoned(["Tống", "hợp,"], 0) == "Tổng"


@pytest.mark.parametrize(
    ("base", "tone", "expected"),
    [
        ("tông", "\u0309", "tổng"),
        ("người", "", "người"),
        ("ngươi", "\u0300", "người"),
        ("hoa", "\u0300", "hoà"),
        ("hoang", "\u0300", "hoàng"),
        ("cua", "\u0309", "của"),
        ("quyên", "\u0300", "quyền"),
        ("gia", "\u0301", "giá"),
        ("khuyu", "\u0309", "khuỷu"),
    ],
)
def test_the_tone_goes_on_the_vowel_that_carries_it(base, tone, expected):
    assert _with_tone(base, tone) == expected


LINES = ["Đơn vị khẩn trương rà soát, tổng hợp và báo cáo kết quả."]


@pytest.fixture(scope="module")
def tsv() -> tuple[np.ndarray, dict]:
    return rendered_and_read(LINES)


def _edited(data: dict, read: str, misread: str) -> tuple[dict, int]:
    data = {k: list(v) for k, v in data.items()}
    i = next(i for i, t in enumerate(data["text"]) if str(t).strip() == read)
    data["text"][i], data["conf"][i] = misread, 96.0
    return data, i


@pytest.mark.parametrize("retone", [True, False])
def test_the_page_reading_restores_a_confident_misread_tone(tsv, retone):
    image, data = tsv
    data, i = _edited(data, "tổng", "tống")
    opts = OcrSettings(retone_words=retone, reread_below=0, split_blocks=False)
    out = reread_page(image, data, opts.model_copy(update={"recover_lines": False}), 300)
    assert str(out["text"][i]).strip() == ("tổng" if retone else "tống")
