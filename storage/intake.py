"""The intake: batches received into the object store, for any worker to digitise by id.

Why the store and not a folder: a province runs several worker machines, and a batch
uploaded through one web server must be digitised by whichever worker is free. So a
batch is *received* once, wherever it comes from: its originals go to their permanent
keys in the ``originals`` area (:func:`storage.object_keys.original_key`), each hashed
once while read, and then a small *ticket* is written beside them::

    originals/_intake/{batch_id}.json       waiting to be digitised
    originals/_quarantine/{batch_id}.json   refused, with the reason (originals kept)

The ticket is written last, so it is the commit point: a submission cut off before it
leaves originals that no ticket names (harmless; the user still has the files and a
new submission reuses the keys). ``digitise_batch(batch_id=…)`` reads the ticket,
downloads the originals into its own scratch folder (checking every hash), and deletes
the ticket only once the archive and the catalog hold the batch. So, as with the local
inbox folder, the ticket's presence is the one durable "not done yet" signal, shared by
every machine that reaches the store. ``_intake`` and ``_quarantine`` cannot clash with a
unit's folder: :func:`storage.inbox.safe_name` strips a leading ``_`` from unit codes.

Claims keep two workers off one batch (:func:`storage.waiting.claim_place`); nightly
attempts are counted in the ticket, as ``nightly.json`` counts them in a local inbox.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocr.pages import detect_format
from schemas.settings import Kind, Settings
from sohoa.errors import BadInputError, ChecksumMismatchError, NotFoundError, SohoaError
from storage import object_keys
from storage.inbox import batch_id_for, plain_name
from storage.objectstore import ObjectStore, put_file_once, sha256_file

INTAKE_PREFIX = "originals/_intake/"
QUARANTINE_PREFIX = "originals/_quarantine/"
TICKET_TYPE = "application/json"
KINDS = ("thanh-phan", "ket-qua")
BATCH_ID = re.compile(r"[0-9a-f]{20}")
"""What :func:`storage.inbox.batch_id_for` gives."""


@dataclass(frozen=True)
class IntakeFile:
    """One original as received: the name the user gave it, its key and its hash."""

    name: str
    key: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Ticket:
    """A batch received into the store and not digitised yet (module docstring)."""

    batch_id: str
    kind: Kind
    unit: str
    dossier_code: str | None
    received_at: datetime
    files: tuple[IntakeFile, ...]
    sender: str | None = None
    """Who handed it in (``web:<account>``, ``cli``, ``watch``); never a citizen's data."""
    attempts: int = 0
    """Nightly attempts so far (counted before each starts, as for the local inbox)."""
    last_error: str | None = None
    sweeps: int = 0
    """Tries by the intake sweep (:func:`flows.nightly.drain_intake`), counted apart so a
    sweep every few minutes through an outage does not use up the nights' attempts."""

    @property
    def options(self) -> dict[str, Any]:
        """The options that, with the files' bytes, define the batch (and its id)."""
        return {"kind": self.kind, "unit": self.unit, "dossier_code": self.dossier_code}


def ticket_key(batch_id: str) -> str:
    return f"{INTAKE_PREFIX}{plain_name(batch_id)}.json"


def quarantine_key(batch_id: str) -> str:
    return f"{QUARANTINE_PREFIX}{plain_name(batch_id)}.json"


def submit(
    paths: list[Path],
    settings: Settings,
    store: ObjectStore,
    *,
    kind: Kind,
    unit: str,
    dossier_code: str | None,
    sender: str | None = None,
) -> Ticket:
    """Receive ``paths`` (in order) into the store and return the batch's ticket.

    The same files with the same options are the same batch: a second submission
    while the first waits returns its ticket and uploads nothing.

    Raises:
        NotFoundError: a file is missing.
        BadInputError: no files, or a file that is not a scan sohoa reads (empty, too large,
            corrupt, encrypted, another format); nothing is stored then.
        StorageError: the store could not be reached; nothing is waiting then.
    """
    paths = [Path(p) for p in paths]
    formats = _check_files(paths, settings)
    hashes = [sha256_file(p) for p in paths]
    batch_id = batch_id_for(hashes, kind=kind, unit=unit, dossier_code=dossier_code)
    if (waiting := read(store, batch_id)) is not None:  # sent again: tried afresh
        again = replace(waiting, attempts=0, sweeps=0, last_error=None)
        if again != waiting:
            write(store, again)
        return again
    received_at = datetime.now(UTC)
    files = tuple(
        _put_original(store, path, digest, fmt, number, unit, received_at, batch_id)
        for number, (path, digest, fmt) in enumerate(zip(paths, hashes, formats, strict=True))
    )
    ticket = Ticket(batch_id, kind, unit, dossier_code, received_at, files, sender)
    write(store, ticket)
    return ticket


