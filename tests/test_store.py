"""The object-store contract, run on both implementations: a local directory and real S3.

The S3 side talks to a SeaweedFS server started by :mod:`s3server`; nothing is
mocked. S3-only tests at the end cover credentials and network failures.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported from s3server by parameter name

from __future__ import annotations

import hashlib
import io
import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = str(Path(__file__).parent)
if TESTS_DIR not in sys.path:  # pytest's default "prepend" import mode already adds it
    sys.path.insert(0, TESTS_DIR)

from s3server import free_ports, s3_server, s3_store  # noqa: F401

from schemas.settings import StoreSettings
from sohoa.errors import NotFoundError, StorageError
from storage.objectstore import LocalObjectStore, ObjectStore
from storage.s3store import S3ObjectStore

BIG_FILE_BYTES = 20 * 1024 * 1024 + 12345  # > one 16 MiB part, and not a multiple of it


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each contract test runs once per backend."""
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    return request.getfixturevalue("s3_store")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the shared contract ---------------------------------------------------


def test_implements_protocol(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)
    assert store.describe()


def test_put_bytes_then_get_bytes_round_trip(store: ObjectStore) -> None:
    data = b"%PDF-1.7 demo \x00\xff" * 100
    info = store.put_bytes("hs/2025/a.pdf", data)
    assert info.key == "hs/2025/a.pdf"
    assert info.size == len(data)
    assert info.sha256 == sha(data)
    assert store.get_bytes("hs/2025/a.pdf") == data


def test_empty_object(store: ObjectStore) -> None:
    info = store.put_bytes("empty.bin", b"")
    assert (info.size, info.sha256) == (0, sha(b""))
    assert store.get_bytes("empty.bin") == b""


def test_put_file_large_then_download(store: ObjectStore, tmp_path: Path) -> None:
    """20 MiB exercises multipart upload on S3 and streamed download."""
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
    store.put_bytes("k.txt", b"new")
    dest = tmp_path / "k.txt"
    dest.write_bytes(b"old content that is longer")
    store.download("k.txt", dest)
    assert dest.read_bytes() == b"new"


def test_stat_reports_size_hash_type_and_metadata(store: ObjectStore) -> None:
    data = b"ket qua"
    metadata = {"dossier": "000.00.00.H00-250101-0001", "kind": "ket-qua"}
    store.put_bytes("kq/1.pdf", data, content_type="application/pdf", metadata=metadata)
    info = store.stat("kq/1.pdf")
    assert info.key == "kq/1.pdf"
    assert info.size == len(data)
    assert info.sha256 == sha(data)
    assert info.content_type == "application/pdf"
    assert dict(info.metadata) == metadata


def test_default_content_type_and_empty_metadata(store: ObjectStore) -> None:
    store.put_bytes("plain", b"x")
    info = store.stat("plain")
    assert info.content_type == "application/octet-stream"
    assert dict(info.metadata) == {}


def test_metadata_values_outside_ascii_round_trip(store: ObjectStore) -> None:
    """S3 headers are ASCII only; Vietnamese text and edge spaces must still come back intact."""
    metadata = {"title": "Số hóa hồ sơ", "padded": " a ", "empty": "", "rfc2047": "=?x?="}
    store.put_bytes("meta.bin", b"m", metadata=metadata)
    assert dict(store.stat("meta.bin").metadata) == metadata


def test_exists(store: ObjectStore) -> None:
    assert not store.exists("a/b.txt")
    store.put_bytes("a/b.txt", b"1")
    assert store.exists("a/b.txt")
    assert not store.exists("a/b")
    assert not store.exists("a")


def test_list_with_prefix_is_sorted_and_exact(store: ObjectStore) -> None:
    for key in ["b/2", "a/2", "a/1", "ab/x", "c", "a/sub/3"]:
        store.put_bytes(key, key.encode())
    assert list(store.list("a/")) == ["a/1", "a/2", "a/sub/3"]
    assert list(store.list("a")) == ["a/1", "a/2", "a/sub/3", "ab/x"]
    assert list(store.list()) == ["a/1", "a/2", "a/sub/3", "ab/x", "b/2", "c"]
    assert list(store.list("zzz/")) == []


def test_delete_then_missing(store: ObjectStore, tmp_path: Path) -> None:
    store.put_bytes("gone.txt", b"bye")
    store.delete("gone.txt")
    assert not store.exists("gone.txt")
    with pytest.raises(NotFoundError):
        store.get_bytes("gone.txt")
    with pytest.raises(NotFoundError):
        store.stat("gone.txt")
    with pytest.raises(NotFoundError):
        store.download("gone.txt", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    assert list(store.list()) == []


def test_missing_object_error_names_the_key(store: ObjectStore) -> None:
    with pytest.raises(NotFoundError) as caught:
        store.get_bytes("never/was.pdf")
    assert caught.value.params == {"what": "object", "name": "never/was.pdf"}


def test_delete_missing_is_not_an_error(store: ObjectStore) -> None:
    store.delete("not/there")


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "", "a/./b", "a/../b", "a/"])
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
    store.put_bytes("v.txt", b"first version", content_type="text/plain", metadata={"n": "1"})
    info = store.put_bytes("v.txt", b"second", content_type="application/json", metadata={"m": "2"})
    assert store.get_bytes("v.txt") == b"second"
    assert info == store.stat("v.txt")
    assert (info.size, info.sha256, info.content_type) == (6, sha(b"second"), "application/json")
    assert dict(info.metadata) == {"m": "2"}
    assert list(store.list()) == ["v.txt"]


