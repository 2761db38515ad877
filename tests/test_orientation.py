"""Pages scanned upside down or sideways come out of the archive reading upright,
with the scan's bytes untouched (the turn is the PDF page's /Rotate)."""

from __future__ import annotations

import subprocess

import pikepdf
import pytesseract
import pytest
from PIL import Image

from flows.digitise import run_digitise
from samples.synth import render_page, write_pdf
from schemas.settings import PdfSettings, Settings

LINES = [
    "ỦY BAN NHÂN DÂN HUYỆN GIO LINH",
    "Giấy chứng nhận quyền sử dụng đất",
    "Người sử dụng đất: Lê Thị Thu Hương",
    "Địa chỉ thửa đất: xã Gio Mỹ, tỉnh Quảng Trị",
]


def _render_shown_page(pdf_path, page: int, tmp_path) -> Image.Image:
    """What a reader shows: poppler renders the page with its /Rotate applied."""
    prefix = tmp_path / f"shown{page}"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "150",
            "-f",
            str(page),
            "-l",
            str(page),
            "-png",
            str(pdf_path),
            str(prefix),
        ],
        check=True,
        timeout=120,
    )
    [png] = sorted(tmp_path.glob(f"shown{page}*.png"))
    return Image.open(png)


@pytest.mark.parametrize("image_mode", ["original", "mrc"])
def test_turned_pages_read_upright(prefect_api_url, tmp_path, image_mode):
    """Turned by /Rotate, never resampled: the scan's bytes kept (original) or layered (mrc)."""
    upright = render_page(LINES, font_size_pt=14)
    pages = [upright.rotate(180), upright.transpose(Image.Transpose.ROTATE_90), upright]
    scan = tmp_path / "turned.pdf"
    write_pdf(scan, pages, dpi=300)
    settings = Settings(data_dir=tmp_path / "data", pdf=PdfSettings(image_mode=image_mode))
    [manifest] = run_digitise([str(scan)], settings=settings)
    assert [p.rotation for p in manifest.pages] == [180, 90, 0]
    assert all(p.mean_confidence > 80 for p in manifest.pages)
    archived = settings.local_store_root / manifest.pdf.key
    with pikepdf.open(scan) as original, pikepdf.open(archived) as pdf:
        for ours, theirs in zip(pdf.pages, original.pages, strict=True):
            raw = next(iter(ours.get_images().values())).read_raw_bytes()
            same = raw == next(iter(theirs.get_images().values())).read_raw_bytes()
            assert same == (image_mode == "original")
        assert [int(p.obj.get("/Rotate", 0)) for p in pdf.pages] == [180, 90, 0]
    for number in (1, 2):
        shown = _render_shown_page(archived, number, tmp_path)
        read = pytesseract.image_to_string(shown, lang="vie")
        assert "Lê Thị Thu Hương" in read, read  # the displayed page is upright
        text = subprocess.run(
            ["pdftotext", "-raw", "-f", str(number), "-l", str(number), str(archived), "-"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert "Người sử dụng đất: Lê Thị Thu Hương" in text, text
