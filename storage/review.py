"""Corrections in review: change a field's value, keep the history, never touch the signed PDF.

Why this shape: the signed PDF is the legal copy and must stay byte for byte as
signed, so a clerk's correction lives in the manifest (the archive's record of
the record) and in the catalog mirrored from it. Each change appends a
:class:`~schemas.fields.Correction` (who, when, old, new, why); the record's
review reasons are recomputed, and it leaves ``needs_review`` when none remain.
"""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.fields import FIELD_NAMES, Correction, FieldValue
from schemas.models import Manifest
from sohoa.errors import BadInputError
from storage.archive import load_manifest, put_manifest
from storage.catalog import Catalog
from storage.objectstore import ObjectStore

ACCEPT = "*"
"""The ``field`` of a correction that accepts the record as reviewed."""

_FIELD_REASONS = ("missing:", "invalid:", "low_confidence:", "disagreement:")


def correct_field(
    *,
    store: ObjectStore,
    catalog: Catalog,
    record_id: str,
    field: str,
    value: str,
    by: str,
    reason: str = "",
    force: bool = False,
) -> Manifest:
    """Set ``field`` of a record to ``value`` typed by a clerk; return the new manifest.

    Raises:
        BadInputError: unknown field, or a value that fails the field's validator
            (pass ``force=True`` to keep it anyway; it stays flagged).
        NotFoundError: no such record.
    """
    if field not in FIELD_NAMES:
        raise BadInputError("unknown_field", field=field, known=", ".join(FIELD_NAMES))
    row = catalog.get_record(record_id)
    manifest = load_manifest(store, row.manifest_key)
    checked = validator_for(field)(value)
    if checked.problem and not force:
        raise BadInputError("invalid_value", field=field, value=value, problem=checked.problem)
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
    fields = tuple(
        sorted((*(f for f in manifest.fields if f.name != field), new), key=lambda f: f.name)
    )
    change = Correction(
        field=field,
        old=old.value if old else None,
        new=new.value,
        by=by,
        at=datetime.now(UTC),
        reason=reason,
    )
    reasons = _reasons_after(manifest.review_reasons, field, new)
    updated = _updated(manifest, fields=fields, change=change, reasons=reasons)
    put_manifest(updated, row.manifest_key, store, catalog)
    return updated


def accept_record(
    *, store: ObjectStore, catalog: Catalog, record_id: str, by: str, reason: str = ""
) -> Manifest:
    """Mark a record as reviewed: page-level doubts are cleared, field problems must be fixed first.

    Raises:
        BadInputError: a field is still missing or invalid (correct it with ``review set``).
    """
    row = catalog.get_record(record_id)
    manifest = load_manifest(store, row.manifest_key)
    open_fields = [r for r in manifest.review_reasons if r.startswith(("missing:", "invalid:"))]
    if open_fields:
        raise BadInputError("review_open_fields", record=record_id, reasons=", ".join(open_fields))
    change = Correction(
        field=ACCEPT,
        old=manifest.status,
        new="archived",
        by=by,
        at=datetime.now(UTC),
        reason=reason,
    )
    updated = _updated(manifest, fields=manifest.fields, change=change, reasons=())
    put_manifest(updated, row.manifest_key, store, catalog)
    return updated


def validator_for(field: str):
    """The checker the field rules use for ``field`` (free text when no rule names one)."""
    from ocr.rules import load_rules
    from ocr.validators import VALIDATORS

    rules = load_rules()
    names = [r.validator for t in rules.doc_types.values() for r in t.fields if r.name == field]
    return VALIDATORS[names[0] if names else "text"]


def _updated(manifest: Manifest, *, fields, change: Correction, reasons) -> Manifest:
    return manifest.model_copy(
        update={
            "fields": fields,
            "corrections": (*manifest.corrections, change),
            "review_reasons": reasons,
            "status": "needs_review" if reasons else "archived",
            "dossier_code": _dossier(manifest, fields),
        }
    )


def _dossier(manifest: Manifest, fields) -> str:
    """A corrected mã hồ sơ files the record under it in the catalog (the PDF keeps its own)."""
    code = next((f for f in fields if f.name == "dossier_code" and not f.problem), None)
    return code.value if code else manifest.dossier_code


def _reasons_after(reasons: tuple[str, ...], field: str, new: FieldValue) -> tuple[str, ...]:
    """Drop the corrected field's reasons; keep the rest; flag a forced invalid value."""
    kept = [r for r in reasons if not (r.startswith(_FIELD_REASONS) and r.split(":")[1] == field)]
    if new.problem:
        kept.append(f"invalid:{field}:{new.problem}")
    return tuple(kept)
