"""The catalog's layout under Alembic, on SQLite and on a real PostgreSQL server: a new
catalog is at the newest revision and matches the model; a catalog made by the release
before migrations is upgraded keeping everything it held; a catalog from a newer sohoa
is refused; several processes opening an old catalog at once upgrade it once."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from test_catalog import BIRTH_CODE, BIRTH_TEXT, _add, make_manifest

from catalog import accounts, units
from catalog.connection import parse
from catalog.database import Catalog
from catalog.schema import VERSION_TABLE, current_revision, head_revision, types_differ
from catalog.search_index import is_index_table
from catalog.tables import Base
from sohoa.errors import ConfigError

DATA = Path(__file__).parent / "data"
OLD_SQLITE = DATA / "catalog_before_migrations.sqlite"
OLD_POSTGRES = DATA / "catalog_before_migrations.postgresql.sql"
OLD_RECORDS = ("a" * 64, "b" * 64)  # the SQLite one's records


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def empty_url(backend: str, request, tmp_path: Path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'catalog.sqlite'}"


@pytest.fixture
def old_url(backend: str, request, tmp_path: Path) -> str:
    """A catalog exactly as the release before migrations left it."""
    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(OLD_POSTGRES.read_text(encoding="utf-8"))
        return url
    path = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_SQLITE, path)
    return f"sqlite:///{path}"


def _revision(url: str) -> str | None:
    engine = create_engine(parse(url))
    try:
        with engine.connect() as connection:
            return current_revision(connection)
    finally:
        engine.dispose()


def _differences(url: str) -> list:
    """What Alembic's autogenerate finds between the database and the model (the word index,
    derived data outside the migrations, left out)."""
    engine = create_engine(parse(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "version_table": VERSION_TABLE,
                    "compare_type": types_differ,
                    "include_name": lambda name, kind, _parent: (
                        not (kind == "table" and is_index_table(name))
                    ),
                },
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_a_new_catalog_is_at_the_newest_revision_and_matches_the_model(empty_url: str) -> None:
    with Catalog(empty_url) as catalog:
        assert catalog.layout_revisions == (None, head_revision())
    assert _revision(empty_url) == head_revision()
    assert _differences(empty_url) == []  # a model change without its migration fails here


def test_the_previous_release_catalog_is_upgraded_keeping_everything(
    old_url: str, backend: str
) -> None:
    assert _revision(old_url) is None
    with Catalog(old_url) as catalog:
        assert catalog.layout_revisions == (None, head_revision())
        assert [u.name for u in accounts.list_users(catalog)] == ["admin.tinh", "kiemtra.h56"]
        assert accounts.authenticate(catalog, "kiemtra.h56", "mat-khau-rat-dai-2025") is not None
        assert {u.code for u in units.register_units(catalog)} >= {"H56", "H56.01"}
        if backend == "sqlite":
            assert catalog.count_records() == 2
            assert [h.record_id for h in catalog.search("duc")] == [OLD_RECORDS[0]]
        _add(catalog, make_manifest("c" * 64, dossier_code=BIRTH_CODE, text=BIRTH_TEXT))
        assert catalog.get_record("c" * 64).dossier_code == BIRTH_CODE  # the 64-bit key fits
    assert _revision(old_url) == head_revision()
    assert _differences(old_url) == []
    with Catalog(old_url) as again:  # once upgraded, opening it changes nothing
        assert again.layout_revisions == (head_revision(), head_revision())


def test_a_catalog_from_a_newer_sohoa_is_refused_and_left_alone(empty_url: str) -> None:
    Catalog(empty_url).close()
    engine = create_engine(parse(empty_url))
    with engine.begin() as connection:
        connection.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ConfigError) as caught:
        Catalog(empty_url)
    assert caught.value.key == "catalog_newer"
    assert "9999" in caught.value.render("en") and "Upgrade sohoa" in caught.value.render("en")
    assert _revision(empty_url) == "9999"


OPEN_ONCE = """
import sys
from catalog.database import Catalog
with Catalog(sys.argv[1]) as catalog:
    print(catalog.layout_revisions[0] or "-", catalog.count_records())
"""


def test_processes_opening_an_old_catalog_together_upgrade_it_once(old_url: str) -> None:
    """Four workers start at once: each waits for the upgrade lock; one upgrades, the
    others find it done (their 'before' is the new revision) and every one opens it."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_ONCE, old_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outcomes = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outcomes.append(out.split()[0])
    assert sorted(outcomes) == ["-", *[head_revision()] * 3]


def _columns(path: Path) -> set[tuple[str, str]]:
    """Every (table, column) of the SQLite file at ``path``."""
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {(t, c[1]) for t in tables for c in db.execute(f'PRAGMA table_info("{t}")')}
    db.close()
    return found


def test_the_sqlite_upgrade_keeps_the_file_readable_by_the_previous_layout(tmp_path) -> None:
    """Nothing is dropped or renamed: every table and column of the old file is still there."""
    path = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_SQLITE, path)
    old = _columns(path)
    Catalog(f"sqlite:///{path}").close()
    assert old <= _columns(path) and len(old) > 50


def test_sohoa_catalog_upgrade_says_what_it_did(cli, tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_SQLITE, path)
    env = {"SOHOA_CATALOG_URL": f"sqlite:///{path}"}
    first = cli("catalog", "upgrade", extra_env=env)
    assert first.returncode == 0, first.stderr
    assert f"Upgraded the layout of catalog {path}: - → {head_revision()}" in first.stdout
    again = cli("catalog", "upgrade", "--json", extra_env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "catalog": str(path),
        "before": head_revision(),
        "after": head_revision(),
        "changed": False,
    }
    vi = cli("catalog", "upgrade", lang="vi", extra_env=env)
    assert "đã mới nhất" in vi.stdout


def test_the_newest_revision_read_from_file_names_is_alembics_own_head() -> None:
    """:func:`head_revision` reads the migration files' numbers (no Alembic import); that
    holds only while each file's revision is its number on one line of revisions."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from catalog.schema import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert head_revision() == scripts.get_current_head()
    for script in scripts.walk_revisions():
        assert Path(script.path).name.startswith(f"{script.revision}_"), script.path
        assert script.down_revision in (None, f"{int(script.revision) - 1:04d}"), script.path


def test_opening_a_current_catalog_reads_one_row_and_imports_no_alembic(
    empty_url: str, tmp_path: Path
) -> None:
    """``search`` and ``show`` open the catalog: a current one costs one query, not
    Alembic's import (0.3-0.8 s); an old one is still upgraded (tests above)."""
    Catalog(empty_url).close()  # made and brought to the newest revision
    probe = (
        "import sys; from catalog.database import Catalog; Catalog(sys.argv[1]).close();"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'mako'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, empty_url], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
