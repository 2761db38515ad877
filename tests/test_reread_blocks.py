"""A block Tesseract merged across a column gap is read again one side at a time.

The footer of an official letter sets the "Nơi nhận" list (small type, close lines) beside
the signature block (larger type); Tesseract's page reading may take both for one block and
mangle the list. With real Tesseract on the real-world corpus's 200-dpi colour scan where
that happened (``bench/realworld_corpus.py``, seed 7100, "colour 200 dpi" page 1).
"""

from __future__ import annotations

import pytest

from ocr.engine import ocr_page
from ocr.reread import better_block
from samples.synth import cer
from schemas.settings import OcrSettings

FOOTER = ["Nơi nhận:", "- Như trên;", "- UBND thành phố Cần Thơ (b/c);", "- Lưu: VT, UBND."]
SIGNER = ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Võ Minh Triết"]


@pytest.fixture(scope="module")
def footer_page(tmp_path_factory):
    from bench.realworld_corpus import KINDS, make_page
    from ocr.pages import iter_pages
    from schemas.models import SourceFile
    from schemas.settings import LimitSettings

    tmp = tmp_path_factory.mktemp("footer")
    kind = "colour 200 dpi"
    page = make_page(kind, 1, 7100 + 100 * KINDS.index(kind) + 1, tmp, tmp / "keys")
    size = page.path.stat().st_size
    source = SourceFile(name=page.path.name, sha256="0" * 64, size=size, format="pdf")
    (image,) = iter_pages(source, page.path, tmp / "p", start_index=0, limits=LimitSettings())
    return image, page.truth


def test_a_merged_footer_reads_block_by_block(footer_page) -> None:
    image, truth = footer_page
    split = ocr_page(image, OcrSettings())
    whole = ocr_page(image, OcrSettings(split_blocks=False))
    lines = split.text.splitlines()
    assert lines[-len(FOOTER) - len(SIGNER) :] == FOOTER + SIGNER
    assert cer(truth, split.text) < cer(truth, whole.text)


def _rows(*words: tuple[str, float]) -> list[dict]:
    return [{"text": text, "conf": conf} for text, conf in words]


def test_a_side_by_side_reading_must_be_more_confident_and_keep_the_sure_text() -> None:
    garbled = _rows(("Nơi", 95), ("nhận:", 97), ("R", 29), ("Xe", 11), ("phố", 96))
    plain = _rows(("Nơi", 96), ("nhận:", 96), ("-", 92), ("Như", 96), ("trên;", 96), ("phố", 96))
    assert better_block(garbled, plain)
    assert not better_block(plain, garbled)
    fewer = _rows(("Nơi", 99), ("nhận:", 99))  # more confident, but the rest is lost
    assert not better_block(plain, fewer)
    assert not better_block(garbled, [])
