"""CPU time of sohoa's own page work outside Tesseract: decoding and cleaning, per step and kind.

Run: ``.venv/bin/python bench/clean_profile.py [--corpus DIR] [--rounds N] [--cprofile]``
or ``... --compare REV`` to time the ``ocr`` package of git revision ``REV`` (read with
``git show``, the working tree is not touched) against the working tree.

Why: ``bench/ocr.py`` runs Tesseract, which dominates its wall time, and the machine may be
shared; what limits sohoa against the Tesseract bound is its own CPU per page
(``ocr.engine.load_page_pixels`` + ``ocr.clean.clean_for_ocr``), which competes with
Tesseract for the same cores. This script measures exactly that, as CPU time
(``time.process_time``, one thread, ``cv2.setNumThreads(1)``), so other processes' load
does not disturb it.

Method: the OCR benchmark corpus (:func:`bench.ocr_corpus.make_corpus`, seed 3000, 4 pages
per kind) is rendered once to a temporary (or given) folder. Each variant runs in its own
child process with its ``ocr`` package first on ``sys.path``; there every public and private
function of the ``ocr.clean``/``ocr.orient`` modules (and of any other cleaning module the
variant has) is wrapped by a timer that charges its *exclusive* CPU time (time in nested
timed calls is charged to them), then each page is decoded and cleaned ``--rounds`` times
and the fastest round per page is kept. Functions are grouped into steps by name
(:data:`STEPS`); the remainder of ``clean_for_ocr`` is "other". With ``--compare`` the
variants also report whether they clean the pages identically (steps, rotation, skew,
blank flag, and pixel differences of the cleaned images).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse
import json
import subprocess
import tempfile
import time
import types
from collections import defaultdict
from collections.abc import Callable

SEED = 3000
PER_KIND = 4
STEPS: dict[str, tuple[str, ...]] = {
    label: tuple(names.split())
    for label, names in {
        "decode": "load_page_pixels",
        "grey + colour": "suppress_colour _to_gray _lift _strong _probe _may_have_colour",
        "100-dpi copies": "_map_copy map_copy",
        "borders": "_remove_borders remove_borders _border_map border_map _paper_fill "
        "paper_fill _hole_like hole_like _touching",
        "illumination": "_normalise_illumination normalise_illumination lighting",
        "shared paper maps": "_coarse_paper coarse_paper _closing closing percentiles "
        "darker_than_border _replace_dark_objects _upsize upsize _px px",
        "noise gate + median": "speck_fraction",
        "blank check": "_blank is_blank blank _marks _inside_marks _has_content",
        "orientation copies": "flip_copy work_copy _two_thirds block_mean integer_factor",
        "ink sampling": "ink_sample",
        "component labelling": "label_components",
        "orientation cues": "find_rotation detect_rotation flip_score _line_spans _core",
        "Tesseract OSD (Python side)": "osd_rotation",
        "skew search": "skew_from_points profile_scores _rows _thin _refine_peak _skew",
        "upscale/turn/deskew": "_resize turn_image turn_matrix turn_points _rotate _as3",
        "binarise": "binarise",
    }.items()
}
"""Step label -> names of the functions whose exclusive CPU time it sums."""


# --- child: one variant -------------------------------------------------------------


class _Timer:
    """Exclusive CPU time per wrapped function name, for one thread."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[list[float]] = []  # [start, time of nested timed calls]

    def wrap(self, name: str, func: Callable) -> Callable:
        def timed(*args, **kwargs):
            self._stack.append([time.process_time(), 0.0])
            try:
                return func(*args, **kwargs)
            finally:
                start, nested = self._stack.pop()
                total = time.process_time() - start
                self.spent[name] += total - nested
                if self._stack:
                    self._stack[-1][1] += total

        timed.__wrapped__ = func  # type: ignore[attr-defined]
        return timed


def _instrument(timer: _Timer) -> None:
    """Wrap every function defined in a loaded ``ocr`` module, wherever it is referenced."""
    modules = [m for n, m in sys.modules.items() if n.startswith("ocr.") and m is not None]
    originals: dict[int, tuple[str, Callable]] = {}
    for module in modules:
        for name, obj in vars(module).items():
            if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
                originals[id(obj)] = (name, obj)
    wrappers = {key: timer.wrap(name, func) for key, (name, func) in originals.items()}
    for module in modules:
        for name, obj in list(vars(module).items()):
            if id(obj) in wrappers and originals[id(obj)][1] is obj:
                setattr(module, name, wrappers[id(obj)])


