"""Labelled synthetic Vietnamese administrative documents: receipts, forms, decisions, ID copies.

Why: field extraction (mã hồ sơ, names, CCCD numbers, dates, ...) is scored as precision and
recall per field, which needs pages whose printed values are known exactly. Every page is drawn
from a seeded :class:`random.Random` and records the canonical value of each field it prints
(:attr:`GeneratedPage.truth`), every QR code and barcode, and every text line with its box;
:func:`degrade_page` then makes it look scanned. Layouts follow Decree 30/2020 (agency top-left,
motto and date line top-right, signature block) and the one-stop-shop receipt; labels vary among
variants seen on real paper (:data:`LABELS`). Every person is fictitious.
"""

from __future__ import annotations

import json
import math
import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
import segno
from barcode.codex import Code39, Code128
from PIL import Image, ImageDraw, ImageFont

from schemas.fields import Box
from sohoa import synth
from sohoa.textfold import fold

__all__ = [
    "LABELS", "PROCEDURES", "GeneratedPage", "Person", "Procedure", "degrade_page",
    "make_application", "make_certificate", "make_decision", "make_dossier", "make_id_card_copy",
    "make_mixed_batch", "make_receipt", "make_separator", "random_dossier_code", "random_person",
    "random_procedure",
]

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_STYLES = {"r": "", "b": "-Bold", "i": "-Italic", "c": "Condensed", "cb": "Condensed-Bold"}
_INK, _PEN, _SPACING = (20, 20, 25), (25, 45, 140), 1.45
_MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
_DIVISION = re.compile(r"^(tỉnh|thành phố|quận|huyện|thị xã|xã|phường|thị trấn) ")
_SEXES = ("nam", "nữ")

_SURNAMES = ("Nguyễn",) * 5 + ("Trần", "Trần", "Lê", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ",
                             "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
_MIDDLE = {"nam": ("Văn", "Văn", "Đức", "Quốc", "Minh", "Hữu", "Xuân", "Đình", "Ngọc", "Quang",
                   "Thành", "Công", "Bá", "Trọng"),
           "nữ": ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Hồng", "Mỹ", "Kim", "Diệu", "Bảo",
                  "Phương")}
_GIVEN = {"nam": ("An", "Bình", "Cường", "Dũng", "Đạt", "Đông", "Hiếu", "Hùng", "Huy", "Khoa", "Lâm",
                  "Long", "Lực", "Mạnh", "Nam", "Nghĩa", "Phúc", "Quân", "Sơn", "Thắng", "Thịnh",
                  "Trung", "Tuấn", "Việt", "Hưởng", "Lưỡng", "Được", "Khải", "Vỹ", "Tường", "Lợi"),
          "nữ": ("Anh", "Cúc", "Dung", "Đào", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương", "Lan",
                 "Linh", "Loan", "Mai", "Ngân", "Nguyệt", "Nhung", "Oanh", "Phượng", "Quyên",
                 "Thảo", "Thơ", "Thủy", "Trâm", "Trang", "Tuyết", "Uyên", "Vân", "Yến", "Duyên",
                 "Mỹ", "Thư")}
_STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Hùng Vương", "Nguyễn Trãi", "Lý Thường Kiệt", "Quang Trung",
            "Hai Bà Trưng", "Phan Bội Châu", "Điện Biên Phủ", "Nguyễn Huệ", "Lê Duẩn", "Võ Thị Sáu")
_VILLAGES = ("Đông Xuyên", "Mỹ Thủy", "Lệ Xuyên", "Phú Kinh", "Thượng Xá", "An Thơ", "Văn Quỹ",
             "Đại Hào", "Trường Sinh", "Hà Lộc", "Ưu Thượng", "Kỳ Trúc")
_PLACE_ROWS = (  # province;CCCD code;agency H-code (illustrative);CMND prefix;weight;districts
    ("tỉnh Quảng Trị;045;H56;197;6;huyện Hải Lăng:xã Hải Thượng,xã Hải Phú,xã Hải Quế,thị trấn "
    "Diên Sanh/thành phố Đông Hà:phường 1,phường Đông Lễ,phường Đông Giang/huyện Triệu Phong:xã "
    "Triệu Thượng,xã Triệu Ái,thị trấn Ái Tử/huyện Hướng Hóa:thị trấn Khe Sanh,thị trấn Lao Bảo,"
    "xã Tân Hợp/huyện Vĩnh Linh:thị trấn Hồ Xá,xã Vĩnh Thủy,xã Vĩnh Tú"),
    ("thành phố Hà Nội;001;H26;012;2;quận Ba Đình:phường Kim Mã,phường Ngọc Hà,phường Đội Cấn/"
    "quận Cầu Giấy:phường Dịch Vọng,phường Nghĩa Đô/huyện Đông Anh:thị trấn Đông Anh,xã Uy Nỗ"),
    ("tỉnh Thừa Thiên Huế;046;H57;191;2;thành phố Huế:phường Phú Hội,phường Vĩnh Ninh,phường "
    "Thuận Lộc/thị xã Hương Thủy:phường Phú Bài,xã Thủy Phù/huyện Phong Điền:xã Phong Hiền"),
    ("thành phố Hồ Chí Minh;079;H29;025;2;quận Bình Thạnh:phường 25,phường 13/thành phố Thủ Đức:"
    "phường Linh Trung,phường Hiệp Bình Chánh/huyện Củ Chi:thị trấn Củ Chi,xã Tân Thạnh Đông"),
    ("tỉnh Quảng Bình;044;H55;194;1;thành phố Đồng Hới:phường Hải Đình,xã Bảo Ninh/huyện Lệ Thủy:"
    "thị trấn Kiến Giang,xã Mỹ Thủy"),
    ("thành phố Đà Nẵng;048;H60;201;1;quận Hải Châu:phường Thạch Thang,phường Hòa Cường Bắc/huyện "
    "Hòa Vang:xã Hòa Châu,xã Hòa Tiến"),
)
_BIRTH_CODES = ("001", "031", "038", "040", "042", "044", "045", "046", "048", "049", "079", "092")
_MOBILE = ("086", "096", "097", "098", "032", "033", "034", "035", "036", "037", "038", "039",
           "088", "091", "094", "081", "082", "083", "084", "085", "089", "090", "093", "070",
           "076", "077", "078", "079", "092", "056", "058", "099", "059")
