"""The MRC split's cheaper steps compute what the plain ones did, pixel for pixel.

Why: the text mask is what OCR reads in the archived copy, and the layers' bytes are
archived; the split was made cheaper (``bench/mrc_speed.py``) on the promise that it
produces the same layers. Each cheaper step is checked against the plain numpy it
replaced here; the whole split against the module as it was by ``bench/mrc_speed.py``
(byte-identical layers on the corpus, read from git), and its two ways in against each other.
"""

from __future__ import annotations

from dataclasses import fields

import cv2
import numpy as np
import pytest

from pdf import mrc

OPTIONS = {
    "background_dpi": 100,
    "background_quality": 50,
    "ink_colour_dpi": 75,
    "max_ink_share": 0.3,
}


def _scan(height: int = 900, width: int = 700, seed: int = 1) -> np.ndarray:
    """A small BGR 'scan': shaded paper, text bars, specks (some near the bars), a red ring,
    and a black band at the top (paper level 0 in its middle)."""
    rng = np.random.default_rng(seed)
    shade = np.linspace(235, 200, width)[None, :, None] + rng.normal(0, 3, (height, width, 1))
    page = np.clip(np.repeat(shade, 3, axis=2), 0, 255).astype(np.uint8)
    for row in range(12):
        y = 120 + row * 60
        for col in range(5):
            x = 40 + col * 125
            cv2.rectangle(page, (x, y), (x + 90 - (row * col) % 40, y + 12), (30, 28, 25), -1)
    for x, y in rng.integers(5, min(height, width) - 5, size=(300, 2)):
        page[y, x] = (40, 40, 40)
    cv2.circle(page, (480, 600), 110, (45, 35, 200), 8)  # BGR red
    page[:160] = 0
    return page


def _same_layers(a: mrc.MrcLayers | None, b) -> bool:
    if a is None or b is None:
        return a is b
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(mrc.MrcLayers))


@pytest.mark.parametrize("dpi", [300, 200])
@pytest.mark.parametrize("grey", [False, True])
def test_the_page_tasks_bgr_pixels_and_a_pillow_image_give_the_same_layers(dpi, grey):
    """Byte for byte: OpenCV's BGR page (as the page task has it, channels turned only on
    the small images) and the same page as a Pillow image (RGB)."""
    from PIL import Image

    bgr = _scan()
    pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if grey else bgr
    from_bgr = mrc._split(pixels, dpi, bgr=not grey, **OPTIONS)
    assert from_bgr is not None and (from_bgr.colour_mask is None) == grey
    as_read = pixels if grey else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    assert _same_layers(from_bgr, mrc._split(Image.fromarray(as_read), dpi, **OPTIONS))


@pytest.mark.parametrize("grey", [False, True])
def test_the_split_leaves_the_page_pixels_as_they_were(grey):
    """The page task hands the pixels OCR read to the split: it works on its own copies."""
    pixels = _scan()
    if grey:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    before = pixels.copy()
    assert mrc._split(pixels, 300, bgr=not grey, **OPTIONS) is not None
    assert np.array_equal(pixels, before)


def test_extreme_channels_are_the_channel_maximum_and_minimum():
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (mrc.BAND_ROWS * 2 + 37, 61, 3), dtype=np.uint8)
    brightest, darkest = mrc._extreme_channels(pixels)
    assert np.array_equal(brightest, pixels.max(axis=2))
    assert np.array_equal(darkest, pixels.min(axis=2))


def _noise_channel() -> np.ndarray:
    """Every level in every neighbourhood: many pixels right at Otsu's threshold."""
    return np.random.default_rng(4).integers(0, 256, (600, 500), dtype=np.uint8)


