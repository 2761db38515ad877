"""Independent checking of archived PDFs' signatures: pyHanko and poppler's ``pdfsig``.

Two implementations, so a bug in one cannot silently pass a bad file. Beyond "valid or
not", the check reports what an inspector asks: the PAdES level reached (B-B, B-T,
B-LT, B-LTA), who signed and when (by their own clock and by the time-stamp authority's),
whether anything was added to the file after it was signed, and when the newest
time-stamp is due for renewal (before its authority's certificate expires).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import tsp
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from pdf.keys.signing_key import common_name, is_demo_cert
from pdf.sign.archive_stamp import last_timestamp, signature_timestamp
from pdf.sign.async_run import run_async
from pdf.sign.timestamps import trust_roots
from schemas.settings import Settings
from sohoa.errors import NotFoundError, ProgramTimeoutError
from sohoa.programs import pdfsig

PDFSIG_TIMEOUT_S = 60.0
# Real Vietnamese signing certificates assert nonRepudiation, digitalSignature or both.
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})
NO_CHANGE, VALIDATION_DATA, CHANGED = "none", "validation-data", "changed"


@dataclass(frozen=True)
class SignatureCheck:
    """Result of checking a PDF's signatures with pyHanko and with poppler's pdfsig.

    ``intact`` (hash matches), ``valid`` (CMS signature verifies) and ``trusted`` (chain
    to a trust root at the best known signing time: the time-stamp's when there is a
    trusted one, else now) hold for every signature per pyHanko; ``coverage_entire_file``
    means the newest one covers every byte. ``pdfsig_*`` are poppler's verdicts;
    the remaining fields describe the newest signature; ``problems`` explains in
    English everything that is wrong.
    """

    signature_count: int
    intact: bool
    valid: bool
    trusted: bool
    coverage_entire_file: bool
    pdfsig_valid: bool
    pdfsig_total_document_signed: bool
    signer: str | None = None
    """Common name of the signing certificate's subject."""
    signed_at: datetime | None = None
    """Signing time claimed by the signer (its own clock)."""
    demo: bool = False
    """The signer is the generated demo certificate (not legally valid)."""
    problems: tuple[str, ...] = ()
    level: str | None = None
    """PAdES baseline level reached: ``B-B``, ``B-T`` (valid trusted time-stamp),
    ``B-LT`` (also all validation data embedded) or ``B-LTA`` (B-LT under a chain of
    valid document time-stamps); ``None`` when no signature is valid."""
    timestamped_at: datetime | None = None
    """Time certified by the time-stamp authority (B-T and above)."""
    issuer: str | None = None
    """Common name of the signing certificate's issuer (the CA)."""
    serial: str | None = None
    """The signing certificate's serial number, lowercase hex (as the signer reports it)."""
    validation_data_embedded: bool = False
    """The DSS holds the certificates and OCSP/CRL data to validate offline (B-LT)."""
    modification: str = NO_CHANGE
    """What follows the newest signature: ``none``; ``validation-data`` (only DSS or
    time-stamp updates, which PAdES allows); or ``changed`` (anything else)."""
    document_timestamps: int = 0
    """Document (archive) time-stamps after the signatures (B-LTA's chain)."""
    archive_timestamped_at: datetime | None = None
    """Time certified by the newest document time-stamp."""
    timestamp_expires: datetime | None = None
    """When the certificate of the newest time-stamp's authority expires."""
    renewal_due: datetime | None = None
    """From when a new archive time-stamp is due (``timestamp_expires`` less
    ``signing.renew_before_days``); ``None`` without a valid time-stamp."""

    @property
    def modified_after_signing(self) -> bool:
        """True when the document was changed after a signature (its newest or an earlier one)."""
        return self.modification == CHANGED

    @property
    def ok(self) -> bool:
        """True when both validators agree the file is signed, unchanged and trusted."""
        hanko = (self.intact, self.valid, self.trusted, not self.modified_after_signing)
        covered = self.pdfsig_total_document_signed or self.modification == VALIDATION_DATA
        return self.signature_count > 0 and all(hanko) and self.pdfsig_valid and covered


