"""Accepting several records of the review queue at once: ``POST /review/accept`` and its API twin.

The real app (``web.app.create_app``) through FastAPI's TestClient, on a SQLite file and on
PostgreSQL (the ``catalog_url`` fixture), with records waiting for review written as the
pipeline writes them (a manifest in the local store, then its catalog row, through
:func:`records.commit.put_manifest`). The manifests are made up (no OCR: acceptance reads
only the manifest and its reasons), so each test builds its own queue in well under a
second. Every acceptance goes through the real lock, revision check, history and audit.

A browser test at the end drives Debian's Chromium (Playwright) against ``sohoa serve``:
tick two records, give a reason, accept.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_catalog import make_manifest
from test_web_browser import CHROMIUM, _serve, _shot, _signed_in, browser  # noqa: F401
from test_web_browser import PASSWORD as BROWSER_PASSWORD
from webclient import TestClient, csrf_of

from catalog import audit
from catalog.audit import Action, Actor, AuditFilter
from catalog.database import open_catalog
from records.commit import load_manifest, put_manifest
from schemas.settings import Settings
from services import review as review_service
from services import users as user_service
from storage.stores import open_store
from web.app import create_app

PASSWORD = "mat-khau-du-dai-1"
CLI = Actor("root", via="cli")
REASON = "đã đối chiếu cả lô với bản giấy"
BATCH_A = hashlib.sha256(b"lo-a").hexdigest()
BATCH_B = hashlib.sha256(b"lo-b").hexdigest()
PICKED = re.compile(r'name="record" value="([^"]+)"')
TICKED = re.compile(r'name="record" value="([^"]+)"[^>]* checked')


@dataclass(frozen=True)
class Queue:
    """A data directory with records waiting for review, and the app over it."""

    settings: Settings
    app: object
    a: tuple[str, str, str]
    """Three records of batch A, unit H56.01."""
    b: str
    """A record of batch B, unit H56.02."""


def _id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def add_waiting(
    settings: Settings,
    name: str,
    *,
    unit: str,
    batch: str,
    reasons: tuple[str, ...] = ("page_low_confidence:1",),
    minutes: int = 0,
) -> str:
    """Store a record that needs review (manifest, then catalog row); its id."""
    made = make_manifest(_id(name), dossier_code="", text=f"trang {name}", minutes=minutes)
    manifest = made.model_copy(
        update={
            "batch_id": batch,
            "unit": unit,
            "status": "needs_review",
            "review_reasons": reasons,
        }
    )
    key = f"archive/{unit}/{manifest.record_id}/manifest.json"
    put_manifest(manifest, key, open_store(settings), open_catalog(settings.resolved_catalog_url))
    return manifest.record_id


@pytest.fixture
def queue(tmp_path: Path, catalog_url: str) -> Queue:
    """Clerks of H56.01, of H56.02 and of every unit, an auditor; three records of batch A
    (H56.01) and one of batch B (H56.02) waiting for review."""
    settings = Settings(data_dir=tmp_path / "data", catalog_url=catalog_url, store={"retries": 0})
    for name, role, unit in (
        ("chi.clerk", "clerk", "H56.01"),
        ("dung.clerk", "clerk", "H56.02"),
        ("an.clerk", "clerk", None),
        ("binh.audit", "auditor", None),
    ):
        user_service.add_user(settings, name, PASSWORD, role=role, unit=unit, actor=CLI)
    a = tuple(
        add_waiting(settings, f"a{n}", unit="H56.01", batch=BATCH_A, minutes=n) for n in range(3)
    )
    b = add_waiting(settings, "b0", unit="H56.02", batch=BATCH_B, minutes=5)
    app = create_app(settings)
    yield Queue(settings, app, a, b)  # type: ignore[arg-type]
    runner = getattr(app.state, "jobs", None)
    if runner is not None:
        runner.stop(timeout=60)


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    return client


def bearer(settings: Settings, name: str) -> dict[str, str]:
    made = user_service.create_token(settings, name, f"t-{name}", actor=CLI)
    return {"Authorization": f"Bearer {made['token']}"}


def entries(settings: Settings, action: str) -> list[audit.AuditEntry]:
    catalog = open_catalog(settings.resolved_catalog_url)
    return list(audit.query(catalog, AuditFilter(action=action), per_page=500).entries)


def manifest_of(settings: Settings, record_id: str):
    row = open_catalog(settings.resolved_catalog_url).get_record(record_id)
    return row, load_manifest(open_store(settings), row.manifest_key)


def waiting(settings: Settings) -> set[str]:
    return {item["id"] for item in review_service.review_queue(settings)}


def post_bulk(client: TestClient, values: list[str], reason: str = REASON, page: str = "/review"):
    """Post the queue's form as a browser does: the ticked boxes, the reason, the token."""
    token = csrf_of(client.get(page).text)
    form = {"record": values, "reason": reason, "csrf_token": token}
    return client.post("/review/accept?lang=en", data=form)


