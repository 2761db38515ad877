"""Library calls behind the read-side commands (show, export, search, verify).

The CLI and the web app call these same functions; they return plain dicts
ready for JSON and raise domain errors.
"""

from __future__ import annotations

import re
from pathlib import Path

from catalog.database import open_catalog
from catalog.tables import RecordRow
from records.commit import load_manifest
from schemas.settings import Settings
from sohoa.errors import InvalidRequestError, VerificationError
from sohoa.textfold import fold
from storage.objectstore import atomic_copy, open_store, sha256_file


def show_record(settings: Settings, record_id: str) -> dict:
    """The record's catalog row with its manifest's per-page details."""
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    manifest = load_manifest(open_store(settings), row.manifest_key)
    view = row.to_view().model_dump()
    view.update(
        created_at=row.created_at.isoformat(timespec="seconds"),
        signer=row.signer,
        batch_id=row.batch_id,
        manifest=row.manifest_key,
        review_reasons=list(manifest.review_reasons),
        fields_detail=[f.model_dump(mode="json") for f in manifest.fields],
        corrections=[c.model_dump(mode="json") for c in manifest.corrections],
        revision=len(manifest.corrections),
        pages_detail=[p.model_dump(mode="json", exclude={"words"}) for p in manifest.pages],
    )
    return view