def _page_images(corpus: Path) -> list[dict]:
    """The rendered pages' names, kinds, paths, dpi and sizes (``pages.json``)."""
    return json.loads((corpus / "pages.json").read_text(encoding="utf-8"))


def _clean_once(page: dict, timer: _Timer) -> tuple[dict[str, float], object]:
    """Decode and clean one page; exclusive CPU per function plus clean_for_ocr's own."""
    from ocr import clean, engine
    from schemas.models import PageImage
    from schemas.settings import OcrSettings

    image = PageImage(
        index=0,
        path=page["path"],
        source=page["name"],
        source_page=0,
        width=page["width"],
        height=page["height"],
        dpi=page["dpi"],
        mode="RGB",
        encoding="jpeg",
    )
    timer.spent.clear()
    pixels = engine.load_page_pixels(image)
    result = clean.clean_for_ocr(pixels, dpi=page["dpi"], opts=OcrSettings())
    return dict(timer.spent), result


def child(corpus: Path, rounds: int, out: Path, save_images: Path | None) -> None:
    """Time every corpus page ``rounds`` times in this process; write the fastest as JSON."""
    import cv2

    cv2.setNumThreads(1)
    import ocr.clean
    import ocr.engine
    import ocr.orient

    timer = _Timer()
    _instrument(timer)
    results = []
    for page in _page_images(corpus):
        best: dict[str, float] | None = None
        for _ in range(rounds):
            spent, cleaned = _clean_once(page, timer)
            if best is None or sum(spent.values()) < sum(best.values()):
                best = spent
        if save_images is not None:
            cv2.imwrite(
                str(save_images / f"{page['name']}.png"),
                cleaned.image,
                [cv2.IMWRITE_PNG_COMPRESSION, 1],
            )
        results.append(
            {
                "name": page["name"],
                "kind": page["kind"],
                "spent": best,
                "steps": list(cleaned.steps),
                "rotation": int(cleaned.rotation),
                "skew": float(cleaned.skew_deg),
                "blank": bool(cleaned.blank),
            }
        )
    out.write_text(json.dumps({"pages": results, "module": ocr.clean.__file__}), encoding="utf-8")


# --- parent: corpus, variants, tables ----------------------------------------------


def render_corpus(folder: Path) -> Path:
    """Render the benchmark corpus into ``folder`` unless it already holds it."""
    index = folder / "pages.json"
    if index.is_file():
        return folder
    sys.path.insert(0, str(ROOT))
    from bench.ocr_corpus import make_corpus

    print(f"rendering the corpus (seed {SEED}, {PER_KIND} pages per kind) into {folder}")
    pages = make_corpus(folder, PER_KIND, SEED)
    import cv2

    meta = []
    for p in pages:
        h, w = cv2.imread(str(p.path), cv2.IMREAD_UNCHANGED).shape[:2]
        meta.append(
            {
                "name": p.name,
                "kind": p.kind,
                "path": str(p.path),
                "dpi": p.dpi,
                "width": w,
                "height": h,
            }
        )
    index.write_text(json.dumps(meta), encoding="utf-8")
    return folder