def _check_files(paths: list[Path], settings: Settings) -> list[str]:
    """Each file's format, refusing the batch before anything is stored.

    Why refuse here and not in the flow: the sender still has the files and is told at
    once (a bad page deep inside a good PDF is still found by the flow, which then
    quarantines the ticket with the reason).
    """
    if not paths:
        raise BadInputError("no_pages", file="(no files)")
    formats = []
    for path in paths:
        if not path.is_file():
            raise NotFoundError(what="file", name=str(path))
        formats.append(detect_format(path, limits=settings.limits))
    return formats


def _put_original(store, path, digest, fmt, number, unit, received_at, batch_id) -> IntakeFile:
    """Upload one original to its permanent key (once: the same bytes are not put twice)."""
    key = object_keys.original_key(unit, received_at, batch_id, number, path.name)
    content_type = object_keys.CONTENT_TYPES[fmt]
    info = put_file_once(store, key, path, content_type=content_type, metadata={"batch": batch_id})
    if info.sha256 != digest:  # the file changed while it was read
        raise ChecksumMismatchError(operation="upload", reason=f"{path.name} changed while read")
    return IntakeFile(path.name, key, digest, info.size)


def write(store: ObjectStore, ticket: Ticket) -> None:
    """Write (or rewrite: attempts) the ticket; the batch is waiting from then on."""
    store.put_bytes(
        ticket_key(ticket.batch_id),
        json.dumps(_as_json(ticket), ensure_ascii=False, indent=1).encode("utf-8"),
        content_type=TICKET_TYPE,
        metadata={"batch": ticket.batch_id},
    )


def _as_json(ticket: Ticket) -> dict[str, Any]:
    return {
        "batch_id": ticket.batch_id,
        "kind": ticket.kind,
        "unit": ticket.unit,
        "dossier_code": ticket.dossier_code,
        "received_at": ticket.received_at.isoformat(),
        "files": [vars(f) for f in ticket.files],
        "sender": ticket.sender,
        "attempts": ticket.attempts,
        "last_error": ticket.last_error,
        "sweeps": ticket.sweeps,
    }


def read(store: ObjectStore, batch_id: str) -> Ticket | None:
    """The batch's ticket, or ``None`` when it is not waiting (never sent, or done).

    Raises:
        BadInputError: the ticket is not one :func:`submit` could have written.
    """
    key = ticket_key(batch_id)
    try:
        return _parse(key, store.get_bytes(key))
    except NotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise BadInputError(file=key, reason=f"not a valid intake ticket: {exc}") from None


def _parse(key: str, body: bytes) -> Ticket:
    """The ticket under ``key``, checked to be one :func:`submit` could have written.

    Why so strict: anyone who may write the originals bucket can write a ticket; a
    tampered one must neither name a path outside the scratch folder, nor another
    unit's object (a key that is not this batch's original), nor files whose hashes
    are not the batch's (the id is their hash), nor stop the nightly run.
    """
    ticket = _from_json(json.loads(body))
    if key != ticket_key(ticket.batch_id):
        raise ValueError(f"{key} holds the ticket of {ticket.batch_id}")
    hashes = [f.sha256 for f in ticket.files]
    if not ticket.files or batch_id_for(hashes, **ticket.options) != ticket.batch_id:
        raise ValueError("its files and options are not the batch's")
    for number, item in enumerate(ticket.files):
        expected = object_keys.original_key(
            ticket.unit, ticket.received_at, ticket.batch_id, number, item.name
        )
        if item.key != expected:
            raise ValueError(f"file {number} is not the batch's original ({item.key})")
    return ticket


