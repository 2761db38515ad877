"""Corrections in review: change a field's value, keep the history, never touch the signed PDF.

Why this shape: the signed PDF is the legal copy and must stay byte for byte as
signed, so a clerk's correction lives in the manifest (the archive's record of
the record) and in the catalog mirrored from it. Each change appends a
:class:`~schemas.fields.Correction` (who, when, old, new, why); the record's
field reasons are recomputed from its corrected fields with the same function
the pipeline uses (:func:`ocr.fields.review_reasons`), and it leaves
``needs_review`` when none remain.

**Revisions.** A record's revision is the number of changes in its history
(:func:`revision_of`): every correction and acceptance appends one, nothing ever
removes one (a batch re-run carries them over), so the count only grows. A caller
that showed the record to a person passes the revision it showed; if the record
changed since, :class:`~sohoa.errors.StaleRevisionError` is raised and nothing is
written, so two clerks correcting the same record at once cannot lose a change.
Without a revision (``sohoa review set`` unless ``--revision`` is given) the last
writer wins, as before. Read, check and write happen under a per-record claim
(:mod:`storage.claims`: a ``flock``, or an advisory lock on a PostgreSQL catalog) shared
by the web app's threads, every CLI process and every machine sharing the catalog, so the check cannot race with another writer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypedDict, Unpack

from catalog.database import Catalog
from ocr.fields import review_reasons, valid_value, with_field
from ocr.persons import with_corrected
from ocr.rules import Rules, load_rules
from ocr.validators import VALIDATORS, Checked
from records.commit import load_manifest, put_manifest
from schemas.fields import (
    FIELD_LABELS_VI,
    FIELD_NAMES,
    PERSON_ROLE_LABELS_VI,
    Correction,
    FieldValue,
)
from schemas.models import Manifest
from schemas.settings import FieldSettings
from sohoa.errors import BadInputError, ConflictError, StaleRevisionError
from sohoa.messages import catalogue, current_lang
from storage import claims
from storage.objectstore import ObjectStore

ACCEPT = "*"
"""The ``field`` of a correction that accepts the record as reviewed."""
LOCK_WAIT_S = 10.0
"""How long a change waits for another one on the same record before giving up."""


def revision_of(manifest: Manifest) -> int:
    """The record's revision: how many changes its history holds (only ever grows)."""
    return len(manifest.corrections)


@contextmanager
def record_lock(claims_at: claims.Place | None, record_id: str) -> Iterator[None]:
    """Hold the record's claim for the block, waiting up to :data:`LOCK_WAIT_S` for it.

    ``claims_at`` ``None`` takes no lock (a caller that is the only writer).

    Raises:
        ConflictError: another writer kept the record longer than the wait.
    """
    if claims_at is None:
        yield
        return
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        with claims.claim(claims_at, f"record-{record_id}") as held:
            if held:
                yield
                return
        if time.monotonic() > deadline:
            raise ConflictError("record_busy", record=record_id)
        time.sleep(0.02)


def check_revision(manifest: Manifest, revision: int | None) -> None:
    """Refuse a change made from an older view of the record (``None``: no check).

    Shared with page changes (:mod:`records.versions`): a new version also appends to
    the history, so one revision count guards both kinds of change.
    """
    current = revision_of(manifest)
    if revision is not None and revision != current:
        raise StaleRevisionError(
            record=manifest.record_id, expected=revision, current=current, manifest=manifest
        )


class ChangeOptions(TypedDict, total=False):
    """How a review change is made, the same for a correction and an acceptance.

    Why a typed dict: the CLI, the web and :mod:`services.review` pass these through
    unchanged, so they are named (and their defaults given) here only.
    """

    reason: str
    """Why, kept in the history (default ``""``)."""
    force: bool
    """Keep a value that fails validation, or accept open fields as they are (default False)."""
    revision: int | None
    """The revision the person saw (:func:`revision_of`); ``None`` (default) skips the check."""


