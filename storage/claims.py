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

Several machines: where the catalog is PostgreSQL, claims are PostgreSQL session
advisory locks on it instead (:class:`PgLocks`, chosen by ``storage.waiting.claim_place``):
the same promises for every worker sharing the catalog. The lock belongs to one database
connection opened for the claim, and the server drops it when that connection ends in any
way (the process killed, the machine gone: TCP keepalives find a dead peer within about a
minute), so a dead worker never blocks a batch; a second hold from the same process opens
its own connection and is refused, as with ``flock``. PostgreSQL's own machinery, not a
"running" row with a timeout.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sohoa.errors import StorageError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
PG_CONNECT_TIMEOUT_S = 10
PG_KEEPALIVE = {"keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}
"""TCP keepalives on a claim's connection, the client's side (libpq)."""
PG_SERVER_KEEPALIVE = (
    "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
)
"""The same on the server's side of the connection (settable per session): without it the
server keeps a vanished machine's session, and its advisory locks, for about two hours
(the kernel's default), so a dead worker machine's claims are freed in ~1 min too."""


@dataclass(frozen=True)
class PgLocks:
    """Claims kept as advisory locks on a PostgreSQL server (every machine sees them).

    ``conninfo`` is a libpq URL with its password, so it is kept out of ``repr``;
    ``where`` names the server and database for messages and comparisons.
    """

    conninfo: str = field(repr=False)
    where: str


Place = Path | PgLocks
"""Where claims are kept: a folder of lock files, or a PostgreSQL database."""


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
    file or connection (it gives up on an object it cannot turn into a dict, as wanted).
    """

    __slots__ = ("_is_held", "name", "path")

    def __init__(self, name: str, path: Path | str, is_held: Callable[[], bool]) -> None:
        self.name, self.path, self._is_held = name, path, is_held

    @property
    def held(self) -> bool:
        """False once the block that took the claim has let it go."""
        return self._is_held()

    def __repr__(self) -> str:
        return f"Claim({self.name!r}, held={self.held})"


def _identity(place: Place, name: str) -> Path | str:
    """What tells one claim from another: its lock file, or its database and name."""
    return lock_path(place, name) if isinstance(place, Path) else f"{place.where}#{name}"


@contextmanager
def hold(place: Place, name: str) -> Iterator[Claim | None]:
    """Hold claim ``name`` for the ``with`` block, without waiting.

    Yields:
        The :class:`Claim` while this process holds it; ``None`` (holding nothing)
        when another holder (another process, or another open of the same claim in
        this one) has it.

    Raises:
        StorageError: the PostgreSQL server holding the claims cannot be reached.
    """
    if isinstance(place, PgLocks):
        with _hold_on_server(place, name) as held:
            yield held
        return
    path = lock_path(place, name)
    handle = _acquire(path)
    if handle is None:
        yield None
        return
    try:
        yield Claim(name, path, lambda: not handle.closed)
    finally:
        _release(path, handle)


@contextmanager
def claim(place: Place, name: str) -> Iterator[bool]:
    """Like :func:`hold`, for callers that only need to know whether they hold it.

    Yields:
        True while this process holds the claim; False (holding nothing) when
        another live process holds it.
    """
    with hold(place, name) as held:
        yield held is not None


@contextmanager
def hold_or_reuse(place: Place, name: str, held: Claim | None) -> Iterator[Claim | None]:
    """``held`` when it is claim ``name`` and still held, else a new :func:`hold`.

    Why: a caller that must do work under the claim before calling on (the nightly
    run reads ``batch.json`` again and counts its attempt) passes its claim down;
    locking again from the same process would be refused by ``flock`` itself.
    """
    if held is not None and held.held and held.path == _identity(place, name):
        yield held
        return
    with hold(place, name) as fresh:
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


# --- on a PostgreSQL server ----------------------------------------------------------------


def _lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for claim ``name`` (signed, as PostgreSQL's bigint)."""
    digest = hashlib.sha256(b"sohoa-claim:" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def _hold_on_server(place: PgLocks, name: str) -> Iterator[Claim | None]:
    """Hold ``name`` as a session advisory lock on a connection of its own."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a claim name: {name!r}")
    connection = _connect(place)
    try:
        key = _lock_key(name)
        if not connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            yield None
            return
        yield Claim(name, _identity(place, name), lambda: not connection.closed)
    finally:
        connection.close()  # the server drops the session's locks with it


def _connect(place: PgLocks) -> Any:
    import psycopg

    try:
        return psycopg.connect(
            place.conninfo,
            autocommit=True,
            connect_timeout=PG_CONNECT_TIMEOUT_S,
            application_name="sohoa-claim",
            options=PG_SERVER_KEEPALIVE,
            **PG_KEEPALIVE,
        )
    except psycopg.Error as exc:
        raise StorageError(
            "catalog_unreachable", where=place.where, reason=type(exc).__name__
        ) from None
