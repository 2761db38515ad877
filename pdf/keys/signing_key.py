"""Where the signing key comes from: a PKCS#11 token, a PKCS#12 file, or the demo certificate.

Vietnamese agencies sign with USB tokens and HSMs (PKCS#11), sometimes with an exported
PKCS#12; a fresh install has neither, so a clearly labelled DEMO certificate is generated
to keep the pipeline working end to end. Every source gives the same thing: a pyHanko
:class:`~pyhanko.sign.signers.Signer` plus :class:`SignerInfo` facts about its certificate.
Secrets (passwords, PINs) never appear in logs or error messages.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pdf.keys.policy import require_signing_key
from schemas.settings import Settings, read_secret
from sohoa.errors import ConfigError, SigningError
from storage.objectstore import atomic_write_bytes

if TYPE_CHECKING:  # pyHanko is imported where a key is loaded: the flow checks the key at
    # its start (require_signing_key) and must not pay pyHanko's import before the pages
    from pyhanko.sign.signers import Signer, SimpleSigner

log = logging.getLogger(__name__)

DEMO_P12 = "demo-signer.p12"
DEMO_PASS = "demo-signer.pass"
DEMO_CA_PEM = "demo-ca.pem"
DEMO_ORG = "sohoa demo"
DEMO_CA_CN = "sohoa DEMO CA - KHONG CO GIA TRI PHAP LY"
DEMO_SIGNER_CN = "sohoa DEMO signer - chi dung thu nghiem"
DOCUMENT_SIGNING_EKU = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # RFC 9336

RSAKey = rsa.RSAPrivateKey


@dataclass(frozen=True)
class SignerInfo:
    """Facts about the loaded signing certificate, never key material.

    ``signer``/``issuer`` are common names, ``serial`` is lowercase hex, ``demo`` marks
    the generated demo certificate, ``fingerprint`` is the hex SHA-256 of the DER,
    ``source`` is ``demo``, ``pkcs12`` or ``pkcs11``.
    """

    signer: str
    issuer: str
    serial: str
    demo: bool
    fingerprint: str
    not_before: datetime
    not_after: datetime
    source: str = "pkcs12"


def common_name(name: x509.Name) -> str:
    """Return the CN of ``name``, or the whole RFC 4514 string when it has none."""
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else name.rfc4514_string()


def is_demo_cert(cert: x509.Certificate) -> bool:
    """Treat any certificate claiming the demo organisation as demo (never an advantage)."""
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return any(o.value == DEMO_ORG for o in orgs)


def _info(cert: x509.Certificate, *, demo: bool, source: str) -> SignerInfo:
    return SignerInfo(
        signer=common_name(cert.subject),
        issuer=common_name(cert.issuer),
        serial=format(cert.serial_number, "x"),
        demo=demo or is_demo_cert(cert),
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        source=source,
    )


# ---------------------------------------------------------------- demo certificate


def _demo_name(cn: str) -> x509.Name:
    pairs = [(NameOID.COUNTRY_NAME, "VN"), (NameOID.ORGANIZATION_NAME, DEMO_ORG)]
    pairs.append((NameOID.COMMON_NAME, cn))
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


# ---------------------------------------------------------------- PKCS#12


def _credentials(settings: Settings) -> tuple[Path, str | None, bool]:
    """Return ``(pkcs12 path, password, demo)`` from the settings, creating the demo key."""
    cfg = settings.signing
    value, pass_file, p12_path = cfg.pkcs12_password, cfg.pkcs12_password_file, cfg.pkcs12_path
    demo = p12_path is None
    require_signing_key(settings)
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
        key, cert, extra = pkcs12.load_key_and_certificates(data, secret)
    except (ValueError, TypeError):
        reason = f"cannot open {path.name}: wrong password or not a PKCS#12 file"
        raise SigningError(reason=reason) from None
    if key is None or cert is None:
        raise SigningError(reason=f"{path.name} does not contain a private key and certificate")
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise SigningError(reason=f"in {path.name} the private key does not match the certificate")
    signer = _kept_key_signer(key, cert, extra)
    return signer, _info(cert, demo=demo, source="demo" if demo else "pkcs12")


def _kept_key_signer(key, cert: x509.Certificate, extra: list[x509.Certificate]) -> SimpleSigner:
    """pyHanko's :class:`SimpleSigner` for a PKCS#12's contents, decrypted once.

    What ``SimpleSigner.load_pkcs12_data`` builds (the key, the certificate, the
    file's other certificates in the registry), from the key and certificates this
    module has already decrypted, so the PKCS#12's key derivation runs once, not twice.
    """
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    registry = SimpleCertificateStore()
    der = serialization.Encoding.DER
    registry.register_multiple(asn1_x509.Certificate.load(c.public_bytes(der)) for c in extra)
    return _signer_class()(
        key,
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(der)),
        cert_registry=registry,
    )


@cache
def _signer_class() -> type:
    """:class:`KeptKeySigner`, defined on first use (pyHanko is imported only to sign)."""
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    class KeptKeySigner(SimpleSigner):
        """A :class:`SimpleSigner` that keeps its private key parsed.

        Why: ``SimpleSigner.sign_raw`` parses the DER key again for every signature,
        and parsing an RSA key checks it (0.11 s for the demo's 3072-bit key); each
        record is signed twice (once to size the signature, once for real), so a
        record paid 0.22 s for it. RSA PKCS#1 v1.5 and ECDSA, what certificates for
        Vietnamese digital signatures use, sign with the kept key; any other mechanism
        goes to pyHanko's own code.
        """

        def __init__(self, parsed_key, **kwargs) -> None:
            super().__init__(**kwargs)
            self._parsed_key = parsed_key

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                name = mechanism.signature_algo
            except ValueError:
                name = mechanism["algorithm"].native
            digest = get_pyca_cryptography_hash(digest_algorithm)
            if name == "rsassa_pkcs1v15" and isinstance(self._parsed_key, rsa.RSAPrivateKey):
                return self._parsed_key.sign(data, PKCS1v15(), digest)
            if name == "ecdsa" and isinstance(self._parsed_key, EllipticCurvePrivateKey):
                return self._parsed_key.sign(data, ECDSA(digest))
            return super().sign_raw(data, digest_algorithm)

    return KeptKeySigner


def _pkcs12_signer(settings: Settings) -> tuple[tuple[str, ...], tuple[Signer, SignerInfo]]:
    """Return the cache key and the loaded PKCS#12 (or demo) signer."""
    path, password, demo = _credentials(settings)
    pw_digest = hashlib.sha256((password or "").encode("utf-8")).hexdigest()
    try:
        stat = path.stat()
        key = ("p12", str(path.resolve()), str(stat.st_mtime_ns), str(stat.st_size), pw_digest)
        cached = _cache.get(key) or _load_p12(path.read_bytes(), path, password, demo)
    except OSError as exc:
        raise SigningError(reason=f"cannot read {path} ({exc.strerror})") from None
    return key, cached


# ---------------------------------------------------------------- the one entry point

# PKCS#12 signers keyed by (file, mtime, size, password digest); a race only costs a
# duplicate load. Token sessions are cached in pdf.keys.pkcs11.
_cache: dict[tuple[str, ...], tuple[Signer, SignerInfo]] = {}
_locks: dict[tuple[str, ...], threading.Lock] = {}
_guard = threading.Lock()


def _remember(key: tuple[str, ...], value: tuple[Signer, SignerInfo]) -> None:
    if key[0] != "p12":
        return
    with _guard:
        if key not in _cache and len(_cache) >= 8:
            _cache.clear()
        _cache[key] = value


def forget_signer(key: tuple[str, ...]) -> None:
    """Drop a cached signer; for a token, close its session (e.g. after it was removed)."""
    if key[0] == "p11":
        from pdf.keys.pkcs11 import close_token

        close_token(key)
    else:
        _cache.pop(key, None)


def signer_lock(key: tuple[str, ...]) -> threading.Lock:
    """The lock that serialises signatures with one key: a token signs one thing at a time.

    All keys on one token share its session, so they share its lock.
    """
    lock_key = key[:4] if key[0] == "p11" else key
    with _guard:
        return _locks.setdefault(lock_key, threading.Lock())


def load_signer_keyed(settings: Settings) -> tuple[tuple[str, ...], Signer, SignerInfo]:
    """Like :func:`load_signer`, also returning the cache key (for locking and eviction)."""
    cfg = settings.signing
    if cfg.pkcs11_module is not None and cfg.pkcs12_path is not None:
        raise ConfigError(reason="set either signing.pkcs11_module or signing.pkcs12_path")
    if cfg.pkcs11_module is not None:
        from pdf.keys.pkcs11 import load_pkcs11_signer

        with _guard:  # one login at a time per process
            key, signer, cert = load_pkcs11_signer(settings)
        info = _info(cert, demo=False, source="pkcs11")
    else:
        key, (signer, info) = _pkcs12_signer(settings)
        _remember(key, (signer, info))
    now = datetime.now(UTC)
    if not info.not_before <= now <= info.not_after:
        valid = f"{info.not_before:%Y-%m-%d} to {info.not_after:%Y-%m-%d}"
        raise SigningError(reason=f"the certificate of {info.signer} is valid only {valid}")
    return key, signer, info


def load_signer(settings: Settings) -> tuple[Signer, SignerInfo]:
    """Return the pyHanko signer and certificate facts for the configured key.

    Why cached: a batch signs many records; PKCS#12 decryption is deliberately slow and
    a token login takes time, so the result is kept per (file, mtime, size, password
    digest) or per (module, labels, PIN digest, process). Replacing the file or changing
    the password loads it afresh.

    Raises:
        ConfigError: contradictory or incomplete key settings.
        SigningError: missing or unreadable file, wrong password or PIN, no key, a key
            that does not match the certificate, or a certificate outside its validity.
    """
    _key, signer, info = load_signer_keyed(settings)
    return signer, info
