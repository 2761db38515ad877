"""Every bad input: non-zero exit, a one-line reason naming the file, the original kept in
quarantine with the reason beside it, no catalog record, no archive object; other batches go on."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pikepdf
import pytest

from sohoa.errors import ExitCode
from storage.objectstore import sha256_file


def _png_with_size(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _make(kind: str, tmp_path: Path, scan_pdf: Path) -> Path:
    if kind == "empty":
        path = tmp_path / "rong.pdf"
        path.write_bytes(b"")
    elif kind == "truncated":
        path = tmp_path / "cat-ngang.pdf"
        data = scan_pdf.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "corrupt":
        path = tmp_path / "hong.pdf"
        path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    elif kind == "encrypted":
        path = tmp_path / "mat-khau.pdf"
        with pikepdf.open(scan_pdf) as pdf:
            pdf.save(path, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    elif kind == "not_image":
        path = tmp_path / "ghi-chu.pdf"
        path.write_text("Đây không phải bản quét\n", encoding="utf-8")
    elif kind == "bomb":
        path = tmp_path / "qua-lon.png"
        _png_with_size(path, 100_000, 100_000)
    else:
        raise AssertionError(kind)
    return path


CASES = [
    ("empty", ExitCode.BAD_INPUT, "empty"),
    ("truncated", ExitCode.BAD_INPUT, "corrupt or truncated PDF"),
    ("corrupt", ExitCode.BAD_INPUT, "corrupt or truncated PDF"),
    ("encrypted", ExitCode.ENCRYPTED_INPUT, "password-protected"),
    ("not_image", ExitCode.BAD_INPUT, "not a PDF, TIFF, JPEG or PNG"),
    ("bomb", ExitCode.INPUT_TOO_LARGE, "too large"),
]


def _assert_rejected(cli, done, path: Path, code: int, phrase: str) -> None:
    assert done.returncode == code, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    error_lines = [line for line in lines if line.startswith("Error")]
    assert len(error_lines) == 1, done.stderr
    assert path.name in error_lines[0] and phrase in error_lines[0]
    quarantined = [p for p in (cli.data_dir / "quarantine").rglob("*") if p.is_file()]
    kept = [p for p in quarantined if p.name.endswith(path.name)]
    assert len(kept) == 1 and sha256_file(kept[0]) == sha256_file(path)
    reason = (kept[0].parent / "reason.txt").read_text(encoding="utf-8")
    assert path.name in reason and phrase in reason
    for told in (done.stderr, reason):  # what a clerk reads names files, not server folders
        assert str(cli.data_dir) not in told and "/tmp/" not in told, told
    assert cli.record_count() == 0
    assert cli.archive_objects() == []
    work = cli.data_dir / "work"
    assert not work.exists() or not any(work.iterdir())  # no scratch left behind
    assert path.exists()  # the user's own file is never touched


AT_THE_DOOR = {"empty", "not_image"}
"""Refused by ``sohoa ingest`` before anything starts (its check of the arguments): the
user's file is where it was, so nothing is copied into the inbox or quarantine."""


def _assert_refused_at_the_door(cli, done, path: Path, code: int, phrase: str) -> None:
    assert done.returncode == code, done.stdout + done.stderr
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1 and path.name in error_lines[0] and phrase in error_lines[0]
    assert done.stdout == ""  # no empty records table
    for folder in ("inbox", "quarantine", "work"):
        where = cli.data_dir / folder
        assert not where.exists() or not any(where.rglob("*")), folder
    assert cli.record_count() == 0 and cli.archive_objects() == []
    assert path.exists()


@pytest.mark.parametrize(("kind", "code", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_quarantined(cli, tmp_path, scan_pdf, kind, code, phrase):
    path = _make(kind, tmp_path, scan_pdf)
    done = cli("ingest", str(path))
    if kind in AT_THE_DOOR:
        _assert_refused_at_the_door(cli, done, path, code, phrase)
    else:
        _assert_rejected(cli, done, path, code, phrase)


def test_every_bad_argument_is_named_before_any_batch_starts(cli, tmp_path, scan_pdf):
    """``--each`` with a good scan, an empty file and a missing one: both bad ones are
    named and nothing is digitised, not even the good scan (the clerk fixes the command)."""
    empty, missing = _make("empty", tmp_path, scan_pdf), tmp_path / "khong-co.pdf"
    done = cli("ingest", "--each", str(scan_pdf), str(empty), str(missing), "--json")
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 2 and empty.name in errors[0] and missing.name in errors[1]
    assert done.stdout == "" and cli.record_count() == 0


def test_message_is_vietnamese_by_default(cli, tmp_path, scan_pdf):
    path = _make("encrypted", tmp_path, scan_pdf)
    done = cli("ingest", str(path), lang="vi")
    assert done.returncode == ExitCode.ENCRYPTED_INPUT
    assert "PDF có mật khẩu" in done.stderr and path.name in done.stderr


def test_tesseract_failure_is_quarantined(cli, tmp_path, scan_pdf):
    broken = tmp_path / "tessdata"
    broken.mkdir()
    (broken / "vie.traineddata").write_bytes(b"this is not a traineddata file")
    done = cli("ingest", str(scan_pdf), extra_env={"SOHOA_OCR__TESSDATA_DIR": str(broken)})
    _assert_rejected(cli, done, scan_pdf, ExitCode.OCR_FAILED, "OCR failed on page")


def test_other_batches_still_go_through(cli, tmp_path, scan_pdf):
    bad = _make("corrupt", tmp_path, scan_pdf)
    done = cli("ingest", "--each", str(bad), str(scan_pdf), "--json")
    assert done.returncode == ExitCode.BAD_INPUT
    assert bad.name in done.stderr
    assert cli.record_count() == 1
    assert '"pages": 3' in done.stdout


def test_missing_file_is_reported(cli, tmp_path):
    done = cli("ingest", str(tmp_path / "khong-co.pdf"))
    assert done.returncode == ExitCode.NOT_FOUND and "khong-co.pdf" in done.stderr
    assert done.stdout == ""  # no empty records table


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_refused_before_any_work(cli, tmp_path, scan_pdf):
    import shutil

    locked = tmp_path / "khoa.pdf"
    shutil.copy(scan_pdf, locked)
    locked.chmod(0)
    done = cli("ingest", str(locked))
    assert done.returncode == ExitCode.BAD_INPUT and "khoa.pdf" in done.stderr
    assert "permission" in done.stderr and cli.record_count() == 0


def test_a_production_set_up_without_its_key_refuses_before_any_work(cli, scan_pdf):
    """``signing.allow_demo = false`` (docker-compose.yml) and no key mounted: the batch is
    not received, read or signed with the demo certificate; the message says what to fix."""
    done = cli("ingest", str(scan_pdf), extra_env={"SOHOA_SIGNING__ALLOW_DEMO": "false"})
    assert done.returncode == ExitCode.CONFIG, done.stdout + done.stderr
    assert "signing.allow_demo" in done.stderr and "Mount the office's certificate" in done.stderr
    assert cli.record_count() == 0 and cli.archive_objects() == []
    inbox = cli.data_dir / "inbox"
    assert not inbox.exists() or not any(inbox.iterdir())
    assert not (cli.data_dir / "demo-signer").exists()  # no demo key made either
    assert scan_pdf.exists()
