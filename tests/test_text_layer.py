"""The archival PDF's invisible text reads back as the OCR read it, in every common reader.

Why: the text layer is what search, copy and every downstream text tool see. A
layer that PyMuPDF reads well can still come out scrambled in poppler (lines
interleaved on skewed pages, words run together), so each page here is checked
with readers that share no code: poppler's ``pdftotext`` in its three modes,
pypdf, pdfminer.six and PyMuPDF (MuPDF). Pages are real: Vietnamese lines
rendered with DejaVu Sans, two columns and indented lines, skewed by a few
degrees and scanned sideways or upside down, read by the real OCR engine. The
truth is the OCR's own text (``PageOcr.text``), so any difference is the text
layer's fault, not the OCR's.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import unicodedata
from pathlib import Path

import pytest
from conftest import page_image
from PIL import Image, ImageDraw, ImageFont
from rapidfuzz.distance import Levenshtein

from bench.pdf_readers import READERS, installed
from ocr.engine import ocr_page
from pdf.assemble import build_archival_pdf
from schemas.models import PageImage, PageOcr, Word
from schemas.settings import OcrSettings

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
MAX_CER = 0.005
"""Half a percent: a reader may differ from the OCR by a stray character, not by a line."""

HEADER = [
    ("ỦY BAN NHÂN DÂN TỈNH QUẢNG TRỊ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG", "Độc lập - Tự do - Hạnh phúc"),
]
TITLE = ["TỜ KHAI ĐĂNG KÝ KHAI SINH", "Kính gửi: Ủy ban nhân dân phường Đông Lễ"]
"""Centred under the header, as on a form: a heading lone readers may move into the text."""
BODY = [
    (0, "QUYẾT ĐỊNH về việc triển khai thực hiện kế hoạch số hóa hồ sơ"),
    (80, "Căn cứ Luật Lưu trữ ngày 21 tháng 6 năm 2024 của Quốc hội;"),
    (80, "Căn cứ Nghị định số 30/2020/NĐ-CP về công tác văn thư;"),
    (0, "Điều 1. Giao Văn phòng Đăng ký đất đai chủ trì triển khai thực hiện"),
    (0, "việc số hóa hồ sơ địa chính của các xã, phường trên địa bàn tỉnh."),
    (80, "Điều 2. Quyết định này có hiệu lực kể từ ngày ký ban hành."),
]
PAGE_KINDS = {
    # name: (skew in degrees counter-clockwise, how the scanner turned the sheet, body columns)
    "skew+1.5": (1.5, None, 1),
    "skew+3.7": (3.7, None, 1),
    "skew-5": (-5.0, None, 1),
    "skew-3.5-columns": (-3.5, None, 2),
    "upside-down+1.2": (1.2, Image.Transpose.ROTATE_180, 1),
    "sideways90-2.5": (-2.5, Image.Transpose.ROTATE_90, 1),
    "sideways270+4-columns": (4.0, Image.Transpose.ROTATE_270, 2),
}
"""Full-width lines (about 1900 px) skewed up to 5°, where a line straightened in place
would leave its ends more than a line off the ink, and two-column short lines."""
LINE_PITCH_PX = 75


def _sheet(skew: float, turn: Image.Transpose | None, columns: int) -> Image.Image:
    """A 300 dpi page: a two-block header, a centred title, body lines, some indented.

    Then skewed and turned as the scanner did.

    With two body columns each body line is split in half, the halves side by side.
    """
    image = Image.new("L", (2100, 1450), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 40)
    y = 90
    for left, right in HEADER:  # each block centred on its half, as offices print them
        draw.text((520, y), left, font=font, fill=0, anchor="ma")
        draw.text((1580, y), right, font=font, fill=0, anchor="ma")
        y += LINE_PITCH_PX
    y += 40
    for line in TITLE:
        draw.text((1050, y), line, font=font, fill=0, anchor="ma")
        y += LINE_PITCH_PX
    y += 40
    for indent, line in BODY:
        words = line.split()
        halves = [words] if columns == 1 else [words[: len(words) // 2], words[len(words) // 2 :]]
        for n, half in enumerate(halves):
            draw.text((90 + indent + 1040 * n, y), " ".join(half), font=font, fill=0)
        y += LINE_PITCH_PX + 5
    image = image.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    return image.transpose(turn) if turn is not None else image


def normalise(text: str) -> str:
    """NFC, all whitespace runs (line breaks included) as one space: layout does not count."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def cer(truth: str, read: str) -> float:
    t, r = normalise(truth), normalise(read)
    return Levenshtein.distance(t, r) / max(1, len(t))


def merged_pairs(truth: str, read: str) -> list[str]:
    """Adjacent OCR words of one line that the reader returns run together ("khaithực")."""
    tokens = normalise(read).split()
    merged = []
    for line in truth.splitlines():
        words = line.split()
        for a, b in itertools.pairwise(words):
            if any(a + b in token for token in tokens):
                merged.append(a + b)
    return merged


