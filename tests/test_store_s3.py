"""S3-only behaviour of the object store, against the real SeaweedFS server of :mod:`s3server`.

Bucket settings (object lock, versioning, default retention), what happens to
an existing archive bucket without object lock, checked puts (a corrupting
HTTP client stands in for a bad network or disk), and credentials that never
leak into errors or logs.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import urllib3
from minio.error import S3Error
from minio.objectlockconfig import ObjectLockConfig
from s3server import drop_bucket, free_ports, make_store, store_settings

from schemas.settings import Settings, StoreSettings
from sohoa.errors import ConfigError, NotFoundError, ObjectLockedError, StorageError
from storage.s3store import S3ObjectStore
from storage.stores import open_store

MIB = 1024 * 1024
PDF = "archive/DEMO/2025/01/H21.65-220914-0011/0123456789abcdef.pdf"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def stem(s3_server):
    """A fresh bucket-name stem; its buckets are removed afterwards."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    yield name
    s3_server.start()
    for area in ("originals", "archive", "derived"):
        drop_bucket(s3_server.client(), f"{name}-{area}")


# -- buckets -----------------------------------------------------------------


def test_each_area_gets_its_bucket_and_the_archive_is_locked(s3_store, s3_server) -> None:
    for key in ("originals/b/1.pdf", PDF, "derived/x.json"):
        s3_store.put_bytes(key, b"x")
    client, buckets = s3_server.client(), s3_store.buckets
    for area, key in (("originals", "originals/b/1.pdf"), ("archive", PDF)):
        assert client.stat_object(buckets[area], key).size == 1  # object name = the whole key
    assert client.get_bucket_versioning(buckets["archive"]).status == "Enabled"
    lock = client.get_object_lock_config(buckets["archive"])
    assert (lock.mode, lock.duration, lock.duration_unit) == ("GOVERNANCE", 1, "Days")
    for area in ("originals", "derived"):
        assert client.get_bucket_versioning(buckets[area]).status != "Enabled"
        with pytest.raises(S3Error):
            client.get_object_lock_config(buckets[area])


def test_listing_does_not_create_buckets(s3_store, s3_server) -> None:
    assert list(s3_store.list()) == []
    assert not any(s3_server.client().bucket_exists(b) for b in s3_store.buckets.values())


def test_reading_does_not_create_buckets(s3_store, s3_server) -> None:
    """verify with a mistyped bucket name, or read-only credentials, must not create one."""
    assert not s3_store.exists(PDF)
    with pytest.raises(NotFoundError):
        s3_store.stat(PDF)
    with pytest.raises(NotFoundError):
        s3_store.get_bytes("originals/b/1.pdf")
    assert not any(s3_server.client().bucket_exists(b) for b in s3_store.buckets.values())


def test_compliance_mode_for_ten_years(s3_server, stem) -> None:
    """The configured mode and period become the bucket's default rule and each version's lock."""
    settings = store_settings(
        s3_server, stem, retention_mode="COMPLIANCE", retention_period=10, retention_unit="years"
    )
    store = make_store(s3_server, settings)
    info = store.put_bytes(PDF, b"kept ten years")
    lock = s3_server.client().get_object_lock_config(f"{stem}-archive")
    assert (lock.mode, lock.duration, lock.duration_unit) == ("COMPLIANCE", 10, "Years")
    assert info.retain_until is not None
    now = datetime.now(UTC)
    assert now + timedelta(days=3650) <= info.retain_until <= now + timedelta(days=3654)
    with pytest.raises(ObjectLockedError):
        store.delete(PDF)


def test_server_refuses_to_delete_a_locked_version(s3_store, s3_server) -> None:
    """Not our client being polite: the server itself refuses, for old and new versions."""
    first = s3_store.put_bytes(PDF, b"first")
    second = s3_store.put_bytes(PDF, b"second")
    client, bucket = s3_server.client(), s3_store.buckets["archive"]
    for version in (first.version_id, second.version_id):
        with pytest.raises(S3Error):
            client.remove_object(bucket, PDF, version_id=version)
    retention = client.get_object_retention(bucket, PDF, version_id=first.version_id)
    assert retention.mode == "GOVERNANCE"
    assert s3_store.get_bytes(PDF, version_id=first.version_id) == b"first"
    client.remove_object(bucket, PDF)  # without a version: only a delete marker on top
    assert not s3_store.exists(PDF)
    assert s3_store.get_bytes(PDF, version_id=second.version_id) == b"second"


