"""Labelled corpus for the OCR benchmark: Vietnamese pages, one group per kind of damage.

Run alone to look at the pages: ``.venv/bin/python bench/ocr_corpus.py OUT_DIR [--pages-per-type N]``
writes every page as ``OUT_DIR/NN-kind-k.jpg`` with ``.txt`` truth beside it and a
``batch.pdf`` holding them all.

Each page is a full A4 page of administrative sentences (:data:`samples.synth.VIETNAMESE_LINES`)
set in one of four fonts that carry every Vietnamese glyph (DejaVu Sans/Serif, Noto
Sans/Serif), 10-14 pt, at 300 or 200 dpi, then damaged in one of :data:`KINDS` ways and
stored as a scanner JPEG (quality 85 unless the damage is the JPEG quality itself). Within a
kind, pages alternate 300/200 dpi and cycle fonts and sizes, so each kind sees the same mix.
The truth is the text as laid out (upright, also for turned pages); seals, borders and
holes are not text. Everything is deterministic for a given seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import itertools
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image

from samples import synth
from schemas.models import PageImage

FONT_DIR = Path("/usr/share/fonts/truetype")
FONTS: dict[str, Path] = {
    "DejaVu Sans": FONT_DIR / "dejavu" / "DejaVuSans.ttf",
    "Noto Serif": FONT_DIR / "noto" / "NotoSerif-Regular.ttf",
    "DejaVu Serif": FONT_DIR / "dejavu" / "DejaVuSerif.ttf",
    "Noto Sans": FONT_DIR / "noto" / "NotoSans-Regular.ttf",
}
SIZES_PT = (10, 12, 14, 11, 13)
DPIS = (300, 200)
PARAGRAPHS = 40  # offered per page; the renderer keeps what fits (~30-50 lines)
SCANNER_QUALITY = 85


@dataclass(frozen=True)
class CorpusPage:
    """One labelled page image on disk."""

    name: str
    kind: str
    font: str
    size_pt: int
    dpi: int
    quality: int
    damage: str
    """Human-readable parameters of the damage, for the per-page table."""
    path: Path
    truth: str


Damage = Callable[[Image.Image, int, random.Random, int], tuple[Image.Image, int, str]]
"""(page, dpi, rng, seed) -> (damaged page, JPEG quality to store it with, description)."""


def _mild(img: Image.Image, rng: random.Random, seed: int) -> Image.Image:
    """The light scanner wear every damaged page also gets: a little noise."""
    return synth.degrade(img, noise=0.03, seed=seed)


def clean(img, dpi, rng, seed):
    return img, SCANNER_QUALITY, "none"


def skew(img, dpi, rng, seed):
    angle = rng.choice((-1, 1)) * rng.uniform(1, 5)
    return (
        synth.degrade(img, skew_deg=angle, noise=0.03, seed=seed),
        SCANNER_QUALITY,
        (f"skew {angle:+.1f}°"),
    )


def blur(img, dpi, rng, seed):
    sigma = rng.uniform(0.9, 1.6) * dpi / 300
    out = synth.degrade(img, blur_sigma=sigma, noise=0.02, seed=seed)
    return out, SCANNER_QUALITY, f"Gaussian blur σ {sigma:.2f} px"


def noise_jpeg(img, dpi, rng, seed):
    noise, quality = rng.uniform(0.08, 0.18), rng.randint(40, 60)
    return (
        synth.degrade(img, noise=noise, seed=seed),
        quality,
        f"noise {noise:.2f}, JPEG q{quality}",
    )


def uneven_light(img, dpi, rng, seed):
    strength, shadow = rng.uniform(0.4, 0.6), rng.uniform(0.45, 0.65)
    out = synth.add_uneven_light(_mild(img, rng, seed), strength=strength, shadow=shadow, seed=seed)
    return out, SCANNER_QUALITY, f"fall-off {strength:.2f}, shadow band {shadow:.2f}"


def red_seals(img, dpi, rng, seed):
    out = synth.add_red_seal(img, dpi=dpi, seed=seed)
    count = 1 + seed % 2
    if count == 2:
        spot = (round(img.width * rng.uniform(0.3, 0.6)), round(img.height * rng.uniform(0.2, 0.4)))
        out = synth.add_red_seal(out, center=spot, dpi=dpi, seed=seed + 1)
    return _mild(out, rng, seed), SCANNER_QUALITY, f"{count} red seal(s) over text"


def borders_holes(img, dpi, rng, seed):
    border = round(rng.uniform(30, 70) * dpi / 300)
    out = synth.add_punch_holes(img, dpi=dpi, seed=seed)
    out = synth.degrade(out, noise=0.03, border_px=border, seed=seed)
    return out, SCANNER_QUALITY, f"dark borders ~{border} px, 2 punch holes"


def _turned(quarter_turns: Sequence[int]) -> Damage:
    def damage(img, dpi, rng, seed):
        turns = quarter_turns[seed % len(quarter_turns)]
        angle = rng.uniform(-1, 1)
        out = synth.degrade(img, skew_deg=angle, noise=0.05, seed=seed)
        return synth.turn_page(out, turns), 75, f"turned {90 * turns}° ccw, skew {angle:+.1f}°"

    return damage


KINDS: dict[str, Damage] = {
    "clean": clean,
    "skew 1-5°": skew,
    "blur": blur,
    "noise + JPEG q40-60": noise_jpeg,
    "uneven light": uneven_light,
    "red seals": red_seals,
    "borders + punch holes": borders_holes,
    "rotated 90°": _turned((1, 3)),
    "rotated 180°": _turned((2,)),
}
"""Kind of damage -> function applying it (all but ``clean`` also add mild noise)."""


def make_page(kind: str, index: int, kind_no: int, seed: int, out_dir: Path) -> CorpusPage:
    """Render, damage and store page ``index`` (0-based within its kind)."""
    font = list(FONTS)[(index + kind_no) % len(FONTS)]
    size = SIZES_PT[(index + 2 * kind_no) % len(SIZES_PT)]
    dpi = DPIS[index % len(DPIS)]
    img, truth = synth.render_page_with_truth(
        synth.sample_lines(seed, PARAGRAPHS),
        dpi=dpi,
        font_path=str(FONTS[font]),
        font_size_pt=size,
        seed=seed,
    )
    img, quality, damage = KINDS[kind](img, dpi, random.Random(seed), seed)
    slug = re.sub(r"[^a-z0-9]+", "-", kind.lower()).strip("-")
    path = out_dir / f"{kind_no:02d}-{slug}-{index}.jpg"
    synth.write_jpeg(path, img, dpi=dpi, quality=quality)
    path.with_suffix(".txt").write_text(truth, encoding="utf-8")
    return CorpusPage(path.stem, kind, font, size, dpi, quality, damage, path, truth)


def page_image(page: CorpusPage) -> PageImage:
    """The page as the pipeline sees one JPEG page of a batch (for calling its steps directly)."""
    with Image.open(page.path) as img:
        size, mode = img.size, img.mode
    return PageImage(
        index=0,
        path=str(page.path),
        source=page.path.name,
        source_page=0,
        width=size[0],
        height=size[1],
        dpi=page.dpi,
        mode=mode,
        encoding="jpeg",
    )


def make_corpus(out_dir: Path, pages_per_type: int = 4, seed: int = 3000) -> list[CorpusPage]:
    """Write ``pages_per_type`` pages of every kind into ``out_dir``; return them in order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [
        make_page(kind, i, k, seed + 100 * k + i, out_dir)
        for k, kind in enumerate(KINDS)
        for i in range(pages_per_type)
    ]


def write_batch_pdf(paths: Sequence[Path], dest: Path, count: int | None = None) -> Path:
    """One image-only PDF with the JPEGs embedded unchanged, page size from each JPEG's dpi.

    ``count`` repeats the pages cyclically up to that many (for the memory test).
    """
    import img2pdf

    chosen = list(itertools.islice(itertools.cycle(paths), count or len(paths)))
    with dest.open("wb") as handle:
        img2pdf.convert([str(p) for p in chosen], outputstream=handle)
    return dest


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--pages-per-type", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3000)
    args = parser.parse_args()
    pages = make_corpus(args.out_dir, args.pages_per_type, args.seed)
    write_batch_pdf([p.path for p in pages], args.out_dir / "batch.pdf")
    for page in pages:
        print(
            f"{page.name}\t{page.font} {page.size_pt} pt {page.dpi} dpi q{page.quality}\t{page.damage}"
        )
