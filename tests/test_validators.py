"""Field validators: form normalised, content never changed, every problem code reachable."""

from __future__ import annotations

import random
import re
import unicodedata
from datetime import date, timedelta

import pytest

from ocr.validators import (
    CCCD_PROVINCE_CODES,
    PATTERNS,
    VALIDATORS,
    Checked,
    check_date,
    check_document_number,
    check_dossier_code,
    check_email,
    check_id_number,
    check_person_name,
    check_phone,
    check_procedure_code,
    check_text,
    id_kind,
    parse_vn_date,
    vietnamese_name_case,
)

# --- mã hồ sơ ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("000.00.06.H56-231027-0361", "000.00.06.H56-231027-0361", None),
        ("H21.65-220914-0011", "H21.65-220914-0011", None),
        ("  000.00.06.h56-231027-0361 ", "000.00.06.H56-231027-0361", None),
        ("000.00.06.H56 - 231027 - 0361", "000.00.06.H56-231027-0361", None),
        ("000.00.06.H56\u2013231027\u20130361", "000.00.06.H56-231027-0361", None),
        ("G22.41-240229-0007", "G22.41-240229-0007", None),  # 2024 is a leap year
        ("000.30.21.H12-200101-9999", "000.30.21.H12-200101-9999", None),
        ("000.00.06.H56-231327-0361", "000.00.06.H56-231327-0361", "bad_date_in_code"),
        ("000.00.06.H56-230231-0361", "000.00.06.H56-230231-0361", "bad_date_in_code"),
        ("H21.65-230229-0011", "H21.65-230229-0011", "bad_date_in_code"),  # 2023: no 29 Feb
        ("000.00.06.H56-231000-0361", "000.00.06.H56-231000-0361", "bad_date_in_code"),
        ("000.00.06.H56-23IO27-0361", "000.00.06.H56-23IO27-0361", "not_a_dossier_code"),
        ("000.00.06.H56-231027-036", "000.00.06.H56-231027-036", "not_a_dossier_code"),
        ("000.00.06.H56-231027", "000.00.06.H56-231027", "not_a_dossier_code"),
        ("000.00.06-231027-0361", "000.00.06-231027-0361", "not_a_dossier_code"),  # no letter
        ("231027-0361", "231027-0361", "not_a_dossier_code"),
        ("Mã hồ sơ", "Mã hồ sơ", "not_a_dossier_code"),
        ("", "", "not_a_dossier_code"),
    ],
)
def test_dossier_code(text: str, value: str, problem: str | None) -> None:
    assert check_dossier_code(text) == Checked(value, problem)


def test_dossier_code_failure_keeps_the_reading() -> None:
    """A failing code comes back as read (only stripped), never upper-cased or repaired."""
    assert check_dossier_code(" 000.00.06.h56-231327-0361 ").value == "000.00.06.h56-231327-0361"


# --- mã TTHC ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("1.004616.000.00.00.H56", "1.004616.000.00.00.H56", None),
        ("2.000986.000.00.00.H12", "2.000986.000.00.00.H12", None),
        ("1.001193", "1.001193", None),
        (" 1.004616.000.00.00.h56 ", "1.004616.000.00.00.H56", None),
        ("1. 004616.000.00.00.H56", "1.004616.000.00.00.H56", None),
        ("1.00461.000.00.00.H56", "1.00461.000.00.00.H56", "not_a_procedure_code"),
        ("1.004616.000.00.H56", "1.004616.000.00.H56", "not_a_procedure_code"),
        ("1.004616.000.00.00.56", "1.004616.000.00.00.56", "not_a_procedure_code"),
        ("0.004616", "0.004616", "not_a_procedure_code"),
        ("BTP-HNO-277083", "BTP-HNO-277083", "not_a_procedure_code"),
        ("1.0O4616", "1.0O4616", "not_a_procedure_code"),
    ],
)
def test_procedure_code(text: str, value: str, problem: str | None) -> None:
    assert check_procedure_code(text) == Checked(value, problem)


# --- CCCD / CMND / passport ------------------------------------------------------------------


