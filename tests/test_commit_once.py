"""A retried or re-run commit stores each object once: no duplicate retained version.

When the catalog write fails after the objects are stored, Prefect retries the
``store-and-catalog`` task (or the nightly run commits the batch again). Identical
bytes already under a key must not be uploaded again: in the archive every upload
is a new version kept for years. Different bytes under the same key (a re-OCR'd
record) are still uploaded. Run on the local store with retention and on the real
S3 server of :mod:`s3server`; the batch and draft are built by hand (no OCR).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.database import Catalog
from records.commit import commit_record, record_id_for
from schemas.models import PageImage, PageOcr, RecordDraft, SignatureSummary, SourceFile
from sohoa.errors import StorageError
from storage.inbox import ReceivedBatch
from storage.localstore import LocalObjectStore
from storage.objectstore import ObjectStore, RetentionRule, sha256_file

BATCH_ID = "0123456789abcdef0123"
RECEIVED = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)
DOSSIER = "000.00.06.H56-231027-0361"


class CatalogDownOnce(Catalog):
    """A real SQLite catalog whose first ``add_record`` fails as an unreachable database does."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.failures = 1

    def add_record(self, manifest, **kwargs) -> None:
        if self.failures:
            self.failures -= 1
            raise StorageError(operation="catalog", reason="database unreachable")
        super().add_record(manifest, **kwargs)


class RecordingStore:
    """The real store, with the keys given to ``put_file`` noted (originals are unversioned)."""

    def __init__(self, store: ObjectStore) -> None:
        self.store, self.files_put = store, []

    def put_file(self, key, path, **kwargs):
        self.files_put.append(key)
        return self.store.put_file(key, path, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.store, name)


def _local_versions(store: LocalObjectStore, key: str) -> int:
    """Current version plus those kept under ``.versions/<key>/`` (one ``.json`` each)."""
    kept = store.root / store.VERSIONS_DIR / key
    older = [p for p in kept.iterdir() if p.suffix != ".json"] if kept.is_dir() else []
    return int(store.exists(key)) + len(older)


@pytest.fixture(params=["local", "s3"])
def versioned(request, tmp_path) -> tuple[ObjectStore, Callable[[str], int]]:
    """An object store with a locked archive area, and a count of one archive key's versions."""
    if request.param == "local":
        local = LocalObjectStore(
            tmp_path / "objects", retention=RetentionRule("GOVERNANCE", 1, "days")
        )
        return local, lambda key: _local_versions(local, key)
    s3_store, server = request.getfixturevalue("s3_store"), request.getfixturevalue("s3_server")
    bucket = s3_store.buckets["archive"]

    def versions(key: str) -> int:
        found = server.client().list_objects(bucket, prefix=key, include_version=True)
        return sum(1 for o in found if o.object_name == key and not o.is_delete_marker)

    return s3_store, versions


@pytest.fixture
def catalog(tmp_path):
    catalog = CatalogDownOnce(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    yield catalog
    catalog.close()


def _batch(folder: Path) -> ReceivedBatch:
    """A one-file batch in the inbox (the same batch on every call)."""
    folder.mkdir(parents=True, exist_ok=True)
    scan = folder / "scan.png"
    scan.write_bytes(b"\x89PNG original scan bytes")
    source = SourceFile(name="scan.png", sha256=sha256_file(scan), size=25, format="png")
    return ReceivedBatch(
        batch_id=BATCH_ID,
        folder=folder,
        files=(scan,),
        sources=(source,),
        kind="thanh-phan",
        unit="H56.01",
        dossier_code=DOSSIER,
        received_at=RECEIVED,
    )


def _draft(scan: Path) -> RecordDraft:
    """One page, one word: enough for a manifest."""
    page = PageImage(
        index=0,
        path=str(scan),
        source="scan.png",
        source_page=0,
        width=1000,
        height=1400,
        dpi=200,
        mode="L",
        encoding="png",
    )
    ocr = PageOcr(
        index=0, width=1000, height=1400, dpi=200, words=(), text="", mean_confidence=90.0
    )
    return RecordDraft(
        record_id=record_id_for(BATCH_ID), dossier_code=DOSSIER, pages=(page,), ocr=(ocr,)
    )


def _commit(tmp_path: Path, store, catalog: Catalog, pdf_bytes: bytes):
    """Commit the same record with a signed PDF holding ``pdf_bytes``."""
    batch = _batch(tmp_path / "inbox")
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(pdf_bytes)
    signature = SignatureSummary(
        signer="sohoa DEMO signer", issuer="demo", serial="01", demo=True, signed_at=RECEIVED
    )
    return commit_record(
        batch=batch,
        draft=_draft(batch.files[0]),
        signed_pdf=signed,
        signature=signature,
        store=store,
        catalog=catalog,
    )


def test_a_retry_after_a_catalog_failure_stores_no_second_version(versioned, catalog, tmp_path):
    store, versions = versioned
    recording = RecordingStore(store)
    with pytest.raises(StorageError):
        _commit(tmp_path, recording, catalog, b"%PDF-1.7 signed")
    assert len(recording.files_put) == 2  # the original, then the PDF: both new
    stored = list(recording.files_put)
    recording.files_put.clear()

    manifest = _commit(tmp_path, recording, catalog, b"%PDF-1.7 signed")

    assert versions(manifest.pdf.key) == 1  # not one retained copy per attempt
    manifest_key = catalog.get_record(manifest.record_id).manifest_key
    assert versions(manifest_key) == 1  # the same manifest, only its time newer: kept
    assert catalog.get_record(manifest.record_id).manifest_sha256 == store.stat(manifest_key).sha256
    assert recording.files_put == []  # neither the original nor the PDF uploaded again
    assert [o.key for o in manifest.originals] == [stored[0]]
    assert store.stat(stored[0]).sha256 == manifest.originals[0].sha256
    assert manifest.pdf.sha256 == store.stat(manifest.pdf.key).sha256
    assert catalog.get_record(manifest.record_id).pdf_key == manifest.pdf.key


def test_different_bytes_under_the_same_key_are_a_new_version(versioned, catalog, tmp_path):
    store, versions = versioned
    catalog.failures = 0
    first = _commit(tmp_path, store, catalog, b"%PDF-1.7 first reading")
    second = _commit(tmp_path, store, catalog, b"%PDF-1.7 re-OCR'd, re-signed")

    assert second.pdf.key == first.pdf.key
    assert versions(second.pdf.key) == 2
    assert second.pdf.sha256 != first.pdf.sha256
    assert store.stat(second.pdf.key).sha256 == second.pdf.sha256
    assert store.get_bytes(second.pdf.key) == b"%PDF-1.7 re-OCR'd, re-signed"
