"""Distribution cost: one Prefect worker using both cores against two workers with one each.

Run: ``.venv/bin/python bench/cluster.py [--batches 8] [--pages 5] [--seed 9100]``
(40 pages by default, about 7 minutes on 2 cores).

Why: a province spreads its backlog over Prefect workers on several machines. Before
comparing machines, the cost of the distribution itself is measured on one: the same
batches, deployed with ``prefect deploy --all`` and run by real ``prefect worker``
processes of the process work pool against one ``prefect server``, as production runs
them (each flow run a child process of its worker, settings from the worker's environment):

1. one worker taking one batch at a time, reading 2 pages at once (``SOHOA_OCR__WORKERS=2``);
2. two workers, each taking one batch at a time and reading 1 page at a time, each with a
   data directory of its own, sharing the store and the catalog (as two machines do);
3. one worker running one ``nightly`` deployment run that drains the same batches from the
   intake, 2 pages at a time: one flow run (one interpreter start) for every batch.

Every batch is first received into the store's intake (:func:`services.intake.receive`,
as a web upload or ``sohoa ingest --queue`` is) and run by id, as production runs it.

Both read every page once on the same two cores, so the ratio of the wall times from the
first worker's start to the last run's end is what distribution costs (issue 17's target:
two workers reach at least 95 % of one worker's throughput). Raw Tesseract on the same
pages, two at a time, is the bound. Only ratios within one run count.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse
import os
import shutil
import subprocess
import time

from bench.ingest import PrefectServer, log, run_raw
from bench.ocr_corpus import KINDS, make_page, write_batch_pdf

OUT = ROOT / "bench" / "out" / "cluster"
PREFECT = Path(sys.executable).with_name("prefect")
POOL = "sohoa-process"
RUN_TIMEOUT_S = 1800


def make_batches(batches: int, pages: int, seed: int) -> tuple[list[Path], list[Path]]:
    """``batches`` scanner PDFs of ``pages`` held-out pages each (kinds in turn), and the pages."""
    folder = OUT / f"pages-{seed}-{batches}x{pages}"
    folder.mkdir(parents=True, exist_ok=True)
    kinds, pdfs, images = list(KINDS), [], []
    for b in range(batches):
        made = [
            make_page(kinds[i % len(kinds)], b, i % len(kinds), seed + 100 * b + i, folder)
            for i in range(b * pages, (b + 1) * pages)
        ]
        pdfs.append(write_batch_pdf([p.path for p in made], folder / f"batch-{b:02d}.pdf"))
        images += [p.path for p in made]
    return pdfs, images


def prefect(server: PrefectServer, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_API_URL": server.url}
    return subprocess.run(
        [str(PREFECT), "--no-prompt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def deploy(server: PrefectServer) -> None:
    prefect(server, "work-pool", "create", POOL, "--type", "process")
    done = prefect(server, "deploy", "--all")
    if done.returncode:
        raise RuntimeError(f"prefect deploy failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")


def receive_all(pdfs: list[Path], shared: Path, unit: str) -> list[str]:
    """Every batch received into the shared store's intake; their batch ids."""
    from schemas.settings import Settings
    from services.intake import receive

    settings = Settings(data_dir=shared)
    return [receive([pdf], settings, unit=unit).batch_id for pdf in pdfs]


def schedule(server: PrefectServer, batch_ids: list[str]) -> list:
    """One deployment run of ``digitise`` per batch, as a web upload dispatches it."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.url}):
        return [
            run_deployment(
                "digitise_batch/digitise", parameters={"batch_id": i}, timeout=0, as_subflow=False
            ).id
            for i in batch_ids
        ]


def schedule_nightly(server: PrefectServer) -> list:
    """One deployment run of ``nightly``: it drains the intake."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: server.url}):
        return [run_deployment("nightly/nightly", timeout=0, as_subflow=False).id]


def wait_all(server: PrefectServer, run_ids: list) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deadline = time.monotonic() + RUN_TIMEOUT_S
    with temporary_settings({PREFECT_API_URL: server.url}), get_client(sync_client=True) as c:
        while time.monotonic() < deadline:
            states = [c.read_flow_run(i).state for i in run_ids]
            if all(s is not None and s.is_final() for s in states):
                return [s.type.value for s in states]
            time.sleep(0.5)
    raise RuntimeError("the runs did not end in time")