def outcomes(html: str) -> dict[str, str]:
    """``{record id: outcome}`` of the refused records the result lists."""
    found = re.findall(
        r'data-testid="bulk-refused" data-record-id="([^"]+)" data-outcome="(\w+)"', html
    )
    return dict(found)


def accepted_count(html: str) -> int:
    found = re.search(r'data-testid="bulk-accepted" data-count="(\d+)"', html)
    assert found, html
    return int(found.group(1))


# --- the page ------------------------------------------------------------------------------------


def test_three_ticked_records_are_accepted_each_with_its_history_and_audit_row(queue):
    clerk = signed_in(queue.app, "chi.clerk")
    page = clerk.get("/review?lang=en")
    values = PICKED.findall(page.text)
    assert sorted(values) == sorted(f"{rid}:0" for rid in queue.a)  # not H56.02's record
    assert f'href="/review?batch={BATCH_A}"' in page.text
    assert "<script>" not in page.text and " style=" not in page.text  # CSP: no inline code

    answer = post_bulk(clerk, values)
    assert answer.status_code == 200, answer.text
    assert accepted_count(answer.text) == 3 and outcomes(answer.text) == {}
    assert "3 records accepted." in answer.text
    assert waiting(queue.settings) == {queue.b}
    for rid in queue.a:
        row, manifest = manifest_of(queue.settings, rid)
        assert row.status == manifest.status == "archived"
        (change,) = manifest.corrections  # one new revision: who, when, why
        assert (change.field, change.by, change.reason) == ("*", "chi.clerk", REASON)
    rows = entries(queue.settings, Action.RECORD_ACCEPT)
    assert sorted(e.target for e in rows) == sorted(queue.a)
    assert {(e.username, e.detail["revision"], e.detail["forced"]) for e in rows} == {
        ("chi.clerk", 1, False)
    }
    assert REASON not in str([e.to_dict() for e in rows])  # the log keeps ids, not free text

    again = post_bulk(clerk, [f"{rid}:1" for rid in queue.a])  # their current revision
    assert accepted_count(again.text) == 0  # out of the queue: never accepted twice
    assert set(outcomes(again.text).values()) == {"not_in_review"}
    assert len(entries(queue.settings, Action.RECORD_ACCEPT)) == 3


def test_a_record_changed_or_accepted_meanwhile_is_reported_and_the_others_accepted(queue):
    clerk = signed_in(queue.app, "chi.clerk")
    values = PICKED.findall(clerk.get("/review").text)  # every record at revision 0
    changed, done, fine = queue.a
    review_service.review_set(
        queue.settings, changed, "applicant_name", "Lê Văn Một", by="an.clerk", revision=0
    )
    review_service.review_accept(queue.settings, done, by="an.clerk", reason="xong", revision=0)

    answer = post_bulk(clerk, values)
    assert answer.status_code == 200
    assert accepted_count(answer.text) == 1
    assert outcomes(answer.text) == {changed: "changed", done: "not_in_review"}
    assert "changed by someone else since you opened the list" in answer.text
    assert "no longer needs review" in answer.text
    assert waiting(queue.settings) == {changed, queue.b}  # still there to look at again
    _, kept = manifest_of(queue.settings, changed)
    assert [(c.field, c.by) for c in kept.corrections] == [("applicant_name", "an.clerk")]
    _, other = manifest_of(queue.settings, done)
    assert [(c.by, c.reason) for c in other.corrections] == [("an.clerk", "xong")]  # not twice
    assert [e.target for e in entries(queue.settings, Action.RECORD_ACCEPT)] == [fine]


def test_a_clerk_cannot_accept_another_units_record_by_posting_its_id(queue):
    clerk = signed_in(queue.app, "chi.clerk")
    missing = _id("nobody")
    values = [f"{queue.a[0]}:0", f"{queue.b}:0", f"{missing}:0", f"{queue.a[1]}:0"]
    answer = post_bulk(clerk, values)
    assert answer.status_code == 200
    assert accepted_count(answer.text) == 2
    assert outcomes(answer.text) == {queue.b: "unit_denied", missing: "not_found"}
    assert "belongs to another unit" in answer.text and "no such record" in answer.text
    _, theirs = manifest_of(queue.settings, queue.b)
    assert theirs.status == "needs_review" and theirs.corrections == ()
    assert waiting(queue.settings) == {queue.a[2], queue.b}
    (denied,) = entries(queue.settings, Action.ACCESS_DENIED)
    assert denied.username == "chi.clerk" and denied.detail["record"] == queue.b
    assert denied.target == "/review/accept" and denied.detail["reason"] == "unit_denied"


