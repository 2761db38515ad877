"""One drawer per document kind: receipt, application form, decision, certificate, ID-card copy.

Why a module of its own: each kind's composition (which lines, in which order, with which label
variants, and the truth it records) is long and specific to that kind, while the public entry
points in :mod:`samples.docgen` only seed and refit them. A drawer takes the page's own
:class:`random.Random` and ``limit``, the most optional lines to draw (``None``: as many as
drawn), so that :func:`samples.layout.fitted` can rebuild it identically with fewer lines when
it overflows. The order of random draws is part of the output: reordering them changes pages.
"""

from __future__ import annotations

import json
import random
from datetime import date

from samples.data import (
    BASES,
    CARDS,
    CERTS,
    COMPONENTS,
    DAYS,
    LABELS,
    SEXES,
    SUMMARIES,
    Locality,
    Person,
    Procedure,
    add_workdays,
    as_printed,
    bare,
    code_date,
    date_line,
    date_place,
    dmy,
    locality_of,
    phone_text,
    pick,
    random_name,
    workday,
)
from samples.layout import (
    MOTTO,
    GeneratedPage,
    Sheet,
    draw_barcode,
    draw_card,
    draw_header,
    draw_qr,
    draw_signatures,
)
from sohoa.textfold import fold


def _qr_payload(
    style: str, code: str, proc: Procedure, person: Person, received: str, due: date, host: str
) -> str:
    """QR content of a receipt in one of four styles seen in the field (TCVN 7322 symbol)."""
    if style == "plain":
        return code
    if style == "url":
        return f"https://dichvucong.{host}.gov.vn/tra-cuu-ho-so?maHoSo={code}"
    if style == "json":
        return json.dumps(
            {
                "maHoSo": code,
                "maTTHC": proc.code,
                "soDinhDanh": person.id_number,
                "tenGiayTo": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                "heThong": "DVC",
                "thoiGianCap": received,
                "ngayHenTra": due.isoformat(),
            },
            ensure_ascii=False,
        )
    if style == "pipe":
        return f"{code}|{proc.code}|{person.id_number}|GIAY TIEP NHAN|DVC|{received}|{due}"
    raise ValueError(f"unknown qr_style {style!r}")


def _receipt_fields(
    sheet: Sheet, r: random.Random, person: Person, proc: Procedure
) -> dict[str, str]:
    """The applicant and procedure lines of a receipt; returns their truth."""
    hon = r.choice(("Ông/Bà", "Ông" if person.sex == "nam" else "Bà"))
    issued = (
        f", cấp ngày {dmy(workday(r, date(2021, 1, 4), 700), 0)}"
        if (person.id_kind == "cccd" and r.random() < 0.25)
        else ""
    )
    id_label = r.choice(f"{LABELS['receipt_id']}|{LABELS['id_' + person.id_kind]}".split("|"))
    phone = f"{pick(r, 'phone')} {phone_text(r, person.phone)}"
    email = f"{pick(r, 'email')} {person.email}" if r.random() < 0.85 else ""
    rows = [
        f"{pick(r, 'receipt_name', hon=hon)} {as_printed(r, person.full_name, 0.5)}",
        f"{id_label} {person.id_number}{issued}",
        f"{pick(r, 'receipt_address')} {person.address}",
        *([f"{phone}; {email}"] if email and r.random() < 0.35 else [phone, email]),
        f"{pick(r, 'procedure_name')} {proc.name}",
        f"{pick(r, 'procedure_code')} {proc.code}",
        f"{pick(r, 'sector')} {proc.sector}",
    ]
    for row in filter(None, rows):
        sheet.para(row)
    return {
        "applicant_name": person.full_name,
        "id_number": person.id_number,
        "address": person.address,
        "phone": person.phone,
        "procedure_code": proc.code,
        "procedure_name": proc.name,
        "sector": proc.sector,
    } | ({"email": person.email} if email else {})


