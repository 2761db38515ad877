"""OCR quality, speed and memory of sohoa against raw Tesseract and OCRmyPDF, on one labelled set.

Run: ``.venv/bin/python bench/ocr.py [--pages-per-type N] [--memory-200]`` (default N = 4,
i.e. 36 pages, about 5 minutes on 2 cores; ``--memory-200`` adds about 4 minutes).

Why: sohoa's own cleaning (orientation, deskew, denoising, border, light and seal handling)
exists to beat what Tesseract does alone, and to do it without the cost of a general tool.
So three systems read the *same* pages on the *same* cores in one run:

1. sohoa: the pages as one scanner PDF (JPEGs embedded unchanged); ``ocr.pages.iter_pages``
   then ``ocr.engine.ocr_page`` on a thread pool of ``os.cpu_count()`` workers, in a fresh
   child process (so its memory is its own); text = ``PageOcr.text``. Then, outside the
   timing, the child builds sohoa's archival PDF from those pages and readings
   (``pdf.assemble.build_archival_pdf``).
2. raw Tesseract ``vie`` on each uncleaned JPEG (``tesseract page.jpg - -l vie``, one
   OpenMP thread, one page per core). Its CPU time / cores is the floor for any pipeline that
   runs Tesseract once per page: sohoa's speed target is 90 % of that bound.
3. ``ocrmypdf -l vie --rotate-pages --deskew --clean --jobs <cores> --output-type pdf
   --optimize 0`` on the same PDF (default ``--rotate-pages-threshold``); text = ``pdftotext
   -raw`` of each output page (its ``--sidecar`` text is scored too).

Both PDFs' text layers are then read back by every reader in :mod:`bench.pdf_readers`
(``pdftotext`` default, ``-layout``, ``-raw``, PyMuPDF, pypdf, pdfminer.six) and scored
like the OCR text; the headline for a PDF is its worst reader's mean CER on each kind, since
a search index or a clerk's copy-paste may use any of them.

The pages come from :mod:`bench.ocr_corpus` (nine kinds of damage x N pages; fonts, sizes and
200/300 dpi varied; truth = the text as laid out). CER = character edit distance / truth
characters, WER = word edit distance / truth words, both on NFC text with whitespace
collapsed (:func:`samples.synth.cer`, :func:`samples.synth.wer`); means are over pages.
Memory: a sampler sums RSS and PSS over each system's process tree every 0.2 s; besides,
``/usr/bin/time -f %M`` gives the largest single process (for sohoa: the child's VmHWM and
the largest Tesseract, as in ``bench/pipeline.py``). No thresholds are asserted: the target
table states what was measured. Output: printed and written to ``bench/out/ocr.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is named like the ``ocr`` package: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from bench.ocr_corpus import KINDS, CorpusPage, make_corpus, write_batch_pdf
from bench.pdf_readers import READERS, installed, read_pages
from bench.pipeline import (
    Run,
    git,
    load,
    max_logged_kib,
    measure,
    source_of,
    table,
    tesseract_env,
    tesseract_via_time,
    vm_hwm_kib,
    write_report,
)
from samples.synth import cer, wer
from schemas.settings import LimitSettings, OcrSettings

OUT_MD = ROOT / "bench" / "out" / "ocr.md"
CORES = os.cpu_count() or 1
SEED = 3000
OPTS = OcrSettings()
LIMITS = LimitSettings()
OCRMYPDF = Path(sys.executable).parent / "ocrmypdf"
OCRMYPDF_ARGS = ("-l", "vie", "--rotate-pages", "--deskew", "--clean")
OCRMYPDF_SHOWN = " ".join(OCRMYPDF_ARGS) + f" --jobs {CORES} --output-type pdf --optimize 0"
TARGET_CER = 0.005
SOHOA_PDF, OCRMYPDF_PDF = "sohoa PDF", "OCRmyPDF PDF"
"""The two PDFs whose text layers every reader of :mod:`bench.pdf_readers` reads back."""
MIB = 1024


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the report."""
    print(f"[bench-ocr] {message}", file=sys.stderr, flush=True)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- process trees


