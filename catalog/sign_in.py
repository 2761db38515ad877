"""Failed sign-ins counted in the catalog: one limit for every web process and machine.

A sliding window per key (an account name, a client address): a key with ``limit``
failures in the last ``window`` must wait until the oldest of them leaves it. Keys are
stored as SHA-256 digests; rows older than the window are deleted with each new
failure, so the table holds at most the window's failures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select

from catalog.connection import storage_errors
from catalog.database import Catalog
from catalog.tables import SignInFailureTable

Failures = SignInFailureTable


def key_of(kind: str, value: str) -> str:
    """The stored key of a name (``kind`` "name") or an address ("ip")."""
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


@storage_errors
def retry_after(
    catalog: Catalog, limits: Sequence[tuple[str, int]], window: timedelta, now: datetime
) -> int | None:
    """Whole seconds until every ``(key, limit)`` is under its limit again, or ``None``."""
    waits = []
    with catalog._read() as session:
        for key, limit in limits:
            recent = session.scalars(
                select(Failures.at)
                .where(Failures.key == key, Failures.at > now - window)
                .order_by(Failures.at.desc())
                .limit(limit)
            ).all()
            if len(recent) >= limit:
                free_at = recent[-1] + window
                waits.append(max(1, int((free_at - now).total_seconds() + 0.999)))
    return max(waits) if waits else None


@storage_errors
def record_failure(catalog: Catalog, keys: Sequence[str], window: timedelta, now: datetime) -> None:
    """Count one failure against each key; forget failures older than the window."""
    with catalog._write() as session:
        session.execute(delete(Failures).where(Failures.at <= now - window))
        session.execute(insert(Failures), [{"key": key, "at": now} for key in keys])


@storage_errors
def clear(catalog: Catalog, key: str) -> None:
    """Forget ``key``'s failures (a correct password clears the name's, not the address's)."""
    with catalog._write() as session:
        session.execute(delete(Failures).where(Failures.key == key))
