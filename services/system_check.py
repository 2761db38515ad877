"""What an administrator checks first when something goes wrong: tools, signer, store, disk.

Why: most failed nights in an office come from the machine, not the code — a
Tesseract without Vietnamese data, a signing certificate that expired last week, an
unreachable MinIO, a full disk. The settings page (``/admin/settings``) and
``sohoa settings`` run these checks so the administrator sees them in one place,
each with a verdict (``ok``, ``warn``, ``fail``) and a fact, never a secret.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from schemas.settings import Settings
from sohoa.errors import SohoaError
from sohoa.programs import pdfsig, tesseract

__all__ = ["Check", "run_checks"]

TOOL_TIMEOUT_S = 10.0
CERT_WARN_DAYS = 30
"""A signing certificate expiring within this many days is a warning: renewing takes time."""
DISK_WARN_BYTES = 2 * 1024**3
"""Less free space than this under ``data_dir`` is a warning (a batch of scans is ~1 GB)."""


@dataclass(frozen=True)
class Check:
    """One verdict."""

    name: str
    """``tesseract``, ``poppler`` (with the scanner image decoders), ``signer``, ``store``,
    ``catalog`` or ``disk``."""
    status: str
    """``ok``, ``warn`` or ``fail``."""
    detail: str
    """A version, a date, a size or the error (English; names, not secrets)."""


def _tesseract(settings: Settings) -> Check:
    first = tesseract.version(timeout=TOOL_TIMEOUT_S)
    have = tesseract.languages(timeout=TOOL_TIMEOUT_S, tessdata_dir=settings.ocr.tessdata_dir)
    missing = [lang for lang in settings.ocr.language.split("+") if lang not in have]
    if missing:
        return Check("tesseract", "fail", f"{first}; language data missing: {', '.join(missing)}")
    return Check("tesseract", "ok", f"{first}; languages {settings.ocr.language}")


def _poppler(settings: Settings) -> Check:
    """poppler, plus the decoders scanner PDFs need (``warn``, not ``fail``, when missing).

    Why a warning: without ``jbig2dec`` (JBIG2, what black-and-white office scanners
    write) or Pillow's openjpeg (JPEG 2000), such a page is still rasterised by poppler
    and archived, but re-drawn at ``rasterise_dpi`` instead of kept as scanned.
    The decoder asked is the one sohoa lends pikepdf (:mod:`sohoa.programs.jbig2dec`,
    with a timeout), so the answer is about the program sohoa will really run.
    """
    from PIL import features

    from sohoa.programs.jbig2dec import Jbig2Decoder

    facts = [pdfsig.version(timeout=TOOL_TIMEOUT_S)]
    missing = []
    if Jbig2Decoder(timeout=TOOL_TIMEOUT_S).available():
        facts.append(f"jbig2dec at {shutil.which('jbig2dec')}")
    else:
        missing.append("jbig2dec (JBIG2 scans are rasterised; install the jbig2dec package)")
    if features.check("jpg_2000"):
        facts.append(f"JPEG 2000 via openjpeg {features.version('jpg_2000')}")
    else:
        missing.append("Pillow without openjpeg (JPEG 2000 scans are rasterised)")
    if missing:
        return Check("poppler", "warn", "; ".join(facts) + "; missing: " + ", ".join(missing))
    return Check("poppler", "ok", "; ".join(facts))


def _signer(settings: Settings) -> Check:
    from pdf.keys.signing_key import load_signer

    _, info = load_signer(settings)
    days = (info.not_after - datetime.now(UTC)).days
    fact = f"{info.signer} ({info.source}), issued by {info.issuer}, valid until {info.not_after:%Y-%m-%d}"
    if days < 0:
        return Check("signer", "fail", f"{fact}: expired")
    if info.demo:
        return Check("signer", "warn", f"{fact}: demo certificate, not for real records")
    return Check("signer", "warn" if days < CERT_WARN_DAYS else "ok", f"{fact}; {days} days left")


def _store(settings: Settings) -> Check:
    from storage.stores import open_store

    store = open_store(settings)
    store.exists("archive/.sohoa-health-probe")
    return Check("store", "ok", store.describe())


def _catalog(settings: Settings) -> Check:
    from catalog.database import open_catalog

    catalog = open_catalog(settings.resolved_catalog_url)
    return Check("catalog", "ok", f"{catalog.count_records()} records")


def _disk(settings: Settings) -> Check:
    target = settings.data_dir if settings.data_dir.exists() else settings.data_dir.parent
    usage = shutil.disk_usage(target)
    free_gb = usage.free / 1024**3
    status = "warn" if usage.free < DISK_WARN_BYTES else "ok"
    return Check("disk", status, f"{free_gb:.1f} GB free of {usage.total / 1024**3:.0f} GB")


CHECKS: tuple[Callable[[Settings], Check], ...] = (
    _tesseract,
    _poppler,
    _signer,
    _store,
    _catalog,
    _disk,
)


def run_checks(settings: Settings) -> list[Check]:
    """Every check; one that raises becomes a ``fail`` with the reason, the others still run."""
    results = []
    for check in CHECKS:
        name = check.__name__.lstrip("_")
        try:
            results.append(check(settings))
        except SohoaError as exc:
            results.append(Check(name, "fail", exc.render("en")))
        except Exception as exc:  # noqa: BLE001 — a broken machine must still get a page that says so
            results.append(Check(name, "fail", f"{type(exc).__name__}: {exc}"[:300]))
    return results