_PROC_ROWS = (  # base code;working days;sector;name
    "1.001193;1;Hộ tịch;Đăng ký khai sinh", "1.000894;3;Hộ tịch;Đăng ký kết hôn",
    "1.000656;1;Hộ tịch;Đăng ký khai tử", "1.004873;1;Hộ tịch;Cấp bản sao trích lục hộ tịch",
    "1.004746;3;Hộ tịch;Đăng ký thay đổi, cải chính, bổ sung thông tin hộ tịch",
    "1.004616;3;Hộ tịch;Cấp Giấy xác nhận tình trạng hôn nhân",
    ("2.000815;1;Chứng thực;Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm "
    "quyền của Việt Nam cấp hoặc chứng nhận"),
    "2.000884;1;Chứng thực;Chứng thực chữ ký trong các giấy tờ, văn bản",
    ("1.004227;30;Đất đai;Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và "
    "tài sản khác gắn liền với đất lần đầu"),
    "1.003003;10;Đất đai;Đăng ký biến động quyền sử dụng đất do chuyển nhượng, tặng cho",
    "1.010733;10;Tài nguyên môi trường;Đăng ký môi trường",
    "1.004082;15;Xây dựng;Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "2.000720;3;Thành lập và hoạt động của hộ kinh doanh;Đăng ký thành lập hộ kinh doanh",
)
_COMPONENTS = {
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
_CARDS = {  # title|number|name|birth date|residence labels of the card's front
    "cccd": "CĂN CƯỚC CÔNG DÂN|Số / No.:|Họ và tên / Full name:|Ngày sinh / Date of birth:|Nơi "
            "thường trú / Place of residence:",
    "cmnd": "GIẤY CHỨNG MINH NHÂN DÂN|Số:|Họ tên:|Sinh ngày:|Nơi ĐKHK thường trú:",
    "passport": "HỘ CHIẾU / PASSPORT|Số hộ chiếu / Passport No.:|Họ và tên / Full name:|Ngày sinh "
                "/ Date of birth:|",
}


class _Province(NamedTuple):
    name: str
    cccd: str
    hcode: str
    cmnd: str
    weight: int
    districts: dict[str, list[str]]


def _parse_province(row: str) -> _Province:
    name, cccd, hcode, cmnd, weight, rest = row.split(";")
    districts = {d.split(":")[0]: d.split(":")[1].split(",") for d in rest.split("/")}
    return _Province(name, cccd, hcode, cmnd, int(weight), districts)


_PROVINCES = tuple(map(_parse_province, _PLACE_ROWS))
Locality = tuple[_Province, str, str]
"""(province, district, commune), each with its administrative type ("huyện Hải Lăng")."""


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


@dataclass(frozen=True)
class GeneratedPage:
    """One page with everything printed on it, for scoring field extraction and OCR.

    ``line_boxes`` has one ``(left, top, width, height)`` box per line of ``text`` and
    ``code_boxes`` one box (quiet zone included) per entry of ``codes``, in page pixels.
    """

    image: Image.Image
    dpi: int
    doc_type: str
    truth: dict[str, str]
    codes: tuple[tuple[str, str], ...]
    dossier: int
    text: str
    line_boxes: tuple[Box, ...] = field(default=(), repr=False)
    code_boxes: tuple[Box, ...] = field(default=(), repr=False)


_PROCS = [row.split(";") for row in _PROC_ROWS]
PROCEDURES: tuple[Procedure, ...] = tuple(Procedure(f"{c}.000.00.00.H56", n, s)
                                          for c, _, s, n in _PROCS)
"""~12 procedures; :func:`random_procedure` swaps the province H-code."""
_DAYS = {n: int(d) for _, d, _, n in _PROCS}


def _pick(rng: random.Random, key: str, **values: str) -> str:
    return rng.choice(LABELS[key].split("|")).format(**values)


def _font(family: str, style: str, size_px: int) -> ImageFont.FreeTypeFont:
    """A DejaVu face; synth's probed fallback when the file is missing (other distributions)."""
    suffix = _STYLES[style].replace("Italic", "Oblique" if family == "Sans" else "Italic")
    path = _FONT_DIR / f"DejaVu{family}{suffix}.ttf"
    return synth._load_font(str(path) if path.is_file() else None, max(6, size_px))


class _Overflow(Exception):
    """Required text ran past the bottom margin; ``args[0]`` optional lines were in play."""


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: int = 0) -> list[str]:
    """Greedy word wrap; the first row is ``indent`` px narrower."""
    rows: list[str] = []
    for word in text.split():
        if rows and font.getlength(f"{rows[-1]} {word}") <= width - indent * (len(rows) == 1):
            rows[-1] = f"{rows[-1]} {word}"
        else:
            rows.append(word)
    return rows


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


class _Sheet:
    """An A4 page laid out top to bottom with a cursor ``y``.

    Why a class: the truth (text, line boxes, codes) must be exactly what was drawn, text must
    never touch a code or leave the page, and a page whose required lines do not fit must be
    rebuilt with fewer optional lines (:func:`_fitted`) rather than silently cut.
    """

    def __init__(self, rng: random.Random, dpi: int) -> None:
        self.dpi, self.optional = dpi, 0
        width, height = (round(v / 25.4 * dpi) for v in synth.PAPER_MM["A4"])
        self.img = Image.new("RGB", (width, height), "white")
        self.draw = ImageDraw.Draw(self.img)
        self.left, self.right = self.mm(rng.uniform(22, 30)), width - self.mm(rng.uniform(15, 20))
        self.top, self.bottom = self.mm(rng.uniform(12, 18)), height - self.mm(rng.uniform(14, 20))
        self.y = float(self.top)
        self.family = rng.choice(("Serif", "Serif", "Sans"))
        self.size_pt = rng.choice((11.0, 11.5, 12.0, 12.5, 13.0))
        self.lines: list[str] = []
        self.boxes: list[Box] = []
        self.codes: list[tuple[str, str]] = []
        self.code_boxes: list[Box] = []

    def mm(self, value: float) -> int:
        return round(value * self.dpi / 25.4)

    def font(self, style: str = "r", scale: float = 1.0) -> ImageFont.FreeTypeFont:
        return _font(self.family, style, round(self.size_pt * scale * self.dpi / 72))

    def put(self, x: float, y: float, text: str, font: ImageFont.FreeTypeFont) -> None:
        """Draw and record one line; refuse a line off the page or over a code."""
        text = unicodedata.normalize("NFC", text)
        left, top, right, bottom = (round(v) for v in self.draw.textbbox((x, y), text, font=font))
        box = (left, top, right - left, bottom - top)
        if left < 0 or top < 0 or right > self.img.width or bottom > self.img.height:
            raise ValueError(f"text off the page: {text!r}")
        if any(_overlap(box, c) for c in self.code_boxes):
            raise ValueError(f"text over a code: {text!r}")
        self.draw.text((x, y), text, font=font, fill=_INK)
        self.lines.append(text)
        self.boxes.append(box)

    def para(self, text: str, style: str = "r", scale: float = 1.0, align: str = "l",
             x0: float | None = None, x1: float | None = None, indent_mm: float = 0) -> None:
        """Draw a wrapped paragraph (first-line indent, align l/c/r); :class:`_Overflow` if full."""
        font, indent = self.font(style, scale), self.mm(indent_mm)
        x0, x1 = self.left if x0 is None else x0, self.right if x1 is None else x1
        rows, width = _wrap(text, font, x1 - x0, indent), x1 - x0
        while align == "c" and len(rows) > 1 and len(_wrap(text, font, width * 0.95)) == len(rows):
            width *= 0.95  # balance centred headings instead of leaving one orphan word
            rows = _wrap(text, font, width)
        step = font.size * _SPACING
        if self.y + len(rows) * step > self.bottom:
            raise _Overflow(self.optional)
        for i, row in enumerate(rows):
            free = x1 - x0 - font.getlength(row)
            self.put(x0 + {"l": indent if i == 0 else 0, "c": free / 2, "r": free}[align],
                     self.y, row, font)
            self.y += step

    def underline(self, fraction: float = 1.0) -> None:
        """A rule under the last line, ``fraction`` of its width, as under Decree-30 headings."""
        left, top, width, height = self.boxes[-1]
        y, half, mid = top + height + self.mm(1.2), width * fraction / 2, left + width / 2
        self.draw.line((mid - half, y, mid + half, y), fill=_INK, width=self.mm(0.25))
        self.y = max(self.y, y + self.mm(1.5))

    def symbol(self, fmt: str, payload: str, modules: np.ndarray, mx: int, my: int,
               x: int, y: int) -> Box:
        """Paste a module array (quiet zone included) crisply, each module ``mx`` x ``my`` px."""
        pixels = np.repeat(np.repeat(modules, my, axis=0), mx, axis=1)
        sym = Image.fromarray(np.where(pixels, 0, 255).astype(np.uint8), "L").convert("RGB")
        box = (x, y, sym.width, sym.height)
        if x < 0 or y < 0 or x + sym.width > self.img.width or y + sym.height > self.img.height:
            raise ValueError(f"{fmt} off the page")
        if any(_overlap(box, b) for b in self.boxes):
            raise ValueError(f"{fmt} over text")
        self.img.paste(sym, (x, y))
        self.codes.append((fmt, payload))
        self.code_boxes.append(box)
        return box

    def page(self, doc_type: str, truth: dict[str, str]) -> GeneratedPage:
        """Freeze what was drawn (dossier 0; batches re-tag it)."""
        nfc = {k: unicodedata.normalize("NFC", v) for k, v in truth.items()}
        return GeneratedPage(self.img, self.dpi, doc_type, nfc, tuple(self.codes), 0,
                             "\n".join(self.lines), tuple(self.boxes), tuple(self.code_boxes))


