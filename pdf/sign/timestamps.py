"""PAdES levels: which level to sign at, the RFC 3161 time-stamp client, trust roots.

B-B proves who signed; B-T adds a time-stamp from a trusted authority, so the signing
time no longer rests on the signer's own clock; B-LT also embeds the certificates and
revocation data (OCSP/CRL) so the signature can still be checked when the CA's servers
are gone and the certificate has expired; B-LTA adds a document (archive) time-stamp
over all of that, renewed before its authority's certificate expires
(:mod:`pdf.sign.archive_stamp`). pyHanko does the protocol work; this module
turns settings into pyHanko objects and rejects contradictory settings early.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from aiohttp import encode_basic_auth
from pyhanko.keys import load_certs_from_pemder
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import OwnedFetcherBackend

from schemas.settings import Settings, read_secret
from sohoa.errors import ConfigError

Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
LEVELS: tuple[Level, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
EMBEDS_VALIDATION_DATA: tuple[Level, ...] = ("B-LT", "B-LTA")
DEMO_CA_PEM = "demo-ca.pem"


@dataclass(frozen=True)
class SigningPlan:
    """What a signature will contain, decided once from the settings."""

    level: Level
    """The PAdES baseline level to produce."""
    tsa_url: str | None
    """Where time-stamps come from (B-T and above)."""


def effective_level(settings: Settings) -> Level:
    """The level to sign at: the configured one, else B-T when a TSA is set, else B-B."""
    cfg = settings.signing
    if cfg.level is not None:
        return cfg.level
    return "B-T" if cfg.tsa_url else "B-B"


def plan_signing(settings: Settings) -> SigningPlan:
    """Check the level settings and return the plan.

    Raises:
        ConfigError: B-T, B-LT or B-LTA without a time-stamp authority, or a TSA URL that is
            not http(s).
    """
    cfg, level = settings.signing, effective_level(settings)
    if level == "B-B":
        return SigningPlan(level=level, tsa_url=None)
    if not cfg.tsa_url:
        raise ConfigError(
            reason=f"signing.level = {level} needs a time-stamp authority: set signing.tsa_url "
            "(an RFC 3161 URL from your CA) or use signing.level = B-B"
        )
    if urlsplit(cfg.tsa_url).username is not None:
        raise ConfigError(
            reason=f"signing.tsa_url {redact(cfg.tsa_url)} contains credentials: put them in "
            "signing.tsa_username and signing.tsa_password(_file) instead"
        )
    if urlsplit(cfg.tsa_url).scheme not in ("http", "https"):
        raise ConfigError(
            reason=f"signing.tsa_url must be an http(s) URL, not {redact(cfg.tsa_url)}"
        )
    return SigningPlan(level=level, tsa_url=cfg.tsa_url)


def explain(exc: BaseException) -> str:
    """The error and its causes in one line: pyHanko wraps the telling reason (a revoked
    certificate, an OCSP server down) in a generic "could not be validated"."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 4:
        text = str(current).strip().rstrip(".") or type(current).__name__
        if text not in parts:
            parts.append(text)
        current = current.__cause__
    return f"{type(exc).__name__}: " + ": ".join(parts)


def redact(url: str) -> str:
    """``url`` without user info or query string, safe for logs and error messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def make_timestamper(settings: Settings, plan: SigningPlan) -> TimeStamper | None:
    """The RFC 3161 client for ``plan`` (``None`` at B-B), with the TSA's credentials."""
    if plan.tsa_url is None:
        return None
    cfg = settings.signing
    try:
        password = read_secret(cfg.tsa_password, cfg.tsa_password_file)
    except OSError as exc:
        raise ConfigError(
            reason=f"cannot read signing.tsa_password_file ({exc.strerror})"
        ) from None
    headers = {}
    if cfg.tsa_username:  # a header, not aiohttp's deprecated auth= argument
        headers["Authorization"] = encode_basic_auth(cfg.tsa_username, password or "")
    return HTTPTimeStamper(plan.tsa_url, timeout=cfg.tsa_timeout_s, headers=headers)


def trust_roots(settings: Settings) -> list:
    """The configured roots, plus the demo CA while sohoa signs with the demo key; never the
    OS store.

    Why not the demo CA always: its key and password sit in the data directory, so once a
    real key (PKCS#12 or a token) is configured, anything it signs must not count as trusted.

    Raises:
        ConfigError: a configured root cannot be read or parsed.
    """
    cfg = settings.signing
    uses_demo = cfg.pkcs12_path is None and cfg.pkcs11_module is None
    demo_ca = settings.demo_key_dir / DEMO_CA_PEM
    files: list[Path] = [demo_ca] if uses_demo and demo_ca.is_file() else []
    files.extend(cfg.trust_roots)
    try:
        return list(load_certs_from_pemder(files))
    except (OSError, ValueError) as exc:
        raise ConfigError(reason=f"cannot read signing trust roots: {exc}") from None


def signing_validation_context(settings: Settings, plan: SigningPlan) -> ValidationContext | None:
    """For B-LT and B-LTA: a context that fetches OCSP responses and CRLs while signing.

    Why fetching here and nowhere else: B-LT means "the revocation data is in the file",
    so it has to be downloaded once, at signing time; every later check is offline.
    """
    if plan.level not in EMBEDS_VALIDATION_DATA:
        return None
    return fetching_context(settings)


def fetching_context(settings: Settings) -> ValidationContext:
    """A context that downloads certificates, OCSP responses and CRLs, and requires them.

    Used when signing at B-LT/B-LTA and when renewing an archive time-stamp: both must
    embed every certificate's revocation status, so a missing one is an error.
    """
    backend = AIOHttpFetcherBackend(per_request_timeout=settings.signing.revocation_timeout_s)
    return ValidationContext(
        trust_roots=trust_roots(settings),
        allow_fetching=True,
        fetcher_backend=OwnedFetcherBackend(backend),  # closed by the context's aclose()
        revocation_mode="require",  # every certificate in the chain needs revocation data
    )
