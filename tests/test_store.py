"""The object-store contract, run on both implementations: a local directory and real S3.

The S3 side talks to a SeaweedFS server started by :mod:`s3server`; nothing is
mocked. Both stores get the same retention rule (GOVERNANCE, one day), so the
archive's write-once behaviour is part of the contract. S3-only behaviour
(bucket settings, checksums, credentials) is in ``test_store_s3.py``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.settings import Settings, StoreSettings
from sohoa.errors import ExitCode, NotFoundError, ObjectLockedError, StorageError
from storage.localstore import LocalObjectStore
from storage.objectstore import ObjectStore, RetentionRule
from storage.stores import open_store

BIG_FILE_BYTES = 2 * 5 * 1024 * 1024 + 12345  # three 5 MiB parts on S3, the last one short
TEST_RULE = RetentionRule("GOVERNANCE", 1, "days")
PDF = "archive/DEMO/2025/01/H21.65-220914-0011/0123456789abcdef.pdf"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each contract test runs once per backend."""
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects", retention=TEST_RULE)
    return request.getfixturevalue("s3_store")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the shared contract ---------------------------------------------------


def test_implements_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)
    assert store.describe()
    assert store.location("derived/a/b.txt").endswith("derived/a/b.txt")


def test_put_bytes_then_get_bytes_round_trip(store: ObjectStore) -> None:
    data = b"%PDF-1.7 demo \x00\xff" * 100
    info = store.put_bytes("derived/hs/2025/a.pdf", data)
    assert info.key == "derived/hs/2025/a.pdf"
    assert info.size == len(data)
    assert info.sha256 == sha(data)
    assert info.version_id is None and info.retain_until is None  # not the archive
    assert store.get_bytes("derived/hs/2025/a.pdf") == data


def test_empty_object(store: ObjectStore) -> None:
    info = store.put_bytes("derived/empty.bin", b"")
    assert (info.size, info.sha256) == (0, sha(b""))
    assert store.get_bytes("derived/empty.bin") == b""


def test_put_file_large_then_download(store: ObjectStore, tmp_path: Path) -> None:
    """Over the part size: multipart upload on S3, streamed download."""
    src = tmp_path / "scan.tiff"
    src.write_bytes(os.urandom(BIG_FILE_BYTES))
    expected = sha(src.read_bytes())

    info = store.put_file("originals/scan.tiff", src, content_type="image/tiff")
    assert (info.size, info.sha256) == (BIG_FILE_BYTES, expected)

    dest = tmp_path / "out" / "nested" / "copy.tiff"
    got = store.download("originals/scan.tiff", dest)
    assert sha(dest.read_bytes()) == expected
    assert (got.size, got.sha256, got.content_type) == (BIG_FILE_BYTES, expected, "image/tiff")
    assert [p.name for p in dest.parent.iterdir()] == ["copy.tiff"]  # no temp files left


