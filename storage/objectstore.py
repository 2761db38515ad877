"""The object-store contract: keys, areas, metadata rules, retention, and atomic file writes.

The archive lives in an object store. Two implementations share one contract
(the same tests run on both): :class:`storage.localstore.LocalObjectStore` for embedded mode and
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

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sohoa.errors import NotFoundError, StorageError
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


def put_file_once(
    store: ObjectStore,
    key: str,
    path: Path,
    *,
    content_type: str,
    metadata: Mapping[str, str],
) -> ObjectInfo:
    """Upload ``path`` under ``key`` unless the key's current version already holds these bytes.

    A failed later step (the catalog unreachable, a killed worker) makes Prefect
    retry the commit, or the nightly run commit the batch again; in the archive
    each upload adds a version retained for years, so re-uploading identical
    bytes would leave duplicate retained copies. The hash, not the key's mere
    existence, decides: different content (a re-OCR'd record) is still uploaded.
    One ``stat`` request answers both "is it there" and "with which hash".
    """
    try:
        current = store.stat(key)
    except NotFoundError:
        current = None
    if current is not None and current.sha256 == sha256_file(path):
        return current
    return store.put_file(key, path, content_type=content_type, metadata=metadata)


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