def ocr_sheets(tmp: Path) -> tuple[list[PageImage], list[PageOcr]]:
    pages = []
    for index, kind in enumerate(PAGE_KINDS.values()):
        path = tmp / f"sheet{index}.png"
        _sheet(*kind).save(path)
        pages.append(page_image(path, source="text-layer.png", index=index, source_page=index))
    return pages, [ocr_page(page, OcrSettings()) for page in pages]


@pytest.fixture(scope="module")
def archived(tmp_path_factory) -> tuple[Path, list[PageImage], list[PageOcr]]:
    tmp = tmp_path_factory.mktemp("text-layer")
    pages, readings = ocr_sheets(tmp)
    pdf = build_archival_pdf(pages, readings, tmp / "a.pdf", metadata={"recordId": "t"})
    return pdf, pages, readings


def test_the_ocr_read_the_sheets_well(archived):
    """The premise: the OCR itself is good, so the readers' errors below are the layer's."""
    _, _, readings = archived
    lines = [part for pair in HEADER for part in pair] + TITLE + [line for _, line in BODY]
    printed = "".join(sorted(normalise(" ".join(lines))))
    for kind, reading in zip(PAGE_KINDS, readings, strict=True):
        assert cer(printed, "".join(sorted(normalise(reading.text)))) < 0.02, (kind, reading.text)
        assert reading.mean_confidence > 80, kind


@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_reads_the_ocr_text_back(archived, reader):
    assert installed(reader), f"{reader} is missing: scripts/bootstrap.sh installs it"
    pdf, _, readings = archived
    results = read_back_one(pdf, readings, reader)
    worst = {kind: f"{c:.2%}" for kind, (c, _, _) in results.items()}
    assert all(c <= MAX_CER for c, _, _ in results.values()), worst
    merged = {kind: m for kind, (_, m, _) in results.items() if m}
    assert not merged, merged
    broken = {kind: b for kind, (_, _, b) in results.items() if b}
    assert not broken, broken


def read_back_one(pdf: Path, readings: list[PageOcr], reader: str) -> dict:
    """Page kind → (CER against the OCR's text, merged word pairs, OCR line parts not intact).

    Where text stands side by side, the order is each reader's own layout analysis:
    on a page with body columns poppler and pdfminer read a column block by block, the
    OCR line by line across; ``pdftotext -layout`` prints side-by-side header blocks on
    shared rows, by design. There the CER is order-free (of the sorted characters), and
    every part of an OCR line that stands alone (:func:`line_parts`) must still come back
    whole, so a line split or interleaved with another still fails.
    """
    read = READERS[reader]
    results = {}
    for number, (kind, reading) in enumerate(zip(PAGE_KINDS, readings, strict=True), start=1):
        text = read(pdf, number)
        if PAGE_KINDS[kind][2] == 1 and reader != "pdftotext -layout":
            error = cer(reading.text, text)
        else:
            error = cer("".join(sorted(normalise(reading.text))), "".join(sorted(normalise(text))))
        found = normalise(text)
        broken = [part for part in line_parts(reading) if normalise(part) not in found]
        results[kind] = (error, merged_pairs(reading.text, text), broken)
    return results


def line_parts(reading: PageOcr) -> list[str]:
    """Each OCR line, cut where a gap between two of its words is wider than two word heights.

    A line of the two-column pages runs across both columns; its halves are its parts.
    """
    lines: dict[int, list[Word]] = {}
    for word in reading.words:
        lines.setdefault(word.line, []).append(word)
    parts = []
    for words in lines.values():
        part = [words[0].text]
        for before, after in itertools.pairwise(words):
            a = math.radians(before.angle)
            end = (
                before.left + before.width * math.cos(a),
                before.top - before.width * math.sin(a),
            )
            if math.dist(end, (after.left, after.top)) > 2 * max(before.height, after.height):
                parts.append(" ".join(part))
                part = []
            part.append(after.text)
        parts.append(" ".join(part))
    return parts


def test_search_hits_land_on_the_words(archived, tmp_path):
    """A word MuPDF highlights is that word on the page MuPDF draws.

    Why: a layer straightened for the extractors must still let a viewer highlight the
    word on the scan. Checked with tools that share no code with the layer: MuPDF renders
    the page (scan placement and ``/Rotate`` included) and gives each word's box in the
    rendered page; Tesseract reads that box alone; the long words of every page must
    read back as themselves (a box a line off reads the wrong word, an empty one nothing).
    """
    import pymupdf

    pdf, _, readings = archived
    zoom = 300 / 72
    with pymupdf.open(pdf) as doc:
        for number, (kind, reading, page) in enumerate(zip(PAGE_KINDS, readings, doc, strict=True)):
            pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace="gray")
            shown = Image.frombytes("L", (pixmap.width, pixmap.height), pixmap.samples)
            boxes = _long_word_boxes(page, reading, zoom)
            read = _read_boxes(shown, boxes, tmp_path / f"p{number}")
            wrong = [
                (word, got)
                for (word, _), got in zip(boxes, read, strict=True)
                if _fold(word) != _fold(got)
            ]
            assert len(boxes) >= 10, kind
            assert len(wrong) <= len(boxes) // 8, (kind, wrong)


