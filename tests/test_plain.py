"""A batch run without Prefect (``flows.plain``): what ``sohoa ingest`` does on embedded
defaults. The same steps as the Prefect flow, so the same records; the same bound on
pages read at once; the same retries of storage outages; and no Prefect at all, so no
temporary Prefect server is started for a command."""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from archive_fixture import make_scans
from s3server import s3_server, s3_store  # noqa: F401
from test_flow import TesseractCount
from test_storage_faults import (
    StopServer,
    catalog_state,
    s3_settings,  # noqa: F401 - a fixture
    waiting_in_inbox,
)

from flows.plain import PlainEngine, run_plain
from schemas.settings import Settings
from sohoa.errors import ConfigError, StorageError

ROOT = Path(__file__).resolve().parents[1]


def test_a_plain_run_archives_the_records_the_flow_run_does(prefect_api_url, tmp_path, scan_pdf):
    from flows.digitise import run_digitise

    [by_flow] = run_digitise([str(scan_pdf)], settings=Settings(data_dir=tmp_path / "f"), unit="U1")
    [plain] = run_plain([str(scan_pdf)], settings=Settings(data_dir=tmp_path / "p"), unit="U1")
    assert plain.record_id == by_flow.record_id and plain.batch_id == by_flow.batch_id
    assert [p.model_dump() for p in plain.pages] == [p.model_dump() for p in by_flow.pages]
    assert plain.fields == by_flow.fields and plain.status == by_flow.status
    assert plain.pdf.key == by_flow.pdf.key and plain.signature.signer == by_flow.signature.signer
    # the same batch again is recognised and not reprocessed
    [again] = run_plain([str(scan_pdf)], settings=Settings(data_dir=tmp_path / "p"), unit="U1")
    assert again.created_at == plain.created_at


def test_a_plain_run_reads_no_more_pages_at_once_than_configured(tmp_path, scan_pdf):
    settings = Settings(data_dir=tmp_path / "data", ocr={"workers": 1})
    with TesseractCount() as tesseracts:
        [manifest] = run_plain([str(scan_pdf)], settings=settings)
    assert len(manifest.pages) == 3
    assert tesseracts.seen > 0 and tesseracts.most == 1, vars(tesseracts)


def test_a_page_is_prepared_while_the_configured_tesseracts_read(tmp_path, scan_pdf, monkeypatch):
    """One page more than Tesseracts is in flight: a page is decoded while the one
    Tesseract allowed (``ocr.workers = 1``) reads another, and still never two Tesseracts."""
    from flows import batch
    from sohoa.programs import tesseract

    reading_meanwhile = []
    real = batch.load_page_pixels

    def decode(page):
        reading_meanwhile.append(tesseract.RUNNING.running)
        return real(page)

    monkeypatch.setattr(batch, "load_page_pixels", decode)
    settings = Settings(data_dir=tmp_path / "data", ocr={"workers": 1})
    with TesseractCount() as tesseracts:
        [manifest] = run_plain([str(scan_pdf)], settings=settings)
    assert len(manifest.pages) == len(reading_meanwhile) == 3
    assert max(reading_meanwhile) == 1, reading_meanwhile  # decoded while a Tesseract read
    assert tesseracts.most == 1, vars(tesseracts)


def test_the_tesseract_bound_holds_across_threads_and_can_change():
    from sohoa.programs.tesseract import RunningLimit

    limit, most, lock = RunningLimit(2), [0], threading.Lock()

    def one() -> None:
        with limit.slot():
            with lock:
                most[0] = max(most[0], limit.running)
            time.sleep(0.02)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 2 and limit.running == 0
    limit.at_most(0)  # never below one: a batch could not read at all
    assert limit.size == 1


RACE = """
import sys, tempfile, threading, time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
sys.setswitchinterval(0.005)
from flows import batch
from schemas.settings import Settings
settings = Settings(data_dir=Path(tempfile.mkdtemp()))
received = SimpleNamespace(batch_id="b1", unit="H56.01", received_at=datetime.now(UTC))
record = SimpleNamespace(record_id="r1", dossier_code="")
errors, start = [], threading.Barrier(2)
def run(step, delay):
    start.wait()
    time.sleep(delay)
    try:
        step()
    except Exception as exc:
        errors.append(repr(exc))
steps = [  # the background loader, then the step after the pages (nothing stored: None)
    (batch.load_signing, 0.0),
    (lambda: batch.signed_earlier(received, record, settings), float(sys.argv[1])),
]
threads = [threading.Thread(target=run, args=step) for step in steps]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors)
"""


