"""Catalog and Vietnamese folding tests on real SQLite files.

Auditors type without diacritics, so most tests search folded text and check
that results (and snippets) still show the original Vietnamese.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import SQLITE_ONLY

from catalog.database import Catalog
from schemas.fields import FieldValue
from schemas.models import (
    Manifest,
    PageSummary,
    SignatureSummary,
    SourceFile,
    StoredObject,
)
from sohoa.errors import NotFoundError, StorageError
from sohoa.textfold import fold, fts_query, query_terms, snippet

BIRTH_TEXT = (
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
    "TỜ KHAI ĐĂNG KÝ KHAI SINH\nKính gửi: Ủy ban nhân dân xã Triệu Phong\n"
    "Họ, chữ đệm, tên người yêu cầu: Đặng Văn Đức\nNơi cư trú: Quảng Trị\n"
    "\fĐăng ký khai sinh cho con: Đặng Thị Hoa, sinh ngày 01/02/2023."
)
LAND_TEXT = (
    "ĐƠN ĐĂNG KÝ BIẾN ĐỘNG ĐẤT ĐAI, TÀI SẢN GẮN LIỀN VỚI ĐẤT\n"
    "Người sử dụng đất: Nguyễn Thị Lan, thường trú tại Huế.\n"
    "Liên quan hồ sơ 000.00.06.H56-231027-0361 đã nộp trước đó."
)
MARRIAGE_TEXT = "GIẤY CHỨNG NHẬN KẾT HÔN\nHọ và tên chồng: Trần Minh Tuấn\nHọ và tên vợ: Lê Thị Mai"

BIRTH_CODE = "000.00.06.H56-231027-0361"
SIMILAR_CODE = "000.00.06.H56-231027-0362"
OTHER_CODE = "H21.65-220914-0011"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def make_manifest(
    record_id: str,
    *,
    dossier_code: str,
    text: str,
    batch_id: str | None = None,
    minutes: int = 0,
    fields: tuple[FieldValue, ...] = (),
) -> Manifest:
    """Build a valid manifest for ``record_id`` with a one-page dummy PDF."""
    batch_id = batch_id or _sha("batch-" + record_id)
    created = datetime(2024, 5, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    pdf = StoredObject(
        key=f"records/{record_id}/archive.pdf",
        sha256=_sha("pdf-" + record_id),
        size=1234,
        content_type="application/pdf",
    )
    return Manifest(
        record_id=record_id,
        batch_id=batch_id,
        dossier_code=dossier_code,
        kind="thanh-phan",
        unit="H56",
        status="archived",
        created_at=created,
        software="sohoa-test",
        pages=(
            PageSummary(
                index=0,
                source="scan.pdf",
                source_page=0,
                width=2480,
                height=3508,
                dpi=300,
                mean_confidence=91.5,
                word_count=42,
                skew_deg=0.0,
                needs_review=False,
            ),
        ),
        mean_confidence=91.5,
        fields=fields,
        sources=(
            SourceFile(name="scan.pdf", sha256=_sha("src-" + record_id), size=99, format="pdf"),
        ),
        pdf=pdf,
        originals=(),
        signature=SignatureSummary(
            signer="Demo Signer", issuer="Demo CA", serial="01", demo=True, signed_at=created
        ),
        text=text,
    )


def _add(catalog: Catalog, manifest: Manifest) -> None:
    catalog.add_record(
        manifest,
        manifest_key=f"records/{manifest.record_id}/manifest.json",
        manifest_sha256=_sha("manifest-" + manifest.record_id),
    )


BIRTH_ID = _sha("birth")
LAND_ID = _sha("land")
SIMILAR_ID = _sha("similar")
MARRIAGE_ID = _sha("marriage")


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """A catalog with four records, two of them with near-identical dossier codes."""
    cat = Catalog(catalog_url)
    name = FieldValue(name="applicant_name", value="Đặng Văn Đức", confidence=0.88, method="label")
    _add(
        cat,
        make_manifest(
            BIRTH_ID, dossier_code=BIRTH_CODE, text=BIRTH_TEXT, minutes=1, fields=(name,)
        ),
    )
    _add(cat, make_manifest(LAND_ID, dossier_code=OTHER_CODE, text=LAND_TEXT, minutes=2))
    _add(cat, make_manifest(SIMILAR_ID, dossier_code=SIMILAR_CODE, text="Phiếu", minutes=3))
    _add(cat, make_manifest(MARRIAGE_ID, dossier_code="X-1", text=MARRIAGE_TEXT, minutes=4))
    yield cat
    cat.close()


def _db_path(catalog: Catalog) -> str:
    return catalog.url.removeprefix("sqlite:///")


# --- folding ---------------------------------------------------------------------------------


def test_fold_vietnamese_name() -> None:
    assert fold("Đặng Văn Đức ở Quảng Trị") == "dang van duc o quang tri"


def test_fold_keeps_length_and_offsets_on_long_vietnamese_text() -> None:
    text = unicodedata.normalize("NFC", (BIRTH_TEXT + LAND_TEXT + MARRIAGE_TEXT) * 50)
    folded = fold(text)
    assert len(folded) == len(text)
    assert all(fold(a) == b for a, b in zip(text, folded, strict=True))
    start = folded.index("dang ky khai sinh")
    assert text[start : start + len("dang ky khai sinh")] == "ĐĂNG KÝ KHAI SINH"


@pytest.mark.parametrize("char", ["ß", "İ", "ﬁ", "ŉ", "\u0301", "ǅ", "Ɖ", "\U0001d400"])
def test_fold_never_expands_or_drops_a_code_point(char: str) -> None:
    assert len(fold(char)) == 1
    assert fold("Đ") == fold("đ") == "d"


def test_fts_query_quotes_terms_and_phrases() -> None:
    assert fts_query("Đăng ký khai sinh") == '"dang" AND "ky" AND "khai" AND "sinh"*'
    assert fts_query(BIRTH_CODE) == '"000 00 06 h56 231027 0361"*'
    assert fts_query("dang ky") == '"dang" AND "ky"'  # a 2-char last word is not a prefix
    assert fts_query("  *** ") is None
    assert fts_query("") is None


@pytest.mark.parametrize(
    "query", ['a" OR "b', "NEAR(", "*", "-x", "col:val", '"', "a AND", "NOT x", "(", "^a", "a:b*"]
)
def test_fts_query_cannot_inject_syntax(query: str) -> None:
    expression = fts_query(query)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(a, b)")
    if expression is not None:
        connection.execute("SELECT * FROM t WHERE t MATCH ?", (expression,)).fetchall()
        assert all(part.startswith('"') for part in expression.split(" AND "))


def test_snippet_cuts_original_text_at_folded_offsets() -> None:
    cut = snippet(BIRTH_TEXT, query_terms("dang ky khai sinh"))
    assert "«ĐĂNG KÝ KHAI SINH»" in cut
    assert "\n" not in cut


# --- catalog: search -------------------------------------------------------------------------


def _ids(hits: list) -> list[str]:
    return [hit.record_id for hit in hits]


def test_search_without_diacritics_finds_vietnamese(catalog: Catalog) -> None:
    hits = catalog.search("dang ky khai sinh")
    assert _ids(hits)[0] == BIRTH_ID
    assert LAND_ID not in _ids(hits)  # has "đăng ký" but not "khai sinh"


def test_search_with_diacritics_finds_the_same(catalog: Catalog) -> None:
    assert _ids(catalog.search("Đăng ký khai sinh")) == _ids(catalog.search("dang ky khai sinh"))
    assert BIRTH_ID in _ids(catalog.search("Đăng ký"))


def test_search_d_without_stroke_finds_d_with_stroke(catalog: Catalog) -> None:
    hits = catalog.search("duc")
    assert _ids(hits) == [BIRTH_ID]
    assert "Đức" in hits[0].snippet


def test_exact_dossier_code_comes_first(catalog: Catalog) -> None:
    hits = catalog.search(BIRTH_CODE)
    assert hits[0].record_id == BIRTH_ID
    assert hits[0].dossier_code == BIRTH_CODE
    assert SIMILAR_ID not in _ids(hits)
    assert LAND_ID in _ids(hits)  # mentions the code in its text, ranked after the owner


def test_partial_dossier_code_prefix(catalog: Catalog) -> None:
    ids = _ids(catalog.search("H56-231027"))
    assert {BIRTH_ID, SIMILAR_ID} <= set(ids)
    assert MARRIAGE_ID not in ids
    assert _ids(catalog.search("h21.65-2209")) == [LAND_ID]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('a" OR "b', []),
        ('duc" OR "tuan', []),  # as FTS5 syntax: both records; as words: no record has both
        ("duc OR tuan", []),
        ("NOT duc", []),
        ("NEAR(", []),
        ("*", []),
        ("-x", [MARRIAGE_ID]),  # the word "x" (of "X-1"), not FTS5's NOT
        ("col:val", []),
        ('"""', []),
        ("dang OR", []),  # as syntax, a dangling OR is an error; as words "or" is in no text
        ("body:dang", []),  # not a column filter: "body dang" is a phrase no text holds
        (")", []),
    ],
)
def test_injection_strings_are_searched_as_plain_words(
    catalog: Catalog, query: str, expected: list[str]
) -> None:
    assert _ids(catalog.search(query)) == expected
    assert _ids(catalog.search("duc")) == [BIRTH_ID]  # and the catalog still answers
    assert _ids(catalog.search("tuan")) == [MARRIAGE_ID]


