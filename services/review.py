"""Review for the CLI and the web: the queue, correcting a field, accepting a record.

``sohoa review`` (:mod:`cli.review`) and the clerk's pages and API
(:mod:`web.review`) call these same functions. The changes themselves, their
history and the revision check are :mod:`records.review`'s; here the store, the
catalog and the record claims are opened from the settings, and the record after
a change is returned as a plain dict (:func:`review_result`) ready for JSON.

A bulk acceptance (the web queue's "accept the selected records") accepts each record
through :func:`review_accept` like a single one; :func:`check_bulk_accept` refuses a
request before any record is touched and :func:`bulk_refusal` names why one record of
it was not accepted, so every surface reports the same outcomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Unpack

from catalog.database import open_catalog
from catalog.rows import RecordRow
from records.commit import load_manifest
from records.review import ChangeOptions, accept_record, correct_field, review_reason
from schemas.models import Manifest
from schemas.settings import Settings
from sohoa.errors import (
    BadInputError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    SohoaError,
    StaleRevisionError,
)
from storage.stores import open_store
from storage.waiting import claim_place

__all__ = [
    "BULK_OUTCOMES",
    "MAX_BULK_ACCEPT",
    "bulk_refusal",
    "check_bulk_accept",
    "review_accept",
    "review_queue",
    "review_result",
    "review_set",
]

MAX_BULK_ACCEPT = 200
"""Most records one bulk acceptance takes: a large batch's records on one page, while one
request (each record under its own lock, a manifest write each) stays a few seconds."""
BULK_OUTCOMES = ("changed", "not_in_review", "unit_denied", "not_found", "open_fields", "busy")
"""Why a record of a bulk acceptance was not accepted (:func:`bulk_refusal`)."""


def review_queue(settings: Settings, *, unit: str | None = None) -> list[dict]:
    """Records waiting for a clerk: why each needs a look, oldest first.

    Each carries its batch and its ``revision`` (the number of changes in its history,
    as the catalog mirrors it), so a list of records can be accepted at once with the
    revision each was seen at.
    """
    catalog = open_catalog(settings.resolved_catalog_url)
    rows = [_with_reasons(settings, r) for r in catalog.list_for_review(unit=unit)]
    return [
        {
            "id": r.id,
            "batch_id": r.batch_id,
            "revision": len(catalog.corrections(r.id)),
            "dossier_code": r.dossier_code,
            "unit": r.unit,
            "kind": r.kind,
            "pages": r.page_count,
            "created_at": r.created_at.isoformat(timespec="seconds"),
            "reasons": list(r.review_reasons),
            "reasons_text": [review_reason(code) for code in r.review_reasons],
        }
        for r in rows
    ]


def _with_reasons(settings: Settings, row: RecordRow) -> RecordRow:
    """Rows catalogued before reasons had a column get them from their (upgraded) manifest."""
    if row.review_reasons:
        return row
    manifest = load_manifest(open_store(settings), row.manifest_key)
    return replace(row, review_reasons=manifest.review_reasons)


def review_set(
    settings: Settings,
    record_id: str,
    field: str,
    value: str,
    *,
    by: str,
    **options: Unpack[ChangeOptions],
) -> dict:
    """Correct one field of a record (history kept; the signed PDF is not touched).

    ``options`` are reason, force and revision (:class:`records.review.ChangeOptions`);
    a revision other than the record's current one raises
    :class:`sohoa.errors.StaleRevisionError` (``None``: last writer wins).
    """
    return _saved(
        settings,
        correct_field,
        record_id,
        by,
        options,
        settings=settings.fields,
        field=field,
        value=value,
    )


def review_accept(
    settings: Settings, record_id: str, *, by: str, **options: Unpack[ChangeOptions]
) -> dict:
    """Mark a record as reviewed (fields complete and valid, or accepted as they are)."""
    return _saved(settings, accept_record, record_id, by, options)


def check_bulk_accept(count: int, reason: str) -> None:
    """Refuse a bulk acceptance before any record is touched.

    Why a reason is required here when a single acceptance may go without: one decision
    covers many records, and the history of each must say why it was taken.

    Raises:
        InvalidRequestError: nothing selected, more than :data:`MAX_BULK_ACCEPT`
            records, or no reason.
    """
    if count == 0:
        raise InvalidRequestError("review_bulk_empty")
    if count > MAX_BULK_ACCEPT:
        raise InvalidRequestError("review_bulk_too_many", n=count, max=MAX_BULK_ACCEPT)
    if not reason.strip():
        raise InvalidRequestError("review_bulk_no_reason")


_REFUSALS: tuple[tuple[type[SohoaError], str], ...] = (
    (NotFoundError, "not_found"),
    (PermissionDeniedError, "unit_denied"),
    (ConflictError, "busy"),
    (BadInputError, "open_fields"),
)


def bulk_refusal(exc: SohoaError) -> str | None:
    """Why one record of a bulk acceptance was not accepted (one of :data:`BULK_OUTCOMES`).

    A stale revision is "not_in_review" when the record left the queue since it was
    seen (a colleague accepted or completed it), else "changed". ``None``: the error
    is not about that record (the store is down…) and should stop the request.
    """
    if isinstance(exc, StaleRevisionError):
        gone = exc.manifest is not None and exc.manifest.status != "needs_review"
        return "not_in_review" if gone else "changed"
    return next((outcome for kind, outcome in _REFUSALS if isinstance(exc, kind)), None)


def _saved(
    settings: Settings,
    change: Callable[..., Manifest],
    record_id: str,
    by: str,
    options: ChangeOptions,
    /,
    **arguments: Any,
) -> dict:
    """Make one review ``change`` on the shared store and catalog, under the record's claim."""
    manifest = change(
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
        record_id=record_id,
        by=by,
        claims_at=claim_place(settings),
        **arguments,
        **options,
    )
    return review_result(manifest)


def review_result(manifest: Manifest) -> dict:
    """The record after a change, as the CLI prints it and the API returns it (also in a 409)."""
    return {
        "id": manifest.record_id,
        "status": manifest.status,
        "revision": len(manifest.corrections),
        "dossier_code": manifest.dossier_code,
        "review_reasons": list(manifest.review_reasons),
        "fields": {f.name: f.value for f in manifest.fields},
        "corrections": [c.model_dump(mode="json") for c in manifest.corrections],
    }
