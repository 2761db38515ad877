"""The catalog is disposable (issue 19, item 2): nothing is lost when it is.

An office is set up through the real ``sohoa`` command (records with a correction, a
quarantined batch, accounts, an API token, a unit, the register, audit entries), backed
up with ``sohoa catalog backup``, then its catalog is damaged: cut to half, overwritten
with bytes that are no database, or (on PostgreSQL) tables dropped. ``sohoa catalog
rebuild`` must bring everything back from the store: records and corrections from the
manifests, the rest from the newest backup and the sealed audit segments, and a restored
token must still sign in. ``sohoa verify --audit`` must pass on the untouched trail and
find a deleted, edited, reordered or removed entry or segment. Real store, real catalog.
"""

# ruff: noqa: F811 - pytest injects the fixtures imported below by parameter name

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from archive_fixture import make_scans
from conftest import Cli, make_cli
from s3server import TEST_RETENTION, drop_bucket, s3_server  # noqa: F401

from catalog.accounts import authenticate
from catalog.database import Catalog
from catalog.tokens import token_user
from cli.common import ERROR_LOG
from sohoa.errors import ExitCode

PASSWORD = "mat-khau-rat-dai-2025-Xy"
REGISTER = (
    "Mã hồ sơ,Mã đơn vị,Tên đơn vị,Trạng thái,Ngày tiếp nhận\n"
    "000.00.06.H56-231027-0361,H56.01,UBND huyện Hải Lăng,10,27/10/2023\n"
    "000.00.06.H56-231027-0362,H56.01,UBND huyện Hải Lăng,2,27/10/2023\n"
)
TABLES = {
    "records": "select id, status, fields_json, pdf_sha256 from records order by id",
    "corrections": 'select record_id, field, old, new, "by", reason from corrections order by 1',
    "users": "select id, name, role, unit, active, password_hash from users order by id",
    "tokens": "select id, user_id, name, token_hash, revoked_at from api_tokens order by id",
    "units": "select code, name, level, parent from register_units order by code",
    "register": "select dossier_code, unit, status, received_on from register_entries order by 1",
    "batches": "select id, status, reason, unit, file_count from batches order by id",
    "audit": "select id, at, username, action, target, detail_json, via from audit_log "
    "where action != 'audit.seal' order by id",
}
"""What a user of the office can reach, per part (sessions are not kept: people sign in again).
Seal notes are left out: a rebuild notes the restored chain's end anew."""


def run(cli: Cli, *args: str, code: int = 0, env: dict | None = None):
    done = cli(*args, extra_env=env)
    if done.returncode != code:  # the end of stderr and the error log say why (pytest
        log = cli.data_dir / ERROR_LOG  # would cut a long tuple in the middle)
        logged = log.read_text(encoding="utf-8")[-4000:] if log.exists() else ""
        pytest.fail(f"{args} exited {done.returncode}\n{done.stderr[-2000:]}\n{logged}")
    return done


def set_up_office(cli: Cli, folder: Path, env: dict | None = None) -> str:
    """Everything an office makes, through the CLI; returns the API token (shown once)."""
    receipt, stack = make_scans(folder / "scans")
    run(cli, "ingest", str(receipt), "--unit", "H56.01", env=env)
    made = json.loads(run(cli, "ingest", str(stack), "--unit", "H56.01", "--json", env=env).stdout)
    record = made[0]["id"]
    run(
        cli,
        "review",
        "set",
        record,
        "applicant_name",
        "Trần Văn Dũng",
        "--reason",
        "ghi rõ",
        env=env,
    )
    cut = folder / "cat-do.pdf"  # a scan cut off mid-file: its batch is quarantined
    cut.write_bytes(stack.read_bytes()[:3000])
    run(cli, "ingest", str(cut), "--unit", "H56.02", code=ExitCode.BAD_INPUT, env=env)
    (folder / "pw").write_text(PASSWORD + "\n")
    run(
        cli,
        "users",
        "add",
        "quan.tri",
        "--role",
        "admin",
        "--password-file",
        str(folder / "pw"),
        env=env,
    )
    run(cli, "users", "add", "van.thu", "--role", "clerk", "--unit", "H56.01",
        "--password-file", str(folder / "pw"), env=env)  # fmt: skip
    issued = run(cli, "users", "token", "quan.tri", "--name", "may-quet", env=env).stdout
    run(cli, "units", "set", "H56", "--name", "UBND tỉnh Quảng Trị", "--level", "tinh", env=env)
    (folder / "so.csv").write_text(REGISTER, encoding="utf-8")
    run(cli, "register", "import", str(folder / "so.csv"), env=env)
    return re.search(r"sohoa_[A-Za-z0-9_-]{20,}", issued).group(0)


