"""Archival PDF size and fidelity: sohoa's MRC against the scan as it came and OCRmyPDF -O3.

Run: ``.venv/bin/python bench/archive.py [--pages-per-type N] [--no-pdfa-variant]``
(default N = 4, i.e. 36 pages, about 12 minutes on 2 cores).

Why: a province keeps every page in colour for decades, so bytes per page decide what
the archive costs; the domain rules (colour, at least 200 dpi, red seals stay red) and
the OCR of the archived copy decide whether a smaller file is still a faithful copy.
On the *same* pages of :mod:`bench.ocr_corpus` (nine kinds of damage, 300/200 dpi
scanner JPEGs), in one run:

1. ``original``: ``build_archival_pdf(image_mode="original")``, the scan's JPEG embedded
   byte for byte, with sohoa's text layer (the size of the archive before MRC);
2. ``mrc``: ``build_archival_pdf(image_mode="mrc")``, sohoa's default;
3. ``ocrmypdf -l vie --optimize 3 --jobs 2 --output-type pdf`` on the scanner PDF of the
   same JPEGs, and the same with ``--output-type pdfa-2`` (unless ``--no-pdfa-variant``).

Bytes per page: each sohoa page is built as its own PDF (PDF/A overhead, font and text
layer included, unsigned); OCRmyPDF's output is split into one-page files with ``qpdf
--split-pages`` (each keeps its own copy of shared resources), so both carry the same
per-file overhead; the amortised size (whole file / pages) is shown too.
Fidelity: every archived page is rasterised with ``pdftoppm`` at the scan's dpi and read
again by sohoa's OCR (``ocr.engine.ocr_page``, Tesseract ``vie``) and by raw ``tesseract
-l vie``; CER is against the corpus truth (:func:`samples.synth.cer`). On red-seal pages the
share of the scan's red pixels (R > 150, R-G > 60, R-B > 60) still red in the archived
page is counted. PDF/A-2b is checked with PyPI ``page-validation`` when it is installed.
No thresholds are asserted; the targets table states what was measured. Output: printed
and written to ``bench/out/archive.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
from PIL import Image

from bench.ocr_corpus import KINDS, CorpusPage, make_corpus, page_image, write_batch_pdf
from bench.pipeline import git, load, measure, table, tesseract_env, write_report
from samples.synth import cer
from schemas.models import PageImage, PageOcr
from schemas.settings import OcrSettings, PdfSettings

OUT_MD = ROOT / "bench" / "out" / "archive.md"
CORES = os.cpu_count() or 1
SEED = 3000
OPTS = OcrSettings()
OCRMYPDF = Path(sys.executable).parent / "ocrmypdf"
TARGET_KB = 150
TARGET_CER_POINTS = 0.2
KB = 1024


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the report."""
    print(f"[bench-archive] {message}", file=sys.stderr, flush=True)


def parallel(fn, items: Sequence) -> list:
    with ThreadPoolExecutor(max_workers=CORES) as pool:
        return list(pool.map(fn, items))


# --------------------------------------------------------------------------- building


def build_sohoa(pages, readings, mode: str, out_dir: Path) -> dict:
    """One single-page archival PDF per page, built one after the other and timed each."""
    from pdf.assemble import build_archival_pdf

    out_dir.mkdir(parents=True, exist_ok=True)
    settings, files, seconds = PdfSettings(image_mode=mode), [], []
    for i, (page, reading) in enumerate(zip(pages, readings, strict=True)):
        dest = out_dir / f"{i:03d}.pdf"
        t0 = time.perf_counter()
        build_archival_pdf(
            [page], [reading], dest, metadata={"recordId": f"bench-{i}"}, settings=settings
        )
        seconds.append(time.perf_counter() - t0)
        files.append(dest)
    return {"files": files, "seconds": seconds, "pages_of": [(f, 1) for f in files]}


