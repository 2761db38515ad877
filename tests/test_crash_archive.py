"""``kill -9`` at each archive step, then the same ingest again: every object stored once.

A real ``sohoa ingest`` of a two-record scan runs in a subprocess that SIGKILLs itself at
one step (:data:`KILLER` patches the step, then runs the CLI): after the originals are
stored, after a record's signed PDF is uploaded, after its manifest, after its catalog
row. The same ingest is then run again, unpatched. Afterwards there are two records in
the catalog, every key of theirs (PDF, manifest, originals) has exactly one version in
the store (the local store's ``.versions/``; the S3 server's ``ListObjectVersions``),
and ``sohoa verify --all`` passes. Why: each upload to the archive is a version under
object lock, kept for years; a rerun that signs again leaves a second signed copy of
the record that nobody can delete (issue 19, item 6).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from archive_fixture import make_scans
from conftest import CLI_TIMEOUT_S, make_cli
from s3server import drop_bucket, s3_server  # noqa: F401

UNIT = "H56.01"

KILLER = r'''
"""Run ``sohoa`` with one archive step patched to SIGKILL this process (argv: POINT N ARGS)."""
import os
import signal
import sys

point, nth, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
calls = {"n": 0}


def die_on_nth(step, after):
    """``step`` wrapped: its ``nth`` call kills the process, before or ``after`` it runs."""

    def patched(*a, **k):
        calls["n"] += 1
        if calls["n"] == nth and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = step(*a, **k)
        if calls["n"] == nth and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    return patched


if point == "originals":  # originals stored, nothing signed yet
    import flows.batch as batch
    batch.build_pdf = die_on_nth(batch.build_pdf, after=False)
elif point == "pdf":  # the record's signed PDF uploaded, not its manifest
    import records.commit as commit
    commit.put_manifest = die_on_nth(commit.put_manifest, after=False)
elif point == "manifest":  # PDF and manifest uploaded, no catalog row
    from catalog.database import Catalog
    Catalog.add_record = die_on_nth(Catalog.add_record, after=False)
elif point == "catalog":  # the catalog row written, the batch not yet marked archived
    from catalog.database import Catalog
    Catalog.add_record = die_on_nth(Catalog.add_record, after=True)
else:
    raise SystemExit(f"unknown point {point}")

from cli.app import app

sys.argv = ["sohoa", *args]
app()
'''

POINTS = [
    ("originals", 1),
    ("pdf", 1),  # the case: the first record's PDF uploaded
    ("pdf", 2),  # the first record archived, the second's PDF uploaded
    ("manifest", 1),
    ("manifest", 2),
    ("catalog", 1),
    ("catalog", 2),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Path:
    """Request | separator sheet | form: one scan that is split into two records."""
    _, stack = make_scans(tmp_path_factory.mktemp("crash-scans"))
    return stack


@pytest.fixture(params=["local", "s3"])
def place(request, tmp_path):
    """Environment for the CLI's store, and a count of every key's versions in it."""
    if request.param == "local":
        root = tmp_path / "data" / "objects"
        yield {}, lambda: _local_versions(root)
        return
    server = request.getfixturevalue("s3_server")
    stem = f"crash-{uuid.uuid4().hex[:12]}"
    env = {
        "SOHOA_STORE__BACKEND": "s3",
        "SOHOA_STORE__ENDPOINT": server.endpoint,
        "SOHOA_STORE__ACCESS_KEY": server.access_key,
        "SOHOA_STORE__SECRET_KEY": server.secret_key,
        "SOHOA_STORE__BUCKET": stem,
        "SOHOA_STORE__RETENTION_PERIOD": "1",
        "SOHOA_STORE__RETENTION_UNIT": "days",
    }
    buckets = [f"{stem}-{area}" for area in ("originals", "archive", "derived")]
    yield env, lambda: _s3_versions(server.client(), buckets)
    for bucket in buckets:
        drop_bucket(server.client(), bucket)


def _local_versions(root: Path) -> Counter:
    """Versions per key: the current file plus each copy kept under ``.versions/<key>/``."""
    counts: Counter = Counter()
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or any(p.startswith(".") for p in rel.parts):
            continue
        counts[rel.as_posix()] += 1
    for kept in (root / ".versions").rglob("*"):
        if kept.is_file() and kept.suffix != ".json":
            counts[kept.parent.relative_to(root / ".versions").as_posix()] += 1
    return counts


def _s3_versions(client, buckets: list[str]) -> Counter:
    """Versions per key (``ListObjectVersions``), delete markers left out."""
    counts: Counter = Counter()
    for bucket in buckets:
        if not client.bucket_exists(bucket):
            continue
        for obj in client.list_objects(bucket, recursive=True, include_version=True):
            if not obj.is_delete_marker:
                counts[obj.object_name] += 1
    return counts


def _killed_ingest(cli, env: dict, point: str, nth: int, stack: Path, tmp_path: Path) -> None:
    """``sohoa ingest`` with the step patched to SIGKILL; asserts it died by that signal."""
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    done = subprocess.run(
        [sys.executable, str(script), point, str(nth), "ingest", str(stack), "--unit", UNIT],
        env=cli.env | env | {"SOHOA_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == -9, done.stdout + done.stderr


def _record_rows(data_dir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data_dir / "catalog.sqlite") as conn:
        rows = conn.execute("select id, pdf_key, manifest_key from records").fetchall()
    conn.close()
    return rows


@pytest.mark.timeout(900)
@pytest.mark.parametrize(("point", "nth"), POINTS, ids=[f"{p}-{n}" for p, n in POINTS])
def test_a_rerun_after_kill_9_stores_every_object_once(point, nth, place, stack, tmp_path):
    env, versions = place
    cli = make_cli(tmp_path / "data")
    _killed_ingest(cli, env, point, nth, stack, tmp_path)

    done = cli("ingest", str(stack), "--unit", UNIT, "--json", extra_env=env)
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert len(records) == 2

    rows = _record_rows(cli.data_dir)
    assert sorted(r[0] for r in rows) == sorted(r["id"] for r in records)
    counts = versions()
    keys = [k for r in rows for k in r[1:]]
    assert {k: counts[k] for k in keys} == dict.fromkeys(keys, 1), counts
    originals = [
        k for k in counts if k.startswith("originals/") and not k.startswith("originals/_")
    ]
    assert originals and all(counts[k] == 1 for k in originals), counts
    archived = [k for k in counts if k.startswith("archive/") and not k.startswith("archive/_")]
    assert sorted(archived) == sorted(keys), counts  # no stray PDF or manifest either
    verify = cli("verify", "--all", extra_env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- the check that decides whether a stored PDF is reused ------------------------------


@pytest.fixture
def stored(tmp_path):
    """A record's PDF signed with the demo key and stored at its key; the signing summary."""
    from test_commit_once import _batch, _draft
    from test_signing import make_pdf

    from pdf.sign.signer import sign_pdf
    from schemas.settings import Settings
    from storage import object_keys
    from storage.stores import open_store

    settings = Settings(data_dir=tmp_path / "data")
    signed = tmp_path / "signed.pdf"
    summary = sign_pdf(make_pdf(tmp_path / "unsigned.pdf"), signed, settings)
    batch = _batch(tmp_path / "inbox")
    draft = _draft(batch.files[0])
    prefix = object_keys.record_prefix(batch.unit, batch.received_at, draft.dossier_code)
    key = object_keys.pdf_key(prefix, draft.record_id)
    store = open_store(settings)
    store.put_file(key, signed, content_type="application/pdf")
    parts = {"settings": settings, "store": store, "batch": batch, "draft": draft}
    return parts | {"key": key, "summary": summary}