def correct_field(
    *,
    store: ObjectStore,
    catalog: Catalog,
    settings: FieldSettings,
    record_id: str,
    field: str,
    value: str,
    by: str,
    claims_at: claims.Place | None = None,
    **options: Unpack[ChangeOptions],
) -> Manifest:
    """Set ``field`` of a record to ``value`` typed by a clerk; return the new manifest.

    Args:
        claims_at: where the per-record claim is kept (``None``: no lock).
        **options: reason, force and revision (:class:`ChangeOptions`).

    Raises:
        BadInputError: unknown field, or a value that fails the field's validator
            (pass ``force=True`` to keep it anyway; it stays flagged).
        NotFoundError: no such record.
        StaleRevisionError: the record changed since ``revision``; nothing was written.
    """
    if field not in FIELD_NAMES:
        raise BadInputError("unknown_field", field=field, known=", ".join(FIELD_NAMES))
    rules = load_rules(settings.rules_path)
    checked = check_value(rules, field, value)
    if checked.problem and not options.get("force", False):
        raise BadInputError("invalid_value", field=field, value=value, problem=checked.problem)

    def corrected(manifest: Manifest) -> Manifest:
        old = next((f for f in manifest.fields if f.name == field), None)
        new = FieldValue(
            name=field,
            value=checked.value,
            raw=value,
            confidence=1.0,
            method="manual",
            page=old.page if old else None,
            box=old.box if old else None,
            problem=checked.problem,
        )
        fields = with_field(manifest.fields, new)
        change = _correction(field, old.value if old else None, new.value, by, options)
        reasons = _recomputed(manifest, fields, field, rules, settings.review_confidence)
        updated = _updated(manifest, fields=fields, change=change, reasons=reasons)
        people = with_corrected(manifest.persons, manifest.kind, field, new.value)
        return updated.model_copy(update={"persons": people})

    return _change(store, catalog, record_id, claims_at, _revision(options), corrected)


def accept_record(
    *,
    store: ObjectStore,
    catalog: Catalog,
    record_id: str,
    by: str,
    claims_at: claims.Place | None = None,
    **options: Unpack[ChangeOptions],
) -> Manifest:
    """Mark a record as reviewed: clears low-confidence pages and fields and disagreements.

    A missing or invalid field must be corrected first, unless ``force`` records
    that the clerk accepts it as it is (a company as applicant fails the person-name
    check, for instance); the acceptance and its reason go into the history.
    ``claims_at`` and ``options`` work as in :func:`correct_field`.

    Raises:
        BadInputError: a field is still missing or invalid and ``force`` is not set.
        StaleRevisionError: the record changed since ``revision``; nothing was written.
    """

    def accepted(manifest: Manifest) -> Manifest:
        open_fields = [r for r in manifest.review_reasons if r.startswith(("missing:", "invalid:"))]
        if open_fields and not options.get("force", False):
            raise BadInputError(
                "review_open_fields", record=manifest.record_id, reasons=", ".join(open_fields)
            )
        old = "; ".join(manifest.review_reasons) or manifest.status
        change = _correction(ACCEPT, old, "archived", by, options)
        return _updated(manifest, fields=manifest.fields, change=change, reasons=())

    return _change(store, catalog, record_id, claims_at, _revision(options), accepted)


def _change(
    store: ObjectStore,
    catalog: Catalog,
    record_id: str,
    claims_at: claims.Place | None,
    revision: int | None,
    make: Callable[[Manifest], Manifest],
) -> Manifest:
    """The one write path of review: claim the record, re-read it, check the revision the
    caller saw, make the change and store the new manifest (archive, then catalog)."""
    record_id = catalog.get_record(record_id).id  # a prefix names the same lock as the full id
    with record_lock(claims_at, record_id):
        row, manifest = _current(store, catalog, record_id)
        check_revision(manifest, revision)
        updated = make(manifest)
        put_manifest(updated, row.manifest_key, store, catalog)
    return updated


