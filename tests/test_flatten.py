"""Phone photos of a page: the sheet found, flattened and read; the photo archived as taken.

Each photo is made here from a letter rendered at 300 dpi (text written for
these tests, see :data:`test_resolution.LETTER`): reduced to phone resolution,
warped in perspective onto a darker, grained desk, lit with a fall-off and a
soft shadow, slightly blurred and noisy, saved as JPEG with no resolution.
The warp is known, so where each word lies in the photo is known too.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pytest
from PIL import Image
from test_resolution import LETTER, SERIF, raw_tesseract, read_file

from ocr.clean import clean_for_ocr
from ocr.engine import ocr_page
from ocr.flatten import find_sheet
from ocr.pages import iter_pages
from samples import synth
from samples.synth import cer, render_page_with_truth
from schemas.models import SourceFile
from schemas.settings import LimitSettings, OcrSettings
from sohoa.programs import tesseract

OFF = OcrSettings(flatten_photos=False, estimate_resolution=False)
"""sohoa as it was before photos were handled."""


def _desk(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A brownish desk, BGR float: a slow tone, fine grain and horizontal streaks."""
    slow = cv2.resize(rng.normal(0, 1, (6, 8)).astype(np.float32), (w, h))
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 1.5)
    streak = np.repeat(cv2.GaussianBlur(rng.normal(0, 1, (h, 1)), (0, 0), 2), w, axis=1)
    tone = 1.0 + 0.15 * slow + 0.08 * grain + 0.1 * streak.astype(np.float32)
    return np.array([70, 95, 125], np.float32) * tone[..., None]


def _light(h: int, w: int, shadow: float, rng: np.random.Generator) -> np.ndarray:
    """A 25 % fall-off in a random direction times a soft round shadow ``shadow`` deep."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xs / w) * np.cos(angle) + (ys / h) * np.sin(angle)
    light = 1.0 - 0.25 * (ramp - ramp.min()) / np.ptp(ramp)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.5, 0.9) * h
    d = np.hypot((xs - cx) / w, (ys - cy) / h)
    return light * (1.0 - shadow / (1 + np.exp((d - 0.28) / 0.04)))


def photograph(
    page: np.ndarray,
    *,
    dpi: float,
    canvas: tuple[int, int],
    tilt: float,
    turn_deg: float,
    shadow: float,
    seed: int,
) -> tuple[bytes, np.ndarray, np.ndarray]:
    """Photograph the 300-dpi BGR ``page``; JPEG bytes (quality 75), sheet corners, page->photo matrix.

    The near (bottom) edge is at ``dpi``, the far edge ``tilt`` narrower; the
    sheet is turned ``turn_deg`` and placed near the centre of ``canvas``.
    """
    rng = np.random.default_rng(seed)
    k = dpi / 300 * 1.25  # reduce first (area average), then warp from a little above target
    src = cv2.resize(page, None, fx=k, fy=k, interpolation=cv2.INTER_AREA)
    (hs, ws), (w, h) = src.shape[:2], canvas
    pw, ph = page.shape[1] * dpi / 300, page.shape[0] * dpi / 300
    quad = np.array([[-(1 - tilt), -1], [1 - tilt, -1], [1, 1], [-1, 1]]) * [pw / 2, ph / 2]
    a = np.radians(turn_deg)
    quad = quad @ np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]).T + [w / 2, h / 2]
    frame = np.float32([[0, 0], [ws - 1, 0], [ws - 1, hs - 1], [0, hs - 1]])
    warp = cv2.getPerspectiveTransform(frame, np.float32(quad))
    sheet = cv2.warpPerspective(src.astype(np.float32), warp, (w, h), borderValue=(-1, -1, -1))
    shot = (
        np.where(sheet[..., :1] >= 0, sheet, _desk(h, w, rng))
        * _light(h, w, shadow, rng)[..., None]
    )
    shot = cv2.GaussianBlur(shot, (0, 0), 0.7) + rng.normal(0, 3, shot.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8)[:, :, ::-1]).save(
        buf, "JPEG", quality=75
    )
    reduce = np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5], [0, 0, 1]])
    return buf.getvalue(), quad, warp @ reduce


@pytest.fixture(scope="module")
def letter() -> tuple[np.ndarray, str]:
    page, truth = render_page_with_truth(LETTER, dpi=300, font_path=SERIF, font_size_pt=13)
    return np.asarray(page.convert("RGB"))[:, :, ::-1].copy(), truth


PHOTOS = {
    "70dpi": {"dpi": 70, "canvas": (720, 960), "tilt": 0.06, "turn_deg": 3.0, "shadow": 0.45},
    "deep-shadow": {
        "dpi": 100,
        "canvas": (1000, 1330),
        "tilt": 0.04,
        "turn_deg": -4.0,
        "shadow": 0.6,
    },
}


@pytest.fixture(scope="module")
def photos(letter, tmp_path_factory) -> dict[str, tuple[Path, np.ndarray, np.ndarray]]:
    """Each photo of :data:`PHOTOS` as a file: path, true corners, page->photo matrix."""
    folder = tmp_path_factory.mktemp("photos")
    out = {}
    for seed, (name, how) in enumerate(PHOTOS.items()):
        jpeg, quad, matrix = photograph(letter[0], **how, seed=seed + 1)
        (folder / f"{name}.jpg").write_bytes(jpeg)
        out[name] = (folder / f"{name}.jpg", quad, matrix)
    return out


def _centre(word) -> np.ndarray:
    """Centre of a word's box on the archived page (its baseline turned by ``angle``)."""
    a = np.radians(word.angle)
    along, up = np.array([np.cos(a), -np.sin(a)]), np.array([-np.sin(a), -np.cos(a)])
    return (
        np.array([word.left, word.top + word.height])
        + word.width / 2 * along
        + word.height / 2 * up
    )


