"""Field rules, label matching, extraction, merging and splitting on OCR results built in code.

These run without Tesseract: each page is a :class:`PageOcr` whose words are
laid out where a real A4 page would print them, so the geometry-based rules
(agency block, signer) see realistic positions. End-to-end extraction from
rendered scans (real Tesseract, the real CLI) is in ``tests/test_e2e.py``
(``test_ingest_reports_the_record``: the receipt's fields) and
``tests/test_split_e2e.py`` (generated dossiers split into records, each with its
own applicant and ID number); per-field accuracy is measured by ``bench/fields.py``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from ocr.fields import classify, extract_page, merge_fields, review_reasons
from ocr.rules import find_label, find_labels, load_rules, page_lines
from ocr.split import split_batch
from schemas.fields import CodeHit
from schemas.models import PageOcr, Word
from sohoa.errors import ConfigError
from sohoa.textfold import fold

W, H = 2480, 3508
CHAR = 24  # px per character at 12 pt, 300 dpi


def page(lines, index=0, conf=92.0, rotation=0):
    """A PageOcr from ``(text, x_fraction, y_fraction)`` lines (upright page coordinates)."""
    words, texts = [], []
    for number, (text, xf, yf) in enumerate(lines):
        x, y = xf * W, yf * H
        for token in text.split():
            words.append(
                Word(
                    text=token,
                    left=x,
                    top=y,
                    width=CHAR * len(token),
                    height=40,
                    conf=conf,
                    line=number,
                )
            )
            x += CHAR * (len(token) + 1)
        texts.append(text)
    return PageOcr(
        index=index,
        width=W,
        height=H,
        dpi=300,
        words=tuple(words),
        text="\n".join(texts),
        mean_confidence=conf,
        rotation=rotation,
    )


RECEIPT = [
    ("UBND HUYỆN HẢI LĂNG", 0.08, 0.04),
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 0.5, 0.04),
    ("BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ", 0.05, 0.06),
    ("Độc lập - Tự do - Hạnh phúc", 0.55, 0.06),
    ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2, 0.14),
    ("Mã hồ sơ: 000.00.06.H56-231027-0361", 0.3, 0.17),
    ("Tiếp nhận hồ sơ của: Ông/Bà NGUYỄN THỊ HỒNG ĐÀO", 0.08, 0.24),
    ("Số CCCD/CMND/Hộ chiếu: 045187002319", 0.08, 0.26),
    ("Địa chỉ: Số 12, thôn Đông Xuyên, xã Hải Thượng, huyện Hải Lăng,", 0.08, 0.28),
    ("tỉnh Quảng Trị", 0.08, 0.29),
    ("Số điện thoại: 0912 345 678 Email: hongdao.nguyen@example.vn", 0.08, 0.31),
    ("Nội dung yêu cầu giải quyết: Đăng ký khai sinh", 0.08, 0.33),
    ("Mã thủ tục: 1.004616.000.00.00.H56", 0.08, 0.35),
    ("Lĩnh vực: Hộ tịch", 0.08, 0.37),
    ("1. Tờ khai đăng ký khai sinh (bản chính)", 0.1, 0.40),
    ("Thời gian nhận hồ sơ: 08 giờ 30 phút, ngày 27/10/2023", 0.08, 0.50),
    ("Thời gian trả kết quả giải quyết hồ sơ: 14 giờ 00 phút, ngày 03/11/2023", 0.08, 0.52),
]

DECISION = [
    ("ỦY BAN NHÂN DÂN", 0.1, 0.04),
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 0.5, 0.04),
    ("HUYỆN HẢI LĂNG", 0.12, 0.06),
    ("Độc lập - Tự do - Hạnh phúc", 0.55, 0.06),
    ("Số: 123/QĐ-UBND", 0.1, 0.09),
    ("Hải Lăng, ngày 10 tháng 9 năm 2022", 0.55, 0.09),
    ("QUYẾT ĐỊNH", 0.42, 0.14),
    ("Về việc công nhận kết quả đăng ký khai sinh cho", 0.2, 0.16),
    ("công dân Nguyễn Văn An", 0.35, 0.17),
    ("CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN HẢI LĂNG", 0.22, 0.20),
    ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;", 0.08, 0.23),
    ("Điều 1. Công nhận việc đăng ký khai sinh.", 0.08, 0.30),
    ("TM. ỦY BAN NHÂN DÂN", 0.6, 0.70),
    ("KT. CHỦ TỊCH", 0.65, 0.72),
    ("PHÓ CHỦ TỊCH", 0.64, 0.74),
    ("Trần Văn Bình", 0.64, 0.82),
]


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _values(page_fields):
    best = {}
    for c in page_fields.candidates:
        best.setdefault(c.name, page_fields.best(c.name))
    return {k: v.value for k, v in best.items() if v.problem is None}


def test_builtin_rules_load_and_cover_every_doc_type(rules):
    assert {"receipt", "application", "decision", "certificate", "id_card", "other"} <= set(
        rules.doc_types
    )
    assert rules.required["thanh-phan"] == ("dossier_code", "applicant_name")


def test_rules_file_with_unknown_field_is_a_config_error(tmp_path: Path):
    bad = tmp_path / "rules.toml"
    bad.write_text(
        '[doc_types.receipt]\ntitles=["x"]\n[[doc_types.receipt.fields]]\nname="ho_ten"\n'
    )
    with pytest.raises(ConfigError, match="unknown field 'ho_ten'"):
        load_rules(bad)


@pytest.mark.parametrize(
    ("line", "label", "found"),
    [
        ("Họ và tên: An", "họ và tên", True),
        ("HO VA TEN: AN", "họ và tên", True),  # no diacritics, capitals
        ("Ho va tcn: An", "họ và tên", True),  # one OCR error in a long label
        ("Số: 123/QĐ-UBND", "số", True),
        ("Sốlượng: 1", "số", False),  # glued to the next word: not the label
        ("email: a@b.vn", "email", True),
        ("emall: a@b.vn", "email", False),  # short labels match exactly only
    ],
)
def test_find_label(line, label, found):
    assert (find_label(fold(line), fold(label)) is not None) == found


def test_overlapping_labels_keep_the_longest():
    hits = find_labels(
        fold("Họ và tên người nộp: An Email: x@y.vn"),
        (fold("họ và tên"), fold("họ và tên người nộp"), "email"),
    )
    assert [h.label for h in hits] == [fold("họ và tên người nộp"), "email"]


def test_receipt_fields_from_labels(rules):
    found = extract_page(page(RECEIPT), (), rules, separator_codes=())
    assert found.facts.doc_type == "receipt"
    values = _values(found)
    assert values["dossier_code"] == "000.00.06.H56-231027-0361"
    assert values["applicant_name"] == "Nguyễn Thị Hồng Đào"
    assert values["id_number"] == "045187002319"
    assert values["address"] == (
        "Số 12, thôn Đông Xuyên, xã Hải Thượng, huyện Hải Lăng, tỉnh Quảng Trị"
    )
    assert values["phone"] == "0912345678"
    assert values["email"] == "hongdao.nguyen@example.vn"
    assert values["procedure_name"] == "Đăng ký khai sinh"
    assert values["procedure_code"] == "1.004616.000.00.00.H56"
    assert values["sector"] == "Hộ tịch"
    assert values["received_date"] == "2023-10-27"
    assert values["due_date"] == "2023-11-03"
    name = found.best("applicant_name")
    assert name.method == "label" and name.page == 0 and 0.8 < name.confidence <= 1.0
    left, top, width, height = name.box
    assert top == pytest.approx(0.24 * H, abs=1) and width > 0 and height > 0
    assert left > 0.08 * W + 20 * CHAR  # the box is the name's, after its label


def test_decision_fields_from_layout(rules):
    found = extract_page(page(DECISION), (), rules, separator_codes=())
    assert found.facts.doc_type == "decision"
    values = _values(found)
    assert values["document_number"] == "123/QĐ-UBND"
    assert values["issue_date"] == "2022-09-10"
    assert values["issuer"] == "ỦY BAN NHÂN DÂN HUYỆN HẢI LĂNG"
    assert values["summary"] == (
        "Về việc công nhận kết quả đăng ký khai sinh cho công dân Nguyễn Văn An"
    )
    assert values["signer"] == "Trần Văn Bình"


def test_signer_read_with_a_stray_underline(rules):
    """Tesseract reads the end of a signature stroke as "_" before the name ("_Võ Xuân Nam")."""
    lines = [(f"_{text}" if text == "Trần Văn Bình" else text, x, y) for text, x, y in DECISION]
    assert any(text == "_Trần Văn Bình" for text, _, _ in lines)
    assert _values(extract_page(page(lines), (), rules, separator_codes=()))["signer"] == (
        "Trần Văn Bình"
    )


def test_fields_of_a_page_scanned_upside_down(rules):
    """Word boxes are in scan pixels; the layout rules must look at the upright page."""
    upright = page(DECISION)
    turned_words = tuple(
        w.model_copy(update={"left": W - w.left - w.width, "top": H - w.top - w.height})
        for w in upright.words
    )
    turned = upright.model_copy(update={"words": turned_words, "rotation": 180})
    lines = page_lines(turned)
    assert lines[0].text == "ỦY BAN NHÂN DÂN" and lines[0].y0 < 0.1 * H
    values = _values(extract_page(turned, (), rules, separator_codes=()))
    assert values["issuer"] == "ỦY BAN NHÂN DÂN HUYỆN HẢI LĂNG"
    assert values["signer"] == "Trần Văn Bình"


def _tilted(upright: PageOcr, degrees: float) -> PageOcr:
    """The page as scanned ``degrees`` askew: word boxes turned about the page centre."""
    a, cx, cy = math.radians(degrees), W / 2, H / 2
    words = []
    for w in upright.words:
        dx, dy = w.left - cx, w.top + w.height - cy  # the box's origin: bottom left
        x = cx + dx * math.cos(a) + dy * math.sin(a)
        y = cy - dx * math.sin(a) + dy * math.cos(a)
        words.append(w.model_copy(update={"left": x, "top": y - w.height, "angle": degrees}))
    return upright.model_copy(update={"words": tuple(words), "skew_deg": -degrees})


@pytest.mark.parametrize("degrees", [2.5, -2.5])
def test_a_wrapped_summary_on_a_skewed_scan(rules, degrees):
    """Boxes stay on the skewed scan; a long line's box then spans the next line's height."""
    tilted = _tilted(page(DECISION), degrees)
    lines = page_lines(tilted)
    summary = next(ln for ln in lines if ln.text.startswith("Về việc"))
    assert summary.y1 - summary.y0 < 60  # levelled: about one word's height, not 40 + 49 px
    values = _values(extract_page(tilted, (), rules, separator_codes=()))
    assert values["summary"].endswith("cho công dân Nguyễn Văn An")
    assert values["signer"] == "Trần Văn Bình"
    assert values["issuer"] == "ỦY BAN NHÂN DÂN HUYỆN HẢI LĂNG"


def test_passport_copy(rules):
    lines = [
        ("BẢN SAO", 0.4, 0.05),
        ("HỘ CHIẾU / PASSPORT", 0.39, 0.13),
        ("Số hộ chiếu / Passport No.: C4696715", 0.35, 0.15),
        ("Họ và tên / Eull name:", 0.35, 0.166),
        ("NGUYỄN TRỌNG TƯỜNG", 0.35, 0.18),
        ("Ngày sinh / Date of birth: 26/03/1987", 0.35, 0.2),
    ]
    found = extract_page(page(lines), (), rules, separator_codes=())
    assert found.facts.doc_type == "id_card"
    values = _values(found)
    assert values["id_number"] == "C4696715"
    assert values["applicant_name"] == "Nguyễn Trọng Tường"
    assert values["birth_date"] == "1987-03-26"


def test_invalid_values_are_flagged_not_changed(rules):
    lines = [*RECEIPT]
    lines[7] = ("Số CCCD/CMND/Hộ chiếu: 999187002319", 0.08, 0.26)  # no province 999
    found = extract_page(page(lines), (), rules, separator_codes=())
    best = found.best("id_number")
    assert best.value == "999187002319" and best.problem is not None
    fields, disagreements = merge_fields([found], rules)
    reasons = review_reasons(fields, disagreements, ("dossier_code", "applicant_name"), 0.6)
    assert f"invalid:id_number:{best.problem}" in reasons


def test_qr_code_wins_over_ocr_and_a_disagreement_is_flagged(rules):
    qr = CodeHit(format="QRCode", text="000.00.06.H56-231027-0362", page=0, box=(10, 10, 300, 300))
    found = extract_page(page(RECEIPT), (qr,), rules, separator_codes=())
    fields, disagreements = merge_fields([found], rules)
    code = next(f for f in fields if f.name == "dossier_code")
    assert code.value == "000.00.06.H56-231027-0362" and code.method == "qr"
    assert code.confidence == 1.0 and code.box == (10, 10, 300, 300)
    assert disagreements == ("dossier_code",)


def test_cccd_must_agree_with_the_date_of_birth(rules):
    application = [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 0.3, 0.04),
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3, 0.10),
        ("Họ, chữ đệm, tên người yêu cầu: Lê Văn Tám", 0.08, 0.20),
        ("Ngày, tháng, năm sinh: 12/03/1990", 0.08, 0.22),
        ("Số định danh cá nhân: 045087002319", 0.08, 0.24),  # born 1987 by its digits
    ]
    found = extract_page(page(application), (), rules, separator_codes=())
    assert found.facts.doc_type == "application"
    fields, _ = merge_fields([found], rules)
    by_name = {f.name: f for f in fields}
    assert by_name["birth_date"].value == "1990-03-12"
    assert by_name["id_number"].value == "045087002319"
    assert by_name["id_number"].problem == "cccd_birth_year_mismatch"


def test_missing_required_and_low_confidence_fields_are_review_reasons(rules):
    found = extract_page(page(RECEIPT[:6], conf=40.0), (), rules, separator_codes=())
    fields, disagreements = merge_fields([found], rules)
    reasons = review_reasons(fields, disagreements, ("dossier_code", "applicant_name"), 0.6)
    assert "missing:applicant_name" in reasons
    assert "low_confidence:dossier_code" in reasons


def _receipt(code: str, index: int):
    lines = [*RECEIPT]
    lines[5] = (f"Mã hồ sơ: {code}", 0.3, 0.17)
    return page(lines, index=index)


def _form(index: int):
    return page(
        [("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3, 0.1), ("Họ và tên: Lê Văn Tám", 0.1, 0.2)], index=index
    )


def test_split_at_new_receipts_and_separator_sheets(rules):
    separator = CodeHit(format="QRCode", text="SOHOA-SEPARATOR", page=3, box=(0, 0, 9, 9))
    pages = [
        _form(0),  # a loose page before the first receipt joins the first dossier
        _receipt("000.00.06.H56-231027-0361", 1),
        _form(2),
        page([("TỜ PHÂN CÁCH HỒ SƠ", 0.3, 0.1)], index=3),
        _form(4),
        _receipt("000.00.06.H56-231027-0362", 5),
        _receipt("000.00.06.H56-231027-0363", 6),
        _form(7),
    ]
    codes = {3: (separator,)}
    found = [
        extract_page(p, codes.get(p.index, ()), rules, separator_codes=("SOHOA-SEPARATOR",))
        for p in pages
    ]
    assert found[3].facts.doc_type == "separator"
    segments = split_batch(found)
    assert [s.pages for s in segments] == [(0, 1, 2), (4, 5), (6, 7)]
    assert [s.dossier_code for s in segments] == [
        "000.00.06.H56-231027-0361",
        "000.00.06.H56-231027-0362",
        "000.00.06.H56-231027-0363",
    ]
    assert [s.reason for s in segments] == ["start", "separator", "new_receipt"]
    forced = split_batch(found, split=False)
    assert [s.pages for s in forced] == [(0, 1, 2, 4, 5, 6, 7)]


def test_classify_ignores_body_text_that_mentions_a_title(rules):
    lines = page_lines(page([("Căn cứ quyết định số 12 của UBND", 0.1, 0.1)]))
    assert classify(lines, (), rules, ())[0] == "other"


def test_record_takes_the_spelling_most_pages_agree_on(rules):
    """A tone mark misread on one page is outvoted by the other pages printing the same name.

    "Hường" is a real name too, so no lexicon can tell it is wrong: only the other pages can.
    """
    receipt = [*RECEIPT]
    receipt[6] = ("Tiếp nhận hồ sơ của: Ông/Bà NGUYỄN THỊ HƯỜNG", 0.08, 0.24)
    form = [("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3, 0.1), ("Họ và tên: Nguyễn Thị Hương", 0.1, 0.2)]
    card = [("CĂN CƯỚC CÔNG DÂN", 0.4, 0.1), ("Họ và tên / Full name: NGUYỄN THỊ HƯƠNG", 0.35, 0.2)]
    pages = [page(receipt, index=0), page(form, index=1), page(card, index=2)]
    found = [extract_page(p, (), rules, separator_codes=()) for p in pages]
    assert [f.facts.doc_type for f in found] == ["receipt", "application", "id_card"]
    fields, _ = merge_fields(found, rules)
    name = next(f for f in fields if f.name == "applicant_name")
    assert name.value == "Nguyễn Thị Hương" and name.page in (1, 2)
    # a single reading of a real name is kept as read, never "corrected"
    alone, _ = merge_fields(found[:1], rules)
    assert next(f for f in alone if f.name == "applicant_name").value == "Nguyễn Thị Hường"


def test_instructions_in_brackets_are_not_labels(rules):
    lines = [*RECEIPT[:6], ("NGƯỜI NỘP HỒ SƠ", 0.2, 0.6), ("(Ký và ghi rõ họ tên)", 0.2, 0.62)]
    found = extract_page(page(lines), (), rules, separator_codes=())
    assert found.best("applicant_name") is None


def test_a_place_misread_in_capitals_takes_the_spelling_the_page_mostly_reads(rules):
    lines = [*DECISION]
    lines[2] = ("TỈNH THÙA THIÊN HUẾ", 0.12, 0.06)  # a tone mark lost in the agency block
    lines[5] = ("Thừa Thiên Huế, ngày 10 tháng 9 năm 2022", 0.55, 0.09)
    lines[9] = ("CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ", 0.22, 0.20)
    issuer = extract_page(page(lines), (), rules, separator_codes=()).best("issuer")
    assert issuer.value == "ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ"
    assert "THÙA" in issuer.raw  # what was read at the field is kept


def test_an_id_is_not_checked_against_a_birth_date_on_another_page(rules):
    """The birth-registration form's date of birth is the child's, not the applicant's."""
    form = [
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3, 0.1),
        ("Ngày, tháng, năm sinh: 20/10/2023", 0.1, 0.2),
    ]
    pages = [page(RECEIPT, index=0), page(form, index=1)]
    fields, _ = merge_fields([extract_page(p, (), rules, separator_codes=()) for p in pages], rules)
    assert next(f for f in fields if f.name == "id_number").problem is None