def test_province_codes_are_the_63_real_ones() -> None:
    assert len(CCCD_PROVINCE_CODES) == 63
    assert {"001", "045", "079", "096"} <= CCCD_PROVINCE_CODES
    assert not {"000", "003", "005", "097", "100"} & CCCD_PROVINCE_CODES  # never assigned
    assert all(re.fullmatch(r"0\d\d", c) and 1 <= int(c) <= 96 for c in CCCD_PROVINCE_CODES)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("045187002319", "cccd"),
        ("045 187 002 319", "cccd"),
        ("0451.8700.2319", "cccd"),
        ("197123456", "cmnd"),
        ("197-123-456", "cmnd"),
        ("C1234567", "passport"),
        ("b 1234567", "passport"),
        ("N1234567", "passport"),
        ("K1234567", "passport"),
        ("04518700231", None),
        ("CC123456", None),
        ("0451870O2319", None),
        ("", None),
    ],
)
def test_id_kind(text: str, kind: str | None) -> None:
    assert id_kind(text) == kind


@pytest.mark.parametrize(
    ("digit", "year", "sex"),
    [
        ("0", 1987, "Nam"),
        ("1", 1987, "Nữ"),
        ("2", 2005, "Nam"),
        ("3", 2005, "Nữ"),
    ],
)
def test_cccd_century_and_sex_digit(digit: str, year: int, sex: str) -> None:
    """domain.md: 1900s 0 male / 1 female, 2000s 2 / 3 (2100s 4 / 5 not yet born)."""
    number = f"045{digit}{year % 100:02d}002319"
    assert check_id_number(number, birth_date=date(year, 5, 1), sex=sex) == Checked(number, None)
    other = "Nữ" if sex == "Nam" else "Nam"
    assert check_id_number(number, sex=other).problem == "cccd_sex_mismatch"
    assert check_id_number(number, birth_date=date(year + 100 if year < 2000 else year - 100, 5, 1)
                           ).problem == "cccd_birth_year_mismatch"  # fmt: skip


@pytest.mark.parametrize("digit", ["4", "5", "6", "7", "8", "9"])
def test_cccd_century_in_the_future(digit: str) -> None:
    """4/5 mean the 2100s: nobody holding a paper today was born then."""
    assert check_id_number(f"045{digit}87002319").problem == "cccd_bad_century"


def test_cccd_2000s_year_after_this_year_is_a_bad_century() -> None:
    future = (date.today().year + 1) % 100
    assert check_id_number(f"0012{future:02d}002319").problem == "cccd_bad_century"


@pytest.mark.parametrize(
    ("text", "birth", "sex", "value", "problem"),
    [
        ("045187002319", date(1987, 3, 15), "Nữ", "045187002319", None),
        ("045 187 002 319", None, None, "045187002319", None),
        ("045.187.002.319", None, "female", "045187002319", None),
        ("045-187-002-319", None, "F", "045187002319", None),
        ("001099012345", date(1999, 1, 1), "nam", "001099012345", None),
        ("096305000001", date(2005, 12, 31), "nu", "096305000001", None),
        ("045187002319", None, "khác", "045187002319", None),  # unknown word: not checked
        ("045187002319", date(1978, 3, 15), None, "045187002319", "cccd_birth_year_mismatch"),
        ("045187002319", date(2087, 3, 15), None, "045187002319", "cccd_birth_year_mismatch"),
        ("045187002319", None, "Nam", "045187002319", "cccd_sex_mismatch"),
        ("003187002319", None, None, "003187002319", "cccd_bad_province"),
        ("000187002319", None, None, "000187002319", "cccd_bad_province"),
        ("097187002319", None, None, "097187002319", "cccd_bad_province"),
        ("145187002319", None, None, "145187002319", "cccd_bad_province"),
        ("197123456", date(1960, 1, 1), "Nam", "197123456", None),  # CMND: no structure
        ("C1234567", None, None, "C1234567", None),
        ("c 123 4567", None, None, "C1234567", None),
        ("04518700231", None, None, "04518700231", "not_an_id_number"),
        ("0451870023190", None, None, "0451870023190", "not_an_id_number"),
        ("O45187002319", None, None, "O45187002319", "not_an_id_number"),
        ("CMND", None, None, "CMND", "not_an_id_number"),
    ],
)
def test_id_number(text, birth, sex, value, problem) -> None:
    assert check_id_number(text, birth_date=birth, sex=sex) == Checked(value, problem)


