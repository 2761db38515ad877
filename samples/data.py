"""What the generated documents say: fictitious people, places, procedures, dates and wording.

Why a module of its own: the tables (names, provinces with their districts and communes, the
procedure catalogue, label variants seen on real paper, decision and certificate texts) and the
seeded draws from them are about half of the generator and change for other reasons than the
drawing code: a new province or label variant should not mean editing page layout. Nothing here
draws; :mod:`samples.pages` composes pages from these values and :mod:`samples.docgen` is the
public API. Every person is fictitious; identifiers follow domain.md.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

_DIVISION = re.compile(r"^(tỉnh|thành phố|quận|huyện|thị xã|xã|phường|thị trấn) ")
SEXES = ("nam", "nữ")

_SURNAMES = ("Nguyễn",) * 5 + (
    "Trần",
    "Trần",
    "Lê",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
)
_MIDDLE = {
    "nam": (
        "Văn",
        "Văn",
        "Đức",
        "Quốc",
        "Minh",
        "Hữu",
        "Xuân",
        "Đình",
        "Ngọc",
        "Quang",
        "Thành",
        "Công",
        "Bá",
        "Trọng",
    ),
    "nữ": (
        "Thị",
        "Thị",
        "Thị",
        "Ngọc",
        "Thu",
        "Thanh",
        "Hồng",
        "Mỹ",
        "Kim",
        "Diệu",
        "Bảo",
        "Phương",
    ),
}
_GIVEN = {
    "nam": (
        "An",
        "Bình",
        "Cường",
        "Dũng",
        "Đạt",
        "Đông",
        "Hiếu",
        "Hùng",
        "Huy",
        "Khoa",
        "Lâm",
        "Long",
        "Lực",
        "Mạnh",
        "Nam",
        "Nghĩa",
        "Phúc",
        "Quân",
        "Sơn",
        "Thắng",
        "Thịnh",
        "Trung",
        "Tuấn",
        "Việt",
        "Hưởng",
        "Lưỡng",
        "Được",
        "Khải",
        "Vỹ",
        "Tường",
        "Lợi",
    ),
    "nữ": (
        "Anh",
        "Cúc",
        "Dung",
        "Đào",
        "Giang",
        "Hà",
        "Hằng",
        "Hạnh",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Loan",
        "Mai",
        "Ngân",
        "Nguyệt",
        "Nhung",
        "Oanh",
        "Phượng",
        "Quyên",
        "Thảo",
        "Thơ",
        "Thủy",
        "Trâm",
        "Trang",
        "Tuyết",
        "Uyên",
        "Vân",
        "Yến",
        "Duyên",
        "Mỹ",
        "Thư",
    ),
}
_STREETS = (
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Hùng Vương",
    "Nguyễn Trãi",
    "Lý Thường Kiệt",
    "Quang Trung",
    "Hai Bà Trưng",
    "Phan Bội Châu",
    "Điện Biên Phủ",
    "Nguyễn Huệ",
    "Lê Duẩn",
    "Võ Thị Sáu",
)
_VILLAGES = (
    "Đông Xuyên",
    "Mỹ Thủy",
    "Lệ Xuyên",
    "Phú Kinh",
    "Thượng Xá",
    "An Thơ",
    "Văn Quỹ",
    "Đại Hào",
    "Trường Sinh",
    "Hà Lộc",
    "Ưu Thượng",
    "Kỳ Trúc",
)
_PLACE_ROWS = (  # province;CCCD code;agency H-code (illustrative);CMND prefix;weight;districts
    (
        "tỉnh Quảng Trị;045;H56;197;6;huyện Hải Lăng:xã Hải Thượng,xã Hải Phú,xã Hải Quế,thị trấn "
        "Diên Sanh/thành phố Đông Hà:phường 1,phường Đông Lễ,phường Đông Giang/huyện Triệu "
        "Phong:xã Triệu Thượng,xã Triệu Ái,thị trấn Ái Tử/huyện Hướng Hóa:thị trấn Khe Sanh,thị "
        "trấn Lao Bảo,xã Tân Hợp/huyện Vĩnh Linh:thị trấn Hồ Xá,xã Vĩnh Thủy,xã Vĩnh Tú"
    ),
    (
        "thành phố Hà Nội;001;H26;012;2;quận Ba Đình:phường Kim Mã,phường Ngọc Hà,phường Đội Cấn/"
        "quận Cầu Giấy:phường Dịch Vọng,phường Nghĩa Đô/huyện Đông Anh:thị trấn Đông Anh,xã Uy Nỗ"
    ),
    (
        "tỉnh Thừa Thiên Huế;046;H57;191;2;thành phố Huế:phường Phú Hội,phường Vĩnh Ninh,phường "
        "Thuận Lộc/thị xã Hương Thủy:phường Phú Bài,xã Thủy Phù/huyện Phong Điền:xã Phong Hiền"
    ),
    (
        "thành phố Hồ Chí Minh;079;H29;025;2;quận Bình Thạnh:phường 25,phường 13/thành phố Thủ Đức:"
        "phường Linh Trung,phường Hiệp Bình Chánh/huyện Củ Chi:thị trấn Củ Chi,xã Tân Thạnh Đông"
    ),
    (
        "tỉnh Quảng Bình;044;H55;194;1;thành phố Đồng Hới:phường Hải Đình,xã Bảo Ninh/huyện Lệ "
        "Thủy:thị trấn Kiến Giang,xã Mỹ Thủy"
    ),
    (
        "thành phố Đà Nẵng;048;H60;201;1;quận Hải Châu:phường Thạch Thang,phường Hòa Cường "
        "Bắc/huyện Hòa Vang:xã Hòa Châu,xã Hòa Tiến"
    ),
)
_BIRTH_CODES = ("001", "031", "038", "040", "042", "044", "045", "046", "048", "049", "079", "092")
MOBILE = (
    "086",
    "096",
    "097",
    "098",
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "088",
    "091",
    "094",
    "081",
    "082",
    "083",
    "084",
    "085",
    "089",
    "090",
    "093",
    "070",
    "076",
    "077",
    "078",
    "079",
    "092",
    "056",
    "058",
    "099",
    "059",
)
_PROC_ROWS = (  # base code;working days;sector;name
    "1.001193;1;Hộ tịch;Đăng ký khai sinh",
    "1.000894;3;Hộ tịch;Đăng ký kết hôn",
    "1.000656;1;Hộ tịch;Đăng ký khai tử",
    "1.004873;1;Hộ tịch;Cấp bản sao trích lục hộ tịch",
    "1.004746;3;Hộ tịch;Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
    "1.004616;3;Hộ tịch;Cấp Giấy xác nhận tình trạng hôn nhân",
    (
        "2.000815;1;Chứng thực;Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm "
        "quyền của Việt Nam cấp hoặc chứng nhận"
    ),
    "2.000884;1;Chứng thực;Chứng thực chữ ký trong các giấy tờ, văn bản",
    (
        "1.004227;30;Đất đai;Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và "
        "tài sản khác gắn liền với đất lần đầu"
    ),
    "1.003003;10;Đất đai;Đăng ký biến động quyền sử dụng đất do chuyển nhượng, tặng cho",
    "1.010733;10;Tài nguyên môi trường;Đăng ký môi trường",
    "1.004082;15;Xây dựng;Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "2.000720;3;Thành lập và hoạt động của hộ kinh doanh;Đăng ký thành lập hộ kinh doanh",
)
COMPONENTS = {
    "Hộ tịch": "Tờ khai theo mẫu quy định|Giấy chứng sinh do cơ sở y tế cấp|Giấy chứng nhận kết "
    "hôn của cha, mẹ|Văn bản ủy quyền (nếu có)|Giấy tờ chứng minh nơi cư trú",
    "Đất đai": "Đơn đăng ký biến động đất đai, tài sản gắn liền với đất (Mẫu số 09/ĐK)|Bản gốc "
    "Giấy chứng nhận đã cấp|Hợp đồng chuyển nhượng quyền sử dụng đất|Tờ khai lệ phí "
    "trước bạ|Tờ khai thuế thu nhập cá nhân",
    "": "Đơn đề nghị theo mẫu|Bản sao giấy tờ tùy thân của người đề nghị|Bản vẽ thiết kế, sơ đồ "
    "vị trí|Giấy tờ chứng minh quyền sử dụng đất|Văn bản ủy quyền (nếu có)",
}
LABELS: dict[str, str] = {
    "receipt_title": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ|GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT "
    "QUẢ|PHIẾU TIẾP NHẬN VÀ HẸN TRẢ KẾT QUẢ",
    "dossier_code": "Mã hồ sơ:|Mã hồ sơ:|Mã số hồ sơ:",
    "receipt_name": "Tiếp nhận hồ sơ của: {hon}|Họ và tên người nộp:|Người nộp hồ sơ:|Tiếp nhận hồ "
    "sơ của ông (bà):",
    "receipt_id": "Số CCCD/CMND/Hộ chiếu:|Số giấy tờ tùy thân:",
    "id_cccd": "Số định danh cá nhân:|Số CMND/CCCD:|Giấy tờ tùy thân: CCCD số|Căn cước công dân số:",
    "id_cmnd": "Số CMND/CCCD:|Giấy tờ tùy thân: CMND số|Chứng minh nhân dân số:",
    "id_passport": "Số hộ chiếu:|Giấy tờ tùy thân: Hộ chiếu số",
    "receipt_address": "Địa chỉ:|Địa chỉ thường trú:|Nơi cư trú:",
    "phone": "Số điện thoại:|Điện thoại:|Điện thoại liên hệ:",
    "email": "Email:|Thư điện tử:|E-mail:",
    "procedure_name": "Nội dung yêu cầu giải quyết:|Tên thủ tục:|Nội dung yêu cầu:",
    "procedure_code": "Mã thủ tục:|Mã TTHC:|Mã thủ tục hành chính:",
    "sector": "Lĩnh vực:|Lĩnh vực:|Thuộc lĩnh vực:",
    "received": "Thời gian nhận hồ sơ: {hm}, ngày {d}|Ngày tiếp nhận: {d}|Ngày nhận hồ sơ: {d}",
    "due": "Thời gian trả kết quả giải quyết hồ sơ: {hm}, ngày {d}|Ngày hẹn trả kết quả: {d}|Hẹn "
    "trả kết quả vào ngày: {d}",
    "office": "Nhận kết quả tại:|Nơi trả kết quả:",
    "form_name": "Họ, chữ đệm, tên người yêu cầu:|Họ và tên:|Tôi tên là:|Họ, chữ đệm và tên:",
    "birth": "Ngày, tháng, năm sinh:|Sinh ngày:|Ngày sinh:",
    "form_address": "Nơi cư trú:|Địa chỉ thường trú:|Nơi thường trú:",
    "form_email": "Email:|Địa chỉ thư điện tử:|Thư điện tử:",
    "cert_name": "Họ, chữ đệm, tên:|Họ và tên:|Họ, chữ đệm và tên:",
    "cert_id": "Số định danh cá nhân:|Số CCCD:",
}
"""Label variants per printed field, ``|``-separated (repeats weight a variant)."""
CARDS = {  # title|number|name|birth date|residence labels of the card's front
    "cccd": "CĂN CƯỚC CÔNG DÂN|Số / No.:|Họ và tên / Full name:|Ngày sinh / Date of birth:|Nơi "
    "thường trú / Place of residence:",
    "cmnd": "GIẤY CHỨNG MINH NHÂN DÂN|Số:|Họ tên:|Sinh ngày:|Nơi ĐKHK thường trú:",
    "passport": "HỘ CHIẾU / PASSPORT|Số hộ chiếu / Passport No.:|Họ và tên / Full name:|Ngày sinh "
    "/ Date of birth:|",
}


SUMMARIES = (  # trích yếu | Điều 1
    (
        "Về việc cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn "
        "liền với đất cho {hon} {name}|Cấp Giấy chứng nhận cho {hon} {name}, thửa đất số {a}, tờ "
        "bản đồ số {b}, diện tích {c},5 m² tại {where}."
    ),
    (
        "Về việc cho phép chuyển mục đích sử dụng đất sang đất ở tại {where}|Cho phép {hon} {name} "
        "chuyển mục đích sử dụng {c},5 m² đất trồng cây lâu năm sang đất ở tại {where}."
    ),
    (
        "Về việc cấp giấy phép xây dựng nhà ở riêng lẻ cho {hon} {name}|Cấp giấy phép xây dựng nhà "
        "ở riêng lẻ cho {hon} {name} tại thửa đất số {a}, tờ bản đồ số {b}, {where}."
    ),
    (
        "Về việc thay đổi, cải chính hộ tịch cho {hon} {name}|Cho phép {hon} {name} cải chính "
        "ngày, tháng, năm sinh trong Sổ đăng ký khai sinh tại {where}."
    ),
)
BASES = (
    "Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    (
        "Luật sửa đổi, bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính "
        "quyền địa phương ngày 22 tháng 11 năm 2019;"
    ),
    "Luật Đất đai ngày 29 tháng 11 năm 2013;",
    "Luật Hộ tịch ngày 20 tháng 11 năm 2014;",
    (
        "Nghị định số 43/2014/NĐ-CP ngày 15 tháng 5 năm 2014 của Chính phủ quy định chi tiết "
        "thi hành một số điều của Luật Đất đai;"
    ),
)
CERTS = (
    ("TRÍCH LỤC KHAI SINH", "TLKS-BS", ["NGƯỜI KÝ TRÍCH LỤC"]),
    ("GIẤY KHAI SINH", "KS", ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]),
    ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "XNTTHN", ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
    ("GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "GCN-HKD", ["TRƯỞNG PHÒNG"]),
)


class Province(NamedTuple):
    """One row of ``_PLACE_ROWS``: its codes, weight and districts with their communes."""

    name: str
    cccd: str
    hcode: str
    cmnd: str
    weight: int
    districts: dict[str, list[str]]


def _parse_province(row: str) -> Province:
    name, cccd, hcode, cmnd, weight, rest = row.split(";")
    districts = {d.split(":")[0]: d.split(":")[1].split(",") for d in rest.split("/")}
    return Province(name, cccd, hcode, cmnd, int(weight), districts)


_PROVINCES = tuple(map(_parse_province, _PLACE_ROWS))
Locality = tuple[Province, str, str]
"""(province, district, commune), each with its administrative type ("huyện Hải Lăng")."""

# (base code, working days, sector, name) per catalogue procedure; DAYS: days per name.
PROCS = tuple(row.split(";") for row in _PROC_ROWS)
DAYS = {n: int(d) for _, d, _, n in PROCS}


def pick(rng: random.Random, key: str, **values: str) -> str:
    """One variant of ``LABELS[key]`` with ``values`` filled in."""
    return rng.choice(LABELS[key].split("|")).format(**values)


def bare(division: str) -> str:
    """The name without its administrative type: "huyện Hải Lăng" -> "Hải Lăng"."""
    return _DIVISION.sub("", division)


def date_place(commune: str, district: str) -> str:
    """Date-line place: the commune's bare name, or the district's when it is a number."""
    return bare(district) if bare(commune)[:1].isdigit() else bare(commune)


def random_name(rng: random.Random, sex: str) -> str:
    middles = [rng.choice(_MIDDLE[sex])]
    if rng.random() < 0.35:
        middles.append(rng.choice([m for m in _MIDDLE[sex] if m not in ("Thị", "Văn", *middles)]))
    return " ".join([rng.choice(_SURNAMES), *middles, rng.choice(_GIVEN[sex])])


def random_locality(rng: random.Random) -> Locality:
    province = rng.choices(_PROVINCES, [p.weight for p in _PROVINCES])[0]
    district = rng.choice(sorted(province.districts))
    return province, district, rng.choice(province.districts[district])


def locality_of(address: str, rng: random.Random) -> Locality:
    """The locality an address was built from, so agencies are where the person lives."""
    for p in _PROVINCES:
        for district, communes in p.districts.items():
            for commune in communes:
                if address.endswith(f", {commune}, {district}, {p.name}"):
                    return p, district, commune
    return random_locality(rng)


def random_address(rng: random.Random, loc: Locality) -> str:
    n, street = rng.randint(1, 250), rng.choice(_STREETS)
    if loc[2].startswith("xã"):
        head = f"{rng.choice(('thôn', 'thôn', 'xóm', 'đội 3, thôn'))} {rng.choice(_VILLAGES)}"
        head = f"Số {n}, {head}" if rng.random() < 0.4 else head
    else:
        head = rng.choice(
            (
                f"Số {n} đường {street}",
                f"Số {n}/{rng.randint(2, 40)} {street}",
                f"Tổ {rng.randint(1, 20)}, khu phố {rng.randint(1, 9)}",
                f"Kiệt {n} {street}",
                f"Ngõ {n} phố {street}",
            )
        )
    return f"{head}, {loc[2]}, {loc[1]}, {loc[0].name}"


def random_id_number(
    rng: random.Random, kind: str, province: Province, sex: str, birth: date
) -> str:
    """CCCD per domain.md: birth-registration province, century/sex digit, birth year, random."""
    if kind == "passport":
        return "C" + "".join(rng.choices("0123456789", k=7))
    if kind == "cmnd":
        return province.cmnd + "".join(rng.choices("0123456789", k=9 - len(province.cmnd)))
    code = province.cccd if rng.random() < 0.7 else rng.choice(_BIRTH_CODES)
    century = (birth.year // 100 - 19) * 2 + (sex == "nữ")
    return f"{code}{century}{birth.year % 100:02d}{rng.randrange(10**6):06d}"


def code_date(code: str) -> date:
    day = code.rsplit("-", 2)[1]
    return date(2000 + int(day[:2]), int(day[2:4]), int(day[4:]))


def workday(rng: random.Random, start: date = date(2021, 1, 4), span: int = 1400) -> date:
    d = start + timedelta(days=rng.randrange(span))
    return d + timedelta(days=7 - d.weekday() if d.weekday() >= 5 else 0)


def add_workdays(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        n -= d.weekday() < 5
    return d


def date_line(place: str, d: date) -> str:
    """Decree 30: a day below 10 and the months 1 and 2 take a leading zero."""
    return f"{place}, ngày {d.day:02d} tháng {d.month:0{2 if d.month < 3 else 1}d} năm {d.year}"


def dmy(d: date, style: int) -> str:
    return (f"{d:%d/%m/%Y}", f"{d.day}/{d.month}/{d.year}", f"{d:%d-%m-%Y}")[style]


def as_printed(rng: random.Random, name: str, p_caps: float) -> str:
    return name.upper() if rng.random() < p_caps else name


def phone_text(rng: random.Random, p: str) -> str:
    return rng.choice((p, p, f"{p[:4]} {p[4:7]} {p[7:]}", f"{p[:4]}.{p[4:7]}.{p[7:]}"))


@dataclass(frozen=True)
class Person:
    """A fictitious citizen; a CCCD ``id_number`` agrees with sex and birth year (domain.md)."""

    full_name: str
    sex: str
    birth_date: date
    id_number: str
    id_kind: str
    phone: str
    email: str
    address: str


@dataclass(frozen=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) as the national catalogue lists it."""

    code: str
    name: str
    sector: str