def test_put_file_missing_source_is_storage_error(store: ObjectStore, tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        store.put_file("x", tmp_path / "does-not-exist")


# -- S3 only ----------------------------------------------------------------


def test_describe_has_no_credentials(s3_store: S3ObjectStore, s3_server) -> None:
    text = s3_store.describe()
    assert text == f"s3://{s3_store.bucket}@{s3_server.endpoint}"
    assert s3_server.access_key not in text and s3_server.secret_key not in text


def test_sha256_is_stored_as_user_metadata(s3_store: S3ObjectStore, s3_server) -> None:
    s3_store.put_bytes("h", b"hash me", metadata={"Kind": "thanh-phan"})
    headers = s3_server.client().stat_object(s3_store.bucket, "h").metadata
    assert headers["x-amz-meta-sha256"] == sha(b"hash me")
    assert headers["x-amz-meta-kind"] == "thanh-phan"  # keys are lowercased


def test_reserved_metadata_key_is_rejected(s3_store: S3ObjectStore) -> None:
    with pytest.raises(StorageError):
        s3_store.put_bytes("r", b"x", metadata={"sha256": "forged"})


def test_object_written_by_another_tool_still_has_a_hash(
    s3_store: S3ObjectStore, s3_server
) -> None:
    s3_store.exists("warm-up")  # creates the bucket
    s3_server.client().put_object(s3_store.bucket, "foreign.bin", io.BytesIO(b"abc"), 3)
    assert s3_store.stat("foreign.bin").sha256 == sha(b"abc")


@pytest.mark.parametrize("wrong", ["secret", "access"])
def test_wrong_credentials_fail_without_leaking_them(s3_server, wrong: str) -> None:
    access = "AKNOSUCHUSER123" if wrong == "access" else s3_server.access_key
    secret = "wrong-" + s3_server.secret_key if wrong == "secret" else s3_server.secret_key
    store = S3ObjectStore(s3_server.endpoint, access, secret, "creds-test", secure=False)
    with pytest.raises(StorageError) as caught:
        store.put_bytes("x", b"x")
    for text in (str(caught.value), caught.value.render("vi"), repr(caught.value.params)):
        assert secret not in text and s3_server.secret_key not in text
        assert access not in text
    assert secret not in repr(store) and secret not in store.describe()


@pytest.mark.timeout(60)
def test_unreachable_endpoint_is_storage_error() -> None:
    (port,) = free_ports(1)  # nothing listens there any more
    store = S3ObjectStore(f"127.0.0.1:{port}", "AKEXAMPLE", "sk-example-123", "nowhere")
    with pytest.raises(StorageError) as caught:
        store.put_bytes("x", b"x")
    assert "sk-example-123" not in str(caught.value)
    with pytest.raises(StorageError):
        store.exists("x")


def test_from_settings_requires_credentials() -> None:
    with pytest.raises(StorageError) as caught:
        S3ObjectStore.from_settings(StoreSettings(backend="s3"))
    assert caught.value.params["operation"] == "connect"


def test_from_settings_unreadable_secret_file(tmp_path: Path) -> None:
    settings = StoreSettings(
        backend="s3", access_key="AK", secret_key_file=tmp_path / "missing-secret"
    )
    with pytest.raises(StorageError):
        S3ObjectStore.from_settings(settings)


def test_from_settings_with_secret_files(s3_server, tmp_path: Path) -> None:
    (tmp_path / "ak").write_text(s3_server.access_key + "\n")
    (tmp_path / "sk").write_text(s3_server.secret_key + "\n")
    settings = StoreSettings(
        backend="s3",
        endpoint=s3_server.endpoint,
        bucket="from-settings",
        access_key_file=tmp_path / "ak",
        secret_key_file=tmp_path / "sk",
    )
    store = S3ObjectStore.from_settings(settings)
    store.put_bytes("k", b"v")
    assert store.get_bytes("k") == b"v"
    store.delete("k")


def test_server_down_then_back(s3_store: S3ObjectStore, s3_server) -> None:
    """A stopped server is a StorageError, not a hang; data survives the restart."""
    s3_store.put_bytes("durable.txt", b"still here")
    s3_server.stop()
    try:
        with pytest.raises(StorageError):
            s3_store.get_bytes("durable.txt")
    finally:
        s3_server.start()
    assert s3_store.get_bytes("durable.txt") == b"still here"
