"""A scanned stack of several dossiers through the real CLI: one record per dossier, the
receipt's QR code gives each mã hồ sơ, separator sheets are not archived, ``--dossier``
keeps the stack together."""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import copy_data_dir

from samples.synth import write_pdf
from sohoa.textfold import fold


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> tuple[Path, list]:
    """Two dossiers (receipt + form, receipt + ID-card copy) with a separator sheet between."""
    from samples import docgen

    rng = random.Random(7)
    pages = []
    for n in range(2):
        person, procedure = docgen.random_person(rng), docgen.random_procedure(rng)
        code = docgen.random_dossier_code(rng, date(2024, 3, 11 + n))
        pages.append(docgen.make_receipt(rng, person, procedure, code, qr_style="json"))
        second = docgen.make_application if n == 0 else None
        pages.append(
            second(rng, person, procedure) if second else docgen.make_id_card_copy(rng, person)
        )
        if n == 0:
            pages.append(docgen.make_separator())
    scanned = [docgen.degrade_page(p, random.Random(40 + i)) for i, p in enumerate(pages)]
    path = tmp_path_factory.mktemp("stack") / "chong-ho-so.pdf"
    write_pdf(path, [p.image for p in scanned], dpi=300, jpeg_quality=80)
    return path, pages


@pytest.fixture(scope="module")
def split_records(tmp_path_factory, prefect_api_url, stack):
    from conftest import make_cli

    cli = make_cli(tmp_path_factory.mktemp("split") / "data", prefect_api_url)
    records = cli.json("ingest", str(stack[0]), "--unit", "H56.01")
    return cli, records


def test_each_dossier_becomes_its_own_record(split_records, stack):
    _, records = split_records
    _, pages = stack
    receipts = [p for p in pages if p.doc_type == "receipt"]
    assert [r["dossier_code"] for r in records] == [p.truth["dossier_code"] for p in receipts]
    assert [r["pages"] for r in records] == [2, 2]  # the separator sheet is not archived
    assert len({r["pdf"] for r in records}) == 2
    for record, receipt in zip(records, receipts, strict=True):
        # each record carries its own dossier's applicant (diacritic accuracy of names is
        # measured by bench/fields.py; Tesseract may read a capital "NGUYỄN" as "Nguyên")
        assert fold(record["fields"]["applicant_name"]) == fold(receipt.truth["applicant_name"])
        assert record["fields"]["id_number"] == receipt.truth["id_number"]
        assert receipt.truth["dossier_code"] in record["pdf"]  # filed under its own code


def test_the_qr_code_is_the_evidence_for_the_dossier_code(split_records):
    cli, records = split_records
    shown = cli.json("show", records[0]["id"])
    code = next(f for f in shown["fields_detail"] if f["name"] == "dossier_code")
    assert code["method"] == "qr" and code["confidence"] == 1.0 and code["page"] == 0
    assert [p["doc_type"] for p in shown["pages_detail"]] == ["receipt", "application"]


def test_each_record_pdf_has_only_its_own_pages(split_records):
    cli, records = split_records
    for record in records:
        pdf = cli.data_dir / "objects" / record["pdf"]
        info = subprocess.run(
            ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60
        ).stdout
        assert re.search(r"^Pages:\s+2$", info, re.MULTILINE), info


def test_rerun_is_idempotent_and_dossier_option_keeps_one_record(
    split_records, stack, tmp_path, prefect_api_url
):
    from conftest import make_cli

    shared, records = split_records  # the module's archive stays as ingested: work on a copy
    copy_data_dir(shared.data_dir, tmp_path / "data")
    cli = make_cli(tmp_path / "data", prefect_api_url)
    again = cli.json("ingest", str(stack[0]), "--unit", "H56.01")
    assert [r["id"] for r in again] == [r["id"] for r in records]
    assert cli.record_count() == 2
    forced = cli.json(
        "ingest", str(stack[0]), "--unit", "H56.01", "--dossier", "H56.01-240311-0001"
    )
    assert len(forced) == 1 and forced[0]["pages"] == 4  # the separator is still dropped
    assert forced[0]["dossier_code"] == "H56.01-240311-0001"
    assert forced[0]["status"] == "needs_review"  # the receipts' own codes disagree with it


def test_the_batch_row_counts_every_scanned_page(split_records):
    cli, _ = split_records
    with sqlite3.connect(cli.data_dir / "catalog.sqlite") as db:
        rows = db.execute("select status, page_count from batches").fetchall()
    assert rows == [("archived", 5)]  # one batch: two dossiers of two pages + the separator sheet