def _children_of() -> dict[int, list[int]]:
    """Parent pid -> child pids, from ``/proc/*/stat``."""
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(root: int) -> list[int]:
    kids, todo, seen = _children_of(), [root], []
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(kids.get(pid, ()))
    return seen


def _proc_kib(pid: int, name: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


@dataclass
class TreePeak:
    """Largest sums of RSS and PSS over a process tree, sampled every ``interval`` seconds."""

    root: int
    interval: float = 0.2
    rss_kib: int = 0
    pss_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        pids = _tree(self.root)
        self.rss_kib = max(self.rss_kib, sum(_proc_kib(p, "status", "VmRSS:") for p in pids))
        self.pss_kib = max(self.pss_kib, sum(_proc_kib(p, "smaps_rollup", "Pss:") for p in pids))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def run(self, proc: subprocess.Popen) -> tuple[int, bytes, bytes]:
        """Sample until ``proc`` ends; return its return code, stdout and stderr."""
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        out, err = proc.communicate()
        self._stop.set()
        thread.join()
        return proc.returncode, out, err


def run_sampled(args: Sequence[str], env: dict[str, str] | None = None) -> dict:
    """Run a command, sampling its process tree's memory; never raises on failure."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = TreePeak(proc.pid)
    code, out, err = peak.run(proc)
    return {"code": code, "stdout": out, "stderr": err, "rss": peak.rss_kib, "pss": peak.pss_kib}


# --------------------------------------------------------------------------- systems


def raw_tesseract(image: Path, env: dict[str, str], rss_log: Path) -> str:
    """``tesseract image - -l vie`` under ``/usr/bin/time`` (which logs its peak RSS)."""
    args = ["/usr/bin/time", "-a", "-o", str(rss_log), "-f", "%M"]
    args += ["tesseract", str(image), "-", "-l", OPTS.language]
    done = subprocess.run(args, capture_output=True, env=env, check=False)
    return done.stdout.decode("utf-8", "replace")


def run_raw(pages: Sequence[CorpusPage], work: Path) -> dict:
    env, rss_log = tesseract_env(1), work / "raw-rss.log"
    raw_tesseract(pages[0].path, env, work / "warm-up.log")  # page cache: binary, traineddata
    log(f"raw Tesseract, {len(pages)} pages, {CORES} in parallel")

    def ocr_all() -> list[str]:
        with ThreadPoolExecutor(max_workers=CORES) as pool:
            return list(pool.map(lambda p: raw_tesseract(p.path, env, rss_log), pages))

    run = measure(ocr_all)
    return {"run": run, "texts": run.result, "largest_kib": max_logged_kib(rss_log)}


def child_sohoa(pdf: Path, out: Path, archive: Path | None = None) -> None:
    """Hidden mode: ``iter_pages`` + ``ocr_page`` on ``pdf``; write texts and peaks as JSON.

    With ``archive``, then build sohoa's archival PDF there from the same pages and readings
    (``pdf.assemble.build_archival_pdf``, default settings, as the digitise flow does; not
    signed: signing does not touch the text layer). Its time is kept out of the OCR wall.
    """
    from ocr.engine import ocr_page  # each Tesseract child gets OMP_THREAD_LIMIT=1
    from ocr.pages import iter_pages

    baseline, digest = vm_hwm_kib(), ocr_digest()
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-ocr-") as tmp:
        rss_log = tesseract_via_time(Path(tmp))
        c0, s0, t0 = _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF), time.perf_counter()
        pages = list(iter_pages(source_of(pdf), pdf, Path(tmp) / "p", start_index=0, limits=LIMITS))
        t1 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CORES) as pool:
            done = list(pool.map(lambda p: _one_page(ocr_page, p), pages))
        result = {
            "extract_s": t1 - t0,
            "wall": time.perf_counter() - t0,
            "tesseract_cpu": _cpu(resource.RUSAGE_CHILDREN) - c0,
            "python_cpu": _cpu(resource.RUSAGE_SELF) - s0,
            "baseline_kib": baseline,
            "self_peak_kib": vm_hwm_kib(),
            "tesseract_peak_kib": max_logged_kib(rss_log),
            "pages": [summary for summary, _ in done],
            "ocr_digest": digest,
        }
        if archive is not None:
            result |= _archive(pages, [reading for _, reading in done], archive)
    out.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


def _archive(pages: list, readings: list, dest: Path) -> dict:
    """Build the archival PDF; a failure is recorded, the OCR results still count."""
    from pdf.assemble import build_archival_pdf

    t0 = time.perf_counter()
    try:
        build_archival_pdf(pages, readings, dest, metadata={"recordId": "bench-ocr"})
    except Exception as exc:  # noqa: BLE001 - a benchmark reports errors, it does not stop
        return {"archive_error": f"{type(exc).__name__}: {exc}"[:600]}
    return {"archive": str(dest), "archive_s": time.perf_counter() - t0}


def _one_page(ocr_page: Callable, page) -> tuple[dict, object]:
    """OCR one page: (summary, ``PageOcr``); a failure is recorded (empty text, no reading)."""
    try:
        r = ocr_page(page, OPTS)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports errors, it does not stop
        return {"text": "", "error": f"{type(exc).__name__}: {exc}"[:200], "steps": []}, None
    steps = list(getattr(r, "steps", ()) or ())
    if getattr(r, "rotation", 0):
        steps.append(f"rotation={r.rotation}")
    if getattr(r, "blank", False):
        steps.append("blank")
    return {"text": r.text, "steps": steps, "skew": r.skew_deg}, r


def run_sohoa(pdf: Path, work: Path, label: str, archive: bool = False) -> dict:
    out = work / f"sohoa-{label}.json"
    args = [sys.executable, str(Path(__file__).resolve()), "--child-sohoa", str(pdf)]
    if archive:
        args += ["--child-archive", str(work / f"sohoa-{label}.pdf")]
    log(f"sohoa child, {label}")
    run = measure(lambda: run_sampled([*args, "--child-out", str(out)]))
    done = run.result
    if done["code"] != 0 or not out.is_file():
        tail = done["stderr"].decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(f"sohoa child failed ({done['code']}): " + " | ".join(tail))
    return {"run": run, **done, **json.loads(out.read_text(encoding="utf-8"))}


def run_ocrmypdf(pdf: Path, work: Path) -> dict:
    out, sidecar, rss = work / "ocrmypdf.pdf", work / "ocrmypdf.txt", work / "ocrmypdf-rss"
    args = ["/usr/bin/time", "-o", str(rss), "-f", "%M", str(OCRMYPDF), *OCRMYPDF_ARGS]
    args += ["--jobs", str(CORES), "--output-type", "pdf", "--optimize", "0"]
    args += ["--sidecar", str(sidecar), str(pdf), str(out)]
    log("OCRmyPDF " + " ".join(args[5:]))
    run = measure(lambda: run_sampled(args, tesseract_env(None)))
    done = run.result
    largest = max_logged_kib(rss) if rss.is_file() else 0
    result = {"run": run, **done, "largest_kib": largest, "args": args[5:]}
    if done["code"] != 0 or not out.is_file():
        return {**result, "error": done["stderr"].decode("utf-8", "replace").strip()[-600:]}
    return {**result, "pdf": str(out), "sidecar": sidecar.read_text().split("\f")}


def read_back(pdf: str | None, n: int, who: str) -> dict[str, dict]:
    """Reader -> {"texts": per page, "errors": per page}, for every installed reader."""
    out = {}
    for reader in READERS:
        if not installed(reader):
            log(f"{reader} is not installed (a dev dependency; uv sync): left out")
        elif pdf is None:
            out[reader] = {"texts": [""] * n, "errors": ["no PDF"] * n}
        else:
            log(f"reading {who}'s PDF with {reader}")
            texts, errors = read_pages(reader, Path(pdf), n)
            out[reader] = {"texts": texts, "errors": errors}
    return out


# --------------------------------------------------------------------------- scoring


def page_texts(result: dict, key: str, n: int) -> list[str]:
    texts = list(result.get(key) or [])
    return (texts + [""] * n)[:n]


def score(pages: Sequence[CorpusPage], texts: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """System -> (pages, 2) array of per-page CER and WER."""
    return {
        name: np.array(
            [(cer(p.truth, t), wer(p.truth, t)) for p, t in zip(pages, got, strict=True)]
        )
        for name, got in texts.items()
    }


def groups(pages: Sequence[CorpusPage]) -> dict[str, np.ndarray]:
    """Row label -> boolean mask over pages: every kind, all pages, all but clean."""
    kinds = np.array([p.kind for p in pages])
    out = {kind: kinds == kind for kind in KINDS if (kinds == kind).any()}
    out["**all pages**"] = np.ones(len(pages), bool)
    out["**all damaged (not clean)**"] = kinds != "clean"
    return out


def pct(value: float) -> str:
    return f"{value * 100:.2f}"


def worst_reader(by_reader: dict[str, np.ndarray], mask: np.ndarray, column: int = 0) -> str:
    """The reader with the highest mean over ``mask``: "value (reader)"; "" with no reader."""
    if not by_reader:
        return ""
    means = {reader: s[mask, column].mean() for reader, s in by_reader.items()}
    reader = max(means, key=means.__getitem__)
    return f"{pct(means[reader])} ({reader})"


def quality_table(pages, scores, readers, column: int, what: str) -> str:
    """One row per kind: each system's mean, then each PDF's worst reader (the headline)."""
    rows = [
        [
            label,
            int(mask.sum()),
            *(pct(s[mask, column].mean()) for s in scores.values()),
            *(f"**{worst_reader(r, mask, column)}**" for r in readers.values()),
        ]
        for label, mask in groups(pages).items()
    ]
    headers = [
        "page kind",
        "pages",
        *(f"{name} {what} %" for name in scores),
        *(f"{who}, worst reader {what} %" for who in readers),
    ]
    return table(headers, rows)


def text_layer_section(pages, scores, readers, layers, ours: dict, theirs: dict) -> str:
    """CER of the text each reader gets from each PDF, next to the OCR's own text."""
    own = {SOHOA_PDF: ("sohoa OCR text", "sohoa"), OCRMYPDF_PDF: ("sidecar", "OCRmyPDF sidecar")}
    rows = []
    for label, mask in groups(pages).items():
        row = [label, int(mask.sum())]
        for who, by_reader in readers.items():
            row.append(pct(scores[own[who][1]][mask, 0].mean()))
            row += [pct(s[mask, 0].mean()) for s in by_reader.values()]
            row.append(f"**{worst_reader(by_reader, mask)}**")
        rows.append(row)
    headers = ["page kind", "pages"]
    for who, by_reader in readers.items():
        headers += [f"{own[who][0]} CER %", *(f"{who}: {r} %" for r in by_reader)]
        headers.append(f"{who}: worst reader %")
    failures = [
        f"{who} by {reader}: {sum(bool(e) for e in got['errors'])} pages failed "
        f"({next(e for e in got['errors'] if e)})"
        for who, layer in layers.items()
        for reader, got in layer.items()
        if any(got["errors"])
    ]
    built = (
        f"built in {ours['archive_s']:.1f} s for {len(pages)} pages"
        if "archive_s" in ours
        else f"**not built**: {ours.get('archive_error', 'no archive requested')}"
    )
    note = (
        "\nsohoa PDF = `pdf.assemble.build_archival_pdf` (default settings, unsigned) of the "
        f"same pages and `PageOcr` readings that the sohoa columns score ({built}); OCRmyPDF "
        f"PDF = its output above{'' if 'pdf' in theirs else ' (**missing**)'}. Each reader "
        "(`bench/pdf_readers.py`, shared with `tests/test_text_layer.py`) reads one page at a "
        "time; CER as everywhere here (NFC, whitespace collapsed, against the corpus truth, "
        "reading order counts). Worst reader = the reader with the highest mean CER on that "
        "row. "
        + (
            "Reader failures (scored as empty pages): " + "; ".join(failures) + "."
            if failures
            else "No reader failed on any page."
        )
    )
    return (
        "## Text layer read back: CER per PDF reader (mean over pages)\n\n"
        + table(headers, rows)
        + "\n"
        + note
    )


# --------------------------------------------------------------------------- report


def speed_section(n: int, raw: dict, ours: dict, theirs: dict) -> tuple[str, dict]:
    bound_s = raw["run"].child_cpu / CORES
    ppm = {
        "sohoa": n / ours["wall"] * 60,
        "raw": n / raw["run"].wall * 60,
        "bound": n / bound_s * 60,
        "ocrmypdf": n / theirs["run"].wall * 60 if "pdf" in theirs else float("nan"),
    }
    rows = [
        _speed_row(
            f"sohoa: `iter_pages` + `ocr_page`, {CORES} threads", ours["wall"], ours, ppm, "sohoa"
        ),
        _speed_row(
            "raw `tesseract -l vie`, OMP=1, one page per core", raw["run"].wall, raw, ppm, "raw"
        ),
        _speed_row("bound: raw Tesseract CPU / cores", bound_s, None, ppm, "bound"),
        _speed_row(
            f"`ocrmypdf {OCRMYPDF_SHOWN}`",
            theirs["run"].wall,
            theirs,
            ppm,
            "ocrmypdf",
        ),
    ]
    headers = [
        "system",
        "wall s",
        "pages/min",
        "CPU s (all its processes)",
        "sohoa ÷ it",
        "% of bound",
        "other processes' load",
    ]
    note = (
        f"\nBound = raw Tesseract's CPU time (`getrusage(RUSAGE_CHILDREN)`) / {CORES} cores. "
        f"sohoa's wall = `iter_pages` ({ours['extract_s']:.1f} s) + OCR inside its child; "
        f"the child process as a whole (interpreter start, imports) took "
        f"{ours['run'].wall:.1f} s. Inside sohoa: Tesseract CPU {ours['tesseract_cpu']:.1f} s "
        f"(raw Tesseract: {raw['run'].child_cpu:.1f} s on the uncleaned pages; sohoa upscales "
        f"pages below {OPTS.min_ocr_dpi} dpi first), Python CPU (decoding, cleaning, TSV "
        f"parsing) {ours['python_cpu']:.1f} s. OCRmyPDF's wall is its whole command (start-up, "
        "rasterising, unpaper, Tesseract, PDF rendering and writing); sohoa's excludes its "
        "own PDF building and signing (about 0.05 s/page, `bench/pipeline.py`). Wall times "
        "stretch when other processes use the cores (last column); the bound, a CPU time, "
        "hardly does, so under load compare sohoa with raw Tesseract's own wall (same load)."
    )
    return "## Speed\n\n" + table(headers, rows) + "\n" + note, ppm


def _speed_row(name: str, wall: float, result: dict | None, ppm: dict, key: str) -> list:
    run: Run | None = result["run"] if result else None
    return [
        name,
        f"{wall:.1f}",
        f"{ppm[key]:.1f}",
        f"{run.child_cpu:.1f}" if run else "",
        f"{ppm['sohoa'] / ppm[key]:.2f}",
        f"{ppm[key] / ppm['bound'] * 100:.0f}",
        load(run) if run else "",
    ]


def memory_row(label: str, result: dict) -> list:
    python = result.get("self_peak_kib", 0) / MIB
    tess = result.get("tesseract_peak_kib", result.get("largest_kib", 0)) / MIB
    estimate = f"{python + CORES * tess:.0f}" if python else ""
    return [
        label,
        f"{result['rss'] / MIB:.0f}",
        f"{result['pss'] / MIB:.0f}",
        f"{python:.0f}" if python else "",
        f"{tess:.0f}",
        estimate,
    ]


def memory_section(n: int, ours: dict, raw: dict, theirs: dict, big: dict | None) -> str:
    rows = [memory_row(f"sohoa, {n} pages", ours)]
    if big:
        rows.append(memory_row(f"sohoa, {big['n']} pages", big))
    rows.append(["raw Tesseract (one process)", "", "", "", f"{raw['largest_kib'] / MIB:.0f}", ""])
    rows.append(memory_row(f"OCRmyPDF, {n} pages", theirs))
    headers = [
        "system",
        "peak RSS sum of process tree MiB",
        "peak PSS sum MiB",
        "Python VmHWM MiB",
        "largest Tesseract (or any child) MiB",
        "Python + cores x Tesseract MiB",
    ]
    note = (
        "\nSampled every 0.2 s over the system's whole process tree (`/proc/*/status` VmRSS, "
        "`/proc/*/smaps_rollup` Pss; RSS counts shared libraries once per process, PSS "
        "shares them out, so the true peak lies near PSS). Largest single process: "
        "`/usr/bin/time -f %M` (for OCRmyPDF the max over its workers and Tesseracts; Linux "
        "carries a peak across `exec`, so a child can report its parent's). "
        + (
            f"The {big['n']}-page batch repeats the corpus JPEGs cyclically in one PDF "
            f"(wall {big['wall']:.0f} s, {big['n'] / big['wall'] * 60:.1f} pages/min)."
            if big
            else "The 200-page batch was not run (`--memory-200`)."
        )
    )
    return "## Peak memory\n\n" + table(headers, rows) + "\n" + note


def target_section(pages, scores, readers, ppm: dict, ours: dict, big: dict | None) -> str:
    kinds = {k: m for k, m in groups(pages).items() if k in KINDS}
    sohoa, raw = scores["sohoa"][:, 0], scores["raw Tesseract"][:, 0]
    by_reader = readers[SOHOA_PDF]
    layer_over = [
        f"{k} {worst_reader(by_reader, m)}"
        for k, m in kinds.items()
        if by_reader and max(s[m, 0].mean() for s in by_reader.values()) > TARGET_CER
    ]
    over = [f"{k} {pct(sohoa[m].mean())}" for k, m in kinds.items() if sohoa[m].mean() > TARGET_CER]
    worse = [
        f"{k} ({pct(sohoa[m].mean())} vs {pct(raw[m].mean())})"
        for k, m in kinds.items()
        if sohoa[m].mean() > raw[m].mean()
    ]
    ratio = ppm["sohoa"] / ppm["ocrmypdf"]
    share = ppm["sohoa"] / ppm["bound"]
    memory = big or ours
    peak = max(memory["pss"], memory["rss"]) / MIB
    rows = [
        ["mean CER ≤ 0.5 %, overall", pct(sohoa.mean()) + " %", _yes(sohoa.mean() <= TARGET_CER)],
        ["mean CER ≤ 0.5 %, every kind", "; ".join(over) or "all ≤ 0.5 %", _yes(not over)],
        [
            "sohoa CER ≤ raw Tesseract, every kind",
            "; ".join(worse) or "every kind",
            _yes(not worse),
        ],
        [
            "sohoa PDF read back: worst reader's mean CER ≤ 0.5 %, every kind",
            "; ".join(layer_over) or "all ≤ 0.5 %",
            _yes(bool(by_reader) and not layer_over),
        ],
        ["pages/min ≥ 2 x OCRmyPDF", f"{ratio:.2f} x", _yes(ratio >= 2)],
        [
            "pages/min ≥ 90 % of Tesseract bound",
            (
                f"{share * 100:.0f} % (raw Tesseract itself: "
                f"{ppm['raw'] / ppm['bound'] * 100:.0f} %; other processes' load "
                f"{load(ours['run'])})"
            ),
            _yes(share >= 0.9),
        ],
        [
            "peak memory, 200-page batch < 1 GB",
            f"{peak:.0f} MiB (RSS sum; PSS {memory['pss'] / MIB:.0f}) for {memory['n']} pages",
            _yes(peak < 1000) if big else "not run (`--memory-200`)",
        ],
    ]
    return "## Targets\n\n" + table(["target", "measured", "met"], rows)


def _yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def pages_section(pages, scores, readers, ours: dict) -> str:
    def worst_of(by_reader: dict[str, np.ndarray], i: int) -> str:
        if not by_reader:
            return ""
        reader = max(by_reader, key=lambda r: by_reader[r][i, 0])
        return f"{pct(by_reader[reader][i, 0])} ({reader})"

    rows = [
        [
            p.name,
            f"{p.font} {p.size_pt} pt",
            p.dpi,
            p.damage if "JPEG" in p.damage else f"{p.damage}, q{p.quality}",
            *(pct(s[i, 0]) for s in scores.values()),
            *(worst_of(r, i) for r in readers.values()),
            ", ".join(ours["pages"][i].get("steps", [])) or ours["pages"][i].get("error", ""),
        ]
        for i, p in enumerate(pages)
    ]
    headers = [
        "page",
        "font",
        "dpi",
        "damage",
        *(f"{s} CER %" for s in scores),
        *(f"{who}, worst reader CER %" for who in readers),
        "sohoa steps",
    ]
    return "## Per page\n\n" + table(headers, rows)


def tool_version(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    return ((done.stdout or done.stderr).strip().splitlines() or ["?"])[0]


def ocr_digest() -> str:
    """Short sha256 over ``ocr/*.py``, to tell which state of the cleaning code ran."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "ocr").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def header(n: int) -> str:
    """Machine, versions and code state, taken when the run starts."""
    status = "; ".join(git("status", "--short", "ocr/").splitlines()) or "clean"
    clean_state = (
        f"last commit touching it {git('log', '-1', '--format=%h', '--', 'ocr/')}, "
        f"`git status --short ocr/`: {status}; sha256 of ocr/*.py {ocr_digest()}"
    )
    dirty = [line.split(maxsplit=1)[1] for line in git("status", "--porcelain").splitlines()]
    return (
        f"# sohoa OCR benchmark\n\n- date: {datetime.now().isoformat(timespec='seconds')}\n"
        f"- machine: nproc {CORES}, {platform.machine()}, Python {platform.python_version()}\n"
        f"- {tool_version('tesseract', '--version')} (`vie`); OCRmyPDF "
        f"{tool_version(str(OCRMYPDF), '--version')}; unpaper {tool_version('unpaper', '-V')}; "
        f"Ghostscript {tool_version('gs', '--version')}; {tool_version('pdftotext', '-v')}\n"
        f"- code: commit {git('rev-parse', '--short', 'HEAD')}; uncommitted changes in: "
        f"{', '.join(dirty) or 'none'}\n- `ocr/` at start: {clean_state}\n"
        f"- 1-min load average at start: {Path('/proc/loadavg').read_text().split()[0]}\n"
        f"- corpus: {n} pages (`bench/ocr_corpus.py`, seed {SEED}), A4, {len(KINDS)} kinds\n"
    )


# --------------------------------------------------------------------------- main


def run_all(per_type: int, memory_200: bool) -> str:
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-ocr-") as tmp:
        work = Path(tmp)
        top = header(per_type * len(KINDS))
        log(f"rendering {per_type} pages x {len(KINDS)} kinds")
        pages = make_corpus(work / "corpus", per_type, SEED)
        pdf = write_batch_pdf([p.path for p in pages], work / "batch.pdf")
        n = len(pages)
        raw = run_raw(pages, work)
        ours = run_sohoa(pdf, work, f"{n} pages", archive=True) | {"n": n}
        theirs = run_ocrmypdf(pdf, work) | {"n": n}
        big = None
        if memory_200:
            big_pdf = write_batch_pdf([p.path for p in pages], work / "batch-200.pdf", 200)
            big = run_sohoa(big_pdf, work, "200 pages") | {"n": 200}
        layers = {
            SOHOA_PDF: read_back(ours.get("archive"), n, "sohoa"),
            OCRMYPDF_PDF: read_back(theirs.get("pdf"), n, "OCRmyPDF"),
        }
        log("scoring")
        texts = {
            "sohoa": [p["text"] for p in ours["pages"]],
            "raw Tesseract": raw["texts"],
            "OCRmyPDF": layers[OCRMYPDF_PDF].get("pdftotext -raw", {}).get("texts", [""] * n),
            "OCRmyPDF sidecar": page_texts(theirs, "sidecar", n),
        }
        readers = {
            who: score(pages, {r: got["texts"] for r, got in layer.items()})
            for who, layer in layers.items()
        }
        return report(top, pages, score(pages, texts), readers, layers, raw, ours, theirs, big)


CER_NOTE = (
    "\nsohoa = `PageOcr.text`; OCRmyPDF = text of its output PDF by `pdftotext -raw`; "
    "worst reader = the highest mean of the six PDF readers on that row (next section); "
    "sidecar = the Tesseract text OCRmyPDF wrote beside it. They differ where OCRmyPDF dropped a "
    "page's text layer ('improbable aspect ratio': a page it did not turn upright). Seal "
    "inscriptions, borders and holes are not in the truth: text read from them counts as "
    "insertions, and a CER above 100 % is possible."
)


def report(top: str, pages, scores, readers, layers, raw, ours, theirs, big) -> str:
    n = len(pages)
    speed, ppm = speed_section(n, raw, ours, theirs)
    failed = theirs.get("error")
    seen = ", ".join(f"{r['n']} pages: {r['ocr_digest']}" for r in (ours, big) if r)
    sections = [
        top + f"- sha256 of ocr/*.py as imported by the sohoa child(ren): {seen}\n",
        target_section(pages, scores, readers, ppm, ours, big),
        "## Character error rate (mean over pages)\n\n"
        + quality_table(pages, scores, readers, 0, "CER")
        + "\n"
        + CER_NOTE,
        text_layer_section(pages, scores, readers, layers, ours, theirs),
        "## Word error rate (mean over pages)\n\n"
        + quality_table(pages, scores, readers, 1, "WER"),
        speed,
        memory_section(n, ours, raw, theirs, big),
        pages_section(pages, scores, readers, ours),
    ]
    if failed:
        sections.insert(1, f"**OCRmyPDF failed:**\n\n```\n{failed}\n```")
    return "\n\n".join(sections) + "\n"


def main(per_type: int, memory_200: bool) -> None:
    whole = measure(lambda: run_all(per_type, memory_200))
    write_report(whole, OUT_MD)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-per-type", type=int, default=4, help="pages per kind (default 4)")
    parser.add_argument(
        "--memory-200", action="store_true", help="also measure sohoa's peak memory on 200 pages"
    )
    parser.add_argument("--child-sohoa", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-archive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sohoa:
        child_sohoa(args.child_sohoa, args.child_out, args.child_archive)
    else:
        if shutil.which("tesseract") is None:
            sys.exit("tesseract is not installed")
        main(args.pages_per_type, args.memory_200)
