"""Reading order: side-by-side header and footer blocks read block by block, the rest untouched.

Unit tests build Tesseract-like lines of word boxes by hand; the page tests render a
Vietnamese official document with PIL and read it with the real Tesseract.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
from conftest import page_image
from PIL import Image, ImageDraw, ImageFont

from ocr.engine import ocr_page, text_from_words, words_from_tsv
from ocr.reading_order import reading_lines
from schemas.settings import OcrSettings
from sohoa.programs import tesseract

H = 30  # word height, px
CHAR = 18  # width of one character, px
SPACE = 10  # word space, px


def run(x: float, y: float, text: str) -> list[tuple[str, tuple]]:
    """Words of ``text`` set from ``x`` on the line whose top is ``y``."""
    out = []
    for word in text.split():
        width = CHAR * len(word)
        out.append((word, (x, y, x + width, y + H)))
        x += width + SPACE
    return out


def width_of(text: str) -> float:
    return sum(CHAR * len(w) for w in text.split()) + SPACE * (len(text.split()) - 1)


def centred(cx: float, y: float, text: str) -> list[tuple[str, tuple]]:
    return run(cx - width_of(text) / 2, y, text)


def read(lines: list[list[tuple[str, tuple]]]) -> list[str]:
    """The lines as :func:`reading_lines` orders them (given the words, as the engine does)."""
    boxes = [[box for _, box in line] for line in lines]
    order = reading_lines(boxes, [[word for word, _ in line] for line in lines])
    return [" ".join(lines[i][j][0] for i, j in refs) for refs in order]


def as_tesseract(lines) -> list[str]:
    return [" ".join(word for word, _ in line) for line in lines]


LEFT_C, RIGHT_C = 520, 1560  # centres of the header's left and right blocks
HEADER_LEFT = ["ỦY BAN NHÂN DÂN TỈNH QUẢNG TRỊ", "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "Số: 12/QĐ-STNMT"]
HEADER_RIGHT = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "Quảng Trị, ngày 5 tháng 3 năm 2024",
]
BODY = [
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015 và các văn bản",
    "hướng dẫn thi hành; xét đề nghị của Trưởng phòng Đo đạc, Bản đồ và Viễn thám tỉnh.",
]


def body(y: float) -> list[list[tuple[str, tuple]]]:
    return [run(150, y + 50 * n, text) for n, text in enumerate(BODY)]


def test_header_read_across_comes_out_block_by_block():
    """Tesseract's lines run across both blocks (the first one with a narrow gap)."""
    lines = [
        centred(LEFT_C, 100 + 50 * n, left) + centred(RIGHT_C, 100 + 50 * n, right)
        for n, (left, right) in enumerate(zip(HEADER_LEFT, HEADER_RIGHT, strict=True))
    ]
    lines += [centred(1100, 300, "QUYẾT ĐỊNH"), *body(380)]
    assert read(lines) == [*HEADER_LEFT, *HEADER_RIGHT, "QUYẾT ĐỊNH", *BODY]


def test_header_blocks_tesseract_put_right_first_come_out_left_first():
    left = [centred(LEFT_C, 100 + 50 * n, t) for n, t in enumerate(HEADER_LEFT)]
    right = [centred(RIGHT_C, 100 + 50 * n, t) for n, t in enumerate(HEADER_RIGHT)]
    lines = [*right, *left, *body(300)]
    assert read(lines) == [*HEADER_LEFT, *HEADER_RIGHT, *BODY]


def test_header_blocks_tesseract_already_separated_keep_their_order():
    left = [centred(LEFT_C, 100 + 50 * n, t) for n, t in enumerate(HEADER_LEFT)]
    right = [centred(RIGHT_C, 100 + 50 * n, t) for n, t in enumerate(HEADER_RIGHT)]
    lines = [*left, *right, *body(300)]
    assert read(lines) == as_tesseract(lines)


def test_footer_blocks_with_the_signer_below_the_room_to_sign():
    """'Nơi nhận' beside the signature block; the name stands far below, centred."""
    recipients = ["Nơi nhận:", "- Như Điều 3;", "- UBND tỉnh (b/c);", "- Lưu: VT."]
    roles = ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    lines = [
        run(150, 600 + 45 * n, rec) + (centred(RIGHT_C, 600 + 45 * n, roles[n]) if n < 3 else [])
        for n, rec in enumerate(recipients)
    ]
    lines += [centred(RIGHT_C + 80, 820, "ự,"), centred(RIGHT_C, 880, "Nguyễn Văn An")]
    # the signature's noise is no block's line: it keeps its place after the band
    assert read(body(480) + lines) == [*BODY, *recipients, *roles, "Nguyễn Văn An", "ự,"]


