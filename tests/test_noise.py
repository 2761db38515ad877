"""Ink noise (seals, signatures, handwriting) is not kept as words; doubtful print is.

The rule is :func:`ocr.noise.is_noise`: only words Tesseract doubts, and only those that
cannot be print. With real Tesseract: a signature-like scribble under printed lines
leaves the print whole, and the real-world corpus's yellowed pages with handwritten
notes, signatures and seals (``bench/realworld_corpus.py``) lose words and no CER.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.engine import ocr_page
from ocr.noise import NOISE_BELOW, is_noise
from samples.synth import cer, render_page_with_truth
from schemas.models import PageImage
from schemas.settings import OcrSettings

LOW = NOISE_BELOW - 20


@pytest.mark.parametrize("text", ["X⁄Ẳ++⁄", "@®", "¬Yy", "Cftuayert", "tuuu", "(b/©);"])
def test_doubtful_words_that_cannot_be_print_are_noise(text: str) -> None:
    assert is_noise(text, LOW)
    assert not is_noise(text, NOISE_BELOW)  # Tesseract sure of it: kept whatever it is


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn",
        "TỈNH",
        "hô",
        "2320/TB-BQLDA",
        "Số:",
        "H56",
        "gmail.com",
        "0912",
        "(bà)",
        "VT.",
        "UBND",
    ],
)
def test_doubtful_words_that_are_print_are_kept(text: str) -> None:
    assert not is_noise(text, LOW)


def test_a_scribbled_signature_leaves_the_print_whole(tmp_path) -> None:
    lines = [
        "ỦY BAN NHÂN DÂN XÃ CẨM BÌNH",
        "Xác nhận ông Trần Đức Phát cư trú tại thôn Đông Thịnh, xã Cẩm Bình,",
        "huyện Cẩm Xuyên, tỉnh Hà Tĩnh, từ ngày 18 tháng 3 năm 2024 đến nay.",
        "Giấy xác nhận này có giá trị trong thời hạn sáu tháng kể từ ngày ký.",
        "Hồ sơ đã được số hóa theo Nghị định số 45/2020/NĐ-CP của Chính phủ.",
        "Người ký: Hoàng Thị Mỹ Lệ",
    ]
    img, truth = render_page_with_truth(lines, dpi=300, font_size_pt=13)
    page = np.asarray(img.convert("L")).copy()
    rng = np.random.default_rng(3)
    for stroke in range(4):  # a loopy signature in the space under the text
        xs = np.linspace(900, 1700, 40)
        ys = 900 + 60 * stroke + 70 * np.sin(xs / 23 + stroke) + rng.normal(0, 8, xs.size)
        points = np.stack([xs, ys], axis=1).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(page, [points], False, 40, thickness=5)
    path = tmp_path / "signed.png"
    cv2.imwrite(str(path), page)
    record = PageImage(
        index=0,
        path=str(path),
        source="signed.png",
        source_page=0,
        width=page.shape[1],
        height=page.shape[0],
        dpi=300.0,
        mode="L",
        encoding="png",
    )
    kept = ocr_page(record, OcrSettings())
    every = ocr_page(record, OcrSettings(drop_noise=False))
    assert cer(truth, kept.text) <= cer(truth, every.text)
    assert not [w.text for w in kept.words if is_noise(w.text, w.conf)]
    for line in lines:
        assert line in kept.text


@pytest.mark.parametrize("index", [0, 1])
def test_yellowed_pages_with_notes_read_no_worse_without_the_noise(tmp_path, index) -> None:
    """The real-world corpus's yellowed pages with handwritten notes, signatures and seals
    (truth: the print only): dropping noise words never costs CER, and some are dropped."""
    from bench.realworld_corpus import make_page
    from ocr.pages import iter_pages
    from schemas.models import SourceFile
    from schemas.settings import LimitSettings

    page = make_page("yellowed + notes", index, 7100 + index, tmp_path, tmp_path / "keys")
    size = page.path.stat().st_size
    source = SourceFile(name=page.path.name, sha256="0" * 64, size=size, format="pdf")
    (image,) = iter_pages(source, page.path, tmp_path / "p", start_index=0, limits=LimitSettings())
    kept = ocr_page(image, OcrSettings())
    every = ocr_page(image, OcrSettings(drop_noise=False))
    assert cer(page.truth, kept.text) <= cer(page.truth, every.text)
    assert len(kept.words) < len(every.words)