def snapshot(db: Path) -> dict[str, list]:
    with sqlite3.connect(db) as conn:
        rows = {part: conn.execute(sql).fetchall() for part, sql in TABLES.items()}
    conn.close()
    return rows


def damage(db: Path, how: str) -> None:
    """Cut the catalog file to half, or overwrite it with bytes that are no database."""
    size = db.stat().st_size
    if how == "truncated":
        os.truncate(db, size // 2)
    else:
        db.write_bytes(bytes(range(256)) * (size // 256))


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_catalog_is_rebuilt_with_everything_it_alone_held(cli, tmp_path, how):
    token = set_up_office(cli, tmp_path)
    run(cli, "catalog", "backup")
    db = cli.data_dir / "catalog.sqlite"
    before = snapshot(db)
    assert {p: len(r) for p, r in before.items() if p != "audit"} == {
        "records": 3,
        "corrections": 1,
        "users": 2,
        "tokens": 1,
        "units": 2,
        "register": 2,
        "batches": 3,
    }
    assert [b[1] for b in before["batches"]].count("quarantined") == 1
    assert len(before["audit"]) >= 4  # two accounts, the token, the unit
    damage(db, how)

    done = run(cli, "catalog", "rebuild", "--json")
    report = json.loads(done.stdout)
    assert report["records"] == 3 and report["corrections"] == 1
    assert report["old_catalog_unreadable"]
    sources = {c["part"]: c["source"] for c in report["carried"]}
    assert sources == {
        "accounts": "backup",
        "register": "backup",
        "batches": "backup",
        "fixity": "backup",
        "audit": "segments",
    }
    assert snapshot(db) == before
    with Catalog(f"sqlite:///{db}") as catalog:
        assert token_user(catalog, token) is not None  # a restored token still signs in
        assert authenticate(catalog, "van.thu", PASSWORD)[0] is not None
    assert run(cli, "verify", "--audit").returncode == 0
    again = run(cli, "catalog", "rebuild")  # an intact catalog: its own rows are carried over
    assert "Accounts and API tokens: carried over from the old catalog" in again.stdout


def test_rebuild_says_what_it_could_not_carry_over(cli, tmp_path):
    """No backup was ever taken: the records come back, and the report names what is lost."""
    receipt, _ = make_scans(tmp_path / "scans")
    run(cli, "ingest", str(receipt), "--unit", "H56.01")
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    run(cli, "users", "add", "quan.tri", "--role", "admin", "--password-file", str(tmp_path / "pw"))
    damage(cli.data_dir / "catalog.sqlite", "garbage")
    done = cli("catalog", "rebuild", lang="vi")
    assert done.returncode == 0, done.stderr
    assert "Không đọc được danh mục cũ" in done.stdout
    assert "Tài khoản và mã API: KHÔNG chuyển được" in done.stdout
    assert cli.record_count() == 1


# --- the sealed audit trail ----------------------------------------------------------------


def two_segments(cli: Cli, tmp_path: Path) -> Path:
    """Audit entries sealed into two segments; the folder that holds them."""
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    for name in ("mot.nguoi", "hai.nguoi", "ba.nguoi"):
        run(cli, "users", "add", name, "--role", "auditor", "--password-file", str(tmp_path / "pw"))
    run(cli, "catalog", "backup")
    run(cli, "users", "token", "mot.nguoi", "--name", "lan-hai")
    run(cli, "catalog", "backup")
    folder = cli.data_dir / "objects" / "archive" / "_audit"
    assert sorted(p.name for p in folder.glob("*.json")) == ["0000000001.json", "0000000002.json"]
    return folder


def edit_segment(path: Path, change) -> None:
    segment = json.loads(path.read_text(encoding="utf-8"))
    change(segment)
    path.write_text(json.dumps(segment, ensure_ascii=False), encoding="utf-8")


def rehash(segment: dict) -> None:
    """What a careful forger does after an edit: every hash and link of the segment redone."""
    from records.audit_trail import chain

    rows = [{k: v for k, v in e.items() if k not in ("prev", "sha256")} for e in segment["entries"]]
    segment["entries"] = chain(rows, segment["prev"])
    segment["head"] = segment["entries"][-1]["sha256"]


TAMPERING = {
    "deleted": (1, lambda s: s["entries"].pop(1), "entry before it was deleted, edited or moved"),
    "edited": (1, lambda s: s["entries"][0].update(target="ke.gian"), "edited (its hash"),
    "reordered": (
        1,
        lambda s: s["entries"].insert(0, s["entries"].pop(1)),
        "out of order",
    ),
    "rehashed": (
        1,
        lambda s: (s["entries"][0].update(target="ke.gian"), rehash(s)),
        "segment 2: does not follow the segment before it",
    ),
    "last entry dropped": (
        2,
        lambda s: (s["entries"].pop(), s.update(count=len(s["entries"])), rehash(s)),
        "segment 2: differs from what was sealed",
    ),
}


def test_an_untouched_audit_trail_verifies(cli, tmp_path):
    two_segments(cli, tmp_path)
    done = run(cli, "verify", "--audit")
    assert "Audit trail intact: 2 segments" in done.stdout
    report = json.loads(run(cli, "verify", "--audit", "--json").stdout)["audit"]
    assert report["ok"] and report["entries"] >= 5 and report["anchored"]


@pytest.mark.parametrize("kind", sorted(TAMPERING))
def test_verify_audit_finds_an_entry_deleted_edited_or_moved_in_the_store(cli, tmp_path, kind):
    folder = two_segments(cli, tmp_path)
    number, change, said = TAMPERING[kind]
    edit_segment(folder / f"{number:010d}.json", change)
    done = cli("verify", "--audit")
    assert done.returncode == ExitCode.VERIFY_FAILED, done.stdout + done.stderr
    assert said in done.stdout
    assert "TAMPERED WITH" in done.stdout


@pytest.mark.parametrize(("number", "said"), [(1, "segment 1: missing"), (2, "segment 2: sealed")])
def test_verify_audit_finds_a_removed_segment(cli, tmp_path, number, said):
    folder = two_segments(cli, tmp_path)
    (folder / f"{number:010d}.json").unlink()
    done = cli("verify", "--audit", lang="en")
    assert done.returncode == ExitCode.VERIFY_FAILED and said in done.stdout
    vi = cli("verify", "--audit", lang="vi")
    assert "BỊ CAN THIỆP" in vi.stdout


# --- the nightly run backs up ---------------------------------------------------------------


def test_the_nightly_run_seals_the_audit_log_and_backs_the_catalog_up(tmp_path, prefect_api_url):
    cli = make_cli(tmp_path / "data", prefect_api_url)
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    run(cli, "users", "add", "quan.tri", "--role", "admin", "--password-file", str(tmp_path / "pw"))
    token = re.search(r"sohoa_\S+", run(cli, "users", "token", "quan.tri", "--name", "t1").stdout)
    night = json.loads(run(cli, "nightly", "--json").stdout)
    assert night["backup_key"].startswith("derived/catalog-backup/")
    assert night["audit_sealed"] == 2 and not night["step_errors"]
    assert (cli.data_dir / "objects" / night["backup_key"]).is_file()
    damage(cli.data_dir / "catalog.sqlite", "truncated")
    run(cli, "catalog", "rebuild")
    with Catalog(f"sqlite:///{cli.data_dir / 'catalog.sqlite'}") as catalog:
        assert token_user(catalog, token.group(0)) is not None
    assert run(cli, "verify", "--audit").returncode == 0


# --- PostgreSQL and S3 -------------------------------------------------------------------------


@pytest.fixture
def province(tmp_path, pg_url, s3_server) -> dict[str, str]:
    """A PostgreSQL catalog and an S3 store with object lock, as environment variables."""
    stem = f"disp-{uuid.uuid4().hex[:10]}"
    store = {"backend": "s3", "endpoint": s3_server.endpoint, "bucket": stem, "part_size_mb": 5}
    store |= TEST_RETENTION | {"access_key": s3_server.access_key}
    store |= {"secret_key": s3_server.secret_key, "retries": 0}
    env = {f"SOHOA_STORE__{k.upper()}": str(v) for k, v in store.items()}
    yield env | {"SOHOA_CATALOG_URL": pg_url}
    for area in ("originals", "archive", "derived"):
        drop_bucket(s3_server.client(), f"{stem}-{area}")


def test_a_postgresql_catalog_with_lost_tables_is_rebuilt_from_s3(cli, tmp_path, province):
    import psycopg

    from records.audit_trail import SETTLE
    from schemas.settings import Settings
    from storage.object_keys import audit_segment_key
    from storage.stores import open_store

    token = set_up_office(cli, tmp_path, env=province)
    # on PostgreSQL an entry is sealed once SETTLE old (a transaction still open could commit
    # a lower id): the office's entries must be that old, however fast the set-up ran
    time.sleep(SETTLE.total_seconds() + 0.5)
    run(cli, "catalog", "backup", env=province)
    url = province["SOHOA_CATALOG_URL"]
    with psycopg.connect(url, autocommit=True) as db:  # half the catalog gone
        db.execute("DROP TABLE api_tokens, user_sessions, users, audit_log, register_entries")
    done = run(cli, "catalog", "rebuild", "--json", env=province)
    report = json.loads(done.stdout)
    sources = {c["part"]: c["source"] for c in report["carried"]}
    assert report["records"] == 3 and report["corrections"] == 1
    assert sources == {
        "accounts": "backup",
        "register": "backup",
        "batches": "catalog",
        "fixity": "catalog",
        "audit": "segments",
    }
    with Catalog(url) as catalog:
        assert token_user(catalog, token) is not None
        assert authenticate(catalog, "quan.tri", PASSWORD)[0] is not None
    with psycopg.connect(url) as db:
        assert db.execute("select count(*) from register_entries").fetchone() == (2,)
        assert db.execute("select status from batches where unit = 'H56.02'").fetchall() == [
            ("quarantined",)
        ]
    assert run(cli, "verify", "--audit", env=province).returncode == 0

    env = {k.removeprefix("SOHOA_").lower(): v for k, v in province.items()}
    store = open_store(Settings(data_dir=cli.data_dir, catalog_url=url, store=_store(env)))
    segment = json.loads(store.get_bytes(audit_segment_key(1)))
    segment["entries"][0]["username"] = "ke.gian"
    store.put_bytes(audit_segment_key(1), json.dumps(segment).encode())  # a new locked version
    tampered = cli("verify", "--audit", extra_env=province)
    assert tampered.returncode == ExitCode.VERIFY_FAILED
    assert "segment 1, entry 1: edited" in tampered.stdout


def _store(env: dict[str, str]) -> dict[str, str]:
    return {k.removeprefix("store__"): v for k, v in env.items() if k.startswith("store__")}
