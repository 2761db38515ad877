"""Failed sign-ins counted in the catalog: one limit for every web process and machine.

An attempt **reserves** its row before its password is checked, and only then counts:
one row per key it is limited by (:class:`Limit`). Why reserve first: a limiter that
looks, checks the password, then counts lets every request that looked before the first
one counted through (30 concurrent guesses were all checked, limit 5). Each reservation
is committed before its count is read, so of any ``limit`` + 1 concurrent attempts the
last to commit sees all the others and is refused, on SQLite and PostgreSQL alike, from
one process or many. Attempts still being checked count as failures, so a burst may see
every attempt refused; that errs on the safe side and lasts only as long as the burst. A
refused attempt takes its rows back (:func:`release`); a failed one leaves them as its
failure; a signed-in one clears its keys (:func:`clear`).

Two kinds of limit: a **window** (``limit`` failures in the last ``window``: wait until
the oldest of them leaves it) and a **growing delay** (after ``limit`` failures within
``window``, each further one doubles the wait after the newest, up to ``ceiling``).

Keys are SHA-256 digests behind a one-letter kind (the limiter needs no name or address
back); a row is deleted once older than its kind's memory (:func:`reserve` prunes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from catalog.connection import storage_errors
from catalog.database import Catalog
from catalog.tables import SignInFailureTable

__all__ = ["Limit", "clear", "key_of", "release", "reserve", "wait"]

Failures = SignInFailureTable
MAX_DOUBLINGS = 30
"""A growing delay stops doubling here (2**30 base delays outlast any ceiling)."""


def key_of(kind: str, value: str) -> str:
    """The stored key of ``value`` for a ``kind`` of limit: the kind's first letter, ``:``
    and 62 hex digits of SHA-256 (kinds must differ in their first letter).

    Why the kind in clear: rows of each kind are kept for their own memory (a day for an
    account's growing delay, a window for the others), and the prune must tell them apart.
    """
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()
    return f"{kind[0]}:{digest[:62]}"


@dataclass(frozen=True)
class Limit:
    """How many failures one key may have (see the module docstring)."""

    key: str
    limit: int
    window: timedelta
    """A window limit's length; for a growing delay, how long failures are remembered."""
    delay: timedelta | None = None
    """``None``: a window limit. Else the first wait of a growing delay, doubled per failure."""
    ceiling: timedelta | None = None
    """The longest wait of a growing delay."""


@storage_errors
def reserve(
    catalog: Catalog, keys: Sequence[str], now: datetime, memory: Mapping[str, timedelta]
) -> tuple[int, ...]:
    """Count one attempt against each key, committed at once; return the rows' ids.

    Rows older than their kind's ``memory`` (kind: the key's first letter) are deleted first,
    and any row older than the longest memory (keys written before kinds were).
    """
    with catalog._write() as session:
        session.execute(delete(Failures).where(Failures.at <= now - max(memory.values())))
        for kind, kept in memory.items():
            session.execute(delete(Failures).where(*_of_kind(kind), Failures.at <= now - kept))
        found = session.execute(
            insert(Failures).returning(Failures.id), [{"key": key, "at": now} for key in keys]
        )
        return tuple(found.scalars())


def _of_kind(kind: str) -> tuple:
    """The keys of one kind, as a range the ``(key, at)`` index serves (``;`` follows ``:``)."""
    return Failures.key > f"{kind[0]}:", Failures.key < f"{kind[0]};"


@storage_errors
def wait(
    catalog: Catalog, limits: Sequence[Limit], mine: Sequence[int], now: datetime
) -> int | None:
    """Whole seconds before an attempt holding rows ``mine`` may go on, or ``None`` for now.

    Every other row counts, including those of attempts still being checked.
    """
    waits = []
    with catalog._read() as session:
        for limit in limits:
            rows = (Failures.key == limit.key, Failures.at > now - limit.window)
            others = select(Failures.at).where(*rows, Failures.id.not_in(mine))
            free_at = (
                _window_free_at(session, others, limit)
                if limit.delay is None
                else _delay_free_at(session, others, limit)
            )
            if free_at is not None and free_at > now:
                waits.append(max(1, int((free_at - now).total_seconds() + 0.999)))
    return max(waits) if waits else None


def _window_free_at(session, others, limit: Limit) -> datetime | None:
    """When the oldest of the newest ``limit`` failures leaves the window (none: not full)."""
    oldest = session.scalar(others.order_by(Failures.at.desc()).offset(limit.limit - 1).limit(1))
    return None if oldest is None else oldest + limit.window


def _delay_free_at(session, others, limit: Limit) -> datetime | None:
    """The newest failure plus the delay ``n`` failures earn (none below ``limit``)."""
    counted = others.subquery()
    failures, newest = session.execute(
        select(func.count(), func.max(counted.c.at)).select_from(counted)
    ).one()
    if failures < limit.limit:
        return None
    assert limit.delay is not None and limit.ceiling is not None
    doublings = min(failures - limit.limit, MAX_DOUBLINGS)
    return newest + min(limit.delay * 2**doublings, limit.ceiling)


@storage_errors
def release(catalog: Catalog, ids: Sequence[int]) -> None:
    """Take back a refused attempt's reservation: a refusal is not a failure."""
    with catalog._write() as session:
        session.execute(delete(Failures).where(Failures.id.in_(ids)))


@storage_errors
def clear(catalog: Catalog, keys: Sequence[str], *, rows: Sequence[int] = ()) -> None:
    """Forget the failures of ``keys`` and the rows ``rows`` (a correct password clears its
    account's and pair's failures, and its own reservation)."""
    with catalog._write() as session:
        session.execute(delete(Failures).where(Failures.key.in_(keys) | Failures.id.in_(rows)))
