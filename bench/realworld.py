"""OCR quality on real-world kinds of input, per kind, against raw Tesseract and OCRmyPDF.

Run: ``.venv/bin/python bench/realworld.py [--pages-per-kind N] [--seed N] [--kinds K ...]
[--keep DIR]``
(default N = 3, i.e. 18 pages, roughly 10 minutes on 2 shared cores).

Why: :mod:`bench.ocr` measures sohoa on one clean layout with a list of damages; offices
hand over other things: phone photos without a DPI tag, 1-bit CCITT scans at 200 dpi,
colour JPEG scans at 200/300 dpi, yellowed pages with handwritten notes, and signed PDFs
that already carry a poor scanner text layer. :mod:`bench.realworld_corpus` makes each of
these as an office would hand it over (see its docstring); every page is one input file,
and three systems read each file as a user would give it to them:

1. sohoa: its real ingest path on the file as given (``ocr.pages.detect_format`` ->
   ``iter_pages`` -> ``ocr.engine.ocr_page``; a JPEG goes in as a JPEG, a PDF as a PDF),
   in a child process exactly as :func:`bench.ocr.child_sohoa` runs it (that function,
   with its ``source_of`` replaced by one that detects the format, since it assumes PDF).
   The child also builds the archival PDF; the runner then signs it
   (``pdf.sign.signer.sign_pdf``, the generated demo key) and every reader of
   :mod:`bench.pdf_readers` reads the signed file back: the worst reader's mean is the
   "signed PDF" column.
2. raw Tesseract: ``tesseract IMAGE - -l vie`` with no ``--dpi``, on the image as the
   office has it: the photo itself, or the scanner's image file inside the PDF (the
   CCITT TIFF, the JPEG), since Tesseract does not read PDFs.
3. OCRmyPDF: ``ocrmypdf -l vie --rotate-pages --deskew --clean --output-type pdf
   --optimize 0`` on the same file; text = ``pdftotext -raw`` of its output. A photo
   has no DPI tag, so OCRmyPDF refuses it without ``--image-dpi``: it is given the true
   page resolution (which **favours OCRmyPDF**: a user would not know it). A PDF that
   already has text and a signature needs ``--force-ocr --invalidate-digital-signatures``
   (what a user does when OCRmyPDF stops with "page already has text" and "digital
   signature"; ``--redo-ocr`` cannot be combined with ``--deskew``/``--clean``).

CER as in :mod:`bench.ocr` (NFC, whitespace collapsed, reading order counts); means over
pages. "meets" = sohoa's mean CER ≤ 1 % and ≤ raw Tesseract's and ≤ OCRmyPDF's on that
kind. Nothing is asserted: a benchmark reports. Output: printed and written to
``bench/out/realworld.md``. Speed is not reported (one page per process here; see
``bench/ocr.py`` for speed).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/ocr.py is named like the ``ocr`` package: keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np

import bench.ocr as ocr_bench
from bench.ocr import (
    OCRMYPDF,
    OCRMYPDF_ARGS,
    ocr_digest,
    pct,
    raw_tesseract,
    read_back,
    run_sampled,
    score,
    tool_version,
    worst_reader,
)
from bench.pipeline import git, measure, table, tesseract_env, write_report
from bench.realworld_corpus import KINDS, RealPage, fonts_available, make_corpus
from samples.synth import cer
from schemas.models import SourceFile
from schemas.settings import LimitSettings

OUT_MD = ROOT / "bench" / "out" / "realworld.md"
CORES = os.cpu_count() or 1
SEED = 7100
TARGET = 0.01
LIMITS = LimitSettings()


def log(message: str) -> None:
    print(f"[bench-realworld] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- sohoa


def detected_source(path: Path) -> SourceFile:
    """The upload as sohoa's inbox classifies it: format from the file's own bytes."""
    import hashlib

    from ocr.pages import detect_format

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fmt = detect_format(path, limits=LIMITS)
    return SourceFile(name=path.name, sha256=digest, size=path.stat().st_size, format=fmt)


def child(path: Path, out: Path, archive: Path) -> None:
    """Hidden mode: :func:`bench.ocr.child_sohoa` on ``path`` with its real format."""
    ocr_bench.source_of = detected_source
    ocr_bench.child_sohoa(path, out, archive)


def run_sohoa(page: RealPage, work: Path) -> dict:
    out, archive = work / f"{page.name}.sohoa.json", work / f"{page.name}.sohoa.pdf"
    args = [sys.executable, str(Path(__file__).resolve()), "--child-sohoa", str(page.path)]
    args += ["--child-archive", str(archive), "--child-out", str(out)]
    done = run_sampled(args)
    if done["code"] != 0 or not out.is_file():
        tail = done["stderr"].decode("utf-8", "replace").strip().splitlines()[-3:]
        log(f"sohoa failed on {page.name}: {' | '.join(tail)}")
        return {"text": "", "error": " | ".join(tail)[-300:], "steps": []}
    result = json.loads(out.read_text(encoding="utf-8"))
    summary = dict(result["pages"][0]) if result["pages"] else {"text": "", "steps": []}
    summary["text"] = "\n".join(p["text"] for p in result["pages"])
    summary["pages_found"] = len(result["pages"])
    summary["archive"] = result.get("archive")
    summary["archive_error"] = result.get("archive_error")
    return summary


def sign(unsigned: str | None, work: Path, settings) -> str | None:
    """sohoa's own signing step on its archival PDF; None if there was none or it failed."""
    if not unsigned:
        return None
    from pdf.sign.signer import sign_pdf

    signed = Path(unsigned).with_suffix(".signed.pdf")
    try:
        sign_pdf(Path(unsigned), signed, settings)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports errors, it does not stop
        log(f"signing {unsigned} failed: {exc}")
        return None
    return str(signed)


