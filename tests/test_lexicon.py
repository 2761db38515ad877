"""Names, places and e-mail providers restored from lexicons (ocr/lexicon.py), and only when sure.

The misreads are the ones Tesseract made with high confidence on the field benchmark's
held-out documents; the cases that must stay as read matter as much as the fixes.
"""

from __future__ import annotations

import tomllib

import pytest

from ocr.fields import extract_page
from ocr.lexicon import (
    NAMES_PATH,
    VOCABULARY_PATH,
    context_support,
    known_pair,
    repaired_email,
    respelled_document_number,
    respelled_name,
    respelled_place,
    tone_key,
)
from ocr.rules import load_rules
from ocr.syllables import is_syllable, is_word_form
from ocr.validators import check_document_number
from tests.test_fields import RECEIPT, page


def test_tone_key_drops_tone_marks_only():
    assert tone_key("Vần") == tone_key("Vân") == "vân"
    assert tone_key("Văn") == "văn" != tone_key("Vân")  # ă and â are letters, not tones
    assert tone_key("Đặng") == "đăng"  # đ stays đ


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("Lê Thu Vần", "Lê Thu Vân"),  # "Vần" is no name; "Vân" is the one with its letters
        ("Nguyên Công Bá Phúc", "Nguyễn Công Bá Phúc"),  # no family name "Nguyên"
        ("NGUYÊN VĂN AN", "NGUYỄN VĂN AN"),  # capitals stay capitals
        ("Vũ Đúc Long", "Vũ Đức Long"),  # a letter's own mark misread: the one name it folds to
        ("Nguyen Van An", "Nguyen Van An"),  # no diacritics at all: written so on purpose
        ("Trần Thanh Hoa", "Trần Thanh Hoa"),  # Thanh/Thành/Thạnh: real names are kept
        ("Trần Thị Thủy", "Trần Thị Thủy"),  # right names are never touched
        ("Nguyễn Văn Vấn", "Nguyễn Văn Vấn"),  # a rare but real name is kept as read
        ("Phạm Văn Lưỡng", "Phạm Văn Lưỡng"),
        ("Phạm Văn Lưởng", "Phạm Văn Lưởng"),  # two common names share its letters: ambiguous
        ("H'Hen Niê", "H'Hen Niê"),  # minority names are not in the lexicon and stay
        ("John Smith", "John Smith"),
    ],
)
def test_respelled_name(read, expected):
    assert respelled_name(read) == expected


