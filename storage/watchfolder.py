"""A watched scan folder's rules, as plain functions: which files count, when a file is
whole, what its sub-folder means, which files form one batch, and where a refused one goes.

The loop that applies them (:mod:`services.watch`) keeps only what it has seen; every
decision is made here from file names, sizes, modification times and a clock, so each
rule is tested without a folder being watched.

- **Which files count**: not hidden or Office lock files (``.x``, ``~x``), not partial
  copies (``.tmp``, ``.part``, ``.crdownload``, ``.filepart``…), not a scanner's finished
  marker, not ``Thumbs.db``/``desktop.ini``; nothing under ``DIR/<refused_folder>/``.
- **Whole**: a file whose size and modification time have not changed for ``settle_s``
  (measured on this machine's clock: a copy over SMB keeps the original's mtime), or
  with a finished marker beside it (``scan.pdf.done`` or ``scan.done``). An empty file
  must stay empty for ``empty_settle_s`` before it is refused.
- **What a sub-folder means**: ``layout`` (``{unit}/{kind}``) names the levels; a missing
  level takes the default unit, or ``thanh-phan``.
- **One batch**: once no file of a sub-folder has changed for ``settle_s``, its files are
  one batch in natural name order (``p2.jpg`` before ``p10.jpg``), or each its own batch
  with ``group = "file"``.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import get_args

from schemas.settings import Kind, WatchSettings
from sohoa.errors import BadInputError, SohoaError
from storage.objectstore import atomic_write_bytes

KINDS: tuple[str, ...] = get_args(Kind)
DEFAULT_KIND: Kind = "thanh-phan"
TEMP_PREFIXES = (".", "~")
"""Hidden files, Office lock files (``~$x.docx``) and most tools' temporary copies."""
TEMP_SUFFIXES = (
    ".tmp",
    ".temp",
    ".part",
    ".partial",
    ".crdownload",
    ".download",
    ".filepart",
    ".swp",
    ".lock",
    "~",
)
"""Partial copies: browsers, WinSCP, rsync-like tools and editors write these first."""
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
"""Files Windows leaves in a folder shared over SMB: neither scans nor refusals."""
REASON_SUFFIX = ".loi.txt"
"""Beside a refused file in the refused folder: why, in Vietnamese and English."""


@dataclass(frozen=True)
class Seen:
    """A file as last seen: its size and mtime, and since when (monotonic s) they held."""

    size: int
    mtime_ns: int
    since: float


@dataclass(frozen=True)
class FolderBatch:
    """Files of one sub-folder taken together as one batch, in order."""

    folder: PurePosixPath
    """The sub-folder, relative to the watched folder (``.`` for the top)."""
    files: tuple[Path, ...]
    unit: str
    kind: Kind

    @property
    def where(self) -> str:
        """The sub-folder for messages: names no file (file names may name a citizen)."""
        return str(self.folder)


def counts_as_scan(name: str, markers: Iterable[str]) -> bool:
    """Whether a file named ``name`` may be a scan (module docstring)."""
    lower = name.lower()
    if name.startswith(TEMP_PREFIXES) or lower in IGNORED_NAMES:
        return False
    return not lower.endswith(TEMP_SUFFIXES + tuple(m.lower() for m in markers))


def list_files(root: Path, opts: WatchSettings) -> tuple[dict[Path, os.stat_result], list[Path]]:
    """Every file under ``root`` that may be a scan, with its ``stat``, and the folders
    that could not be listed (no permission). Hidden folders and the refused folder
    are not entered.

    Raises:
        FileNotFoundError: ``root`` is gone (a network share unmounted).
    """
    if not root.is_dir():
        raise FileNotFoundError(str(root))
    found: dict[Path, os.stat_result] = {}
    unlisted: list[Path] = []

    def cannot_list(exc: OSError) -> None:
        if not isinstance(exc, FileNotFoundError):  # a folder gone while walked is no problem
            unlisted.append(Path(exc.filename))

    for folder, dirs, names in os.walk(root, onerror=cannot_list):
        here = Path(folder)
        dirs[:] = [d for d in dirs if _enters(here / d, root, opts.refused_folder)]
        for name in names:
            if not counts_as_scan(name, opts.done_markers):
                continue
            try:
                info = (here / name).stat()
            except OSError:  # gone since it was listed, or a dangling link
                continue
            if _is_file(info):
                found[here / name] = info
    return found, unlisted


def _enters(folder: Path, root: Path, refused: str) -> bool:
    return not folder.name.startswith(TEMP_PREFIXES) and folder != root / refused


def _is_file(info: os.stat_result) -> bool:
    return stat.S_ISREG(info.st_mode)


def observe(
    before: Mapping[Path, Seen], now_stats: Mapping[Path, os.stat_result], now: float
) -> dict[Path, Seen]:
    """What is seen now: a file keeps its ``since`` while its size and mtime are unchanged."""
    seen = {}
    for path, info in now_stats.items():
        old = before.get(path)
        if old is not None and (old.size, old.mtime_ns) == (info.st_size, info.st_mtime_ns):
            seen[path] = old
        else:
            seen[path] = Seen(info.st_size, info.st_mtime_ns, now)
    return seen


def marked_done(paths: Iterable[Path], markers: Iterable[str]) -> set[Path]:
    """The files with a finished marker beside them (``scan.pdf.done`` or ``scan.done``)."""
    markers = tuple(markers)
    return {p for p in paths if any(m.exists() for m in marker_paths(p, markers))}