def _reuse(stored: dict, tmp_path: Path):
    from records.resume import stored_signed_pdf

    dest = tmp_path / "work" / "record.pdf"
    dest.parent.mkdir(exist_ok=True)
    args = (stored["batch"], stored["draft"], stored["store"], dest, stored["settings"])
    return stored_signed_pdf(*args), dest


def test_a_stored_pdf_is_reused_with_the_signature_signing_reported(stored, tmp_path):
    summary, dest = _reuse(stored, tmp_path)
    assert summary == stored["summary"]
    assert dest.read_bytes() == stored["store"].get_bytes(stored["key"])


def test_nothing_stored_means_sign_now(stored, tmp_path):
    from dataclasses import replace

    other = replace(stored["batch"], unit="H56.02")  # another record prefix: no PDF there
    assert _reuse({**stored, "batch": other}, tmp_path)[0] is None


@pytest.mark.parametrize("how", ["bytes", "signature"])
def test_a_damaged_stored_pdf_is_not_reused(stored, tmp_path, how, caplog):
    """Its bytes changed behind the store's back (not the hash it recorded), or stored
    changed (a version whose signature no longer holds): signed again, and said so."""
    store, key = stored["store"], stored["key"]
    data = bytearray(store.get_bytes(key))
    data[data.find(b"\xff\xd8\xff") + 300] ^= 0x01  # a byte of a page image
    if how == "bytes":
        (store.root / key).write_bytes(bytes(data))
    else:
        store.put_bytes(key, bytes(data), content_type="application/pdf")
    assert _reuse(stored, tmp_path)[0] is None
    assert f"stored PDF {key} not reused" in caplog.text
