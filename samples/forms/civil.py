"""Civil-status papers (Circular 04/2020/TT-BTP): the tờ khai a citizen fills in and the
trích lục the commune issues.

Why these two: they print several people on one page, each with the same labels (Họ, chữ
đệm, tên / Ngày, tháng, năm sinh / Số định danh cá nhân) — the applicant, the person
registered (a child, or the deceased), the mother and the father — so a value is only
right if it is the right person's. The trích lục writes values on dotted leaders, with
several labelled values on one line.
"""

from __future__ import annotations

import random
from datetime import date

from samples.forms.canvas import MOTTO, Canvas
from samples.forms.model import Draft
from samples.forms.values import (
    Citizen,
    date_as_printed,
    date_line,
    lower_unit,
    phone_as_printed,
    place_name,
    random_citizen,
    random_date,
    random_name,
    workday,
)

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _words_0_99(n: int) -> str:
    if n < 10:
        return _DIGITS[n]
    tens, unit = divmod(n, 10)
    head = "mười" if tens == 1 else f"{_DIGITS[tens]} mươi"
    if unit == 0:
        return head
    tail = {1: "mốt" if tens > 1 else "một", 5: "lăm", 4: "tư" if tens > 1 else "bốn"}.get(
        unit, _DIGITS[unit]
    )
    return f"{head} {tail}"


def date_in_words(day: date) -> str:
    """``20/10/2023`` -> ``Ngày hai mươi, tháng mười, năm hai nghìn không trăm hai mươi ba``."""
    thousands, rest = divmod(day.year, 1000)
    hundreds, rest = divmod(rest, 100)
    if rest == 0:
        low = ""
    elif rest < 10:
        low = f" linh {_DIGITS[rest]}"
    else:
        low = f" {_words_0_99(rest)}"
    year = f"{_DIGITS[thousands]} nghìn {_DIGITS[hundreds]} trăm{low}"
    return f"Ngày {_words_0_99(day.day)}, tháng {_words_0_99(day.month)}, năm {year}"


def _family(rng: random.Random) -> tuple[Citizen, Citizen, Citizen, date]:
    """A newborn's father and mother (living together) and the child's date of birth."""
    father = random_citizen(rng, sex="nam", born=(date(1975, 1, 1), date(2001, 12, 31)))
    mother = random_citizen(
        rng, sex="nữ", born=(date(1978, 1, 1), date(2003, 12, 31)), place=father.place
    )
    born = random_date(rng, date(2023, 1, 1), date(2026, 6, 30))
    sex = rng.choice(("nam", "nữ"))
    child = random_citizen(rng, sex=sex, born=(born, born), place=father.place)
    child = Citizen(
        f"{father.name.split()[0]} {' '.join(child.name.split()[1:])}",
        sex,
        born,
        child.id_number,
        father.place,
        father.address,
        "",
        "",
    )
    return father, mother, child, born


# --------------------------------------------------------------------------- tờ khai


def draw_to_khai(c: Canvas, rng: random.Random, d: Draft) -> str:
    """Tờ khai đăng ký khai sinh (or khai tử): the applicant's block, then the person's."""
    for n, line in enumerate(MOTTO):
        c.para(line, style="b", align="c", scale=1.0 if n == 0 else 1.05)
    c.rule(c.left + c.width * 0.35, c.left + c.width * 0.65, c.y + c.mm(0.5))
    c.y += c.mm(4)
    kind = "khai-sinh" if rng.random() < 0.7 else "khai-tu"
    d.variant.append(kind)
    title = "TỜ KHAI ĐĂNG KÝ KHAI SINH" if kind == "khai-sinh" else "TỜ KHAI ĐĂNG KÝ KHAI TỬ"
    c.para(title, style="b", scale=1.12, align="c", after=1)
    father, mother, child, _ = _family(rng)
    place = father.place
    c.para(f"Kính gửi: {rng.choice(('Ủy ban nhân dân', 'UBND'))} {lower_unit(place.commune)}, {lower_unit(place.district)}",
           align="c", after=2)  # fmt: skip
    if kind == "khai-sinh":
        relation, applicant = rng.choice(
            (("Cha", father), ("Mẹ", mother), ("Cha", father), ("Mẹ", mother), ("Bà nội", None))
        )
    else:
        relation, applicant = rng.choice(("Con", "Vợ", "Cháu")), None
    applicant = applicant or random_citizen(rng, place=place)
    _applicant_block(c, rng, d, applicant, relation, parent=relation in ("Cha", "Mẹ"))
    if kind == "khai-sinh":
        c.para("Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:", style="b", after=1)
        _child_block(c, rng, d, child)
        _parents(c, rng, d, father, mother)
    else:
        _deceased_block(
            c, rng, d, random_citizen(rng, born=(date(1930, 1, 1), date(1960, 12, 31)), place=place)
        )
    c.para("Tôi cam đoan nội dung đề nghị trên đây là đúng sự thật và chịu trách nhiệm trước pháp luật "
           "về cam đoan của mình.", style="i", scale=0.95, indent=c.mm(8), after=2)  # fmt: skip
    half = c.left + c.width * 0.42
    c.para(
        f"Làm tại: {date_line(place_name(place.commune), workday(rng))}",
        style="i",
        align="c",
        x0=half,
    )
    c.signature(
        ["NGƯỜI YÊU CẦU"], applicant.name, x0=half, x1=c.right, note="(Ký, ghi rõ họ, chữ đệm, tên)"
    )
    return "application"


