"""Benchmark sohoa's pipeline choices against the obvious alternatives, on one synthetic batch.

Run: ``.venv/bin/python bench/pipeline.py [--pages N]`` (default 8). It renders N labelled
A4 300-dpi Vietnamese pages (``samples.synth``: skew within ±2°, noise 0.05-0.1, fixed seeds),
stores them as JPEG q=70 in one image-only scanner PDF, and measures on that same input:

1. Page extraction: ``ocr.pages.iter_pages`` copies each page's embedded JPEG byte for byte;
   a naive pipeline rasterises the PDF with ``pdf2image.convert_from_path(dpi=300)`` and
   saves PNGs. Compared: time, bytes per page, and whether the archived pixels are the scan.
2. OCR throughput: ``ocr.engine.ocr_page`` (cleaning + one Tesseract run, OMP_THREAD_LIMIT=1)
   with 2 workers and with 1, against raw ``tesseract`` with unlimited OpenMP threads (what
   the architecture notes warn about) and raw ``tesseract`` one thread x 2 pages in parallel
   (the floor: Tesseract alone, no cleaning). Wall time, Tesseract CPU time and CER vs truth.
3. Peak memory of variant (1) in a fresh child process for N and 2N pages (VmHWM, and
   ``/usr/bin/time`` around each Tesseract), to show whether memory grows with the batch
   (pages are files on disk; pixels live only inside a worker).
4. PDF assembly: ``build_archival_pdf`` + ``sign_pdf`` against Tesseract's own PDF renderer
   per page merged with ``qpdf``.

No thresholds: numbers and ratios only. The tables are printed and written to
``bench/out/pipeline.md``. Heavy modules (pyHanko, pdf2image) are imported where used, so
the memory child (hidden ``--child-ocr`` flag) loads only what the OCR step loads.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import argparse
import hashlib
import io
import json
import os
import platform
import random
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pikepdf
from PIL import Image

from ocr.engine import ocr_page  # each Tesseract child gets OMP_THREAD_LIMIT=1
from ocr.pages import iter_pages
from schemas.models import PageImage, PageOcr, SourceFile
from schemas.settings import LimitSettings, OcrSettings

OUT_MD = ROOT / "bench" / "out" / "pipeline.md"
CORES = 2
LINES_PER_PAGE = 40  # paragraphs offered; the renderer keeps what fits on A4 (~37 lines)
JPEG_QUALITY = 70
SEED = 1000
OPTS = OcrSettings()
LIMITS = LimitSettings()


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the report."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- input


def make_scan(path: Path, count: int, seed: int) -> list[str]:
    """Write ``count`` degraded pages as a scanner-style PDF; return each page's truth."""
    from samples import synth

    images, truths = [], []
    for i in range(count):
        rng = random.Random(seed + i)
        page, truth = synth.render_page_with_truth(
            synth.sample_lines(seed + i, LINES_PER_PAGE), seed=seed + i
        )
        images.append(
            synth.degrade(
                page, skew_deg=rng.uniform(-2, 2), noise=rng.uniform(0.05, 0.1), seed=seed + i
            )
        )
        truths.append(truth)
    synth.write_pdf(path, images, dpi=300, jpeg_quality=JPEG_QUALITY)
    return truths


def concat_pdfs(first: Path, second: Path, dest: Path) -> None:
    """Write ``first`` followed by ``second`` as one PDF (embedded JPEGs untouched)."""
    with pikepdf.open(first) as a, pikepdf.open(second) as b:
        a.pages.extend(b.pages)
        a.save(dest)


def source_of(path: Path) -> SourceFile:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return SourceFile(name=path.name, sha256=digest, size=path.stat().st_size, format="pdf")


def embedded_jpegs(path: Path) -> list[bytes]:
    """The raw (still encoded) bytes of each page's single image."""
    with pikepdf.open(path) as pdf:
        return [next(iter(p.get_images().values())).read_raw_bytes() for p in pdf.pages]


