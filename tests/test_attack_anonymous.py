"""Anonymous requests cost the server almost nothing (issue 19, item 3).

An attacker with no account sent 450 MB to ``/login``: the form was parsed (and spooled
to disk) before the CSRF check refused it, and each refusal wrote an audit row. Here the
real app (``web.app.create_app``) is driven at the ASGI level through httpx's
``ASGITransport``, whose ``receive`` pulls the request body from the test's generator
only when the app asks for it: :class:`Body` counts what the app read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from webclient import TestClient, csrf_of

from catalog import audit as audit_log
from catalog.audit import Action, Actor, AuditFilter
from catalog.database import open_catalog
from schemas.settings import Settings
from services import users as user_service
from web.app import create_app
from web.security import PRE_COOKIE, SESSION_COOKIE

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
MB = 1024 * 1024
CHUNK = 8 * 1024
ATTACKER = ("203.0.113.66", 40000)
FORM = "application/x-www-form-urlencoded"


class Clock:
    """The app's clock, moved by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Body:
    """``size`` bytes of a form body, handed over in 8 KB chunks; ``read`` is what was pulled."""

    def __init__(self, size: int) -> None:
        self.size, self.read = size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        while sent < self.size:
            chunk = b"name=" if sent == 0 else b"x" * min(CHUNK, self.size - sent)
            sent += len(chunk)
            self.read = sent  # counted once the app asked for it
            yield chunk


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Default limits (uploads up to 500 MB): only the new per-route caps can refuse early."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(settings, clock):
    user_service.add_user(settings, "an.admin", PASSWORD, role="admin", actor=CLI)
    user_service.add_user(settings, "chi.clerk", PASSWORD, role="clerk", actor=CLI)
    return create_app(settings, clock=clock)


def send(
    app,
    method: str,
    path: str,
    size: int,
    *,
    declared: bool,
    headers: dict[str, str] | None = None,
    content_type: str = FORM,
) -> tuple[int, int]:
    """Send ``size`` bytes to ``path`` as ``ATTACKER``; return (status, body bytes the app read).

    ``declared``: with a ``Content-Length`` header, else chunked (nothing said up front).
    """
    body = Body(size)
    sent = {"content-type": content_type, **(headers or {})}
    if declared:
        sent["content-length"] = str(size)

    async def go() -> int:
        transport = httpx.ASGITransport(app=app, client=ATTACKER)
        async with httpx.AsyncClient(transport=transport, base_url="http://sohoa.test") as http:
            answer = await http.request(method, path, content=body, headers=sent)
            return answer.status_code

    return asyncio.run(go()), body.read


def entries(settings, action: str) -> list[audit_log.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit_log.query(catalog, AuditFilter(action=action), per_page=500).entries)


def browser(app, address: tuple[str, int] = ATTACKER) -> TestClient:
    return TestClient(app, follow_redirects=False, client=address)


def signed_in(app, name: str) -> TestClient:
    client = browser(app, ("192.0.2.10", 5000))
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303
    return client


# --- the body is not read ----------------------------------------------------------------------


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_50_mb_anonymous_post_to_login_is_refused_before_its_body_is_read(app, declared):
    """No cookie at all: not even a browser that opened the sign-in form. 403, nothing read."""
    status, read = send(app, "POST", "/login", 50 * MB, declared=declared)
    assert status == 403
    assert read == 0


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_50_mb_post_to_login_with_a_made_up_cookie_stops_at_a_few_kb(app, declared):
    """A pre-session cookie costs nothing to invent: the sign-in form's own cap (a few KB)
    stops the body, declared or streamed, with less than 64 KB read."""
    cookie = {"cookie": f"{PRE_COOKIE}=made-up-by-the-attacker"}
    status, read = send(app, "POST", "/login", 50 * MB, declared=declared, headers=cookie)
    assert status == 413
    assert read < 64 * 1024
    if declared:
        assert read == 0  # the declared length alone refuses it


def _state_changing(app) -> list[tuple[str, str]]:
    """Every (method, path) that changes something, but the sign-in form, with ids filled in."""
    found = []
    for path, methods in app.state.route_methods:
        for method in sorted(methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if path != "/login":
                found.append((method, re.sub(r"\{[^}]+\}", "x1234567", path)))
    return found


def test_an_anonymous_post_to_any_state_changing_route_is_refused_unread(app):
    routes = _state_changing(app)
    assert ("POST", "/upload") in routes and ("POST", "/api/uploads") in routes
    assert ("POST", "/admin/users") in routes and ("PUT", "/api/units/x1234567") in routes
    for method, path in routes:
        for kind in (FORM, "multipart/form-data; boundary=b", "application/json"):
            status, read = send(app, method, path, MB, declared=False, content_type=kind)
            assert (status, read) == (403, 0), (method, path, kind)


def test_an_upload_from_someone_not_signed_in_is_refused_before_its_body_is_read(app):
    """An upload's cap is hundreds of MB, so a cookie that merely looks like a session is not
    enough: the session (or API token) is checked before a byte is read."""
    fake = {"cookie": f"{SESSION_COOKIE}=not-a-session"}
    kind = "multipart/form-data; boundary=b"
    status, read = send(
        app, "POST", "/upload", 50 * MB, declared=False, headers=fake, content_type=kind
    )
    assert status == 303 and read == 0  # to the sign-in form, as any page asked for anonymously
    token = {"authorization": "Bearer sohoa_not-a-token"}
    status, read = send(
        app, "POST", "/api/uploads", 50 * MB, declared=False, headers=token, content_type=kind
    )
    assert status == 401 and read == 0


# --- what is audited ---------------------------------------------------------------------------


def test_200_anonymous_csrf_failures_from_one_address_write_a_handful_of_audit_rows(
    app, settings, clock
):
    attacker = browser(app)
    token = csrf_of(attacker.get("/login").text)
    wrong = ("y" if token[0] == "x" else "x") + token[1:]
    for _ in range(200):
        answer = attacker.post("/login", data={"name": "an.admin", "csrf_token": wrong})
        assert answer.status_code == 403
    rejected = entries(settings, Action.CSRF_REJECTED)
    assert 1 <= len(rejected) <= 3
    clock.now += timedelta(minutes=1)
    assert attacker.post("/login", data={"csrf_token": wrong}).status_code == 403
    later = entries(settings, Action.CSRF_REJECTED)
    assert len(later) == len(rejected) + 1
    assert later[0].detail.get("skipped") == 200 - len(rejected)  # newest first: what was left out


def test_other_anonymous_refusals_are_throttled_too(app, settings):
    """No cookie at all, and a made-up API token: each refused 200 times, logged once."""
    attacker = browser(app)
    for _ in range(200):
        assert attacker.post("/logout", content=b"x").status_code == 403
        assert (
            attacker.get("/api/me", headers={"Authorization": "Bearer sohoa_x"}).status_code == 401
        )
    assert len(entries(settings, Action.CSRF_REJECTED)) == 1
    assert len(entries(settings, Action.TOKEN_REJECTED)) == 1


def test_a_signed_in_users_csrf_failures_are_each_logged_with_their_name(app, settings):
    """Someone signed in answers for what they send: no throttle, and the row names them."""
    clerk = signed_in(app, "chi.clerk")
    for _ in range(3):
        assert clerk.post("/logout", data={"csrf_token": "nope"}).status_code == 403
    rejected = entries(settings, Action.CSRF_REJECTED)
    assert [e.username for e in rejected] == ["chi.clerk"] * 3