def _fitted(rng: random.Random, build: Callable[[random.Random, int | None], GeneratedPage]
            ) -> GeneratedPage:
    """Build a page with as many optional lines as fit, one fewer after each overflow.

    Why: required fields must never be cut; optional body text is what gives way.
    """
    seed, limit = rng.getrandbits(64), None
    while True:
        try:
            return build(random.Random(seed), limit)
        except _Overflow as exc:
            if exc.args[0] <= 0:
                raise RuntimeError("required text does not fit on one A4 page") from exc
            limit = exc.args[0] - 1


def _qr(sheet: _Sheet, payload: str, x: int, y: int, size_mm: float) -> Box:
    """QR (level M) with its dark area from (x, y): modules >= 0.33 mm, 4-module quiet zone."""
    matrix = np.array(segno.make(payload, error="m", micro=False).matrix, dtype=bool)
    px = max(math.ceil(0.33 * sheet.dpi / 25.4), round(sheet.mm(size_mm) / matrix.shape[0]))
    return sheet.symbol("QRCode", payload, np.pad(matrix, 4), px, px, x - 4 * px, y - 4 * px)


def _barcode(sheet: _Sheet, fmt: str, payload: str, height_mm: float) -> None:
    """Centred Code 39 / Code 128 at the cursor: 0.25 mm modules, 10-module quiet zones."""
    coder = Code39(payload, add_checksum=False) if fmt == "Code39" else Code128(payload)
    bars = np.pad(np.array([c == "1" for c in coder.build()[0]]), 10)[None, :]
    mx = math.ceil(0.25 * sheet.dpi / 25.4)
    x = round((sheet.left + sheet.right - bars.shape[1] * mx) / 2)
    box = sheet.symbol(fmt, payload, bars, mx, sheet.mm(height_mm), x, round(sheet.y))
    sheet.y += box[3] + sheet.mm(2)


def _col_scale(sheet: _Sheet, texts: Sequence[tuple[str, str]], width: float) -> float:
    """Largest scale in [0.79, 0.95] at which each (text, style) fits ``width`` (else it wraps)."""
    scale = 0.95
    while scale > 0.8 and any(sheet.font(s, scale).getlength(t) > width for t, s in texts):
        scale -= 0.04
    return scale


def _header(sheet: _Sheet, agency: Sequence[str], date_line: str, number: str = "",
            x0: int | None = None) -> None:
    """Decree-30 heading: agency (left) over its "Số:", motto (right) over the date line."""
    x0 = sheet.left if x0 is None else x0
    split, gap, y0, ends = x0 + (sheet.right - x0) * 0.42, sheet.mm(2), sheet.y, []
    left = [(t, "c") for t in agency[:-1]] + [(agency[-1], "cb")]
    for texts, a, b, frac in ((left, x0, split - gap, 0.4),
                              ([(m, "cb") for m in _MOTTO], split + gap, sheet.right, 1.0)):
        scale, sheet.y = _col_scale(sheet, texts, b - a), y0
        for text, style in texts:
            sheet.para(text, style, scale, "c", a, b)
        sheet.underline(frac)
        ends.append(sheet.y)
    y1, ends = max(ends) + sheet.mm(1), []
    for text, style, a, b in ((number, "r", x0, split - gap), (date_line, "i", split + gap,
                                                                sheet.right)):
        sheet.y = y1
        if text:
            sheet.para(text, style, _col_scale(sheet, [(text, style)], b - a), "c", a, b)
        ends.append(sheet.y)
    sheet.y = max(ends) + sheet.mm(4)


def _signatures(sheet: _Sheet, rng: random.Random,
                blocks: Sequence[tuple[float, Sequence[str], str, str]]) -> None:
    """Signature blocks side by side: (centre x, bold titles, italic note, signer's name).

    The blue pen stroke in the gap is drawn, not recorded: it is not text.
    """
    y0, ends, gap = sheet.y, [], sheet.mm(rng.uniform(16, 22))
    for cx, titles, note, name in blocks:
        half, sheet.y = min(cx - sheet.left, sheet.right - cx), y0
        for text, style, scale in [(t, "b", 1.0) for t in titles] + [(note, "i", 0.9)] * bool(note):
            sheet.para(text, style, scale, "c", cx - half, cx + half)
        t = np.linspace(0, rng.uniform(3, 5) * math.pi, 40)
        xs = cx + sheet.mm(14) * (t / t[-1] - 0.5) + sheet.mm(3) * np.sin(t * rng.uniform(0.8, 1.6))
        ys = sheet.y + gap * (0.5 + 0.3 * np.sin(t + rng.uniform(0, 3)) * np.cos(t / 3))
        sheet.draw.line(list(zip(xs, ys)), fill=_PEN, width=max(2, sheet.mm(0.35)), joint="curve")
        sheet.y += gap
        sheet.para(name, "b", 1.0, "c", cx - half, cx + half)
        ends.append(sheet.y)
    sheet.y = max(ends)


