"""The S3/MinIO implementation of the object-store contract, through the ``minio`` SDK.

It honours the same contract as :class:`storage.objectstore.LocalObjectStore`
(the same tests run on both). Differences that callers never see but
maintainers should know:

* The SHA-256 is computed by us and stored as user metadata
  (``x-amz-meta-sha256``), because S3 ETags are not content hashes for
  multipart uploads. Reads check the bytes against it.
* S3 user metadata is case-insensitive and US-ASCII only, so keys are
  lowercased and values that HTTP cannot carry verbatim are sent
  RFC 2047-encoded (``=?UTF-8?B?...?=``) and decoded on the way back.
* Every SDK or network failure becomes :class:`StorageError` with a short
  reason from which both keys are scrubbed; a missing object becomes
  :class:`NotFoundError`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Object
from minio.error import MinioException, S3Error

from schemas.settings import StoreSettings, read_secret
from sohoa.errors import NotFoundError, StorageError
from storage.objectstore import CHUNK, ObjectInfo, sha256_file, validate_key

PART_SIZE = 16 * 1024 * 1024
"""Multipart part size: large scans go up in 16 MiB parts (the SDK switches to multipart itself)."""

DEFAULT_TYPE = "application/octet-stream"
META_PREFIX = "x-amz-meta-"
SHA256_META = "sha256"
"""User-metadata key holding our SHA-256; reserved, callers cannot set it."""

MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject"})
BUCKET_TAKEN_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})

_HEADER_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_PLAIN_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_ENCODED_VALUE = re.compile(r"=\?utf-8\?b\?([A-Za-z0-9+/=]*)\?=", re.IGNORECASE)


def make_http_client() -> urllib3.PoolManager:
    """A pool that gives up on an unreachable server in seconds (the SDK default waits minutes)."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5, read=60),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def encode_metadata(metadata: Mapping[str, str] | None, sha256: str) -> dict[str, str]:
    """User metadata as S3 headers: lowercased keys, HTTP-safe values, our hash added."""
    headers: dict[str, str] = {}
    for name, value in (metadata or {}).items():
        key = str(name).lower().removeprefix(META_PREFIX)
        if not _HEADER_TOKEN.fullmatch(key) or key == SHA256_META:
            raise StorageError(operation="put", reason=f"invalid or reserved metadata key {name!r}")
        headers[META_PREFIX + key] = _encode_value(str(value))
    headers[META_PREFIX + SHA256_META] = sha256
    return headers


def _encode_value(value: str) -> str:
    """Values HTTP would alter (non-ASCII, edge spaces, empty, RFC 2047-like) go base64-encoded."""
    if _PLAIN_VALUE.fullmatch(value) and not value.startswith("=?"):
        return value
    return "=?UTF-8?B?" + base64.b64encode(value.encode()).decode("ascii") + "?="


def decode_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    """User metadata from response headers: prefix stripped, keys lowercased, values decoded."""
    result: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key.startswith(META_PREFIX):
            result[key.removeprefix(META_PREFIX)] = _decode_value(value)
    return result


def _decode_value(value: str) -> str:
    """Undo :func:`_encode_value`; a value another tool wrote that merely looks encoded stays raw."""
    match = _ENCODED_VALUE.fullmatch(value)
    if not match:
        return value
    try:
        return base64.b64decode(match.group(1), validate=True).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are both ValueErrors
        return value


def short_reason(exc: BaseException) -> str:
    """One line about a failure, without urllib3's object reprs or stack noise."""
    if isinstance(exc, S3Error):
        return f"{exc.code}: {exc.message}"
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason is not None:
        exc = exc.reason
    text = str(exc)
    if text.startswith("<") and ">: " in text:
        text = text.split(">: ", 1)[1]
    return f"{type(exc).__name__}: {text}"[:300]


