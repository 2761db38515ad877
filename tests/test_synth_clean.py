"""Synthetic scans (samples.synth) and OCR cleaning (ocr.clean), measured against known truth."""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageDraw

from ocr.clean import CleanResult, clean_for_ocr, estimate_skew, speck_fraction
from samples import synth
from schemas.settings import OcrSettings


def _gray(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2GRAY)


def _bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def text_page() -> Image.Image:
    """A 10-line A4 page at 300 dpi, rendered once for the skew tests."""
    return synth.render_page(synth.sample_lines(7, 10), seed=7)


# --- synth -------------------------------------------------------------------


def test_sample_lines_is_deterministic_and_distinct() -> None:
    assert synth.sample_lines(3, 12) == synth.sample_lines(3, 12)
    assert synth.sample_lines(3, 12) != synth.sample_lines(4, 12)
    assert len(set(synth.sample_lines(3, 40))) == 40
    assert len(synth.sample_lines(0, 100)) == 100


def test_rendered_truth_contains_the_lines() -> None:
    lines = [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Họ và tên người nộp: Nguyễn Thị Hồng Đào",
        synth.VIETNAMESE_LINES[30],
    ]
    img, truth = synth.render_page_with_truth(lines, dpi=150)
    assert img.mode == "RGB"
    assert img.size == (round(210 / 25.4 * 150), round(297 / 25.4 * 150))
    assert synth.normalise_text(truth) == synth.normalise_text(" ".join(lines))
    assert "\n" in truth and len(truth.splitlines()) > len(lines)  # the long line wrapped
    ink = _gray(img) < 128
    assert ink.any() and not ink[:, :10].any()  # black text inside the margins


def test_truth_stops_where_the_page_is_full() -> None:
    _, truth = synth.render_page_with_truth(list(synth.VIETNAMESE_LINES) * 3, dpi=100)
    assert 20 < len(truth.splitlines()) < 3 * len(synth.VIETNAMESE_LINES)


def test_cer() -> None:
    assert synth.cer("Đào", "Đào") == 0.0
    assert synth.cer("a  b\nc", "a b c") == 0.0
    assert synth.cer("Nguyễn", "Nguyen") == pytest.approx(1 / 6)
    assert synth.levenshtein("kitten", "sitting") == 3
    assert synth.levenshtein("", "abc") == 3


def test_degrade_is_deterministic_and_keeps_mode(text_page: Image.Image) -> None:
    small = text_page.resize((600, 850))
    a = synth.degrade(small, skew_deg=2, noise=0.2, jpeg_quality=60, border_px=10, seed=5)
    b = synth.degrade(small, skew_deg=2, noise=0.2, jpeg_quality=60, border_px=10, seed=5)
    assert a.mode == "RGB" and a.size == small.size
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert synth.degrade(small.convert("L"), noise=0.1).mode == "L"


def test_write_pdf_is_one_jpeg_per_page(tmp_path: Path) -> None:
    pages = [
        synth.render_page(["Mã hồ sơ: 000.00.06.H56-231027-0361"], dpi=100),
        synth.render_page(["Độc lập - Tự do - Hạnh phúc"], dpi=100, paper="A5").convert("L"),
    ]
    path = tmp_path / "scan.pdf"
    synth.write_pdf(path, pages, dpi=100, jpeg_quality=80)
    assert [p.name for p in tmp_path.iterdir()] == ["scan.pdf"]  # no temp file left
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == 2
        for page, img in zip(pdf.pages, pages, strict=True):
            images = list(page.get_images().values())
            assert len(images) == 1
            stream = images[0]
            assert stream.Filter == pikepdf.Name.DCTDecode
            assert stream.BitsPerComponent == 8
            expected_cs = "/DeviceGray" if img.mode == "L" else "/DeviceRGB"
            assert str(stream.ColorSpace) == expected_cs
            raw = stream.read_raw_bytes()
            assert raw[:2] == b"\xff\xd8"
            assert Image.open(io.BytesIO(raw)).size == img.size
            box = [float(v) for v in page.MediaBox]
            assert box[2] == pytest.approx(img.width / 100 * 72, abs=0.01)
            assert box[3] == pytest.approx(img.height / 100 * 72, abs=0.01)


def test_write_tiff_png_jpeg_carry_dpi(tmp_path: Path) -> None:
    pages = [synth.render_page([line], dpi=100) for line in synth.sample_lines(1, 3)]
    synth.write_tiff(tmp_path / "a.tiff", pages, dpi=100)
    with Image.open(tmp_path / "a.tiff") as tif:
        assert tif.n_frames == 3
        assert tuple(round(v) for v in tif.info["dpi"]) == (100, 100)
        assert tif.info["compression"] in ("tiff_deflate", "tiff_adobe_deflate")
    synth.write_png(tmp_path / "a.png", pages[0], dpi=100)
    synth.write_jpeg(tmp_path / "a.jpg", pages[0], dpi=100, quality=80)
    for name in ("a.png", "a.jpg"):
        with Image.open(tmp_path / name) as im:
            assert tuple(round(v) for v in im.info["dpi"]) == (100, 100)


def test_make_demo_batch(tmp_path: Path) -> None:
    paths = synth.make_demo_batch(tmp_path, seed=1)
    assert [p.suffix for p in paths] == [".pdf", ".tiff", ".jpg"]
    assert all(p.is_file() for p in paths)
    with pikepdf.open(paths[0]) as pdf:
        assert len(pdf.pages) == 3
    with Image.open(paths[1]) as tif:
        assert tif.n_frames == 2