def test_download_replaces_existing_file(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("derived/k.txt", b"new")
    dest = tmp_path / "k.txt"
    dest.write_bytes(b"old content that is longer")
    store.download("derived/k.txt", dest)
    assert dest.read_bytes() == b"new"


def test_stat_reports_size_hash_type_and_metadata(store: ObjectStore) -> None:
    data = b"ket qua"
    metadata = {"dossier": "000.00.00.H00-250101-0001", "kind": "ket-qua"}
    key = "derived/kq/1.pdf"
    store.put_bytes(key, data, content_type="application/pdf", metadata=metadata)
    info = store.stat(key)
    assert info.key == key
    assert info.size == len(data)
    assert info.sha256 == sha(data)
    assert info.content_type == "application/pdf"
    assert dict(info.metadata) == metadata


def test_default_content_type_and_empty_metadata(store: ObjectStore) -> None:
    store.put_bytes("derived/plain", b"x")
    info = store.stat("derived/plain")
    assert info.content_type == "application/octet-stream"
    assert dict(info.metadata) == {}


@pytest.mark.parametrize(
    "metadata",
    [
        {"unit": "UBND xã Hòa Bình", "dossier": " a ", "kind": ""},
        {"unit": "=?x?=", "record": "", "Kind": "thanh-phan"},
    ],
)
def test_metadata_values_outside_ascii_round_trip(store: ObjectStore, metadata) -> None:
    """S3 headers are ASCII only; Vietnamese text and edge spaces must still come back intact."""
    store.put_bytes("derived/meta.bin", b"m", metadata=metadata)
    expected = {name.lower(): value for name, value in metadata.items()}  # keys are lowercased
    assert dict(store.stat("derived/meta.bin").metadata) == expected


@pytest.mark.parametrize("name", ["applicant_name", "cccd", "sha256", "title"])
def test_metadata_keys_outside_the_allow_list_are_refused(store: ObjectStore, name: str) -> None:
    """Only identifiers travel as metadata; a name or ID number never does."""
    with pytest.raises(StorageError) as caught:
        store.put_bytes("derived/p.bin", b"p", metadata={name: "Nguyễn Văn An 001203004567"})
    assert "Nguyễn" not in str(caught.value) and "001203004567" not in str(caught.value)
    assert not store.exists("derived/p.bin")


def test_metadata_values_that_look_personal_are_dropped(
    store: ObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A CCCD number read as a dossier code, an e-mail as a unit: dropped, the put goes on."""
    caplog.set_level(logging.DEBUG)
    metadata = {
        "dossier": "001203004567",
        "unit": "an.nguyen@example.vn",
        "record": "Nguyễn Văn An",
        "kind": "ket-qua",
        "batch": "0a1b2c3d4e5f60718293",
    }
    store.put_bytes("derived/q.bin", b"q", metadata=metadata)
    kept = {"kind": "ket-qua", "batch": "0a1b2c3d4e5f60718293"}
    assert dict(store.stat("derived/q.bin").metadata) == kept
    assert "dossier" in caplog.text and "unit" in caplog.text
    for value in ("001203004567", "an.nguyen", "Nguyễn"):
        assert value not in caplog.text


def test_exists(store: ObjectStore) -> None:
    assert not store.exists("derived/a/b.txt")
    store.put_bytes("derived/a/b.txt", b"1")
    assert store.exists("derived/a/b.txt")
    assert not store.exists("derived/a/b")
    assert not store.exists("derived/a")


def test_list_with_prefix_is_sorted_and_exact(store: ObjectStore) -> None:
    for key in ["b/2", "a/2", "a/1", "ab/x", "c", "a/sub/3"]:
        store.put_bytes(f"derived/{key}", key.encode())
    store.put_bytes("originals/o/1", b"o")
    assert list(store.list("derived/a/")) == ["derived/a/1", "derived/a/2", "derived/a/sub/3"]
    assert list(store.list("derived/a")) == [
        "derived/a/1",
        "derived/a/2",
        "derived/a/sub/3",
        "derived/ab/x",
    ]
    every = ["derived/a/1", "derived/a/2", "derived/a/sub/3", "derived/ab/x", "derived/b/2"]
    assert list(store.list()) == [*every, "derived/c", "originals/o/1"]
    assert list(store.list("o")) == list(store.list("originals/")) == ["originals/o/1"]
    assert list(store.list("derived/zzz/")) == []
    assert list(store.list("archive/")) == []


def test_delete_then_missing(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("derived/gone.txt", b"bye")
    store.delete("derived/gone.txt")
    assert not store.exists("derived/gone.txt")
    with pytest.raises(NotFoundError):
        store.get_bytes("derived/gone.txt")
    with pytest.raises(NotFoundError):
        store.stat("derived/gone.txt")
    with pytest.raises(NotFoundError):
        store.download("derived/gone.txt", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert list(store.list()) == []


def test_missing_object_error_names_the_key(store: ObjectStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.get_bytes("archive/never/was.pdf")
    assert caught.value.params == {"what": "object", "name": "archive/never/was.pdf"}


def test_delete_missing_is_not_an_error(store: ObjectStore) -> None:
    store.delete("derived/not/there")
    store.delete("archive/not/there")


@pytest.mark.parametrize(
    "key",
    ["../x", "/abs", "a//b", "", "a/./b", "a/../b", "a/", "derived", "nope/x", "Archive/x"],
)
def test_invalid_keys_are_rejected(store: ObjectStore, key: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        store.put_bytes(key, b"x")
    with pytest.raises(StorageError):
        store.get_bytes(key)
    with pytest.raises(StorageError):
        store.stat(key)
    with pytest.raises(StorageError):
        store.download(key, tmp_path / "d")
    with pytest.raises(StorageError):
        store.exists(key)
    with pytest.raises(StorageError):
        store.delete(key)


def test_overwrite_replaces_content_and_info(store: ObjectStore) -> None:
    key = "derived/v.txt"
    store.put_bytes(key, b"first version", content_type="text/plain", metadata={"kind": "a"})
    info = store.put_bytes(key, b"second", content_type="application/json", metadata={"unit": "b"})
    assert store.get_bytes(key) == b"second"
    assert info == store.stat(key)
    assert (info.size, info.sha256, info.content_type) == (6, sha(b"second"), "application/json")
    assert dict(info.metadata) == {"unit": "b"}
    assert list(store.list()) == [key]


def test_put_file_missing_source_is_storage_error(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        store.put_file("derived/x", tmp_path / "does-not-exist")


# -- the archive: versioned, retained --------------------------------------


def test_archive_put_is_a_retained_version(store: ObjectStore) -> None:
    before = datetime.now(UTC)
    info = store.put_bytes(PDF, b"%PDF signed", metadata={"dossier": "H21.65-220914-0011"})
    assert info.version_id
    assert info.retain_until is not None
    assert before + timedelta(days=1, seconds=-5) <= info.retain_until
    assert info.retain_until <= datetime.now(UTC) + timedelta(days=1, seconds=5)
    assert store.stat(PDF) == info


def test_archive_overwrite_keeps_the_previous_version(store: ObjectStore) -> None:
    """S3 semantics: a new put is a new version; the old one is neither replaced nor unlocked."""
    first = store.put_bytes(PDF, b"first signing")
    second = store.put_bytes(PDF, b"second signing")
    assert first.version_id != second.version_id
    assert store.get_bytes(PDF) == b"second signing"
    assert store.get_bytes(PDF, version_id=first.version_id) == b"first signing"
    old = store.stat(PDF, version_id=first.version_id)
    assert (old.sha256, old.version_id, old.retain_until) == (
        sha(b"first signing"),
        first.version_id,
        first.retain_until,
    )
    assert list(store.list("archive/")) == [PDF]


def test_archive_delete_is_refused_while_retained(store: ObjectStore) -> None:
    """Object lock: deleting a retained version fails, and the object is still there."""
    store.put_bytes(PDF, b"v1")
    store.put_bytes(PDF, b"v2")
    with pytest.raises(ObjectLockedError) as caught:
        store.delete(PDF)
    assert isinstance(caught.value, StorageError)
    assert caught.value.exit_code == ExitCode.STORAGE_FAILED
    assert caught.value.params["name"] == PDF
    assert "retention" in caught.value.render("en")
    assert store.get_bytes(PDF) == b"v2"
    assert store.exists(PDF)


def test_unknown_version_is_not_found(store: ObjectStore) -> None:
    store.put_bytes(PDF, b"v1")
    with pytest.raises(NotFoundError):
        store.get_bytes(PDF, version_id="0123456789abcdef0123456789abcdef")


# -- local only ---------------------------------------------------------------


def test_local_store_keeps_one_folder_per_area_and_hides_versions(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects", retention=TEST_RULE)
    for key in ("originals/u/1.tiff", PDF, PDF, "derived/x.json"):
        store.put_bytes(key, key.encode())
    top = sorted(p.name for p in (tmp_path / "objects").iterdir())
    assert top == [".meta", ".versions", "archive", "derived", "originals"]
    assert list(store.list()) == sorted(["originals/u/1.tiff", PDF, "derived/x.json"])
    assert (tmp_path / "objects" / PDF).read_bytes() == PDF.encode()


def test_local_delete_after_retention_ends(tmp_path: Path) -> None:
    """Once every version's retention has passed, delete removes them all."""
    root = tmp_path / "objects"
    store = LocalObjectStore(root, retention=TEST_RULE)
    store.put_bytes(PDF, b"v1")
    store.put_bytes(PDF, b"v2")
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    for sidecar in [*root.glob(".meta/**/*.json"), *root.glob(".versions/**/*.json")]:
        record = json.loads(sidecar.read_text())
        record["retain_until"] = past  # as if the retention period had gone by
        sidecar.write_text(json.dumps(record))
    store.delete(PDF)
    assert not store.exists(PDF)
    assert not any((root / ".versions").rglob("*.pdf*"))


def test_open_store_applies_the_archive_lock_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = open_store(settings)
    store.put_bytes(PDF, b"v1")
    with pytest.raises(ObjectLockedError):
        store.delete(PDF)
    unlocked = open_store(settings.model_copy(update={"store": StoreSettings(archive_lock="off")}))
    assert unlocked.put_bytes("archive/x/y.pdf", b"1").version_id is None
    unlocked.delete("archive/x/y.pdf")
    assert not unlocked.exists("archive/x/y.pdf")


def test_a_key_under_a_file_is_a_storage_error_not_a_crash(tmp_path: Path) -> None:
    """A file where the key's folder should be is a store failure the batch can report."""
    store = LocalObjectStore(tmp_path / "objects")
    store.put_bytes("derived/reports", b"a file, not a folder")
    with pytest.raises(StorageError) as caught:
        store.put_bytes("derived/reports/daily/2026-11-21.json", b"{}")
    assert caught.value.exit_code == ExitCode.STORAGE_FAILED


def test_a_corrupt_info_file_is_a_storage_error_not_a_crash(tmp_path: Path) -> None:
    """A torn write of a local object's info file must surface as a store finding."""
    store = LocalObjectStore(tmp_path / "objects")
    store.put_bytes("derived/x.json", b"{}")
    sidecar = tmp_path / "objects" / LocalObjectStore.META_DIR / "derived" / "x.json.json"
    assert sidecar.is_file()
    sidecar.write_text('{"sha256": "half')
    with pytest.raises(StorageError) as caught:
        store.stat("derived/x.json")
    assert caught.value.exit_code == ExitCode.STORAGE_FAILED


def test_a_disk_error_while_reading_is_a_storage_error(tmp_path: Path, monkeypatch) -> None:
    """An I/O error (injected) while reading an object is reported, not raised as OSError."""
    store = LocalObjectStore(tmp_path / "objects")
    store.put_bytes("derived/x.json", b"{}")

    def failing_read(self: Path) -> bytes:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(Path, "read_bytes", failing_read)
    with pytest.raises(StorageError) as caught:
        store.get_bytes("derived/x.json")
    assert "Input/output error" in str(caught.value)
