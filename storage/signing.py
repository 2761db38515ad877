"""PAdES signing of archival PDFs and independent checking of those signatures.

Every archived PDF carries a PAdES (``ETSI.CAdES.detached``) signature so anyone can
later prove it is the file the office produced. Signing uses pyHanko with the
configured PKCS#12, or a generated DEMO certificate (labelled as not legally valid)
so a fresh install works end to end. Checking uses two independent implementations,
pyHanko and poppler's ``pdfsig``, so a bug in one cannot silently pass a bad file.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.validation import (
    EmbeddedPdfSignature,
    PdfSignatureStatus,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from schemas.models import SignatureSummary
from schemas.settings import Settings, read_secret
from sohoa.errors import ConfigError, ExternalProgramError, NotFoundError, SigningError
from sohoa.proc import run_program
from storage.objectstore import atomic_write_bytes

log = logging.getLogger(__name__)

DEMO_P12 = "demo-signer.p12"
DEMO_PASS = "demo-signer.pass"
DEMO_CA_PEM = "demo-ca.pem"
DEMO_ORG = "sohoa demo"
DEMO_CA_CN = "sohoa DEMO CA - KHONG CO GIA TRI PHAP LY"
DEMO_SIGNER_CN = "sohoa DEMO signer - chi dung thu nghiem"
FIELD_NAME = "Signature1"
PDFSIG_TIMEOUT_S = 60.0
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # RFC 9336
# Real Vietnamese signing certificates assert nonRepudiation, digitalSignature or both.
_KEY_USAGE = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"})

T = TypeVar("T")
RSAKey = rsa.RSAPrivateKey


@dataclass(frozen=True)
class SignerInfo:
    """Facts about the loaded signing certificate, never key material.

    ``signer``/``issuer`` are common names, ``serial`` is lowercase hex, ``demo`` marks
    the generated demo certificate, ``fingerprint`` is the hex SHA-256 of the DER.
    """

    signer: str
    issuer: str
    serial: str
    demo: bool
    fingerprint: str
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True)
class SignatureCheck:
    """Result of checking a PDF's signatures with pyHanko and with poppler's pdfsig.

    ``intact`` (hash matches), ``valid`` (CMS signature verifies) and ``trusted`` (chain
    to a trust root) hold for every signature per pyHanko; ``coverage_entire_file``
    means the newest one covers every byte. ``pdfsig_*`` are poppler's verdicts;
    ``signer``/``signed_at``/``demo`` describe the newest signature; ``problems``
    explains in English everything that is wrong.
    """

    signature_count: int
    intact: bool
    valid: bool
    trusted: bool
    coverage_entire_file: bool
    pdfsig_valid: bool
    pdfsig_total_document_signed: bool
    signer: str | None = None
    signed_at: datetime | None = None
    demo: bool = False
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when both validators agree the file is signed, unchanged and trusted."""
        hanko = (self.intact, self.valid, self.trusted, self.coverage_entire_file)
        poppler = (self.pdfsig_valid, self.pdfsig_total_document_signed)
        return self.signature_count > 0 and all(hanko + poppler)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a pyHanko coroutine to completion, even when called from inside an event loop.

    pyHanko's synchronous wrappers call ``asyncio.run``, which fails inside a running
    loop (an async web handler or flow), so we use a worker thread in that case.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _common_name(name: x509.Name) -> str:
    """Return the CN of ``name``, or the whole RFC 4514 string when it has none."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def _is_demo_cert(cert: x509.Certificate) -> bool:
    """Treat any certificate claiming the demo organisation as demo (never an advantage)."""
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(o.value == DEMO_ORG for o in orgs)


def _demo_name(common_name: str) -> x509.Name:
    pairs = [(NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, DEMO_ORG)]
    pairs.append((NameOID.COMMON_NAME, common_name))
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def _issue(key: RSAKey, subject: x509.Name, ca_key: RSAKey, issuer: x509.Name) -> x509.Certificate:
    """Issue one demo certificate: the self-signed CA, or a document-signing leaf."""
    now, ca = datetime.now(UTC), key is ca_key
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))  # tolerate clock skew
        .not_valid_after(now + timedelta(days=3650 + (30 if ca else 0)))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
        # digitalSignature, nonRepudiation (content_commitment), 3 x no, keyCertSign, cRLSign
        .add_extension(x509.KeyUsage(*[not ca] * 2, *[False] * 3, *[ca] * 2, False, False), True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        ).add_extension(
            # emailProtection is what NSS (pdfsig) and Adobe check; documentSigning is RFC 9336.
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING_EKU]),
            False,
        )
    return builder.sign(ca_key, hashes.SHA256())


def _make_demo_material() -> tuple[bytes, bytes, bytes]:
    """Return ``(pkcs12, password, ca_pem)`` for a freshly generated demo CA and signer."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = _demo_name(DEMO_CA_CN)
    ca_cert = _issue(ca_key, ca_name, ca_key, ca_name)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    cert = _issue(key, _demo_name(DEMO_SIGNER_CN), ca_key, ca_name)
    password = secrets.token_urlsafe(32).encode("ascii")
    encryption = serialization.BestAvailableEncryption(password)  # PBES2 AES-256, SHA-256 MAC
    p12 = pkcs12.serialize_key_and_certificates(
        b"sohoa demo signer", key, cert, [ca_cert], encryption
    )
    return p12, password, ca_cert.public_bytes(serialization.Encoding.PEM)


