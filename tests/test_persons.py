"""People with roles: who each name, ID number and date of birth belongs to, conflicts between
two people of one role, an ID number checked against its own holder's birth, and the review
queue showing both values with their pages.

The dossier is the one of issue 18: a receipt naming two different applicants, a birth
declaration (the applicant, the child, the mother with a CCCD of someone born in 1987 while
her birth year is 1996, the father). Pages are built as the pipeline gives them to
:mod:`ocr.fields` (words with boxes, one Tesseract line per printed line).
"""

from __future__ import annotations

import json

import pytest
from test_catalog import make_manifest

from catalog.database import Catalog
from ocr.fields import extract_page, merge_fields, merge_record, review_reasons
from ocr.rules import load_rules
from records.commit import load_manifest, put_manifest
from records.review import correct_field, review_reason
from schemas.fields import Person
from schemas.models import Manifest, PageOcr, Word
from schemas.settings import FieldSettings
from storage.localstore import LocalObjectStore

W, H, CHAR = 2480, 3508, 24


def page(lines, index):
    """A PageOcr from ``(text, x_fraction, y_fraction)`` lines."""
    words = []
    for number, (text, xf, yf) in enumerate(lines):
        x = xf * W
        for token in text.split():
            words.append(
                Word(
                    text=token,
                    left=x,
                    top=yf * H,
                    width=CHAR * len(token),
                    height=40,
                    conf=92.0,
                    line=number,
                )
            )
            x += CHAR * (len(token) + 1)
    return PageOcr(
        index=index,
        width=W,
        height=H,
        dpi=300,
        words=tuple(words),
        text="\n".join(t for t, _, _ in lines),
        mean_confidence=92.0,
    )


RECEIPT = [
    ("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", 0.2, 0.10),
    ("Mã hồ sơ: 000.00.06.H56-231027-0361", 0.3, 0.13),
    ("Họ và tên người nộp: Nguyễn Thị Hồng Đào", 0.08, 0.20),
    ("Số định danh cá nhân/CCCD: 045196002319 Ngày sinh: 12/03/1996", 0.08, 0.22),
    ("Tiếp nhận hồ sơ của ông (bà): Trần Văn Hưởng", 0.08, 0.24),
    ("Nội dung yêu cầu giải quyết: Đăng ký khai sinh", 0.08, 0.26),
]

DECLARATION = [
    ("TỜ KHAI ĐĂNG KÝ KHAI SINH", 0.3, 0.08),
    ("Họ, chữ đệm, tên người yêu cầu: Nguyễn Thị Hồng Đào", 0.08, 0.14),
    ("Giấy tờ tùy thân: CCCD số 045196002319", 0.08, 0.16),
    ("Quan hệ với người được khai sinh: Mẹ", 0.08, 0.18),
    ("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", 0.08, 0.20),
    ("Họ, chữ đệm, tên: Trần Minh Khang", 0.08, 0.22),
    ("Ngày, tháng, năm sinh: 20/10/2023", 0.08, 0.24),
    ("Giới tính: Nam Dân tộc: Kinh Quốc tịch: Việt Nam", 0.08, 0.26),
    ("Họ, chữ đệm, tên người mẹ: Nguyễn Thị Hồng Đào", 0.08, 0.30),
    ("Năm sinh: 1996 Số định danh cá nhân: 045187002319", 0.08, 0.32),
    ("Họ, chữ đệm, tên người cha: Trần Văn Hưởng", 0.08, 0.36),
    ("Năm sinh: 1990", 0.08, 0.38),
]


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def dossier(rules):
    pages = [page(RECEIPT, 0), page(DECLARATION, 1)]
    return [extract_page(p, (), rules, separator_codes=()) for p in pages]


def _by_role(persons):
    out = {}
    for person in persons:
        out.setdefault(person.role, []).append(person)
    return out


def test_each_person_keeps_their_own_values(rules, dossier):
    people = _by_role(merge_record(dossier, rules, kind="thanh-phan").persons)
    assert [(p.name, p.id_number, p.birth_date, p.page) for p in people["applicant"]] == [
        ("Nguyễn Thị Hồng Đào", "045196002319", "1996-03-12", 0),
        ("Trần Văn Hưởng", None, None, 0),
    ]
    (child,) = people["subject"]
    assert (child.name, child.birth_date, child.page) == ("Trần Minh Khang", "2023-10-20", 1)
    (mother,) = people["mother"]
    assert (mother.name, mother.id_number, mother.birth_year) == (
        "Nguyễn Thị Hồng Đào",
        "045187002319",
        1996,
    )
    assert mother.problem == "cccd_birth_year_mismatch"  # her ID number says born 1987
    (father,) = people["father"]
    assert (father.name, father.birth_year, father.problem) == ("Trần Văn Hưởng", 1990, None)


