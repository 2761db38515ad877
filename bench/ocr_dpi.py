"""The resolution sohoa reads at: CER and CPU of its OCR with ``max_ocr_dpi`` off, 240, 200.

Run: ``.venv/bin/python bench/ocr_dpi.py [--variants off,240,200] [--corpus gen real]``.

Why: Tesseract scales every text line to its network's input height, so a 300-dpi page
may read no better than the same page at 240 or 200 dpi while every step before the
network (cleaning, orientation, Tesseract's own binarisation and layout) pays for the
pixels. This measures both sides on pages held out from every rule:

* ``gen``: :mod:`bench.ocr_corpus`, seed 9000 (the ingest benchmark's held-out seed),
  4 pages of each of its 9 kinds, 300 and 200 dpi in turn (36 pages);
* ``real``: :mod:`bench.realworld_corpus`, seed 7300 (not the seed of
  ``bench/realworld.py``), 3 pages of each of its 6 office kinds (18 pages).

Each page goes through sohoa's real reading path (``detect_format`` -> ``iter_pages`` ->
``ocr.engine.ocr_page``) once per variant, and through raw ``tesseract FILE - -l vie``
(the scanner's image as the office has it) for reference. CPU: Tesseract's (children)
and sohoa's Python (this process), in seconds over the corpus. Means of per-page CER
(:func:`samples.synth.cer`). Output printed and written to ``bench/out/ocr_dpi.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse
import hashlib
import os
import resource
import statistics
import subprocess

from ocr.engine import ocr_page
from ocr.pages import detect_format, iter_pages
from samples.synth import cer
from schemas.models import SourceFile
from schemas.settings import Settings

OUT = ROOT / "bench" / "out"


def corpus(name: str, folder: Path) -> list[tuple[str, float, Path, Path, str]]:
    """(kind, dpi, file given to sohoa, image raw Tesseract reads, truth) per page."""
    if name == "gen":
        from bench import ocr_corpus

        made = ocr_corpus.make_corpus(folder, 4, 9000)
        return [(p.kind, p.dpi, p.path, p.path, p.truth) for p in made]
    from bench import realworld_corpus

    made = realworld_corpus.make_corpus(folder, 3, 7300)
    return [(p.kind, p.dpi, p.path, p.image, p.truth) for p in made]


def cpu() -> tuple[float, float]:
    """CPU seconds so far of the programs this process started, and of this process."""
    kids, me = (resource.getrusage(who) for who in (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF))
    return kids.ru_utime + kids.ru_stime, me.ru_utime + me.ru_stime


def read_sohoa(path: Path, work: Path, settings: Settings, max_dpi: int | None) -> str:
    """The page's text as sohoa reads it with ``max_ocr_dpi = max_dpi``."""
    data = path.read_bytes()
    fmt = detect_format(path, limits=settings.limits)
    source = SourceFile(
        name=path.name, sha256=hashlib.sha256(data).hexdigest(), size=len(data), format=fmt
    )
    pages = iter_pages(source, path, work / path.stem, start_index=0, limits=settings.limits)
    opts = settings.ocr.model_copy(update={"max_ocr_dpi": max_dpi})
    return "\n".join(ocr_page(page, opts).text for page in pages)


def read_raw(image: Path) -> str:
    """Raw Tesseract, one thread, on the image as the office has it."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    done = subprocess.run(
        ["tesseract", str(image), "-", "-l", "vie"], env=env, capture_output=True, check=True
    )
    return done.stdout.decode("utf-8")


def measure(name: str, variants: list[int | None]) -> dict[str, list[tuple[str, float, float]]]:
    """Per system: (kind, CER, Tesseract CPU s, Python CPU s) per page."""
    folder = OUT / "ocr_dpi" / name
    settings = Settings(data_dir=folder / "data")
    results: dict[str, list] = {}
    for kind, dpi, path, image, truth in corpus(name, folder / "in"):
        systems = [("raw Tesseract", read_raw, (image,))] + [
            (f"sohoa, max_ocr_dpi {v or 'off'}", read_sohoa, (path, folder, settings, v))
            for v in variants
        ]
        for label, read, args in systems:
            (k0, p0) = cpu()
            text = read(*args)
            (k1, p1) = cpu()
            results.setdefault(label, []).append((kind, cer(truth, text), k1 - k0, p1 - p0))
        print(f"{path.name} ({dpi:.0f} dpi) done", flush=True)
    return results


def table(name: str, results: dict[str, list]) -> str:
    """One row per system: mean CER overall and per kind, CPU totals."""
    kinds = list(dict.fromkeys(kind for kind, *_ in next(iter(results.values()))))
    head = ["system", "mean CER", "Tesseract CPU s", "Python CPU s", *kinds]
    lines = [f"### {name}", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for label, rows in results.items():
        per_kind = [statistics.mean(c for k, c, *_ in rows if k == kind) for kind in kinds]
        cells = [
            label,
            f"{statistics.mean(c for _, c, *_ in rows) * 100:.2f} %",
            f"{sum(r[2] for r in rows):.1f}",
            f"{sum(r[3] for r in rows):.1f}" if label.startswith("sohoa") else "",
            *(f"{c * 100:.2f} %" for c in per_kind),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="off,240,200")
    parser.add_argument("--corpus", nargs="+", choices=["gen", "real"], default=["gen", "real"])
    args = parser.parse_args()
    variants = [None if v == "off" else int(v) for v in args.variants.split(",")]
    text = "\n\n".join(table(name, measure(name, variants)) for name in args.corpus)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ocr_dpi.md").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
