"""PAdES B-LTA: document (archive) time-stamps over the validation data, and their renewal.

Why: a B-LT record proves itself offline only as long as the time-stamp authority's
certificate (and the hash algorithms) can be trusted. B-LTA adds a *document*
time-stamp that covers the whole file, the DSS included; before that time-stamp's
authority certificate expires, a new one is added over the validation data of the
previous one, and so on for as long as the record is kept (ETSI EN 319 142-1, 5.4).
Each addition is an incremental update: the bytes the signature covers never change.

pyHanko does the work (:meth:`PdfTimeStamper.async_timestamp_pdf`,
:func:`collect_validation_info`, :meth:`DocumentSecurityStore.supply_dss_in_writer`,
the same steps as its ``update_archival_timestamp_chain``); only the writer differs, so
that the PDF/A metadata is left exactly as it was (:class:`KeepMetadataWriter`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.general import extract_certificate_info, find_unique_cms_attribute
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, EmbeddedPdfSignature
from pyhanko.sign.validation.dss import collect_validation_info
from pyhanko_certvalidator import CertificateValidator, ValidationContext

from pdf.sign.async_run import run_async
from pdf.sign.timestamps import explain, fetching_context, make_timestamper, plan_signing, redact
from schemas.settings import Settings
from sohoa.errors import ConfigError, SigningError

MD_ALGORITHM = "sha256"
ARCHIVE_FIELD_PREFIX = "ArchiveTimestamp"
# The DSS update for the previous time-stamp goes into the new time-stamp's revision,
# before it is taken: the new time-stamp then covers it (no VRI: it needs a later revision).
_DSS_BEFORE_TIMESTAMP = TimestampDSSContentSettings(include_vri=False, update_before_ts=True)


class KeepMetadataWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves the document's XMP and Info exactly as they are.

    Why: pyHanko re-serialises the XMP packet on every save (to stamp its producer and
    a modification date), which turns the PDF/A extension schema's structures into
    nested ``rdf:Description`` elements that PDF/A validators reject. The archival
    PDF's metadata is final before signing, and neither signatures nor time-stamps need it.
    """

    def _update_meta(self) -> None:  # overrides pyHanko 0.38's private metadata hook
        return None


@dataclass(frozen=True)
class LastTimestamp:
    """The newest time-stamp in a PDF: what keeps it verifiable, and until when."""

    at: datetime
    """The time the authority certified."""
    authority: str
    """Common name of the time-stamp authority's certificate."""
    expires: datetime
    """When that certificate expires: the chain must be renewed before this."""
    archive: bool
    """True for a document (archive) time-stamp, False for the signature's own."""

    def renewal_due(self, renew_before_days: int) -> datetime:
        """When a new archive time-stamp is due: the expiry less the configured margin."""
        return self.expires - timedelta(days=renew_before_days)


def signature_timestamp(sig: EmbeddedPdfSignature) -> cms.SignedData | None:
    """The RFC 3161 token inside a signature's unsigned attributes, if it has one."""
    try:
        token = find_unique_cms_attribute(
            sig.signer_info["unsigned_attrs"], "signature_time_stamp_token"
        )
    except Exception:  # noqa: BLE001 - absent or malformed: no time-stamp
        return None
    return token["content"]


def last_timestamp(reader: PdfFileReader) -> LastTimestamp | None:
    """The newest document time-stamp, else the newest signature's time-stamp; ``None``
    for a file with neither (B-B). Read only: nothing here says the time-stamp is valid."""
    docs = reader.embedded_timestamp_signatures
    if docs:
        signed, archive = docs[-1].signed_data, True
    else:
        regular = reader.embedded_regular_signatures
        signed = signature_timestamp(regular[-1]) if regular else None
        archive = False
    if signed is None:
        return None
    cert = extract_certificate_info(signed).signer_cert
    info = signed["encap_content_info"]["content"].parsed
    return LastTimestamp(
        at=info["gen_time"].native.astimezone(UTC),
        authority=cert.subject.native.get("common_name", ""),
        expires=cert["tbs_certificate"]["validity"]["not_after"].native.astimezone(UTC),
        archive=archive,
    )


async def _refresh_paths(reader: PdfFileReader, vc: ValidationContext) -> list:
    """Validation paths (fetching current OCSP/CRL data) for the newest time-stamp.

    Why only the time-stamp's authority, not the signer: a B-LT file already holds the
    signer's validation data from signing time, and years later the signer's certificate
    has usually expired, so it could not be validated again. A B-T file has no DSS: its
    signer's data is fetched too (which fails once the certificate has expired).
    """
    docs = reader.embedded_timestamp_signatures
    if docs:
        return [await _authority_path(docs[-1].signed_data, vc)]
    sig = reader.embedded_regular_signatures[-1]
    if "/DSS" not in reader.root:
        return await collect_validation_info(sig, vc)
    token = signature_timestamp(sig)
    return [await _authority_path(token, vc)] if token is not None else []


