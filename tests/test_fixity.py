"""Fixity: ``sohoa verify --all`` and the ``fixity_check`` flow read the real archive back.

Every check runs on a copy of a small real archive (real OCR, real PAdES signatures)
and damages it the ways archives get damaged: an object deleted, bytes changed, a PDF
swapped with the catalog "fixed" to match (the signature gives it away), an object
nobody catalogued. The S3 case runs on the SeaweedFS server, where the store itself
refuses bytes that fail their stored hash.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import io
import json
import logging
import sqlite3
import time

import pikepdf
import pytest
import s3server
from archive_fixture import small_archive  # noqa: F401
from conftest import flow_runs_of, make_cli
from s3server import s3_server, s3_store  # noqa: F401

from catalog.database import Catalog
from records import fixity
from records.verify import ObjectCheck, VerifyResult
from schemas.settings import Settings
from sohoa.errors import ChecksumMismatchError, ExitCode, StorageError, exit_code_of
from storage.localstore import LocalObjectStore
from storage.stores import open_store


def resave(store, key: str, folder) -> str:
    """Rewrite a PDF in full through the store (a new version: the old one is retained);
    the signature no longer covers the file. Returns the new sha256."""
    path = folder / "resaved.pdf"
    store.download(key, path)
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        pdf.docinfo["/Title"] = "đã sửa"
        pdf.save(path)
    return store.put_file(key, path, content_type="application/pdf").sha256


def set_hashes(settings: Settings, record_id: str, **columns: str) -> None:
    with sqlite3.connect(settings.data_dir / "catalog.sqlite") as db:
        for column, value in columns.items():
            db.execute(f"update records set {column} = ? where id = ?", (value, record_id))
    db.close()


def damage(settings: Settings, ids: tuple[str, ...]) -> dict[str, str]:
    """Delete one PDF, flip a byte of another behind the store's back, rewrite the third and
    then every hash that records it (manifest and catalog: only the signature is left to
    tell), and drop an uncatalogued object in the archive."""
    catalog = Catalog(settings.resolved_catalog_url)
    rows = {r.id: r for r in catalog.list_records()}
    catalog.close()
    root, store = settings.local_store_root, open_store(settings)
    gone, flipped, swapped = (rows[i] for i in ids)
    (root / gone.pdf_key).unlink()
    data = bytearray((root / flipped.pdf_key).read_bytes())
    data[len(data) // 2] ^= 0x01
    (root / flipped.pdf_key).write_bytes(bytes(data))
    new_sha = resave(store, swapped.pdf_key, settings.data_dir)
    manifest = json.loads(store.get_bytes(swapped.manifest_key))
    manifest["pdf"]["sha256"] = new_sha
    body = json.dumps(manifest, ensure_ascii=False).encode()
    manifest_sha = store.put_bytes(swapped.manifest_key, body).sha256
    set_hashes(settings, swapped.id, pdf_sha256=new_sha, manifest_sha256=manifest_sha)
    orphan = gone.pdf_key.rsplit("/", 1)[0] + "/khong-ai-biet.pdf"
    store.put_bytes(orphan, b"%PDF-1.7 stray")
    return {"missing": gone.id, "changed": flipped.id, "invalid": swapped.id, "orphan": orphan}


def test_intact_archive_passes(small_archive, tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    done = cli("verify", "--all", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert (summary["checked"], summary["ok"], summary["orphans"]) == (3, 3, 0), summary
    assert summary["workers"] >= 1 and summary["bytes"] > 0
    assert report["failures"] == []
    record = report["records"][0]
    assert {o["role"] for o in record["objects"]} == {"pdf", "manifest", "original"}
    assert "DEMO" in record["signer"]
    human = cli("verify", "--all", lang="vi")
    assert human.returncode == 0 and "Đã kiểm tra 3/3 bản ghi" in human.stdout


def test_missing_changed_invalid_and_orphans_are_reported(small_archive, tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    settings = small_archive.copy(cli.data_dir)
    broken = damage(settings, small_archive.record_ids)
    done = cli("verify", "--all", "--json")
    assert done.returncode == ExitCode.VERIFY_FAILED, done.stderr
    report = json.loads(done.stdout)
    summary = report["summary"]
    assert (summary["missing"], summary["changed"], summary["invalid"]) == (1, 1, 1), summary
    assert summary["ok"] == 0 and summary["orphans"] == 1
    status = {f["record_id"]: f["status"] for f in report["failures"] if f["record_id"]}
    assert status == {broken[s]: s for s in ("missing", "changed", "invalid")}
    assert report["orphans"] == [broken["orphan"]]
    text = cli("verify", "--all").stdout
    assert "ORPHAN" in text and broken["orphan"] in text and "sha256" in text
    # one record at a time: the same verdicts, no orphan listing
    one = cli("verify", broken["invalid"], "--json")
    assert one.returncode == ExitCode.VERIFY_FAILED
    assert json.loads(one.stdout)["records"][0]["status"] == "invalid"


def test_a_sample_checks_part_of_the_archive(small_archive, tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    two = cli.json("verify", "--sample", "2", "--seed", "7")
    assert two["summary"]["checked"] == 2 and two["summary"]["sampled"] is True
    again = cli.json("verify", "--sample", "2", "--seed", "7")
    assert [r["record_id"] for r in again["records"]] == [r["record_id"] for r in two["records"]]
    third = cli.json("verify", "--sample", "34%")
    assert third["summary"]["checked"] == 2  # ceil(0.34 * 3)
    everything = cli.json("verify", "--sample", "1.0")
    assert everything["summary"]["checked"] == 3 and everything["summary"]["sampled"] is False
    bad = cli("verify", "--sample", "0")
    assert bad.returncode == ExitCode.USAGE and "--sample" in bad.stderr


def test_fixity_flow_reports_and_logs_without_personal_data(
    small_archive, tmp_path, prefect_api_url, caplog
):
    from flows.fixity import run_fixity_check

    settings = small_archive.copy(tmp_path / "data")
    broken = damage(settings, small_archive.record_ids)
    seen = []

    class Sink:
        def started(self, records):
            seen.append(("started", records))

        def checked(self, result):
            seen.append(("checked", result.record_id))

    with caplog.at_level(logging.INFO, logger="prefect.flow_runs"):
        report = run_fixity_check(settings, progress=Sink(), workers=2)
    assert exit_code_of(report.error_kind) == ExitCode.VERIFY_FAILED
    assert (report.counts["missing"], report.counts["changed"], report.counts["invalid"]) == (
        1,
        1,
        1,
    )
    assert report.orphans == (broken["orphan"],)
    assert seen[0] == ("started", 3) and len(seen) == 4
    logged = caplog.text
    assert "fixity: checked 3/3 records" in logged and broken["orphan"] in logged
    for personal in ("Nguyễn Thị Hồng Đào", "Trần Văn Dũng", "DEMO signer"):
        assert personal not in logged
    [ours] = flow_runs_of("fixity_check", settings.data_dir)  # this test's run, not any run
    assert ours.state and ours.state.is_completed(), ours.state  # damage found is no failure
    assert ours.parameters["workers"] == fixity.workers_for(2)
    assert ours.parameters["started_by"] == "nightly"


def test_prefect_does_not_walk_the_catalog_rows(
    small_archive, tmp_path, prefect_api_url, prefect_walk
):
    """Chunks of catalog rows reach the checks quoted: a province's archive is 10^5-10^6
    rows, which Prefect would otherwise visit field by field, several times per chunk."""
    from catalog.rows import RecordRow
    from flows.fixity import run_fixity_check

    settings = small_archive.copy(tmp_path / "data")
    report = run_fixity_check(settings, workers=2)
    assert report.counts["ok"] == 3  # the rows were there to be walked
    assert [o for o in prefect_walk if isinstance(o, RecordRow)] == []


def test_parallel_and_serial_give_the_same_verdicts(small_archive, tmp_path):
    settings = small_archive.copy(tmp_path / "data")
    damage(settings, small_archive.record_ids)
    store, catalog = (
        LocalObjectStore(settings.local_store_root),
        Catalog(settings.resolved_catalog_url),
    )
    try:
        timings = {}
        reports = {}
        for workers in (1, 2):
            started = time.perf_counter()
            reports[workers] = fixity.run_fixity(
                settings, store=store, catalog=catalog, workers=workers
            )
            timings[workers] = time.perf_counter() - started
    finally:
        catalog.close()
    verdicts = {w: [(r.record_id, r.status) for r in rep.results] for w, rep in reports.items()}
    assert verdicts[1] == verdicts[2] and reports[1].orphans == reports[2].orphans
    print(f"verify 3 records: serial {timings[1]:.2f} s, 2 workers {timings[2]:.2f} s")


def test_s3_archive_changed_in_place_and_missing(small_archive, tmp_path, s3_store, s3_server):
    """Copy the archive into a bucket; corrupt an object behind the store's back."""
    local = small_archive.copy(tmp_path / "data")
    for key in LocalObjectStore(local.local_store_root).list():
        s3_store.put_file(key, local.local_store_root / key)
    stem = s3_store.buckets["archive"].removesuffix("-archive")
    store_settings = s3server.store_settings(
        s3_server, stem, access_key=s3_server.access_key, secret_key=s3_server.secret_key
    )
    settings = local.model_copy(update={"store": store_settings})
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        clean = fixity.run_fixity(settings, store=s3_store, catalog=catalog)
        assert clean.ok and clean.counts == {"ok": 3}, clean.failures()
        rows = sorted(catalog.list_records(), key=lambda r: r.id)
        # same length, different bytes, the old sha256 left in the metadata: bit rot
        bucket = s3_store.buckets["archive"]
        meta = s3_server.client().stat_object(bucket, rows[0].pdf_key).metadata
        body = s3_store.get_bytes(rows[0].pdf_key)
        rotten = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]
        s3_server.client().put_object(
            bucket,
            rows[0].pdf_key,
            io.BytesIO(rotten),
            len(rotten),
            metadata={"sha256": meta["x-amz-meta-sha256"]},
        )
        client = s3_server.client()  # delete the current version (a delete marker hides it)
        client.remove_object(bucket, rows[1].manifest_key)
        report = fixity.run_fixity(settings, store=s3_store, catalog=catalog)
    finally:
        catalog.close()
    status = {r.record_id: r.status for r in report.results}
    assert status == {rows[0].id: "changed", rows[1].id: "missing", rows[2].id: "ok"}
    assert exit_code_of(report.error_kind) == ExitCode.VERIFY_FAILED and report.orphans == ()