def test_existing_archive_bucket_without_lock_is_a_config_error(s3_server, stem) -> None:
    s3_server.client().make_bucket(f"{stem}-archive")  # created by hand, without object lock
    store = make_store(s3_server, store_settings(s3_server, stem))
    with pytest.raises(ConfigError) as caught:
        store.put_bytes(PDF, b"unprotected?")
    text = caught.value.render("en")
    assert f"{stem}-archive" in text and "object lock" in text and "ARCHIVE_LOCK=warn" in text
    assert not list(s3_server.client().list_objects(f"{stem}-archive", recursive=True))
    store.put_bytes("originals/a.pdf", b"other areas still work")


def test_existing_archive_bucket_without_lock_is_used_with_a_warning(
    s3_server, stem, caplog: pytest.LogCaptureFixture
) -> None:
    s3_server.client().make_bucket(f"{stem}-archive")
    store = make_store(s3_server, store_settings(s3_server, stem, archive_lock="warn"))
    with caplog.at_level(logging.WARNING, logger="storage.s3store"):
        info = store.put_bytes(PDF, b"unprotected")
    assert "has no object lock" in caplog.text
    assert info.retain_until is None and info.version_id is None
    store.delete(PDF)  # nothing protects it: delete works
    assert not store.exists(PDF)


def test_locked_bucket_without_default_rule_gets_the_configured_one(s3_server, stem) -> None:
    s3_server.client().make_bucket(f"{stem}-archive", object_lock=True)
    store = make_store(s3_server, store_settings(s3_server, stem))
    assert store.put_bytes(PDF, b"x").retain_until is not None
    lock = s3_server.client().get_object_lock_config(f"{stem}-archive")
    assert (lock.mode, lock.duration, lock.duration_unit) == ("GOVERNANCE", 1, "Days")


def test_a_different_default_rule_is_kept_with_a_warning(
    s3_server, stem, caplog: pytest.LogCaptureFixture
) -> None:
    """The bucket's administrator may have chosen a longer rule; sohoa does not override it."""
    client = s3_server.client()
    client.make_bucket(f"{stem}-archive", object_lock=True)
    client.set_object_lock_config(f"{stem}-archive", ObjectLockConfig("GOVERNANCE", 2, "Days"))
    store = make_store(s3_server, store_settings(s3_server, stem))
    with caplog.at_level(logging.WARNING, logger="storage.s3store"):
        store.put_bytes(PDF, b"x")
    assert "keeps its own default retention" in caplog.text
    assert client.get_object_lock_config(f"{stem}-archive").duration == 2


def test_describe_and_location_have_no_credentials(s3_store, s3_server) -> None:
    names = ",".join(s3_store.buckets.values())
    assert s3_store.describe() == f"s3://{names}@{s3_server.endpoint}"
    where = s3_store.location(PDF)
    assert where == f"s3://{s3_store.buckets['archive']}@{s3_server.endpoint}/{PDF}"
    for text in (s3_store.describe(), where, repr(s3_store)):
        assert s3_server.access_key not in text and s3_server.secret_key not in text


# -- checked puts ----------------------------------------------------------


class CorruptingPool(urllib3.PoolManager):
    """An HTTP client that flips one bit in chosen PUT bodies after signing, and records headers."""

    def __init__(self, corrupt: Callable[[str], bool]) -> None:
        super().__init__(retries=False, timeout=urllib3.Timeout(connect=2, read=30))
        self.corrupt = corrupt
        self.exchanges: list[tuple[str, str, dict[str, str], dict[str, str]]] = []

    def urlopen(self, method, url, body=None, **kwargs):  # type: ignore[override]
        if method == "PUT" and body and len(body) > 1024 and self.corrupt(url):
            body = bytes([body[0] ^ 1]) + body[1:]
        response = super().urlopen(method, url, body=body, **kwargs)
        sent = {k.lower(): v for k, v in (kwargs.get("headers") or {}).items()}
        got = {k.lower(): v for k, v in response.headers.items()}
        self.exchanges.append((method, url, sent, got))
        return response