def _long_word_boxes(page, reading: PageOcr, zoom: float) -> list[tuple[str, tuple]]:
    """Words of four letters or more that occur once on the page, with MuPDF's box for each.

    Boxes are in the rendered page (``/Rotate`` applied), in pixels at ``zoom``.
    """
    counts: dict[str, int] = {}
    for word in reading.words:
        counts[word.text] = counts.get(word.text, 0) + 1
    wanted = {t for t, n in counts.items() if n == 1 and sum(c.isalpha() for c in t) >= 4}
    boxes = []
    for x0, y0, x1, y1, text, *_ in page.get_text("words"):
        if text in wanted:
            rect = pymupdf_rect(x0, y0, x1, y1) * page.rotation_matrix
            boxes.append((text, tuple(v * zoom for v in rect.irect)))
    return boxes


def _read_boxes(shown: Image.Image, boxes, tmp: Path) -> list[str]:
    """Tesseract's reading of each box of ``shown`` alone, widened by a fifth of its height.

    Only a little taller (a tenth above and below): a highlight is as tall as the line's
    glyphs, up to the next line, so more would take in the next line's letters.
    """
    from sohoa.programs import tesseract

    tmp.mkdir()
    listing = []
    for n, (_, (x0, y0, x1, y1)) in enumerate(boxes):
        pad = (y1 - y0) / 5
        crop = shown.crop((int(x0 - pad), int(y0 - pad / 2), int(x1 + pad), int(y1 + pad / 2)))
        crop.save(tmp / f"{n}.png")
        listing.append(str(tmp / f"{n}.png"))
    (tmp / "list.txt").write_text("\n".join(listing) + "\n")
    data = tesseract.tsv(tmp / "list.txt", lang="vie", psm=7, dpi=300, timeout=120)
    words: dict[int, list[str]] = {}
    for page_num, text in zip(data["page_num"], data["text"], strict=True):
        if str(text).strip():
            words.setdefault(int(page_num), []).append(str(text).strip())
    return [" ".join(words.get(n + 1, [])) for n in range(len(boxes))]


def _fold(text: str) -> str:
    """Letters only, lower case, tone marks and đ folded: a mark cut off at a box's edge,
    or punctuation beside it, does not count; a different word still does."""
    bare = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in bare if c.isalnum() and not unicodedata.combining(c))


def pymupdf_rect(*coords):
    import pymupdf

    return pymupdf.Rect(*coords)


def layer_of(tmp_path: Path, words: list[Word], text: str, size: tuple[int, int], dpi: int) -> Path:
    """A one-page archival PDF of a blank scan with ``words`` as its OCR (no OCR runs)."""
    path = tmp_path / "blank.png"
    Image.new("L", size, 255).save(path)
    page = page_image(path, source="blank.png", index=0, source_page=0)
    reading = PageOcr(
        index=0,
        width=size[0],
        height=size[1],
        dpi=dpi,
        words=tuple(words),
        text=text,
        mean_confidence=95,
    )
    return build_archival_pdf([page], [reading], tmp_path / "layer.pdf", metadata={})


def test_words_whose_boxes_touch_still_read_as_two_words(tmp_path):
    """OCR boxes with no gap ("khai" ending where "thực" starts) get a real space between.

    Why: readers that split words on geometry alone see no gap there, so the layer's own
    space character must be there and wide enough to count ("triển khaithực hiện").
    """
    texts, left, words = ["triển", "khai", "thực", "hiện"], 100.0, []
    for text in texts:
        width = 30.0 * len(text)
        words.append(Word(text=text, left=left, top=100, width=width, height=40, conf=95))
        left += width + (0 if text == "khai" else 20)
    pdf = layer_of(tmp_path, words, " ".join(texts), (1200, 300), 300)
    for name, read in READERS.items():
        assert installed(name), f"{name} is missing: scripts/bootstrap.sh installs it"
        assert normalise(read(pdf, 1)) == "triển khai thực hiện", name


