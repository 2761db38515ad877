"""Search by a person, whatever their role, and hits that say whom they are about (issue 18).

A dossier names several people (the applicant, the child, both parents, the signer);
an auditor types one of their names without diacritics, or an ID number, and must find
the record and see "Lê Văn Tám (cha)". Every test runs on SQLite and PostgreSQL; the
records' OCR text never holds the people searched, so only the people index finds them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Cli
from sqlalchemy import MetaData as ReflectedTables
from sqlalchemy import func, insert, select, text
from test_search import record

from catalog import schema, search_index
from catalog.connection import make_engine
from catalog.database import Catalog, record_values
from catalog.rows import PersonMatch
from catalog.tables import RecordPersonTable
from records.rebuild import rebuild_catalog
from schemas.fields import Person
from schemas.models import Manifest
from storage.localstore import LocalObjectStore
from storage.object_keys import manifest_key

FATHER_ID = "045087001234"
BIRTH = record(
    "birth",
    code="000.00.06.H56-231027-0361",
    text="TỜ KHAI ĐĂNG KÝ KHAI SINH\nNgười đi khai: Nguyễn Thị Hồng Đào",
    applicant_name="Nguyễn Thị Hồng Đào",
    id_number="045187002319",
    received="2023-10-27",
).model_copy(
    update={
        "persons": (
            Person(role="applicant", name="Nguyễn Thị Hồng Đào", id_number="045187002319"),
            Person(role="subject", name="Nguyễn Minh Khang", birth_date="2023-10-20", page=1),
            Person(role="father", name="Lê Văn Tám", id_number=FATHER_ID, page=1),
            Person(role="mother", name="Nguyễn Thị Hồng Đào", birth_year=1996, page=1),
        )
    }
)
TWO_APPLICANTS = record(
    "two",
    code="000.00.06.H56-231031-0012",
    text="GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ\nĐăng ký khai sinh",
    applicant_name="Nguyễn Thị Hồng Đào",
    received="2023-10-31",
).model_copy(
    update={
        "persons": (
            Person(role="applicant", name="Nguyễn Thị Hồng Đào", page=0),
            Person(role="applicant", name="Trần Văn Hưởng", page=0),
        )
    }
)
TEXT_ONLY = record(
    "text",
    code="000.00.06.H56-240105-0101",
    text="Biên bản: ông Lê Văn Tám có mặt tại trụ sở",
    applicant_name="Phạm Thị Lan",
    received="2024-01-05",
)  # names Lê Văn Tám in its text only: found after the records that name him as a person
MANIFESTS = (BIRTH, TWO_APPLICANTS, TEXT_ONLY)


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _add(catalog: Catalog, manifest: Manifest) -> None:
    key = f"records/{manifest.record_id}/manifest.json"
    catalog.add_record(manifest, manifest_key=key, manifest_sha256=_sha(key))


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    cat = Catalog(catalog_url)
    for manifest in MANIFESTS:
        _add(cat, manifest)
    yield cat
    cat.close()


def _found(catalog: Catalog, query: str) -> list[tuple[str, float, tuple[PersonMatch, ...]]]:
    return [(h.record_id, h.score, h.people) for h in catalog.find(query).hits]


FATHER = PersonMatch(role="father", name="Lê Văn Tám")


def test_a_father_is_found_by_his_name_without_diacritics_and_by_his_id(catalog: Catalog) -> None:
    assert _found(catalog, "le van tam") == [
        (BIRTH.record_id, 0.0, (FATHER,)),  # his full name: an exact match, says "father"
        (TEXT_ONLY.record_id, 2.0, ()),  # the text only
    ]
    assert _found(catalog, "045 087 001 234") == [(BIRTH.record_id, 0.0, (FATHER,))]
    assert _found(catalog, FATHER_ID) == [(BIRTH.record_id, 0.0, (FATHER,))]


def test_a_persons_name_words_match_the_key_fields(catalog: Catalog) -> None:
    """One word of a name, or a name typed partly: the key-field tier, before the text."""
    assert _found(catalog, "tam")[0] == (BIRTH.record_id, 1.0, (FATHER,))
    assert _found(catalog, "minh khan")[0] == (  # "khan" completed: Khang
        BIRTH.record_id,
        1.0,
        (PersonMatch("subject", "Nguyễn Minh Khang"),),
    )
    khang = _found(catalog, "Minh Khang")
    assert khang == [(BIRTH.record_id, 1.0, (PersonMatch("subject", "Nguyễn Minh Khang"),))]


def test_a_record_with_two_applicants_is_found_by_either(catalog: Catalog) -> None:
    huong = PersonMatch(role="applicant", name="Trần Văn Hưởng")
    assert _found(catalog, "tran van huong") == [(TWO_APPLICANTS.record_id, 0.0, (huong,))]
    dao = _found(catalog, "Nguyễn Thị Hồng Đào")
    assert [(r, s) for r, s, _ in dao] == [
        (TWO_APPLICANTS.record_id, 0.0),  # newest first within the tier
        (BIRTH.record_id, 0.0),
    ]
    assert dao[0][2] == (PersonMatch("applicant", "Nguyễn Thị Hồng Đào"),)
    assert dao[1][2] == (  # one woman, two roles: both said
        PersonMatch("applicant", "Nguyễn Thị Hồng Đào"),
        PersonMatch("mother", "Nguyễn Thị Hồng Đào"),
    )


def test_an_exact_dossier_code_still_ranks_first(catalog: Catalog) -> None:
    """A newer record whose person has the code's letters and digits as an ID number
    (a passport number, say) comes after the record whose dossier code it is."""
    code = "H21.65-220914-0011"
    owner = record("owner", code=code, text="Đơn", applicant_name="Võ Văn Ba")
    lookalike = record(
        "lookalike",
        code="000.00.06.H56-250101-0001",
        text="Tờ khai",
        applicant_name="Hồ Thị Năm",
        received="2025-01-01",
    ).model_copy(
        update={"persons": (Person(role="other", name="Hồ Văn Sáu", id_number="H2165220914 0011"),)}
    )
    _add(catalog, owner)
    _add(catalog, lookalike)
    found = _found(catalog, code)
    assert [(r, s) for r, s, _ in found] == [(owner.record_id, 0.0), (lookalike.record_id, 0.0)]
    assert found[1][2] == (PersonMatch("other", "Hồ Văn Sáu"),)


def test_persons_follow_a_record_replaced_and_go_with_it_deleted(catalog: Catalog) -> None:
    """A review correction or a new version writes the record again: its people are
    replaced, not added to; deleting the record deletes them."""
    corrected = BIRTH.model_copy(
        update={"persons": (Person(role="father", name="Lê Văn Tuấn", id_number=FATHER_ID),)}
    )
    _add(catalog, corrected)
    assert [r for r, _, _ in _found(catalog, "le van tam")] == [TEXT_ONLY.record_id]
    assert _found(catalog, "le van tuan") == [
        (BIRTH.record_id, 0.0, (PersonMatch("father", "Lê Văn Tuấn"),))
    ]
    catalog.delete_record(BIRTH.record_id)
    with catalog._read() as session:
        left = session.scalars(select(RecordPersonTable.record_id)).all()
    assert sorted(left) == [TWO_APPLICANTS.record_id] * 2
    assert _found(catalog, FATHER_ID) == []


def test_a_reindex_rebuilds_the_people_rows_and_runs_once(catalog: Catalog) -> None:
    """A catalog whose search columns are stale is re-indexed on first search: its people
    rows are refilled from ``persons_json``, and once done the index is current."""
    with catalog._write() as session:
        session.execute(text("UPDATE records SET code_key = NULL"))
        session.execute(text("DELETE FROM record_persons"))
    with Catalog(catalog.url) as again:
        assert _found(again, FATHER_ID) == [(BIRTH.record_id, 0.0, (FATHER,))]
        with again._read() as session:
            assert not search_index.index_stale(session, fulltext=True)
            rows = session.scalar(select(func.count()).select_from(RecordPersonTable))
    assert rows == 4 + 2


# --- the surfaces: CLI table and --json, web page and API -------------------------------------


def test_the_cli_says_whom_each_hit_is_about(catalog: Catalog, cli: Cli) -> None:
    env = {"SOHOA_CATALOG_URL": catalog.url}
    found = cli.json("search", "tran van huong", extra_env=env)
    assert [h["people"] for h in found["hits"]] == [
        [{"role": "applicant", "name": "Trần Văn Hưởng"}]
    ]
    table = cli("search", "le van tam", lang="vi", extra_env=env)
    assert table.returncode == 0, table.stderr
    assert "Lê Văn Tám (cha)" in table.stdout
    assert "Lê Văn Tám (father)" in cli("search", "le van tam", extra_env=env).stdout


# --- an old catalog, and a catalog rebuilt from the archive -----------------------------------


def _catalog_at_0005(url: str, manifests: tuple[Manifest, ...]) -> None:
    """A catalog as sohoa left it at revision 0005 (before people): its layout by that
    revision's migrations, its rows and word index written as that sohoa wrote them."""
    from alembic import command

    engine = make_engine(url)  # a SQLite file's folder made as the catalog makes it
    try:
        with engine.begin() as connection:
            command.upgrade(schema._config(connection), "0005")
        tables = ReflectedTables()
        tables.reflect(engine, only=["batches", "records"])
        records, batches = tables.tables["records"], tables.tables["batches"]
        assert "persons_json" not in records.c
        with engine.begin() as connection:
            postgres = connection.dialect.name == "postgresql"
            for ddl in search_index.WORDS_DDL if postgres else search_index.fts_ddl().values():
                connection.execute(text(ddl))
            for m in manifests:
                values = record_values(m, f"records/{m.record_id}.json", "0" * 64, fulltext=True)
                stamp = values["created_at"] = m.created_at.replace(tzinfo=None)  # UTC, naive
                connection.execute(
                    insert(batches).values(
                        id=m.batch_id, status="archived", file_count=1, page_count=1,
                        created_at=stamp, updated_at=stamp, unit=m.unit, kind=m.kind,
                    )
                )  # fmt: skip
                connection.execute(
                    insert(records).values({col.name: values[col.name] for col in records.columns})
                )
                entry = search_index.index_entry(
                    {k: v for k, v in values.items() if k != "persons_json"},
                    {f.name: f.value for f in m.fields},
                )
                _write_old_index(connection, postgres, values["fts_rowid"], entry)
    finally:
        engine.dispose()


