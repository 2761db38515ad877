"""Prove an archived record is intact: its objects are there, their hashes still match, and
the signature validates.

Why per object: an operator acting on a fixity report needs to know *which* object is
wrong and *how* (gone, different bytes, bad signature, or merely unreadable right now),
because each calls for a different remedy: restore from a replica, investigate tampering,
or retry when the store is back. The catalog row gives the expected hashes; the
manifest in the archive gives the same facts independently of the catalog.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from catalog.rows import RecordRow
from pdf.sign.validation import SignatureCheck, validate_signature
from schemas.settings import Settings
from sohoa.errors import ChecksumMismatchError, NotFoundError, StorageError
from storage.objectstore import ObjectStore, sha256_file

ObjectStatus = Literal["ok", "missing", "changed", "invalid", "unreadable"]
"""``missing``: the key is gone; ``changed``: the bytes differ from the recorded sha256;
``invalid``: the PDF's signature does not validate; ``unreadable``: the store failed."""

Role = Literal["pdf", "manifest", "original"]
"""What an object is to its record: the signed PDF, the manifest, or an uploaded scan."""

SEVERITY: dict[str, int] = {"ok": 0, "unreadable": 1, "invalid": 2, "changed": 3, "missing": 4}
"""Worst first when a record has several problems (a missing PDF outranks a bad signature)."""


@dataclass(frozen=True)
class ObjectCheck:
    """The outcome of checking one archived object."""

    key: str
    """The object's key."""
    role: Role
    """What the object is to its record."""
    status: ObjectStatus
    """See :data:`ObjectStatus`."""
    problems: tuple[str, ...] = ()
    """Human-readable reasons in English (may name the signer; keep out of logs)."""
    size: int = 0
    """Bytes read and hashed (0 when nothing could be read)."""


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking one record: its PDF and its manifest."""

    record_id: str
    dossier_code: str
    pdf: str
    ok: bool
    problems: tuple[str, ...]
    """Human-readable reasons, empty when ``ok``."""
    signer: str | None = None
    signed_at: datetime | None = None
    level: str | None = None
    """PAdES level the signature reached (B-B, B-T, B-LT, B-LTA)."""
    timestamped_at: datetime | None = None
    """The time-stamp authority's time, when the signature carries one."""
    modification: str | None = None
    """What was added after signing: none, validation-data, or changed."""
    objects: tuple[ObjectCheck, ...] = field(default=())
    """One entry per checked object: the PDF, the manifest, earlier versions, originals."""
    renewal_due: datetime | None = None
    """From when the record needs a new archive time-stamp (its newest time-stamp's
    authority certificate expiry less ``signing.renew_before_days``); ``None`` without a
    valid time-stamp (B-B)."""
    timestamp_expires: datetime | None = None
    """When the newest time-stamp's authority certificate expires."""

    def renewal_is_due(self, now: datetime | None = None) -> bool:
        """True when the record should be re-time-stamped now (and its PDF is intact)."""
        moment = now or datetime.now(UTC)
        return self.ok and self.renewal_due is not None and self.renewal_due <= moment

    @property
    def status(self) -> ObjectStatus:
        """The worst status among the record's objects."""
        statuses = [o.status for o in self.objects] or ["ok"]
        return max(statuses, key=SEVERITY.__getitem__)  # type: ignore[return-value]

    @property
    def bytes_read(self) -> int:
        """Bytes downloaded and hashed for this record."""
        return sum(o.size for o in self.objects)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes left for ``json.dumps(default=str)``)."""
        data = asdict(self)
        data["status"] = self.status
        data["renewal_is_due"] = self.renewal_is_due()
        return data


def verify_record(row: RecordRow, store: ObjectStore, settings: Settings) -> VerifyResult:
    """Download the record's PDF and manifest, compare their hashes, validate the signature;
    then the same for every earlier version the manifest lists (they stay archived)."""
    manifest, facts = _check_manifest(row, store)
    pdf, check = _check_pdf(
        row.pdf_key, store, settings, {"catalog": row.pdf_sha256, "manifest": facts.pdf_sha}
    )
    earlier = [c for ref in facts.earlier for c in _check_earlier(ref, store, settings)]
    originals = [_check_original(key, sha, store) for key, sha in facts.originals]
    problems = pdf.problems + manifest.problems
    problems += tuple(p for c in (*earlier, *originals) for p in c.problems)
    return VerifyResult(
        record_id=row.id,
        dossier_code=row.dossier_code,
        pdf=row.pdf_key,
        ok=not problems,
        problems=problems,
        signer=check.signer if check else None,
        signed_at=check.signed_at if check else None,
        level=check.level if check else None,
        timestamped_at=check.timestamped_at if check else None,
        modification=check.modification if check else None,
        objects=(pdf, manifest, *earlier, *originals),
        renewal_due=check.renewal_due if check else None,
        timestamp_expires=check.timestamp_expires if check else None,
    )


@dataclass(frozen=True)
class _ManifestFacts:
    """What verification needs from a manifest, read as plain JSON."""

    pdf_sha: str | None = None
    """The PDF's sha256 the manifest records (``None``: unreadable)."""
    earlier: tuple[dict, ...] = ()
    """References to earlier versions (``history[].previous``: manifest and pdf key+sha256)."""
    originals: tuple[tuple[str, str], ...] = ()
    """``(key, sha256)`` of every original the record keeps: the batch's uploads and the
    scans page changes brought (``history[].original``)."""


