"""CPU time of the MRC split per page, the working tree's ``pdf.mrc`` against an earlier one.

Run: ``.venv/bin/python bench/mrc_speed.py [--pages-per-kind N] [--rounds R] [--kinds K ...]``
(default 2 pages per kind, one at 300 dpi and one at 200 dpi, 7 rounds, five kinds).

Why: after Tesseract, the split of each page into MRC layers (``pdf.mrc``) is the largest
CPU cost of an ingest, and it competes with Tesseract for the same cores. This measures it
against the module as it was before it was made cheaper (read from git at :data:`BEFORE`,
:mod:`bench.git_module`), and checks that both produce the same layers.

Method: pages of the OCR benchmark corpus (:func:`bench.ocr_corpus.make_page`, seed 3000)
are rendered to a temporary folder and decoded as the page task decodes them
(:func:`ocr.engine.load_page_pixels`: OpenCV, BGR). Each version is then called as its
``prepare_layers`` calls it (the earlier one converts the page to RGB first, the new one is
told the page is BGR), one thread (``cv2.setNumThreads(1)``, as in the page task), timed as
CPU time (``time.process_time``) so that other processes' load does not count. Both
versions run in the same process on the same pages, interleaved, the order alternating
every round; a page's time is its median over the rounds ("fastest rounds": the ratio of
the fastest, which another process's load disturbs least). The machine may be shared:
compare the ratios, not the milliseconds across runs.

Output check, per page: text and coloured-ink masks decoded from their G4 strips and
compared pixel by pixel (the coloured mask placed on the page by its box), the text colour,
and the sizes of the JPEGs and of all layers; "identical" means every field of
:class:`pdf.mrc.MrcLayers` is equal, byte for byte.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # bench/ocr.py is not ocr
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import io
import resource
import statistics
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

import cv2
import numpy as np
from PIL import Image

from bench.git_module import module_at
from bench.ocr_corpus import KINDS, make_page, page_image
from ocr.engine import load_page_pixels
from pdf import mrc

SEED = 3000
BEFORE = "09d6da15899301a2f8a1415b6ecdb4967bff0811"
"""The commit whose ``pdf/mrc.py`` is timed beside the working tree's."""
mrc_before = module_at(BEFORE, "pdf/mrc.py", "mrc_before")
DEFAULT_KINDS = (
    "clean",
    "noise + JPEG q40-60",
    "uneven light",
    "red seals",
    "borders + punch holes",
)
OPTIONS = {  # schemas.settings.PdfSettings' defaults
    "background_dpi": 100,
    "background_quality": 50,
    "ink_colour_dpi": 75,
    "max_ink_share": 0.3,
}


def split_before(pixels: np.ndarray, dpi: float):
    """What ``prepare_layers`` ran before: the page turned to RGB, then split."""
    return mrc_before._split(mrc_before._rgb(pixels), dpi, **OPTIONS)


def split_now(pixels: np.ndarray, dpi: float) -> mrc.MrcLayers | None:
    """What ``prepare_layers`` runs now: the BGR page split as it is."""
    return mrc._split(pixels, dpi, bgr=pixels.ndim == 3, **OPTIONS)


VERSIONS: dict[str, Callable] = {"before": split_before, "now": split_now}


@dataclass
class Page:
    kind: str
    dpi: int
    pixels: np.ndarray
    """As the page task decodes it (BGR)."""
    cpu: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VERSIONS})
    """Seconds of CPU of each version's calls."""
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VERSIONS, 0))
    """Minor page faults during the timed calls."""


def render(kinds: list[str], per_kind: int, folder: Path) -> list[Page]:
    pages = []
    for kind in kinds:
        kind_no = list(KINDS).index(kind)
        for index in range(per_kind):
            made = make_page(kind, index, kind_no, SEED + 100 * kind_no + index, folder)
            pixels = load_page_pixels(page_image(made))
            pages.append(Page(kind, made.dpi, pixels))
    return pages


def time_split(page: Page, version: str) -> object:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.process_time()
    layers = VERSIONS[version](page.pixels, page.dpi)
    page.cpu[version].append(time.process_time() - start)
    page.faults[version] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    return layers


def g4_decode(strip: bytes, width: int, height: int) -> np.ndarray:
    """The mask (True = ink) in a G4 strip as ``pdf.mrc.g4_encode`` writes it, read via a TIFF."""
    tags = [  # tag, type (3 short, 4 long), value
        (256, 4, width),
        (257, 4, height),
        (258, 3, 1),
        (259, 3, 4),  # CCITT group 4
        (262, 3, 1),  # min-is-black: ink was written as 0
        (273, 4, 8 + 2 + 12 * 8 + 4),  # the strip follows the directory
        (278, 4, height),
        (279, 4, len(strip)),
    ]
    directory = struct.pack("<H", len(tags))
    for tag, kind, value in tags:
        directory += struct.pack("<HHI", tag, kind, 1)
        directory += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
    data = b"II*\x00" + struct.pack("<I", 8) + directory + struct.pack("<I", 0) + strip
    with Image.open(io.BytesIO(data)) as tiff:
        return np.asarray(tiff.convert("L")) == 0


