"""Add or replace pages of an archived record from the review page: a new signed version.

The form on ``/review/{id}`` (``templates/_page_change.html``) posts a scan to
``POST /review/pages`` (:mod:`web.routes_review`). The scan is staged and checked as an
upload is (:func:`web.uploads.stage_files`: size, then the first bytes' format), then
handed to :func:`flows.versions.change_record_page` — the call ``sohoa record
add-page|replace-page`` makes — with the signed-in clerk as ``by`` and the revision the
form carried: the same OCR, the same signing, the same crash-safe storing, the same
refusals (a page number outside the record, a multi-page scan to replace one page, a
record changed since the form was opened). Each change is audited ``record.version``.

Unit check as for every review change (:func:`web.auth.check_unit`): a clerk limited to
a unit gets 403 for another unit's record, audited ``access.denied``. The body is
capped like an upload and the sender must be signed in before a byte is read
(``/review/pages`` is one of :data:`web.app.UPLOAD_PATHS`).

The result is shown on ``GET /review/{id}/versions/{n}``, read back from the version's
own manifest in the archive (a redirect after the post: a reload does not post again).
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from catalog.audit import Action
from records.commit import load_manifest
from records.versions import VERSION_FIELD, PageChange, changed_pages
from schemas.models import Manifest
from sohoa.errors import BadInputError, InvalidRequestError, NotFoundError
from storage import object_keys
from storage.stores import open_store
from web.audit import audit
from web.auth import Principal, check_unit
from web.deps import catalog_of, settings_of
from web.uploads import stage_files

__all__ = ["ACTIONS", "PageForm", "VersionView", "change_pages", "current_version", "version_view"]

ACTIONS = ("add_page", "replace_page")


@dataclass(frozen=True)
class PageForm:
    """What the form sent, as typed (kept to show again with a refusal)."""

    action: str
    page: str
    """The page number as typed: empty adds after the last page."""
    reason: str
    revision: int

    def change(self, by: str) -> PageChange:
        """The library's change request.

        Raises:
            InvalidRequestError: an unknown action (a forged form).
            BadInputError: no reason, or a page number that is not a number.
        """
        if self.action not in ACTIONS:
            raise InvalidRequestError("web_pages_bad_action", action=self.action[:40])
        if not self.reason.strip():
            raise BadInputError("web_pages_reason_missing")
        page = self.page.strip()
        if (page and not page.isdigit()) or (not page and self.action == "replace_page"):
            raise BadInputError("web_pages_bad_number", page=page[:12])
        number = int(page) if page else None
        return PageChange(self.action, number, self.reason.strip(), by, self.revision)  # type: ignore[arg-type]


@dataclass(frozen=True)
class VersionView:
    """One version of a record as the result page shows it."""

    record_id: str
    dossier_code: str
    version: int
    current: bool
    """Whether the catalog points at this version now."""
    pages: int
    changed: tuple[int, ...]
    """1-based pages this version brought."""
    action: str
    reason: str
    by: str
    at: datetime
    pdf_key: str
    pdf_sha256: str
    previous_pdf_key: str
    status: str
    reasons: tuple[str, ...]


def current_version(corrections: tuple[dict[str, Any], ...]) -> int:
    """The record's version from its history: 1, plus one per page change it holds.

    Each page change appends exactly one ``version`` entry (:func:`records.versions.next_manifest`).
    """
    return 1 + sum(1 for c in corrections if c.get("field") == VERSION_FIELD)


def change_pages(
    request: Request,
    principal: Principal,
    record_id: str,
    upload: UploadFile | None,
    form: PageForm,
) -> Manifest:
    """Stage the scan, make the record's next version, audit it; the new manifest.

    Raises:
        NotFoundError: no such record (404).
        PermissionDeniedError: another unit's record (403).
        InvalidRequestError, BadInputError: a bad form or scan, nothing stored (400/413/422).
        StaleRevisionError: the record changed since the form was opened (409).
        ConfigError, OcrError, SigningError, StorageError: as ``sohoa record``.
    """
    from flows.versions import change_record_page  # OCR and signing: loaded when first used

    settings = settings_of(request)
    row = catalog_of(request).get_record(record_id)
    check_unit(request, principal, row.unit)
    change = form.change(principal.name)
    if upload is None or not (upload.filename or upload.size):
        raise BadInputError("web_pages_no_file")
    folder = settings.work_dir / "uploads" / f"version-{secrets.token_hex(8)}"
    try:
        (staged,) = stage_files([upload], folder, settings)
        manifest = change_record_page(settings, row.id, staged.path, change)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pages = changed_pages(manifest)
    detail = {"version": manifest.version, "action": change.action, "pages": pages}
    audit(request, Action.RECORD_VERSION, target=row.id, bytes=staged.size, **detail)
    return manifest


def version_view(
    request: Request, principal: Principal, record_id: str, version: int
) -> VersionView:
    """A version of the record, read from its own manifest (the archive, not the catalog).

    Raises:
        NotFoundError: no such record or version (404).
        PermissionDeniedError: another unit's record (403).
    """
    row = catalog_of(request).get_record(record_id)
    check_unit(request, principal, row.unit)
    prefix = row.manifest_key.rsplit("/", 1)[0]
    key = object_keys.version_manifest_key(prefix, row.id, version)
    manifest = load_manifest(open_store(settings_of(request)), key)
    if manifest.record_id != row.id or manifest.version != version or not manifest.history:
        raise NotFoundError(what="version", name=f"{row.id} v{version}")
    last = manifest.history[-1]
    return VersionView(
        record_id=row.id,
        dossier_code=manifest.dossier_code,
        version=manifest.version,
        current=row.manifest_key == key,
        pages=len(manifest.pages),
        changed=tuple(changed_pages(manifest)),
        action=last.action,
        reason=last.reason,
        by=last.by,
        at=last.at,
        pdf_key=manifest.pdf.key,
        pdf_sha256=manifest.pdf.sha256,
        previous_pdf_key=last.previous.pdf.key,
        status=manifest.status,
        reasons=manifest.review_reasons,
    )
