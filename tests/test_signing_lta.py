"""PAdES B-LTA against the real test PKI: an archive time-stamp over the B-LT signature's DSS,
and its renewal (a new document time-stamp over the previous one's validation data).

Every file is judged by pyHanko's own validators (called here directly: the signature, each
document time-stamp, and its AdES long-term validation), by poppler's ``pdfsig`` and by
``qpdf --check``. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pki_server import (  # noqa: F401 - pki_fixture provides the pki fixture
    LocalPki,
    make_archival_pdf,
    pdfsig_report,
    pki_fixture,
    qpdf_check,
)
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext
from test_signing_levels import P12_PASSWORD, pki_settings

from pdf.sign import signer as signing
from pdf.sign import validation
from pdf.sign.archive_stamp import add_archive_timestamp, last_timestamp
from schemas.settings import Settings, SigningSettings
from sohoa.errors import ConfigError, SigningError

__all__ = ["P12_PASSWORD"]


def lta_settings(pki: LocalPki, data_dir: Path, **kw) -> Settings:
    return pki_settings(pki, data_dir, tsa_url=pki.tsa_url, level="B-LTA", **kw)


@pytest.fixture(scope="module")
def signed_lta(pki: LocalPki, tmp_path_factory) -> tuple[Path, Settings, object]:
    folder = tmp_path_factory.mktemp("b-lta")
    settings = lta_settings(pki, folder / "data")
    src = make_archival_pdf(folder)
    summary = signing.sign_pdf(src, folder / "signed.pdf", settings, signer_name="Lê Văn Số")
    return folder / "signed.pdf", settings, summary


@pytest.fixture(scope="module")
def renewed(signed_lta, tmp_path_factory) -> Path:
    path, settings, _summary = signed_lta
    out = tmp_path_factory.mktemp("renewed") / "renewed.pdf"
    return add_archive_timestamp(path, out, settings, refresh=True)


def hanko_verdicts(path: Path, pki: LocalPki) -> dict:
    """pyHanko's own statuses: the signature, every document time-stamp, and the DSS."""
    roots = list(load_certs_from_pemder([pki.root_pem]))

    async def check() -> dict:
        with path.open("rb") as handle:
            reader = PdfFileReader(handle)
            (sig,) = reader.embedded_regular_signatures
            vc = ValidationContext(trust_roots=roots)
            try:
                status = await async_validate_pdf_signature(sig, vc)
                stamps = [
                    await async_validate_pdf_timestamp(ts, vc)
                    for ts in reader.embedded_timestamp_signatures
                ]
            finally:
                await vc.aclose()
            dss = DocumentSecurityStore.read_dss(reader)
            return {"signature": status, "stamps": stamps, "dss": dss}

    return asyncio.run(check())


def ades_lta(path: Path, pki: LocalPki):
    """pyHanko's ETSI EN 319 102-1 long-term (LTA) validation of the signature, offline:
    only what the file carries (DSS, document time-stamps) and the PKI's root."""
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.policy_decl import (
        CertRevTrustPolicy,
        RevocationCheckingPolicy,
        RevocationCheckingRule,
    )
    from pyhanko_certvalidator.registry import SimpleTrustManager

    rule = RevocationCheckingRule.CHECK_IF_DECLARED
    policy = CertValidationPolicySpec(
        trust_manager=SimpleTrustManager.build(
            trust_roots=list(load_certs_from_pemder([pki.root_pem]))
        ),
        revinfo_policy=CertRevTrustPolicy(RevocationCheckingPolicy(rule, rule)),
    )
    offline = RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)
    spec = PdfSignatureValidationSpec(SignatureValidationSpec(policy, offline))

    async def check():
        with path.open("rb") as handle:
            (sig,) = PdfFileReader(handle).embedded_regular_signatures
            return await ades_lta_validation(sig, spec)

    return asyncio.run(check())


