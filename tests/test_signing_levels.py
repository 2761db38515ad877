"""PAdES B-T and B-LT against a real test PKI (certomancer's TSA, OCSP and CRLs on loopback).

Every signed file is judged three ways: pyHanko's validator (called here directly, not
through sohoa), poppler's ``pdfsig`` and ``qpdf --check``. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import time
from datetime import UTC, datetime, timedelta
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
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    async_add_validation_info,
)
from pyhanko_certvalidator import ValidationContext

from pdf.sign import signer as signing
from pdf.sign import validation
from pdf.sign.timestamps import effective_level
from schemas.settings import Settings, SigningSettings
from sohoa.errors import ConfigError, SigningError

P12_PASSWORD = "mat-khau-PKI-thu-nghiem"


def pki_settings(pki: LocalPki, data_dir: Path, label: str = "signer", **signing_kw) -> Settings:
    """Settings signing with ``label``'s PKCS#12 from the test PKI, trusting its root."""
    cfg = SigningSettings(
        pkcs12_path=pki.pkcs12(label, P12_PASSWORD),
        pkcs12_password=SecretStr(P12_PASSWORD),
        trust_roots=(pki.root_pem,),
        **signing_kw,
    )
    return Settings(data_dir=data_dir, signing=cfg)


def assert_independent_checks_pass(path: Path) -> None:
    report = pdfsig_report(path)
    assert report.count("Signature #") == 1, report
    assert "Signature Validation: Signature is Valid." in report
    assert "- Total document signed" in report
    assert "ETSI.CAdES.detached" in report
    assert "No syntax or stream encoding errors" in qpdf_check(path)


@pytest.fixture(scope="module")
def signed_bt(pki: LocalPki, tmp_path_factory) -> tuple[Path, Settings, object]:
    folder = tmp_path_factory.mktemp("b-t")
    settings = pki_settings(pki, folder / "data", tsa_url=pki.tsa_url)
    src = make_archival_pdf(folder)
    summary = signing.sign_pdf(src, folder / "signed.pdf", settings, signer_name="Lê Văn Số")
    return folder / "signed.pdf", settings, summary


@pytest.fixture(scope="module")
def signed_blt(pki: LocalPki, tmp_path_factory) -> tuple[Path, Settings, object]:
    folder = tmp_path_factory.mktemp("b-lt")
    settings = pki_settings(pki, folder / "data", tsa_url=pki.tsa_url, level="B-LT")
    src = make_archival_pdf(folder)
    summary = signing.sign_pdf(src, folder / "signed.pdf", settings)
    return folder / "signed.pdf", settings, summary


# ---------------------------------------------------------------- settings


def test_level_follows_the_tsa_setting(tmp_path: Path) -> None:
    assert effective_level(Settings(data_dir=tmp_path)) == "B-B"
    with_tsa = SigningSettings(tsa_url="http://tsa.example.vn/tsr")
    assert effective_level(Settings(data_dir=tmp_path, signing=with_tsa)) == "B-T"
    forced = SigningSettings(tsa_url="http://tsa.example.vn/tsr", level="B-B")
    assert effective_level(Settings(data_dir=tmp_path, signing=forced)) == "B-B"


@pytest.mark.parametrize("level", ["B-T", "B-LT"])
def test_timestamped_level_without_tsa_is_a_config_error(tmp_path: Path, level: str) -> None:
    settings = Settings(data_dir=tmp_path, signing=SigningSettings(level=level))
    src = make_archival_pdf(tmp_path, pages=1)
    with pytest.raises(ConfigError) as caught:
        signing.sign_pdf(src, tmp_path / "out.pdf", settings)
    assert "signing.tsa_url" in str(caught.value) and level in str(caught.value)
    assert "tsa_url" in caught.value.render("vi")
    assert not (tmp_path / "out.pdf").exists()
    assert not (tmp_path / "demo-signer").exists()  # failed before touching any key


def test_tsa_url_must_be_http(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, signing=SigningSettings(tsa_url="ftp://tsa.vn/x"))
    with pytest.raises(ConfigError, match="http"):
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "o.pdf", settings)


# ---------------------------------------------------------------- B-T


def test_b_t_signature_carries_a_trusted_timestamp(signed_bt, pki: LocalPki) -> None:
    path, _settings, summary = signed_bt
    assert summary.level == "B-T" and not summary.demo
    assert summary.signer == "Nguyễn Thị Hồng Đào"
    assert summary.timestamped_at is not None
    assert abs(summary.timestamped_at - summary.signed_at) < timedelta(minutes=1)
    status = hanko_status(path, pki)
    assert status.bottom_line and status.trusted
    tst = status.timestamp_validity
    assert tst is not None and tst.valid and tst.intact and tst.trusted
    assert abs(tst.timestamp - datetime.now(UTC)) < timedelta(minutes=5)
    with path.open("rb") as handle:  # B-T has no DSS: nothing was fetched from the CA
        assert "/DSS" not in PdfFileReader(handle).root
    assert_independent_checks_pass(path)


