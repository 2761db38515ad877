"""Labelled synthetic Vietnamese administrative documents: receipts, forms, decisions, ID copies.

Why: field extraction (mã hồ sơ, names, CCCD numbers, dates, ...) is scored as precision and
recall per field, which needs pages whose printed values are known exactly. Every page is drawn
from a seeded :class:`random.Random` and records the canonical value of each field it prints
(:attr:`GeneratedPage.truth`), every QR code and barcode, and every text line with its box;
:func:`degrade_page` then makes it look scanned. Layouts follow Decree 30/2020 (agency top-left,
motto and date line top-right, signature block) and the one-stop-shop receipt; labels vary among
variants seen on real paper (:data:`LABELS`). Every person is fictitious.

This module is the public API: people, procedures, dossier codes, one ``make_*`` per document
kind, dossiers, mixed batches and scan degradation. The work behind it is split by
responsibility: :mod:`samples.data` (tables and the values drawn from them),
:mod:`samples.layout` (the A4 sheet, codes, headings, signatures) and :mod:`samples.pages`
(the composition of each document kind).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import cv2

from samples import synth
from samples.data import (
    LABELS,
    MOBILE,
    PROCS,
    SEXES,
    Person,
    Procedure,
    locality_of,
    random_address,
    random_id_number,
    random_locality,
    random_name,
    workday,
)
from samples.layout import GeneratedPage, Sheet, draw_barcode, draw_qr, fitted, rotate_boxes
from samples.layout import overlap as _overlap  # noqa: F401  (tests use docgen._overlap)
from samples.pages import (
    draw_application,
    draw_certificate,
    draw_decision,
    draw_id_card,
    draw_receipt,
)
from sohoa.textfold import fold

__all__ = [
    "LABELS",
    "PROCEDURES",
    "GeneratedPage",
    "Person",
    "Procedure",
    "degrade_page",
    "make_application",
    "make_certificate",
    "make_decision",
    "make_dossier",
    "make_id_card_copy",
    "make_mixed_batch",
    "make_receipt",
    "make_separator",
    "random_dossier_code",
    "random_person",
    "random_procedure",
]


PROCEDURES: tuple[Procedure, ...] = tuple(
    Procedure(f"{c}.000.00.00.H56", n, s) for c, _, s, n in PROCS
)
"""~12 procedures; :func:`random_procedure` swaps the province H-code."""


def random_person(rng: random.Random) -> Person:
    """A fictitious citizen: CCCD (85 %), 9-digit CMND (10 %) or passport (5 %)."""
    sex = rng.choice(SEXES)
    name, birth, loc = (
        random_name(rng, sex),
        date(1950, 1, 1) + timedelta(rng.randrange(20089)),
        random_locality(rng),
    )
    kind = rng.choices(("cccd", "cmnd", "passport"), (85, 10, 5))[0]
    phone = rng.choice(MOBILE) + "".join(rng.choices("0123456789", k=7))
    parts = fold(name).split()
    local = rng.choice(
        (
            f"{parts[-1]}.{parts[0]}",
            f"{''.join(parts)}{birth.year % 100:02d}",
            f"{parts[-1]}{''.join(p[0] for p in parts[:-1])}{rng.randint(1, 99)}",
        )
    )
    email = f"{local}@{rng.choice(('gmail.com',) * 3 + ('yahoo.com', 'outlook.com.vn'))}"
    return Person(
        name,
        sex,
        birth,
        random_id_number(rng, kind, loc[0], sex, birth),
        kind,
        phone,
        email,
        random_address(rng, loc),
    )


def random_procedure(rng: random.Random, *, hcode: str | None = None) -> Procedure:
    """A procedure of :data:`PROCEDURES`; its code ends with ``hcode`` (default: random province)."""
    proc, hcode = rng.choice(PROCEDURES), hcode or random_locality(rng)[0].hcode
    return replace(proc, code=proc.code.replace(".H56", f".{hcode}"))


def random_dossier_code(rng: random.Random, received: date, *, hcode: str | None = None) -> str:
    """A mã hồ sơ in either shape of domain.md, dated ``received`` (yyMMdd), agency ``hcode``."""
    hcode, day, seq = (
        hcode or random_locality(rng)[0].hcode,
        f"{received:%y%m%d}",
        rng.randint(1, 1500),
    )
    if rng.random() < 0.6:
        agency = f"{rng.choice(('000.00', '000.18', '000.20', '000.30'))}.{rng.randint(1, 40):02d}"
        return f"{agency}.{hcode}-{day}-{seq:04d}"
    return f"{hcode}.{rng.randint(1, 99):02d}-{day}-{seq:04d}"


def make_receipt(
    rng: random.Random,
    person: Person,
    procedure: Procedure,
    dossier_code: str,
    *,
    dpi: int = 300,
    qr_style: str | None = None,
    barcode: str = "Code39",
) -> GeneratedPage:
    """A "Giấy tiếp nhận hồ sơ và hẹn trả kết quả", received on the date inside ``dossier_code``.

    Args:
        qr_style: "plain", "url", "json" or "pipe" QR payload; ``None`` picks one at random.
        barcode: "Code39" (usual) or "Code128", the symbology of the mã hồ sơ barcode.
    """
    style = qr_style or rng.choice(("plain", "url", "json", "pipe"))
    return fitted(
        rng,
        lambda r, lim: draw_receipt(r, lim, person, procedure, dossier_code, dpi, style, barcode),
    )


def make_application(
    rng: random.Random, person: Person, procedure: Procedure, *, dpi: int = 300
) -> GeneratedPage:
    """A "Tờ khai ..." (hộ tịch), "Phiếu yêu cầu ..." or "Đơn đề nghị ..." filled in by ``person``."""
    return fitted(rng, lambda r, lim: draw_application(r, lim, person, procedure, dpi))


def make_decision(rng: random.Random, person: Person, *, dpi: int = 300) -> GeneratedPage:
    """A "Quyết định" concerning ``person``: a procedure's result, not a dossier component."""
    return fitted(rng, lambda r, lim: draw_decision(r, lim, person, dpi))