def _applicant_block(
    c: Canvas, rng: random.Random, d: Draft, who: Citizen, relation: str, parent: bool
) -> None:
    label = rng.choice(
        (
            "Họ, chữ đệm, tên người yêu cầu:",
            "Họ, chữ đệm, tên người đi đăng ký:",
            "Họ và tên người yêu cầu:",
        )
    )
    c.runs([(label, "r"), (who.name.upper() if rng.random() < 0.5 else who.name, "b")])
    birth_shown = parent or rng.random() < 0.5
    if birth_shown:
        c.para(f"Ngày, tháng, năm sinh: {date_as_printed(rng, who.birth)}")
    if rng.random() < 0.5:
        d.variant.append("applicant-id:giay-to")
        c.para(f"Giấy tờ tùy thân: Căn cước công dân số {who.id_number}, cấp ngày "
               f"{date_as_printed(rng, workday(rng, date(2021, 3, 1), 900), 'slash0')}, nơi cấp: Bộ Công an")  # fmt: skip
    else:
        c.para(f"{rng.choice(('Số định danh cá nhân:', 'Số CCCD:'))} {who.id_number}")
    c.para(f"{rng.choice(('Nơi cư trú:', 'Nơi thường trú:'))} {who.address}")
    phone = rng.random() < 0.4
    if phone:
        c.para(f"Số điện thoại liên hệ: {phone_as_printed(rng, who.phone)}")
    c.para(
        f"Quan hệ với người {'được khai sinh' if relation in ('Cha', 'Mẹ', 'Bà nội') else 'đã chết'}: {relation}",
        after=1,
    )
    d.put(
        applicant_name=who.name,
        id_number=who.id_number,
        birth_date=who.birth.isoformat() if birth_shown else None,
        address=who.address,
        phone=who.phone if phone else None,
    )
    d.person("applicant", who.name, who.id_number, who.birth if birth_shown else None)


def _child_block(c: Canvas, rng: random.Random, d: Draft, child: Citizen) -> None:
    c.runs([("Họ, chữ đệm, tên:", "r"), (child.name.upper(), "b")])
    c.para(
        f"Ngày, tháng, năm sinh: {date_as_printed(rng, child.birth, 'slash0')}  ghi bằng chữ: {date_in_words(child.birth)}"
    )
    c.para(f"Giới tính: {child.sex.capitalize()}      Dân tộc: Kinh      Quốc tịch: Việt Nam")
    c.para(
        f"Nơi sinh: {rng.choice(('Bệnh viện Đa khoa', 'Trung tâm Y tế', 'Trạm Y tế'))} {lower_unit(child.place.district)}"
    )
    c.para(
        f"Quê quán: {lower_unit(child.place.commune)}, {lower_unit(child.place.district)}, {lower_unit(child.place.province.name)}"
    )
    child_id = rng.random() < 0.4
    if child_id:
        c.para(f"Số định danh cá nhân: {child.id_number}")
    c.y += c.mm(1)
    d.person("subject", child.name, child.id_number if child_id else None, child.birth)


