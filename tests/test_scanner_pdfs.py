"""Scanner PDFs as office scanners write them: JBIG2, CCITT G4, JPEG 2000, DeviceN.

Every file is made here with real encoders (Pillow's libtiff G4 and openjpeg, a JBIG2
stream assembled around that G4 data) and read back by real decoders (pikepdf,
``jbig2dec``, poppler). What it proves: an image that extracts is taken out at its
native size, pixel for pixel; an image that cannot be taken out as it is (no
``jbig2dec``, a DeviceN colour space) falls back to rasterising instead of ending in
an internal error; damaged image data is still refused with a reason; ``jbig2dec``
runs through sohoa's runner, so a decoder that hangs is stopped and the file refused.
(Colour spaces, masks and page geometry: ``test_pages_pdf.py``.)
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pikepdf
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageOps, features

from ocr import pages as page_intake
from ocr.pages import iter_pages
from schemas.models import SourceFile
from schemas.settings import LimitSettings, Settings
from services.system_check import _poppler
from sohoa.errors import BadInputError, ExitCode
from sohoa.programs.jbig2dec import Jbig2Decoder
from storage.objectstore import sha256_file

LIMITS = LimitSettings()
WIDTH, HEIGHT, DPI = 800, 600, 200
PAGE_PT = (WIDTH * 72 / DPI, HEIGHT * 72 / DPI)
SLEEP = shutil.which("sleep")
"""Found before a test narrows ``PATH`` to a folder of chosen programs."""
INK_BOX = (100, 100, 300, 250)
"""The filled rectangle in image pixels; rasterised pages are checked for ink there."""


def _bilevel_scan() -> Image.Image:
    """A black-and-white "scan": a filled box, a frame and a line of text on white."""
    img = Image.new("1", (WIDTH, HEIGHT), 1)
    draw = ImageDraw.Draw(img)
    draw.rectangle(INK_BOX, fill=0)
    draw.rectangle((420, 80, 760, 520), outline=0, width=3)
    draw.text((450, 300), "Ho so so 12/2024 - JBIG2", fill=0)
    return img


def _g4_strip(img: Image.Image) -> bytes:
    """CCITT Group 4 data for ``img``, cut out of a one-strip TIFF that libtiff wrote.

    The image is inverted first: libtiff codes 0 bits as white runs whatever the TIFF's
    photometric tag says, and Pillow's mode ``1`` stores white as 1.
    """
    coded = ImageOps.invert(img.convert("L")).convert("1")
    buf = io.BytesIO()
    coded.save(buf, "TIFF", compression="group4", tiffinfo={278: img.height})  # RowsPerStrip
    buf.seek(0)
    with Image.open(buf) as tiff:
        offsets, counts = tiff.tag_v2[273], tiff.tag_v2[279]
    assert len(offsets) == 1
    return buf.getvalue()[offsets[0] : offsets[0] + counts[0]]


def _jbig2_embedded(img: Image.Image) -> bytes:
    """An embedded JBIG2 stream (as PDF holds it): page information + one MMR generic region.

    A generic region with MMR = 1 is T.6 (G4) coded, so libtiff's G4 output is valid
    region data; only the segment headers (T.88 §7.2) are written by hand.
    """

    def segment(number: int, kind: int, data: bytes) -> bytes:
        # number, flags (type; 1-byte page association), no referred segments, page 1, length
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    page_info = struct.pack(">IIIIBH", img.width, img.height, 0, 0, 0, 0)
    region_info = struct.pack(">IIIIB", img.width, img.height, 0, 0, 0)
    region = region_info + b"\x01" + _g4_strip(img)  # generic region flags: MMR = 1
    return segment(0, 48, page_info) + segment(1, 38, region)  # 38: immediate generic region


def _one_image_pdf(path: Path, data: bytes, **image: object) -> Path:
    """A one-page PDF whose page is just this image, drawn over the whole page.

    A value in ``image`` may be a function of the new PDF, for objects that must live
    in it (a colour space's tint transform).
    """
    with pikepdf.new() as pdf:
        stream = pikepdf.Stream(pdf, data)
        stream.Type, stream.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        stream.Width, stream.Height = WIDTH, HEIGHT
        for key, value in image.items():
            stream[f"/{key}"] = value(pdf) if callable(value) else value
        page = pdf.add_blank_page(page_size=PAGE_PT)
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=stream))
        page.Contents = pikepdf.Stream(
            pdf, f"q {PAGE_PT[0]:.4f} 0 0 {PAGE_PT[1]:.4f} 0 0 cm /Im0 Do Q".encode()
        )
        pdf.save(path)
    return path


def _jbig2_pdf(path: Path, img: Image.Image) -> Path:
    return _one_image_pdf(
        path,
        _jbig2_embedded(img),
        Filter=pikepdf.Name.JBIG2Decode,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=1,
    )


def _devicen_pdf(path: Path, img: Image.Image, *, separation: bool) -> Path:
    """An 8-bit one-ink image in DeviceN (or Separation): pikepdf will not transcode it."""

    def ink_space(pdf: pikepdf.Pdf) -> pikepdf.Array:
        # tint 1 (full ink) is black in the alternate DeviceGray: gray = 1 - tint
        tint_to_gray = pikepdf.Stream(
            pdf, b"{ 1 exch sub }", FunctionType=4, Domain=[0, 1], Range=[0, 1]
        )
        ink, gray = pikepdf.Name("/Black"), pikepdf.Name.DeviceGray
        if separation:
            return pikepdf.Array([pikepdf.Name.Separation, ink, gray, tint_to_gray])
        return pikepdf.Array([pikepdf.Name.DeviceN, [ink], gray, tint_to_gray])

    tint = ImageOps.invert(img.convert("L"))  # 255 = full ink where the scan is black
    return _one_image_pdf(path, tint.tobytes(), ColorSpace=ink_space, BitsPerComponent=8)


def _pages(path: Path, tmp_path: Path):
    source = SourceFile(
        name=path.name, sha256=sha256_file(path), size=path.stat().st_size, format="pdf"
    )
    return list(iter_pages(source, path, tmp_path / "pages", start_index=0, limits=LIMITS))


def _assert_extracted_exactly(page, original: Image.Image) -> None:
    """Taken out at native size and resolution, pixel for pixel (not rasterised)."""
    assert (page.width, page.height, page.dpi) == (WIDTH, HEIGHT, DPI)
    with Image.open(page.path) as got:
        assert ImageChops.difference(got.convert("L"), original.convert("L")).getbbox() is None


def _assert_rasterised_with_ink(page) -> None:
    """Drawn by poppler at ``rasterise_dpi``, with the scan's black box dark on a light page."""
    scale = LIMITS.rasterise_dpi / DPI
    assert page.encoding == "png" and page.dpi == LIMITS.rasterise_dpi
    assert (page.width, page.height) == (round(WIDTH * scale), round(HEIGHT * scale))
    with Image.open(page.path) as got:
        grey = got.convert("L")
        box = tuple(round(v * scale) for v in INK_BOX)
        inner = (box[0] + 5, box[1] + 5, box[2] - 5, box[3] - 5)
        assert max(grey.crop(inner).getextrema()) < 64  # the box is black
        assert min(grey.crop((5, 5, box[0] - 5, box[1] - 5)).getextrema()) > 192  # paper is white


@pytest.fixture
def path_without_jbig2dec(tmp_path, monkeypatch) -> None:
    """``PATH`` holding only the programs page intake starts (``pdftoppm``): no ``jbig2dec``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("pdftoppm", "pdfsig"):  # pdfsig: the settings check's poppler version
        program = shutil.which(name)
        assert program, "poppler-utils is not installed (scripts/bootstrap.sh)"
        (bin_dir / name).symlink_to(program)
    monkeypatch.setenv("PATH", str(bin_dir))


# --------------------------------------------------------------------------- JBIG2


def test_the_jbig2_fixture_is_real_jbig2(tmp_path):
    """The hand-made stream decodes with the reference decoder to the original pixels."""
    assert shutil.which("jbig2dec"), "jbig2dec is not installed (scripts/bootstrap.sh)"
    img = _bilevel_scan()
    (tmp_path / "page.jb2").write_bytes(_jbig2_embedded(img))
    out = tmp_path / "page.png"
    subprocess.run(
        ["jbig2dec", "--embedded", "-t", "png", "-o", str(out), str(tmp_path / "page.jb2")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with Image.open(out) as decoded:
        assert ImageChops.difference(decoded.convert("L"), img.convert("L")).getbbox() is None


def test_jbig2_page_is_extracted_with_jbig2dec(tmp_path):
    assert shutil.which("jbig2dec"), "jbig2dec is not installed (scripts/bootstrap.sh)"
    img = _bilevel_scan()
    (page,) = _pages(_jbig2_pdf(tmp_path / "jbig2.pdf", img), tmp_path)
    assert page.encoding == "png" and page.mode == "1"
    _assert_extracted_exactly(page, img)
    assert isinstance(pikepdf.jbig2.get_decoder(), Jbig2Decoder)  # sohoa's door, not pikepdf's


def test_jbig2_page_without_jbig2dec_is_rasterised(tmp_path, path_without_jbig2dec, caplog):
    """The issue's ``skew.pdf``/``linn.pdf``/``cardinal.pdf``: exit 70 before, a page now."""
    path = _jbig2_pdf(tmp_path / "jbig2.pdf", _bilevel_scan())
    with caplog.at_level(logging.INFO, logger="ocr.pages"):
        (page,) = _pages(path, tmp_path)
    _assert_rasterised_with_ink(page)
    assert any("DependencyError" in r.getMessage() for r in caplog.records), caplog.text


def test_settings_check_warns_when_jbig2dec_is_missing(tmp_path, path_without_jbig2dec):
    """The administrator sees why JBIG2 scans are rasterised; a warning, not a failure."""
    check = _poppler(Settings(data_dir=tmp_path))
    assert check.status == "warn" and "jbig2dec" in check.detail, check


def test_settings_check_names_jbig2dec_when_installed(tmp_path):
    check = _poppler(Settings(data_dir=tmp_path))
    assert check.status == "ok" and "jbig2dec" in check.detail and "JPEG 2000" in check.detail


# --------------------------------------------------------------------------- DeviceN


@pytest.mark.parametrize("separation", [False, True], ids=["devicen", "separation"])
def test_devicen_page_is_rasterised_not_an_internal_error(tmp_path, caplog, separation):
    """The issue's ``jbig2_baddevicen.pdf``: inks need the viewer's conversion → rasterise."""
    path = _devicen_pdf(tmp_path / "devicen.pdf", _bilevel_scan(), separation=separation)
    with caplog.at_level(logging.INFO, logger="ocr.pages"):
        (page,) = _pages(path, tmp_path)
    _assert_rasterised_with_ink(page)
    ink = "Separation" if separation else "DeviceN"
    assert any(ink in r.getMessage() for r in caplog.records), caplog.text


# --------------------------------------------------------------------------- CCITT G4, JPEG 2000


def test_ccitt_g4_page_is_extracted_as_before(tmp_path):
    img = _bilevel_scan()
    parms = pikepdf.Dictionary(K=-1, Columns=WIDTH, Rows=HEIGHT, BlackIs1=False)
    path = _one_image_pdf(
        tmp_path / "g4.pdf",
        _g4_strip(img),
        Filter=pikepdf.Name.CCITTFaxDecode,
        DecodeParms=parms,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=1,
    )
    (page,) = _pages(path, tmp_path)
    assert page.encoding == "png" and page.mode == "1"
    _assert_extracted_exactly(page, img)


def test_jpeg2000_page_is_extracted_as_before(tmp_path):
    """Pillow's bundled openjpeg decodes JPX; lossless data comes back pixel for pixel."""
    assert features.check("jpg_2000"), "Pillow was built without openjpeg"
    img = _bilevel_scan().convert("RGB")
    ImageDraw.Draw(img).ellipse((480, 120, 700, 260), fill=(200, 30, 30))  # a red stamp
    buf = io.BytesIO()
    img.save(buf, "JPEG2000", irreversible=False)  # lossless wavelet
    path = _one_image_pdf(
        tmp_path / "jpx.pdf",
        buf.getvalue(),
        Filter=pikepdf.Name.JPXDecode,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
    )
    (page,) = _pages(path, tmp_path)
    assert page.encoding == "png" and page.mode == "RGB"
    _assert_extracted_exactly(page, img)


# --------------------------------------------------------------------------- damaged data


def test_truncated_jpeg_image_is_still_refused_not_rasterised(tmp_path):
    """The fallback is for images that cannot be taken out, not for damaged ones.

    poppler draws a truncated JPEG half grey and exits 0, so rasterising it would
    archive a damaged page without a word; it must stay a clear ``corrupt_pdf``.
    """
    buf = io.BytesIO()
    _bilevel_scan().convert("L").save(buf, "JPEG", quality=80)
    path = _one_image_pdf(
        tmp_path / "cut.pdf",
        buf.getvalue()[: len(buf.getvalue()) // 2],
        Filter=pikepdf.Name.DCTDecode,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=8,
    )
    with pytest.raises(BadInputError) as caught:
        _pages(path, tmp_path)
    assert caught.value.key == "corrupt_pdf"


@pytest.mark.parametrize("keep", [1.0, 0.5, 0.98])
def test_a_jpeg_file_is_kept_whole_or_refused_when_cut(tmp_path, keep):
    """An uploaded JPEG is copied byte for byte when every block decodes, refused when cut.

    The check decodes at an eighth of the size (Pillow's draft mode); it must still
    read to the last byte, or a cut file would be archived as a half-grey page.
    """
    buf = io.BytesIO()
    _bilevel_scan().convert("RGB").save(buf, "JPEG", quality=80)
    data = buf.getvalue()[: round(len(buf.getvalue()) * keep)]
    path = tmp_path / "scan.jpg"
    path.write_bytes(data)
    source = SourceFile(name=path.name, sha256=sha256_file(path), size=len(data), format="jpeg")

    def pages():
        return list(iter_pages(source, path, tmp_path / "pages", start_index=0, limits=LIMITS))

    if keep < 1:
        with pytest.raises(BadInputError) as caught:
            pages()
        assert caught.value.key == "corrupt_image"
        return
    (page,) = pages()
    assert (page.width, page.height, page.mode, page.encoding) == (WIDTH, HEIGHT, "RGB", "jpeg")
    assert Path(page.path).read_bytes() == data


# --------------------------------------------------------------------------- jbig2dec's door


def _fake_jbig2dec(bin_dir: Path, *, version: str, then: str) -> Path:
    """A real program named ``jbig2dec`` on ``PATH``: answers ``--version``, then runs ``then``.

    It writes its process id to ``jbig2dec.pid`` first, so a test can see it is gone.
    """
    pid_file = bin_dir / "jbig2dec.pid"
    script = bin_dir / "jbig2dec"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "jbig2dec {version}"; exit 0; fi\n'
        f'echo $$ > "{pid_file}"\n'
        f"{then}\n"
    )
    script.chmod(0o755)
    return pid_file


def test_jbig2dec_that_hangs_is_stopped_and_the_file_refused(
    tmp_path, path_without_jbig2dec, monkeypatch
):
    """pikepdf's own decoder waits for ever; through ``run_program`` it has a timeout.

    A decoder still busy after ``JBIG2_TIMEOUT_S`` means data it cannot finish: the file
    is refused as corrupt (not rasterised: poppler's jbig2 decoder would spin as well),
    and the program is killed, not left behind.
    """
    pid_file = _fake_jbig2dec(tmp_path / "bin", version="0.20", then=f"exec {SLEEP} 600")
    monkeypatch.setattr(page_intake, "JBIG2_TIMEOUT_S", 1.0)
    path = _jbig2_pdf(tmp_path / "jbig2.pdf", _bilevel_scan())
    with pytest.raises(BadInputError) as caught:
        _pages(path, tmp_path)
    assert caught.value.key == "corrupt_pdf"
    assert "jbig2dec ran longer than 1.0 s" in str(caught.value), caught.value
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


def test_jbig2dec_too_old_means_rasterise(tmp_path, path_without_jbig2dec):
    """jbig2dec before 0.15 cannot read PDF's embedded streams: rasterise, as pikepdf would."""
    pid_file = _fake_jbig2dec(tmp_path / "bin", version="0.14", then="exit 1")
    (page,) = _pages(_jbig2_pdf(tmp_path / "jbig2.pdf", _bilevel_scan()), tmp_path)
    _assert_rasterised_with_ink(page)
    assert not pid_file.exists()  # asked for its version only, never given the data


def _garbage_jbig2_pdf(path: Path) -> Path:
    return _one_image_pdf(
        path,
        bytes(range(256)) * 8,
        Filter=pikepdf.Name.JBIG2Decode,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=1,
    )


def test_jbig2_data_jbig2dec_rejects_is_refused_as_corrupt(tmp_path):
    """The real ``jbig2dec`` exits 1 on garbage: a clear ``corrupt_pdf`` naming it."""
    with pytest.raises(BadInputError) as caught:
        _pages(_garbage_jbig2_pdf(tmp_path / "hong.pdf"), tmp_path)
    assert caught.value.key == "corrupt_pdf" and "jbig2dec failed" in str(caught.value)


def test_damaged_jbig2_scan_is_quarantined_by_the_cli(cli, tmp_path):
    """End to end: the bad-input exit code (not 70), one reason line, the original kept."""
    path = _garbage_jbig2_pdf(tmp_path / "ho-so-hong.pdf")
    done = cli("ingest", str(path))
    assert done.returncode == ExitCode.BAD_INPUT, done.stdout + done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and path.name in errors[0] and "jbig2dec" in errors[0], done.stderr
    kept = [p for p in (cli.data_dir / "quarantine").rglob("*") if p.name.endswith(path.name)]
    assert len(kept) == 1 and sha256_file(kept[0]) == sha256_file(path)