def _revision(options: ChangeOptions) -> int | None:
    """The revision the person saw, after refusing option names :class:`ChangeOptions` lacks.

    Why refuse: the options travel as ``**kwargs`` through the CLI, the web and the
    services, and a misspelt ``revison=`` would otherwise be dropped silently, turning
    the stale-revision check off (last writer wins) without a word.
    """
    unknown = set(options) - set(ChangeOptions.__annotations__)
    if unknown:
        raise TypeError(f"unknown review option(s): {', '.join(sorted(unknown))}")
    return options.get("revision")


def _correction(
    field: str, old: str | None, new: str | None, by: str, options: ChangeOptions
) -> Correction:
    """One history entry, stamped now, with the caller's reason."""
    reason = options.get("reason", "")
    return Correction(field=field, old=old, new=new, by=by, at=datetime.now(UTC), reason=reason)


def _current(store: ObjectStore, catalog: Catalog, record_id: str):
    """The record's catalog row and the manifest it points at (the one a change starts from)."""
    row = catalog.get_record(record_id)
    return row, load_manifest(store, row.manifest_key)


def check_value(rules: Rules, field: str, value: str) -> Checked:
    """Check a typed value with the validator the field rules use for that field."""
    names = [r.validator for t in rules.doc_types.values() for r in t.fields if r.name == field]
    return VALIDATORS[names[0] if names else "text"](value)


def _recomputed(manifest: Manifest, fields, corrected: str, rules: Rules, min_confidence):
    """Field reasons rebuilt from the corrected fields; page reasons and other disagreements kept."""
    disagreements = [
        r.split(":")[1]
        for r in manifest.review_reasons
        if r.startswith("disagreement:") and r.split(":")[1] != corrected
    ]
    required = rules.required.get(manifest.kind, ())
    pages = [r for r in manifest.review_reasons if r.startswith("page_low_confidence:")]
    added = [  # a page added later shows another value: cleared by correcting that field
        r
        for r in manifest.review_reasons
        if r.startswith("version_conflict:") and r.split(":")[1] != corrected
    ]
    people = [r for r in manifest.review_reasons if r.startswith("person_")]
    fresh = review_reasons(fields, disagreements, required, min_confidence)
    return (*fresh, *pages, *added, *people)  # people's doubts stay until accepted


def _updated(manifest: Manifest, *, fields, change: Correction, reasons) -> Manifest:
    return manifest.model_copy(
        update={
            "fields": fields,
            "corrections": (*manifest.corrections, change),
            "review_reasons": tuple(reasons),
            "status": "needs_review" if reasons else "archived",
            "dossier_code": _dossier(manifest, fields),
        }
    )


def _dossier(manifest: Manifest, fields) -> str:
    """A corrected mã hồ sơ files the record under it in the catalog (the PDF keeps its own)."""
    return valid_value(fields, "dossier_code") or manifest.dossier_code


def review_reason(code: str, lang: str | None = None) -> str:
    """Render a review reason code (``invalid:id_number:cccd_bad_province``) for people.

    The templates are the catalogue's ``review_reason_<kind>`` keys; the field is named
    by its Vietnamese label (:data:`~schemas.fields.FIELD_LABELS_VI`) in Vietnamese and
    by its name in English. A code of an unknown kind is shown as it is.
    """
    lang = lang or current_lang()
    kind, _, rest = code.partition(":")
    name, _, detail = rest.partition(":")
    templates = catalogue().get(f"review_reason_{kind}")
    if templates is None:
        return code
    label = (
        FIELD_LABELS_VI.get(name, PERSON_ROLE_LABELS_VI.get(name, name)) if lang == "vi" else name
    )
    if kind == "person_conflict":  # VALUE@PAGE|VALUE@PAGE: each value with its page
        shown = catalogue()["review_reason_person_value"]["vi" if lang == "vi" else "en"]
        pairs = (item.rpartition("@") for item in detail.split("|"))
        detail = ", ".join(shown.format(value=value, page=page) for value, _, page in pairs)
    return templates["vi" if lang == "vi" else "en"].format(field=label, detail=detail)
