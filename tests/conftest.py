"""Shared fixtures: one real Prefect server per session, an isolated sohoa data dir per test,
a CLI runner that runs the real ``sohoa`` console script, and generated scans with known text."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# Before anything imports Prefect: offline, quiet, and never the user's own profile.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# Nothing a test runs may share state through the user's home: each test process (each
# pytest-xdist worker) gets its own Prefect home (until the session's Prefect server sets
# one in its fixture) and its own XDG data folder, so a Settings() or a `sohoa` that was
# not given a data dir writes here, not to ~/.local/share/sohoa used by everyone.
_PROCESS_HOME = Path(tempfile.mkdtemp(prefix="sohoa-tests-"))
atexit.register(shutil.rmtree, _PROCESS_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = str(_PROCESS_HOME / "prefect-home")
os.environ["XDG_DATA_HOME"] = str(_PROCESS_HOME / "xdg-data")

from pgserver import pg_server, pg_url  # noqa: F401  (fixtures)
from s3server import s3_server, s3_store  # noqa: F401  (fixtures)

SOHOA = Path(sys.executable).with_name("sohoa")
CLI_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def prefect_api_url(tmp_path_factory) -> str:
    """A temporary Prefect server for the whole session (real API, real flow runs).

    Its database is SQLite, shared by every test of the worker process and by the real
    ``prefect worker``s some tests start: on two loaded cores a write waited out the 10 s
    default lock timeout ("database is locked" on a worker's heartbeat), the worker's
    flow run crashed, and a test about sohoa failed on Prefect's test database. 60 s is
    what Prefect itself gives SQLite's busy timeout outside test mode.
    """
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "60")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield PREFECT_API_URL.value()


def flow_runs_of(flow_name: str, data_dir: Path) -> list:
    """This test's runs of ``flow_name``, newest first: those given settings for ``data_dir``.

    The session's Prefect server is shared by every test of a worker process (and a web
    app's job threads may still be running someone else's flow), so "the latest run"
    is not necessarily ours; the ``settings`` parameter a run was given says whose it is.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=200,
        )
    return [r for r in runs if _run_data_dir(r.parameters) == str(data_dir)]


def _run_data_dir(parameters: dict) -> str | None:
    settings = parameters.get("settings")
    return settings.get("data_dir") if isinstance(settings, dict) else None


@dataclass
class Cli:
    """Runs ``sohoa`` as a user would, in a subprocess with its own data directory."""

    data_dir: Path
    env: dict[str, str]

    def __call__(self, *args: str, lang: str = "en", extra_env: dict | None = None):
        env = {**self.env, "SOHOA_LANG": lang, **(extra_env or {})}
        return subprocess.run(
            [str(SOHOA), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=CLI_TIMEOUT_S,
            check=False,
        )

    def json(self, *args: str, **kw) -> object:
        done = self(*args, "--json", **kw)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def record_count(self) -> int:
        db = self.data_dir / "catalog.sqlite"
        if not db.exists():
            return 0
        with sqlite3.connect(db) as conn:
            tables = {r[0] for r in conn.execute("select name from sqlite_master")}
            return (
                conn.execute("select count(*) from records").fetchone()[0]
                if "records" in tables
                else 0
            )

    def archive_objects(self) -> list[Path]:
        root = self.data_dir / "objects" / "archive"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def page_image(path: Path, *, source: str, index: int = 0, source_page: int = 0):
    """The page record ``iter_pages`` would make for a 300-dpi grey PNG at ``path``."""
    from PIL import Image

    from schemas.models import PageImage

    with Image.open(path) as image:
        width, height = image.size
    return PageImage(
        index=index,
        path=str(path),
        source=source,
        source_page=source_page,
        width=width,
        height=height,
        dpi=300.0,
        mode="L",
        encoding="png",
    )


SQLITE_SIDE_FILES = ("*.sqlite-wal", "*.sqlite-shm", "*.sqlite-journal")


def copy_data_dir(src: Path, dest: Path, *, skip: tuple[str, ...] = ("prefect",)) -> Path:
    """A writable copy of a data directory whose SQLite catalogs are consistent snapshots.

    Why not ``copytree`` alone: a catalog in WAL mode keeps recent commits in its
    ``-wal`` file, which SQLite removes when the last connection closes; copied file by
    file, the copy can miss commits or fail on a side file that vanished mid-copy. Each
    ``*.sqlite`` is therefore copied with SQLite's backup API, side files left out.
    """
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*skip, *SQLITE_SIDE_FILES))
    for db in src.rglob("*.sqlite"):
        if any(part in skip for part in db.relative_to(src).parts):
            continue
        source, copy = sqlite3.connect(db), sqlite3.connect(dest / db.relative_to(src))
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
    return dest