def run_ocrmypdf(batch: Path, work: Path, output_type: str, n: int) -> dict:
    """OCRmyPDF on the whole scanner PDF, then split into one-page files."""
    out = work / f"ocrmypdf-{output_type}.pdf"
    args = [str(OCRMYPDF), "-l", "vie", "--optimize", "3", "--jobs", str(CORES)]
    args += ["--output-type", output_type, str(batch), str(out)]
    log(" ".join(["ocrmypdf", *args[1:]]))
    env = tesseract_env(None)
    run = measure(lambda: subprocess.run(args, capture_output=True, env=env, check=False))
    done = run.result
    if done.returncode != 0 or not out.is_file():
        return {"error": done.stderr.decode("utf-8", "replace").strip()[-600:], "run": run}
    split = work / f"split-{output_type}"
    split.mkdir()
    subprocess.run(["qpdf", "--split-pages", str(out), str(split / "p.pdf")], check=True)
    files = sorted(split.glob("p-*.pdf"))
    assert len(files) == n, (len(files), n)
    return {"files": files, "whole": out, "run": run, "pages_of": [(out, i + 1) for i in range(n)]}


# --------------------------------------------------------------------------- reading back


def rasterise(pdf: Path, number: int, dpi: int, dest: Path) -> Path:
    args = ["pdftoppm", "-r", str(dpi), "-f", str(number), "-l", str(number), "-png"]
    subprocess.run([*args, "-singlefile", str(pdf), str(dest)], check=True, timeout=300)
    return dest.with_name(dest.name + ".png")


def raw_tesseract(image: Path) -> str:
    args = ["tesseract", str(image), "-", "-l", OPTS.language]
    done = subprocess.run(args, capture_output=True, env=tesseract_env(1), check=False)
    return done.stdout.decode("utf-8", "replace")


def sohoa_read(page: PageImage) -> PageOcr:
    from ocr.engine import ocr_page

    return ocr_page(page, OPTS)


def red_pixels(path: Path, size: tuple[int, int]) -> np.ndarray:
    with Image.open(path) as img:
        rgb = np.asarray(img.convert("RGB").resize(size)).astype(np.int16)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (r > 150) & (r - g > 60) & (r - b > 60)


def read_back(
    system: dict, corpus: list[CorpusPage], scans: list[PageImage], work: Path, raw: bool
):
    """Rasterise every archived page at the scan's dpi; OCR it; count the seal's red."""
    folder = work / f"shown-{system['name']}"
    folder.mkdir()

    def one(i: int) -> dict:
        pdf, number = system["pages_of"][i]
        png = rasterise(pdf, number, corpus[i].dpi, folder / f"{i:03d}")
        with Image.open(png) as img:
            size = img.size
        shown = scans[i].model_copy(
            update={"path": str(png), "encoding": "png", "width": size[0], "height": size[1]}
        )
        row = {"cer": cer(corpus[i].truth, sohoa_read(shown).text)}
        if raw:
            row["raw_cer"] = cer(corpus[i].truth, raw_tesseract(png))
        if corpus[i].kind == "red seals":
            before = red_pixels(corpus[i].path, (scans[i].width, scans[i].height))
            after = red_pixels(png, (scans[i].width, scans[i].height))
            row["red_kept"] = float((before & after).sum() / max(1, before.sum()))
        return row

    return parallel(one, list(range(len(corpus))))


def pdfa_verdicts(files: Sequence[Path]) -> str:
    try:
        import page as validator
    except ImportError:
        return "n/a (page-validation not installed)"
    ok = sum(validator.validate_pdf(str(f), profile="2b").is_compliant for f in files)
    return f"{ok}/{len(files)}"


# --------------------------------------------------------------------------- memory


def child_build(listing: Path, out: Path) -> None:
    """Hidden mode: build one MRC archival PDF of the listed pages; print peak memory as JSON."""
    from pdf.assemble import build_archival_pdf

    pages = [PageImage.model_validate(p) for p in json.loads(listing.read_text())]
    t0 = time.perf_counter()
    build_archival_pdf(pages, [None] * len(pages), out, metadata={"recordId": "bench"})
    wall = time.perf_counter() - t0
    print(json.dumps({"hwm_kib": _vm_hwm_kib(), "wall": wall, "size": out.stat().st_size}))


def _vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def memory_runs(scans: list[PageImage], work: Path) -> list[dict]:
    runs = []
    for count in (len(scans), 2 * len(scans)):
        chosen = [scans[i % len(scans)].model_dump() for i in range(count)]
        listing = work / f"pages-{count}.json"
        listing.write_text(json.dumps(chosen))
        args = [sys.executable, str(Path(__file__).resolve()), "--child-build", str(listing)]
        args += ["--child-out", str(work / f"batch-{count}.pdf")]
        log(f"memory child, {count} pages")
        done = subprocess.run(args, capture_output=True, text=True, check=True)
        runs.append({"n": count, **json.loads(done.stdout.strip().splitlines()[-1])})
    return runs


