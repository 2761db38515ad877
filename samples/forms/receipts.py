"""One-stop-shop papers of Circular 01/2018/TT-VPCP: the receipt (Mẫu số 01) and the
processing-control slip (Mẫu số 02).

Why these two: they carry the dossier's identity (mã hồ sơ, applicant, procedure, dates) in
two arrangements the docgen receipts never use: several labelled values on one line, dates
with times ("14 giờ 30 phút, ngày 05 tháng 11 năm 2026"), values on the line after their
label (tiep-nhan), and label and value in separate cells of a ruled table, or values in the
row under a header row (phieu-kiem-soat).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from samples.forms.canvas import Canvas
from samples.forms.model import Draft
from samples.forms.values import (
    PROCEDURES,
    Citizen,
    Place,
    Procedure,
    date_as_printed,
    date_line,
    dossier_code,
    phone_as_printed,
    place_name,
    plus_workdays,
    random_citizen,
    random_name,
    workday,
)

COMPONENTS = {
    "Hộ tịch": (
        "Tờ khai theo mẫu quy định", "Giấy chứng sinh", "Bản sao Giấy chứng nhận kết hôn",
        "Giấy báo tử hoặc giấy tờ thay thế", "Văn bản ủy quyền (nếu có)",
        "Giấy tờ chứng minh nơi cư trú",
    ),
    "Đăng ký kinh doanh": (
        "Giấy đề nghị đăng ký hộ kinh doanh", "Bản sao hợp đồng thuê địa điểm kinh doanh",
        "Biên bản họp thành viên hộ gia đình", "Văn bản ủy quyền cho thành viên",
    ),
    "": (
        "Đơn đề nghị theo mẫu", "Bản sao giấy tờ chứng minh quyền sử dụng đất",
        "Bản vẽ thiết kế", "Văn bản ủy quyền (nếu có)", "Giấy tờ khác có liên quan",
    ),
}  # fmt: skip
FORMS = ("Bản chính", "Bản sao có chứng thực", "Bản chụp", "Bản sao")


def _office(rng: random.Random, place: Place) -> tuple[list[str], str, str]:
    """(agency lines, date-line place, office name in running text) of the receiving office."""
    district, commune = place.district, place.commune
    choices = (
        (["ỦY BAN NHÂN DÂN", commune.upper()], place_name(commune),
         f"Bộ phận Tiếp nhận và Trả kết quả {commune}"),
        ([f"UBND {district.upper()}", "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ"], place_name(district),
         f"Bộ phận Tiếp nhận và Trả kết quả {district}"),
        ([f"UBND {place.province.name.upper()}", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"],
         place_name(place.province.name), "Trung tâm Phục vụ hành chính công"),
    )  # fmt: skip
    return rng.choice(choices)


def _hm(rng: random.Random, morning: bool | None = None) -> tuple[int, int]:
    hour = rng.choice((7, 8, 9, 10, 13, 14, 15, 16)) if morning is None else (8 if morning else 14)
    return hour, rng.randrange(0, 60, 5) if morning is None else 0


def _timed(rng: random.Random, day: date, hm: tuple[int, int]) -> str:
    """A time and a date as receipts print them, in one of several shapes."""
    h, m = hm
    return rng.choice(
        (
            f"{h:02d} giờ {m:02d} phút, ngày {day:%d} tháng {day:%m} năm {day.year}",
            f"{h:02d} giờ {m:02d} phút ngày {day:%d}/{day:%m}/{day.year}",
            f"{h:02d}h{m:02d}, ngày {day.day}/{day.month}/{day.year}",
            f"vào lúc {h:02d} giờ {m:02d} phút, ngày {day:%d} tháng {day:%m} năm {day.year}",
        )
    )


def _case(rng: random.Random) -> tuple[Citizen, Procedure, date, date, str, str]:
    person, proc = random_citizen(rng), rng.choice(PROCEDURES)
    received = workday(rng)
    due = plus_workdays(received, proc.days)
    hcode = person.place.province.hcode
    return person, proc, received, due, dossier_code(rng, received, hcode), proc.code(hcode)


# --------------------------------------------------------------------------- Mẫu số 01


def draw_tiep_nhan(c: Canvas, rng: random.Random, d: Draft) -> str:
    """Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu số 01, Thông tư 01/2018/TT-VPCP)."""
    person, proc, received, due, code, proc_code = _case(rng)
    agency, where, office = _office(rng, person.place)
    dated = rng.random() < 0.6
    c.header(agency, [date_line(where, received)] if dated else [])
    c.y += c.mm(3)
    c.para(
        rng.choice(("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",) * 4 + ("GIẤY BIÊN NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",)),
        style="b", scale=1.08, align="c",
    )  # fmt: skip
    c.para(f"{rng.choice(('Mã hồ sơ:', 'Mã hồ sơ:', 'Số hồ sơ:'))} {code}", style="b", align="c")
    c.para("(Liên: Lưu/giao khách hàng)", style="i", scale=0.85, align="c", after=2)
    d.put(dossier_code=code)
    _tiep_nhan_person(c, rng, d, person, office)
    _tiep_nhan_request(c, rng, d, proc, proc_code)
    _tiep_nhan_components(c, rng, proc)
    _tiep_nhan_schedule(c, rng, d, proc, received, due, office)
    _two_signatures(c, rng, person.name, random_name(rng, rng.choice(("nam", "nữ"))), d)
    return "receipt"


def _tiep_nhan_person(
    c: Canvas, rng: random.Random, d: Draft, person: Citizen, office: str
) -> None:
    name_style = rng.choice(("b", "r"))
    shown = person.name.upper() if rng.random() < 0.4 else person.name
    opening = rng.choice(("intro", "inline", "nop"))
    d.variant.append(f"name:{opening}")
    if opening == "intro":
        c.para(f"{office} tiếp nhận hồ sơ của:")
        c.runs([("Ông (bà):", "r"), (shown, name_style)])
    elif opening == "inline":
        c.runs([("Tiếp nhận hồ sơ của ông (bà):", "r"), (shown, name_style)])
    else:
        c.runs(
            [
                (rng.choice(("Họ và tên người nộp:", "Họ tên người nộp hồ sơ:")), "r"),
                (shown, name_style),
            ]
        )
    birth_shown = rng.random() < 0.85
    id_style = rng.choice(("same-line", "same-line", "comma", "separate"))
    d.variant.append(f"id:{id_style}")
    born = date_as_printed(rng, person.birth)
    id_label = rng.choice(
        ("Số định danh cá nhân/CCCD:", "Số CCCD:", "Số định danh cá nhân:", "Số CCCD/CMND:")
    )
    if id_style == "same-line" and birth_shown:
        x = c.text(c.left, c.y, f"{id_label} {person.id_number}")
        c.text(max(x + c.mm(8), c.left + c.width * 0.58), c.y, f"Ngày sinh: {born}")
        c.y += c.pitch()
    elif id_style == "comma" and birth_shown:
        c.para(f"{id_label} {person.id_number}, ngày sinh: {born}")
    else:
        c.para(f"{id_label} {person.id_number}")
        if birth_shown:
            c.para(f"{rng.choice(('Ngày sinh:', 'Ngày, tháng, năm sinh:', 'Sinh ngày:'))} {born}")
    address_label = rng.choice(
        ("Địa chỉ:", "Địa chỉ liên hệ:", "Nơi cư trú:", "Địa chỉ thường trú:")
    )
    if rng.random() < 0.3:
        d.variant.append("address:next-line")
        c.para(address_label)
        c.para(person.address, indent=c.mm(8))
    else:
        c.para(f"{address_label} {person.address}")
    _contact(c, rng, d, person)
    d.put(
        applicant_name=person.name,
        id_number=person.id_number,
        birth_date=person.birth.isoformat() if birth_shown else None,
        address=person.address,
    )
    d.person("applicant", person.name, person.id_number, person.birth if birth_shown else None)


def _contact(c: Canvas, rng: random.Random, d: Draft, person: Citizen) -> None:
    phone = phone_as_printed(rng, person.phone)
    email = person.email if rng.random() < 0.7 else None
    label = rng.choice(("Số điện thoại:", "Điện thoại:", "Điện thoại liên hệ:"))
    if email and rng.random() < 0.6:
        x = c.text(c.left, c.y, f"{label} {phone}")
        c.text(max(x + c.mm(8), c.left + c.width * 0.5), c.y, f"Email: {email}")
        c.y += c.pitch()
    else:
        c.para(f"{label} {phone}")
        if email:
            c.para(f"{rng.choice(('Email:', 'Thư điện tử:'))} {email}")
    d.put(phone=person.phone, email=email)


def _tiep_nhan_request(
    c: Canvas, rng: random.Random, d: Draft, proc: Procedure, proc_code: str
) -> None:
    label = rng.choice(("Nội dung yêu cầu giải quyết:",) * 3 + ("Tên thủ tục hành chính:",))
    if rng.random() < 0.3:
        d.variant.append("procedure:next-line")
        c.para(label)
        c.para(proc.name, indent=c.mm(8))
    else:
        c.para(f"{label} {proc.name}")
    d.put(procedure_name=proc.name)
    shown = rng.random()
    if shown < 0.45:
        x = c.text(c.left, c.y, f"{rng.choice(('Mã thủ tục:', 'Mã TTHC:'))} {proc_code}")
        c.text(max(x + c.mm(8), c.left + c.width * 0.62), c.y, f"Lĩnh vực: {proc.sector}")
        c.y += c.pitch()
        d.put(procedure_code=proc_code, sector=proc.sector)
    elif shown < 0.7:
        c.para(f"Lĩnh vực: {proc.sector}")
        d.put(sector=proc.sector)


def _tiep_nhan_components(c: Canvas, rng: random.Random, proc: Procedure) -> None:
    c.para(rng.choice(("1. Thành phần hồ sơ nộp gồm:", "1. Thành phần hồ sơ gồm có:")), after=1)
    pool = COMPONENTS.get(proc.sector, COMPONENTS[""])
    items = rng.sample(pool, rng.randint(2, min(4, len(pool))))
    rows = [["TT", "Tên giấy tờ", "Hình thức (bản chính, bản sao hoặc bản chụp)", "Ghi chú"]]
    rows += [[str(n + 1), item, rng.choice(FORMS), ""] for n, item in enumerate(items)]
    c.table((0.07, 0.45, 0.32, 0.16), rows, header_rows=1, scale=0.88)


def _tiep_nhan_schedule(
    c: Canvas, rng: random.Random, d: Draft, proc: Procedure, received: date, due: date, office: str
) -> None:
    c.para(f"2. Số lượng hồ sơ: 01 {rng.choice(('(bộ)', 'bộ'))}")
    c.para(f"3. Thời gian giải quyết hồ sơ theo quy định là: {proc.days:02d} ngày làm việc")
    got = rng.choice(
        ("4. Thời gian nhận hồ sơ:", "4. Thời gian tiếp nhận hồ sơ:", "4. Ngày nhận hồ sơ:")
    )
    c.para(f"{got} {_timed(rng, received, _hm(rng))}")
    back = rng.choice(
        (
            "5. Thời gian trả kết quả giải quyết hồ sơ:",
            "5. Ngày hẹn trả kết quả:",
            "5. Hẹn trả kết quả:",
        )
    )
    when = _timed(rng, due, _hm(rng, morning=rng.random() < 0.5))
    if rng.random() < 0.3:
        d.variant.append("due:next-line")
        c.para(back)
        c.para(when, indent=c.mm(8))
    else:
        c.para(f"{back} {when}")
    c.para(f"6. {rng.choice(('Đăng ký nhận kết quả tại:', 'Nơi nhận kết quả:'))} {office}")
    c.para(
        f"Vào Sổ theo dõi hồ sơ, Quyển số: {rng.randint(1, 9):02d}, Số thứ tự: {rng.randint(1, 900):03d}",
        after=3,
    )
    d.put(received_date=received.isoformat(), due_date=due.isoformat())


def _two_signatures(c: Canvas, rng: random.Random, applicant: str, clerk: str, d: Draft) -> None:
    y = c.y
    mid = c.left + c.width / 2
    note = rng.choice(("(Ký và ghi rõ họ tên)", "(Ký, ghi rõ họ tên)"))
    c.signature(["NGƯỜI NỘP HỒ SƠ"], applicant, x0=c.left, x1=mid, note=note)
    c.y = y
    c.signature(["NGƯỜI TIẾP NHẬN HỒ SƠ"], clerk, x0=mid, x1=c.right, note=note)
    d.person("receiver", clerk)


# --------------------------------------------------------------------------- Mẫu số 02


def draw_phieu_kiem_soat(c: Canvas, rng: random.Random, d: Draft) -> str:
    """Phiếu kiểm soát quá trình giải quyết hồ sơ (Mẫu số 02): fields in ruled table cells."""
    person, proc, received, due, code, proc_code = _case(rng)
    agency, _, office = _office(rng, person.place)
    c.header(agency)
    c.y += c.mm(3)
    c.para("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ", style="b", scale=1.08, align="c")
    c.para(
        "(Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả)",
        style="i",
        scale=0.88,
        align="c",
        after=2,
    )
    birth_shown, email = rng.random() < 0.7, (person.email if rng.random() < 0.5 else None)
    if rng.random() < 0.5:
        d.variant.append("cells:side-by-side")
        _pks_side_by_side(c, rng, person, proc, code, proc_code, received, due, birth_shown, email)
    else:
        d.variant.append("cells:under-headers")
        _pks_under_headers(c, rng, person, proc, code, received, due, birth_shown, email)
        proc_code = None
    d.put(
        dossier_code=code,
        applicant_name=person.name,
        id_number=person.id_number,
        birth_date=person.birth.isoformat() if birth_shown else None,
        address=person.address,
        phone=person.phone,
        email=email,
        procedure_name=proc.name,
        procedure_code=proc_code,
        sector=proc.sector,
        received_date=received.isoformat(),
        due_date=due.isoformat(),
    )
    d.person("applicant", person.name, person.id_number, person.birth if birth_shown else None)
    c.para(
        f"Cơ quan (bộ phận) giải quyết hồ sơ: {rng.choice(('Phòng Tư pháp', 'Công chức Tư pháp - Hộ tịch', 'Phòng Tài chính - Kế hoạch'))}"
    )
    _pks_progress(c, rng, received, office)
    return "control_sheet"


def _pks_side_by_side(
    c, rng, person, proc, code, proc_code, received, due, birth_shown, email
) -> None:
    name_label = rng.choice(
        ("Họ và tên người nộp", "Tổ chức, cá nhân nộp hồ sơ", "Người nộp hồ sơ")
    )
    rows = [
        ["Mã hồ sơ", code, "Lĩnh vực", proc.sector],
        [name_label, person.name.upper() if rng.random() < 0.5 else person.name,
         "Ngày sinh" if birth_shown else "Giới tính",
         date_as_printed(rng, person.birth, "slash0") if birth_shown else person.sex.capitalize()],
        [rng.choice(("Số định danh cá nhân", "Số CCCD")), person.id_number,
         "Điện thoại", phone_as_printed(rng, person.phone)],
        ["Địa chỉ", person.address, "Email", email or ""],
        [rng.choice(("Tên thủ tục hành chính", "Nội dung yêu cầu giải quyết")), proc.name, "Mã thủ tục", proc_code],
        ["Ngày nhận hồ sơ", _timed(rng, received, _hm(rng)),
         rng.choice(("Ngày hẹn trả kết quả", "Hẹn trả kết quả")), date_as_printed(rng, due, "slash0")],
    ]  # fmt: skip
    c.table((0.19, 0.35, 0.15, 0.31), rows, bold_cols=(0, 2), scale=0.9)


def _pks_under_headers(c, rng, person, proc, code, received, due, birth_shown, email) -> None:
    c.table(
        (0.38, 0.31, 0.31),
        [["Mã hồ sơ", "Ngày tiếp nhận", "Ngày hẹn trả kết quả"],
         [code, date_as_printed(rng, received, "slash0"), date_as_printed(rng, due, "slash0")]],
        header_rows=1, scale=0.9,
    )  # fmt: skip
    head = ["Họ và tên người nộp", "Số định danh cá nhân"] + (["Ngày sinh"] if birth_shown else [])
    values = [person.name, person.id_number] + (
        [date_as_printed(rng, person.birth, "slash0")] if birth_shown else []
    )
    widths = (0.4, 0.32, 0.28) if birth_shown else (0.55, 0.45)
    c.table(widths, [head, values], header_rows=1, scale=0.9)
    rows = [
        ["Địa chỉ", person.address],
        ["Số điện thoại", phone_as_printed(rng, person.phone)],
        *([["Email", email]] if email else []),
        [rng.choice(("Thủ tục hành chính", "Nội dung yêu cầu")), proc.name],
        ["Lĩnh vực", proc.sector],
    ]
    c.table((0.28, 0.72), rows, bold_cols=(0,), scale=0.9)


def _pks_progress(c: Canvas, rng: random.Random, received: date, office: str) -> None:
    """The official hand-over table: who passed the file to whom, when, with what result."""
    rows = [
        [
            "TÊN CƠ QUAN",
            "THỜI GIAN GIAO, NHẬN HỒ SƠ",
            "KẾT QUẢ GIẢI QUYẾT HỒ SƠ (Trước hạn/đúng hạn/quá hạn)",
            "GHI CHÚ",
        ]
    ]
    day = received
    steps = (
        ("1. Giao:", office),
        ("2. Nhận:", "Phòng chuyên môn"),
        ("3. Giao:", "Phòng chuyên môn"),
    )
    for n, (verb, unit) in enumerate(steps[: rng.randint(2, 3)]):
        day += timedelta(days=n and 1)
        rows.append([f"{verb} {unit}", f"{_hm(rng)[0]:02d} giờ 00 phút, ngày {day:%d/%m/%Y}",
                     rng.choice(("Đúng hạn", "Trước hạn", "")), ""])  # fmt: skip
    c.y += c.mm(2)
    c.table((0.3, 0.3, 0.25, 0.15), rows, header_rows=1, scale=0.82)