def make_cli(data_dir: Path, prefect_api_url: str | None = None) -> Cli:
    """A CLI with its own data dir and the user's defaults: embedded defaults (no Prefect
    server: ``ingest`` runs plainly, :mod:`flows.plain`), or flow runs on the session's
    Prefect server when ``prefect_api_url`` is given (the nightly run, a province's set-up)."""
    dropped = ("SOHOA_", "PREFECT_LOGGING_LEVEL") if prefect_api_url else ("SOHOA_", "PREFECT_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(SOHOA_DATA_DIR=str(data_dir), COLUMNS="200")
    if prefect_api_url:
        env["PREFECT_API_URL"] = prefect_api_url
    return Cli(data_dir, env)


@pytest.fixture
def cli(tmp_path) -> Cli:
    """``sohoa`` as a clerk runs it on embedded defaults."""
    return make_cli(tmp_path / "data")


PAGE_TEXTS = [
    [
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Trang thứ nhất của hồ sơ",
        "Họ và tên người nộp: Nguyễn Thị Hồng Đào",
        "Nội dung yêu cầu: Đăng ký khai sinh",
        "Mã hồ sơ: 000.00.06.H56-231027-0361",
    ],
    [
        "TỜ KHAI ĐĂNG KÝ KHAI SINH",
        "Trang thứ hai: quê quán Quảng Trị",
        "Địa chỉ: số 12 đường Lê Lợi, phường Đông Hà",
    ],
    [
        "QUYẾT ĐỊNH",
        "Trang thứ ba: Ủy ban nhân dân huyện Gio Linh",
        "Người ký: Trần Văn Dũng, Chủ tịch",
    ],
]


@pytest.fixture(scope="session")
def scan_pdf(tmp_path_factory) -> Path:
    """A 3-page image-only scanner PDF: skewed, blurred, noisy, JPEG-compressed."""
    from samples.synth import degrade, render_page, write_pdf

    pages = [
        degrade(
            render_page(lines, font_size_pt=14, seed=i),
            skew_deg=(1.5, -2.0, 3.0)[i],
            blur_sigma=0.5,
            noise=0.05,
            jpeg_quality=60,
            seed=i,
        )
        for i, lines in enumerate(PAGE_TEXTS)
    ]
    path = tmp_path_factory.mktemp("scans") / "ho-so-3-trang.pdf"
    write_pdf(path, pages, dpi=300, jpeg_quality=80)
    return path


@pytest.fixture
def prefect_walk(monkeypatch) -> list:
    """Every object Prefect's engines visit in task and flow arguments, while the test runs.

    Why: Prefect looks for futures and states in arguments object by object, several
    times a call; a flow that hands it a batch's words or a catalog's rows unquoted
    pays for each one. Tests assert which types never show up here.
    """
    import prefect.flow_engine
    import prefect.futures
    import prefect.task_engine
    import prefect.utilities.engine

    seen: list = []

    def counting(original):
        def visit(expr, visit_fn, *args, **kwargs):
            def spy(obj, *rest):
                seen.append(obj)
                return visit_fn(obj, *rest)

            return original(expr, spy, *args, **kwargs)

        return visit

    engines = (prefect.task_engine, prefect.utilities.engine, prefect.flow_engine, prefect.futures)
    for module in engines:
        monkeypatch.setattr(module, "visit_collection", counting(module.visit_collection))
    return seen


RESIDENCE_LETTER = [
    "ỦY BAN NHÂN DÂN XÃ CẨM BÌNH",
    "Xác nhận ông Trần Đức Phát cư trú tại thôn Đông Thịnh, xã Cẩm Bình,",
    "huyện Cẩm Xuyên, tỉnh Hà Tĩnh, từ ngày 18 tháng 3 năm 2024 đến nay.",
    "Giấy xác nhận này có giá trị trong thời hạn sáu tháng kể từ ngày ký.",
    "Hồ sơ đã được số hóa theo Nghị định số 45/2020/NĐ-CP của Chính phủ.",
    "Người ký: Hoàng Thị Mỹ Lệ",
]
"""A short residence certificate's lines: print to put pen notes and signatures beside."""


def rendered_and_read(lines: list[str]) -> tuple:
    """``lines`` rendered as a 300-dpi page in grey (13 pt), and Tesseract's TSV of it."""
    import numpy as np
    import pytesseract

    from samples.synth import render_page

    image = np.array(render_page(lines, dpi=300, font_size_pt=13).convert("L"))
    data = pytesseract.image_to_data(
        image, lang="vie", config="--psm 3 --dpi 300", output_type=pytesseract.Output.DICT
    )
    return image, data


SQLITE_ONLY = pytest.mark.parametrize("catalog_url", ["sqlite"], indirect=True)
"""For a test of SQLite's own machinery (the FTS5 tables, WAL, a file opened read-only)."""
SEARCH_ON_SQLITE = SQLITE_ONLY
"""For a search test whose behaviour PostgreSQL's search does not have (said where used)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path: Path) -> str:
    """An empty catalog database: a SQLite file, or a database on the session's PostgreSQL."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'data' / 'catalog.sqlite'}"