def pdfsig_blocks(path: Path) -> list[dict[str, str]]:
    return validation.parse_pdfsig(pdfsig_report(path))


def signed_content_hash(path: Path) -> str:
    """sha256 of the bytes the (regular) signature's ByteRange covers."""
    data = path.read_bytes()
    with path.open("rb") as handle:
        (sig,) = PdfFileReader(handle).embedded_regular_signatures
        a, b, c, d = (int(n) for n in sig.byte_range)
    return hashlib.sha256(data[a : a + b] + data[c : c + d]).hexdigest()


# ---------------------------------------------------------------- signing at B-LTA


def test_b_lta_adds_an_archive_timestamp_over_the_dss(signed_lta, pki: LocalPki) -> None:
    path, _settings, summary = signed_lta
    assert summary.level == "B-LTA" and summary.timestamped_at is not None
    assert summary.signer == "Nguyễn Thị Hồng Đào"
    found = hanko_verdicts(path, pki)
    status = found["signature"]
    assert status.bottom_line and status.timestamp_validity.trusted
    (stamp,) = found["stamps"]
    assert stamp.intact and stamp.valid and stamp.trusted
    assert stamp.timestamp >= status.timestamp_validity.timestamp
    assert len(found["dss"].ocsps) >= 1 and len(found["dss"].crls) >= 1
    # the signature covers its revision; what follows is validation data and the time-stamp
    assert status.modification_level.name == "LTA_UPDATES"
    lta = ades_lta(path, pki)  # pyHanko's own AdES long-term validation, offline
    assert lta.ades_subindic.status.name == "PASSED", lta.failure_msg
    assert lta.oldest_evidence_record_timestamp == stamp.timestamp


def test_b_lta_passes_pdfsig_and_qpdf(signed_lta) -> None:
    path, _settings, _summary = signed_lta
    blocks = pdfsig_blocks(path)
    assert len(blocks) == 2, blocks
    signature, stamp = blocks
    assert signature["Signature Validation"] == "Signature is Valid."
    assert signature["Signature Type"] == "ETSI.CAdES.detached"
    # poppler 22.12 shows the document time-stamp (field, TSA, ranges) but cannot validate
    # RFC 3161 document time-stamps ("unknown" type, "not yet verified"): pyHanko does.
    assert stamp["Signature Field Name"] == "ArchiveTimestamp1"
    assert stamp["Signer Certificate Common Name"] == "sohoa Test TSA"
    assert "Total document signed" in stamp and "Total document signed" not in signature
    assert "No syntax or stream encoding errors" in qpdf_check(path)


def test_b_lta_keeps_the_pdfa_metadata(signed_lta) -> None:
    import pikepdf

    path, _settings, _summary = signed_lta
    source = path.parent / "archival.pdf"
    with pikepdf.open(source) as before, pikepdf.open(path) as after:
        assert after.Root.Metadata.read_bytes() == before.Root.Metadata.read_bytes()
    tail = path.read_bytes()[source.stat().st_size :]
    assert b"pyHanko" not in tail and b"<x:xmpmeta" not in tail


def test_verify_reports_b_lta_and_when_renewal_is_due(signed_lta, pki: LocalPki) -> None:
    path, settings, _summary = signed_lta
    check = validation.validate_signature(path, settings)
    assert check.ok, check.problems
    assert check.level == "B-LTA" and check.document_timestamps == 1
    assert check.modification == "validation-data" and check.coverage_entire_file
    tsa_expiry = pki.cert("tsa")["tbs_certificate"]["validity"]["not_after"].native
    assert check.timestamp_expires == tsa_expiry
    assert check.renewal_due == tsa_expiry - timedelta(days=365)
    assert abs(check.archive_timestamped_at - datetime.now(UTC)) < timedelta(minutes=5)
    sooner = settings.model_copy(
        update={"signing": settings.signing.model_copy(update={"renew_before_days": 10})}
    )
    later = validation.validate_signature(path, sooner)
    assert later.renewal_due == tsa_expiry - timedelta(days=10)