def extract(pdf: Path, out_dir: Path) -> list[PageImage]:
    return list(iter_pages(source_of(pdf), pdf, out_dir, start_index=0, limits=LIMITS))


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """Wall time, CPU time (own process, reaped children) and others' CPU during one call."""

    wall: float
    self_cpu: float
    child_cpu: float
    result: object = None
    foreign: float = 0.0
    """Share of the machine's CPU capacity used by *other* processes meanwhile (0-1)."""


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (from ``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(fn: Callable[[], object]) -> Run:
    b0 = machine_busy_s()
    s0, c0, t0 = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    own_self = _cpu(resource.RUSAGE_SELF) - s0
    own_children = _cpu(resource.RUSAGE_CHILDREN) - c0
    others = machine_busy_s() - b0 - own_self - own_children
    foreign = max(0.0, others) / (wall * (os.cpu_count() or 1))
    return Run(wall, own_self, own_children, result, foreign)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def kib(n: float) -> str:
    return f"{n / 1024:,.0f} KiB"


def load(run: Run) -> str:
    return f"{run.foreign * 100:.0f} %"


# --------------------------------------------------------------------------- table 1


def write_report(whole: Run, out_md: Path) -> None:
    """Add the whole run's wall time and machine load to a report, save it and print it."""
    report_md = whole.result + (
        f"\n---\nWhole run: {whole.wall:.0f} s wall; other processes used {load(whole)} of the "
        "machine meanwhile (CPU time of everything else, from /proc/stat, / (wall x cores)).\n"
    )
    out_md.parent.mkdir(parents=True, exist_ok=True)
    out_md.write_text(report_md, encoding="utf-8")
    print(report_md)


def rasterise_naive(pdf: Path, out_dir: Path) -> tuple[float, float, list[Path]]:
    """Render every page at 300 dpi and save PNG with Pillow's defaults."""
    from pdf2image import convert_from_path

    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    images = convert_from_path(pdf, dpi=300)
    t1 = time.perf_counter()
    paths = []
    for i, img in enumerate(images):
        paths.append(out_dir / f"{i:05d}.png")
        img.save(paths[-1])
    return t1 - t0, time.perf_counter() - t1, paths


def pixel_delta(jpeg: bytes, png: Path) -> tuple[int, float]:
    """Max and mean |difference| between the decoded scan and a rasterised page."""
    a = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(png).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return -1, float("nan")
    diff = np.abs(a - b)
    return int(diff.max()), float(diff.mean())


def bench_extraction(pdf: Path, work: Path, n: int) -> tuple[str, list[PageImage]]:
    originals = embedded_jpegs(pdf)
    passthrough = measure(lambda: extract(pdf, work / "pages"))
    pages: list[PageImage] = passthrough.result
    same = sum(Path(p.path).read_bytes() == o for p, o in zip(pages, originals, strict=True))
    raster = measure(lambda: rasterise_naive(pdf, work / "raster"))
    render_s, save_s, pngs = raster.result
    deltas = [pixel_delta(o, p) for o, p in zip(originals, pngs, strict=True)]
    size_a = sum(Path(p.path).stat().st_size for p in pages) / n
    size_b = sum(p.stat().st_size for p in pngs) / n
    ms_a, ms_b = passthrough.wall * 1000 / n, (render_s + save_s) * 1000 / n
    rows = [
        [
            "(a) sohoa `iter_pages` (JPEG passthrough)",
            f"{ms_a:.0f}",
            "1.0",
            kib(size_a),
            f"yes: {same}/{n} pages byte-identical to the embedded JPEG",
            load(passthrough),
        ],
        [
            "(b) `convert_from_path(dpi=300)` + PNG save",
            (f"{ms_b:.0f} ({render_s * 1000 / n:.0f} render + {save_s * 1000 / n:.0f} save)"),
            f"{ms_b / ms_a:.1f}",
            f"{kib(size_b)} ({size_b / size_a:.1f}x)",
            (
                f"no, re-encoded (PNG); decoded pixels vs scan: max abs diff "
                f"{max(d[0] for d in deltas)}, mean {np.mean([d[1] for d in deltas]):.2f}"
            ),
            load(raster),
        ],
    ]
    headers = [
        "Extraction",
        "ms/page",
        "x (b/a)",
        "bytes/page",
        "archived pixels = scan?",
        "other processes' load",
    ]
    note = (
        "\n(b) saves with Pillow's default PNG settings (zlib level 6), as a naive "
        "pipeline would; the pixel difference is poppler's render of the page vs "
        "Pillow's decode of the same JPEG, both at the scan's native 300 dpi."
    )
    return "## 1. Page extraction\n\n" + table(headers, rows) + "\n" + note, pages


# --------------------------------------------------------------------------- table 2


def sohoa_ocr(pages: Sequence[PageImage], workers: int) -> list[PageOcr]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: ocr_page(p, OPTS), pages))