def test_every_real_province_passes_and_every_other_fails() -> None:
    for code in (f"{n:03d}" for n in range(1000)):
        problem = check_id_number(f"{code}187002319").problem
        assert (problem is None) == (code in CCCD_PROVINCE_CODES), code


# --- dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ngày 10 tháng 9 năm 2022", date(2022, 9, 10)),
        ("ngay 10 thang 9 nam 2022", date(2022, 9, 10)),
        ("Quảng Trị, ngày 01 tháng 02 năm 2023", date(2023, 2, 1)),
        ("Quảng Trị,  ngày  01  tháng  02   năm  2023.", date(2023, 2, 1)),
        ("NGÀY 10 THÁNG 9 NĂM 2022", date(2022, 9, 10)),
        ("ngày 10 thảng 9 nãm 2022", date(2022, 9, 10)),
        ("ngày 10 tháng9 năm2022", date(2022, 9, 10)),
        ("ngảy 10 tháng 9, năm 2022", date(2022, 9, 10)),
        ("Hà Nội, 10 tháng 9 năm 2022", date(2022, 9, 10)),
        ("10/9/2022", date(2022, 9, 10)),
        ("10-9-2022", date(2022, 9, 10)),
        ("10.09.2022", date(2022, 9, 10)),
        ("10 / 09 / 2022", date(2022, 9, 10)),
        ("08 giờ 30 phút, ngày 27/10/2023", date(2023, 10, 27)),
        ("Thời gian nhận hồ sơ: 08 giờ 30 phút, ngày 27 tháng 10 năm 2023.", date(2023, 10, 27)),
        ("do Cục Cảnh sát cấp ngày 15/03/2021", date(2021, 3, 15)),
        ("2023-10-27", date(2023, 10, 27)),
        ("ngày 31 tháng 10 năm 2 023", date(2023, 10, 31)),  # OCR split the year (issue 18)
        ("ngày 31 tháng 10 năm 20 23, 14 giờ 05", date(2023, 10, 31)),
        ("ngày 31 tháng 10 năm 2  023", None),  # two spaces: not one number
        ("2023-10-27T08:30:00+07:00", date(2023, 10, 27)),
        ("29/02/2024", date(2024, 2, 29)),
        ("31/02/2023", None),
        ("29/02/2023", None),
        ("31/02/2023 hoặc 10/9/2022", date(2022, 9, 10)),  # the first real one
        ("ngày 32 tháng 1 năm 2023", None),
        ("ngày 10 tháng 13 năm 2022", None),
        ("1O/9/2022", None),  # O for 0: not repaired
        ("10/9/2O22", None),
        ("ngày 10 tháng 9 năm 2O22", None),
        ("10/9/22", None),  # two-digit year: not a date here
        ("10/9-2022", None),  # mixed separators
        ("05/2023/TT-BTC", None),
        ("123/QĐ-UBND", None),
        ("000.00.06.H56-231027-0361", None),
        ("", None),
        ("Ngày tháng năm", None),
    ],
)
def test_parse_vn_date(text: str, expected: date | None) -> None:
    assert parse_vn_date(text) == expected


def _formats(d: date) -> list[str]:
    """Every way the pages write ``d``."""
    return [
        f"ngày {d.day} tháng {d.month} năm {d.year}",
        f"ngày {d.day:02d} tháng {d.month:02d} năm {d.year}",
        f"ngay {d.day} thang {d.month} nam {d.year}",
        f"Quảng Trị, ngày {d.day:02d} tháng {d.month:02d} năm {d.year}",
        f"NGÀY {d.day} THÁNG {d.month} NĂM {d.year}",
        f"ngày {d.day} thảng{d.month} nãm {d.year}",
        f"{d.day}/{d.month}/{d.year}",
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.day}-{d.month}-{d.year}",
        f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"08 giờ 30 phút, ngày {d.day:02d}/{d.month:02d}/{d.year}",
        d.isoformat(),
    ]


