"""The doors to external programs (``sohoa/programs``), checked with the real programs.

The runner's promises (a timeout of its own type, a missing program named, stderr in
the program's logger, an environment per call, a demanded output), Tesseract's thread
limit travelling with each call instead of sitting in ``os.environ``, and each door
(Tesseract, pdftoppm, pdfsig) answering as its callers expect.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from conftest import page_image
from PIL import Image, ImageDraw, ImageFont
from pytesseract import pytesseract as pt

from ocr.engine import ocr_page
from ocr.orient import osd_rotation
from pdf.sign import validation
from schemas.settings import OcrSettings
from sohoa.errors import (
    ExitCode,
    ExternalProgramError,
    OcrError,
    ProgramMissingError,
    ProgramTimeoutError,
)
from sohoa.programs import pdfsig, pdftoppm, tesseract
from sohoa.programs.run import run_program

ROOT = Path(__file__).resolve().parents[1]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _text_image(path: Path, lines: list[str], *, size=(1200, 500)) -> Path:
    """Black print on white at about 300 dpi, saved where Tesseract can read it."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 44)
    for n, line in enumerate(lines):
        draw.text((60, 60 + 90 * n), line, font=font, fill=0)
    image.save(path)
    return path


def _recording_tesseract(tmp_path: Path) -> tuple[Path, Path]:
    """A ``tesseract`` that notes the OMP_THREAD_LIMIT it was given, then runs the real one."""
    log, script = tmp_path / "omp.log", tmp_path / "bin" / "tesseract"
    script.parent.mkdir()
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "${{OMP_THREAD_LIMIT-unset}}" >> "{log}"\nexec tesseract "$@"\n'
    )
    script.chmod(0o755)
    return script, log


# --- the runner ---------------------------------------------------------------------------


def test_a_program_past_its_timeout_is_killed_with_its_own_error_type():
    started = time.monotonic()
    with pytest.raises(ProgramTimeoutError) as caught:
        run_program(["sleep", "30"], timeout=0.5)
    assert time.monotonic() - started < 10  # killed, not waited for
    error = caught.value
    assert isinstance(error, ExternalProgramError)
    assert error.exit_code == ExitCode.EXTERNAL_PROGRAM
    assert error.params == {"program": "sleep", "seconds": 0.5}
    assert "sleep" in error.render("en") and "0.5" in error.render("en")


def test_a_program_gets_no_terminal_input_unless_given_some():
    assert run_program(["cat"], timeout=10).stdout == ""
    assert run_program(["cat"], timeout=10, input_bytes=b"xin chao").stdout == "xin chao"


def test_an_osd_answer_pytesseract_cannot_parse_means_cannot_tell(tmp_path, monkeypatch):
    def unknown_line(_text):
        raise KeyError("Unknown key")

    lines = ["Cộng hòa xã hội chủ nghĩa Việt Nam", "Độc lập - Tự do - Hạnh phúc"] * 3
    image = _text_image(tmp_path / "text.png", lines, size=(1500, 700))
    assert tesseract.osd(image, dpi=300, timeout=60) is not None  # Tesseract does answer
    monkeypatch.setattr(tesseract._pt, "osd_to_dict", unknown_line)
    assert tesseract.osd(image, dpi=300, timeout=60) is None


def test_a_missing_program_is_named_in_an_external_program_error():
    with pytest.raises(ExternalProgramError) as caught:
        run_program(["sohoa-no-such-program", "--version"], timeout=5)
    assert isinstance(caught.value, ProgramMissingError)
    assert "sohoa-no-such-program" in caught.value.render("en")
    assert "sohoa-no-such-program" in caught.value.render("vi")


def test_stderr_goes_to_the_programs_logger_and_a_failure_names_the_last_line(caplog):
    caplog.set_level(logging.DEBUG, logger="sohoa.programs")
    script = "echo first problem >&2; echo the cause >&2; exit 3"
    with pytest.raises(ExternalProgramError) as caught:
        run_program(["sh", "-c", script], timeout=10)
    error = caught.value
    assert not isinstance(error, ProgramMissingError | ProgramTimeoutError)
    assert error.params == {"program": "sh", "code": 3, "detail": "the cause"}
    logged = [r for r in caplog.records if r.name == "sohoa.programs.sh"]
    assert logged and "first problem" in logged[0].getMessage()
    assert logged[0].levelno == logging.DEBUG


