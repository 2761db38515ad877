"""One batch's work, whoever runs it: the steps of digitising a batch and their order.

Plain Python, no Prefect. The order, the claims, the retries' rules and what is kept
when something fails are written once here; *how* each step runs is an
:class:`Engine`'s: as Prefect tasks inside the ``digitise_batch`` flow run
(:mod:`flows.digitise`: deployments, the nightly run, the web app, a Dask cluster), or
as plain calls on a bounded thread pool (:mod:`flows.plain`: ``sohoa ingest`` on
embedded defaults, where starting a temporary Prefect server and importing Prefect
cost more than reading a one-page batch). Both give the same records from the same scans.

Idempotency comes from content hashes: the same files with the same options give the
same batch and record ids, and an already archived batch is returned without
reprocessing.
"""

from __future__ import annotations

import importlib
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, TypeVar

from catalog.database import open_catalog
from flows.progress import CatalogProgress, NullProgress, ProgressSink
from ocr import lexicon
from ocr.engine import load_page_pixels
from ocr.pages import count_pages, iter_pages
from ocr.reading import draft_records, read_page
from pdf.assemble import build_archival_pdf
from pdf.keys.policy import require_signing_key
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
from services.intake import keep_here
from services.intake import receive as receive_into_intake
from sohoa import logmask
from sohoa.errors import (
    BadInputError,
    BatchBusyError,
    ConfigError,
    InputTooLargeError,
    NotFoundError,
    OcrError,
    SigningError,
    SohoaError,
    StorageError,
)
from sohoa.programs import tesseract
from storage import claims, inbox, intake
from storage.claims import Claim
from storage.objectstore import sha256_file
from storage.stores import open_store
from storage.waiting import claim_place

T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    """How a batch's steps run (module docstring)."""

    @property
    def log(self) -> logging.Logger | logging.LoggerAdapter:
        """Where the batch's outcome is logged."""

    def call(self, step: Callable[..., T], *args: Any, retry_delays: Sequence[float] = ()) -> T:
        """Run ``step(*args)``; after a failure worth retrying (:func:`worth_retrying`),
        again after each of ``retry_delays`` seconds."""

    def each_done(
        self, step: Callable[..., R], items: Sequence[Any], args: tuple, window: int
    ) -> Iterator[tuple[int, R]]:
        """``step(item, *args)`` for every item, at most ``window`` at a time, yielding
        ``(position, result)`` as each finishes (a failure is raised when it is reached)."""


# --- the steps -------------------------------------------------------------------------


def extract_pages(batch: inbox.ReceivedBatch, settings: Settings) -> list[PageImage]:
    """Classify the files and write one image per page into the work folder."""
    batch = inbox.classify(batch, settings)
    _refuse_too_many_pages(batch, settings.limits.max_pages)
    out_dir = settings.work_dir / batch.batch_id / "pages"
    shutil.rmtree(out_dir, ignore_errors=True)
    pages: list[PageImage] = []
    for path, source in zip(batch.files, batch.sources, strict=True):
        for page in iter_pages(
            source, path, out_dir, start_index=len(pages), limits=settings.limits
        ):
            pages.append(page)
            if len(pages) > settings.limits.max_pages:  # a file that said fewer
                raise InputTooLargeError(
                    file=source.name, reason=f"> {settings.limits.max_pages} pages"
                )
    return pages


def _refuse_too_many_pages(batch: inbox.ReceivedBatch, most: int) -> None:
    """Refuse a batch of more than ``most`` pages before any page is decoded or rasterised,
    naming the file that goes past the limit (:func:`ocr.pages.count_pages`)."""
    counted = 0
    for path, source in zip(batch.files, batch.sources, strict=True):
        counted += count_pages(source, path)
        if counted > most:
            raise InputTooLargeError(file=source.name, reason=f"> {most} pages")


def ocr_page(page: PageImage, opts: OcrSettings, decode: bool, pdf: PdfSettings) -> PageReading:
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


def draft(batch, pages, readings, dossier_code, settings) -> list[RecordDraft]:
    """Extract key fields, split the batch into dossiers and draft one record per dossier."""
    return draft_records(
        pages,
        readings,
        kind=batch.kind,
        record_id=lambda n: archive.record_id_for(batch.batch_id, n),
        forced_dossier=dossier_code,
        settings=settings.fields,
    )


