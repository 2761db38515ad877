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
    """A 300 dpi page: a two-column header, then body lines, some indented; skewed, turned.

    With two body columns each body line is split in half, the halves side by side.
    """
    image = Image.new("L", (2100, 1250), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 40)
    y = 90
    for left, right in HEADER:
        draw.text((90, y), left, font=font, fill=0)
        draw.text((1130, y), right, font=font, fill=0)
        y += LINE_PITCH_PX
    y += 60
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
    lines = [part for pair in HEADER for part in pair] + [line for _, line in BODY]
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
    """Page kind → (CER against the OCR's text, merged word pairs, OCR lines not found intact).

    On a page with body columns the order of the columns is each reader's own layout
    analysis (poppler and pdfminer read a column block by block, the OCR line by line
    across): the CER there is order-free (of the sorted characters) and every OCR line
    must come back whole, so a line split or interleaved with another still fails.
    """
    read = READERS[reader]
    results = {}
    for number, (kind, reading) in enumerate(zip(PAGE_KINDS, readings, strict=True), start=1):
        text = read(pdf, number)
        if PAGE_KINDS[kind][2] == 1:
            error = cer(reading.text, text)
        else:
            error = cer("".join(sorted(normalise(reading.text))), "".join(sorted(normalise(text))))
        found = normalise(text)
        broken = [line for line in reading.text.splitlines() if normalise(line) not in found]
        results[kind] = (error, merged_pairs(reading.text, text), broken)
    return results


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
    """Tesseract's reading of each box of ``shown`` (padded by a third of its height), alone."""
    from sohoa.programs import tesseract

    tmp.mkdir()
    listing = []
    for n, (_, (x0, y0, x1, y1)) in enumerate(boxes):
        pad = (y1 - y0) / 3
        crop = shown.crop((int(x0 - pad), int(y0 - pad), int(x1 + pad), int(y1 + pad)))
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
    """Letters only, lower case, NFC: punctuation at a box's edge does not count."""
    return "".join(c for c in unicodedata.normalize("NFC", text).lower() if c.isalnum())


def pymupdf_rect(*coords):
    import pymupdf

    return pymupdf.Rect(*coords)


def test_words_whose_boxes_touch_still_read_as_two_words(tmp_path):
    """OCR boxes with no gap ("khai" ending where "thực" starts) get a real space between.

    Why: readers that split words on geometry alone see no gap there, so the layer's own
    space character must be there and wide enough to count ("triển khaithực hiện").
    """
    path = tmp_path / "blank.png"
    Image.new("L", (1200, 300), 255).save(path)
    page = page_image(path, source="text-layer.png", index=0, source_page=0)
    texts, left, words = ["triển", "khai", "thực", "hiện"], 100.0, []
    for text in texts:
        width = 30.0 * len(text)
        words.append(Word(text=text, left=left, top=100, width=width, height=40, conf=95))
        left += width + (0 if text == "khai" else 20)
    reading = PageOcr(
        index=0,
        width=1200,
        height=300,
        dpi=300,
        words=tuple(words),
        text=" ".join(texts),
        mean_confidence=95,
    )
    pdf = build_archival_pdf([page], [reading], tmp_path / "t.pdf", metadata={})
    for name, read in READERS.items():
        assert installed(name), f"{name} is missing: scripts/bootstrap.sh installs it"
        assert normalise(read(pdf, 1)) == "triển khai thực hiện", name
