"""Passwords that are easy to guess, and API tokens that never die (issue 19, item 7).

Found by attacking it: the password policy took ``aaaaaaaaaaaa`` (twelve characters was
the whole rule), and an API token, once made, worked for ever with every power of its
account's role. Now a password must also score 3 of 4 with zxcvbn (the account's name,
"sohoa" and a few Vietnamese words guessed first), on the command line and the admin
pages alike; a token expires (90 days unless said otherwise) and may be read-only.

The real app (``web.app.create_app``) and the real ``sohoa`` commands (typer's runner),
on each catalog backend (SQLite, PostgreSQL); a settable clock instead of sleeps.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from webclient import TestClient, csrf_of

from catalog import accounts
from catalog import audit as audit_log
from catalog import tokens as api_tokens
from catalog.accounts import digest
from catalog.audit import Action, Actor, AuditFilter
from catalog.connection import parse
from catalog.copying import import_rows
from catalog.database import Catalog, forget_catalog, open_catalog
from catalog.schema import _config, head_revision
from catalog.tables import ApiTokenTable
from schemas.settings import Settings
from services import users as user_service
from sohoa.errors import InvalidRequestError
from web.app import create_app

PASSWORD = "mat-khau-du-dai-1"
PASSPHRASE = "ngựa vằn ăn cỏ bên sông Hồng"
CLI = Actor("root", via="cli")
WEAK = ("aaaaaaaaaaaa", "password1234", "hoa.nguyen2026")
"""A repeat, a common password with digits, and the account name with the year: each
twelve characters or more, so each passed the length-only policy."""
RECORD = "a" * 64


class Clock:
    """The app's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(tmp_path, catalog_url) -> Settings:
    return Settings(data_dir=tmp_path / "data", catalog_url=catalog_url)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings, clock):
    user_service.add_user(settings, "an.admin", PASSWORD, role="admin", actor=CLI)
    user_service.add_user(settings, "binh.audit", PASSWORD, role="auditor", actor=CLI)
    user_service.add_user(settings, "chi.clerk", PASSWORD, role="clerk", actor=CLI)
    return create_app(settings, clock=clock)


def browser(app) -> TestClient:
    return TestClient(app, follow_redirects=False)


def signed_in(app, name: str) -> TestClient:
    client = browser(app)
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return client


def cli(settings, *args: str, lang: str = "en"):
    from typer.testing import CliRunner

    from cli.app import app as cli_app

    env = {"SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_LANG": lang}
    env |= {"SOHOA_CATALOG_URL": settings.catalog_url} if settings.catalog_url else {}
    return CliRunner().invoke(cli_app, list(args), env=env)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(settings, clock: Clock, name: str, label: str, **options) -> str:
    """A token made at the app clock's time (so moving the clock ages it)."""
    made = user_service.create_token(settings, name, label, actor=CLI, now=clock.now, **options)
    return made["token"]


def entries(settings, action: str) -> list[audit_log.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit_log.query(catalog, AuditFilter(action=action), per_page=500).entries)


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", WEAK)
def test_sohoa_users_add_and_password_refuse_a_guessable_password(settings, tmp_path, weak):
    secret = tmp_path / "pw"
    secret.write_text(weak + "\n")
    added = cli(
        settings, "users", "add", "hoa.nguyen", "--role", "clerk", "--password-file", str(secret)
    )
    assert added.exit_code == 2, added.output
    assert "too easy to guess" in added.output and "/4" in added.output
    assert accounts.list_users(open_catalog(settings.resolved_catalog_url)) == []
    secret.write_text(PASSPHRASE + "\n")
    ok = cli(
        settings, "users", "add", "hoa.nguyen", "--role", "clerk", "--password-file", str(secret)
    )
    assert ok.exit_code == 0, ok.output
    secret.write_text(weak + "\n")
    reset = cli(
        settings, "users", "password", "hoa.nguyen", "--password-file", str(secret), lang="vi"
    )
    assert reset.exit_code == 2 and "quá dễ đoán" in reset.output
    catalog = open_catalog(settings.resolved_catalog_url)
    assert accounts.authenticate(catalog, "hoa.nguyen", PASSPHRASE)[1] == "ok"  # unchanged


def test_the_refusal_says_why_in_vietnamese_and_passes_zxcvbns_advice_in_english(settings):
    with pytest.raises(InvalidRequestError) as caught:
        user_service.add_user(settings, "an.admin", "aaaaaaaaaaaa", role="admin", actor=CLI)
    assert caught.value.key == "password_weak"
    vietnamese, english = caught.value.render("vi"), caught.value.render("en")
    assert "quá dễ đoán (độ mạnh 0/4, cần 3/4)" in vietnamese and "Repeats" not in vietnamese
    assert 'Repeats like "aaa" are easy to guess.' in english


