"""The page limit refuses a batch before any page is decoded or rasterised (issue 19.5).

A 583 KB PDF of 2,500 blank pages was rasterised page by page (1,255 pages in 90 s)
before "too large (> 2000 pages)": the page count is in the file's structure."""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from flows.batch import extract_pages
from schemas.settings import Settings
from sohoa.errors import BadInputError, ExitCode
from storage import inbox


def _blank_pdf(path: Path, pages: int) -> Path:
    """``pages`` empty A4 pages (nothing to extract: each would be rasterised)."""
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(595, 842))
    pdf.save(path)
    return path


def _tiff(path: Path, frames: int) -> Path:
    first, *rest = [Image.new("L", (200, 280), 255) for _ in range(frames)]
    first.save(path, save_all=True, append_images=rest, dpi=(200, 200))
    return path


@pytest.fixture
def no_page_read(monkeypatch):
    """Any page decoded or rasterised fails the test."""
    import ocr.pages

    def read(*_args, **_kwargs):
        raise AssertionError("a page was read before the page limit was checked")

    for name in ("_try_extract", "_rasterise", "_save_frame"):
        monkeypatch.setattr(ocr.pages, name, read)


def test_a_pdf_of_2500_blank_pages_is_refused_before_any_page_is_rasterised(tmp_path, no_page_read):
    settings = Settings(data_dir=tmp_path / "data")
    scan = _blank_pdf(tmp_path / "blank.pdf", 2500)
    batch = inbox.receive([scan], settings, kind="thanh-phan", unit="H56", dossier_code=None)
    with pytest.raises(BadInputError) as refused:
        extract_pages(batch, settings)
    assert refused.value.exit_code == ExitCode.INPUT_TOO_LARGE
    assert "> 2000 pages" in refused.value.render("en") and "blank.pdf" in refused.value.render(
        "en"
    )
    assert not (settings.work_dir / batch.batch_id / "pages").exists()


def test_the_limit_counts_tiff_frames_and_every_file_of_the_batch(tmp_path, no_page_read):
    settings = Settings(data_dir=tmp_path / "data", limits={"max_pages": 20})
    files = [_blank_pdf(tmp_path / "a.pdf", 12), _tiff(tmp_path / "b.tif", 9)]
    batch = inbox.receive(files, settings, kind="thanh-phan", unit="H56", dossier_code=None)
    with pytest.raises(BadInputError) as refused:
        extract_pages(batch, settings)
    assert "b.tif" in refused.value.render("en")  # the file that goes past the limit


def test_a_batch_at_the_limit_is_read(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", limits={"max_pages": 5})
    files = [_blank_pdf(tmp_path / "a.pdf", 2), _tiff(tmp_path / "b.tif", 3)]
    batch = inbox.receive(files, settings, kind="thanh-phan", unit="H56", dossier_code=None)
    assert len(extract_pages(batch, settings)) == 5
