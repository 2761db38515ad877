"""Claims: at most one process works on a batch at a time, and a dead owner frees it at once.

A claim is an advisory ``flock`` on ``data_dir/locks/<name>.lock``. Why ``flock``
and not a PID file or a "running" row with a timeout: the kernel drops the lock
when the owning process ends in any way (``kill -9``, out of memory), so a claim
can never go stale and block the next night, and a slow but live owner is never
mistaken for a dead one. ``filelock`` would do the same through the same call;
the standard library is enough here (as in :mod:`storage.signing_keys`).

The holder removes the lock file when it lets go, so ``locks/`` does not fill up.
That is safe because a claimer checks, once it holds the lock, that the file it
locked is still the one at the path (same device and inode): a file removed in
between is given up and the new one is locked instead, so two processes never
both hold a claim.

Limits: a local file system (``flock`` over NFS is not dependable) and POSIX.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def lock_path(locks_dir: Path, name: str) -> Path:
    """The lock file of claim ``name`` (letters, digits, ``._-``; a batch id fits).

    Raises:
        ValueError: ``name`` would leave ``locks_dir`` or is not a plain name.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a claim name: {name!r}")
    return locks_dir / f"{name}.lock"


@contextmanager
def claim(locks_dir: Path, name: str) -> Iterator[bool]:
    """Hold claim ``name`` for the ``with`` block, without waiting.

    Yields:
        True while this process holds the claim; False (holding nothing) when
        another live process holds it.
    """
    path = lock_path(locks_dir, name)
    handle = _acquire(path)
    if handle is None:
        yield False
        return
    try:
        yield True
    finally:
        _release(path, handle)


def _acquire(path: Path) -> BinaryIO | None:
    """Lock ``path`` (created if missing); ``None`` when another process holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return None
        if _same_file(handle, path):
            handle.truncate(0)  # who holds it, for a person looking at locks/
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
            return handle
        handle.close()  # the previous holder removed this file: lock the one there now


def _same_file(handle: BinaryIO, path: Path) -> bool:
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _release(path: Path, handle: BinaryIO) -> None:
    """Remove the lock file while still holding it, then unlock by closing."""
    try:
        path.unlink(missing_ok=True)
    finally:
        handle.close()