def test_an_accepted_exit_code_and_check_false_return_the_output():
    done = run_program(["sh", "-c", "echo out; exit 1"], timeout=10, check=False)
    assert (done.returncode, done.stdout) == (1, "out\n")
    done = run_program(["sh", "-c", "echo out; exit 1"], timeout=10, ok_codes=(0, 1))
    assert done.returncode == 1


def test_a_demanded_output_must_exist(tmp_path):
    target = tmp_path / "made.txt"
    run_program(["touch", target], timeout=10, expect_output=target)
    with pytest.raises(ExternalProgramError) as caught:
        run_program(["true"], timeout=10, expect_output=tmp_path / "never.txt")
    assert "never.txt" in caught.value.render("en")


def test_the_environment_is_passed_per_call_and_never_to_the_process(monkeypatch):
    monkeypatch.delenv("SOHOA_PROGRAMS_PROBE", raising=False)
    done = run_program(
        ["sh", "-c", 'echo "${SOHOA_PROGRAMS_PROBE-unset}"'],
        timeout=10,
        env={"SOHOA_PROGRAMS_PROBE": "42"},
    )
    assert done.stdout.strip() == "42"
    assert "SOHOA_PROGRAMS_PROBE" not in os.environ
    again = run_program(["sh", "-c", 'echo "${SOHOA_PROGRAMS_PROBE-unset}"'], timeout=10)
    assert again.stdout.strip() == "unset"


def test_binary_output_is_kept_as_bytes():
    done = run_program(["printf", "\\377\\330"], timeout=10, binary_stdout=True)
    assert done.stdout_bytes == b"\xff\xd8" and done.stdout == ""


# --- Tesseract ------------------------------------------------------------------------------


def test_importing_the_ocr_engine_leaves_the_environment_alone():
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    code = (
        "import os, ocr.engine, ocr.reread, ocr.orient; print(os.environ.get('OMP_THREAD_LIMIT'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


def test_the_thread_limit_travels_with_each_tesseract_call(tmp_path, monkeypatch, caplog):
    script, log = _recording_tesseract(tmp_path)
    monkeypatch.setattr(pt, "tesseract_cmd", str(script))
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    image = _text_image(tmp_path / "line.png", ["Cộng hòa xã hội"])
    data = tesseract.tsv(image, lang="vie", psm=6, dpi=300, timeout=120)
    tesseract.tsv(image, lang="vie", psm=6, dpi=300, timeout=120, threads=2)
    assert log.read_text().split() == ["1", "2"]
    assert "OMP_THREAD_LIMIT" not in os.environ
    words = [str(t) for t, lv in zip(data["text"], data["level"], strict=True) if lv == 5]
    assert "Cộng" in " ".join(words) or "hòa" in " ".join(words), words


def test_every_tesseract_run_of_a_page_read_gets_one_thread(tmp_path, monkeypatch):
    script, log = _recording_tesseract(tmp_path)
    monkeypatch.setattr(pt, "tesseract_cmd", str(script))
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    path = _text_image(tmp_path / "page.png", ["Hồ sơ đăng ký", "Nguyễn Văn An"], size=(1600, 900))
    page = page_image(path, source="page.png")
    read = ocr_page(page, OcrSettings(reread_below=0, recover_lines=False))
    assert "Nguyễn" in read.text or "Văn" in read.text, read.text
    runs = log.read_text().split()
    assert runs and set(runs) == {"1"}  # the page run (and OSD, should the page need it)


def test_a_tesseract_failure_becomes_an_ocr_error_with_tesseracts_words(tmp_path):
    broken = tmp_path / "tessdata"
    broken.mkdir()
    (broken / "vie.traineddata").write_bytes(b"this is not a traineddata file")
    path = _text_image(tmp_path / "page.png", ["Hồ sơ"])
    page = page_image(path, source="hoso.pdf", source_page=1)
    with pytest.raises(OcrError) as caught:
        ocr_page(page, OcrSettings(tessdata_dir=broken))
    reason = caught.value.params["reason"]
    assert "vie.traineddata" in reason  # the cause, not only "Could not initialize tesseract."
    assert caught.value.params["page"] == 2 and caught.value.params["file"] == "hoso.pdf"


def test_a_tesseract_timeout_surfaces_as_an_ocr_error(tmp_path):
    path = _text_image(tmp_path / "page.png", ["Hồ sơ đăng ký"] * 4, size=(2400, 3300))
    page = page_image(path, source="slow.pdf")
    with pytest.raises(OcrError) as caught:
        ocr_page(page, OcrSettings(page_timeout_s=0.01))
    assert isinstance(caught.value.__cause__, ProgramTimeoutError)
    assert "tesseract" in caught.value.params["reason"]


def test_osd_answers_on_text_and_says_nothing_on_an_empty_page(tmp_path):
    lines = ["Cộng hòa xã hội chủ nghĩa Việt Nam", "Độc lập - Tự do - Hạnh phúc"] * 3
    upright = _text_image(tmp_path / "text.png", lines, size=(1500, 700))
    Image.open(upright).rotate(180).save(tmp_path / "turned.png")
    found = tesseract.osd(tmp_path / "turned.png", dpi=300, timeout=60)
    assert found is not None and found["rotate"] == 180, found
    Image.fromarray(np.full((300, 300), 255, np.uint8)).save(tmp_path / "blank.png")
    assert tesseract.osd(tmp_path / "blank.png", dpi=300, timeout=60) is None


def test_an_osd_timeout_means_cannot_tell(tmp_path):
    lines = ["Cộng hòa xã hội chủ nghĩa Việt Nam"] * 4
    gray = np.asarray(Image.open(_text_image(tmp_path / "t.png", lines, size=(1200, 600))))
    assert osd_rotation(gray, 300.0, timeout=1e-6) is None


def test_a_missing_tesseract_is_a_set_up_error_not_a_bad_page(tmp_path, monkeypatch):
    monkeypatch.setattr(pt, "tesseract_cmd", "sohoa-no-tesseract-here")
    page = page_image(_text_image(tmp_path / "page.png", ["Hồ sơ"]), source="hoso.pdf")
    with pytest.raises(ProgramMissingError) as caught:
        ocr_page(page, OcrSettings())
    assert not isinstance(caught.value, OcrError)


def test_tesseract_version_and_languages():
    assert tesseract.version(timeout=30).startswith("tesseract ")
    assert {"vie", "osd"} <= tesseract.languages(timeout=30)


# --- poppler ----------------------------------------------------------------------------------


def _two_page_pdf(path: Path) -> Path:
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(72, 144))
        pdf.add_blank_page(page_size=(144, 72))
        pdf.save(path)
    return path