def test_parse_vn_date_property_500_random_dates() -> None:
    rng = random.Random(20240915)
    start = date(1900, 1, 1)
    for _ in range(500):
        d = start + timedelta(days=rng.randrange(200 * 366))
        for text in _formats(d):
            assert parse_vn_date(text) == d, text
            assert check_date(text) == Checked(d.isoformat(), None), text


def test_impossible_dates_never_parse() -> None:
    """Property: day 31 of a 30-day month and 29-31 Feb of common years are never dates."""
    for year in range(1990, 2031):
        for month, day in [(2, 30), (2, 31), (4, 31), (6, 31), (9, 31), (11, 31)]:
            for text in (f"{day}/{month}/{year}", f"ngày {day} tháng {month} năm {year}"):
                assert parse_vn_date(text) is None
                assert check_date(text).problem == "impossible_date"
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        assert (parse_vn_date(f"29/02/{year}") is not None) == leap


@pytest.mark.parametrize(
    ("text", "kwargs", "value", "problem"),
    [
        ("ngày 10 tháng 9 năm 2022", {}, "2022-09-10", None),
        (" 27/10/2023 ", {}, "2023-10-27", None),
        ("2023-10-27", {}, "2023-10-27", None),
        ("31/02/2023", {}, "31/02/2023", "impossible_date"),
        ("ngày 31 tháng 4 năm 2023", {}, "ngày 31 tháng 4 năm 2023", "impossible_date"),
        ("không rõ", {}, "không rõ", "not_a_date"),
        ("", {}, "", "not_a_date"),
        ("1O/9/2022", {}, "1O/9/2022", "not_a_date"),
        ("01/01/1899", {}, "01/01/1899", "out_of_range"),
        ("01/01/1900", {}, "1900-01-01", None),
        ("10/9/2022", {"earliest": date(2023, 1, 1)}, "10/9/2022", "out_of_range"),
        ("10/9/2022", {"latest": date(2022, 9, 9)}, "10/9/2022", "out_of_range"),
        ("10/9/2022", {"latest": date(2022, 9, 10)}, "2022-09-10", None),
    ],
)
def test_check_date(text, kwargs, value, problem) -> None:
    assert check_date(text, **kwargs) == Checked(value, problem)


# --- phone and e-mail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("0912345678", "0912345678", None),
        ("0912 345 678", "0912345678", None),
        ("0912.345.678", "0912345678", None),
        ("0912-345-678", "0912345678", None),
        ("+84 912 345 678", "0912345678", None),
        ("+84912345678", "0912345678", None),
        ("(+84) 912 345 678", "0912345678", None),
        ("+84 (0) 912 345 678", "0912345678", None),
        ("84912345678", "0912345678", None),
        ("0084 912 345 678", "0912345678", None),
        ("0352 123 456", "0352123456", None),
        ("0587 123 456", "0587123456", None),
        ("0708 123 456", "0708123456", None),
        ("0868 123 456", "0868123456", None),
        ("0233 3852 123", "02333852123", None),  # Quảng Trị landline
        ("(024) 3825 1234", "02438251234", None),
        ("0123 456 7890", "0123 456 7890", "not_a_phone"),  # 11-digit mobile, retired 2018
        ("0612 345 678", "0612 345 678", "not_a_phone"),
        ("091234567", "091234567", "not_a_phone"),
        ("09123456789", "09123456789", "not_a_phone"),
        ("0912 345 67O", "0912 345 67O", "not_a_phone"),
        ("1900 1234", "1900 1234", "not_a_phone"),
        ("Số điện thoại", "Số điện thoại", "not_a_phone"),
    ],
)
def test_phone(text: str, value: str, problem: str | None) -> None:
    assert check_phone(text) == Checked(value, problem)


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("hongdao.nguyen@example.vn", "hongdao.nguyen@example.vn", None),
        ("HongDao.Nguyen@Example.VN", "HongDao.Nguyen@example.vn", None),
        ("hongdao.nguyen @ example . vn", "hongdao.nguyen@example.vn", None),
        (
            "ubnd-donghа@quangtri.gov.vn",
            "ubnd-donghа@quangtri.gov.vn",
            "not_an_email",
        ),  # Cyrillic а
        ("vanthu_ubnd+so1@quangtri.gov.vn.", "vanthu_ubnd+so1@quangtri.gov.vn", None),
        ("a@b.co", "a@b.co", None),
        ("hongdao.nguyen@example", "hongdao.nguyen@example", "not_an_email"),
        ("hongdao.nguyen.example.vn", "hongdao.nguyen.example.vn", "not_an_email"),
        ("hong dao@example.vn", "hong dao@example.vn", "not_an_email"),
        ("hongdao..nguyen@example.vn", "hongdao..nguyen@example.vn", "not_an_email"),
        ("đào@example.vn", "đào@example.vn", "not_an_email"),
        ("@example.vn", "@example.vn", "not_an_email"),
        ("x@-example.vn", "x@-example.vn", "not_an_email"),
    ],
)
def test_email(text: str, value: str, problem: str | None) -> None:
    assert check_email(text) == Checked(value, problem)


