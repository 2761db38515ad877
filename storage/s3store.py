"""The S3/MinIO implementation of the object-store contract, through the ``minio`` SDK.

It honours the same contract as :class:`storage.localstore.LocalObjectStore`
(the same tests run on both). What maintainers should know:

* **Buckets.** The key's first segment (``originals``, ``archive``,
  ``derived``) selects a bucket (names in ``StoreSettings``); the object name
  inside it is the whole key, so a key printed by sohoa is the object's name
  and several areas may even share one bucket. Buckets are created on first
  use; the archive bucket with object lock (hence versioning) and a default
  retention rule, since lock cannot be added to a bucket later.
* **Checked puts.** The SDK already sends a per-request content hash (signed
  ``x-amz-content-sha256`` over HTTP, ``Content-MD5`` over HTTPS) that MinIO
  and AWS check. A single-request put also carries ``x-amz-checksum-sha256``
  of the whole object, which the server checks and echoes. After every put
  the server's ETag is compared with the MD5 (or multipart MD5-of-MD5s) of the
  bytes we sent, and the stored size and SHA-256 are read back. (SeaweedFS,
  the test server, ignores a wrong ``x-amz-content-sha256``: there only the
  whole-object checksum and the ETag comparison catch a corrupted upload.)
* The SHA-256 is also kept as user metadata (``x-amz-meta-sha256``), because
  ETags are not content hashes for multipart uploads; reads check it.
* S3 user metadata is US-ASCII only: values HTTP cannot carry verbatim are
  sent RFC 2047-encoded (``=?UTF-8?B?...?=``) and decoded on the way back.
* Every SDK or network failure becomes :class:`StorageError` with a short
  reason from which both keys are scrubbed; a missing object becomes
  :class:`NotFoundError`; a refused delete of a retained version
  :class:`ObjectLockedError`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, NoReturn

import certifi
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from minio.helpers import ObjectWriteResult, get_part_info
from minio.objectlockconfig import ObjectLockConfig

from schemas.settings import StoreSettings, read_secret
from sohoa.errors import (
    ChecksumMismatchError,
    ConfigError,
    NotFoundError,
    ObjectLockedError,
    StorageError,
)
from storage.objectstore import (
    AREAS,
    CHUNK,
    DEFAULT_TYPE,
    LOCKED_AREA,
    ObjectInfo,
    RetentionRule,
    area_of,
    check_metadata,
    sha256_file,
    validate_key,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
META_PREFIX = "x-amz-meta-"
SHA256_META = "sha256"
"""User-metadata key holding our SHA-256; reserved, callers cannot set it."""
CHECKSUM_HEADER = "x-amz-checksum-sha256"
RETAIN_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"

MISSING_CODES = frozenset({"NoSuchKey", "NoSuchObject", "NoSuchVersion", "NoSuchBucket"})
BUCKET_TAKEN_CODES = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
NO_LOCK_CODES = frozenset(
    {"ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"}
)

_HEADER_TOKEN = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_PLAIN_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?")
_ENCODED_VALUE = re.compile(r"=\?utf-8\?b\?([A-Za-z0-9+/=]*)\?=", re.IGNORECASE)
_MD5_ETAG = re.compile(r"[0-9a-f]{32}(-[0-9]+)?")


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


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class PartHasher:
    """Hashes what the SDK actually reads: SHA-256 of the whole, MD5 of each multipart part.

    The SHA-256 proves the source did not change during the upload; the part
    MD5s give the ETag an S3 server must report for these exact bytes.
    """

    def __init__(self, handle: BinaryIO, part_size: int) -> None:
        self._handle = handle
        self._part_size = part_size
        self.sha256 = hashlib.sha256()
        self._parts: list[bytes] = []
        self._part = hashlib.md5(usedforsecurity=False)  # S3's ETag algorithm
        self._in_part = 0

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size)
        self.sha256.update(data)
        view = memoryview(data)
        while view:
            take = min(len(view), self._part_size - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self._part_size:
                self._parts.append(self._part.digest())
                self._part, self._in_part = hashlib.md5(usedforsecurity=False), 0
        return data

    def etag(self, size: int) -> str:
        """The ETag of the bytes read, as S3 computes it for this size and part size."""
        _, part_count = get_part_info(size, self._part_size)
        parts = self._parts + ([self._part.digest()] if self._in_part or not self._parts else [])
        if part_count <= 1:
            return parts[0].hex()
        whole = hashlib.md5(b"".join(parts), usedforsecurity=False).hexdigest()
        return f"{whole}-{len(parts)}"


class S3ObjectStore:
    """Objects in three S3 buckets (MinIO, SeaweedFS, AWS...), one per key area."""

    def __init__(
        self,
        settings: StoreSettings,
        *,
        access_key: str,
        secret_key: str,
        http_client: urllib3.PoolManager | None = None,
    ) -> None:
        if not access_key or not secret_key:
            raise StorageError(operation="connect", reason="missing S3 access key or secret key")
        self.endpoint = settings.endpoint
        self.buckets = settings.buckets
        self.region = settings.region
        self.archive_lock = settings.archive_lock
        self.retention = RetentionRule.from_settings(settings)
        self.part_size = settings.part_size_mb * MIB
        self._secrets = (access_key, secret_key)
        self._ready: set[str] = set()
        self._lock = threading.Lock()
        with self._translate("connect"):
            self._minio = Minio(
                settings.endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=settings.secure,
                region=settings.region,
                http_client=http_client or make_http_client(),
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
        return cls(store_settings, access_key=access_key or "", secret_key=secret_key or "")

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.describe()!r})"

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

    def _route(self, key: str) -> tuple[Minio, str]:
        """The SDK client (bucket ready) and the bucket that holds ``key``."""
        area = area_of(key)
        if area not in self._ready:
            with self._lock, self._translate("bucket"):
                if area not in self._ready:
                    self._ensure_bucket(area)
                    self._ready.add(area)
        return self._minio, self.buckets[area]

    def _locate(self, key: str) -> tuple[Minio, str]:
        """The SDK client and the bucket for *reading* ``key``: a read never creates or
        reconfigures a bucket (a mistyped name must not make an empty locked bucket, and
        read-only credentials must be enough to verify the archive)."""
        return self._minio, self.buckets[area_of(key)]

    def _ensure_bucket(self, area: str) -> None:
        """Create the area's bucket if missing; check (or set) the archive's object lock."""
        bucket = self.buckets[area]
        protect = area == LOCKED_AREA and self.retention is not None
        if not self._minio.bucket_exists(bucket):
            try:
                self._minio.make_bucket(bucket, location=self.region, object_lock=protect)
                log.info("created bucket %s%s", bucket, " with object lock" if protect else "")
            except S3Error as exc:
                if exc.code not in BUCKET_TAKEN_CODES:  # another process won the race: fine
                    raise
        if protect and self.retention is not None:
            self._check_lock(bucket, self.retention)

    def _check_lock(self, bucket: str, rule: RetentionRule) -> None:
        """Make sure the archive bucket has object lock and a default retention rule."""
        try:
            config = self._minio.get_object_lock_config(bucket)
        except S3Error as exc:
            if exc.code not in NO_LOCK_CODES:
                raise
            self._unprotected(bucket)
            return
        wanted = ObjectLockConfig(rule.mode, rule.period, rule.unit.title())
        if config.mode is None:
            self._minio.set_object_lock_config(bucket, wanted)
            log.info(
                "bucket %s: default retention %s %s %s", bucket, rule.mode, rule.period, rule.unit
            )
        elif (config.mode, config.duration, config.duration_unit) != (
            wanted.mode,
            wanted.duration,
            wanted.duration_unit,
        ):
            log.warning(
                "bucket %s keeps its own default retention (%s %s %s), not the configured "
                "%s %s %s; change it with `mc retention set --default` if the settings are right",
                bucket,
                config.mode,
                config.duration,
                config.duration_unit,
                rule.mode,
                rule.period,
                rule.unit,
            )

    def _unprotected(self, bucket: str) -> None:
        """An existing archive bucket without object lock: stop, or warn when told to."""
        reason = (
            f"archive bucket {bucket!r} has no object lock, so archived PDFs could be "
            "overwritten or deleted. Object lock can only be enabled when a bucket is created: "
            "create one with `mc mb --with-lock`, copy the objects into it (`mc mirror`), and "
            "set SOHOA_STORE__BUCKET_ARCHIVE to its name; or set SOHOA_STORE__ARCHIVE_LOCK=warn "
            "to archive without this protection"
        )
        if self.archive_lock == "required":
            raise ConfigError(reason=reason)
        log.warning("%s", reason)

    def _info(self, key: str, size: int, headers: Mapping[str, str]) -> ObjectInfo:
        metadata = decode_metadata(headers)
        sha256 = metadata.pop(SHA256_META, None) or self._hash_remote(key)
        lowered = _lower(headers)
        version = lowered.get("x-amz-version-id")
        until = lowered.get(RETAIN_HEADER)
        return ObjectInfo(
            key=key,
            size=size,
            sha256=sha256,
            content_type=lowered.get("content-type") or DEFAULT_TYPE,
            metadata=metadata,
            version_id=version if version and version != "null" else None,
            retain_until=datetime.fromisoformat(until) if until else None,
        )

    def _hash_remote(self, key: str) -> str:
        """Hash an object written by another tool (no sha256 metadata) by streaming it."""
        digest = hashlib.sha256()
        client, bucket = self._route(key)
        with self._translate("stat", key):
            response = client.get_object(bucket, key)
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
        meta = check_metadata(metadata)
        with self._translate("put"):
            sha256 = sha256_file(path)
            size = path.stat().st_size
            with path.open("rb") as handle:
                reader = PartHasher(handle, self.part_size)
                result = self._upload(key, reader, size, sha256, content_type, meta)
        if reader.sha256.hexdigest() != sha256:
            self._discard(key, result.version_id)
            raise StorageError(operation="put", reason=f"{path.name} changed during upload")
        return self._check_put(key, result, size, sha256, reader.etag(size))

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = DEFAULT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload bytes held in memory."""
        key, meta = validate_key(key), check_metadata(metadata)
        sha256 = hashlib.sha256(data).hexdigest()
        reader = PartHasher(io.BytesIO(data), self.part_size)
        with self._translate("put"):
            result = self._upload(key, reader, len(data), sha256, content_type, meta)
        return self._check_put(key, result, len(data), sha256, reader.etag(len(data)))

    def _upload(
        self,
        key: str,
        reader: PartHasher,
        size: int,
        sha256: str,
        content_type: str,
        metadata: Mapping[str, str],
    ) -> ObjectWriteResult:
        """One PUT up to ``part_size`` (with the object's SHA-256 for the server to check),
        multipart above it (each part checked by the SDK's per-request hash)."""
        headers = encode_metadata(metadata, sha256)
        if size <= self.part_size:  # the SDK passes x-amz-* keys through as request headers
            headers[CHECKSUM_HEADER] = base64.b64encode(bytes.fromhex(sha256)).decode()
        client, bucket = self._route(key)
        return client.put_object(
            bucket,
            key,
            reader,  # type: ignore[arg-type]  # only read() is used
            size,
            content_type=content_type,
            metadata=headers,  # type: ignore[arg-type]
            part_size=self.part_size,
        )

    def _check_put(
        self, key: str, result: ObjectWriteResult, size: int, sha256: str, etag: str
    ) -> ObjectInfo:
        """Compare what the server says it stored with what we sent; read the info back."""
        headers = _lower(result.http_headers or {})
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        problems = []
        if headers.get(CHECKSUM_HEADER) not in (None, checksum):
            problems.append("SHA-256 checksum differs")
        encrypted = any(name.startswith("x-amz-server-side-encryption") for name in headers)
        if not encrypted and _MD5_ETAG.fullmatch(result.etag or "") and result.etag != etag:
            problems.append(f"ETag {result.etag} instead of {etag}")
        if problems:
            self._discard(key, result.version_id)
            reason = f"{key}: the server stored other bytes than sent ({'; '.join(problems)})"
            raise StorageError(operation="put", reason=reason)
        info = self.stat(key, version_id=result.version_id)
        if info.size != size or info.sha256 != sha256:
            reason = f"{key} stored as {info.size} bytes, expected {size}"
            raise StorageError(operation="put", reason=reason)
        return info

    def _discard(self, key: str, version_id: str | None) -> None:
        """Remove a bad upload; a retained archive version cannot be, and a retry supersedes it."""
        client, bucket = self._route(key)
        try:
            client.remove_object(bucket, key, version_id=version_id)
        except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            log.warning("could not remove bad upload %s: %s", key, self._scrub(short_reason(exc)))

    # -- reads ------------------------------------------------------------

    def get_bytes(self, key: str, *, version_id: str | None = None) -> bytes:
        """Return the whole object (or one version), checked against its stored SHA-256."""
        key = validate_key(key)
        client, bucket = self._locate(key)
        with self._translate("get", key):
            response = client.get_object(bucket, key, version_id=version_id)
            try:
                data = response.read()
                expected = decode_metadata(response.headers).get(SHA256_META)
            finally:
                response.close()
                response.release_conn()
        if expected and hashlib.sha256(data).hexdigest() != expected:
            _refuse(key, "get", len(data), headers=response.headers)
        return data

    def download(self, key: str, dest: Path) -> ObjectInfo:
        """Stream the object to a temporary file beside ``dest``, check it, then rename."""
        key, dest = validate_key(key), Path(dest)
        client, bucket = self._locate(key)
        with self._translate("download", key):
            response = client.get_object(bucket, key)
            try:
                headers = response.headers
                expected = decode_metadata(headers).get(SHA256_META)
                size, sha256 = _atomic_stream(dest, response.stream(CHUNK), expected, headers)
            finally:
                response.close()
                response.release_conn()
        if expected is None:
            headers = {**headers, META_PREFIX + SHA256_META: sha256}
        return self._info(key, size, headers)

    def stat(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """Size, hash, type, metadata, version and retention, from one HEAD request."""
        key = validate_key(key)
        client, bucket = self._locate(key)
        with self._translate("stat", key):
            obj = client.stat_object(bucket, key, version_id=version_id)
        return self._info(key, obj.size or 0, obj.metadata or {})

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored (a HEAD request)."""
        key = validate_key(key)
        client, bucket = self._locate(key)
        try:
            with self._translate("exists", key):
                client.stat_object(bucket, key)
        except NotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove the object; S3 treats a missing key as success, and so do we.

        In the protected archive every version is removed, oldest first (so an
        older version never resurfaces as current); the server refuses any
        version still under retention, which becomes :class:`ObjectLockedError`.
        """
        key = validate_key(key)
        client, bucket = self._route(key)
        if area_of(key) != LOCKED_AREA or self.retention is None:
            with self._translate("delete"):
                client.remove_object(bucket, key)
            return
        with self._translate("delete"):
            found = client.list_objects(bucket, prefix=key, include_version=True)
            versions = [obj.version_id for obj in found if obj.object_name == key]
            for version_id in reversed(versions):  # S3 lists a key's newest version first
                try:
                    client.remove_object(bucket, key, version_id=version_id)
                except S3Error:
                    if until := self._held_until(key, version_id):
                        raise ObjectLockedError(name=key, until=until) from None
                    raise

    def _held_until(self, key: str, version_id: str | None) -> str | None:
        """Why a version may not be deleted yet: its retention end, or its legal hold."""
        client, bucket = self._route(key)
        with suppress(MinioException, urllib3.exceptions.HTTPError, OSError, ValueError):
            headers = _lower(client.stat_object(bucket, key, version_id=version_id).metadata or {})
            until = headers.get(RETAIN_HEADER)
            if until and datetime.fromisoformat(until) > datetime.now(UTC):
                return until
            if headers.get(HOLD_HEADER, "").upper() == "ON":
                return "legal hold is lifted"
        return None

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys under ``prefix``, sorted (fetched in full first, to sort them)."""
        names: set[str] = set()
        for area in AREAS:
            head = f"{area}/"
            if not (head.startswith(prefix) or prefix.startswith(head)):
                continue
            bucket = self.buckets[area]
            with self._translate("list"):
                if area not in self._ready and not self._minio.bucket_exists(bucket):
                    continue  # listing never creates a bucket
                found = self._minio.list_objects(
                    bucket, prefix=max(head, prefix, key=len), recursive=True
                )
                names.update(obj.object_name for obj in found if obj.object_name and not obj.is_dir)
        yield from sorted(name for name in names if name.startswith(prefix))

    def describe(self) -> str:
        """Where the objects are, without credentials."""
        return f"s3://{','.join(dict.fromkeys(self.buckets.values()))}@{self.endpoint}"

    def location(self, key: str) -> str:
        """Where one object is, for people (no request is made)."""
        return f"s3://{self.buckets[area_of(key)]}@{self.endpoint}/{key}"


def _refuse(name: str, operation: str, size: int, *, headers: Mapping[str, str]) -> NoReturn:
    """Raise for bytes that fail their recorded SHA-256: a short transfer is an outage
    (``StorageError``), whole bytes that differ are a changed object (``ChecksumMismatchError``)."""
    length = headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) != size:
        raise StorageError(
            operation=operation, reason=f"{name}: transfer ended after {size} of {length} bytes"
        )
    raise ChecksumMismatchError(operation=operation, reason=f"{name} does not match its SHA-256")


def _atomic_stream(
    dest: Path, chunks: Iterable[bytes], expected: str | None, headers: Mapping[str, str]
) -> tuple[int, str]:
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
            _refuse(dest.name, "download", size, headers=headers)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size, digest.hexdigest()