def test_a_misread_name_syllable_in_the_middle_is_checked_against_given_names_not_surnames():
    # "Nguyên" is a given name, so it is right in the middle, wrong only as a family name.
    assert respelled_name("Trần Nguyên Khôi") == "Trần Nguyên Khôi"


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        # same letters, one district of that name in the province read
        (
            "Số 226, xóm Ưu Thượng, xã Tân Thạnh Đông, huyện Củ Chỉ, thành phố Hồ Chí Minh",
            "Số 226, xóm Ưu Thượng, xã Tân Thạnh Đông, huyện Củ Chi, thành phố Hồ Chí Minh",
        ),
        # different letters: the one province holding the recognised district and commune
        (
            "đội 3, thôn Mỹ Thủy, xã Tân Hợp, huyện Hướng Hóa, tỉnh Quảng Nai",
            "đội 3, thôn Mỹ Thủy, xã Tân Hợp, huyện Hướng Hóa, tỉnh Quảng Trị",
        ),
        # a commune's tone mark, from the one commune of the district with its letters
        (
            "thôn Đông Xuyên, xã Hải Thưởng, huyện Hải Lăng, tỉnh Quảng Trị",
            "thôn Đông Xuyên, xã Hải Thượng, huyện Hải Lăng, tỉnh Quảng Trị",
        ),
        # capitals, and a division word without diacritics
        (
            "XA HẢI THƯỢNG, HUYỆN HẢI LĂNG, TỈNH QUẢNG TRỈ",
            "XA HẢI THƯỢNG, HUYỆN HẢI LĂNG, TỈNH QUẢNG TRỊ",
        ),
        # every commune with these letters has the same name
        ("xã Tân Hớp", "xã Tân Hợp"),
    ],
)
def test_respelled_place_fixes(read, expected):
    assert respelled_place(read) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Số 12, thôn Đông Xuyên, xã Hải Thượng, huyện Hải Lăng, tỉnh Quảng Trị",  # all right
        "Số 5, đường Lê Lợi, phường 7, quận 3, thành phố Hồ Chí Minh",
        "xã Tân Hợp",  # exists in many districts; nothing to check it against, and it is right
        "huyện Thạnh Trỉ",  # "Thanh Trì" (Hà Nội) and "Thạnh Trị" (Sóc Trăng) share its letters
        "xã Hai Thuong, huyện Hải Lăng",  # written without diacritics on purpose: kept so
        "huyện Hạ Hòa, tỉnh Phú Thọ",  # the gazetteer prints "Hạ Hoà": the same spelling,
        "huyện Hạ Hoà, tỉnh Phú Thọ",  # old or new tone placement, kept as printed
        "tỉnh Quảng Nai",  # nothing else in the address says which province was meant
        "huyện Xyz, tỉnh Quảng Trị",  # nothing in Quảng Trị reads like it
        # a ward merged away before the gazetteer's date: other letters are never "corrected"
        # below province level (the nearest current ward is "Hải Thành")
        "Ngõ 116 phố Nguyễn Huệ, phường Hải Đình, thành phố Đồng Hới, tỉnh Quảng Bình",
        "Phòng 204, tòa nhà A",  # no division words at all
    ],
)
def test_respelled_place_keeps_what_it_cannot_be_sure_of(text):
    assert respelled_place(text) == text


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("lyxuanducphuc83@gmaiïl.com", "lyxuanducphuc83@gmail.com"),
        ("nguyenbaothanhoanh75(@gmaI1]l.com", "nguyenbaothanhoanh75@gmail.com"),
        ("tran.an@yahoo.com.vm", "tran.an@yahoo.com.vn"),
        ("someone@example.org", None),  # not near any common provider: left to review
        ("no-at-sign.gmail.com", None),
        ("@gmail.com", None),
    ],
)
def test_repaired_email(read, expected):
    assert repaired_email(read) == expected


def test_extraction_restores_names_and_places_and_keeps_the_reading():
    lines = [*RECEIPT]
    lines[6] = ("Tiếp nhận hồ sơ của: Ông/Bà NGUYÊN THỊ HỒNG ĐÀO", 0.08, 0.24)
    lines[8] = ("Địa chỉ: Số 12, thôn Đông Xuyên, xã Hải Thượng, huyện Hải Lắng,", 0.08, 0.28)
    lines[10] = ("Số điện thoại: 0912 345 678 Email: hongdao.nguyen@gmaiïl.com", 0.08, 0.31)
    found = extract_page(page(lines), (), load_rules(), separator_codes=())
    name, address, email = (found.best(n) for n in ("applicant_name", "address", "email"))
    assert name.value == "Nguyễn Thị Hồng Đào" and "NGUYÊN" in name.raw
    assert address.value.endswith("huyện Hải Lăng, tỉnh Quảng Trị") and "Lắng" in address.raw
    assert email.value == "hongdao.nguyen@gmail.com" and email.problem is None
    assert "gmaiïl" in email.raw


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("261/QĐĐ-STNMT", "261/QĐ-STNMT"),  # a wide capital read twice
        ("7/QQĐ-UBND", "7/QĐ-UBND"),
        ("05/2023/TT-BTC", "05/2023/TT-BTC"),  # "TT" is a type of its own (thông tư)
        ("12/TTLT-BTC", "12/TTLT-BTC"),
        ("9/ABC-UBND", "9/ABC-UBND"),  # unknown, and no doubled letter: left as read
    ],
)
def test_respelled_document_number(read, expected):
    assert respelled_document_number(read) == expected


def test_eth_read_for_d_in_a_document_number_is_a_d():
    assert check_document_number("Số: 12/QÐ-UBND").value == "12/QĐ-UBND"