def make_certificate(rng: random.Random, person: Person, *, dpi: int = 300) -> GeneratedPage:
    """A trích lục / giấy khai sinh / giấy xác nhận / giấy chứng nhận issued to ``person``."""
    return fitted(rng, lambda r, lim: draw_certificate(r, lim, person, dpi))


def make_id_card_copy(rng: random.Random, person: Person, *, dpi: int = 300) -> GeneratedPage:
    """A photocopy of ``person``'s CCCD (both faces), CMND or passport, marked as a specimen."""
    return fitted(rng, lambda r, lim: draw_id_card(r, lim, person, dpi))


def make_separator(code: str = "SOHOA-SEPARATOR", *, dpi: int = 300) -> GeneratedPage:
    """A separator sheet a clerk slips between dossiers: a big QR and a Code 128 of ``code``."""
    sheet = Sheet(random.Random(0), dpi)
    sheet.left, sheet.right, sheet.y = sheet.mm(20), sheet.img.width - sheet.mm(20), sheet.mm(50)
    sheet.para("TỜ PHÂN CÁCH HỒ SƠ", "b", 2.0, "c")
    box = draw_qr(
        sheet, code, (sheet.img.width - sheet.mm(60)) // 2, round(sheet.y) + sheet.mm(14), 60
    )
    sheet.y = box[1] + box[3] + sheet.mm(8)
    draw_barcode(sheet, "Code128", code, 15)
    sheet.para(code, "b", 1.0, "c")
    sheet.para(
        "Đặt tờ này giữa hai hồ sơ khi quét. Tờ phân cách không được lưu trữ.", "i", 1.0, "c"
    )
    return replace(sheet.page("separator", {}), dossier=-1)


def _dossier(rng: random.Random, dpi: int, index: int, used: set[str]) -> list[GeneratedPage]:
    person, received = random_person(rng), workday(rng)
    hcode = locality_of(person.address, rng)[0].hcode if rng.random() < 0.9 else None
    proc = random_procedure(rng, hcode=hcode)
    while (code := random_dossier_code(rng, received, hcode=hcode)) in used:
        pass
    used.add(code)
    makers = {
        "application": lambda: make_application(rng, person, proc, dpi=dpi),
        "id_card": lambda: make_id_card_copy(rng, person, dpi=dpi),
        "certificate": lambda: make_certificate(rng, person, dpi=dpi),
    }
    chosen = rng.sample(sorted(makers), rng.randint(1, 3))
    pages = [make_receipt(rng, person, proc, code, dpi=dpi)]
    pages += [make() for kind, make in makers.items() if kind in chosen]
    return [replace(p, dossier=index) for p in pages]


def make_dossier(rng: random.Random, *, dpi: int = 300, index: int = 0) -> list[GeneratedPage]:
    """One dossier's paper stack: its receipt, then 1-3 components about the same person."""
    return _dossier(rng, dpi, index, set())


def make_mixed_batch(
    n_dossiers: int, seed: int, *, dpi: int = 300, separators: bool = False
) -> list[GeneratedPage]:
    """A scanner stack of ``n_dossiers`` dossiers with distinct codes, optionally separated."""
    rng, used, pages = random.Random(seed), set(), []
    for i in range(n_dossiers):
        if separators and i:
            pages.append(make_separator(dpi=dpi))
        pages += _dossier(rng, dpi, i, used)
    return pages


def degrade_page(page: GeneratedPage, rng: random.Random) -> GeneratedPage:
    """The page as a scanner returns it: skew <= 3 deg, noise, JPEG 40-85, maybe blur/seal/borders.

    Truth and codes are kept; line and code boxes follow the skew. Separators get no seal.
    """
    seed, img = rng.getrandbits(32), page.image
    if page.doc_type != "separator" and rng.random() < 0.4:
        text = f"{page.truth.get('issuer', 'BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ')} * "
        img = synth.add_red_seal(
            img, dpi=page.dpi, seed=seed, text=text, radius_mm=rng.uniform(16, 20)
        )
    skew = rng.uniform(-3, 3)
    blur = rng.uniform(0.3, 0.9) * page.dpi / 300 if rng.random() < 0.3 else 0.0
    border = round(rng.uniform(1, 4) * page.dpi / 25.4) if rng.random() < 0.3 else 0
    out = synth.degrade(
        img,
        skew_deg=skew,
        blur_sigma=blur,
        noise=rng.uniform(0.01, 0.07),
        jpeg_quality=rng.randint(40, 85),
        border_px=border,
        seed=seed,
    )
    matrix = cv2.getRotationMatrix2D(((out.width - 1) / 2, (out.height - 1) / 2), skew, 1.0)
    return replace(
        page,
        image=out,
        line_boxes=rotate_boxes(page.line_boxes, matrix, out.size),
        code_boxes=rotate_boxes(page.code_boxes, matrix, out.size),
    )