def scenario(server, pdfs, root: Path, workers: int, ocr_workers: int, nightly=False) -> dict:
    """Receive every batch, schedule its runs, start ``workers`` workers (each with a data
    directory of its own), time from the first worker's start until the last run ends."""
    shutil.rmtree(root, ignore_errors=True)
    shared = root / "shared"
    batch_ids = receive_all(pdfs, shared, unit=f"CLUSTER-{root.name}")
    run_ids = schedule_nightly(server) if nightly else schedule(server, batch_ids)
    env = {**os.environ, "PREFECT_API_URL": server.url, "PREFECT_WORKER_QUERY_SECONDS": "1"}
    env |= {
        "SOHOA_OCR__WORKERS": str(ocr_workers),
        "SOHOA_STORE__LOCAL_ROOT": str(shared / "objects"),
    }
    env |= {"SOHOA_CATALOG_URL": f"sqlite:///{shared / 'catalog.sqlite'}"}
    env |= {"SOHOA_NIGHTLY__FIXITY_SAMPLE": "0", "SOHOA_NIGHTLY__REPORT_FORMATS": "[]"}
    args = [str(PREFECT), "worker", "start", "--pool", POOL, "--type", "process", "--limit", "1"]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            args,
            cwd=root,
            env=env | {"SOHOA_DATA_DIR": str(root / f"worker-{n}")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(workers)
    ]
    try:
        states = wait_all(server, run_ids)
        wall = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a worker may sit out its poll; the runs are over
                proc.kill()
                proc.wait()
    return {"wall": wall, "states": states, "archived": archived_count(shared, batch_ids)}


def archived_count(shared: Path, batch_ids: list[str]) -> int:
    """Batches whose records are catalogued (each must be, whichever path ran it)."""
    from catalog.database import open_catalog

    catalog = open_catalog(f"sqlite:///{shared / 'catalog.sqlite'}")
    return sum(bool(catalog.find_records_for_batch(i)) for i in batch_ids)


def main(args: argparse.Namespace) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    pdfs, images = make_batches(args.batches, args.pages, args.seed)
    n = len(images)
    raw = run_raw(images)
    server = PrefectServer(OUT / "prefect-home")
    try:
        deploy(server)
        log("one worker, 2 pages at a time, a run per batch")
        one = scenario(server, pdfs, OUT / "one", 1, 2)
        log("two workers, 1 page at a time each, a run per batch")
        two = scenario(server, pdfs, OUT / "two", 2, 1)
        log("one worker, 2 pages at a time, one nightly run draining the intake")
        night = scenario(server, pdfs, OUT / "night", 1, 2, nightly=True)
    finally:
        server.stop()
    report = render(args, n, raw, one, two, night)
    print(report)
    (ROOT / "bench" / "out" / "cluster.md").write_text(report + "\n", encoding="utf-8")


def render(args, n: int, raw: dict, one: dict, two: dict, night: dict) -> str:
    bound = raw["cpu"] / (os.cpu_count() or 1)
    per_run = (one["wall"] - night["wall"]) / max(1, args.batches - 1)

    def row(name: str, wall: float, ratio: str) -> str:
        return f"| {name} | {wall:.1f} | {ratio} | {bound / wall:.0%} |"

    return "\n".join(
        [
            (
                f"# Distribution cost: {args.batches} batches × {args.pages} pages = {n} "
                f"(seed {args.seed})"
            ),
            "",
            "| system | wall s | throughput vs one worker | % of bound |",
            "| --- | --- | --- | --- |",
            f"| bound: raw Tesseract CPU ÷ cores | {bound:.1f} |  | 100 % |",
            row("raw `tesseract -l vie`, 2 at a time", raw["wall"], ""),
            row("one worker, 2 pages at a time, a run per batch", one["wall"], "1.00"),
            row(
                "two workers, 1 page at a time each, a run per batch",
                two["wall"],
                f"{one['wall'] / two['wall']:.2f}",
            ),
            row(
                "one worker, one nightly run draining the intake",
                night["wall"],
                f"{one['wall'] / night['wall']:.2f}",
            ),
            "",
            (
                f"Per-batch cost of a flow run of its own (one worker, run per batch − nightly) "
                f"÷ (batches − 1): {per_run:.1f} s."
            ),
            (
                f"Archived: {one['archived']}, {two['archived']}, {night['archived']} of "
                f"{args.batches} batches; run states: {sorted(set(one['states']))}, "
                f"{sorted(set(two['states']))}, {sorted(set(night['states']))}."
            ),
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--seed", type=int, default=9100)
    main(parser.parse_args())