def test_one_batch_is_listed_and_ticked_whole_without_javascript(queue):
    an = signed_in(queue.app, "an.clerk")  # a clerk of every unit sees both batches
    assert len(PICKED.findall(an.get("/review").text)) == 4
    assert TICKED.findall(an.get("/review").text) == []
    batch = an.get(f"/review?batch={BATCH_B}&lang=en")
    assert PICKED.findall(batch.text) == [f"{queue.b}:0"]
    assert "Batch " + BATCH_B[:12] + " only: 1 records to review." in batch.text
    ticked = an.get(f"/review?batch={BATCH_A}&select=all").text
    assert sorted(TICKED.findall(ticked)) == sorted(f"{rid}:0" for rid in queue.a)
    answer = post_bulk(an, TICKED.findall(ticked), page=f"/review?batch={BATCH_A}")
    assert accepted_count(answer.text) == 3 and waiting(queue.settings) == {queue.b}


def test_records_with_open_fields_need_the_accept_as_they_are_box(queue):
    open_one = add_waiting(
        queue.settings, "mo", unit="H56.01", batch=BATCH_A, reasons=("missing:dossier_code",)
    )
    clerk = signed_in(queue.app, "chi.clerk")
    answer = post_bulk(clerk, [f"{open_one}:0", f"{queue.a[0]}:0"])
    assert outcomes(answer.text) == {open_one: "open_fields"}
    assert open_one in waiting(queue.settings)
    token = csrf_of(clerk.get("/review").text)
    form = {"record": [f"{open_one}:0"], "reason": REASON, "force": "true", "csrf_token": token}
    forced = clerk.post("/review/accept", data=form)
    assert accepted_count(forced.text) == 1 and open_one not in waiting(queue.settings)
    rows = {e.target: e.detail["forced"] for e in entries(queue.settings, Action.RECORD_ACCEPT)}
    assert rows == {queue.a[0]: False, open_one: True}


# --- refused before anything changes -------------------------------------------------------------


def test_an_empty_selection_too_many_records_or_no_reason_change_nothing(queue):
    clerk = signed_in(queue.app, "chi.clerk")
    empty = post_bulk(clerk, [])
    assert empty.status_code == 400 and "No records selected" in empty.text
    over = [f"{_id(str(n))}:0" for n in range(201)]
    too_many = post_bulk(clerk, over)
    assert too_many.status_code == 400
    assert "201 records selected; at most 200 can be accepted at once" in too_many.text
    silent = post_bulk(clerk, [f"{queue.a[0]}:0"], reason="   ")
    assert silent.status_code == 400 and "Give a reason" in silent.text
    assert TICKED.findall(silent.text) == [f"{queue.a[0]}:0"]  # the selection is kept
    forged = post_bulk(clerk, [f"{queue.a[0]}:zero"])
    assert forged.status_code == 400 and "Not a record id and revision" in forged.text
    assert waiting(queue.settings) == {*queue.a, queue.b}
    assert entries(queue.settings, Action.RECORD_ACCEPT) == []


def test_without_a_csrf_token_or_signed_out_or_as_an_auditor_nothing_is_accepted(queue):
    form = {"record": [f"{queue.a[0]}:0"], "reason": REASON}
    anonymous = TestClient(queue.app, follow_redirects=False)
    assert anonymous.post("/review/accept", data=form).status_code == 403  # the body gate
    assert anonymous.post("/api/review/accept", json={"records": []}).status_code == 403
    clerk = signed_in(queue.app, "chi.clerk")
    assert clerk.post("/review/accept", data=form).status_code == 403
    assert clerk.post("/review/accept", data={**form, "csrf_token": "nope"}).status_code == 403
    body = {"records": [{"id": queue.a[0], "revision": 0}], "reason": REASON}
    assert clerk.post("/api/review/accept", json=body).status_code == 403  # no X-CSRF-Token
    auditor = signed_in(queue.app, "binh.audit")
    token = csrf_of(auditor.get("/search").text)
    assert auditor.post("/review/accept", data={**form, "csrf_token": token}).status_code == 403
    api = TestClient(queue.app)
    token_headers = bearer(queue.settings, "binh.audit")
    assert api.post("/api/review/accept", json=body, headers=token_headers).status_code == 403
    assert waiting(queue.settings) == {*queue.a, queue.b}
    assert entries(queue.settings, Action.RECORD_ACCEPT) == []


