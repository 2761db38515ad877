"""The sign-in limiter under attack (issue 19, item 4), on SQLite and PostgreSQL.

Found by attacking it: 30 concurrent wrong passwords for one name were all checked (limit 5:
the limiter looked, then counted), and 20 failures from one address locked every account
behind it (an office behind one NAT) for 15 minutes. The real app through FastAPI's
TestClient, each "computer" a client with its own address, on a settable clock.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import httpx
import pytest
from test_web_auth import Clock
from webclient import TestClient, csrf_of

from catalog import accounts
from catalog import audit as audit_log
from catalog.audit import Action, Actor, AuditFilter
from catalog.database import open_catalog
from schemas.settings import Settings
from services import users as user_service
from web.app import create_app

PASSWORD = "mat-khau-du-dai-1"
WRONG = "sai-mat-khau-roi"
CLI = Actor("root", via="cli")
OFFICE = ("198.51.100.20", 50000)
"""The one address a whole office's computers reach the server from (NAT)."""
ATTACKER = ("203.0.113.66", 40000)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(tmp_path, catalog_url, **web) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", catalog_url=catalog_url, web=web)
    for name, role in (("an.admin", "admin"), ("binh.audit", "auditor")):
        user_service.add_user(settings, name, PASSWORD, role=role, actor=CLI)
    return settings


@pytest.fixture
def settings(tmp_path, catalog_url) -> Settings:
    """The default limits, which are what an office gets."""
    return make_settings(tmp_path, catalog_url)


def browser(app, address: tuple[str, int]) -> TestClient:
    return TestClient(app, follow_redirects=False, client=address)


def login(client: TestClient, name: str, password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token})


def addresses():
    """A new address for each call (one guess from each machine of a botnet)."""
    return (f"192.0.2.{n}" for n in count(1))


def failed_checks(settings) -> int:
    catalog = open_catalog(settings.resolved_catalog_url)
    flt = AuditFilter(action=Action.LOGIN_FAILED)
    return audit_log.query(catalog, flt, per_page=500).total


def test_30_concurrent_guesses_for_one_account_check_at_most_the_limit(
    settings, clock, monkeypatch
):
    """30 browsers at once, shared by two web processes on one catalog: whatever the
    interleaving, no more passwords are checked than the limit allows (5). Attempts still
    being checked count, so a burst may have none checked; the refused ones are not
    failures: afterwards exactly what is left of the limit can still be tried."""
    checked: list[str] = []
    lock = threading.Lock()
    real = accounts.authenticate

    def counting(catalog, name, password, **kw):
        with lock:
            checked.append(name)
        return real(catalog, name, password, **kw)

    monkeypatch.setattr(accounts, "authenticate", counting)
    apps = [create_app(settings, clock=clock) for _ in range(2)]
    browsers = [browser(apps[i % 2], OFFICE) for i in range(30)]
    tokens = [csrf_of(b.get("/login").text) for b in browsers]
    start = threading.Barrier(30)

    def guess(i: int) -> int:
        form = {"name": "an.admin", "password": WRONG, "csrf_token": tokens[i]}
        start.wait()
        return browsers[i].post("/login", data=form).status_code

    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(guess, range(30)))
    limit = settings.web.login_max_failures
    assert len(checked) <= limit
    assert statuses.count(401) == len(checked) == failed_checks(settings)
    assert statuses.count(429) == 30 - len(checked)
    for _ in range(limit - len(checked)):
        assert login(browsers[0], "an.admin", WRONG).status_code == 401
    assert login(browsers[0], "an.admin", WRONG).status_code == 429
    assert len(checked) == limit


def test_an_office_behind_one_address_is_not_locked_out_by_25_failures(settings, clock):
    """Five people mistype five times each (or someone sprays names): 25 failures from the
    office's address. The name guessed too often waits; everyone else signs in."""
    app = create_app(settings, clock=clock)
    office = browser(app, OFFICE)
    for name in ("an.admin", "thu.1", "thu.2", "thu.3", "thu.4"):
        for _ in range(5):
            assert login(office, name, WRONG).status_code == 401, name
    assert login(office, "an.admin", WRONG).status_code == 429
    form = {
        "name": "an.admin",
        "password": PASSWORD,
        "csrf_token": csrf_of(office.get("/login").text),
    }
    spoofed = {"X-Forwarded-For": "10.9.9.9"}  # believed only from a configured proxy
    assert office.post("/login", data=form, headers=spoofed).status_code == 429
    assert login(browser(app, OFFICE), "binh.audit").status_code == 303


def test_guesses_from_another_address_do_not_lock_the_owner_out(settings, clock):
    """The limit is per (account, address): an attacker who used up their tries for an
    account waits, and the owner signs in from the office."""
    app = create_app(settings, clock=clock)
    attacker = browser(app, ATTACKER)
    for _ in range(settings.web.login_max_failures):
        assert login(attacker, "an.admin", WRONG).status_code == 401
    assert login(attacker, "an.admin", PASSWORD).status_code == 429  # not even checked
    assert login(browser(app, OFFICE), "an.admin").status_code == 303


def test_past_the_account_limit_each_failure_doubles_the_wait(tmp_path, catalog_url, clock):
    """Guesses for one account from many addresses (a botnet): after the account's free
    failures every further one doubles the wait, up to the ceiling; the owner, once the
    wait is over, signs in, and that clears the account's failures."""
    settings = make_settings(
        tmp_path,
        catalog_url,
        login_account_failures=3,
        login_delay_seconds=60,
        login_max_delay_minutes=4,
    )
    app = create_app(settings, clock=clock)
    where = addresses()
    for _ in range(3):
        assert login(browser(app, (next(where), 1)), "an.admin", WRONG).status_code == 401
    waits = []
    for _ in range(4):
        refused = login(browser(app, (next(where), 1)), "an.admin", WRONG)
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(seconds=waits[-1])
        assert login(browser(app, (next(where), 1)), "an.admin", WRONG).status_code == 401
    assert waits == [60, 120, 240, 240]
    owner = browser(app, OFFICE)
    wait = int(login(owner, "an.admin").headers["retry-after"])
    clock.advance(seconds=wait)
    assert login(owner, "an.admin").status_code == 303
    assert login(browser(app, (next(where), 1)), "an.admin", WRONG).status_code == 401