def test_b_lta_without_tsa_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, signing=SigningSettings(level="B-LTA"))
    with pytest.raises(ConfigError, match="tsa_url"):
        signing.sign_pdf(make_archival_pdf(tmp_path, 1), tmp_path / "out.pdf", settings)
    assert not (tmp_path / "out.pdf").exists()


# ---------------------------------------------------------------- renewal


def test_renewal_adds_a_timestamp_and_leaves_the_signed_bytes(signed_lta, renewed, pki) -> None:
    path, settings, _summary = signed_lta
    before, after = path.read_bytes(), renewed.read_bytes()
    assert after.startswith(before) and len(after) > len(before)  # an incremental update
    assert signed_content_hash(renewed) == signed_content_hash(path)
    found = hanko_verdicts(renewed, pki)
    assert found["signature"].bottom_line
    first, second = found["stamps"]
    assert all(s.intact and s.valid and s.trusted for s in (first, second))
    assert second.timestamp >= first.timestamp
    lta = ades_lta(renewed, pki)
    assert lta.ades_subindic.status.name == "PASSED", lta.failure_msg
    assert lta.oldest_evidence_record_timestamp == first.timestamp  # the chain's start
    check = validation.validate_signature(renewed, settings)
    assert check.ok and check.level == "B-LTA" and check.document_timestamps == 2
    assert check.archive_timestamped_at == second.timestamp
    with renewed.open("rb") as handle:
        newest = last_timestamp(PdfFileReader(handle))
    assert newest is not None and newest.archive and newest.at == second.timestamp


def test_renewed_file_passes_pdfsig_and_qpdf(renewed) -> None:
    blocks = pdfsig_blocks(renewed)
    names = [b["Signature Field Name"] for b in blocks]
    assert names == ["Signature1", "ArchiveTimestamp1", "ArchiveTimestamp2"]
    assert blocks[0]["Signature Validation"] == "Signature is Valid."
    assert {b["Signer Certificate Common Name"] for b in blocks[1:]} == {"sohoa Test TSA"}
    assert ["Total document signed" in b for b in blocks] == [False, False, True]
    assert "No syntax or stream encoding errors" in qpdf_check(renewed)


def test_renewal_embeds_the_previous_timestamps_validation_data(signed_lta, renewed) -> None:
    """The new revision's DSS holds fresh revocation data for the time-stamp it covers."""
    path, _settings, _summary = signed_lta
    with path.open("rb") as old, renewed.open("rb") as new:
        before = DocumentSecurityStore.read_dss(PdfFileReader(old))
        after = DocumentSecurityStore.read_dss(PdfFileReader(new))
        assert len(after.crls) + len(after.ocsps) > len(before.crls) + len(before.ocsps)


def test_renewal_upgrades_a_b_lt_record(pki: LocalPki, tmp_path: Path) -> None:
    settings = pki_settings(pki, tmp_path / "data", tsa_url=pki.tsa_url, level="B-LT")
    signed = tmp_path / "signed.pdf"
    signing.sign_pdf(make_archival_pdf(tmp_path, 1), signed, settings)
    assert validation.validate_signature(signed, settings).level == "B-LT"
    out = add_archive_timestamp(signed, tmp_path / "lta.pdf", settings, refresh=True)
    check = validation.validate_signature(out, settings)
    assert check.ok and check.level == "B-LTA", check.problems
    assert signed_content_hash(out) == signed_content_hash(signed)


