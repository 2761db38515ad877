"""Independent checking of archived PDFs' signatures: pyHanko and poppler's ``pdfsig``.

Two implementations, so a bug in one cannot silently pass a bad file. Beyond "valid or
not", the check reports what an inspector asks: the PAdES level reached (B-B, B-T,
B-LT), who signed and when (by their own clock and by the time-stamp authority's),
and whether anything was added to the file after it was signed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms, tsp
from cryptography import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
from pyhanko.sign.general import find_unique_cms_attribute
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from pdf.keys.signing_key import common_name, is_demo_cert
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
    """PAdES baseline level reached: ``B-B``, ``B-T`` (valid trusted time-stamp) or
    ``B-LT`` (also all validation data embedded); ``None`` when no signature is valid."""
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
    try:
        token = find_unique_cms_attribute(
            sig.signer_info["unsigned_attrs"], "signature_time_stamp_token"
        )
    except Exception:  # noqa: BLE001 - absent or malformed: no time-stamp
        return None
    signed: cms.SignedData = token["content"]
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


async def _analyse(sig: EmbeddedPdfSignature, reader: PdfFileReader, roots: list) -> _Facts:
    """Validate one signature now, at its time-stamp's time, and from its DSS alone."""
    status = await _validate(sig, ValidationContext(trust_roots=roots, allow_fetching=False))
    tst = status.timestamp_validity
    ts_ok = bool(tst and tst.intact and tst.valid and tst.trusted)
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


async def _analyse_all(sigs: list, reader: PdfFileReader, roots: list) -> list[_Facts]:
    return [await _analyse(sig, reader, roots) for sig in sigs]


def _level(facts: _Facts) -> str | None:
    if not (facts.status.intact and facts.status.valid):
        return None
    if not facts.timestamp_ok:
        return "B-B"
    return "B-LT" if facts.lt else "B-T"


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
    with any trusted key would pass as intact. Between two signatures only form filling
    (the new signature field) and validation data may be added; pyHanko's revision diff
    says which.
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


def _pyhanko_check(path: Path, settings: Settings) -> dict[str, Any]:
    """Validate every embedded signature with pyHanko; return SignatureCheck fields."""
    facts: dict[str, Any] = {"signature_count": 0, "intact": False, "valid": False}
    facts.update(trusted=False, coverage_entire_file=False)
    roots = trust_roots(settings)  # outside the try: bad config is not a file finding
    try:
        with path.open("rb") as handle:
            reader = PdfFileReader(handle)
            sigs = list(reader.embedded_signatures)
            results = run_async(_analyse_all(sigs, reader, roots)) if sigs else []
            ranges = [[int(n) for n in sig.byte_range] for sig in sigs]
            coverage = results[-1].status.coverage if results else None
            change = _modification(path, sigs[-1], coverage) if sigs else NO_CHANGE
            earlier = _changed_before_a_later_signature(sigs)
    except Exception as exc:  # noqa: BLE001 - untrusted input: any parser failure is a finding
        return {**facts, "problems": [f"pyHanko cannot validate: {type(exc).__name__}: {exc}"]}
    if not sigs:
        return {**facts, "problems": ["the PDF has no signature"]}
    facts["intact"] = all(r.status.intact for r in results)
    facts["valid"] = all(r.status.valid for r in results)
    facts["trusted"] = all(r.trusted for r in results)
    last = results[-1]
    cert = x509.load_der_x509_certificate(last.status.signing_cert.dump())
    facts.update(signature_count=len(sigs), signed_at=last.status.signer_reported_dt)
    facts.update(signer=common_name(cert.subject), issuer=common_name(cert.issuer))
    facts["serial"] = format(cert.serial_number, "x")
    facts.update(demo=is_demo_cert(cert), level=_level(last), modification=change)
    facts.update(timestamped_at=last.timestamped_at if last.timestamp_ok else None)
    facts["validation_data_embedded"] = last.lt
    facts["coverage_entire_file"] = coverage == SignatureCoverageLevel.ENTIRE_FILE
    problems = [p for n, r in enumerate(results, 1) for p in _status_problems(n, r)]
    problems += [
        f"signature {n}: the document was changed after it was signed (then signed again)"
        for n in earlier
    ]
    if change == CHANGED:
        added = path.stat().st_size - sum(ranges[-1][2:4])
        problems.append(f"signature {len(sigs)}: {added} bytes were added after signing")
    if earlier:  # the document changed after signing, whatever the last signature covers
        facts["modification"] = CHANGED
    return {**facts, "problems": problems}


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


def _pdfsig_check(path: Path) -> dict[str, Any]:
    """Validate with poppler's pdfsig, an implementation independent of pyHanko."""
    facts: dict[str, Any] = {"pdfsig_valid": False, "pdfsig_total_document_signed": False}
    try:  # a missing pdfsig travels: an installation problem, not a finding about the file
        result = pdfsig.check(path, timeout=PDFSIG_TIMEOUT_S)
    except ProgramTimeoutError:
        return {**facts, "count": 0, "problems": ["pdfsig timed out"]}
    blocks = parse_pdfsig(result.stdout)
    verdicts = [block.get("Signature Validation", "no verdict") for block in blocks]
    problems = [f"pdfsig: signature {n}: {v}" for n, v in enumerate(verdicts, 1) if v != _VALID]
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
    hanko, poppler = _pyhanko_check(path, settings), _pdfsig_check(path)
    problems, count = hanko.pop("problems") + poppler.pop("problems"), poppler.pop("count")
    total = poppler.pop("total")
    if count and not total and hanko.get("modification", NO_CHANGE) != VALIDATION_DATA:
        problems.append("pdfsig: no signature covers the total document")
    if hanko["signature_count"] and count != hanko["signature_count"]:
        problems.append(f"pyHanko found {hanko['signature_count']} signature(s), pdfsig {count}")
    return SignatureCheck(**hanko, **poppler, problems=tuple(problems))