@pytest.mark.parametrize(
    "weak", ["sohoa123456789", "Matkhau@2026", "Mật khẩu 2026", "an.admin123456"]
)
def test_the_account_name_and_local_words_are_guessed_first(settings, weak):
    """zxcvbn alone scores "Matkhau@2026" 3 (it knows no Vietnamese) and the name is
    nothing to it: both come from the words it is given."""
    with pytest.raises(InvalidRequestError) as caught:
        user_service.add_user(settings, "an.admin", weak, role="admin", actor=CLI)
    assert caught.value.key == "password_weak"


def test_the_admin_pages_refuse_a_guessable_password_with_the_reason(app, settings):
    admin = signed_in(app, "an.admin")
    form = {"name": "dao.moi", "role": "clerk", "password": "password1234"}
    form |= {"password2": "password1234", "csrf_token": csrf_of(admin.get("/admin/users").text)}
    created = admin.post("/admin/users", data=form)
    assert created.status_code == 400 and "quá dễ đoán" in created.text
    catalog = open_catalog(settings.resolved_catalog_url)
    assert "dao.moi" not in [u.name for u in accounts.list_users(catalog)]
    weak = {"password": "chi.clerk2026", "password2": "chi.clerk2026"}
    weak["csrf_token"] = csrf_of(admin.get("/admin/users").text)
    reset = admin.post("/admin/users/chi.clerk/password", data=weak)
    assert reset.status_code == 400 and "quá dễ đoán" in reset.text
    strong = {"password": PASSPHRASE, "password2": PASSPHRASE}
    strong["csrf_token"] = csrf_of(admin.get("/admin/users").text)
    assert admin.post("/admin/users/chi.clerk/password", data=strong).status_code == 303
    assert accounts.authenticate(catalog, "chi.clerk", PASSPHRASE)[1] == "ok"


def test_the_strength_floor_is_a_setting(tmp_path):
    """``web.min_password_strength = 0`` is the old length-only rule, said outright."""
    lax = Settings(data_dir=tmp_path / "data", web={"min_password_strength": 0})
    user_service.add_user(lax, "lan.le", "password1234", role="clerk", actor=CLI)
    with pytest.raises(InvalidRequestError):
        user_service.add_user(lax, "mai.le", "ngan", role="clerk", actor=CLI)  # length still counts


# --- tokens expire -----------------------------------------------------------------------------


def test_an_expired_token_gets_401_saying_it_expired(app, settings, clock):
    token = make_token(settings, clock, "binh.audit", "bao-cao", days=1)
    api = browser(app)
    assert api.get("/api/me", headers=bearer(token)).json()["expires_at"] is not None
    clock.now += timedelta(days=1, seconds=1)
    answer = api.get("/api/me", headers=bearer(token))
    assert answer.status_code == 401
    assert answer.json()["error"] == "web_token_expired"
    assert "bao-cao" in answer.json()["message"] and "hết hạn" in answer.json()["message"]
    assert entries(settings, Action.TOKEN_REJECTED)[0].detail["reason"] == "expired"


def test_a_token_is_given_90_days_unless_told_otherwise(app, settings, clock):
    token = make_token(settings, clock, "binh.audit", "mac-dinh")
    api = browser(app)
    clock.now += timedelta(days=89)
    assert api.get("/api/me", headers=bearer(token)).status_code == 200
    clock.now += timedelta(days=1)
    assert api.get("/api/me", headers=bearer(token)).status_code == 401


def test_a_token_made_with_an_expiry_in_the_past_never_works(app, settings, clock):
    catalog = open_catalog(settings.resolved_catalog_url)
    made_at = clock.now - timedelta(days=30)
    token, _ = api_tokens.create_token(
        catalog, "binh.audit", "cu", expires_at=clock.now - timedelta(days=1), now=made_at
    )
    assert browser(app).get("/api/me", headers=bearer(token)).status_code == 401
    with pytest.raises(InvalidRequestError):  # not made expired in the first place
        api_tokens.create_token(catalog, "binh.audit", "cu2", expires_at=made_at, now=clock.now)


def test_an_expired_token_is_renewed_under_its_own_label(app, settings, clock):
    old = make_token(settings, clock, "binh.audit", "may-quet", days=1)
    with pytest.raises(InvalidRequestError):  # ConflictError: it still works
        make_token(settings, clock, "binh.audit", "may-quet")
    clock.now += timedelta(days=2)
    new = make_token(settings, clock, "binh.audit", "may-quet")
    api = browser(app)
    assert api.get("/api/me", headers=bearer(new)).status_code == 200
    assert api.get("/api/me", headers=bearer(old)).status_code == 401
    listed = user_service.list_tokens(settings, "binh.audit", now=clock.now)
    assert [(t["active"], t["revoked_at"] is not None) for t in listed] == [
        (True, False),
        (False, True),
    ]