def test_signing_keeps_the_pdfa_metadata_untouched(signed_bt, tmp_path: Path) -> None:
    """The XMP written by the PDF/A builder is not re-serialised by the signing update."""
    import pikepdf

    path, _settings, _summary = signed_bt
    source = path.parent / "archival.pdf"
    with pikepdf.open(source) as before, pikepdf.open(path) as after:
        assert after.Root.Metadata.objgen == before.Root.Metadata.objgen
        assert after.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()
        assert "/Info" not in after.trailer or after.trailer.Info == before.trailer.get("/Info")
    tail = path.read_bytes()[source.stat().st_size :]
    assert b"pyHanko" not in tail and b"<x:xmpmeta" not in tail  # no new XMP revision


def test_verify_reports_b_t(signed_bt) -> None:
    path, settings, summary = signed_bt
    check = validation.validate_signature(path, settings)
    assert check.ok, check.problems
    assert check.level == "B-T" and not check.validation_data_embedded
    assert check.signer == "Nguyễn Thị Hồng Đào" and check.issuer == "sohoa Test Issuing CA"
    assert check.timestamped_at == summary.timestamped_at
    assert check.signed_at is not None and not check.modified_after_signing
    assert check.modification == "none"


# ---------------------------------------------------------------- B-LT


def test_b_lt_embeds_validation_data_in_the_signed_revision(signed_blt, pki) -> None:
    path, _settings, summary = signed_blt
    assert summary.level == "B-LT" and summary.timestamped_at is not None
    with path.open("rb") as handle:
        reader = PdfFileReader(handle)
        dss = DocumentSecurityStore.read_dss(reader)
        names = {cert.subject.native["common_name"] for cert in dss.load_certs()}
        assert {"Nguyễn Thị Hồng Đào", "sohoa Test Issuing CA", "sohoa Test TSA"} <= names
        assert len(dss.ocsps) >= 1  # the signer's status from the OCSP responder
        assert len(dss.crls) >= 1  # the root's CRL for the issuing CA and the TSA
        assert len(reader.embedded_signatures) == 1
    status = hanko_status(path, pki)
    assert status.bottom_line and status.timestamp_validity.trusted
    assert_independent_checks_pass(path)


def test_verify_reports_b_lt(signed_blt) -> None:
    path, settings, _summary = signed_blt
    check = validation.validate_signature(path, settings)
    assert check.ok, check.problems
    assert check.level == "B-LT" and check.validation_data_embedded
    assert check.coverage_entire_file and check.pdfsig_total_document_signed


def test_validation_data_added_after_signing_is_not_a_change(
    signed_bt, pki: LocalPki, tmp_path: Path
) -> None:
    """A DSS appended in its own revision (the other PAdES way to reach B-LT) is allowed."""
    path, settings, _summary = signed_bt
    roots = list(load_certs_from_pemder([pki.root_pem]))
    upgraded = tmp_path / "upgraded.pdf"

    async def add_dss() -> None:
        with path.open("rb") as handle, upgraded.open("wb") as out:
            sig = PdfFileReader(handle).embedded_signatures[0]
            vc = ValidationContext(trust_roots=roots, allow_fetching=True)
            try:
                await async_add_validation_info(sig, vc, output=out)
            finally:
                await vc.aclose()

    asyncio.run(add_dss())
    check = validation.validate_signature(upgraded, settings)
    assert check.level == "B-LT" and check.modification == "validation-data"
    assert not check.coverage_entire_file and not check.pdfsig_total_document_signed
    assert not check.modified_after_signing and check.ok, check.problems
    # Anything else appended afterwards is a change, whatever came before it.
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(upgraded.read_bytes() + b"\n% edited after signing\n")
    bad = validation.validate_signature(tampered, settings)
    assert bad.modified_after_signing and not bad.ok
    assert any("added after signing" in p for p in bad.problems)


