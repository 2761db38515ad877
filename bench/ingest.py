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
3. **sohoa**: the real ``sohoa ingest --json --unit U batch.pdf`` console script in a fresh
   process, embedded mode (local store, SQLite catalog, in-process Prefect), default
   settings. One warm-up run first (the data folder's Prefect database, demo signing key,
   page cache); then ``--runs`` timed runs, each with its own ``--unit`` so each is a new
   batch: pages -> OCR -> fields -> MRC PDF/A -> PAdES signature -> store -> catalog.
   Then **one running process** (``--child-warm``): the same CLI code called once per
   batch inside one long-running Python process, as the web app, a watched folder or a
   Prefect worker run it; the first batch (imports, word index) is its warm-up, the next
   ``--runs`` are timed, each with its share of the server's CPU.
4. **profile**: one more ingest through the same CLI code in this script's child
   (``--child-profile``), with per-stage timers around the pipeline's own functions:
   CPU per stage is each thread's CPU (``time.thread_time``) inside the stage, minus
   the stages nested in it, plus the CPU of the programs (Tesseract) the stage started
   (``wait4`` on each child). Main-thread phases (start-up, flow start, OCR, the tail
   after OCR) get wall time and the whole process tree's CPU, which shows the critical
   path: a phase using one core of two leaves the other idle.

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
from datetime import datetime

OUT_DIR = ROOT / "bench" / "out" / "ingest"
OUT_MD = ROOT / "bench" / "out" / "ingest.md"
CORES = os.cpu_count() or 1
SOHOA = Path(sys.executable).with_name("sohoa")
OCRMYPDF = Path(sys.executable).with_name("ocrmypdf")
MAIN_REST = "CLI + Prefect flow engine (main thread)"
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
    """The real console script, one batch; returns wall/CPU and the record it printed."""
    run = _run_cli([str(SOHOA), "ingest", "--json", "--unit", unit, str(pdf)], data_dir, server)
    run["records"] = json.loads(run.pop("stdout"))
    return run


def run_profile(pdf: Path, data_dir: Path, unit: str, server, cprofile: bool) -> dict:
    out = OUT_DIR / f"profile-{'server' if server else 'embedded'}.json"
    args = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-profile",
        str(pdf),
        "--unit",
        unit,
        "--child-out",
        str(out),
    ]
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


def run_in_process(pdf: Path, data_dir: Path, units: list[str], server: PrefectServer) -> list:
    """Batches ingested one after another by one long-running process (``--child-warm``):
    what a web upload, a watched folder or a Prefect worker waits for, once started."""
    out = OUT_DIR / "in-process.json"
    args = [sys.executable, str(Path(__file__).resolve()), "--child-warm", str(pdf)]
    args += ["--child-out", str(out), "--unit", ",".join(units)]
    before = server.cpu()
    _run_cli(args, data_dir, server)
    runs = json.loads(out.read_text())[1:]  # the first batch pays the imports: a warm-up
    share = (server.cpu() - before) / max(1, len(runs) + 1)  # the server's CPU, spread evenly
    return [{**r, "cpu": r["cpu"] + share, "server_cpu": share} for r in runs]


def child_warm(pdf: Path, units: list[str], out: Path) -> None:
    """Ingest ``pdf`` once per unit through the CLI's code in this one process; per batch:
    wall, this process's and its children's CPU, others' load."""
    from cli.app import app

    def ingest(unit: str) -> None:
        try:
            app(["ingest", "--json", "--unit", unit, str(pdf)])
        except SystemExit as exc:
            if exc.code:
                raise

    runs = []
    for unit in units:
        run = measure(lambda u=unit: ingest(u))
        run.pop("result")
        runs.append(run)
    out.write_text(json.dumps(runs), encoding="utf-8")


# --------------------------------------------------------------------------- the report


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows])


