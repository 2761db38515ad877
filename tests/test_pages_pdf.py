"""Page intake and the archival PDF, checked against independent readers (pikepdf, poppler)."""

from __future__ import annotations

import io
import math
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import img2pdf
import pikepdf
import pymupdf
import pytest
from pikepdf import Name
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageOps, ImageStat

from ocr.engine import ocr_page
from ocr.pages import detect_format, iter_pages
from pdf.assemble import build_archival_pdf
from samples.synth import _load_font, degrade, render_page, write_pdf
from schemas.models import SourceFile
from schemas.settings import LimitSettings, OcrSettings, PdfSettings
from sohoa.errors import BadInputError
from storage.objectstore import sha256_file

LIMITS = LimitSettings()


def _source(path: Path, fmt: str) -> SourceFile:
    return SourceFile(
        name=path.name, sha256=sha256_file(path), size=path.stat().st_size, format=fmt
    )


def test_scanner_jpeg_goes_into_the_archive_byte_for_byte(tmp_path):
    """With ``image_mode = \"original\"`` the scanner's JPEG is archived unchanged."""
    scan = tmp_path / "scan.pdf"
    write_pdf(scan, [render_page(["Trang một"]), render_page(["Trang hai"])], dpi=300)
    with pikepdf.open(scan) as pdf:
        originals = [next(iter(p.get_images().values())).read_raw_bytes() for p in pdf.pages]
    pages = list(
        iter_pages(_source(scan, "pdf"), scan, tmp_path / "pages", start_index=0, limits=LIMITS)
    )
    assert [p.encoding for p in pages] == ["jpeg", "jpeg"] and pages[0].dpi == 300
    original = PdfSettings(image_mode="original")
    out = build_archival_pdf(
        pages, [None, None], tmp_path / "out.pdf", metadata={}, settings=original
    )
    with pikepdf.open(out) as pdf:
        archived = [next(iter(p.get_images().values())).read_raw_bytes() for p in pdf.pages]
    assert archived == originals


def test_vector_pdf_page_is_rasterised(tmp_path):
    vector = tmp_path / "vector.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(595, 842))
        pdf.save(vector)
    pages = list(
        iter_pages(_source(vector, "pdf"), vector, tmp_path / "p", start_index=0, limits=LIMITS)
    )
    assert len(pages) == 1 and pages[0].encoding == "png"
    # poppler rounds the page up to whole pixels: 595 x 842 pt at the default 300 dpi
    assert (pages[0].width, pages[0].height) == (
        math.ceil(595 * 300 / 72),
        math.ceil(842 * 300 / 72),
    )


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"%PDF-1.4\n", "pdf"),
        (b"II*\x00", "tiff"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"junk%PDF-1.7", "pdf"),
    ],
)
def test_format_comes_from_the_bytes_not_the_name(tmp_path, data, fmt):
    path = tmp_path / "misnamed.txt"
    path.write_bytes(data + b"\x00" * 16)
    assert detect_format(path, limits=LIMITS) == fmt


def test_oversized_upload_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"\x00" * 2_000_000)
    with pytest.raises(BadInputError, match="too large"):
        detect_format(path, limits=LimitSettings(max_file_mb=1))