def test_hash_travels_as_metadata_and_checksum(s3_server, stem) -> None:
    """Our SHA-256 as metadata, and as ``x-amz-checksum-sha256`` that the server echoes."""
    pool = CorruptingPool(lambda url: False)  # records, corrupts nothing
    store = make_store(s3_server, store_settings(s3_server, stem), http_client=pool)
    store.put_bytes("derived/h", b"hash me", metadata={"Kind": "thanh-phan"})
    headers = s3_server.client().stat_object(f"{stem}-derived", "derived/h").metadata
    assert headers["x-amz-meta-sha256"] == sha(b"hash me")
    assert headers["x-amz-meta-kind"] == "thanh-phan"  # keys are lowercased
    checksum = base64.b64encode(hashlib.sha256(b"hash me").digest()).decode()
    (sent, echoed), *_ = [(q, r) for m, u, q, r in pool.exchanges if m == "PUT" and "/h" in u]
    assert sent["x-amz-checksum-sha256"] == echoed["x-amz-checksum-sha256"] == checksum


def test_large_objects_go_multipart(s3_store, s3_server, tmp_path: Path) -> None:
    src = tmp_path / "big.tiff"
    src.write_bytes(os.urandom(11 * MIB))
    s3_store.put_file("originals/big.tiff", src)
    stat = s3_server.client().stat_object(s3_store.buckets["originals"], "originals/big.tiff")
    assert stat.etag.endswith("-3")  # three parts of 5 MiB, the last one short


def _corrupting_store(s3_server, stem, corrupt: Callable[[str], bool]) -> S3ObjectStore:
    pool = CorruptingPool(corrupt)
    return make_store(s3_server, store_settings(s3_server, stem), http_client=pool)


def test_corrupted_single_put_is_rejected_by_the_server(s3_server, stem) -> None:
    store = _corrupting_store(s3_server, stem, lambda url: "partNumber" not in url)
    with pytest.raises(StorageError) as caught:
        store.put_bytes("derived/scan.pdf", os.urandom(64 * 1024))
    assert "BadDigest" in str(caught.value)
    assert not store.exists("derived/scan.pdf")


def test_corrupted_multipart_part_is_detected_and_removed(s3_server, stem) -> None:
    store = _corrupting_store(s3_server, stem, lambda url: "partNumber=2&" in url + "&")
    with pytest.raises(StorageError) as caught:
        store.put_bytes("originals/scan.tiff", os.urandom(11 * MIB))
    assert "ETag" in str(caught.value)
    assert not store.exists("originals/scan.tiff")


def test_corrupted_archive_upload_fails_and_a_retry_supersedes_it(s3_server, stem) -> None:
    """A bad archive version cannot be removed (it is locked), but the retry's is current."""
    data = os.urandom(11 * MIB)
    store = _corrupting_store(s3_server, stem, lambda url: "partNumber=3&" in url + "&")
    with pytest.raises(StorageError):
        store.put_bytes(PDF, data)
    retry = make_store(s3_server, store_settings(s3_server, stem))
    info = retry.put_bytes(PDF, data)
    assert info.sha256 == sha(data) and retry.get_bytes(PDF) == data


def test_object_written_by_another_tool_still_has_a_hash(s3_store, s3_server) -> None:
    s3_store.put_bytes("derived/warm-up", b"x")  # a write creates the bucket
    bucket = s3_store.buckets["derived"]
    s3_server.client().put_object(bucket, "derived/foreign.bin", io.BytesIO(b"abc"), 3)
    assert s3_store.stat("derived/foreign.bin").sha256 == sha(b"abc")


# -- credentials -------------------------------------------------------------