def export_revision(rev: str, dest: Path) -> Path:
    """Copy the ``ocr`` package of git revision ``rev`` into ``dest``; return ``dest``."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{rev}:ocr"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    (dest / "ocr").mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.endswith((".py", ".toml")):
            blob = subprocess.run(
                ["git", "show", f"{rev}:ocr/{name}"], cwd=ROOT, check=True, capture_output=True
            ).stdout
            (dest / "ocr" / name).write_bytes(blob)
    return dest


def run_variant(
    code_root: Path, corpus: Path, rounds: int, work: Path, label: str, save: bool
) -> dict:
    """Run :func:`child` in a fresh interpreter with ``code_root`` first on the import path."""
    out = work / f"{label}.json"
    images = work / f"{label}-images"
    images.mkdir(exist_ok=True)
    argv = ["clean_profile", "--child", str(corpus), str(rounds), str(out)]
    argv.append(str(images) if save else "")
    code = (
        f"import sys; sys.path[:0] = [{str(code_root)!r}, {str(ROOT)!r}]; sys.argv = {argv!r}; "
        f"import runpy; runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    return json.loads(out.read_text(encoding="utf-8"))


def step_of(name: str) -> str:
    for label, names in STEPS.items():
        if name in names:
            return label
    return "other" if name == "clean_for_ocr" else f"other: {name}"


def step_table(result: dict) -> tuple[list[str], dict[str, dict[str, float]]]:
    """(kinds, {step: {kind: mean ms per page}}) with an ``all`` column and a total row."""
    kinds = list(dict.fromkeys(p["kind"] for p in result["pages"]))
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, int] = defaultdict(int)
    for page in result["pages"]:
        counts[page["kind"]] += 1
        for name, seconds in page["spent"].items():
            for col in (page["kind"], "all"):
                sums[step_of(name)][col] += seconds
                sums["TOTAL"][col] += seconds
    counts["all"] = len(result["pages"])
    order = (
        [s for s in [*STEPS, "other"] if s in sums]
        + sorted(s for s in sums if s.startswith("other: "))
        + ["TOTAL"]
    )
    return kinds, {s: {k: 1000 * sums[s][k] / counts[k] for k in [*kinds, "all"]} for s in order}


def format_table(result: dict, title: str) -> str:
    kinds, rows = step_table(result)
    head = ["step (ms CPU/page)", *[k[:12] for k in kinds], "all", "s / 36 p"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    n = len(result["pages"])
    for step, by_kind in rows.items():
        cells = [f"{by_kind[k]:.0f}" for k in [*kinds, "all"]]
        lines.append(f"| {step} | " + " | ".join(cells) + f" | {by_kind['all'] * n / 1000:.2f} |")
    return "\n".join(lines)


def behaviour_diff(a: dict, b: dict, work: Path, labels: tuple[str, str]) -> str:
    """Pages whose cleaning differs between the variants: steps, rotation, skew, pixels."""
    import cv2
    import numpy as np

    lines = [
        "### behaviour",
        "",
        "| page | A steps | B steps | A skew | B skew | pixels differing | mean abs diff |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    same = 0
    for pa, pb in zip(a["pages"], b["pages"], strict=True):
        ia = cv2.imread(str(work / f"{labels[0]}-images" / f"{pa['name']}.png"), 0)
        ib = cv2.imread(str(work / f"{labels[1]}-images" / f"{pb['name']}.png"), 0)
        if ia.shape != ib.shape:
            frac, mad = 1.0, float("nan")
        else:
            d = cv2.absdiff(ia, ib)
            frac, mad = np.count_nonzero(d) / d.size, float(d.mean())
        if pa["steps"] == pb["steps"] and frac == 0:
            same += 1
            continue
        lines.append(
            f"| {pa['name']} | {' '.join(pa['steps'])} | {' '.join(pb['steps'])} "
            f"| {pa['skew']:.3f} | {pb['skew']:.3f} | {100 * frac:.3f} % | {mad:.3f} |"
        )
    lines.append(f"\n{same} of {len(a['pages'])} pages cleaned identically.")
    return "\n".join(lines)


def profile(corpus: Path, limit: int) -> None:
    """cProfile of decoding + cleaning every page once (working tree), top ``limit`` by tottime."""
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT))
    import cv2

    cv2.setNumThreads(1)
    timer = _Timer()
    pages = _page_images(corpus)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for page in pages:
        _clean_once(page, timer)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder to render into / reuse")
    parser.add_argument("--rounds", type=int, default=2, help="runs per page; fastest kept")
    parser.add_argument("--compare", metavar="REV", help="git revision to compare against")
    parser.add_argument("--cprofile", type=int, nargs="?", const=40, metavar="N")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        corpus, rounds, out, images = args.child
        child(Path(corpus), int(rounds), Path(out), Path(images) if images else None)
        return
    with tempfile.TemporaryDirectory(prefix="sohoa-clean-profile-") as tmp:
        work = Path(tmp)
        corpus = render_corpus(args.corpus or work / "corpus")
        if args.cprofile:
            profile(corpus, args.cprofile)
            return
        results: dict[str, dict] = {}
        if args.compare:
            base = export_revision(args.compare, work / "base")
            results[f"A: {args.compare}"] = run_variant(base, corpus, args.rounds, work, "A", True)
        results["B: working tree" if args.compare else "working tree"] = run_variant(
            ROOT, corpus, args.rounds, work, "B", bool(args.compare)
        )
        for title, result in results.items():
            print(format_table(result, title), "\n")
        if args.compare:
            a, b = results.values()
            ta, tb = (sum(sum(p["spent"].values()) for p in r["pages"]) for r in (a, b))
            print(f"total CPU: A {ta:.2f} s, B {tb:.2f} s ({100 * (tb / ta - 1):+.0f} %)\n")
            print(behaviour_diff(a, b, work, ("A", "B")))


if __name__ == "__main__":
    main()
