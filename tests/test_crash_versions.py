"""``kill -9`` at each archive step of a page change, then the same command again: every
object stored once, the change made once.

An archived one-page record gets a page (``sohoa record add-page``) in a subprocess that
SIGKILLs itself at one step (:data:`KILLER` patches it, then runs the CLI): after the new
scan is stored (before signing), after the signed ``.v2.pdf`` is uploaded (before its
manifest: issue 19's gap), after the manifest (before the catalog row), after the
catalog row (before the command printed anything). The same command is then run again,
unpatched. Afterwards the record is at version 2 with two pages, every key in the archive
and the originals has exactly one version (the local store's ``.versions/``; the S3
server's ``ListObjectVersions``), and ``sohoa verify --all`` passes. Why: each upload is a
version under object lock kept for years; a rerun that signs again leaves a second
signed copy nobody can delete, and one that adds the page again makes a third version.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CLI_TIMEOUT_S, make_cli
from s3server import s3_server  # noqa: F401
from test_crash_archive import place  # noqa: F401  (the local store and S3, with version counts)

UNIT = "H56.01"
FIRST = ["GIẤY TIẾP NHẬN HỒ SƠ", "Họ và tên người nộp: Lê Thị Thu Hà", "Nội dung: cấp bản sao"]
ADDED = ["BIÊN BẢN BỔ SUNG", "Người làm chứng: Phạm Minh Khôi", "Nội dung: trang còn thiếu"]
REASON = "thiếu trang biên bản"

KILLER = r'''
"""Run ``sohoa`` with one step of a page change patched to SIGKILL this process (argv: POINT ARGS)."""
import os
import signal
import sys

point, args = sys.argv[1], sys.argv[2:]


def die(step, after):
    """``step`` wrapped: its first call kills the process, before or ``after`` it runs."""

    def patched(*a, **k):
        if not after:
            os.kill(os.getpid(), signal.SIGKILL)
        result = step(*a, **k)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    return patched


if point == "scan":  # the new scan stored as an original, nothing signed yet
    import flows.batch as batch
    batch._sign = die(batch._sign, after=False)
elif point == "pdf":  # the signed .v2.pdf uploaded, not its manifest
    import records.versions as versions
    versions.put_manifest = die(versions.put_manifest, after=False)
elif point == "manifest":  # PDF and manifest uploaded, no catalog row
    from catalog.database import Catalog
    Catalog.add_record = die(Catalog.add_record, after=False)
elif point == "catalog":  # the catalog row written, nothing printed yet
    from catalog.database import Catalog
    Catalog.add_record = die(Catalog.add_record, after=True)
else:
    raise SystemExit(f"unknown point {point}")

from cli.app import app

sys.argv = ["sohoa", *args]
app()
'''

POINTS = ["scan", "pdf", "manifest", "catalog"]


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> tuple[Path, Path]:
    """The record's one-page scan and the page a clerk adds later."""
    from samples.synth import render_page

    folder = tmp_path_factory.mktemp("version-crash-scans")
    first, added = folder / "tiep-nhan.png", folder / "bo-sung.png"
    render_page(FIRST, font_size_pt=14).save(first, dpi=(300, 300))
    render_page(ADDED, font_size_pt=14).save(added, dpi=(300, 300))
    return first, added


def _add_page_args(record_id: str, scan: Path) -> list[str]:
    return ["record", "add-page", record_id, str(scan), "--reason", REASON, "--by", "clerk7"]


def _killed(cli, env: dict, point: str, args: list[str], tmp_path: Path) -> None:
    """The command with the step patched to SIGKILL; asserts it died by that signal."""
    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    done = subprocess.run(
        [sys.executable, str(script), point, *args],
        env=cli.env | env | {"SOHOA_LANG": "en"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == -9, done.stdout + done.stderr


def _kept(counts) -> dict[str, int]:
    """Versions of the record's objects: archive and originals (not intake or audit)."""
    return {
        k: n
        for k, n in counts.items()
        if k.split("/", 1)[0] in ("archive", "originals") and k.split("/")[1][:1] != "_"
    }


@pytest.mark.timeout(900)
@pytest.mark.parametrize("point", POINTS)
def test_a_page_change_rerun_after_kill_9_stores_every_object_once(
    point,
    place,  # noqa: F811 - the fixture imported above
    scans,
    tmp_path,
):
    env, versions = place
    first, added = scans
    cli = make_cli(tmp_path / "data")
    done = cli("ingest", str(first), "--unit", UNIT, "--json", extra_env=env)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)
    args = _add_page_args(record["id"], added)
    _killed(cli, env, point, args, tmp_path)

    done = cli(*args, "--json", extra_env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["version"], result["pages"], result["changed_pages"]) == (2, 2, [2])
    assert len(result["history"]) == 1

    kept = _kept(versions())
    assert kept and set(kept.values()) == {1}, kept  # not a second signed copy, no duplicate
    archive = sorted(k for k in kept if k.startswith("archive/"))
    stem = record["pdf"].removesuffix(".pdf")
    names = [f"{stem}.pdf", f"{stem}.manifest.json", f"{stem}.v2.pdf", f"{stem}.v2.manifest.json"]
    assert archive == sorted(names), archive  # no version 3, no stray object
    assert result["pdf"] == f"{stem}.v2.pdf"
    originals = [k for k in kept if k.startswith("originals/")]
    assert len(originals) == 2, originals  # the batch's scan and the added page's
    shown = cli.json("show", record["id"], extra_env=env)
    assert (shown["version"], shown["pages"]) == (2, 2)
    verify = cli("verify", "--all", extra_env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr


# --- what decides that a stored .v{n}.pdf is this change's ------------------------------


def test_a_stored_version_pdf_of_another_change_is_not_reused(scans, tmp_path, caplog):
    """A killed attempt stored ``.v2.pdf`` for one scan; the clerk then adds another: the
    stored PDF (its signature sound) is not taken for the other change."""
    from flows.versions import change_record_page
    from records.versions import PageChange
    from samples.synth import render_page
    from schemas.settings import Settings
    from storage.stores import open_store

    first, _ = scans
    cli = make_cli(tmp_path / "data")
    (record,) = cli.json("ingest", str(first), "--unit", UNIT)
    settings = Settings(data_dir=cli.data_dir)
    store = open_store(settings)
    v2 = record["pdf"].removesuffix(".pdf") + ".v2.pdf"
    store.put_bytes(v2, store.get_bytes(record["pdf"]), content_type="application/pdf")
    other = tmp_path / "khac.png"
    render_page(["TRANG KHÁC", "Nội dung: không liên quan"], font_size_pt=14).save(
        other, dpi=(300, 300)
    )
    manifest = change_record_page(
        settings, record["id"], other, PageChange("add_page", None, REASON, "clerk7")
    )
    assert manifest.pdf.key == v2
    assert manifest.pdf.sha256 != store.stat(record["pdf"]).sha256  # signed for this change
    assert f"stored PDF {v2} was made for another change" in caplog.text
    assert cli("verify", "--all").returncode == 0