# --- số ký hiệu ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("123/QĐ-UBND", "123/QĐ-UBND", None),
        ("Số: 123/QĐ-UBND", "123/QĐ-UBND", None),
        ("So: 123/QD-UBND", "123/QD-UBND", None),
        ("SỐ 123/QĐ-UBND", "123/QĐ-UBND", None),
        ("Số:123/QĐ-UBND", "123/QĐ-UBND", None),
        ("05/2023/TT-BTC", "05/2023/TT-BTC", None),
        ("Số: 43/2014/NĐ-CP", "43/2014/NĐ-CP", None),
        ("125/TLKS-BS", "125/TLKS-BS", None),
        ("01/QĐ-CT", "01/QĐ-CT", None),
        ("1234/UBND-VP", "1234/UBND-VP", None),
        ("123 / QĐ - UBND", "123/QĐ-UBND", None),
        ("123/qđ-ubnd", "123/QĐ-UBND", None),
        ("123/QĐ\u2013UBND.", "123/QĐ-UBND", None),
        ("Số: /QĐ-UBND", "Số: /QĐ-UBND", "not_a_document_number"),  # number left blank
        ("123/2023", "123/2023", "not_a_document_number"),
        ("QĐ-UBND", "QĐ-UBND", "not_a_document_number"),
        ("12O/QĐ-UBND", "12O/QĐ-UBND", "not_a_document_number"),
        ("123/QĐ-ỦBND", "123/QĐ-ỦBND", "not_a_document_number"),
        ("Sổ hộ khẩu", "Sổ hộ khẩu", "not_a_document_number"),
    ],
)
def test_document_number(text: str, value: str, problem: str | None) -> None:
    assert check_document_number(text) == Checked(value, problem)


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NGUYỄN VĂN AN", "Nguyễn Văn An"),
        ("đặng thị ÁNH", "Đặng Thị Ánh"),
        ("  trần   văn   hưởng ", "Trần Văn Hưởng"),
        ("ĐỖ ĐỨC ĐẠT", "Đỗ Đức Đạt"),
        ("H'HEN NIÊ", "H'Hen Niê"),
        ("nguyê\u0303n văn an", "Nguyễn Văn An"),  # decomposed input comes out NFC
    ],
)
def test_vietnamese_name_case(text: str, expected: str) -> None:
    result = vietnamese_name_case(text)
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("NGUYỄN VĂN AN", "Nguyễn Văn An", None),
        ("Ông NGUYỄN VĂN AN", "Nguyễn Văn An", None),
        ("Bà: Đặng Thị Tuyết Nhung.", "Đặng Thị Tuyết Nhung", None),
        ("Ông/Bà: lê thị mỹ duyên", "Lê Thị Mỹ Duyên", None),
        ("Ông (Bà) Trần Văn Hưởng,", "Trần Văn Hưởng", None),
        ("ông (bà): Trần Văn Hưởng", "Trần Văn Hưởng", None),
        ("Anh Phạm Quốc Huy", "Phạm Quốc Huy", None),
        ("Chị Nguyễn Thị Hồng Đào;", "Nguyễn Thị Hồng Đào", None),
        ("Bảo Ngọc", "Bảo Ngọc", None),  # "Bả…" is not "Bà"
        ("Ksor H'Bia", "Ksor H'Bia", None),
        ("Tôn Nữ Thị Ngọc Bảo Trâm Anh", "Tôn Nữ Thị Ngọc Bảo Trâm Anh", None),
        ("Nguyễn Văn 4n", "Nguyễn Văn 4n", "name_has_digits"),
        ("Ông Nguyễn", "Ông Nguyễn", "name_too_short"),
        ("Nguyễn", "Nguyễn", "name_too_short"),
        ("", "", "name_too_short"),
        ("Tôn Nữ Thị Ngọc Bảo Trâm Anh Thư", "Tôn Nữ Thị Ngọc Bảo Trâm Anh Thư", "name_too_long"),
        ("Nguyễn Văn A|n", "Nguyễn Văn A|n", "name_not_vietnamese"),
        ("Nguyễn Văn Ân_", "Nguyễn Văn Ân_", "name_not_vietnamese"),
        ("Иван Петров", "Иван Петров", "name_not_vietnamese"),
        ("Nguyễn Vǎn An", "Nguyễn Vǎn An", "name_not_vietnamese"),  # ǎ (caron) is not ă
    ],
)
def test_person_name(text: str, value: str, problem: str | None) -> None:
    assert check_person_name(text) == Checked(value, problem)


