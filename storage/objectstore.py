"""The object-store interface and the local-directory implementation.

The archive lives in an object store. Two implementations share one contract
(the same tests run on both): :class:`LocalObjectStore` for embedded mode and
:class:`storage.s3store.S3ObjectStore` for MinIO/S3. Keys are ``/``-separated,
relative, never contain ``..``, and start with an *area*: ``originals/``,
``archive/`` or ``derived/``. On S3 each area is its own bucket; locally each
is a folder under the root.

The archive area is write-once: with a retention rule, a new put keeps the
previous version and no version can be deleted before its retention ends (S3
object lock; emulated by the local store, which can refuse but not prevent a
person with file-system access).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from sohoa.errors import NotFoundError, ObjectLockedError, StorageError
from sohoa.logmask import mask_personal_data

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
DEFAULT_TYPE = "application/octet-stream"

AREAS = ("originals", "archive", "derived")
"""First key segment of every object; each area is one S3 bucket (names in ``StoreSettings``)."""
LOCKED_AREA = "archive"
"""The area under versioning and object lock: signed PDFs and their manifests."""

METADATA_KEYS = frozenset({"dossier", "kind", "record", "batch", "unit"})
"""The only user-metadata keys accepted: identifiers of the record, never personal data.

Object metadata is readable by anyone who may list a bucket and is copied
into server logs and replication targets, so names, ID numbers, addresses or
phone numbers must never go there; an allow-list is the only guard that
also stops a field someone adds later.
"""
ID_KEYS = frozenset({"record", "batch"})
"""Metadata keys whose values are hex ids (checked by shape, not by the personal-data masks)."""
_HEX_ID = re.compile(r"[0-9a-f]{8,64}")
_VERSION_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
MAX_METADATA_VALUE = 256


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one object."""

    key: str
    """The object's key."""
    size: int
    """Size in bytes."""
    sha256: str
    """Hex SHA-256 of the content, computed by us at put time."""
    content_type: str = DEFAULT_TYPE
    """MIME type given at put time."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Small string metadata (dossier code, kind; never personal data)."""
    version_id: str | None = None
    """The version this info describes, in a versioned area (``None`` elsewhere)."""
    retain_until: datetime | None = None
    """End of this version's retention (object lock); ``None`` when it has none."""


