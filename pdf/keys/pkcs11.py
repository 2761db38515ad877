"""Signing keys on PKCS#11 tokens (USB tokens of Vietnamese CAs, HSMs), through pyHanko.

Why one logged-in session per token and process: a token login takes time (and a USB
token's PIN has a retry counter), and PKCS#11 login state is shared by every session
of a process, so a second login with another PIN would not even be checked. When the
configured PIN changes, the old session is closed (logging out) and the new PIN is
really presented to the token. The PIN never appears in logs or error messages.
"""

from __future__ import annotations

import hashlib
import logging
import os
from typing import Any

from cryptography import x509
from pyhanko.sign.signers import Signer

from schemas.settings import Settings, read_secret
from sohoa.errors import ConfigError, SigningError

log = logging.getLogger(__name__)

# (module, token label, pid) -> (PIN digest, open session, {(key, cert label): signer})
_rejected_pins: set[tuple[tuple[str, ...], str]] = set()
"""(token, PIN digest) pairs the token refused: a wrong PIN is sent once per process."""
_tokens: dict[tuple[str, ...], tuple[str, Any, dict[tuple[str, str], Signer]]] = {}


def pkcs11_problem(exc: BaseException) -> str:
    """Name what went wrong with the token in words a clerk can act on (never the PIN)."""
    import pkcs11.exceptions as p11

    known: dict[type, str] = {
        p11.PinIncorrect: "the token rejected the PIN (wrong PIN)",
        p11.PinLenRange: "the PIN has the wrong length for this token (wrong PIN)",
        p11.PinLocked: "the token's PIN is locked after too many wrong attempts",
        p11.PinExpired: "the token's PIN has expired; change it with the CA's tool",
        p11.PinInvalid: "the PIN contains characters this token does not accept",
        p11.UserAlreadyLoggedIn: "another session of this process is already logged in",
        p11.TokenNotPresent: "the token is not plugged in",
        p11.DeviceRemoved: "the token was removed",
        p11.NoSuchToken: "no such token",
    }
    for kind, text in known.items():
        if isinstance(exc, kind):
            return text
    detail = str(exc).strip()
    return f"PKCS#11 error {type(exc).__name__}" + (f": {detail}" if detail else "")


def _pin(settings: Settings) -> str:
    cfg = settings.signing
    try:
        pin = read_secret(cfg.pin, cfg.pin_file)
    except OSError as exc:
        raise ConfigError(reason=f"cannot read signing.pin_file ({exc.strerror})") from None
    if not pin:
        raise ConfigError(reason="signing.pkcs11_module is set but signing.pin/pin_file is not")
    return pin


def token_key(settings: Settings) -> tuple[str, ...]:
    """Identifies one token session: module, token label and process (sessions do not fork)."""
    cfg = settings.signing
    return ("p11", str(cfg.pkcs11_module), cfg.token_label or "", str(os.getpid()))


def close_token(key: tuple[str, ...]) -> None:
    """Close the token's session (logging out) and forget its signers."""
    entry = _tokens.pop(key[:4], None)
    if entry is None:
        return
    try:
        entry[1].close()
    except Exception:
        log.debug("closing a PKCS#11 session failed", exc_info=True)


def _session(settings: Settings, pin: str) -> tuple[Any, dict[tuple[str, str], Signer]]:
    """The logged-in session for the configured token, opening it when needed."""
    import pkcs11
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import open_pkcs11_session

    cfg, key = settings.signing, token_key(settings)
    digest = hashlib.sha256(pin.encode("utf-8")).hexdigest()
    entry = _tokens.get(key)
    if entry is not None and entry[0] == digest:
        return entry[1], entry[2]
    close_token(key)  # another PIN: log out first, so the token really checks the new one
    module = cfg.pkcs11_module
    assert module is not None
    if not module.is_file():
        raise ConfigError(reason=f"signing.pkcs11_module {module} does not exist")
    criteria = TokenCriteria(label=cfg.token_label) if cfg.token_label else None
    where = f"token {cfg.token_label!r}" if cfg.token_label else "the token"
    if (key, digest) in _rejected_pins:
        raise SigningError(
            reason=f"{where} already rejected this PIN; not tried again, so the token does not "
            "lock (fix signing.pin/pin_file and restart)"
        )
    try:
        session = open_pkcs11_session(str(module), token_criteria=criteria, user_pin=pin)
    except (pkcs11.PKCS11Error, OSError) as exc:
        if isinstance(exc, (pkcs11.PinIncorrect, pkcs11.PinLenRange)):
            _rejected_pins.add((key, digest))  # tokens lock after a few wrong tries
        raise SigningError(reason=f"cannot use {where}: {pkcs11_problem(exc)}") from None
    _tokens[key] = (digest, session, {})
    return session, _tokens[key][2]


def load_pkcs11_signer(settings: Settings) -> tuple[tuple[str, ...], Signer, x509.Certificate]:
    """Return ``(cache key, signer, certificate)`` for the configured token key.

    Raises:
        ConfigError: no PIN, no key or certificate label, or a missing module.
        SigningError: token absent, wrong or locked PIN, key or certificate not found.
    """
    import pkcs11
    from pyhanko.sign.general import SigningError as PyHankoSigningError
    from pyhanko.sign.pkcs11 import PKCS11Signer

    cfg = settings.signing
    if not (cfg.key_label or cfg.cert_label):
        raise ConfigError(reason="set signing.key_label or signing.cert_label for the token")
    pin = _pin(settings)
    session, signers = _session(settings, pin)
    labels = (cfg.key_label or "", cfg.cert_label or "")
    signer = signers.get(labels)
    try:
        if signer is None:
            # other_certs_to_pull=None: take the CA chain the token carries, as CA tokens do.
            signer = PKCS11Signer(
                session,
                cert_label=cfg.cert_label,
                key_label=cfg.key_label,
                other_certs_to_pull=None,
            )
        der = signer.signing_cert.dump()  # loads the certificate and the key handle now
    except (pkcs11.PKCS11Error, PyHankoSigningError, OSError) as exc:
        where = f"token {cfg.token_label!r}" if cfg.token_label else "the token"
        if isinstance(exc, pkcs11.PKCS11Error):
            reason = pkcs11_problem(exc)
        else:
            reason = str(exc)
        raise SigningError(reason=f"cannot use {where}: {reason}") from None
    signers[labels] = signer
    return (*token_key(settings), *labels), signer, x509.load_der_x509_certificate(der)