def build_pdf(batch, record: RecordDraft, settings) -> tuple[Path, SignatureSummary]:
    """Assemble the archival PDF and sign it; returns the signed file in the work folder."""
    work = settings.work_dir / batch.batch_id
    unsigned = build_archival_pdf(
        record.pages,
        record.ocr,
        work / f"{record.record_id}.unsigned.pdf",
        metadata=archive.xmp_metadata(batch, record.record_id, record.dossier_code),
        tessdata_dir=settings.ocr.tessdata_dir,
        settings=settings.pdf,
    )
    signed = work / f"{record.record_id}.pdf"
    summary = _sign(unsigned, signed, settings)
    return signed, summary


SIGNING_MODULES = ("pdf.sign.signer", "records.resume")
"""What signs a record and what reads back one a killed run stored: pyHanko underneath."""
_SIGNING_IMPORT = threading.Lock()


def load_signing() -> None:
    """Import :data:`SIGNING_MODULES`, one thread of the process at a time.

    Why not at the top: pyHanko and its HTTP stack make up about a quarter of this
    module's import time, spent before the first page could start; only the steps after
    the pages need them, and :func:`_prepare_meanwhile` imports them while pages are read.
    Why the lock: pyHanko's modules import each other in a circle (``pdf_utils.crypt.pdfmac``
    and ``sign.signers``), and a second thread importing them while the first is half way
    gets a half-made package: ``KeyError: 'pyhanko.sign.signers'``, an internal error of
    the batch (seen when the pages were done before the background import: one loaded
    page). Once imported, this is a dictionary lookup per module.
    """
    with _SIGNING_IMPORT:
        for name in SIGNING_MODULES:
            importlib.import_module(name)


def _sign(unsigned: Path, signed: Path, settings: Settings) -> SignatureSummary:
    """Sign with :func:`pdf.sign.signer.sign_pdf` (imported by :func:`load_signing`)."""
    load_signing()
    from pdf.sign.signer import sign_pdf

    return sign_pdf(unsigned, signed, settings)


def _prepare_meanwhile(settings: Settings) -> None:
    """Load what the steps after the last page need, in a background thread.

    Why: the word-pair tables the second reading needs after a page's Tesseract run
    were built by both page threads at once, twice (:func:`ocr.lexicon.preload`); the
    signing module, the signing key (0.24 s of PKCS#12 decryption, kept in the
    process's signer cache) and the administrative units field extraction checks place
    names against (0.3 s) are only needed once every page is read; loaded then, they
    are time the clerk waits for with one core idle. A failure here is left to the real
    call, which raises it with its message.
    """

    def load() -> None:
        with suppress(Exception):
            lexicon.preload(places=settings.fields.enabled)
            load_signing()
            from pdf.sign.signer import load_signer_keyed

            load_signer_keyed(settings)

    threading.Thread(target=load, name="prepare-after-pages", daemon=True).start()


def store_originals(batch, settings) -> list[StoredObject]:
    """Put the uploaded files into the store once per batch; retried on storage faults."""
    return archive.store_originals(batch, open_store(settings))


def commit(batch, record, signed, signature, originals, settings) -> Manifest:
    """Store the record's PDF and manifest and write its catalog row; retried on storage faults."""
    return archive.commit_record(
        batch=batch,
        draft=record,
        signed_pdf=signed,
        signature=signature,
        originals=originals,
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
    )


def catalog_stored(batch, record, settings) -> Manifest | None:
    """A record an earlier run stored but could not catalog: catalogued as it is
    (:func:`records.commit.catalog_stored`), not signed and stored again."""
    return archive.catalog_stored(
        batch, record, open_store(settings), open_catalog(settings.resolved_catalog_url)
    )


def signed_earlier(batch, record, settings) -> tuple[Path, SignatureSummary] | None:
    """The signed PDF a killed run uploaded, fetched and read back instead of signing again
    (a second signature is a second locked copy): :func:`records.resume.stored_signed_pdf`."""
    load_signing()  # pyHanko: imported when first needed, by one thread at a time
    from records.resume import stored_signed_pdf

    dest = settings.work_dir / batch.batch_id / f"{record.record_id}.pdf"
    summary = stored_signed_pdf(batch, record, open_store(settings), dest, settings)
    return None if summary is None else (dest, summary)


def find_committed(batch_id: str, settings: Settings) -> dict[str, Manifest]:
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


# --- retries ---------------------------------------------------------------------------


def retry_delays(settings: Settings) -> list[float]:
    """Storage steps' waits before each retry: ``store.retries`` of them, each four times longer."""
    return [settings.store.retry_delay_s * 4**i for i in range(settings.store.retries)]


