"""The resolution measured from the letters (ocr/resolution.py) and its use by OCR.

Pages are rendered here at 300 dpi with a Vietnamese letter written for these
tests, then reduced to the resolution under test, so the truth is known.
Tesseract is the real one; raw Tesseract (no ``--dpi``: it estimates the
resolution itself) is the bar a low-resolution page must clear.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ocr.engine import ocr_page
from ocr.pages import iter_pages
from ocr.resolution import measure_dpi, resolve
from samples.synth import cer, render_page_with_truth
from schemas.models import PageOcr, PageSummary, SourceFile
from schemas.settings import LimitSettings, OcrSettings
from sohoa.programs.run import run_program

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LETTER = [
    "SỞ GIÁO DỤC VÀ ĐÀO TẠO TỈNH NINH THUẬN",
    "Kính gửi: Hiệu trưởng các trường trung học phổ thông",
    (
        "Thực hiện kế hoạch năm học, Sở đề nghị các trường rà soát danh sách học sinh "
        "được miễn giảm học phí, hoàn thành trước ngày mười lăm tháng chín."
    ),
    (
        "Hồ sơ gồm đơn của phụ huynh, bản sao sổ hộ khẩu và giấy xác nhận của ủy ban "
        "nhân dân cấp xã nơi học sinh cư trú; bản chụp phải rõ nét, không tẩy xóa."
    ),
    (
        "Trường hợp có khó khăn, vướng mắc, đề nghị phản ánh về phòng Kế hoạch - Tài chính "
        "để được hướng dẫn kịp thời. Sở yêu cầu thủ trưởng các đơn vị triển khai nghiêm túc."
    ),
    "Nơi nhận: như trên; lưu văn thư, phòng Kế hoạch - Tài chính.",
    "KT. GIÁM ĐỐC, PHÓ GIÁM ĐỐC",
    "Trần Quốc Việt",
]


def _render(dpi: int, *, font: str = SERIF, pt: float = 13.0) -> tuple[np.ndarray, str]:
    """The letter printed at 300 dpi and reduced (area average) to ``dpi``: grey page, truth."""
    page, truth = render_page_with_truth(LETTER, dpi=300, font_path=font, font_size_pt=pt)
    gray = np.asarray(page.convert("L"))
    if dpi != 300:
        gray = cv2.resize(gray, None, fx=dpi / 300, fy=dpi / 300, interpolation=cv2.INTER_AREA)
    return gray, truth


def raw_tesseract(path: Path) -> str:
    """``tesseract FILE out -l vie``, as a user would run it: no ``--dpi``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        run_program(
            ["tesseract", path, out, "-l", "vie"],
            timeout=180,
            env={"OMP_THREAD_LIMIT": "1"},
            expect_output=out.with_suffix(".txt"),
        )
        return out.with_suffix(".txt").read_text(encoding="utf-8")


def read_file(path: Path, tmp: Path, opts: OcrSettings | None = None) -> PageOcr:
    """OCR the one page of an uploaded image file, through ``iter_pages`` as the pipeline does."""
    source = SourceFile(name=path.name, sha256="0" * 64, size=path.stat().st_size, format="jpeg")
    (page,) = iter_pages(source, path, tmp / "pages", start_index=0, limits=LimitSettings())
    return ocr_page(page, opts or OcrSettings())


@pytest.mark.parametrize("dpi", [60, 75, 100, 150, 300])
@pytest.mark.parametrize(("font", "pt"), [(SERIF, 13.0), (SANS, 12.0), (SERIF, 11.0)])
def test_measured_resolution_is_within_a_fifth_of_the_truth(dpi: int, font: str, pt: float) -> None:
    gray, _ = _render(dpi, font=font, pt=pt)
    measured = measure_dpi(gray)
    assert measured is not None
    assert 0.8 * dpi <= measured <= 1.2 * dpi, (dpi, measured)


def test_which_resolution_is_used() -> None:
    small, _ = _render(75)
    full, _ = _render(300)
    big_type, _ = render_page_with_truth(LETTER[:4], dpi=300, font_path=SERIF, font_size_pt=24)
    blank = np.full((3508, 2480), 250, np.uint8)
    # No resolution stated: the letters'.
    assert resolve(small, dpi=300, known=False, min_ocr_dpi=200).source == "measured"
    # Stated 300 on a 75-dpi page: contradicted, overruled.
    wrong = resolve(small, dpi=300, known=True, min_ocr_dpi=200)
    assert wrong.source == "measured" and 60 <= wrong.dpi <= 90
    # A phone's 72-dpi tag on a page whose letters say 300: not enlarged 2.8-fold for nothing.
    phone = resolve(full, dpi=72, known=True, min_ocr_dpi=200)
    assert phone.source == "measured" and phone.dpi > 200
    # A true stated resolution stands (the measurement is still recorded).
    kept = resolve(full, dpi=300, known=True, min_ocr_dpi=200)
    assert (kept.dpi, kept.source) == (300, "stated") and kept.measured is not None
    # Large type on a true 300-dpi scan never lowers the scanner's word.
    large = np.asarray(big_type.convert("L"))
    assert resolve(large, dpi=300, known=True, min_ocr_dpi=200).dpi == 300
    # Nothing to measure: the assumed value, said to be assumed.
    assert resolve(blank, dpi=300, known=False, min_ocr_dpi=200).source == "assumed"
    assert measure_dpi(blank) is None


def test_untagged_low_resolution_page_reads_at_least_as_well_as_raw_tesseract(tmp_path) -> None:
    """A 70-dpi JPEG with no resolution (a screenshot, a phone's scan app), as uploaded."""
    gray, truth = _render(70)
    path = tmp_path / "letter.jpg"
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, "JPEG", quality=80)  # no dpi given: none in the file
    path.write_bytes(buf.getvalue())
    with Image.open(path) as probe:
        assert "dpi" not in probe.info
    reading = read_file(path, tmp_path)
    assert reading.dpi_source == "measured"
    assert 56 <= reading.dpi_estimated <= 84
    assert any(s.startswith("upscale:") for s in reading.steps)
    ours, theirs = cer(truth, reading.text), cer(truth, raw_tesseract(path))
    # On a clean, flat page both lose only a few tone marks (huyền/hỏi on 5-pixel letters):
    # a margin of three characters in 650. The photos of test_flatten.py get none.
    assert ours <= theirs + 0.005, (ours, theirs)
    assert ours < 0.02, ours
    # Without the measurement the page is taken for 300 dpi and read worse.
    before = read_file(path, tmp_path / "off", OcrSettings(estimate_resolution=False))
    assert before.dpi_source == "assumed" and before.dpi_estimated is None
    assert ours < cer(truth, before.text)


def test_the_manifest_records_the_measurement_and_old_manifests_still_load() -> None:
    page = PageOcr(
        index=0,
        width=10,
        height=10,
        dpi=300,
        words=(),
        text="",
        mean_confidence=0.0,
        dpi_estimated=71.5,
        dpi_source="measured",
    )
    again = PageOcr.model_validate_json(page.model_dump_json())
    assert (again.dpi_estimated, again.dpi_source) == (71.5, "measured")
    old = {
        "index": 0,
        "source": "a.jpg",
        "source_page": 0,
        "width": 10,
        "height": 10,
        "dpi": 300.0,
        "mean_confidence": 0.0,
        "word_count": 0,
        "skew_deg": 0.0,
        "needs_review": False,
    }
    summary = PageSummary.model_validate(old)
    assert summary.dpi_estimated is None and summary.dpi_source is None
