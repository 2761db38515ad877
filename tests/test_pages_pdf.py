"""Page intake and the archival PDF, checked against independent readers (pikepdf, poppler)."""

from __future__ import annotations

import math
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageDraw

from ocr.engine import ocr_page
from ocr.pages import detect_format, iter_pages
from pdf.assemble import build_archival_pdf
from samples.synth import _load_font, degrade, render_page, write_pdf
from schemas.models import SourceFile
from schemas.settings import LimitSettings, OcrSettings, PdfSettings
from sohoa.errors import BadInputError
from storage.objectstore import sha256_file

LIMITS = LimitSettings()


def _source(path: Path, fmt: str) -> SourceFile:
    return SourceFile(
        name=path.name, sha256=sha256_file(path), size=path.stat().st_size, format=fmt
    )


def test_scanner_jpeg_goes_into_the_archive_byte_for_byte(tmp_path):
    """With ``image_mode = \"original\"`` the scanner's JPEG is archived unchanged."""
    scan = tmp_path / "scan.pdf"
    write_pdf(scan, [render_page(["Trang một"]), render_page(["Trang hai"])], dpi=300)
    with pikepdf.open(scan) as pdf:
        originals = [next(iter(p.get_images().values())).read_raw_bytes() for p in pdf.pages]
    pages = list(
        iter_pages(_source(scan, "pdf"), scan, tmp_path / "pages", start_index=0, limits=LIMITS)
    )
    assert [p.encoding for p in pages] == ["jpeg", "jpeg"] and pages[0].dpi == 300
    original = PdfSettings(image_mode="original")
    out = build_archival_pdf(
        pages, [None, None], tmp_path / "out.pdf", metadata={}, settings=original
    )
    with pikepdf.open(out) as pdf:
        archived = [next(iter(p.get_images().values())).read_raw_bytes() for p in pdf.pages]
    assert archived == originals


def test_vector_pdf_page_is_rasterised(tmp_path):
    vector = tmp_path / "vector.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.save(vector)
    pages = list(
        iter_pages(_source(vector, "pdf"), vector, tmp_path / "p", start_index=0, limits=LIMITS)
    )
    assert len(pages) == 1 and pages[0].encoding == "png"
    # poppler rounds the page up to whole pixels: 595 x 842 pt at the default 300 dpi
    assert (pages[0].width, pages[0].height) == (
        math.ceil(595 * 300 / 72),
        math.ceil(842 * 300 / 72),
    )


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"%PDF-1.4\n", "pdf"),
        (b"II*\x00", "tiff"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"junk%PDF-1.7", "pdf"),
    ],
)
def test_format_comes_from_the_bytes_not_the_name(tmp_path, data, fmt):
    path = tmp_path / "misnamed.txt"
    path.write_bytes(data + b"\x00" * 16)
    assert detect_format(path, limits=LIMITS) == fmt


def test_oversized_upload_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"\x00" * 2_000_000)
    with pytest.raises(BadInputError, match="too large"):
        detect_format(path, limits=LimitSettings(max_file_mb=1))


def test_text_layer_sits_on_the_word(tmp_path):
    """Draw one word at a known place; poppler must report its box there (within 1.5 mm)."""
    dpi, x, y = 300, 600, 900
    page = Image.new("RGB", (2480, 3508), "white")
    font = _load_font(None, 60)
    ImageDraw.Draw(page).text((x, y), "Quảng", font=font, fill="black")
    left, top, right, bottom = ImageDraw.Draw(page).textbbox((x, y), "Quảng", font=font)
    path = tmp_path / "page.png"
    page.save(path, dpi=(dpi, dpi))
    [image] = iter_pages(_source(path, "png"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    out = build_archival_pdf(
        [image], [ocr_page(image, OcrSettings())], tmp_path / "o.pdf", metadata={}
    )
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(out), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    words = [
        w
        for w in ET.fromstring(bbox.replace('xmlns="http://www.w3.org/1999/xhtml"', "")).iter(
            "word"
        )
        if w.text == "Quảng"
    ]
    assert len(words) == 1
    to_px = dpi / 72.0
    got = [float(words[0].get(k)) * to_px for k in ("xMin", "yMin", "xMax", "yMax")]
    for measured, truth in zip(got, (left, top, right, bottom), strict=True):
        assert abs(measured - truth) < 12, (got, (left, top, right, bottom))  # 1 mm


def test_deskewed_ocr_boxes_land_on_the_skewed_scan(tmp_path):
    """OCR runs on the deskewed page; word boxes must come back onto the original skewed scan."""
    img = degrade(render_page(["Đăng ký khai sinh tại Quảng Trị"], font_size_pt=20), skew_deg=4.0)
    path = tmp_path / "skewed.png"
    img.save(path, dpi=(300, 300))
    [image] = iter_pages(_source(path, "png"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    result = ocr_page(image, OcrSettings())
    assert abs(result.skew_deg + 4.0) < 0.3
    gray = img.convert("L")
    for word in result.words:  # the mapped box's bottom-left corner region holds ink of the word
        crop = gray.crop(
            (
                int(word.left),
                int(word.top),
                int(word.left + word.width),
                int(word.top + word.height),
            )
        )
        assert crop.getextrema()[0] < 100, word
