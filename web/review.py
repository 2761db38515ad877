"""The clerk's review: the queue, one record's fields beside their crops, corrections, acceptance.

The pages (:mod:`web.routes_review`) and the API (:mod:`web.api_clerk`) call these
functions; they call the library the CLI's ``sohoa review`` calls
(:func:`services.review.review_queue`, :func:`~services.review.review_set`,
:func:`~services.review.review_accept`), with the signed-in user as ``by`` and the
revision the form carried (see :mod:`records.review`: a stale one is refused with
409 and nothing is lost). Every view, crop, correction and acceptance is audited
with the record id and field names only.

Several records are accepted at once with :func:`accept_many` (the queue's checkboxes,
``POST /review/accept`` and ``POST /api/review/accept``): each goes through :func:`accept`,
so each gets the same unit check, lock, revision check, history entry and audit row as a
single acceptance, and the answer says which were accepted and why the others were not.

A clerk limited to a unit gets 403 for another unit's record (:func:`web.auth.check_unit`,
also audited as ``access.denied``) rather than 404: record ids are hashes nobody
guesses, so 403 hides nothing worth hiding, it tells a clerk who followed a stale
link what happened, and it leaves a trace a supervisor can find.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack

from starlette.requests import Request

from catalog.audit import Action
from catalog.rows import RecordRow
from records.commit import load_manifest
from records.review import ChangeOptions, review_reason
from schemas.fields import FIELD_LABELS_VI, FIELD_NAMES, FieldValue
from schemas.models import Manifest
from services.review import (
    bulk_refusal,
    check_bulk_accept,
    review_accept,
    review_queue,
    review_set,
)
from sohoa.errors import InvalidRequestError, SohoaError
from storage.stores import open_store
from web.audit import audit
from web.auth import Principal, check_unit, scope_units
from web.crops import CropCache
from web.deps import catalog_of, settings_of
from web.i18n import request_lang

__all__ = [
    "BulkOutcome",
    "BulkResult",
    "FieldRow",
    "ReviewDetail",
    "accept",
    "accept_many",
    "correct",
    "crop",
    "detail_of",
    "field_label",
    "parse_selection",
    "queue",
    "review_detail",
]


@dataclass(frozen=True)
class FieldRow:
    """One field of a record with its evidence, as the review page shows it."""

    name: str
    label: str
    value: str
    raw: str
    confidence: float | None
    method: str | None
    problem: str | None
    page: int | None
    """1-based page of the record's PDF where the value was read."""
    box: tuple[int, int, int, int] | None
    crop_url: str | None
    reasons: tuple[str, ...]
    """Why this field needs a look, in the reader's language."""
    present: bool
    """False for a required field that was not found (shown empty, to be typed)."""


@dataclass(frozen=True)
class ReviewDetail:
    """One record as the review page shows it."""

    id: str
    batch_id: str
    dossier_code: str
    unit: str
    kind: str
    status: str
    pages: int
    created_at: datetime
    revision: int
    """What the forms send back (:func:`records.review.revision_of`)."""
    reasons: tuple[str, ...]
    reason_codes: tuple[str, ...]
    fields: tuple[FieldRow, ...]
    """Fields found or missing; fields with a reason first."""
    others: tuple[tuple[str, str], ...]
    """``(name, label)`` of the fields not found and not required, to add one."""
    corrections: tuple[dict[str, Any], ...]
    """The history, oldest first: field, old, new, by, at, reason."""


def field_label(name: str, lang: str) -> str:
    """A field's name for people: the Vietnamese label, or the English identifier in words."""
    if name == "*":
        return "✓"
    return FIELD_LABELS_VI.get(name, name) if lang == "vi" else name.replace("_", " ")


def _field_of(code: str) -> str:
    return code.split(":")[1] if code.count(":") else ""