def _parents(c: Canvas, rng: random.Random, d: Draft, father: Citizen, mother: Citizen) -> None:
    order = [("mẹ", mother), ("cha", father)]
    if rng.random() < 0.5:
        order.reverse()
    if rng.random() < 0.35:
        d.variant.append("parents:table")
        rows = [["Thông tin", *(f"Người {r}" for r, _ in order)]]
        rows += [["Họ, chữ đệm, tên", *(p.name for _, p in order)],
                 ["Ngày, tháng, năm sinh", *(date_as_printed(rng, p.birth, "slash0") for _, p in order)],
                 ["Số định danh cá nhân", *(p.id_number for _, p in order)],
                 ["Dân tộc / Quốc tịch", "Kinh / Việt Nam", "Kinh / Việt Nam"],
                 ["Nơi cư trú", *(p.address for _, p in order)]]  # fmt: skip
        c.table((0.26, 0.37, 0.37), rows, header_rows=1, bold_cols=(0,), scale=0.88)
    else:
        for role, parent in order:
            label = rng.choice((f"Họ, chữ đệm, tên người {role}:", f"Họ và tên {role}:"))
            c.runs([(label, "r"), (parent.name.upper(), "b")])
            x = c.text(
                c.left,
                c.y,
                f"Ngày, tháng, năm sinh: {date_as_printed(rng, parent.birth, 'slash0')}",
            )
            c.text(
                max(x + c.mm(6), c.left + c.width * 0.55),
                c.y,
                "Dân tộc: Kinh   Quốc tịch: Việt Nam",
            )
            c.y += c.pitch()
            c.para(f"Số định danh cá nhân: {parent.id_number}")
            c.para(f"Nơi cư trú: {parent.address}", after=1)
    for role, parent in (("father", father), ("mother", mother)):
        d.person(role, parent.name, parent.id_number, parent.birth)


def _deceased_block(c: Canvas, rng: random.Random, d: Draft, dead: Citizen) -> None:
    c.para("Đề nghị cơ quan đăng ký khai tử cho người có tên dưới đây:", style="b", after=1)
    c.runs([("Họ, chữ đệm, tên người đã chết:", "r"), (dead.name.upper(), "b")])
    c.para(f"Ngày, tháng, năm sinh: {date_as_printed(rng, dead.birth, 'slash0')}")
    c.para(f"Giới tính: {dead.sex.capitalize()}   Dân tộc: Kinh   Quốc tịch: Việt Nam")
    c.para(f"Số định danh cá nhân: {dead.id_number}")
    c.para(f"Nơi cư trú cuối cùng: {dead.address}")
    died = random_date(rng, date(2024, 1, 1), date(2026, 6, 30))
    c.para(f"Đã chết vào lúc: {rng.randint(0, 23):02d} giờ {rng.randrange(0, 60, 5):02d} phút, "
           f"ngày {died:%d} tháng {died:%m} năm {died.year}")  # fmt: skip
    c.para(f"Nơi chết: {rng.choice(('Tại nhà riêng', 'Bệnh viện Đa khoa tỉnh'))}")
    c.para(
        f"Nguyên nhân chết: {rng.choice(('Bệnh già', 'Bệnh hiểm nghèo', 'Tai nạn giao thông'))}",
        after=1,
    )
    d.person("subject", dead.name, dead.id_number, dead.birth)


# --------------------------------------------------------------------------- trích lục


def _civil_office(rng: random.Random, place) -> tuple[list[str], str]:
    return rng.choice(
        (
            (["ỦY BAN NHÂN DÂN", place.commune.upper()], place_name(place.commune)),
            ([f"UBND {place.district.upper()}", place.commune.upper()], place_name(place.commune)),
            (
                [f"UBND {place.province.name.upper()}", f"UBND {place.district.upper()}"],
                place_name(place.district),
            ),
        )
    )


def draw_trich_luc(c: Canvas, rng: random.Random, d: Draft) -> str:
    """Trích lục khai sinh / khai tử: values on dotted leaders, date line and signer."""
    father, mother, child, _ = _family(rng)
    kind = "khai-sinh" if rng.random() < 0.7 else "khai-tu"
    d.variant.append(kind)
    agency, where = _civil_office(rng, father.place)
    copy = rng.random() < 0.5
    symbol = {"khai-sinh": "TLKS", "khai-tu": "TLKT"}[kind] + ("-BS" if copy else "")
    number = f"{rng.randint(1, 480):02d}/{symbol}"
    issued = workday(rng, date(2024, 6, 1), 700)
    top_date = rng.random() < 0.7
    c.header(agency, [date_line(where, issued)] if top_date else [], left_extra=[f"Số: {number}"])
    c.y += c.mm(4)
    c.para(
        "TRÍCH LỤC KHAI SINH" if kind == "khai-sinh" else "TRÍCH LỤC KHAI TỬ",
        style="b",
        scale=1.15,
        align="c",
    )
    if copy:
        c.para("(BẢN SAO)", style="b", align="c")
    c.y += c.mm(3)
    subject = (
        child
        if kind == "khai-sinh"
        else random_citizen(rng, born=(date(1930, 1, 1), date(1962, 12, 31)), place=father.place)
    )
    id_shown = _trich_luc_body(c, rng, d, kind, subject, (father, mother), issued)
    signer = _sign_trich_luc(c, rng, date_line(where, issued), top_date)
    d.put(
        document_number=number,
        issue_date=issued.isoformat(),
        issuer=" ".join(agency),
        signer=signer,
        applicant_name=subject.name,
        birth_date=subject.birth.isoformat(),
        id_number=subject.id_number if id_shown else None,
    )
    d.person("subject", subject.name, subject.id_number if id_shown else None, subject.birth)
    d.person("signer", signer)
    return "certificate"