# --- tokens may only read ----------------------------------------------------------------------


def test_a_read_token_reads_but_every_state_changing_call_is_403(app, settings, clock):
    token = make_token(settings, clock, "binh.audit", "chi-doc", scope="read")
    api = browser(app)
    me = api.get("/api/me", headers=bearer(token)).json()
    assert me["scope"] == "read" and me["name"] == "binh.audit"
    assert api.get("/api/search", params={"q": "khai sinh"}, headers=bearer(token)).is_success
    assert api.get("/api/fixity", headers=bearer(token)).is_success
    for path in (f"/api/records/{RECORD}/verify", "/api/fixity"):
        refused = api.post(path, headers=bearer(token), json={})
        assert refused.status_code == 403, path
        assert refused.json()["error"] == "web_token_read_only"
    denied = entries(settings, Action.ACCESS_DENIED)
    assert {e.username for e in denied} == {"binh.audit"} and len(denied) == 2


def test_a_full_token_still_acts_with_its_role(app, settings, clock):
    token = make_token(settings, clock, "binh.audit", "day-du")
    api = browser(app)
    assert api.get("/api/me", headers=bearer(token)).json()["scope"] == "full"
    assert api.get("/api/search", params={"q": "khai sinh"}, headers=bearer(token)).is_success
    answer = api.post(f"/api/records/{RECORD}/verify", headers=bearer(token))
    assert answer.status_code == 404  # let through: there is no such record
    clerk = make_token(settings, clock, "chi.clerk", "tai-len")
    assert api.post(f"/api/records/{RECORD}/verify", headers=bearer(clerk)).status_code == 403
    assert api.get("/api/batches", headers=bearer(clerk)).is_success  # the role, unchanged


class Body:
    """``size`` bytes handed over in 8 KB chunks; ``read`` is what the app pulled."""

    def __init__(self, size: int) -> None:
        self.size, self.read = size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.read < self.size:
            chunk = b"x" * min(8192, self.size - self.read)
            self.read += len(chunk)
            yield chunk


def test_a_read_tokens_upload_is_refused_before_its_body_is_read(app, settings, clock):
    """A clerk's read token may list batches, not upload: 403 with nothing of 50 MB read."""
    token = make_token(settings, clock, "chi.clerk", "chi-doc", scope="read")
    body = Body(50 * 1024 * 1024)
    headers = {"content-type": "multipart/form-data; boundary=b", **bearer(token)}

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sohoa.test") as http:
            return await http.post("/api/uploads", content=body, headers=headers)

    answer = asyncio.run(go())
    assert (answer.status_code, body.read) == (403, 0)
    assert answer.json()["error"] == "web_token_read_only"
    assert browser(app).get("/api/batches", headers=bearer(token)).is_success


# --- the command line --------------------------------------------------------------------------


def test_sohoa_users_token_sets_scope_and_expiry_and_the_list_shows_both(settings, app):
    made = cli(settings, "users", "token", "binh.audit", "--name", "bao-cao", "--scope", "read")
    assert made.exit_code == 0, made.output
    assert "Scope read; works until" in made.output
    assert made.stdout.strip().splitlines()[-1].startswith("sohoa_")
    week = cli(settings, "users", "token", "binh.audit", "--name", "tuan", "--days", "7")
    assert week.exit_code == 0, week.output
    forever = cli(settings, "users", "token", "binh.audit", "--name", "mai-mai", "--no-expiry")
    assert forever.exit_code == 0 and "never expires" in forever.output
    listed = json.loads(cli(settings, "users", "tokens", "binh.audit", "--json").stdout)
    by_name = {t["name"]: t for t in listed}
    assert by_name["bao-cao"]["scope"] == "read" and by_name["tuan"]["scope"] == "full"
    now = datetime.now(UTC)
    left = datetime.fromisoformat(by_name["tuan"]["expires_at"]) - now
    assert timedelta(days=6) < left <= timedelta(days=7)
    left = datetime.fromisoformat(by_name["bao-cao"]["expires_at"]) - now
    assert timedelta(days=89) < left <= timedelta(days=90)
    assert by_name["mai-mai"]["expires_at"] is None
    table = " ".join(cli(settings, "users", "tokens", "binh.audit").stdout.split())
    assert "Scope" in table and "Expires" in table and "never" in table and "read" in table


