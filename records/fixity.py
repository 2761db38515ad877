"""Fixity checks over the archive: every record (or a sample), in parallel, plus orphans.

Why this exists: an archive that is never read back can rot unnoticed (bit rot, a
botched restore, someone "tidying" a bucket). The check recomputes every archived
object's sha256, validates each PDF's signature and lists archive objects the catalog
does not know, so a problem is found while a replica or the paper still exists.

Plain functions only: ``sohoa verify --all`` runs them on a thread pool, and the Prefect
flow :mod:`flows.fixity` maps the same :func:`check_records` over chunks of records.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from catalog.database import Catalog
from catalog.rows import RecordRow
from records.verify import ObjectCheck, VerifyResult, verify_record
from schemas.settings import Settings
from sohoa.errors import (
    ConfigError,
    ExternalProgramError,
    NotFoundError,
    SohoaError,
    StorageError,
    VerificationError,
)
from storage.object_keys import AUDIT_PREFIX
from storage.objectstore import ObjectStore

if TYPE_CHECKING:
    from records.renewal import Renewal

ARCHIVE_PREFIX = "archive/"
"""Where record PDFs and manifests live (see :mod:`storage.object_keys`); orphans are looked for here."""

INTEGRITY_FAILURES = ("missing", "changed", "invalid")
"""Statuses that mean the archive itself is damaged (as opposed to merely unreadable now)."""


class FixityProgress(Protocol):
    """Receives progress events from a fixity run (CLI progress bar, flow logger)."""

    def started(self, records: int) -> None:
        """``records`` records are about to be checked."""

    def checked(self, result: VerifyResult) -> None:
        """One record was checked."""


class NullFixityProgress:
    """Ignores every event (unattended runs)."""

    def started(self, records: int) -> None:
        pass

    def checked(self, result: VerifyResult) -> None:
        pass


@dataclass(frozen=True)
class FixityReport:
    """What one fixity run found."""

    catalog_records: int
    """Records in the catalog when the run started."""
    results: tuple[VerifyResult, ...]
    """One result per checked record, ordered by record id."""
    orphans: tuple[str, ...] = ()
    """Archive keys no catalog row points at (sorted)."""
    sampled: bool = False
    """True when only a sample of the catalog was checked."""
    workers: int = 1
    """Records checked at the same time."""
    seconds: float = 0.0
    """Wall-clock duration of the run."""
    orphans_checked: bool = True
    """False when the orphan listing was skipped."""
    counts: dict[str, int] = field(default_factory=dict)
    """Checked records per status (``ok``, ``missing``, ``changed``, ``invalid``, ``unreadable``)."""

    @property
    def ok(self) -> bool:
        """True when every checked record is intact and there are no orphans."""
        return not self.orphans and all(r.ok for r in self.results)

    @property
    def error_kind(self) -> type[SohoaError] | None:
        """What the run found, as the domain error it amounts to; ``None`` when all is well.

        :class:`VerificationError` for damage (a missing, changed or badly signed object)
        or orphans; :class:`StorageError` when records could only not be read (the store
        failed, which says nothing about the archive). Why a type and not an exit code:
        the library says what happened; ``sohoa verify`` and the nightly summary turn it
        into a number with :func:`sohoa.errors.exit_code_of`.
        """
        if self.orphans or any(self.counts.get(s) for s in INTEGRITY_FAILURES):
            return VerificationError
        return StorageError if self.counts.get("unreadable") else None

    @property
    def bytes_read(self) -> int:
        """Bytes downloaded and hashed over the run."""
        return sum(r.bytes_read for r in self.results)

    def summary(self) -> dict[str, Any]:
        """Counts and rates only: safe to log (no names, no OCR text, no signer)."""
        return {
            "catalog_records": self.catalog_records,
            "checked": len(self.results),
            "sampled": self.sampled,
            **{s: self.counts.get(s, 0) for s in ("ok", *INTEGRITY_FAILURES, "unreadable")},
            "orphans": len(self.orphans) if self.orphans_checked else None,
            "bytes": self.bytes_read,
            "seconds": round(self.seconds, 2),
            "records_per_s": round(len(self.results) / self.seconds, 2) if self.seconds else None,
            "workers": self.workers,
            "ok_overall": self.ok,
        }

    def failures(self) -> list[dict[str, str]]:
        """One entry per bad object or orphan: record id, key, status (no free text: loggable)."""
        found = [
            {"record_id": r.record_id, "key": o.key, "role": o.role, "status": o.status}
            for r in self.results
            for o in r.objects
            if o.status != "ok"
        ]
        found += [{"record_id": "", "key": k, "role": "", "status": "orphan"} for k in self.orphans]
        return found

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (``--json``): summary, failures, per-record results."""
        return {
            "summary": self.summary(),
            "failures": self.failures(),
            "orphans": list(self.orphans),
            "records": [r.to_dict() for r in self.results],
        }


