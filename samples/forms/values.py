"""Random but realistic values for the official-form generator: people, places, procedures, codes.

Why its own tables: the form families must not share anything with :mod:`samples.docgen`
beyond the standard library, so a rule tuned to docgen's value pools (its names, streets,
procedure titles) gets no help here. Every value is drawn from the caller's seeded
:class:`random.Random`, so a seed gives the same page on every machine.

CCCD numbers follow the structure in ``/work/shared/domain.md`` (province of birth
registration, century+sex digit, two digits of the birth year, six random digits), so
:func:`ocr.validators.check_id_number` accepts them with the holder's date of birth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

SURNAMES = (
    ("Nguyễn",) * 6
    + ("Trần",) * 3
    + ("Lê",) * 3
    + ("Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương")
)
MIDDLE = {
    "nam": ("Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Công", "Xuân", "Đình", "Quốc"),
    "nữ": ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Mỹ", "Hồng", "Phương"),
}
GIVEN = {
    "nam": (
        "Anh", "Bảo", "Cường", "Dũng", "Hải", "Hùng", "Khoa", "Long", "Nam", "Phúc", "Quân",
        "Sơn", "Tài", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Hiếu", "Lâm", "Thịnh", "Tâm",
    ),
    "nữ": (
        "Anh", "Chi", "Dung", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Ngân",
        "Nhung", "Phương", "Quỳnh", "Thảo", "Trang", "Tuyết", "Vy", "Yến", "Hằng", "Loan",
    ),
}  # fmt: skip
SECOND_MIDDLE = ("Minh", "Thanh", "Ngọc", "Hoài", "Bảo", "Gia", "Khánh", "Như")


@dataclass(frozen=True)
class Province:
    """A province with its CCCD code (Circular 07/2016/TT-BCA) and districts -> communes."""

    name: str
    cccd: str
    hcode: str
    districts: tuple[tuple[str, tuple[str, ...]], ...]


PROVINCES = (
    Province("Thành phố Hà Nội", "001", "H01", (
        ("Quận Ba Đình", ("Phường Kim Mã", "Phường Điện Biên", "Phường Ngọc Hà")),
        ("Huyện Gia Lâm", ("Xã Bát Tràng", "Thị trấn Trâu Quỳ", "Xã Kim Lan")),
    )),
    Province("Tỉnh Quảng Trị", "045", "H45", (
        ("Thành phố Đông Hà", ("Phường Đông Lương", "Phường Đông Giang", "Phường 5")),
        ("Huyện Gio Linh", ("Thị trấn Gio Linh", "Xã Gio Mỹ", "Xã Gio Quang")),
        ("Huyện Hải Lăng", ("Thị trấn Diên Sanh", "Xã Hải Sơn", "Xã Hải Ba")),
    )),
    Province("Tỉnh Thừa Thiên Huế", "046", "H57", (
        ("Thành phố Huế", ("Phường Phú Hội", "Phường Vĩnh Ninh", "Phường Tây Lộc")),
        ("Huyện Phú Vang", ("Xã Phú Thượng", "Xã Phú Mỹ", "Thị trấn Thuận An")),
    )),
    Province("Tỉnh Nghệ An", "040", "H40", (
        ("Thành phố Vinh", ("Phường Hưng Bình", "Phường Lê Mao", "Phường Trường Thi")),
        ("Huyện Nghi Lộc", ("Xã Nghi Phong", "Thị trấn Quán Hành", "Xã Nghi Thạch")),
    )),
    Province("Thành phố Đà Nẵng", "048", "H48", (
        ("Quận Hải Châu", ("Phường Thạch Thang", "Phường Hòa Cường Bắc", "Phường Bình Hiên")),
        ("Huyện Hòa Vang", ("Xã Hòa Tiến", "Xã Hòa Phong", "Xã Hòa Nhơn")),
    )),
    Province("Thành phố Hồ Chí Minh", "079", "H29", (
        ("Quận 3", ("Phường Võ Thị Sáu", "Phường 9", "Phường 14")),
        ("Huyện Củ Chi", ("Xã Tân Thông Hội", "Thị trấn Củ Chi", "Xã Phước Vĩnh An")),
    )),
    Province("Tỉnh Thanh Hóa", "038", "H38", (
        ("Thành phố Thanh Hóa", ("Phường Điện Biên", "Phường Ba Đình", "Phường Đông Thọ")),
        ("Huyện Hoằng Hóa", ("Thị trấn Bút Sơn", "Xã Hoằng Quỳ", "Xã Hoằng Đạo")),
    )),
    Province("Tỉnh Quảng Nam", "049", "H49", (
        ("Thành phố Tam Kỳ", ("Phường An Mỹ", "Phường Tân Thạnh", "Phường Hòa Hương")),
        ("Thị xã Điện Bàn", ("Phường Vĩnh Điện", "Phường Điện An", "Xã Điện Hòa")),
    )),
    Province("Thành phố Cần Thơ", "092", "H92", (
        ("Quận Ninh Kiều", ("Phường An Hòa", "Phường Xuân Khánh", "Phường Tân An")),
        ("Huyện Phong Điền", ("Xã Nhơn Ái", "Thị trấn Phong Điền", "Xã Mỹ Khánh")),
    )),
    Province("Tỉnh Nam Định", "036", "H36", (
        ("Thành phố Nam Định", ("Phường Vị Xuyên", "Phường Trần Tế Xương", "Phường Lộc Hạ")),
        ("Huyện Hải Hậu", ("Thị trấn Yên Định", "Xã Hải Minh", "Xã Hải Đông")),
    )),
)  # fmt: skip
STREETS = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Huệ", "Hùng Vương", "Lý Thường Kiệt", "Phan Chu Trinh",
    "Hai Bà Trưng", "Quang Trung", "Nguyễn Trãi", "Lê Duẩn", "Bà Triệu", "Ngô Quyền",
)  # fmt: skip
HAMLETS = ("Thôn", "Tổ dân phố", "Khu phố", "Xóm", "Ấp")


@dataclass(frozen=True)
class Place:
    """Province, district and commune of one address."""

    province: Province
    district: str
    commune: str


@dataclass(frozen=True)
class Citizen:
    """A fictitious person, with everything a form may print about them."""

    name: str
    sex: str
    birth: date
    id_number: str
    place: Place
    address: str
    phone: str
    email: str


@dataclass(frozen=True)
class Procedure:
    """A thủ tục hành chính: base code, name, lĩnh vực, working days to solve."""

    base: str
    name: str
    sector: str
    days: int

    def code(self, hcode: str) -> str:
        """The local mã TTHC, e.g. ``1.001193.000.00.00.H45``."""
        return f"{self.base}.000.00.00.{hcode}"


PROCEDURES = (
    Procedure("1.001193", "Đăng ký khai sinh", "Hộ tịch", 1),
    Procedure("1.000894", "Đăng ký kết hôn", "Hộ tịch", 1),
    Procedure("1.000656", "Đăng ký khai tử", "Hộ tịch", 1),
    Procedure("2.000635", "Cấp bản sao Trích lục hộ tịch", "Hộ tịch", 1),
    Procedure("1.004873", "Cấp Giấy xác nhận tình trạng hôn nhân", "Hộ tịch", 3),
    Procedure("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản", "Chứng thực", 1),
    Procedure("2.000720", "Đăng ký thành lập hộ kinh doanh", "Đăng ký kinh doanh", 3),
    Procedure("2.000575", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", "Đăng ký kinh doanh", 3),
    Procedure("1.004227", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất", "Đất đai", 10),
    Procedure("1.010012", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "Hoạt động xây dựng", 15),
)  # fmt: skip
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098", "032", "035", "038", "077", "083", "085", "088")  # fmt: skip


def random_place(rng: random.Random) -> Place:
    province = rng.choice(PROVINCES)
    district, communes = rng.choice(province.districts)
    return Place(province, district, rng.choice(communes))


def lower_unit(unit: str) -> str:
    """``Xã Gio Mỹ`` -> ``xã Gio Mỹ`` (units in running text are written in lower case)."""
    kind, _, name = unit.partition(" ")
    if name and not kind[:1].isdigit():
        for prefix in ("Thành phố", "Thị trấn", "Thị xã"):
            if unit.startswith(prefix):
                return prefix.lower() + unit[len(prefix) :]
        return kind.lower() + " " + name
    return unit


def address_of(rng: random.Random, place: Place) -> str:
    """A street or hamlet address in one of the two cases offices print it in."""
    if rng.random() < 0.5:
        head = f"Số {rng.randint(1, 250)}, đường {rng.choice(STREETS)}"
    else:
        head = f"{rng.choice(HAMLETS)} {rng.randint(1, 12)}"
    units = (place.commune, place.district, place.province.name)
    if rng.random() < 0.5:
        units = tuple(lower_unit(u) for u in units)
    return ", ".join((head, *units))


def random_name(rng: random.Random, sex: str) -> str:
    parts = [rng.choice(SURNAMES), rng.choice(MIDDLE[sex])]
    if rng.random() < 0.25:
        parts.append(rng.choice(SECOND_MIDDLE))
    parts.append(rng.choice(GIVEN[sex]))
    return " ".join(parts)


def cccd_number(rng: random.Random, province_code: str, sex: str, birth: date) -> str:
    """A 12-digit số định danh cá nhân consistent with ``sex`` and ``birth``."""
    century = (birth.year - 1900) // 100
    digit = 2 * century + (1 if sex == "nữ" else 0)
    tail = "".join(rng.choices("0123456789", k=6))
    return f"{province_code}{digit}{birth.year % 100:02d}{tail}"


def random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def random_citizen(
    rng: random.Random,
    *,
    sex: str | None = None,
    born: tuple[date, date] = (date(1955, 1, 1), date(2004, 12, 31)),
    place: Place | None = None,
) -> Citizen:
    """A fictitious adult (or child, with ``born``) living at ``place`` (random when None)."""
    sex = sex or rng.choice(("nam", "nữ"))
    name, birth = random_name(rng, sex), random_date(rng, *born)
    place = place or random_place(rng)
    registered = rng.choice(PROVINCES).cccd if rng.random() < 0.3 else place.province.cccd
    phone = rng.choice(MOBILE_PREFIXES) + "".join(rng.choices("0123456789", k=7))
    ascii_name = _ascii(name).lower().split()
    local = rng.choice(
        (f"{ascii_name[-1]}{ascii_name[0]}{birth.year % 100:02d}", ".".join(ascii_name[-2:]))
    )
    domain = rng.choice(("gmail.com", "gmail.com", "yahoo.com.vn", "hotmail.com"))
    return Citizen(
        name,
        sex,
        birth,
        cccd_number(rng, registered, sex, birth),
        place,
        address_of(rng, place),
        phone,
        f"{local}@{domain}",
    )


_ASCII = str.maketrans(
    "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ"
    "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴĐ",
    "aaaaaaaaaaaaaaaaaeeeeeeeeeeeiiiiiooooooooooooooooouuuuuuuuuuuyyyyyd"
    "AAAAAAAAAAAAAAAAAEEEEEEEEEEEIIIIIOOOOOOOOOOOOOOOOOUUUUUUUUUUUYYYYYD",
)


def _ascii(text: str) -> str:
    return text.translate(_ASCII)


def dossier_code(rng: random.Random, received: date, hcode: str) -> str:
    """A mã hồ sơ in one of the two shapes of domain.md, received on ``received``."""
    seq = rng.randint(1, 2400)
    if rng.random() < 0.65:
        return f"000.{rng.choice(('00', '20', '30'))}.{rng.randint(1, 45):02d}.{hcode}-{received:%y%m%d}-{seq:04d}"
    return f"{hcode}.{rng.randint(1, 60):02d}-{received:%y%m%d}-{seq:04d}"


def workday(rng: random.Random, start: date = date(2024, 1, 2), span: int = 1000) -> date:
    day = random_date(rng, start, start + timedelta(days=span))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def plus_workdays(day: date, n: int) -> date:
    while n > 0:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day


def phone_as_printed(rng: random.Random, phone: str) -> str:
    """``0912345678``, ``0912 345 678`` or ``0912.345.678``."""
    style = rng.choice(("", " ", "."))
    return f"{phone[:4]}{style}{phone[4:7]}{style}{phone[7:]}" if style else phone


def date_as_printed(rng: random.Random, day: date, style: str | None = None) -> str:
    """A date in one of the forms found on official paper."""
    style = style or rng.choice(("slash", "slash0", "dash", "words"))
    if style == "slash":
        return f"{day.day}/{day.month}/{day.year}"
    if style == "slash0":
        return f"{day:%d/%m/%Y}"
    if style == "dash":
        return f"{day:%d-%m-%Y}"
    return f"ngày {day:%d} tháng {day:%m} năm {day.year}"


def date_line(place: str, day: date) -> str:
    """The Decree-30 place-and-date line: ``Đông Hà, ngày 05 tháng 11 năm 2026``."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day:%d} tháng {month} năm {day.year}"


def place_name(unit: str) -> str:
    """A unit without its kind, as the date line prints it (``Huyện Gio Linh`` -> ``Gio Linh``)."""
    for prefix in ("Thành phố ", "Thị trấn ", "Thị xã ", "Tỉnh ", "Huyện ", "Quận ", "Xã "):
        if unit.startswith(prefix):
            return unit[len(prefix) :]
    return unit