def _bare(division: str) -> str:
    return _DIVISION.sub("", division)


def _place(commune: str, district: str) -> str:
    """Date-line place: the commune's bare name, or the district's when it is a number."""
    return _bare(district) if _bare(commune)[:1].isdigit() else _bare(commune)


def _random_name(rng: random.Random, sex: str) -> str:
    middles = [rng.choice(_MIDDLE[sex])]
    if rng.random() < 0.35:
        middles.append(rng.choice([m for m in _MIDDLE[sex] if m not in ("Thị", "Văn", *middles)]))
    return " ".join([rng.choice(_SURNAMES), *middles, rng.choice(_GIVEN[sex])])


def _random_locality(rng: random.Random) -> Locality:
    province = rng.choices(_PROVINCES, [p.weight for p in _PROVINCES])[0]
    district = rng.choice(sorted(province.districts))
    return province, district, rng.choice(province.districts[district])


def _locality_of(address: str, rng: random.Random) -> Locality:
    """The locality an address was built from, so agencies are where the person lives."""
    for p in _PROVINCES:
        for district, communes in p.districts.items():
            for commune in communes:
                if address.endswith(f", {commune}, {district}, {p.name}"):
                    return p, district, commune
    return _random_locality(rng)


def _address(rng: random.Random, loc: Locality) -> str:
    n, street = rng.randint(1, 250), rng.choice(_STREETS)
    if loc[2].startswith("xã"):
        head = f"{rng.choice(('thôn', 'thôn', 'xóm', 'đội 3, thôn'))} {rng.choice(_VILLAGES)}"
        head = f"Số {n}, {head}" if rng.random() < 0.4 else head
    else:
        head = rng.choice((f"Số {n} đường {street}", f"Số {n}/{rng.randint(2, 40)} {street}",
                           f"Tổ {rng.randint(1, 20)}, khu phố {rng.randint(1, 9)}",
                           f"Kiệt {n} {street}", f"Ngõ {n} phố {street}"))
    return f"{head}, {loc[2]}, {loc[1]}, {loc[0].name}"