def test_b_lt_refuses_a_revoked_certificate(pki: LocalPki, tmp_path: Path) -> None:
    settings = pki_settings(
        pki, tmp_path / "data", "signer-revoked", tsa_url=pki.tsa_url, level="B-LT"
    )
    with pytest.raises(SigningError) as caught:
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert "revoked" in str(caught.value).lower()
    assert not (tmp_path / "out.pdf").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- failures and levels seen


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_tsa_is_a_signing_error_without_credentials(
    pki: LocalPki, tmp_path: Path
) -> None:
    secret = "tsa-Mat-Khau-987"
    settings = pki_settings(
        pki,
        tmp_path / "data",
        tsa_url=f"http://127.0.0.1:{_closed_port()}/tsa",
        tsa_username="don-vi",
        tsa_password=SecretStr(secret),
        tsa_timeout_s=2,
    )
    started = time.monotonic()
    with pytest.raises(SigningError) as caught:
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert time.monotonic() - started < 30
    error = caught.value
    for text in (str(error), error.render("vi"), repr(error.params)):
        assert secret not in text
    assert "time-stamp authority" in str(error) and "127.0.0.1" in str(error)
    assert not (tmp_path / "out.pdf").exists()


def test_credentials_in_the_tsa_url_are_refused_unechoed(tmp_path: Path) -> None:
    secret = "Bi-Mat-Trong-URL"
    url = f"https://don-vi:{secret}@tsa.example.vn/tsr?key={secret}"
    settings = Settings(data_dir=tmp_path, signing=SigningSettings(tsa_url=url))
    with pytest.raises(ConfigError) as caught:
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert "tsa_username" in str(caught.value) and "tsa.example.vn" in str(caught.value)
    assert secret not in str(caught.value) and secret not in caught.value.render("vi")


def test_tsa_basic_auth_is_sent(pki: LocalPki, tmp_path: Path) -> None:
    """The TSA receives HTTP basic credentials (the password read from its file)."""
    settings = pki_settings(
        pki,
        tmp_path / "data",
        tsa_url=pki.tsa_url,
        tsa_username="don-vi",
        tsa_password_file=_write(tmp_path / "tsa.pass", "mat-khau\n"),
    )
    pki.requests.clear()
    summary = signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert summary.level == "B-T" and summary.timestamped_at is not None
    sent = {auth for path, auth in pki.requests if path.endswith("/tsa/tsa")}
    expected = "Basic " + base64.b64encode(b"don-vi:mat-khau").decode()
    assert sent == {expected}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_b_b_is_reported_as_b_b(pki: LocalPki, tmp_path: Path) -> None:
    settings = pki_settings(pki, tmp_path / "data")
    summary = signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert summary.level == "B-B" and summary.timestamped_at is None
    check = validation.validate_signature(tmp_path / "out.pdf", settings)
    assert check.ok and check.level == "B-B" and check.timestamped_at is None
    assert not check.validation_data_embedded


def test_untrusted_tsa_does_not_count_as_b_t(signed_bt, tmp_path: Path) -> None:
    """Without the PKI's root in the trust list, neither signer nor TSA is trusted."""
    path, settings, _summary = signed_bt
    untrusted = Settings(
        data_dir=tmp_path, signing=settings.signing.model_copy(update={"trust_roots": ()})
    )
    check = validation.validate_signature(path, untrusted)
    assert check.intact and check.valid and not check.trusted and not check.ok
    assert check.level == "B-B" and check.timestamped_at is None
    assert any("time-stamp" in p for p in check.problems)


def test_timestamp_keeps_an_expired_certificate_valid(pki: LocalPki, tmp_path: Path) -> None:
    """Years later the certificate has expired; the TSA's time proves it signed in time."""
    from certomancer.integrations._animator_shared import FAKE_TIME_HEADER
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.timestamps import HTTPTimeStamper

    signed_then = datetime(2021, 6, 1, 10, 0, tzinfo=UTC)  # inside the 2020-2021 validity
    p12 = pki.pkcs12("signer-expired", P12_PASSWORD)
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=P12_PASSWORD.encode())
    tsa = HTTPTimeStamper(pki.tsa_url, headers={FAKE_TIME_HEADER: signed_then.isoformat()})
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    src = make_archival_pdf(tmp_path, 1)
    settings = Settings(data_dir=tmp_path, signing=SigningSettings(trust_roots=(pki.root_pem,)))
    results = {}
    for name, timestamper in (("with-tsa", tsa), ("without", None)):
        with src.open("rb") as inp, (tmp_path / f"{name}.pdf").open("wb") as out:
            writer = IncrementalPdfFileWriter(inp)
            signers.sign_pdf(writer, meta, signer, timestamper=timestamper, output=out)
        results[name] = validation.validate_signature(tmp_path / f"{name}.pdf", settings)
    kept = results["with-tsa"]
    assert kept.ok and kept.trusted, kept.problems
    assert kept.level == "B-T" and kept.timestamped_at == signed_then
    lost = results["without"]
    assert lost.intact and lost.valid and not lost.trusted and not lost.ok
    assert lost.level == "B-B" and any("not trusted" in p for p in lost.problems)
