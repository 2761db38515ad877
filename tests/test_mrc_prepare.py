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