def _write_old_index(connection, postgres: bool, key: int, entry: dict) -> None:
    if postgres:
        vectors = search_index.word_vectors(entry)
        sql = "INSERT INTO search_words VALUES (:key, CAST(:keys AS tsvector), CAST(:body AS tsvector))"
        connection.execute(text(sql), {"key": key, **vectors})
        return
    connection.execute(
        text("INSERT INTO records_fts (rowid, record_id, dossier_code, body, tags) VALUES (:key, :record_id, :dossier_code, :body, :tags)"),
        {"key": key, **entry},
    )  # fmt: skip
    connection.execute(
        text("INSERT INTO keys_fts (rowid, keys, tags) VALUES (:key, :keys, :tags)"),
        {"key": key, "keys": entry["keys"], "tags": entry["tags"]},
    )


def test_a_catalog_from_revision_0005_is_upgraded_and_searched_without_reindexing(
    catalog_url: str,
) -> None:
    old = record(
        "old",
        code="000.00.06.H56-220101-0001",
        text="Đơn đề nghị",
        applicant_name="Lê Văn Tám",
        id_number="045087009999",
    )
    _catalog_at_0005(catalog_url, (old,))
    with Catalog(catalog_url) as catalog:
        assert catalog.layout_revisions == ("0005", schema.head_revision())
        with catalog._read() as session:  # the upgrade left the word index current
            assert not search_index.index_stale(session, fulltext=True)
        assert _found(catalog, "le van tam") == [(old.record_id, 0.0, ())]  # applicant column
        assert _found(catalog, "045087009999") == [(old.record_id, 0.0, ())]
        _add(catalog, BIRTH)  # a new record, with people, in the upgraded catalog
        assert [(r, p) for r, _, p in _found(catalog, "le van tam")] == [
            (BIRTH.record_id, (FATHER,)),  # both tier 0: newest first inside the tier
            (old.record_id, ()),
        ]
        assert catalog.get_record(old.record_id).dossier_code == old.dossier_code
    with Catalog(catalog_url) as again:
        assert again.layout_revisions == (schema.head_revision(), schema.head_revision())
        assert _found(again, FATHER_ID) == [(BIRTH.record_id, 0.0, (FATHER,))]