def marker_paths(path: Path, markers: Iterable[str]) -> list[Path]:
    """Where ``path``'s finished markers would be."""
    return [path.with_name(base + m) for m in markers for base in (path.name, path.stem)]


def quiet(seen: Seen, now: float, settle_s: float) -> bool:
    """Unchanged for ``settle_s``: nothing is writing the file any more."""
    return now - seen.since >= settle_s


def empty_refusals(
    seen: Mapping[Path, Seen], now: float, opts: WatchSettings, marked: set[Path]
) -> list[Path]:
    """Empty files that stayed empty long enough (or were marked finished) to be refused."""
    return [
        p
        for p, s in seen.items()
        if s.size == 0 and (p in marked or quiet(s, now, opts.empty_settle_s))
    ]


def ready_groups(
    root: Path,
    seen: Mapping[Path, Seen],
    now: float,
    opts: WatchSettings,
    *,
    marked: set[Path],
    held: set[Path],
) -> list[tuple[PurePosixPath, list[Path]]]:
    """The files to take now, as ``(sub-folder, files in order)`` groups (module docstring).

    ``held`` files (waiting for a retry as a group of their own) are left out of the
    groups but still keep their folder from falling quiet while they change.
    """
    by_folder: dict[PurePosixPath, list[Path]] = defaultdict(list)
    for path in seen:
        by_folder[PurePosixPath(path.parent.relative_to(root).as_posix())].append(path)
    groups = []
    for folder, paths in sorted(by_folder.items()):
        done = {p for p in paths if p in marked or quiet(seen[p], now, opts.settle_s)}
        takeable = [p for p in paths if p in done and seen[p].size > 0 and p not in held]
        if opts.group == "file":
            groups += [(folder, [p]) for p in sorted(takeable, key=natural_key)]
        elif takeable and len(done) == len(paths):
            groups.append((folder, sorted(takeable, key=natural_key)))
    return groups


def next_change(seen: Mapping[Path, Seen], now: float, opts: WatchSettings) -> float | None:
    """Seconds until the next file falls quiet (or an empty one is due), if any is pending."""
    due = [
        s.since + (opts.empty_settle_s if s.size == 0 else opts.settle_s) - now
        for s in seen.values()
    ]
    pending = [d for d in due if d > 0]
    return min(pending) if pending else None


def natural_key(path: Path) -> list[object]:
    """``p2.jpg`` before ``p10.jpg``: scanners number pages without leading zeros."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def place_of(folder: PurePosixPath, layout: str, *, default_unit: str) -> tuple[str, Kind]:
    """The unit and kind a sub-folder means under ``layout`` (``{unit}/{kind}``).

    Raises:
        BadInputError: the folder is deeper than the layout, or a ``{kind}`` level is
            not a kind (``thanh-phan``, ``ket-qua``).
    """
    levels = layout.split("/") if layout else []
    parts = [] if str(folder) == "." else list(folder.parts)
    if len(parts) > len(levels):
        raise BadInputError("watch_bad_place", folder=str(folder), layout=layout or "-")
    unit, kind = default_unit, DEFAULT_KIND
    for level, part in zip(levels, parts, strict=False):
        if level == "{kind}":
            if part not in KINDS:
                raise BadInputError("watch_bad_kind", folder=str(folder), kind=part)
            kind = part  # type: ignore[assignment] - checked against KINDS just above
        else:
            unit = part
    return unit, kind


def remove_files(paths: Iterable[Path], markers: Iterable[str]) -> None:
    """Delete archived files and their finished markers (what is already gone is fine)."""
    markers = tuple(markers)
    for path in paths:
        for marker in marker_paths(path, markers):
            marker.unlink(missing_ok=True)
        path.unlink(missing_ok=True)


def move_refused(
    root: Path,
    path: Path,
    error: SohoaError,
    opts: WatchSettings,
    *,
    batch: str | None = None,
) -> Path:
    """Move a refused file to ``root/<refused_folder>/<its sub-folder>/`` and write the
    reason beside it (``<name>.loi.txt``, Vietnamese and English); returns where it went.

    Why keep the sub-folder: the clerk sees which unit and kind it was saved for. A
    name already there gets ``-2``, ``-3``…: an earlier refusal is never overwritten.
    Moved first, then the reason written, so a crash in between loses no scan.
    """
    rel = path.relative_to(root)
    dest = _free_name(root / opts.refused_folder / rel.parent, path.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), dest)
    for marker in marker_paths(path, opts.done_markers):
        marker.unlink(missing_ok=True)
    atomic_write_bytes(dest.with_name(dest.name + REASON_SUFFIX), _reason(rel, error, batch))
    return dest


def _free_name(folder: Path, name: str) -> Path:
    dest, number = folder / name, 1
    stem, suffix = Path(name).stem, Path(name).suffix
    while dest.exists() or dest.with_name(dest.name + REASON_SUFFIX).exists():
        number += 1
        dest = folder / f"{stem}-{number}{suffix}"
    return dest


def _reason(rel: Path, error: SohoaError, batch: str | None) -> bytes:
    lines = [
        f"sohoa watch, {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"tệp / file: {rel.as_posix()}",
        *([f"lô / batch: {batch}"] if batch else []),
        f"{type(error).__name__} (exit {int(error.exit_code)})",
        f"vi: {error.render('vi')}",
        f"en: {error.render('en')}",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")
