"""Receiving an upload: check every file, then hand the batch to the inbox and the job runner.

Order matters ("size and type checked before anything is stored"):

1. The form: kind, unit (a clerk limited to a unit uploads only into it), dossier code.
2. Room in the job runner's queue — a full queue refuses the upload (503) before
   any byte is kept.
3. Each file is copied in 1 MB chunks from the request's spooled temporary file
   into a private staging folder under ``work_dir/uploads/``, hashed on the way,
   and stopped as soon as it exceeds ``limits.max_file_mb`` (413). Its first bytes
   must be a PDF, TIFF, JPEG or PNG (:func:`ocr.pages.detect_format`, the pipeline's
   own check; 422 otherwise). A file is never held in memory whole: Starlette
   spools each part to disk past 1 MB, and the whole body is capped by
   ``web.max_upload_mb`` before it is read (:class:`web.gate.BodyLimitMiddleware`).
4. Only then the one entrance, :func:`services.intake.receive` (the same call
   ``sohoa ingest`` makes, so the same files and options give the same batch id),
   puts the batch's originals and ticket into the store's intake and a ``waiting``
   row into the catalog; this process's job runner is given the batch, or, with
   ``web.dispatch = "deployment"``, a flow run is scheduled on the Prefect work pool
   (:mod:`web.dispatch`). The staging folder is removed whatever happens.

A batch already archived, or queued or running here, is not received again: the
caller gets its id and status (uploading twice is harmless, as ``ingest`` is).
Damage the first bytes cannot show (a truncated or encrypted PDF) is found by the
pipeline, which quarantines the batch with its reason; the batch list shows it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from starlette.datastructures import UploadFile
from starlette.requests import Request

from catalog.audit import Action
from catalog.database import Catalog
from ocr.pages import detect_format
from schemas.settings import Settings
from services import intake
from sohoa.errors import BatchBusyError, InputTooLargeError, InvalidRequestError, StorageError
from storage import claims, inbox, waiting
from web.audit import audit
from web.auth import Principal, check_unit
from web.deps import catalog_of, settings_of
from web.dispatch import runner_for
from web.errors import QueueFull, UploadBusy

__all__ = ["KINDS", "UploadForm", "accept_upload", "upload_form"]

log = logging.getLogger(__name__)

KINDS = ("thanh-phan", "ket-qua")
CHUNK = 1024 * 1024
_UNIT = re.compile(r"[A-Za-z0-9._-]{1,64}")
_DOSSIER = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class UploadForm:
    """The options of one upload, checked; they are part of the batch's identity."""

    kind: str
    unit: str
    dossier_code: str | None


@dataclass(frozen=True)
class Staged:
    """One uploaded file, checked and staged under the name the user gave it."""

    path: Path
    sha256: str
    size: int
    format: str


def upload_form(
    request: Request, principal: Principal, *, kind: str, unit: str, dossier_code: str
) -> UploadForm:
    """Check the form's fields.

    A clerk limited to a unit may leave the unit empty (theirs is used) or name one
    under it, but not another; a clerk of every unit may name any, or get ``default_unit``.

    Raises:
        InvalidRequestError: a bad kind, unit or dossier code (400).
        PermissionDeniedError: another unit than the clerk's own (403).
    """
    kind, unit, code = kind.strip(), unit.strip(), dossier_code.strip()
    if kind not in KINDS:
        raise InvalidRequestError("upload_bad_kind", kind=kind[:40])
    unit = unit or principal.unit or settings_of(request).default_unit
    check_unit(request, principal, unit)
    if not _UNIT.fullmatch(unit):
        raise InvalidRequestError("upload_bad_unit", unit=unit[:70])
    if code and not _DOSSIER.fullmatch(code):
        raise InvalidRequestError("upload_bad_dossier", code=code[:70])
    return UploadForm(kind, unit, code or None)


def _plain_name(name: str | None, number: int) -> str:
    """The file's own name (no folders, no control characters), else ``file-NNN``."""
    leaf = _CONTROL.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if leaf in ("", ".", "..") or len(leaf.encode()) > 200:
        return f"file-{number:03d}"
    return leaf


def _copy(source: BinaryIO, dest: Path, *, limit: int, name: str) -> tuple[str, int]:
    """Copy in chunks, hashing; stop at the first byte past ``limit`` (413)."""
    digest, size = hashlib.sha256(), 0
    source.seek(0)
    with dest.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise InputTooLargeError(file=name, reason=f"> {limit / 1024 / 1024:g} MB")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def stage_files(files: list[UploadFile], folder: Path, settings: Settings) -> list[Staged]:
    """Copy, hash and check every file (module docstring, step 3).

    Raises:
        InputTooLargeError: a file over ``limits.max_file_mb`` (413).
        BadInputError: an empty file, or one that is not a PDF, TIFF, JPEG or PNG (422).
    """
    limit = int(settings.limits.max_file_mb * 1024 * 1024)
    staged = []
    for number, upload in enumerate(files):
        name = _plain_name(upload.filename, number)
        dest = folder / f"{number:03d}" / name
        dest.parent.mkdir(parents=True)
        digest, size = _copy(upload.file, dest, limit=limit, name=name)
        fmt = detect_format(dest, limits=settings.limits)
        staged.append(Staged(dest, digest, size, fmt))
    return staged


