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
from conftest import RESIDENCE_LETTER

from ocr import noise
from ocr.engine import ocr_page
from ocr.noise import NOISE_BELOW, SHAPE_BELOW, is_noise
from samples.synth import cer, render_page_with_truth
from schemas.models import PageImage
from schemas.settings import OcrSettings

LOW = NOISE_BELOW - 20


@pytest.mark.parametrize("text", ["X⁄Ẳ++⁄", "@®", "¬Yy", "Cftuayert", "tuuu", "(b/©);"])
def test_doubtful_words_that_cannot_be_print_are_noise(text: str) -> None:
    assert is_noise(text, LOW)
    assert not is_noise(text, SHAPE_BELOW)  # Tesseract sure of it: kept whatever it is


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
    lines = RESIDENCE_LETTER
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
    (truth: the print only): dropping noise words and margin notes never costs CER, and
    some are dropped."""
    from bench.realworld_corpus import make_page
    from ocr.pages import iter_pages
    from schemas.models import SourceFile
    from schemas.settings import LimitSettings

    page = make_page("yellowed + notes", index, 7100 + index, tmp_path, tmp_path / "keys")
    size = page.path.stat().st_size
    source = SourceFile(name=page.path.name, sha256="0" * 64, size=size, format="pdf")
    (image,) = iter_pages(source, page.path, tmp_path / "p", start_index=0, limits=LimitSettings())
    kept = ocr_page(image, OcrSettings())
    every = ocr_page(image, OcrSettings(drop_noise=False, drop_margin_notes=False))
    assert cer(page.truth, kept.text) <= cer(page.truth, every.text)
    assert len(kept.words) < len(every.words)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("67.5", 2.4),  # a signature's loop, twice as tall as the print, read as a number
        ("Tàn", 2.6),
        ("R", 0.1),  # a pen dot read as a letter
        ("<", 1.0),  # bare symbols that are no dash or dot
        ("£", 0.3),
        ("+", 1.0),
    ],
)
def test_doubtful_words_off_the_print_size_or_bare_symbols_are_noise(text, size) -> None:
    assert is_noise(text, LOW, size)
    assert not is_noise(text, SHAPE_BELOW, size)  # Tesseract sure of it: kept


@pytest.mark.parametrize(
    ("text", "size"),
    [("-", 0.15), ("...", 0.2), ("Nguyễn", 1.0), ("QUYẾT", 1.3), ("18", 0.8), ("VT,", 0.76)],
)
def test_doubtful_print_of_the_print_size_and_list_dashes_are_kept(text, size) -> None:
    assert not is_noise(text, LOW, size)


def test_words_are_judged_against_the_page_print_size() -> None:
    """The body height is the median of the confident words' heights, in any unit."""
    print_words = [("Ủy", 95.0, 40.0), ("ban", 96.0, 38.0), ("nhân", 94.0, 41.0)]
    print_words += [("dân", 97.0, 40.0), ("tỉnh", 93.0, 42.0), ("Hà", 91.0, 40.0)]
    tall = ("67.5", 15.0, 95.0)
    sure_title = ("QUYẾT", 92.0, 55.0)
    assert noise.kept([*print_words, tall, sure_title]) == [True] * 6 + [False, True]
    assert noise.kept([tall]) == [True]  # too few words to know the print size: size unknown