@runtime_checkable
class ObjectStore(Protocol):
    """What sohoa needs from object storage."""

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str = DEFAULT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store the file at ``path`` under ``key`` and return its info.

        Outside the archive this replaces the object; in the archive it adds
        a new version and the previous one stays, retained.
        """
        ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = DEFAULT_TYPE,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` (as :meth:`put_file`) and return its info."""
        ...

    def get_bytes(self, key: str, *, version_id: str | None = None) -> bytes:
        """Return the object (or one version); raise :class:`NotFoundError` if missing."""
        ...

    def download(self, key: str, dest: Path) -> ObjectInfo:
        """Write the object to ``dest`` atomically; raise :class:`NotFoundError` if missing."""
        ...

    def stat(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """Return the object's info; raise :class:`NotFoundError` if it is missing."""
        ...

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object for good; missing objects are not an error.

        Raises:
            ObjectLockedError: a version of an archive object is still retained.
        """
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys under ``prefix``, sorted."""
        ...

    def describe(self) -> str:
        """A human-readable location, e.g. a directory or ``s3://buckets@host``, without secrets."""
        ...

    def location(self, key: str) -> str:
        """Where one object is, for people: a path or ``s3://bucket@host/key``."""
        ...


def validate_key(key: str) -> str:
    """Reject keys that could escape the store, are ambiguous, or name no area."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(operation="key", reason=f"invalid object key {key!r}")
    if len(parts) < 2 or parts[0] not in AREAS:
        areas = ", ".join(f"{a}/" for a in AREAS)
        raise StorageError(operation="key", reason=f"object key {key!r} must start with {areas}")
    return key


def area_of(key: str) -> str:
    """The area (first segment) of a valid key, which selects its bucket."""
    return validate_key(key).split("/", 1)[0]


def check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Object metadata with lower-case keys, without anything that could be personal data.

    A key outside :data:`METADATA_KEYS` is a programming error and is refused.
    A value that looks like personal data (an ID or phone number, an e-mail
    address) or is not a plain identifier is dropped with a warning, so one
    odd OCR reading cannot stop a batch. Neither message echoes the value: it
    may be exactly the personal data that must not reach a log.
    """
    result: dict[str, str] = {}
    for name, raw in (metadata or {}).items():
        key, value = str(name).lower(), str(raw)
        if key not in METADATA_KEYS:
            allowed = ", ".join(sorted(METADATA_KEYS))
            reason = f"metadata key {name!r} is not allowed (only {allowed}; no personal data)"
            raise StorageError(operation="put", reason=reason)
        if key in ID_KEYS:
            suspicious = bool(value) and not _HEX_ID.fullmatch(value)
        else:
            suspicious = mask_personal_data(value) != value or len(value) > MAX_METADATA_VALUE
        if suspicious:
            log.warning("object metadata %r dropped: it looks like personal data", key)
            continue
        result[key] = value
    return result


@dataclass(frozen=True)
class RetentionRule:
    """How long each archived version is kept (S3 default retention of the archive bucket)."""

    mode: str
    """``GOVERNANCE`` or ``COMPLIANCE``."""
    period: int
    """Length of the retention, in ``unit``."""
    unit: str
    """``days`` or ``years``."""

    @classmethod
    def from_settings(cls, store: Any) -> RetentionRule | None:
        """The rule of a ``StoreSettings``; ``None`` when the archive lock is off."""
        if store.archive_lock == "off":
            return None
        return cls(store.retention_mode, store.retention_period, store.retention_unit)

    def until(self, start: datetime) -> datetime:
        """When a version written at ``start`` may be deleted (calendar years, as S3 counts)."""
        if self.unit == "days":
            return start + timedelta(days=self.period)
        try:
            return start.replace(year=start.year + self.period)
        except ValueError:  # 29 February into a common year
            return start.replace(year=start.year + self.period, day=28)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, streamed so memory does not grow with size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(dest: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``dest`` via a temporary file and ``os.replace``.

    Readers see either the old file or the complete new one. ``mode`` sets the
    permissions before any byte is written (e.g. ``0o600`` for key material).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_copy(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` via a temporary file and ``os.replace``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _sidecar(path: Path) -> dict[str, Any]:
    """A local object's info file, ``{}`` when there is none.

    Raises:
        StorageError: the file cannot be read or is not JSON (a disk fault or a torn
            write): a finding for ``verify``, never a crash.
    """
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise StorageError(operation="read info", reason=f"{path.name}: {exc}") from exc


def _disk_errors(operation: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Turn a disk fault during a local read into the store's own errors.

    A file removed between the lookup and the read is ``NotFoundError``; any other
    ``OSError`` (an I/O error, permissions) is ``StorageError``, as the S3 store reports.
    """

    def decorate(method: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(method)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return method(*args, **kwargs)
            except FileNotFoundError as exc:
                raise NotFoundError(what="object", name=str(args[1])) from exc
            except OSError as exc:
                raise StorageError(operation=operation, reason=str(exc)) from exc

        return wrapper

    return decorate


class LocalObjectStore:
    """Objects as files under a root directory, one folder per area; metadata in a sidecar tree.

    Writes are atomic (temporary file + rename), so a crash never leaves a
    half-written object visible under its key. With a retention rule the
    archive area keeps every replaced version under ``.versions/`` and refuses
    to delete a version before its retention ends, like S3 object lock.
    """

    META_DIR = ".meta"
    VERSIONS_DIR = ".versions"

    def __init__(self, root: Path, *, retention: RetentionRule | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.retention = retention

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self.root / self.META_DIR / f"{validate_key(key)}.json"

    def _versions(self, key: str) -> Path:
        return self.root / self.VERSIONS_DIR / validate_key(key)

    def _locked(self, key: str) -> bool:
        return self.retention is not None and area_of(key) == LOCKED_AREA

    def _read_meta(self, key: str) -> dict[str, Any]:
        return _sidecar(self._meta_path(key))

    # -- writes -----------------------------------------------------------

    def put_file(self, key, path, *, content_type=DEFAULT_TYPE, metadata=None) -> ObjectInfo:
        return self._put(key, lambda dest: atomic_copy(Path(path), dest), content_type, metadata)

    def put_bytes(self, key, data, *, content_type=DEFAULT_TYPE, metadata=None) -> ObjectInfo:
        return self._put(key, lambda dest: atomic_write_bytes(dest, data), content_type, metadata)

    def _put(
        self,
        key: str,
        write: Callable[[Path], None],
        content_type: str,
        metadata: Mapping[str, str] | None,
    ) -> ObjectInfo:
        """Stage the new bytes beside the key, keep the old version if retained, then rename."""
        dest, meta = self._path(key), check_metadata(metadata)
        staged = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.new")
        try:
            write(staged)
            if self._locked(key) and dest.is_file():
                self._keep_version(key, dest)
            os.replace(staged, dest)
        except OSError as exc:
            raise StorageError(operation="put", reason=str(exc)) from exc
        finally:
            with contextlib.suppress(OSError):  # e.g. the key's parent is a file: keep the cause
                staged.unlink(missing_ok=True)
        return self._write_meta(key, dest, content_type, meta)

    def _keep_version(self, key: str, current: Path) -> None:
        """Copy the current version and its info under ``.versions/<key>/<version id>``."""
        meta = self._read_meta(key)
        version_id = meta.get("version_id") or "null"
        folder = self._versions(key)
        atomic_copy(current, folder / version_id)
        atomic_write_bytes(folder / f"{version_id}.json", json.dumps(meta).encode())

    def _write_meta(self, key, dest, content_type, metadata) -> ObjectInfo:
        locked = self._locked(key)
        info = ObjectInfo(
            key=key,
            size=dest.stat().st_size,
            sha256=sha256_file(dest),
            content_type=content_type,
            metadata=metadata,
            version_id=uuid.uuid4().hex if locked else None,
            retain_until=self.retention.until(_now()) if locked and self.retention else None,
        )
        record = {
            "size": info.size,
            "sha256": info.sha256,
            "content_type": info.content_type,
            "metadata": dict(info.metadata),
            "version_id": info.version_id,
            "retain_until": info.retain_until.isoformat() if info.retain_until else None,
        }
        atomic_write_bytes(self._meta_path(key), json.dumps(record).encode())
        return info

    # -- reads ------------------------------------------------------------

    def _locate(self, key: str, version_id: str | None) -> tuple[Path, dict[str, Any]]:
        """The file and info of the current object or of one kept version."""
        path = self._path(key)
        meta = self._read_meta(key) if path.is_file() else {}
        if path.is_file() and version_id in (None, meta.get("version_id")):
            return path, meta
        if version_id is None or not _VERSION_ID.fullmatch(version_id):
            raise NotFoundError(what="object", name=key)
        kept = self._versions(key) / version_id
        if not kept.is_file():
            raise NotFoundError(what="object", name=f"{key} (version {version_id})")
        return kept, _sidecar(kept.with_name(f"{version_id}.json"))

    def _info(self, key: str, path: Path, meta: Mapping[str, Any]) -> ObjectInfo:
        size = path.stat().st_size
        known = meta.get("sha256") if meta.get("size") == size else None
        until = meta.get("retain_until")
        return ObjectInfo(
            key=key,
            size=size,
            sha256=known or sha256_file(path),
            content_type=meta.get("content_type", DEFAULT_TYPE),
            metadata=meta.get("metadata", {}),
            version_id=meta.get("version_id"),
            retain_until=datetime.fromisoformat(until) if until else None,
        )

    @_disk_errors("get")
    def get_bytes(self, key: str, *, version_id: str | None = None) -> bytes:
        path, _ = self._locate(key, version_id)
        return path.read_bytes()

    @_disk_errors("download")
    def download(self, key: str, dest: Path) -> ObjectInfo:
        path, meta = self._locate(key, None)
        atomic_copy(path, Path(dest))
        return self._info(key, path, meta)

    @_disk_errors("stat")
    def stat(self, key: str, *, version_id: str | None = None) -> ObjectInfo:
        path, meta = self._locate(key, version_id)
        return self._info(key, path, meta)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the object and its kept versions, unless one of them is still retained."""
        path = self._path(key)
        if self._locked(key) and (until := self._retained_until(key)):
            raise ObjectLockedError(name=key, until=until.isoformat())
        path.unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)
        shutil.rmtree(self._versions(key), ignore_errors=True)

    def _retained_until(self, key: str) -> datetime | None:
        """The latest retention end still in the future among all versions of ``key``."""
        metas = [self._read_meta(key)] if self._path(key).is_file() else []
        folder = self._versions(key)
        if folder.is_dir():
            metas += [_sidecar(p) for p in folder.glob("*.json")]
        ends = [datetime.fromisoformat(m["retain_until"]) for m in metas if m.get("retain_until")]
        latest = max(ends, default=None)
        return latest if latest and latest > datetime.now(UTC) else None

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            hidden = rel.startswith(".") or path.name.startswith(".")
            if path.is_file() and not hidden and rel.startswith(prefix):
                keys.append(rel)
        yield from sorted(keys)

    def describe(self) -> str:
        return str(self.root)

    def location(self, key: str) -> str:
        return str(self._path(key))


def open_store(settings) -> ObjectStore:
    """Build the store selected by ``settings.store.backend``."""
    if settings.store.backend == "s3":
        from storage.s3store import S3ObjectStore

        return S3ObjectStore.from_settings(settings.store)
    retention = RetentionRule.from_settings(settings.store)
    return LocalObjectStore(settings.local_store_root, retention=retention)