def ensure_demo_certificate(key_dir: Path) -> Path:
    """Return the demo PKCS#12 in ``key_dir``, generating it on first use.

    Why: a fresh install must be able to sign without a purchased certificate, and
    every run must reuse the same key so earlier demo signatures stay verifiable.
    Concurrent callers (several workers starting at once) serialise on a lock file;
    the PKCS#12 is written last, so its existence means the set is complete.

    Args:
        key_dir: directory for ``demo-signer.p12``, ``demo-signer.pass`` (0600)
            and ``demo-ca.pem`` (the trust root used when validating).

    Returns:
        Path of ``demo-signer.p12``.
    """
    p12_path = key_dir / DEMO_P12
    if p12_path.is_file():
        return p12_path
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (key_dir / ".demo-signer.lock").open("a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        if p12_path.is_file():  # another process finished while we waited
            return p12_path
        p12, password, ca_pem = _make_demo_material()
        atomic_write_bytes(key_dir / DEMO_CA_PEM, ca_pem, mode=0o644)
        atomic_write_bytes(key_dir / DEMO_PASS, password + b"\n", mode=0o600)
        atomic_write_bytes(p12_path, p12, mode=0o600)
    log.warning("Generated a DEMO signing certificate in %s (not legally valid)", key_dir)
    return p12_path


# Keyed by (path, mtime, size, password digest). Races only cost a duplicate load.
_cache: dict[tuple[str, int, int, str], tuple[SimpleSigner, SignerInfo]] = {}


def _credentials(settings: Settings) -> tuple[Path, str | None, bool]:
    """Return ``(pkcs12 path, password, demo)`` from the settings, creating the demo key."""
    cfg = settings.signing
    value, pass_file, p12_path = cfg.pkcs12_password, cfg.pkcs12_password_file, cfg.pkcs12_path
    demo = p12_path is None
    if p12_path is None:
        p12_path = ensure_demo_certificate(settings.demo_key_dir)
        value, pass_file = None, settings.demo_key_dir / DEMO_PASS
    try:
        password = read_secret(value, pass_file)
    except OSError as exc:
        raise SigningError(
            reason=f"cannot read the PKCS#12 password file {pass_file} ({exc.strerror})"
        ) from None
    return p12_path, password, demo


def _load_p12(
    data: bytes, path: Path, password: str | None, demo: bool
) -> tuple[SimpleSigner, SignerInfo]:
    """Parse and sanity-check a PKCS#12; errors never mention the password."""
    secret = password.encode("utf-8") if password is not None else None
    try:
        key, cert, _extra = pkcs12.load_key_and_certificates(data, secret)
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=(), passphrase=secret)
    except (ValueError, TypeError):
        reason = f"cannot open {path.name}: wrong password or not a PKCS#12 file"
        raise SigningError(reason=reason) from None
    if key is None or cert is None:
        raise SigningError(reason=f"{path.name} does not contain a private key and certificate")
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise SigningError(reason=f"in {path.name} the private key does not match the certificate")
    info = SignerInfo(
        signer=_common_name(cert.subject),
        issuer=_common_name(cert.issuer),
        serial=format(cert.serial_number, "x"),
        demo=demo or _is_demo_cert(cert),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
    return signer, info


def load_signer(settings: Settings) -> tuple[SimpleSigner, SignerInfo]:
    """Return the pyHanko signer and certificate facts for the configured PKCS#12.

    Why cached: a batch signs many records and PKCS#12 decryption is deliberately
    slow, so the result is kept per (file, mtime, size, password digest); replacing
    the file or changing the password loads it afresh.

    Raises:
        SigningError: missing or unreadable file, wrong password, no key, a key that
            does not match the certificate, or a certificate outside its validity.
    """
    path, password, demo = _credentials(settings)
    pw_digest = hashlib.sha256((password or "").encode("utf-8")).hexdigest()
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, pw_digest)
        cached = _cache.get(key) or _load_p12(path.read_bytes(), path, password, demo)
    except OSError as exc:
        raise SigningError(reason=f"cannot read {path} ({exc.strerror})") from None
    if len(_cache) >= 8:
        _cache.clear()
    _cache[key] = cached
    info, now = cached[1], datetime.now(UTC)
    if not info.not_before <= now <= info.not_after:
        valid = f"{info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d}"
        raise SigningError(reason=f"the certificate of {info.signer} is valid only {valid}")
    return cached


