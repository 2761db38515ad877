"""A small real archive, made once per session, for the fixity and rebuild tests.

Three records from two batches, produced by the real ``digitise_batch`` flow (real
OCR, real signatures, the local object store): a receipt with a mã hồ sơ, and a
batch split at a separator sheet into two records without one (so ``needs_review``).
One record then gets a clerk's correction and another is accepted, so manifests
and catalog carry review history. Tests copy the data directory before changing it.

Import into a test module with ``from archive_fixture import small_archive  # noqa: F401``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import copy_data_dir

from schemas.settings import Settings

DPI = 200
RECEIPT = [
    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Họ và tên người nộp: Nguyễn Thị Hồng Đào",
    "Nội dung yêu cầu: Đăng ký khai sinh",
    "Mã hồ sơ: 000.00.06.H56-231027-0361",
]
REQUEST = ["ĐƠN ĐỀ NGHỊ", "Kính gửi: Ủy ban nhân dân xã Gio Linh", "Nội dung: cấp bản sao"]
FORM = ["TỜ KHAI", "Quê quán: Quảng Trị", "Địa chỉ: số 12 đường Lê Lợi"]


@dataclass(frozen=True)
class Archive:
    """A finished data directory (do not modify: copy it with :meth:`copy`)."""

    data_dir: Path
    record_ids: tuple[str, ...]
    corrected: str
    """The record that carries a correction (``applicant_name``)."""
    accepted: str
    """The record a clerk accepted as reviewed."""

    def copy(self, dest: Path) -> Settings:
        """A writable copy of the whole data directory, and settings pointing at it."""
        copy_data_dir(self.data_dir, dest)
        return Settings(data_dir=dest)


def make_scans(folder: Path) -> tuple[Path, Path]:
    """A one-page receipt (PNG) and a request, separator sheet and form (one PDF)."""
    from samples import docgen
    from samples.synth import render_page, write_pdf, write_png

    folder.mkdir(parents=True, exist_ok=True)
    receipt = folder / "bien-nhan.png"
    write_png(receipt, render_page(RECEIPT, dpi=DPI, paper="A5", font_size_pt=12), dpi=DPI)
    stack = folder / "chong.pdf"
    pages = [
        render_page(REQUEST, dpi=DPI, paper="A5", font_size_pt=12, seed=1),
        docgen.make_separator(dpi=DPI).image,
        render_page(FORM, dpi=DPI, paper="A5", font_size_pt=12, seed=2),
    ]
    write_pdf(stack, pages, dpi=DPI)
    return receipt, stack


@pytest.fixture(scope="session")
def small_archive(tmp_path_factory, prefect_api_url) -> Archive:
    from flows.digitise import run_digitise
    from services import review as review_service

    root = tmp_path_factory.mktemp("small-archive")
    settings = Settings(data_dir=root / "data")
    receipt, stack = make_scans(root / "scans")
    first = run_digitise([str(receipt)], settings=settings, unit="H56.01")
    split = run_digitise([str(stack)], settings=settings, unit="H56.01", kind="ket-qua")
    assert len(first) == 1 and len(split) == 2, [m.record_id for m in first + split]
    corrected, accepted = split[0].record_id, split[1].record_id
    review_service.review_set(
        settings, corrected, "applicant_name", "Trần Văn Dũng", by="tester", reason="ghi rõ"
    )
    review_service.review_accept(settings, accepted, by="tester", reason="đủ", force=True)
    ids = tuple(m.record_id for m in first + split)
    return Archive(settings.data_dir, ids, corrected, accepted)