def test_a_date_wrapped_onto_the_next_line(rules):
    lines = [*RECEIPT]
    lines[16] = (
        "Thời gian trả kết quả giải quyết hồ sơ: 14 giờ 00 phút, ngày 31 tháng 10 năm",
        0.08,
        0.52,
    )
    lines.append(("2023.", 0.08, 0.535))
    due = extract_page(page(lines), (), rules, separator_codes=()).best("due_date")
    assert due.value == "2023-10-31" and due.problem is None


def test_a_coded_page_after_an_unreadable_receipt_stays_in_its_dossier(rules):
    """Only a second receipt opens a new dossier; a QR on another page names the open one."""
    unreadable = [line for line in RECEIPT if not line[0].startswith("Mã hồ sơ")]
    result_qr = CodeHit(format="QRCode", text="000.00.06.H56-231027-0361", page=2, box=(0, 0, 9, 9))
    pages = [
        page(unreadable, index=0),
        _form(1),
        _form(2),
        _receipt("000.00.06.H56-231027-0362", 3),
    ]
    codes = {2: (result_qr,)}
    found = [extract_page(p, codes.get(p.index, ()), rules, separator_codes=()) for p in pages]
    segments = split_batch(found)
    assert [s.pages for s in segments] == [(0, 1, 2), (3,)]
    assert segments[0].dossier_code == "000.00.06.H56-231027-0361"


@pytest.mark.parametrize(
    "label", ["Chứng minh nhân dân số", "Số chứng minh nhân dân", "Căn cước công dân số"]
)
def test_id_number_after_a_spelled_out_label(rules, label):
    """Forms spell the card out instead of "CMND"/"CCCD"; a 9-digit CMND has no other cue."""
    lines = [("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3, 0.1), (f"{label}: 012126896", 0.1, 0.3)]
    found = extract_page(page(lines), (), rules, separator_codes=())
    assert found.best("id_number").value == "012126896"