def _check_earlier(ref: dict, store: ObjectStore, settings: Settings) -> list[ObjectCheck]:
    """An earlier version's manifest and PDF against the hashes the newer manifest recorded.

    Why: a page change keeps the version before it in the archive as the legal copy it
    was; it must stay as intact as the current one, and its signature valid.
    """
    try:
        manifest_key, manifest_sha = ref["manifest"]["key"], ref["manifest"]["sha256"]
        pdf_key, pdf_sha = ref["pdf"]["key"], ref["pdf"]["sha256"]
    except (KeyError, TypeError):
        return [
            ObjectCheck(
                "?", "manifest", "changed", ("an earlier version's reference is unreadable",)
            )
        ]
    manifest = _check_bytes(manifest_key, manifest_sha, store)
    pdf, _ = _check_pdf(pdf_key, store, settings, {"newer manifest": pdf_sha})
    return [pdf, manifest]


def _check_pdf(
    key: str, store: ObjectStore, settings: Settings, expected: dict[str, str | None]
) -> tuple[ObjectCheck, SignatureCheck | None]:
    """Hash the PDF against each ``expected`` source (catalog, manifest); validate its signature.

    Both hashes are checked because the catalog is only an index: someone who swaps
    a PDF and "fixes" its catalog row is still caught by the manifest, and one who
    rewrites the manifest too is still caught by the signature (pyHanko and pdfsig).
    """
    with tempfile.TemporaryDirectory(prefix="sohoa-verify-") as tmp:
        local = Path(tmp) / "record.pdf"
        try:
            store.download(key, local)
        except NotFoundError:
            missing = (f"PDF missing from the archive: {key}",)
            return ObjectCheck(key, "pdf", "missing", missing), None
        except StorageError as exc:
            return _unreadable(store, key, "pdf", exc), None
        size, actual = local.stat().st_size, sha256_file(local)
        check = validate_signature(local, settings)
    problems: list[str] = []
    status: ObjectStatus = "ok"
    if not check.ok:
        status = "invalid"
        problems.extend(check.problems or ("signature does not validate",))
    for source, sha in expected.items():
        if sha is not None and actual != sha:  # changed bytes outrank the signature verdict
            status = "changed"
            problems.insert(
                0, f"PDF changed: sha256 {actual[:16]}… ≠ {source}'s {sha[:16]}… ({key})"
            )
    return ObjectCheck(key, "pdf", status, tuple(problems), size), check