# --- the API -------------------------------------------------------------------------------------


def test_the_api_accepts_a_list_and_answers_each_records_outcome(queue):
    api = TestClient(queue.app)
    token = bearer(queue.settings, "chi.clerk")
    listed = api.get("/api/review", headers=token).json()
    assert {(i["id"], i["batch_id"], i["revision"]) for i in listed} == {
        (rid, BATCH_A, 0) for rid in queue.a
    }
    review_service.review_set(queue.settings, queue.a[1], "applicant_name", "Lê Văn Hai", by="y")
    records = [{"id": i["id"], "revision": i["revision"]} for i in listed]
    records.append({"id": queue.b, "revision": 0})
    answer = api.post(
        "/api/review/accept",
        json={"records": records, "reason": REASON},
        headers={**token, "Accept-Language": "en"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["refused"]) == (2, 2)
    by_id = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == [r["id"] for r in records]  # order kept
    assert by_id[queue.a[0]] == {
        "id": queue.a[0],
        "outcome": "accepted",
        "message": None,
        "revision": 1,
    }
    assert by_id[queue.a[1]]["outcome"] == "changed" and by_id[queue.a[1]]["revision"] is None
    assert by_id[queue.b]["outcome"] == "unit_denied"
    assert by_id[queue.b]["message"] == "belongs to another unit; you may not accept it"
    assert waiting(queue.settings) == {queue.a[1], queue.b}

    for sent, error in (
        ({"records": [], "reason": REASON}, "review_bulk_empty"),
        ({"records": records[:1]}, "review_bulk_no_reason"),
        (
            {"records": [{"id": _id(str(n)), "revision": 0} for n in range(201)], "reason": "x"},
            "review_bulk_too_many",
        ),
    ):
        refused = api.post("/api/review/accept", json=sent, headers=token)
        assert refused.status_code == 400 and refused.json()["error"] == error, refused.text
        assert refused.json()["message"]
    assert len(entries(queue.settings, Action.RECORD_ACCEPT)) == 2


def test_the_openapi_description_lists_the_bulk_accept(queue):
    spec = (
        TestClient(queue.app)
        .get("/api/openapi.json", headers=bearer(queue.settings, "chi.clerk"))
        .json()
    )
    operation = spec["paths"]["/api/review/accept"]["post"]
    assert operation["summary"] == "Accept several records"
    assert "/review/accept" not in spec["paths"]  # the page's form is not part of the API


# --- in a real browser ---------------------------------------------------------------------------


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium missing")
def test_a_clerk_ticks_two_records_in_chromium_and_accepts_them(tmp_path, browser):  # noqa: F811
    """`sohoa serve` over three waiting records; the clerk ticks the first and the last."""
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    for name, role in (("quan.tri", "admin"), ("can.bo", "clerk")):  # serve needs an admin
        user_service.add_user(settings, name, BROWSER_PASSWORD, role=role, actor=CLI)
    ids = [
        add_waiting(settings, f"w{n}", unit="H56.01", batch=BATCH_A, minutes=n) for n in range(3)
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOHOA_")}
    env.update(SOHOA_DATA_DIR=str(data), SOHOA_LANG="vi")
    server = _serve(data, env)
    url = next(server)
    try:
        clerk = _signed_in(browser, url, "can.bo")
        clerk.goto(f"{url}/review?lang=en")
        clerk.check(f"#pick-{ids[0]}")
        clerk.check(f"#pick-{ids[2]}")
        clerk.fill("[data-testid=bulk-reason]", REASON)
        clerk.click("[data-testid=bulk-submit]")
        done = clerk.locator("[data-testid=bulk-accepted]")
        done.wait_for()
        assert done.get_attribute("data-count") == "2"
        assert done.inner_text() == "2 records accepted."
        left = clerk.locator("[data-testid=review-queue] tbody tr[data-record-id]")
        assert left.count() == 1 and left.first.get_attribute("data-record-id") == ids[1]
        _shot(clerk, "11-clerk-bulk-accept")
    finally:
        server.close()  # its finally stops `sohoa serve`
    assert waiting(settings) == {ids[1]}
    _, manifest = manifest_of(settings, ids[0])
    assert [(c.by, c.reason) for c in manifest.corrections] == [("can.bo", REASON)]
