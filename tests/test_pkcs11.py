"""Signing with a key on a PKCS#11 token: SoftHSM2 from Debian, loaded by python-pkcs11.

A session fixture creates a token in a temporary directory (SOFTHSM2_CONF points at a
temporary config), and certomancer's Alchemist stores the test PKI's RSA key and its
certificate chain on it through PKCS#11 - the key is a token object, not a file sohoa
could read. Nothing is mocked: the signature is made inside SoftHSM.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pki_server import (  # noqa: F401 - pki_fixture provides the pki fixture
    LocalPki,
    hanko_status,
    make_archival_pdf,
    pdfsig_report,
    pki_fixture,
    qpdf_check,
)
from pydantic import SecretStr

from pdf.keys import signing_key
from pdf.sign import signer as signing
from pdf.sign import validation
from schemas.settings import Settings, SigningSettings
from sohoa.errors import ConfigError, SigningError
from sohoa.programs.run import run_program

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "sohoa-token"
PIN = "246810"
SO_PIN = "13579135"
KEY = "token-signer"  # certomancer labels key and certificate by the certificate's label

pytestmark = pytest.mark.skipif(not MODULE.is_file(), reason="softhsm2 is not installed")


@pytest.fixture(scope="session")
def token(pki: LocalPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM token holding ``token-signer``'s key, certificate and CA chain."""
    from certomancer.integrations.alchemist import (
        Alchemist,
        DefaultAlchemistBackend,
        open_pkcs11_session,
    )
    from certomancer.registry import CertLabel

    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read when the module is first initialised
    init = ["softhsm2-util", "--init-token", "--free", "--label", TOKEN]
    run_program([*init, "--pin", PIN, "--so-pin", SO_PIN], timeout=60)
    session = open_pkcs11_session(str(MODULE), token_label=TOKEN, pin=PIN)
    try:
        Alchemist(DefaultAlchemistBackend(session), pki.arch).store_key_bundles({CertLabel(KEY)})
    finally:
        session.close()  # logs out: sohoa's own login must present the PIN again
    try:
        yield TOKEN
    finally:
        if previous is None:
            os.environ.pop("SOFTHSM2_CONF", None)
        else:
            os.environ["SOFTHSM2_CONF"] = previous


def token_settings(pki: LocalPki, data_dir: Path, **signing_kw) -> Settings:
    values = {
        "pkcs11_module": MODULE,
        "token_label": TOKEN,
        "key_label": KEY,
        "pin": SecretStr(PIN),
        "trust_roots": (pki.root_pem,),
        **signing_kw,
    }
    return Settings(data_dir=data_dir, signing=SigningSettings(**values))


def test_token_signs_an_archival_pdf_at_b_lt(token: str, pki: LocalPki, tmp_path: Path) -> None:
    settings = token_settings(pki, tmp_path / "data", tsa_url=pki.tsa_url, level="B-LT")
    src = make_archival_pdf(tmp_path)
    before = src.read_bytes()
    summary = signing.sign_pdf(src, tmp_path / "signed.pdf", settings, signer_name="Lê Văn Số")
    assert src.read_bytes() == before
    assert summary.signer == "UBND xã Thử Nghiệm" and summary.issuer == "sohoa Test Issuing CA"
    assert summary.level == "B-LT" and not summary.demo
    signed = tmp_path / "signed.pdf"
    status = hanko_status(signed, pki)
    assert status.bottom_line and status.trusted
    assert status.signing_cert.public_key.algorithm == "rsa"  # the token's RSA key signed
    assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    report = pdfsig_report(signed)
    assert "Signature Validation: Signature is Valid." in report
    assert "- Total document signed" in report
    assert "Signer Certificate Common Name: UBND xã Thử Nghiệm" in report
    assert "No syntax or stream encoding errors" in qpdf_check(signed)
    check = validation.validate_signature(signed, settings)
    assert check.ok, check.problems
    assert check.level == "B-LT" and check.signer == "UBND xã Thử Nghiệm"
    assert not (tmp_path / "data" / "demo-signer").exists()  # no demo key was made


def test_token_session_is_reused_and_pin_file_works(
    token: str, pki: LocalPki, tmp_path: Path
) -> None:
    (tmp_path / "pin").write_text(PIN + "\n")
    settings = token_settings(pki, tmp_path, pin=None, pin_file=tmp_path / "pin")
    signer, info = signing_key.load_signer(settings)
    assert info.source == "pkcs11" and info.signer == "UBND xã Thử Nghiệm"
    assert signing_key.load_signer(settings)[0] is signer  # no second login
    signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "a.pdf", settings)
    signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "b.pdf", settings)
    assert validation.validate_signature(tmp_path / "b.pdf", settings).ok


def test_wrong_pin_is_named_but_not_shown(
    token: str, pki: LocalPki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A correct login first: the token must still check the wrong PIN afterwards.
    signing_key.load_signer(token_settings(pki, tmp_path))
    wrong = "999999"
    settings = token_settings(pki, tmp_path, pin=SecretStr(wrong))
    with pytest.raises(SigningError) as caught:
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    error = caught.value
    assert "wrong PIN" in str(error) and TOKEN in str(error)
    for text in (str(error), error.render("vi"), error.render("en"), repr(error.params)):
        assert wrong not in text and PIN not in text
    assert not (tmp_path / "out.pdf").exists()
    # A token locks after a few wrong tries: the same wrong PIN is not sent again.
    with pytest.raises(SigningError, match="not tried again") as again:
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert wrong not in str(again.value)
    # The right PIN works again afterwards.
    assert signing_key.load_signer(token_settings(pki, tmp_path))[1].source == "pkcs11"
    assert caplog.records  # pyHanko and sohoa did log at DEBUG ...
    assert wrong not in caplog.text and PIN not in caplog.text  # ... but never a PIN


def test_missing_key_or_token_is_a_clear_signing_error(
    token: str, pki: LocalPki, tmp_path: Path
) -> None:
    with pytest.raises(SigningError, match="nhan-sai"):
        signing_key.load_signer(token_settings(pki, tmp_path, key_label="nhan-sai"))
    with pytest.raises(SigningError, match="(?i)token"):
        signing_key.load_signer(token_settings(pki, tmp_path, token_label="khong-co"))


def test_incomplete_token_settings_are_config_errors(token: str, pki: LocalPki, tmp_path) -> None:
    with pytest.raises(ConfigError, match="pin"):
        signing_key.load_signer(token_settings(pki, tmp_path, pin=None))
    with pytest.raises(ConfigError, match="key_label"):
        signing_key.load_signer(token_settings(pki, tmp_path, key_label=None))
    both = token_settings(pki, tmp_path, pkcs12_path=tmp_path / "x.p12")
    with pytest.raises(ConfigError, match="either"):
        signing_key.load_signer(both)
    missing = token_settings(pki, tmp_path, pkcs11_module=tmp_path / "no.so")
    with pytest.raises(ConfigError, match=r"no\.so"):
        signing_key.load_signer(missing)
