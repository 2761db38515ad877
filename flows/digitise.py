"""The ``digitise_batch`` flow: one upload in, signed searchable PDFs in the archive out.

Thin wiring only: every step is a plain function in ``ocr/`` or ``storage/``.
Tasks pass paths and small value objects, never page pixels; the batch's words
(pages, readings, drafts) go in ``quote``: Prefect otherwise walks every word of a
task's arguments looking for futures, three times per call (0.5-1 s a call on a
15-page batch, on the serial tail the clerk waits for). Pages are OCR'd in
parallel (one Tesseract per core). Idempotency comes from content hashes: the
same files with the same options give the same batch and record ids, and an
already archived batch is returned without reprocessing.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from catalog.database import open_catalog
from flows.progress import CatalogProgress, NullProgress, ProgressSink
from ocr.engine import load_page_pixels
from ocr.pages import iter_pages
from ocr.reading import draft_records, read_page
from pdf.assemble import build_archival_pdf
from pdf.keys.signing_key import require_signing_key
from pdf.mrc import prepare_layers
from records import commit as archive
from schemas.models import (
    Manifest,
    PageImage,
    PageReading,
    RecordDraft,
    SignatureSummary,
    StoredObject,
)
from schemas.settings import Kind, OcrSettings, PdfSettings, Settings
from sohoa import logmask
from sohoa.errors import (
    BadInputError,
    BatchBusyError,
    ConfigError,
    NotFoundError,
    OcrError,
    SigningError,
    SohoaError,
    StorageError,
)
from storage import claims, inbox, intake
from storage.claims import Claim
from storage.objectstore import sha256_file
from storage.stores import open_store
from storage.waiting import claim_place


@task(name="extract-pages", cache_policy=NO_CACHE)
def extract_pages_task(batch: inbox.ReceivedBatch, settings: Settings) -> list[PageImage]:
    """Classify the files and write one image per page into the work folder."""
    batch = inbox.classify(batch, settings)
    out_dir = settings.work_dir / batch.batch_id / "pages"
    shutil.rmtree(out_dir, ignore_errors=True)
    pages: list[PageImage] = []
    for path, source in zip(batch.files, batch.sources, strict=True):
        for page in iter_pages(
            source, path, out_dir, start_index=len(pages), limits=settings.limits
        ):
            pages.append(page)
            if len(pages) > settings.limits.max_pages:
                raise BadInputError(
                    "too_large", file=source.name, reason=f"> {settings.limits.max_pages} pages"
                )
    return pages


DASK_CONNECT_TIMEOUT_S = 10


@task(name="ocr-page", cache_policy=NO_CACHE)
def ocr_page_task(
    page: PageImage, opts: OcrSettings, decode: bool, pdf: PdfSettings
) -> PageReading:
    """Clean and OCR one page, decode its QR codes and barcodes; split it for MRC (one per core).

    Why the MRC split is here and not in the PDF step: done right after the page is
    read, it runs while the other worker's Tesseract reads another page, instead of
    one page after another on one core once all pages are read. The layers wait in
    the work folder (:func:`pdf.mrc.prepare_layers`) and the PDF step picks them up.
    """
    pixels = load_page_pixels(page)  # decoded once for OCR, codes and the MRC split
    reading = read_page(page, opts, decode_symbols=decode, pixels=pixels)
    if pdf.image_mode == "mrc" and page.mode != "1":  # the pages the PDF step splits
        prepare_layers(
            Path(page.path),
            page.dpi,
            pixels=pixels,
            background_dpi=pdf.background_dpi,
            background_quality=pdf.background_quality,
            ink_colour_dpi=pdf.ink_colour_dpi,
            max_ink_share=pdf.max_ink_share,
        )
    return reading


@task(name="fields-and-split", cache_policy=NO_CACHE)
def fields_task(batch, pages, readings, dossier_code, settings) -> list[RecordDraft]:
    """Extract key fields, split the batch into dossiers and draft one record per dossier."""
    return draft_records(
        pages,
        readings,
        kind=batch.kind,
        record_id=lambda n: archive.record_id_for(batch.batch_id, n),
        forced_dossier=dossier_code,
        settings=settings.fields,
    )


@task(name="build-and-sign-pdf", cache_policy=NO_CACHE)
def build_pdf_task(batch, draft: RecordDraft, settings) -> tuple[Path, SignatureSummary]:
    """Assemble the archival PDF and sign it; returns the signed file in the work folder."""
    work = settings.work_dir / batch.batch_id
    unsigned = build_archival_pdf(
        draft.pages,
        draft.ocr,
        work / f"{draft.record_id}.unsigned.pdf",
        metadata=archive.xmp_metadata(batch, draft.record_id, draft.dossier_code),
        tessdata_dir=settings.ocr.tessdata_dir,
        settings=settings.pdf,
    )
    signed = work / f"{draft.record_id}.pdf"
    summary = _sign(unsigned, signed, settings)
    return signed, summary


SIGNING_MODULE = "pdf.sign.signer"


def _sign(unsigned: Path, signed: Path, settings: Settings) -> SignatureSummary:
    """Sign with :func:`pdf.sign.signer.sign_pdf`, imported when first needed.

    Why not at the top: pyHanko and its HTTP stack make up about a quarter of this
    module's import time, spent before the first page could start; only this last
    step needs them, and :func:`_read_all` has them imported while pages are read.
    """
    from pdf.sign.signer import sign_pdf

    return sign_pdf(unsigned, signed, settings)


def _import_meanwhile(module: str) -> None:
    """Import ``module`` in a background thread (a failure is left to the real import)."""

    def load() -> None:
        with suppress(ImportError):
            importlib.import_module(module)

    threading.Thread(target=load, name=f"import-{module}", daemon=True).start()


@task(name="store-originals", cache_policy=NO_CACHE)
def originals_task(batch, settings) -> list[StoredObject]:
    """Put the uploaded files into the store once per batch; retried on storage faults."""
    return archive.store_originals(batch, open_store(settings))


@task(name="store-and-catalog", cache_policy=NO_CACHE)
def commit_task(batch, draft, signed, signature, originals, settings) -> Manifest:
    """Store the record's PDF and manifest and write its catalog row; retried on storage faults."""
    return archive.commit_record(
        batch=batch,
        draft=draft,
        signed_pdf=signed,
        signature=signature,
        originals=originals,
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
    )