def tesseract_env(omp_limit: int | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if omp_limit is not None:
        env["OMP_THREAD_LIMIT"] = str(omp_limit)
    return env


def raw_tesseract(image: Path, env: dict[str, str], *extra: str) -> str:
    args = ["tesseract", str(image), *(extra or ("-",)), "-l", OPTS.language]
    done = subprocess.run(args, capture_output=True, env=env, check=True)
    return done.stdout.decode("utf-8", "replace")


def raw_ocr(images: Sequence[Path], workers: int, omp_limit: int | None) -> list[str]:
    env = tesseract_env(omp_limit)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda p: raw_tesseract(p, env), images))


def mean_cer(truths: Sequence[str], texts: Sequence[str]) -> float:
    from samples.synth import cer

    texts = [t if isinstance(t, str) else t.text for t in texts]
    return float(np.mean([cer(t, h) for t, h in zip(truths, texts, strict=True)]))


def bench_ocr(pages: Sequence[PageImage], truths: Sequence[str]) -> tuple[str, Run]:
    images = [Path(p.path) for p in pages]
    raw_tesseract(images[0], tesseract_env(1))  # warm the page cache (traineddata, binary)
    variants = {
        "(1) sohoa `ocr_page`, 2 workers, OMP=1": lambda: sohoa_ocr(pages, 2),
        "(2) sohoa `ocr_page`, 1 worker, OMP=1": lambda: sohoa_ocr(pages, 1),
        "(3) raw `tesseract`, OpenMP unlimited, sequential": lambda: raw_ocr(images, 1, None),
        "(4) raw `tesseract`, OMP=1, 2 pages in parallel": lambda: raw_ocr(images, 2, 1),
        "(5) reference for (3): raw `tesseract`, OMP=1, sequential": lambda: raw_ocr(images, 1, 1),
    }
    runs = {}
    for name, fn in variants.items():
        log(f"OCR {name}")
        runs[name] = measure(fn)
    return ocr_table(runs, truths, len(pages)), next(iter(runs.values()))


def ocr_table(runs: dict[str, Run], truths: Sequence[str], n: int) -> str:
    best = min(r.wall for r in runs.values())
    rows = [
        [
            name,
            f"{r.wall:.1f}",
            f"{n / r.wall * 60:.1f}",
            f"{r.wall / best:.2f}",
            f"{r.child_cpu:.1f}",
            f"{r.self_cpu:.1f}",
            f"{mean_cer(truths, r.result):.4f}",
            f"{r.foreign * 100:.0f} %",
        ]
        for name, r in runs.items()
    ]
    headers = [
        "Variant",
        "wall s",
        "pages/min",
        "x best",
        "Tesseract CPU s",
        "Python CPU s",
        "mean CER",
        "other processes' load",
    ]
    sohoa, _, _, floor, _ = runs.values()
    bound, own = floor.child_cpu / CORES, sohoa.child_cpu / CORES
    notes = (
        f"\nBound = Tesseract CPU of (4) / {CORES} cores = {floor.child_cpu:.1f} / {CORES} = "
        f"{bound:.1f} s. sohoa (1) wall = {sohoa.wall:.1f} s = "
        f"{sohoa.wall / bound * 100:.0f} % of the bound. This bound is Tesseract on the raw "
        "colour JPEG; sohoa hands Tesseract a cleaned grey image, so its own Tesseract CPU "
        f"differs: against sohoa's own Tesseract CPU / {CORES} = {own:.1f} s, (1) takes "
        f"{sohoa.wall / own * 100:.0f} %.\n\n"
        "Tesseract CPU = `getrusage(RUSAGE_CHILDREN)` delta (user+sys of the reaped "
        "`tesseract` processes; sohoa also runs one per page). Python CPU = "
        "`RUSAGE_SELF` delta: decoding, cleaning, image hand-off to Tesseract, TSV parsing "
        "(CER computation excluded). CER = edit distance / truth length on "
        "whitespace-normalised NFC text. OMP=1 means `OMP_THREAD_LIMIT=1`."
    )
    return f"## 2. OCR throughput, {n} pages\n\n" + table(headers, rows) + "\n" + notes


