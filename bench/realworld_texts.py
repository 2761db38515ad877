"""The documents of the real-world OCR corpus: its own wording, not sohoa's generator's.

Công văn, quyết định, giấy mời, tờ trình, thông báo and biên bản with header blocks,
title, body, recipients and signer, filled from small tables of people, places, units
and topics (:func:`make_doc`); laid out and damaged by :mod:`bench.realworld_corpus`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Doc:
    """One administrative document: header blocks, title, body, recipients, signer."""

    kind: str
    left: tuple
    right: tuple
    title: tuple
    body: tuple
    """(style, text): "p" paragraph, "i" italic (grounds), "h" bold lead-in, "c" centred bold,
    "n" numbered item with a hanging indent."""
    recipients: tuple
    signer: tuple
    seal: str


PEOPLE = (
    "Nguyễn Thị Hồng Nhung",
    "Trần Văn Quý",
    "Lê Hoàng Phúc",
    "Phạm Thị Thu Hường",
    "Đỗ Mạnh Cường",
    "Vũ Đức Thắng",
    "Hoàng Thị Yến",
    "Bùi Quang Huy",
    "Đặng Thị Ngọc Ánh",
    "Ngô Xuân Trường",
    "Dương Văn Lợi",
    "Lý Thị Mỹ Duyên",
    "Huỳnh Tấn Lộc",
    "Phan Thị Kiều Oanh",
    "Mai Thế Hiển",
    "Hồ Sỹ Nguyên",
    "Tạ Quang Vinh",
    "Châu Ngọc Bích",
    "Lương Đình Khải",
    "Kiều Thị Thùy Dương",
    "Trương Công Định",
    "Đinh Thị Lệ Quyên",
    "Võ Minh Triết",
)
PLACES = (  # (district, province, place for the date line)
    ("huyện Krông Pắc", "tỉnh Đắk Lắk", "Krông Pắc"),
    ("thị xã Hương Thủy", "tỉnh Thừa Thiên Huế", "Hương Thủy"),
    ("huyện Thanh Oai", "thành phố Hà Nội", "Thanh Oai"),
    ("thành phố Vĩnh Yên", "tỉnh Vĩnh Phúc", "Vĩnh Yên"),
    ("huyện Điện Biên Đông", "tỉnh Điện Biên", "Điện Biên Đông"),
    ("quận Ninh Kiều", "thành phố Cần Thơ", "Cần Thơ"),
    ("huyện Quỳnh Lưu", "tỉnh Nghệ An", "Quỳnh Lưu"),
    ("thị xã Ba Đồn", "tỉnh Quảng Bình", "Ba Đồn"),
    ("huyện Mỏ Cày Nam", "tỉnh Bến Tre", "Mỏ Cày Nam"),
    ("huyện Bảo Lâm", "tỉnh Lâm Đồng", "Bảo Lâm"),
)
UNITS = (  # (parent line, unit line, code, topic area)
    ("ỦY BAN NHÂN DÂN", "{DISTRICT}", "UBND", "chung"),
    ("UBND {DISTRICT}", "PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG", "TNMT", "đất đai"),
    ("UBND {DISTRICT}", "PHÒNG TÀI CHÍNH - KẾ HOẠCH", "TCKH", "ngân sách"),
    ("UBND {PROVINCE}", "SỞ GIÁO DỤC VÀ ĐÀO TẠO", "SGDĐT", "giáo dục"),
    ("SỞ Y TẾ {PROVINCE}", "TRUNG TÂM Y TẾ {DISTRICT}", "TTYT", "y tế"),
    ("UBND {DISTRICT}", "BAN QUẢN LÝ DỰ ÁN ĐẦU TƯ XÂY DỰNG", "BQLDA", "xây dựng"),
)
TOPICS = {
    "chung": (
        "cải cách thủ tục hành chính năm {year}",
        "phòng, chống thiên tai và tìm kiếm cứu nạn",
        "chuyển đổi số trong cơ quan nhà nước",
        "thu gom, xử lý rác thải sinh hoạt",
    ),
    "đất đai": (
        "cấp giấy chứng nhận quyền sử dụng đất lần đầu",
        "kiểm kê đất đai năm {year}",
        "giải phóng mặt bằng tuyến đường liên xã",
        "xử lý vi phạm trong sử dụng đất",
    ),
    "ngân sách": (
        "lập dự toán ngân sách năm {year}",
        "quyết toán kinh phí sự nghiệp",
        "bổ sung kinh phí cho các xã",
        "thực hành tiết kiệm, chống lãng phí",
    ),
    "giáo dục": (
        "tuyển sinh vào lớp 10 năm học {year}-{year1}",
        "kiểm tra cơ sở vật chất trường học",
        "bồi dưỡng giáo viên dạy chương trình mới",
        "tổ chức kỳ thi học sinh giỏi cấp tỉnh",
    ),
    "y tế": (
        "tiêm chủng mở rộng đợt {num}",
        "phòng, chống sốt xuất huyết",
        "khám sức khỏe người cao tuổi",
        "kiểm tra an toàn thực phẩm dịp Tết",
    ),
    "xây dựng": (
        "nghiệm thu công trình trường mầm non {school}",
        "điều chỉnh dự toán gói thầu số {num}",
        "bàn giao mặt bằng thi công cầu {bridge}",
        "giải ngân vốn đầu tư công năm {year}",
    ),
}
SCHOOLS = ("Hoa Sen", "Sơn Ca", "Bình Minh", "Tuổi Thơ", "Họa Mi")
BRIDGES = ("Suối Đá", "Ông Lãnh", "Khe Nước Trong", "Bà Rén")
PARAS = (  # shared body paragraphs; each document type adds its own
    (
        "Thực hiện Kế hoạch số {num}/KH-UBND ngày {date} của Ủy ban nhân dân {province} về việc {topic}, "
        "{unit_lc} đề nghị các cơ quan, đơn vị khẩn trương rà soát, tổng hợp và báo cáo kết quả trước ngày {date2}."
    ),
    (
        "Qua kiểm tra thực tế, trên địa bàn còn {num} hồ sơ chưa được giải quyết đúng hạn, chiếm {pct}% tổng số "
        "hồ sơ tiếp nhận; nguyên nhân chủ yếu là thiếu giấy tờ chứng minh nguồn gốc và việc phối hợp giữa các bộ phận chưa chặt chẽ."
    ),
    (
        "Tổng kinh phí thực hiện là {money} đồng (Bằng chữ: {money_words}), được bố trí từ nguồn ngân sách {level} "
        "năm {year} và các nguồn vốn hợp pháp khác."
    ),
    (
        "Giao {person_role} chủ trì, phối hợp với Văn phòng HĐND và UBND theo dõi, đôn đốc việc thực hiện; "
        "định kỳ hằng tháng báo cáo kết quả về {unit_lc} qua số điện thoại {phone} hoặc hộp thư công vụ."
    ),
    (
        "Trong quá trình triển khai, nếu có khó khăn, vướng mắc, các đơn vị kịp thời phản ánh bằng văn bản "
        "để tổng hợp, báo cáo cấp có thẩm quyền xem xét, giải quyết theo quy định."
    ),
    (
        "Đến ngày {date}, toàn {district_short} đã hoàn thành {pct}% kế hoạch; riêng các xã {commune1}, {commune2} "
        "và thị trấn {commune3} đạt kết quả thấp, cần tập trung chỉ đạo quyết liệt hơn trong thời gian tới."
    ),
    "Ông (bà) {name}, {role} chịu trách nhiệm trước Chủ tịch UBND về tiến độ, chất lượng và hiệu quả của nhiệm vụ được giao.",
    (
        "Các hộ gia đình, cá nhân có đất bị thu hồi được bồi thường theo đơn giá {unit_price} đồng/m2 đối với "
        "đất nông nghiệp và được hỗ trợ ổn định đời sống trong thời gian {num2} tháng."
    ),
)
COMMUNES = (
    "Ea Kly",
    "Ea Phê",
    "Phước Sơn",
    "Tân Hưng",
    "Cao Viên",
    "Xuân Dương",
    "Quỳnh Đôi",
    "Quảng Thọ",
    "Định Thủy",
    "Lộc Thành",
    "Tam Hưng",
    "Mỹ Hòa",
)
ROLES = (
    "Trưởng phòng Nội vụ",
    "Phó Chủ tịch UBND xã",
    "Chánh Văn phòng",
    "Kế toán trưởng",
    "Trưởng phòng Kinh tế và Hạ tầng",
    "Giám đốc Trung tâm Phát triển quỹ đất",
)
NUM_WORDS = ("một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _money(rng: random.Random) -> tuple[str, str]:
    millions = rng.randint(12, 980) * rng.choice((1, 10))
    words = f"{_say(millions)} triệu đồng"
    return f"{millions * 1_000_000:,}".replace(",", "."), words[0].upper() + words[1:]


def _say(n: int) -> str:
    """Vietnamese words for 1..9999 (enough for the amounts here)."""
    parts = []
    for value, name in ((1000, "nghìn"), (100, "trăm")):
        if n >= value:
            parts.append(f"{NUM_WORDS[n // value - 1]} {name}")
            n %= value
    if n >= 20:
        parts.append(f"{NUM_WORDS[n // 10 - 1]} mươi")
        n %= 10
        if n:
            parts.append({1: "mốt", 5: "lăm"}.get(n, NUM_WORDS[n - 1]))
    elif n >= 10:
        parts.append("mười" + (f" {({5: 'lăm'}).get(n - 10, NUM_WORDS[n - 11])}" if n > 10 else ""))
    elif n:
        parts.append(("lẻ " if parts else "") + NUM_WORDS[n - 1])
    return " ".join(parts)


def _slots(rng: random.Random) -> dict[str, str]:
    district, province, place = rng.choice(PLACES)
    year = rng.randint(2019, 2025)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    money, words = _money(rng)
    communes = rng.sample(COMMUNES, 3)
    return {
        "district": district,
        "province": province,
        "place": place,
        "year": str(year),
        "year1": str(year + 1),
        "num": str(rng.randint(12, 489)),
        "num2": str(rng.randint(3, 36)),
        "date": f"{day:02d}/{month:02d}/{year}",
        "date2": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{year}",
        "day": f"{day:02d}",
        "month": str(month),
        "pct": f"{rng.randint(40, 98)},{rng.randint(0, 9)}",
        "money": money,
        "money_words": words,
        "level": rng.choice(("tỉnh", "huyện", "xã")),
        "phone": f"0{rng.choice((2, 9, 8))}{rng.randint(10_000_000, 99_999_999)}",
        "name": rng.choice(PEOPLE),
        "role": rng.choice(ROLES).lower(),
        "person_role": rng.choice(ROLES),
        "commune1": communes[0],
        "commune2": communes[1],
        "commune3": communes[2],
        "district_short": district.split()[0],
        "school": rng.choice(SCHOOLS),
        "bridge": rng.choice(BRIDGES),
        "unit_price": f"{rng.randint(45, 260)}.000",
    }


def _fill(text: str, s: dict[str, str]) -> str:
    return text.format(**s)


def make_doc(rng: random.Random) -> Doc:
    """A random document of one of six types, with its own numbers, names and dates."""
    s = _slots(rng)
    parent, unit, code, area = rng.choice(UNITS)
    up = {"DISTRICT": s["district"].upper(), "PROVINCE": s["province"].upper()}
    parent, unit = parent.format(**up), unit.format(**up)
    s["topic"] = _fill(rng.choice(TOPICS[area]), s)
    s["unit_lc"] = unit.lower() if unit != up["DISTRICT"] else "Ủy ban nhân dân " + s["district"]
    kind = rng.choice(("công văn", "quyết định", "giấy mời", "tờ trình", "thông báo", "biên bản"))
    abbr = {
        "công văn": "",
        "quyết định": "QĐ-",
        "giấy mời": "GM-",
        "tờ trình": "TTr-",
        "thông báo": "TB-",
        "biên bản": "BB-",
    }[kind]
    number = f"Số: {rng.randint(5, 2999)}/{abbr}{code}"
    left = [
        (parent, "r" if parent != "ỦY BAN NHÂN DÂN" else "b", 1.0),
        (unit, "b", 1.0),
        ("---", "", 1),
        (number, "r", 1.0),
    ]
    if kind == "công văn":
        left.append((f"V/v {s['topic']}", "r", 0.85))
    right = [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "b", 0.92),
        ("Độc lập - Tự do - Hạnh phúc", "b", 1.0),
        ("---", "", 1),
        (f"{s['place']}, ngày {s['day']} tháng {s['month']} năm {s['year']}", "i", 1.0),
    ]
    title, body = _body(kind, s, rng)
    shared = [("p", _fill(p, s)) for p in rng.sample(PARAS, len(PARAS))]
    body = body[:2] + shared[:3] + body[2:] + shared[3:]
    signer_head = rng.choice(
        (
            ("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"),
            ("TRƯỞNG PHÒNG",),
            ("GIÁM ĐỐC",),
            ("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"),
        )
    )
    recipients = ("- Như trên;", f"- UBND {s['province']} (b/c);", "- Lưu: VT, " + code + ".")
    return Doc(
        kind,
        tuple(left),
        tuple(right),
        title,
        tuple(body),
        recipients,
        (*signer_head, rng.choice(PEOPLE)),
        f"{unit} * {s['district']}",
    )


def _body(kind: str, s: dict[str, str], rng: random.Random):
    f = lambda t: _fill(t, s)
    if kind == "quyết định":
        title = (("QUYẾT ĐỊNH", "b", 1.15), (f"Về việc {s['topic']}", "b", 1.0), ("---", "", 1))
        body = [
            ("c", f"CHỦ TỊCH ỦY BAN NHÂN DÂN {s['district'].upper()}"),
            (
                "i",
                (
                    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Luật sửa đổi, "
                    "bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 năm 2019;"
                ),
            ),
            (
                "i",
                f(
                    f"Xét đề nghị của Trưởng phòng Nội vụ tại Tờ trình số {s['num']}/TTr-NV ngày {s['date']}."
                ),
            ),
            ("c", "QUYẾT ĐỊNH:"),
            (
                "h",
                f(f"Điều 1. Phê duyệt kế hoạch {s['topic']} với tổng kinh phí {s['money']} đồng."),
            ),
            (
                "h",
                "Điều 2. Giao các phòng, ban chuyên môn và UBND các xã, thị trấn tổ chức thực hiện.",
            ),
            (
                "h",
                (
                    "Điều 3. Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng HĐND và UBND, "
                    "thủ trưởng các cơ quan có liên quan chịu trách nhiệm thi hành Quyết định này."
                ),
            ),
        ]
        return title, body
    if kind == "giấy mời":
        title = (("GIẤY MỜI", "b", 1.15), (f"Họp bàn về {s['topic']}", "b", 1.0), ("---", "", 1))
        body = [
            (
                "p",
                f(
                    f"{s['unit_lc'].capitalize()} trân trọng kính mời ông (bà) {s['name']}, {s['role']}, tới dự cuộc họp."
                ),
            ),
            ("n", f(f"1. Thời gian: 08 giờ {rng.choice(('00', '30'))} phút, ngày {s['date2']}.")),
            (
                "n",
                f(
                    f"2. Địa điểm: Hội trường tầng {rng.randint(2, 4)}, trụ sở UBND {s['district']}."
                ),
            ),
            (
                "n",
                f(
                    f"3. Nội dung: Đánh giá kết quả {s['topic']}; thống nhất nhiệm vụ quý {rng.randint(2, 4)} năm {s['year']}."
                ),
            ),
            (
                "p",
                "Đề nghị đại biểu chuẩn bị ý kiến tham gia và đến dự họp đúng thành phần, đúng giờ.",
            ),
        ]
        return title, body
    if kind == "tờ trình":
        title = (
            ("TỜ TRÌNH", "b", 1.15),
            (f"Đề nghị phê duyệt kinh phí {s['topic']}", "b", 1.0),
            ("---", "", 1),
        )
        body = [
            ("c", f"Kính gửi: Ủy ban nhân dân {s['province']}"),
            ("h", "I. SỰ CẦN THIẾT"),
            (
                "p",
                f(
                    f"Năm {s['year']}, khối lượng công việc tăng {s['pct']}% so với cùng kỳ, trong khi kinh phí được giao còn hạn chế."
                ),
            ),
            ("h", "II. NỘI DUNG ĐỀ NGHỊ"),
            ("n", f(f"1. Bổ sung {s['money']} đồng để thực hiện {s['topic']}.")),
            ("n", f(f"2. Cho phép kéo dài thời gian giải ngân đến hết ngày 31/12/{s['year']}.")),
        ]
        return title, body
    if kind == "thông báo":
        title = (
            ("THÔNG BÁO", "b", 1.15),
            (f"Kết luận của Chủ tịch UBND tại buổi làm việc về {s['topic']}", "b", 1.0),
            ("---", "", 1),
        )
        body = [
            (
                "p",
                f(
                    f"Ngày {s['date']}, đồng chí {s['name']} chủ trì buổi làm việc với các phòng, ban và UBND các xã."
                ),
            ),
            ("n", f(f"1. Cơ bản thống nhất với báo cáo của {s['unit_lc']}.")),
            (
                "n",
                f(
                    f"2. Yêu cầu các xã {s['commune1']}, {s['commune2']} hoàn thành trước ngày {s['date2']}."
                ),
            ),
            ("n", "3. Văn phòng theo dõi, đôn đốc và báo cáo kết quả thực hiện."),
        ]
        return title, body
    if kind == "biên bản":
        title = (
            ("BIÊN BẢN", "b", 1.15),
            (f"Kiểm tra hiện trạng {s['topic']}", "b", 1.0),
            ("---", "", 1),
        )
        body = [
            (
                "p",
                f(
                    f"Hôm nay, vào lúc {rng.randint(7, 15)} giờ {rng.choice(('00', '15', '30'))} phút ngày {s['date']}, "
                    f"tại xã {s['commune1']}, {s['district']}, chúng tôi gồm:"
                ),
            ),
            ("n", f"1. Ông {s['name']} - {s['role'].capitalize()};"),
            ("n", f"2. Bà {rng.choice(PEOPLE)} - Cán bộ địa chính - xây dựng xã;"),
            (
                "p",
                "Đã tiến hành kiểm tra, đo đạc và thống nhất lập biên bản với các nội dung dưới đây.",
            ),
        ]
        return title, body
    title = ()  # công văn: the subject is under the number, the addressee is centred
    body = [
        ("c", f"Kính gửi: Ủy ban nhân dân các xã, thị trấn thuộc {s['district']}"),
        ("p", f(f"Căn cứ Văn bản số {s['num']}/UBND-VP ngày {s['date']} về việc {s['topic']};")),
    ]
    return title, body
