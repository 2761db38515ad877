"""The local-directory object store: embedded mode's implementation of the contract.

It keeps the guarantees of :mod:`storage.objectstore` on a plain file system: atomic
writes, a sidecar tree for metadata, and write-once archive versions when a retention
rule is set (refused, not prevented, against a person with file-system access).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sohoa.errors import NotFoundError, ObjectLockedError, StorageError
from storage.objectstore import (
    DEFAULT_TYPE,
    LOCKED_AREA,
    ObjectInfo,
    RetentionRule,
    area_of,
    atomic_copy,
    atomic_write_bytes,
    check_metadata,
    sha256_file,
    validate_key,
)

_VERSION_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
"""What a local archive version id looks like (we make them: uuid4 hex)."""


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

    @_disk_errors("delete")
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
        """Keys under ``prefix``, walking only the folder the prefix names (the intake sweep
        lists ``originals/_intake/`` every few minutes, not the whole archive)."""
        folder = self.root / prefix.rpartition("/")[0]
        if not folder.is_dir():
            return
        keys = []
        for path in folder.rglob("*"):
            rel = path.relative_to(self.root).as_posix()
            hidden = rel.startswith(".") or path.name.startswith(".")
            if path.is_file() and not hidden and rel.startswith(prefix):
                keys.append(rel)
        yield from sorted(keys)

    def describe(self) -> str:
        return str(self.root)

    def location(self, key: str) -> str:
        return str(self._path(key))