@dataclass(frozen=True)
class _Facts:
    """pyHanko's findings about one signature."""

    status: PdfSignatureStatus
    trusted: bool
    timestamped_at: datetime | None
    timestamp_ok: bool
    lt: bool


def timestamp_token_time(sig: EmbeddedPdfSignature) -> datetime | None:
    """The TSA's ``genTime`` from the signature time-stamp token, if there is one."""
    signed = signature_timestamp(sig)
    if signed is None:
        return None
    info: tsp.TSTInfo = signed["encap_content_info"]["content"].parsed
    return info["gen_time"].native


async def _validate(sig: EmbeddedPdfSignature, vc: ValidationContext) -> PdfSignatureStatus:
    try:
        # skip_diff: coverage is judged separately (and only diffed when not total).
        return await async_validate_pdf_signature(
            sig, vc, key_usage_settings=_KEY_USAGE, skip_diff=True
        )
    finally:
        await vc.aclose()  # what pyHanko's sync wrapper does; no sessions leak


def _dss_context(reader: PdfFileReader, roots: list, moment: datetime) -> ValidationContext | None:
    """An offline context holding only what the file's DSS carries, at the TSA's time.

    Why "require": B-LT means every certificate's revocation status can be shown from
    the file alone; a missing OCSP response or CRL must make the check fail.
    """
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return None
    kwargs = {"trust_roots": roots, "allow_fetching": False, "revocation_mode": "require"}
    return dss.as_validation_context({**kwargs, "moment": moment, "retroactive_revinfo": True})


async def _analyse(
    sig: EmbeddedPdfSignature, reader: PdfFileReader, roots: list, poe: datetime | None
) -> _Facts:
    """Validate one signature now, at its time-stamp's time, and from its DSS alone.

    ``poe``: the time of a valid document time-stamp over the signature (B-LTA), which
    proves the signature and its time-stamp existed then; a time-stamp whose authority's
    certificate has expired since is judged at that time.
    """
    status = await _validate(sig, ValidationContext(trust_roots=roots, allow_fetching=False))
    tst = status.timestamp_validity
    ts_ok = bool(tst and tst.intact and tst.valid and tst.trusted)
    if not ts_ok and tst is not None and poe is not None:
        then = ValidationContext(trust_roots=roots, allow_fetching=False, moment=poe)
        earlier = (await _validate(sig, then)).timestamp_validity
        ts_ok = bool(earlier and earlier.intact and earlier.valid and earlier.trusted)
    ts_time = tst.timestamp if tst is not None else timestamp_token_time(sig)
    trusted, lt = status.trusted, False
    if ts_ok and ts_time is not None and status.intact and status.valid:
        if not trusted:  # e.g. the certificate expired since: judge it at the TSA's time
            at_ts = ValidationContext(trust_roots=roots, allow_fetching=False, moment=ts_time)
            trusted = (await _validate(sig, at_ts)).trusted
        dss_vc = _dss_context(reader, roots, ts_time)
        if dss_vc is not None:
            offline = await _validate(sig, dss_vc)
            offline_tst = offline.timestamp_validity
            lt = offline.trusted and bool(offline_tst and offline_tst.trusted)
    return _Facts(status, trusted, ts_time, ts_ok, lt)


@dataclass(frozen=True)
class _Chain:
    """pyHanko's findings about the document (archive) time-stamps, oldest first."""

    times: tuple[tuple[int, datetime], ...] = ()
    """``(revision, certified time)`` of each valid one."""
    problems: tuple[str, ...] = ()
    intact: bool = True
    valid: bool = True
    trusted: bool = True

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted

    def proof_after(self, sig: EmbeddedPdfSignature) -> datetime | None:
        """The oldest time-stamp's time over ``sig``, when the whole chain holds."""
        later = [at for revision, at in self.times if revision > sig.signed_revision]
        return later[0] if self.ok and later else None


def _gen_time(ts: EmbeddedPdfSignature) -> datetime:
    info: tsp.TSTInfo = ts.signed_data["encap_content_info"]["content"].parsed
    return info["gen_time"].native


async def _validate_ts(ts: EmbeddedPdfSignature, vc: ValidationContext):
    try:
        return await async_validate_pdf_timestamp(ts, vc, skip_diff=True)
    finally:
        await vc.aclose()