def test_text_layer_sits_on_the_word(tmp_path):
    """Draw one word at a known place; poppler must report its box there (within 1.5 mm)."""
    dpi, x, y = 300, 600, 900
    page = Image.new("RGB", (2480, 3508), "white")
    font = _load_font(None, 60)
    ImageDraw.Draw(page).text((x, y), "Quảng", font=font, fill="black")
    left, top, right, bottom = ImageDraw.Draw(page).textbbox((x, y), "Quảng", font=font)
    path = tmp_path / "page.png"
    page.save(path, dpi=(dpi, dpi))
    [image] = iter_pages(_source(path, "png"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    out = build_archival_pdf(
        [image], [ocr_page(image, OcrSettings())], tmp_path / "o.pdf", metadata={}
    )
    bbox = subprocess.run(
        ["pdftotext", "-bbox", str(out), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    words = [
        w
        for w in ET.fromstring(bbox.replace('xmlns="http://www.w3.org/1999/xhtml"', "")).iter(
            "word"
        )
        if w.text == "Quảng"
    ]
    assert len(words) == 1
    to_px = dpi / 72.0
    got = [float(words[0].get(k)) * to_px for k in ("xMin", "yMin", "xMax", "yMax")]
    for measured, truth in zip(got, (left, top, right, bottom), strict=True):
        assert abs(measured - truth) < 12, (got, (left, top, right, bottom))  # 1 mm


def test_deskewed_ocr_boxes_land_on_the_skewed_scan(tmp_path):
    """OCR runs on the deskewed page; word boxes must come back onto the original skewed scan."""
    img = degrade(render_page(["Đăng ký khai sinh tại Quảng Trị"], font_size_pt=20), skew_deg=4.0)
    path = tmp_path / "skewed.png"
    img.save(path, dpi=(300, 300))
    [image] = iter_pages(_source(path, "png"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    result = ocr_page(image, OcrSettings())
    assert abs(result.skew_deg + 4.0) < 0.3
    gray = img.convert("L")
    for word in result.words:  # the mapped box's bottom-left corner region holds ink of the word
        crop = gray.crop(
            (
                int(word.left),
                int(word.top),
                int(word.left + word.width),
                int(word.top + word.height),
            )
        )
        assert crop.getextrema()[0] < 100, word


# --------------------------------------------------------------------------- what a viewer shows
#
# Every case below is one scanner-like page, made with pikepdf, Pillow or img2pdf. sohoa either
# keeps the page's image (at its own resolution) or rasterises the page; either way the archived
# page must look like what two independent renderers, poppler's pdftoppm and MuPDF, draw from the
# same file. (OCRmyPDF's tests/resources cover the same ground with palette.pdf, cmyk.pdf,
# masks.pdf, formxobject.pdf, aspect.pdf, skew.pdf, rotated_skew.pdf, no_contents.pdf.)

W, H, DPI = 800, 600, 200
PT = (W * 72 / DPI, H * 72 / DPI)
FULL = f"q {PT[0]:.4f} 0 0 {PT[1]:.4f} 0 0 cm /Im0 Do Q"
LOOKS_ALIKE = 5.0
"""Mean absolute difference (0-255, over RGB) below which two renderings are the same page.

Measured: a kept image differs from MuPDF by 0.0-0.6 and from pdftoppm by 1.6-2.5 (poppler
smooths images drawn at their own size); a wrong page (flipped, mask ignored, half size, CMYK
inverted) differs by 19-212."""


def _scan() -> Image.Image:
    """A colour "scan" with black, colour, thin lines, a ramp and text: wrong colours show."""
    img = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 100, 300, 250), fill="black")
    draw.rectangle((420, 80, 760, 520), outline=(0, 0, 160), width=3)
    draw.ellipse((480, 120, 700, 260), fill=(200, 30, 30))
    draw.rectangle((450, 330, 700, 480), fill=(40, 160, 70))
    for i in range(0, 256, 4):
        draw.line((i + 20, 400, i + 20, 580), fill=(i, i, 255 - i))
    draw.text((450, 300), "Ho so so 12/2024", fill="black")
    return img


def _bilevel() -> Image.Image:
    return _scan().convert("L").point(lambda v: 255 if v > 128 else 0).convert("1")


def _flate(img: Image.Image, **keys) -> tuple[bytes, dict]:
    return zlib.compress(img.tobytes()), {
        "Filter": Name.FlateDecode,
        "Width": img.width,
        "Height": img.height,
        **keys,
    }


def _rgb(**keys) -> tuple[bytes, dict]:
    return _flate(_scan(), **{"ColorSpace": Name.DeviceRGB, "BitsPerComponent": 8, **keys})


def _image(pdf: pikepdf.Pdf, data: bytes, keys: dict) -> pikepdf.Stream:
    stream = pikepdf.Stream(pdf, data, Type=Name.XObject, Subtype=Name.Image)
    for key, value in keys.items():
        stream[f"/{key}"] = value(pdf) if callable(value) else value
    return stream


def _make(path: Path, images: dict, content: str | bytes, page: dict | None = None, **res) -> Path:
    """A one-page PDF: ``images`` (name -> (data, keys)) drawn by ``content``.

    A value in an image's keys may be a function of the new PDF (an ICC stream, a mask).
    """
    with pikepdf.new() as pdf:
        new = pdf.add_blank_page(page_size=PT)
        xobjects = {f"/{name}": _image(pdf, *spec) for name, spec in images.items()}
        resources = {"/XObject": pikepdf.Dictionary(xobjects)}
        resources.update({f"/{key}": value(pdf) for key, value in res.items()})
        new.Resources = pikepdf.Dictionary(resources)
        new.Contents = pikepdf.Stream(
            pdf, content if isinstance(content, bytes) else content.encode()
        )
        for key, value in (page or {}).items():
            new.obj[f"/{key}"] = value
        pdf.save(path)
    return path


def _icc(name: str, components: int):
    """An ICCBased colour space with one of Ghostscript's profiles (installed by bootstrap)."""
    found = sorted(Path("/usr/share/ghostscript").glob(f"*/iccprofiles/{name}"))
    assert found, "ghostscript's ICC profiles are missing (scripts/bootstrap.sh)"
    return lambda pdf: pikepdf.Array(
        [Name.ICCBased, pikepdf.Stream(pdf, found[-1].read_bytes(), N=components)]
    )


def _broken_icc(pdf: pikepdf.Pdf) -> pikepdf.Array:
    """An ICCBased space whose profile is not one: viewers fall back to the alternate RGB."""
    return pikepdf.Array([Name.ICCBased, pikepdf.Stream(pdf, b"not a profile" * 20, N=3)])


def _helvetica(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(
        F1=pikepdf.Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    )


def _img2pdf(path: Path, img: Image.Image, fmt: str, **save) -> Path:
    buf = io.BytesIO()
    img.save(buf, fmt, dpi=(DPI, DPI), **save)
    path.write_bytes(img2pdf.convert(buf.getvalue()))
    return path


def _mask(pdf: pikepdf.Pdf, *, stencil: bool) -> pikepdf.Stream:
    """The top-left quarter transparent: a soft mask, or a stencil (1 = masked out)."""
    alpha = _alpha()
    if stencil:
        data, keys = _flate(ImageOps.invert(alpha).convert("1"), ImageMask=True, BitsPerComponent=1)
    else:
        data, keys = _flate(alpha, ColorSpace=Name.DeviceGray, BitsPerComponent=8)
    return _image(pdf, data, keys)


def _strips() -> tuple[dict, str]:
    """The scan as four horizontal strips, one image each (how some scanners write pages)."""
    images, content = {}, ""
    for i in range(4):
        strip = _scan().crop((0, i * H // 4, W, (i + 1) * H // 4))
        images[f"Im{i}"] = _flate(strip, ColorSpace=Name.DeviceRGB, BitsPerComponent=8)
        content += f"q {PT[0]:.4f} 0 0 {PT[1] / 4:.4f} 0 {PT[1] * (3 - i) / 4:.4f} cm /Im{i} Do Q\n"
    return images, content


def _palette() -> tuple[bytes, dict]:
    indexed = _scan().quantize(64)
    lookup = pikepdf.String(bytes(indexed.getpalette()[: 64 * 3]))
    space = pikepdf.Array([Name.Indexed, Name.DeviceRGB, 63, lookup])
    return _flate(indexed, ColorSpace=space, BitsPerComponent=8)


def _sixteen_bit(mode: str) -> tuple[bytes, dict]:
    """16-bit samples, big-endian as PDF stores them (high byte = the 8-bit value)."""
    img = _scan().convert(mode)
    data = bytes(b for v in img.tobytes() for b in (v, 0x80))
    space = Name.DeviceRGB if mode == "RGB" else Name.DeviceGray
    return zlib.compress(data), {
        "Filter": Name.FlateDecode,
        "Width": W,
        "Height": H,
        "ColorSpace": space,
        "BitsPerComponent": 16,
    }


def _jpeg(img: Image.Image, space: Name) -> tuple[bytes, dict]:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    keys = {"Filter": Name.DCTDecode, "Width": W, "Height": H, "ColorSpace": space}
    return buf.getvalue(), {**keys, "BitsPerComponent": 8}


def _with_alpha() -> Image.Image:
    img = _scan().convert("RGBA")
    img.putalpha(_alpha())
    return img


def _alpha() -> Image.Image:
    alpha = Image.new("L", (W, H), 255)
    ImageDraw.Draw(alpha).rectangle((0, 0, W // 2, H // 2), fill=0)
    return alpha


def _with_stamp(path: Path) -> Path:
    """Add a red "received" stamp annotation: viewers draw its appearance on the page."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        look = pikepdf.Stream(pdf, b"1 0 0 rg 0 0 100 40 re f", Type=Name.XObject)
        look.Subtype, look.BBox = Name.Form, [0, 0, 100, 40]
        stamp = pikepdf.Dictionary(
            Type=Name.Annot, Subtype=Name.Stamp, Rect=[20, 20, 120, 60], AP={"/N": look}
        )
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([stamp]))
        pdf.save(path)
    return path


def _turned_exif() -> Image.Exif:
    """EXIF orientation 6 ("turn 90° clockwise to view"): img2pdf writes it as /Rotate 90."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif


def _build(case: str, path: Path) -> Path:
    """The PDF for one case of :data:`CASES`."""
    lab = ImageCms.profileToProfile(
        _scan(), ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), outputMode="LAB"
    )
    lab_space = pikepdf.Array([Name.Lab, pikepdf.Dictionary(WhitePoint=[0.9505, 1, 1.089])])
    cal_rgb = pikepdf.Dictionary(
        WhitePoint=[0.9505, 1.0, 1.089],
        Gamma=[2.2, 2.2, 2.2],
        Matrix=[0.4124, 0.2126, 0.0193, 0.3576, 0.7152, 0.1192, 0.1805, 0.0722, 0.9505],
    )
    gray = _scan().convert("L")
    builds = {
        "indexed": lambda: _make(path, {"Im0": _palette()}, FULL),
        "icc_srgb": lambda: _make(path, {"Im0": _rgb(ColorSpace=_icc("srgb.icc", 3))}, FULL),
        "icc_prophoto": lambda: _make(path, {"Im0": _rgb(ColorSpace=_icc("rommrgb.icc", 3))}, FULL),
        "icc_adobe_rgb": lambda: _make(path, {"Im0": _rgb(ColorSpace=_icc("a98.icc", 3))}, FULL),
        "icc_gray": lambda: _make(
            path, {"Im0": _flate(gray, ColorSpace=_icc("sgray.icc", 1), BitsPerComponent=8)}, FULL
        ),
        "icc_broken": lambda: _make(path, {"Im0": _rgb(ColorSpace=_broken_icc)}, FULL),
        "icc_cmyk": lambda: _make(
            path,
            {
                "Im0": _flate(
                    _scan().convert("CMYK"), ColorSpace=_icc("ps_cmyk.icc", 4), BitsPerComponent=8
                )
            },
            FULL,
        ),
        "device_cmyk_jpeg": lambda: _make(
            path, {"Im0": _jpeg(_scan().convert("CMYK"), Name.DeviceCMYK)}, FULL
        ),
        "lab": lambda: _make(
            path, {"Im0": _flate(lab, ColorSpace=lab_space, BitsPerComponent=8)}, FULL
        ),
        "cal_rgb": lambda: _make(
            path, {"Im0": _rgb(ColorSpace=pikepdf.Array([Name.CalRGB, cal_rgb]))}, FULL
        ),
        "cal_gray": lambda: _make(
            path,
            {
                "Im0": _flate(
                    gray,
                    ColorSpace=pikepdf.Array(
                        [Name.CalGray, pikepdf.Dictionary(WhitePoint=[0.9505, 1, 1.089], Gamma=2.2)]
                    ),
                    BitsPerComponent=8,
                )
            },
            FULL,
        ),
        "gray_16bit": lambda: _make(path, {"Im0": _sixteen_bit("L")}, FULL),
        "rgb_16bit": lambda: _make(path, {"Im0": _sixteen_bit("RGB")}, FULL),
        "soft_mask": lambda: _make(
            path, {"Im0": _rgb(SMask=lambda pdf: _mask(pdf, stencil=False))}, FULL
        ),
        "stencil_mask": lambda: _make(
            path, {"Im0": _rgb(Mask=lambda pdf: _mask(pdf, stencil=True))}, FULL
        ),
        "colour_key_mask": lambda: _make(path, {"Im0": _rgb(Mask=[0, 10, 0, 10, 0, 10])}, FULL),
        "image_mask": lambda: _make(
            path,
            {"Im0": _flate(_bilevel(), ImageMask=True, BitsPerComponent=1)},
            "0 0 0.6 rg " + FULL,
        ),
        "strips": lambda: _make(path, *_strips()),
        "image_and_text": lambda: _make(
            path, {"Im0": _rgb()}, FULL + " BT /F1 24 Tf 20 20 Td (Da ky) Tj ET", Font=_helvetica
        ),
        "invisible_ocr_text": lambda: _make(
            path,
            {"Im0": _rgb()},
            FULL + " BT 3 Tr /F1 24 Tf 20 20 Td (Da ky) Tj ET",
            Font=_helvetica,
        ),
        "image_and_vector": lambda: _make(path, {"Im0": _rgb()}, FULL + " 1 0 0 rg 9 9 50 50 re f"),
        "rotate_90": lambda: _make(path, {"Im0": _rgb()}, FULL, {"Rotate": 90}),
        "rotate_270_jpeg": lambda: _make(
            path, {"Im0": _jpeg(_scan(), Name.DeviceRGB)}, FULL, {"Rotate": 270}
        ),
        "user_unit_2": lambda: _make(path, {"Im0": _rgb()}, FULL, {"UserUnit": 2}),
        "mediabox_offset": lambda: _make(
            path,
            {"Im0": _rgb()},
            f"q {PT[0]:.4f} 0 0 {PT[1]:.4f} 100 50 cm /Im0 Do Q",
            {"MediaBox": [100, 50, 100 + PT[0], 50 + PT[1]]},
        ),
        "cropbox": lambda: _make(
            path, {"Im0": _rgb()}, FULL, {"CropBox": [36, 18, PT[0] - 72, PT[1] - 36]}
        ),
        "cropbox_rotated_vector": lambda: _make(
            path,
            {"Im0": _rgb()},
            FULL + " 0 0 1 rg 40 40 30 30 re f",
            {"CropBox": [36, 18, PT[0] - 72, PT[1] - 36], "Rotate": 90},
        ),
        "inline_image": lambda: _make(
            path,
            {},
            f"q {PT[0]:.4f} 0 0 {PT[1]:.4f} 0 0 cm BI /W 200 /H 150 /CS /RGB /BPC 8 /F /Fl ID ".encode()
            + zlib.compress(_scan().resize((200, 150)).tobytes())
            + b"\nEI Q",
        ),
        "decode_inverted_1bit": lambda: _make(
            path,
            {
                "Im0": _flate(
                    ImageOps.invert(_bilevel().convert("L")).convert("1"),
                    ColorSpace=Name.DeviceGray,
                    BitsPerComponent=1,
                    Decode=[1, 0],
                )
            },
            FULL,
        ),
        "half_size": lambda: _make(
            path, {"Im0": _rgb()}, f"q {PT[0] / 2:.4f} 0 0 {PT[1] / 2:.4f} 0 0 cm /Im0 Do Q"
        ),
        "flipped": lambda: _make(
            path, {"Im0": _rgb()}, f"q {PT[0]:.4f} 0 0 {-PT[1]:.4f} 0 {PT[1]:.4f} cm /Im0 Do Q"
        ),
        "turned_by_matrix": lambda: _make(
            path,
            {"Im0": _rgb()},
            f"q 0 {PT[1]:.4f} {-PT[0]:.4f} 0 {PT[0]:.4f} 0 cm /Im0 Do Q",
            {"MediaBox": [0, 0, PT[1], PT[0]]},
        ),
        "non_square_pixels": lambda: _make(
            path,
            {
                "Im0": _flate(
                    _scan().resize((W, H // 2)), ColorSpace=Name.DeviceRGB, BitsPerComponent=8
                )
            },
            FULL,
        ),
        "no_contents": lambda: _make(path, {"Im0": _rgb()}, ""),
        "malformed_cm": lambda: _make(path, {"Im0": _rgb()}, "q 288 0 0 216 cm /Im0 Do Q"),
        "stamp_annotation": lambda: _with_stamp(_make(path, {"Im0": _rgb()}, FULL)),
        "form_xobject": lambda: _make(
            path,
            {},
            "q /Fm0 Do Q",
            XObject=lambda pdf: pikepdf.Dictionary(
                Fm0=pikepdf.Stream(
                    pdf,
                    FULL.encode(),
                    Type=Name.XObject,
                    Subtype=Name.Form,
                    BBox=[0, 0, PT[0], PT[1]],
                    Resources=pikepdf.Dictionary(
                        XObject=pikepdf.Dictionary(Im0=_image(pdf, *_rgb()))
                    ),
                ),
            ),
        ),
        "img2pdf_png_palette": lambda: _img2pdf(path, _scan().quantize(32), "PNG"),
        "img2pdf_png_16bit": lambda: _img2pdf(
            path, _scan().convert("L").point(lambda v: v * 257, "I").convert("I;16"), "PNG"
        ),
        "img2pdf_png_alpha": lambda: _img2pdf(path, _with_alpha(), "PNG"),
        "img2pdf_jpeg_cmyk": lambda: _img2pdf(path, _scan().convert("CMYK"), "JPEG", quality=90),
        "img2pdf_jpeg_exif_turned": lambda: _img2pdf(path, _scan(), "JPEG", exif=_turned_exif()),
        "img2pdf_tiff_g4": lambda: _img2pdf(path, _bilevel(), "TIFF", compression="group4"),
    }
    return builds[case]()


KEPT, DRAWN = (W, H, DPI), "drawn"
CASES = {
    # colour spaces: kept when the samples, through their profile, are the colours shown
    "indexed": KEPT,
    "icc_srgb": KEPT,
    "icc_prophoto": KEPT,
    "icc_adobe_rgb": KEPT,
    "icc_gray": KEPT,
    "cal_rgb": KEPT,
    "cal_gray": KEPT,
    "icc_broken": DRAWN,
    "icc_cmyk": DRAWN,
    "device_cmyk_jpeg": DRAWN,
    "lab": DRAWN,
    # 16 bits a sample
    "gray_16bit": KEPT,
    "rgb_16bit": KEPT,
    # masks blend the image with the page
    "soft_mask": DRAWN,
    "stencil_mask": DRAWN,
    "colour_key_mask": DRAWN,
    "image_mask": DRAWN,
    # what else the page paints, and where the image goes
    "strips": DRAWN,
    "image_and_text": DRAWN,
    "invisible_ocr_text": KEPT,
    "image_and_vector": DRAWN,
    "inline_image": DRAWN,
    "form_xobject": DRAWN,
    "no_contents": DRAWN,
    "stamp_annotation": DRAWN,
    "half_size": DRAWN,
    "flipped": DRAWN,
    "turned_by_matrix": DRAWN,
    "non_square_pixels": DRAWN,
    "decode_inverted_1bit": KEPT,
    # page geometry
    "rotate_90": (H, W, DPI),
    "rotate_270_jpeg": (H, W, DPI),
    "user_unit_2": (W, H, DPI / 2),
    "mediabox_offset": KEPT,
    "cropbox": (500, 450, DPI),
    "cropbox_rotated_vector": DRAWN,
    # made by img2pdf, the tool many scan-to-PDF scripts use
    "img2pdf_png_palette": KEPT,
    "img2pdf_png_16bit": KEPT,
    "img2pdf_png_alpha": DRAWN,
    "img2pdf_jpeg_cmyk": DRAWN,
    "img2pdf_jpeg_exif_turned": (H, W, DPI),
    "img2pdf_tiff_g4": KEPT,
}
POPPLER_DIFFERS = {"cal_gray"}
"""Cases where pdftoppm and MuPDF disagree with each other by more than :data:`LOOKS_ALIKE`.

CalGray with Gamma 2.2 is close to sRGB grey, as MuPDF draws it (and sohoa keeps it); poppler
22 draws it 7 levels darker on average. The page is checked against MuPDF only."""


def _difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference over R, G and B, 0-255; ``b`` is resized to ``a`` if needed."""
    b = b if b.size == a.size else b.resize(a.size, Image.Resampling.BOX)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def _poppler_view(path: Path, size: tuple[int, int]) -> Image.Image:
    """What pdftoppm draws of the page's CropBox, its longer side ``max(size)`` pixels."""
    done = subprocess.run(
        ["pdftoppm", "-cropbox", "-scale-to", str(max(size)), "-png", "-singlefile", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    with Image.open(io.BytesIO(done.stdout)) as img:
        return img.convert("RGB")


def _mupdf_view(path: Path, size: tuple[int, int]) -> Image.Image:
    """What MuPDF draws of the page (it shows the CropBox, turned by /Rotate), at ``size``."""
    with pymupdf.open(path) as doc:
        rect = doc[0].rect
        matrix = pymupdf.Matrix(size[0] / rect.width, size[1] / rect.height)
        pix = doc[0].get_pixmap(matrix=matrix, alpha=False)
        return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


@pytest.mark.parametrize(("case", "expected"), CASES.items(), ids=list(CASES))
def test_archived_page_looks_like_what_viewers_show(tmp_path, case, expected):
    """Kept at the scan's own size and resolution, or rasterised; either way, the page shown."""
    path = _build(case, tmp_path / f"{case}.pdf")
    [page] = iter_pages(_source(path, "pdf"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    if expected == DRAWN:
        assert page.dpi == LIMITS.rasterise_dpi and page.encoding == "png"
    else:
        assert (page.width, page.height, page.dpi) == expected
    with Image.open(page.path) as img:
        got = img.convert("RGB")
    assert _difference(got, _mupdf_view(path, got.size)) < LOOKS_ALIKE
    if case not in POPPLER_DIFFERS:
        assert _difference(got, _poppler_view(path, got.size)) < LOOKS_ALIKE


def test_poppler_and_mupdf_disagree_on_calgray(tmp_path):
    """Why :data:`POPPLER_DIFFERS` exists: if poppler changes, the exception should go."""
    path = _build("cal_gray", tmp_path / "cal_gray.pdf")
    size = (W, H)
    assert _difference(_mupdf_view(path, size), _poppler_view(path, size)) > LOOKS_ALIKE


@pytest.mark.parametrize(
    ("case", "shown"),
    [
        ("rotate_90", lambda img: img.transpose(Image.Transpose.ROTATE_270)),
        ("cropbox", lambda img: img.crop((100, 100, 600, 550))),
        ("mediabox_offset", lambda img: img),
        ("invisible_ocr_text", lambda img: img),
    ],
    ids=["rotate_90", "cropbox", "mediabox_offset", "invisible_ocr_text"],
)
def test_kept_page_is_the_scan_turned_and_cut_pixel_for_pixel(tmp_path, case, shown):
    """Turning and cutting a kept image is lossless: not one pixel is resampled."""
    path = _build(case, tmp_path / f"{case}.pdf")
    [page] = iter_pages(_source(path, "pdf"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    with Image.open(page.path) as img:
        assert ImageChops.difference(img.convert("RGB"), shown(_scan())).getbbox() is None


def test_rasterised_page_shows_the_cropbox_turned(tmp_path):
    """pdftoppm draws the MediaBox; sohoa keeps the CropBox a viewer shows, turned by /Rotate."""
    path = _build("cropbox_rotated_vector", tmp_path / "c.pdf")
    [page] = iter_pages(_source(path, "pdf"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    scale = LIMITS.rasterise_dpi / 72  # visible box 180 x 162 pt, turned a quarter
    assert (page.width, page.height) == (round(162 * scale), round(180 * scale))


def test_malformed_page_is_rasterised_not_an_internal_error(tmp_path):
    """``cm`` with four numbers: sohoa cannot tell what the page shows, so poppler draws it.

    Viewers disagree on such a page (MuPDF draws the image, poppler skips the operator), so
    the archived page is checked against poppler's rendering only.
    """
    path = _build("malformed_cm", tmp_path / "malformed.pdf")
    [page] = iter_pages(_source(path, "pdf"), path, tmp_path / "p", start_index=0, limits=LIMITS)
    assert page.dpi == LIMITS.rasterise_dpi
    with Image.open(page.path) as img:
        got = img.convert("RGB")
    assert _difference(got, _poppler_view(path, got.size)) < LOOKS_ALIKE
