"""The watched scan folder (``sohoa watch``): files a scanner saves are archived once and removed.

The folder's rules (which files count, when one is whole, what a sub-folder means, which
files form a batch) are tested as plain functions on a clock the test moves. The watcher
itself runs in a thread (``flows.watch.run_watch``, stopped by an event) on a real folder
with real inotify or polling, real Tesseract on small generated pages, the real intake
and catalog (SQLite, and PostgreSQL where a record must exist exactly once), and the
``sohoa watch`` console script as a clerk starts it and systemd stops it.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
from conftest import SOHOA

import flows.watch
import services.watch
from catalog.database import open_catalog
from flows.watch import run_watch
from schemas.settings import Settings, WatchSettings
from services.search import search_records
from sohoa.errors import BadInputError
from sohoa.messages import catalogue
from storage import intake
from storage import watchfolder as rules
from storage.stores import open_store

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 180  # a batch is read by real Tesseract on a loaded two-core machine


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pages(tmp_path_factory) -> list[bytes]:
    """Four small one-page scans (PNG bytes), each with its own text: four batch ids. Only
    the first is a receipt: a batch of them is one dossier (a receipt starts a new one)."""
    from samples.synth import render_page, write_png

    folder = tmp_path_factory.mktemp("watch-pages")
    found = []
    for n in range(4):
        title = "GIẤY TIẾP NHẬN HỒ SƠ" if n == 0 else f"TỜ KHAI, TRANG {n + 1}"
        lines = [title, "Nội dung yêu cầu: Đăng ký khai sinh"]
        path = folder / f"{n}.png"
        write_png(path, render_page(lines, dpi=200, paper="A5", font_size_pt=12, seed=n), dpi=200)
        found.append(path.read_bytes())
    return found


def watch_settings(tmp_path: Path, catalog_url: str | None = None, **watch) -> Settings:
    """Settings for a test: small intervals, the archival PDF without the MRC split (speed)."""
    opts = {"settle_s": 0.4, "poll_interval_s": 0.3, "empty_settle_s": 0.8, "retry_s": 600}
    return Settings(
        data_dir=tmp_path / "data",
        catalog_url=catalog_url,
        pdf={"image_mode": "original"},
        watch=opts | watch,
    )


def drop(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@dataclass
class Running:
    """A watcher running in a thread, and what it reported."""

    reports: list[tuple[int, str, dict]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)

    def report(self, level: int, key: str, **params) -> None:
        self.reports.append((level, key, params))

    def key_list(self) -> list[str]:
        return [key for _, key, _ in self.reports]

    def said(self, key: str) -> list[dict]:
        return [params for _, k, params in self.reports if k == key]


@contextmanager
def watching(settings: Settings, root: Path, **options) -> Iterator[Running]:
    """``run_watch`` in a thread until the block ends; its exceptions fail the test."""
    running = Running()

    def target() -> None:
        try:
            run_watch(settings, folder=root, stop=running.stop, report=running.report, **options)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            running.errors.append(exc)

    thread = threading.Thread(target=target, name="watcher", daemon=True)
    thread.start()
    wait_until(lambda: "watch_started" in running.key_list() or running.errors, timeout=30)
    try:
        yield running
    finally:
        running.stop.set()
        thread.join(WAIT_S)
    assert not thread.is_alive() and running.errors == []


def records(settings: Settings) -> list:
    return open_catalog(settings.resolved_catalog_url).list_records()


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --- the rules, on a clock the test moves --------------------------------------------------


def _stat(size: int, mtime_ns: int = 1):
    return type("Stat", (), {"st_size": size, "st_mtime_ns": mtime_ns})()


def test_temporary_copies_hidden_files_and_markers_are_not_scans():
    markers = (".done",)
    for name in ("scan.pdf", "P 1.JPG", "ho-so.tiff", "scan.done.pdf"):
        assert rules.counts_as_scan(name, markers), name
    for name in (
        ".scan.pdf",
        "~$scan.docx",
        "scan.pdf.tmp",
        "scan.pdf.part",
        "scan.PDF.crdownload",
        "scan.pdf.filepart",
        "scan.partial",
        "scan.pdf~",
        "scan.pdf.done",
        "Thumbs.db",
        "desktop.ini",
    ):
        assert not rules.counts_as_scan(name, markers), name


def test_a_file_is_whole_once_its_size_and_time_held_for_the_settle_interval(tmp_path):
    opts = WatchSettings(settle_s=2.0)
    a = tmp_path / "a.pdf"
    seen = rules.observe({}, {a: _stat(10)}, now=100.0)
    assert rules.ready_groups(tmp_path, seen, 101.9, opts, marked=set(), held=set()) == []
    seen = rules.observe(seen, {a: _stat(20, 2)}, now=101.9)  # still being written
    assert rules.ready_groups(tmp_path, seen, 103.0, opts, marked=set(), held=set()) == []
    assert rules.next_change(seen, 103.0, opts) == pytest.approx(0.9)
    seen = rules.observe(seen, {a: _stat(20, 2)}, now=103.9)  # unchanged: keeps its time
    assert seen[a].since == 101.9
    ready = rules.ready_groups(tmp_path, seen, 103.9, opts, marked=set(), held=set())
    assert ready == [(PurePosixPath("."), [a])]
    # a finished marker makes it whole at once
    fresh = rules.observe({}, {a: _stat(20)}, now=200.0)
    assert rules.ready_groups(tmp_path, fresh, 200.0, opts, marked={a}, held=set()) != []


def test_files_of_one_sub_folder_settling_together_are_one_batch_in_page_order(tmp_path):
    opts = WatchSettings(settle_s=2.0)
    folder = tmp_path / "H56.01" / "thanh-phan"
    p1, p2, p10, other = (
        folder / "p1.jpg",
        folder / "p2.jpg",
        folder / "p10.jpg",
        tmp_path / "x.pdf",
    )
    seen = rules.observe({}, {p10: _stat(5), p1: _stat(5), other: _stat(5)}, now=0.0)
    seen = rules.observe(seen, {p10: _stat(5), p1: _stat(5), p2: _stat(5), other: _stat(5)}, 1.5)
    # p2 arrived late: its folder is not quiet yet, the top folder is on its own
    ready = rules.ready_groups(tmp_path, seen, 2.5, opts, marked=set(), held=set())
    assert ready == [(PurePosixPath("."), [other])]
    ready = rules.ready_groups(tmp_path, seen, 3.5, opts, marked=set(), held=set())
    assert (PurePosixPath("H56.01/thanh-phan"), [p1, p2, p10]) in ready
    # one batch per file, when configured; files held for a retry stay out of new batches
    each = WatchSettings(settle_s=2.0, group="file")
    ready = rules.ready_groups(tmp_path, seen, 3.5, each, marked=set(), held={p1})
    assert [files for _, files in ready] == [[other], [p2], [p10]]


def test_an_empty_file_is_refused_only_when_it_stays_empty(tmp_path):
    opts = WatchSettings(settle_s=1.0, empty_settle_s=30.0)
    a = tmp_path / "a.pdf"
    seen = rules.observe({}, {a: _stat(0)}, now=0.0)
    assert rules.empty_refusals(seen, 29.0, opts, set()) == []
    assert rules.ready_groups(tmp_path, seen, 29.0, opts, marked=set(), held=set()) == []
    assert rules.empty_refusals(seen, 30.0, opts, set()) == [a]
    grown = rules.observe(seen, {a: _stat(4096, 2)}, now=29.0)  # the scanner wrote it after all
    assert rules.empty_refusals(grown, 60.0, opts, set()) == []


def test_a_sub_folder_names_the_unit_and_kind_by_the_layout():
    place = rules.place_of
    assert place(PurePosixPath("."), "{unit}/{kind}", default_unit="D") == ("D", "thanh-phan")
    assert place(PurePosixPath("H56.01"), "{unit}/{kind}", default_unit="D") == (
        "H56.01",
        "thanh-phan",
    )
    assert place(PurePosixPath("H56.01/ket-qua"), "{unit}/{kind}", default_unit="D") == (
        "H56.01",
        "ket-qua",
    )
    assert place(PurePosixPath("ket-qua/H56.02"), "{kind}/{unit}", default_unit="D") == (
        "H56.02",
        "ket-qua",
    )
    with pytest.raises(BadInputError) as bad_kind:
        place(PurePosixPath("H56.01/hoa-don"), "{unit}/{kind}", default_unit="D")
    assert bad_kind.value.key == "watch_bad_kind" and "hoa-don" in bad_kind.value.render("vi")
    with pytest.raises(BadInputError) as deep:
        place(PurePosixPath("a/b/c"), "{unit}/{kind}", default_unit="D")
    assert deep.value.key == "watch_bad_place"
    with pytest.raises(BadInputError):
        place(PurePosixPath("H56.01"), "", default_unit="D")
    with pytest.raises(ValueError, match="folder levels"):
        WatchSettings(layout="{unit}/{dossier}")


def test_a_refused_file_keeps_its_sub_folder_and_never_overwrites_an_earlier_one(tmp_path):
    opts = WatchSettings()
    error = BadInputError("empty_file", file="a.pdf")
    first = rules.move_refused(tmp_path, drop(tmp_path / "U1" / "a.pdf", b""), error, opts)
    second = rules.move_refused(tmp_path, drop(tmp_path / "U1" / "a.pdf", b""), error, opts)
    assert first == tmp_path / "loi" / "U1" / "a.pdf"
    assert second == tmp_path / "loi" / "U1" / "a-2.pdf"
    reason = (tmp_path / "loi" / "U1" / "a.pdf.loi.txt").read_text(encoding="utf-8")
    assert "vi: a.pdf: tệp rỗng (0 byte)" in reason and "en: a.pdf: empty file (0 bytes)" in reason
    assert "tệp / file: U1/a.pdf" in reason and "BadInputError (exit 3)" in reason


def test_every_text_the_watcher_reports_exists_in_both_languages():
    sources = [ROOT / f for f in ("services/watch.py", "flows/watch.py", "cli/watch.py")]
    sources.append(ROOT / "storage/watchfolder.py")
    keys = {
        k for path in sources for k in re.findall(r"[\"'](watch_[a-z_]+)[\"']", path.read_text())
    }
    assert {"watch_started", "watch_archived", "watch_refused", "watch_stopped"} <= keys
    known = catalogue()
    assert sorted(k for k in keys if set(known.get(k, {})) != {"vi", "en"}) == []


# --- the watcher, on a real folder ---------------------------------------------------------


def test_a_dropped_file_is_archived_searchable_and_removed_on_an_event(tmp_path, pages):
    # a scan of the folder only every 10 minutes: the file is found because inotify woke it
    settings = watch_settings(tmp_path, poll_interval_s=600)
    root = tmp_path / "watch"
    root.mkdir()
    with watching(settings, root) as watcher:
        scan = drop(root / "scan.png", pages[0])
        wait_until(lambda: "watch_archived" in watcher.key_list())
    assert not scan.exists() and files_under(root) == []
    [record] = records(settings)
    assert (record.unit, record.kind, record.page_count) == ("DEMO", "thanh-phan", 1)
    [received] = watcher.said("watch_received")
    assert received["batch"] == record.batch_id and received["where"] == "."
    hits = search_records(settings, "dang ky khai sinh")["hits"]
    assert [h["record_id"] for h in hits] == [record.id]
    assert intake.read(open_store(settings), record.batch_id) is None  # nothing left waiting
    ticket_sender = open_catalog(settings.resolved_catalog_url).get_batch(record.batch_id)
    assert ticket_sender.status == "archived"


def test_a_sub_folder_maps_to_unit_and_kind(tmp_path, pages):
    settings = watch_settings(tmp_path)
    root = tmp_path / "watch"
    root.mkdir()
    with watching(settings, root) as watcher:
        drop(root / "H56.01" / "ket-qua" / "qd.png", pages[1])
        wait_until(lambda: "watch_archived" in watcher.key_list())
    [record] = records(settings)
    assert (record.unit, record.kind) == ("H56.01", "ket-qua")
    assert watcher.said("watch_archived")[0]["where"] == "H56.01/ket-qua"
    assert (root / "H56.01" / "ket-qua").is_dir()  # the scanner's target folder stays


def test_several_files_written_together_make_one_batch(tmp_path, pages):
    settings = watch_settings(tmp_path, settle_s=1.0)
    root = tmp_path / "watch"
    folder = root / "H56.01" / "thanh-phan"
    folder.mkdir(parents=True)
    with watching(settings, root) as watcher:
        for name, page in (("p10.png", pages[2]), ("p1.png", pages[0]), ("p2.png", pages[1])):
            drop(folder / name, page)
        wait_until(lambda: "watch_archived" in watcher.key_list())
    [record] = records(settings)
    assert record.page_count == 3
    [received] = watcher.said("watch_received")
    assert received["files"] == 3
    manifest = open_store(settings).get_bytes(record.manifest_key).decode()
    names = re.findall(r'"name":\s*"(p\d+\.png)"', manifest)
    assert names[:3] == ["p1.png", "p2.png", "p10.png"]  # page order, not string order
    assert files_under(root) == []


def test_a_file_still_being_written_is_not_taken_until_it_stops_changing(tmp_path, pages):
    settings = watch_settings(tmp_path, settle_s=2.0)  # ≫ the 0.3 s between writes, even loaded
    root = tmp_path / "watch"
    root.mkdir()
    data = pages[3]
    chunks = [data[i : i + len(data) // 6 + 1] for i in range(0, len(data), len(data) // 6 + 1)]
    with watching(settings, root) as watcher:
        with (root / "slow.png").open("wb") as handle:
            for chunk in chunks:  # a slow scanner: longer in all than the settle interval
                handle.write(chunk)
                handle.flush()
                time.sleep(0.3)
                assert "watch_received" not in watcher.key_list()
        wait_until(lambda: "watch_archived" in watcher.key_list())
    assert not (root / "loi").exists()  # a half-written PNG taken early would be refused
    [record] = records(settings)
    assert record.page_count == 1


def test_temporary_names_and_partial_copies_are_left_alone(tmp_path, pages):
    settings = watch_settings(tmp_path)
    root = tmp_path / "watch"
    root.mkdir()
    temporary = [".scan.png", "~$scan.png", "scan.png.tmp", "copy.png.part", "x.png.crdownload"]
    with watching(settings, root) as watcher:
        for name in temporary:
            drop(root / name, pages[0])
        time.sleep(1.5)  # several settle intervals and scans
        assert watcher.key_list() == ["watch_started"]
        # a copy tool renames its partial copy when done: then it is a scan
        (root / "copy.png.part").rename(root / "copy.png")
        wait_until(lambda: "watch_archived" in watcher.key_list())
    assert files_under(root) == sorted(set(temporary) - {"copy.png.part"})
    assert len(records(settings)) == 1


def test_refused_files_go_to_loi_with_a_reason_and_the_watcher_goes_on(tmp_path, pages):
    settings = watch_settings(tmp_path)
    root = tmp_path / "watch"
    folder = root / "H56.01" / "thanh-phan"
    folder.mkdir(parents=True)
    with watching(settings, root) as watcher:
        drop(folder / "hong.png", pages[0][:64] + b"\x00garbage" * 100)  # a PNG cut short
        drop(folder / "ghi-chu.txt", b"not a scan\n")
        drop(root / "rong.pdf", b"")
        drop(root / "H56.01" / "hoa-don" / "x.png", pages[0])  # not a kind
        wait_until(lambda: len(files_under(root / "loi") if (root / "loi").exists() else []) == 8)
        drop(folder / "tot.png", pages[1])  # the next good file is archived
        wait_until(lambda: "watch_archived" in watcher.key_list())
    loi = root / "loi"
    assert files_under(loi) == [
        "H56.01/hoa-don/x.png",
        "H56.01/hoa-don/x.png.loi.txt",
        "H56.01/thanh-phan/ghi-chu.txt",
        "H56.01/thanh-phan/ghi-chu.txt.loi.txt",
        "H56.01/thanh-phan/hong.png",
        "H56.01/thanh-phan/hong.png.loi.txt",
        "rong.pdf",
        "rong.pdf.loi.txt",
    ]
    reasons = {p.name: p.read_text(encoding="utf-8") for p in loi.rglob("*.loi.txt")}
    assert "vi: rong.pdf: tệp rỗng" in reasons["rong.pdf.loi.txt"]
    assert "en: rong.pdf: empty file" in reasons["rong.pdf.loi.txt"]
    assert "ảnh bị hỏng" in reasons["hong.png.loi.txt"] and "corrupt" in reasons["hong.png.loi.txt"]
    assert "không phải PDF" in reasons["ghi-chu.txt.loi.txt"]
    assert "'hoa-don'" in reasons["x.png.loi.txt"] and "is not a kind" in reasons["x.png.loi.txt"]
    assert [r.page_count for r in records(settings)] == [1]
    assert [p["where"] for p in watcher.said("watch_archived")] == ["H56.01/thanh-phan"]
    assert files_under(root) == [f"loi/{name}" for name in files_under(loi)]


def test_a_file_that_cannot_be_read_stays_said_once_and_is_taken_when_it_can(
    tmp_path, pages, monkeypatch
):
    settings = watch_settings(tmp_path)
    root = tmp_path / "watch"
    root.mkdir()
    locked = {"on": True}
    real = services.watch.detect_format

    def detect(path, **kw):
        if locked["on"] and path.name == "khoa.png":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, **kw)

    monkeypatch.setattr(services.watch, "detect_format", detect)
    with watching(settings, root) as watcher:
        drop(root / "khoa.png", pages[0])
        drop(root / "mo.png", pages[1])
        wait_until(lambda: "watch_archived" in watcher.key_list())
        time.sleep(1.0)  # more scans: said once, not at every scan
        assert (root / "khoa.png").exists() and not (root / "loi").exists()
        assert [p["error"] for p in watcher.said("watch_unreadable")] == ["PermissionError"]
        locked["on"] = False  # the permissions were fixed
        wait_until(lambda: len(watcher.said("watch_archived")) == 2)
    assert files_under(root) == [] and len(records(settings)) == 2


def test_a_restart_after_a_crash_between_commit_and_delete_only_deletes(
    tmp_path, pages, catalog_url, monkeypatch
):
    settings = watch_settings(tmp_path, catalog_url)
    root = tmp_path / "watch"
    scan = drop(root / "scan.png", pages[0])

    def killed(paths, markers):
        raise RuntimeError("killed after the commit, before the delete")

    monkeypatch.setattr(flows.watch, "remove_files", killed)
    with watching(settings, root) as first:
        wait_until(lambda: "watch_unexpected" in first.key_list())
    assert scan.exists() and len(records(settings)) == 1
    store = open_store(settings)
    archived = sorted(store.list("archive/"))
    monkeypatch.undo()

    with watching(settings, root) as second:
        wait_until(lambda: "watch_archived" in second.key_list())
    assert not scan.exists()
    [record] = records(settings)  # exactly one record, the same objects
    assert sorted(store.list("archive/")) == archived
    assert second.said("watch_archived")[0]["batch"] == record.batch_id
    assert intake.read(store, record.batch_id) is None


def test_two_watchers_on_one_folder_make_one_batch_and_one_record(tmp_path, pages, catalog_url):
    settings = watch_settings(tmp_path, catalog_url)
    root = tmp_path / "watch"
    root.mkdir()
    with watching(settings, root) as one, watching(settings, root) as two:
        drop(root / "U1" / "a.png", pages[0])
        drop(root / "U2" / "b.png", pages[1])
        wait_until(lambda: len(one.said("watch_archived") + two.said("watch_archived")) == 2)
        time.sleep(1.0)  # the other watcher's retries find nothing left
    received = one.said("watch_received") + two.said("watch_received")
    assert sorted(r["where"] for r in received) == ["U1", "U2"]
    assert sorted(r.unit for r in records(settings)) == ["U1", "U2"]
    assert files_under(root) == []


def test_the_folder_going_away_and_coming_back_does_not_stop_the_watcher(tmp_path, pages):
    settings = watch_settings(tmp_path)
    root = tmp_path / "share"
    root.mkdir()
    with watching(settings, root) as watcher:
        shutil.rmtree(root)  # the network share unmounted
        wait_until(lambda: "watch_folder_missing" in watcher.key_list(), timeout=30)
        time.sleep(1.0)
        assert watcher.key_list().count("watch_folder_missing") == 1  # said once, not every scan
        root.mkdir()
        drop(root / "sau.png", pages[2])
        wait_until(lambda: "watch_archived" in watcher.key_list())
    assert "watch_folder_back" in watcher.key_list() and files_under(root) == []
    assert len(records(settings)) == 1


def test_polling_mode_takes_a_file_on_a_share_without_events(tmp_path, pages):
    settings = watch_settings(tmp_path, poll=True)
    root = tmp_path / "smb"
    root.mkdir()
    with watching(settings, root) as watcher:
        drop(root / "H56.02" / "scan.png", pages[0])
        wait_until(lambda: "watch_archived" in watcher.key_list())
    [started] = watcher.said("watch_started")
    assert started["how"].key == "watch_how_polling"
    assert [r.unit for r in records(settings)] == ["H56.02"] and files_under(root) == []


# --- the command -----------------------------------------------------------------------------


def test_sohoa_watch_archives_a_dropped_file_and_stops_cleanly_on_sigterm(cli, tmp_path, pages):
    root = tmp_path / "scans"
    root.mkdir()
    log = tmp_path / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [str(SOHOA), "watch", str(root), "--settle", "0.4", "--interval", "0.5"],
            env={**cli.env, "SOHOA_LANG": "vi"},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            wait_until(lambda: "Đang theo dõi" in log.read_text(), timeout=60)
            drop(root / "H56.01" / "scan.png", pages[0])
            wait_until(lambda: "đã lưu trữ 1 bản ghi" in log.read_text())
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 143
        finally:
            process.kill()
    said = log.read_text()
    assert "Đã dừng theo dõi" in said and process.stdout.read() == ""
    assert files_under(root) == [] and cli.record_count() == 1
    found = cli.json("search", "--unit", "H56.01")["hits"]
    assert len(found) == 1


def test_the_watch_deployment_names_the_watch_flow():
    import yaml

    deployments = yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]
    [deployment] = [d for d in deployments if d["name"] == "watch"]
    module, _, name = deployment["entrypoint"].rpartition(".")
    flow = getattr(__import__(module, fromlist=[name]), name)
    assert flow.name == "watch_folder" and deployment["concurrency_limit"] == 1
    assert "schedules" not in deployment  # started once, runs until cancelled
