"""Whether work may start at all: the signing-key policy, read from the settings alone.

Why apart from :mod:`pdf.keys.signing_key`: every batch checks it before any work, and
loading a key needs ``cryptography`` (and pyHanko), ~0.2 s of imports that would otherwise
come before the first page is read; the key itself is loaded while pages are read.
"""

from __future__ import annotations

from schemas.settings import Settings
from sohoa.errors import ConfigError


def require_signing_key(settings: Settings) -> None:
    """Refuse, before any work, to sign with the demo certificate where it is turned off.

    Raises:
        ConfigError: no PKCS#12 file or token is configured and ``signing.allow_demo`` is off.
    """
    cfg = settings.signing
    if cfg.pkcs12_path is None and cfg.pkcs11_module is None and not cfg.allow_demo:
        raise ConfigError("signing_demo_refused")