def _row(record_id: str, found: FieldValue | None, name: str, lang: str, codes) -> FieldRow:
    mine = tuple(review_reason(c, lang) for c in codes if _field_of(c) == name)
    if found is None:
        empty = dict.fromkeys(("confidence", "method", "problem", "page", "box", "crop_url"))
        label = field_label(name, lang)
        return FieldRow(name, label, "", "", reasons=mine, present=False, **empty)
    page = None if found.page is None else found.page + 1
    crop_url = None
    if page is not None and found.box is not None:
        box = ",".join(str(v) for v in found.box)
        crop_url = f"/records/{record_id}/pages/{page}/crop?box={box}"
    return FieldRow(
        name=name,
        label=field_label(name, lang),
        value=found.value,
        raw=found.raw,
        confidence=found.confidence,
        method=found.method,
        problem=found.problem,
        page=page,
        box=found.box,
        crop_url=crop_url,
        reasons=mine,
        present=True,
    )


def detail_of(row: RecordRow, manifest: Manifest, lang: str) -> ReviewDetail:
    """Build the page's view of a record from its catalog row and manifest (no I/O)."""
    codes = tuple(manifest.review_reasons)
    found = {f.name: f for f in manifest.fields}
    flagged = [n for n in FIELD_NAMES if any(_field_of(c) == n for c in codes)]
    shown = flagged + [n for n in FIELD_NAMES if n in found and n not in flagged]
    rows = tuple(_row(row.id, found.get(n), n, lang, codes) for n in shown)
    others = tuple((n, field_label(n, lang)) for n in FIELD_NAMES if n not in shown)
    history = tuple(c.model_dump(mode="json") for c in manifest.corrections)
    return ReviewDetail(
        id=row.id,
        batch_id=row.batch_id,
        dossier_code=manifest.dossier_code,
        unit=manifest.unit,
        kind=manifest.kind,
        status=manifest.status,
        pages=len(manifest.pages),
        created_at=manifest.created_at,
        revision=len(manifest.corrections),
        reasons=tuple(review_reason(c, lang) for c in codes),
        reason_codes=codes,
        fields=rows,
        others=others,
        corrections=history,
    )


def queue(
    request: Request, principal: Principal, *, batch: str | None = None
) -> list[dict[str, Any]]:
    """Records needing review that the clerk may handle, oldest first, reasons in their language.

    ``batch``: only that batch's records (the queue filtered to one upload, to accept it whole).
    """
    lang = request_lang(request)
    items = review_queue(settings_of(request), unit=scope_units(request, principal))
    if batch:
        items = [item for item in items if item["batch_id"] == batch]
    for item in items:
        item["reasons_text"] = [review_reason(c, lang) for c in item["reasons"]]
    return items


def _record(request: Request, principal: Principal, record_id: str) -> RecordRow:
    """The record's row, refused when it belongs to another unit than the clerk's."""
    row = catalog_of(request).get_record(record_id)
    check_unit(request, principal, row.unit)
    return row


def review_detail(request: Request, principal: Principal, record_id: str) -> ReviewDetail:
    """One record for review (audited as ``record.view``).

    Raises:
        NotFoundError: no such record (404).
        PermissionDeniedError: another unit's record (403).
    """
    row = _record(request, principal, record_id)
    manifest = load_manifest(open_store(settings_of(request)), row.manifest_key)
    audit(request, Action.RECORD_VIEW, target=row.id, view="review")
    return detail_of(row, manifest, request_lang(request))


def correct(
    request: Request,
    principal: Principal,
    record_id: str,
    field: str,
    *,
    value: str,
    **options: Unpack[ChangeOptions],
) -> dict[str, Any]:
    """Correct one field (history kept, audited as ``record.correct`` with the field's name).

    ``options`` are the form's reason, revision and force (:class:`records.review.ChangeOptions`).

    Raises:
        StaleRevisionError: the record changed since ``revision`` (409, nothing saved).
        BadInputError: unknown field or invalid value without ``force`` (422).
    """
    row = _record(request, principal, record_id)
    result = review_set(settings_of(request), row.id, field, value, by=principal.name, **options)
    detail = {"field": field, "revision": result["revision"], "forced": options.get("force", False)}
    audit(request, Action.RECORD_CORRECT, target=row.id, **detail)
    return result


def accept(
    request: Request,
    principal: Principal,
    record_id: str,
    **options: Unpack[ChangeOptions],
) -> dict[str, Any]:
    """Mark the record reviewed (audited as ``record.accept``); see :func:`correct` for errors."""
    row = _record(request, principal, record_id)
    result = review_accept(settings_of(request), row.id, by=principal.name, **options)
    detail = {"revision": result["revision"], "forced": options.get("force", False)}
    audit(request, Action.RECORD_ACCEPT, target=row.id, **detail)
    return result