@task(name="catalog-stored-record", cache_policy=NO_CACHE)
def stored_task(batch, draft, settings) -> Manifest | None:
    """A record an earlier run stored but could not catalog: catalogued as it is
    (:func:`records.commit.catalog_stored`), not signed and stored again."""
    return archive.catalog_stored(
        batch, draft, open_store(settings), open_catalog(settings.resolved_catalog_url)
    )


def _read_all(pages, settings: Settings, progress, batch_id) -> list[PageReading]:
    """Read every page, at most ``ocr.workers`` (default: one per core) at a time.

    Why the flow bounds it and not only the task runner: a deployment, the nightly
    run or a web job starts the bare flow with Prefect's default thread pool, which
    has no bound, so a 200-page batch started 200 Tesseracts (and held 200 decoded
    pages) at once. Pages are submitted as earlier ones finish, whatever runs them.
    """
    decode = settings.fields.enabled and settings.fields.decode_codes
    if SIGNING_MODULE not in sys.modules:
        _import_meanwhile(SIGNING_MODULE)
    window = settings.ocr.workers or os.cpu_count() or 1
    futures, running = [], []
    for page in pages:
        if len(running) >= window:
            _page_finished(running, progress, batch_id)
        running.append(ocr_page_task.submit(page, settings.ocr, decode, settings.pdf))
        futures.append(running[-1])
    while running:
        _page_finished(running, progress, batch_id)
    return [f.result() for f in futures]


def _page_finished(running: list, progress, batch_id: str) -> None:
    """Wait for the first of ``running`` to finish, take it out and report its page."""
    future = next(as_completed(running))
    running.remove(future)
    progress.page_done(batch_id, future.result().ocr.index)


@task(name="find-committed", cache_policy=NO_CACHE)
def committed_task(batch_id: str, settings: Settings) -> dict[str, Manifest]:
    """Records of this batch already catalogued with both objects present, by record id.

    Why: a run that failed mid-batch (the store went away) may have committed some
    records; a later run reuses them instead of signing and storing them again, so
    each record is archived exactly once. Rows whose objects are missing are not
    trusted: those records are rebuilt and stored again.
    """
    rows = open_catalog(settings.resolved_catalog_url).find_records_for_batch(batch_id)
    if not rows:
        return {}
    store = open_store(settings)
    return {
        r.id: archive.load_manifest(store, r.manifest_key)
        for r in rows
        if store.exists(r.pdf_key) and store.exists(r.manifest_key)
    }