async def _archive_chain(docs: list[EmbeddedPdfSignature], roots: list) -> _Chain:
    """Validate each document time-stamp: trusted now, or (an older one whose authority's
    certificate has expired) trusted at the time of the next one, which covers it."""
    times, problems, flags = [], [], {"intact": True, "valid": True, "trusted": True}
    for number, ts in enumerate(docs, 1):
        status = await _validate_ts(ts, ValidationContext(trust_roots=roots, allow_fetching=False))
        trusted = status.trusted
        if not trusted and status.intact and status.valid and number < len(docs):
            then = _gen_time(docs[number])
            vc = ValidationContext(trust_roots=roots, allow_fetching=False, moment=then)
            trusted = (await _validate_ts(ts, vc)).trusted
        flags["intact"] &= status.intact
        flags["valid"] &= status.valid
        flags["trusted"] &= trusted
        if status.intact and status.valid and trusted:
            times.append((ts.signed_revision, status.timestamp))
        else:
            problems.append(
                f"document time-stamp {number}: not intact, not valid, or its authority "
                "is not trusted"
            )
    return _Chain(tuple(times), tuple(problems), **flags)


async def _analyse_all(
    sigs: list, docs: list, reader: PdfFileReader, roots: list
) -> tuple[list[_Facts], _Chain]:
    chain = await _archive_chain(docs, roots) if docs else _Chain()
    facts = [await _analyse(sig, reader, roots, chain.proof_after(sig)) for sig in sigs]
    return facts, chain


def _level(facts: _Facts, archived: bool) -> str | None:
    """The PAdES level of a signature; ``archived``: a valid document time-stamp covers it."""
    if not (facts.status.intact and facts.status.valid):
        return None
    if not facts.timestamp_ok:
        return "B-B"
    if not facts.lt:
        return "B-T"
    return "B-LTA" if archived else "B-LT"


def _modification(path: Path, sig: EmbeddedPdfSignature, coverage: SignatureCoverageLevel) -> str:
    """Classify what was appended after ``sig``: nothing, validation data only, or changes.

    Why diff only here: pyHanko's revision diffing is slow and noisy, and a signature
    that covers every byte needs none.
    """
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return NO_CHANGE
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return CHANGED
    data = path.read_bytes()
    if data[data.rfind(b"%%EOF") + 5 :].strip():  # bytes after the last revision
        return CHANGED
    sig.compute_integrity_info()
    diff = sig.diff_result
    if isinstance(diff, DiffResult) and diff.modification_level == ModificationLevel.LTA_UPDATES:
        return VALIDATION_DATA
    return CHANGED


def _changed_before_a_later_signature(sigs: list[EmbeddedPdfSignature]) -> list[int]:
    """Numbers of the signatures whose document was changed before a later one was added.

    Why: the last signature covers every byte, so a page changed and then signed again
    with any trusted key would pass as intact. Between two signatures (or document
    time-stamps) only form filling (the new signature field) and validation data may
    be added; pyHanko's revision diff says which.
    """
    changed = []
    for number, sig in enumerate(sigs[:-1], 1):
        sig.compute_integrity_info()
        diff = sig.diff_result
        if (
            not isinstance(diff, DiffResult)
            or diff.modification_level > ModificationLevel.FORM_FILLING
        ):
            changed.append(number)
    return changed


def _read_signatures(path: Path, roots: list) -> dict[str, Any]:
    """Everything pyHanko says about the file's signatures and time-stamps (raises on a
    file it cannot parse)."""
    with path.open("rb") as handle:
        reader = PdfFileReader(handle)
        everything = list(reader.embedded_signatures)
        sigs = list(reader.embedded_regular_signatures)
        docs = list(reader.embedded_timestamp_signatures)
        results, chain = run_async(_analyse_all(sigs, docs, reader, roots)) if sigs else ([], None)
        ranges = [[int(n) for n in sig.byte_range] for sig in everything]
        coverage = everything[-1].evaluate_signature_coverage() if everything else None
        # what follows the newest signature (under B-LTA: validation data and time-stamps)
        covers = sigs[-1].evaluate_signature_coverage() if sigs else None
        change = _modification(path, sigs[-1], covers) if sigs else NO_CHANGE
        earlier = _changed_before_a_later_signature(everything)
        newest = last_timestamp(reader) if sigs else None
    return {
        "sigs": sigs, "docs": docs, "results": results, "chain": chain, "ranges": ranges,
        "coverage": coverage, "change": change, "earlier": earlier, "newest": newest,
        "timestamp_fields": {ts.field_name for ts in docs},
    }  # fmt: skip