def parse_sample(text: str) -> int | float:
    """``"50"`` → 50 records; ``"0.1"`` or ``"10%"`` → a tenth of the catalog.

    Raises:
        ValueError: not a positive count or a fraction in (0, 1].
    """
    text = text.strip()
    if text.endswith("%"):
        value = float(text[:-1]) / 100
    elif text.isdigit():
        count = int(text)
        if count < 1:
            raise ValueError(f"sample must be at least 1 record: {text}")
        return count
    else:
        value = float(text)
    if not 0 < value <= 1:
        raise ValueError(f"a sample fraction must be in (0, 1]: {text}")
    return value


def select_rows(
    rows: Sequence[RecordRow], sample: float | None, *, seed: int | None = None
) -> list[RecordRow]:
    """The records to check: all, ``sample`` of them (a count), or a fraction, at random.

    A random sample (not "the first N") so that night after night every record has
    the same chance of being read back; ``seed`` makes a run reproducible.
    """
    ordered = sorted(rows, key=lambda r: r.id)
    if sample is None:
        return ordered
    count = sample if isinstance(sample, int) else math.ceil(sample * len(ordered))
    if count >= len(ordered):
        return ordered
    return sorted(random.Random(seed).sample(ordered, count), key=lambda r: r.id)


def workers_for(requested: int | None = None) -> int:
    """Parallel checks, bounded by the cores this process may use (validation is CPU-bound)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(requested or cores, cores))


def check_one(row: RecordRow, store: ObjectStore, settings: Settings) -> VerifyResult:
    """Check one record; a domain error (pdfsig crashing on a file) is that record's result."""
    try:
        return verify_record(row, store, settings)
    except (ConfigError, ExternalProgramError):
        raise  # a set-up problem (trust roots, pdfsig missing), not a finding about this record
    except SohoaError as exc:
        reason = exc.render("en")
        failed = ObjectCheck(row.pdf_key, "pdf", "unreadable", (reason,))
        return VerifyResult(
            row.id, row.dossier_code, row.pdf_key, False, (reason,), objects=(failed,)
        )


def check_records(
    rows: Iterable[RecordRow],
    store: ObjectStore,
    settings: Settings,
    *,
    workers: int = 1,
    on_result: Callable[[VerifyResult], None] | None = None,
) -> list[VerifyResult]:
    """Check records on ``workers`` threads; ``on_result`` hears about each as it finishes.

    Threads (not processes) suffice: downloads wait on the network, ``pdfsig`` runs
    as a child process, and the rest is hashing in C; pyHanko's share holds the GIL.
    """
    rows = list(rows)
    if workers <= 1:
        results = []
        for row in rows:
            results.append(check_one(row, store, settings))
            if on_result:
                on_result(results[-1])
        return results
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fixity") as pool:
        futures = [pool.submit(check_one, row, store, settings) for row in rows]
        for future in as_completed(futures):
            if on_result:
                on_result(future.result())
        return [f.result() for f in futures]


def find_orphans(store: ObjectStore, catalog: Catalog) -> list[str]:
    """Archive objects no catalog row points at (a failed commit, or a lost catalog row).

    Raises:
        StorageError: the store cannot be listed.
    """
    # The audit log's segments belong to no record (``sohoa verify --audit`` checks them).
    listed = [k for k in store.list(ARCHIVE_PREFIX) if not k.startswith(AUDIT_PREFIX)]
    known = catalog.object_keys()  # listed first: a record committed meanwhile is known
    candidates = [key for key in listed if key not in known]
    if candidates:  # a commit may have landed while the catalog was read: ask once more
        known = catalog.object_keys() | earlier_versions(store, catalog, candidates)
    return [key for key in candidates if key not in known]


