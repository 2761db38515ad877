"""Results of a procedure: a decision laid out per Decree 30/2020/NĐ-CP and a household
business registration certificate (Giấy chứng nhận đăng ký hộ kinh doanh).

Why these two: the decision carries the Decree-30 identity of a paper (cơ quan ban hành, số
ký hiệu, địa danh and date, trích yếu, signer) and names its subject in running text; the
certificate prints its holder in a block with several labels per line and a ruled table
of household members, whose dates of birth and ID numbers are other people's.
"""

from __future__ import annotations

import random
from datetime import date

from samples.forms.canvas import Canvas
from samples.forms.model import Draft
from samples.forms.values import (
    Citizen,
    date_as_printed,
    date_line,
    lower_unit,
    phone_as_printed,
    place_name,
    random_citizen,
    random_name,
    workday,
)

BASES = (
    "Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 năm 2019",
    "Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư",
    "Luật Hộ tịch ngày 20 tháng 11 năm 2014",
    "Nghị định số 123/2015/NĐ-CP ngày 15 tháng 11 năm 2015 của Chính phủ quy định chi tiết một số điều và biện pháp thi hành Luật Hộ tịch",
    "Luật Thi đua, khen thưởng ngày 15 tháng 6 năm 2022",
    "Đề nghị của Trưởng phòng Tư pháp tại Tờ trình số {n}/TTr-TP ngày {d}",
)
SUBJECTS = (
    ("Về việc cải chính hộ tịch", "Cho phép cải chính nội dung ngày, tháng, năm sinh trong Sổ đăng ký khai sinh cho"),
    ("Về việc tặng Giấy khen", "Tặng Giấy khen cho"),
    ("Về việc hỗ trợ kinh phí sửa chữa nhà ở cho hộ gia đình bị thiệt hại do thiên tai", "Hỗ trợ kinh phí sửa chữa nhà ở cho hộ"),
    ("V/v giao đất ở không thông qua đấu giá quyền sử dụng đất", "Giao đất ở không thông qua đấu giá quyền sử dụng đất cho"),
    ("Phê duyệt phương án bồi thường, hỗ trợ khi Nhà nước thu hồi đất", "Phê duyệt phương án bồi thường, hỗ trợ cho hộ"),
    ("Về việc thay đổi họ, chữ đệm, tên", "Cho phép thay đổi họ, chữ đệm, tên trong Sổ đăng ký khai sinh cho"),
)  # fmt: skip