def _pyhanko_check(path: Path, settings: Settings) -> dict[str, Any]:
    """Validate every embedded signature with pyHanko; return SignatureCheck fields."""
    facts: dict[str, Any] = {"signature_count": 0, "intact": False, "valid": False}
    facts.update(trusted=False, coverage_entire_file=False)
    roots = trust_roots(settings)  # outside the try: bad config is not a file finding
    try:
        found = _read_signatures(path, roots)
    except Exception as exc:  # noqa: BLE001 - untrusted input: any parser failure is a finding
        return {**facts, "problems": [f"pyHanko cannot validate: {type(exc).__name__}: {exc}"]}
    sigs, results, chain = found["sigs"], found["results"], found["chain"]
    if not sigs:
        return {**facts, "problems": ["the PDF has no signature"]}
    facts["intact"] = all(r.status.intact for r in results) and chain.intact
    facts["valid"] = all(r.status.valid for r in results) and chain.valid
    facts["trusted"] = all(r.trusted for r in results) and chain.trusted
    last = results[-1]
    cert = x509.load_der_x509_certificate(last.status.signing_cert.dump())
    facts.update(signature_count=len(sigs), signed_at=last.status.signer_reported_dt)
    facts.update(signer=common_name(cert.subject), issuer=common_name(cert.issuer))
    facts["serial"] = format(cert.serial_number, "x")
    archived = chain.proof_after(sigs[-1]) is not None
    facts.update(demo=is_demo_cert(cert), level=_level(last, archived))
    facts.update(modification=found["change"], **_timestamp_facts(found, settings))
    facts.update(timestamped_at=last.timestamped_at if last.timestamp_ok else None)
    facts["validation_data_embedded"] = last.lt
    facts["coverage_entire_file"] = found["coverage"] == SignatureCoverageLevel.ENTIRE_FILE
    if found["earlier"]:  # the document changed after signing, whatever the last one covers
        facts["modification"] = CHANGED
    facts["timestamp_fields"] = found["timestamp_fields"]
    return {**facts, "problems": _problems(path, found)}


