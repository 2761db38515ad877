"""Library calls behind the read-side commands (show, export, search, verify).

The CLI and the web app call these same functions; they return plain dicts
ready for JSON and raise domain errors.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from schemas.settings import Settings
from sohoa.errors import VerificationError
from storage.archive import load_manifest
from storage.catalog import open_catalog
from storage.objectstore import atomic_copy, open_store, sha256_file
from sohoa.textfold import fold


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
        pages_detail=[p.model_dump(exclude={"words"}) for p in manifest.pages],
    )
    return view


def export_record(settings: Settings, record_id: str, output: Path) -> Path:
    """Copy the signed PDF out of the archive, refusing a file whose hash no longer matches."""
    catalog = open_catalog(settings.resolved_catalog_url)
    row = catalog.get_record(record_id)
    output = Path(output)
    tmp = output.with_name(f".{output.name}.download")
    try:
        open_store(settings).download(row.pdf_key, tmp)
        if sha256_file(tmp) != row.pdf_sha256:
            raise VerificationError(record=row.id, reason="sha256 mismatch; run sohoa verify")
        atomic_copy(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    return output


def search_records(settings: Settings, query: str, *, limit: int = 20) -> list[dict]:
    """Ranked hits for words or a dossier code, with or without diacritics."""
    catalog = open_catalog(settings.resolved_catalog_url)
    return [hit.__dict__.copy() for hit in catalog.search(query, limit=limit)]


def verify_records(settings: Settings, record_id: str | None) -> list[dict]:
    """Verify one record, or every record (in parallel) when ``record_id`` is None."""
    from storage.verify import verify_record

    catalog = open_catalog(settings.resolved_catalog_url)
    rows = [catalog.get_record(record_id)] if record_id else catalog.list_records()
    store = open_store(settings)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda r: verify_record(r, store, settings), rows))
    return [r.__dict__.copy() for r in results]


def sample_query(settings: Settings, record_id: str) -> str | None:
    """A distinctive word of a record, folded (used by the demo to show accent-free search)."""
    text = open_catalog(settings.resolved_catalog_url).get_text(record_id)
    words = [w for w in re.findall(r"\w{5,}", text) if not w.isdigit()]
    accented = [w for w in words if fold(w) != w.lower()]
    return fold(accented[0]) if accented else (fold(words[0]) if words else None)
