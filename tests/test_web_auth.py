"""The web app's foundation: accounts, sessions, CSRF, sign-in limits, roles, API tokens, audit log.

Every test runs the real app (``web.app.create_app``) against a real SQLite catalog
in ``tmp_path`` through FastAPI's TestClient, with a settable clock instead of
sleeps. Passwords are hashed with the real argon2id parameters.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import create_engine, text
from starlette.requests import Request
from webclient import TestClient, csrf_of

from catalog import accounts as users
from catalog import audit as audit_log
from catalog import tokens as api_tokens
from catalog import units
from catalog.audit import Action, Actor, AuditFilter
from catalog.database import Catalog, open_catalog
from schemas.settings import Settings
from services import users as user_service
from sohoa.errors import NotFoundError
from web.app import create_app
from web.auth import Principal, check_unit

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
SOHOA = Path(sys.executable).with_name("sohoa")


class Clock:
    """The app's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def settings(tmp_path, catalog_url) -> Settings:
    """Accounts, sessions and the audit log on each catalog backend (SQLite, PostgreSQL)."""
    return Settings(
        data_dir=tmp_path / "data",
        catalog_url=catalog_url,
        web={
            "login_max_failures": 3,
            "login_max_failures_per_ip": 6,
            "login_window_minutes": 10,
            "session_hours": 2,
            "idle_minutes": 30,
        },
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings, clock):
    return create_app(settings, clock=clock)


@pytest.fixture
def people(settings) -> dict[str, str]:
    """One account per role (the clerk limited to unit H56.01)."""
    user_service.add_user(settings, "an.admin", PASSWORD, role="admin", actor=CLI)
    user_service.add_user(settings, "binh.audit", PASSWORD, role="auditor", actor=CLI)
    user_service.add_user(settings, "chi.clerk", PASSWORD, role="clerk", unit="H56.01", actor=CLI)
    return {"admin": "an.admin", "auditor": "binh.audit", "clerk": "chi.clerk"}


def client(app, **kw) -> TestClient:
    return TestClient(app, follow_redirects=False, **kw)


def login(browser: TestClient, name: str, password: str = PASSWORD, **extra) -> httpx.Response:
    token = csrf_of(browser.get("/login").text)
    return browser.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, **extra}
    )


def signed_in(app, name: str) -> TestClient:
    browser = client(app)
    assert login(browser, name).status_code == 303
    return browser


def page_token(browser: TestClient, path: str = "/") -> str:
    return csrf_of(browser.get(path).text)


def entries(settings, action: str | None = None) -> list[audit_log.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit_log.query(catalog, AuditFilter(action=action), per_page=500).entries)


def catalog_of(settings) -> Catalog:
    return open_catalog(settings.resolved_catalog_url)


def rows(settings, query: str) -> list[tuple]:
    """What the catalog database itself holds, read past sohoa's own code (either backend)."""
    engine = create_engine(
        settings.resolved_catalog_url.replace("postgresql:", "postgresql+psycopg:")
    )
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


# --- passwords ---------------------------------------------------------------------------------


def test_passwords_are_argon2id_and_only_the_right_one_signs_in(settings, people):
    stored = rows(settings, "select password_hash from users where name='an.admin'")[0]
    assert stored[0].startswith("$argon2id$") and PASSWORD not in stored[0]
    catalog = catalog_of(settings)
    assert users.authenticate(catalog, "an.admin", "sai-mat-khau-roi") == (None, "bad_password")
    assert users.authenticate(catalog, "nobody", PASSWORD) == (None, "unknown_user")
    user, reason = users.authenticate(catalog, "AN.ADMIN", PASSWORD)  # names are case-blind
    assert reason == "ok" and user is not None and user.role == "admin"


def test_a_hash_with_old_parameters_is_replaced_at_sign_in(settings):
    catalog = catalog_of(settings)
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    users.create_user(catalog, "dung", PASSWORD, role="clerk", hasher=cheap)

    def stored() -> str:
        return rows(settings, "select password_hash from users where name='dung'")[0][0]

    assert "m=8," in stored()
    user, reason = users.authenticate(catalog, "dung", PASSWORD)
    assert reason == "ok" and user is not None
    assert "m=65536," in stored()
    assert users.authenticate(catalog, "dung", PASSWORD)[1] == "ok"


