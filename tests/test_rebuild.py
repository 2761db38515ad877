"""``sohoa catalog rebuild``: the catalog comes back from the archive's manifests alone.

The archive is real (flow-made records, one split at a separator sheet, one corrected
in review, one accepted). The test deletes the catalog, rebuilds it through the real
CLI and compares everything a user can see: every record row and field, review state,
corrections, batch rows, search results and counts. A failed rebuild must leave the
old catalog untouched.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from archive_fixture import small_archive  # noqa: F401
from conftest import make_cli

from sohoa.errors import ExitCode

QUERIES = [
    "nguyen thi hong dao",
    "Đăng ký",
    "quang tri",
    "tran van dung",
    "000.00.06.H56-231027-0361",
]


def snapshot(db: Path) -> dict[str, list]:
    """Every row a user can reach, minus bookkeeping (FTS rowids, correction ids, batch times)."""
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        records = [
            {k: r[k] for k in r.keys() if k != "fts_rowid"}  # noqa: SIM118 - Row iterates values
            for r in conn.execute("select * from records order by id")
        ]
        corrections = [
            tuple(r)
            for r in conn.execute(
                'select record_id, field, old, new, "by", at, reason from corrections '
                "order by record_id, at"
            )
        ]
        batches = [
            tuple(r)
            for r in conn.execute(
                "select id, status, reason, file_count, page_count, unit, kind, dossier_code, "
                "created_at <= updated_at from batches order by id"
            )
        ]
        fts = [
            tuple(r)
            for r in conn.execute(
                "select record_id, dossier_code, body from records_fts order by record_id"
            )
        ]
    conn.close()
    return {"records": records, "corrections": corrections, "batches": batches, "fts": fts}


def user_view(cli) -> dict:
    """What the CLI shows: search hits for several queries, the review queue, each record."""
    view = {q: cli.json("search", q)["hits"] for q in QUERIES}
    view["review"] = cli.json("review")
    view["verify"] = [(r["record_id"], r["status"]) for r in cli.json("verify", "--all")["records"]]
    return view


def test_deleted_catalog_is_rebuilt_with_the_same_rows_and_results(
    small_archive, tmp_path, prefect_api_url
):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    db = cli.data_dir / "catalog.sqlite"
    before, seen = snapshot(db), user_view(cli)
    assert len(before["records"]) == 3 and len(before["corrections"]) == 2
    assert any(hit for q in QUERIES for hit in seen[q])
    statuses = {r["id"]: r["status"] for r in before["records"]}
    assert statuses[small_archive.accepted] == "archived"
    for leftover in cli.data_dir.glob("catalog.sqlite*"):
        leftover.unlink()

    done = cli("catalog", "rebuild", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["records"], report["batches"], report["corrections"]) == (3, 2, 2)
    assert report["manifests"] == 3 and report["skipped"] == [] and report["replaced"] is False
    after = snapshot(db)
    assert after == before
    assert user_view(cli) == seen
    assert cli.record_count() == 3
    assert not list(cli.data_dir.glob("*rebuild*"))  # no temporary database left behind


def test_rebuild_replaces_a_stale_catalog(small_archive, tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    db = cli.data_dir / "catalog.sqlite"
    before = snapshot(db)
    with sqlite3.connect(db) as conn:  # a catalog gone wrong: a row lost, a value altered
        conn.execute("delete from corrections where record_id = ?", (small_archive.corrected,))
        conn.execute("delete from records where id = ?", (small_archive.corrected,))
        conn.execute("update records set status = 'needs_review'")
    conn.close()
    done = cli("catalog", "rebuild", lang="vi")
    assert done.returncode == 0, done.stderr
    assert "3 bản ghi" in done.stdout
    assert snapshot(db) == before


def test_failed_rebuild_keeps_the_old_catalog(small_archive, tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    db = cli.data_dir / "catalog.sqlite"
    before = snapshot(db)
    manifest = next((cli.data_dir / "objects" / "archive").rglob("*.manifest.json"))
    manifest.write_text('{"record_id": "half a manifest"')
    failed = cli("catalog", "rebuild")
    assert failed.returncode == ExitCode.VERIFY_FAILED, failed.stderr
    assert manifest.name in failed.stderr
    assert snapshot(db) == before  # untouched
    assert not list(cli.data_dir.glob("*rebuild*"))  # no temporary database left behind
    # --keep-going rebuilds from the rest and says what it left out
    partial = cli("catalog", "rebuild", "--keep-going", "--json")
    assert partial.returncode == ExitCode.VERIFY_FAILED
    report = json.loads(partial.stdout)
    assert report["records"] == 2 and [s["key"] for s in report["skipped"]] == [
        str(manifest.relative_to(cli.data_dir / "objects"))
    ]
    assert cli.record_count() == 2


def test_a_record_whose_pdf_is_gone_is_not_catalogued(small_archive, tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    pdf = next((cli.data_dir / "objects" / "archive").rglob("*.pdf"))
    pdf.unlink()
    done = cli("catalog", "rebuild", "--keep-going", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == ExitCode.VERIFY_FAILED and report["records"] == 2
    assert "PDF is missing" in report["skipped"][0]["reason"]
    with sqlite3.connect(cli.data_dir / "catalog.sqlite") as conn:
        keys = [r[0] for r in conn.execute("select pdf_key from records")]
    conn.close()
    assert all((cli.data_dir / "objects" / k).is_file() for k in keys)


def test_rebuild_needs_a_file_or_postgresql(tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    done = cli("catalog", "rebuild", extra_env={"SOHOA_CATALOG_URL": "sqlite://"})
    assert done.returncode == ExitCode.CONFIG
    assert "SQLite" in done.stderr


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_rebuild_help_is_bilingual(tmp_path, prefect_api_url, lang):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    done = cli("catalog", "rebuild", "--help", lang=lang)
    assert done.returncode == 0 and "Rebuild the catalog" in done.stdout


def test_the_dossier_register_survives_a_rebuild(small_archive, tmp_path, prefect_api_url):
    """The register is not in the archive: a rebuild carries it over from the old catalog."""
    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    export = tmp_path / "register.csv"
    export.write_text(
        "Mã hồ sơ,Mã đơn vị,Tên đơn vị,Trạng thái,Ngày tiếp nhận\n"
        "000.00.06.H56-231027-0361,H56,UBND huyện Hải Lăng,10,27/10/2023\n"
        "000.00.06.H56-231027-0362,H56,UBND huyện Hải Lăng,2,27/10/2023\n",
        encoding="utf-8",
    )
    imported = cli("register", "import", str(export))
    assert imported.returncode == 0, imported.stderr
    db = cli.data_dir / "catalog.sqlite"

    def register_rows() -> list:
        with sqlite3.connect(db) as conn:
            return conn.execute(
                "select dossier_code, unit, status from register_entries order by 1"
            ).fetchall()

    before = register_rows()
    assert len(before) == 2
    done = cli("catalog", "rebuild", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["register_dossiers"] == 2
    assert register_rows() == before


def test_a_postgresql_catalog_is_rebuilt_with_the_same_results_as_on_sqlite(
    small_archive, tmp_path, prefect_api_url, pg_url
):
    """Rebuilt into a new schema and moved into place: the same search results, review
    queue and verification as the SQLite catalog of the same archive; accounts carried
    over; another application's table in the same schema untouched; nothing left over."""
    import psycopg
    from conftest import Cli

    from catalog import accounts
    from catalog.database import Catalog

    cli = make_cli(tmp_path / "data", prefect_api_url)
    small_archive.copy(cli.data_dir)
    seen = user_view(cli)  # on the archive's own SQLite catalog
    pg = Cli(cli.data_dir, {**cli.env, "SOHOA_CATALOG_URL": pg_url})
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("CREATE TABLE other_app (note text); INSERT INTO other_app VALUES ('x')")

    first = pg("catalog", "rebuild", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["records"], report["batches"], report["replaced"]) == (3, 2, False)
    assert user_view(pg) == seen
    with Catalog(pg_url) as catalog:
        accounts.create_user(catalog, "kiemtra.h56", "mat-khau-rat-dai-2025", role="auditor")

    again = pg("catalog", "rebuild", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["replaced"] is True
    assert user_view(pg) == seen
    with Catalog(pg_url) as catalog:
        assert [u.name for u in accounts.list_users(catalog)] == ["kiemtra.h56"]
    with psycopg.connect(pg_url) as connection:
        assert connection.execute("SELECT note FROM other_app").fetchall() == [("x",)]
        schemas = connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'sohoa_%'"
        ).fetchall()
    assert schemas == []  # no half-built or replaced catalog left behind