def test_footer_whose_signature_lines_share_one_width_is_told_by_its_heading():
    """'KT. GIÁM ĐỐC', 'PHÓ GIÁM ĐỐC' and the name are nearly one width: their centring
    cannot be seen, the "Nơi nhận" heading on the left tells the footer."""
    recipients = ["Nơi nhận:", "- Như trên;", "- Lưu: VT."]
    roles = ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Lý Thị Mỹ Duyên"]
    lines = [
        run(150, 600 + 45 * n, rec) + run(1450, 600 + 45 * n, roles[n])
        for n, rec in enumerate(recipients)
    ]
    assert read(lines) == [*recipients, *roles]
    lines[0] = run(150, 600, "Ghi chú:") + run(1450, 600, roles[0])  # no heading: rows kept
    assert read(lines) == as_tesseract(lines)


def test_form_pairing_labels_and_values_keeps_its_rows():
    """Label: value pairs in two left-aligned columns are read across, as printed."""
    pairs = [
        ("Họ và tên: Nguyễn Thị Hồng Đào", "Giới tính: Nữ"),
        ("Ngày sinh: 12/05/1990", "Dân tộc: Kinh"),
        ("Nơi sinh: Đông Hà, Quảng Trị", "Quốc tịch: Việt Nam"),
        ("Số CCCD: 045187002319", "Điện thoại: 0912345678"),
    ]
    lines = [
        run(150, 100 + 50 * n, a) + run(1300, 100 + 50 * n, b) for n, (a, b) in enumerate(pairs)
    ]
    assert read(lines) == as_tesseract(lines)


def test_table_without_rules_keeps_its_rows():
    rows = [("1.", "Nguyễn Văn An", "Trưởng phòng"), ("2.", "Lê Thị Bình", "Phó phòng")]
    lines = [
        run(150, 100 + 50 * n, a) + run(400, 100 + 50 * n, b) + run(1300, 100 + 50 * n, c)
        for n, (a, b, c) in enumerate(rows)
    ]
    assert read(lines) == as_tesseract(lines)


def test_lone_row_with_two_parts_stays_one_line():
    lines = [
        *body(100),
        run(150, 250, "Số: 123/QĐ-UBND") + run(1300, 250, "Quảng Trị, ngày 5 tháng 3 năm 2024"),
        *body(330),
    ]
    assert read(lines) == as_tesseract(lines)


def test_plain_page_keeps_tesseract_order():
    lines = [centred(1100, 100, "TỜ KHAI ĐĂNG KÝ KHAI SINH")]
    texts = [
        "Kính gửi: Ủy ban nhân dân phường Đông Hà, thành phố Đông Hà",
        "Họ, chữ đệm, tên người yêu cầu: Phạm Thị Hoa",
        "Nơi cư trú: số 12 đường Lê Lợi, phường Đông Hà, tỉnh Quảng Trị",
        "Quan hệ với người được khai sinh: Mẹ đẻ",
        "Đề nghị cơ quan đăng ký khai sinh cho người dưới đây:",
        "Họ, chữ đệm, tên: Phạm Ngọc Bảo Trâm",
    ]
    lines += [run(150, 180 + 50 * n, t) for n, t in enumerate(texts)]
    lines += [centred(1500, 520, "Người yêu cầu"), centred(1500, 570, "(Ký, ghi rõ họ tên)")]
    assert read(lines) == as_tesseract(lines)


def test_two_column_body_reads_column_by_column():
    """Newspaper-style columns, each line flush left and right, read across by Tesseract."""
    left = [f"cột trái dòng số {n} chữ chữ chữ" for n in range(6)]
    right = [f"cột phải dòng số {n} chữ chữ chữ" for n in range(6)]
    lines = [
        _justified(150, 100 + 50 * n, left[n], 600) + _justified(1250, 100 + 50 * n, right[n], 600)
        for n in range(6)
    ]
    assert read(lines) == left + right