def test_a_capital_read_inside_a_place_name_is_lowered():
    read = "Số 164/8A Lê Duẩn, thị trấn Ái Tử, huyện Triệu Phong, tỉnh Quảng TrỊ"
    assert respelled_place(read) == read.replace("TrỊ", "Trị")
    shouted = "Số 5, đường Lê Lợi, phường 7, quận 3, TP. HỒ CHÍ MINH"
    assert respelled_place(shouted) == shouted  # words in capitals stay in capitals


# --------------------------------------------------------------------------- syllables, context


@pytest.mark.parametrize(
    "word",
    ["hiện", "hiên", "đội", "đôi", "kết", "quả", "QUẢ", "Thực", "NGUYỄN", "TỈNH", "TĨNH", "Trị",
     "giữ", "gìn", "giếng", "khuya", "khuỷu", "quýt", "Quỳnh", "thuở", "yêu", "ích", "nghiêng",
     "hoà", "hòa", "thuỷ", "thủy", "xoong", "ngoẹo", "rượu", "kỹ"],
)  # fmt: skip
def test_real_syllables_are_syllables(word):
    assert is_syllable(word)


@pytest.mark.parametrize(
    "word",
    ["kêt", "hiẹn", "ĐÐT", "Ðội", "GD", "UBND", "nguyen", "ghe" + "\u0301" * 2, "cia", "kan",
     "ngha", "quôc", "phât"],
)  # fmt: skip
def test_what_no_vietnamese_syllable_spells_is_not_one(word):
    """A stop (c, ch, p, t) needs sắc or nặng; k/gh/ngh only before i, e, ê; no eth."""
    assert not is_syllable(word)


def test_every_syllable_of_the_lexicons_is_a_syllable():
    """The inventory must never call a real syllable invalid: the name lexicon and every
    word of the vocabulary are checked against it."""
    names = tomllib.loads(NAMES_PATH.read_text(encoding="utf-8"))
    words = [w for key in ("surnames", "syllables", "rare_syllables") for w in names.get(key, ())]
    lines = VOCABULARY_PATH.read_text(encoding="utf-8").splitlines()
    words += [w for line in lines if not line.startswith("#") for w in line.split() if w != "0"]
    assert len(words) > 1000
    assert [w for w in words if not is_syllable(w)] == []


@pytest.mark.parametrize(
    ("word", "expected"),
    [("hiện", True), ("Trị", True), ("TRỊ", True), ("TrỊ", False), ("sƠ", False), ("kêt", False)],
)
def test_a_word_form_is_a_syllable_in_one_of_print_cases(word, expected):
    assert is_word_form(word) is expected


@pytest.mark.parametrize(
    ("word", "before", "after", "expected"),
    [
        ("hiện", "Thực", "kế", 2),  # "thực hiện" is a word
        ("hiên", "Thực", "kế", 0),
        ("đội", "đạo", "ngũ", 2),
        ("đôi", "đạo", "ngũ", 0),
        ("quả", "KẾT", None, 2),  # case does not matter
        ("TỈNH", "DÂN", "HÀ", 2),  # "tỉnh Hà …": a province after its division word
        ("TĨNH", "HÀ", None, 2),  # "Hà Tĩnh"
        ("TỈNH", "HÀ", None, 0),
        ("hiện", "Thực,", None, 0),  # no phrase across punctuation
        ("NGUYỄN", "nộp:", "THỊ", 2),
        ("NGUYÊN", "nộp:", "THỊ", 0),  # no family name "Nguyên"
        ("TRẦN", "ông", "ĐỨC", 1),  # a family name opening a name
        ("TRẤN", "ông", "ĐỨC", 0),  # "thị trấn Đức Phổ" makes no phrase of "trấn đức"
        ("Thơ", "Thanh", None, 1),  # a given name inside a name
        ("tháng", "18", "3", 2),  # a date: a number beside it
        ("thắng", "18", "3", 0),
    ],
)
def test_context_support(word, before, after, expected):
    assert context_support(word, before, after) == expected


def test_field_labels_are_known_phrases():
    """The labels of field_rules.toml count as phrases, so a label read right stays right."""
    assert known_pair("Mã", "hồ") and known_pair("hồ", "sơ")
    assert not known_pair("hổ", "sơ")