def _check_bytes(key: str, expected: str, store: ObjectStore) -> ObjectCheck:
    """Hash one stored manifest against the sha256 recorded for it."""
    try:
        data = store.get_bytes(key)
    except NotFoundError:
        return ObjectCheck(
            key, "manifest", "missing", (f"manifest missing from the archive: {key}",)
        )
    except StorageError as exc:
        return _unreadable(store, key, "manifest", exc)
    actual = hashlib.sha256(data).hexdigest()
    if actual == expected:
        return ObjectCheck(key, "manifest", "ok", (), len(data))
    problem = f"manifest changed: sha256 {actual[:16]}… ≠ {expected[:16]}… ({key})"
    return ObjectCheck(key, "manifest", "changed", (problem,), len(data))


def _check_manifest(row: RecordRow, store: ObjectStore) -> tuple[ObjectCheck, _ManifestFacts]:
    """Hash the manifest against the catalog; return its check and what it records.

    Only ``pdf.sha256`` and the earlier versions' references are read (plain JSON, not
    the full model), so an old or newer manifest schema never stops a fixity check.
    """
    key = row.manifest_key
    try:
        data = store.get_bytes(key)
    except NotFoundError:
        problem = f"manifest missing from the archive: {key}"
        return ObjectCheck(key, "manifest", "missing", (problem,)), _ManifestFacts()
    except StorageError as exc:
        return _unreadable(store, key, "manifest", exc), _ManifestFacts()
    problems = []
    actual = hashlib.sha256(data).hexdigest()
    if actual != row.manifest_sha256:
        problems.append(
            f"manifest changed since archiving: sha256 {actual[:16]}… "
            f"≠ catalog's {row.manifest_sha256[:16]}…"
        )
    try:
        body = json.loads(data)
        history = body.get("history") or ()
        facts = _ManifestFacts(
            body["pdf"]["sha256"], tuple(h["previous"] for h in history), _originals(body)
        )
    except (ValueError, KeyError, TypeError):
        problems.append("manifest is not a readable manifest (no pdf.sha256)")
        facts = _ManifestFacts()
    status: ObjectStatus = "changed" if problems else "ok"
    return ObjectCheck(key, "manifest", status, tuple(problems), len(data)), facts


def _originals(body: dict) -> tuple[tuple[str, str], ...]:
    """``(key, sha256)`` of the originals a manifest lists, each once, in manifest order.

    Raises:
        KeyError, TypeError: an entry without a key or a hash (an unreadable manifest).
    """
    entries = [*(body.get("originals") or ())]
    entries += [h["original"] for h in body.get("history") or () if h.get("original")]
    return tuple(dict.fromkeys((o["key"], o["sha256"]) for o in entries))


def _check_original(key: str, expected: str, store: ObjectStore) -> ObjectCheck:
    """Hash one original (an uploaded scan) against the sha256 its manifest recorded.

    Why: the scan is the evidence the signed PDF was made from; a changed or lost one
    must be found while the paper still exists. Streamed to a temporary file, since a
    scanner's PDF can be large.
    """
    with tempfile.TemporaryDirectory(prefix="sohoa-verify-") as tmp:
        local = Path(tmp) / "original"
        try:
            store.download(key, local)
        except NotFoundError:
            return ObjectCheck(
                key, "original", "missing", (f"original missing from the store: {key}",)
            )
        except StorageError as exc:
            return _unreadable(store, key, "original", exc)
        size, actual = local.stat().st_size, sha256_file(local)
    if actual == expected:
        return ObjectCheck(key, "original", "ok", (), size)
    problem = f"original changed: sha256 {actual[:16]}… ≠ manifest's {expected[:16]}… ({key})"
    return ObjectCheck(key, "original", "changed", (problem,), size)


def _unreadable(store: ObjectStore, key: str, role: Role, exc: StorageError) -> ObjectCheck:
    """Tell an object whose bytes fail the store's own hash check from a failed read.

    The S3 store refuses to return whole bytes that do not match the sha256 kept in
    the object's metadata (:class:`ChecksumMismatchError`): the object changed. Any
    other failure — the store unreachable, a transfer cut off mid-stream — says
    nothing about the object, so it is ``unreadable`` and worth checking again.
    """
    reason = exc.render("en")
    if isinstance(exc, ChecksumMismatchError):
        return ObjectCheck(key, role, "changed", (f"{role} unreadable intact: {reason}",))
    return ObjectCheck(key, role, "unreadable", (reason,))
