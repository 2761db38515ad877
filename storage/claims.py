"""Claims: at most one process works on a batch at a time, and a dead owner frees it at once.

A claim is an advisory ``flock`` on ``data_dir/locks/<name>.lock``. Why ``flock``
and not a PID file or a "running" row with a timeout: the kernel drops the lock
when the owning process ends in any way (``kill -9``, out of memory), so a claim
can never go stale and block the next night, and a slow but live owner is never
mistaken for a dead one. ``filelock`` would do the same through the same call;
the standard library is enough here (as in :mod:`pdf.keys.signing_key`).

The holder removes the lock file when it lets go, so ``locks/`` does not fill up.
That is safe because a claimer checks, once it holds the lock, that the file it
locked is still the one at the path (same device and inode): a file removed in
between is given up and the new one is locked instead, so two processes never
both hold a claim.

Holding a claim and handing it on: ``flock`` belongs to an open file, so a second
:func:`hold` of the same name in the *same* process is refused like any other
(a test or a thread cannot slip past a claim its process holds elsewhere). Code
that holds a claim and calls code that claims the same name passes its
:class:`Claim` down; :func:`hold_or_reuse` takes it instead of locking again.

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


class Claim:
    """A claim held by this process, valid until the :func:`hold` block that made it ends.

    A plain class with slots, not a dataclass: it travels as a Prefect flow
    parameter, and Prefect's parameter encoder must not read or copy the open lock
    file (it gives up on an object it cannot turn into a dict, as wanted here).
    """

    __slots__ = ("_handle", "name", "path")

    def __init__(self, name: str, path: Path, handle: BinaryIO) -> None:
        self.name, self.path, self._handle = name, path, handle

    @property
    def held(self) -> bool:
        """False once the block that took the claim has let it go."""
        return not self._handle.closed

    def __repr__(self) -> str:
        return f"Claim({self.name!r}, held={self.held})"


@contextmanager
def hold(locks_dir: Path, name: str) -> Iterator[Claim | None]:
    """Hold claim ``name`` for the ``with`` block, without waiting.

    Yields:
        The :class:`Claim` while this process holds it; ``None`` (holding nothing)
        when another holder (another process, or another open of the same claim in
        this one) has it.
    """
    path = lock_path(locks_dir, name)
    handle = _acquire(path)
    if handle is None:
        yield None
        return
    try:
        yield Claim(name, path, handle)
    finally:
        _release(path, handle)


@contextmanager
def claim(locks_dir: Path, name: str) -> Iterator[bool]:
    """Like :func:`hold`, for callers that only need to know whether they hold it.

    Yields:
        True while this process holds the claim; False (holding nothing) when
        another live process holds it.
    """
    with hold(locks_dir, name) as held:
        yield held is not None


@contextmanager
def hold_or_reuse(locks_dir: Path, name: str, held: Claim | None) -> Iterator[Claim | None]:
    """``held`` when it is claim ``name`` and still held, else a new :func:`hold`.

    Why: a caller that must do work under the claim before calling on (the nightly
    run reads ``batch.json`` again and counts its attempt) passes its claim down;
    locking again from the same process would be refused by ``flock`` itself.
    """
    if held is not None and held.held and held.path == lock_path(locks_dir, name):
        yield held
        return
    with hold(locks_dir, name) as fresh:
        yield fresh


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
