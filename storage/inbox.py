"""Receive uploads into the inbox, and move rejected batches to quarantine.

The user's files are copied (never moved or changed) into
``inbox/<batch_id>/`` before any processing, so a crash at any later point
leaves the originals in one known place. A batch leaves the inbox only after
its archive objects and catalog row are committed (:func:`release`), or when it
is rejected (:func:`quarantine`), which keeps the files with a reason beside them.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from ocr.pages import detect_format
from schemas.models import SourceFile
from schemas.settings import Kind, Settings
from sohoa.errors import BadInputError, NotFoundError, SohoaError
from storage.objectstore import atomic_copy, atomic_write_bytes, sha256_file

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
REASON_FILE = "reason.txt"
BATCH_FILE = "batch.json"


@dataclass(frozen=True)
class ReceivedBatch:
    """A batch whose originals are safely in the inbox.

    The one type for a batch in the inbox, whoever holds it: :func:`receive` makes
    it, ``digitise_batch`` works on it, and the nightly run and the web's job runner
    list and claim it (:mod:`storage.waiting`, which also fills ``attempts``).
    """

    batch_id: str
    """Content hash of the files (in order) and the options: the same upload gives the same id."""
    folder: Path
    """``inbox/<batch_id>``."""
    files: tuple[Path, ...]
    """The inbox copies, in upload order."""
    sources: tuple[SourceFile, ...]
    """What was received, with hashes; ``format`` is filled by :func:`classify`."""
    kind: Kind
    unit: str
    dossier_code: str | None
    received_at: datetime
    attempts: int = 0
    """Nightly attempts so far (:mod:`storage.waiting` reads them from ``nightly.json``)."""
    last_error: str | None = None
    """Type of the error that ended the last nightly attempt, if one failed."""

    @property
    def names(self) -> tuple[str, ...]:
        """The names the user gave the files, in upload order (recorded in the manifest)."""
        return tuple(source.name for source in self.sources)


def safe_name(name: str, *, fallback: str = "file") -> str:
    """A file or key component with only ``[A-Za-z0-9._-]`` characters."""
    cleaned = _SAFE.sub("_", name).strip("._") or fallback
    return cleaned[:120]


def batch_id_for(hashes: list[str], *, kind: str, unit: str, dossier_code: str | None) -> str:
    """Stable id from the files' hashes in order plus the options that define the record."""
    seed = "\n".join([*hashes, f"kind={kind}", f"unit={unit}", f"dossier={dossier_code or ''}"])
    return hashlib.sha256(seed.encode()).hexdigest()[:20]


def receive(
    paths: list[Path],
    settings: Settings,
    *,
    kind: Kind,
    unit: str,
    dossier_code: str | None,
    received_at: datetime | None = None,
    hashes: list[str] | None = None,
) -> ReceivedBatch:
    """Copy ``paths`` into a new (or the existing) inbox folder for their batch.

    ``received_at``: when the batch was first received elsewhere (the store's intake),
    which places its original keys; default now, or the folder's first receipt.
    ``hashes``: the files' SHA-256, when the caller has just checked them (originals
    downloaded from the intake), so they are not read a second time.
    """
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise NotFoundError(what="file", name=str(missing[0]))
    if hashes is None:
        hashes = [sha256_file(Path(p)) for p in paths]
    batch_id = batch_id_for(hashes, kind=kind, unit=unit, dossier_code=dossier_code)
    folder = settings.inbox_dir / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    copies, sources = [], []
    for number, (path, digest) in enumerate(zip(paths, hashes, strict=True)):
        path = Path(path)
        dest = folder / f"{number:03d}-{safe_name(path.name)}"
        if not dest.exists() or sha256_file(dest) != digest:
            atomic_copy(path, dest)
        copies.append(dest)
        sources.append(
            SourceFile(name=path.name, sha256=digest, size=dest.stat().st_size, format="pdf")
        )
    batch = ReceivedBatch(
        batch_id,
        folder,
        tuple(copies),
        tuple(sources),
        kind,
        unit,
        dossier_code,
        _received_at(folder, received_at),
    )
    _write_batch_file(batch)
    return batch


