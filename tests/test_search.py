"""Search with filters, totals and pages, on real SQLite files (catalog.search, catalog.database).

Auditors type names, ID numbers and dossier codes without diacritics and narrow
by unit, kind, status, procedure, lĩnh vực and ngày tiếp nhận; every test here
checks which records come back, in which order, and how many are counted.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from conftest import SQLITE_ONLY
from sqlalchemy import create_engine, text
from test_catalog import make_manifest

from catalog import search_index
from catalog.connection import parse
from catalog.database import Catalog, SearchFilters, SearchPage
from records.rebuild import build_catalog
from schemas.fields import FieldValue
from schemas.models import Manifest


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def record(
    name: str,
    *,
    code: str,
    text: str = "Tờ khai",
    unit: str = "H56.01",
    kind: str = "thanh-phan",
    status: str = "archived",
    received: str | None = None,
    minutes: int = 0,
    **fields: str,
) -> Manifest:
    """A manifest with the given key fields (``received`` is the received_date field)."""
    values = dict(fields, received_date=received) if received else fields
    evidence = tuple(
        FieldValue(name=k, value=v, confidence=0.9, method="label")  # type: ignore[arg-type]
        for k, v in values.items()
    )
    base = make_manifest(_sha(name), dossier_code=code, text=text, fields=evidence, minutes=minutes)
    return base.model_copy(update={"unit": unit, "kind": kind, "status": status})


def _add(catalog: Catalog, manifest: Manifest) -> None:
    catalog.add_record(
        manifest,
        manifest_key=f"records/{manifest.record_id}/manifest.json",
        manifest_sha256=_sha("m-" + manifest.record_id),
    )


RECORDS = [
    record(
        "dao",
        code="000.00.06.H56-231027-0361",
        text="GIẤY TIẾP NHẬN HỒ SƠ\nNgười nộp: Nguyễn Thị Hồng Đào\nĐăng ký khai sinh cho con",
        applicant_name="Nguyễn Thị Hồng Đào",
        id_number="045187002319",
        procedure_code="1.001193.000.00.00.H56",
        sector="Hộ tịch",
        received="2023-10-27",
    ),
    record(
        "duc",
        code="000.00.06.H56-231030-0007",
        text="QUYẾT ĐỊNH cấp giấy phép\nĐặng Văn Đức, thường trú tại Hải Lăng",
        unit="H56.02",
        kind="ket-qua",
        applicant_name="Đặng Văn Đức",
        id_number="045095001234",
        procedure_code="1.004082.000.00.00.H56",
        sector="Xây dựng",
        received="2023-10-30",
    ),
    record(
        "trang",
        code="H21.65-220914-0011",
        text="Đơn đăng ký biến động đất đai của bà Trần Thị Trang",
        status="needs_review",
        applicant_name="Trần Thị Trang",
        procedure_code="1.003003.000.00.00.H21",
        sector="Đất đai",
    ),  # no received_date: the date comes from the dossier code (2022-09-14)
    record(
        "tuan",
        code="X-1",
        text="Giấy chứng nhận kết hôn: Trần Minh Tuấn và Lê Thị Mai. Đăng ký kết hôn.",
        applicant_name="Trần Minh Tuấn",
        sector="Hộ tịch",
        procedure_code="1.000894",
        minutes=60 * 24 * 40 + 60 * 12,
    ),  # no date anywhere: archived 2024-06-10 20:00 UTC, i.e. 2024-06-11 in Vietnam
    record(
        "lan",
        code="000.00.06.H56-240105-0101",
        text="Tờ khai đăng ký khai sinh\nNgười đi khai: Nguyễn Thị Lan",
        applicant_name="Nguyễn Thị Lan",
        id_number="045301009999",
        procedure_code="1.001193.000.00.00.H56",
        sector="Tư pháp - Hộ tịch",
        received="2024-01-05",
    ),
]
DAO, DUC, TRANG, TUAN, LAN = (m.record_id for m in RECORDS)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """A catalog of the five records above (SQLite and PostgreSQL)."""
    cat = Catalog(catalog_url)
    for manifest in RECORDS:
        _add(cat, manifest)
    yield cat
    cat.close()


def ids(page: SearchPage) -> list[str]:
    return [hit.record_id for hit in page.hits]


# --- filters -------------------------------------------------------------------------------


def test_filter_by_one_unit_or_several(catalog: Catalog) -> None:
    assert set(ids(catalog.find("", filters=SearchFilters(unit="H56.02")))) == {DUC}
    both = catalog.find("", filters=SearchFilters(unit=["H56.02", "H56.01"]))
    assert set(ids(both)) == {DAO, DUC, TRANG, TUAN, LAN}
    assert ids(catalog.find("duc", filters=SearchFilters(unit="H56.01"))) == []
    assert ids(catalog.find("duc", filters=SearchFilters(unit=("H56.02",)))) == [DUC]


def test_filter_by_kind_and_status(catalog: Catalog) -> None:
    assert ids(catalog.find("", filters=SearchFilters(kind="ket-qua"))) == [DUC]
    assert ids(catalog.find("", filters=SearchFilters(status="needs_review"))) == [TRANG]
    assert ids(catalog.find("trang", filters=SearchFilters(status="archived"))) == []
    assert DUC not in ids(catalog.find("dang", filters=SearchFilters(kind="thanh-phan")))


def test_filter_by_procedure_code_or_its_national_prefix(catalog: Catalog) -> None:
    full = SearchFilters(procedure_code="1.001193.000.00.00.H56")
    assert set(ids(catalog.find("", filters=full))) == {DAO, LAN}
    base = SearchFilters(procedure_code="1.001193")
    assert set(ids(catalog.find("", filters=base))) == {DAO, LAN}
    assert set(ids(catalog.find("khai sinh", filters=base))) == {DAO, LAN}
    for partial in ("1.0011", "1"):  # not whole groups, or a single group: no match
        assert ids(catalog.find("", filters=SearchFilters(procedure_code=partial))) == []
        assert ids(catalog.find("khai sinh", filters=SearchFilters(procedure_code=partial))) == []
    assert ids(catalog.find("", filters=SearchFilters(procedure_code="1.000894"))) == [TUAN]


def test_filter_by_sector_ignores_case_and_diacritics(catalog: Catalog) -> None:
    for typed in ("Hộ tịch", "ho tich", "HO TICH"):
        assert set(ids(catalog.find("", filters=SearchFilters(sector=typed)))) == {DAO, TUAN}
    assert ids(catalog.find("", filters=SearchFilters(sector="tu phap - ho tich"))) == [LAN]
    assert ids(catalog.find("tran", filters=SearchFilters(sector="dat dai"))) == [TRANG]


def test_date_range_is_on_the_received_date(catalog: Catalog) -> None:
    october = SearchFilters(date_from=date(2023, 10, 1), date_to=date(2023, 10, 31))
    assert ids(catalog.find("", filters=october)) == [DUC, DAO]  # newest first
    one_day = SearchFilters(date_from=date(2023, 10, 27), date_to=date(2023, 10, 27))
    assert ids(catalog.find("", filters=one_day)) == [DAO]
    from_code = SearchFilters(date_from=date(2022, 9, 14), date_to=date(2022, 9, 14))
    assert ids(catalog.find("", filters=from_code)) == [TRANG]
    assert ids(catalog.find("", filters=SearchFilters(date_from=date(2024, 6, 11)))) == [TUAN]
    assert TUAN not in ids(catalog.find("", filters=SearchFilters(date_to=date(2024, 6, 10))))
    before = SearchFilters(date_to=date(2022, 12, 31))
    assert ids(catalog.find("", filters=before)) == [TRANG]
    assert catalog.get_record(TUAN).created_at.date() == date(2024, 6, 10)  # UTC


def test_combined_filters_all_must_hold(catalog: Catalog) -> None:
    narrow = SearchFilters(unit="H56.01", kind="thanh-phan", date_from=date(2024, 1, 1))
    assert ids(catalog.find("", filters=narrow)) == [TUAN, LAN]
    with_sector = SearchFilters(
        unit="H56.01", kind="thanh-phan", sector="ho tich", date_from=date(2024, 1, 1)
    )
    assert ids(catalog.find("", filters=with_sector)) == [TUAN]
    assert ids(catalog.find("khai sinh", filters=with_sector)) == []
    assert ids(catalog.find("khai sinh", filters=narrow)) == [LAN]
    assert ids(catalog.find("nguyen", filters=narrow)) == [LAN]
    assert ids(catalog.find("nguyen thi hong dao", filters=narrow)) == []


def test_filters_apply_to_exact_matches_too(catalog: Catalog) -> None:
    code = "000.00.06.H56-231027-0361"
    assert ids(catalog.find(code))[0] == DAO
    assert DAO not in ids(catalog.find(code, filters=SearchFilters(unit="H56.02")))
    assert ids(catalog.find("045187002319", filters=SearchFilters(kind="ket-qua"))) == []


# --- what the query finds ----------------------------------------------------------------


def test_names_without_diacritics_and_d_for_d_with_stroke(catalog: Catalog) -> None:
    page = catalog.find("nguyen thi hong dao")
    assert ids(page) == [DAO]
    assert page.hits[0].score == 0.0  # the applicant's name, equal to the query
    assert page.hits[0].applicant_name == "Nguyễn Thị Hồng Đào"
    assert "«Nguyễn Thị Hồng Đào»" in page.hits[0].snippet
    assert ids(catalog.find("dang van duc")) == [DUC]


def test_dang_lists_people_named_dang_before_texts_saying_dang_ky(catalog: Catalog) -> None:
    page = catalog.find("dang")
    assert ids(page)[0] == DUC
    assert page.hits[0].score == 1.0  # found in the key fields
    assert {DAO, TRANG, TUAN, LAN} <= set(ids(page))  # "đăng ký" in their text
    assert all(hit.score == 2.0 for hit in page.hits[1:])


def test_id_number_typed_with_spaces_dots_or_partially(catalog: Catalog) -> None:
    for typed in ("045187002319", "045 187 002 319", "045.187.002.319", "0451 8700 2319"):
        page = catalog.find(typed)
        assert ids(page) == [DAO], typed
        assert page.hits[0].score == 0.0
    assert ids(catalog.find("0451870")) == [DAO]  # the start of a number: type-ahead
    assert set(ids(catalog.find("0453"))) == {LAN}
    assert ids(catalog.find("045")) == []  # three digits are not completed


def test_dossier_code_with_or_without_separators(catalog: Catalog) -> None:
    for typed in ("000.00.06.H56-231027-0361", "0000006h562310270361", "000 00 06 h56 231027 0361"):
        assert ids(catalog.find(typed))[0] == DAO, typed
    assert set(ids(catalog.find("H56-2310"))) == {DAO, DUC}  # partial code: type-ahead


def test_last_word_completed_only_when_not_a_whole_word(catalog: Catalog) -> None:
    assert ids(catalog.find("tran")) == [TUAN, TRANG]  # Trần, not Trang (plus text mentions)
    assert TRANG in ids(catalog.find("tra"))  # not a whole word: completed to Trần and Trang
    assert ids(catalog.find("tran trang")) == [TRANG]


def test_exact_code_then_id_then_name_then_key_fields_then_text(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    owner = record("owner", code="C-9", text="x", received="2020-01-01")
    mention = record("mention", code="M-1", text="Xem hồ sơ C-9.", received="2024-01-01")
    for manifest in (mention, owner):
        _add(cat, manifest)
    assert ids(cat.find("C-9")) == [owner.record_id, mention.record_id]
    assert [h.score for h in cat.find("C-9").hits] == [0.0, 2.0]
    cat.close()


# --- totals and pages ----------------------------------------------------------------------


def test_pages_do_not_overlap_and_keep_their_order(catalog: Catalog) -> None:
    for query in ("dang", "", "thi"):
        whole = ids(catalog.find(query, limit=50))
        assert len(whole) == len(set(whole)) >= 3
        pages = [ids(catalog.find(query, limit=2, offset=o)) for o in range(0, len(whole), 2)]
        assert [i for page in pages for i in page] == whole
        assert ids(catalog.find(query, limit=50)) == whole  # the same order every time


def test_totals_are_exact_below_the_cap(catalog: Catalog) -> None:
    page = catalog.find("dang", limit=2)
    assert (page.total, page.total_is_exact, len(page.hits), page.has_more) == (5, True, 2, True)
    last = catalog.find("dang", limit=2, offset=4)
    assert (len(last.hits), last.has_more) == (1, False)
    assert catalog.find("", filters=SearchFilters(unit="H56.02")).total == 1
    nothing = catalog.find("khongcotu")
    assert (nothing.total, nothing.total_is_exact, nothing.hits) == (0, True, ())


def test_a_query_slow_to_start_still_counts_a_few_hits_exactly(
    catalog: Catalog, monkeypatch
) -> None:
    """The counting budget starts once the page is full, not with the query.

    On a loaded machine (CI's PostgreSQL) a query slow to begin spent the whole
    budget before the first row came, and five hits read as "3+".
    """
    from catalog import search

    def slow(real):
        def wrapped(*args, **kwargs):
            time.sleep(0.6)
            return real(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(search, "TEXT_COUNT_BUDGET_S", 0.5)
    monkeypatch.setattr(search, "_PROGRESS_STEPS", 1)  # look at the clock at every step
    monkeypatch.setattr(search, "_newest_first", slow(search._newest_first))
    monkeypatch.setattr(search, "_pg_newest_first", slow(search._pg_newest_first))
    page = catalog.find("dang", limit=2)
    assert (page.total, page.total_is_exact, len(page.hits)) == (5, True, 2)


def test_a_text_count_out_of_time_is_a_lower_bound_and_the_page_is_still_full(
    catalog: Catalog, monkeypatch
) -> None:
    """With no time left, tier 2 stops once the page is full: "N+" and a next page."""
    from catalog import search

    exact = catalog.find("ky", limit=50)  # "đăng ký" is in the OCR text only: tier 2
    assert exact.total_is_exact and exact.total >= 3
    monkeypatch.setattr(search, "TEXT_COUNT_BUDGET_S", 0.0)
    monkeypatch.setattr(search, "_PROGRESS_STEPS", 1)  # look at the clock at every step
    first = catalog.find("ky", limit=1)
    assert not first.total_is_exact and first.has_more
    assert 1 <= len(first.hits) and first.total < exact.total
    assert ids(first) == ids(exact)[:1]  # the same first record, read sooner
    pages = [ids(catalog.find("ky", limit=1, offset=o)) for o in range(exact.total)]
    assert [i for page in pages for i in page] == ids(exact)  # later pages read further
    monkeypatch.setattr(search, "TEXT_COUNT_BUDGET_S", 10.0)
    assert catalog.find("ky", limit=1).total_is_exact  # time enough: counted to the end


def test_totals_and_pages_stop_at_the_cap(catalog: Catalog) -> None:
    page = catalog.find("dang", cap=3, limit=10)
    assert (page.total, page.total_is_exact, len(page.hits)) == (3, False, 3)
    assert (catalog.find("dang", cap=6).total, catalog.find("dang", cap=6).total_is_exact) == (
        5,
        True,
    )
    assert catalog.find("dang", cap=5).total_is_exact is False  # counting stopped at the cap
    assert catalog.find("dang", cap=3, offset=3).hits == ()
    browse = catalog.find("", cap=3, limit=10)  # browsing counts up to the cap, pages on
    assert (browse.total, browse.total_is_exact, len(browse.hits)) == (3, False, 5)


def test_browse_newest_first_by_received_date(catalog: Catalog) -> None:
    assert ids(catalog.find("")) == [TUAN, LAN, DUC, DAO, TRANG]
    hits = catalog.find("", filters=SearchFilters(unit="H56.01")).hits
    assert [h.received_on for h in hits] == sorted((h.received_on for h in hits), reverse=True)
    assert hits[0].snippet.startswith("Giấy chứng nhận kết hôn")


def test_search_keeps_its_old_signature(catalog: Catalog) -> None:
    assert [h.record_id for h in catalog.search("nguyen thi hong dao")] == [DAO]
    assert catalog.search("") == [] and catalog.search("***") == []
    assert len(catalog.search("dang", limit=2, offset=1)) == 2


def test_like_fallback_has_the_same_filters_and_exact_matches(tmp_path: Path) -> None:
    cat = Catalog(f"sqlite:///{tmp_path / 'plain.sqlite'}", fulltext=False)
    for manifest in RECORDS:
        _add(cat, manifest)
    assert ids(cat.find("045 187 002 319")) == [DAO]
    assert ids(cat.find("dang", filters=SearchFilters(kind="ket-qua"))) == [DUC]
    assert ids(cat.find("", filters=SearchFilters(sector="ho tich"))) == [TUAN, DAO]
    with sqlite3.connect(tmp_path / "plain.sqlite") as db:
        fts = db.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            " AND (name LIKE '%fts%' OR sql LIKE '%VIRTUAL TABLE%')"
        ).fetchone()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    cat.close()
    assert fts == (0,)  # the fallback has no FTS5 table at all, so LIKE found those hits
    assert "records" in tables  # ... though the catalog itself is there


# --- keeping the index current -------------------------------------------------------------


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        rows = db.execute(sql).fetchall()
    db.close()
    return rows


def _index_rows(catalog: Catalog) -> list[int]:
    """Rows of the word index per table: FTS5's two tables, or PostgreSQL's one."""
    tables = ("records_fts", "keys_fts") if catalog.url.startswith("sqlite") else ("search_words",)
    engine = create_engine(parse(catalog.url))
    try:
        with engine.connect() as connection:
            return [connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables]
    finally:
        engine.dispose()


def test_a_changed_received_date_moves_the_record_and_its_index_rows(catalog: Catalog) -> None:
    moved = record(
        "dao",
        code="000.00.06.H56-231027-0361",
        text="Nguyễn Thị Hồng Đào",
        applicant_name="Nguyễn Thị Hồng Đào",
        received="2023-11-02",
    )
    _add(catalog, moved)
    later = catalog.find("", filters=SearchFilters(date_from=date(2023, 11, 2)))
    assert ids(later) == [TUAN, LAN, DAO]
    assert DAO not in ids(catalog.find("", filters=SearchFilters(date_to=date(2023, 10, 31))))
    assert set(_index_rows(catalog)) == {5}  # replaced, not added
    assert ids(catalog.find("hong dao")) == [DAO]
    catalog.delete_record(DAO)
    assert set(_index_rows(catalog)) == {4}
    assert catalog.find("hong dao").total == 0


def test_records_with_the_same_key_get_the_next_free_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_index, "sort_key", lambda *_: 1 << 40)
    cat = Catalog(f"sqlite:///{tmp_path / 'c.sqlite'}")
    for manifest in RECORDS[:3]:
        _add(cat, manifest)
    _add(cat, RECORDS[0])  # replaced in place: keeps its own key
    keys = _rows(tmp_path / "c.sqlite", "SELECT id, fts_rowid FROM records")
    assert sorted(k for _, k in keys) == [1 << 40, (1 << 40) + 1, (1 << 40) + 2]
    assert dict(keys)[DAO] == 1 << 40
    assert ids(cat.find("045187002319")) == [DAO]
    assert ids(cat.find("dang")) == [DUC, TRANG, DAO]  # key fields, then text, newest first
    cat.close()


@SQLITE_ONLY
def test_an_up_to_date_catalog_is_searched_without_writing(catalog: Catalog) -> None:
    path = catalog.url.removeprefix("sqlite:///")
    catalog.close()
    with Catalog(f"sqlite:///file:{path}?mode=ro&uri=true") as read_only:
        assert ids(read_only.find("nguyen thi hong dao")) == [DAO]
        assert read_only.find("", filters=SearchFilters(unit="H56.02")).total == 1


@SQLITE_ONLY
def test_rebuild_writes_the_same_search_columns_and_index(catalog: Catalog, tmp_path: Path) -> None:
    rebuilt = tmp_path / "rebuilt.sqlite"
    entries = [
        (m, f"records/{m.record_id}/manifest.json", _sha("m-" + m.record_id))
        for m in reversed(RECORDS)
    ]
    assert build_catalog(f"sqlite:///{rebuilt}", entries)[0] == 5
    original = Path(catalog.url.removeprefix("sqlite:///"))
    for sql in (
        "SELECT * FROM records ORDER BY id",
        "SELECT rowid, * FROM records_fts ORDER BY rowid",
        "SELECT rowid, * FROM keys_fts ORDER BY rowid",
    ):
        assert _rows(rebuilt, sql) == _rows(original, sql)
    sql = "SELECT code_key, id_number, name_key, sector, received_on FROM records WHERE id = "
    columns = _rows(rebuilt, f"{sql}'{DAO}'")
    assert columns == [
        ("0000006h562310270361", "045187002319", "nguyen thi hong dao", "ho tich", "2023-10-27")
    ]


OLD_SCHEMA = """
CREATE TABLE batches (id VARCHAR(128) NOT NULL, status VARCHAR(32) NOT NULL, reason TEXT,
    file_count INTEGER NOT NULL, page_count INTEGER NOT NULL, created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL, unit VARCHAR(64), kind VARCHAR(32), dossier_code VARCHAR(255),
    PRIMARY KEY (id));
CREATE TABLE records (id VARCHAR(128) NOT NULL, batch_id VARCHAR(128) NOT NULL,
    dossier_code VARCHAR(255) NOT NULL, kind VARCHAR(32) NOT NULL, unit VARCHAR(64) NOT NULL,
    status VARCHAR(32) NOT NULL, page_count INTEGER NOT NULL, mean_confidence DOUBLE NOT NULL,
    pdf_key TEXT NOT NULL, pdf_sha256 VARCHAR(64) NOT NULL, manifest_key TEXT NOT NULL,
    manifest_sha256 VARCHAR(64) NOT NULL, signer TEXT NOT NULL, created_at DATETIME NOT NULL,
    fields_json TEXT DEFAULT '{}' NOT NULL, text TEXT NOT NULL, fts_rowid INTEGER, folded TEXT,
    review_json TEXT DEFAULT '[]' NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(batch_id) REFERENCES batches (id));
CREATE INDEX ix_records_unit ON records (unit);
CREATE VIRTUAL TABLE records_fts USING fts5(record_id UNINDEXED, dossier_code, body,
    tokenize = 'unicode61 remove_diacritics 2');
"""
"""The catalog layout of sohoa before search filters (one FTS5 table, no search columns)."""


def _old_catalog(path: Path) -> None:
    """Write RECORDS the way the previous sohoa did: FTS rowids 1, 2, ... kept on the row."""
    from catalog.database import record_values
    from sohoa.textfold import fold

    definition = OLD_SCHEMA.split("CREATE TABLE records (")[1].split("PRIMARY KEY")[0]
    old_columns = [c.split()[0] for c in definition.split(",") if c.strip()]
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        for rowid, m in enumerate(RECORDS, start=1):
            values = record_values(
                m, f"records/{m.record_id}/manifest.json", "0" * 64, fulltext=True
            )
            values["created_at"] = m.created_at.replace(tzinfo=None).isoformat(" ", "microseconds")
            values["fts_rowid"] = rowid
            stamp = values["created_at"]
            db.execute(
                "INSERT INTO batches VALUES (?, 'archived', NULL, 1, 1, ?, ?, ?, ?, ?)",
                (m.batch_id, stamp, stamp, m.unit, m.kind, m.dossier_code),
            )
            marks = ", ".join("?" * len(old_columns))
            db.execute(
                f"INSERT INTO records ({', '.join(old_columns)}) VALUES ({marks})",
                [values[c] for c in old_columns],
            )
            db.execute(
                "INSERT INTO records_fts (rowid, record_id, dossier_code, body) VALUES (?, ?, ?, ?)",
                (rowid, m.record_id, fold(values["dossier_code"]), fold(values["text"])),
            )
    db.close()


def test_an_old_catalog_is_upgraded_on_first_search(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _old_catalog(path)
    cat = Catalog(f"sqlite:///{path}")
    ddl = "SELECT sql FROM sqlite_master WHERE name = 'records_fts'"
    assert "tags" not in _rows(path, ddl)[0][0]  # opening adds columns, nothing more
    assert _rows(path, "SELECT count(*) FROM records WHERE code_key IS NULL") == [(5,)]
    assert ids(cat.find("045 187 002 319")) == [DAO]
    assert "tags" in _rows(path, ddl)[0][0]
    assert _rows(path, "SELECT count(*) FROM keys_fts") == [(5,)]
    assert _rows(path, "SELECT count(*) FROM records WHERE code_key IS NULL") == [(0,)]
    assert ids(cat.find("dang"))[0] == DUC
    assert set(ids(cat.find("", filters=SearchFilters(sector="ho tich")))) == {DAO, TUAN}
    assert ids(cat.find("", filters=SearchFilters(procedure_code="1.004082"))) == [DUC]
    assert cat.get_record(DAO).fields["applicant_name"] == "Nguyễn Thị Hồng Đào"
    assert _rows(path, "SELECT name FROM sqlite_master WHERE name = 'ix_records_unit'")
    cat.close()
    fresh = tmp_path / "fresh.sqlite"
    with Catalog(f"sqlite:///{fresh}") as new:
        for manifest in RECORDS:
            _add(new, manifest)
    for sql in (
        (
            "SELECT id, code_key, id_number, name_key, procedure_code, sector, received_on, "
            "fts_rowid FROM records ORDER BY id"
        ),
        "SELECT rowid, * FROM records_fts ORDER BY rowid",
        "SELECT rowid, * FROM keys_fts ORDER BY rowid",
    ):
        assert _rows(path, sql) == _rows(fresh, sql)


def test_an_old_catalog_is_upgraded_before_a_write(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _old_catalog(path)
    with Catalog(f"sqlite:///{path}") as cat:
        _add(cat, record("new", code="N-1", text="Hồ sơ mới", applicant_name="Võ Thị Sáu"))
        assert ids(cat.find("vo thi sau")) == [_sha("new")]
        assert cat.find("").total == 6
    assert _rows(path, "SELECT count(*) FROM records_fts") == [(6,)]