def _timestamp_facts(found: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The archive time-stamps' count and newest time, and when renewal is due."""
    docs, chain, newest = found["docs"], found["chain"], found["newest"]
    facts: dict[str, Any] = {"document_timestamps": len(docs)}
    facts["archive_timestamped_at"] = chain.times[-1][1] if docs and chain.ok else None
    stamped = found["results"][-1].timestamp_ok or facts["archive_timestamped_at"]
    if newest is not None and stamped:
        facts["timestamp_expires"] = newest.expires
        facts["renewal_due"] = newest.renewal_due(settings.signing.renew_before_days)
    return facts


def _problems(path: Path, found: dict[str, Any]) -> list[str]:
    """Every problem pyHanko found, in English, signature by signature."""
    results, chain, everything = found["results"], found["chain"], found["ranges"]
    problems = [p for n, r in enumerate(results, 1) for p in _status_problems(n, r)]
    problems += list(chain.problems)
    problems += [
        f"signature {n}: the document was changed after it was signed (then signed again)"
        for n in found["earlier"]
    ]
    if found["change"] == CHANGED:
        last = len(results)
        added = path.stat().st_size - sum(everything[last - 1][2:4])
        problems.append(f"signature {last}: {added} bytes were added after signing")
    return problems


def _status_problems(number: int, facts: _Facts) -> list[str]:
    """Describe in English what pyHanko found wrong with signature ``number``."""
    label, result = f"signature {number}", facts.status
    problems = []
    if not result.intact:
        problems.append(f"{label}: the signed content was modified (digest mismatch)")
    if not result.valid:
        problems.append(f"{label}: the cryptographic signature is invalid")
    if result.intact and result.valid and not facts.trusted:
        why = result.trust_problem_indic.name if result.trust_problem_indic else "no path"
        problems.append(f"{label}: the signer certificate is not trusted ({why})")
    tst = result.timestamp_validity
    if tst is not None and not facts.timestamp_ok:
        problems.append(f"{label}: its time-stamp is not valid or its authority is not trusted")
    return problems


_PDFSIG_BLOCK = re.compile(r"^Signature #\d+:", re.MULTILINE)
_PDFSIG_FIELD = re.compile(r"^\s*- (.+?)(?:: (.*?))?\s*$", re.MULTILINE)
_VALID, _TOTAL = "Signature is Valid.", "Total document signed"


def parse_pdfsig(stdout: str) -> list[dict[str, str]]:
    """Split ``pdfsig`` output into one ``{field: value}`` dict per signature.

    Bare lines such as ``- Total document signed`` are stored with an empty value.
    """
    return [dict(_PDFSIG_FIELD.findall(chunk)) for chunk in _PDFSIG_BLOCK.split(stdout)[1:]]


def _pdfsig_check(path: Path, timestamp_fields: Collection[str] = ()) -> dict[str, Any]:
    """Validate with poppler's pdfsig, an implementation independent of pyHanko.

    Document time-stamps (``timestamp_fields``) are counted but not judged: poppler up
    to at least 22.12 lists them as "not yet verified" (it cannot validate RFC 3161
    document time-stamps); pyHanko validates them.
    """
    facts: dict[str, Any] = {"pdfsig_valid": False, "pdfsig_total_document_signed": False}
    try:  # a missing pdfsig travels: an installation problem, not a finding about the file
        result = pdfsig.check(path, timeout=PDFSIG_TIMEOUT_S)
    except ProgramTimeoutError:
        return {**facts, "count": 0, "problems": ["pdfsig timed out"]}
    blocks = parse_pdfsig(result.stdout)
    verdicts = [
        (n, block.get("Signature Validation", "no verdict"))
        for n, block in enumerate(blocks, 1)
        if block.get("Signature Field Name") not in timestamp_fields
    ]
    problems = [f"pdfsig: signature {n}: {v}" for n, v in verdicts if v != _VALID]
    facts["pdfsig_valid"] = bool(blocks) and not problems
    facts["pdfsig_total_document_signed"] = total = any(_TOTAL in block for block in blocks)
    if not blocks:
        detail = (result.stdout.strip() or result.stderr.strip()).splitlines()[-1:] or [""]
        problems.append(f"pdfsig found no signature ({detail[0][:200]})")
    return {**facts, "count": len(blocks), "problems": problems, "total": total}


def validate_signature(path: Path, settings: Settings) -> SignatureCheck:
    """Check the signatures of the PDF at ``path`` with pyHanko and with pdfsig.

    Why two validators: an archive check must not depend on one library's bugs;
    ``ok`` needs both to agree. Malformed or unsigned files give ``ok`` False and a
    problem rather than an exception. Only the signing time's trust, not today's, is
    needed for a time-stamped signature, so an archive stays valid after the
    certificate expires.

    Raises:
        NotFoundError: ``path`` is not a file.
        ExternalProgramError: ``pdfsig`` is not installed.
        ConfigError: a configured trust root cannot be read.
    """
    if not path.is_file():
        raise NotFoundError(what="file", name=str(path))
    hanko = _pyhanko_check(path, settings)
    poppler = _pdfsig_check(path, hanko.pop("timestamp_fields", set()))
    problems, count = hanko.pop("problems") + poppler.pop("problems"), poppler.pop("count")
    total = poppler.pop("total")
    if count and not total and hanko.get("modification", NO_CHANGE) != VALIDATION_DATA:
        problems.append("pdfsig: no signature covers the total document")
    found = hanko["signature_count"] + hanko.get("document_timestamps", 0)
    if hanko["signature_count"] and count != found:
        problems.append(f"pyHanko found {found} signature(s) and time-stamp(s), pdfsig {count}")
    return SignatureCheck(**hanko, **poppler, problems=tuple(problems))