@dataclass(frozen=True)
class BulkOutcome:
    """What became of one record of a bulk acceptance."""

    id: str
    """The id as it was sent."""
    outcome: str
    """``accepted``, or why not (:data:`services.review.BULK_OUTCOMES`)."""
    revision: int | None = None
    """The record's revision after its acceptance (``None`` when it was not accepted)."""


@dataclass(frozen=True)
class BulkResult:
    """Every record of a bulk acceptance, in the order sent."""

    outcomes: tuple[BulkOutcome, ...]

    @property
    def accepted(self) -> tuple[BulkOutcome, ...]:
        """The records accepted."""
        return tuple(o for o in self.outcomes if o.outcome == "accepted")

    @property
    def refused(self) -> tuple[BulkOutcome, ...]:
        """The records not accepted, each with why."""
        return tuple(o for o in self.outcomes if o.outcome != "accepted")


def parse_selection(values: Iterable[str]) -> list[tuple[str, int]]:
    """``(id, revision)`` of each ticked box of the queue (``ID:REVISION``, one value per box).

    Why one value per box: an unticked box sends nothing, so ids and revisions sent as
    two lists would no longer line up.

    Raises:
        InvalidRequestError: a value that is not an id and a revision (a forged form).
    """
    items = []
    for value in values:
        record_id, _, revision = value.rpartition(":")
        if not (record_id and revision.isdigit() and len(value) <= 100):
            raise InvalidRequestError("review_bulk_bad_item", item=value[:100])
        items.append((record_id, int(revision)))
    return items


def accept_many(
    request: Request,
    principal: Principal,
    items: Sequence[tuple[str, int]],
    *,
    reason: str,
    force: bool = False,
) -> BulkResult:
    """Accept each ``(id, revision)`` with one reason; a record that cannot be is reported.

    An id sent twice counts once. A store or catalog outage stops the request (the
    records accepted before it stay accepted, each with its history and audit row).

    Raises:
        InvalidRequestError: nothing selected, too many records, or no reason
            (:func:`services.review.check_bulk_accept`); nothing is changed.
    """
    first: dict[str, int] = {}
    for record_id, revision in items:
        first.setdefault(record_id, revision)
    unique = list(first.items())
    check_bulk_accept(len(unique), reason)
    options = {"reason": reason.strip(), "force": force}
    outcomes = [_accept_one(request, principal, i, r, options) for i, r in unique]
    return BulkResult(tuple(outcomes))


def _accept_one(
    request: Request, principal: Principal, record_id: str, revision: int, options: dict
) -> BulkOutcome:
    """Accept one record of a bulk acceptance as :func:`accept` does, or say why it was not.

    A record already out of the queue is not accepted again, even at its current
    revision: the bulk form is for records waiting for review.
    """
    try:
        if _record(request, principal, record_id).status != "needs_review":
            return BulkOutcome(record_id, "not_in_review")
        result = accept(request, principal, record_id, revision=revision, **options)
    except SohoaError as exc:
        outcome = bulk_refusal(exc)
        if outcome is None:
            raise
        if outcome == "unit_denied":  # what the app's error handler does for one record
            path = request.url.path
            audit(request, Action.ACCESS_DENIED, target=path, reason=exc.key, record=record_id)
        return BulkOutcome(record_id, outcome)
    return BulkOutcome(record_id, "accepted", result["revision"])


_crops_lock = threading.Lock()


def _crop_cache(request: Request) -> CropCache:
    app = request.app
    with _crops_lock:
        cache = getattr(app.state, "crops", None)
        if cache is None:
            cache = app.state.crops = CropCache()
    return cache


def crop(
    request: Request, principal: Principal, record_id: str, page: int, box: tuple[int, ...]
) -> bytes:
    """PNG of a page of the record's signed PDF around ``box`` (audited as a view of it)."""
    row = _record(request, principal, record_id)
    store = open_store(settings_of(request))
    manifest = load_manifest(store, row.manifest_key)
    audit(request, Action.RECORD_VIEW, target=row.id, view="crop", page=page)
    return _crop_cache(request).crop(store, row, manifest.pages, page, box)  # type: ignore[arg-type]