def test_ragged_two_column_lines_keep_their_rows():
    """Left-aligned ragged halves (one indented under a longer line, centred on it by
    chance) are not blocks: without full-width lines or centring they keep their rows."""
    left = [
        (150, "aaaaaaaaaa bbbbbbbbbb"),
        (230, "cccccc ddddd"),
        (150, "eeee ffff gggg hhhh"),
        (150, "iiiiiiiiiiiiiiiiiiii jjjjjjjjjj kkkk"),
    ]
    right = ["lll mmmmmmm", "nnnnnnnnn oo ppppp", "qqqq", "rrrrrrrrrr sss"]
    lines = [
        run(x, 100 + 50 * n, text) + run(1250, 100 + 50 * n, right[n])
        for n, (x, text) in enumerate(left)
    ]
    assert read(lines) == as_tesseract(lines)


def _justified(x: float, y: float, text: str, width: float) -> list[tuple[str, tuple]]:
    words = text.split()
    space = (width - sum(CHAR * len(w) for w in words)) / (len(words) - 1)
    out = []
    for word in words:
        out.append((word, (x, y, x + CHAR * len(word), y + H)))
        x += CHAR * len(word) + space
    return out


# ---- real pages, real Tesseract ---------------------------------------------------------

FONT_DIR = Path("/usr/share/fonts/truetype")
SERIF = FONT_DIR / "liberation2" / "LiberationSerif-Regular.ttf"
SERIF_BOLD = FONT_DIR / "liberation2" / "LiberationSerif-Bold.ttf"
if not SERIF.exists():
    SERIF = SERIF_BOLD = FONT_DIR / "dejavu" / "DejaVuSerif.ttf"

DPI = 300
PT = DPI / 72
FOOTER_LEFT = ["Nơi nhận:", "- Như Điều 3;", "- Sở Tài chính;", "- Lưu: VT."]
FOOTER_RIGHT = ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
SIGNER = "Nguyễn Văn An"
PAGE_BODY = [
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024 và các văn bản hướng dẫn;",
    "Xét đề nghị của Giám đốc Sở Tài nguyên và Môi trường tại Tờ trình số 45.",
]


def _font(bold: bool, size_pt: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(SERIF_BOLD if bold else SERIF), round(size_pt * PT))


def _centred_text(draw, cx: float, y: float, text: str, font) -> None:
    draw.text((cx - draw.textlength(text, font=font) / 2, y), text, font=font, fill=0)


def official_page() -> Image.Image:
    """An A4 decision: two-column header, centred title, body, two-column footer."""
    page = Image.new("L", (round(8.27 * DPI), round(11.69 * DPI)), 255)
    draw = ImageDraw.Draw(page)
    left_c, right_c, step = 640, 1640, 13 * PT * 1.3
    for n, text in enumerate(HEADER_LEFT):
        _centred_text(draw, left_c, 240 + n * step, text, _font(n < 2, 12))
    for n, text in enumerate(HEADER_RIGHT):
        _centred_text(draw, right_c, 240 + n * step, text, _font(n < 2, 12))
    _centred_text(draw, 1240, 520, "QUYẾT ĐỊNH", _font(True, 14))
    for n, text in enumerate(PAGE_BODY):
        draw.text((240, 660 + n * step), text, font=_font(False, 13), fill=0)
    for n, text in enumerate(FOOTER_LEFT):
        draw.text((240, 1000 + n * step * 0.9), text, font=_font(n == 0, 11), fill=0)
    for n, text in enumerate(FOOTER_RIGHT):
        _centred_text(draw, right_c, 1000 + n * step, text, _font(True, 12))
    _centred_text(draw, right_c, 1000 + 5.5 * step, SIGNER, _font(True, 12))
    return page


def _line_of(lines: list[str], needle: str) -> int:
    folded = [unicodedata.normalize("NFC", line) for line in lines]
    hits = [n for n, line in enumerate(folded) if needle in line]
    assert len(hits) == 1, (needle, lines)
    return hits[0]