def test_renewal_with_an_unreachable_tsa_leaves_nothing(signed_lta, tmp_path: Path) -> None:
    path, settings, _summary = signed_lta
    down = settings.model_copy(
        update={
            "signing": settings.signing.model_copy(
                update={"tsa_url": "http://127.0.0.1:9/tsa?key=Bi-Mat-TSA", "tsa_timeout_s": 2}
            )
        }
    )
    with pytest.raises(SigningError) as caught:
        add_archive_timestamp(path, tmp_path / "out.pdf", down, refresh=True)
    assert list(tmp_path.iterdir()) == []
    for text in (str(caught.value), caught.value.render("vi"), repr(caught.value.params)):
        assert "Bi-Mat-TSA" not in text


def test_a_change_covered_by_a_later_archive_timestamp_is_caught(signed_lta, tmp_path) -> None:
    """A page rotated after signing and then covered by a valid document time-stamp (which
    makes the file look "totally signed" to pdfsig) is still reported as a change."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    path, settings, _summary = signed_lta
    edited = tmp_path / "edited.pdf"
    with path.open("rb") as inp, edited.open("wb") as out:
        writer = IncrementalPdfFileWriter(inp)
        page = writer.root["/Pages"]["/Kids"][0]
        page["/Rotate"] = generic.NumberObject(90)
        writer.update_container(page)
        writer.write(out)
    restamped = add_archive_timestamp(edited, tmp_path / "restamped.pdf", settings, refresh=False)
    check = validation.validate_signature(restamped, settings)
    assert check.modified_after_signing and not check.ok
    assert any("changed after it was signed" in p for p in check.problems), check.problems


# ---------------------------------------------------------------- after the TSA's certificate expired


def test_a_document_timestamp_keeps_an_expired_tsa_trusted(pki: LocalPki, tmp_path) -> None:
    """The issue's case: a record time-stamped in 2021 by a TSA whose certificate expired at
    the end of 2021 is no longer B-T today; a document time-stamp made in 2021, before the
    expiry, by a TSA still valid, proves the first time-stamp existed while it was valid."""
    from certomancer.integrations._animator_shared import FAKE_TIME_HEADER
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigSeedSubFilter
    from pyhanko.sign.signers.pdf_signer import PdfTimeStamper
    from pyhanko.sign.timestamps import HTTPTimeStamper

    stamped_then = datetime(2021, 6, 1, 10, 0, tzinfo=UTC)
    archived_then = datetime(2021, 7, 1, 10, 0, tzinfo=UTC)
    old_tsa = HTTPTimeStamper(
        pki.tsa_url.removesuffix("/tsa") + "/tsa-old",
        headers={FAKE_TIME_HEADER: stamped_then.isoformat()},
    )
    tsa = HTTPTimeStamper(pki.tsa_url, headers={FAKE_TIME_HEADER: archived_then.isoformat()})
    p12 = pki.pkcs12("signer", P12_PASSWORD)
    signer = signers.SimpleSigner.load_pkcs12(str(p12), passphrase=P12_PASSWORD.encode())
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    signed, archived = tmp_path / "b-t.pdf", tmp_path / "archived.pdf"
    with make_archival_pdf(tmp_path, 1).open("rb") as inp, signed.open("wb") as out:
        signers.sign_pdf(
            IncrementalPdfFileWriter(inp), meta, signer, timestamper=old_tsa, output=out
        )
    with signed.open("rb") as inp, archived.open("wb") as out:
        PdfTimeStamper(tsa).timestamp_pdf(IncrementalPdfFileWriter(inp), "sha256", output=out)
    settings = Settings(data_dir=tmp_path, signing=SigningSettings(trust_roots=(pki.root_pem,)))
    lost = validation.validate_signature(signed, settings)
    assert lost.level == "B-B" and lost.timestamped_at is None
    assert any("time-stamp" in p for p in lost.problems)
    kept = validation.validate_signature(archived, settings)
    assert kept.ok and kept.level == "B-T" and not kept.problems, kept.problems
    assert kept.timestamped_at == stamped_then and kept.document_timestamps == 1
    assert kept.archive_timestamped_at == archived_then
    assert kept.timestamp_expires.year == 2099  # the newest time-stamp's authority now
