"""What the nightly run works on: batches waiting in the inbox, their claims and attempts.

Plain functions; :mod:`flows.nightly` wires them with Prefect.

A batch is *waiting* while its folder ``inbox/<batch_id>/`` holds a complete
``batch.json``. Why the folder and not the catalog row: ``digitise_batch`` removes
the folder only once the archive and the catalog hold every record, and moves it to
quarantine when the input is bad, so the folder's presence is the one durable "not
done yet" signal. The catalog row can say anything meanwhile: nothing (a run killed
before its first record), ``archived`` (a split batch killed between two records) or
``failed``.

Attempts are counted in ``nightly.json`` beside ``batch.json``: the count lives and
dies with the batch's inbox folder (gone once archived, moved along to quarantine),
needs no catalog table, and a person can read or delete it. An attempt is counted
*before* the work starts, so a batch that kills its process each time (out of
memory) also stops after ``nightly.max_attempts`` nights instead of looping.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from schemas.settings import Settings
from sohoa.dates import parse_day
from storage import claims
from storage.inbox import ReceivedBatch, plain_name, read_batch_file, remove_released
from storage.objectstore import atomic_copy, atomic_write_bytes

ATTEMPTS_FILE = "nightly.json"
"""Beside ``batch.json``: nightly attempts so far, when the last started, how it failed."""

LOCKS_DIR = "locks"
"""Folder of ``data_dir`` holding the batches' claim files (:mod:`storage.claims`)."""


def report_day(day: date | str | None, timezone: str, *, now: datetime | None = None) -> date:
    """The day the night reports: ``day`` if given, else yesterday in ``timezone``.

    Why the office's time zone: the run starts at 01:00 in Hanoi, which is still
    the previous day in UTC; "yesterday" must be the office's yesterday.

    Raises:
        BadDayError: ``day`` is not a day (:func:`sohoa.dates.parse_day`; a ValueError too).
    """
    if isinstance(day, date):
        return day
    if day:
        return parse_day(day, option="--day")
    zone = ZoneInfo(timezone)
    return (now or datetime.now(zone)).astimezone(zone).date() - timedelta(days=1)


def claim_place(settings: Settings) -> claims.Place:
    """Where claims are kept: advisory locks on a PostgreSQL catalog, which every worker
    sharing that catalog sees; else lock files beside the inbox (one machine)."""
    url = make_url(settings.resolved_catalog_url)
    if url.get_backend_name() != "postgresql":
        return settings.data_dir / LOCKS_DIR
    port = f":{url.port}" if url.port else ""
    where = f"{url.host or 'localhost'}{port}/{url.database or ''}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return claims.PgLocks(conninfo=conninfo, where=where)


def scan_inbox(settings: Settings) -> tuple[list[ReceivedBatch], list[str]]:
    """Waiting batches, oldest first, and the names of incomplete inbox folders.

    A folder without a readable ``batch.json`` is an upload cut off while its files
    were copied (the user still has the files): there is nothing to process.
    """
    if not settings.inbox_dir.is_dir():
        return [], []
    remove_released(settings.inbox_dir)  # archived batches a killed run did not finish deleting
    waiting, incomplete = [], []
    for folder in sorted(settings.inbox_dir.iterdir()):
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        batch = read_waiting(folder)
        if batch is None:
            incomplete.append(folder.name)
        else:
            waiting.append(batch)
    waiting.sort(key=lambda b: (b.received_at, b.batch_id))
    return waiting, incomplete


def read_waiting(folder: Path) -> ReceivedBatch | None:
    """The batch in ``folder``, or ``None`` when the folder is gone or incomplete."""
    try:
        batch = replace(read_batch_file(folder), **_read_attempts(folder))
    except (OSError, ValueError, KeyError, TypeError):  # JSONDecodeError is a ValueError
        return None
    files, names = batch.files, batch.names
    complete = len(files) == len(names) > 0 and all(f.is_file() for f in files)
    return batch if complete and batch.batch_id == folder.name else None


def _read_attempts(folder: Path) -> dict[str, Any]:
    path = folder / ATTEMPTS_FILE
    if not path.is_file():
        return {}
    state = json.loads(path.read_text(encoding="utf-8"))
    return {"attempts": int(state.get("attempts", 0)), "last_error": state.get("last_error")}


def record_attempt(batch: ReceivedBatch) -> int:
    """Count one more attempt before the work starts; return its number (1 for the first)."""
    attempt = batch.attempts + 1
    _write_attempts(batch, {"attempts": attempt, "started_at": _now(), "last_error": None})
    return attempt


def forget_attempt(batch: ReceivedBatch, attempt: int) -> None:
    """Take back attempt ``attempt``: it never started (another run held the batch).

    Why: bounded retries count work that failed; a batch met busy again and again
    would otherwise end "skipped" without ever having failed.
    """
    try:
        state = _read_attempts(batch.folder)
    except (OSError, ValueError):
        return
    if state.get("attempts") == attempt:
        _write_attempts(batch, {**state, "attempts": attempt - 1})


def record_failure(batch: ReceivedBatch, attempt: int, error: str) -> None:
    """Note how attempt ``attempt`` failed, if the batch is still in the inbox."""
    _write_attempts(
        batch,
        {"attempts": attempt, "failed_at": _now(), "last_error": error},
    )


def _write_attempts(batch: ReceivedBatch, state: dict[str, Any]) -> None:
    """Write ``nightly.json`` atomically; never recreate a folder that has left the inbox."""
    if batch.folder.is_dir():
        body = json.dumps({"batch_id": batch.batch_id, **state}, ensure_ascii=False, indent=1)
        atomic_write_bytes(batch.folder / ATTEMPTS_FILE, body.encode("utf-8"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def claimed(
    settings: Settings, batch: ReceivedBatch
) -> Iterator[tuple[claims.Claim | None, ReceivedBatch | None]]:
    """Claim the batch for the ``with`` block and read it again under the claim.

    Hand the claim to ``digitise_batch`` (its ``claim`` argument): the flow takes the
    batch's claim itself, and would find this one in its way otherwise.

    Yields:
        ``(held, batch)``: ``held`` is ``None`` when another live process holds the
        claim; ``batch`` is ``None`` when the folder is gone (archived by another run
        between listing and claiming) or no longer complete.
    """
    with claims.hold(claim_place(settings), batch.batch_id) as held:
        yield held, (read_waiting(batch.folder) if held else None)


@contextmanager
def staged_files(batch: ReceivedBatch, settings: Settings) -> Iterator[list[str]]:
    """The batch's inbox copies under the names the user gave, for ``digitise_batch``.

    Why: ``digitise_batch`` takes files by path and names each source after its file;
    given the inbox copies themselves it would record ``000-scan.pdf`` and copy them
    into the folder a second time. Hard links (copies across file systems) cost
    nothing and leave the inbox untouched; the batch id is unchanged because it
    comes from the bytes and the options, not the names.
    """
    root = settings.work_dir / f"nightly-{batch.batch_id}"
    shutil.rmtree(root, ignore_errors=True)  # left over from a killed run
    paths: list[str] = []
    try:
        for number, (source, name) in enumerate(zip(batch.files, batch.names, strict=True)):
            dest = root / f"{number:03d}" / _safe_leaf(name, number)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, dest)
            except OSError:
                atomic_copy(source, dest)
            paths.append(str(dest))
        yield paths
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _safe_leaf(name: str, number: int) -> str:
    try:
        return plain_name(name)
    except ValueError:
        return f"file-{number:03d}"