def test_snippet_shows_original_diacritics(catalog: Catalog) -> None:
    hit = catalog.search("dang ky khai sinh")[0]
    assert "«ĐĂNG KÝ KHAI SINH»" in hit.snippet
    hit = catalog.search("nguyen thi lan")[0]
    assert hit.record_id == LAND_ID
    assert "«Nguyễn Thị Lan»" in hit.snippet


def test_search_no_match_and_paging(catalog: Catalog) -> None:
    assert catalog.search("khongcotu") == []
    assert catalog.search("   ") == []
    first, second = catalog.search("thi", limit=1), catalog.search("thi", limit=1, offset=1)
    assert len(first) == len(second) == 1
    assert first[0].record_id != second[0].record_id


def test_like_fallback_search(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path / 'plain.sqlite'}", fulltext=False)
    _add(cat, make_manifest(BIRTH_ID, dossier_code=BIRTH_CODE, text=BIRTH_TEXT))
    _add(cat, make_manifest(SIMILAR_ID, dossier_code=SIMILAR_CODE, text="Phiếu"))
    assert _ids(cat.search("dang ky khai sinh")) == [BIRTH_ID]
    assert _ids(cat.search(BIRTH_CODE))[0] == BIRTH_ID
    assert cat.search('a" OR "b') == []
    cat.close()