def test_official_page_reads_header_and_footer_block_by_block(tmp_path):
    path = tmp_path / "decision.png"
    official_page().save(path, dpi=(DPI, DPI))
    result = ocr_page(page_image(path, source="decision.png"), OcrSettings())
    lines = result.text.splitlines()
    header = [
        _line_of(lines, key)
        for key in ("TỈNH QUẢNG TRỊ", "SỞ TÀI NGUYÊN", "12/QĐ", "CỘNG HÒA", "Hạnh phúc", "tháng 3")
    ]
    assert header == sorted(header)
    footer = [
        _line_of(lines, key)
        for key in ("Nơi nhận", "Như Điều 3", "Lưu: VT", "TM. ỦY BAN", "PHÓ CHỦ TỊCH", "Văn An")
    ]
    assert footer == sorted(footer)
    body = [_line_of(lines, key) for key in ("QUYẾT ĐỊNH", "19 tháng 6", "18 tháng 01", "Tờ trình")]
    assert body == list(range(body[0], body[0] + 4))
    assert header[-1] < body[0] < body[-1] < footer[0]


def test_plain_page_keeps_tesseracts_line_order(tmp_path):
    """A one-column page: the lines come out as Tesseract ordered them."""
    page = Image.new("L", (round(8.27 * DPI), round(6 * DPI)), 255)
    draw = ImageDraw.Draw(page)
    _centred_text(draw, 1240, 200, "TỜ KHAI ĐĂNG KÝ KHAI SINH", _font(True, 14))
    y = 340
    for text in [*PAGE_BODY, *BODY, "Người yêu cầu: Phạm Thị Hoa", "Quan hệ: Mẹ đẻ"]:
        draw.text((240, y), text, font=_font(False, 12), fill=0)
        y += 12 * PT * 1.4
    _centred_text(draw, 1640, y + 60, "Người yêu cầu", _font(True, 12))
    path = tmp_path / "plain.png"
    page.save(path)
    data = tesseract.tsv(path, lang="vie", psm=3, dpi=DPI, timeout=120)
    words = words_from_tsv(data, np.array([[1.0, 0, 0], [0, 1.0, 0]]), 0.0)
    assert text_from_words(words).splitlines() == _tesseract_lines(data)


def _tesseract_lines(data: dict) -> list[str]:
    lines: dict[tuple, list[str]] = {}
    for i, level in enumerate(data["level"]):
        text = unicodedata.normalize("NFC", str(data["text"][i]).strip())
        if int(level) == 5 and text and float(data["conf"][i]) >= 0:
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            lines.setdefault(key, []).append(text)
    return [" ".join(words) for words in lines.values()]


def _set(y: float, words: list[tuple[str, float, float]], h: float = 50) -> list[tuple[str, tuple]]:
    """A Tesseract line given as (word, left, right) at top ``y``."""
    return [(word, (x0, y, x1, y + h)) for word, x0, x1 in words]


def test_a_header_wider_than_its_half_still_reads_block_by_block():
    """Boxes as Tesseract read a real 300-dpi header (real-world corpus, seed 7300): the
    left block's long second line ends where the right block's first line begins, so no
    common gutter holds the first row; the "V/v" subject line under the number runs past
    the right block's left edge. Each of their parts is centred on its own block."""
    lines = [
        _set(
            244,
            [("UBND", 362, 532), ("HUYỆN", 555, 765), ("THANH", 784, 997)]
            + [("OAI", 1021, 1120), ("CỘNG", 1168, 1321), ("HÒA", 1342, 1461)]
            + [("XÃ", 1475, 1545), ("HỘI", 1563, 1665), ("CHỦ", 1684, 1801)]
            + [("NGHĨA", 1820, 2001), ("VIỆT", 2016, 2143), ("NAM", 2161, 2286)],
        ),
        _set(
            305,
            [("BAN", 310, 401), ("QUẢN", 417, 540), ("LÝ", 557, 606), ("DỰ", 628, 680)]
            + [("ÁN", 702, 754), ("ĐẦU", 773, 863), ("TƯ", 884, 936), ("XÂY", 954, 1030)]
            + [("DỰNG", 1045, 1170), ("Độc", 1302, 1414), ("lập", 1437, 1527)]
            + [("-", 1550, 1567), ("Tự", 1589, 1673), ("do", 1689, 1759), ("-", 1782, 1799)]
            + [("Hạnh", 1823, 1984), ("phúc", 2005, 2150)],
        ),
        _set(
            395,
            [("Số:", 513, 592), ("1358/BQLDA", 621, 973), ("Thanh", 1186, 1351)]
            + [("Oai,", 1375, 1480), ("ngày", 1505, 1634), ("13", 1654, 1716)]
            + [("tháng", 1739, 1892), ("10", 1915, 1978), ("năm", 2001, 2112)]
            + [("2024", 2133, 2266)],
        ),
        _set(
            459,
            [("V/v", 247, 307), ("nghiệm", 320, 458), ("thu", 471, 531)]
            + [("công", 547, 635), ("trình", 648, 738), ("trường", 752, 876)]
            + [("mầm", 891, 980), ("non", 995, 1062), ("Hoa", 1077, 1151), ("Sen", 1166, 1234)],
            h=38,
        ),
        _set(
            590,
            [("Kính", 514, 656), ("gửi:", 678, 788), ("Ủy", 814, 892), ("ban", 910, 1020)]
            + [("nhân", 1042, 1192), ("dân", 1214, 1322), ("huyện", 1344, 1524)],
        ),
    ]
    assert read(lines) == [
        "UBND HUYỆN THANH OAI",
        "BAN QUẢN LÝ DỰ ÁN ĐẦU TƯ XÂY DỰNG",
        "Số: 1358/BQLDA",
        "V/v nghiệm thu công trình trường mầm non Hoa Sen",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Thanh Oai, ngày 13 tháng 10 năm 2024",
        "Kính gửi: Ủy ban nhân dân huyện",
    ]