# --------------------------------------------------------------------------- report


def kb(values) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=float) / KB
    return float(np.median(arr)), float(arr.mean()), float(arr.max())


def size_table(systems: list[dict], n: int) -> str:
    scan_median = np.median([s for s in systems[0]["sizes"]])
    rows = []
    for s in systems:
        med, mean, worst = kb(s["sizes"])
        rows.append(
            [
                s["label"],
                f"{med:,.0f}",
                f"{mean:,.0f}",
                f"{worst:,.0f}",
                f"{sum(v <= TARGET_KB * KB for v in s['sizes'])}/{n}",
                f"{scan_median / np.median(s['sizes']):.1f}",
                f"{s['whole_kb_per_page']:,.0f}",
                s["time"],
            ]
        )
    headers = [
        "system",
        "median KB/page",
        "mean KB/page",
        "max KB/page",
        f"pages ≤ {TARGET_KB} KB",
        "x smaller (median)",
        "whole file KB/page",
        "time per page",
    ]
    note = (
        "\nKB = 1024 bytes. Per page = a one-page PDF (sohoa: built alone; OCRmyPDF: "
        "`qpdf --split-pages` of its output); whole file = the multi-page PDF / pages "
        "(sohoa: the memory run's batch without text layer; OCRmyPDF: its output). sohoa's "
        "time = `build_archival_pdf` of one page, one core, text layer included, OCR "
        "excluded; OCRmyPDF's = its wall time / pages with "
        f"{CORES} jobs, OCR included (it cannot optimise without reading)."
    )
    return "## Bytes per page\n\n" + table(headers, rows) + "\n" + note


def fidelity_table(systems: list[dict], corpus: list[CorpusPage]) -> str:
    base = np.array([r["cer"] for r in systems[0]["read"]])
    rows = []
    for s in systems:
        cers = np.array([r["cer"] for r in s["read"]])
        raw = [r["raw_cer"] for r in s["read"] if "raw_cer" in r]
        red = [r["red_kept"] for r in s["read"] if "red_kept" in r]
        delta = (cers - base) * 100
        rows.append(
            [
                s["label"],
                f"{cers.mean() * 100:.2f}",
                f"{delta.mean():+.2f}",
                f"{delta.max():+.2f}",
                f"{np.mean(raw) * 100:.2f}" if raw else "",
                f"{np.mean(red) * 100:.0f} %" if red else "",
                s["dpi"],
                s["pdfa"],
            ]
        )
    headers = [
        "system",
        "CER % (sohoa OCR)",
        "Δ vs scan, points",
        "worst page Δ",
        "CER % (raw tesseract)",
        "seal red pixels kept",
        "lowest dpi of a page's sharpest image",
        "PDF/A-2b files (page-validation)",
    ]
    note = (
        "\nCER = mean over pages of edit distance / truth length, sohoa OCR of the page "
        "rasterised by `pdftoppm` at the scan's dpi (the scan row reads the scanner JPEG "
        "itself; `original` embeds it unchanged). Raw Tesseract has no orientation or seal "
        "handling, so its turned and sealed pages score badly for scan and copy alike. "
        "'Seal red pixels kept' = share of the scan's red pixels still red at the same "
        "place, red-seal pages only. PDF/A-2b: sohoa's one-page files, OCRmyPDF's whole "
        "output (its split pages lose the document's metadata). Unsigned files; signing "
        "appends an incremental update."
    )
    return "## Fidelity of the archived page\n\n" + table(headers, rows) + "\n" + note


def kinds_table(systems: list[dict], corpus: list[CorpusPage]) -> str:
    kinds = np.array([p.kind for p in corpus])
    rows = []
    for kind in KINDS:
        mask = kinds == kind
        if not mask.any():
            continue
        row = [kind, int(mask.sum())]
        row += [f"{np.median(np.array(s['sizes'])[mask]) / KB:,.0f}" for s in systems]
        row += [
            f"{np.mean([r['cer'] for r, m in zip(s['read'], mask, strict=True) if m]) * 100:.2f}"
            for s in systems
        ]
        rows.append(row)
    headers = ["kind", "pages", *(f"{s['short']} KB" for s in systems)]
    headers += [f"{s['short']} CER %" for s in systems]
    return "## Per kind of page (median KB, mean CER)\n\n" + table(headers, rows)


