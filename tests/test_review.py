"""Review through the real CLI: a receipt with an impossible CCCD is flagged, corrected with
history, and the signed PDF stays byte for byte what was signed."""

from __future__ import annotations

import json

import pytest
from conftest import copy_data_dir

from sohoa.errors import ExitCode
from storage.objectstore import sha256_file

BAD_ID, GOOD_ID = "999187002319", "045187002319"  # no province 999; 045 = Quảng Trị


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, prefect_api_url):
    """Ingest a one-page receipt whose printed CCCD fails validation, once for the module.

    Returns ``(cli, record)``; tests change records, so they use :func:`flagged`'s copy.
    """
    from conftest import make_cli

    from samples.synth import degrade, render_page, write_pdf

    lines = [
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "Mã hồ sơ: 000.00.06.H56-231027-0361",
        "Tiếp nhận hồ sơ của: Ông/Bà NGUYỄN VĂN AN",
        f"Số CCCD/CMND/Hộ chiếu: {BAD_ID}",
        "Nội dung yêu cầu giải quyết: Đăng ký khai sinh",
    ]
    scan = tmp_path_factory.mktemp("review-scan") / "bien-nhan.pdf"
    write_pdf(scan, [degrade(render_page(lines, font_size_pt=14), skew_deg=1.0, seed=5)])
    cli = make_cli(tmp_path_factory.mktemp("review") / "data", prefect_api_url)
    (record,) = cli.json("ingest", str(scan), "--unit", "H56.01")
    cli.scan = scan
    return cli, record


@pytest.fixture
def flagged(ingested, tmp_path, prefect_api_url):
    """This test's own copy of the ingested archive: ``(cli, record)``, the record unreviewed."""
    from conftest import make_cli

    shared, record = ingested
    copy_data_dir(shared.data_dir, tmp_path / "data")
    cli = make_cli(tmp_path / "data", prefect_api_url)
    cli.scan = shared.scan
    return cli, record


def _pdf(cli, record):
    return cli.data_dir / "objects" / record["pdf"]


def _correct_id_number(cli, record) -> dict:
    """The clerk's correction of the misread CCCD, with a reason (what the tests start from)."""
    return cli.json(
        "review",
        "set",
        record["id"],
        "id_number",
        GOOD_ID,
        "--reason",
        "đối chiếu bản gốc",
        "--by",
        "clerk1",
    )


def test_invalid_value_sends_the_record_to_review(flagged):
    cli, record = flagged
    assert record["status"] == "needs_review"
    assert record["fields"]["id_number"] == BAD_ID  # kept as read, not "fixed"
    assert record["fields"]["applicant_name"] == "Nguyễn Văn An"
    queue = cli.json("review")
    assert [item["id"] for item in queue] == [record["id"]]
    assert "invalid:id_number:cccd_bad_province" in queue[0]["reasons"]
    text = cli("review", lang="vi").stdout
    assert "không hợp lệ" in text and record["id"] in text


def test_an_invalid_correction_is_refused_without_force(flagged):
    cli, record = flagged
    done = cli("review", "set", record["id"], "id_number", "12345")
    assert done.returncode == ExitCode.BAD_INPUT
    assert "not a valid id_number" in done.stderr and "--force" in done.stderr
    done = cli("review", "set", record["id"], "ho_ten", "x")
    assert done.returncode == ExitCode.BAD_INPUT and "applicant_name" in done.stderr
    assert cli.json("show", record["id"])["corrections"] == []


def test_accept_is_refused_while_a_field_is_invalid(flagged):
    cli, record = flagged
    done = cli("review", "accept", record["id"])
    assert done.returncode == ExitCode.BAD_INPUT and "review set" in done.stderr


def test_correction_keeps_history_and_never_rewrites_the_signed_pdf(flagged):
    cli, record = flagged
    before = sha256_file(_pdf(cli, record))
    result = _correct_id_number(cli, record)
    assert result["fields"]["id_number"] == GOOD_ID
    assert not any(
        r.startswith(("invalid:id_number", "missing:")) for r in result["review_reasons"]
    )
    assert sha256_file(_pdf(cli, record)) == before == record["sha256"]
    assert cli("verify", record["id"]).returncode == 0

    shown = cli.json("show", record["id"])
    (change,) = shown["corrections"]
    assert (change["field"], change["old"], change["new"], change["by"], change["reason"]) == (
        "id_number",
        BAD_ID,
        GOOD_ID,
        "clerk1",
        "đối chiếu bản gốc",
    )
    corrected = next(f for f in shown["fields_detail"] if f["name"] == "id_number")
    assert corrected["method"] == "manual" and corrected["confidence"] == 1.0
    # the manifest in the archive holds the same history (the catalog can be rebuilt from it)
    manifest = json.loads((cli.data_dir / "objects" / shown["manifest"]).read_text())
    assert manifest["corrections"][0]["new"] == GOOD_ID
    hits = cli.json("search", GOOD_ID)["hits"]  # the corrected value is searchable
    assert [h["record_id"] for h in hits] == [record["id"]]


def test_a_correction_that_settles_every_reason_archives_the_record(flagged):
    cli, record = flagged
    assert _correct_id_number(cli, record)["status"] == "archived"  # nothing left to accept
    assert cli.json("review") == []
    assert cli.json("show", record["id"])["status"] == "archived"


def test_accept_clears_the_queue(flagged):
    cli, record = flagged
    assert [item["id"] for item in cli.json("review")] == [record["id"]]
    result = cli.json(
        "review", "accept", record["id"], "--by", "clerk1", "--force", "--reason", "đã đối chiếu"
    )  # the CCCD is still invalid: accepted as read, which --force and a reason allow
    assert result["status"] == "archived"
    assert [c["field"] for c in result["corrections"]] == ["*"]
    assert cli.json("review") == []
    assert cli.json("show", record["id"])["status"] == "archived"


def test_reprocessing_after_a_lost_object_keeps_the_corrections(flagged):
    """A batch re-run (here: its PDF object went missing) must not erase review history."""
    cli, record = flagged
    _correct_id_number(cli, record)  # the history a re-run must keep
    _pdf(cli, record).unlink()
    (again,) = cli.json("ingest", str(cli.scan), "--unit", "H56.01")
    assert again["id"] == record["id"] and _pdf(cli, record).exists()
    shown = cli.json("show", record["id"])
    assert [c["field"] for c in shown["corrections"]] == ["id_number"]
    assert shown["fields"]["id_number"] == GOOD_ID
    assert shown["status"] == "archived"