def _boxes(y_words: list[tuple[str, int, int, int, int]]) -> list[tuple[str, tuple]]:
    """A Tesseract line given as (word, left, top, width, height)."""
    return [(w, (x, y, x + dx, y + dy)) for w, x, y, dx, dy in y_words]


def test_a_header_row_with_only_a_word_space_between_its_blocks_is_cut_where_both_centre():
    """Boxes as read from a 90-dpi phone photo (real-world corpus, seed 7100): the first
    header row's halves are 7 px apart, as close as its word spaces, so no gap parts it;
    cut after "YÊN", each half is centred on its own block's lines below."""
    lines = [
        _boxes(
            [("UBND", 128, 128, 49, 13), ("THÀNH", 182, 126, 61, 15), ("PHỐ", 250, 125, 36, 17)]
            + [("VĨNH", 290, 128, 44, 15), ("YÊN", 340, 128, 34, 15), ("CỘNG", 381, 129, 45, 16)]
            + [("HÒA", 431, 130, 34, 13), ("XÃ", 469, 131, 20, 13), ("HỘI", 494, 130, 29, 17)]
            + [("CHỦ", 528, 130, 34, 15), ("NGHĨA", 568, 133, 52, 13), ("VIỆT", 624, 134, 37, 15)]
            + [("NAM", 665, 136, 35, 11)]
        ),
        _boxes(
            [("BAN", 128, 146, 25, 9), ("QUẢN", 157, 143, 36, 14), ("LÝ", 199, 146, 14, 11)]
            + [("DỰ", 218, 147, 16, 11), ("ÁN", 239, 142, 16, 20), ("ĐẦU", 260, 145, 26, 12)]
            + [("TƯ", 291, 143, 14, 20), ("XÂY", 313, 143, 21, 20), ("DỰNG", 338, 149, 36, 11)]
        ),
        _boxes([("Số:", 172, 169, 23, 14), ("2320/TB-BQLDA", 201, 171, 129, 15)]),
        _boxes(
            [("Độc", 420, 148, 32, 16), ("lập", 458, 149, 26, 16), ("-", 490, 156, 6, 3)]
            + [("Tự", 501, 151, 25, 15), ("do", 530, 151, 21, 13), ("-", 556, 158, 6, 3)]
            + [("Hạnh", 569, 151, 45, 15), ("phúc", 620, 152, 42, 16)]
        ),
        _boxes(
            [("Vĩnh", 397, 177, 34, 13), ("Yên,", 438, 177, 31, 15), ("ngày", 475, 177, 38, 17)]
            + [("05", 517, 179, 19, 13), ("tháng", 542, 178, 44, 17), ("6", 592, 180, 10, 13)]
            + [("năm", 607, 180, 32, 13), ("2022", 645, 181, 39, 13)]
        ),
    ]
    assert read(lines) == [
        "UBND THÀNH PHỐ VĨNH YÊN",
        "BAN QUẢN LÝ DỰ ÁN ĐẦU TƯ XÂY DỰNG",
        "Số: 2320/TB-BQLDA",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Vĩnh Yên, ngày 05 tháng 6 năm 2022",
    ]