def _id_number(rng: random.Random, kind: str, province: _Province, sex: str, birth: date) -> str:
    """CCCD per domain.md: birth-registration province, century/sex digit, birth year, random."""
    if kind == "passport":
        return "C" + "".join(rng.choices("0123456789", k=7))
    if kind == "cmnd":
        return province.cmnd + "".join(rng.choices("0123456789", k=9 - len(province.cmnd)))
    code = province.cccd if rng.random() < 0.7 else rng.choice(_BIRTH_CODES)
    century = (birth.year // 100 - 19) * 2 + (sex == "nữ")
    return f"{code}{century}{birth.year % 100:02d}{rng.randrange(10**6):06d}"


def random_person(rng: random.Random) -> Person:
    """A fictitious citizen: CCCD (85 %), 9-digit CMND (10 %) or passport (5 %)."""
    sex = rng.choice(_SEXES)
    name, birth, loc = _random_name(rng, sex), date(1950, 1, 1) + timedelta(rng.randrange(20089)), \
        _random_locality(rng)
    kind = rng.choices(("cccd", "cmnd", "passport"), (85, 10, 5))[0]
    phone = rng.choice(_MOBILE) + "".join(rng.choices("0123456789", k=7))
    parts = fold(name).split()
    local = rng.choice((f"{parts[-1]}.{parts[0]}", f"{''.join(parts)}{birth.year % 100:02d}",
                        f"{parts[-1]}{''.join(p[0] for p in parts[:-1])}{rng.randint(1, 99)}"))
    email = f"{local}@{rng.choice(('gmail.com',) * 3 + ('yahoo.com', 'outlook.com.vn'))}"
    return Person(name, sex, birth, _id_number(rng, kind, loc[0], sex, birth), kind, phone,
                  email, _address(rng, loc))


def random_procedure(rng: random.Random, *, hcode: str | None = None) -> Procedure:
    """A procedure of :data:`PROCEDURES`; its code ends with ``hcode`` (default: random province)."""
    proc, hcode = rng.choice(PROCEDURES), hcode or _random_locality(rng)[0].hcode
    return replace(proc, code=proc.code.replace(".H56", f".{hcode}"))


def random_dossier_code(rng: random.Random, received: date, *, hcode: str | None = None) -> str:
    """A mã hồ sơ in either shape of domain.md, dated ``received`` (yyMMdd), agency ``hcode``."""
    hcode, day, seq = hcode or _random_locality(rng)[0].hcode, f"{received:%y%m%d}", \
        rng.randint(1, 1500)
    if rng.random() < 0.6:
        agency = f"{rng.choice(('000.00', '000.18', '000.20', '000.30'))}.{rng.randint(1, 40):02d}"
        return f"{agency}.{hcode}-{day}-{seq:04d}"
    return f"{hcode}.{rng.randint(1, 99):02d}-{day}-{seq:04d}"


def _code_date(code: str) -> date:
    day = code.rsplit("-", 2)[1]
    return date(2000 + int(day[:2]), int(day[2:4]), int(day[4:]))


def _workday(rng: random.Random, start: date = date(2021, 1, 4), span: int = 1400) -> date:
    d = start + timedelta(days=rng.randrange(span))
    return d + timedelta(days=7 - d.weekday() if d.weekday() >= 5 else 0)


def _add_workdays(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        n -= d.weekday() < 5
    return d


def _date_line(place: str, d: date) -> str:
    """Decree 30: a day below 10 and the months 1 and 2 take a leading zero."""
    return f"{place}, ngày {d.day:02d} tháng {d.month:0{2 if d.month < 3 else 1}d} năm {d.year}"


def _dmy(d: date, style: int) -> str:
    return (f"{d:%d/%m/%Y}", f"{d.day}/{d.month}/{d.year}", f"{d:%d-%m-%Y}")[style]


def _as_printed(rng: random.Random, name: str, p_caps: float) -> str:
    return name.upper() if rng.random() < p_caps else name


def _phone_text(rng: random.Random, p: str) -> str:
    return rng.choice((p, p, f"{p[:4]} {p[4:7]} {p[7:]}", f"{p[:4]}.{p[4:7]}.{p[7:]}"))


def _qr_payload(style: str, code: str, proc: Procedure, person: Person, received: str,
                due: date, host: str) -> str:
    """QR content of a receipt in one of four styles seen in the field (TCVN 7322 symbol)."""
    if style == "plain":
        return code
    if style == "url":
        return f"https://dichvucong.{host}.gov.vn/tra-cuu-ho-so?maHoSo={code}"
    if style == "json":
        return json.dumps({"maHoSo": code, "maTTHC": proc.code, "soDinhDanh": person.id_number,
                           "tenGiayTo": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                           "heThong": "DVC", "thoiGianCap": received,
                           "ngayHenTra": due.isoformat()}, ensure_ascii=False)
    if style == "pipe":
        return f"{code}|{proc.code}|{person.id_number}|GIAY TIEP NHAN|DVC|{received}|{due}"
    raise ValueError(f"unknown qr_style {style!r}")


def _receipt_fields(sheet: _Sheet, r: random.Random, person: Person, proc: Procedure
                    ) -> dict[str, str]:
    """The applicant and procedure lines of a receipt; returns their truth."""
    hon = r.choice(("Ông/Bà", "Ông" if person.sex == "nam" else "Bà"))
    issued = f", cấp ngày {_dmy(_workday(r, date(2021, 1, 4), 700), 0)}" if (
        person.id_kind == "cccd" and r.random() < 0.25) else ""
    id_label = r.choice(f"{LABELS['receipt_id']}|{LABELS['id_' + person.id_kind]}".split("|"))
    phone = f"{_pick(r, 'phone')} {_phone_text(r, person.phone)}"
    email = f"{_pick(r, 'email')} {person.email}" if r.random() < 0.85 else ""
    rows = [f"{_pick(r, 'receipt_name', hon=hon)} {_as_printed(r, person.full_name, 0.5)}",
            f"{id_label} {person.id_number}{issued}",
            f"{_pick(r, 'receipt_address')} {person.address}",
            *([f"{phone}; {email}"] if email and r.random() < 0.35 else [phone, email]),
            f"{_pick(r, 'procedure_name')} {proc.name}", f"{_pick(r, 'procedure_code')} {proc.code}",
            f"{_pick(r, 'sector')} {proc.sector}"]
    for row in filter(None, rows):
        sheet.para(row)
    return {"applicant_name": person.full_name, "id_number": person.id_number,
            "address": person.address, "phone": person.phone, "procedure_code": proc.code,
            "procedure_name": proc.name, "sector": proc.sector} | (
        {"email": person.email} if email else {})


def _draw_receipt(r: random.Random, limit: int | None, person: Person, proc: Procedure,
                  code: str, dpi: int, qr_style: str, barcode: str) -> GeneratedPage:
    sheet, (prov, dist, comm) = _Sheet(r, dpi), _locality_of(person.address, r)
    agency, place, office = r.choice((
        ([f"{r.choice(('UBND', 'ỦY BAN NHÂN DÂN'))} {dist.upper()}",
          "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ"], _bare(dist),
         f"Bộ phận Tiếp nhận và Trả kết quả UBND {dist}"),
        ([f"UBND {comm.upper()}", "BỘ PHẬN MỘT CỬA"], _place(comm, dist),
         f"Bộ phận Một cửa UBND {comm}"),
        ([f"UBND {prov.name.upper()}", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"], _bare(prov.name),
         f"Trung tâm Phục vụ hành chính công {prov.name}")))
    received, hh, mi = _code_date(code), r.randint(7, 16), r.randrange(0, 60, 5)
    due, days, ds = _add_workdays(received, _DAYS.get(proc.name, 5)), _DAYS.get(proc.name, 5), \
        r.choice((0, 0, 1, 2))
    payload = _qr_payload(qr_style, code, proc, person, f"{received}T{hh:02d}:{mi:02d}", due,
                          fold(_bare(prov.name)).replace(" ", ""))
    qr = _qr(sheet, payload, sheet.left, sheet.top, r.uniform(20, 23))
    _header(sheet, agency, _date_line(place, received), x0=qr[0] + qr[2] + sheet.mm(2))
    sheet.y = max(sheet.y, qr[1] + qr[3] + sheet.mm(3))
    sheet.para(_pick(r, "receipt_title"), "b", 1.1, "c")
    sheet.para(f"{_pick(r, 'dossier_code')} {code}", "b", 1.0, "c")
    sheet.y += sheet.mm(1.5)
    _barcode(sheet, barcode, code, r.uniform(9, 13))
    truth = {"dossier_code": code, **_receipt_fields(sheet, r, person, proc),
             "received_date": received.isoformat(), "due_date": due.isoformat()}
    items = r.sample(_COMPONENTS.get(proc.sector, _COMPONENTS[""]).split("|"), r.randint(2, 5))
    sheet.optional = len(items := items[:limit])
    for i, item in enumerate(["heading", *items] if items else []):
        sheet.para(r.choice(("Thành phần hồ sơ gồm:", "Thành phần hồ sơ nộp gồm có:")) if i == 0
                   else f"{i}. {item} ({r.choice(('Bản chính: 01; Bản sao: 00', 'bản chính'))})",
                   indent_mm=5 * (i > 0))
    for row in (f"Số lượng hồ sơ: 01 {r.choice(('bộ', '(bộ)'))}",
                f"Thời gian giải quyết hồ sơ theo quy định: {days:02d} ngày làm việc",
                _pick(r, "received", hm=f"{hh:02d} giờ {mi:02d} phút", d=_dmy(received, ds)),
                _pick(r, "due", hm=f"{r.choice((8, 14)):02d} giờ 00 phút", d=_dmy(due, ds)),
                f"{_pick(r, 'office')} {office}"):
        sheet.para(row)
    sheet.y += sheet.mm(3)
    note, third = r.choice(("(Ký và ghi rõ họ tên)", "(Ký, ghi rõ họ tên)")), \
        (sheet.right - sheet.left) / 4
    _signatures(sheet, r, ((sheet.left + third, ["NGƯỜI NỘP HỒ SƠ"], note, person.full_name),
                           (sheet.right - third, ["NGƯỜI TIẾP NHẬN HỒ SƠ"], note,
                            _random_name(r, r.choice(_SEXES)))))
    return sheet.page("receipt", truth)


def make_receipt(rng: random.Random, person: Person, procedure: Procedure, dossier_code: str, *,
                 dpi: int = 300, qr_style: str | None = None, barcode: str = "Code39"
                 ) -> GeneratedPage:
    """A "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", received on the date inside ``dossier_code``.

    Args:
        qr_style: "plain", "url", "json" or "pipe" QR payload; ``None`` picks one at random.
        barcode: "Code39" (usual) or "Code128", the symbology of the mã hồ sơ barcode.
    """
    style = qr_style or rng.choice(("plain", "url", "json", "pipe"))
    return _fitted(rng, lambda r, lim: _draw_receipt(r, lim, person, procedure, dossier_code, dpi,
                                                     style, barcode))


def _draw_application(r: random.Random, limit: int | None, person: Person, proc: Procedure,
                      dpi: int) -> GeneratedPage:
    sheet, (_, dist, comm) = _Sheet(r, dpi), _locality_of(person.address, r)
    for line in _MOTTO:
        sheet.para(line, "b", 1.0, "c")
    sheet.underline()
    sheet.y += sheet.mm(5)
    kind = "TỜ KHAI" if proc.sector == "Hộ tịch" else "ĐƠN ĐỀ NGHỊ"
    sheet.para("PHIẾU YÊU CẦU CHỨNG THỰC" if proc.sector == "Chứng thực" else
               f"{kind} {proc.name.upper()}", "b", 1.1, "c")
    sheet.y += sheet.mm(1.5)
    sheet.para(f"Kính gửi: Ủy ban nhân dân {r.choice((comm, dist))}", "r", 1.0, "c")
    sheet.y += sheet.mm(3)
    truth = {"applicant_name": person.full_name, "birth_date": person.birth_date.isoformat(),
             "id_number": person.id_number, "address": person.address, "phone": person.phone}
    rows = [f"{_pick(r, 'form_name')} {_as_printed(r, person.full_name, 0.4)}",
            f"{_pick(r, 'birth')} {_dmy(person.birth_date, r.choice((0, 0, 1, 2)))}",
            f"Giới tính: {person.sex.capitalize()}; Dân tộc: Kinh; Quốc tịch: Việt Nam"
            if r.random() < 0.5 else "",
            f"{_pick(r, 'id_' + person.id_kind)} {person.id_number}",
            f"{_pick(r, 'form_address')} {person.address}",
            f"{_pick(r, 'phone')} {_phone_text(r, person.phone)}",
            f"{_pick(r, 'form_email')} {person.email}" if r.random() < 0.6 else ""]
    truth |= {"email": person.email} if rows[-1] else {}
    body = ["Đề nghị cơ quan có thẩm quyền xem xét, giải quyết yêu cầu nêu trên theo quy định.",
            "Lý do: để hoàn thiện hồ sơ theo yêu cầu của cơ quan nhà nước có thẩm quyền.",
            "Số lượng bản sao đề nghị cấp: 02 bản.",
            ("Tôi cam đoan những nội dung khai trên đây là đúng sự thật và chịu trách nhiệm trước "
            "pháp luật về cam đoan của mình.")][r.randint(0, 2):]
    sheet.optional = len(body := body[:limit])
    for row in filter(None, rows):
        sheet.para(row)
    for row in body:
        sheet.para(row, indent_mm=10)
    sheet.y += sheet.mm(4)
    half = sheet.left + (sheet.right - sheet.left) * 0.45
    sheet.para(_date_line(_place(comm, dist), _workday(r)), "i", 1.0, "c", half)
    _signatures(sheet, r, (((half + sheet.right) / 2, [r.choice(("NGƯỜI YÊU CẦU", "NGƯỜI LÀM ĐƠN"))],
                            "(Ký, ghi rõ họ, chữ đệm, tên)", person.full_name),))
    return sheet.page("application", truth)


def make_application(rng: random.Random, person: Person, procedure: Procedure, *, dpi: int = 300
                     ) -> GeneratedPage:
    """A "Tờ khai ..." (hộ tịch), "Phiếu yêu cầu ..." or "Đơn đề nghị ..." filled in by ``person``."""
    return _fitted(rng, lambda r, lim: _draw_application(r, lim, person, procedure, dpi))


_SUMMARIES = (  # trích yếu | Điều 1
    ("Về việc cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền "
    "với đất cho {hon} {name}|Cấp Giấy chứng nhận cho {hon} {name}, thửa đất số {a}, tờ bản đồ số "
    "{b}, diện tích {c},5 m² tại {where}."),
    ("Về việc cho phép chuyển mục đích sử dụng đất sang đất ở tại {where}|Cho phép {hon} {name} "
    "chuyển mục đích sử dụng {c},5 m² đất trồng cây lâu năm sang đất ở tại {where}."),
    ("Về việc cấp giấy phép xây dựng nhà ở riêng lẻ cho {hon} {name}|Cấp giấy phép xây dựng nhà ở "
    "riêng lẻ cho {hon} {name} tại thửa đất số {a}, tờ bản đồ số {b}, {where}."),
    ("Về việc thay đổi, cải chính hộ tịch cho {hon} {name}|Cho phép {hon} {name} cải chính ngày, "
    "tháng, năm sinh trong Sổ đăng ký khai sinh tại {where}."),
)
_BASES = ("Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
          ("Luật sửa đổi, bổ sung một số điều của Luật Tổ chức Chính phủ và Luật Tổ chức chính "
          "quyền địa phương ngày 22 tháng 11 năm 2019;"),
          "Luật Đất đai ngày 29 tháng 11 năm 2013;", "Luật Hộ tịch ngày 20 tháng 11 năm 2014;",
          ("Nghị định số 43/2014/NĐ-CP ngày 15 tháng 5 năm 2014 của Chính phủ quy định chi tiết "
          "thi hành một số điều của Luật Đất đai;"))


def _issuer(r: random.Random, loc: Locality) -> tuple[list[str], str, str, list[str], str]:
    """(agency lines, Decree-30 symbol, authority line, signature titles, date-line place)."""
    prov, dist, comm = loc[0].name.upper(), loc[1].upper(), loc[2].upper()
    ubnd = r.choice((["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
                     ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]))
    chair = r.choice((["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"], ["CHỦ TỊCH"]))
    director = r.choice((["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"], ["GIÁM ĐỐC"]))
    dept, symbol = r.choice((("SỞ TƯ PHÁP", "QĐ-STP"), ("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "QĐ-STNMT")))
    return r.choice((
        (["ỦY BAN NHÂN DÂN", dist], "QĐ-UBND", f"ỦY BAN NHÂN DÂN {dist}", ubnd, _bare(loc[1])),
        (["ỦY BAN NHÂN DÂN", dist], "QĐ-CT", f"CHỦ TỊCH ỦY BAN NHÂN DÂN {dist}", chair,
         _bare(loc[1])),
        (["ỦY BAN NHÂN DÂN", prov], "QĐ-UBND", f"ỦY BAN NHÂN DÂN {prov}", ubnd, _bare(loc[0].name)),
        ([f"UBND {prov}", dept], symbol, f"GIÁM ĐỐC {dept}", director, _bare(loc[0].name)),
        (["ỦY BAN NHÂN DÂN", comm], "QĐ-UBND", f"ỦY BAN NHÂN DÂN {comm}", ubnd,
         _place(loc[2], loc[1]))))


def _draw_decision(r: random.Random, limit: int | None, person: Person, dpi: int
                   ) -> GeneratedPage:
    sheet, loc = _Sheet(r, dpi), _locality_of(person.address, r)
    agency, symbol, authority, titles, place = _issuer(r, loc)
    number, issued = f"{r.randint(1, 999):02d}/{symbol}", _workday(r)
    _header(sheet, agency, _date_line(place, issued), number=f"Số: {number}")
    sheet.para("QUYẾT ĐỊNH", "b", 1.15, "c")
    words = {"hon": "ông" if person.sex == "nam" else "bà", "name": person.full_name,
             "a": r.randint(10, 900), "b": r.randint(1, 60), "c": r.randint(60, 900),
             "where": f"{loc[2]}, {loc[1]}"}
    summary, article = r.choice(_SUMMARIES).format(**words).split("|")
    sheet.para(summary, "b", 0.95, "c", sheet.left + sheet.mm(4), sheet.right - sheet.mm(4))
    sheet.underline(0.3)
    sheet.y += sheet.mm(3)
    sheet.para(authority, "b", 1.0, "c")
    sheet.y += sheet.mm(2)
    sheet.optional = len(bases := _BASES[: r.randint(3, 5)][:limit])
    for line in bases:
        sheet.para(f"Căn cứ {line}", "i", indent_mm=10)
    sheet.y += sheet.mm(2)
    sheet.para("QUYẾT ĐỊNH:", "b", 1.0, "c")
    sheet.y += sheet.mm(2)
    for line in (f"Điều 1. {article}", "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
                 ("Điều 3. Chánh Văn phòng và các cơ quan, cá nhân có liên quan chịu trách nhiệm "
                 "thi hành Quyết định này./.")):
        sheet.para(line, indent_mm=10)
    sheet.y += sheet.mm(4)
    y0, third, signer = sheet.y, (sheet.right - sheet.left) / 4, _random_name(r, r.choice(_SEXES))
    for line, style, scale in (("Nơi nhận:", "b", 0.85), ("- Như Điều 3;", "r", 0.8),
                               ("- Lưu: VT.", "r", 0.8)):
        sheet.para(line, style, scale, "l", None, sheet.left + 2 * third - sheet.mm(4))
    sheet.y = y0
    _signatures(sheet, r, ((sheet.right - third, titles, "", signer),))
    return sheet.page("decision", {"document_number": number, "issue_date": issued.isoformat(),
                                   "issuer": " ".join(agency), "signer": signer,
                                   "summary": summary})


def make_decision(rng: random.Random, person: Person, *, dpi: int = 300) -> GeneratedPage:
    """A "Quyết định" concerning ``person``: a procedure's result, not a dossier component."""
    return _fitted(rng, lambda r, lim: _draw_decision(r, lim, person, dpi))


_CERTS = (("TRÍCH LỤC KHAI SINH", "TLKS-BS", ["NGƯỜI KÝ TRÍCH LỤC"]),
          ("GIẤY KHAI SINH", "KS", ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]),
          ("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN", "XNTTHN", ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
          ("GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", "GCN-HKD", ["TRƯỞNG PHÒNG"]))


def _draw_certificate(r: random.Random, limit: int | None, person: Person, dpi: int
                      ) -> GeneratedPage:
    sheet, (prov, dist, comm) = _Sheet(r, dpi), _locality_of(person.address, r)
    title, symbol, titles = r.choice(_CERTS)
    agency = ([f"UBND {dist.upper()}", "PHÒNG TÀI CHÍNH - KẾ HOẠCH"] if symbol == "GCN-HKD"
              else ["ỦY BAN NHÂN DÂN", comm.upper()])
    number, issued = f"{r.randint(1, 999):02d}/{symbol}", _workday(r)
    _header(sheet, agency, _date_line(_place(comm, dist), issued), number=f"Số: {number}")
    sheet.para(title, "b", 1.2, "c")
    if symbol == "TLKS-BS":
        sheet.para("(BẢN SAO)", "b", 1.0, "c")
    sheet.y += sheet.mm(4)
    name_label = "Họ và tên chủ hộ kinh doanh:" if symbol == "GCN-HKD" else _pick(r, "cert_name")
    truth = {"document_number": number, "issue_date": issued.isoformat(),
             "issuer": " ".join(agency), "applicant_name": person.full_name,
             "birth_date": person.birth_date.isoformat()}
    rows = [f"{name_label} {_as_printed(r, person.full_name, 0.6)}",
            f"{_pick(r, 'birth')} {_dmy(person.birth_date, r.choice((0, 0, 1, 2)))}",
            f"Giới tính: {person.sex.capitalize()}; Dân tộc: Kinh; Quốc tịch: Việt Nam",
            f"{_pick(r, 'cert_id')} {person.id_number}" if person.id_kind == "cccd" else ""]
    truth |= {"id_number": person.id_number} if rows[-1] else {}
    extra = [f"Nơi sinh: {r.choice(('Trạm y tế', 'Bệnh viện Đa khoa'))} {comm}",
             f"Quê quán: {comm}, {dist}, {prov.name}", f"Nơi đăng ký: Ủy ban nhân dân {comm}",
             {"XNTTHN": "Tình trạng hôn nhân: Chưa đăng ký kết hôn với ai.",
              "GCN-HKD": "Ngành, nghề kinh doanh: Bán lẻ hàng tạp hóa."}.get(
                 symbol, "Ghi chú: Bản sao được cấp từ Sổ đăng ký khai sinh.")][r.randint(0, 2):]
    sheet.optional = len(extra := extra[:limit])
    for row in [*filter(None, rows), *extra]:
        sheet.para(row)
    sheet.y += sheet.mm(6)
    signer = _random_name(r, r.choice(_SEXES))
    _signatures(sheet, r, ((sheet.right - (sheet.right - sheet.left) / 4, titles, "", signer),))
    return sheet.page("certificate", truth | {"signer": signer})


def make_certificate(rng: random.Random, person: Person, *, dpi: int = 300) -> GeneratedPage:
    """A trích lục / giấy khai sinh / giấy xác nhận / giấy chứng nhận issued to ``person``."""
    return _fitted(rng, lambda r, lim: _draw_certificate(r, lim, person, dpi))


def _card(sheet: _Sheet, x: int, rows: Sequence[tuple[str, str]], photo: bool) -> None:
    """A photocopied card at 1.5x ID-1 size at the cursor: grey ground, photo box, text rows."""
    w, h, pad, y = sheet.mm(128), sheet.mm(81), sheet.mm(4), round(sheet.y)
    sheet.draw.rounded_rectangle((x, y, x + w, y + h), radius=sheet.mm(4), fill=(236, 236, 232),
                                 outline=_INK, width=sheet.mm(0.3))
    if photo:
        sheet.draw.rectangle((x + pad, y + sheet.mm(24), x + sheet.mm(30), y + sheet.mm(58)),
                             fill=(190, 190, 186))
    sheet.y, bottom, sheet.bottom = y + pad, sheet.bottom, y + h - pad
    for text, style in rows:
        centred = style.endswith("c")
        sheet.para(text, style.rstrip("c") or "r", 0.85, "c" if centred else "l",
                   x + (pad if centred or not photo else sheet.mm(33)), x + w - pad)
    sheet.bottom, sheet.y = bottom, y + h + sheet.mm(8)


def _draw_id_card(r: random.Random, limit: int | None, person: Person, dpi: int
                  ) -> GeneratedPage:
    sheet, kind = _Sheet(r, dpi), person.id_kind
    sheet.size_pt, x = 12.0, (sheet.img.width - sheet.mm(128)) // 2
    title, no, name_label, birth_label, home_label = _CARDS[kind].split("|")
    sheet.para("BẢN SAO - MẪU THỬ NGHIỆM (SPECIMEN)", "b", 1.0, "c", x, x + sheet.mm(128))
    sheet.y += sheet.mm(3)
    name = person.full_name.upper()
    truth = {"applicant_name": person.full_name, "id_number": person.id_number,
             "birth_date": person.birth_date.isoformat()}
    front = [(_MOTTO[0], "bc"), (_MOTTO[1], "bc"), (title, "bc"), (f"{no} {person.id_number}", "b"),
             *([(f"{name_label} {name}", "r")] if r.random() < 0.4 else
               [(name_label, "r"), (name, "b")]),
             (f"{birth_label} {_dmy(person.birth_date, 2 * (kind == 'cmnd'))}", "r"),
             (f"Giới tính / Sex: {person.sex.capitalize()}", "r"),
             ("Quốc tịch / Nationality: Việt Nam", "r")]
    if home_label:
        front.append((f"{home_label} {person.address}", "r"))
        truth["address"] = person.address
    _card(sheet, x, front, photo=True)
    sheet.optional = int(kind != "passport" and limit != 0)
    if sheet.optional:
        issued = _dmy(_workday(r, date(2021, 1, 4), 700), 0)
        _card(sheet, x, [(("Đặc điểm nhân dạng / Personal identification: Nốt ruồi C: 1cm dưới "
                          "sau đuôi mắt trái"), "r"),
                         (f"Ngày, tháng, năm / Date, month, year: {issued}", "r"),
                         ("CỤC TRƯỞNG CỤC CẢNH SÁT QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", "bc"),
                         (_random_name(r, "nam").upper(), "bc")], photo=False)
    return sheet.page("id_card", truth)


def make_id_card_copy(rng: random.Random, person: Person, *, dpi: int = 300) -> GeneratedPage:
    """A photocopy of ``person``'s CCCD (both faces), CMND or passport, marked as a specimen."""
    return _fitted(rng, lambda r, lim: _draw_id_card(r, lim, person, dpi))


def make_separator(code: str = "SOHOA-SEPARATOR", *, dpi: int = 300) -> GeneratedPage:
    """A separator sheet a clerk slips between dossiers: a big QR and a Code 128 of ``code``."""
    sheet = _Sheet(random.Random(0), dpi)
    sheet.left, sheet.right, sheet.y = sheet.mm(20), sheet.img.width - sheet.mm(20), sheet.mm(50)
    sheet.para("TỜ PHÂN CÁCH HỒ SƠ", "b", 2.0, "c")
    box = _qr(sheet, code, (sheet.img.width - sheet.mm(60)) // 2, round(sheet.y) + sheet.mm(14), 60)
    sheet.y = box[1] + box[3] + sheet.mm(8)
    _barcode(sheet, "Code128", code, 15)
    sheet.para(code, "b", 1.0, "c")
    sheet.para("Đặt tờ này giữa hai hồ sơ khi quét. Tờ phân cách không được lưu trữ.", "i", 1.0,
               "c")
    return replace(sheet.page("separator", {}), dossier=-1)


def _dossier(rng: random.Random, dpi: int, index: int, used: set[str]) -> list[GeneratedPage]:
    person, received = random_person(rng), _workday(rng)
    hcode = _locality_of(person.address, rng)[0].hcode if rng.random() < 0.9 else None
    proc = random_procedure(rng, hcode=hcode)
    while (code := random_dossier_code(rng, received, hcode=hcode)) in used:
        pass
    used.add(code)
    makers = {"application": lambda: make_application(rng, person, proc, dpi=dpi),
              "id_card": lambda: make_id_card_copy(rng, person, dpi=dpi),
              "certificate": lambda: make_certificate(rng, person, dpi=dpi)}
    chosen = rng.sample(sorted(makers), rng.randint(1, 3))
    pages = [make_receipt(rng, person, proc, code, dpi=dpi)]
    pages += [make() for kind, make in makers.items() if kind in chosen]
    return [replace(p, dossier=index) for p in pages]


def make_dossier(rng: random.Random, *, dpi: int = 300, index: int = 0) -> list[GeneratedPage]:
    """One dossier's paper stack: its receipt, then 1-3 components about the same person."""
    return _dossier(rng, dpi, index, set())


def make_mixed_batch(n_dossiers: int, seed: int, *, dpi: int = 300, separators: bool = False
                     ) -> list[GeneratedPage]:
    """A scanner stack of ``n_dossiers`` dossiers with distinct codes, optionally separated."""
    rng, used, pages = random.Random(seed), set(), []
    for i in range(n_dossiers):
        if separators and i:
            pages.append(make_separator(dpi=dpi))
        pages += _dossier(rng, dpi, i, used)
    return pages


def _rotate_boxes(boxes: Sequence[Box], matrix: np.ndarray, size: tuple[int, int]
                  ) -> tuple[Box, ...]:
    """Bounding boxes of ``boxes`` after the page's rotation, clipped to the page."""
    out = []
    for left, top, w, h in boxes:
        corners = np.array([[left, top, 1], [left + w, top, 1], [left, top + h, 1],
                            [left + w, top + h, 1]], float)
        xs, ys = (corners @ matrix.T).T
        x0, y0 = max(0, math.floor(xs.min())), max(0, math.floor(ys.min()))
        out.append((x0, y0, min(size[0], math.ceil(xs.max())) - x0,
                    min(size[1], math.ceil(ys.max())) - y0))
    return tuple(out)


def degrade_page(page: GeneratedPage, rng: random.Random) -> GeneratedPage:
    """The page as a scanner returns it: skew <= 3 deg, noise, JPEG 40-85, maybe blur/seal/borders.

    Truth and codes are kept; line and code boxes follow the skew. Separators get no seal.
    """
    seed, img = rng.getrandbits(32), page.image
    if page.doc_type != "separator" and rng.random() < 0.4:
        text = f"{page.truth.get('issuer', 'BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ')} * "
        img = synth.add_red_seal(img, dpi=page.dpi, seed=seed, text=text,
                                 radius_mm=rng.uniform(16, 20))
    skew = rng.uniform(-3, 3)
    blur = rng.uniform(0.3, 0.9) * page.dpi / 300 if rng.random() < 0.3 else 0.0
    border = round(rng.uniform(1, 4) * page.dpi / 25.4) if rng.random() < 0.3 else 0
    out = synth.degrade(img, skew_deg=skew, blur_sigma=blur, noise=rng.uniform(0.01, 0.07),
                        jpeg_quality=rng.randint(40, 85), border_px=border, seed=seed)
    matrix = cv2.getRotationMatrix2D(((out.width - 1) / 2, (out.height - 1) / 2), skew, 1.0)
    return replace(page, image=out, line_boxes=_rotate_boxes(page.line_boxes, matrix, out.size),
                   code_boxes=_rotate_boxes(page.code_boxes, matrix, out.size))