# --------------------------------------------------------------------------- table 3


def vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def tesseract_via_time(folder: Path) -> Path | None:
    """Make pytesseract run Tesseract under ``/usr/bin/time``, which logs each peak RSS.

    Why: ``ru_maxrss`` survives ``exec``, so a process spawned by Python reports at
    least Python's own peak; ``time`` is tiny, so its child's figure is Tesseract's.
    """
    import pytesseract

    if not Path("/usr/bin/time").is_file():
        return None
    log_file, script = folder / "tesseract-rss.log", folder / "tesseract"
    script.write_text(f'#!/bin/sh\nexec /usr/bin/time -a -o "{log_file}" -f "%M" tesseract "$@"\n')
    script.chmod(0o755)
    pytesseract.pytesseract.tesseract_cmd = str(script)
    return log_file


def max_logged_kib(log_file: Path | None) -> int:
    if log_file is None or not log_file.is_file():
        return 0
    values = [int(v) for v in log_file.read_text().split() if v.isdigit()]
    return max(values, default=0)


def child_ocr(pdf: Path) -> None:
    """Hidden mode: extract and OCR ``pdf`` with 2 workers, print peak memory as JSON."""
    baseline = vm_hwm_kib()
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-child-") as tmp:
        log_file = tesseract_via_time(Path(tmp))
        t0 = time.perf_counter()
        sohoa_ocr(extract(pdf, Path(tmp) / "pages"), 2)
        wall = time.perf_counter() - t0
        tesseract_kib = max_logged_kib(log_file)
    result = {
        "baseline_kib": baseline,
        "self_peak_kib": vm_hwm_kib(),
        "tesseract_peak_kib": tesseract_kib,
        "inherited_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "wall": wall,
    }
    print(json.dumps(result))


