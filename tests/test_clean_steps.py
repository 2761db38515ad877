"""Each cleaning step of ocr.clean on generated Vietnamese pages, with real Tesseract
where accuracy is claimed. Degradations are built here with numpy/OpenCV."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image
from test_reread import OFFICE_LINES

from ocr.clean import clean_for_ocr, despeckle, is_blank, suppress_colour
from ocr.orient import turn_matrix
from samples import synth
from schemas.settings import OcrSettings

ALL_OFF = OcrSettings(
    orient=False,
    deskew=False,
    denoise=False,
    remove_borders=False,
    normalise_illumination=False,
    suppress_colour=False,
    binarise=False,
    detect_blank=False,
    estimate_resolution=False,
    flatten_photos=False,
    max_ocr_dpi=None,
)


def _bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


def _pil(bgr: np.ndarray) -> Image.Image:
    return Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _page(seed: int, sentences: int = 12, dpi: int = 300) -> tuple[Image.Image, str]:
    return synth.render_page_with_truth(synth.sample_lines(seed, sentences), dpi=dpi, seed=seed)


def _uneven_light(bgr: np.ndarray) -> np.ndarray:
    """Brightness falling from 255 to 110 across the page, times a soft shadow band (-45 %)."""
    h, w = bgr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gain = 1.0 - (0.7 * xx / w + 0.3 * yy / h) * (1 - 110 / 255)
    gain *= 1 - 0.45 * np.exp(-(((xx - 0.62 * w) / (0.05 * w)) ** 2))
    return np.clip(bgr * gain[..., None], 0, 255).astype(np.uint8)


def _borders_and_holes(bgr: np.ndarray, dpi: int = 300, border: int = 40) -> np.ndarray:
    """Black 40-px borders on all sides and three 6-mm black punch holes 12 mm from the left."""
    out = bgr.copy()
    h = out.shape[0]
    level = (25, 25, 25)
    out[:border], out[-border:], out[:, :border], out[:, -border:] = level, level, level, level
    radius, x = round(3 / 25.4 * dpi), round(12 / 25.4 * dpi)
    for k in (1, 2, 3):
        cv2.circle(out, (x, h * k // 4), radius, level, -1, lineType=cv2.LINE_AA)
    return out


def _seals_over_text(page: Image.Image, dpi: int = 300) -> Image.Image:
    """Two red seals stamped right over text lines."""
    for i, (fx, fy) in enumerate([(0.3, 0.16), (0.62, 0.3)]):
        centre = (round(page.width * fx), round(page.height * fy))
        page = synth.add_red_seal(page, center=centre, dpi=dpi, seed=i)
    return page


def _ocr_all(images: list[tuple[np.ndarray, float]]) -> list[str]:
    import pytesseract

    def read(job: tuple[np.ndarray, float]) -> str:
        image, dpi = job
        return pytesseract.image_to_string(image, lang="vie", config=f"--psm 3 --dpi {dpi:.0f}")

    os.environ["OMP_THREAD_LIMIT"] = "1"
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(read, images))


# --- orientation --------------------------------------------------------------------


ORIENT_PAGES = [
    # (seed, sentences, dpi, degradation)
    (21, 14, 300, {"skew_deg": 1.5}),
    (22, 3, 300, {"noise": 0.25, "jpeg_quality": 50, "skew_deg": -2.0}),
    (23, 20, 200, {"noise": 0.15, "jpeg_quality": 60, "skew_deg": 3.0}),
    (24, 8, 200, {"noise": 0.3, "border_px": 30, "skew_deg": -4.0}),
]


@pytest.fixture(scope="module")
def orient_scans() -> list[tuple[np.ndarray, int]]:
    scans = []
    for seed, sentences, dpi, damage in ORIENT_PAGES:
        page, _ = _page(seed, sentences, dpi)
        scans.append((_bgr(synth.degrade(page, seed=seed, **damage)), dpi))
    return scans


@pytest.mark.parametrize("quarter_turns_ccw", [0, 1, 2, 3])
def test_orientation_is_detected(orient_scans, quarter_turns_ccw: int) -> None:
    """A page turned counter-clockwise by k quarter turns must turn 90k° clockwise to read."""
    for scan, dpi in orient_scans:
        turned = np.ascontiguousarray(np.rot90(scan, quarter_turns_ccw))
        result = clean_for_ocr(turned, dpi=dpi, opts=OcrSettings())
        assert result.rotation == 90 * quarter_turns_ccw, (dpi, result.steps)
        assert (f"orient:{result.rotation}" in result.steps) == bool(quarter_turns_ccw)


def test_sparse_upright_pages_are_not_turned() -> None:
    pages = [
        synth.render_page(["QUYẾT ĐỊNH"], font_size_pt=14),
        synth.render_page(["Số: 45/2020/NĐ-CP", "Hà Nội, ngày 08 tháng 4 năm 2020"], dpi=200),
        synth.render_page(["1. Tờ khai", "2. Giấy chứng sinh", "3. CCCD"], seed=3),
    ]
    for i, page in enumerate(pages):
        scan = synth.degrade(page, noise=0.1, jpeg_quality=70, skew_deg=1.0, seed=i)
        result = clean_for_ocr(_bgr(scan), dpi=page.width / 210 * 25.4, opts=OcrSettings())
        assert result.rotation == 0, result.steps


@pytest.mark.parametrize("quarter_turns_ccw", [1, 2, 3])
def test_turn_is_exact_and_to_original_maps_pixels_back(quarter_turns_ccw: int) -> None:
    page, _ = _page(31, 10)
    original = np.ascontiguousarray(np.rot90(_bgr(page), quarter_turns_ccw))
    gray = cv2.cvtColor(original, cv2.COLOR_BGR2GRAY)
    result = clean_for_ocr(original, dpi=300, opts=OcrSettings(deskew=False, max_ocr_dpi=None))
    rotation = 90 * quarter_turns_ccw
    assert result.rotation == rotation and result.steps == (f"orient:{rotation}",)
    # Turning the original clockwise by `rotation` gives the cleaned page, pixel for pixel.
    assert np.array_equal(result.image, np.rot90(gray, -quarter_turns_ccw))
    rng = np.random.default_rng(0)
    h, w = result.image.shape
    pts = np.column_stack([rng.integers(0, w, 200), rng.integers(0, h, 200)])
    back = np.rint(result.map_points(pts)).astype(int)
    assert np.array_equal(gray[back[:, 1], back[:, 0]], result.image[pts[:, 1], pts[:, 0]])
    oh, ow = gray.shape
    forward = turn_matrix(rotation, ow, oh)
    assert np.allclose(np.linalg.inv(forward)[:2], result.to_original)


@pytest.mark.parametrize(
    ("dpi", "max_dpi", "scale"), [(300, 240, 0.8), (260, 240, 1.0), (300, None, 1.0)]
)
def test_a_page_finer_than_max_ocr_dpi_is_read_shrunk(dpi: int, max_dpi, scale: float) -> None:
    """Tesseract gains nothing from 300 dpi over 240 (lines are scaled to its input height)
    and every step before it pays for the pixels; within 10 % nothing is resampled."""
    page, _ = _page(33, 8, dpi)
    original = _bgr(page)
    result = clean_for_ocr(original, dpi=dpi, opts=OcrSettings(max_ocr_dpi=max_dpi, deskew=False))
    assert result.scale == pytest.approx(scale, abs=1e-3)
    assert result.dpi == pytest.approx(dpi * scale, abs=0.5)
    assert result.image.shape == (round(page.height * scale), round(page.width * scale))
    assert any(s.startswith("shrink:") for s in result.steps) == (scale < 1)
    corners = np.array([[0, 0], [result.image.shape[1] - 1, result.image.shape[0] - 1]])
    assert np.allclose(
        result.map_points(corners), [[0, 0], [page.width - 1, page.height - 1]], atol=1
    )


def _marker_centroid(gray: np.ndarray, side: int) -> np.ndarray:
    dark = (gray < 128).astype(np.uint8)
    size = (side * 2 // 3) | 1
    blob = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((size, size), np.uint8))
    count, _, _, centroids = cv2.connectedComponentsWithStats(blob)
    assert count == 2, "expected exactly one marker"
    return centroids[1]


@pytest.mark.parametrize(("quarter_turns_ccw", "dpi"), [(1, 300), (3, 300), (3, 150)])
def test_to_original_maps_a_marker_back_through_turn_and_skew(
    quarter_turns_ccw: int, dpi: int
) -> None:
    page, _ = _page(32, 12, dpi)
    side = dpi // 6
    x0, y0 = dpi * 5, dpi * 7  # well inside the page, away from the text
    page.paste((0, 0, 0), (x0, y0, x0 + side, y0 + side))
    scan = synth.degrade(page, skew_deg=2.0, noise=0.05, seed=4)
    original = np.ascontiguousarray(np.rot90(_bgr(scan), quarter_turns_ccw))
    result = clean_for_ocr(original, dpi=dpi, opts=OcrSettings())
    assert result.rotation == 90 * quarter_turns_ccw
    assert result.skew_deg == pytest.approx(-2.0, abs=0.3)
    in_clean = _marker_centroid(result.image, round(side * result.scale))
    in_original = _marker_centroid(cv2.cvtColor(original, cv2.COLOR_BGR2GRAY), side)
    assert np.allclose(result.map_points(in_clean)[0], in_original, atol=1.5)


# --- borders, lighting, seals: real Tesseract ----------------------------------------------


def test_borders_and_punch_holes_go_without_losing_text() -> None:
    page, truth = _page(41, 14)
    scan = _borders_and_holes(_bgr(synth.degrade(page, skew_deg=1.5, noise=0.05, seed=41)))
    on = clean_for_ocr(scan, dpi=300, opts=OcrSettings())
    off = clean_for_ocr(scan, dpi=300, opts=OcrSettings(remove_borders=False))
    assert "borders" in on.steps and "borders" not in off.steps
    # Borders and holes are paper now (the deskew leaves white corners only).
    h = on.image.shape[0]
    hole = on.image[h // 2 - 40 : h // 2 + 40, 100:180]
    assert np.percentile(hole, 1) > 200 and on.image[60:-60, :25].mean() > 240
    raw = cv2.cvtColor(scan, cv2.COLOR_BGR2GRAY)
    text_on, text_off, text_raw = _ocr_all([(on.image, 300), (off.image, 300), (raw, 300)])
    cer_on = synth.cer(truth, text_on)
    assert cer_on <= synth.cer(truth, text_off), (cer_on, synth.cer(truth, text_off))
    assert cer_on <= synth.cer(truth, text_raw) and cer_on < 0.01
    first_words = {line.split()[0] for line in truth.splitlines() if len(line.split()[0]) > 2}
    found = synth.normalise_text(text_on).split()
    assert first_words <= set(found), first_words - set(found)  # text at the left margin stays


def test_uneven_light_is_flattened() -> None:
    page, truth = _page(42, 14)
    scan = _bgr(
        synth.degrade(_pil(_uneven_light(_bgr(page))), noise=0.05, jpeg_quality=70, seed=42)
    )
    on = clean_for_ocr(scan, dpi=300, opts=OcrSettings())
    off = clean_for_ocr(scan, dpi=300, opts=OcrSettings(normalise_illumination=False))
    assert "illumination" in on.steps and "illumination" not in off.steps
    paper = on.image[on.image > 128]
    assert np.percentile(paper, 5) > 200  # the shadowed paper is paper again
    raw = cv2.cvtColor(scan, cv2.COLOR_BGR2GRAY)
    text_on, text_raw = _ocr_all([(on.image, 300), (raw, 300)])
    cer_on, cer_raw = synth.cer(truth, text_on), synth.cer(truth, text_raw)
    assert cer_on < cer_raw and cer_on < 0.02, (cer_on, cer_raw)


def test_red_seals_over_text_are_suppressed() -> None:
    page, truth = _page(43, 14)
    scan = _bgr(synth.degrade(_seals_over_text(page), jpeg_quality=75, seed=43))
    on = clean_for_ocr(scan, dpi=300, opts=OcrSettings())
    off = clean_for_ocr(scan, dpi=300, opts=OcrSettings(suppress_colour=False))
    assert "colour" in on.steps and "colour" not in off.steps
    text_on, text_off = _ocr_all([(on.image, 300), (off.image, 300)])
    cer_on, cer_off = synth.cer(truth, text_on), synth.cer(truth, text_off)
    assert cer_on < cer_off and cer_on < 0.01, (cer_on, cer_off)


def test_colour_suppression_keeps_black_text_under_the_seal() -> None:
    ink = np.zeros((40, 40, 3), np.uint8)  # black text under red seal ink
    ink[:, :20] = (4, 3, 17)
    ink[:, 20:] = (100, 97, 220)  # the seal alone, on paper
    gray, lift = suppress_colour(ink)
    assert gray[:, :20].max() < 30 and gray[:, 20:].min() > 240 and lift is not None
    assert suppress_colour(np.full((8, 8, 3), 200, np.uint8))[1] is None  # grey: untouched


# --- blank pages ---------------------------------------------------------------------


def _blank(dpi: int) -> Image.Image:
    return Image.new("RGB", (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)), (250, 249, 245))


def _scribble(img: Image.Image, dpi: int, length_mm: float = 30) -> Image.Image:
    """A signature-like blue stroke."""
    arr = _bgr(img)
    t = np.linspace(0, 1, 60)
    length = length_mm / 25.4 * dpi
    xs = arr.shape[1] * 0.6 + t * length + np.sin(t * 18) * length * 0.08
    ys = arr.shape[0] * 0.75 + np.sin(t * 11) * length * 0.12
    pts = np.column_stack([xs, ys]).round().astype(np.int32)
    cv2.polylines(arr, [pts], False, (120, 40, 20), max(2, dpi // 150), lineType=cv2.LINE_AA)
    return _pil(arr)


@pytest.mark.parametrize("dpi", [300, 200])
def test_blank_pages_are_recognised(dpi: int) -> None:
    paper = _blank(dpi)
    blanks = [
        paper,
        synth.degrade(paper, noise=0.3, jpeg_quality=40, seed=1),
        synth.degrade(paper, noise=0.1, border_px=30, seed=2),
        _pil(_borders_and_holes(_bgr(synth.degrade(paper, noise=0.2, seed=3)), dpi)),
        synth.degrade(_pil(_uneven_light(_bgr(paper))), noise=0.15, jpeg_quality=60, seed=4),
    ]
    for i, page in enumerate(blanks):
        result = clean_for_ocr(_bgr(page), dpi=dpi, opts=OcrSettings())
        assert result.blank and result.steps[-1] == "blank", (i, result.steps)
        assert result.rotation == 0 and result.skew_deg == 0.0


@pytest.mark.parametrize("dpi", [300, 200])
def test_near_blank_pages_are_not_blank(dpi: int) -> None:
    paper = _blank(dpi)
    pages = [
        synth.degrade(synth.render_page(["Trang 2"], dpi=dpi), noise=0.2, jpeg_quality=60),
        synth.degrade(synth.render_page(["- 3 -"], dpi=dpi, font_size_pt=10), noise=0.1),
        synth.degrade(synth.render_page(["Ghi chú:"], dpi=dpi), border_px=30, noise=0.1),
        synth.degrade(_scribble(paper, dpi), noise=0.15, jpeg_quality=60),
        synth.degrade(_scribble(paper, dpi, length_mm=15), noise=0.1),
    ]
    for i, page in enumerate(pages):
        result = clean_for_ocr(_bgr(page), dpi=dpi, opts=OcrSettings())
        assert not result.blank and "blank" not in result.steps, (i, result.steps)
    assert not is_blank(cv2.cvtColor(_bgr(pages[0]), cv2.COLOR_BGR2GRAY), dpi)
    assert is_blank(cv2.cvtColor(_bgr(paper), cv2.COLOR_BGR2GRAY), dpi)


# --- flags ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def damaged_scan() -> np.ndarray:
    """Seal, uneven light, borders, punch holes, noise, skew, and turned 90°."""
    page, _ = _page(51, 12, 200)
    lit = _pil(_uneven_light(_bgr(_seals_over_text(page, 200))))
    scan = synth.degrade(lit, skew_deg=2.5, noise=0.2, jpeg_quality=60, seed=51)
    return np.ascontiguousarray(np.rot90(_borders_and_holes(_bgr(scan), 200, border=27), 1))


STEP_OF_FLAG = {
    "suppress_colour": "colour",
    "remove_borders": "borders",
    "normalise_illumination": "illumination",
    "denoise": "denoise",
    "orient": "orient:",
    "deskew": "deskew:",
}


def test_every_step_runs_on_a_damaged_page(damaged_scan: np.ndarray) -> None:
    result = clean_for_ocr(damaged_scan, dpi=200, opts=OcrSettings(min_ocr_dpi=300))
    names = [step.split(":")[0] for step in result.steps]
    assert names == [
        "colour",
        "borders",
        "illumination",
        "denoise",
        "upscale",
        "orient",
        "deskew",
    ], result.steps
    assert result.rotation == 90 and "orient:90" in result.steps
    assert result.scale == pytest.approx(1.5) and "upscale:1.5" in result.steps
    assert not result.blank


@pytest.mark.parametrize("flag", sorted(STEP_OF_FLAG))
def test_a_flag_off_turns_its_step_off(damaged_scan: np.ndarray, flag: str) -> None:
    result = clean_for_ocr(damaged_scan, dpi=200, opts=OcrSettings(**{flag: False}))
    step = STEP_OF_FLAG[flag]
    assert not any(s == step or (step.endswith(":") and s.startswith(step)) for s in result.steps)
    if flag == "orient":
        assert result.rotation == 0
    if flag == "deskew":
        assert result.skew_deg == 0.0


def test_all_flags_off_leave_the_grey_page_alone(damaged_scan: np.ndarray) -> None:
    result = clean_for_ocr(damaged_scan, dpi=300, opts=ALL_OFF)
    assert result.steps == () and result.rotation == 0 and not result.blank
    assert np.array_equal(result.image, cv2.cvtColor(damaged_scan, cv2.COLOR_BGR2GRAY))
    assert np.allclose(result.to_original, [[1, 0, 0], [0, 1, 0]])


def test_binarise_and_blank_flags() -> None:
    page, _ = _page(52, 6)
    scan = _bgr(synth.degrade(page, skew_deg=1.0, seed=52))
    binary = clean_for_ocr(scan, dpi=300, opts=OcrSettings(binarise=True))
    assert binary.steps[-1] == "binarise" and set(np.unique(binary.image)) <= {0, 255}
    assert "binarise" not in clean_for_ocr(scan, dpi=300, opts=OcrSettings()).steps
    empty = _bgr(_blank(300))
    assert clean_for_ocr(empty, dpi=300, opts=OcrSettings()).blank
    kept = clean_for_ocr(empty, dpi=300, opts=OcrSettings(detect_blank=False))
    assert not kept.blank and "blank" not in kept.steps


# --- black-and-white scans ----------------------------------------------------------


def test_despeckle_removes_lone_pixels_and_keeps_one_pixel_strokes() -> None:
    """On a 1-bit page only the specks change; a median would eat a one-pixel hook."""
    page = np.full((60, 60), 255, np.uint8)
    page[10:50, 20] = 0  # a one-pixel stroke
    page[5, 5] = page[30, 45] = 0  # black specks
    page[40, 8] = 255  # (already white: no change)
    cleaned = despeckle(page)
    assert cleaned[10:50, 20].max() == 0  # the stroke is whole
    assert cleaned[5, 5] == 255 and cleaned[30, 45] == 255
    assert np.count_nonzero(cleaned != page) == 2
    assert cv2.medianBlur(page, 3)[10:50, 20].min() == 255  # what a median would have done


def test_a_noisy_bilevel_200_dpi_scan_is_despeckled_not_median_filtered() -> None:
    """A 1-bit scanner page (blur and sensor noise before the threshold) reads at least as
    well as raw Tesseract and as with no noise step, and better than after a median."""
    serif = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
    img, truth = synth.render_page_with_truth(
        OFFICE_LINES, dpi=200, font_size_pt=12, font_path=serif
    )
    grey = synth.degrade(img.convert("L"), blur_sigma=0.8, noise=0.08, seed=11)
    scan = np.where(np.asarray(grey) > 140, 255, 0).astype(np.uint8)
    on = clean_for_ocr(scan, dpi=200, opts=OcrSettings())
    off = clean_for_ocr(scan, dpi=200, opts=OcrSettings(denoise=False))
    assert "despeckle" in on.steps and "denoise" not in on.steps
    jobs = [(on.image, 200), (off.image, 200), (scan, 200), (cv2.medianBlur(off.image, 3), 200)]
    with_step, without, raw, median = (synth.cer(truth, t) for t in _ocr_all(jobs))
    assert with_step <= min(without, raw) and with_step < median, (with_step, without, raw, median)