def _signed_time(path: Path) -> datetime:
    """Read back the signing time pyHanko wrote (``/M``), proving the output parses."""
    with path.open("rb") as handle:
        sigs = PdfFileReader(handle).embedded_signatures
        stamp = sigs[-1].self_reported_timestamp if sigs else None
    return (stamp or datetime.now(UTC)).astimezone(UTC)


def sign_pdf(
    src: Path, dest: Path, settings: Settings, *, signer_name: str | None = None
) -> SignatureSummary:
    """Add a PAdES signature to ``src`` as an incremental update and write it to ``dest``.

    Why incremental and atomic: the signed bytes must be exactly the bytes produced
    upstream, and a crash must never leave a half-written archive file at ``dest``.

    Args:
        src: the PDF to sign (never modified).
        dest: where the signed PDF goes; replaced atomically.
        settings: signing certificate, reason and location.
        signer_name: optional ``/Name`` of the person operating the signing.

    Raises:
        SigningError: bad certificate, unreadable/unsignable PDF, or ``dest`` is ``src``.
    """
    if dest.resolve() == src.resolve():
        raise SigningError(reason="the signed PDF must not overwrite its source")
    signer, info = load_signer(settings)
    meta = PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=settings.signing.reason,
        location=settings.signing.location,
        name=signer_name,
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with src.open("rb") as inp, os.fdopen(fd, "w+b") as out:
            writer = IncrementalPdfFileWriter(inp)
            _run(PdfSigner(meta, signer).async_sign_pdf(writer, output=out))
            out.flush()
            os.fsync(out.fileno())
        signed_at = _signed_time(tmp)
        os.replace(tmp, dest)
    except Exception as exc:  # pyHanko raises many types for bad input
        tmp.unlink(missing_ok=True)
        raise SigningError(reason=f"cannot sign {src.name}: {type(exc).__name__}: {exc}") from exc
    fields = {"signer": info.signer, "issuer": info.issuer, "serial": info.serial}
    return SignatureSummary(**fields, demo=info.demo, signed_at=signed_at)


def _validation_context(settings: Settings) -> ValidationContext:
    """Trust only the demo CA (when it exists) and the configured roots; never the OS store."""
    files = [p for p in [settings.demo_key_dir / DEMO_CA_PEM] if p.is_file()]
    files.extend(settings.signing.trust_roots)
    try:
        roots = list(load_certs_from_pemder(files))
    except (OSError, ValueError) as exc:
        raise ConfigError(reason=f"cannot read signing trust roots: {exc}") from None
    # No network: revocation info for archive checks must not depend on a CA being online.
    return ValidationContext(trust_roots=roots, allow_fetching=False)


async def _validate_all(
    sigs: list[EmbeddedPdfSignature], vc: ValidationContext
) -> list[PdfSignatureStatus]:
    try:
        return [
            # skip_diff: the archive rule is "nothing after the signature", so pyHanko's
            # revision diffing (slow, logs tracebacks for suspicious updates) adds nothing.
            await async_validate_pdf_signature(
                sig, vc, key_usage_settings=_KEY_USAGE, skip_diff=True
            )
            for sig in sigs
        ]
    finally:
        await vc.aclose()  # what pyHanko's sync wrapper does; no sessions leak