def test_flat_fields_are_one_persons_never_the_childs_birth(rules, dossier):
    fields = {f.name: f for f in merge_fields(dossier, rules, kind="thanh-phan")[0]}
    assert fields["applicant_name"].value == "Nguyễn Thị Hồng Đào"
    assert fields["id_number"].value == "045196002319" and fields["id_number"].problem is None
    assert fields["birth_date"].value == "1996-03-12"  # not the child's 2023-10-20
    # a result is issued to its subject: the child's values
    result = {f.name: f.value for f in merge_fields(dossier, rules, kind="ket-qua")[0]}
    assert result["applicant_name"] == "Trần Minh Khang"
    assert result["birth_date"] == "2023-10-20"
    assert "id_number" not in result  # the child has none printed; no one else's is shown


def test_conflicts_and_mismatches_are_review_reasons_with_values_and_pages(rules, dossier):
    merged = merge_record(dossier, rules, kind="thanh-phan")
    reasons = review_reasons(merged.fields, merged.disagreements, (), 0.6, merged.persons)
    assert "person_conflict:applicant:Nguyễn Thị Hồng Đào@1|Trần Văn Hưởng@1" in reasons
    assert "person_invalid:mother:cccd_birth_year_mismatch" in reasons
    assert not any(r.startswith("person_conflict:mother") for r in reasons)
    code = "person_conflict:applicant:Nguyễn Thị Hồng Đào@1|Trần Văn Hưởng@1"
    assert review_reason(code, "vi") == (
        "Người nộp hồ sơ: hồ sơ ghi hai người khác nhau — “Nguyễn Thị Hồng Đào” (trang 1), "
        "“Trần Văn Hưởng” (trang 1)"
    )
    assert review_reason(code, "en") == (
        "applicant: the dossier names different people — “Nguyễn Thị Hồng Đào” (page 1), "
        "“Trần Văn Hưởng” (page 1)"
    )
    assert "Mẹ: số định danh không khớp" in review_reason(
        "person_invalid:mother:cccd_birth_year_mismatch", "vi"
    )


def test_one_applicant_printed_twice_is_no_conflict(rules):
    receipt = [line for line in RECEIPT if "ông (bà)" not in line[0]]
    receipt.append(("Tiếp nhận hồ sơ của ông (bà): NGUYỄN THỊ HỒNG ĐÀO", 0.08, 0.3))
    found = [extract_page(page(receipt, 0), (), rules, separator_codes=())]
    merged = merge_record(found, rules, kind="thanh-phan")
    assert [p.name for p in merged.persons if p.role == "applicant"] == ["Nguyễn Thị Hồng Đào"]
    reasons = review_reasons(merged.fields, (), (), 0.6, merged.persons)
    assert not any(r.startswith("person_") for r in reasons)


def test_an_id_card_copy_joins_the_person_it_names(rules):
    card = [
        ("CĂN CƯỚC CÔNG DÂN", 0.4, 0.1),
        ("Số / No.: 045196002319", 0.35, 0.15),
        ("Họ và tên / Full name: NGUYỄN THỊ HỒNG ĐÀO", 0.35, 0.17),
        ("Ngày sinh / Date of birth: 12/03/1996", 0.35, 0.19),
    ]
    receipt = [line for line in RECEIPT[:3]]
    pages = [page(receipt, 0), page(card, 1)]
    found = [extract_page(p, (), rules, separator_codes=()) for p in pages]
    assert [p.role for p in found[1].persons] == ["other"]  # the card alone says no role
    merged = merge_record(found, rules, kind="thanh-phan")
    assert [(p.role, p.name, p.id_number, p.birth_date) for p in merged.persons] == [
        ("applicant", "Nguyễn Thị Hồng Đào", "045196002319", "1996-03-12"),
    ]


def test_a_birth_extract_places_the_subject_and_parents(rules):
    extract = [
        ("ỦY BAN NHÂN DÂN", 0.1, 0.04),
        ("XÃ HẢI THƯỢNG", 0.1, 0.06),
        ("Số: 125/TLKS-BS", 0.1, 0.09),
        ("TRÍCH LỤC KHAI SINH", 0.35, 0.14),
        ("Họ, chữ đệm, tên: Trần Minh Khang", 0.08, 0.20),
        ("Ngày, tháng, năm sinh: 20/10/2023 ghi bằng chữ: Ngày hai mươi tháng mười", 0.08, 0.22),
        ("Số định danh cá nhân: 045223012345", 0.08, 0.24),
        ("Họ và tên mẹ: Nguyễn Thị Hồng Đào Năm sinh: 1996", 0.08, 0.28),
        ("Họ và tên cha: Trần Văn Hưởng Năm sinh: 1990", 0.08, 0.30),
    ]
    found = [extract_page(page(extract, 0), (), rules, separator_codes=())]
    assert found[0].facts.doc_type == "certificate"
    merged = merge_record(found, rules, kind="ket-qua")
    roles = {p.role: p for p in merged.persons}
    assert roles["subject"].id_number == "045223012345" and roles["subject"].problem is None
    assert (roles["mother"].name, roles["mother"].birth_year) == ("Nguyễn Thị Hồng Đào", 1996)
    assert (roles["father"].name, roles["father"].birth_year) == ("Trần Văn Hưởng", 1990)
    flat = {f.name: f.value for f in merged.fields}
    assert flat["applicant_name"] == "Trần Minh Khang" and flat["birth_date"] == "2023-10-20"


