"""Fields on layouts the rules were not written against: several labels on one line, table
cells, values below their labels, label synonyms, dates with times and split digit groups.

Pages are built the way the pipeline gives them to :mod:`ocr.fields` (a :class:`PageOcr`
of words with boxes and Tesseract line numbers); a cell is a group of words placed at its
own x, and a row of cells is one Tesseract line or one line per cell, as Tesseract reads
ruled tables either way. The last test renders a ruled receipt with PIL and reads it with
real Tesseract through :func:`ocr.reading.read_page`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from ocr.fields import extract_page, merge_record
from ocr.rules import load_rules, without_families
from ocr.split import split_batch
from schemas.models import PageOcr, Word
from sohoa.errors import ConfigError

W, H = 2480, 3508
CHAR, HEIGHT = 24, 40


def cells_page(rows, index=0, conf=92.0):
    """A PageOcr from rows ``(y_fraction, [(text, x_fraction), ...], one_line)``.

    ``one_line`` puts the row's cells in one Tesseract line (a wide gap between them);
    otherwise each cell is its own line, as Tesseract reads a ruled table's cells.
    """
    words, texts, number = [], [], 0
    for yf, cells, one_line in rows:
        for text, xf in cells:
            x = xf * W
            for token in text.split():
                words.append(
                    Word(
                        text=token,
                        left=x,
                        top=yf * H,
                        width=CHAR * len(token),
                        height=HEIGHT,
                        conf=conf,
                        line=number,
                    )
                )
                x += CHAR * (len(token) + 1)
            texts.append(text)
            number += 0 if one_line else 1
        number += 1 if one_line else 0
    return PageOcr(
        index=index,
        width=W,
        height=H,
        dpi=300,
        words=tuple(words),
        text="\n".join(texts),
        mean_confidence=conf,
    )


def lines_page(lines, index=0):
    """One cell per line: ``(text, x_fraction, y_fraction)``."""
    return cells_page([(y, [(text, x)], False) for text, x, y in lines], index)


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def _values(found):
    fields = merge_record([found], load_rules(), kind="thanh-phan").fields
    return {f.name: f.value for f in fields if f.problem is None}


RECEIPT_TOP = [
    ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2, 0.10),
    ("Mã hồ sơ: 000.00.06.H56-231027-0361", 0.3, 0.13),
]


# --------------------------------------------------------------------------- several labels


def test_id_number_and_birth_date_on_one_line(rules):
    """The other office's receipt: "… CCCD: … Ngày sinh: …" — the birth date was never found."""
    found = extract_page(
        lines_page(
            [
                *RECEIPT_TOP,
                ("Họ và tên người nộp: Nguyễn Thị Hồng Đào", 0.08, 0.2),
                ("Số định danh cá nhân/CCCD: 001196012345 Ngày sinh: 12/03/1996", 0.08, 0.22),
            ]
        ),
        (),
        rules,
        separator_codes=(),
    )
    values = _values(found)
    assert values["id_number"] == "001196012345"
    assert values["birth_date"] == "1996-03-12"
    assert values["applicant_name"] == "Nguyễn Thị Hồng Đào"


def test_a_value_ends_where_another_types_label_starts(rules):
    """ "Dân tộc" and "Điện thoại" are no receipt field of this line, yet end the name."""
    found = extract_page(
        lines_page(
            [
                *RECEIPT_TOP,
                ("Họ và tên: Trần Văn Hưởng Sinh ngày: 01/02/1987 Dân tộc: Kinh", 0.08, 0.2),
            ]
        ),
        (),
        rules,
        separator_codes=(),
    )
    values = _values(found)
    assert values["applicant_name"] == "Trần Văn Hưởng"
    assert values["birth_date"] == "1987-02-01"


# --------------------------------------------------------------------------- table cells