def test_pdftoppm_renders_the_asked_page_at_the_asked_resolution(tmp_path):
    pdf = _two_page_pdf(tmp_path / "two.pdf")
    [second] = pdftoppm.render(pdf, first_page=2, last_page=2, dpi=100, timeout=60)
    assert second.size == (200, 100) and second.mode == "RGB"
    [first] = pdftoppm.render_bytes(pdf.read_bytes(), first_page=1, last_page=1, dpi=50, timeout=60)
    assert first.size == (50, 100)


def test_pdftoppm_on_a_broken_pdf_fails_with_its_reason(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="sohoa.programs")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\nthis is not a PDF body\n")
    with pytest.raises(ExternalProgramError) as caught:
        pdftoppm.render(broken, first_page=1, last_page=1, dpi=72, timeout=60)
    assert not isinstance(caught.value, ProgramMissingError | ProgramTimeoutError)
    assert caught.value.params["program"] == "pdftoppm"
    assert any(r.name == "sohoa.programs.pdftoppm" for r in caplog.records)


def test_pdfsig_on_an_unsigned_pdf_answers_rather_than_raises(tmp_path):
    pdf = _two_page_pdf(tmp_path / "unsigned.pdf")
    done = pdfsig.check(pdf, timeout=60)
    assert "does not contain any signatures" in done.stdout + done.stderr
    assert pdfsig.version(timeout=30).startswith("pdfsig")


def test_a_pdfsig_timeout_is_a_finding_matched_by_type(tmp_path, monkeypatch):
    pdf = _two_page_pdf(tmp_path / "slow.pdf")
    monkeypatch.setattr(validation, "PDFSIG_TIMEOUT_S", 1e-6)
    facts = validation._pdfsig_check(pdf)
    assert facts["problems"] == ["pdfsig timed out"] and facts["pdfsig_valid"] is False
