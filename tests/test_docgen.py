"""Labelled synthetic documents (samples.docgen): determinism, valid identifiers, decodable codes,
text that fits the page, and truth that matches what is printed. Fast: no Tesseract."""

from __future__ import annotations

import json
import random
import re
import unicodedata
from datetime import date

import numpy as np
import pytest
import segno
import zxingcpp

from samples import docgen
from schemas.fields import DOC_TYPES, FIELD_NAMES
from sohoa.textfold import fold

MAKERS = ("receipt", "application", "decision", "certificate", "id_card")


def _page(kind: str, seed: int, dpi: int = 200, **kw) -> docgen.GeneratedPage:
    rng = random.Random(seed)
    person, proc = docgen.random_person(rng), docgen.random_procedure(rng)
    if kind == "receipt":
        code = docgen.random_dossier_code(rng, date(2023, 10, 27))
        return docgen.make_receipt(rng, person, proc, code, dpi=dpi, **kw)
    if kind == "application":
        return docgen.make_application(rng, person, proc, dpi=dpi)
    maker = {
        "decision": docgen.make_decision,
        "certificate": docgen.make_certificate,
        "id_card": docgen.make_id_card_copy,
    }[kind]
    return maker(rng, person, dpi=dpi)


def _decoded(page: docgen.GeneratedPage) -> set[tuple[str, str]]:
    return {(r.format.name, r.text) for r in zxingcpp.read_barcodes(page.image)}


def _iso_printed(value: str, flat: str) -> bool:
    """An ISO truth date is printed as d/m/y, dd/mm/yyyy, dd-mm-yyyy or in a date line."""
    d = date.fromisoformat(value)
    forms = (
        f"{d:%d/%m/%Y}",
        f"{d.day}/{d.month}/{d.year}",
        f"{d:%d-%m-%Y}",
        f"ngày {d.day:02d} tháng {d.month:0{2 if d.month < 3 else 1}d} năm {d.year}",
    )
    return any(f in flat for f in forms)


# --- people, procedures, codes -------------------------------------------------------------


def test_people_have_consistent_identifiers() -> None:
    rng = random.Random(11)
    kinds = set()
    for _ in range(400):
        p = docgen.random_person(rng)
        kinds.add(p.id_kind)
        assert unicodedata.is_normalized("NFC", p.full_name + p.address)
        assert p.full_name == " ".join(w[0].upper() + w[1:].lower() for w in p.full_name.split())
        assert p.sex in ("nam", "nữ") and 1950 <= p.birth_date.year <= 2005
        assert re.fullmatch(r"0(3[2-9]|5[689]|7[06-9]|8[1-689]|9[0-46-9])\d{7}", p.phone)
        assert p.email.isascii() and re.fullmatch(r"[a-z0-9.]+@[a-z.]+", p.email)
        assert p.address.count(", ") >= 3
        if p.id_kind == "cccd":
            n = p.id_number
            assert re.fullmatch(r"\d{12}", n) and 1 <= int(n[:3]) <= 96
            century, female = divmod(int(n[3]), 2)
            assert 1900 + 100 * century <= p.birth_date.year < 2000 + 100 * century
            assert female == (p.sex == "nữ") and n[4:6] == f"{p.birth_date.year % 100:02d}"
        elif p.id_kind == "cmnd":
            assert re.fullmatch(r"\d{9}", p.id_number)
        else:
            assert re.fullmatch(r"C\d{7}", p.id_number)
    assert kinds == {"cccd", "cmnd", "passport"}