# --- catalog: records and batches ------------------------------------------------------------


@SQLITE_ONLY
def test_add_record_twice_keeps_one_row_and_one_fts_row(catalog: Catalog) -> None:
    updated = make_manifest(BIRTH_ID, dossier_code=BIRTH_CODE, text="Giấy khai sinh bản sao")
    _add(catalog, updated)
    _add(catalog, updated)
    with sqlite3.connect(_db_path(catalog)) as connection:
        rows = connection.execute("SELECT count(*) FROM records WHERE id = ?", (BIRTH_ID,))
        assert rows.fetchone()[0] == 1
        fts = connection.execute(
            "SELECT count(*) FROM records_fts WHERE record_id = ?", (BIRTH_ID,)
        )
        assert fts.fetchone()[0] == 1
        total = connection.execute("SELECT count(*) FROM records_fts").fetchone()[0]
    assert total == catalog.count_records() == 4
    assert catalog.search("dang ky khai sinh") == []  # old text left the index
    assert _ids(catalog.search("ban sao")) == [BIRTH_ID]


def test_add_record_archives_its_batch(catalog: Catalog) -> None:
    manifest = make_manifest(_sha("new"), dossier_code="N-1", text="x", batch_id="b" * 64)
    catalog.upsert_batch("b" * 64, status="running", file_count=2, unit="H56")
    _add(catalog, manifest)
    batch = catalog.get_batch("b" * 64)
    assert batch is not None
    assert (batch.status, batch.file_count, batch.dossier_code) == ("archived", 1, "N-1")
    assert batch.created_at.tzinfo is not None
    assert [r.id for r in catalog.find_records_for_batch("b" * 64)] == [manifest.record_id]


def test_upsert_batch_keeps_facts_on_status_change(catalog: Catalog) -> None:
    catalog.upsert_batch("c" * 64, status="received", file_count=3, unit="H56", kind="ket-qua")
    catalog.upsert_batch("c" * 64, status="failed", reason="OCR timeout")
    batch = catalog.get_batch("c" * 64)
    assert batch is not None
    assert (batch.status, batch.reason, batch.file_count, batch.kind) == (
        "failed",
        "OCR timeout",
        3,
        "ket-qua",
    )
    assert catalog.get_batch("missing") is None


def test_get_record_by_id_and_prefix(catalog: Catalog) -> None:
    record = catalog.get_record(BIRTH_ID[:8])
    assert record.id == BIRTH_ID
    assert record.dossier_code == BIRTH_CODE
    assert record.fields == {"applicant_name": "Đặng Văn Đức"}
    assert record.created_at == datetime(2024, 5, 1, 8, 1, tzinfo=UTC)
    assert record.to_view().pages == 1
    assert catalog.get_record(BIRTH_ID) == record
    assert catalog.get_text(BIRTH_ID) == BIRTH_TEXT