def test_a_pdf_swapped_with_only_the_catalog_fixed_is_caught_by_its_manifest(
    small_archive, tmp_path
):
    settings = small_archive.copy(tmp_path / "data")
    store, catalog = open_store(settings), Catalog(settings.resolved_catalog_url)
    try:
        row = catalog.get_record(small_archive.record_ids[0])
        set_hashes(settings, row.id, pdf_sha256=resave(store, row.pdf_key, tmp_path))
        [result] = fixity.check_records([catalog.get_record(row.id)], store, settings)
    finally:
        catalog.close()
    assert result.status == "changed"
    assert any("manifest's" in p for p in result.problems), result.problems
    assert not any("catalog's" in p for p in result.problems)


def test_parse_sample_and_exit_codes():
    assert fixity.parse_sample("50") == 50 and fixity.parse_sample("10%") == pytest.approx(0.1)
    assert fixity.parse_sample("0.25") == 0.25
    for bad in ("0", "1.5", "-3", "abc", "0%"):
        with pytest.raises(ValueError):
            fixity.parse_sample(bad)
    down = ObjectCheck("archive/a.pdf", "pdf", "unreadable", ("Storage error",))
    result = VerifyResult("r1", "", "archive/a.pdf", False, ("Storage error",), objects=(down,))
    report = fixity.make_report(
        catalog_records=1, results=[result], orphans=None, sampled=False, workers=1, seconds=1.0
    )
    assert exit_code_of(report.error_kind) == ExitCode.STORAGE_FAILED  # not checked, not "damaged"
    with_orphan = fixity.make_report(
        catalog_records=1,
        results=[result],
        orphans=["archive/x"],
        sampled=False,
        workers=1,
        seconds=1,
    )
    assert exit_code_of(with_orphan.error_kind) == ExitCode.VERIFY_FAILED
    assert fixity.workers_for(10_000) == fixity.workers_for()