def _decision_issuer(rng: random.Random, place) -> tuple[list[str], str, str, list[str], str]:
    """(agency lines, symbol, authority line, signing titles, date-line place)."""
    district, province = place.district.upper(), place.province.name.upper()
    chair = rng.choice(
        (
            ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
            ["CHỦ TỊCH"],
        )
    )
    return rng.choice(
        (
            (["ỦY BAN NHÂN DÂN", district], "QĐ-UBND", f"ỦY BAN NHÂN DÂN {district}", chair, place_name(place.district)),
            (["ỦY BAN NHÂN DÂN", place.commune.upper()], "QĐ-UBND", f"CHỦ TỊCH ỦY BAN NHÂN DÂN {place.commune.upper()}", chair, place_name(place.commune)),
            ([f"UBND {province}", "SỞ TƯ PHÁP"], "QĐ-STP", "GIÁM ĐỐC SỞ TƯ PHÁP", rng.choice((["GIÁM ĐỐC"], ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"])), place_name(place.province.name)),
        )
    )  # fmt: skip


def draw_quyet_dinh(c: Canvas, rng: random.Random, d: Draft) -> str:
    """A Quyết định per Decree 30: header, số ký hiệu, trích yếu, căn cứ, articles, signer."""
    person = random_citizen(rng)
    agency, symbol, authority, titles, where = _decision_issuer(rng, person.place)
    number, issued = f"{rng.randint(1, 2400):02d}/{symbol}", workday(rng)
    c.header(agency, [date_line(where, issued)], left_extra=[f"Số: {number}"])
    c.y += c.mm(5)
    c.para("QUYẾT ĐỊNH", style="b", scale=1.1, align="c")
    summary, action = rng.choice(SUBJECTS)
    rows = c.para(summary, style="b", align="c", x0=c.left + c.mm(15), x1=c.right - c.mm(15))
    c.rule(c.left + c.width * 0.4, c.left + c.width * 0.6, c.y + c.mm(0.5))
    c.y += c.mm(4)
    c.para(authority, style="b", align="c", after=2)
    for base in rng.sample(BASES[:5], rng.randint(2, 3)) + [BASES[5]]:
        c.para(f"Căn cứ {base.format(n=rng.randint(10, 300), d=date_as_printed(rng, issued, 'slash0'))};",
               style="i", indent=c.mm(10))  # fmt: skip
    c.para("QUYẾT ĐỊNH:", style="b", align="c", after=1)
    _article_one(c, rng, d, person, action)
    c.para("Điều 2. Quyết định này có hiệu lực kể từ ngày ký.", indent=c.mm(10))
    c.para("Điều 3. Chánh Văn phòng HĐND và UBND, Trưởng phòng Tư pháp, các cơ quan, đơn vị và "
           "cá nhân có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này./.", indent=c.mm(10), after=3)  # fmt: skip
    y = c.y
    split = c.left + c.width * 0.45
    c.para("Nơi nhận:", style="bi", scale=0.85, x1=split)
    for line in ("- Như Điều 3;", "- Lưu: VT, TP."):
        c.para(line, scale=0.8, x1=split)
    c.y = y
    signer = random_name(rng, rng.choice(("nam", "nữ")))
    c.signature(titles, signer, x0=split, x1=c.right)
    d.put(
        document_number=number,
        issue_date=issued.isoformat(),
        issuer=" ".join(agency),
        signer=signer,
        summary=" ".join(rows),
    )
    d.person("signer", signer)
    return "decision"


def _article_one(c: Canvas, rng: random.Random, d: Draft, person: Citizen, action: str) -> None:
    honorific = "ông" if person.sex == "nam" else "bà"
    born = date_as_printed(rng, person.birth, rng.choice(("slash0", "words")))
    if rng.random() < 0.5:
        d.variant.append("article:sentence")
        c.para(f"Điều 1. {action} {honorific} {person.name}, sinh ngày {born}, số định danh cá nhân "
               f"{person.id_number}, nơi cư trú: {person.address}.", indent=c.mm(10))  # fmt: skip
    else:
        d.variant.append("article:list")
        c.para(f"Điều 1. {action}:", indent=c.mm(10))
        x0 = c.left + c.mm(10)
        label = rng.choice(
            (
                f"{honorific.capitalize()}:",
                "Họ và tên:",
                f"{honorific.capitalize()} (bà):" if honorific == "ông" else "Bà:",
            )
        )
        c.runs([(label, "r"), (person.name, "b")], x0=x0)
        c.para(f"Ngày sinh: {born}", x0=x0)
        c.para(f"Số định danh cá nhân: {person.id_number}", x0=x0)
        c.para(f"Nơi cư trú: {person.address}", x0=x0)
    d.put(
        applicant_name=person.name,
        birth_date=person.birth.isoformat(),
        id_number=person.id_number,
        address=person.address,
    )
    d.person("subject", person.name, person.id_number, person.birth)


# --------------------------------------------------------------------------- hộ kinh doanh

TRADES = (
    "Bán lẻ lương thực, thực phẩm, đồ uống trong các cửa hàng chuyên doanh",
    "Dịch vụ ăn uống", "Sửa chữa xe có động cơ", "Bán lẻ hàng tạp hóa", "Cắt tóc, gội đầu",
)  # fmt: skip
SHOP_NAMES = ("TẠP HÓA", "CỬA HÀNG", "QUÁN ĂN", "TIỆM SỬA XE", "SALON TÓC")


def draw_giay_chung_nhan(c: Canvas, rng: random.Random, d: Draft) -> str:
    """Giấy chứng nhận đăng ký hộ kinh doanh: holder's block and a table of household members."""
    holder = random_citizen(rng, born=(date(1965, 1, 1), date(2000, 12, 31)))
    place = holder.place
    agency = [
        f"UBND {place.district.upper()}",
        rng.choice(("PHÒNG TÀI CHÍNH - KẾ HOẠCH", "PHÒNG KINH TẾ")),
    ]
    issued = workday(rng)
    top_date = rng.random() < 0.6
    c.header(agency, [date_line(place_name(place.district), issued)] if top_date else [])
    c.y += c.mm(4)
    c.para("GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", style="b", scale=1.12, align="c")
    number = f"{rng.randint(1, 900):02d}/GCN-HKD" if rng.random() < 0.5 else None
    if number:
        c.para(f"Số: {number}", align="c")
    c.para(
        f"Mã số hộ kinh doanh: {place.province.cccd[1:]}{rng.choice('ABCDE')}8{rng.randint(0, 999999):06d}",
        style="b",
        align="c",
    )
    c.para(
        f"Đăng ký lần đầu: {date_as_printed(rng, workday(rng, date(2019, 1, 2), 1500), 'words')}",
        align="c",
        after=3,
    )
    email = _business_block(c, rng, holder)
    _holder_block(c, rng, d, holder)
    members = rng.random() < 0.65
    if members:
        _members_table(c, rng, d, holder)
    c.y += c.mm(3)
    half = c.left + c.width * 0.45
    if not top_date:
        c.para(date_line(place_name(place.district), issued), style="i", align="c", x0=half)
    signer = random_name(rng, rng.choice(("nam", "nữ")))
    c.signature(
        rng.choice((["TRƯỞNG PHÒNG"], ["KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG"])),
        signer,
        x0=half,
        x1=c.right,
    )
    d.put(
        document_number=number,
        issue_date=issued.isoformat(),
        issuer=" ".join(agency),
        signer=signer,
        phone=holder.phone,
        email=email,
    )
    d.person("signer", signer)
    return "certificate"


def _business_block(c: Canvas, rng: random.Random, holder: Citizen) -> str | None:
    """Items 1-4: the business's name, place, contact, trade and capital; returns the e-mail."""
    place = holder.place
    c.para(
        f"1. Tên hộ kinh doanh: {rng.choice(SHOP_NAMES)} {' '.join(holder.name.upper().split()[-2:])}",
        style="b",
    )
    shop = f"Số {rng.randint(1, 300)}, đường {rng.choice(('Lê Lợi', 'Hùng Vương', 'Trần Phú'))}, {lower_unit(place.commune)}, {lower_unit(place.district)}"
    c.para(f"2. Địa chỉ địa điểm kinh doanh: {shop}")
    email = holder.email if rng.random() < 0.5 else None
    x = c.text(c.left, c.y, f"Điện thoại: {phone_as_printed(rng, holder.phone)}")
    if email:
        c.text(max(x + c.mm(10), c.left + c.width * 0.5), c.y, f"Email: {email}")
    c.y += c.pitch()
    c.para(f"3. Ngành, nghề kinh doanh: {rng.choice(TRADES)}")
    c.para(f"4. Vốn kinh doanh: {rng.choice((50, 100, 150, 300))}.000.000 đồng", after=1)
    return email


def _holder_block(c: Canvas, rng: random.Random, d: Draft, holder: Citizen) -> None:
    c.para(
        rng.choice(("5. Thông tin về chủ hộ kinh doanh:", "5. Thông tin về đại diện hộ gia đình:")),
        style="b",
    )
    x = c.text(c.left, c.y, "Họ và tên:")
    x = c.text(x + c.mm(2), c.y, holder.name.upper(), "b")
    c.text(max(x + c.mm(8), c.left + c.width * 0.62), c.y, f"Giới tính: {holder.sex.capitalize()}")
    c.y += c.pitch()
    born = date_as_printed(rng, holder.birth, "slash0")
    label = rng.choice(("Sinh ngày:", "Ngày sinh:", "Ngày, tháng, năm sinh:"))
    c.para(f"{label} {born}     Dân tộc: Kinh     Quốc tịch: Việt Nam")
    if rng.random() < 0.5:
        d.variant.append("holder-id:legal")
        c.para("Loại giấy tờ pháp lý của cá nhân: Căn cước công dân")
        c.para(f"Số giấy tờ pháp lý của cá nhân: {holder.id_number}")
    else:
        c.para(f"Số định danh cá nhân: {holder.id_number}")
    c.para(f"{rng.choice(('Địa chỉ thường trú:', 'Nơi thường trú:'))} {holder.address}", after=1)
    d.put(
        applicant_name=holder.name,
        birth_date=holder.birth.isoformat(),
        id_number=holder.id_number,
        address=holder.address,
    )
    d.person("subject", holder.name, holder.id_number, holder.birth)


def _members_table(c: Canvas, rng: random.Random, d: Draft, holder: Citizen) -> None:
    c.para("6. Danh sách thành viên hộ gia đình đăng ký hộ kinh doanh:", style="b", after=1)
    rows = [
        ["STT", "Họ và tên", "Ngày, tháng, năm sinh", "Số định danh cá nhân", "Quan hệ với chủ hộ"]
    ]
    for n in range(rng.randint(1, 3)):
        member = random_citizen(rng, place=holder.place)
        rows.append([str(n + 1), member.name, date_as_printed(rng, member.birth, "slash0"), member.id_number,
                     rng.choice(("Vợ", "Chồng", "Con", "Em"))])  # fmt: skip
        d.person("member", member.name, member.id_number, member.birth)
    c.table((0.07, 0.3, 0.2, 0.25, 0.18), rows, header_rows=1, scale=0.86)