@pytest.mark.parametrize(
    ("text", "value", "problem"),
    [
        ("Đăng ký khai sinh", "Đăng ký khai sinh", None),
        ("  số 12   đường Lê Lợi,\nphường Đông Hà.  ", "số 12 đường Lê Lợi, phường Đông Hà", None),
        ("Bản chính (01 bộ);", "Bản chính (01 bộ)", None),
        ("Quyết định\u00a0số 5 –", "Quyết định số 5", None),
        ("Đa\u0300o", "Đào", None),
        ("", "", "empty"),
        ("  .;: ", ".;:", "empty"),
    ],
)
def test_text(text: str, value: str, problem: str | None) -> None:
    assert check_text(text) == Checked(value, problem)


# --- the whole set -----------------------------------------------------------------------

_VALID_SAMPLES = {
    "dossier_code": ["000.00.06.H56-231027-0361", "h21.65 - 220914 - 0011"],
    "procedure_code": ["1.004616.000.00.00.h56", "1.001193"],
    "id_number": ["045 187 002 319", "197123456", "c1234567"],
    "date": ["ngày 10 tháng 9 năm 2022", "10.09.2022"],
    "phone": ["+84 912 345 678", "0233.3852.123"],
    "email": ["HongDao@Example.VN"],
    "document_number": ["Số: 123/qđ-ubnd", "05/2023/TT-BTC"],
    "person_name": ["Ông/Bà: NGUYỄN VĂN AN"],
    "text": ["  Đăng ký   khai sinh. "],
}


def test_validators_table_names_every_rule() -> None:
    assert set(VALIDATORS) == set(_VALID_SAMPLES)


@pytest.mark.parametrize(
    ("rule", "text"), [(rule, text) for rule, texts in _VALID_SAMPLES.items() for text in texts]
)
def test_validators_are_idempotent(rule: str, text: str) -> None:
    """Property: a normalised value is valid and normalises to itself."""
    first = VALIDATORS[rule](text)
    assert first.ok
    assert VALIDATORS[rule](first.value) == first


@pytest.mark.parametrize("rule", sorted(_VALID_SAMPLES))
def test_failures_return_the_input_stripped(rule: str) -> None:
    """Property: whatever fails comes back as read (NFC, stripped), with a problem code."""
    rng = random.Random(rule)
    alphabet = "0123456789./-: ĐđAaÁáOo@|_xyz"
    failed = 0
    for _ in range(300):
        text = " " + "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))) + "\t"
        result = VALIDATORS[rule](text)
        if result.problem:
            failed += 1
            assert re.fullmatch(r"[a-z_]+", result.problem), result
            assert result.value == unicodedata.normalize("NFC", text).strip(), (text, result)
        else:  # what passes is normalised: checking it again changes nothing
            assert VALIDATORS[rule](result.value) == result, (text, result)
    assert failed, f"no random input failed {rule}: the property above was never exercised"