def _complete(committed: dict[str, Manifest]) -> list[Manifest] | None:
    """Manifests of an already archived batch: every record it was split into, all present."""
    manifests = sorted(committed.values(), key=lambda m: m.segment)
    return manifests if manifests and len(manifests) == manifests[0].segments else None


def _retrying(settings: Settings) -> dict[str, Any]:
    """Task options for storage steps: ``store.retries`` retries, each delay four times longer."""
    delays = [settings.store.retry_delay_s * 4**i for i in range(settings.store.retries)]
    return {
        "retries": settings.store.retries,
        "retry_delay_seconds": delays,
        "retry_condition_fn": worth_retrying,
    }


def worth_retrying(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry outages (object store, time-stamp authority), not mistakes a wait cannot fix.

    A configuration error (an archive bucket without object lock, a bad TSA login) or a
    missing record would only make the clerk wait 2 + 8 + 32 s for the same message.
    """
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ConfigError | BadInputError | NotFoundError)


@flow(name="digitise_batch", validate_parameters=False, log_prints=False)
def digitise_batch(
    files: list[str] | None = None,
    *,
    batch_id: str | None = None,
    kind: Kind = "thanh-phan",
    unit: str | None = None,
    dossier_code: str | None = None,
    settings: Settings | None = None,
    progress: Any = None,
    claim: Any = None,
) -> list[Manifest]:
    """Digitise one batch into signed, archived, catalogued records: ``files`` (in order,
    on this machine), or the batch ``batch_id`` received into the store's intake
    (:mod:`storage.intake`) by any machine, its options taken from its ticket.

    The batch's claim (:mod:`storage.claims`) is taken here, for every caller
    (``sohoa ingest``, the nightly run, the web job runner, a deployment), before
    the inbox or the work folder is touched: the batch id comes from the files'
    bytes and the options, so two runs given the same scans would otherwise share
    ``inbox/<batch_id>`` and ``work_dir/<batch_id>``.

    Args:
        batch_id: a batch waiting in the intake; ``files`` and the options are then unused.
        claim: the batch's :class:`storage.claims.Claim` when the caller already holds
            it (typed loosely: Prefect builds a schema); ``None``: taken here.

    Raises:
        BatchBusyError: another live run holds the batch; nothing was done.
        BadInputError, OcrError: the batch was quarantined with the reason.
        StorageError, SigningError: the batch stays in the inbox for a later run.
        ConfigError: no signing key and the demo certificate is turned off; nothing done.
    """
    logmask.install()
    settings = settings or Settings()
    require_signing_key(settings)
    if batch_id is not None:  # run for a web server elsewhere: progress goes to the row
        sink: ProgressSink = progress or CatalogProgress(settings)
        return _digitise_submitted(batch_id, settings, sink, claim)
    progress = progress or NullProgress()  # typed loosely: Prefect builds a schema
    paths = [Path(f) for f in files or []]
    options = {"kind": kind, "unit": unit or settings.default_unit, "dossier_code": dossier_code}
    with _batch_claim(settings, _batch_id_of(paths, **options), claim) as held:
        batch = inbox.receive(paths, settings, **options)
        with _batch_claim(settings, batch.batch_id, held):  # the same, unless a file changed
            return _digitise_received(batch, settings, progress)


def _digitise_submitted(
    batch_id: str, settings: Settings, progress: ProgressSink, claim: Claim | None
) -> list[Manifest]:
    """Digitise a batch from the intake: under its claim, download its originals into
    this worker's scratch folder and inbox, digitise them, then take its ticket away.

    A batch whose ticket is gone was finished by another run: its records are returned.

    Raises:
        NotFoundError: no such batch waiting, and none archived under that id.
    """
    store = open_store(settings)
    with _batch_claim(settings, batch_id, claim) as held:
        ticket = intake.read(store, batch_id)
        if ticket is None:
            return _already_archived(batch_id, settings)
        scratch = settings.work_dir / f"intake-{batch_id}"
        with intake.fetched(ticket, store, scratch) as paths:
            checked = [f.sha256 for f in ticket.files]  # fetched() compared every file
            batch = inbox.receive(
                paths, settings, received_at=ticket.received_at, hashes=checked, **ticket.options
            )
            with _batch_claim(settings, batch.batch_id, held):  # the same unless tampered with
                try:
                    manifests = _digitise_received(batch, settings, progress)
                except (BadInputError, OcrError) as exc:
                    if _quarantined(batch, settings):  # the scan was refused, not this disk
                        intake.quarantine(store, ticket, exc)
                        _mark_refused(batch, exc, settings)
                    raise
        intake.release(store, batch_id)
    return manifests


def _quarantined(batch: inbox.ReceivedBatch, settings: Settings) -> bool:
    """Whether :func:`_process` refused the batch's pages (it moved them to quarantine).

    Why not every :class:`BadInputError`: one raised later (this worker cannot read back
    its own page image: a full disk) says nothing about the scan; the batch must stay
    waiting for another try, not be refused for ever with records already archived.
    """
    return not batch.folder.exists() and (settings.quarantine_dir / batch.batch_id).is_dir()


def _already_archived(batch_id: str, settings: Settings) -> list[Manifest]:
    if (done := _complete(committed_task(batch_id, settings))) is not None:
        return done
    raise NotFoundError(what="batch", name=batch_id)


def _batch_id_of(paths: list[Path], *, kind: Kind, unit: str, dossier_code: str | None) -> str:
    """The id :func:`storage.inbox.receive` will give these files, before anything is copied.

    Why the files are read twice (here and in ``receive``): the claim must be held
    before ``receive`` writes into the batch's inbox folder; hashing costs little
    beside OCR.
    """
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise NotFoundError(what="file", name=str(missing[0]))
    hashes = [sha256_file(p) for p in paths]
    return inbox.batch_id_for(hashes, kind=kind, unit=unit, dossier_code=dossier_code)


@contextmanager
def _batch_claim(settings: Settings, batch_id: str, held: Claim | None) -> Iterator[Claim]:
    """Hold the batch's claim for the block (reusing ``held`` when it is that claim).

    Raises:
        BatchBusyError: another live run holds it.
    """
    with claims.hold_or_reuse(claim_place(settings), batch_id, held) as claim:
        if claim is None:
            raise BatchBusyError(batch=batch_id)
        yield claim


def _digitise_received(
    batch: inbox.ReceivedBatch, settings: Settings, progress: ProgressSink
) -> list[Manifest]:
    """The flow's work once the batch is claimed and its originals are in the inbox."""
    log = get_run_logger()
    progress.batch_started(batch.batch_id, len(batch.files))
    try:
        committed = committed_task.with_options(**_retrying(settings))(batch.batch_id, settings)
        if (done := _complete(committed)) is not None:
            log.info("batch %s already archived; nothing to do", batch.batch_id)
            _mark_archived(batch, settings)
            inbox.release(batch)
            return done
        manifests = _process(batch, batch.dossier_code, settings, progress, committed)
    except (StorageError, SigningError, ConfigError) as exc:
        _failed(batch, exc, settings)
        raise
    finally:  # page images and unsigned PDFs are scratch, whatever the outcome
        shutil.rmtree(settings.work_dir / batch.batch_id, ignore_errors=True)
    inbox.release(batch)
    log.info(
        "batch %s archived as %d record(s): %s",
        batch.batch_id,
        len(manifests),
        ", ".join(f"{m.record_id} ({len(m.pages)} pages)" for m in manifests),
    )
    return manifests


def _mark_archived(batch: inbox.ReceivedBatch, settings: Settings) -> None:
    """Its row says archived again (a re-sent batch was marked waiting when received)."""
    open_catalog(settings.resolved_catalog_url).upsert_batch(batch.batch_id, status="archived")


def _mark_refused(batch: inbox.ReceivedBatch, exc: SohoaError, settings: Settings) -> None:
    """Its row (``waiting`` since it was received) says quarantined, and why; a catalog
    that cannot be reached is only logged (the refusal itself is what the caller needs)."""
    try:
        open_catalog(settings.resolved_catalog_url).upsert_batch(
            batch.batch_id, status="quarantined", reason=exc.render("en")
        )
    except StorageError as catalog_exc:
        get_run_logger().error(
            "batch %s: cannot record the refusal: %s", batch.batch_id, catalog_exc
        )


def _failed(batch: inbox.ReceivedBatch, exc: SohoaError, settings: Settings) -> None:
    """Record why the batch failed; its originals stay in the inbox for a later run.

    Only storage and signing failures land here: they say nothing about the scan, so
    the batch is not quarantined, and rerunning it once the store (or the key) is back
    completes it. Records it committed before the failure keep their rows: their
    objects are in the archive (a row is only written after both).
    """
    reason = exc.render("en")
    log = get_run_logger()
    try:
        open_catalog(settings.resolved_catalog_url).upsert_batch(
            batch.batch_id,
            status="failed",
            reason=reason,
            file_count=len(batch.files),
            unit=batch.unit,
            kind=batch.kind,
        )
    except StorageError as catalog_exc:  # the catalog itself is down: the log still says why
        log.error("batch %s: cannot record the failure: %s", batch.batch_id, catalog_exc)
    log.error("batch %s failed; originals kept in the inbox: %s", batch.batch_id, reason)


def _process(
    batch, dossier_code, settings: Settings, progress: ProgressSink, committed
) -> list[Manifest]:
    """Pages, OCR, fields, split, PDF, signature, store and catalog for one received batch.

    ``committed`` holds records of this batch an earlier, failed run already archived:
    they are reused as they are, not signed and stored a second time.
    """
    try:
        pages = extract_pages_task(batch, settings)
        batch = inbox.classify(batch, settings)
        progress.pages_found(batch.batch_id, len(pages))
        readings = _read_all(pages, settings, progress, batch.batch_id)
        drafts = fields_task(batch, quote(pages), quote(readings), dossier_code, settings)
    except (BadInputError, OcrError) as exc:
        where = inbox.quarantine(batch, exc, settings)
        get_run_logger().warning(
            "batch %s quarantined in %s: %s", batch.batch_id, where, exc.render("en")
        )
        raise
    retrying = _retrying(settings)
    progress.stage(batch.batch_id, "store")
    originals = originals_task.with_options(**retrying)(batch, settings)
    manifests = []
    for draft in drafts:
        if draft.record_id in committed:
            manifests.append(committed[draft.record_id])
            continue
        stored = stored_task.with_options(**retrying)(batch, quote(draft), settings)
        if stored is not None:
            manifests.append(stored)
            continue
        progress.stage(batch.batch_id, "sign")
        signed, signature = build_pdf_task(batch, quote(draft), settings)
        progress.stage(batch.batch_id, "store")
        commit = commit_task.with_options(**retrying)
        manifests.append(commit(batch, quote(draft), signed, signature, originals, settings))
    # each record wrote its own page count; the batch row keeps the whole scan's
    open_catalog(settings.resolved_catalog_url).upsert_batch(
        batch.batch_id, status="archived", page_count=len(pages), file_count=len(batch.files)
    )
    return manifests


def run_digitise(
    files: list[str], *, settings: Settings, progress: ProgressSink | None = None, **options
) -> list[Manifest]:
    """Run the flow with a thread pool sized to the configured OCR workers, or on the Dask
    cluster of ``dask_address`` (its pages read as many at a time as it has threads)."""
    if settings.dask_address:
        runner, settings = _on_dask(settings)
    else:
        runner = ThreadPoolTaskRunner(max_workers=settings.ocr.workers or os.cpu_count() or 1)
    return digitise_batch.with_options(task_runner=runner)(
        files, settings=settings, progress=progress, **options
    )


def _on_dask(settings: Settings) -> tuple[Any, Settings]:
    """prefect-dask's runner on the cluster, and settings whose ``ocr.workers`` (the pages
    in flight, :func:`_read_all`) is the cluster's thread count unless set.

    Raises:
        ConfigError: the scheduler cannot be reached.
    """
    from distributed import Client
    from prefect_dask import DaskTaskRunner

    if not settings.ocr.workers:
        try:
            with Client(settings.dask_address, timeout=DASK_CONNECT_TIMEOUT_S) as client:
                threads = sum(client.nthreads().values())
        except OSError as exc:  # distributed raises OSError subclasses when it cannot connect
            raise ConfigError(
                reason=f"no Dask scheduler at {settings.dask_address}: {exc}"
            ) from None
        ocr = settings.ocr.model_copy(update={"workers": max(1, threads)})
        settings = settings.model_copy(update={"ocr": ocr})
    return DaskTaskRunner(address=settings.dask_address), settings


__all__ = ["SohoaError", "digitise_batch", "run_digitise"]