def earlier_versions(store: ObjectStore, catalog: Catalog, keys: Iterable[str]) -> set[str]:
    """Keys of earlier versions (after a page change) that a catalogued record's manifest lists.

    Why: the catalog points at a record's newest version only, yet the versions before
    it stay in the archive on purpose (:mod:`records.versions`); they are no orphans when
    the newest manifest names them. Only records named by ``keys`` are read (one manifest
    each), so a clean archive costs nothing here.
    """
    record_ids = {key.rsplit("/", 1)[-1].split(".", 1)[0] for key in keys}
    found: set[str] = set()
    for record_id in record_ids:
        try:
            row = catalog.get_record(record_id)
            body = json.loads(store.get_bytes(row.manifest_key))
            refs = [h["previous"] for h in body.get("history") or ()]
            found.update(k for ref in refs for k in (ref["manifest"]["key"], ref["pdf"]["key"]))
        except (NotFoundError, ValueError, KeyError, TypeError):
            continue  # not a record's key, or a manifest verify reports on its own
    return found


def make_report(
    *,
    catalog_records: int,
    results: Iterable[VerifyResult],
    orphans: Sequence[str] | None,
    sampled: bool,
    workers: int,
    seconds: float,
) -> FixityReport:
    """Assemble a report from checked results (orphans ``None`` when not looked for)."""
    ordered = tuple(sorted(results, key=lambda r: r.record_id))
    return FixityReport(
        catalog_records=catalog_records,
        results=ordered,
        orphans=tuple(sorted(orphans or ())),
        sampled=sampled,
        workers=workers,
        seconds=seconds,
        orphans_checked=orphans is not None,
        counts=dict(Counter(r.status for r in ordered)),
    )


def run_fixity(
    settings: Settings,
    *,
    store: ObjectStore,
    catalog: Catalog,
    sample: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    orphans: bool = True,
    progress: FixityProgress | None = None,
) -> FixityReport:
    """Check every record (or a sample) and look for orphans; the CLI's whole run.

    Raises:
        StorageError: the catalog cannot be read or the archive cannot be listed.
    """
    started = time.monotonic()
    progress = progress or NullFixityProgress()
    everything = catalog.list_records()
    rows = select_rows(everything, sample, seed=seed)
    pool = workers_for(workers)
    progress.started(len(rows))
    results = check_records(rows, store, settings, workers=pool, on_result=progress.checked)
    lost = find_orphans(store, catalog) if orphans else None
    return make_report(
        catalog_records=len(everything),
        results=results,
        orphans=lost,
        sampled=len(rows) < len(everything),
        workers=pool,
        seconds=time.monotonic() - started,
    )


def renew_due_records(
    report: FixityReport,
    settings: Settings,
    *,
    store: ObjectStore,
    catalog: Catalog,
    claims_at: Any = None,
) -> list[Renewal]:
    """After a check: give every record it found due a new archive time-stamp (B-LTA).

    Why here: the fixity run has just downloaded and validated each record, so it knows
    which time-stamps near their authority's expiry; only those are re-read and
    re-stamped (:mod:`records.renewal`), each as a new version. A record that is
    damaged is never renewed (it is not ``ok``), so renewal cannot launder a change.
    """
    from records.renewal import due_records, renew_due  # signing and review: not for verify

    return renew_due(
        due_records(report.results),
        store=store,
        catalog=catalog,
        settings=settings,
        claims_at=claims_at,
    )


def renewal_line(renewals: Sequence[Renewal]) -> str:
    """One English line for the flow's log: counts per outcome (no names)."""
    counts = Counter(r.outcome for r in renewals)
    parts = ", ".join(
        f"{counts.get(o, 0)} {o}" for o in ("renewed", "blocked", "failed", "not_due")
    )
    return f"fixity: archive time-stamps due for renewal: {len(renewals)} ({parts})"


def summary_line(report: FixityReport) -> str:
    """The one-line English summary a flow logs (counts only: no personal data)."""
    s = report.summary()
    orphans = "not checked" if s["orphans"] is None else s["orphans"]
    return (
        f"fixity: checked {s['checked']}/{s['catalog_records']} records"
        f"{' (sample)' if s['sampled'] else ''} on {s['workers']} worker(s) in {s['seconds']} s: "
        f"{s['ok']} ok, {s['missing']} missing, {s['changed']} changed, {s['invalid']} invalid, "
        f"{s['unreadable']} unreadable; orphans: {orphans}"
    )
