"""A page added to or replaced in an archived record makes version N+1: a new signed PDF and
manifest with the history, the catalog pointing at it, the previous version kept intact and
still verifying (``sohoa record add-page|replace-page``, real Tesseract, real signing)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from conftest import copy_data_dir, make_cli

from sohoa.errors import ExitCode

NEW_PAGE = [
    "BIÊN BẢN BỔ SUNG",
    "Người làm chứng: Phạm Minh Khôi",
    "Nội dung: bổ sung trang còn thiếu",
]
NEW_WORDS = "pham minh khoi"  # only on the added page
REPLACEMENT = [
    "TỜ KHAI SỬA ĐỔI",
    "Trang thay thế: quê quán Hà Tĩnh",
    "Địa chỉ: số 45 đường Trần Phú, thành phố Vinh",
]
REPLACEMENT_WORDS = "tran phu vinh"
OLD_PAGE_2_WORDS = "quang tri"  # only on the scan's page 2 (conftest.PAGE_TEXTS), in no field


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def archived(tmp_path_factory, scan_pdf):
    """One 3-page record archived on embedded defaults, and the two new page scans."""
    from samples.synth import render_page

    scans = tmp_path_factory.mktemp("version-scans")
    for name, lines in (("bo-sung.png", NEW_PAGE), ("thay-the.png", REPLACEMENT)):
        render_page(lines, font_size_pt=14).save(scans / name, dpi=(300, 300))
    cli = make_cli(tmp_path_factory.mktemp("versions") / "data")
    (record,) = cli.json("ingest", str(scan_pdf), "--unit", "H56.01")
    return cli, record, scans


@pytest.fixture
def copy(archived, tmp_path):
    """This test's own copy of the archive: ``(cli, record, scans)`` on a SQLite catalog."""
    shared, record, scans = archived
    copy_data_dir(shared.data_dir, tmp_path / "data")
    return make_cli(tmp_path / "data"), record, scans


@pytest.fixture
def on_backend(copy, catalog_url):
    """The copy on each catalog backend: PostgreSQL gets its catalog by ``catalog rebuild``."""
    cli, record, scans = copy
    if catalog_url.startswith("postgresql"):
        cli.env["SOHOA_CATALOG_URL"] = catalog_url
        done = cli("catalog", "rebuild", "--json")
        assert done.returncode == 0, done.stderr
    return cli, record, scans


def _page_text(pdf: Path, number: int) -> str:
    """Page ``number``'s text as poppler reads it (an independent reader)."""
    args = ["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def _total(cli, words: str) -> int:
    return cli.json("search", words)["total"]


def _add(cli, record, scan: Path, *extra: str):
    return cli("record", "add-page", record["id"], str(scan), *extra)


def test_add_page_makes_a_signed_version_2_and_keeps_version_1(on_backend):
    cli, record, scans = on_backend
    old_pdf = cli.data_dir / "objects" / record["pdf"]
    old_sha = _sha(old_pdf)
    assert _total(cli, NEW_WORDS) == 0
    done = cli.json(
        "record", "add-page", record["id"], str(scans / "bo-sung.png"),
        "--reason", "thiếu trang biên bản", "--by", "clerk7",
    )  # fmt: skip
    assert (done["version"], done["pages"]) == (2, 4)
    (change,) = done["history"]
    assert (change["action"], change["page"], change["by"]) == ("add_page", 4, "clerk7")
    assert change["reason"] == "thiếu trang biên bản"
    assert change["previous"]["pdf"]["key"] == record["pdf"]
    assert change["previous"]["pdf"]["sha256"] == old_sha
    shown = cli.json("show", record["id"])
    assert (shown["version"], shown["pages"], shown["pdf"]) == (2, 4, done["pdf"])
    assert shown["history_detail"][0]["reason"] == "thiếu trang biên bản"
    assert shown["corrections"][-1]["field"] == "version"
    assert _sha(old_pdf) == old_sha  # version 1 untouched, still in the store
    assert _sha(cli.data_dir / "objects" / done["pdf"]) == done["sha256"] != old_sha
    assert (cli.data_dir / "objects" / change["original"]["key"]).is_file()
    assert _total(cli, NEW_WORDS) == 1
    verified = cli.json("verify", record["id"])["records"][0]
    keys = {o["key"]: o["status"] for o in verified["objects"]}
    assert keys[done["pdf"]] == keys[record["pdf"]] == "ok"  # new and old both checked
    assert cli("verify", "--all").returncode == 0  # the old version is no orphan
    for pdf in (old_pdf, cli.data_dir / "objects" / done["pdf"]):
        sig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True, check=False)
        assert "Signature is Valid" in sig.stdout, sig.stdout


def test_export_gives_the_newest_version(copy, tmp_path):
    cli, record, scans = copy
    done = cli.json(
        "record", "add-page", record["id"], str(scans / "bo-sung.png"), "--at", "1",
        "--reason", "trang bìa",
    )  # fmt: skip
    out = tmp_path / "ban-sao.pdf"
    assert cli("export", record["id"], "-o", str(out)).returncode == 0
    assert _sha(out) == done["sha256"]
    first = _page_text(out, 1)
    assert "Khôi" in first  # inserted before the old first page