def _truth_centres(page: np.ndarray, matrix: np.ndarray, tmp: Path) -> dict[str, np.ndarray]:
    """Where each word that occurs once lies in the photo: read on the clean page, then warped."""
    cv2.imwrite(str(tmp / "clean.png"), page)
    data = tesseract.tsv(tmp / "clean.png", lang="vie", psm=3, dpi=300, timeout=180)
    seen: dict[str, list[np.ndarray]] = {}
    for i, text in enumerate(data["text"]):
        text = str(text).strip()
        if len(text) >= 4 and float(data["conf"][i]) > 80:
            box = [float(data[k][i]) for k in ("left", "top", "width", "height")]
            centre = matrix @ [box[0] + box[2] / 2, box[1] + box[3] / 2, 1.0]
            seen.setdefault(text, []).append(centre[:2] / centre[2])
    return {text: places[0] for text, places in seen.items() if len(places) == 1}


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_the_sheet_is_found_where_it_lies(photos, name: str) -> None:
    path, quad, _ = photos[name]
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    sheet = find_sheet(gray)
    assert sheet is not None
    error = np.linalg.norm(sheet.corners - quad, axis=1).max()
    assert error < 0.015 * np.hypot(*gray.shape), (sheet.corners.round(), quad.round())


def test_a_70dpi_photo_reads_better_than_raw_tesseract_and_its_words_land_on_the_photo(
    letter, photos, tmp_path
) -> None:
    page, truth = letter
    path, quad, matrix = photos["70dpi"]
    reading = read_file(path, tmp_path)
    assert "flatten" in reading.steps and reading.dpi_source == "measured"
    assert 56 <= reading.dpi_estimated <= 84, reading.dpi_estimated
    ours, theirs = cer(truth, reading.text), cer(truth, raw_tesseract(path))
    assert ours <= theirs and ours < 0.04, (ours, theirs)
    before = read_file(path, tmp_path / "before", OFF)
    assert ours < cer(truth, before.text)
    # The text layer lies on the words of the photo as taken (the archived image).
    inside = quad.astype(np.float32).reshape(-1, 1, 2)
    assert all(
        cv2.pointPolygonTest(inside, tuple(map(float, _centre(w))), False) > 0
        for w in reading.words
    )
    expected = _truth_centres(page, matrix, tmp_path)
    pairs = [(w, expected[w.text]) for w in reading.words if w.text in expected]
    assert len(pairs) >= 0.6 * len(expected), (len(pairs), len(expected))
    for word, place in pairs:  # within a third of a line (~5 px here) of where it is printed
        assert np.linalg.norm(_centre(word) - place) < 0.35 * 13 / 72 * 70 * 1.2, word


