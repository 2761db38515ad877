"""Python CPU of the second reading (:mod:`ocr.reread`): a frozen copy against the current one.

Run: ``.venv/bin/python bench/reread_speed.py [--per-kind 3] [--realworld 2] [--reps 3]
[--kinds a,b] [--real-kinds a,b] [--cache FILE] [--no-pipeline]`` (defaults: 27 benchmark
pages and 8 real-world pages, about 10 minutes on 2 cores).

Why: the second reading runs on every page after the page's Tesseract run; besides the
Tesseract processes it starts it costs Python CPU (thresholds, connected components, rows
of the TSV), which a change to it must cut without changing a single word read.

How: pages of several kinds are rendered with ``bench/ocr_corpus.py`` (``make_page``) and
``bench/realworld_corpus.py`` (phone photos, 1-bit 200-dpi scans with seals, colour scans,
yellowed paper with notes), extracted with :func:`ocr.pages.iter_pages` as the pipeline does,
and OCR'd with :func:`ocr.engine.ocr_page` twice: once with the frozen copy
``ocr/reread.py`` as it was at :data:`BEFORE` (read from git) put in place of :func:`ocr.reread.reread_page` (monkeypatched into
:mod:`ocr.engine`), once with the current module. Each run's ``PageOcr.text`` and words must
be identical. The inputs each page's second reading got (cleaned image, page TSV, dpi) are
kept, and both versions are then timed on them again, ``--reps`` times, interleaved (old
first on even rounds, new first on odd ones), each output checked equal to the other's,
column for column and type for type. Python CPU is :func:`time.thread_time` around the
call (the benchmark is single-threaded; OpenCV is held to one thread as ``ocr_page`` does);
Tesseract's CPU is ``RUSAGE_CHILDREN`` (user + system) around the same call.

``--cache FILE`` keeps the captured inputs (a pickle) so a second run skips the page OCR;
``--no-pipeline`` then only times and compares the second readings.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/ holds an ``ocr.py``, named like the ``ocr`` package: keep its folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import copy
import hashlib
import pickle
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass

import cv2
import numpy as np

import ocr.engine
import ocr.reread as new_reread
from bench import ocr_corpus, realworld_corpus
from bench.git_module import module_at
from ocr.pages import iter_pages
from schemas.models import SourceFile
from schemas.settings import LimitSettings, OcrSettings

OPTS = OcrSettings()
LIMITS = LimitSettings()
BEFORE = "09d6da15899301a2f8a1415b6ecdb4967bff0811"
"""The commit whose ``ocr/reread.py`` is timed beside the working tree's."""
DEFAULT_KINDS = (
    "clean",
    "skew 1-5°",
    "blur",
    "noise + JPEG q40-60",
    "uneven light",
    "red seals",
    "borders + punch holes",
    "rotated 90°",
    "rotated 180°",
)
DEFAULT_REAL = ("phone photo", "bilevel 200 dpi", "colour 200 dpi", "yellowed + notes")


def load_old():
    """``ocr/reread.py`` as it was at :data:`BEFORE`, read from git."""
    return module_at(BEFORE, "ocr/reread.py", "reread_old")


@dataclass
class Captured:
    name: str
    kind: str
    image: np.ndarray
    data: dict
    dpi: float


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(fn, image, data, dpi):
    """(result, Python CPU s, Tesseract CPU s) of one second reading on a copy of ``data``."""
    data = copy.deepcopy(data)
    c0, p0 = _children_cpu(), time.thread_time()
    out = fn(image, data, OPTS, dpi)
    p1, c1 = time.thread_time(), _children_cpu()
    return out, p1 - p0, c1 - c0


def _format(path: Path) -> str:
    head = path.read_bytes()[:8]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"\xff\xd8"):
        return "jpeg"
    if head.startswith(b"\x89PNG"):
        return "png"
    return "tiff"


def source_of(path: Path) -> SourceFile:
    data = path.read_bytes()
    return SourceFile(
        name=path.name,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        format=_format(path),
    )


def make_inputs(args, tmp: Path) -> list[tuple[str, str, Path]]:
    files = []
    kinds = list(ocr_corpus.KINDS)
    for kind in args.kinds:
        k = kinds.index(kind)
        for i in range(args.per_kind):
            page = ocr_corpus.make_page(kind, i, k, 3000 + 100 * k + i, tmp / "corpus")
            files.append((page.name, kind, page.path))
    (tmp / "real").mkdir()
    for kind in args.real_kinds:
        k = realworld_corpus.KINDS.index(kind)
        for i in range(args.realworld):
            page = realworld_corpus.make_page(
                kind, i, 7100 + 100 * k + i, tmp / "real", tmp / "real" / "keys"
            )
            files.append((page.name, kind, page.path))
    return files


def recording(fn, seen: dict, label: str):
    """``fn`` (a ``reread_page``), keeping the inputs it is called with in ``seen[label]``."""

    def call(image, data, opts, dpi):
        seen[label] = (image.copy(), copy.deepcopy(data), dpi)
        return fn(image, data, opts, dpi)

    return call