def _trich_luc_body(
    c: Canvas, rng: random.Random, d: Draft, kind: str, subject: Citizen, parents, issued: date
) -> bool:
    """The leader lines about the registered person (and the parents); whether the ID is printed."""
    father, mother = parents
    id_shown = kind == "khai-tu" or rng.random() < 0.8
    c.leader(
        rng.choice(("Họ, chữ đệm, tên:", "Họ, chữ đệm và tên:", "Họ và tên:")),
        subject.name.upper(),
        style="b",
    )
    c.leader(
        "Ngày, tháng, năm sinh:",
        f"{date_as_printed(rng, subject.birth, 'slash0')}; ghi bằng chữ: {date_in_words(subject.birth)}",
    )
    c.leader("Giới tính:", f"{subject.sex.capitalize()}   Dân tộc: Kinh   Quốc tịch: Việt Nam")
    if kind == "khai-sinh":
        c.leader(
            "Nơi sinh:",
            f"Trung tâm Y tế {lower_unit(subject.place.district)}, {lower_unit(subject.place.province.name)}",
        )
        if id_shown:
            c.leader(
                rng.choice(("Số định danh cá nhân:", "Mã số định danh cá nhân:")), subject.id_number
            )
        _leader_parents(c, rng, d, father, mother)
        reg = subject.birth.replace(day=min(subject.birth.day, 28))
    else:
        c.leader("Số định danh cá nhân:", subject.id_number)
        c.leader("Nơi cư trú cuối cùng:", subject.address)
        died = random_date(rng, date(2024, 1, 1), issued)
        c.leader(
            "Đã chết vào lúc:",
            f"{rng.randint(1, 23):02d} giờ {rng.randrange(0, 60, 5):02d} phút, ngày {died:%d/%m/%Y}",
        )
        c.leader("Nguyên nhân chết:", rng.choice(("Bệnh già", "Bệnh hiểm nghèo")))
        reg = died
    c.leader(
        f"Nơi đăng ký {'khai sinh' if kind == 'khai-sinh' else 'khai tử'}:",
        f"Ủy ban nhân dân {lower_unit(father.place.commune)}, {lower_unit(father.place.district)}",
    )
    c.leader("Ngày, tháng, năm đăng ký:", date_as_printed(rng, workday(rng, reg, 20), "slash0"))
    return id_shown


def _sign_trich_luc(c: Canvas, rng: random.Random, dated: str, top_date: bool) -> str:
    """The date line (when not in the header) and the signing block; returns the signer."""
    c.y += c.mm(3)
    half = c.left + c.width * 0.45
    if not top_date:
        c.para(dated, style="i", align="c", x0=half)
    signer = random_name(rng, rng.choice(("nam", "nữ")))
    titles = rng.choice(
        (
            ["NGƯỜI KÝ TRÍCH LỤC"],
            ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
            ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
        )
    )
    c.signature(titles, signer, x0=half, x1=c.right)
    return signer


def _leader_parents(
    c: Canvas, rng: random.Random, d: Draft, father: Citizen, mother: Citizen
) -> None:
    for role, parent in (("mother", mother), ("father", father)):
        word = "mẹ" if role == "mother" else "cha"
        c.leader(f"Họ, chữ đệm, tên người {word}:", parent.name.upper(), style="b")
        full = rng.random() < 0.5
        born = date_as_printed(rng, parent.birth, "slash0") if full else str(parent.birth.year)
        c.leader(
            "Ngày, tháng, năm sinh:" if full else "Năm sinh:",
            f"{born}   Dân tộc: Kinh   Quốc tịch: Việt Nam",
        )
        c.leader("Nơi cư trú:", parent.address)
        d.person(role, parent.name, None, parent.birth if full else None)