@pytest.mark.parametrize(
    "channel",
    [lambda: cv2.cvtColor(_scan(), cv2.COLOR_BGR2GRAY), _noise_channel],
    ids=["scan with a black band", "noise"],
)
def test_ink_is_the_ratio_below_the_bounded_otsu_threshold(channel):
    """As plain numpy computes it, also where the paper level is 0 (the black band)."""
    channel = channel()
    paper = mrc._paper_level(channel, 300)
    assert paper.min() >= 1
    ratio = cv2.divide(channel, paper, scale=255)
    otsu, _ = cv2.threshold(ratio, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    low, high = (255 * v for v in mrc.THRESHOLD_RANGE)
    assert np.array_equal(mrc._ink(channel, 300), ratio < min(max(otsu, low), high))


def _despeckled_by_lookup(mask: np.ndarray, dpi: float, min_area: float) -> np.ndarray:
    """The plain way: every pixel's label looked up, specks near larger ink kept."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    small = stats[:, cv2.CC_STAT_AREA] < min_area
    small[0] = False
    speck = small[labels]
    out = mask & ~speck
    reach = max(3, round(mrc.DIACRITIC_REACH_MM / 25.4 * dpi) * 2 + 1)
    near = cv2.dilate(out.view(np.uint8), np.ones((reach, reach), np.uint8)).view(bool)
    kept = np.zeros_like(small)
    kept[labels[speck & near]] = True
    return out | (speck & kept[labels])


@pytest.mark.parametrize("dpi", [300, 600])
def test_specks_found_from_their_boxes_are_those_a_lookup_finds(dpi):
    """Dots, short strokes and 5-pixel diagonals (the widest window), near text and far."""
    rng = np.random.default_rng(7)
    mask = np.zeros((1300, 1100), bool)
    mask[300:330, 100:900] = True  # text
    mask[700:760, 200:260] = True
    for y, x in rng.integers(10, 1080, size=(4000, 2)):
        mask[y, x] = True
    for y, x in rng.integers(10, 1080, size=(300, 2)):
        mask[y, x : x + 3] = True
    for y, x in rng.integers(10, 1080, size=(100, 2)):
        mask[np.arange(y, y + 5), np.arange(x, x + 5)] = True
    min_area = mrc.SPECK_AREA_300DPI * (dpi / 300) ** 2
    expected = _despeckled_by_lookup(mask, dpi, min_area)
    assert np.array_equal(mrc._despeckle(mask.copy(), dpi, min_area), expected)


def test_specks_are_gathered_a_bounded_number_at_a_time():
    """Over a million window cells: several chunks, still every speck's pixels."""
    mask = np.zeros((1400, 1400), bool)
    mask[::6, ::6] = True  # 54,289 one-pixel specks
    mask[np.arange(701, 706), np.arange(701, 706)] = True  # a 5x5 window for every speck
    _, labels, stats = mrc.label_components(mask.view(np.uint8))
    ids = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < 6) + 1
    assert len(ids) * 25 > 2**20
    rows, cols, owner = mrc._component_pixels(labels, stats, ids)
    found = np.zeros_like(mask)
    found[rows, cols] = True
    assert np.array_equal(found, np.isin(labels, ids))
    assert np.array_equal(labels[rows, cols], ids[owner])


def _filled_plainly(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Push-pull as it was written with numpy's ``where`` and broadcasting."""
    weight = known[..., None] if values.ndim == 3 else known
    levels = [(values * weight, known)]
    while not (levels[-1][1] > 0).all() and min(levels[-1][1].shape[:2]) > 1:
        total, share = levels[-1]
        size = (max(1, share.shape[1] // 2), max(1, share.shape[0] // 2))
        levels.append(
            (
                cv2.resize(total, size, interpolation=cv2.INTER_AREA),
                cv2.resize(share, size, interpolation=cv2.INTER_AREA),
            )
        )
    filled = None
    for depth in range(len(levels) - 1, -1, -1):
        total, share = levels[depth]
        have = share > 0
        have = have[..., None] if total.ndim == 3 else have
        weight = share[..., None] if total.ndim == 3 else share
        if filled is None:
            filled = np.where(have, total / np.maximum(weight, 1e-6), 255)
            continue
        up = cv2.resize(filled, share.shape[::-1], interpolation=cv2.INTER_LINEAR)
        if depth == 0:
            np.copyto(up, values, where=have)
            return up
        filled = np.where(have, total / np.maximum(weight, 1e-6), up)
    return filled


@pytest.mark.parametrize(
    ("shape", "holes"),
    [
        ((233, 177, 3), 0.05),
        ((233, 177, 3), 0.6),
        ((233, 177), 0.1),
        ((40, 30, 3), 0.0),
        ((1, 50, 3), 0.2),
    ],
)
def test_holes_are_filled_as_the_plain_push_pull_fills_them(shape, holes):
    rng = np.random.default_rng(11)
    values = rng.uniform(0, 255, shape).astype(np.float32)
    known = (rng.random(shape[:2]) >= holes).astype(np.float32)
    expected = _filled_plainly(values.copy(), known.copy())
    assert np.array_equal(mrc._fill(values.copy(), known.copy()), expected)


@pytest.mark.parametrize(
    ("shape", "size"),
    [((700, 530, 3), (177, 233)), ((700, 530), (265, 350)), ((700, 530, 3), (400, 600))],
)
def test_shrinking_kept_pixels_by_bands_is_shrinking_a_masked_copy(shape, size):
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    keep = np.where(rng.random(shape[:2]) < 0.8, 255, 0).astype(np.uint8)
    expected = mrc._shrink(cv2.copyTo(image, keep), size)
    assert np.array_equal(mrc._shrink_kept(image, keep, size), expected)


def test_a_bgr_image_is_encoded_as_its_rgb_copy():
    rng = np.random.default_rng(9)
    bgr = cv2.GaussianBlur(rng.integers(0, 256, (90, 120, 3), dtype=np.uint8), (0, 0), 2)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    assert mrc._jpeg(bgr, 50, bgr=True) == mrc._jpeg(rgb, 50)