class _CutOffStore:
    """A store whose reads fail mid-transfer (fault injector): reachable, objects intact."""

    def __init__(self, inner: LocalObjectStore, error: type[StorageError]) -> None:
        self._inner, self._error = inner, error

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def download(self, key, dest):
        raise self._error(operation="download", reason="connection reset by peer")

    def get_bytes(self, key, *, version_id=None):
        raise self._error(operation="get", reason="connection reset by peer")


@pytest.mark.parametrize(
    ("error", "status"), [(StorageError, "unreadable"), (ChecksumMismatchError, "changed")]
)
def test_a_transfer_cut_off_is_unreadable_not_changed(small_archive, tmp_path, error, status):
    """Only the store's own hash refusal means changed bytes; a broken read says nothing."""
    settings = small_archive.copy(tmp_path / "data")
    store = _CutOffStore(open_store(settings), error)
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        [result] = fixity.check_records(
            [catalog.get_record(small_archive.record_ids[0])], store, settings
        )
    finally:
        catalog.close()
    assert result.status == status, result.problems


# ---------------------------------------------------------------- originals


def originals_of(settings: Settings, record_id: str) -> list[str]:
    """Keys of the originals the record's manifest lists (the uploaded scans)."""
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        row = catalog.get_record(record_id)
    finally:
        catalog.close()
    body = json.loads(open_store(settings).get_bytes(row.manifest_key))
    return [o["key"] for o in body["originals"]]