@pytest.mark.parametrize("one_line", [False, True], ids=["cell-per-line", "row-as-one-line"])
def test_label_and_value_in_neighbouring_cells(rules, one_line):
    rows = [
        (0.10, [("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2)], False),
        (0.20, [("Họ và tên người nộp", 0.08), ("NGUYỄN VĂN AN", 0.45)], one_line),
        (0.23, [("Số CCCD", 0.08), ("045087002319", 0.45)], one_line),
        (0.26, [("Nội dung yêu cầu giải quyết", 0.08), ("Đăng ký khai sinh", 0.45)], one_line),
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["applicant_name"] == "Nguyễn Văn An"
    assert values["id_number"] == "045087002319"
    assert values["procedure_name"] == "Đăng ký khai sinh"


def test_cells_split_by_rules_read_as_bars(rules):
    """Tesseract sometimes reads a table's vertical rule as "|" between label and value."""
    rows = [
        (0.10, [("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2)], False),
        (0.20, [("| HỌ VÀ TÊN | NGUYỄN VĂN AN |", 0.08)], True),
        (0.23, [("| Số CCCD | 045087002319 | Ngày sinh | 01/02/1987 |", 0.08)], True),
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["applicant_name"] == "Nguyễn Văn An"
    assert values["id_number"] == "045087002319"
    assert values["birth_date"] == "1987-02-01"


@pytest.mark.parametrize("one_line", [False, True], ids=["cell-per-line", "row-as-one-line"])
def test_header_row_names_the_values_below(rules, one_line):
    """A table whose header row holds the labels, in capitals, and the next row the values."""
    rows = [
        (0.10, [("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3)], False),
        (0.20, [("HỌ VÀ TÊN", 0.08), ("NGÀY SINH", 0.42), ("SỐ CCCD", 0.70)], one_line),
        (0.23, [("Phạm Minh Đức", 0.08), ("12/03/1990", 0.42), ("045090002319", 0.70)], one_line),
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["applicant_name"] == "Phạm Minh Đức"
    assert values["birth_date"] == "1990-03-12"
    assert values["id_number"] == "045090002319"


def test_an_exact_label_is_not_swallowed_by_a_fuzzy_longer_one(rules):
    """ "Họ và tên người nộp │ Số định danh cá nhân" reads, to a partial ratio, as "họ và tên
    người nộp hồ sơ" ending on "Số": the name became "định danh cá nhân"."""
    rows = [
        (0.10, [("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2)], False),
        (0.20, [("Họ và tên người nộp", 0.08), ("Số định danh cá nhân", 0.33)], True),
        (0.23, [("Lê Thị Như Hương", 0.08), ("036186012345", 0.33)], True),
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["applicant_name"] == "Lê Thị Như Hương"
    assert values["id_number"] == "036186012345"


def test_the_rest_of_a_label_cell_is_not_the_value(rules):
    """ "Thủ tục hành chính │ Đăng ký …": the label is "thủ tục"; its cell runs to the rule."""
    rows = [
        (0.10, [("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2)], False),
        (0.20, [("Thủ tục hành chính | Đăng ký thay đổi nội dung hộ kinh doanh", 0.08)], True),
        (0.23, [("Họ và tên  Nguyễn Văn An", 0.08)], True),  # a value in capitals stays whole
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["procedure_name"] == "Đăng ký thay đổi nội dung hộ kinh doanh"
    assert values["applicant_name"] == "Nguyễn Văn An"


def test_a_value_wrapped_in_its_cell_leaves_the_next_cells_alone(rules):
    """A four-column row (label │ value │ label │ value) whose value wraps inside its cell:
    the wrapped line's words under the value carry it on, the next column's do not."""
    rows = [
        (0.10, [("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2)], False),
        (0.20, [("Địa chỉ", 0.08), ("Số 197, đường Phan Chu", 0.22), ("Email", 0.55)], True),
        (0.212, [("Trinh, Thị trấn Bút Sơn", 0.22), ("hung.huynh@yahoo.com.vn", 0.55)], True),
        (0.24, [("Số điện thoại", 0.08), ("0838 730 807", 0.22)], True),
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["address"] == "Số 197, đường Phan Chu Trinh, Thị trấn Bút Sơn"
    assert values["phone"] == "0838730807"


def test_a_label_cell_that_wraps_over_three_lines_still_names_its_value(rules):
    """A narrow label column: "Tên tổ chức, cá │ nhân nộp hồ │ sơ", read by Tesseract as
    three lines; the value sits in the next cell of the first. And "Ngày nhận" whose cell
    wraps into "hồ sơ": the longer label is the one printed."""
    rows = [
        (0.10, [("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2)], False),
        (0.20, [("Tên tổ chức, cá", 0.08), ("Nguyễn Mỹ Ngọc Linh", 0.30)], False),
        (0.212, [("nhân nộp hồ", 0.08)], False),
        (0.224, [("sơ", 0.08)], False),
        (0.26, [("Ngày nhận", 0.08), ("09h10, ngày 17/1/2024", 0.30)], False),
        (0.272, [("hồ sơ", 0.08)], False),
    ]
    values = _values(extract_page(cells_page(rows), (), rules, separator_codes=()))
    assert values["applicant_name"] == "Nguyễn Mỹ Ngọc Linh"
    assert values["received_date"] == "2024-01-17"


def test_a_control_sheet_reads_the_applicants_particulars_too(rules):
    """The control sheet's own rows name the dossier; the ID number and phone it repeats
    from the receipt are read with the receipt's and application's labels."""
    lines = [
        ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", 0.2, 0.10),
        ("Mã hồ sơ: 000.00.06.H56-231027-0361", 0.08, 0.15),
        ("Số định danh cá nhân: 045087002319", 0.08, 0.20),
        ("Số điện thoại: 0838 730 807", 0.08, 0.23),
    ]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.facts.doc_type == "control_sheet"
    values = _values(found)
    assert values["id_number"] == "045087002319" and values["phone"] == "0838730807"


def test_a_decision_names_its_subject_with_an_applications_labels(rules):
    """Điều 1 of a decision lists whom it concerns with the particulars an application
    prints; the decision's own rows have no such labels. Sentences after a label with no
    colon are not values: no date without a digit, no name in lower case."""
    lines = [
        ("QUYẾT ĐỊNH", 0.42, 0.20),
        ("Điều 1. Cấp giấy phép cho:", 0.08, 0.30),
        ("Họ và tên: Trần Văn Khoa", 0.10, 0.32),
        ("Ngày sinh: 11/06/1973", 0.10, 0.34),
        ("Số định danh cá nhân: 049073048084", 0.10, 0.36),
    ]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.facts.doc_type == "decision"
    read = {(f.name, f.value) for f in merge_record([found], rules, kind="ket-qua").fields}
    assert ("applicant_name", "Trần Văn Khoa") in read
    assert ("birth_date", "1973-06-11") in read and ("id_number", "049073048084") in read
    sentences = [
        ("QUYẾT ĐỊNH", 0.42, 0.20),
        ("Điều 2. Ghi chú ngày sinh trong Sổ đăng ký theo giấy tờ tùy thân", 0.08, 0.30),
        ("Điều 3. Họ và tên người được cấp ghi trong Sổ đăng ký", 0.08, 0.33),
    ]
    found = extract_page(lines_page(sentences), (), rules, separator_codes=())
    names = {f.name for f in merge_record([found], rules, kind="ket-qua").fields}
    assert not names & {"birth_date", "applicant_name"}, names


def test_a_certificate_gives_its_holders_contact_details(rules):
    lines = [
        ("GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", 0.2, 0.10),
        ("Điện thoại: 0905 123 456      Email: ho.kinh.doanh@gmail.com", 0.08, 0.30),
    ]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.facts.doc_type == "certificate"
    read = {(f.name, f.value) for f in merge_record([found], rules, kind="ket-qua").fields}
    assert {("phone", "0905123456"), ("email", "ho.kinh.doanh@gmail.com")} <= read


def test_a_page_with_a_title_never_seen_still_gives_its_labelled_values(rules):
    """Another office's slip, its title in no rule: the one-stop-shop and personal-data
    labels are read on it all the same (before, only the codes on it were)."""
    lines = [
        ("PHIẾU THEO DÕI LUÂN CHUYỂN HỒ SƠ", 0.25, 0.10),
        ("Mã hồ sơ: 000.00.06.H56-231027-0361", 0.08, 0.15),
        ("Họ và tên người nộp: Trần Văn Hưởng", 0.08, 0.20),
        ("Số định danh cá nhân: 045087002319", 0.08, 0.23),
    ]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.facts.doc_type == "other"
    values = _values(found)
    assert values["applicant_name"] == "Trần Văn Hưởng"
    assert values["id_number"] == "045087002319"
    assert values["dossier_code"] == "000.00.06.H56-231027-0361"


def test_value_on_the_line_after_an_empty_colon(rules):
    lines = [
        *RECEIPT_TOP,
        ("Tiếp nhận hồ sơ của ông (bà):", 0.08, 0.20),
        ("TRẦN THỊ MAI", 0.08, 0.215),
        ("Nội dung yêu cầu giải quyết:", 0.08, 0.24),
        ("Cấp bản sao trích lục hộ tịch", 0.08, 0.255),
    ]
    values = _values(extract_page(lines_page(lines), (), rules, separator_codes=()))
    assert values["applicant_name"] == "Trần Thị Mai"
    assert values["procedure_name"] == "Cấp bản sao trích lục hộ tịch"


def test_no_value_is_taken_from_a_label_an_instruction_or_a_heading(rules):
    """Blank form fields and signature blocks give nothing, not the next label or heading."""
    lines = [
        *RECEIPT_TOP,
        ("Họ và tên người nộp:", 0.08, 0.20),
        ("Địa chỉ: ............", 0.08, 0.215),
        ("NGƯỜI NỘP HỒ SƠ", 0.1, 0.6),
        ("NGƯỜI TIẾP NHẬN HỒ SƠ", 0.6, 0.6),
        ("(Ký và ghi rõ họ tên)", 0.1, 0.615),
    ]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.best("applicant_name") is None
    assert found.best("address") is None


# --------------------------------------------------------------------------- synonyms


@pytest.mark.parametrize(
    ("doc_title", "line", "field", "value"),
    [
        (
            "GIẤY TIẾP NHẬN HỒ SƠ",
            "Nội dung yêu cầu giải quyết: Đăng ký kết hôn",
            "procedure_name",
            "Đăng ký kết hôn",
        ),
        (
            "GIẤY TIẾP NHẬN HỒ SƠ",
            "Tiếp nhận hồ sơ của ông (bà): Lê Thị Hoa",
            "applicant_name",
            "Lê Thị Hoa",
        ),
        ("GIẤY TIẾP NHẬN HỒ SƠ", "Số định danh cá nhân: 045187002319", "id_number", "045187002319"),
        ("TỜ KHAI ĐĂNG KÝ KHAI SINH", "Số CCCD: 045187002319", "id_number", "045187002319"),
        (
            "GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH",
            "Số giấy tờ pháp lý của cá nhân: 045187002319",
            "id_number",
            "045187002319",
        ),
        ("GIẤY TIẾP NHẬN HỒ SƠ", "Số CMND/CCCD: 045187002319", "id_number", "045187002319"),
    ],
)
def test_label_synonyms(rules, doc_title, line, field, value):
    lines = [(doc_title, 0.25, 0.1), (line, 0.08, 0.2)]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.best(field).value == value


def test_template_rows_are_tagged_and_can_be_held_out(rules):
    tagged = {f for t in rules.doc_types.values() for r in t.fields for f in r.families}
    tagged |= {f for t in rules.doc_types.values() for f in t.families}
    assert tagged <= {
        "tiep-nhan",
        "phieu-kiem-soat",
        "to-khai",
        "quyet-dinh",
        "trich-luc",
        "giay-chung-nhan",
    }
    assert {"tiep-nhan", "phieu-kiem-soat", "giay-chung-nhan"} <= tagged
    held_out = without_families(rules, ["giay-chung-nhan"])

    def labels(r):
        return {label for t in r.doc_types.values() for f in t.fields for label in f.folded_labels}

    assert "so giay to phap ly cua ca nhan" in labels(rules) - labels(held_out)
    assert "control_sheet" not in without_families(rules, ["phieu-kiem-soat"]).doc_types
    assert "control_sheet" in rules.doc_types  # the original is untouched


def test_a_rule_with_an_unknown_role_is_a_config_error(tmp_path: Path):
    bad = tmp_path / "rules.toml"
    bad.write_text(
        '[doc_types.receipt]\ntitles=["x"]\n[[doc_types.receipt.fields]]\nname="applicant_name"\n'
        'labels=["họ tên"]\nrole="cousin"\nfamilies=["tiep-nhan"]\n'
    )
    with pytest.raises(ConfigError, match="unknown role 'cousin'"):
        load_rules(bad)
    bad.write_text(bad.read_text().replace('role="cousin"\n', ""))
    assert load_rules(bad).doc_types["receipt"].fields[0].families == ("tiep-nhan",)


def test_a_control_sheet_travels_with_its_dossier(rules):
    """Phiếu kiểm soát prints the mã hồ sơ too, but never opens a new dossier."""
    receipt = lines_page([*RECEIPT_TOP, ("Họ và tên: Lê Văn Tám", 0.08, 0.2)], index=0)
    control = lines_page(
        [
            ("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", 0.2, 0.1),
            ("Mã hồ sơ: 000.00.06.H56-231027-0361", 0.3, 0.13),
        ],
        index=1,
    )
    found = [extract_page(p, (), rules, separator_codes=()) for p in (receipt, control)]
    assert found[1].facts.doc_type == "control_sheet"
    assert found[1].best("dossier_code").value == "000.00.06.H56-231027-0361"
    assert [s.pages for s in split_batch(found)] == [(0, 1)]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("line", "field", "day"),
    [
        (
            "Thời gian nhận hồ sơ: 14 giờ 30 phút, ngày 0 5 tháng 1 1 năm 2026",
            "received_date",
            "2026-11-05",
        ),
        ("Ngày hẹn trả kết quả: 08h00 ngày 05/11/2 026", "due_date", "2026-11-05"),
        ("Thời gian nhận hồ sơ: ngày 31 tháng 10 năm 2 023", "received_date", "2023-10-31"),
    ],
)
def test_dates_with_times_and_split_digit_groups(rules, line, field, day):
    found = extract_page(
        lines_page([*RECEIPT_TOP, (line, 0.08, 0.3)]), (), rules, separator_codes=()
    )
    best = found.best(field)
    assert best.value == day and best.problem is None


# --------------------------------------------------------------------------- real Tesseract


def _ruled_receipt(path: Path) -> None:
    """A receipt of another office: table cells with ruled borders, labels in one column."""
    from samples.synth import _load_font

    image = Image.new("L", (2480, 1500), 255)
    draw = ImageDraw.Draw(image)
    big, font = _load_font(None, 52), _load_font(None, 44)
    draw.text((330, 80), "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", font=big, fill=0)
    draw.text((200, 200), "Mã hồ sơ: 000.00.06.H56-261105-0042", font=font, fill=0)
    rows = [
        ("Họ và tên người nộp", "NGUYỄN THỊ HỒNG ĐÀO"),
        ("Số CCCD", "001196012345"),
        ("Ngày sinh", "12/03/1996"),
        ("Nội dung yêu cầu", "Đăng ký khai sinh"),
    ]
    top = 330
    for n, (label, value) in enumerate(rows):
        y = top + n * 110
        draw.rectangle((150, y, 2330, y + 110), outline=0, width=4)
        draw.line((1000, y, 1000, y + 110), fill=0, width=4)
        draw.text((180, y + 30), label, font=font, fill=0)
        draw.text((1040, y + 30), value, font=font, fill=0)
    draw.text((200, top + 500), "Tiếp nhận hồ sơ của ông (bà): Trần Văn Hưởng", font=font, fill=0)
    image.save(path, dpi=(300, 300))


def test_a_ruled_receipt_read_by_tesseract(tmp_path: Path):
    from ocr.reading import read_page
    from schemas.settings import OcrSettings
    from tests.conftest import page_image

    path = tmp_path / "receipt.png"
    _ruled_receipt(path)
    reading = read_page(page_image(path, source="receipt.png"), OcrSettings())
    rules = load_rules()
    found = extract_page(reading.ocr, reading.codes, rules, separator_codes=())
    assert found.facts.doc_type == "receipt"
    merged = merge_record([found], rules, kind="thanh-phan")
    values = {f.name: f.value for f in merged.fields if f.problem is None}
    assert values["id_number"] == "001196012345"
    assert values["birth_date"] == "1996-03-12"
    assert values["procedure_name"] == "Đăng ký khai sinh"
    applicants = {p.name for p in merged.persons if p.role == "applicant"}
    assert applicants == {"Nguyễn Thị Hồng Đào", "Trần Văn Hưởng"}  # two applicants: a conflict


def test_a_date_line_is_no_birth_date(rules):
    """ "Quảng Bình, ngày 02 …" reads close to "sinh ngày" once folded; its comma says otherwise."""
    lines = [*RECEIPT_TOP, ("Quảng Bình, ngày 02 tháng 01 năm 2023", 0.5, 0.16)]
    found = extract_page(lines_page(lines), (), rules, separator_codes=())
    assert found.best("birth_date") is None
