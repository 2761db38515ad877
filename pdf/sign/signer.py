"""PAdES signing of archival PDFs (B-B, B-T, B-LT or B-LTA) and the entry point for checking them.

Every archived PDF carries a PAdES (``ETSI.CAdES.detached``) signature so anyone can
later prove it is the file the office produced. pyHanko does the signing: the key comes
from a PKCS#11 token, a PKCS#12 file or a generated DEMO certificate
(:mod:`pdf.keys.signing_key`); a time-stamp authority and embedded revocation data
raise the level (:mod:`pdf.sign.timestamps`), and B-LTA's archive time-stamp is added
over the B-LT result (:mod:`pdf.sign.archive_stamp`). Checking lives in
:mod:`pdf.sign.validation`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, Signer
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError

from pdf.keys.signing_key import (
    SignerInfo,
    forget_signer,
    load_signer_keyed,
    signer_lock,
)
from pdf.sign.archive_stamp import KeepMetadataWriter, add_archive_timestamp
from pdf.sign.async_run import run_async
from pdf.sign.timestamps import (
    EMBEDS_VALIDATION_DATA,
    SigningPlan,
    explain,
    make_timestamper,
    plan_signing,
    redact,
    signing_validation_context,
)
from pdf.sign.validation import (
    timestamp_token_time,
)
from schemas.models import SignatureSummary
from schemas.settings import Settings
from sohoa.errors import SigningError, SohoaError

log = logging.getLogger(__name__)

FIELD_NAME = "Signature1"
# The DSS goes into the signed revision itself (pyHanko's single-revision B-LT): every
# byte stays covered by the signature, so pdfsig reports "Total document signed" and
# the archive rule "nothing after the signature" holds. VRI entries need a later
# revision, and modern validators do not use them.
_DSS_WITH_SIGNATURE = DSSContentSettings(
    include_vri=False, placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE
)


def _metadata(
    settings: Settings, plan: SigningPlan, signer_name: str | None
) -> PdfSignatureMetadata:
    lt = plan.level in EMBEDS_VALIDATION_DATA
    return PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=settings.signing.reason,
        location=settings.signing.location,
        name=signer_name,
        embed_validation_info=lt,
        validation_context=signing_validation_context(settings, plan),
        dss_settings=_DSS_WITH_SIGNATURE if lt else DSSContentSettings(),
    )


async def _sign(
    writer: IncrementalPdfFileWriter,
    out,
    meta: PdfSignatureMetadata,
    signer: Signer,
    timestamper: TimeStamper | None,
    stamps: dict,
) -> None:
    try:
        pdf_signer = PdfSigner(meta, signer, timestamper=timestamper, **stamps.get("signer", {}))
        await pdf_signer.async_sign_pdf(writer, output=out, **stamps.get("sign", {}))
    finally:
        if meta.validation_context is not None:
            await meta.validation_context.aclose()  # close the OCSP/CRL HTTP sessions


def _failure(src: Path, plan: SigningPlan, exc: Exception) -> SigningError:
    """Turn a pyHanko/pkcs11/network failure into a SigningError that names the cause."""
    if isinstance(exc, TimestampRequestError) or isinstance(exc.__cause__, TimestampRequestError):
        url = redact(plan.tsa_url or "")
        detail = explain(exc).replace(plan.tsa_url or url, url)  # no query-string secrets
        return SigningError(reason=f"the time-stamp authority {url} did not answer ({detail})")
    try:
        import pkcs11

        if isinstance(exc, pkcs11.PKCS11Error):
            from pdf.keys.pkcs11 import pkcs11_problem

            return SigningError(reason=f"the token failed while signing: {pkcs11_problem(exc)}")
    except ImportError:  # pragma: no cover - python-pkcs11 is a dependency
        pass
    return SigningError(reason=f"cannot sign {src.name}: {explain(exc)}")


def _read_back(path: Path) -> tuple[datetime, datetime | None]:
    """Read back the signing time (``/M``) and the TSA's time, proving the output parses."""
    with path.open("rb") as handle:
        sigs = PdfFileReader(handle).embedded_regular_signatures
        stamp = sigs[-1].self_reported_timestamp if sigs else None
        tst = timestamp_token_time(sigs[-1]) if sigs else None
    return (stamp or datetime.now(UTC)).astimezone(UTC), tst


def sign_pdf(
    src: Path, dest: Path, settings: Settings, *, signer_name: str | None = None
) -> SignatureSummary:
    """Add a PAdES signature to ``src`` as an incremental update and write it to ``dest``.

    Why incremental and atomic: the signed bytes must be exactly the bytes produced
    upstream, and a crash must never leave a half-written archive file at ``dest``.
    The level (B-B, B-T, B-LT, B-LTA) follows ``settings.signing`` (see
    :func:`pdf.sign.timestamps.effective_level`).

    Args:
        src: the PDF to sign (never modified).
        dest: where the signed PDF goes; replaced atomically.
        settings: signing key, level, time-stamp authority, reason and location.
        signer_name: optional ``/Name`` of the person operating the signing (the
            digitiser), also shown in the visible stamp when that is on.

    Raises:
        ConfigError: contradictory settings (e.g. B-T without ``tsa_url``).
        SigningError: bad certificate, PIN or password; the TSA or a CA's OCSP/CRL
            server unreachable; unreadable/unsignable PDF; or ``dest`` is ``src``.
    """
    if dest.resolve() == src.resolve():
        raise SigningError(reason="the signed PDF must not overwrite its source")
    plan = plan_signing(settings)
    key, signer, info = load_signer_keyed(settings)
    timestamper = make_timestamper(settings, plan)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with src.open("rb") as inp, os.fdopen(fd, "w+b") as out:
            writer = KeepMetadataWriter(inp)
            extra = _visible_stamps(writer, settings, info, signer_name)
            meta = _metadata(settings, plan, signer_name)
            with signer_lock(key):  # a token signs one document at a time
                run_async(_sign(writer, out, meta, signer, timestamper, extra))
            out.flush()
            os.fsync(out.fileno())
        if plan.level == "B-LTA":  # the archive time-stamp over the B-LT result
            add_archive_timestamp(tmp, tmp.with_suffix(".lta"), settings, refresh=False)
            os.replace(tmp.with_suffix(".lta"), tmp)
        signed_at, timestamped_at = _read_back(tmp)
        os.replace(tmp, dest)
    except Exception as exc:  # pyHanko raises many types for bad input
        tmp.unlink(missing_ok=True)
        if info.source == "pkcs11":
            forget_signer(key)  # a removed token or a dead session: log in afresh next time
        if isinstance(exc, SohoaError):  # already says what is wrong (e.g. a stamp box)
            raise
        raise _failure(src, plan, exc) from exc
    fields = {"signer": info.signer, "issuer": info.issuer, "serial": info.serial}
    log.info("signed %s at %s as %s", dest.name, plan.level, info.signer)
    return SignatureSummary(
        **fields,
        demo=info.demo,
        signed_at=signed_at,
        level=plan.level,
        timestamped_at=timestamped_at,
    )


def _visible_stamps(
    writer: IncrementalPdfFileWriter, settings: Settings, info: SignerInfo, signer_name: str | None
) -> dict:
    """Draw the stamps when ``signing.visible_stamp`` is on; return extra pyHanko options."""
    if not settings.signing.visible_stamp:
        return {}
    from pdf.stamps import add_stamps

    return add_stamps(writer, settings, info=info, digitiser=signer_name, field_name=FIELD_NAME)
