"""MRC layers split ahead of the PDF step (``pdf.mrc.prepare_layers``) are the ones it would make."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pdf import mrc

OPTIONS = {
    "background_dpi": 100,
    "background_quality": 50,
    "ink_colour_dpi": 75,
    "max_ink_share": 0.3,
}


def _page(path: Path, *, seal: bool = True) -> Path:
    """A small 300-dpi scan: dark 'text' bars, specks, and a red seal ring over them."""
    img = Image.new("RGB", (620, 820), (244, 240, 232))
    draw = ImageDraw.Draw(img)
    for row in range(12):
        y = 60 + row * 55
        for col in range(6):
            x = 40 + col * 95
            draw.rectangle([x, y, x + 70 - (row * col) % 30, y + 14], fill=(25, 25, 30))
    rng = np.random.default_rng(1)
    for x, y in rng.integers(10, 600, size=(40, 2)):
        draw.point((int(x), int(y)), fill=(60, 60, 60))
    if seal:
        draw.ellipse([350, 450, 560, 660], outline=(200, 30, 40), width=9)
    img.save(path, "JPEG", quality=85, dpi=(300, 300))
    return path


def _split_fresh(path: Path, dpi: float = 300, **options) -> mrc.MrcLayers | None:
    with Image.open(path) as img:
        img.load()
        return mrc._split(img, dpi, **(options or OPTIONS))


def _split_as_the_pdf_step(path: Path, dpi: float = 300, **options) -> mrc.MrcLayers | None:
    with Image.open(path) as img:
        img.load()
        return mrc.split_page(img, dpi, **(options or OPTIONS))


@pytest.mark.parametrize("seal", [True, False])
def test_prepared_layers_are_returned_as_split_and_not_split_again(tmp_path, monkeypatch, seal):
    page = _page(tmp_path / "p.jpg", seal=seal)
    expected = _split_fresh(page)
    assert expected is not None and (expected.colour_mask is not None) == seal

    mrc.prepare_layers(page, 300, **OPTIONS)

    def no_second_split(*args, **kwargs):
        raise AssertionError("the page was split again")

    monkeypatch.setattr(mrc, "_split", no_second_split)
    assert _split_as_the_pdf_step(page) == expected


def test_a_page_kept_as_scanned_is_remembered_too(tmp_path, monkeypatch):
    page = _page(tmp_path / "p.jpg")
    options = {**OPTIONS, "max_ink_share": 0.001}  # "too much ink": keep the scan
    assert _split_fresh(page, **options) is None
    mrc.prepare_layers(page, 300, **options)
    monkeypatch.setattr(mrc, "_split", lambda *a, **k: pytest.fail("split again"))
    assert _split_as_the_pdf_step(page, **options) is None


def test_other_options_resolution_or_a_changed_file_are_split_afresh(tmp_path):
    page = _page(tmp_path / "p.jpg")
    mrc.prepare_layers(page, 300, **OPTIONS)
    other = {**OPTIONS, "background_quality": 30}
    assert _split_as_the_pdf_step(page, **other) == _split_fresh(page, **other)
    assert _split_as_the_pdf_step(page, 200) == _split_fresh(page, 200)
    _page(page, seal=False)  # the image is replaced under the same name
    stat = page.stat()
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _split_as_the_pdf_step(page) == _split_fresh(page)
    assert _split_as_the_pdf_step(page).colour_mask is None


@pytest.mark.parametrize("grey", [False, True])
def test_layers_split_from_the_pixels_ocr_decoded_are_the_files_layers(tmp_path, monkeypatch, grey):
    """The flow hands the page OCR decoded (OpenCV: BGR or grey) to the split, not the path.

    The layers must be those of the file: the colours in RGB order (a red seal stays
    red), a grey page grey. The file is then not opened at all.
    """
    import cv2

    page = _page(tmp_path / "p.png", seal=True)
    if grey:
        Image.open(page).convert("L").save(page)
    expected = _split_fresh(page)
    pixels = cv2.imread(str(page), cv2.IMREAD_UNCHANGED)
    opened = Image.open

    def open_but_not_the_page(source, *args, **kwargs):
        if Path(str(source)) == page:
            pytest.fail("the file was decoded again")
        return opened(source, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(Image, "open", open_but_not_the_page)
        mrc.prepare_layers(page, 300, pixels=pixels, **OPTIONS)
    monkeypatch.setattr(mrc, "_split", lambda *a, **k: pytest.fail("split again"))
    assert _split_as_the_pdf_step(page) == expected
    assert (expected.colour_mask is not None) != grey


def test_a_damaged_store_or_unreadable_image_changes_nothing(tmp_path):
    page = _page(tmp_path / "p.jpg")
    mrc.prepare_layers(page, 300, **OPTIONS)
    stored = page.with_name(page.name + ".mrc")
    stored.write_bytes(stored.read_bytes()[:-100])  # cut short
    assert _split_as_the_pdf_step(page) == _split_fresh(page)
    stored.write_bytes(b"not json\n")
    assert _split_as_the_pdf_step(page) == _split_fresh(page)

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not a jpeg")
    mrc.prepare_layers(broken, 300, **OPTIONS)  # left to the PDF step to report
    assert not broken.with_name(broken.name + ".mrc").exists()


@pytest.mark.parametrize("size", [(826, 1169), (827, 1170), (400, 500)])
def test_shrink_averages_like_an_area_resize(size):
    """Whole-factor-first shrinking gives the area average of what it keeps (a paper's shading).

    It keeps all but fewer than ``factor`` pixels at the right and bottom edges.
    """
    import cv2

    rng = np.random.default_rng(5)
    noise = rng.integers(0, 256, (3508, 2480, 3), dtype=np.uint8)
    shading = cv2.GaussianBlur(noise, (0, 0), 12)
    ours = mrc._shrink(shading, size)
    factor = min(2480 // size[0], 3508 // size[1])
    kept = shading[: 3508 // factor * factor, : 2480 // factor * factor]
    plain = cv2.resize(kept, size, interpolation=cv2.INTER_AREA)
    assert ours.shape == plain.shape
    assert np.abs(ours.astype(int) - plain.astype(int)).max() <= 2


def test_a_page_of_more_specks_than_16_bit_labels_is_still_cleaned():
    """Past 65,535 components the labels are 32-bit: every speck still goes, the text stays."""
    mask = np.zeros((1200, 1200), bool)
    mask[::4, ::4] = True  # 90,000 isolated dots: scanner noise
    mask[600:640, 100:1100] = True  # one bar of "text"
    _, labels, _ = mrc.label_components(mask.view(np.uint8))
    assert labels.dtype == np.int32
    cleaned = mrc._despeckle(mask, 300, mrc.SPECK_AREA_300DPI)
    assert cleaned[600:640, 100:1100].all()
    assert cleaned.sum() == 40 * 1000 + np.count_nonzero(_near_bar())


def _near_bar() -> np.ndarray:
    """Which dots of the 4-pixel grid lie within reach of the bar (kept as its diacritics)."""
    reach = max(3, round(mrc.DIACRITIC_REACH_MM / 25.4 * 300) * 2 + 1) // 2
    rows = np.arange(0, 1200, 4)[:, None]
    cols = np.arange(0, 1200, 4)[None, :]
    inside = (rows >= 600) & (rows < 640) & (cols >= 100) & (cols < 1100)
    near = (
        (rows >= 600 - reach) & (rows < 640 + reach) & (cols >= 100 - reach) & (cols < 1100 + reach)
    )
    return near & ~inside


def test_specks_go_and_text_stays_with_16_bit_labels():
    mask = np.zeros((400, 400), bool)
    mask[50, 50] = mask[300, 20] = True  # two lone specks
    mask[200:230, 100:300] = True
    _, labels, _ = mrc.label_components(mask.view(np.uint8))
    assert labels.dtype == np.uint16
    cleaned = mrc._despeckle(mask, 300, mrc.SPECK_AREA_300DPI)
    assert not cleaned[50, 50] and not cleaned[300, 20] and cleaned[200:230, 100:300].all()
