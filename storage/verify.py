"""Prove an archived record is intact: stored hashes still match and the signature validates."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from schemas.settings import Settings
from sohoa.errors import NotFoundError, StorageError
from storage.catalog_tables import RecordRow
from storage.objectstore import ObjectStore, sha256_file
from storage.signing import validate_signature


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking one record."""

    record_id: str
    dossier_code: str
    pdf: str
    ok: bool
    problems: tuple[str, ...]
    """Human-readable reasons, empty when ``ok``."""
    signer: str | None = None
    signed_at: datetime | None = None


def verify_record(row: RecordRow, store: ObjectStore, settings: Settings) -> VerifyResult:
    """Download the record's PDF, compare its hash, and validate its signature."""
    problems: list[str] = []
    signer = signed_at = None
    with tempfile.TemporaryDirectory(prefix="sohoa-verify-") as tmp:
        local = Path(tmp) / "record.pdf"
        try:
            store.download(row.pdf_key, local)
        except NotFoundError:
            problems.append(f"PDF missing from the archive: {row.pdf_key}")
        except StorageError as exc:
            problems.append(exc.render("en"))
        if local.is_file():
            actual = sha256_file(local)
            if actual != row.pdf_sha256:
                problems.append(
                    f"PDF changed: sha256 {actual[:16]}… ≠ stored {row.pdf_sha256[:16]}…"
                )
            check = validate_signature(local, settings)
            signer, signed_at = check.signer, check.signed_at
            if not check.ok:
                problems.extend(check.problems or ("signature does not validate",))
    problems.extend(_manifest_problems(row, store))
    return VerifyResult(
        row.id, row.dossier_code, row.pdf_key, not problems, tuple(problems), signer, signed_at
    )


def _manifest_problems(row: RecordRow, store: ObjectStore) -> list[str]:
    try:
        data = store.get_bytes(row.manifest_key)
    except NotFoundError:
        return [f"manifest missing from the archive: {row.manifest_key}"]
    except StorageError as exc:
        return [exc.render("en")]
    import hashlib

    if hashlib.sha256(data).hexdigest() != row.manifest_sha256:
        return ["manifest changed since archiving"]
    return []