def _received_at(folder: Path, given: datetime | None) -> datetime:
    """Keep the first receipt time across retries, so object keys stay stable."""
    if given is not None:
        return given
    if (folder / BATCH_FILE).is_file():
        return read_batch_file(folder).received_at
    return datetime.now(UTC)


def read_batch_file(folder: Path) -> ReceivedBatch:
    """The batch ``folder`` holds, as :func:`_write_batch_file` recorded it (the one reader).

    Raises:
        OSError, ValueError, KeyError, TypeError: the file is missing or not a batch record.
    """
    record = json.loads((folder / BATCH_FILE).read_text(encoding="utf-8"))
    return ReceivedBatch(
        batch_id=str(record["batch_id"]),
        folder=folder,
        files=tuple(folder / plain_name(name) for name in record["files"]),
        sources=tuple(SourceFile.model_validate(source) for source in record["sources"]),
        kind=record["kind"],
        unit=str(record["unit"]),
        dossier_code=record.get("dossier_code"),
        received_at=datetime.fromisoformat(record["received_at"]),
    )


def plain_name(name: str) -> str:
    """A recorded file name that stays inside its folder (a tampered record cannot escape)."""
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"not a plain file name: {name!r}")
    return name


def _write_batch_file(batch: ReceivedBatch) -> None:
    record = {
        "batch_id": batch.batch_id,
        "files": [f.name for f in batch.files],
        "sources": [s.model_dump() for s in batch.sources],
        "kind": batch.kind,
        "unit": batch.unit,
        "dossier_code": batch.dossier_code,
        "received_at": batch.received_at.isoformat(),
    }
    atomic_write_bytes(batch.folder / BATCH_FILE, json.dumps(record, ensure_ascii=False).encode())


def classify(batch: ReceivedBatch, settings: Settings) -> ReceivedBatch:
    """Detect every file's format from its bytes; raise on the first bad one."""
    sources = []
    for path, source in zip(batch.files, batch.sources, strict=True):
        try:
            fmt = detect_format(path, limits=settings.limits)
        except BadInputError as exc:
            exc.params["file"] = source.name
            raise
        sources.append(source.model_copy(update={"format": fmt}))
    return replace(batch, sources=tuple(sources))


def quarantine(batch: ReceivedBatch, error: SohoaError, settings: Settings) -> Path:
    """Move the batch's originals to ``quarantine/<batch_id>/`` with the reason beside them."""
    dest = settings.quarantine_dir / batch.batch_id
    dest.mkdir(parents=True, exist_ok=True)
    for path in batch.folder.iterdir():
        shutil.move(str(path), dest / path.name)
    reason = (
        f"{datetime.now(UTC).isoformat(timespec='seconds')}\n"
        f"{type(error).__name__} (exit {int(error.exit_code)})\n"
        f"vi: {error.render('vi')}\nen: {error.render('en')}\n"
    )
    atomic_write_bytes(dest / REASON_FILE, reason.encode("utf-8"))
    shutil.rmtree(batch.folder, ignore_errors=True)
    return dest


RELEASED_PREFIX = ".released-"
"""A released batch's inbox folder, renamed, while it is deleted (see :func:`release`)."""


def release(batch: ReceivedBatch) -> None:
    """Remove the inbox folder once the archive and catalog hold the batch.

    Renamed first (one atomic step), then deleted: a run killed while deleting leaves a
    ``.released-<id>`` folder that :func:`remove_released` clears, never a half-deleted
    batch folder that looks like an upload cut off (no ``batch.json``) or like a batch
    whose originals are missing, and stays in the inbox for ever.
    """
    trash = batch.folder.with_name(RELEASED_PREFIX + batch.folder.name)
    shutil.rmtree(trash, ignore_errors=True)  # a leftover of an earlier, killed release
    try:
        batch.folder.rename(trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def remove_released(inbox_dir: Path) -> list[str]:
    """Delete what killed releases left (``.released-*`` folders); return their names."""
    leftovers = sorted(inbox_dir.glob(RELEASED_PREFIX + "*")) if inbox_dir.is_dir() else []
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    return [folder.name for folder in leftovers]