def test_a_changed_or_missing_original_is_reported(small_archive, tmp_path, prefect_api_url):
    """The scans the PDFs were made from are hashed too: one changed behind the store's
    back, one deleted; their records fail, the signed PDFs themselves stay ``ok``."""
    cli = make_cli(tmp_path / "data", prefect_api_url)
    settings = small_archive.copy(cli.data_dir)
    receipt, split = small_archive.record_ids[0], small_archive.record_ids[1:]
    (changed,) = originals_of(settings, receipt)
    (gone,) = set(originals_of(settings, split[0])) | set(originals_of(settings, split[1]))
    assert changed.startswith("originals/") and gone.startswith("originals/")
    path = settings.local_store_root / changed
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    (settings.local_store_root / gone).unlink()
    done = cli("verify", "--all", "--json")
    assert done.returncode == ExitCode.VERIFY_FAILED, done.stdout + done.stderr
    report = json.loads(done.stdout)
    found = {(f["record_id"], f["key"], f["role"], f["status"]) for f in report["failures"]}
    assert found == {
        (receipt, changed, "original", "changed"),
        (split[0], gone, "original", "missing"),
        (split[1], gone, "original", "missing"),
    }
    summary = report["summary"]
    assert (summary["changed"], summary["missing"], summary["ok"]) == (1, 2, 0), summary
    pdfs = [o for r in report["records"] for o in r["objects"] if o["role"] == "pdf"]
    assert {o["status"] for o in pdfs} == {"ok"}
    text = cli("verify", receipt).stdout
    assert "original changed" in text and changed in text


def test_s3_original_rotten_or_deleted(small_archive, tmp_path, s3_store, s3_server):
    """On S3: bytes rotten under their stored sha256 and a deleted original are found."""
    local = small_archive.copy(tmp_path / "data")
    for key in LocalObjectStore(local.local_store_root).list():
        s3_store.put_file(key, local.local_store_root / key)
    stem = s3_store.buckets["archive"].removesuffix("-archive")
    store_settings = s3server.store_settings(
        s3_server, stem, access_key=s3_server.access_key, secret_key=s3_server.secret_key
    )
    settings = local.model_copy(update={"store": store_settings})
    receipt, split = small_archive.record_ids[0], small_archive.record_ids[1]
    (rotten_key,) = originals_of(local, receipt)
    (gone_key,) = originals_of(local, split)
    client, bucket = s3_server.client(), s3_store.buckets["originals"]
    meta = client.stat_object(bucket, rotten_key).metadata
    body = s3_store.get_bytes(rotten_key)
    rotten = body[:50] + bytes([body[50] ^ 0xFF]) + body[51:]
    client.put_object(
        bucket, rotten_key, io.BytesIO(rotten), len(rotten),
        metadata={"sha256": meta["x-amz-meta-sha256"]},
    )  # fmt: skip
    client.remove_object(bucket, gone_key)
    catalog = Catalog(settings.resolved_catalog_url)
    try:
        report = fixity.run_fixity(settings, store=s3_store, catalog=catalog)
    finally:
        catalog.close()
    bad = {(f["key"], f["role"], f["status"]) for f in report.failures()}
    assert (rotten_key, "original", "changed") in bad and (gone_key, "original", "missing") in bad
    assert {f["role"] for f in report.failures()} == {"original"}
    assert exit_code_of(report.error_kind) == ExitCode.VERIFY_FAILED