@pytest.mark.parametrize(
    "options",
    [("--days", "0"), ("--days", "5000"), ("--days", "5", "--no-expiry"), ("--scope", "admin")],
)
def test_sohoa_users_token_refuses_nonsense_with_exit_code_2(settings, app, options):
    done = cli(settings, "users", "token", "binh.audit", "--name", "x1", *options)
    assert done.exit_code == 2, done.output
    assert user_service.list_tokens(settings, "binh.audit") == []


# --- the catalog: upgrade, backup, rebuild -----------------------------------------------------


def _catalog_at_0003_with_a_token(url: str) -> str:
    """A catalog exactly as revision 0003 left it, holding one account and one token."""
    from alembic import command

    engine = create_engine(parse(url))
    at = datetime(2025, 6, 1)
    token = api_tokens.TOKEN_PREFIX + "made-before-tokens-expired"
    try:
        with engine.begin() as connection:
            command.upgrade(_config(connection), "0003")
            connection.execute(
                text(
                    "INSERT INTO users (name, password_hash, role, unit, active, created_at,"
                    " password_changed_at) VALUES ('kiem.tra', :hash, 'auditor', NULL, :yes,"
                    " :at, :at)"
                ),
                {"hash": PasswordHasher().hash(PASSWORD), "yes": True, "at": at},
            )
            connection.execute(
                text(
                    "INSERT INTO api_tokens (token_hash, user_id, name, created_at)"
                    " SELECT :hash, id, 'cu', :at FROM users"
                ),
                {"hash": digest(token), "at": at},
            )
    finally:
        engine.dispose()
    return token


def test_an_old_catalogs_tokens_keep_working_without_expiry_after_the_upgrade(settings, clock):
    url = settings.resolved_catalog_url
    (settings.data_dir).mkdir(parents=True, exist_ok=True)
    token = _catalog_at_0003_with_a_token(url)
    with Catalog(url) as catalog:
        assert catalog.layout_revisions == ("0003", head_revision())
    app = create_app(settings, clock=clock)
    me = browser(app).get("/api/me", headers=bearer(token))
    assert me.status_code == 200 and me.json()["scope"] == "full"
    assert me.json()["expires_at"] is None
    table = " ".join(cli(settings, "users", "tokens", "kiem.tra").stdout.split())
    assert "│ cu │ full │" in table and "never" in table
    assert user_service.revoke_token(settings, "kiem.tra", "cu", actor=CLI)["revoked_at"]
    assert browser(app).get("/api/me", headers=bearer(token)).status_code == 401


def _token_columns(catalog: Catalog) -> list[tuple]:
    return [(t.name, t.scope, t.expires_at) for t in api_tokens.list_tokens(catalog)]


def test_a_rebuild_and_a_backup_keep_each_tokens_scope_and_expiry(settings, clock):
    from records.catalog_backup import read_backup, restore_part, write_backup
    from services.integrity import rebuild_catalog
    from storage.stores import open_store

    user_service.add_user(settings, "binh.audit", PASSWORD, role="auditor", actor=CLI)
    make_token(settings, clock, "binh.audit", "doc", scope="read", days=7)
    make_token(settings, clock, "binh.audit", "mai", expires=False)
    url = settings.resolved_catalog_url
    before = _token_columns(open_catalog(url))
    assert {(n, s) for n, s, _ in before} == {("doc", "read"), ("mai", "full")}
    assert rebuild_catalog(settings).replaced  # carried over from the old catalog
    forget_catalog(url)
    assert _token_columns(open_catalog(url)) == before
    store = open_store(settings)
    backup = write_backup(open_catalog(url), store)
    fresh = Catalog(f"sqlite:///{settings.data_dir / 'fresh.sqlite'}")
    restore_part(read_backup(store, backup.key), "accounts", fresh)
    assert _token_columns(fresh) == before
    fresh.close()


def test_a_backup_from_before_tokens_had_a_scope_restores_them_full_and_never_expiring(
    settings,
):
    """Backups written before revision 0004 hold no ``scope``: NULL would break the row."""
    from catalog.tables import UserTable

    catalog = open_catalog(settings.resolved_catalog_url)
    user = accounts.create_user(catalog, "kiem.tra", PASSWORD, role="auditor")
    day = "2025-06-01T00:00:00"
    account = {"id": user.id, "name": user.name, "password_hash": "x", "role": "auditor"}
    account |= {"unit": None, "active": True, "created_at": day, "password_changed_at": day}
    old_token = {"id": 7, "token_hash": "0" * 64, "user_id": user.id, "name": "cu"}
    old_token |= {"created_at": day, "last_used_at": None, "revoked_at": None}
    fresh = Catalog(f"sqlite:///{settings.data_dir / 'fresh.sqlite'}")
    import_rows(fresh, [(UserTable, [account]), (ApiTokenTable, [old_token])])
    assert _token_columns(fresh) == [("cu", "full", None)]
    fresh.close()