def _done_already(catalog: Catalog, batch_id: str) -> bool:
    """Whether the batch is archived with its records (a repeated upload of it)."""
    row = catalog.get_batch(batch_id)
    return (
        row is not None
        and row.status == "archived"
        and bool(catalog.find_records_for_batch(batch_id))
    )


def accept_upload(
    request: Request, principal: Principal, files: list[UploadFile], form: UploadForm
) -> str:
    """Check, receive and queue one batch (module docstring); return its batch id.

    Raises:
        InvalidRequestError: no files (400).
        UploadBusy: the queue is full (503).
        BatchBusyError: another run is digitising these very scans now (409).
        InputTooLargeError, BadInputError: a file is refused (413, 422).
    """
    settings, catalog = settings_of(request), catalog_of(request)
    files = [f for f in files if f.filename or (f.size or 0) > 0]
    if not files:
        raise InvalidRequestError("upload_no_files")
    runner = runner_for(request)
    if not runner.has_room():
        raise UploadBusy(queued=runner.max_queued)
    folder = settings.work_dir / "uploads" / secrets.token_hex(8)
    try:
        staged = stage_files(files, folder, settings)
        hashes = [s.sha256 for s in staged]
        batch_id = inbox.batch_id_for(
            hashes, kind=form.kind, unit=form.unit, dossier_code=form.dossier_code
        )
        again = batch_id in runner.active() or _done_already(catalog, batch_id)
        if not again:
            try:
                _receive(request, principal, batch_id, [s.path for s in staged], form)
            except BatchBusyError:  # a double click: the first request is queueing it
                again = batch_id in runner.active() or _done_already(catalog, batch_id)
                if not again:
                    raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    audit(
        request,
        Action.BATCH_UPLOAD,
        target=batch_id,
        unit=form.unit,
        kind=form.kind,
        files=len(staged),
        bytes=sum(s.size for s in staged),
        formats=sorted({s.format for s in staged}),
        repeated=again,
    )
    return batch_id


def _receive(
    request: Request, principal: Principal, batch_id: str, paths: list[Path], form: UploadForm
) -> None:
    """Received as ``web.dispatch`` says: into this machine's inbox for the job runner,
    or into the store's intake for the Prefect work pool."""
    if settings_of(request).web.dispatch == "deployment":
        _dispatch(request, principal, paths, form)
    else:
        _receive_here(request, principal, batch_id, paths, form)


def _dispatch(request: Request, principal: Principal, paths: list[Path], form: UploadForm) -> None:
    """Into the store's intake (one entrance: :func:`services.intake.receive`), then a flow
    run on the work pool; a Prefect server that cannot be reached leaves the batch waiting
    in the intake for the nightly run (or a retry), and the upload still succeeds."""
    ticket = intake.receive(
        paths,
        settings_of(request),
        kind=form.kind,  # type: ignore[arg-type]
        unit=form.unit,
        dossier_code=form.dossier_code,
        sender=f"web:{principal.name}",
    )
    try:
        runner_for(request).submit(ticket.batch_id, unit=form.unit)
    except (QueueFull, StorageError) as exc:
        log.warning("batch %s waits in the intake: %s", ticket.batch_id, type(exc).__name__)


def _receive_here(
    request: Request, principal: Principal, batch_id: str, paths: list[Path], form: UploadForm
) -> None:
    """Into the store's intake (the one entrance) and a ``waiting`` row, then this
    process's queue (a full queue: the intake sweep or the nightly run takes it).

    Received under the batch's claim, as every digitising run takes it: the same scans
    being ingested or digitised by another run at this moment are refused (409, try
    again later; the clerk still has the files). The claim is released before the job
    runner takes it.

    A store that cannot take the batch at the door: the batch is received into this
    machine's inbox instead (:func:`services.intake.keep_here`) and queued from there;
    if the store is still away when its records are stored, it ends ``failed`` with the
    reason and the clerk retries it from the batch list once the store is back.

    Raises:
        BatchBusyError: another run holds the batch.
    """
    settings = settings_of(request)
    with claims.claim(waiting.claim_place(settings), batch_id) as held:
        if not held:
            raise BatchBusyError(batch=batch_id)
        options = {"kind": form.kind, "unit": form.unit, "dossier_code": form.dossier_code}
        try:
            intake.receive(paths, settings, sender=f"web:{principal.name}", **options)  # type: ignore[arg-type]
        except StorageError as exc:  # digitised from the inbox: the store may be back by then
            intake.keep_here(paths, settings, exc, **options)  # type: ignore[arg-type]
            log.warning("batch %s received into the inbox: %s", batch_id, exc.render("en"))
    try:
        runner_for(request).submit(batch_id, unit=form.unit)
    except QueueFull:  # filled up since the check: the batch waits for a retry or the night
        pass