def targets_table(systems: list[dict]) -> str:
    scan, mrc = systems[0], systems[1]
    med = np.median(mrc["sizes"]) / KB
    delta = (
        np.mean([r["cer"] for r in mrc["read"]]) - np.mean([r["cer"] for r in scan["read"]])
    ) * 100
    red = [r["red_kept"] for r in mrc["read"] if "red_kept" in r]
    rows = [
        [f"median ≤ {TARGET_KB} KB/page", f"{med:.0f} KB", _yes(med <= TARGET_KB)],
        [
            f"CER within {TARGET_CER_POINTS} points of the scan",
            f"{delta:+.2f} points",
            _yes(abs(delta) <= TARGET_CER_POINTS),
        ],
        [
            "red seals stay red",
            f"{np.mean(red) * 100:.0f} % of red pixels kept" if red else "n/a",
            _yes(bool(red) and np.mean(red) >= 0.8),
        ],
        ["≥ 200 dpi kept", f"lowest page: {mrc['dpi']} dpi", _yes(mrc["dpi"] >= 200)],
    ]
    return "## Targets (sohoa MRC)\n\n" + table(["target", "measured", "met"], rows)


def memory_table(runs: list[dict]) -> str:
    rows = [
        [
            r["n"],
            f"{r['wall']:.1f}",
            f"{r['wall'] / r['n'] * 1000:.0f}",
            f"{r['hwm_kib'] / 1024:.0f}",
            f"{r['size'] / r['n'] / KB:.0f}",
        ]
        for r in runs
    ]
    headers = ["pages", "wall s", "ms/page", "peak RSS MiB (VmHWM)", "KB/page"]
    note = (
        "\nA fresh child builds one MRC PDF of the corpus pages (repeated for 2N), no text "
        "layer. Pages are encoded one at a time; what grows with N is only the encoded "
        "pages held until qpdf writes the file (tens of KB each)."
    )
    return "## Memory of one MRC batch\n\n" + table(headers, rows) + "\n" + note


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def tool_version(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def header(n: int) -> str:
    dirty = [line.split(maxsplit=1)[1] for line in git("status", "--porcelain").splitlines()]
    return (
        f"# sohoa archival PDF benchmark\n\n- date: {datetime.now().isoformat(timespec='seconds')}\n"
        f"- machine: nproc {CORES}, {platform.machine()}, Python {platform.python_version()}\n"
        f"- {tool_version('tesseract', '--version')} (`vie`); OCRmyPDF "
        f"{tool_version(str(OCRMYPDF), '--version')}; Ghostscript "
        f"{tool_version('gs', '--version')}; {tool_version('pdftoppm', '-v')}\n"
        f"- code: commit {git('rev-parse', '--short', 'HEAD')}; uncommitted changes in: "
        f"{', '.join(dirty) or 'none'}\n"
        f"- 1-min load average at start: {Path('/proc/loadavg').read_text().split()[0]}\n"
        f"- corpus: {n} pages (`bench/ocr_corpus.py`, seed {SEED}), A4, {len(KINDS)} kinds, "
        f"scanner JPEGs at 300/200 dpi; settings: {PdfSettings().model_dump()}\n"
    )


# --------------------------------------------------------------------------- main


def sharpest_dpi(files: Sequence[Path]) -> int:
    """The lowest, over pages, of the resolution of each page's sharpest image."""
    import pikepdf

    lowest = None
    for path in files:
        with pikepdf.open(path) as pdf:
            for page in pdf.pages:
                width_in = float(page.MediaBox[2]) / 72
                images = [o for o in page.Resources.get("/XObject", {}).values()]
                dpi = max(int(o.Width) for o in images if "/Width" in o) / width_in
                lowest = dpi if lowest is None else min(lowest, dpi)
    return round(lowest or 0)


def scan_system(corpus, scans) -> tuple[dict, list[PageOcr], str]:
    """sohoa's OCR of the scans: the text layer for every build, and the scan's CER."""
    log("sohoa OCR of the scans")
    run = measure(lambda: parallel(sohoa_read, scans))
    rows = [
        {"cer": cer(p.truth, r.text), "raw_cer": cer(p.truth, raw_tesseract(p.path))}
        | ({"red_kept": 1.0} if p.kind == "red seals" else {})
        for p, r in zip(corpus, run.result, strict=True)
    ]
    note = (
        f"\nsohoa OCR of the {len(scans)} scans took {run.wall:.0f} s wall "
        f"({run.wall / len(scans) * 1000:.0f} ms/page, {CORES} threads) before building; "
        "for the `original` row's whole file, the one-page files' sum is shown."
    )
    return {"read": rows}, run.result, note


def sohoa_systems(scans, readings, work: Path) -> list[dict]:
    systems = []
    for mode in ("original", "mrc"):
        log(f"sohoa build, image_mode={mode}")
        built = build_sohoa(scans, readings, mode, work / f"sohoa-{mode}")
        label = f"sohoa `image_mode={mode}`"
        label += " (default)" if mode == PdfSettings().image_mode else ""
        label += " = scan JPEG as embedded today" if mode == "original" else ""
        systems.append(
            {
                "name": mode,
                "label": label,
                "short": "scan" if mode == "original" else "MRC",
                "sizes": [f.stat().st_size for f in built["files"]],
                "files": built["files"],
                "pages_of": built["pages_of"],
                "time": f"{np.mean(built['seconds']) * 1000:.0f} ms (build)",
            }
        )
    return systems


def ocrmypdf_systems(batch: Path, work: Path, n: int, variants) -> tuple[list[dict], list[str]]:
    systems, failures = [], []
    for output_type in variants:
        result = run_ocrmypdf(batch, work, output_type, n)
        if "error" in result:
            log(f"OCRmyPDF {output_type} failed: {result['error']}")
            failures.append(f"**OCRmyPDF `{output_type}` failed:**\n\n```\n{result['error']}\n```")
            continue
        run = result["run"]
        systems.append(
            {
                "name": f"ocrmypdf-{output_type}",
                "label": f"`ocrmypdf --optimize 3 --output-type {output_type}`",
                "short": f"OCRmyPDF {output_type}",
                "sizes": [f.stat().st_size for f in result["files"]],
                "files": result["files"],
                "pages_of": result["pages_of"],
                "whole_kb_per_page": result["whole"].stat().st_size / n / KB,
                "validate": [result["whole"]],
                "time": f"{run.wall / n * 1000:.0f} ms (OCR incl., {load(run)} other load)",
            }
        )
    return systems, failures


def run_all(per_type: int, pdfa_variant: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-archive-") as tmp:
        work = Path(tmp)
        top = header(per_type * len(KINDS))
        log(f"rendering {per_type} pages x {len(KINDS)} kinds")
        corpus = make_corpus(work / "corpus", per_type, SEED)
        n = len(corpus)
        scans = [page_image(p) for p in corpus]
        batch = write_batch_pdf([p.path for p in corpus], work / "batch.pdf")
        scan, readings, ocr_note = scan_system(corpus, scans)
        systems = sohoa_systems(scans, readings, work)
        variants = ["pdf", "pdfa-2"] if pdfa_variant else ["pdf"]
        theirs, failures = ocrmypdf_systems(batch, work, n, variants)
        systems += theirs
        memory = memory_runs(scans, work)
        systems[0] |= scan | {"whole_kb_per_page": sum(systems[0]["sizes"]) / n / KB}
        systems[1]["whole_kb_per_page"] = memory[0]["size"] / n / KB
        for s in systems[1:]:
            log(f"reading back {s['name']}")
            s["read"] = read_back(s, corpus, scans, work, raw=s["name"] == "mrc")
        for s in systems:
            s["pdfa"] = pdfa_verdicts(s.get("validate", s["files"]))
            s["dpi"] = sharpest_dpi(s.get("validate", s["files"]))
        sections = [
            top,
            *failures,
            targets_table(systems),
            size_table(systems, n) + ocr_note,
            fidelity_table(systems, corpus),
            kinds_table(systems, corpus),
            memory_table(memory),
        ]
    return "\n\n".join(sections) + "\n"


def main(per_type: int, pdfa_variant: bool) -> None:
    whole = measure(lambda: run_all(per_type, pdfa_variant))
    write_report(whole, OUT_MD)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-per-type", type=int, default=4)
    parser.add_argument("--no-pdfa-variant", action="store_true", help="skip OCRmyPDF pdfa-2")
    parser.add_argument("--child-build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_build:
        child_build(args.child_build, args.child_out)
    else:
        main(args.pages_per_type, not args.no_pdfa_variant)
