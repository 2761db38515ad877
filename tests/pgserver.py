"""Pytest fixtures that run a real PostgreSQL server on loopback (Debian's, no mocks).

One server per test session (per pytest-xdist worker): ``initdb`` into a throw-away
directory with a generated superuser password (SCRAM, so a wrong password is refused as
it would be in production), ``pg_ctl`` on a port picked at run time, listening on
127.0.0.1 and a private socket directory. Each test that asks for :func:`pg_url` gets a
database of its own, dropped afterwards.

PostgreSQL refuses to run as root; under root (CI containers) the server runs as the
``postgres`` account Debian's package creates, and owns only its own data directory.

``conftest.py`` imports the fixtures, so every test module can ask for them.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

START_TIMEOUT_S = 60
SUPERUSER = "sohoa_test"


def pg_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding ``initdb``, else PATH's."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass(frozen=True)
class PgServer:
    """A running server: where it listens and how to log in as its superuser."""

    host: str
    port: int
    user: str
    password: str
    control: tuple[str, ...] = ()
    """``pg_ctl`` and its arguments up to the action: what :meth:`stop`/:meth:`start` run."""

    def stop(self) -> None:
        """Shut the server down now (``-m immediate``: as a crash or a pulled cable would)."""
        _run([*self.control, "-m", "immediate", "stop"], timeout=60)

    def start(self) -> None:
        """Start it again on the same port and data; a no-op if it runs."""
        if (
            subprocess.run(
                _as_server_user([*self.control, "status"]), capture_output=True, check=False
            ).returncode
            != 0
        ):
            _run(
                [*self.control, "-w", "-t", str(START_TIMEOUT_S), "start"],
                timeout=START_TIMEOUT_S + 10,
            )

    def url(self, database: str = "postgres", *, password: str | None = None) -> str:
        """A plain ``postgresql://`` URL, as a sysadmin would write it."""
        secret = self.password if password is None else password
        return f"postgresql://{self.user}:{secret}@{self.host}:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one statement as the superuser outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(sql)


def moved_to_postgres(settings, server: PgServer, *, records: int):
    """``settings`` with the catalog moved into a new database on ``server``: rebuilt there
    from the archive (``records`` of them), as a province moving its catalog would."""
    from records.rebuild import rebuild_catalog
    from storage.stores import open_store

    name = f"web_{uuid.uuid4().hex[:12]}"
    server.execute(f'CREATE DATABASE "{name}"')
    moved = settings.model_copy(update={"catalog_url": server.url(name)})
    report = rebuild_catalog(moved.resolved_catalog_url, store=open_store(moved))
    assert report.records == records and not report.skipped
    return moved


def copy_database(server: PgServer, url: str) -> str:
    """A new database that is a copy of ``url``'s (PostgreSQL's ``TEMPLATE``), as a URL.

    Nobody may be connected to the copied database, so this process's pooled catalog on
    it is closed first.
    """
    from catalog.database import forget_catalog

    forget_catalog(url)
    source = url.rsplit("/", 1)[1]
    name = f"copy_{uuid.uuid4().hex[:12]}"
    server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return server.url(name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(args: list[str]) -> list[str]:
    """``args`` run as ``postgres`` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def _run(args: list[str], **kwargs) -> None:
    done = subprocess.run(
        _as_server_user(args), capture_output=True, text=True, check=False, **kwargs
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout)[-800:]}")


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    """initdb + pg_ctl start in a temporary directory; stopped and removed on exit."""
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL is not installed: run `bash scripts/bootstrap.sh` (Debian's postgresql)"
        )
    root = Path(tempfile.mkdtemp(prefix="sohoa-pg-"))
    data, sockets, pwfile = root / "data", root / "run", root / "pw"
    password = secrets.token_urlsafe(18)
    pwfile.write_text(password + "\n", encoding="utf-8")
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for path in (sockets, pwfile):
            shutil.chown(path, "postgres")
    port = _free_port()
    try:
        _run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--pwfile", str(pwfile)]
            + ["--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            timeout=START_TIMEOUT_S,
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        control = (str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"))
        server = PgServer("127.0.0.1", port, SUPERUSER, password, control)
        server.start()
        yield server
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the test session (per xdist worker)."""
    with running_server() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, as a ``postgresql://`` URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    pg_server.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_server.url(name)
    finally:
        with contextlib.suppress(Exception):
            pg_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
