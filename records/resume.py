"""Resume a record an earlier run left half-archived: reuse its signed PDF, never sign again.

Why: every upload to the archive adds a version under object lock, kept for years. A run
killed (``kill -9``, the machine lost) after a record's signed PDF was uploaded but
before its manifest was would, on the next run, sign the record again — a new signing
time, so new bytes — and upload a second signed copy beside the first that nobody can
delete. The record id and its keys are the same on every run
(:func:`records.commit.record_id_for`), so the next run looks first: a signed PDF at the
record's key whose bytes match the hash the store recorded and whose signature holds is
the record's; it is committed as it is (:func:`records.commit.commit_record` sees the
same bytes and does not upload them again) with a manifest describing it, its signature
read back from the file. What each crash point leaves and what the rerun does: the
table in ``docs/archive.md`` ("Crash and rerun").
"""

from __future__ import annotations

import logging
from datetime import UTC
from pathlib import Path

from pdf.sign.validation import SignatureCheck, validate_signature
from schemas.models import RecordDraft, SignatureSummary
from schemas.settings import Settings
from sohoa.errors import ChecksumMismatchError, NotFoundError
from storage import object_keys
from storage.inbox import ReceivedBatch
from storage.objectstore import ObjectStore, sha256_file

log = logging.getLogger(__name__)


def stored_signed_pdf(
    batch: ReceivedBatch, draft: RecordDraft, store: ObjectStore, dest: Path, settings: Settings
) -> SignatureSummary | None:
    """Download the record's stored signed PDF to ``dest`` and read its signature back.

    Returns:
        The signature's summary, for the record's manifest; ``None`` when no PDF is
        stored at the record's key, or when the one there is damaged (its bytes are not
        those the store recorded, or its signature does not hold): the record is then
        signed afresh, and that new version supersedes the damaged one (logged). A crash
        cannot leave such a file (uploads are atomic on both stores), only damage can.

    Raises:
        StorageError: the store cannot be read (retried by the caller).
    """
    prefix = object_keys.record_prefix(batch.unit, batch.received_at, draft.dossier_code)
    return reusable_signed_pdf(store, object_keys.pdf_key(prefix, draft.record_id), dest, settings)


def reusable_signed_pdf(
    store: ObjectStore, key: str, dest: Path, settings: Settings
) -> SignatureSummary | None:
    """Download the signed PDF at ``key`` to ``dest``; its signature's summary if it holds.

    The check :func:`stored_signed_pdf` makes, for any key: a record's next version
    (:mod:`records.versions`) resumes its ``.v{n}.pdf`` the same way.

    Returns:
        ``None`` when nothing is stored at ``key`` or what is there is damaged (logged).

    Raises:
        StorageError: the store cannot be read.
    """
    try:  # the local store reads the hash from a side file: compared here for both
        intact = store.download(key, dest).sha256 == sha256_file(dest)
    except NotFoundError:
        return None
    except ChecksumMismatchError:  # S3 compares while it downloads
        intact = False
    check = validate_signature(dest, settings) if intact else None
    if check is None or not _holds(check):
        why = "its bytes are not those recorded at upload" if check is None else check.problems
        log.warning("stored PDF %s not reused, the record is signed again: %s", key, why)
        return None
    return _summary(check)


def _holds(check: SignatureCheck) -> bool:
    """The file is signed, unchanged since, and its signature verifies.

    Why not :attr:`SignatureCheck.ok`: that also asks for a chain to a trust root, which
    says whether the configured roots know the signer, not whether this file is the one
    signed; a record whose signer ``verify`` does not trust must not be signed twice for it.
    """
    return bool(
        check.signature_count
        and check.intact
        and check.valid
        and not check.modified_after_signing
        and check.signed_at is not None
        and check.level is not None
    )


def _summary(check: SignatureCheck) -> SignatureSummary:
    """The manifest's signature facts, read back from the file as signing reports them."""
    assert check.signed_at is not None and check.level is not None  # _holds
    return SignatureSummary(
        signer=check.signer or "",
        issuer=check.issuer or "",
        serial=check.serial or "",
        demo=check.demo,
        signed_at=check.signed_at.astimezone(UTC),
        level=check.level,  # type: ignore[arg-type] - one of the three levels
        timestamped_at=check.timestamped_at,
    )