def run_child(pdf: Path) -> dict:
    args = [sys.executable, str(Path(__file__).resolve()), "--child-ocr", str(pdf)]
    done = subprocess.run(args, capture_output=True, check=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_memory(pdfs: dict[int, Path]) -> str:
    rows, inherited = [], 0
    for count, pdf in pdfs.items():
        log(f"memory child, {count} pages")
        run = measure(lambda pdf=pdf: run_child(pdf))
        m = run.result
        mib = {k: v / 1024 for k, v in m.items() if k.endswith("kib")}
        inherited = max(inherited, round(mib["inherited_maxrss_kib"]))
        total = mib["self_peak_kib"] + CORES * mib["tesseract_peak_kib"]
        rows.append(
            [
                count,
                f"{m['wall']:.1f}",
                f"{mib['baseline_kib']:.0f}",
                f"{mib['self_peak_kib']:.0f}",
                f"{mib['tesseract_peak_kib']:.0f}" if m["tesseract_peak_kib"] else "n/a",
                f"{total:.0f}",
                load(run),
            ]
        )
    headers = [
        "pages",
        "wall s",
        "Python RSS after imports MiB",
        "Python peak RSS MiB",
        "largest Tesseract peak RSS MiB",
        "upper estimate: Python + 2 x Tesseract MiB",
        "other processes' load",
    ]
    note = (
        "\nChild = fresh `python bench/pipeline.py --child-ocr` running `iter_pages` + "
        "variant (1); its wall time includes `iter_pages`. Python peak = `VmHWM` of the child "
        "(after imports / at the end). Tesseract = largest peak RSS of any single Tesseract "
        "process, logged by `/usr/bin/time -f %M` wrapped around it (not a sum; 2 run at "
        "once). Not `getrusage().ru_maxrss`: Linux carries a process's peak across `exec`, "
        "so a child spawned from this benchmark reported the benchmark's own peak "
        f"({inherited} MiB here) and every Tesseract at least its Python parent's. "
        "The 2N batch is the N-page PDF followed by N further pages (other seeds)."
    )
    return "## 3. Peak memory of variant (1)\n\n" + table(headers, rows) + "\n" + note


# --------------------------------------------------------------------------- table 4


def sohoa_pdf(pages, results, work: Path, settings) -> tuple[float, float, Path]:
    from pdf.assemble import build_archival_pdf
    from pdf.sign.signer import sign_pdf

    t0 = time.perf_counter()
    unsigned = build_archival_pdf(
        pages,
        results,
        work / "sohoa.unsigned.pdf",
        metadata={"recordId": "bench", "kind": "thanh-phan"},
    )
    t1 = time.perf_counter()
    signed = work / "sohoa.pdf"
    sign_pdf(unsigned, signed, settings)
    return t1 - t0, time.perf_counter() - t1, signed


def tesseract_pdf(images: Sequence[Path], work: Path) -> tuple[float, float, Path]:
    """Tesseract's renderer per page (OMP=1, 2 in parallel), then ``qpdf`` merge."""
    env = tesseract_env(1)
    bases = [work / f"tess-{i:05d}" for i in range(len(images))]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CORES) as pool:
        list(
            pool.map(
                lambda ib: raw_tesseract(ib[0], env, str(ib[1]), "pdf"),
                zip(images, bases, strict=True),
            )
        )
    t1 = time.perf_counter()
    merged = work / "tesseract-merged.pdf"
    pdfs = [f"{b}.pdf" for b in bases]
    subprocess.run(["qpdf", "--empty", "--pages", *pdfs, "--", str(merged)], check=True)
    return t1 - t0, time.perf_counter() - t1, merged


def same_images(pdf: Path, originals: Sequence[bytes]) -> str:
    kept = embedded_jpegs(pdf)
    same = sum(a == b for a, b in zip(kept, originals, strict=True))
    return f"{same}/{len(originals)} pages byte-identical"


