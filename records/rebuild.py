"""Recreate the catalog from the archive's manifests alone (``sohoa catalog rebuild``).

Why: the archive is the source of truth and the catalog only an index of it, so a
lost, corrupt or suspect catalog must be reproducible from object storage without
the inbox, the work folder or the old database. Every manifest carries what a
catalog row holds (fields, review state, corrections, OCR text, sha256 of the PDF),
and :meth:`catalog.database.Catalog.add_records` writes rows exactly as the pipeline
does, so search results and counts come out the same. What the manifests do not hold
(accounts, tokens, units, register, batch outcomes, fixity history, audit log) comes
from the old catalog when it can be read, else from the store's backups and sealed
audit segments (:mod:`records.carry_over`): the old catalog's state (missing, truncated,
not a database, locked) never stops a rebuild, and the report says what came from where.

Atomic: the new catalog is built apart (a new SQLite file, or a new PostgreSQL schema)
and only takes the old one's place when complete (:mod:`records.rebuild_targets`);
any failure before that leaves the old catalog as it was. Run it while nothing else
writes the catalog (no ingest, no review).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError

from catalog.database import Catalog
from records.carry_over import Carried, carry_over
from records.commit import manifest_from_bytes
from records.fixity import ARCHIVE_PREFIX, workers_for
from records.rebuild_targets import target_for
from schemas.models import Manifest
from sohoa.errors import SohoaError, VerificationError
from storage.objectstore import ObjectStore

log = logging.getLogger(__name__)

MANIFEST_SUFFIX = ".manifest.json"
"""How manifest keys end (see :func:`storage.object_keys.manifest_key`)."""

Entry = tuple[Manifest, str, str]
"""A loaded manifest with its key and the sha256 of its stored bytes."""


@dataclass(frozen=True)
class Skipped:
    """A manifest left out of the rebuilt catalog (only with ``keep_going``)."""

    key: str
    reason: str


@dataclass(frozen=True)
class RebuildReport:
    """What a rebuild read and wrote."""

    catalog: str
    """Path of the catalog file now in place."""
    manifests: int
    """Manifest objects found in the archive."""
    records: int
    """Record rows written."""
    batches: int
    """Batch rows written."""
    corrections: int
    """Review corrections restored from the manifests."""
    skipped: tuple[Skipped, ...] = ()
    """Manifests that could not be used (unreadable, invalid, or their PDF missing)."""
    duplicates: tuple[str, ...] = ()
    """Record ids found under two keys; the most recently changed manifest won."""
    replaced: bool = False
    """True when an existing catalog was replaced (False: there was none)."""
    register_dossiers: int | None = None
    """Dossier-register rows carried over (from the old catalog or a backup); ``None`` when
    neither could give them (then ``sohoa register import`` must be run again)."""
    fixity_runs: int | None = None
    """Fixity checks of the history carried over; ``None`` when neither the old catalog nor
    a backup could give them (the history then starts again with the next check)."""
    carried: tuple[Carried, ...] = ()
    """Each part besides the records (accounts, register, batches, fixity, audit) and where
    it came from: the old catalog, the newest backup, the audit segments, or nowhere."""
    old_catalog_unreadable: str | None = None
    """Why the old catalog could not be opened; ``None`` when it could or there was none."""
    seconds: float = 0.0

    @property
    def error_kind(self) -> type[SohoaError] | None:
        """:class:`VerificationError` when a manifest had to be left out, else ``None``.

        The library says what happened; ``sohoa catalog rebuild`` turns it into its exit
        code with :func:`sohoa.errors.exit_code_of`.
        """
        return VerificationError if self.skipped else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``--json``."""
        return asdict(self)


class RebuildProgress:
    """Receives rebuild progress (the CLI draws a bar); the default does nothing."""

    def started(self, records: int) -> None:
        """``records`` manifests are about to be read."""

    def advanced(self) -> None:
        """One manifest was read."""


def load_entry(store: ObjectStore, key: str) -> Entry:
    """Read one manifest, hash its bytes, and check that its PDF is in the archive.

    Raises:
        VerificationError: the manifest is not a valid manifest, or its PDF is missing
            (a catalog row must never point at a missing object).
        StorageError: the store failed (the rebuild is abandoned, never half done).
    """
    data = store.get_bytes(key)
    try:
        manifest = manifest_from_bytes(data)
    except (ValidationError, ValueError) as exc:
        reason = f"not a valid manifest ({str(exc).splitlines()[0][:160]})"
        raise VerificationError(record=key, reason=reason) from None
    if not store.exists(manifest.pdf.key):
        raise VerificationError(record=key, reason=f"its PDF is missing: {manifest.pdf.key}")
    return manifest, key, hashlib.sha256(data).hexdigest()


def load_entries(
    store: ObjectStore,
    keys: Sequence[str],
    *,
    workers: int,
    keep_going: bool,
    advanced: Callable[[], None],
) -> tuple[list[Entry], list[Skipped]]:
    """Load manifests on ``workers`` threads (each is one request to the store).

    Raises:
        VerificationError: a bad manifest when not ``keep_going``.
        StorageError: the store failed.
    """

    def one(key: str) -> Entry | Skipped:
        try:
            return load_entry(store, key)
        except VerificationError as exc:
            if not keep_going:
                raise
            return Skipped(key, exc.params.get("reason", exc.render("en")))
        finally:
            advanced()

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rebuild") as pool:
        loaded = list(pool.map(one, keys))
    entries = [e for e in loaded if not isinstance(e, Skipped)]
    return entries, [e for e in loaded if isinstance(e, Skipped)]