def test_a_letter_reads_in_line_order_in_every_reader(tmp_path):
    """Left-aligned lines of varied length with centred headings between, as on a form.

    Why: with glyphs only as tall as the words, the gap between two lines is wider than
    pdfminer's paragraph margin, so each line is a box of its own and pdfminer orders the
    boxes by a layout guess that puts a centred heading inside the paragraph beside it
    (2-5 % CER on the OCR bench's plain letters). Boxes are laid out here as the OCR
    gives them (height 36 px, line pitch 65 px, 300 dpi); no OCR runs.
    """
    words, truth, rng = [], [], random.Random(5)
    vocabulary = " ".join(line for _, line in BODY).split()
    for number in range(24):
        centred = number % 6 == 0
        count = rng.randint(3, 5) if centred else rng.randint(4, 13)
        texts = [rng.choice(vocabulary) for _ in range(count)]
        widths = [19.0 * len(t) for t in texts]
        left = (2480 - sum(widths) - 15 * (count - 1)) / 2 if centred else 240.0
        for text, width in zip(texts, widths, strict=True):
            top = 250.0 + 65 * number
            words.append(
                Word(text=text, left=left, top=top, width=width, height=36, conf=95, line=number)
            )
            left += width + 15
        truth.append(" ".join(texts))
    text = "\n".join(truth)
    pdf = layer_of(tmp_path, words, text, (2480, 2000), 300)
    errors = {name: cer(text, read(pdf, 1)) for name, read in READERS.items()}
    assert all(error == 0 for error in errors.values()), errors


FORM_TOP = [
    # (left, top, width, height) of each word, as the OCR boxed them on a 200-dpi form
    # whose first line is a centred heading over left-aligned text (bench/ocr.py's corpus)
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 525, 161, 603, 35),
    ("Thửa đất số 215, tờ bản đồ số 18, diện tích 312,5 m2 tại thôn Mỹ Thủy.", 157, 215, 1009, 26),
    ("QUYẾT ĐỊNH", 736, 259, 181, 36),
    ("Số giấy tờ tùy thân: 045187002319 do Cục Cảnh sát cấp ngày 15/03/2021", 161, 314, 1046, 26),
    ("Giới tính: Nữ. Dân tộc: Kinh. Quốc tịch: Việt Nam", 161, 362, 700, 26),
]


def test_a_centred_heading_over_a_left_aligned_line_reads_first(tmp_path):
    """A heading far right of the line under it is read before that line, in every reader.

    Why: pdfminer.six orders boxes it cannot join into a paragraph by a guess that weighs
    a box's left edge against its height on the page, and put "CỘNG HÒA XÃ HỘI CHỦ NGHĨA
    VIỆT NAM" after the line under it (3.3 % CER on that page); the heading's text object
    now reaches back to that line's left edge (``pdf.assemble.line_leads``).
    """
    words = []
    for number, (line, left, top, width, height) in enumerate(FORM_TOP):
        texts = line.split()
        step = width / sum(len(t) + 1 for t in texts)
        for text in texts:
            size = step * len(text)
            words.append(
                Word(text=text, left=left, top=top, width=size, height=height, conf=95, line=number)
            )
            left += size + step
    truth = "\n".join(line for line, *_ in FORM_TOP)
    pdf = layer_of(tmp_path, words, truth, (1654, 2339), 200)
    errors = {name: cer(truth, read(pdf, 1)) for name, read in READERS.items()}
    assert all(error == 0 for error in errors.values()), errors


def _line_of(text: str, left: float, top: float, number: int) -> list[Word]:
    words = []
    for part in text.split():
        width = 20.0 * len(part)
        words.append(
            Word(text=part, left=left, top=top, width=width, height=30, conf=95, line=number)
        )
        left += width + 12
    return words


def test_a_heading_reaches_back_to_the_line_under_it_and_never_across_a_neighbour():
    """``line_leads``: the lead is measured to the nearest line *below* (not above), and a
    line with another line beside it at its height (a header row's right block) gets none.

    (A first version measured to the line above: the page test above still passed, and
    a sideways page of the OCR bench read 2.8 % worse in pdfminer.)
    """
    from pdf.assemble import line_leads, line_sizes

    lines = [
        _line_of("ỦY BAN NHÂN DÂN", 100, 100, 0),  # header row: left block ...
        _line_of("CỘNG HÒA XÃ HỘI", 900, 100, 1),  # ... and right block, same height
        _line_of("Căn cứ Luật Lưu trữ", 300, 200, 2),  # a line indented 300 px
        _line_of("QUYẾT ĐỊNH", 700, 250, 3),  # centred heading
        _line_of("Điều 1. Giao Văn phòng Đăng ký đất đai", 160, 300, 4),  # left-aligned text
    ]
    leads = line_leads(lines, 0, line_sizes(lines, 0))
    assert leads[3] == 700 - 160  # to the line below, not to the one above (at 300)
    assert leads[1] == 0  # the left block is in the way
    assert leads[0] == 0 and leads[4] == 0  # nothing to reach
