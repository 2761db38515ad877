"""End to end through the real CLI: ingest, export, independent PDF checks, search, verify, tamper."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pikepdf
import pytest
from conftest import copy_data_dir

from sohoa.errors import ExitCode
from storage.objectstore import sha256_file


def pdftotext(path: Path, page: int | None = None, *, mode: str = "-raw") -> str:
    """poppler's text extraction; ``-raw`` keeps content-stream (reading) order."""
    args = ["pdftotext", mode]
    if page:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run(
        [*args, str(path), "-"], capture_output=True, text=True, check=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, scan_pdf):
    """Ingest the 3-page scan once for the module, on embedded defaults; return (cli, record)."""
    from conftest import make_cli

    cli = make_cli(tmp_path_factory.mktemp("e2e") / "data")
    records = cli.json("ingest", str(scan_pdf), "--unit", "H56.01", "--kind", "thanh-phan")
    assert len(records) == 1
    return cli, records[0]


def test_ingest_reports_the_record(ingested, scan_pdf):
    cli, record = ingested
    assert set(record) >= {
        "id",
        "dossier_code",
        "kind",
        "unit",
        "pages",
        "status",
        "pdf",
        "sha256",
        "mean_confidence",
        "fields",
    }
    assert record["pages"] == 3
    assert record["unit"] == "H56.01" and record["kind"] == "thanh-phan"
    # found in the OCR text of page 1, since --dossier was not given
    assert record["dossier_code"] == "000.00.06.H56-231027-0361"
    assert record["pdf"].startswith("archive/H56.01/") and record["pdf"].endswith(".pdf")
    stored = cli.data_dir / "objects" / record["pdf"]
    assert sha256_file(stored) == record["sha256"]
    assert 60 < record["mean_confidence"] <= 100
    # key fields read after their printed labels on the receipt (page 1)
    assert record["fields"]["dossier_code"] == "000.00.06.H56-231027-0361"
    assert record["fields"]["applicant_name"] == "Nguyễn Thị Hồng Đào"
    assert record["fields"]["procedure_name"] == "Đăng ký khai sinh"


def test_export_has_pages_in_order_with_searchable_text(ingested, tmp_path):
    cli, record = ingested
    out = tmp_path / "export.pdf"
    done = cli("export", record["id"], "-o", str(out))
    assert done.returncode == 0, done.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 3
        for page in pdf.pages:  # each page: the colour scan at its true size (A4 at 300 dpi)
            width, height = float(page.mediabox[2]), float(page.mediabox[3])
            assert abs(width - 595.3) < 1.5 and abs(height - 841.9) < 1.5
    for number, marker in enumerate(["thứ nhất", "thứ hai", "thứ ba"], start=1):
        assert marker in pdftotext(out, number), f"page {number} out of order or unreadable"
    # Every word is findable where it is (layout mode groups lines by baseline, and the
    # words of a skewed scan really are on a slanted baseline) ...
    words = {w.strip(".,:;") for w in pdftotext(out, mode="-layout").split()}
    for word in ("Nguyễn", "Thị", "Hồng", "Đào", "Đăng", "khai", "sinh", "Quảng", "Trị", "Dũng"):
        assert word in words, word
    # ... and whole phrases come out in reading order (content-stream order, as pdf.js reads).
    raw = pdftotext(out)
    for phrase in (
        "Họ và tên người nộp: Nguyễn Thị Hồng Đào",
        "Nội dung yêu cầu: Đăng ký khai sinh",
        "Người ký: Trần Văn Dũng, Chủ tịch",
    ):
        assert phrase in raw, phrase


def test_pdfsig_validates_whole_document(ingested, tmp_path):
    cli, record = ingested
    out = tmp_path / "signed.pdf"
    assert cli("export", record["id"], "-o", str(out)).returncode == 0
    report = subprocess.run(
        ["pdfsig", str(out)], capture_output=True, text=True, timeout=60, check=False
    ).stdout
    assert "Signature is Valid." in report
    assert "Total document signed" in report
    assert "ETSI.CAdES.detached" in report
    assert "DEMO" in report  # the demo certificate says it is one