def test_replace_page_2_changes_that_page_only(copy, tmp_path):
    cli, record, scans = copy
    assert _total(cli, OLD_PAGE_2_WORDS) == 1
    done = cli.json(
        "record", "replace-page", record["id"], "2", str(scans / "thay-the.png"),
        "--reason", "quét lại: trang mờ",
    )  # fmt: skip
    assert (done["version"], done["pages"]) == (2, 3)
    assert (done["history"][0]["action"], done["history"][0]["page"]) == ("replace_page", 2)
    assert _total(cli, OLD_PAGE_2_WORDS) == 0
    assert _total(cli, REPLACEMENT_WORDS) == 1
    pdf = cli.data_dir / "objects" / done["pdf"]
    pages = [_page_text(pdf, n) for n in (1, 2, 3)]
    assert "Trần Phú" in pages[1] and "Quảng Trị" not in pages[1]
    assert "Nguyễn Thị Hồng Đào" in pages[0]  # the other pages as they were
    # the kept address came from the replaced page and the new one says otherwise
    assert "version_conflict:address" in done["review_reasons"]
    assert done["status"] == "needs_review"


def test_a_stale_revision_is_refused(copy):
    cli, record, scans = copy
    seen = cli.json("show", record["id"])["revision"]
    cli.json("review", "set", record["id"], "applicant_name", "Nguyễn Thị Hồng Đào",
             "--reason", "đối chiếu", "--revision", str(seen))  # fmt: skip
    before = sorted(cli.archive_objects())
    done = _add(cli, record, scans / "bo-sung.png", "--reason", "x", "--revision", str(seen))
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert "changed by someone else" in done.stderr
    assert sorted(cli.archive_objects()) == before
    assert cli.json("show", record["id"])["version"] == 1


def test_a_bad_file_is_refused_before_anything_is_stored(copy, tmp_path):
    cli, record, scans = copy
    empty, text = tmp_path / "trong.png", tmp_path / "ghi-chu.pdf"
    empty.write_bytes(b"")
    text.write_text("không phải ảnh quét\n")
    originals = cli.data_dir / "objects" / "originals"
    before = sorted(cli.archive_objects()), sorted(originals.rglob("*"))
    for bad, words in ((empty, "empty file"), (text, "not a PDF, TIFF, JPEG or PNG")):
        done = _add(cli, record, bad, "--reason", "x")
        assert done.returncode == ExitCode.BAD_INPUT, done.stderr
        assert words in done.stderr
    done = cli("record", "replace-page", record["id"], "9", str(scans / "thay-the.png"),
               "--reason", "x")  # fmt: skip
    assert done.returncode == ExitCode.BAD_INPUT and "No page 9" in done.stderr
    done = _add(cli, record, scans / "bo-sung.png", "--reason", " ")
    assert done.returncode == ExitCode.BAD_INPUT and "reason" in done.stderr
    assert (sorted(cli.archive_objects()), sorted(originals.rglob("*"))) == before
    assert cli.json("show", record["id"])["version"] == 1


def test_rebuild_after_a_version_change_gives_the_newest(copy):
    cli, record, scans = copy
    cli.json("record", "add-page", record["id"], str(scans / "bo-sung.png"), "--reason", "a")
    done = cli.json(
        "record", "replace-page", record["id"], "1", str(scans / "thay-the.png"), "--reason", "b"
    )
    for leftover in cli.data_dir.glob("catalog.sqlite*"):
        leftover.unlink()
    report = cli.json("catalog", "rebuild")
    assert (report["manifests"], report["records"], report["duplicates"]) == (3, 1, [])
    shown = cli.json("show", record["id"])
    assert (shown["version"], shown["pages"], shown["pdf"]) == (3, 4, done["pdf"])
    assert [h["version"] for h in shown["history_detail"]] == [2, 3]
    assert _total(cli, NEW_WORDS) == 1
    assert cli("verify", "--all").returncode == 0


def test_a_retry_after_the_catalog_failed_stores_nothing_twice(copy, monkeypatch):
    """The manifest is stored, the catalog row fails: the old version stays current; the
    same change again catalogs what was stored (no second signed PDF retained)."""
    from catalog.database import Catalog
    from flows.versions import change_record_page
    from records.versions import PageChange
    from schemas.settings import Settings
    from sohoa.errors import StorageError

    cli, record, scans = copy
    monkeypatch.setenv("SOHOA_DATA_DIR", str(cli.data_dir))
    settings = Settings()
    change = PageChange("add_page", None, "thiếu trang", "clerk1")
    real = Catalog.add_record

    def down(self, *args, **kwargs):
        raise StorageError(reason="catalog down")

    monkeypatch.setattr(Catalog, "add_record", down)
    with pytest.raises(StorageError):
        change_record_page(settings, record["id"], scans / "bo-sung.png", change)
    assert cli.json("show", record["id"])["version"] == 1  # never a half version
    stored = sorted(cli.archive_objects())
    monkeypatch.setattr(Catalog, "add_record", real)
    manifest = change_record_page(settings, record["id"], scans / "bo-sung.png", change)
    assert manifest.version == 2
    assert sorted(cli.archive_objects()) == stored  # catalogued, not stored again
    assert cli.json("show", record["id"])["version"] == 2