def worth_retrying(error: BaseException | None) -> bool:
    """Retry outages (object store, time-stamp authority), not mistakes a wait cannot fix.

    A configuration error (an archive bucket without object lock, a bad TSA login) or a
    missing record would only make the clerk wait 2 + 8 + 32 s for the same message.
    """
    return not isinstance(error, ConfigError | BadInputError | NotFoundError)


# --- the order -------------------------------------------------------------------------


def digitise(
    engine: Engine,
    files: list[str] | None = None,
    *,
    batch_id: str | None = None,
    kind: Kind = "thanh-phan",
    unit: str | None = None,
    dossier_code: str | None = None,
    settings: Settings | None = None,
    progress: ProgressSink | None = None,
    claim: Claim | None = None,
) -> list[Manifest]:
    """Digitise one batch into signed, archived, catalogued records: ``files`` (in order,
    on this machine), or the batch ``batch_id`` received into the store's intake
    (:mod:`storage.intake`) by any machine, its options taken from its ticket.

    The batch's claim (:mod:`storage.claims`) is taken here, for every caller, before
    the inbox or the work folder is touched: the batch id comes from the files' bytes
    and the options, so two runs given the same scans would otherwise share
    ``inbox/<batch_id>`` and ``work_dir/<batch_id>``.

    Args:
        batch_id: a batch waiting in the intake; ``files`` and the options are then unused.
        claim: the batch's :class:`storage.claims.Claim` when the caller already holds
            it; ``None``: taken here.

    Raises:
        BatchBusyError: another live run holds the batch; nothing was done.
        BadInputError, OcrError: the batch was quarantined with the reason.
        StorageError, SigningError: the batch stays in the inbox for a later run.
        ConfigError: no signing key and the demo certificate is turned off; nothing done.
    """
    logmask.install()
    settings = settings or Settings()
    require_signing_key(settings)
    run = _Run(engine, settings, progress or NullProgress())
    if batch_id is not None:  # run for a web server elsewhere: progress goes to the row
        run.progress = progress or CatalogProgress(settings)
        return run.submitted(batch_id, claim)
    paths = [Path(f) for f in files or []]
    options = {"kind": kind, "unit": unit or settings.default_unit, "dossier_code": dossier_code}
    with _batch_claim(settings, batch_id_of(paths, **options), claim) as held:
        batch = inbox.receive(paths, settings, **options)
        with _batch_claim(settings, batch.batch_id, held):  # the same, unless a file changed
            return run.received(batch)


@contextmanager
def received_here(
    files: list[str],
    settings: Settings,
    *,
    sender: str,
    kind: Kind = "thanh-phan",
    unit: str | None = None,
    dossier_code: str | None = None,
) -> Iterator[tuple[str, Claim]]:
    """Files given on this machine (``sohoa ingest``), received through the one entrance
    (:func:`services.intake.receive`: originals and ticket into the store's intake, a
    ``waiting`` row) under the batch's claim; yields the batch id and the claim, for
    the caller to digitise the batch by id in this process, handing the claim on.

    Why through the intake and not straight into this machine's inbox: a run killed or
    failed mid-batch leaves the batch in the store, where the nightly run or a worker of
    any machine finishes it, as it does an upload's.

    Raises:
        ConfigError: no signing key and the demo certificate is turned off; nothing stored.
        BatchBusyError: another run holds these very scans; nothing stored.
        NotFoundError, BadInputError: as :func:`services.intake.receive`; nothing stored.
        StorageError: the store or catalog cannot take it; the batch waits in this
            machine's inbox for the nightly run (:func:`services.intake.keep_here`).
    """
    require_signing_key(settings)
    options = {"kind": kind, "unit": unit or settings.default_unit, "dossier_code": dossier_code}
    paths = [Path(f) for f in files]
    with _batch_claim(settings, batch_id_of(paths, **options), None) as held:
        try:
            ticket = receive_into_intake(paths, settings, sender=sender, **options)
        except StorageError as exc:  # no page is read now: nothing read could be stored
            keep_here(paths, settings, exc, **options)
            raise
        yield ticket.batch_id, held


