"""A second page generator, independent of :mod:`samples.docgen`: official layout families.

Why: every field figure was measured on docgen pages, the very layouts the rules were written
against. These families are modelled on the official templates instead — the one-stop
receipt and control slip of Circular 01/2018/TT-VPCP, the civil-status tờ khai and trích lục
of Circular 04/2020/TT-BTP, a decision laid out per Decree 30/2020/NĐ-CP and a household
business certificate — with their own fonts, wording, label synonyms and arrangements
(several labels per line, ruled tables, dotted leaders, values on the next line). Nothing is
shared with docgen: values (:mod:`samples.forms.values`) and drawing
(:mod:`samples.forms.canvas`) are this package's own.

Public API: :data:`FAMILIES`, :func:`make_page`, :func:`make_pages`, :func:`degrade`, and the
value types :class:`FormPage` and :class:`PersonTruth`. A page is a pure function of
``(family, seed, dpi)``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PIL import Image, ImageFilter

from samples.forms.canvas import Canvas, available_faces
from samples.forms.civil import draw_to_khai, draw_trich_luc
from samples.forms.model import ROLES, Draft, FormPage, PersonTruth
from samples.forms.receipts import draw_phieu_kiem_soat, draw_tiep_nhan
from samples.forms.results import draw_giay_chung_nhan, draw_quyet_dinh
from sohoa.errors import SampleOverflowError

__all__ = ["FAMILIES", "ROLES", "FormPage", "PersonTruth", "degrade", "make_page", "make_pages"]

Drawer = Callable[[Canvas, random.Random, Draft], str | None]

FAMILIES: dict[str, Drawer] = {
    "tiep-nhan": draw_tiep_nhan,
    "phieu-kiem-soat": draw_phieu_kiem_soat,
    "to-khai": draw_to_khai,
    "quyet-dinh": draw_quyet_dinh,
    "trich-luc": draw_trich_luc,
    "giay-chung-nhan": draw_giay_chung_nhan,
}
"""Family id -> drawer. Ids are the provenance tags rules carry (``families = [...]``)."""

_SIZES_PT = (13.0, 12.5, 12.0, 11.5, 11.0, 10.5, 10.0)
"""Decree 30 sets body text at 13-14 pt; a page that does not fit is redrawn smaller."""


def make_page(family: str, seed: int, *, dpi: int = 300) -> FormPage:
    """Draw one page of ``family``: the same ``(family, seed, dpi)`` gives the same page.

    Raises:
        KeyError: unknown family.
        SampleOverflowError: the page does not fit even at the smallest size (a bug).
    """
    drawer = FAMILIES[family]
    choice = random.Random(f"{family}/{seed}/face")
    face = choice.choice(available_faces())
    start = _SIZES_PT.index(choice.choice(_SIZES_PT[:3]))
    for pt in _SIZES_PT[start:]:
        rng = random.Random(f"{family}/{seed}")
        canvas, draft = Canvas(rng, dpi, face, pt), Draft()
        try:
            doc_type = drawer(canvas, rng, draft)
        except SampleOverflowError:  # too long at this size: redraw smaller
            continue
        return FormPage(
            image=canvas.img,
            dpi=dpi,
            family=family,
            doc_type=doc_type or "other",
            truth=dict(draft.fields),
            people=tuple(draft.people),
            text="\n".join(canvas.lines),
            ruled_lines=canvas.ruled,
            seed=seed,
            variant=",".join([face, f"{pt:g}pt", *draft.variant]),
        )
    raise SampleOverflowError(0)


def make_pages(per_family: int, seed: int, *, families=None, dpi: int = 300) -> list[FormPage]:
    """``per_family`` pages of each family (all by default), seeds ``seed``, ``seed + 1``, ..."""
    return [
        make_page(family, seed + n, dpi=dpi)
        for family in (families or FAMILIES)
        for n in range(per_family)
    ]


def degrade(page: FormPage, seed: int) -> FormPage:
    """The page as an office scanner returns it, mildly: skew <= 1.5°, noise, soft blur, JPEG.

    Why mild: this generator measures layouts, not image damage (docgen's degradation does
    that); what is kept is the damage every real scan has.
    """
    rng = random.Random(f"degrade/{page.family}/{page.seed}/{seed}")
    img = page.image.convert("L").rotate(
        rng.uniform(-1.5, 1.5), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255
    )
    if rng.random() < 0.4:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7) * page.dpi / 300))
    pixels = np.asarray(img, dtype=np.float32)
    noise = np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(4, 10), pixels.shape)
    paper = rng.uniform(232, 250)  # off-white paper, toner not quite black
    pixels = pixels / 255 * (paper - 25) + 25 + noise
    out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L").convert("RGB")
    buffer = io.BytesIO()
    out.save(buffer, format="JPEG", quality=rng.randint(55, 85))
    return replace(page, image=Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