def test_rebuilding_from_the_archive_keeps_every_person(catalog_url: str, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    for m in MANIFESTS:
        pdf = m.pdf.model_copy(update={"key": f"archive/{m.record_id}.pdf"})
        store.put_bytes(pdf.key, b"%PDF-1.7 stand-in: the rebuild checks it is there")
        archived = m.model_copy(update={"pdf": pdf}).model_dump_json().encode()
        store.put_bytes(manifest_key("archive", m.record_id), archived)
    report = rebuild_catalog(catalog_url, store=store)
    assert report.records == len(MANIFESTS)
    with Catalog(catalog_url) as rebuilt:
        assert _found(rebuilt, "le van tam")[0] == (BIRTH.record_id, 0.0, (FATHER,))
        assert _found(rebuilt, "tran van huong")[0][0] == TWO_APPLICANTS.record_id
        with rebuilt._read() as session:
            people = session.scalar(select(func.count()).select_from(RecordPersonTable))
    assert people == 4 + 2  # everyone with a name or an ID number


def test_the_web_page_and_the_api_say_whom_each_hit_is_about(
    catalog: Catalog, tmp_path: Path
) -> None:
    from webclient import TestClient, csrf_of

    from catalog.audit import Actor
    from schemas.settings import Settings
    from services import users
    from web.app import create_app

    settings = Settings(data_dir=tmp_path / "data", catalog_url=catalog.url)
    password = "mat-khau-du-dai-1"
    users.add_user(settings, "binh.audit", password, role="auditor", unit="", actor=Actor("root"))
    browser = TestClient(create_app(settings), follow_redirects=False)
    token = csrf_of(browser.get("/login").text)
    login = {"name": "binh.audit", "password": password, "csrf_token": token}
    assert browser.post("/login", data=login).status_code == 303
    page = browser.get("/search", params={"q": "le van tam", "lang": "vi"})
    assert page.status_code == 200
    cells = re.findall(r'data-testid="result-people">([^<]*)<', page.text)
    assert cells == ["Lê Văn Tám (cha)", ""]  # the text-only hit names nobody
    plain = browser.get("/search", params={"q": "bien ban"})
    assert "result-people" not in plain.text  # no column when no hit names anyone
    api = browser.get("/api/search", params={"q": "tran van huong", "lang": "en"})
    assert api.status_code == 200, api.text
    assert [h["people"] for h in api.json()["hits"]] == [
        [{"role": "applicant", "name": "Trần Văn Hưởng", "role_label": "applicant"}]
    ]


def test_a_corrected_applicant_is_the_person_search_finds(catalog_url: str, tmp_path: Path) -> None:
    """A clerk's correction of the flat applicant_name (or ID number) is the primary
    person's: search by the corrected name finds the record as its applicant, the name it
    replaces no longer does, and the other people stay as they were."""
    from records.review import correct_field
    from schemas.settings import FieldSettings

    store = LocalObjectStore(tmp_path / "store")
    key = manifest_key("archive", BIRTH.record_id)
    store.put_bytes(key, BIRTH.model_dump_json().encode())
    with Catalog(catalog_url) as cat:
        cat.add_record(BIRTH, manifest_key=key, manifest_sha256=_sha(key))
        fixed = correct_field(
            store=store,
            catalog=cat,
            settings=FieldSettings(),
            record_id=BIRTH.record_id,
            field="applicant_name",
            value="Nguyễn Thị Hồng Nhung",
            by="clerk",
            reason="bản gốc",
        )
        assert [(p.role, p.name) for p in fixed.persons][:2] == [
            ("applicant", "Nguyễn Thị Hồng Nhung"),
            ("subject", "Nguyễn Minh Khang"),
        ]
        assert fixed.persons[2:] == BIRTH.persons[2:]
        applicant = PersonMatch(role="applicant", name="Nguyễn Thị Hồng Nhung")
        assert _found(cat, "nguyen thi hong nhung") == [(BIRTH.record_id, 0.0, (applicant,))]
        still = _found(cat, "nguyen thi hong dao")  # the mother keeps her name
        assert still and still[0][2] == (PersonMatch(role="mother", name="Nguyễn Thị Hồng Đào"),)


def test_a_correction_with_no_primary_person_adds_one() -> None:
    from ocr.persons import with_corrected

    added = with_corrected((), "ket-qua", "id_number", "045187002319")
    assert [(p.role, p.id_number) for p in added] == [("subject", "045187002319")]
    assert with_corrected(BIRTH.persons, "thanh-phan", "sector", "Hộ tịch") == BIRTH.persons
    dated = with_corrected(BIRTH.persons, "ket-qua", "birth_date", "2023-10-21")
    assert (dated[1].role, dated[1].birth_date, dated[1].birth_year) == (
        "subject",
        "2023-10-21",
        2023,
    )


def test_values_longer_than_their_search_columns_are_kept_on_postgresql_too(catalog_url) -> None:
    """PostgreSQL refuses a value longer than its ``varchar`` where SQLite stores it: an
    OCR'd name or sector run together with the lines after it (300+ characters) made the
    record's commit fail on PostgreSQL alone, an internal error after "Storing"."""
    long_name = " ".join(["Nguyễn Thị Hồng Đào"] + ["Phường Bình Hiên Quận Hải Châu"] * 12)
    long_sector = " ".join(["Hộ tịch"] * 60)
    manifest = record(
        "long",
        code="000.00.06.H56-240301-0007",
        applicant_name=long_name,
        sector=long_sector,
        id_number="0" * 80,
    ).model_copy(
        update={"persons": (Person(role="applicant", name=long_name, id_number="1" * 80),)}
    )
    with Catalog(catalog_url) as catalog:
        _add(catalog, manifest)
        hits = catalog.find("nguyen thi hong dao").hits
        assert [h.record_id for h in hits] == [manifest.record_id]
        assert catalog.get_record(manifest.record_id) is not None