# --------------------------------------------------------------------------- OCRmyPDF


def ocrmypdf_args(page: RealPage) -> list[str]:
    """What a user must add for this file (see the module docstring)."""
    extra = []
    if not page.dpi_tagged:
        extra += ["--image-dpi", str(round(page.dpi))]
    if page.existing_layer:
        extra += ["--force-ocr", "--invalidate-digital-signatures"]
    return extra


def run_ocrmypdf(page: RealPage, work: Path) -> dict:
    """Like :func:`bench.ocr.run_ocrmypdf`, with per-file options and one job per file."""
    out, sidecar = work / f"{page.name}.ocrmypdf.pdf", work / f"{page.name}.ocrmypdf.txt"
    args = [str(OCRMYPDF), *OCRMYPDF_ARGS, *ocrmypdf_args(page), "--jobs", "1"]
    args += ["--output-type", "pdf", "--optimize", "0", "--sidecar", str(sidecar)]
    done = subprocess.run(
        [*args, str(page.path), str(out)], capture_output=True, env=tesseract_env(None), check=False
    )
    if done.returncode != 0 or not out.is_file():
        error = done.stderr.decode("utf-8", "replace").strip()[-300:]
        log(f"OCRmyPDF failed on {page.name}: {error}")
        return {"pdf": None, "error": error}
    return {"pdf": str(out), "sidecar": sidecar.read_text(encoding="utf-8")}


def existing_layer_text(page: RealPage) -> str:
    """The text a reader already gets from the input file (``pdftotext -raw``)."""
    if page.path.suffix != ".pdf":
        return ""
    done = subprocess.run(
        ["pdftotext", "-raw", "-enc", "UTF-8", str(page.path), "-"],
        capture_output=True,
        check=False,
    )
    return done.stdout.decode("utf-8", "replace")


# --------------------------------------------------------------------------- run


def run_all(per_kind: int, seed: int, kinds: Sequence[str], keep: Path | None) -> str:
    from schemas.settings import Settings

    with tempfile.TemporaryDirectory(prefix="sohoa-bench-realworld-") as tmp:
        work = Path(tmp)
        top = header(per_kind, seed, kinds)
        log(f"making {per_kind} pages x {len(kinds)} kinds")
        pages = make_corpus(work / "corpus", per_kind, seed, tuple(kinds))
        env = tesseract_env(1)
        with ThreadPoolExecutor(max_workers=CORES) as pool:
            log(f"raw Tesseract on {len(pages)} pages")
            raw = list(pool.map(lambda p: raw_tesseract(p.image, env, work / "raw.log"), pages))
            log(f"sohoa on {len(pages)} files")
            ours = list(pool.map(lambda p: run_sohoa(p, work), pages))
            log(f"OCRmyPDF on {len(pages)} files")
            theirs = list(pool.map(lambda p: run_ocrmypdf(p, work), pages))
        settings = Settings(data_dir=work / "data")
        signed = [sign(o.get("archive"), work, settings) for o in ours]
        layers = {"sohoa signed PDF": {}, "OCRmyPDF PDF": {}}
        for i, page in enumerate(pages):
            for who, pdf in (("sohoa signed PDF", signed[i]), ("OCRmyPDF PDF", theirs[i]["pdf"])):
                for reader, got in read_back(pdf, 1, f"{who} of {page.name}").items():
                    layers[who].setdefault(reader, []).append(got["texts"][0])
        texts = {
            "sohoa": [o["text"] for o in ours],
            "raw Tesseract": raw,
            "OCRmyPDF": layers["OCRmyPDF PDF"].get("pdftotext -raw", [""] * len(pages)),
            "OCRmyPDF sidecar": [t.get("sidecar", "") for t in theirs],
            "input's own text layer": [existing_layer_text(p) for p in pages],
        }
        scores = score(pages, texts)
        readers = {who: score(pages, by_reader) for who, by_reader in layers.items()}
        if keep:
            save_texts(keep, pages, texts)
        return report(top, pages, scores, readers, ours, theirs, texts)