def _pyhanko_check(path: Path, settings: Settings) -> dict[str, Any]:
    """Validate every embedded signature with pyHanko; return SignatureCheck fields."""
    facts: dict[str, Any] = {"signature_count": 0, "intact": False, "valid": False}
    facts.update(trusted=False, coverage_entire_file=False)
    vc = _validation_context(settings)  # outside the try: bad config is not a file finding
    try:
        with path.open("rb") as handle:
            sigs = list(PdfFileReader(handle).embedded_signatures)
            results = _run(_validate_all(sigs, vc)) if sigs else []
            ranges = [[int(n) for n in sig.byte_range] for sig in sigs]
    except Exception as exc:  # noqa: BLE001 - untrusted input: any parser failure is a finding
        return {**facts, "problems": [f"pyHanko cannot validate: {type(exc).__name__}: {exc}"]}
    if not sigs:
        return {**facts, "problems": ["the PDF has no signature"]}
    for flag in ("intact", "valid", "trusted"):
        facts[flag] = all(getattr(status, flag) for status in results)
    last = results[-1]
    cert = x509.load_der_x509_certificate(last.signing_cert.dump())
    facts.update(signature_count=len(sigs), signed_at=last.signer_reported_dt)
    facts.update(signer=_common_name(cert.subject), demo=_is_demo_cert(cert))
    facts["coverage_entire_file"] = last.coverage == SignatureCoverageLevel.ENTIRE_FILE
    problems = [p for n, r in enumerate(results, 1) for p in _status_problems(n, r)]
    if not facts["coverage_entire_file"]:
        added = path.stat().st_size - sum(ranges[-1][2:4])
        problems.append(f"signature {len(sigs)}: {added} bytes were added after signing")
    return {**facts, "problems": problems}


def _status_problems(number: int, result: PdfSignatureStatus) -> list[str]:
    """Describe in English what pyHanko found wrong with signature ``number``."""
    label = f"signature {number}"
    problems = []
    if not result.intact:
        problems.append(f"{label}: the signed content was modified (digest mismatch)")
    if not result.valid:
        problems.append(f"{label}: the cryptographic signature is invalid")
    if result.intact and result.valid and not result.trusted:
        why = result.trust_problem_indic.name if result.trust_problem_indic else "no path"
        problems.append(f"{label}: the signer certificate is not trusted ({why})")
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
    try:
        result = run_program(["pdfsig", path], timeout=PDFSIG_TIMEOUT_S, check=False)
    except ExternalProgramError as exc:
        if exc.key == "program_timeout":
            return {**facts, "count": 0, "problems": ["pdfsig timed out"]}
        raise  # pdfsig missing: an installation problem, not a finding about the file
    blocks = parse_pdfsig(result.stdout)
    verdicts = [block.get("Signature Validation", "no verdict") for block in blocks]
    problems = [f"pdfsig: signature {n}: {v}" for n, v in enumerate(verdicts, 1) if v != _VALID]
    facts["pdfsig_valid"] = bool(blocks) and not problems
    facts["pdfsig_total_document_signed"] = total = any(_TOTAL in block for block in blocks)
    if blocks and not total:
        problems.append("pdfsig: no signature covers the total document")
    if not blocks:
        detail = (result.stdout.strip() or result.stderr.strip()).splitlines()[-1:] or [""]
        problems.append(f"pdfsig found no signature ({detail[0][:200]})")
    return {**facts, "count": len(blocks), "problems": problems}


def validate_signature(path: Path, settings: Settings) -> SignatureCheck:
    """Check the signatures of the PDF at ``path`` with pyHanko and with pdfsig.

    Why two validators: an archive check must not depend on one library's bugs;
    ``ok`` needs both to agree. Malformed or unsigned files give ``ok`` False and a
    problem rather than an exception.

    Raises:
        NotFoundError: ``path`` is not a file.
        ExternalProgramError: ``pdfsig`` is not installed.
        ConfigError: a configured trust root cannot be read.
    """
    if not path.is_file():
        raise NotFoundError(what="file", name=str(path))
    hanko, poppler = _pyhanko_check(path, settings), _pdfsig_check(path)
    problems, count = hanko.pop("problems") + poppler.pop("problems"), poppler.pop("count")
    if hanko["signature_count"] and count != hanko["signature_count"]:
        problems.append(f"pyHanko found {hanko['signature_count']} signature(s), pdfsig {count}")
    return SignatureCheck(**hanko, **poppler, problems=tuple(problems))