def _two_page_tiff(scans: Path, dest: Path) -> Path:
    """A scanner's two-page TIFF: the added page, then the replacement page."""
    from PIL import Image

    first, second = (Image.open(scans / n).convert("L") for n in ("bo-sung.png", "thay-the.png"))
    first.save(dest, save_all=True, append_images=[second], dpi=(300, 300), compression="tiff_lzw")
    return dest


def test_a_multi_page_file_adds_every_page_in_order(copy, tmp_path):
    cli, record, scans = copy
    tiff = _two_page_tiff(scans, tmp_path / "hai-trang.tif")
    done = cli.json(
        "record", "add-page", record["id"], str(tiff), "--at", "2", "--reason", "thiếu hai trang"
    )
    assert (done["version"], done["pages"], done["changed_pages"]) == (2, 5, [2, 3])
    (change,) = done["history"]
    assert (change["action"], change["page"]) == ("add_page", 2)
    pdf = cli.data_dir / "objects" / done["pdf"]
    pages = [_page_text(pdf, n) for n in range(1, 6)]
    assert "Khôi" in pages[1] and "Trần Phú" in pages[2]  # the file's order
    assert "Nguyễn Thị Hồng Đào" in pages[0] and "Quảng Trị" in pages[3]  # old pages moved on
    assert _total(cli, NEW_WORDS) == _total(cli, REPLACEMENT_WORDS) == 1
    said = cli("record", "add-page", record["id"], str(scans / "bo-sung.png"), "--reason", "x")
    assert said.returncode == 0 and "version 3, page(s) 6 added (now 6 pages)" in said.stdout
    assert cli("verify", "--all").returncode == 0


def test_replacing_one_page_with_a_multi_page_file_is_refused(copy, tmp_path):
    cli, record, scans = copy
    tiff = _two_page_tiff(scans, tmp_path / "hai-trang.tif")
    originals = cli.data_dir / "objects" / "originals"
    before = sorted(cli.archive_objects()), sorted(originals.rglob("*"))
    done = cli("record", "replace-page", record["id"], "2", str(tiff), "--reason", "quét lại")
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr
    assert "replacing a page takes a one-page file, this one has 2" in done.stderr
    assert (sorted(cli.archive_objects()), sorted(originals.rglob("*"))) == before
    assert cli.json("show", record["id"])["version"] == 1


def test_the_same_change_again_after_it_was_made_is_not_made_twice(copy):
    """A command killed after its catalog row (nothing printed) and run again: the version it
    made is the answer. The same scan with another reason is a change of its own."""
    cli, record, scans = copy
    args = ("record", "add-page", record["id"], str(scans / "bo-sung.png"), "--reason", "thiếu")
    first = cli.json(*args, "--by", "clerk7")
    stored = sorted(cli.archive_objects())
    again = cli.json(*args, "--by", "clerk7")
    assert again == first and sorted(cli.archive_objects()) == stored
    other = cli.json(*args[:-1], "trang cần hai bản", "--by", "clerk7")
    assert (other["version"], other["pages"]) == (3, 5)


SECOND_APPLICANT = [
    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Họ và tên người nộp: Trần Văn Hưởng",
    "Nội dung yêu cầu: Đăng ký khai sinh",
]


def test_an_added_page_brings_its_people_and_their_doubts(copy, tmp_path):
    """A page naming another applicant joins the record's people at its page (search by
    person finds the record through it) and is a person conflict for the review queue; the
    record's own people stay as they were."""
    from samples.synth import render_page

    cli, record, _ = copy
    scan = tmp_path / "tiep-nhan-2.png"
    render_page(SECOND_APPLICANT, font_size_pt=14).save(scan, dpi=(300, 300))
    before = cli.json("show", record["id"])
    done = _add(cli, record, scan, "--reason", "bổ sung giấy tiếp nhận", "--json")
    assert done.returncode == 0, done.stderr
    after = cli.json("show", record["id"])
    old = [(p["role"], p["name"]) for p in before["persons"]]
    now = [(p["role"], p["name"], p["page"]) for p in after["persons"]]
    assert [(r, n) for r, n, _ in now[: len(old)]] == old
    assert ("applicant", "Trần Văn Hưởng", 3) in now, now
    assert any(r.startswith("person_conflict:applicant:") for r in after["review_reasons"])
    [hit] = cli.json("search", "tran van huong")["hits"]
    assert hit["record_id"] == record["id"]
    assert {"role": "applicant", "name": "Trần Văn Hưởng"} in hit["people"]
