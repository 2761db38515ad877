"""A PostgreSQL cluster for the search benchmark, kept under ``bench/out/pg/`` between runs.

Why not ``tests/pgserver.running_server``: it creates a throw-away cluster per test session,
and a million-record catalog takes many minutes to build, so the benchmark keeps its data
directory and only starts the server (and stops it again if it started it). Finding the
binaries, running them as ``postgres`` under root and the :class:`PgServer` handle come from
``tests/pgserver.py``. A million-record catalog takes 8 GB there; delete the folder to start
afresh.

Settings beyond Debian's defaults: 2 GB shared buffers (a million records' word index, 0.9 GB
with its GIN indexes, stays in them, see :func:`prewarm`), 1 GB maintenance memory (GIN
indexes of a million texts build in one pass), a larger WAL between checkpoints for the bulk
load, listening on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))

from pgserver import SUPERUSER, PgServer, _as_server_user, _free_port, pg_bin_dir

HOME = ROOT / "bench" / "out" / "pg"
SETTINGS = (
    "-c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c maintenance_work_mem=1GB "
    "-c max_wal_size=8GB"
)


def _pg(tool: str, *args: str) -> subprocess.CompletedProcess:
    """Run one of PostgreSQL's programs on the cluster's data directory (as ``postgres``)."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (Debian's postgresql package)")
    command = _as_server_user([str(bin_dir / tool), "-D", str(HOME / "data"), *args])
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)


def _checked(done: subprocess.CompletedProcess) -> None:
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout)[-800:])


def _create() -> None:
    """initdb, once: a superuser with a generated password (SCRAM), UTF-8, C collation."""
    (HOME / "run").mkdir(parents=True, exist_ok=True)
    pwfile = HOME / "password"
    pwfile.touch(mode=0o600)
    pwfile.write_text(secrets.token_urlsafe(18) + "\n", encoding="utf-8")
    if os.geteuid() == 0:
        for path in (HOME, HOME / "run", pwfile):
            shutil.chown(path, "postgres")
    _checked(
        _pg(
            "initdb",
            *("-U", SUPERUSER, "--pwfile", str(pwfile), "--auth=scram-sha-256"),
            *("-E", "UTF8", "--locale=C.UTF-8"),
        )
    )


def _port() -> int:
    """The running server's port (the fourth line of ``postmaster.pid``)."""
    return int((HOME / "data" / "postmaster.pid").read_text().splitlines()[3])


@contextlib.contextmanager
def local_cluster() -> Iterator[PgServer]:
    """The benchmark's server, started if it is not running; stopped on exit if started here."""
    if not (HOME / "data" / "PG_VERSION").exists():
        shutil.rmtree(HOME, ignore_errors=True)
        _create()
    started = _pg("pg_ctl", "status").returncode != 0
    if started:
        options = f"-p {_free_port()} -k {HOME / 'run'} {SETTINGS}"
        _checked(_pg("pg_ctl", "-o", options, "-l", str(HOME / "log"), "-w", "start"))
    password = (HOME / "password").read_text().strip()
    try:
        yield PgServer("127.0.0.1", _port(), SUPERUSER, password)
    finally:
        if started:
            _pg("pg_ctl", "-m", "fast", "stop")


def evict(path: Path) -> None:
    """Drop ``path`` from the OS page cache (``posix_fadvise DONTNEED``), if it exists."""
    if path.is_file():
        fd = os.open(path, os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def restart_cold() -> None:
    """Restart the server (empty shared buffers) and evict its files: the next query is cold."""
    _checked(_pg("pg_ctl", "-m", "fast", "-l", str(HOME / "log"), "-w", "restart"))
    for path in (HOME / "data").rglob("*"):
        evict(path)


def prewarm(url: str, table: str) -> None:
    """Load ``table`` and its indexes into shared buffers, as a server that has been answering
    searches holds them. Why: a freshly started server reads each heap page a GIN match
    points at from the OS cache; a common surname (4,600 matches, one page each) took 58 ms
    that way and 9 ms from shared buffers: the bench would time the restart, not the search."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        connection.execute(
            "SELECT pg_prewarm(r) FROM (SELECT CAST(%(t)s AS regclass) AS r UNION ALL "
            "SELECT indexrelid::regclass FROM pg_index WHERE indrelid = CAST(%(t)s AS regclass)) "
            "AS relations",
            {"t": table},
        )