def test_pyhanko_is_imported_by_one_thread_at_a_time():
    """The background loader and the step after the pages import pyHanko at once when
    the pages are done first; its modules import each other in a circle, so the second
    thread got a half-made package (``KeyError: 'pyhanko.sign.signers'``, exit 70 in CI;
    here, the second import started 0.15-0.2 s after the first failed every time). Each
    delay runs in a fresh interpreter, where nothing is imported yet."""
    for delay in [n / 20 for n in range(11)]:
        done = subprocess.run(
            [sys.executable, "-c", RACE, str(delay)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0 and done.stdout.strip() == "[]", (
            delay,
            done.stdout,
            done.stderr,
        )


def test_every_step_that_signs_or_reads_a_signature_imports_through_the_lock(
    tmp_path, scan_pdf, monkeypatch
):
    from flows import batch

    callers, real = set(), batch.load_signing

    def recorded():
        callers.add(threading.current_thread().name)
        real()

    monkeypatch.setattr(batch, "load_signing", recorded)
    [manifest] = run_plain([str(scan_pdf)], settings=Settings(data_dir=tmp_path / "data"))
    assert manifest.signature.signer
    assert callers == {"prepare-after-pages", "MainThread"}, callers


def test_what_follows_the_last_page_is_loaded_while_pages_are_read(tmp_path, scan_pdf, monkeypatch):
    """The second reading's word pairs, the signing key and the administrative units are
    loaded in a background thread as pages start: not twice by the page threads, and not
    after the last page with one core idle."""
    from ocr import lexicon
    from pdf.sign import signer

    first: dict[str, str] = {}

    def recorded(name, real):
        def call(*args, **kwargs):
            first.setdefault(name, threading.current_thread().name)
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(signer, "load_signer_keyed", recorded("key", signer.load_signer_keyed))
    monkeypatch.setattr(lexicon, "_gazetteer", recorded("units", lexicon._gazetteer))
    monkeypatch.setattr(lexicon, "_marked_forms", recorded("pairs", lexicon._marked_forms))
    [manifest] = run_plain([str(scan_pdf)], settings=Settings(data_dir=tmp_path / "data"))
    assert manifest.signature.signer
    assert set(first.values()) == {"prepare-after-pages"} and len(first) == 3, first


def test_the_plain_engine_keeps_a_window_and_drops_what_follows_a_failure():
    lock, running, most, started = threading.Lock(), [0], [0], []

    def step(item: int, scale: int) -> int:
        with lock:
            started.append(item)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        if item == 2:
            raise ValueError("page 2 is unreadable")
        return item * scale

    engine = PlainEngine()
    done = dict(engine.each_done(step, [0, 1], (10,), window=2))
    assert done == {0: 0, 1: 10}
    started.clear()
    with pytest.raises(ValueError, match="page 2"):
        dict(engine.each_done(step, list(range(8)), (10,), window=2))
    assert most[0] == 2
    assert len(started) < 8, started  # the pages after the failure were never started


def test_the_plain_engine_retries_outages_and_nothing_else():
    waits: list[float] = []
    engine = PlainEngine(sleep=waits.append)
    calls = []

    def flaky(fail_times: int, error: Exception):
        calls.append(1)
        if len(calls) <= fail_times:
            raise error
        return "stored"

    outage = StorageError(reason="connection refused")
    assert engine.call(flaky, 2, outage, retry_delays=[2, 8, 32]) == "stored"
    assert waits == [2, 8] and len(calls) == 3
    waits.clear(), calls.clear()
    with pytest.raises(StorageError):
        engine.call(flaky, 9, outage, retry_delays=[2, 8])
    assert waits == [2, 8] and len(calls) == 3  # tried, retried twice, gave up
    waits.clear(), calls.clear()
    with pytest.raises(ConfigError):
        engine.call(flaky, 1, ConfigError(reason="bucket has no lock"), retry_delays=[2, 8])
    assert waits == [] and len(calls) == 1  # a wait cannot fix a bad setting
    waits.clear(), calls.clear()
    with pytest.raises(StorageError):
        engine.call(flaky, 1, outage)  # steps that are not storage steps are not retried
    assert waits == [] and len(calls) == 1


@pytest.mark.timeout(600)
def test_a_plain_run_keeps_the_original_when_the_store_goes_away(
    tmp_path, s3_server, s3_store, s3_settings, caplog
):
    """The store stops while pages are read: the storage step is retried, then the batch
    is ``failed`` with its original kept; with the store back, a later run archives it."""
    settings = s3_settings  # one retry after 0.2 s
    _, stack = make_scans(tmp_path / "scans")
    original = stack.read_bytes()
    sink = StopServer(s3_server, ("page", 1))
    caplog.set_level(logging.WARNING, logger="sohoa.digitise")
    try:
        with pytest.raises(StorageError):
            run_plain([str(stack)], settings=settings, progress=sink, unit="H56.01")
    finally:
        s3_server.start()
    assert sink.stopped
    assert any("store_originals failed, retried in 0.2 s" in r.message for r in caplog.records)
    batches, rows = catalog_state(settings, s3_store)
    [batch] = batches.values()
    assert batch.status == "failed" and "Storage error" in batch.reason
    assert rows == [] and waiting_in_inbox(settings) == [original]

    manifests = run_plain([str(stack)], settings=settings, unit="H56.01")
    assert len(manifests) == 2
    batches, rows = catalog_state(settings, s3_store)
    assert batches[batch.id].status == "archived" and len(rows) == 2
    assert waiting_in_inbox(settings) == []


def test_the_plain_engine_never_imports_prefect():
    probe = (
        "import sys, flows.plain; print(sorted(m for m in sys.modules if m.startswith('prefect')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_a_cli_ingest_on_embedded_defaults_starts_no_prefect(tmp_path, scan_pdf):
    """``sohoa ingest`` with no Prefect server configured: the records come out on stdout
    and Prefect is never imported, so no temporary Prefect server was started."""
    probe = (
        "import sys\n"
        "from cli.app import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit as done:\n"
        "    code = done.code\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('prefect'))\n"
        "print('PREFECT', loaded, 'CODE', code, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["SOHOA_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-c", probe, "ingest", str(scan_pdf), "--json"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "PREFECT [] CODE 0" in done.stderr, done.stderr
    [record] = json.loads(done.stdout)
    assert record["pages"] == 3


def test_with_a_prefect_server_configured_the_cli_runs_the_flow(
    prefect_api_url, tmp_path, scan_pdf
):
    """``PREFECT_API_URL`` set: each batch is a ``digitise_batch`` flow run that server records."""
    from conftest import flow_runs_of, make_cli

    cli = make_cli(tmp_path / "data", prefect_api_url)
    [record] = cli.json("ingest", str(scan_pdf))
    [run] = flow_runs_of("digitise_batch", tmp_path / "data")
    assert run.state.is_completed() and run.parameters["batch_id"]
    assert record["pages"] == 3


def test_a_stopped_ingest_kills_its_programs_and_says_where_the_batch_waits(tmp_path, scan_pdf):
    """SIGTERM (systemd, ``docker stop``) mid-read: the command exits 143, no Tesseract of
    its own reads on, and the clerk is told the batch waits in the store, where it is."""
    import signal

    from conftest import SOHOA, make_cli

    from storage import intake
    from storage.stores import open_store

    cli = make_cli(tmp_path / "data")
    running = subprocess.Popen(
        [str(SOHOA), "ingest", str(scan_pdf), "--unit", "H56.01"],
        env=cli.env | {"SOHOA_LANG": "en"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pages = tmp_path / "data" / "work"
    deadline = time.monotonic() + 120
    while not any(pages.rglob("pages/*.*")) and running.poll() is None:
        assert time.monotonic() < deadline, "the ingest never started reading pages"
        time.sleep(0.05)
    running.send_signal(signal.SIGTERM)
    _out, err = running.communicate(timeout=60)
    assert running.returncode == 128 + signal.SIGTERM, err
    [ticket], _ = intake.waiting(open_store(Settings(data_dir=tmp_path / "data")))
    said = " ".join(err.split())
    assert f"Batch {ticket.batch_id} waits in the store" in said, err
    assert f"sohoa ingest --batch {ticket.batch_id}" in said
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if words and words[0].endswith(b"tesseract") and str(tmp_path).encode() in b" ".join(words):
            left.append(cmdline.parent.name)
    assert left == [], left  # no page program of the stopped command reads on


def test_largest_pages_are_read_first_and_records_keep_page_order(tmp_path, monkeypatch):
    """Pages start largest image first (``flows.batch.largest_first``: the last pages to
    finish are short ones, so no core idles behind one heavy page), and the record still
    holds them in the scan's order: each page's text is its own."""
    import unicodedata

    from conftest import PAGE_TEXTS

    from flows import batch as steps
    from samples.synth import render_page, write_pdf
    from sohoa.textfold import fold

    scan = tmp_path / "ngan-truoc.pdf"  # the short pages first, the long one last
    order = ("trang thu ba", "trang thu hai", "trang thu nhat")
    write_pdf(scan, [render_page(lines, font_size_pt=14) for lines in PAGE_TEXTS[::-1]], dpi=300)

    started: list[tuple[int, int]] = []
    read_page = steps.ocr_page

    def spying(page, *args):
        started.append((page.index, os.path.getsize(page.path)))
        return read_page(page, *args)

    monkeypatch.setattr(steps, "ocr_page", spying)
    settings = Settings(data_dir=tmp_path / "data", ocr={"workers": 1})
    [manifest] = run_plain([str(scan)], settings=settings)
    sizes = [size for _, size in started]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3, started
    assert [index for index, _ in started] != [0, 1, 2], (
        "this scan's pages must not be in size order"
    )
    texts = [fold(unicodedata.normalize("NFC", t)) for t in manifest.text.split("\f")]
    for words, text in zip(order, texts, strict=True):
        assert words in text, (words, text[:200])


def test_largest_first_orders_by_file_size_then_page():
    from flows.batch import largest_first
    from schemas.models import PageImage

    def page(index: int, path: str) -> PageImage:
        return PageImage(
            index=index,
            path=path,
            source="a.pdf",
            source_page=index,
            width=10,
            height=10,
            dpi=300,
            mode="L",
            encoding="png",
        )

    assert largest_first([]) == []
    # a missing file sorts last, for reading it to say what is wrong
    assert largest_first([page(0, "/nonexistent"), page(1, __file__)]) == [1, 0]
    assert largest_first([page(0, __file__), page(1, __file__)]) == [0, 1]