def save_texts(dest: Path, pages: Sequence[RealPage], texts: dict[str, list[str]]) -> None:
    """Each page's input, truth and every system's text, to look at (``--keep``)."""
    dest.mkdir(parents=True, exist_ok=True)
    for i, page in enumerate(pages):
        shutil.copy(page.path, dest / page.path.name)
        (dest / f"{page.name}.truth.txt").write_text(page.truth, encoding="utf-8")
        for who, got in texts.items():
            slug = who.replace(" ", "-").replace("'", "")
            (dest / f"{page.name}.{slug}.txt").write_text(got[i], encoding="utf-8")


# --------------------------------------------------------------------------- report


def groups(pages: Sequence[RealPage]) -> dict[str, np.ndarray]:
    kinds = np.array([p.kind for p in pages])
    out = {k: kinds == k for k in KINDS if (kinds == k).any()}
    out["**all pages**"] = np.ones(len(pages), bool)
    return out


def main_table(pages, scores, readers) -> str:
    rows = []
    for label, mask in groups(pages).items():
        s, r, o = (scores[k][mask, 0].mean() for k in ("sohoa", "raw Tesseract", "OCRmyPDF"))
        meets = s <= TARGET and s <= r and s <= o
        has = mask & np.array([bool(p.existing_layer) for p in pages])
        layer = pct(scores["input's own text layer"][has, 0].mean()) if has.any() else ""
        rows.append(
            [
                label,
                int(mask.sum()),
                f"**{pct(s)}**",
                pct(r),
                pct(o),
                worst_reader(readers["sohoa signed PDF"], mask),
                worst_reader(readers["OCRmyPDF PDF"], mask),
                layer,
                "yes" if meets else "**no**",
            ]
        )
    headers = [
        "kind",
        "pages",
        "sohoa CER %",
        "raw Tesseract CER %",
        "OCRmyPDF CER %",
        "sohoa signed PDF, worst reader CER %",
        "OCRmyPDF PDF, worst reader CER %",
        "input's own text layer CER %",
        "meets ≤ 1 % and ≤ both",
    ]
    return table(headers, rows)


def reader_table(pages, readers) -> str:
    """sohoa's signed PDF: CER % of every reader per kind, beside the OCR text's own."""
    by = readers["sohoa signed PDF"]
    names = sorted(by)
    rows = [
        [label, *(pct(by[name][mask, 0].mean()) for name in names)]
        for label, mask in groups(pages).items()
    ]
    return table(["kind", *names], rows)


def order_free(truth: str, text: str) -> float:
    """CER with word order ignored (both sides' words sorted): recognition without layout."""
    return cer(" ".join(sorted(truth.split())), " ".join(sorted(text.split())))


def order_free_table(pages, texts) -> str:
    systems = ("sohoa", "raw Tesseract", "OCRmyPDF")
    got = {k: np.array([order_free(p.truth, t) for p, t in zip(pages, texts[k])]) for k in systems}
    rows = [
        [label, int(m.sum()), *(pct(got[k][m].mean()) for k in systems)]
        for label, m in groups(pages).items()
    ]
    return table(["kind", "pages", *(f"{k} order-free CER %" for k in systems)], rows)