# --- patterns ---------------------------------------------------------------------------

_LINE = (
    "Mã hồ sơ: 000.00.06.H56-231027-0361, Mã TTHC: 1.004616.000.00.00.H56. "
    "Số giấy tờ tùy thân: 045 187 002 319; ĐT: 0912 345 678, email hongdao.nguyen@example.vn."
)


@pytest.mark.parametrize(
    ("name", "line", "found"),
    [
        ("dossier_code", _LINE, ["000.00.06.H56-231027-0361"]),
        ("dossier_code", "Mã hồ sơ:H21.65-220914-0011 (bản chính)", ["H21.65-220914-0011"]),
        (
            "dossier_code",
            "Mã hồ sơ: 000.00.06.h56 - 231027 - 0361",
            ["000.00.06.h56 - 231027 - 0361"],
        ),
        ("dossier_code", "Hồ sơ 000.00.06.H56-231027-03612", []),
        ("procedure_code", _LINE, ["1.004616.000.00.00.H56"]),
        ("procedure_code", "Mã thủ tục 1.001193.", ["1.001193"]),
        ("procedure_code", "Phí: 1.200.000 đồng", []),
        ("cccd", _LINE, ["045 187 002 319"]),
        ("cccd", "CCCD số 045187002319 cấp ngày 15/03/2021", ["045187002319"]),
        ("cccd", "CCCD: 0451 8700 2319", ["0451 8700 2319"]),
        ("cccd", "Số tài khoản 1045187002319", []),
        ("phone", _LINE, ["0912 345 678"]),
        (
            "phone",
            "Điện thoại: +84 912 345 678 hoặc 0233.3852.123",
            ["+84 912 345 678", "0233.3852.123"],
        ),
        ("phone", "Mã TTHC 1.004616.000.00.00.H56", []),
        ("phone", "ngày 27/10/2023", []),
        ("email", _LINE, ["hongdao.nguyen@example.vn"]),
        ("document_number", "Số: 123/QĐ-UBND", ["123/QĐ-UBND"]),
        ("document_number", "SỐ: 05/2023/TT-BTC  Hà Nội", ["05/2023/TT-BTC"]),
        ("document_number", "Số 125/TLKS-BS", ["125/TLKS-BS"]),
        ("document_number", "số: 01/QĐ-CT", ["01/QĐ-CT"]),
        ("document_number", "Căn cứ Nghị định số 43/2014/NĐ-CP ngày 15 tháng 5 năm 2014", []),
        ("document_number", "Số lượng hồ sơ: 01 (bộ)", []),
        ("date_line", "Quảng Trị, ngày 10 tháng 9 năm 2022", ["Quảng Trị"]),
        ("date_line", "Làm tại: phường Đông Hà, ngày 27 tháng 10 năm 2023", ["phường Đông Hà"]),
        ("date_line", "TP. Hồ Chí Minh, ngày 01 tháng 02 năm 2023", ["TP. Hồ Chí Minh"]),
        ("date_line", "QUẢNG TRỊ, NGÀY 01 THÁNG 02 NĂM 2023", ["QUẢNG TRỊ"]),
        ("date_line", "Căn cứ Luật Đất đai ngày 29 tháng 11 năm 2013;", []),
    ],
)
def test_patterns_find_values_in_a_line(name: str, line: str, found: list[str]) -> None:
    assert [m.group(1) for m in PATTERNS[name].finditer(line)] == found


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("dossier_code", "dossier_code"),
        ("procedure_code", "procedure_code"),
        ("cccd", "id_number"),
        ("phone", "phone"),
        ("email", "email"),
        ("document_number", "document_number"),
    ],
)
def test_pattern_matches_pass_their_validator(name: str, rule: str) -> None:
    line = _LINE + " Số: 123/QĐ-UBND"
    matches = [m.group(1) for m in PATTERNS[name].finditer(line)]
    assert matches
    assert all(VALIDATORS[rule](m).ok for m in matches)


def test_date_line_pattern_gives_the_date() -> None:
    match = PATTERNS["date_line"].search("Quảng Trị, ngày 01 tháng 02 năm 2023")
    assert match and parse_vn_date(match.group(2)) == date(2023, 2, 1)
