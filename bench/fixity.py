"""Fixity throughput: records per second of ``verify --all`` on one thread vs one per core.

Run: ``.venv/bin/python bench/fixity.py [--records 40] [--rounds 2]``

Method: one real record is made by the ``digitise_batch`` flow (a 2-page A4 300-dpi scan,
signed with the demo certificate, local object store); it is then cloned under new record
ids (same signed PDF bytes, a new manifest and catalog row each) until the archive holds
``--records`` records. :func:`records.fixity.run_fixity` then checks the whole archive
(download, sha256 of PDF and manifest, pyHanko + pdfsig validation, orphan listing) with
1 worker and with one worker per core, alternating, ``--rounds`` times; the best time of
each is kept, since other processes on a shared machine only ever make a run slower.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import os
import tempfile
import time


def make_archive(data_dir: Path, records: int):
    """One flow-made record cloned to ``records``; returns the settings."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_HOME", str(data_dir.parent / "prefect"))
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from catalog.database import open_catalog
    from flows.digitise import run_digitise
    from records.commit import put_manifest
    from samples.synth import render_page, sample_lines, write_pdf
    from schemas.settings import Settings
    from storage.stores import open_store

    settings = Settings(data_dir=data_dir)
    scan = data_dir.parent / "scan.pdf"
    write_pdf(scan, [render_page(sample_lines(i, 25), seed=i) for i in range(2)], dpi=300)
    [first] = run_digitise([str(scan)], settings=settings, unit="BENCH")
    store, catalog = open_store(settings), open_catalog(settings.resolved_catalog_url)
    signed = settings.local_store_root / first.pdf.key
    prefix = first.pdf.key.rsplit("/", 1)[0]
    for n in range(1, records):
        record_id = f"{n:016x}"
        pdf_key = f"{prefix}/{record_id}.pdf"
        store.put_file(pdf_key, signed, content_type="application/pdf")
        pdf = first.pdf.model_copy(update={"key": pdf_key})
        clone = first.model_copy(update={"record_id": record_id, "pdf": pdf})
        put_manifest(clone, f"{prefix}/{record_id}.manifest.json", store, catalog)
    return settings, first.pdf.size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from catalog.database import open_catalog
    from records import fixity
    from storage.stores import open_store

    with tempfile.TemporaryDirectory(prefix="sohoa-bench-fixity-") as tmp:
        settings, pdf_size = make_archive(Path(tmp) / "data", args.records)
        store, catalog = open_store(settings), open_catalog(settings.resolved_catalog_url)
        cores = fixity.workers_for()
        best: dict[int, float] = {}
        for _ in range(args.rounds):
            for workers in sorted({1, cores}):
                started = time.perf_counter()
                report = fixity.run_fixity(settings, store=store, catalog=catalog, workers=workers)
                elapsed = time.perf_counter() - started
                assert report.ok and len(report.results) == args.records, report.summary()
                best[workers] = min(best.get(workers, elapsed), elapsed)
    print(f"\n{args.records} records, PDF {pdf_size / 1024:.0f} KiB each, {cores} cores\n")
    print("| workers | wall s | records/s | speed-up |")
    print("| --- | --- | --- | --- |")
    for workers, seconds in sorted(best.items()):
        rate = args.records / seconds
        print(f"| {workers} | {seconds:.2f} | {rate:.1f} | {best[1] / seconds:.2f}× |")


if __name__ == "__main__":
    main()
