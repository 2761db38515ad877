"""Archive time-stamp renewal (B-LTA) of archived records, and what ``verify`` says about it.

A real record is digitised once (one receipt page: real OCR, the local object store) and
signed at B-LTA against the test PKI on loopback. Renewal becomes due by configuration:
``signing.renew_before_days`` larger than the TSA certificate's remaining life. The PKI
has two TSA certificates: ``tsa`` (the record's, to 2099-01-01) and ``tsa2`` (to
2099-12-01), so renewing with ``tsa2`` gains time and renewing with ``tsa`` does not.
Every renewed file is judged by pyHanko and pdfsig; nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from archive_fixture import make_scans
from conftest import copy_data_dir, make_cli
from pki_server import LocalPki, pdfsig_report, pki_fixture, qpdf_check  # noqa: F401
from test_signing_levels import pki_settings
from test_signing_lta import ades_lta, hanko_verdicts, signed_content_hash

from catalog.database import Catalog
from pdf.sign import validation
from records import fixity, renewal
from records.commit import load_manifest
from records.verify import verify_record
from schemas.settings import Settings
from storage.stores import open_store

DUE = 365 * 200
"""A margin longer than any test certificate lives: renewal is due now."""


def tsa2_url(pki: LocalPki) -> str:
    return pki.tsa_url.removesuffix("/tsa") + "/tsa2"


@pytest.fixture(scope="module")
def lta_archive(pki: LocalPki, tmp_path_factory, prefect_api_url) -> tuple[Path, str]:
    """A data directory holding one record signed at B-LTA (do not modify: copy it)."""
    from flows.digitise import run_digitise

    root = tmp_path_factory.mktemp("lta-archive")
    settings = pki_settings(pki, root / "data", tsa_url=pki.tsa_url, level="B-LTA")
    receipt, _stack = make_scans(root / "scans")
    (manifest,) = run_digitise([str(receipt)], settings=settings, unit="H56.01")
    assert manifest.signature.level == "B-LTA"
    return root / "data", manifest.record_id


def copy_archive(lta_archive, pki: LocalPki, dest: Path, **signing) -> tuple[Settings, str]:
    """A writable copy of the archive and settings for it (``signing`` overrides)."""
    data_dir, record_id = lta_archive
    copy_data_dir(data_dir, dest)
    kw = {"tsa_url": pki.tsa_url, "level": "B-LTA", **signing}
    return pki_settings(pki, dest, **kw), record_id


def check_and_renew(settings: Settings) -> tuple[fixity.FixityReport, list[renewal.Renewal]]:
    """What the fixity run does: check every record, then renew those found due."""
    catalog, store = Catalog(settings.resolved_catalog_url), open_store(settings)
    try:
        report = fixity.run_fixity(settings, store=store, catalog=catalog)
        return report, fixity.renew_due_records(report, settings, store=store, catalog=catalog)
    finally:
        catalog.close()


def archive_files(settings: Settings) -> dict[str, int]:
    """Every file under the local store's archive area (objects, kept versions), by size."""
    root = settings.local_store_root
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def row_of(settings: Settings, record_id: str):
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        return catalog.get_record(record_id)
    finally:
        catalog.close()


# ---------------------------------------------------------------- verify reports