def _from_json(record: dict[str, Any]) -> Ticket:
    files = tuple(IntakeFile(**f) for f in record["files"])
    for f in files:
        plain_name(f.name)  # a tampered ticket cannot name a path outside the scratch folder
    received_at = datetime.fromisoformat(record["received_at"])
    if received_at.tzinfo is None:
        raise ValueError("received_at has no time zone")
    if record["kind"] not in KINDS or not BATCH_ID.fullmatch(str(record["batch_id"])):
        raise ValueError("not a batch id or kind sohoa writes")
    return Ticket(
        batch_id=str(record["batch_id"]),
        kind=record["kind"],
        unit=str(record["unit"]),
        dossier_code=record.get("dossier_code"),
        received_at=received_at,
        files=files,
        sender=record.get("sender"),
        attempts=int(record.get("attempts", 0)),
        last_error=record.get("last_error"),
        sweeps=int(record.get("sweeps", 0)),
    )


def waiting(store: ObjectStore) -> tuple[list[Ticket], list[str]]:
    """Every waiting batch, oldest first, and the keys of tickets that cannot be read."""
    tickets, unreadable = [], []
    for key in store.list(INTAKE_PREFIX):
        try:
            tickets.append(_parse(key, store.get_bytes(key)))
        except NotFoundError:  # done meanwhile
            continue
        except (ValueError, KeyError, TypeError):
            unreadable.append(key)
    tickets.sort(key=lambda t: (t.received_at, t.batch_id))
    return tickets, unreadable


@contextmanager
def fetched(ticket: Ticket, store: ObjectStore, scratch: Path) -> Iterator[list[Path]]:
    """The batch's originals, downloaded under the names the user gave them, for the block.

    Raises:
        ChecksumMismatchError: an original's bytes are not the ones received.
        NotFoundError: an original is missing from the store.
    """
    shutil.rmtree(scratch, ignore_errors=True)  # left over from a killed run
    try:
        paths = []
        for number, item in enumerate(ticket.files):
            dest = scratch / f"{number:03d}" / item.name
            store.download(item.key, dest)
            if sha256_file(dest) != item.sha256:
                raise ChecksumMismatchError(operation="download", reason=f"{item.key} changed")
            paths.append(dest)
        yield paths
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def counted(store: ObjectStore, ticket: Ticket, *, sweep: bool = False) -> Ticket:
    """Count one more nightly attempt (or sweep) in the ticket, before the work starts."""
    if sweep:
        ticket = replace(ticket, sweeps=ticket.sweeps + 1, last_error=None)
    else:
        ticket = replace(ticket, attempts=ticket.attempts + 1, last_error=None)
    write(store, ticket)
    return ticket


def failed(store: ObjectStore, ticket: Ticket, error: str) -> None:
    """Note how the last attempt failed, if the batch is still waiting."""
    if store.exists(ticket_key(ticket.batch_id)):
        write(store, replace(ticket, last_error=error))


def release(store: ObjectStore, batch_id: str) -> None:
    """The archive and the catalog hold the batch: it is no longer waiting."""
    store.delete(ticket_key(batch_id))


def refusal(store: ObjectStore, batch_id: str, lang: str) -> str | None:
    """Why the batch was quarantined, in ``lang`` (``None``: not refused, or unreadable)."""
    try:
        record = json.loads(store.get_bytes(quarantine_key(batch_id)))
        return record["reason"].get(lang)
    except (NotFoundError, ValueError, KeyError, TypeError, AttributeError):
        return None


def quarantine(store: ObjectStore, ticket: Ticket, error: SohoaError) -> str:
    """Refused input: the ticket moves to ``_quarantine`` with the reason (originals kept)."""
    record = _as_json(ticket) | {
        "refused_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "error": type(error).__name__,
        "reason": {"vi": error.render("vi"), "en": error.render("en")},
    }
    key = quarantine_key(ticket.batch_id)
    body = json.dumps(record, ensure_ascii=False, indent=1).encode("utf-8")
    store.put_bytes(key, body, content_type=TICKET_TYPE, metadata={"batch": ticket.batch_id})
    release(store, ticket.batch_id)
    return key