def page_masks(layers, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Text and coloured-ink masks of ``layers`` at page size (all False when absent)."""
    height, width = shape
    text = np.zeros(shape, bool)
    if layers.text_mask is not None:
        text = g4_decode(layers.text_mask, width, height)
    colour = np.zeros(shape, bool)
    if layers.colour_mask is not None:
        x, y, w, h = layers.colour_box
        colour[y : y + h, x : x + w] = g4_decode(layers.colour_mask, w, h)
    return text, colour


def layer_bytes(layers) -> dict[str, int]:
    ink = len(layers.colour_jpeg or b"") + len(layers.colour_mask or b"")
    sizes = {"text": len(layers.text_mask or b""), "ink": ink, "bg": len(layers.background_jpeg)}
    return sizes | {"total": sum(sizes.values())}


def compare(page: Page, before, now) -> dict:
    """How the two versions' layers for ``page`` differ (pixel counts, sizes)."""
    if before is None or now is None:
        return {
            "kept scan": (before is None, now is None),
            "identical": (before is None) == (now is None),
        }
    shape = page.pixels.shape[:2]
    (text_b, colour_b), (text_n, colour_n) = page_masks(before, shape), page_masks(now, shape)
    same = all(getattr(before, f.name) == getattr(now, f.name) for f in fields(mrc.MrcLayers))
    return {
        "ink px": int(np.count_nonzero(text_b) + np.count_nonzero(colour_b)),
        "text diff": int(np.count_nonzero(text_b != text_n)),
        "colour diff": int(np.count_nonzero(colour_b != colour_n)),
        "text colour": before.text_rgb == now.text_rgb,
        "bytes before": layer_bytes(before),
        "bytes now": layer_bytes(now),
        "identical": same,
    }


def run(pages: list[Page], rounds: int) -> list[dict]:
    checks = []
    for page in pages:  # one untimed call each: the comparison, and a warm start
        checks.append(
            compare(page, split_before(page.pixels, page.dpi), split_now(page.pixels, page.dpi))
        )
    for number in range(rounds):
        order = list(VERSIONS) if number % 2 == 0 else list(VERSIONS)[::-1]
        for page in pages:
            for version in order:
                time_split(page, version)
    return checks


def report(pages: list[Page], checks: list[dict], rounds: int) -> None:
    kinds = list(dict.fromkeys(p.kind for p in pages))
    print(f"CPU ms per page (median of {rounds} rounds), layer bytes and mask differences\n")
    print(
        "| kind | dpi | before ms | now ms | now/before | fastest rounds | text mask diff px "
        "(of ink px) | colour mask diff px | text colour | bg JPEG B before/now "
        "| ink B before/now | total B before/now | identical |"
    )
    print("|" + " --- |" * 13)
    paired = list(zip(pages, checks, strict=True))
    for kind in kinds:
        for dpi in sorted({p.dpi for p in pages if p.kind == kind}, reverse=True):
            print(_row(kind, dpi, [(p, c) for p, c in paired if p.kind == kind and p.dpi == dpi]))
    print(_row("**all pages**", "", paired))
    faults = {v: sum(p.faults[v] for p in pages) / (rounds * len(pages)) for v in VERSIONS}
    print(
        f"\nPage faults per split: before {faults['before']:.0f}, now {faults['now']:.0f} "
        "(a fresh 4 KB page costs CPU too; it is in the times above)."
    )


def _row(label: str, dpi, chosen: list[tuple[Page, dict]]) -> str:
    ms = {
        v: statistics.mean(1000 * statistics.median(p.cpu[v]) for p, _ in chosen) for v in VERSIONS
    }
    best = {v: statistics.mean(min(p.cpu[v]) for p, _ in chosen) for v in VERSIONS}
    split = [c for _, c in chosen if "ink px" in c]
    ink = sum(c["ink px"] for c in split)
    text = sum(c["text diff"] for c in split)
    colour = sum(c["colour diff"] for c in split)
    sizes = {
        v: {k: sum(c[f"bytes {v}"][k] for c in split) for k in ("bg", "ink", "total")}
        for v in VERSIONS
    }
    same = sum(c["identical"] for _, c in chosen)
    colours = all(c["text colour"] for c in split)
    return (
        f"| {label} | {dpi} | {ms['before']:.0f} | {ms['now']:.0f} | {ms['now'] / ms['before']:.2f} "
        f"| {best['now'] / best['before']:.2f} "
        f"| {text} ({100 * text / max(ink, 1):.3f} % of {ink}) | {colour} | {'same' if colours else 'differs'} "
        f"| {sizes['before']['bg']} / {sizes['now']['bg']} | {sizes['before']['ink']} / {sizes['now']['ink']} "
        f"| {sizes['before']['total']} / {sizes['now']['total']} | {same}/{len(chosen)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-per-kind", type=int, default=2, help="alternating 300 and 200 dpi")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS), choices=list(KINDS))
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with tempfile.TemporaryDirectory(prefix="mrc-speed-") as tmp:
        pages = render(args.kinds, args.pages_per_kind, Path(tmp))
    print(f"{len(pages)} pages rendered; {args.rounds} rounds", file=sys.stderr)
    checks = run(pages, args.rounds)
    report(pages, checks, args.rounds)


if __name__ == "__main__":
    main()
