"""The catalog on a real PostgreSQL server (Debian's, on loopback): a plain ``postgresql://``
URL works, every column holds its values, and each way of failing to connect says which
one it is, naming the database but never the password."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pgserver import PgServer
from sqlalchemy import create_engine, text
from test_catalog import BIRTH_CODE, BIRTH_TEXT, _add, make_manifest

from catalog.connection import parse
from catalog.database import Catalog
from sohoa.errors import ConfigError, ExitCode, StorageError


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_plain_postgresql_url_means_psycopg_3() -> None:
    for url in ("postgresql://u:p@db.example:5432/sohoa", "postgres://u:p@db.example/sohoa"):
        assert parse(url).drivername == "postgresql+psycopg"
    assert parse("postgresql+psycopg://u@h/d").drivername == "postgresql+psycopg"
    assert parse("sqlite:///x.sqlite").drivername == "sqlite"


def test_todays_records_are_stored_with_their_64_bit_search_keys(pg_url: str) -> None:
    """The search key puts the day above bit 32 (~3×10¹⁵): a 32-bit column refused every
    write ("integer out of range")."""
    with Catalog(pg_url) as catalog:
        manifest = make_manifest("a" * 64, dossier_code=BIRTH_CODE, text=BIRTH_TEXT)
        _add(catalog, manifest.model_copy(update={"created_at": datetime.now(UTC)}))
        assert catalog.count_records() == 1
    engine = create_engine(parse(pg_url))
    with engine.connect() as connection:
        key = connection.execute(text("SELECT fts_rowid FROM records")).scalar_one()
        kind = connection.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'records' AND column_name = 'fts_rowid'"
            )
        ).scalar_one()
    engine.dispose()
    assert key > 2**31 and kind == "bigint"


def test_a_wrong_password_is_a_configuration_error_naming_the_database(
    pg_server: PgServer, pg_url: str
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    with pytest.raises(ConfigError) as caught:
        Catalog(pg_server.url(database, password="not-the-password"))
    message = caught.value.render("en")
    assert caught.value.key == "catalog_login"
    assert f"{pg_server.host}:{pg_server.port}/{database}" in message
    assert "not-the-password" not in message and pg_server.password not in message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_a_missing_database_is_a_configuration_error(pg_server: PgServer) -> None:
    with pytest.raises(ConfigError) as caught:
        Catalog(pg_server.url("no_such_catalog"))
    assert caught.value.key == "catalog_no_database"
    assert "no_such_catalog" in caught.value.render("en")


def test_an_unknown_driver_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Catalog("nosuchdb://user:secret@host/catalog")
    assert caught.value.key == "catalog_driver"
    assert "secret" not in caught.value.render("en")


def test_a_server_that_does_not_answer_is_a_storage_failure_saying_where() -> None:
    port = _closed_port()
    with pytest.raises(StorageError) as caught:
        Catalog(f"postgresql://sohoa:secret@127.0.0.1:{port}/catalog")
    message = caught.value.render("en")
    assert caught.value.key == "catalog_unreachable"
    assert f"Cannot reach the catalog database at 127.0.0.1:{port}/catalog" in message
    assert "object store" not in message and "secret" not in message
    assert caught.value.exit_code == ExitCode.STORAGE_FAILED


def test_the_cli_says_in_one_line_what_is_wrong_with_the_catalog_url(
    cli, pg_server: PgServer, pg_url: str
) -> None:
    database = pg_url.rsplit("/", 1)[1]
    wrong = pg_server.url(database, password="not-the-password")
    done = cli("search", "duc", extra_env={"SOHOA_CATALOG_URL": wrong})
    assert done.returncode == ExitCode.CONFIG, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Cannot log in to the catalog database" in lines[0], done.stderr
    assert "not-the-password" not in done.stderr + done.stdout
    assert done.stdout.strip() == ""


def test_the_cli_searches_a_postgresql_catalog(cli, pg_url: str, tmp_path: Path) -> None:
    with Catalog(pg_url) as catalog:
        _add(catalog, make_manifest("b" * 64, dossier_code=BIRTH_CODE, text=BIRTH_TEXT))
    found = cli.json("search", BIRTH_CODE, extra_env={"SOHOA_CATALOG_URL": pg_url})["hits"]
    assert [hit["record_id"] for hit in found] == ["b" * 64], found


def test_the_password_can_stay_out_of_the_url(
    pg_server: PgServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """libpq's own ``PGPASSWORD`` (or ``~/.pgpass``) serves a URL without a password."""
    database = pg_url.rsplit("/", 1)[1]
    bare = f"postgresql://{pg_server.user}@{pg_server.host}:{pg_server.port}/{database}"
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    with Catalog(bare) as catalog:
        assert catalog.count_records() == 0
    monkeypatch.setenv("PGPASSWORD", "wrong")
    with pytest.raises(ConfigError):
        Catalog(bare)


def test_an_ingest_archives_its_record_in_a_postgresql_catalog_once(
    cli, pg_url: str, scan_pdf: Path
) -> None:
    """Before the search key was 64-bit, every record's write failed here and each retry
    uploaded the signed PDF again; now one ingest gives one row, one PDF, and a second
    ingest of the same scan finds it already archived."""
    env = {"SOHOA_CATALOG_URL": pg_url}
    args = ("ingest", str(scan_pdf), "--unit", "H56.01", "--kind", "thanh-phan")
    records = cli.json(*args, extra_env=env)
    assert len(records) == 1 and records[0]["status"] == "archived"
    again = cli.json(*args, extra_env=env)
    assert [r["id"] for r in again] == [records[0]["id"]]
    with Catalog(pg_url) as catalog:
        assert catalog.count_records() == 1
        assert catalog.get_record(records[0]["id"]).dossier_code == "000.00.06.H56-231027-0361"
    assert len(cli.archive_objects()) == 2  # the signed PDF and its manifest, once each
    assert cli.record_count() == 0  # nothing went to a SQLite file on the side


def test_the_compose_init_script_makes_the_catalog_database_and_the_password_file_opens_it(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """deploy/postgres-init/10-sohoa-catalog.sh, run by psql as the postgres image runs it,
    against a real server; then sohoa reaches the new database with the password taken
    from the secret file, the URL itself holding none."""
    import os
    import subprocess

    from schemas.settings import Settings

    secret = tmp_path / "catalog_password"
    secret.write_text("katalog-secret-2026\n")
    script = Path(__file__).parents[1] / "deploy" / "postgres-init" / "10-sohoa-catalog.sh"
    env = {
        **os.environ,
        "POSTGRES_USER": pg_server.user,
        "POSTGRES_DB": "postgres",
        "PGHOST": pg_server.host,
        "PGPORT": str(pg_server.port),
        "PGPASSWORD": pg_server.password,
        "CATALOG_PASSWORD_FILE": str(secret),
    }
    done = subprocess.run(
        ["sh", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    try:
        url = f"postgresql://sohoa@{pg_server.host}:{pg_server.port}/sohoa"
        settings = Settings(
            data_dir=tmp_path / "data", catalog_url=url, catalog_password_file=secret
        )
        with Catalog(settings.resolved_catalog_url) as catalog:
            assert catalog.count_records() == 0
        assert "katalog-secret-2026" not in settings.model_dump_json()
    finally:
        pg_server.execute("DROP DATABASE IF EXISTS sohoa WITH (FORCE)")
        pg_server.execute("DROP ROLE IF EXISTS sohoa")
