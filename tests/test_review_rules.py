"""Review corrections recompute the record's reasons with the pipeline's own rules (no CLI:
a local store and a SQLite catalog, so every branch runs in milliseconds)."""

from __future__ import annotations

import pytest
from test_catalog import make_manifest

from catalog.database import Catalog
from records.commit import load_manifest, put_manifest
from records.review import accept_record, correct_field
from schemas.fields import FieldValue
from schemas.settings import FieldSettings
from sohoa.errors import BadInputError
from storage.localstore import LocalObjectStore

KEY = "archive/H56/2024/05/x/r1.manifest.json"


def _value(name, value, problem=None):
    return FieldValue(name=name, value=value, confidence=0.9, method="label", problem=problem)


@pytest.fixture
def record(tmp_path, catalog_url):
    store = LocalObjectStore(tmp_path / "objects")
    catalog = Catalog(catalog_url)
    fields = (
        _value("applicant_name", "Lê Văn Tám"),
        _value("birth_date", "1988-08-15"),
        _value("dossier_code", "000.00.06.H56-231027-0361"),
        _value("id_number", "045187002319", "cccd_birth_year_mismatch"),
    )
    manifest = make_manifest("r1", dossier_code="000.00.06.H56-231027-0361", text="t").model_copy(
        update={
            "fields": fields,
            "status": "needs_review",
            "review_reasons": (
                "invalid:id_number:cccd_birth_year_mismatch",
                "page_low_confidence:2",
            ),
        }
    )
    put_manifest(manifest, KEY, store, catalog)
    yield store, catalog
    catalog.close()


def _set(record, field, value, **kw):
    store, catalog = record
    return correct_field(
        store=store,
        catalog=catalog,
        settings=FieldSettings(),
        record_id="r1",
        field=field,
        value=value,
        by="clerk1",
        **kw,
    )


def test_correcting_the_birth_date_clears_the_cccd_mismatch(record):
    updated = _set(record, "birth_date", "15/08/1987")
    by_name = {f.name: f for f in updated.fields}
    assert by_name["birth_date"].value == "1987-08-15"
    assert by_name["id_number"].problem is None  # re-checked against the corrected date
    assert updated.review_reasons == ("page_low_confidence:2",)  # the page doubt remains
    assert updated.status == "needs_review"


def test_a_new_id_is_checked_against_the_birth_date_already_there(record):
    updated = _set(record, "id_number", "045190002319")  # a valid CCCD, but born 1990
    assert "invalid:id_number:cccd_birth_year_mismatch" in updated.review_reasons


def test_accept_needs_force_for_an_invalid_field_and_records_it(record):
    store, catalog = record
    with pytest.raises(BadInputError):
        accept_record(store=store, catalog=catalog, record_id="r1", by="clerk1")
    done = accept_record(
        store=store,
        catalog=catalog,
        record_id="r1",
        by="clerk1",
        reason="đã đối chiếu",
        force=True,
    )
    assert done.status == "archived" and done.review_reasons == ()
    (entry,) = done.corrections
    assert entry.field == "*" and "cccd_birth_year_mismatch" in entry.old
    assert load_manifest(store, KEY).corrections == done.corrections
    history = catalog.corrections("r1")  # the catalog mirrors the manifest's history
    assert [(h["field"], h["by"], h["reason"]) for h in history] == [
        ("*", "clerk1", "đã đối chiếu")
    ]
    assert catalog.get_record("r1").status == "archived"


def test_a_misspelt_option_is_refused_before_anything_is_written(record):
    store, catalog = record
    before = load_manifest(store, KEY)
    with pytest.raises(TypeError, match="revison"):
        _set(record, "birth_date", "15/08/1987", revison=0)
    with pytest.raises(TypeError, match="forse"):
        accept_record(store=store, catalog=catalog, record_id="r1", by="clerk1", forse=True)
    assert load_manifest(store, KEY) == before
    assert catalog.corrections("r1") == []


def test_configured_rules_decide_the_validator(record, tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[doc_types.receipt]\ntitles = ["giấy tiếp nhận"]\n'
        '[[doc_types.receipt.fields]]\nname = "applicant_name"\nlabels = ["người nộp"]\n'
        'validator = "text"\n',
        encoding="utf-8",
    )
    company = "Công ty TNHH Xây dựng Số 5"  # no person name, but valid free text
    with pytest.raises(BadInputError):
        _set(record, "applicant_name", company)
    store, catalog = record
    updated = correct_field(
        store=store,
        catalog=catalog,
        settings=FieldSettings(rules_path=rules),
        record_id="r1",
        field="applicant_name",
        value=company,
        by="clerk1",
    )
    assert next(f for f in updated.fields if f.name == "applicant_name").value == company


def test_version_1_manifests_get_reason_codes(record):
    """Manifests written before reason codes existed are read with the codes review uses."""
    store, _ = record
    old = load_manifest(store, KEY).model_copy(
        update={
            "schema_version": 1,
            "review_reasons": (
                "no dossier code found; give it with --dossier",
                "page 2 (scan.pdf #2): OCR confidence 55.0",
            ),
        }
    )
    store.put_bytes("archive/old.manifest.json", old.model_dump_json().encode())
    upgraded = load_manifest(store, "archive/old.manifest.json")
    assert upgraded.review_reasons == ("missing:dossier_code", "page_low_confidence:2")
