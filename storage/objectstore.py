"""The object-store interface and the local-directory implementation.

The archive lives in an object store. Two implementations share one contract
(the same tests run on both): :class:`LocalObjectStore` for embedded mode and
:class:`storage.s3store.S3ObjectStore` for MinIO/S3. Keys are ``/``-separated,
relative, and never contain ``..``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from sohoa.errors import NotFoundError, StorageError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about one object."""

    key: str
    """The object's key."""
    size: int
    """Size in bytes."""
    sha256: str
    """Hex SHA-256 of the content, computed by us at put time."""
    content_type: str = "application/octet-stream"
    """MIME type given at put time."""
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Small string metadata (dossier code, kind; never personal data)."""


@runtime_checkable
class ObjectStore(Protocol):
    """What sohoa needs from object storage."""

    def put_file(
        self,
        key: str,
        path: Path,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store the file at ``path`` under ``key`` (replacing it) and return its info."""
        ...

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str = "application/octet-stream",
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` (replacing it) and return its info."""
        ...

    def get_bytes(self, key: str) -> bytes:
        """Return the whole object; raise :class:`NotFoundError` if it is missing."""
        ...

    def download(self, key: str, dest: Path) -> ObjectInfo:
        """Write the object to ``dest`` atomically; raise :class:`NotFoundError` if missing."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """Return the object's info; raise :class:`NotFoundError` if it is missing."""
        ...

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; missing objects are not an error."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys under ``prefix``, sorted."""
        ...

    def describe(self) -> str:
        """A human-readable location, e.g. a directory or ``s3://bucket``, without secrets."""
        ...


def validate_key(key: str) -> str:
    """Reject keys that could escape the store or are ambiguous."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(operation="key", reason=f"invalid object key {key!r}")
    return key


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


class LocalObjectStore:
    """Objects as files under a root directory; metadata in a hidden sidecar tree.

    Writes are atomic (temporary file + rename), so a crash never leaves a
    half-written object visible under its key.
    """

    META_DIR = ".meta"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _meta_path(self, key: str) -> Path:
        return self.root / self.META_DIR / f"{validate_key(key)}.json"

    def put_file(self, key, path, *, content_type="application/octet-stream", metadata=None):
        dest = self._path(key)
        try:
            atomic_copy(Path(path), dest)
        except OSError as exc:
            raise StorageError(operation="put", reason=str(exc)) from exc
        return self._write_meta(key, dest, content_type, metadata)

    def put_bytes(self, key, data, *, content_type="application/octet-stream", metadata=None):
        dest = self._path(key)
        try:
            atomic_write_bytes(dest, data)
        except OSError as exc:
            raise StorageError(operation="put", reason=str(exc)) from exc
        return self._write_meta(key, dest, content_type, metadata)

    def _write_meta(self, key, dest, content_type, metadata) -> ObjectInfo:
        info = ObjectInfo(
            key=key,
            size=dest.stat().st_size,
            sha256=sha256_file(dest),
            content_type=content_type,
            metadata=dict(metadata or {}),
        )
        record = {
            "size": info.size,
            "sha256": info.sha256,
            "content_type": info.content_type,
            "metadata": dict(info.metadata),
        }
        atomic_write_bytes(self._meta_path(key), json.dumps(record).encode())
        return info

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(what="object", name=key)
        return path.read_bytes()

    def download(self, key: str, dest: Path) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(what="object", name=key)
        atomic_copy(path, Path(dest))
        return self.stat(key)

    def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(what="object", name=key)
        meta_path = self._meta_path(key)
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        return ObjectInfo(
            key=key,
            size=path.stat().st_size,
            sha256=meta.get("sha256") or sha256_file(path),
            content_type=meta.get("content_type", "application/octet-stream"),
            metadata=meta.get("metadata", {}),
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        self._meta_path(key).unlink(missing_ok=True)

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = []
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            hidden = rel.startswith(self.META_DIR + "/") or path.name.startswith(".")
            if path.is_file() and not hidden and rel.startswith(prefix):
                keys.append(rel)
        yield from sorted(keys)

    def describe(self) -> str:
        return str(self.root)


def open_store(settings) -> ObjectStore:
    """Build the store selected by ``settings.store.backend``."""
    if settings.store.backend == "s3":
        from storage.s3store import S3ObjectStore

        return S3ObjectStore.from_settings(settings.store)
    return LocalObjectStore(settings.local_store_root)
