"""The official-form generator (samples.forms): deterministic, printed truth, valid IDs, real tables."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ocr.pages import detect_format, iter_pages
from ocr.reading import read_page
from ocr.validators import check_id_number, parse_vn_date
from samples.forms import FAMILIES, ROLES, degrade, make_page
from schemas.fields import FIELD_NAMES
from schemas.models import SourceFile
from schemas.settings import LimitSettings, OcrSettings
from storage.objectstore import sha256_file

EXPECTED_TYPES = {
    "tiep-nhan": "receipt",
    "phieu-kiem-soat": "control_sheet",
    "to-khai": "application",
    "quyet-dinh": "decision",
    "trich-luc": "certificate",
    "giay-chung-nhan": "certificate",
}


def test_six_families() -> None:
    assert set(FAMILIES) == set(EXPECTED_TYPES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_same_seed_same_page_other_seed_other_page(family: str) -> None:
    first, again, other = (
        make_page(family, 11, dpi=150),
        make_page(family, 11, dpi=150),
        make_page(family, 12, dpi=150),
    )
    assert np.array_equal(np.asarray(first.image), np.asarray(again.image))
    assert (first.truth, first.people, first.text) == (again.truth, again.people, again.text)
    assert first.truth != other.truth


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_renders_with_truth(family: str) -> None:
    for seed in range(6):
        page = make_page(family, seed, dpi=150)
        assert page.image.size == (round(210 / 25.4 * 150), round(297 / 25.4 * 150))
        assert page.doc_type == EXPECTED_TYPES[family]
        assert page.truth and set(page.truth) <= set(FIELD_NAMES)
        assert {p.role for p in page.people} <= set(ROLES)
        assert {"applicant", "subject"} & {p.role for p in page.people}
        for name in ("received_date", "due_date", "birth_date", "issue_date"):
            if name in page.truth:
                assert parse_vn_date(page.truth[name]).isoformat() == page.truth[name]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_cccd_truths_are_valid(family: str) -> None:
    """Every printed ID number passes the validator with the same person's date of birth."""
    checked = 0
    for seed in range(12):
        page = make_page(family, seed, dpi=72)
        for person in page.people:
            if person.id_number:
                born = parse_vn_date(person.birth_date) if person.birth_date else None
                assert check_id_number(person.id_number, born).ok, (seed, person)
                checked += 1
        if "id_number" in page.truth and "birth_date" in page.truth:
            born = parse_vn_date(page.truth["birth_date"])
            assert check_id_number(page.truth["id_number"], born).ok
    assert checked >= 6  # trích lục prints only the registered person's ID


def _dark_rules(image, axis: int, share: float) -> int:
    """Distinct straight dark lines across at least ``share`` of the page along ``axis``."""
    dark = np.asarray(image.convert("L")) < 100
    hits = dark.sum(axis=axis) > share * dark.shape[axis]
    return int(np.count_nonzero(hits[1:] & ~hits[:-1]) + hits[0])


@pytest.mark.parametrize("family", ["tiep-nhan", "phieu-kiem-soat", "giay-chung-nhan", "to-khai"])
def test_tables_have_ruled_lines(family: str) -> None:
    page = next(p for s in range(30) if (p := make_page(family, s, dpi=150)).ruled_lines)
    rows = _dark_rules(page.image, axis=1, share=0.5)  # horizontal rules across half the width
    columns = _dark_rules(page.image, axis=0, share=0.04)  # vertical rules, cell height and more
    assert rows >= 3 and columns >= 3, (rows, columns)


def test_pages_without_tables_have_no_long_rules() -> None:
    page = make_page("quyet-dinh", 3, dpi=150)
    assert page.ruled_lines == 0
    assert _dark_rules(page.image, axis=1, share=0.5) == 0


def test_degrade_is_mild_deterministic_and_keeps_truth() -> None:
    page = make_page("trich-luc", 5, dpi=150)
    one, two = degrade(page, 1), degrade(page, 1)
    assert np.array_equal(np.asarray(one.image), np.asarray(two.image))
    assert one.truth == page.truth and one.people == page.people
    diff = np.abs(np.asarray(one.image, dtype=np.int16) - np.asarray(page.image, dtype=np.int16))
    assert 1 < diff.mean() < 40


def _ocr_lines(page, tmp_path: Path) -> list[str]:
    """The page read by the pipeline's own path: a scan file, iter_pages, read_page (Tesseract)."""
    path = tmp_path / f"{page.family}.jpg"
    page.image.save(path, format="JPEG", quality=92, dpi=(page.dpi, page.dpi))
    limits = LimitSettings()
    source = SourceFile(
        name=path.name,
        sha256=sha256_file(path),
        size=path.stat().st_size,
        format=detect_format(path, limits=limits),
    )
    image = next(iter_pages(source, path, tmp_path / page.family, start_index=0, limits=limits))
    words: dict[int, list[str]] = {}
    for word in read_page(image, OcrSettings()).ocr.words:
        words.setdefault(word.line, []).append(word.text)
    lines = [" ".join(w) for _, w in sorted(words.items())]
    return lines + [f"{a} {b}" for a, b in itertools.pairwise(lines)]


def _best_cer(value: str, lines: list[str]) -> float:
    """The smallest character error of ``value`` against any stretch of the read text."""
    value, best = value.lower(), 1.0
    for line in lines:
        found = fuzz.partial_ratio_alignment(value, line.lower())
        if found is not None:
            piece = line.lower()[found.dest_start : found.dest_end]
            best = min(best, Levenshtein.distance(value, piece) / len(value))
    return best


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_truth_is_what_tesseract_reads(family: str, tmp_path: Path) -> None:
    page = make_page(family, 2, dpi=300)
    lines = _ocr_lines(page, tmp_path)
    keys = [
        page.truth[k]
        for k in ("dossier_code", "document_number", "applicant_name", "id_number")
        if k in page.truth
    ]
    keys += [p.name for p in page.people if p.role != "signer"]
    keys += [p.id_number for p in page.people if p.id_number]
    assert len(keys) >= 3
    errors = {value: _best_cer(value, lines) for value in keys}
    assert max(errors.values()) <= 0.1, errors
    assert sum(errors.values()) / len(errors) <= 0.03, errors


def test_held_out_rules_drop_only_the_family_tag(tmp_path: Path) -> None:
    """The benchmark's held-out rule set: a row tagged with the family goes, the rest stay."""
    from bench.forms_fields import _filtered_rules_file, to_toml
    from ocr.rules import BUILTIN_RULES, load_rules

    data = tomllib.loads(BUILTIN_RULES.read_text(encoding="utf-8"))
    assert tomllib.loads(to_toml(data)) == data
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[doc_types.receipt]\ntitles = ["giấy tiếp nhận hồ sơ"]\n'
        '[[doc_types.receipt.fields]]\nname = "applicant_name"\nlabels = ["họ tên"]\n'
        'validator = "person_name"\n'
        '[[doc_types.receipt.fields]]\nname = "applicant_name"\nlabels = ["tiếp nhận hồ sơ của"]\n'
        'validator = "person_name"\nfamilies = ["tiep-nhan", "to-khai"]\n',
        encoding="utf-8",
    )
    kept = load_rules(_filtered_rules_file("tiep-nhan", rules)).doc_types["receipt"].fields
    assert [r.labels for r in kept] == [("họ tên",)]
    other = load_rules(_filtered_rules_file("quyet-dinh", rules)).doc_types["receipt"].fields
    assert len(other) == 2