def _receipt_office(r: random.Random, loc: Locality) -> tuple[list[str], str, str]:
    """(agency lines, date-line place, where the result is returned) of the receiving office."""
    prov, dist, comm = loc
    return r.choice(
        (
            (
                [
                    f"{r.choice(('UBND', 'ỦY BAN NHÂN DÂN'))} {dist.upper()}",
                    "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
                ],
                bare(dist),
                f"Bộ phận Tiếp nhận và Trả kết quả UBND {dist}",
            ),
            (
                [f"UBND {comm.upper()}", "BỘ PHẬN MỘT CỬA"],
                date_place(comm, dist),
                f"Bộ phận Một cửa UBND {comm}",
            ),
            (
                [f"UBND {prov.name.upper()}", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"],
                bare(prov.name),
                f"Trung tâm Phục vụ hành chính công {prov.name}",
            ),
        )
    )


def _receipt_heading(
    sheet: Sheet,
    r: random.Random,
    agency: list[str],
    date_text: str,
    code: str,
    payload: str,
    barcode: str,
) -> None:
    """QR top-left, the Decree-30 heading beside it, then the title, mã hồ sơ and its barcode."""
    qr = draw_qr(sheet, payload, sheet.left, sheet.top, r.uniform(20, 23))
    draw_header(sheet, agency, date_text, x0=qr[0] + qr[2] + sheet.mm(2))
    sheet.y = max(sheet.y, qr[1] + qr[3] + sheet.mm(3))
    sheet.para(pick(r, "receipt_title"), "b", 1.1, "c")
    sheet.para(f"{pick(r, 'dossier_code')} {code}", "b", 1.0, "c")
    sheet.y += sheet.mm(1.5)
    draw_barcode(sheet, barcode, code, r.uniform(9, 13))


def _receipt_components(sheet: Sheet, r: random.Random, sector: str, limit: int | None) -> None:
    """The "Thành phần hồ sơ" list, 2-5 items: the optional lines of a receipt."""
    items = r.sample(COMPONENTS.get(sector, COMPONENTS[""]).split("|"), r.randint(2, 5))
    sheet.optional = len(items := items[:limit])
    for i, item in enumerate(["heading", *items] if items else []):
        sheet.para(
            r.choice(("Thành phần hồ sơ gồm:", "Thành phần hồ sơ nộp gồm có:"))
            if i == 0
            else f"{i}. {item} ({r.choice(('Bản chính: 01; Bản sao: 00', 'bản chính'))})",
            indent_mm=5 * (i > 0),
        )


def _receipt_schedule(
    sheet: Sheet,
    r: random.Random,
    office: str,
    days: int,
    received: date,
    due: date,
    hm: str,
    ds: int,
) -> None:
    """Count, processing time, received and due dates (date style ``ds``), result office."""
    for row in (
        f"Số lượng hồ sơ: 01 {r.choice(('bộ', '(bộ)'))}",
        f"Thời gian giải quyết hồ sơ theo quy định: {days:02d} ngày làm việc",
        pick(r, "received", hm=hm, d=dmy(received, ds)),
        pick(r, "due", hm=f"{r.choice((8, 14)):02d} giờ 00 phút", d=dmy(due, ds)),
        f"{pick(r, 'office')} {office}",
    ):
        sheet.para(row)


def draw_receipt(
    r: random.Random,
    limit: int | None,
    person: Person,
    proc: Procedure,
    code: str,
    dpi: int,
    qr_style: str,
    barcode: str,
) -> GeneratedPage:
    """A receipt's page for :func:`samples.docgen.make_receipt`, with at most ``limit`` items."""
    sheet, loc = Sheet(r, dpi), locality_of(person.address, r)
    agency, place, office = _receipt_office(r, loc)
    received, hh, mi = code_date(code), r.randint(7, 16), r.randrange(0, 60, 5)
    due, days, ds = (
        add_workdays(received, DAYS.get(proc.name, 5)),
        DAYS.get(proc.name, 5),
        r.choice((0, 0, 1, 2)),
    )
    payload = _qr_payload(
        qr_style,
        code,
        proc,
        person,
        f"{received}T{hh:02d}:{mi:02d}",
        due,
        fold(bare(loc[0].name)).replace(" ", ""),
    )
    _receipt_heading(sheet, r, agency, date_line(place, received), code, payload, barcode)
    truth = {
        "dossier_code": code,
        **_receipt_fields(sheet, r, person, proc),
        "received_date": received.isoformat(),
        "due_date": due.isoformat(),
    }
    _receipt_components(sheet, r, proc.sector, limit)
    _receipt_schedule(sheet, r, office, days, received, due, f"{hh:02d} giờ {mi:02d} phút", ds)
    sheet.y += sheet.mm(3)
    note, third = (
        r.choice(("(Ký và ghi rõ họ tên)", "(Ký, ghi rõ họ tên)")),
        (sheet.right - sheet.left) / 4,
    )
    draw_signatures(
        sheet,
        r,
        (
            (sheet.left + third, ["NGƯỜI NỘP HỒ SƠ"], note, person.full_name),
            (sheet.right - third, ["NGƯỜI TIẾP NHẬN HỒ SƠ"], note, random_name(r, r.choice(SEXES))),
        ),
    )
    return sheet.page("receipt", truth)


def _application_rows(r: random.Random, person: Person) -> tuple[list[str], dict[str, str]]:
    """The applicant's lines of a form ("" where one is left out) and their truth."""
    truth = {
        "applicant_name": person.full_name,
        "birth_date": person.birth_date.isoformat(),
        "id_number": person.id_number,
        "address": person.address,
        "phone": person.phone,
    }
    rows = [
        f"{pick(r, 'form_name')} {as_printed(r, person.full_name, 0.4)}",
        f"{pick(r, 'birth')} {dmy(person.birth_date, r.choice((0, 0, 1, 2)))}",
        f"Giới tính: {person.sex.capitalize()}; Dân tộc: Kinh; Quốc tịch: Việt Nam"
        if r.random() < 0.5
        else "",
        f"{pick(r, 'id_' + person.id_kind)} {person.id_number}",
        f"{pick(r, 'form_address')} {person.address}",
        f"{pick(r, 'phone')} {phone_text(r, person.phone)}",
        f"{pick(r, 'form_email')} {person.email}" if r.random() < 0.6 else "",
    ]
    truth |= {"email": person.email} if rows[-1] else {}
    return rows, truth


def draw_application(
    r: random.Random, limit: int | None, person: Person, proc: Procedure, dpi: int
) -> GeneratedPage:
    """A form's page for :func:`samples.docgen.make_application`, at most ``limit`` body lines."""
    sheet, (_, dist, comm) = Sheet(r, dpi), locality_of(person.address, r)
    for line in MOTTO:
        sheet.para(line, "b", 1.0, "c")
    sheet.underline()
    sheet.y += sheet.mm(5)
    kind = "TỜ KHAI" if proc.sector == "Hộ tịch" else "ĐƠN ĐỀ NGHỊ"
    sheet.para(
        "PHIẾU YÊU CẦU CHỨNG THỰC"
        if proc.sector == "Chứng thực"
        else f"{kind} {proc.name.upper()}",
        "b",
        1.1,
        "c",
    )
    sheet.y += sheet.mm(1.5)
    sheet.para(f"Kính gửi: Ủy ban nhân dân {r.choice((comm, dist))}", "r", 1.0, "c")
    sheet.y += sheet.mm(3)
    rows, truth = _application_rows(r, person)
    body = [
        "Đề nghị cơ quan có thẩm quyền xem xét, giải quyết yêu cầu nêu trên theo quy định.",
        "Lý do: để hoàn thiện hồ sơ theo yêu cầu của cơ quan nhà nước có thẩm quyền.",
        "Số lượng bản sao đề nghị cấp: 02 bản.",
        (
            "Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
            "pháp luật về cam đoan của mình."
        ),
    ][r.randint(0, 2) :]
    sheet.optional = len(body := body[:limit])
    for row in filter(None, rows):
        sheet.para(row)
    for row in body:
        sheet.para(row, indent_mm=10)
    sheet.y += sheet.mm(4)
    half = sheet.left + (sheet.right - sheet.left) * 0.45
    sheet.para(date_line(date_place(comm, dist), workday(r)), "i", 1.0, "c", half)
    title = r.choice(("NGƯỜI YÊU CẦU", "NGƯỜI LÀM ĐƠN"))
    draw_signatures(
        sheet,
        r,
        (((half + sheet.right) / 2, [title], "(Ký, ghi rõ họ, chữ đệm, tên)", person.full_name),),
    )
    return sheet.page("application", truth)


def _issuer(r: random.Random, loc: Locality) -> tuple[list[str], str, str, list[str], str]:
    """(agency lines, Decree-30 symbol, authority line, signature titles, date-line place)."""
    prov, dist, comm = loc[0].name.upper(), loc[1].upper(), loc[2].upper()
    ubnd = r.choice(
        (
            ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
        )
    )
    chair = r.choice((["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], ["CHỦ TỊCH"]))
    director = r.choice((["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"], ["GIÁM ĐỐC"]))
    dept, symbol = r.choice((("SỞ TƯ PHÁP", "QĐ-STP"), ("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "QĐ-STNMT")))
    return r.choice(
        (
            (["ỦY BAN NHÂN DÂN", dist], "QĐ-UBND", f"ỦY BAN NHÂN DÂN {dist}", ubnd, bare(loc[1])),
            (
                ["ỦY BAN NHÂN DÂN", dist],
                "QĐ-CT",
                f"CHỦ TỊCH ỦY BAN NHÂN DÂN {dist}",
                chair,
                bare(loc[1]),
            ),
            (
                ["ỦY BAN NHÂN DÂN", prov],
                "QĐ-UBND",
                f"ỦY BAN NHÂN DÂN {prov}",
                ubnd,
                bare(loc[0].name),
            ),
            ([f"UBND {prov}", dept], symbol, f"GIÁM ĐỐC {dept}", director, bare(loc[0].name)),
            (
                ["ỦY BAN NHÂN DÂN", comm],
                "QĐ-UBND",
                f"ỦY BAN NHÂN DÂN {comm}",
                ubnd,
                date_place(loc[2], loc[1]),
            ),
        )
    )


def draw_decision(r: random.Random, limit: int | None, person: Person, dpi: int) -> GeneratedPage:
    """A decision's page for :func:`samples.docgen.make_decision`, at most ``limit`` bases."""
    sheet, loc = Sheet(r, dpi), locality_of(person.address, r)
    agency, symbol, authority, titles, place = _issuer(r, loc)
    number, issued = f"{r.randint(1, 999):02d}/{symbol}", workday(r)
    draw_header(sheet, agency, date_line(place, issued), number=f"Số: {number}")
    sheet.para("QUYẾT ĐỊNH", "b", 1.15, "c")
    words = {
        "hon": "ông" if person.sex == "nam" else "bà",
        "name": person.full_name,
        "a": r.randint(10, 900),
        "b": r.randint(1, 60),
        "c": r.randint(60, 900),
        "where": f"{loc[2]}, {loc[1]}",
    }
    summary, article = r.choice(SUMMARIES).format(**words).split("|")
    sheet.para(summary, "b", 0.95, "c", sheet.left + sheet.mm(4), sheet.right - sheet.mm(4))
    sheet.underline(0.3)
    sheet.y += sheet.mm(3)
    sheet.para(authority, "b", 1.0, "c")
    sheet.y += sheet.mm(2)
    sheet.optional = len(bases := BASES[: r.randint(3, 5)][:limit])
    for line in bases:
        sheet.para(f"Căn cứ {line}", "i", indent_mm=10)
    sheet.y += sheet.mm(2)
    sheet.para("QUYẾT ĐỊNH:", "b", 1.0, "c")
    sheet.y += sheet.mm(2)
    for line in (
        f"Điều 1. {article}",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
        (
            "Điều 3. Chánh Văn phòng và các cơ quan, cá nhân có liên quan chịu trách nhiệm "
            "thi hành Quyết định này./."
        ),
    ):
        sheet.para(line, indent_mm=10)
    sheet.y += sheet.mm(4)
    y0, third, signer = sheet.y, (sheet.right - sheet.left) / 4, random_name(r, r.choice(SEXES))
    for line, style, scale in (
        ("Nơi nhận:", "b", 0.85),
        ("- Như Điều 3;", "r", 0.8),
        ("- Lưu: VT.", "r", 0.8),
    ):
        sheet.para(line, style, scale, "l", None, sheet.left + 2 * third - sheet.mm(4))
    sheet.y = y0
    draw_signatures(sheet, r, ((sheet.right - third, titles, "", signer),))
    return sheet.page(
        "decision",
        {
            "document_number": number,
            "issue_date": issued.isoformat(),
            "issuer": " ".join(agency),
            "signer": signer,
            "summary": summary,
        },
    )


def draw_certificate(
    r: random.Random, limit: int | None, person: Person, dpi: int
) -> GeneratedPage:
    """A certificate's page for :func:`samples.docgen.make_certificate`, ``limit`` extra rows."""
    sheet, (prov, dist, comm) = Sheet(r, dpi), locality_of(person.address, r)
    title, symbol, titles = r.choice(CERTS)
    agency = (
        [f"UBND {dist.upper()}", "PHÒNG TÀI CHÍNH - KẾ HOẠCH"]
        if symbol == "GCN-HKD"
        else ["ỦY BAN NHÂN DÂN", comm.upper()]
    )
    number, issued = f"{r.randint(1, 999):02d}/{symbol}", workday(r)
    draw_header(sheet, agency, date_line(date_place(comm, dist), issued), number=f"Số: {number}")
    sheet.para(title, "b", 1.2, "c")
    if symbol == "TLKS-BS":
        sheet.para("(BẢN SAO)", "b", 1.0, "c")
    sheet.y += sheet.mm(4)
    name_label = "Họ và tên chủ hộ kinh doanh:" if symbol == "GCN-HKD" else pick(r, "cert_name")
    truth = {
        "document_number": number,
        "issue_date": issued.isoformat(),
        "issuer": " ".join(agency),
        "applicant_name": person.full_name,
        "birth_date": person.birth_date.isoformat(),
    }
    rows = [
        f"{name_label} {as_printed(r, person.full_name, 0.6)}",
        f"{pick(r, 'birth')} {dmy(person.birth_date, r.choice((0, 0, 1, 2)))}",
        f"Giới tính: {person.sex.capitalize()}; Dân tộc: Kinh; Quốc tịch: Việt Nam",
        f"{pick(r, 'cert_id')} {person.id_number}" if person.id_kind == "cccd" else "",
    ]
    truth |= {"id_number": person.id_number} if rows[-1] else {}
    extra = [
        f"Nơi sinh: {r.choice(('Trạm y tế', 'Bệnh viện Đa khoa'))} {comm}",
        f"Quê quán: {comm}, {dist}, {prov.name}",
        f"Nơi đăng ký: Ủy ban nhân dân {comm}",
        {
            "XNTTHN": "Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai.",
            "GCN-HKD": "Ngành, nghề kinh doanh: Bán lẻ hàng tạp hóa.",
        }.get(symbol, "Ghi chú: Bản sao được cấp từ Sổ đăng ký khai sinh."),
    ][r.randint(0, 2) :]
    sheet.optional = len(extra := extra[:limit])
    for row in [*filter(None, rows), *extra]:
        sheet.para(row)
    sheet.y += sheet.mm(6)
    signer = random_name(r, r.choice(SEXES))
    draw_signatures(sheet, r, ((sheet.right - (sheet.right - sheet.left) / 4, titles, "", signer),))
    return sheet.page("certificate", truth | {"signer": signer})


def draw_id_card(r: random.Random, limit: int | None, person: Person, dpi: int) -> GeneratedPage:
    """An ID copy for :func:`samples.docgen.make_id_card_copy`; ``limit`` 0 drops the back."""
    sheet, kind = Sheet(r, dpi), person.id_kind
    sheet.size_pt, x = 12.0, (sheet.img.width - sheet.mm(128)) // 2
    title, no, name_label, birth_label, home_label = CARDS[kind].split("|")
    sheet.para("BẢN SAO - MẪU THỬ NGHIỆM (SPECIMEN)", "b", 1.0, "c", x, x + sheet.mm(128))
    sheet.y += sheet.mm(3)
    name = person.full_name.upper()
    truth = {
        "applicant_name": person.full_name,
        "id_number": person.id_number,
        "birth_date": person.birth_date.isoformat(),
    }
    front = [
        (MOTTO[0], "bc"),
        (MOTTO[1], "bc"),
        (title, "bc"),
        (f"{no} {person.id_number}", "b"),
        *(
            [(f"{name_label} {name}", "r")]
            if r.random() < 0.4
            else [(name_label, "r"), (name, "b")]
        ),
        (f"{birth_label} {dmy(person.birth_date, 2 * (kind == 'cmnd'))}", "r"),
        (f"Giới tính / Sex: {person.sex.capitalize()}", "r"),
        ("Quốc tịch / Nationality: Việt Nam", "r"),
    ]
    if home_label:
        front.append((f"{home_label} {person.address}", "r"))
        truth["address"] = person.address
    draw_card(sheet, x, front, photo=True)
    sheet.optional = int(kind != "passport" and limit != 0)
    if sheet.optional:
        issued = dmy(workday(r, date(2021, 1, 4), 700), 0)
        draw_card(
            sheet,
            x,
            [
                (
                    (
                        "Đặc điểm nhân dạng / Personal identification: Nốt ruồi C: 1cm dưới "
                        "sau đuôi mắt trái"
                    ),
                    "r",
                ),
                (f"Ngày, tháng, năm / Date, month, year: {issued}", "r"),
                ("CỤC TRƯỞNG CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", "bc"),
                (random_name(r, "nam").upper(), "bc"),
            ],
            photo=False,
        )
    return sheet.page("id_card", truth)