def test_get_record_missing_or_short_prefix(catalog: Catalog) -> None:
    with pytest.raises(NotFoundError):
        catalog.get_record("0" * 64)
    with pytest.raises(NotFoundError):
        catalog.get_record(BIRTH_ID[:7])  # too short to be a prefix
    with pytest.raises(NotFoundError):
        catalog.get_record("%%%%%%%%%%")  # LIKE wildcards are escaped


def test_list_delete_and_count(catalog: Catalog) -> None:
    assert [r.id for r in catalog.list_records()] == [MARRIAGE_ID, SIMILAR_ID, LAND_ID, BIRTH_ID]
    assert len(catalog.list_records(limit=2)) == 2
    catalog.delete_record(MARRIAGE_ID)
    assert catalog.count_records() == 3
    assert catalog.search("tuan") == []
    with pytest.raises(NotFoundError):
        catalog.delete_record(MARRIAGE_ID)


@SQLITE_ONLY
def test_reopen_keeps_data_and_uses_wal(catalog: Catalog) -> None:
    with Catalog(catalog.url) as again:
        assert again.count_records() == 4
        assert _ids(again.search("duc")) == [BIRTH_ID]
    with sqlite3.connect(_db_path(catalog)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path / 'busy.sqlite'}")
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(10):
                rid = _sha(f"w{worker}-{i}")
                _add(cat, make_manifest(rid, dossier_code=f"C-{worker}-{i}", text="Hồ sơ đất"))
                cat.search("ho so dat", limit=5)
                cat.upsert_batch(_sha(f"b{worker}-{i}"), status="running")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cat.count_records() == 60
    cat.close()


# --- catalog: failures -----------------------------------------------------------------------


def test_corrupt_database_file_gives_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(os.urandom(8192))
    with pytest.raises(StorageError) as caught:
        Catalog(f"sqlite:///{path}")
    assert caught.value.params["operation"] == "catalog"


def test_catalog_under_a_file_gives_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StorageError):
        Catalog(f"sqlite:///{blocker / 'catalog.sqlite'}")


def test_read_only_database_gives_storage_error(tmp_path: Path) -> None:
    # Works as root too: SQLite itself refuses to create a database opened read-only.
    with pytest.raises(StorageError):
        Catalog(f"sqlite:///file:{tmp_path / 'missing.sqlite'}?mode=ro&uri=true")


OPEN_CATALOGS = """
import sys

from catalog.database import Catalog
from sohoa.errors import StorageError

for path in sys.argv[1:]:
    try:
        Catalog(f"sqlite:///{path}").close()
    except StorageError as exc:
        print(type(exc).__name__, exc.params.get("operation"))
    else:
        print("opened")
"""


def open_catalogs_bound_by_file_modes(*paths: Path) -> list[str]:
    """Open a catalog at each of ``paths`` in a child Python that file modes bind, even as root.

    Root writes anywhere because of two capabilities (CAP_DAC_OVERRIDE and
    CAP_DAC_READ_SEARCH); as root (how CI runs) the child is started by ``setpriv``
    without them in its bounding set, so it has neither after ``exec`` and meets a
    read-only directory as an ordinary account does. The same ``Catalog(...)`` call
    runs; each line of the answer is ``opened`` or the error's class and operation.
    """
    command = [sys.executable, "-c", OPEN_CATALOGS, *map(str, paths)]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run this test as root"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_read_only_directory_gives_storage_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        outcomes = open_catalogs_bound_by_file_modes(
            locked / "sub" / "catalog.sqlite",  # the folder cannot be made
            locked / "catalog.sqlite",  # the file cannot be made
            tmp_path / "writable" / "catalog.sqlite",  # the control: the same call works here
        )
    finally:
        locked.chmod(0o700)
    assert outcomes == ["StorageError catalog", "StorageError catalog", "opened"]
    assert not (locked / "sub").exists() and not (locked / "catalog.sqlite").exists()


def test_the_audit_trail_keeps_record_ids_whole_and_masks_id_numbers(tmp_path: Path):
    """About one hex record id in ten holds nine decimal digits in a row, which the ID-number
    mask turned into "f*********775c2ee35": the trail lost which record was viewed."""
    from catalog import audit

    cat = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    actor = audit.Actor(name="auditor", via="cli")
    audit.record(cat, actor, "record.view", target="f241168775c2ee35")
    audit.record(cat, actor, "batch.retry", target="27e26ae1b172ff23d342")
    audit.record(cat, actor, "search", target="CCCD 001087012345")
    targets = [e.target for e in reversed(audit.query(cat).entries)]
    assert targets[:2] == ["f241168775c2ee35", "27e26ae1b172ff23d342"]
    assert "001087012345" not in targets[2] and targets[2].endswith("345")