def test_procedures_and_dossier_codes() -> None:
    rng = random.Random(3)
    assert len(docgen.PROCEDURES) >= 12
    for _ in range(50):
        proc = docgen.random_procedure(rng)
        assert re.fullmatch(r"[12]\.\d{6}\.000\.00\.00\.H\d\d", proc.code) and proc.name
    shapes = set()
    for _ in range(100):
        code = docgen.random_dossier_code(rng, date(2023, 10, 27))
        assert code.endswith(code[-4:]) and code.split("-")[-2] == "231027"
        long = re.fullmatch(r"\d{3}\.\d\d\.\d\d\.H\d\d-\d{6}-\d{4}", code)
        shapes.add("long" if long else "short")
        assert long or re.fullmatch(r"H\d\d\.\d\d-\d{6}-\d{4}", code)
    assert shapes == {"long", "short"}


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_same_pages_other_seed_other_values() -> None:
    a, b = docgen.make_mixed_batch(2, 7, dpi=100), docgen.make_mixed_batch(2, 7, dpi=100)
    assert [p.truth for p in a] == [p.truth for p in b]
    assert [p.codes for p in a] == [p.codes for p in b]
    assert all(np.array_equal(np.asarray(x.image), np.asarray(y.image)) for x, y in zip(a, b))
    c = docgen.make_mixed_batch(2, 8, dpi=100)
    assert a[0].truth != c[0].truth
    assert a[0].truth["dossier_code"] != c[0].truth["dossier_code"]


# --- truth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", MAKERS)
def test_truth_is_canonical_and_printed(kind: str) -> None:
    seen: set[str] = set()
    for seed in range(12):
        page = _page(kind, seed, dpi=100)
        assert page.doc_type == kind and page.doc_type in DOC_TYPES and page.dossier == 0
        assert set(page.truth) <= set(FIELD_NAMES)
        seen |= set(page.truth)
        flat = " ".join(page.text.split())
        for name, value in page.truth.items():
            assert value and unicodedata.is_normalized("NFC", value), name
            if name.endswith("_date"):
                assert _iso_printed(value, flat), (name, value)
            elif name == "phone":
                assert value.isdigit() and value in re.sub(r"[ .]", "", flat)
            elif name in ("applicant_name", "signer"):
                assert value == value.title() and fold(value) in fold(flat), value
            else:
                assert value in flat, (name, value)
        if kind == "receipt":
            received, due = (
                date.fromisoformat(page.truth[k]) for k in ("received_date", "due_date")
            )
            assert page.truth["dossier_code"].split("-")[-2] == f"{received:%y%m%d}"
            assert due > received
        if kind == "decision":
            assert page.truth["summary"].startswith("Về việc ")
            assert re.fullmatch(r"(0[1-9]|[1-9]\d+)/QĐ-[A-ZĐ]+", page.truth["document_number"])
    expected = {"receipt": 11, "application": 6, "decision": 5, "certificate": 7, "id_card": 4}
    assert len(seen) == expected[kind], seen


@pytest.mark.parametrize("dpi", [200, 300])
@pytest.mark.parametrize("kind", [*MAKERS, "separator"])
def test_text_fits_the_page_and_avoids_codes(kind: str, dpi: int) -> None:
    page = docgen.make_separator(dpi=dpi) if kind == "separator" else _page(kind, dpi, dpi=dpi)
    width, height = page.image.size
    assert (width, height) == (round(210 / 25.4 * dpi), round(297 / 25.4 * dpi))
    assert page.image.mode == "RGB" and len(page.line_boxes) == len(page.text.split("\n"))
    assert len(page.code_boxes) == len(page.codes)
    for left, top, w, h in page.line_boxes + page.code_boxes:
        assert 0 <= left and 0 <= top and left + w <= width and top + h <= height
    for lb in page.line_boxes:
        for cb in page.code_boxes:
            assert not docgen._overlap(lb, cb)
    if kind != "id_card":  # below the last recorded box the page is blank (cards are drawings)
        gray = np.asarray(page.image.convert("L"))
        bottom = max(t + h for _, t, _, h in page.line_boxes + page.code_boxes)
        assert gray[bottom + 2 :].min() >= 250


def test_symbol_sizes() -> None:
    for dpi in (200, 300):
        page = _page("receipt", 5, dpi=dpi, qr_style="json")
        (qr_fmt, payload), (bar_fmt, _) = page.codes
        assert (qr_fmt, bar_fmt) == ("QRCode", "Code39")
        modules = segno.make(payload, error="m", micro=False).symbol_size(border=4)[0]
        qr_box, bar_box = page.code_boxes
        assert qr_box[2] / modules >= 0.33 * dpi / 25.4
        assert 20 <= (qr_box[2] - 8 * qr_box[2] / modules) / dpi * 25.4 <= 26
        assert bar_box[3] >= 8 * dpi / 25.4
        assert qr_box[0] < page.image.width / 3 and qr_box[1] < page.image.height / 8