MODES = {
    "server": "**sohoa ingest**, Prefect server running (warm)",
    "process": "sohoa ingest in a process already running (web app, watched folder, worker)",
    "embedded": "sohoa ingest, CLI starts its own temporary Prefect server",
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
        _row("raw `tesseract -l vie`, 1 thread, one page per core", raw, bound_wall, theirs),
    ]
    for mode, runs in ours.items():
        rows += [
            _row(f"{MODES[mode]}, run {i}", r, bound_wall, theirs) for i, r in enumerate(runs, 1)
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
                    MODES[mode].replace("**", ""),
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


STAGE_ORDER = [
    "start-up: interpreter + CLI imports",
    "start-up: flow imports (Prefect, OCR, PDF)",
    MAIN_REST,
    "receive batch (hash, inbox copy)",
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
    "signing: key load",
    "signing",
    "store upload",
    "manifest",
    "catalog",
]


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
            "Prefect orchestration, other threads, exit (rest)",
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
    parts = [
        f"## Profile: {MODES[mode].replace('**', '')} (one instrumented run)",
        "",
        (
            f"Wall {profile['wall']:.1f} s, process-tree CPU {profile['process_cpu']:.1f} s "
            f"(others' load {profile['foreign']:.0%})."
        ),
        "",
        profile_table(profile, n),
        "",
        "Critical path:",
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


def report(n, seed, raw, theirs, ours, profiles) -> str:
    when = datetime.now().isoformat(timespec="minutes")
    parts = [
        f"# Whole ingest: {n} held-out pages (seed {seed}), {CORES} cores, {when}",
        "",
        ratio_table(n, raw, theirs, ours),
        "",
    ]
    for mode, profile in profiles.items():
        parts += profile_section(mode, profile, n, raw["cpu"] / CORES)
    return "\n".join(parts)


def main(args: argparse.Namespace) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    pdf, images = make_input(args.pages, args.seed)
    n = len(images)
    work = OUT_DIR / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    data_dir, stamp = work / "data", datetime.now().strftime("%H%M%S")
    ours: dict[str, list[dict]] = {"server": [], "process": [], "embedded": []}
    profiles: dict[str, dict] = {}
    log("starting a Prefect server (the warm set-up)")
    server = PrefectServer(work / "prefect-server")
    try:
        log("sohoa warm-up run")
        run_sohoa(pdf, data_dir, f"BENCH-W{stamp}", server)
        for i in range(args.runs):
            ours["server"].append(run_sohoa(pdf, data_dir, f"BENCH-S{i}{stamp}", server))
            log(
                f"sohoa, Prefect server, run {i + 1}: {ours['server'][-1]['wall']:.1f} s wall, "
                f"{ours['server'][-1]['cpu']:.1f} s CPU"
            )
        units = [f"BENCH-P{i}{stamp}" for i in range(args.runs + 1)]
        ours["process"] = run_in_process(pdf, data_dir, units, server)
        for i, run in enumerate(ours["process"], 1):
            log(f"sohoa, one running process, batch {i}: {run['wall']:.1f} s wall")
        if not args.no_profile:
            profiles["server"] = run_profile(
                pdf, data_dir, f"BENCH-PS{stamp}", server, args.cprofile
            )
    finally:
        server.stop()
    for i in range(args.embedded_runs):
        ours["embedded"].append(run_sohoa(pdf, data_dir, f"BENCH-E{i}{stamp}", None))
        log(
            f"sohoa, temporary Prefect server: {ours['embedded'][-1]['wall']:.1f} s wall, "
            f"{ours['embedded'][-1]['cpu']:.1f} s CPU"
        )
    if args.embedded_runs and not args.no_profile:
        profiles["embedded"] = run_profile(pdf, data_dir, f"BENCH-PE{stamp}", None, args.cprofile)
    raw = run_raw(images)
    log(f"raw Tesseract: {raw['wall']:.1f} s wall, {raw['cpu']:.1f} s CPU")
    theirs = None if args.no_ocrmypdf else run_ocrmypdf(pdf, work)
    text = report(n, args.seed, raw, theirs, ours, profiles)
    OUT_MD.write_text(text + "\n", encoding="utf-8")
    (OUT_DIR / "results.json").write_text(
        json.dumps(
            {"raw": raw, "ocrmypdf": theirs, "sohoa": ours, "profiles": profiles, "pages": n},
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


class _Proxy:
    """Stands in for a Prefect task in ``flows.digitise``: marks a phase after each call."""

    def __init__(self, target, name: str, phases: _Phases) -> None:
        self._target, self._name, self._phases = target, name, phases

    def __call__(self, *args, **kwargs):
        try:
            return self._target(*args, **kwargs)
        finally:
            self._phases.mark(self._name)

    def with_options(self, *args, **kwargs):
        return _Proxy(self._target.with_options(*args, **kwargs), self._name, self._phases)

    def __getattr__(self, name):
        return getattr(self._target, name)


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
    # (module, attribute, stage): the name is looked up where the pipeline calls it
    ("flows.digitise", "iter_pages", "reading pages"),
    ("flows.digitise", "read_page", "OCR other (box mapping)"),
    ("ocr.reading", "ocr_page", "OCR other (box mapping)"),
    ("ocr.engine", "load_page_pixels", "decode page (OCR)"),
    ("ocr.engine", "clean_for_ocr", "cleaning"),
    ("ocr.clean", "find_rotation", "orientation"),
    ("ocr.engine", "_run_tesseract", "Tesseract page run"),
    ("ocr.engine", "reread_page", "second reading"),
    ("ocr.reading", "decode_codes", "QR/barcodes"),
    ("flows.digitise", "draft_records", "field extraction + split"),
    ("flows.digitise", "build_archival_pdf", "PDF assembly (pages, qpdf write)"),
    ("flows.digitise", "prepare_layers", "MRC: decode, store, read back"),
    ("pdf.assemble", "_mrc_layers", "MRC: decode, store, read back"),
    ("pdf.mrc", "_split", "MRC: split + encode"),
    ("pdf.assemble", "split_page", "MRC: split + encode"),  # before pdf.mrc._split existed
    ("pdf.assemble", "text_layer", "text layer"),
    ("pdf.assemble", "write_xmp", "PDF/A (XMP, ICC)"),
    ("pdf.assemble", "add_srgb_output_intent", "PDF/A (XMP, ICC)"),
    ("flows.digitise", "sign_pdf", "signing"),
    ("flows.digitise", "_sign", "signing"),  # imports pyHanko when first called
    ("pdf.sign.signer", "load_signer_keyed", "signing: key load"),
    ("records.commit", "commit_record", "manifest"),
    ("storage.localstore.LocalObjectStore", "put_file", "store upload"),
    ("storage.localstore.LocalObjectStore", "put_bytes", "store upload"),
    ("catalog.database.Catalog", "add_record", "catalog"),
    ("catalog.database.Catalog", "upsert_batch", "catalog"),
    ("catalog.database.Catalog", "find_records_for_batch", "catalog"),
    ("flows.digitise", "open_catalog", "catalog"),
    ("flows.digitise", "_batch_id_of", "receive batch (hash, inbox copy)"),
    ("storage.inbox", "receive", "receive batch (hash, inbox copy)"),
]
PHASE_TASKS = [
    ("committed_task", "find committed records"),
    ("extract_pages_task", "reading pages"),
    ("fields_task", "field extraction + split"),
    ("originals_task", "store originals"),
    ("build_pdf_task", "build + sign PDF"),
    ("commit_task", "store + catalog"),
]


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


def _instrument(stages: _Stages, phases: _Phases) -> list[str]:
    """Wrap the pipeline's functions in stage timers; return those not found."""
    from flows import digitise

    missing = []
    for owner, attr, name in STAGE_TARGETS:
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
    for attr, name in PHASE_TASKS:
        setattr(digitise, attr, _Proxy(getattr(digitise, attr), name, phases))
    read_all, batch_id_of, run = digitise._read_all, digitise._batch_id_of, digitise.run_digitise

    def _read_all(*a, **k):
        phases.mark("before OCR (flow, tasks)")
        try:
            return read_all(*a, **k)
        finally:
            phases.mark("OCR: all pages (clean, Tesseract, reread, codes)")

    def _batch_id(*a, **k):
        phases.mark("Prefect flow start")
        try:
            return batch_id_of(*a, **k)
        finally:
            phases.mark("receive batch")

    def _run(*a, **k):
        phases.mark("start-up: CLI (settings, prepare Prefect)")
        try:
            return run(*a, **k)
        finally:
            phases.mark("flow end (catalog row, Prefect)")

    digitise._read_all, digitise._batch_id_of, digitise.run_digitise = _read_all, _batch_id, _run
    return missing


def child_profile(pdf: Path, unit: str, out: Path, cprofile: bool) -> None:
    """Run ``sohoa ingest`` in this process with stage timers; write the stages as JSON."""
    stages, phases = _Stages(), _Phases()
    b0 = machine_busy_s()
    stages.enter("start-up: interpreter + CLI imports")
    from cli.app import app
    from cli.common import load_settings
    from flows.runtime import prepare_prefect

    prepare_prefect(load_settings())  # as ``ingest`` does, before Prefect is imported
    phases.mark("start-up: interpreter + CLI imports")
    stages.leave()
    stages.enter("start-up: flow imports (Prefect, OCR, PDF)")
    import flows.digitise  # noqa: F401 - what ``ingest`` imports first thing
    import storage.localstore  # noqa: F401 - what the flow opens first thing

    phases.mark("start-up: flow imports (Prefect, OCR, PDF)")
    stages.leave()
    _hook_waits(stages)
    missing = _instrument(stages, phases)
    stages.enter(MAIN_REST)  # the main thread's time outside any stage below
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
        "stages": stages.totals,
        "phases": phases.table(),
        "process_cpu": total,
        "wall": wall,
        "foreign": max(0.0, machine_busy_s() - b0 - total) / (wall * CORES),
        "missing": missing,
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
        "--embedded-runs",
        type=int,
        default=1,
        help="runs with the CLI's own temporary Prefect server",
    )
    parser.add_argument("--no-ocrmypdf", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--cprofile", action="store_true", help="cProfile the main thread too")
    parser.add_argument("--child-profile", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-warm", type=Path, help=argparse.SUPPRESS)
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
                saved["sohoa"],
                saved["profiles"],
            )
        )
    elif args.child_warm:
        child_warm(args.child_warm, args.unit.split(","), args.child_out)
    elif args.child_profile:
        child_profile(args.child_profile, args.unit, args.child_out, args.cprofile)
    else:
        main(args)
