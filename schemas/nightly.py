"""Frozen result types of the nightly run (:mod:`flows.nightly`, ``sohoa nightly``).

They hold counts, batch ids, object keys and error *type names* only: no file
names, no OCR text, no personal data, because the summary is logged, printed
and read by monitoring. Why error type names and not messages: a message names
the user's file (``nguyen-van-a-cccd.pdf``), and callers must branch on types,
never on text. No I/O here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

BatchResult = Literal["archived", "failed", "quarantined", "skipped", "busy"]
"""What the night did with one waiting batch.

``archived``: every record is in the archive and the catalog (the inbox folder is gone).
``failed``: an outage or a bug stopped it; the originals stay in the inbox for a retry.
``quarantined``: bad input (corrupt, encrypted, too large, OCR failed); never retried.
``skipped``: its nightly attempts are used up (``nightly.max_attempts``); left for a person.
``busy``: another process held the batch's claim; that process is working on it.
"""

Step = Literal["inbox", "intake", "fixity", "reports", "backup"]
"""A part of the night that can fail as a whole."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BatchOutcome(_Frozen):
    """One waiting batch and what became of it."""

    batch_id: str
    """The batch id (content hash of files and options; also the inbox folder name)."""
    result: BatchResult
    """See :data:`BatchResult`."""
    attempt: int = 0
    """This night's attempt number for the batch (1 for the first); 0 when not attempted."""
    retried: bool = False
    """True when an earlier attempt (an ``ingest`` or a night) had failed or been killed."""
    records: int = 0
    """Records archived for the batch (a mixed stack splits into several)."""
    needs_review: int = 0
    """Of those, records a person must re-check (``sohoa review``)."""
    error: str | None = None
    """Type of the error that failed or quarantined it, e.g. ``StorageError``."""
    exit_code: int | None = None
    """The exit code that error maps to (:func:`sohoa.errors.exit_code_of`)."""


class StepError(_Frozen):
    """A part of the night that could not run (the store or catalog down, a bug)."""

    step: Step
    """Which part."""
    error: str
    """Type of the error."""
    exit_code: int
    """The exit code that error maps to (:func:`sohoa.errors.exit_code_of`)."""


class NightlySummary(_Frozen):
    """What one nightly run did: logged, returned by the flow, printed by ``sohoa nightly``."""

    day: date
    """The reported day (the previous calendar day in ``nightly.timezone`` unless given)."""
    started_at: datetime
    """When the run started (UTC)."""
    duration_s: float
    """Wall-clock seconds the run took."""
    batches: tuple[BatchOutcome, ...] = ()
    """Every waiting batch found, in the order they were taken (oldest first)."""
    incomplete: tuple[str, ...] = ()
    """Inbox folders without a complete ``batch.json`` (an upload cut off while copying),
    and intake tickets that cannot be read (their keys)."""
    fixity_checked: int = 0
    """Records whose objects and signatures were read back (a random sample)."""
    fixity_problems: int = 0
    """Of those, records missing, changed, badly signed or unreadable, plus orphans found."""
    fixity_exit_code: int = 0
    """0 when the sample was intact, else the fixity check's own exit code (9 damage, 8 unreadable)."""
    report_keys: tuple[str, ...] = ()
    """Object keys of the reports written (the day's and the month-to-date, each format)."""
    reports_skipped: str | None = None
    """Why no report was written although nothing failed (e.g. the report code is missing)."""
    backup_key: str | None = None
    """Object key of the catalog backup written (accounts, tokens, units, register, batch
    outcomes); ``None`` when the backup step could not run (then in ``step_errors``)."""
    audit_sealed: int = 0
    """Audit entries sealed into the store's object-locked segments this night."""
    step_errors: tuple[StepError, ...] = ()
    """Parts of the night that could not run."""

    def _count(self, *results: BatchResult) -> int:
        return sum(b.result in results for b in self.batches)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def processed(self) -> int:
        """Batches the digitise flow ran on this night (archived, failed or quarantined)."""
        return self._count("archived", "failed", "quarantined")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def archived(self) -> int:
        """Batches fully archived this night (including those with records to review)."""
        return self._count("archived")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def needs_review(self) -> int:
        """Archived batches with at least one record to review."""
        return sum(b.result == "archived" and b.needs_review > 0 for b in self.batches)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> int:
        """Batches that failed this night; their originals stay in the inbox."""
        return self._count("failed")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def quarantined(self) -> int:
        """Batches found to be bad input this night (moved to quarantine, not retried)."""
        return self._count("quarantined")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def retried(self) -> int:
        """Processed batches that had failed (or been cut off) before."""
        return sum(b.retried and b.attempt > 0 for b in self.batches)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skipped(self) -> int:
        """Batches left alone because their attempts are used up."""
        return self._count("skipped")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def busy(self) -> int:
        """Batches another process was working on."""
        return self._count("busy")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True when nothing failed, nothing was quarantined and the fixity sample was intact."""
        return not (
            self.failed or self.quarantined or self.fixity_problems or self.step_errors
        ) and (self.fixity_exit_code == 0)

    def ids(self, result: BatchResult) -> list[str]:
        """Ids of the batches with ``result``, in processing order."""
        return [b.batch_id for b in self.batches if b.result == result]