def test_verify_reports_the_level_and_when_renewal_is_due(lta_archive, pki, tmp_path) -> None:
    _settings, record_id = copy_archive(lta_archive, pki, tmp_path / "data")
    cli = make_cli(tmp_path / "data")
    env = {"SOHOA_SIGNING__TRUST_ROOTS": json.dumps([str(pki.root_pem)])}
    done = cli("verify", record_id, "--json", extra_env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    (record,) = json.loads(done.stdout)["records"]
    assert record["level"] == "B-LTA"
    assert record["timestamp_expires"].startswith("2099-01-01")
    assert record["renewal_due"].startswith("2098-01-01")  # a year's margin by default
    assert record["renewal_is_due"] is False
    due = cli("verify", record_id, extra_env={**env, "SOHOA_SIGNING__RENEW_BEFORE_DAYS": str(DUE)})
    assert due.returncode == 0 and "renewal DUE NOW" in due.stdout, due.stdout
    vi = cli("verify", record_id, lang="vi", extra_env=env)
    assert "Gia hạn dấu thời gian lưu trữ từ 2098-01-01" in vi.stdout and "B-LTA" in vi.stdout


# ---------------------------------------------------------------- renewal


def test_renewal_stores_a_new_version_with_the_signed_bytes_untouched(
    lta_archive, pki, tmp_path
) -> None:
    settings, record_id = copy_archive(
        lta_archive, pki, tmp_path / "data", tsa_url=tsa2_url(pki), renew_before_days=DUE
    )
    before = row_of(settings, record_id)
    store = open_store(settings)
    old_pdf, old_manifest = store.get_bytes(before.pdf_key), store.get_bytes(before.manifest_key)
    report, done = check_and_renew(settings)
    assert report.ok and [r.record_id for r in report.results if r.renewal_is_due()] == [record_id]
    assert [(r.outcome, r.version) for r in done] == [("renewed", 2)], done
    after = row_of(settings, record_id)
    assert after.manifest_key.endswith(f"{record_id}.v2.manifest.json")
    assert after.pdf_key.endswith(f"{record_id}.v2.pdf")
    # version 1 is untouched, and the manifest history points at it
    assert store.get_bytes(before.pdf_key) == old_pdf
    assert store.get_bytes(before.manifest_key) == old_manifest
    manifest = load_manifest(store, after.manifest_key)
    (entry,) = manifest.history
    assert entry.action == "renew_timestamp" and entry.page is None and entry.by == "sohoa fixity"
    assert entry.previous.manifest.key == before.manifest_key
    assert (
        entry.previous.pdf.key == before.pdf_key and entry.previous.pdf.sha256 == before.pdf_sha256
    )
    assert (
        manifest.signature.level == "B-LTA"
        and manifest.pages == load_manifest(store, before.manifest_key).pages
    )
    # an incremental update: the signature's ByteRange content is byte for byte the same
    old, new = tmp_path / "v1.pdf", tmp_path / "v2.pdf"
    store.download(before.pdf_key, old)
    store.download(after.pdf_key, new)
    assert new.read_bytes().startswith(old_pdf)
    assert signed_content_hash(new) == signed_content_hash(old)
    # pyHanko, pdfsig and qpdf on the renewed PDF
    found = hanko_verdicts(new, pki)
    assert found["signature"].bottom_line and len(found["stamps"]) == 2
    assert all(s.intact and s.valid and s.trusted for s in found["stamps"])
    assert found["stamps"][-1].signing_cert.subject.native["common_name"] == "sohoa Test TSA 2"
    assert ades_lta(new, pki).ades_subindic.status.name == "PASSED"
    blocks = validation.parse_pdfsig(pdfsig_report(new))
    assert blocks[0]["Signature Validation"] == "Signature is Valid."
    assert [b["Signature Field Name"] for b in blocks][1:] == [
        "ArchiveTimestamp1",
        "ArchiveTimestamp2",
    ]
    assert "Total document signed" in blocks[-1]
    assert "No syntax or stream encoding errors" in qpdf_check(new)
    # verify: the new version and the one before it are intact; the expiry moved on
    result = verify_record(after, store, settings)
    assert result.ok and result.level == "B-LTA", result.problems
    assert result.timestamp_expires.year == 2099 and result.timestamp_expires.month == 12
    assert {o.key for o in result.objects} >= {before.pdf_key, before.manifest_key}


def test_renewal_is_idempotent(lta_archive, pki, tmp_path) -> None:
    """A second fixity run does not stamp again: the new time-stamp is the TSA's newest."""
    settings, record_id = copy_archive(
        lta_archive, pki, tmp_path / "data", tsa_url=tsa2_url(pki), renew_before_days=DUE
    )
    _report, first = check_and_renew(settings)
    assert [r.outcome for r in first] == ["renewed"]
    files = archive_files(settings)
    report, again = check_and_renew(settings)
    assert report.ok and not report.orphans  # version 1 is known through the history
    assert [r.outcome for r in again] == ["blocked"], again
    assert "not later" in again[0].reason
    assert archive_files(settings) == files  # nothing stored, nothing replaced
    assert row_of(settings, record_id).manifest_key.endswith(".v2.manifest.json")


def test_renewal_with_the_same_tsa_certificate_is_blocked(lta_archive, pki, tmp_path) -> None:
    """Re-stamping with the certificate that is about to expire would gain nothing."""
    settings, record_id = copy_archive(lta_archive, pki, tmp_path / "data", renew_before_days=DUE)
    files = archive_files(settings)
    _report, done = check_and_renew(settings)
    assert [r.outcome for r in done] == ["blocked"]
    assert archive_files(settings) == files
    assert row_of(settings, record_id).manifest_key.endswith(f"{record_id}.manifest.json")


def test_without_a_tsa_due_records_are_reported_not_renewed(lta_archive, pki, tmp_path) -> None:
    settings, _record_id = copy_archive(
        lta_archive, pki, tmp_path / "data", tsa_url=None, level="B-B", renew_before_days=DUE
    )
    files = archive_files(settings)
    _report, done = check_and_renew(settings)
    assert [r.outcome for r in done] == ["blocked"] and "tsa_url" in done[0].reason
    assert archive_files(settings) == files


def test_an_interrupted_renewal_is_finished_without_a_second_version(
    lta_archive, pki, tmp_path
) -> None:
    """Killed after the PDF was stored (no manifest), or after the manifest (no catalog row):
    the rerun reuses what is there; every key keeps exactly one version."""
    settings, record_id = copy_archive(
        lta_archive, pki, tmp_path / "data", tsa_url=tsa2_url(pki), renew_before_days=DUE
    )
    catalog_file = settings.data_dir / "catalog.sqlite"
    saved = tmp_path / "catalog-before.sqlite"
    copy_data_dir(settings.data_dir, tmp_path / "snapshot")
    (tmp_path / "snapshot" / "catalog.sqlite").replace(saved)
    _report, first = check_and_renew(settings)
    assert [r.outcome for r in first] == ["renewed"]
    store, renewed_row = open_store(settings), row_of(settings, record_id)
    pdf_sha = renewed_row.pdf_sha256
    # crash 1: the manifest was stored, the catalog row was not
    catalog_file.write_bytes(saved.read_bytes())
    _report, again = check_and_renew(settings)
    assert [(r.outcome, r.version) for r in again] == [("renewed", 2)]
    assert "earlier run" in again[0].reason
    assert row_of(settings, record_id).manifest_sha256 == renewed_row.manifest_sha256
    # crash 2: only the PDF was stored (the manifest never written)
    manifest_file = settings.local_store_root / renewed_row.manifest_key
    manifest_file.unlink()
    (settings.local_store_root / ".meta" / f"{renewed_row.manifest_key}.json").unlink(
        missing_ok=True
    )
    catalog_file.write_bytes(saved.read_bytes())
    _report, third = check_and_renew(settings)
    assert [r.outcome for r in third] == ["renewed"], third
    assert store.stat(renewed_row.pdf_key).sha256 == pdf_sha  # the stored PDF was reused
    kept = settings.local_store_root / ".versions"
    assert not kept.exists() or not any(p.is_file() for p in kept.rglob("*")), list(kept.rglob("*"))


def test_a_damaged_record_is_not_renewed(lta_archive, pki, tmp_path) -> None:
    settings, record_id = copy_archive(
        lta_archive, pki, tmp_path / "data", tsa_url=tsa2_url(pki), renew_before_days=DUE
    )
    pdf = settings.local_store_root / row_of(settings, record_id).pdf_key
    data = bytearray(pdf.read_bytes())
    data[len(data) // 3] ^= 0x01
    pdf.write_bytes(bytes(data))
    report, done = check_and_renew(settings)
    assert not report.ok and done == []
    assert row_of(settings, record_id).manifest_key.endswith(f"{record_id}.manifest.json")


def test_the_fixity_flow_renews_due_records(lta_archive, pki, tmp_path, prefect_api_url) -> None:
    from flows.fixity import run_fixity_check

    settings, record_id = copy_archive(
        lta_archive, pki, tmp_path / "data", tsa_url=tsa2_url(pki), renew_before_days=DUE
    )
    report = run_fixity_check(settings, started_by="test")
    assert report.ok
    row = row_of(settings, record_id)
    assert row.manifest_key.endswith(".v2.manifest.json")
    check = validation.validate_signature(
        _download(settings, row.pdf_key, tmp_path / "v2.pdf"), settings
    )
    assert check.ok and check.document_timestamps == 2


def _download(settings: Settings, key: str, dest: Path) -> Path:
    open_store(settings).download(key, dest)
    return dest