def test_xmp_metadata_identifies_the_record(ingested):
    from pdf.assemble import read_sohoa_metadata

    cli, record = ingested
    meta = read_sohoa_metadata(cli.data_dir / "objects" / record["pdf"])
    assert meta["dossierCode"] == record["dossier_code"]
    assert meta["kind"] == "thanh-phan" and meta["unit"] == "H56.01"
    assert meta["pageCount"] == "3" and meta["software"].startswith("sohoa ")


@pytest.mark.parametrize(
    "query",
    [
        "nguyen thi hong dao",
        "dang ky khai sinh",
        "Đăng ký",
        "000.00.06.H56-231027-0361",
        "quang tri",
    ],
)
def test_search_without_diacritics(ingested, query):
    cli, record = ingested
    hits = cli.json("search", query)["hits"]
    assert [h["record_id"] for h in hits] == [record["id"]]


def test_search_for_absent_word_finds_nothing(ingested):
    cli, _ = ingested
    assert cli.json("search", "hoabinhxyz")["hits"] == []


def test_show_lists_pages_and_signer(ingested):
    cli, record = ingested
    detail = cli.json("show", record["id"][:10])
    assert detail["id"] == record["id"] and len(detail["pages_detail"]) == 3
    assert "DEMO" in detail["signer"]


def test_reingest_gives_the_same_record(ingested, scan_pdf):
    cli, record = ingested
    again = cli.json("ingest", str(scan_pdf), "--unit", "H56.01", "--kind", "thanh-phan")
    assert [r["id"] for r in again] == [record["id"]]
    assert cli.record_count() == 1


def test_verify_passes_then_fails_after_one_byte_flips(ingested, tmp_path, prefect_api_url):
    from conftest import make_cli

    shared, record = ingested  # the other tests read the module's archive: damage a copy
    copy_data_dir(shared.data_dir, tmp_path / "data")
    cli = make_cli(tmp_path / "data", prefect_api_url)
    ok = cli("verify", "--all")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    one = cli("verify", record["id"])
    assert one.returncode == 0 and "PAdES B-B" in one.stdout, one.stdout
    assert "DEMO" in one.stdout  # the signer: the demo certificate on a fresh install
    stored = cli.data_dir / "objects" / record["pdf"]
    data = bytearray(stored.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the first page's image stream
    stored.write_bytes(bytes(data))
    bad = cli("verify", record["id"])
    assert bad.returncode == ExitCode.VERIFY_FAILED
    assert record["id"] in bad.stdout and "sha256" in bad.stdout
    assert "Traceback" not in bad.stderr, bad.stderr  # one line per problem; -v for more
    every = cli("verify", "--all")
    assert every.returncode == ExitCode.VERIFY_FAILED and "Traceback" not in every.stderr
    assert (
        cli("export", record["id"], "-o", str(cli.data_dir / "x.pdf")).returncode
        == ExitCode.VERIFY_FAILED
    )


def test_search_filters_from_the_command_line(ingested):
    """The CLI takes the web's filters: unit, kind, period; no words lists the newest."""
    cli, record = ingested
    unit = record["unit"]
    found = cli.json("search", "--unit", unit)
    assert [h["record_id"] for h in found["hits"]] == [record["id"]]
    assert (found["total"], found["total_exact"], found["page"]) == (1, True, 1)  # as the table
    assert cli.json("search", "--unit", "NO.SUCH.UNIT")["hits"] == []
    assert (
        cli.json("search", "--kind", "ket-qua", "--unit", unit)["hits"] == []
    )  # all are thành phần
    wrong = cli("search", "--from", "31/02/2024")
    assert wrong.returncode == 2 and "--from" in wrong.stderr