def newest_per_record(entries: Iterable[Entry]) -> tuple[list[Entry], list[str]]:
    """One entry per record id, in batch and segment order; the duplicate ids found.

    A record whose page was added or replaced has one manifest per version
    (:mod:`records.versions`): the highest version is the record, the earlier ones
    are its kept history, not duplicates. A record id under two keys *at the same
    version* happens when a batch was ingested again after its catalog row was lost
    (its receipt month, hence its key, differs): the manifest with the most review
    history, then the latest, is the one a clerk last saw.
    """
    chosen: dict[str, Entry] = {}
    duplicates = set()
    for entry in entries:
        record_id = entry[0].record_id
        if record_id in chosen:
            if chosen[record_id][0].version == entry[0].version:
                duplicates.add(record_id)
            entry = max(chosen[record_id], entry, key=_recency)
        chosen[record_id] = entry
    ordered = sorted(chosen.values(), key=lambda e: (e[0].batch_id, e[0].segment, e[0].record_id))
    return ordered, sorted(duplicates)


def _recency(entry: Entry) -> tuple:
    """Newest version first; within one version, the most review history, then the latest."""
    manifest = entry[0]
    last_change = manifest.corrections[-1].at if manifest.corrections else manifest.created_at
    return (manifest.version, len(manifest.corrections), last_change, entry[1])


def batch_facts(entries: Sequence[Entry]) -> dict[str, dict[str, Any]]:
    """Per batch: files, scanned pages, first archiving time, as the pipeline recorded them.

    The pipeline counts every scanned page of a batch, separator sheets included;
    manifests list only archived pages, but each page knows its position in its
    source file, so the highest position per file gives the file's page count.
    """
    grouped: dict[str, list[Manifest]] = defaultdict(list)
    for manifest, _, _ in entries:
        grouped[manifest.batch_id].append(manifest)
    facts = {}
    for batch_id, manifests in grouped.items():
        last_page: dict[str, int] = {}
        for page in (p for m in manifests for p in m.pages if p.version == 1):  # scanned pages
            last_page[page.source] = max(last_page.get(page.source, -1), page.source_page)
        facts[batch_id] = {
            "file_count": len(manifests[0].sources),
            "page_count": sum(n + 1 for n in last_page.values()),
            "created_at": min(m.created_at for m in manifests),
        }
    return facts


def build_catalog(url: str, entries: Sequence[Entry]) -> tuple[int, int]:
    """Write a complete catalog into the new, empty database at ``url``; (records, batches)."""
    catalog = Catalog(url)
    try:
        written = catalog.add_records(entries)
        facts = batch_facts(entries)
        for batch_id, values in facts.items():
            catalog.upsert_batch(batch_id, status="archived", **values)
    finally:
        catalog.close()
    return written, len(facts)


def rebuild_catalog(
    url: str,
    *,
    store: ObjectStore,
    keep_going: bool = False,
    workers: int | None = None,
    progress: RebuildProgress | None = None,
) -> RebuildReport:
    """Recreate the catalog at ``url`` (SQLite or PostgreSQL) from every manifest under
    ``archive/``.

    Args:
        url: the catalog's URL (a SQLite file, or a PostgreSQL database).
        store: the archive.
        keep_going: leave out bad manifests (reported) instead of abandoning the rebuild.
        workers: manifests read at once (default: one per core).
        progress: told how many manifests there are and when each is read.

    Raises:
        ConfigError: an in-memory catalog, or another kind of database.
        StorageError: the archive could not be listed or read; the old catalog is kept.
        VerificationError: a bad manifest without ``keep_going``; the old catalog is kept.
    """
    started = time.monotonic()
    target = target_for(url)
    progress = progress or RebuildProgress()
    keys = [k for k in store.list(ARCHIVE_PREFIX) if k.endswith(MANIFEST_SUFFIX)]
    progress.started(len(keys))
    loaded, skipped = load_entries(
        store, keys, workers=workers_for(workers), keep_going=keep_going, advanced=progress.advanced
    )
    entries, duplicates = newest_per_record(loaded)
    with target.building() as new_url:
        records, batches = build_catalog(new_url, entries)
        carried, unreadable = carry_over(target.old_url, new_url, store)
        replaced = target.swap_in()
    parts = {c.part: c for c in carried}
    return RebuildReport(
        catalog=target.where,
        manifests=len(keys),
        records=records,
        batches=batches,
        corrections=sum(len(m.corrections) for m, _, _ in entries),
        skipped=tuple(skipped),
        duplicates=tuple(duplicates),
        replaced=replaced,
        register_dossiers=_rows(parts["register"], "register_entries"),
        fixity_runs=_rows(parts["fixity"], "fixity_runs"),
        carried=tuple(carried),
        old_catalog_unreadable=unreadable,
        seconds=round(time.monotonic() - started, 2),
    )


def _rows(carried: Carried, table: str) -> int | None:
    """Rows of ``table`` a part brought, ``None`` when the part was lost."""
    return None if carried.source is None else carried.rows.get(table, 0)