# --- codes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["plain", "url", "json", "pipe"])
def test_receipt_codes_decode_clean_and_scanned(style: str) -> None:
    barcode = "Code128" if style == "url" else "Code39"
    dpi = 300 if style == "json" else 200  # the densest QR at 300 dpi; degrading 300 dpi is slow
    page = _page("receipt", 21, dpi=dpi, qr_style=style, barcode=barcode)
    code = page.truth["dossier_code"]
    assert page.codes[1] == (barcode, code) and page.codes[0][0] == "QRCode"
    qr_text = page.codes[0][1]
    assert code in qr_text
    if style == "json":
        assert json.loads(qr_text)["maHoSo"] == code
    assert _decoded(page) == set(page.codes)
    for seed in range(1 if dpi == 300 else 2):
        scanned = docgen.degrade_page(page, random.Random(seed))
        assert scanned.truth == page.truth and scanned.codes == page.codes
        assert scanned.image.size == page.image.size
        assert _decoded(scanned) == set(page.codes), seed


def test_separator_decodes() -> None:
    page = docgen.make_separator()
    assert page.doc_type == "separator" and page.truth == {} and page.dossier == -1
    assert "TỜ PHÂN CÁCH HỒ SƠ" in page.text
    assert set(page.codes) == {("QRCode", "SOHOA-SEPARATOR"), ("Code128", "SOHOA-SEPARATOR")}
    assert _decoded(page) == set(page.codes)
    assert _decoded(docgen.degrade_page(page, random.Random(1))) == set(page.codes)


# --- dossiers and batches -------------------------------------------------------------------


def test_dossier_is_one_person_receipt_first() -> None:
    pages = docgen.make_dossier(random.Random(4), dpi=100, index=3)
    assert pages[0].doc_type == "receipt" and 2 <= len(pages) <= 4
    assert {p.dossier for p in pages} == {3}
    assert {p.truth["applicant_name"] for p in pages} == {pages[0].truth["applicant_name"]}
    assert all(p.doc_type in ("application", "id_card", "certificate") for p in pages[1:])


@pytest.mark.parametrize("separators", [False, True])
def test_mixed_batch(separators: bool) -> None:
    pages = docgen.make_mixed_batch(20, 99, dpi=100, separators=separators)
    seps = [i for i, p in enumerate(pages) if p.doc_type == "separator"]
    assert len(seps) == (19 if separators else 0)
    assert all(pages[i].dossier == -1 for i in seps)
    docs = [p for p in pages if p.doc_type != "separator"]
    assert [p.dossier for p in docs] == sorted(p.dossier for p in docs)
    assert {p.dossier for p in docs} == set(range(20))
    starts = [p for i, p in enumerate(docs) if i == 0 or docs[i - 1].dossier != p.dossier]
    assert all(p.doc_type == "receipt" for p in starts) and len(starts) == 20
    assert sum(p.doc_type == "receipt" for p in docs) == 20
    assert len({p.truth["dossier_code"] for p in starts}) == 20
    for i in seps:  # a separator sits exactly between two dossiers
        assert pages[i + 1].dossier == pages[i - 1].dossier + 1
    kinds = {p.doc_type for p in docs}
    assert kinds == {"receipt", "application", "id_card", "certificate"}


def test_degrade_page_keeps_truth_and_moves_boxes() -> None:
    page = _page("decision", 2, dpi=150)
    scanned = docgen.degrade_page(page, random.Random(5))
    assert scanned.truth == page.truth and scanned.text == page.text
    assert len(scanned.line_boxes) == len(page.line_boxes)
    assert not np.array_equal(np.asarray(scanned.image), np.asarray(page.image))
    again = docgen.degrade_page(page, random.Random(5))
    assert np.array_equal(np.asarray(scanned.image), np.asarray(again.image))