# --- estimate_skew ------------------------------------------------------------


@pytest.mark.parametrize("skew", [-7.0, -3.0, -1.5, 0.0, 2.5, 5.0, 9.0])
def test_estimate_skew_recovers_applied_skew(text_page: Image.Image, skew: float) -> None:
    scan = synth.degrade(
        text_page,
        skew_deg=skew,
        noise=0.15,
        jpeg_quality=60,
        border_px=25,
        seed=int(skew * 10) % 97,
    )
    assert estimate_skew(_gray(scan)) == pytest.approx(-skew, abs=0.3)


def test_estimate_skew_without_signal_is_zero() -> None:
    blank = Image.new("RGB", (1240, 1754), "white")
    assert estimate_skew(_gray(blank)) == 0.0
    assert estimate_skew(_gray(synth.degrade(blank, noise=0.3, border_px=20))) == 0.0
    seal_only = synth.add_red_seal(blank, dpi=150)
    assert estimate_skew(_gray(synth.degrade(seal_only, skew_deg=5))) == 0.0


def test_speck_fraction_separates_noise_from_text(text_page: Image.Image) -> None:
    assert speck_fraction(_gray(text_page)) < 1e-4
    assert speck_fraction(_gray(synth.degrade(text_page, noise=0.2, seed=1))) > 1e-3


# --- clean_for_ocr --------------------------------------------------------------


def _page_with_square(dpi: int, corner: tuple[int, int], side: int) -> Image.Image:
    page = synth.render_page(synth.sample_lines(2, 8), dpi=dpi, seed=2)
    ImageDraw.Draw(page).rectangle(
        (corner[0], corner[1], corner[0] + side - 1, corner[1] + side - 1), fill="black"
    )
    return page


def _square_centroid(gray: np.ndarray, side: int) -> np.ndarray:
    """Centroid of the only blob that survives an opening wider than any text stroke."""
    dark = (gray < 128).astype(np.uint8)
    size = (side * 2 // 3) | 1  # odd, so the opening does not shift the blob
    kernel = np.ones((size, size), np.uint8)
    blob = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
    count, _, _, centroids = cv2.connectedComponentsWithStats(blob)
    assert count == 2, "expected exactly one square"
    return centroids[1]


@pytest.mark.parametrize(("dpi", "skew"), [(300, 6.0), (150, -4.0)])
def test_to_original_maps_back_to_the_scan(dpi: int, skew: float) -> None:
    side = dpi // 6
    page = _page_with_square(dpi, (dpi * 5, dpi * 7), side)
    scan = synth.degrade(page, skew_deg=skew, seed=3)
    result = clean_for_ocr(_bgr(scan), dpi=dpi, opts=OcrSettings())
    assert isinstance(result, CleanResult)
    assert result.to_original.shape == (2, 3)
    assert result.skew_deg == pytest.approx(-skew, abs=0.3)
    opts = OcrSettings()
    expected = opts.min_ocr_dpi / dpi if dpi < opts.min_ocr_dpi else opts.max_ocr_dpi / dpi
    assert result.scale == pytest.approx(expected)  # enlarged to 200 dpi, or shrunk to 240
    in_clean = _square_centroid(result.image, round(side * result.scale))
    in_scan = _square_centroid(_gray(scan), side)
    assert np.allclose(result.map_points(in_clean)[0], in_scan, atol=1.5)
    manual = result.to_original @ np.array([in_clean[0], in_clean[1], 1.0])
    assert np.allclose(manual, in_scan, atol=1.5)


def test_clean_accepts_gray_and_respects_flags(text_page: Image.Image) -> None:
    # an A4 page at 150 dpi labelled 300: the resolution check would rightly enlarge it
    scan = _gray(synth.degrade(text_page.resize((1240, 1754)), skew_deg=3))
    fixed = {"estimate_resolution": False, "max_ocr_dpi": None}
    off = clean_for_ocr(scan, dpi=300, opts=OcrSettings(deskew=False, denoise=False, **fixed))
    assert off.skew_deg == 0.0 and off.scale == 1.0
    assert np.array_equal(off.image, scan)
    assert np.allclose(off.to_original, [[1, 0, 0], [0, 1, 0]])
    on = clean_for_ocr(scan, dpi=300, opts=OcrSettings(**fixed))
    assert on.image.dtype == np.uint8 and on.image.shape == scan.shape
    assert on.skew_deg == pytest.approx(-3.0, abs=0.3)


def _ocr(image: np.ndarray | Image.Image) -> str:
    import pytesseract

    return pytesseract.image_to_string(image, lang="vie")


def test_cleaning_lowers_tesseract_cer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_THREAD_LIMIT", "1")
    page, truth = synth.render_page_with_truth(synth.sample_lines(11, 10), seed=11)
    scan = synth.degrade(page, skew_deg=4.0, noise=0.3, jpeg_quality=50, seed=11)
    cleaned = clean_for_ocr(_bgr(scan), dpi=300, opts=OcrSettings())
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        raw_text, clean_text = pool.map(_ocr, [scan, cleaned.image])
    raw_cer, clean_cer = synth.cer(truth, raw_text), synth.cer(truth, clean_text)
    assert clean_cer < raw_cer, (raw_cer, clean_cer)
    assert clean_cer < 0.05, clean_cer