def bench_pdf(pdf: Path, pages: Sequence[PageImage], sohoa_run: Run, work: Path) -> str:
    from pdf.keys.signing_key import load_signer
    from schemas.settings import Settings

    n = len(pages)
    settings = Settings(data_dir=work / "data")
    load_signer(settings)  # demo certificate generation + PKCS#12 load, outside the timing
    results = sohoa_run.result  # the PageOcr list of variant (1)
    originals = embedded_jpegs(pdf)
    ours = measure(lambda: sohoa_pdf(pages, results, work, settings))
    build_s, sign_s, signed = ours.result
    log("Tesseract PDF renderer")
    theirs = measure(lambda: tesseract_pdf([Path(p.path) for p in pages], work))
    ocr_s, merge_s, merged = theirs.result
    ocr_per_page = sohoa_run.wall * 1000 / n
    rows = [
        [
            "sohoa `build_archival_pdf` + `sign_pdf`",
            (
                f"{(build_s + sign_s) * 1000 / n:.0f} "
                f"({build_s * 1000 / n:.0f} build + {sign_s * 1000 / n:.0f} sign)"
            ),
            kib(signed.stat().st_size / n),
            same_images(signed, originals),
            load(ours),
        ],
        [
            "sohoa incl. OCR: variant (1) + build + sign",
            f"{ocr_per_page + (build_s + sign_s) * 1000 / n:.0f}",
            "same file",
            "same file",
            f"{load(sohoa_run)} (OCR), {load(ours)} (PDF)",
        ],
        [
            "`tesseract ... pdf` per page (OMP=1, 2 parallel) + `qpdf` merge [1]",
            (
                f"{(ocr_s + merge_s) * 1000 / n:.0f} ({ocr_s * 1000 / n:.0f} OCR+render + "
                f"{merge_s * 1000 / n:.0f} merge)"
            ),
            kib(merged.stat().st_size / n),
            same_images(merged, originals),
            load(theirs),
        ],
    ]
    headers = ["Assembly", "ms/page", "size/page", "image = scan JPEG?", "other processes' load"]
    note = (
        "\n[1] Tesseract's ms/page includes its OCR (it cannot render a PDF without "
        "recognising the page), so compare it with the 'sohoa incl. OCR' row, not the "
        "first. Its PDF is unsigned and has no XMP record metadata. sohoa timings exclude "
        "one-off demo-certificate generation (done before timing); the signed PDF carries the "
        "glyphless font and the CMS signature, Tesseract's one font copy per merged page."
    )
    return "## 4. PDF assembly + signing\n\n" + table(headers, rows) + "\n" + note


# --------------------------------------------------------------------------- main


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def header(n: int) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
    version = (tess.stdout or tess.stderr).splitlines()[0]
    poppler = subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True, check=False)
    poppler_version = (poppler.stderr or poppler.stdout).splitlines()[0]
    load_avg = Path("/proc/loadavg").read_text().split()[0]
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = [line.split(maxsplit=1)[1] for line in git("status", "--porcelain").splitlines()]
    return (
        f"# sohoa pipeline benchmark\n\n- date: {datetime.now().isoformat(timespec='seconds')}\n"
        f"- machine: nproc {os.cpu_count()}, CPU {cpu}, Python {platform.python_version()}\n"
        f"- {version}, language `{OPTS.language}`; {poppler_version}\n"
        f"- code: commit {commit}; uncommitted changes in: {', '.join(dirty) or 'none'}\n"
        f"- 1-min load average at start: {load_avg}\n- N = {n} pages, A4 300 dpi RGB, "
        f"~37 lines each, JPEG q={JPEG_QUALITY}, skew ±2°, noise 0.05-0.1, seeds "
        f"{SEED}..{SEED + n - 1}\n"
    )


def main(n: int) -> None:
    whole = measure(lambda: run_all(n))
    report = whole.result + (
        f"\n---\nWhole run: {whole.wall:.0f} s wall; other processes used {load(whole)} of "
        "the machine meanwhile ('other processes' load' = CPU time of everything else on "
        "the machine, from /proc/stat, / (wall x cores), per measured step).\n"
    )
    OUT_MD.parent.mkdir(parents=True, exist_ok=True)
    OUT_MD.write_text(report, encoding="utf-8")
    print(report)


def run_all(n: int) -> str:
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-") as tmp:
        work = Path(tmp)
        log(f"rendering {2 * n} pages")
        scan, extra, big = work / "scan.pdf", work / "extra.pdf", work / "scan-2n.pdf"
        truths = make_scan(scan, n, SEED)
        make_scan(extra, n, SEED + n)
        concat_pdfs(scan, extra, big)
        sections = [header(n)]
        log("extraction")
        text, pages = bench_extraction(scan, work, n)
        sections.append(text)
        text, sohoa_run = bench_ocr(pages, truths)
        sections.append(text)
        sections.append(bench_memory({n: scan, 2 * n: big}))
        log("PDF assembly")
        sections.append(bench_pdf(scan, pages, sohoa_run, work))
    return "\n\n".join(sections) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8, help="pages in the batch (default 8)")
    parser.add_argument("--child-ocr", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_ocr:
        child_ocr(args.child_ocr)
    else:
        main(args.pages)