@pytest.mark.parametrize(
    ("name", "password", "key"),
    [
        ("x", PASSWORD, "bad_user_name"),
        ("Nguyễn Văn A", PASSWORD, "bad_user_name"),
        ("hoa", "ngan", "password_too_short"),
        ("hoa.le.thi.mai", "hoa.le.thi.mai", "password_is_name"),
    ],
)
def test_account_rules_refuse_bad_names_and_passwords(settings, name, password, key):
    with pytest.raises(Exception) as caught:
        user_service.add_user(settings, name, password, role="clerk", actor=CLI)
    assert getattr(caught.value, "key", None) == key
    assert users.list_users(catalog_of(settings)) == []


# --- health, headers, login, logout ------------------------------------------------------------


def test_health_needs_no_sign_in_and_every_answer_has_the_security_headers(app):
    browser = client(app)
    health = browser.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    for response in (health, browser.get("/login"), browser.get("/")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    login_page = browser.get("/login").text
    assert "<script>" not in login_page and " style=" not in login_page  # no inline code
    assert browser.get("/static/app.js").status_code == 200


def test_login_opens_a_session_and_logout_ends_it(app, people):
    browser = client(app)
    answer = login(browser, "an.admin", next="/admin/users")
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/users"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("sohoa_session=") and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie  # plain http here
    session_id = browser.cookies["sohoa_session"]
    home = browser.get("/")
    assert home.status_code == 200 and "an.admin" in home.text
    assert browser.get("/login").status_code == 303  # already signed in
    bye = browser.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert bye.status_code == 303 and bye.headers["location"] == "/login"
    assert browser.get("/").status_code == 303
    replay = client(app, cookies={"sohoa_session": session_id})
    assert replay.get("/").headers["location"].startswith("/login")  # the row is gone


def test_cookies_are_secure_over_https_or_when_configured(app, people, settings, clock):
    browser = client(app, base_url="https://testserver")
    answer = login(browser, "an.admin")
    assert "Secure" in answer.headers["set-cookie"]
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    always = settings.model_copy(
        update={"web": settings.web.model_copy(update={"secure_cookies": "always"})}
    )
    page = client(create_app(always, clock=clock)).get("/login")
    assert "Secure" in page.headers["set-cookie"]


def test_a_failed_login_says_the_same_whether_the_account_exists(app, people):
    wrong = login(client(app), "an.admin", "khong-dung-mat-khau")
    unknown = login(client(app), "khong.co.ai", "khong-dung-mat-khau")
    users.set_active(catalog_of(app.state.settings), "binh.audit", False)
    disabled = login(client(app), "binh.audit")
    assert wrong.status_code == unknown.status_code == disabled.status_code == 401
    texts = [
        re.search(r'role="alert">([^<]+)<', r.text).group(1) for r in (wrong, unknown, disabled)
    ]
    assert texts[0] == texts[1] == texts[2]
    assert "sohoa_session" not in wrong.headers.get("set-cookie", "")


def test_after_login_the_next_page_is_always_on_this_site(app, people):
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = login(client(app), "an.admin", next=evil)
        assert answer.headers["location"] == "/"
    assert login(client(app), "an.admin", next="/admin/audit?page=2").headers["location"] == (
        "/admin/audit?page=2"
    )


def test_sessions_end_after_idle_time_and_after_their_lifetime(app, people, clock):
    browser = signed_in(app, "an.admin")
    clock.advance(minutes=29)
    assert browser.get("/").status_code == 200
    clock.advance(minutes=31)  # 31 idle minutes > 30
    assert browser.get("/").headers["location"].startswith("/login")

    browser = signed_in(app, "an.admin")
    for _ in range(4):  # active every 25 minutes, but 2 hours is the absolute limit
        clock.advance(minutes=25)
        assert browser.get("/").status_code == 200
    clock.advance(minutes=25)  # 125 minutes after sign-in
    assert browser.get("/").status_code == 303


# --- CSRF --------------------------------------------------------------------------------------


def test_login_form_needs_its_csrf_token(app, people, settings):
    browser = client(app)
    token = csrf_of(browser.get("/login").text)
    form = {"name": "an.admin", "password": PASSWORD}
    assert browser.post("/login", data=form).status_code == 403
    changed = ("y" if token[0] == "x" else "x") + token[1:]  # a token starting with x: 1 in 64
    assert browser.post("/login", data={**form, "csrf_token": changed}).status_code == 403
    other = client(app)
    other_token = csrf_of(other.get("/login").text)
    assert browser.post("/login", data={**form, "csrf_token": other_token}).status_code == 403
    assert client(app).post("/login", data={**form, "csrf_token": token}).status_code == 403
    assert browser.post("/login", data={**form, "csrf_token": token}).status_code == 303
    rejected = entries(settings, Action.CSRF_REJECTED)  # nobody signed in: the first of the
    assert [e.target for e in rejected] == ["/login"]  # minute only (test_attack_anonymous)


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(app, people, settings):
    browser = signed_in(app, "an.admin")
    good = page_token(browser)
    posts = sorted(path for path, methods in app.state.route_methods if "POST" in methods)
    assert {"/login", "/logout", "/admin/users", "/admin/users/{name}/disable"} <= set(posts)
    form = {"name": "eve.x", "role": "admin", "password": PASSWORD, "password2": PASSWORD}
    for path in posts:
        url = path.replace("{name}", "binh.audit")
        assert browser.post(url, data=form).status_code == 403, url
        assert browser.post(url, data={**form, "csrf_token": good[::-1]}).status_code == 403, url
        sent = browser.post(url, data=form, headers={"X-CSRF-Token": "nope"})
        assert sent.status_code == 403, url
    assert browser.get("/").status_code == 200  # still signed in: /logout did nothing
    assert [u.name for u in users.list_users(catalog_of(settings))] == [
        "an.admin",
        "binh.audit",
        "chi.clerk",
    ]
    assert users.get_user(catalog_of(settings), "binh.audit").active


def test_the_csrf_header_works_for_fetch_and_a_new_session_gets_a_new_token(app, people):
    browser = client(app)
    before = csrf_of(browser.get("/login").text)
    login(browser, "an.admin")
    after = page_token(browser)
    assert after != before
    assert browser.post("/logout", headers={"X-CSRF-Token": before}).status_code == 403
    assert browser.post("/logout", headers={"X-CSRF-Token": after}).status_code == 303


# --- sign-in limits ----------------------------------------------------------------------------


def test_repeated_failures_lock_the_name_with_retry_after(app, people, settings, clock):
    browser = client(app)
    for _ in range(3):
        assert login(browser, "an.admin", "sai-mat-khau-xx").status_code == 401
    locked = login(browser, "an.admin")  # even the right password is not checked now
    assert locked.status_code == 429
    wait = int(locked.headers["retry-after"])
    assert 0 < wait <= 600
    unknown = [login(browser, "khong.ai", "sai-mat-khau-xx") for _ in range(4)][-1]
    assert unknown.status_code == 429  # the same answer for a name that does not exist
    strip = re.compile(r"\d+")
    message = re.search(r'role="alert">([^<]+)<', locked.text).group(1)
    assert strip.sub("N", message) == strip.sub(
        "N", re.search(r'role="alert">([^<]+)<', unknown.text).group(1)
    )
    blocked = entries(settings, Action.LOGIN_BLOCKED)  # one per address and minute
    assert [e.username for e in blocked] == ["an.admin"]
    clock.advance(seconds=wait)
    assert login(browser, "an.admin").status_code == 303


def test_many_names_from_one_address_are_limited_too(app, people):
    browser = client(app)
    names = [f"thu.{i}" for i in range(6)]
    assert all(login(browser, n, "sai-mat-khau-xx").status_code == 401 for n in names)
    assert login(browser, "binh.audit").status_code == 429


def test_every_web_process_on_one_catalog_shares_the_limit_and_a_restart_keeps_it(
    settings, clock, people
):
    """Two apps on one catalog (two ``sohoa serve`` processes, or machines behind a load
    balancer): failures at one count at the other, and a new process still knows them."""
    first, second = create_app(settings, clock=clock), create_app(settings, clock=clock)
    assert login(client(first), "an.admin", "sai-mat-khau-xx").status_code == 401
    assert login(client(second), "an.admin", "sai-mat-khau-xx").status_code == 401
    assert login(client(first), "an.admin", "sai-mat-khau-xx").status_code == 401
    assert login(client(second), "an.admin").status_code == 429
    restarted = create_app(settings, clock=clock)
    assert login(client(restarted), "an.admin").status_code == 429
    stored = rows(settings, "select key from sign_in_failures")
    assert stored and not any("an.admin" in key or "testclient" in key for (key,) in stored)
    clock.advance(minutes=settings.web.login_window_minutes)
    assert login(client(restarted), "an.admin").status_code == 303
    assert login(client(first), "chi.clerk", "sai-mat-khau-xx").status_code == 401
    # the old ones pruned: three rows, the (name, address) pair's, the name's, the address's
    assert len(rows(settings, "select key from sign_in_failures")) == 3


# --- roles -------------------------------------------------------------------------------------

PAGES = ["/", "/admin/users", "/admin/audit", "/api/me", "/api/audit", "/api/openapi.json"]
ALLOWED = {
    "clerk": {"/", "/api/me", "/api/openapi.json"},
    "auditor": {"/", "/api/me", "/api/openapi.json"},
    "admin": set(PAGES),
}


def test_anonymous_pages_redirect_to_login_and_api_calls_get_401(app):
    browser = client(app)
    for path in PAGES:
        answer = browser.get(path)
        if path.startswith("/api/"):
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert answer.json()["error"] == "web_login_required"
        else:
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/login?next=" + path.replace("/", "%2F")


@pytest.mark.parametrize("role", ["clerk", "auditor", "admin"])
def test_each_role_gets_its_pages_and_403_elsewhere(app, people, settings, role):
    browser = signed_in(app, people[role])
    for path in PAGES:
        expected = 200 if path in ALLOWED[role] else 403
        assert browser.get(path).status_code == expected, (role, path)
    denied = [e for e in entries(settings, Action.ACCESS_DENIED) if e.username == people[role]]
    assert sorted(e.target for e in denied) == sorted(set(PAGES) - ALLOWED[role])


def test_a_clerk_cannot_create_accounts_even_with_a_valid_token(app, people, settings):
    browser = signed_in(app, "chi.clerk")
    form = {"name": "moi", "role": "admin", "password": PASSWORD, "password2": PASSWORD}
    answer = browser.post("/admin/users", data={**form, "csrf_token": page_token(browser)})
    assert answer.status_code == 403
    assert "moi" not in [u.name for u in users.list_users(catalog_of(settings))]


def test_the_home_page_lists_what_the_role_can_do(app, people):
    clerk = signed_in(app, "chi.clerk").get("/?lang=en").text
    assert "Upload scans" in clerk and "Review" in clerk and "H56.01" in clerk
    assert 'href="/admin/users"' not in clerk and "Audit log" not in clerk
    admin = signed_in(app, "an.admin").get("/?lang=en").text
    assert 'href="/admin/users"' in admin and 'href="/admin/audit"' in admin
    assert "Upload scans" not in admin


def test_unit_scope_and_domain_errors_map_to_http_statuses(app, people, settings):
    units.save_unit(open_catalog(settings.resolved_catalog_url), "H56", name="Huyện Gio Linh")
    units.save_unit(
        open_catalog(settings.resolved_catalog_url), "H56.01", name="Xã Gio Mỹ", parent="H56"
    )
    commune = Principal(1, "chi.clerk", "clerk", "H56.01", "web")
    district = Principal(1, "chi.clerk", "clerk", "H56", "web")
    everyone = Principal(2, "binh.audit", "auditor", None, "web")

    @app.get("/api/probe/{who}/{unit}")
    def probe(request: Request, who: str, unit: str) -> dict:
        check_unit(request, {"commune": commune, "district": district, "all": everyone}[who], unit)
        return {"ok": True}

    @app.get("/api/probe/{what}")
    def missing(what: str) -> dict:
        raise NotFoundError(what="record", name=what)

    browser = client(app)
    allowed = {
        ("commune", "H56.01"): 200, ("commune", "H56.02"): 403, ("commune", "H56"): 403,
        ("district", "H56"): 200, ("district", "H56.01"): 200, ("district", "H57"): 403,
        ("all", "H57"): 200,
    }  # fmt: skip
    for (who, unit), status in allowed.items():
        assert browser.get(f"/api/probe/{who}/{unit}").status_code == status, (who, unit)
    missing_page = browser.get("/api/probe/abc", headers={"accept-language": "en"})
    assert missing_page.status_code == 404
    assert missing_page.json() == {"error": "not_found", "message": "Not found: record abc"}


def test_every_page_the_navigation_offers_is_served(app, people, settings):
    """No entry of web/roles.NAV is left as "coming": each links to a page that answers."""
    from web.roles import NAV, permissions_of

    for role, name in people.items():
        browser = signed_in(app, name)
        home = browser.get("/").text
        assert "sắp có" not in home, role
        for item in NAV:
            if item.permission in permissions_of(role):
                assert f'href="{item.path}"' in home, (role, item.path)
                assert browser.get(item.path).status_code == 200, (role, item.path)


# --- API tokens --------------------------------------------------------------------------------


def test_api_tokens_authenticate_until_revoked_or_disabled(app, people, settings, clock):
    made = user_service.create_token(settings, "binh.audit", "script-1", actor=CLI)
    token = made["token"]
    assert token.startswith("sohoa_")
    assert token not in json.dumps(rows(settings, "select * from api_tokens"), default=str)
    api = client(app)
    bearer = {"Authorization": f"Bearer {token}"}
    me = api.get("/api/me", headers=bearer)
    assert me.status_code == 200 and me.json()["name"] == "binh.audit"
    assert me.json()["via"] == "api" and "search" in me.json()["permissions"]
    assert api.get("/api/audit", headers=bearer).status_code == 403
    wrong = api.get("/api/me", headers={"Authorization": f"Bearer {token[:-2]}xx"})
    assert wrong.status_code == 401
    assert api_tokens.list_tokens(catalog_of(settings), "binh.audit")[0].last_used_at is not None

    user_service.revoke_token(settings, "binh.audit", "script-1", actor=CLI)
    clock.advance(minutes=1)  # a refused token is logged once a minute per address
    assert api.get("/api/me", headers=bearer).status_code == 401
    again = user_service.create_token(settings, "binh.audit", "script-1", actor=CLI)["token"]
    assert api.get("/api/me", headers={"Authorization": f"Bearer {again}"}).status_code == 200
    user_service.set_active(settings, "binh.audit", False, actor=CLI)
    clock.advance(minutes=1)
    assert api.get("/api/me", headers={"Authorization": f"Bearer {again}"}).status_code == 401
    assert len(entries(settings, Action.TOKEN_REJECTED)) == 3


def test_a_bearer_call_ignores_cookies(app, people, settings):
    browser = signed_in(app, "an.admin")
    answer = browser.get("/api/me", headers={"Authorization": "Bearer sohoa_not-a-token"})
    assert answer.status_code == 401  # the admin's session cookie does not rescue it
    assert browser.get("/api/me").json()["via"] == "web"


def test_the_openapi_description_is_served_to_signed_in_callers(app, people, settings):
    assert client(app).get("/api/openapi.json").status_code == 401
    token = user_service.create_token(settings, "chi.clerk", "doc", actor=CLI)["token"]
    spec = client(app).get("/api/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert spec.status_code == 200
    body = spec.json()
    assert {"/api/me", "/api/audit", "/health"} <= set(body["paths"])
    assert not any(p.startswith("/admin") or p == "/login" for p in body["paths"])
    assert body["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert client(app).get("/docs").status_code == 404  # Swagger UI would need a CDN


# --- audit log ---------------------------------------------------------------------------------


def test_logins_failures_account_changes_and_token_use_are_audited(app, people, settings):
    login(client(app, headers={"user-agent": "Trinh duyet 1"}), "an.admin")
    login(client(app), "an.admin", "sai-mat-khau-xx")
    admin = signed_in(app, "an.admin")
    form = {"name": "dao.moi", "role": "clerk", "unit": "H56.02", "password": PASSWORD}
    created = admin.post(
        "/admin/users", data={**form, "password2": PASSWORD, "csrf_token": page_token(admin)}
    )
    assert created.status_code == 303
    token = user_service.create_token(settings, "an.admin", "bao-cao", actor=CLI)["token"]
    assert client(app).get("/api/audit", headers={"Authorization": f"Bearer {token}"}).is_success

    first = entries(settings, Action.LOGIN)[-1]
    assert (first.username, first.role, first.ip, first.via) == (
        "an.admin",
        "admin",
        "testclient",
        "web",
    )
    assert first.user_agent == "Trinh duyet 1"
    failed = entries(settings, Action.LOGIN_FAILED)
    assert [(e.username, e.detail["reason"], e.user_id) for e in failed] == [
        ("an.admin", "bad_password", None)
    ]
    made = {e.target: e for e in entries(settings, Action.USER_CREATE)}
    assert made["dao.moi"].username == "an.admin" and made["dao.moi"].via == "web"
    assert made["dao.moi"].detail == {"role": "clerk", "unit": "H56.02"}
    assert made["chi.clerk"].via == "cli" and made["chi.clerk"].username == "root"
    assert entries(settings, Action.TOKEN_CREATE)[0].detail == {
        "token": "bao-cao",
        "scope": "full",
        "days": 90,
    }
    used = entries(settings, Action.AUDIT_VIEW)[0]
    assert (used.username, used.via) == ("an.admin", "api")
    assert all(PASSWORD not in json.dumps(e.to_dict()) for e in entries(settings))


def test_the_audit_page_filters_by_user_action_and_days_and_pages(app, people, settings):
    catalog = catalog_of(settings)
    start = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
    for i in range(60):
        who = Actor("binh.audit", 2, "auditor", "10.0.0.9", via="web")
        audit_log.record(
            catalog, who, Action.RECORD_VIEW, target=f"rec{i:03d}", now=start + timedelta(hours=i)
        )
    audit_log.record(catalog, Actor("chi.clerk"), Action.RECORD_CORRECT, target="x", now=start)
    admin = signed_in(app, "an.admin")
    page = admin.get("/admin/audit", params={"user": "binh.audit", "action": "record.*"})
    assert page.status_code == 200
    assert "rec059" in page.text and "rec009" not in page.text  # newest first, 50 a page
    assert 'href="?user=binh.audit&amp;action=record.%2A&amp;page=2"' in page.text
    second = admin.get(
        "/admin/audit", params={"user": "binh.audit", "action": "record.*", "page": 2}
    )
    assert "rec009" in second.text and "rec010" not in second.text
    # 1 to 2 February in Hanoi time: 03:00 UTC + i hours, up to 2 Feb 16:59 UTC
    api = admin.get(
        "/api/audit", params={"from": "2026-02-01", "to": "02/02/2026", "action": "record.view"}
    )
    assert api.status_code == 200 and api.json()["total"] == 38
    clerk = admin.get("/api/audit", params={"user": "CHI.CLERK"}).json()
    assert [e["action"] for e in clerk["entries"]] == ["record.correct"]
    assert admin.get("/admin/audit", params={"from": "hôm qua"}).status_code == 400
    assert (
        admin.get("/api/audit", params={"from": "2026-03-01", "to": "2026-02-01"}).status_code
        == 400
    )


def test_audit_detail_keeps_ids_and_masks_personal_data():
    clean = audit_log.clean_detail(
        {
            "field": "id_number",
            "value": "CCCD 045187002319, 0912 345 678, an@example.vn",
            "nested": {"a": 1},
            "bad key!": 1,
            "ids": ["r1", "r2"],
        }
    )
    assert clean["field"] == "id_number" and clean["ids"] == ["r1", "r2"]
    assert "045187002319" not in clean["value"] and "345 678" not in clean["value"]
    assert "an@example.vn" not in clean["value"]
    assert "bad key!" not in clean and isinstance(clean["nested"], str)


# --- account administration --------------------------------------------------------------------


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(app, people, settings):
    clerk = signed_in(app, "chi.clerk")
    admin = signed_in(app, "an.admin")
    done = admin.post("/admin/users/chi.clerk/disable", data={"csrf_token": page_token(admin)})
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?done=disabled"
    assert clerk.get("/").headers["location"].startswith("/login")
    assert login(client(app), "chi.clerk").status_code == 401
    assert entries(settings, Action.LOGIN_FAILED)[-1].detail["reason"] == "disabled"
    assert entries(settings, Action.USER_DISABLE)[-1].target == "chi.clerk"
    enabled = admin.post("/admin/users/chi.clerk/enable", data={"csrf_token": page_token(admin)})
    assert enabled.status_code == 303 and login(client(app), "chi.clerk").status_code == 303


def test_admin_pages_reset_passwords_change_roles_and_refuse_mistakes(app, people, settings):
    clerk = signed_in(app, "chi.clerk")
    admin = signed_in(app, "an.admin")
    new = "mat-khau-moi-hon-2"
    form = {"password": new, "password2": new, "csrf_token": page_token(admin)}
    assert admin.post("/admin/users/chi.clerk/password", data=form).status_code == 303
    assert clerk.get("/").status_code == 303  # the reset ended the clerk's session
    assert login(client(app), "chi.clerk", new).status_code == 303
    mismatch = admin.post("/admin/users/chi.clerk/password", data={**form, "password2": "khac"})
    assert mismatch.status_code == 400 and "không khớp" in mismatch.text
    role = {"role": "auditor", "unit": "", "csrf_token": page_token(admin)}
    assert admin.post("/admin/users/chi.clerk/role", data=role).status_code == 303
    changed = users.get_user(catalog_of(settings), "chi.clerk")
    assert (changed.role, changed.unit) == ("auditor", None)
    dup = {"name": "CHI.CLERK", "role": "clerk", "password": PASSWORD, "password2": PASSWORD}
    assert (
        admin.post("/admin/users", data={**dup, "csrf_token": page_token(admin)}).status_code == 409
    )
    self_off = admin.post("/admin/users/an.admin/disable", data={"csrf_token": page_token(admin)})
    assert self_off.status_code == 400
    demote = {"role": "clerk", "unit": "", "csrf_token": page_token(admin)}
    assert admin.post("/admin/users/an.admin/role", data=demote).status_code == 400  # last admin
    missing = admin.post("/admin/users/khong.co/disable", data={"csrf_token": page_token(admin)})
    assert missing.status_code == 404
    assert users.get_user(catalog_of(settings), "an.admin").role == "admin"


def test_accounts_and_the_audit_log_survive_a_catalog_rebuild(settings, people, app):
    from services.integrity import rebuild_catalog

    browser = signed_in(app, "an.admin")
    report = rebuild_catalog(settings)
    assert report.replaced and report.records == 0
    assert [u.name for u in users.list_users(catalog_of(settings))] == [
        "an.admin",
        "binh.audit",
        "chi.clerk",
    ]
    assert sorted(e.action for e in entries(settings)) == ["login"] + ["user.create"] * 3
    assert browser.get("/").status_code == 303  # sessions are not carried: sign in again
    assert login(client(app), "an.admin").status_code == 303


def test_accounts_and_the_audit_log_survive_a_catalog_copy(tmp_path, settings, people):
    source = catalog_of(settings)
    users.start_session(source, users.get_user(source, "an.admin"), lifetime=timedelta(hours=1))
    with Catalog(f"sqlite:///{tmp_path / 'new.sqlite'}") as target:
        assert users.copy_accounts(source, target) == 3
        assert [u.name for u in users.list_users(target)] == ["an.admin", "binh.audit", "chi.clerk"]
        assert audit_log.query(target).total == 3
        assert users.authenticate(target, "an.admin", PASSWORD)[1] == "ok"


# --- language, limits --------------------------------------------------------------------------


def test_pages_are_vietnamese_by_default_and_english_on_request(app):
    browser = client(app)
    assert "Đăng nhập" in browser.get("/login").text
    english = browser.get("/login?lang=en")
    assert "Sign in" in english.text and "sohoa_lang=en" in english.headers["set-cookie"]
    assert "Sign in" in browser.get("/login").text  # remembered
    other = client(app, headers={"accept-language": "en-GB,en;q=0.9,vi;q=0.5"})
    assert '<html lang="en">' in other.get("/login").text


def test_a_body_over_the_upload_limit_gets_413(settings, clock, people):
    small = settings.model_copy(
        update={"web": settings.web.model_copy(update={"max_upload_mb": 0.01})}
    )
    browser = client(create_app(small, clock=clock))
    token = csrf_of(browser.get("/login").text)
    big = browser.post("/login", data={"csrf_token": token, "name": "x" * 20_000})
    assert big.status_code == 413

    def chunks():
        yield b"csrf_token=" + token.encode() + b"&name="
        for _ in range(20):
            yield b"y" * 1000

    streamed = browser.post(
        "/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413


# --- the command line --------------------------------------------------------------------------


def _cli(settings, *args: str, input: str | None = None):
    from typer.testing import CliRunner

    from cli.app import app as cli_app

    env = {"SOHOA_DATA_DIR": str(settings.data_dir), "SOHOA_LANG": "en"}
    env |= {"SOHOA_CATALOG_URL": settings.catalog_url} if settings.catalog_url else {}
    return CliRunner().invoke(cli_app, list(args), input=input, env=env)


def test_cli_users_add_list_token_disable(settings, app, tmp_path):
    typed = _cli(
        settings, "users", "add", "Hoa.Admin", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert typed.exit_code == 0, typed.output
    assert "hoa.admin" in typed.output and PASSWORD not in typed.output
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n")
    added = _cli(
        settings,
        "users",
        "add",
        "lan",
        "--role",
        "clerk",
        "--unit",
        "H56.01",
        "--password-file",
        str(secret),
    )
    assert added.exit_code == 0, added.output
    assert (
        _cli(
            settings, "users", "add", "lan", "--role", "clerk", "--password-file", str(secret)
        ).exit_code
        == 2
    )
    short = tmp_path / "short.txt"
    short.write_text("ngan\n")
    refused = _cli(
        settings, "users", "add", "mai", "--role", "clerk", "--password-file", str(short)
    )
    assert refused.exit_code == 2 and "at least 12" in refused.output
    assert (
        _cli(
            settings, "users", "add", "mai", "--role", "boss", "--password-file", str(secret)
        ).exit_code
        == 2
    )
    listed = json.loads(_cli(settings, "users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["unit"]) for u in listed] == [
        ("hoa.admin", "admin", None),
        ("lan", "clerk", "H56.01"),
    ]
    assert login(client(app), "lan").status_code == 303

    made = _cli(settings, "users", "token", "lan", "--name", "may-quet")
    token = made.stdout.strip().splitlines()[-1]
    assert made.exit_code == 0 and token.startswith("sohoa_")
    assert (
        client(app).get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()["name"]
        == "lan"
    )
    assert _cli(settings, "users", "revoke", "lan", "--name", "may-quet").exit_code == 0
    assert (
        client(app).get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert _cli(settings, "users", "disable", "lan").exit_code == 0
    assert login(client(app), "lan").status_code == 401
    assert _cli(settings, "users", "disable", "hoa.admin").exit_code == 2  # the last admin
    created = [e for e in entries(settings, Action.USER_CREATE)]
    assert {e.via for e in created} == {"cli"} and len(created) == 2


def test_serve_refuses_to_start_without_an_administrator(settings):
    done = _cli(settings, "serve", "--port", "1")
    assert done.exit_code == 11
    assert "sohoa users add NAME --role admin" in " ".join(done.output.split())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sohoa_serve_answers_over_http_without_query_strings_in_its_log(settings, tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD)
    env = {"SOHOA_DATA_DIR": str(settings.data_dir), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    add = [
        str(SOHOA),
        "users",
        "add",
        "root.admin",
        "--role",
        "admin",
        "--password-file",
        str(secret),
    ]
    assert (
        subprocess.run(add, check=False, env=env, capture_output=True, timeout=120).returncode == 0
    )
    port = _free_port()
    server = subprocess.Popen(
        [str(SOHOA), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base, health = f"http://127.0.0.1:{port}", None
        deadline = time.monotonic() + 120
        while health is None and time.monotonic() < deadline and server.poll() is None:
            try:
                health = httpx.get(f"{base}/health", timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.json()["status"] == "ok"
        page = httpx.get(f"{base}/login", params={"next": "/search?q=nguyen-thi-hoa"})
        assert page.status_code == 200 and "server" not in page.headers
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode()
    assert "GET /login 200" in output and "nguyen-thi-hoa" not in output


def test_library_text_follows_the_request_language_not_the_process(app, monkeypatch):
    """Two people, two languages, one server: library code asks ``current_lang()``."""
    from sohoa.messages import current_lang

    monkeypatch.setenv("SOHOA_LANG", "vi")
    app.add_api_route("/lang-probe", lambda: {"lang": current_lang()})
    with client(app) as browser:
        assert browser.get("/lang-probe?lang=en").json() == {"lang": "en"}
        english = {"Accept-Language": "en-GB,en;q=0.9"}
        assert browser.get("/lang-probe", headers=english).json() == {"lang": "en"}
        assert browser.get("/lang-probe").json() == {"lang": "vi"}
    assert current_lang() == "vi"  # nothing leaked into the process