def pipeline(files, tmp: Path, old) -> list[Captured]:
    """OCR every page with the old and the new second reading; same text and words."""
    captured: list[Captured] = []
    for name, kind, path in files:
        for page in iter_pages(
            source_of(path), path, tmp / "p" / name, start_index=0, limits=LIMITS
        ):
            seen: dict = {}
            try:
                ocr.engine.reread_page = recording(old.reread_page, seen, "old")
                before = ocr.engine.ocr_page(page, OPTS)
                ocr.engine.reread_page = recording(new_reread.reread_page, seen, "new")
                after = ocr.engine.ocr_page(page, OPTS)
            finally:
                ocr.engine.reread_page = new_reread.reread_page
            assert before.text == after.text, f"{name}: text differs"
            assert before.words == after.words, f"{name}: words differ"
            if "old" not in seen:
                print(f"{name}: blank page, no second reading")
                continue
            image, data, dpi = seen["old"]
            assert np.array_equal(image, seen["new"][0]) and data == seen["new"][1]
            captured.append(Captured(f"{name}/{page.index}", kind, image, data, dpi))
            print(f"{name:36s} {kind:22s} {len(before.words):4d} words: same text and words")
    return captured


def same(a: dict, b: dict) -> bool:
    """Equal columns, value for value and type for type."""
    if list(a) != list(b):
        return False
    return all(
        len(a[k]) == len(b[k]) and all(type(x) is type(y) and x == y for x, y in zip(a[k], b[k]))
        for k in a
    )


def compare(captured: list[Captured], old, reps: int) -> None:
    times = {name: {"old": [], "new": []} for name in (c.name for c in captured)}
    for rep in range(reps):
        order = (("old", old.reread_page), ("new", new_reread.reread_page))
        if rep % 2:
            order = order[::-1]
        for c in captured:
            outs = {}
            for label, fn in order:
                outs[label], py, child = timed(fn, c.image, c.data, c.dpi)
                times[c.name][label].append((py, child))
            assert same(outs["old"], outs["new"]), f"{c.name}: second readings differ"
    rows = []
    by_kind: dict[str, list] = {}
    for c in captured:
        t = times[c.name]
        med = {
            label: (
                statistics.median(p for p, _ in t[label]),
                statistics.median(ch for _, ch in t[label]),
            )
            for label in t
        }
        rows.append((c.name, c.kind, med))
        by_kind.setdefault(c.kind, []).append(med)
    print(f"\n{reps} rounds, medians per page; Python = thread CPU, Tesseract = RUSAGE_CHILDREN\n")
    head = "| page | kind | Python old ms | Python new ms | new/old | Tesseract old ms | Tesseract new ms |"
    print(head)
    print("|" + " --- |" * 7)
    for name, kind, m in rows:
        print(
            f"| {name} | {kind} | {1000 * m['old'][0]:.0f} | {1000 * m['new'][0]:.0f} | "
            f"{m['new'][0] / max(m['old'][0], 1e-9):.2f} | {1000 * m['old'][1]:.0f} | "
            f"{1000 * m['new'][1]:.0f} |"
        )
    print(
        "\n| kind | pages | Python old ms/page | Python new ms/page | new/old | Tesseract old | Tesseract new |"
    )
    print("|" + " --- |" * 7)
    everything = []
    for kind, meds in [*by_kind.items(), ("all", None)]:
        meds = meds if meds is not None else everything
        if kind != "all":
            everything += meds
        po = sum(m["old"][0] for m in meds) / len(meds)
        pn = sum(m["new"][0] for m in meds) / len(meds)
        co = sum(m["old"][1] for m in meds) / len(meds)
        cn = sum(m["new"][1] for m in meds) / len(meds)
        print(
            f"| {kind} | {len(meds)} | {1000 * po:.0f} | {1000 * pn:.0f} | {pn / max(po, 1e-9):.2f}"
            f" | {1000 * co:.0f} | {1000 * cn:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=3)
    parser.add_argument("--realworld", type=int, default=2)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(DEFAULT_KINDS))
    parser.add_argument("--real-kinds", default=",".join(DEFAULT_REAL))
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--no-pipeline", action="store_true")
    args = parser.parse_args()
    args.kinds = [k for k in args.kinds.split(",") if k]
    args.real_kinds = [k for k in args.real_kinds.split(",") if k]
    cv2.setNumThreads(1)
    old = load_old()
    if args.no_pipeline and args.cache and args.cache.is_file():
        captured = pickle.loads(args.cache.read_bytes())
    else:
        with tempfile.TemporaryDirectory(prefix="sohoa-reread-speed-") as tmp:
            files = make_inputs(args, Path(tmp))
            captured = pipeline(files, Path(tmp), old)
        if args.cache:
            args.cache.write_bytes(pickle.dumps(captured))
    compare(captured, old, args.reps)


if __name__ == "__main__":
    main()