def batch_id_of(paths: list[Path], *, kind: Kind, unit: str, dossier_code: str | None) -> str:
    """The id :func:`storage.inbox.receive` will give these files, before anything is copied.

    Why the files are read twice (here and in ``receive``): the claim must be held
    before ``receive`` writes into the batch's inbox folder; hashing costs little
    beside OCR.

    Raises:
        NotFoundError: a file does not exist.
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


def largest_first(pages: Sequence[PageImage]) -> list[int]:
    """Page positions in the order to start reading them: largest image file first.

    Why: the batch waits for its slowest core. Read in order, a heavy page that comes last
    runs alone while the other cores idle (0.6 s of a 15-page batch on 2 cores); started
    longest first, the last pages to finish are the short ones (the LPT rule). A page's
    compressed size is a cheap measure of how much there is on it to read. Readings are
    still returned in page order.
    """
    sizes = [_file_size(page.path) for page in pages]
    return sorted(range(len(pages)), key=lambda i: (-sizes[i], i))


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:  # reading the page will say what is wrong with it
        return 0


def _complete(committed: dict[str, Manifest]) -> list[Manifest] | None:
    """Manifests of an already archived batch: every record it was split into, all present."""
    manifests = sorted(committed.values(), key=lambda m: m.segment)
    return manifests if manifests and len(manifests) == manifests[0].segments else None


class _Run:
    """One batch's run on one engine: the order of the steps and what is kept on failure."""

    def __init__(self, engine: Engine, settings: Settings, progress: ProgressSink) -> None:
        self.engine, self.settings, self.progress = engine, settings, progress

    def submitted(self, batch_id: str, claim: Claim | None) -> list[Manifest]:
        """Digitise a batch from the intake: under its claim, download its originals into
        this worker's scratch folder and inbox, digitise them, then take its ticket away.

        A batch whose ticket is gone was finished by another run: its records are returned.

        Raises:
            NotFoundError: no such batch waiting, and none archived under that id.
        """
        settings = self.settings
        store = open_store(settings)
        with _batch_claim(settings, batch_id, claim) as held:
            ticket = intake.read(store, batch_id)
            if ticket is None:
                return self._already_archived(batch_id)
            scratch = settings.work_dir / f"intake-{batch_id}"
            with intake.fetched(ticket, store, scratch) as paths:
                checked = [f.sha256 for f in ticket.files]  # fetched() compared every file
                batch = inbox.receive(
                    paths,
                    settings,
                    received_at=ticket.received_at,
                    hashes=checked,
                    **ticket.options,
                )
                with _batch_claim(settings, batch.batch_id, held):  # the same unless tampered
                    try:
                        manifests = self.received(batch)
                    except (BadInputError, OcrError) as exc:
                        if self._quarantined(batch):  # the scan was refused, not this disk
                            intake.quarantine(store, ticket, exc)
                            self._mark_refused(batch, exc)
                        raise
            intake.release(store, batch_id)
        return manifests

    def _quarantined(self, batch: inbox.ReceivedBatch) -> bool:
        """Whether :meth:`_process` refused the batch's pages (it moved them to quarantine).

        Why not every :class:`BadInputError`: one raised later (this worker cannot read
        back its own page image: a full disk) says nothing about the scan; the batch must
        stay waiting for another try, not be refused for ever with records archived.
        """
        quarantine = self.settings.quarantine_dir / batch.batch_id
        return not batch.folder.exists() and quarantine.is_dir()

    def _already_archived(self, batch_id: str) -> list[Manifest]:
        done = _complete(self.engine.call(find_committed, batch_id, self.settings))
        if done is not None:
            return done
        raise NotFoundError(what="batch", name=batch_id)

    def received(self, batch: inbox.ReceivedBatch) -> list[Manifest]:
        """The run's work once the batch is claimed and its originals are in the inbox."""
        settings, log = self.settings, self.engine.log
        self.progress.batch_started(batch.batch_id, len(batch.files))
        try:
            committed = self.engine.call(
                find_committed, batch.batch_id, settings, retry_delays=retry_delays(settings)
            )
            if (done := _complete(committed)) is not None:
                log.info("batch %s already archived; nothing to do", batch.batch_id)
                self._catalog().upsert_batch(batch.batch_id, status="archived")
                inbox.release(batch)
                return done
            manifests = self._process(batch, committed)
        except (StorageError, SigningError, ConfigError) as exc:
            self._failed(batch, exc)
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

    def _process(self, batch, committed: dict[str, Manifest]) -> list[Manifest]:
        """Pages, OCR, fields, split, PDF, signature, store and catalog for one received batch.

        ``committed`` holds records of this batch an earlier, failed run already archived:
        they are reused as they are, not signed and stored a second time.
        """
        settings, call, progress = self.settings, self.engine.call, self.progress
        try:
            pages = call(extract_pages, batch, settings)
            batch = inbox.classify(batch, settings)
            progress.pages_found(batch.batch_id, len(pages))
            readings = self._read_all(pages, batch.batch_id)
            drafts = call(draft, batch, pages, readings, batch.dossier_code, settings)
        except (BadInputError, OcrError) as exc:
            where = inbox.quarantine(batch, exc, settings)
            self.engine.log.warning(
                "batch %s quarantined in %s: %s", batch.batch_id, where, exc.render("en")
            )
            raise
        progress.stage(batch.batch_id, "store")
        originals = call(store_originals, batch, settings, retry_delays=retry_delays(settings))
        manifests = [
            committed[r.record_id]
            if r.record_id in committed
            else self._archive(batch, r, originals)
            for r in drafts
        ]
        # each record wrote its own page count; the batch row keeps the whole scan's
        self._catalog().upsert_batch(
            batch.batch_id, status="archived", page_count=len(pages), file_count=len(batch.files)
        )
        return manifests

    def _archive(self, batch, record: RecordDraft, originals) -> Manifest:
        """Sign, store and catalog one record, taking up what a killed run left of it (its
        manifest: :func:`catalog_stored`; its PDF: :func:`signed_earlier`), so nothing is
        signed or uploaded twice (``docs/archive.md``, "Crash and rerun")."""
        settings, call, progress = self.settings, self.engine.call, self.progress
        delays = retry_delays(settings)
        stored = call(catalog_stored, batch, record, settings, retry_delays=delays)
        if stored is not None:
            return stored
        signed = call(signed_earlier, batch, record, settings, retry_delays=delays)
        if signed is None:
            progress.stage(batch.batch_id, "sign")
            signed = call(build_pdf, batch, record, settings)
        progress.stage(batch.batch_id, "store")
        return call(commit, batch, record, *signed, originals, settings, retry_delays=delays)

    def _read_all(self, pages: list[PageImage], batch_id: str) -> list[PageReading]:
        """Read every page, at most ``ocr.workers`` Tesseracts (default: one per core) and
        one page more than that in flight.

        Why the run bounds it and not only the engine's pool: a deployment, the nightly
        run or a web job starts the bare flow with Prefect's default thread pool, which
        has no bound, so a 200-page batch started 200 Tesseracts (and held 200 decoded
        pages) at once. Pages are started as earlier ones finish, whatever runs them.

        Why one page more: a page is Tesseract for three quarters of its CPU and Python
        (decoding, cleaning, the second reading, the MRC split) for the rest; with only
        one page per core, a core waited whenever both pages were in Python at once (the
        OCR phase kept both cores 92 % busy). The extra page does its Python work while
        both Tesseracts read; :data:`sohoa.programs.tesseract.RUNNING` keeps Tesseracts
        to one per core.
        """
        settings = self.settings
        decode = settings.fields.enabled and settings.fields.decode_codes
        _prepare_meanwhile(settings)
        cores = settings.ocr.workers or os.cpu_count() or 1
        tesseract.RUNNING.at_most(cores)
        window = cores + 1
        readings: list[PageReading | None] = [None] * len(pages)
        args = (settings.ocr, decode, settings.pdf)
        order = largest_first(pages)
        started = [pages[i] for i in order]
        for position, reading in self.engine.each_done(ocr_page, started, args, window):
            readings[order[position]] = reading
            self.progress.page_done(batch_id, reading.ocr.index)
        return readings  # type: ignore[return-value] - every position was filled

    def _catalog(self):
        return open_catalog(self.settings.resolved_catalog_url)

    def _mark_refused(self, batch: inbox.ReceivedBatch, exc: SohoaError) -> None:
        """Its row (``waiting`` since it was received) says quarantined, and why; a catalog
        that cannot be reached is only logged (the refusal itself is what the caller needs)."""
        try:
            self._catalog().upsert_batch(
                batch.batch_id, status="quarantined", reason=exc.render("en")
            )
        except StorageError as catalog_exc:
            self.engine.log.error(
                "batch %s: cannot record the refusal: %s", batch.batch_id, catalog_exc
            )

    def _failed(self, batch: inbox.ReceivedBatch, exc: SohoaError) -> None:
        """Record why the batch failed; its originals stay in the inbox for a later run.

        Only storage and signing failures land here: they say nothing about the scan, so
        the batch is not quarantined, and rerunning it once the store (or the key) is back
        completes it. Records it committed before the failure keep their rows: their
        objects are in the archive (a row is only written after both).
        """
        reason = exc.render("en")
        log = self.engine.log
        try:
            self._catalog().upsert_batch(
                batch.batch_id,
                status="failed",
                reason=reason,
                file_count=len(batch.files),
                unit=batch.unit,
                kind=batch.kind,
            )
        except StorageError as catalog_exc:  # the catalog is down: the log still says why
            log.error("batch %s: cannot record the failure: %s", batch.batch_id, catalog_exc)
        log.error("batch %s failed; originals kept in the inbox: %s", batch.batch_id, reason)