def test_a_manifest_without_persons_still_loads_and_persons_round_trip(tmp_path, catalog_url):
    old = json.loads(make_manifest("r1", dossier_code="D", text="t").model_dump_json())
    old.pop("persons", None)
    assert Manifest.model_validate(old).persons == ()
    store = LocalObjectStore(tmp_path / "objects")
    catalog = Catalog(catalog_url)
    try:
        mother = Person(role="mother", name="Nguyễn Thị Hồng Đào", birth_year=1996, page=1)
        conflict = "person_conflict:applicant:Nguyễn Thị Hồng Đào@1|Trần Văn Hưởng@1"
        manifest = make_manifest("r1", dossier_code="000.00.06.H56-231027-0361", text="t")
        manifest = manifest.model_copy(
            update={"persons": (mother,), "status": "needs_review", "review_reasons": (conflict,)}
        )
        key = "archive/H56/2024/05/x/r1.manifest.json"
        put_manifest(manifest, key, store, catalog)
        assert load_manifest(store, key).persons == (mother,)
        corrected = correct_field(
            store=store,
            catalog=catalog,
            settings=FieldSettings(),
            record_id="r1",
            field="phone",
            value="0912345678",
            by="clerk1",
        )
        assert conflict in corrected.review_reasons  # a field's correction does not clear it
        assert corrected.persons == (mother,)
    finally:
        catalog.close()


def test_the_pipeline_drafts_carry_persons_and_their_reasons(tmp_path):
    """``ocr.reading.draft_records`` (what the flow runs) puts the people on the record draft."""
    from ocr.reading import draft_records
    from schemas.models import PageImage, PageReading

    readings = [PageReading(ocr=page(RECEIPT, 0)), PageReading(ocr=page(DECLARATION, 1))]
    images = [
        PageImage(
            index=n,
            path=str(tmp_path / f"{n}.png"),
            source="scan.pdf",
            source_page=n,
            width=W,
            height=H,
            dpi=300.0,
            mode="L",
            encoding="png",
        )
        for n in range(2)
    ]
    (draft,) = draft_records(
        images,
        readings,
        kind="thanh-phan",
        record_id=lambda n: f"r{n}",
        forced_dossier=None,
        settings=FieldSettings(),
    )
    assert {p.role for p in draft.persons} == {"applicant", "subject", "mother", "father"}
    assert "person_invalid:mother:cccd_birth_year_mismatch" in draft.field_reasons
    assert any(r.startswith("person_conflict:applicant:") for r in draft.field_reasons)


def test_a_household_business_certificate_names_its_owner(rules):
    """ "Loại giấy tờ pháp lý" (the kind of paper) is not "Số giấy tờ pháp lý" (its number),
    and a value that fails its check never pushes the real ID number to a second person."""
    certificate = [
        ("UBND HUYỆN HẢI LĂNG", 0.08, 0.04),
        ("GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", 0.2, 0.10),
        ("5. Thông tin về chủ hộ kinh doanh/đại diện hộ gia đình:", 0.08, 0.28),
        ("Họ và tên: PHAN THỊ THU HÀ Giới tính: Nữ", 0.08, 0.30),
        ("Sinh ngày: 12/03/1996 Dân tộc: Kinh Quốc tịch: Việt Nam", 0.08, 0.32),
        ("Loại giấy tờ pháp lý của cá nhân: Căn cước công dân", 0.08, 0.34),
        ("Số giấy tờ pháp lý của cá nhân: 045196002319", 0.08, 0.36),
    ]
    found = [extract_page(page(certificate, 0), (), rules, separator_codes=())]
    merged = merge_record(found, rules, kind="ket-qua")
    assert [(p.role, p.name, p.id_number, p.birth_date) for p in merged.persons] == [
        ("subject", "Phan Thị Thu Hà", "045196002319", "1996-03-12")
    ]
    flat = {f.name: (f.value, f.problem) for f in merged.fields}
    assert flat["id_number"] == ("045196002319", None)


def test_the_signing_instruction_under_a_signature_names_nobody(rules):
    """The demo receipt's "NGƯỜI NỘP HỒ SƠ / (Ký và ghi rõ họ tên)" block, read by OCR with
    its brackets lost and "họ" as "hồ", was a third applicant in the review queue."""
    receipt = [line for line in RECEIPT if "ông (bà)" not in line[0]]
    receipt += [
        ("NGƯỜI NỘP HỒ SƠ", 0.1, 0.80),
        ("Người nộp hồ sơ: Ký và ghi rõ hồ tên", 0.1, 0.82),
    ]
    found = [extract_page(page(receipt, 0), (), rules, separator_codes=())]
    merged = merge_record(found, rules, kind="thanh-phan")
    assert [p.name for p in merged.persons if p.role == "applicant"] == ["Nguyễn Thị Hồng Đào"]
    reasons = review_reasons(merged.fields, (), (), 0.6, merged.persons)
    assert not any(r.startswith("person_conflict") for r in reasons), reasons