def _assert_no_secret(texts: list[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text


@pytest.mark.parametrize("wrong", ["secret", "access"])
def test_wrong_credentials_fail_without_leaking_them(
    s3_server, stem, wrong: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 and everything else, at their most verbose
    access = "AKNOSUCHUSER123" if wrong == "access" else s3_server.access_key
    secret = "wrong-" + s3_server.secret_key if wrong == "secret" else s3_server.secret_key
    store = S3ObjectStore(store_settings(s3_server, stem), access_key=access, secret_key=secret)
    with pytest.raises(StorageError) as caught:
        store.put_bytes("derived/x", b"x")
    error = caught.value
    assert error.params["operation"] == "bucket"
    texts = [str(error), error.render("vi"), repr(error), repr(error.params), caplog.text]
    texts += [repr(store), store.describe(), str(error.__cause__), str(error.__context__)]
    _assert_no_secret(texts, access, secret, s3_server.secret_key)


@pytest.mark.timeout(60)
def test_unreachable_endpoint_fails_without_leaking_keys(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    (port,) = free_ports(1)  # nothing listens there any more
    settings = StoreSettings(
        backend="s3",
        endpoint=f"127.0.0.1:{port}",
        access_key="AKEXAMPLE7Q2",
        secret_key="sk-example-123-secret",
    )
    store = S3ObjectStore.from_settings(settings)
    with pytest.raises(StorageError) as caught:
        store.put_bytes("archive/x.pdf", b"x")
    with pytest.raises(StorageError):
        store.exists("derived/x")
    texts = [str(caught.value), caught.value.render("vi"), caplog.text, repr(settings)]
    texts += [repr(store), str(Settings(store=settings))]
    _assert_no_secret(texts, "AKEXAMPLE7Q2", "sk-example-123-secret")
    assert "Connection" in str(caught.value) or "connect" in str(caught.value).lower()


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


def test_credentials_from_secret_files(s3_server, stem, tmp_path: Path) -> None:
    (tmp_path / "ak").write_text(s3_server.access_key + "\n")
    (tmp_path / "sk").write_text(s3_server.secret_key + "\n")
    settings = store_settings(
        s3_server, stem, access_key_file=tmp_path / "ak", secret_key_file=tmp_path / "sk"
    )
    store = S3ObjectStore.from_settings(settings)
    store.put_bytes("derived/k", b"v")
    assert store.get_bytes("derived/k") == b"v"


def test_credentials_and_buckets_from_the_environment(
    s3_server, stem, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "SOHOA_DATA_DIR": str(tmp_path),
        "SOHOA_STORE__BACKEND": "s3",
        "SOHOA_STORE__ENDPOINT": s3_server.endpoint,
        "SOHOA_STORE__ACCESS_KEY": s3_server.access_key,
        "SOHOA_STORE__SECRET_KEY": s3_server.secret_key,
        "SOHOA_STORE__BUCKET_DERIVED": f"{stem}-derived",
        "SOHOA_STORE__RETENTION_MODE": "COMPLIANCE",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.store.buckets["derived"] == f"{stem}-derived"
    assert settings.store.retention_mode == "COMPLIANCE"
    assert s3_server.secret_key not in repr(settings) + str(settings)
    store = open_store(settings)
    store.put_bytes("derived/env", b"e")
    assert s3_server.client().stat_object(f"{stem}-derived", "derived/env").size == 1


@pytest.mark.parametrize("name", ["UPPER", "a", "under_score", "x" * 64, "a..b"])
def test_invalid_bucket_names_are_refused_by_the_settings(name: str) -> None:
    with pytest.raises(ValueError):
        StoreSettings(bucket_archive=name)


def test_server_down_then_back(s3_store: S3ObjectStore, s3_server) -> None:
    """A stopped server is a StorageError, not a hang; data survives the restart."""
    s3_store.put_bytes("derived/durable.txt", b"still here")
    s3_server.stop()
    try:
        with pytest.raises(StorageError):
            s3_store.get_bytes("derived/durable.txt")
    finally:
        s3_server.start()
    assert s3_store.get_bytes("derived/durable.txt") == b"still here"
