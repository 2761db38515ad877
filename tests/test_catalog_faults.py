"""The catalog's PostgreSQL server goes down mid-batch (a real server, stopped as a crash
would stop it): the batch fails saying the catalog cannot be reached, its original stays in
the inbox, nothing is uploaded twice, and once the server is back the next run completes
it with every record archived exactly once."""

from __future__ import annotations

import pytest
from archive_fixture import make_scans
from pgserver import running_server
from test_commit_once import _local_versions
from test_storage_faults import StopServer, waiting_in_inbox

from catalog.database import Catalog
from schemas.settings import Settings, StoreSettings
from sohoa.errors import StorageError
from storage.stores import open_store


@pytest.fixture
def own_server():
    """A PostgreSQL server of this test's own: the test stops and starts it."""
    with running_server() as server:
        server.execute("CREATE DATABASE catalog")
        yield server


@pytest.mark.timeout(600)
def test_the_database_down_mid_batch_then_a_later_run_completes_exactly_once(
    own_server, tmp_path, prefect_api_url
):
    from flows.digitise import run_digitise

    _, stack = make_scans(tmp_path / "scans")  # request | separator sheet | form: two records
    original = stack.read_bytes()
    settings = Settings(
        data_dir=tmp_path / "data",
        catalog_url=own_server.url("catalog"),
        store=StoreSettings(retries=1, retry_delay_s=0.2),
    )
    sink = StopServer(own_server, ("sign", 1))  # just before the first record is stored
    with pytest.raises(StorageError) as caught:
        run_digitise([str(stack)], settings=settings, progress=sink, unit="H56.01")
    assert sink.stopped
    assert caught.value.key == "catalog_unreachable", caught.value.render("en")
    assert f"127.0.0.1:{own_server.port}/catalog" in caught.value.render("en")
    assert waiting_in_inbox(settings) == [original]  # the original is kept for the next run

    own_server.start()
    manifests = run_digitise([str(stack)], settings=settings, unit="H56.01")
    assert len(manifests) == 2
    store = open_store(settings)
    with Catalog(settings.resolved_catalog_url) as catalog:
        rows = catalog.list_records()
        assert sorted(r.id for r in rows) == sorted(m.record_id for m in manifests)
        for row in rows:  # each object once: the retries and the re-run added no version
            assert _local_versions(store, row.pdf_key) == 1, row.pdf_key
            assert _local_versions(store, row.manifest_key) == 1, row.manifest_key
            assert store.stat(row.manifest_key).sha256 == row.manifest_sha256
    assert waiting_in_inbox(settings) == []
