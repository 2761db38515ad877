"""The real-world page maker (``bench/realworld_corpus.py``) makes what it claims.

No OCR here: each check reads the file the way sohoa or a PDF tool would (Pillow's DPI,
pikepdf's image filter, pyHanko's validation, poppler's text) and, for the photo, measures
the printed line pitch in the pixels to confirm the page text is at the stated resolution.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.realworld_corpus import KINDS, NOTES, make_corpus

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf").is_file(),
    reason="the bench corpus needs fonts-noto-core (scripts/bootstrap.sh with SOHOA_BENCH=1)",
)


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("realworld")
    return {p.kind: p for p in make_corpus(out, 1, seed=7100)}


def _page_image(pdf_path: Path) -> dict:
    """The page's only image: filters, bits, colour space, and its resolution on the page."""
    with pikepdf.open(pdf_path) as pdf:
        page = pdf.pages[0]
        (obj,) = page.get_images().values()
        image = pikepdf.PdfImage(obj)
        width_in = float(page.mediabox[2] - page.mediabox[0]) / 72
        return {
            "filters": [str(f) for f in image.filters],
            "bits": image.bits_per_component,
            "colorspace": str(image.colorspace),
            "dpi": image.width / width_in,
        }


def _line_pitch(gray: np.ndarray) -> float:
    """Printed line pitch in px: the period of the straightest ink profile near the centre."""
    ink = cv2.adaptiveThreshold(gray, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    h, w = ink.shape
    band = ink[int(h * 0.3) : int(h * 0.7), int(w * 0.4) : int(w * 0.6)].astype(np.float32)
    best, profile = -1.0, None
    for deg in np.arange(-8, 8.01, 0.5):  # the photo's rotation: take the sharpest profile
        m = cv2.getRotationMatrix2D((band.shape[1] / 2, band.shape[0] / 2), float(deg), 1)
        rows = cv2.warpAffine(band, m, band.shape[::-1]).sum(axis=1)
        if rows.var() > best:
            best, profile = rows.var(), rows
    p = profile - np.convolve(profile, np.ones(61) / 61, "same")  # drop paragraph-scale swings
    auto = np.correlate(p, p, "full")[len(p) - 1 :]
    first_negative = int(np.argmax(auto < 0))
    return float(first_negative + np.argmax(auto[first_negative : 4 * first_negative]))


def test_photo_has_no_dpi_and_text_at_the_stated_resolution(pages):
    page = pages["phone photo"]
    assert page.path.suffix == ".jpg" and page.path == page.image
    with Image.open(page.path) as img:
        assert img.format == "JPEG"
        assert "dpi" not in img.info  # neither JFIF density nor EXIF resolution
        assert 0x011A not in img.getexif()
        gray = np.asarray(img.convert("L"))
    assert 75 <= page.dpi <= 145 and not page.dpi_tagged
    expected = page.size_pt * page.leading * page.dpi / 72
    measured = _line_pitch(gray)
    assert math.isclose(measured, expected, rel_tol=0.15), (measured, expected)


def test_bilevel_pdf_is_ccitt_1_bit_200_dpi(pages):
    page = pages["bilevel 200 dpi"]
    image = _page_image(page.path)
    assert image["filters"] == ["/CCITTFaxDecode"]
    assert image["bits"] == 1
    assert abs(image["dpi"] - 200) < 1
    assert page.image.suffix == ".tif"


@pytest.mark.parametrize("kind, dpi", [("colour 200 dpi", 200), ("colour 300 dpi", 300)])
def test_colour_scans_are_jpeg_in_pdf_at_their_dpi(pages, kind, dpi):
    image = _page_image(pages[kind].path)
    assert image["filters"] == ["/DCTDecode"]
    assert image["colorspace"] == "/DeviceRGB"
    assert abs(image["dpi"] - dpi) < 1


def test_truth_is_the_print_only(pages):
    for page in pages.values():
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page.truth
        assert "Độc lập - Tự do - Hạnh phúc" in page.truth
        assert "Nơi nhận:" in page.truth
    notes = pages["yellowed + notes"]
    assert "notes" in notes.detail
    assert not any(n in notes.truth for n in NOTES)


def test_signed_pdf_validates_and_has_a_poor_text_layer(pages):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from samples.synth import cer

    page = pages["signed, poor text layer"]
    cert = load_cert_from_pemder(str(page.path.parent / "keys" / "throwaway.cert.pem"))
    with page.path.open("rb") as handle:
        (sig,) = PdfFileReader(handle).embedded_signatures
        status = validate_pdf_signature(sig, ValidationContext(trust_roots=[cert]))
    assert status.intact and status.valid and status.trusted
    done = subprocess.run(
        ["pdftotext", "-raw", str(page.path), "-"], capture_output=True, check=True
    )
    layer = done.stdout.decode("utf-8")
    assert len(layer.split()) > 100  # a full page of (poor) text is already there
    assert 0.05 < cer(page.truth, layer) < 0.6  # poor: the tone marks are gone
    assert "Ộ" not in layer and "CONG HOA XA HOI" in layer.replace("0", "O")


def test_kinds_are_all_made(pages):
    assert set(pages) == set(KINDS)