def test_a_deep_shadow_over_a_corner_still_finds_and_reads_the_sheet(
    letter, photos, tmp_path
) -> None:
    path, _, _ = photos["deep-shadow"]
    reading = read_file(path, tmp_path)
    assert "flatten" in reading.steps and "illumination" in reading.steps
    assert 80 <= reading.dpi_estimated <= 120, reading.dpi_estimated
    ours, theirs = cer(letter[1], reading.text), cer(letter[1], raw_tesseract(path))
    assert ours <= theirs and ours < 0.02, (ours, theirs)


def test_flatbed_scans_are_left_untouched(letter) -> None:
    """A 300-dpi scan, clean or with dark lid borders and a lighting fall-off: nothing changes."""
    page = Image.fromarray(letter[0][:, :, ::-1])
    lit = synth.add_uneven_light(page, strength=0.4, shadow=0.5, seed=3)
    scans = [page, synth.degrade(lit, skew_deg=1.5, border_px=30, noise=0.05, seed=3)]
    for scan in scans:
        bgr = np.asarray(scan)[:, :, ::-1].copy()
        assert find_sheet(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)) is None
        now, before = (clean_for_ocr(bgr, dpi=300, opts=o) for o in (OcrSettings(), OFF))
        assert now.steps == before.steps and now.dpi == before.dpi and now.dpi_source == "stated"
        assert np.array_equal(now.image, before.image)
        assert np.array_equal(now.to_original, before.to_original)


def test_the_archival_pdf_shows_the_sheet_flattened_and_every_reader_reads_it(
    letter, photos, tmp_path
) -> None:
    """The PDF page is the sheet, flattened, at its measured resolution (about A4), and
    every reader gets the OCR's text back from it; the manifest's words stay on the photo.

    Why: the photo's text lines converge, and poppler and pdf.js read converging lines
    out of order; a flattened sheet has straight lines, as a scan does.
    """
    from bench.pdf_readers import READERS
    from pdf.assemble import build_archival_pdf

    path, quad, _ = photos["deep-shadow"]
    source = SourceFile(name=path.name, sha256="0" * 64, size=path.stat().st_size, format="jpeg")
    (page,) = iter_pages(source, path, tmp_path / "pages", start_index=0, limits=LimitSettings())
    reading = ocr_page(page, OcrSettings())
    assert reading.sheet is not None
    assert np.abs(np.array(reading.sheet) - quad).max() < 0.015 * np.hypot(page.width, page.height)
    pdf = build_archival_pdf([page], [reading], tmp_path / "photo.pdf", metadata={})
    with pikepdf.open(pdf) as doc:
        width_in, height_in = (float(v) / 72 for v in doc.pages[0].MediaBox[2:])
    assert width_in == pytest.approx(8.27, rel=0.15) and height_in / width_in == pytest.approx(
        1.414, rel=0.05
    )
    texts = {name: read(pdf, 1) for name, read in READERS.items()}
    errors = {name: cer(reading.text, text) for name, text in texts.items() if name != "pdfminer"}
    assert all(error <= 0.005 for error in errors.values()), sorted(errors.items())
    # pdfminer orders the signature block by its own layout guess (the signer's name
    # before the title above it): every character is there, the order is its own.
    ours, theirs = (" ".join(sorted(t.split())) for t in (reading.text, texts["pdfminer"]))
    assert cer(ours, theirs) <= 0.005