class HashingReader:
    """Hashes what the SDK actually reads, to prove the file did not change during upload."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.digest.update(data)
        return data


class S3ObjectStore:
    """Objects in one S3 bucket (MinIO, SeaweedFS, AWS...), created on first use if missing."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
    ) -> None:
        if not access_key or not secret_key:
            raise StorageError(operation="connect", reason="missing S3 access key or secret key")
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self._secrets = (access_key, secret_key)
        self._bucket_ready = False
        self._lock = threading.Lock()
        with self._translate("connect"):
            self._minio = Minio(
                endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region,
                http_client=make_http_client(),
            )

    @classmethod
    def from_settings(cls, store_settings: StoreSettings) -> S3ObjectStore:
        """Build the store from settings, reading keys from their values or secret files."""
        try:
            access_key = read_secret(store_settings.access_key, store_settings.access_key_file)
            secret_key = read_secret(store_settings.secret_key, store_settings.secret_key_file)
        except OSError as exc:
            reason = f"cannot read S3 credentials file {exc.filename}: {exc.strerror}"
            raise StorageError(operation="connect", reason=reason) from None
        return cls(
            store_settings.endpoint,
            access_key or "",
            secret_key or "",
            store_settings.bucket,
            secure=store_settings.secure,
            region=store_settings.region,
        )

    # -- plumbing ---------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove both keys from a message, whatever the server chose to echo."""
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    @contextmanager
    def _translate(self, operation: str, key: str | None = None) -> Iterator[None]:
        """Turn SDK/network failures into domain errors with secret-free reasons."""
        try:
            yield
        except S3Error as exc:
            if key is not None and exc.code in MISSING_CODES:
                raise NotFoundError(what="object", name=key) from None
            raise StorageError(operation=operation, reason=self._scrub(short_reason(exc))) from None
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise StorageError(operation=operation, reason=self._scrub(short_reason(exc))) from None

    def _client(self) -> Minio:
        """The SDK client, after making sure the bucket exists (checked once per instance)."""
        if not self._bucket_ready:
            with self._lock, self._translate("bucket"):
                if not self._bucket_ready:
                    self._ensure_bucket()
                    self._bucket_ready = True
        return self._minio

    def _ensure_bucket(self) -> None:
        if self._minio.bucket_exists(self.bucket):
            return
        try:
            self._minio.make_bucket(self.bucket, location=self.region)
        except S3Error as exc:
            if exc.code not in BUCKET_TAKEN_CODES:  # another process won the race: fine
                raise

    def _info(self, key: str, size: int, headers: Mapping[str, str]) -> ObjectInfo:
        metadata = decode_metadata(headers)
        sha256 = metadata.pop(SHA256_META, None) or self._hash_remote(key)
        lowered = {name.lower(): value for name, value in headers.items()}
        content_type = lowered.get("content-type") or DEFAULT_TYPE
        return ObjectInfo(key, size, sha256, content_type, metadata)

    def _hash_remote(self, key: str) -> str:
        """Hash an object written by another tool (no sha256 metadata) by streaming it."""
        digest = hashlib.sha256()
        with self._translate("stat", key):
            response = self._client().get_object(self.bucket, key)
            try:
                for chunk in response.stream(CHUNK):
                    digest.update(chunk)
            finally:
                response.close()
                response.release_conn()
        return digest.hexdigest()

    # -- writes -----------------------------------------------------------

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str = DEFAULT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload a file; it is hashed first (the hash travels in the request headers)."""
        key, path = validate_key(key), Path(path)
        with self._translate("put"):
            sha256 = sha256_file(path)
            size = path.stat().st_size
            headers = encode_metadata(metadata, sha256)
            with path.open("rb") as handle:
                reader = HashingReader(handle)
                self._client().put_object(
                    self.bucket,
                    key,
                    reader,  # type: ignore[arg-type]  # only read() is used
                    size,
                    content_type=content_type,
                    metadata=headers,
                    part_size=PART_SIZE,
                )
        if reader.digest.hexdigest() != sha256:
            self.delete(key)
            raise StorageError(operation="put", reason=f"{path.name} changed during upload")
        return self._verify_put(key, size, sha256)

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = DEFAULT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload bytes held in memory."""
        key = validate_key(key)
        sha256 = hashlib.sha256(data).hexdigest()
        headers = encode_metadata(metadata, sha256)
        with self._translate("put"):
            self._client().put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata=headers,
                part_size=PART_SIZE,
            )
        return self._verify_put(key, len(data), sha256)

    def _verify_put(self, key: str, size: int, sha256: str) -> ObjectInfo:
        """Read back what the server stored, so a truncated upload never passes silently."""
        info = self.stat(key)
        if info.size != size or info.sha256 != sha256:
            reason = f"{key} stored as {info.size} bytes, expected {size}"
            raise StorageError(operation="put", reason=reason)
        return info

    # -- reads ------------------------------------------------------------

    def get_bytes(self, key: str) -> bytes:
        """Return the whole object, checked against its stored SHA-256."""
        key = validate_key(key)
        with self._translate("get", key):
            response = self._client().get_object(self.bucket, key)
            try:
                data = response.read()
                expected = decode_metadata(response.headers).get(SHA256_META)
            finally:
                response.close()
                response.release_conn()
        if expected and hashlib.sha256(data).hexdigest() != expected:
            raise StorageError(operation="get", reason=f"{key} does not match its SHA-256")
        return data

    def download(self, key: str, dest: Path) -> ObjectInfo:
        """Stream the object to a temporary file beside ``dest``, check it, then rename."""
        key, dest = validate_key(key), Path(dest)
        with self._translate("download", key):
            response = self._client().get_object(self.bucket, key)
            try:
                headers = response.headers
                expected = decode_metadata(headers).get(SHA256_META)
                size, sha256 = _atomic_stream(dest, response.stream(CHUNK), expected)
            finally:
                response.close()
                response.release_conn()
        if expected is None:
            headers = {**headers, META_PREFIX + SHA256_META: sha256}
        return self._info(key, size, headers)

    def _head(self, key: str, operation: str) -> Object:
        with self._translate(operation, key):
            return self._client().stat_object(self.bucket, key)

    def stat(self, key: str) -> ObjectInfo:
        """Size, hash, type and metadata, from one HEAD request."""
        key = validate_key(key)
        obj = self._head(key, "stat")
        return self._info(key, obj.size or 0, obj.metadata or {})

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored (a HEAD request)."""
        try:
            self._head(validate_key(key), "exists")
        except NotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the object; S3 treats a missing key as success, and so do we."""
        key = validate_key(key)
        with self._translate("delete"):
            self._client().remove_object(self.bucket, key)

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys under ``prefix``, sorted (fetched in full first, to sort them)."""
        with self._translate("list"):
            found = self._client().list_objects(self.bucket, prefix=prefix or None, recursive=True)
            names = [obj.object_name for obj in found if obj.object_name and not obj.is_dir]
        yield from sorted(name for name in names if name.startswith(prefix))

    def describe(self) -> str:
        """Where the objects are, without credentials."""
        return f"s3://{self.bucket}@{self.endpoint}"


def _atomic_stream(dest: Path, chunks: Iterable[bytes], expected: str | None) -> tuple[int, str]:
    """Write chunks to ``dest`` via a temp file; refuse to publish bytes that fail their hash."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if expected and digest.hexdigest() != expected:
            raise StorageError(
                operation="download", reason=f"{dest.name} does not match its SHA-256"
            )
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()