async def _authority_path(token: cms.SignedData, vc: ValidationContext):
    """Validate a time-stamp token's TSA certificate (as pyHanko's collect_validation_info
    does), which caches its revocation data in ``vc`` for the DSS."""
    info = extract_certificate_info(token)
    validator = CertificateValidator(
        info.signer_cert, intermediate_certs=info.other_certs, validation_context=vc
    )
    return await validator.async_validate_usage(key_usage=set())


async def _stamp(reader_file, out, settings: Settings, refresh: bool) -> None:
    """Add validation data for the newest time-stamp (``refresh``) and a document time-stamp."""
    writer = KeepMetadataWriter(reader_file)
    timestamper = _timestamper(settings)
    vc = fetching_context(settings)
    try:
        if refresh:
            paths = await _refresh_paths(writer.prev, vc)
            DocumentSecurityStore.supply_dss_in_writer(
                writer, None, paths=paths, validation_context=vc
            )
        count = len(writer.prev.embedded_timestamp_signatures)
        stamper = PdfTimeStamper(timestamper, field_name=f"{ARCHIVE_FIELD_PREFIX}{count + 1}")
        await stamper.async_timestamp_pdf(
            writer, MD_ALGORITHM, vc, output=out, dss_settings=_DSS_BEFORE_TIMESTAMP
        )
    finally:
        await vc.aclose()


def _timestamper(settings: Settings) -> TimeStamper:
    """The TSA client, whatever level new records are signed at: every archive time-stamp
    needs ``signing.tsa_url`` (checked as for B-LTA signing)."""
    lta = settings.model_copy(
        update={"signing": settings.signing.model_copy(update={"level": "B-LTA"})}
    )
    timestamper = make_timestamper(lta, plan_signing(lta))
    assert timestamper is not None  # plan_signing refuses B-LTA without a TSA
    return timestamper


async def _authority_expiry(timestamper: TimeStamper) -> datetime:
    response = await timestamper.async_dummy_response(MD_ALGORITHM)
    cert = extract_certificate_info(response["content"]).signer_cert
    return cert["tbs_certificate"]["validity"]["not_after"].native.astimezone(UTC)


def authority_expiry(settings: Settings) -> datetime:
    """When the certificate the configured TSA signs with today expires (one request).

    Why ask: renewing only helps when the new time-stamp outlives the one it covers; a
    TSA still signing with the certificate that is about to expire gains nothing.

    Raises:
        ConfigError: no usable ``signing.tsa_url``.
        SigningError: the TSA did not answer with a time-stamp.
    """
    try:
        return run_async(_authority_expiry(_timestamper(settings)))
    except ConfigError:
        raise
    except Exception as exc:  # aiohttp and pyHanko raise many types
        reason = f"the time-stamp authority did not answer: {_explain(exc, settings)}"
        raise SigningError(reason=reason) from exc


def _explain(exc: BaseException, settings: Settings) -> str:
    """The error in one line, the TSA's URL without credentials or query string."""
    url = settings.signing.tsa_url or ""
    return explain(exc).replace(url, redact(url)) if url else explain(exc)


def add_archive_timestamp(src: Path, dest: Path, settings: Settings, *, refresh: bool) -> Path:
    """Write ``src`` plus a document time-stamp to ``dest`` (atomically), as an incremental
    update; ``src`` is never modified.

    Args:
        refresh: first embed the certificates and current OCSP/CRL data of the newest
            time-stamp (the renewal case); ``False`` right after B-LT signing, when the
            DSS was just filled.

    Raises:
        ConfigError: no ``signing.tsa_url``.
        SigningError: the TSA or a CA's OCSP/CRL server did not answer, a certificate is
            revoked or untrusted, or ``src`` cannot be read as a signed PDF.
    """
    if dest.resolve() == src.resolve():
        raise SigningError(reason="the time-stamped PDF must not overwrite its source")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with src.open("rb") as inp, os.fdopen(fd, "w+b") as out:
            run_async(_stamp(inp, out, settings, refresh))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except ConfigError:
        tmp.unlink(missing_ok=True)
        raise
    except Exception as exc:  # pyHanko and aiohttp raise many types
        tmp.unlink(missing_ok=True)
        reason = f"cannot add an archive time-stamp: {_explain(exc, settings)}"
        raise SigningError(reason=reason) from exc
    return dest