def pages_table(pages, scores, readers, ours, theirs) -> str:
    rows = []
    for i, p in enumerate(pages):
        by = readers["sohoa signed PDF"]
        worst = max(by, key=lambda r: by[r][i, 0]) if by else ""
        note = ours[i].get("error") or ", ".join(ours[i].get("steps", []))
        if theirs[i].get("error"):
            note += f"; OCRmyPDF: {theirs[i]['error'][-120:]}"
        rows.append(
            [
                p.name,
                p.doc,
                f"{p.font} {p.size_pt:g} pt",
                f"{p.dpi:.0f}",
                p.detail,
                pct(scores["sohoa"][i, 0]),
                pct(scores["raw Tesseract"][i, 0]),
                pct(scores["OCRmyPDF"][i, 0]),
                f"{pct(by[worst][i, 0])} ({worst})" if by else "",
                note,
            ]
        )
    headers = [
        "page",
        "document",
        "font",
        "dpi",
        "how it was made",
        "sohoa CER %",
        "raw CER %",
        "OCRmyPDF CER %",
        "sohoa signed PDF worst reader %",
        "sohoa steps",
    ]
    return table(headers, rows)


def header(per_kind: int, seed: int, kinds: Sequence[str]) -> str:
    dirty = [line.split(maxsplit=1)[1] for line in git("status", "--porcelain").splitlines()]
    return (
        f"# sohoa on real-world kinds of input\n\n- date: {datetime.now().isoformat(timespec='seconds')}\n"
        f"- {tool_version('tesseract', '--version')} (`vie`); OCRmyPDF "
        f"{tool_version(str(OCRMYPDF), '--version')}\n"
        f"- code: commit {git('rev-parse', '--short', 'HEAD')}; uncommitted changes in: "
        f"{', '.join(dirty) or 'none'}; sha256 of ocr/*.py {ocr_digest()}\n"
        f"- corpus: `bench/realworld_corpus.py`, seed {seed}, {per_kind} page(s) x "
        f"{len(kinds)} kinds; fonts: {', '.join(fonts_available())}\n"
        f"- 1-min load average at start: {Path('/proc/loadavg').read_text().split()[0]}\n"
    )


def report(top, pages, scores, readers, ours, theirs, texts) -> str:
    opts = sorted({" ".join(ocrmypdf_args(p)) or "(none)" for p in pages})
    note = (
        "\nCER % = mean over pages (NFC, whitespace collapsed, reading order counts). sohoa = "
        "`PageOcr.text` from its real ingest of the file as given; raw Tesseract = `tesseract "
        "IMAGE - -l vie`, no `--dpi`, on the photo or the scanner's image file; OCRmyPDF = "
        f"`pdftotext -raw` of `ocrmypdf {' '.join(OCRMYPDF_ARGS)}` plus per file: "
        f"{'; '.join(opts)} (`--image-dpi` = the true page resolution, which favours "
        "OCRmyPDF). sohoa signed PDF = its archival PDF signed by `sign_pdf` (demo key), read "
        "by every reader of `bench/pdf_readers.py`; the worst reader's mean is shown. "
        "Seals, signatures and handwriting are not in the truth: text read from them counts "
        "as insertions."
    )
    sidecar = {k: pct(scores["OCRmyPDF sidecar"][m, 0].mean()) for k, m in groups(pages).items()}
    return (
        "\n\n".join(
            [
                top,
                "## CER per kind\n\n" + main_table(pages, scores, readers) + "\n" + note,
                "OCRmyPDF's own sidecar text, CER % per kind: "
                + "; ".join(f"{k} {v}" for k, v in sidecar.items()),
                "## sohoa's signed PDF, every reader\n\nCER % of the text each reader of "
                "`bench/pdf_readers.py` gets from sohoa's signed PDF (compare the sohoa CER "
                "column above: that is the OCR text itself).\n\n" + reader_table(pages, readers),
                "## Word order ignored\n\nThe same texts with both sides' words sorted before the CER: "
                "what is left is recognition (characters, words lost or invented), without reading "
                "order. The gap to the table above is reading order: mostly the two-column header "
                'and the footer ("Nơi nhận" beside the signature block), which the truth reads '
                "block by block.\n\n" + order_free_table(pages, texts),
                "## Per page\n\n" + pages_table(pages, scores, readers, ours, theirs),
            ]
        )
        + "\n"
    )


def main(per_kind: int, seed: int, kinds: Sequence[str], keep: Path | None) -> None:
    whole = measure(lambda: run_all(per_kind, seed, kinds, keep))
    write_report(whole, OUT_MD)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages-per-kind", type=int, default=3, help="pages per kind (default 3)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--keep", type=Path, help="copy inputs, truths and texts here")
    parser.add_argument("--child-sohoa", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-archive", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_sohoa:
        child(args.child_sohoa, args.child_out, args.child_archive)
    else:
        if shutil.which("tesseract") is None:
            sys.exit("tesseract is not installed")
        main(args.pages_per_kind, args.seed, args.kinds, args.keep)