def export_record(settings: Settings, record_id: str, output: Path) -> Path:
    """Copy the signed PDF out of the archive, refusing a file whose hash no longer matches."""
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    output = Path(output)
    tmp = output.with_name(f".{output.name}.download")
    try:
        download_checked(settings, row, tmp)
        atomic_copy(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def download_checked(settings: Settings, row: RecordRow, dest: Path) -> None:
    """Download ``row``'s signed PDF to ``dest``; refuse it unless its sha256 is the catalog's.

    Shared by ``sohoa export`` and the web app's PDF view and download.

    Raises:
        VerificationError: the bytes changed since archiving (``dest`` is removed).
    """
    open_store(settings).download(row.pdf_key, dest)
    if sha256_file(dest) != row.pdf_sha256:
        Path(dest).unlink(missing_ok=True)
        raise VerificationError(record=row.id, reason="sha256 mismatch; run sohoa verify")


def search_records(
    settings: Settings,
    query: str,
    *,
    limit: int = 20,
    page: int = 1,
    date_from: str | None = None,
    date_to: str | None = None,
    **filters: str | None,
) -> dict:
    """A page of ranked hits for words, a name, an ID or a dossier code, with the web's filters.

    The same function the auditor's search page calls (:func:`services.auditor.search`),
    so the CLI and the web find the same records in the same order.
    """
    from reports.rates import parse_day
    from services.auditor import RecordQuery, search

    days = {}
    for option, value in (("--from", date_from), ("--to", date_to)):
        try:
            days[option] = parse_day(value) if value else None
        except ValueError:
            raise InvalidRequestError("bad_day", option=option, value=value) from None
    start, end = days["--from"], days["--to"]
    asked = RecordQuery(text=query, date_from=start, date_to=end, **filters)
    found = search(settings, asked, page=page, per_page=limit)
    total = f"{found.total}" if found.total_is_exact else f"{found.total}+"
    return {
        "hits": [hit.__dict__.copy() for hit in found.hits],
        "total": found.total,
        "total_exact": found.total_is_exact,
        "total_text": total,
        "page": page,
    }


def verify_records(settings: Settings, record_id: str | None) -> list[dict]:
    """Verify one record, or every record (in parallel) when ``record_id`` is None."""
    report = check_archive(settings, record_id=record_id, orphans=False)
    return [r.to_dict() for r in report.results]


def check_archive(
    settings: Settings,
    *,
    record_id: str | None = None,
    sample: float | None = None,
    seed: int | None = None,
    workers: int | None = None,
    orphans: bool = True,
    progress=None,
):
    """Fixity check: one record, or all of them (an int ``sample`` is a count, a float a
    fraction) on threads bounded to the core count, plus orphans when checking the whole
    archive. Returns a :class:`records.fixity.FixityReport`."""
    import time

    from records import fixity

    catalog = open_catalog(settings.resolved_catalog_url)
    store = open_store(settings)
    if record_id is None:
        return fixity.run_fixity(
            settings,
            store=store,
            catalog=catalog,
            sample=sample,
            seed=seed,
            workers=workers,
            orphans=orphans,
            progress=progress,
        )
    started = time.monotonic()
    row = catalog.get_record(record_id)
    if progress is not None:
        progress.started(1)
    results = fixity.check_records([row], store, settings, on_result=progress and progress.checked)
    return fixity.make_report(
        catalog_records=1,
        results=results,
        orphans=None,
        sampled=False,
        workers=1,
        seconds=time.monotonic() - started,
    )


def rebuild_catalog(settings: Settings, *, keep_going: bool = False, progress=None):
    """Recreate the catalog from the archive's manifests; see :mod:`records.rebuild`."""
    from records.rebuild import rebuild_catalog as rebuild

    return rebuild(
        settings.resolved_catalog_url,
        store=open_store(settings),
        keep_going=keep_going,
        progress=progress,
    )


def sample_query(settings: Settings, record_id: str) -> str | None:
    """A distinctive word of a record, folded (used by the demo to show accent-free search)."""
    text = open_catalog(settings.resolved_catalog_url).get_text(record_id)
    words = [w for w in re.findall(r"\w{5,}", text) if not w.isdigit()]
    accented = [w for w in words if fold(w) != w.lower()]
    return fold(accented[0]) if accented else (fold(words[0]) if words else None)


def review_queue(settings: Settings, *, unit: str | None = None) -> list[dict]:
    """Records waiting for a clerk: why each needs a look, oldest first."""
    from sohoa.i18n import review_reason

    rows = open_catalog(settings.resolved_catalog_url).list_for_review(unit=unit)
    rows = [_with_reasons(settings, r) for r in rows]
    return [
        {
            "id": r.id,
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


def _with_reasons(settings: Settings, row):
    """Rows catalogued before reasons had a column get them from their (upgraded) manifest."""
    if row.review_reasons:
        return row
    from dataclasses import replace

    manifest = load_manifest(open_store(settings), row.manifest_key)
    return replace(row, review_reasons=manifest.review_reasons)


def review_set(
    settings: Settings,
    record_id: str,
    field: str,
    value: str,
    *,
    by: str,
    reason: str = "",
    force: bool = False,
    revision: int | None = None,
) -> dict:
    """Correct one field of a record (history kept; the signed PDF is not touched).

    ``revision`` is the record's revision the caller saw (``None``: last writer wins);
    a different current one raises :class:`sohoa.errors.StaleRevisionError`.
    """
    from records.review import correct_field
    from storage.waiting import locks_dir

    manifest = correct_field(
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
        settings=settings.fields,
        record_id=record_id,
        field=field,
        value=value,
        by=by,
        reason=reason,
        force=force,
        revision=revision,
        locks_dir=locks_dir(settings),
    )
    return _review_result(manifest)


def review_accept(
    settings: Settings,
    record_id: str,
    *,
    by: str,
    reason: str = "",
    force: bool = False,
    revision: int | None = None,
) -> dict:
    """Mark a record as reviewed (fields complete and valid, or accepted as they are)."""
    from records.review import accept_record
    from storage.waiting import locks_dir

    manifest = accept_record(
        store=open_store(settings),
        catalog=open_catalog(settings.resolved_catalog_url),
        record_id=record_id,
        by=by,
        reason=reason,
        force=force,
        revision=revision,
        locks_dir=locks_dir(settings),
    )
    return _review_result(manifest)


def _review_result(manifest) -> dict:
    return {
        "id": manifest.record_id,
        "status": manifest.status,
        "revision": len(manifest.corrections),
        "dossier_code": manifest.dossier_code,
        "review_reasons": list(manifest.review_reasons),
        "fields": {f.name: f.value for f in manifest.fields},
        "corrections": [c.model_dump(mode="json") for c in manifest.corrections],
    }
