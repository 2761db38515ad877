"""Add or replace a page of an archived record: a new signed version beside the old one.

Why a version and not an edit: the signed PDF is the legal copy and is never rewritten
(Circular 01/2023: integrity kept in storage), and the archive bucket is under object
lock. A page change therefore makes version N+1 of the record: a new signed PDF holding
every page (the old ones copied as they are, :mod:`pdf.versions`) and a new manifest
under new keys (:func:`storage.object_keys.version_manifest_key`), which lists what
changed (:class:`~schemas.models.VersionChange`: the page, why, who, when, the new
scan) and where the version before it lies with its hashes. Version N stays untouched.

**Order** (as in :mod:`records.commit`): the new scan, then the signed PDF, then the
manifest, and only then the catalog row. A crash before the row leaves version N
current; the row then points at the new version only once its objects are complete.
The same change run again after a crash (``kill -9``, the machine lost) stores nothing
twice, whichever step it stopped after: the scan is uploaded only if its bytes are not
there yet; a signed ``.v{n}.pdf`` already stored for this change (its hash and signature
checked as :mod:`records.resume` checks a batch's, its ``sohoa:versionChange`` XMP
naming this change) is reused instead of signing again (:func:`_signed_pdf`); a stored
manifest is only catalogued (:func:`_stored_already`); and a change the catalog already
shows as the record's last one is answered with that version (:func:`_made_already`).
The table of what each crash point leaves: ``docs/archive.md`` ("Crash and rerun").

**Several pages**: a scan of k pages added at page N becomes pages N..N+k-1 of one new
version. Replacing takes a one-page scan only (:func:`check_count`): a rescan of k
pages meant for page N alone, or for N..N+k-1, cannot be told apart from the file, and
the rule is one image per paper page in the paper's order (Circular 01/2023 Art. 8).

**Concurrency**: read, check and write happen under the record's claim
(:func:`records.review.record_lock`), with the same revision check as review: the change
appends a ``version`` entry to the record's corrections, so a clerk's form opened before
a page was added is refused (:class:`~sohoa.errors.StaleRevisionError`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from catalog.database import Catalog
from catalog.rows import RecordRow
from ocr.persons import person_reasons
from pdf.assemble import read_sohoa_metadata
from pdf.versions import assemble_version
from records.commit import manifest_from_bytes, put_manifest, stored_record
from records.review import check_revision, record_lock
from schemas.fields import Correction, FieldValue, Person
from schemas.models import (
    Manifest,
    PageSummary,
    SignatureSummary,
    SourceFile,
    StoredObject,
    VersionChange,
    VersionRef,
)
from sohoa import SOFTWARE
from sohoa.errors import BadInputError, VerificationError
from sohoa.textfold import fold
from storage import claims, object_keys
from storage.objectstore import ObjectStore, put_file_once, sha256_file

log = logging.getLogger(__name__)

Action = Literal["add_page", "replace_page"]
VERSION_FIELD = "version"
"""The ``field`` of the correction a page change appends (the history's one list)."""
CHANGE_PROPERTY = "versionChange"
"""The ``sohoa:`` XMP property naming the change a version's PDF was made for
(:func:`change_id`): what lets a rerun tell its own stored PDF from another change's."""
Signer = Callable[[Path, Path], SignatureSummary]
"""Signs the unsigned PDF (first path) into the second; returns who signed and how."""
Resumer = Callable[[str, Path], SignatureSummary | None]
"""Downloads the signed PDF stored at a key to a path and returns its signature's
summary when its hash and signature hold, else ``None``
(:func:`records.resume.reusable_signed_pdf`)."""


@dataclass(frozen=True)
class PageChange:
    """What a clerk asks for: which page, and why."""

    action: Action
    page: int | None
    """1-based page number in the new version (where it is added, or which is replaced);
    ``None`` adds after the last page (counted under the record's claim)."""
    reason: str
    by: str
    revision: int | None = None
    """The revision the clerk saw (:func:`records.review.revision_of`); ``None``: no check."""


@dataclass(frozen=True)
class NewPages:
    """The new scan's pages, read by the ingest page step, ready to join the record."""

    scan: Path
    """The file as given (stored as an original)."""
    source: SourceFile
    pdf: Path
    """An unsigned archival PDF of its pages (:func:`pdf.assemble.build_archival_pdf`)."""
    summaries: tuple[PageSummary, ...]
    """One per page of the scan, in its order."""
    texts: tuple[str, ...]
    fields: tuple[FieldValue, ...] = ()
    """Field values read on these pages alone (to spot one that contradicts the record)."""
    persons: tuple[Person, ...] = ()
    """The people these pages name (``page``: 0-based within the scan)."""

    @property
    def count(self) -> int:
        """How many pages the scan brings."""
        return len(self.summaries)


def check_page(change: PageChange, pages: int) -> None:
    """Refuse a page number outside the record (adding may also append after the last).

    Raises:
        BadInputError: the page does not exist (replace) or leaves a gap (add).
    """
    last = pages + 1 if change.action == "add_page" else pages
    if change.page is None and change.action == "add_page":
        return
    if change.page is None or not 1 <= change.page <= last:
        raise BadInputError("version_page_range", page=change.page, pages=pages)


def check_count(change: PageChange, file: str, count: int, max_pages: int) -> None:
    """Refuse a scan with no page, more pages than a batch may hold, or several to replace one.

    Raises:
        BadInputError: as above; nothing was stored.
    """
    if count < 1 or count > max_pages or (change.action == "replace_page" and count != 1):
        key = "version_one_page" if change.action == "replace_page" else "version_page_count"
        raise BadInputError(key, file=file, pages=count, limit=max_pages)


def change_id(previous: VersionRef, change: PageChange, source: SourceFile) -> str:
    """What names one change: the version it starts from, the action, where, and the scan.

    Written into the new PDF's XMP (:data:`CHANGE_PROPERTY`) and compared there on a rerun.
    """
    parts = (previous.manifest.sha256, change.action, str(change.page), source.sha256)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def change_pages(
    *,
    store: ObjectStore,
    catalog: Catalog,
    record_id: str,
    change: PageChange,
    page: NewPages,
    sign: Signer,
    work: Path,
    claims_at: claims.Place | None = None,
    signed_earlier: Resumer | None = None,
) -> Manifest:
    """Make and archive the record's next version with ``page``'s pages added or replaced.

    Args:
        work: a scratch folder for the previous PDF and the new unsigned and signed ones.
        claims_at: where the per-record claim is kept (``None``: no lock).
        signed_earlier: looks for the signed PDF a killed attempt of this change stored
            (``None``: always sign).

    Raises:
        NotFoundError: no such record.
        StaleRevisionError: the record changed since ``change.revision``; nothing stored.
        BadInputError: the page number is outside the record; nothing stored.
        VerificationError: the current version's objects no longer match their hashes.
        SigningError, StorageError: nothing catalogued; version N stays current.
    """
    record_id = catalog.get_record(record_id).id  # a prefix names the same lock as the full id
    with record_lock(claims_at, record_id):
        row = catalog.get_record(record_id)
        current, previous = current_version(store, row)
        if _made_already(current, change, page):
            log.info("record %s: this change made version %s already", row.id, current.version)
            return current
        check_revision(current, change.revision)
        check_page(change, len(current.pages))
        if change.page is None:
            change = replace(change, page=len(current.pages) + 1)
        version = current.version + 1
        prefix = row.manifest_key.rsplit("/", 1)[0]
        manifest_key = object_keys.version_manifest_key(prefix, record_id, version)
        done = _stored_already(store, manifest_key, previous, change, page)
        if done is not None:
            catalog.add_record(done[0], manifest_key=manifest_key, manifest_sha256=done[1])
            return done[0]
        original = _store_scan(store, current, page, version)
        pdf_key = object_keys.version_pdf_key(prefix, record_id, version)
        target = _Target(pdf_key, change_id(previous, change, page.source), work)
        signed, signature = _signed_pdf(store, current, change, page, target, sign, signed_earlier)
        pdf = _store_pdf(store, current, signed, pdf_key)
        manifest = next_manifest(
            current, change, page, previous=previous, original=original, pdf=pdf,
            signature=signature,
        )  # fmt: skip
        put_manifest(manifest, manifest_key, store, catalog)
    return manifest


def _made_already(current: Manifest, change: PageChange, page: NewPages) -> bool:
    """Whether the record is exactly as this change left it: it is its last change.

    Why: a command killed after its catalog row was written printed nothing; run again,
    it must not add the page a second time. It is the same change when the newest
    version came from the same scan with the same action, page, reason and author, the
    revision the caller saw (if given) is the one before it, and nothing was changed
    since (its history entry is the last).
    """
    last = current.history[-1] if current.history else None
    if last is None or last.version != current.version or not current.corrections:
        return False
    if current.corrections[-1].field != VERSION_FIELD:
        return False
    first = len(current.pages) - page.count + 1 if change.page is None else change.page
    same_change = (last.action, last.page, last.reason, last.by) == (
        change.action, first, change.reason, change.by,
    )  # fmt: skip
    seen = change.revision is None or change.revision == len(current.corrections) - 1
    return same_change and seen and last.original.sha256 == page.source.sha256


def current_version(store: ObjectStore, row: RecordRow) -> tuple[Manifest, VersionRef]:
    """The manifest the catalog points at, and a reference to it for the next version.

    Raises:
        VerificationError: the manifest's bytes are not the ones catalogued (a change
            must never be built on a damaged or swapped record).
    """
    data = store.get_bytes(row.manifest_key)
    sha = hashlib.sha256(data).hexdigest()
    if sha != row.manifest_sha256:
        raise VerificationError(record=row.id, reason="manifest changed; run sohoa verify")
    manifest = manifest_from_bytes(data)
    ref = VersionRef(
        version=manifest.version,
        manifest=StoredObject(
            key=row.manifest_key, sha256=sha, size=len(data), content_type="application/json"
        ),
        pdf=manifest.pdf,
    )
    return manifest, ref


def _stored_already(
    store: ObjectStore, key: str, previous: VersionRef, change: PageChange, page: NewPages
) -> tuple[Manifest, str] | None:
    """The same change's manifest, stored by an earlier attempt that could not catalog it.

    Why: signing again would give new bytes (a new signing time) and a second retained
    PDF for one change. It is the same change when it was made from the same version
    (key and hash) with the same scan at the same page.
    """
    found = stored_record(store, key)
    if found is None:
        return None
    info, stored, pdf = found
    last = stored.history[-1] if stored.history else None
    same = (
        last is not None
        and last.previous.manifest == previous.manifest
        and (last.action, last.page) == (change.action, change.page)
        and last.original.sha256 == page.source.sha256
        and pdf.sha256 == stored.pdf.sha256
    )
    return (stored, info.sha256) if same else None


def _store_scan(
    store: ObjectStore, current: Manifest, page: NewPages, version: int
) -> StoredObject:
    """Keep the new pages' scan as an original (never lost, like a batch's uploads)."""
    first = current.originals[0].key if current.originals else ""
    key = object_keys.version_original_key(
        first, current.unit, current.batch_id, version, page.source.name
    )
    content_type = object_keys.CONTENT_TYPES[page.source.format]
    info = put_file_once(
        store, key, page.scan, content_type=content_type, metadata={"batch": current.batch_id}
    )
    return StoredObject(key=key, sha256=info.sha256, size=info.size, content_type=content_type)


@dataclass(frozen=True)
class _Target:
    """Where the new version's PDF goes and what names its change."""

    key: str
    change: str
    """:func:`change_id`, written into the PDF's XMP."""
    work: Path


def _signed_pdf(
    store: ObjectStore,
    current: Manifest,
    change: PageChange,
    page: NewPages,
    target: _Target,
    sign: Signer,
    signed_earlier: Resumer | None,
) -> tuple[Path, SignatureSummary]:
    """The version's signed PDF: the one a killed attempt of this change stored, else
    the current PDF (hash checked) with the new pages merged in, signed now."""
    work = target.work
    work.mkdir(parents=True, exist_ok=True)
    signed = work / "version.pdf"
    summary = _resumed(target, signed, signed_earlier)
    if summary is not None:
        return signed, summary
    previous = work / "previous.pdf"
    store.download(current.pdf.key, previous)
    if sha256_file(previous) != current.pdf.sha256:
        raise VerificationError(record=current.record_id, reason="PDF changed; run sohoa verify")
    metadata = {
        "recordId": current.record_id,
        "batchId": current.batch_id,
        "dossierCode": current.dossier_code,
        "kind": current.kind,
        "unit": current.unit,
        "version": str(current.version + 1),
        CHANGE_PROPERTY: target.change,
    }
    unsigned = assemble_version(
        previous,
        page.pdf,
        work / "version.unsigned.pdf",
        position=change.page - 1,
        replace=change.action == "replace_page",
        metadata=metadata,
    )
    return signed, sign(unsigned, signed)


def _resumed(
    target: _Target, dest: Path, signed_earlier: Resumer | None
) -> SignatureSummary | None:
    """The signature of the PDF a killed attempt of this very change stored at the key.

    ``None`` when there is none, it is damaged (:mod:`records.resume`), or it was made
    for another change (another scan, page or starting version: signed again, logged).
    """
    summary = None if signed_earlier is None else signed_earlier(target.key, dest)
    if summary is None:
        return None
    made_for = read_sohoa_metadata(dest).get(CHANGE_PROPERTY)
    if made_for != target.change:
        log.warning("stored PDF %s was made for another change; signing this one", target.key)
        return None
    log.info("stored PDF %s reused: signed by an earlier attempt of this change", target.key)
    return summary


def _store_pdf(store: ObjectStore, current: Manifest, signed: Path, key: str) -> StoredObject:
    meta = {"dossier": current.dossier_code, "kind": current.kind, "record": current.record_id}
    info = put_file_once(store, key, signed, content_type="application/pdf", metadata=meta)
    return StoredObject(key=key, sha256=info.sha256, size=info.size, content_type="application/pdf")


def next_manifest(
    current: Manifest,
    change: PageChange,
    page: NewPages,
    *,
    previous: VersionRef,
    original: StoredObject,
    pdf: StoredObject,
    signature: SignatureSummary,
) -> Manifest:
    """Version N+1's manifest: pages, text and reasons with the change, the history grown.

    The fields stay as they were (with their corrections): they are not read again over
    the new page set. A value on the new pages that contradicts one of them is flagged
    ``version_conflict:<field>`` for a clerk to settle. ``created_at`` stays the
    record's; the change's time is in the history.
    """
    version, position = current.version + 1, change.page - 1
    replacing = change.action == "replace_page"
    summaries = [
        s.model_copy(update={"index": position + i, "version": version})
        for i, s in enumerate(page.summaries)
    ]
    pages, texts = list(current.pages), _page_texts(current)
    pages[position : position + replacing] = summaries
    texts[position : position + replacing] = page.texts
    now = datetime.now(UTC)
    entry = VersionChange(
        version=version, action=change.action, page=change.page, reason=change.reason,
        by=change.by, at=now, original=original, previous=previous,
    )  # fmt: skip
    note = Correction(
        field=VERSION_FIELD, old=str(current.version),
        new=f"{version}: {change.action} {_span(change.page, page.count)}",
        by=change.by, at=now, reason=change.reason,
    )  # fmt: skip
    reasons = _reasons(current, change, summaries, page.fields)
    shifted = current.fields if replacing else _shifted(current.fields, position, page.count)
    persons, doubts = joined_people(current, change, page)
    reasons = tuple(dict.fromkeys((*reasons, *doubts)))
    return current.model_copy(
        update={
            "version": version,
            "history": (*current.history, entry),
            "corrections": (*current.corrections, note),
            "pages": tuple(pages),
            "text": "\f".join(texts),
            "fields": shifted,
            "persons": persons,
            "review_reasons": reasons,
            "status": "needs_review" if reasons else "archived",
            "mean_confidence": _mean_confidence(pages),
            "pdf": pdf,
            "signature": signature,
            "software": SOFTWARE,
        }
    )


def joined_people(
    current: Manifest, change: PageChange, page: NewPages
) -> tuple[tuple[Person, ...], list[str]]:
    """The record's people with the new pages', and the doubts only the new pages bring.

    Why: a missing page is often the one naming someone (an ID-card copy, a parent's
    declaration); search by person and the review queue must know them. The record's
    people keep their values (and any correction); their pages move with an insertion. A
    new page's person of a role already held by someone of the same name or ID number is
    that person; another name is a second person of that role, which the queue shows as a
    conflict. Doubts the record already had (and perhaps had accepted) are not raised again.
    """
    position, inserted = change.page - 1, change.action != "replace_page"
    moved = tuple(
        p.model_copy(update={"page": p.page + page.count})
        if inserted and p.page is not None and p.page >= position
        else p
        for p in current.persons
    )
    new = [
        p.model_copy(update={"page": position + (p.page or 0)})
        for p in page.persons
        if not any(_same_person(p, q) for q in moved)
    ]
    joined = (*moved, *new)
    flat_id = next((f.value for f in current.fields if f.name == "id_number"), None)
    before = set(person_reasons(moved, flat_id))
    return joined, [r for r in person_reasons(joined, flat_id) if r not in before]


def _same_person(a: Person, b: Person) -> bool:
    """One role, and the same ID number or (folded) name."""
    if a.role != b.role:
        return False
    if a.id_number and b.id_number:
        return a.id_number == b.id_number
    return bool(a.name and b.name and fold(a.name) == fold(b.name))


def _span(first: int, count: int) -> str:
    """``4`` for one page, ``4-6`` for three."""
    return str(first) if count == 1 else f"{first}-{first + count - 1}"


def changed_pages(manifest: Manifest) -> list[int]:
    """1-based numbers of the pages the manifest's own version brought (none for version 1)."""
    if manifest.version <= 1:
        return []
    return [n for n, p in enumerate(manifest.pages, 1) if p.version == manifest.version]


def _page_texts(manifest: Manifest) -> list[str]:
    """The manifest's text, one entry per page (padded if an old manifest has fewer)."""
    texts = manifest.text.split("\f")
    return texts + [""] * (len(manifest.pages) - len(texts))


def _shifted(fields: tuple[FieldValue, ...], position: int, count: int) -> tuple[FieldValue, ...]:
    """Fields' evidence pages after ``count`` pages are inserted at ``position`` (0-based)."""
    return tuple(
        f.model_copy(update={"page": f.page + count})
        if f.page is not None and f.page >= position
        else f
        for f in fields
    )


def _reasons(
    current: Manifest,
    change: PageChange,
    summaries: list[PageSummary],
    found: tuple[FieldValue, ...],
) -> tuple[str, ...]:
    """Review reasons of the new version: page numbers moved, the new pages' own doubts."""
    count = len(summaries)
    moved = [m for r in current.review_reasons if (m := _moved(r, change, count)) is not None]
    moved.extend(
        f"page_low_confidence:{change.page + i}" for i, s in enumerate(summaries) if s.needs_review
    )
    moved.extend(f"version_conflict:{name}" for name in conflicts(current.fields, found))
    return tuple(dict.fromkeys(moved))


def _moved(reason: str, change: PageChange, count: int) -> str | None:
    """A ``page_low_confidence:N`` reason after the change (``None``: its page was replaced)."""
    kind, _, number = reason.partition(":")
    if kind != "page_low_confidence" or not number.isdigit() or int(number) < change.page:
        return reason
    if change.action == "add_page":
        return f"{kind}:{int(number) + count}"
    return None if int(number) == change.page else reason


def conflicts(fields: tuple[FieldValue, ...], found: tuple[FieldValue, ...]) -> list[str]:
    """Fields the new page shows with a valid value other than the record's (folded)."""
    have = {f.name: f.value for f in fields if f.value}
    return [
        f.name
        for f in found
        if f.value and not f.problem and f.name in have and fold(f.value) != fold(have[f.name])
    ]


def _mean_confidence(pages: list[PageSummary]) -> float:
    """Word-weighted mean confidence over the pages (0 when no words), as at ingest."""
    words = sum(p.word_count for p in pages)
    if not words:
        return 0.0
    return round(sum(p.mean_confidence * p.word_count for p in pages) / words, 2)
