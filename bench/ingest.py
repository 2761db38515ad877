"""Whole-ingest benchmark: ``sohoa ingest`` (pages -> signed PDF in the store) against OCRmyPDF.

Run: ``.venv/bin/python bench/ingest.py [--pages 15] [--runs 2] [--seed 9000]``.

Input: ``--pages`` held-out pages of the OCR benchmark's generator (:mod:`bench.ocr_corpus`,
seed 9000, never used while tuning; the 9 kinds of damage in turn, 200/300 dpi, JPEG as a
scanner writes it), as one image-only scanner PDF (``batch.pdf``). On that same file, in
the same run and on the same cores:

1. **raw Tesseract**: ``tesseract PAGE - -l vie`` per page image, ``OMP_THREAD_LIMIT=1``,
   one page per core. Its CPU seconds divided by the cores is **the bound**: the least wall
   time any pipeline that runs Tesseract once per page can take.
2. **OCRmyPDF**: ``ocrmypdf -l vie --rotate-pages --deskew --clean --jobs <cores>`` (its
   default PDF/A output), the whole command.
3. **sohoa**, default settings, pages -> OCR -> fields -> MRC PDF/A -> PAdES signature ->
   store -> catalog, each run with its own ``--unit`` so each is a new batch, every set-up
   after one untimed warm-up run of its own (the data folder, demo signing key, page cache;
   the Prefect server's first flow run):

   a. **the headline**: the real ``sohoa ingest --json --unit U batch.pdf`` console script
      in a fresh process on embedded defaults (local store, SQLite catalog) with no
      ``PREFECT_API_URL``: the CLI runs the batch plainly (:mod:`flows.plain`, no Prefect
      imported), what a clerk waits for. ``--runs`` timed runs.
   b. the same command with ``PREFECT_API_URL`` naming a ``prefect server start`` this
      script started (as production runs one): the CLI runs the ``digitise_batch`` flow
      (:mod:`flows.digitise`); the server's CPU meanwhile is counted in the run's CPU.
      ``--runs`` timed runs.
   c. **one running process** (``--child-warm``): the CLI's ingest code called once per batch
      inside one long-running Python process, no ``PREFECT_API_URL`` (the plain run); its
      first batch (imports, word index) is its warm-up, the next ``--runs`` are timed.
   d. the Prefect flow with a temporary server (``--child-temporary``, the default of
      ``sohoa ingest`` before the plain run existed): this script's child runs the CLI's
      ingest with no ``PREFECT_API_URL`` but with the CLI's choice forced to the Prefect
      flow, so Prefect starts its own temporary server in the process; ``--temporary-runs``
      timed runs (0: left out).
4. **profile**: one more plain ingest (3a's path) through the same CLI code in this
   script's child (``--child-profile``), with per-stage timers around the pipeline's own
   functions: CPU per stage is each thread's CPU (``time.thread_time``) inside the stage,
   minus the stages nested in it, plus the CPU of the programs (Tesseract) the stage
   started (``wait4`` on each child). Main-thread phases (start-up, batch start, OCR, the
   tail after OCR; marked after each step the engine runs) get wall time and the whole
   process tree's CPU, which shows the critical path: a phase using one core of two
   leaves the other idle. ``--profile-server`` profiles 3b's flow run as well.

CPU seconds are reported beside wall seconds because this machine is shared: CPU per stage
barely moves with other load, wall time does. No thresholds: numbers and ratios only,
printed and written to ``bench/out/ingest.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse
import json
import os
import resource
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime

OUT_DIR = ROOT / "bench" / "out" / "ingest"
OUT_MD = ROOT / "bench" / "out" / "ingest.md"
CORES = os.cpu_count() or 1
SOHOA = Path(sys.executable).with_name("sohoa")
OCRMYPDF = Path(sys.executable).with_name("ocrmypdf")
MAIN_REST = {
    "plain": "CLI + plain batch run (main thread, outside the stages below)",
    "prefect": "CLI + Prefect flow engine (main thread)",
}
"""The main thread's time outside every stage, by the engine that ran the batch."""
OCRMYPDF_ARGS = ("-l", "vie", "--rotate-pages", "--deskew", "--clean", "--jobs", str(CORES))


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the report."""
    print(f"[bench-ingest] {message}", file=sys.stderr, flush=True)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def machine_busy_s() -> float:
    """CPU seconds all processes have used since boot (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def measure(fn: Callable[[], object]) -> dict:
    """Wall, CPU of this process and its reaped children, and others' share of the machine."""
    b0, s0, c0 = machine_busy_s(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = fn()
    wall = time.perf_counter() - t0
    own = _cpu(resource.RUSAGE_SELF) - s0 + _cpu(resource.RUSAGE_CHILDREN) - c0
    foreign = max(0.0, machine_busy_s() - b0 - own) / (wall * CORES)
    return {"wall": wall, "cpu": own, "foreign": foreign, "result": result}


# --------------------------------------------------------------------------- input


def make_input(pages: int, seed: int) -> tuple[Path, list[Path]]:
    """The held-out pages (kinds in turn) and their scanner PDF; reused when already made."""
    from bench import ocr_corpus as corpus

    folder = OUT_DIR / f"pages-{seed}-{pages}"
    pdf = folder / "batch.pdf"
    kinds = list(corpus.KINDS)
    if not pdf.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        log(f"rendering {pages} pages (seed {seed})")
        made = [
            corpus.make_page(
                kinds[i % len(kinds)],
                i // len(kinds),
                i % len(kinds),
                seed + 100 * (i % len(kinds)) + i // len(kinds),
                folder,
            )
            for i in range(pages)
        ]
        corpus.write_batch_pdf([p.path for p in made], pdf)
    return pdf, sorted(folder.glob("*.jpg"), key=lambda p: (int(p.name.split("-")[0]), p.name))


# --------------------------------------------------------------------------- systems


def run_raw(images: Sequence[Path]) -> dict:
    """Raw Tesseract, one page per core, one OpenMP thread each (after one warm-up page)."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(image: Path) -> None:
        subprocess.run(
            ["tesseract", str(image), "-", "-l", "vie"], env=env, check=True, capture_output=True
        )

    one(images[0])
    log(f"raw Tesseract on {len(images)} pages, {CORES} at a time")
    with ThreadPoolExecutor(max_workers=CORES) as pool:
        return measure(lambda: list(pool.map(one, images)))


def run_ocrmypdf(pdf: Path, work: Path) -> dict:
    out = work / "ocrmypdf.pdf"
    args = [str(OCRMYPDF), *OCRMYPDF_ARGS, str(pdf), str(out)]
    log("ocrmypdf " + " ".join(args[1:]))
    run = measure(lambda: subprocess.run(args, capture_output=True, check=False))
    done = run.pop("result")
    run["ok"] = done.returncode == 0 and out.is_file()
    if not run["ok"]:
        run["error"] = done.stderr.decode("utf-8", "replace")[-400:]
    return run


class PrefectServer:
    """A running Prefect server (``prefect server start``), as production runs one.

    ``sohoa ingest`` given ``PREFECT_API_URL`` uses it instead of starting a temporary
    one in each process. Its CPU during a run is part of that run's cost.
    """

    def __init__(self, home: Path) -> None:
        import psutil

        port = 4300 + os.getpid() % 500
        self.url = f"http://127.0.0.1:{port}/api"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        env |= {
            "PREFECT_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
        home.mkdir(parents=True, exist_ok=True)
        prefect = Path(sys.executable).with_name("prefect")
        self.proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.ps = psutil.Process(self.proc.pid)
        import urllib.request

        for _ in range(600):
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("the Prefect server did not start")

    def cpu(self) -> float:
        total = 0.0
        for proc in [self.ps, *self.ps.children(recursive=True)]:
            try:
                total += sum(proc.cpu_times()[:4])
            except Exception:  # noqa: BLE001, S110 - ended meanwhile
                pass
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cli_env(data_dir: Path, server: PrefectServer | None) -> dict[str, str]:
    """The child's environment: no ``SOHOA_``/``PREFECT_`` variables of this shell; the
    server's ``PREFECT_API_URL`` only when one is given (then the CLI runs the flow)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "PREFECT_"))}
    env |= {"SOHOA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return env | ({"PREFECT_API_URL": server.url} if server else {})


def _run_cli(args: list[str], data_dir: Path, server: PrefectServer | None) -> dict:
    """Run one sohoa process; its CPU includes the Prefect server's meanwhile."""
    before = server.cpu() if server else 0.0
    env = cli_env(data_dir, server)
    run = measure(lambda: subprocess.run(args, capture_output=True, env=env, check=False))
    run["server_cpu"] = server.cpu() - before if server else 0.0
    run["cpu"] += run["server_cpu"]
    done = run.pop("result")
    if done.returncode != 0:
        raise RuntimeError(f"{args[1]} failed: {done.stderr.decode()[-1500:]}")
    run["stdout"] = done.stdout
    return run


def run_sohoa(pdf: Path, data_dir: Path, unit: str, server: PrefectServer | None) -> dict:
    """The real console script, one batch; returns wall/CPU and the record it printed.

    No ``server``: the CLI's plain run (embedded defaults); a server: its flow run."""
    run = _run_cli([str(SOHOA), "ingest", "--json", "--unit", unit, str(pdf)], data_dir, server)
    run["records"] = json.loads(run.pop("stdout"))
    return run


def _child(mode: str, pdf: Path, *extra: str) -> list[str]:
    """This script run as a child in one of its ``--child-...`` modes."""
    return [sys.executable, str(Path(__file__).resolve()), mode, str(pdf), *extra]


def run_temporary(pdf: Path, data_dir: Path, unit: str) -> dict:
    """One batch on the Prefect flow with no server set (``--child-temporary``): Prefect
    starts its temporary server in the process, as ``sohoa ingest`` did before the plain run."""
    out = OUT_DIR / "temporary.json"
    run = _run_cli(
        _child("--child-temporary", pdf, "--unit", unit, "--child-out", str(out)), data_dir, None
    )
    run["records"] = json.loads(run.pop("stdout"))
    return {**run, **json.loads(out.read_text())}


def run_profile(pdf: Path, data_dir: Path, unit: str, server, cprofile: bool) -> dict:
    """One instrumented ingest (``--child-profile``): the plain run with no ``server``,
    the flow run with one."""
    out = OUT_DIR / f"profile-{'server' if server else 'plain'}.json"
    args = _child("--child-profile", pdf, "--unit", unit, "--child-out", str(out))
    run = _run_cli(args + (["--cprofile"] if cprofile else []), data_dir, server)
    run.pop("stdout")
    profile = json.loads(out.read_text())
    if server:  # the server's work for this batch counts, as a stage of its own
        profile["stages"]["Prefect server (running, its CPU)"] = {
            "python": run["server_cpu"],
            "children": 0.0,
            "calls": 1,
        }
        profile["process_cpu"] += run["server_cpu"]
    return {**run, **profile}


def run_in_process(pdf: Path, data_dir: Path, units: list[str]) -> list:
    """Batches ingested one after another by one long-running process (``--child-warm``),
    no ``PREFECT_API_URL``: the plain run, once the process is started."""
    out = OUT_DIR / "in-process.json"
    _run_cli(_child("--child-warm", pdf, "--child-out", str(out), "--unit", ",".join(units)),
             data_dir, None)  # fmt: skip
    return json.loads(out.read_text())[1:]  # the first batch pays the imports: a warm-up


def _cli_ingest(unit: str, pdf: Path) -> None:
    """``sohoa ingest --json --unit UNIT PDF`` through the CLI's code, in this process."""
    from cli.app import app

    try:
        app(["ingest", "--json", "--unit", unit, str(pdf)])
    except SystemExit as exc:
        if exc.code:
            raise


def _engines_loaded() -> dict:
    """Which engine modules this process imported: the check that a row ran what it says."""
    return {
        "prefect_imported": "prefect" in sys.modules,
        "flows_plain": "flows.plain" in sys.modules,
        "flows_digitise": "flows.digitise" in sys.modules,
    }


def child_warm(pdf: Path, units: list[str], out: Path) -> None:
    """Ingest ``pdf`` once per unit through the CLI's code in this one process; per batch:
    wall, this process's and its children's CPU, others' load, what was imported."""
    runs = []
    for unit in units:
        run = measure(lambda u=unit: _cli_ingest(u, pdf))
        run.pop("result")
        runs.append(run | _engines_loaded())
    out.write_text(json.dumps(runs), encoding="utf-8")


def child_temporary(pdf: Path, unit: str, out: Path) -> None:
    """The CLI's ingest with its choice forced to the Prefect flow and no server set:
    Prefect starts a temporary server in this process (the CLI's path before the plain run).

    ``cli.app._batch_runner`` looks ``runs_on_prefect`` up in its module when called, so
    replacing it there is enough; the rest (``prepare_prefect``, ``run_digitise``) is the
    CLI's own code. Refuses to run with ``PREFECT_API_URL`` set (that is row 3b).
    """
    if os.environ.get("PREFECT_API_URL"):
        raise SystemExit("--child-temporary runs with no PREFECT_API_URL")
    import cli.app

    cli.app.runs_on_prefect = lambda settings: True
    _cli_ingest(unit, pdf)
    loaded = _engines_loaded()
    if not loaded["flows_digitise"] or loaded["flows_plain"]:
        raise SystemExit(f"--child-temporary did not run the Prefect flow: {loaded}")
    out.write_text(json.dumps(loaded), encoding="utf-8")


# --------------------------------------------------------------------------- the report


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


MODES = {
    "plain": "**sohoa ingest, embedded defaults (no Prefect server: the plain run)**",
    "server": "sohoa ingest, Prefect server running (`PREFECT_API_URL` set: Prefect flow run)",
    "process": "one running process, plain run (no `PREFECT_API_URL`), batch after batch",
    "temporary": "Prefect flow with a temporary server (before this change's default)",
    # results.json written before the plain run existed (``--report-from``)
    "embedded": "sohoa ingest, CLI starts its own temporary Prefect server (old layout)",
}
LEGEND = {
    "plain": (
        "the `sohoa ingest --json` console script in a fresh process, no `PREFECT_API_URL`: "
        "the CLI runs the batch's steps plainly in the process (`flows/plain.py`, Prefect "
        "not imported); what a clerk waits for. One untimed warm-up run first"
    ),
    "server": (
        "the same command with `PREFECT_API_URL` naming a `prefect server start` already "
        "running: the `digitise_batch` flow run (`flows/digitise.py`); CPU s includes the "
        "server's CPU during the run. One untimed warm-up run first"
    ),
    "process": (
        "the CLI's ingest code called once per batch inside one long-running Python "
        "process (`--child-warm`), no `PREFECT_API_URL`: the plain run without start-up; "
        "the process's first batch (imports, word index) is untimed. (The web app and "
        "Prefect workers run the flow, not this)"
    ),
    "temporary": (
        "this script's child (`--child-temporary`) running the CLI's ingest with no "
        "`PREFECT_API_URL` and the CLI's choice forced to the Prefect flow: Prefect starts "
        "a temporary server in the process, as `sohoa ingest` did by default before the "
        "plain run. One untimed warm-up run first"
    ),
    "embedded": "the CLI with no server, when it still ran the Prefect flow (old results)",
}


def _row(name: str, run: dict, bound_wall: float, theirs: dict | None) -> list[str]:
    vs = f"{theirs['wall'] / run['wall']:.2f}×" if theirs else ""
    return [
        name,
        fmt(run["wall"], 1),
        fmt(run["cpu"], 1),
        f"{run['foreign']:.0%}",
        f"{bound_wall / run['wall']:.0%}",
        vs,
    ]


def ratio_table(n: int, raw: dict, theirs: dict | None, ours: dict[str, list[dict]]) -> str:
    bound_wall, bound_cpu = raw["cpu"] / CORES, raw["cpu"]
    rows = [
        [
            "bound: raw Tesseract CPU ÷ cores",
            fmt(bound_wall, 1),
            fmt(bound_cpu, 1),
            "",
            "100 %",
            "",
        ],
        _row(f"raw `tesseract -l vie`, 1 thread, {CORES} pages at a time", raw, bound_wall, theirs),
    ]
    for mode, runs in ours.items():
        word = "batch" if mode == "process" else "run"
        rows += [
            _row(f"{MODES[mode]}, {word} {i}", r, bound_wall, theirs) for i, r in enumerate(runs, 1)
        ]
    if theirs:
        rows.append(_row(f"`ocrmypdf {' '.join(OCRMYPDF_ARGS)}`", theirs, bound_wall, theirs))
    text = table(
        ["system", "wall s", "CPU s", "others' load", "% of bound (wall)", "× OCRmyPDF (wall)"],
        rows,
    )
    cpu_rows = []
    for mode, runs in ours.items():
        if runs:
            best = min(r["cpu"] for r in runs)
            cpu_rows.append(
                [
                    MODES[mode],
                    fmt(best / n, 2),
                    f"{bound_cpu / best:.0%}",
                    f"{theirs['cpu'] / best:.2f}×" if theirs else "",
                ]
            )
    if theirs:
        cpu_rows.append(
            ["OCRmyPDF", fmt(theirs["cpu"] / n, 2), f"{bound_cpu / theirs['cpu']:.0%}", "1.00×"]
        )
    cpu_rows.append(["raw Tesseract", fmt(bound_cpu / n, 2), "100 %", ""])
    return (
        text
        + "\n\nCPU seconds, least of the runs (what others' load changes least):\n\n"
        + table(
            ["system", "CPU s/page", "raw Tesseract CPU ÷ its CPU", "OCRmyPDF CPU ÷ its CPU"],
            cpu_rows,
        )
    )


def legend(ours: dict[str, list[dict]], theirs: dict | None) -> list[str]:
    """What each row of the ratio table ran."""
    lines = [
        "Rows (the same `batch.pdf`; each sohoa run a new batch, its own `--unit`):",
        "",
        (
            "- bound: raw Tesseract's CPU seconds ÷ cores, the least wall time of any pipeline "
            "that runs Tesseract once per page;"
        ),
        f"- raw `tesseract PAGE - -l vie` per page image, `OMP_THREAD_LIMIT=1`, {CORES} at a time;",
    ]
    lines += [f"- {MODES[m]}: {LEGEND[m]};" for m, runs in ours.items() if runs]
    if theirs:
        state = "" if theirs.get("ok", True) else f" (**failed**: {theirs.get('error', '')!r})"
        lines.append(f"- OCRmyPDF, the whole command, its default PDF/A output{state}.")
    lines += [
        "",
        (
            "CPU s: the process tree's (and the Prefect server's, where one runs); others' "
            "load: the rest of the machine's CPU during the run, as a share of all cores. "
            "No thresholds: numbers and ratios only."
        ),
    ]
    return lines


STAGE_ORDER = [
    "start-up: interpreter + CLI imports",
    "start-up: batch imports (OCR, PDF; no Prefect)",
    "start-up: batch imports (Prefect, OCR, PDF)",
    "start-up: flow imports (Prefect, OCR, PDF)",  # profiles written before the plain run
    *MAIN_REST.values(),
    "receive batch (hash, inbox copy)",
    "receive into the intake (originals, ticket, row)",
    "store download (intake originals)",
    "reading pages",
    "decode page (OCR)",
    "cleaning",
    "orientation",
    "Tesseract page run",
    "second reading",
    "QR/barcodes",
    "OCR other (box mapping)",
    "field extraction + split",
    "MRC: decode, store, read back",
    "MRC: split + encode",
    "text layer",
    "PDF/A (XMP, ICC)",
    "PDF assembly (pages, qpdf write)",
    "signing: pyHanko import (background thread, during OCR)",
    "signing: key load",
    "signing",
    "store upload",
    "manifest",
    "catalog",
    "Prefect server (running, its CPU)",
]
REST = {
    "plain": "page threads outside the stages, interpreter exit (rest)",
    "prefect": "Prefect orchestration, other threads, exit (rest)",
}


def profile_table(profile: dict, n: int) -> str:
    stages = profile["stages"]
    total = profile["process_cpu"]
    rows, seen = [], 0.0
    for name in STAGE_ORDER + sorted(set(stages) - set(STAGE_ORDER)):
        if name not in stages:
            continue
        s = stages[name]
        cpu = s["python"] + s["children"]
        seen += cpu
        rows.append(
            [
                name,
                fmt(s["python"] / n, 3),
                fmt(s["children"] / n, 3),
                fmt(cpu / n, 3),
                f"{cpu / total:.1%}",
                s["calls"],
            ]
        )
    rest = total - seen
    rows.append(
        [
            REST[profile.get("engine", "prefect")],
            "",
            "",
            fmt(rest / n, 3),
            f"{rest / total:.1%}",
            "",
        ]
    )
    rows.append(["**total (process tree)**", "", "", f"**{fmt(total / n, 3)}**", "100 %", ""])
    return table(
        ["stage", "Python CPU s/page", "programs' CPU s/page", "CPU s/page", "share", "calls"], rows
    )


PARALLEL_PHASE = "OCR: all pages"
"""The one phase whose work runs on every core (one page per core); the others wait on one."""


def idle_estimate(profile: dict) -> float:
    """Wall seconds the run would take on an idle machine, from its CPU per phase.

    Each phase's process-tree CPU divided by the cores it can use: all of them for
    the page phase, one for the rest (the main thread waits on one thing at a time).
    """
    return sum(
        cpu / (CORES if name.startswith(PARALLEL_PHASE) else 1)
        for name, _, cpu in profile["phases"]
    )


def phase_table(profile: dict, bound_wall: float | None = None) -> str:
    rows = []
    for name, wall, cpu in profile["phases"]:
        cores = CORES if name.startswith(PARALLEL_PHASE) else 1
        busy = f"{cpu / (wall * CORES):.0%}" if wall else ""
        rows.append([name, fmt(wall, 2), fmt(cpu, 2), busy, fmt(cpu / cores, 2)])
    wall, cpu, idle = profile["wall"], profile["process_cpu"], idle_estimate(profile)
    of_bound = f" ({bound_wall / idle:.0%} of the bound)" if bound_wall else ""
    rows.append(
        [
            "**whole process**",
            fmt(wall, 2),
            fmt(cpu, 2),
            f"{cpu / (wall * CORES):.0%}",
            f"**{fmt(idle, 1)}**{of_bound}",
        ]
    )
    return table(
        [
            "phase (main thread, in order)",
            "wall s",
            "CPU s (process tree)",
            f"cores busy (of {CORES})",
            "idle-machine estimate s (CPU ÷ cores it can use)",
        ],
        rows,
    )


def profile_section(mode: str, profile: dict, n: int, bound_wall: float) -> list[str]:
    engine = profile.get("engine", "prefect")
    ran = {
        "plain": "the plain run (`flows.plain.run_plain`)",
        "prefect": "the Prefect flow (`flows.digitise.run_digitise`)",
    }[engine]
    imported = profile.get("prefect_imported")
    parts = [
        f"## Profile: {MODES[mode].replace('**', '')} (one instrumented run)",
        "",
        (
            f"The CLI's ingest in this script's child (`--child-profile`), which ran {ran}"
            + ("" if imported is None else f"; Prefect imported: {'yes' if imported else 'no'}")
            + f". Wall {profile['wall']:.1f} s, process-tree CPU {profile['process_cpu']:.1f} s "
            f"(others' load {profile['foreign']:.0%})."
        ),
        "",
        profile_table(profile, n),
        "",
        "Critical path (each phase ends at its mark: the name says what ended there):",
        "",
        phase_table(profile, bound_wall),
        "",
    ]
    if profile.get("children_left"):
        parts += [
            "Processes still running at the end (not reaped, in the total):",
            ", ".join(f"{c['name']} {c['cpu']:.1f} s" for c in profile["children_left"]),
            "",
        ]
    if profile.get("missing"):
        parts += ["Not found (not timed): " + ", ".join(profile["missing"]), ""]
    if profile.get("cprofile"):
        parts += ["cProfile (main thread, cumulative):", "", "```", profile["cprofile"], "```", ""]
    return parts


def code_state() -> str:
    """The commit measured and the tracked files changed beside it (read-only git calls)."""

    def git(*args: str) -> str:  # GIT_OPTIONAL_LOCKS=0: status does not refresh the index
        env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
        done = subprocess.run(
            ["git", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        return done.stdout.rstrip() if done.returncode == 0 else ""  # status lines start " M"

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    changed = [
        line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
    ]
    return f"commit {head}" + (
        f", with uncommitted changes to {', '.join(changed)}" if changed else ""
    )


def report(n, seed, raw, theirs, ours, profiles, when=None, code=None) -> str:
    when = when or datetime.now().isoformat(timespec="minutes")
    parts = [
        f"# Whole ingest: {n} held-out pages (seed {seed}), {CORES} cores, {when}",
        "",
        *([f"Code measured: {code}.", ""] if code else []),
        ratio_table(n, raw, theirs, ours),
        "",
        *legend(ours, theirs),
        "",
    ]
    for mode, profile in profiles.items():
        parts += profile_section(mode, profile, n, raw["cpu"] / CORES)
    return "\n".join(parts)


def _timed(label: str, runs: list[dict], run: dict) -> None:
    runs.append(run)
    log(f"{label}, run {len(runs)}: {run['wall']:.1f} s wall, {run['cpu']:.1f} s CPU, "
        f"others' load {run['foreign']:.0%}")  # fmt: skip


def main(args: argparse.Namespace) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    pdf, images = make_input(args.pages, args.seed)
    n = len(images)
    work = OUT_DIR / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    data_dir, stamp = work / "data", datetime.now().strftime("%H%M%S")
    started, code = datetime.now().isoformat(timespec="minutes"), code_state()
    log(f"code: {code}")
    ours: dict[str, list[dict]] = {"plain": [], "server": [], "process": [], "temporary": []}
    profiles: dict[str, dict] = {}

    log("sohoa, embedded defaults (plain run): warm-up run")
    run_sohoa(pdf, data_dir, f"BENCH-W{stamp}", None)
    for i in range(args.runs):
        _timed(
            "sohoa, plain run", ours["plain"], run_sohoa(pdf, data_dir, f"BENCH-A{i}{stamp}", None)
        )
    if (data_dir / "prefect").exists():  # prepare_prefect's folder: a flow run would make it
        raise RuntimeError("a run without PREFECT_API_URL prepared Prefect: not the plain run")
    units = [f"BENCH-P{i}{stamp}" for i in range(args.runs + 1)]
    ours["process"] = run_in_process(pdf, data_dir, units)
    if any(r["prefect_imported"] for r in ours["process"]):
        raise RuntimeError("the running process imported Prefect: not the plain run")
    for i, run in enumerate(ours["process"], 1):
        log(f"sohoa, one running process (plain), batch {i}: {run['wall']:.1f} s wall")
    if not args.no_profile:
        profiles["plain"] = run_profile(pdf, data_dir, f"BENCH-PA{stamp}", None, args.cprofile)
        log(f"profile, plain run: {profiles['plain']['wall']:.1f} s wall")

    log("starting a Prefect server (PREFECT_API_URL rows)")
    server = PrefectServer(work / "prefect-server")
    try:
        log("sohoa, Prefect server: warm-up run")
        run_sohoa(pdf, data_dir, f"BENCH-WS{stamp}", server)
        for i in range(args.runs):
            run = run_sohoa(pdf, data_dir, f"BENCH-S{i}{stamp}", server)
            _timed("sohoa, Prefect server", ours["server"], run)
        if args.profile_server and not args.no_profile:
            profiles["server"] = run_profile(
                pdf, data_dir, f"BENCH-PS{stamp}", server, args.cprofile
            )
    finally:
        server.stop()
    if args.temporary_runs:
        log("Prefect flow, temporary server: warm-up run")
        run_temporary(pdf, data_dir, f"BENCH-WT{stamp}")
    for i in range(args.temporary_runs):
        run = run_temporary(pdf, data_dir, f"BENCH-T{i}{stamp}")
        _timed("Prefect flow, temporary server", ours["temporary"], run)
    raw = run_raw(images)
    log(f"raw Tesseract: {raw['wall']:.1f} s wall, {raw['cpu']:.1f} s CPU")
    theirs = None if args.no_ocrmypdf else run_ocrmypdf(pdf, work)
    ours = {mode: runs for mode, runs in ours.items() if runs}
    text = report(n, args.seed, raw, theirs, ours, profiles, when=started, code=code)
    OUT_MD.write_text(text + "\n", encoding="utf-8")
    (OUT_DIR / "results.json").write_text(
        json.dumps(
            {
                "raw": raw,
                "ocrmypdf": theirs,
                "sohoa": ours,
                "profiles": profiles,
                "pages": n,
                "started": started,
                "code": code,
                "finished": datetime.now().isoformat(timespec="minutes"),
            },
            default=str,
            indent=1,
        )
    )
    print(text)


# --------------------------------------------------------------------------- the profiled child


class _Stages:
    """Exclusive CPU per stage and thread: nested stages are subtracted from their parent."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.totals: dict[str, dict[str, float]] = {}

    def _add(self, name: str, key: str, value: float) -> None:
        with self.lock:
            entry = self.totals.setdefault(name, {"python": 0.0, "children": 0.0, "calls": 0})
            entry[key] += value

    def stack(self) -> list:
        if not hasattr(self.local, "stack"):
            self.local.stack = []
        return self.local.stack

    def enter(self, name: str) -> None:
        now, stack = time.thread_time(), self.stack()
        if stack:
            stack[-1][2] += now - stack[-1][1]
        stack.append([name, now, 0.0])

    def leave(self) -> None:
        now, stack = time.thread_time(), self.stack()
        name, start, spent = stack.pop()
        self._add(name, "python", spent + now - start)
        self._add(name, "calls", 1)
        if stack:
            stack[-1][1] = now

    def child_cpu(self, seconds: float) -> None:
        """CPU of a program the current thread just reaped, charged to its current stage."""
        stack = self.stack()
        self._add(stack[-1][0] if stack else "programs outside any stage", "children", seconds)

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed(*args, **kwargs):
            self.enter(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.leave()

        timed.__wrapped__ = fn
        return timed


def _started_at() -> float:
    """Wall-clock time this process started, to the clock tick.

    Why not ``psutil.Process().create_time()``: it adds the start to the boot time,
    which Linux gives in whole seconds, so the first phase came out up to a second long
    (1.2 s of wall for 0.3 s of CPU). ``/proc/uptime`` has hundredths.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return time.time() - (uptime - int(stat[19]) / ticks)


class _Phases:
    """Main-thread phases: wall time and the whole process tree's CPU between marks."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.marks: list[tuple[str, float, float]] = []
        self.start_wall = _started_at()

    def tree_cpu(self) -> float:
        cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        for child in self.me.children(recursive=True):
            try:
                times = child.cpu_times()
                cpu += times.user + times.system + times.children_user + times.children_system
            except Exception:  # noqa: BLE001, S110 - it ended meanwhile (then reaped or lost)
                pass
        return cpu

    def mark(self, name: str) -> None:
        """End the phase called ``name`` now."""
        self.marks.append((name, time.time(), self.tree_cpu()))

    def table(self) -> list[tuple[str, float, float]]:
        rows, wall0, cpu0 = [], self.start_wall, 0.0
        for name, wall, cpu in self.marks:
            rows.append((name, wall - wall0, cpu - cpu0))
            wall0, cpu0 = wall, cpu
        return rows


class _Importlib:
    """Stands in for ``importlib`` in :mod:`flows.batch`: its background import of the
    signing module (``_import_meanwhile``, started as pages are read) timed as a stage,
    and the signing module's own functions wrapped once it is imported."""

    def __init__(self, stages: _Stages, late: Callable[[], None]) -> None:
        import importlib

        self._real, self._stages, self._late = importlib, stages, late

    def import_module(self, name: str, package: str | None = None):
        self._stages.enter("signing: pyHanko import (background thread, during OCR)")
        try:
            return self._real.import_module(name, package)
        finally:
            self._stages.leave()
            self._late()

    def __getattr__(self, name):
        return getattr(self._real, name)


def _hook_waits(stages: _Stages) -> None:
    """Reap children with ``wait4`` so each program's CPU is charged to the stage that ran it."""
    import subprocess as sp

    def _try_wait(self, wait_flags):
        try:
            pid, sts, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return self.pid, 0
        if pid == self.pid:
            stages.child_cpu(usage.ru_utime + usage.ru_stime)
        return pid, sts

    sp.Popen._try_wait = _try_wait


STAGE_TARGETS = [
    # (module, attribute, stage): the name is looked up where the pipeline calls it, when
    # it calls it (``flows.batch`` imported these by name; its steps use its globals)
    ("flows.batch", "iter_pages", "reading pages"),
    ("flows.batch", "load_page_pixels", "decode page (OCR)"),  # the page step's one decode
    ("flows.batch", "read_page", "OCR other (box mapping)"),
    ("ocr.reading", "ocr_page", "OCR other (box mapping)"),
    ("ocr.reading", "load_page_pixels", "decode page (OCR)"),  # only without pixels given
    ("ocr.engine", "load_page_pixels", "decode page (OCR)"),
    ("ocr.engine", "clean_for_ocr", "cleaning"),
    ("ocr.clean", "find_rotation", "orientation"),
    ("ocr.engine", "_run_tesseract", "Tesseract page run"),
    ("ocr.engine", "reread_page", "second reading"),
    ("ocr.reading", "decode_codes", "QR/barcodes"),
    ("flows.batch", "draft_records", "field extraction + split"),
    ("flows.batch", "build_archival_pdf", "PDF assembly (pages, qpdf write)"),
    ("flows.batch", "prepare_layers", "MRC: decode, store, read back"),
    ("pdf.assemble", "_mrc_layers", "MRC: decode, store, read back"),
    ("pdf.mrc", "_split", "MRC: split + encode"),
    ("pdf.assemble", "split_page", "MRC: split + encode"),  # before pdf.mrc._split existed
    ("pdf.assemble", "text_layer", "text layer"),
    ("pdf.assemble", "write_xmp", "PDF/A (XMP, ICC)"),
    ("pdf.assemble", "add_srgb_output_intent", "PDF/A (XMP, ICC)"),
    ("flows.batch", "_sign", "signing"),  # imports pyHanko if the background import has not
    ("pdf.sign.signer", "load_signer_keyed", "signing: key load"),  # once imported (_Importlib)
    ("records.commit", "commit_record", "manifest"),
    ("storage.localstore.LocalObjectStore", "put_file", "store upload"),
    ("storage.localstore.LocalObjectStore", "put_bytes", "store upload"),
    ("catalog.database.Catalog", "add_record", "catalog"),
    ("catalog.database.Catalog", "upsert_batch", "catalog"),
    ("catalog.database.Catalog", "find_records_for_batch", "catalog"),
    ("flows.batch", "open_catalog", "catalog"),
    ("flows.batch", "batch_id_of", "receive batch (hash, inbox copy)"),
    ("storage.inbox", "receive", "receive batch (hash, inbox copy)"),
    ("flows.batch", "receive_into_intake", "receive into the intake (originals, ticket, row)"),
    ("storage.localstore.LocalObjectStore", "download", "store download (intake originals)"),
]
PHASE_STEPS = [
    # (step of flows.batch, main-thread phase ended when the engine's call of it returns)
    ("find_committed", "batch start (claim, originals into the inbox, find committed records)"),
    ("extract_pages", "reading pages"),
    ("draft", "field extraction + split"),
    ("store_originals", "store originals"),
    ("catalog_stored", "look for a stored record not yet catalogued"),
    ("build_pdf", "build + sign PDF"),
    ("commit", "store + catalog"),
]
ENGINES = [
    # (module, engine class, run function, engine name): only those already imported are
    # hooked, so profiling the plain run does not import Prefect
    ("flows.plain", "PlainEngine", "run_plain", "plain"),
    ("flows.digitise", "PrefectEngine", "run_digitise", "prefect"),
]
PHASE_NAMES = {
    "plain": {
        "cli": "start-up: CLI (settings, file checks)",
        "find_committed": PHASE_STEPS[0][1],
        "end": "run end (batch row, clean-up)",
    },
    "prefect": {
        "cli": "start-up: CLI (settings, file checks, prepare Prefect)",
        "find_committed": (
            "Prefect flow start, batch start (claim, originals into the inbox, "
            "find committed records)"
        ),
        "end": "flow end (batch row, clean-up, Prefect)",
    },
}
INTAKE_PHASE = "receive into the store's intake (hash, claim, originals, ticket, row)"
"""When the CLI receives files through the intake first (``flows.batch.received_here``)."""
OPTIONAL_TARGETS = {("flows.batch", "receive_into_intake"), ("flows.batch", "received_here")}
"""Names only some versions of the pipeline have: not reported when absent."""


def _resolve(dotted: str):
    """The module or class named ``dotted``, if its module is imported already (else None)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        obj = sys.modules.get(".".join(parts[:cut]))
        if obj is None:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def _wrap_targets(stages: _Stages, targets, done: set) -> list[str]:
    """Wrap each target whose module is imported in its stage timer (once); return the rest."""
    missing = []
    for owner, attr, name in targets:
        if (owner, attr) in done:
            continue
        holder = _resolve(owner)
        if holder is None:
            missing.append(f"{owner}.{attr} (imported later)")
            continue
        if (owner, attr) == ("pdf.assemble", "split_page") and hasattr(
            _resolve("pdf.mrc"), "_split"
        ):
            continue
        if not hasattr(holder, attr):
            missing.append(f"{owner}.{attr}")
            continue
        setattr(holder, attr, stages.wrap(name, getattr(holder, attr)))
        done.add((owner, attr))
    return missing


def _instrument(stages: _Stages, phases: _Phases, engine: str, ran: dict) -> list[str]:
    """Wrap the pipeline's functions in stage timers and mark the main thread's phases for
    the ``engine`` the CLI is expected to run; return the functions not found.
    ``ran["engine"]`` is set when a run function is called.

    The steps' phases are marked around each engine's ``call`` (whatever runs a step: a
    plain call or a Prefect task), not by replacing the steps in :mod:`flows.batch`: the
    Prefect engine finds a step's task by the step's identity (``flows.digitise._TASKS``).
    The rest is replaced where the caller looks it up when it calls it: the CLI imports
    ``run_plain``/``run_digitise`` (and ``received_here``) from their modules at the call,
    and ``_Run`` finds ``_read_all`` on its class.
    """
    from flows import batch

    names = PHASE_NAMES[engine]
    done: set = ran.setdefault("done", set())  # (owner, attribute) wrapped, late ones too
    missing = _wrap_targets(stages, STAGE_TARGETS, done)
    late = [t for t in STAGE_TARGETS if t[0].startswith("pdf.sign")]
    batch.importlib = _Importlib(stages, lambda: _wrap_targets(stages, late, done))
    step_phase = {getattr(batch, step): name for step, name in PHASE_STEPS}
    step_phase[batch.find_committed] = names["find_committed"]

    def cli_started() -> None:
        """End the CLI's start-up phase at the first hook the CLI reaches."""
        if not ran.get("cli_started"):
            ran["cli_started"] = True
            phases.mark(names["cli"])

    def hook_call(cls) -> None:
        call = cls.call

        def timed_call(self, step, *args, **kwargs):
            try:
                return call(self, step, *args, **kwargs)
            finally:
                if step in step_phase:
                    phases.mark(step_phase[step])

        cls.call = timed_call

    def hook_run(module, attr: str, run_engine: str) -> None:
        run = getattr(module, attr)

        def timed_run(*a, **k):
            ran["engine"] = run_engine
            cli_started()
            try:
                return run(*a, **k)
            finally:
                phases.mark(PHASE_NAMES[run_engine]["end"])

        setattr(module, attr, timed_run)

    for module_name, cls_name, run_name, run_engine in ENGINES:
        if (module := sys.modules.get(module_name)) is not None:
            hook_call(getattr(module, cls_name))
            hook_run(module, run_name, run_engine)
    if (received_here := getattr(batch, "received_here", None)) is not None:

        @contextmanager
        def timed_received_here(*a, **k):
            cli_started()
            with received_here(*a, **k) as value:
                phases.mark(INTAKE_PHASE)
                yield value

        batch.received_here = timed_received_here
    read_all = batch._Run._read_all

    def _read_all(self, *a, **k):
        phases.mark("classify, before OCR")
        try:
            return read_all(self, *a, **k)
        finally:
            phases.mark("OCR: all pages (clean, Tesseract, reread, codes, MRC split)")

    batch._Run._read_all = _read_all
    return [m for m in missing if tuple(m.split(" ")[0].rsplit(".", 1)) not in OPTIONAL_TARGETS]


def child_profile(pdf: Path, unit: str, out: Path, cprofile: bool) -> None:
    """Run ``sohoa ingest`` in this process with stage timers; write the stages as JSON.

    With no ``PREFECT_API_URL`` the CLI runs the batch plainly (:mod:`flows.plain`) and
    Prefect is never imported; with one it runs the flow (:mod:`flows.digitise`), and
    Prefect is prepared and imported first, as the CLI does.
    """
    on_prefect = bool(os.environ.get("PREFECT_API_URL"))
    engine = "prefect" if on_prefect else "plain"
    stages, phases = _Stages(), _Phases()
    b0 = machine_busy_s()
    stages.enter("start-up: interpreter + CLI imports")
    from cli.app import app

    if on_prefect:
        from cli.common import load_settings
        from flows.runtime import prepare_prefect

        prepare_prefect(load_settings())  # as ``ingest`` does, before Prefect is imported
    phases.mark("start-up: interpreter + CLI imports")
    stages.leave()
    imports = (
        "start-up: batch imports (Prefect, OCR, PDF)"
        if on_prefect
        else "start-up: batch imports (OCR, PDF; no Prefect)"
    )
    stages.enter(imports)
    if on_prefect:
        import flows.digitise  # what ``ingest`` imports first thing
    else:
        import flows.plain  # noqa: F401 - what ``ingest`` imports first thing
    import storage.localstore  # noqa: F401 - what the run opens first thing

    phases.mark(imports)
    stages.leave()
    _hook_waits(stages)
    ran: dict = {}
    missing = _instrument(stages, phases, engine, ran)
    rest = MAIN_REST[engine]
    stages.enter(rest)  # the main thread's time outside any stage below
    profiler = None
    if cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        app(["ingest", "--json", "--unit", unit, str(pdf)])
    except SystemExit as exc:
        if exc.code:
            raise
    if profiler is not None:
        profiler.disable()
    stages.leave()
    phases.mark("CLI output")
    if ran.get("engine") != engine:
        raise SystemExit(f"expected the {engine} run, the CLI ran {ran.get('engine')}")
    start_cpu = stages.totals["start-up: interpreter + CLI imports"]
    start_cpu["python"] += phases.marks[0][2] - start_cpu["python"]  # incl. the interpreter's
    total = phases.tree_cpu()
    wall = time.time() - phases.start_wall
    kids = []
    for child in phases.me.children(recursive=True):
        try:
            kids.append(
                {"name": " ".join(child.cmdline()[:4])[:80], "cpu": sum(child.cpu_times()[:4])}
            )
        except Exception:  # noqa: BLE001, S110 - it ended meanwhile
            pass
    result = {
        "engine": engine,
        "prefect_imported": "prefect" in sys.modules,
        "stages": stages.totals,
        "phases": phases.table(),
        "process_cpu": total,
        "wall": wall,
        "foreign": max(0.0, machine_busy_s() - b0 - total) / (wall * CORES),
        "missing": [m for m in missing if tuple(m.split(" ")[0].rsplit(".", 1)) not in ran["done"]],
        "children_left": kids,
    }
    if profiler is not None:
        import io
        import pstats

        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("cumulative").print_stats(25)
        result["cprofile"] = buf.getvalue()[-6000:]
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=15)
    parser.add_argument("--seed", type=int, default=9000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument(
        "--temporary-runs",
        type=int,
        default=1,
        help="runs of the Prefect flow with a temporary server (before the plain run); 0: none",
    )
    parser.add_argument("--no-ocrmypdf", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--profile-server", action="store_true", help="also profile the flow run with a server"
    )
    parser.add_argument("--cprofile", action="store_true", help="cProfile the main thread too")
    parser.add_argument("--child-profile", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-warm", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-temporary", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--unit", help=argparse.SUPPRESS)
    parser.add_argument("--report-from", type=Path, help="print the report of a results.json")
    args = parser.parse_args()
    if args.report_from:
        saved = json.loads(args.report_from.read_text())
        print(
            report(
                saved["pages"],
                args.seed,
                saved["raw"],
                saved["ocrmypdf"],
                {mode: runs for mode, runs in saved["sohoa"].items() if runs},
                saved["profiles"],
                when=saved.get("started"),
                code=saved.get("code"),
            )
        )
    elif args.child_warm:
        child_warm(args.child_warm, args.unit.split(","), args.child_out)
    elif args.child_temporary:
        child_temporary(args.child_temporary, args.unit, args.child_out)
    elif args.child_profile:
        child_profile(args.child_profile, args.unit, args.child_out, args.cprofile)
    else:
        main(args)
