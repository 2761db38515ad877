"""The archival PDF is PDF/A-2b, small MRC pages stay colour, and the signed file still validates.

Real pages: Vietnamese text rendered by :mod:`samples.synth` with a red seal, stored as
scanner JPEGs at 300 and 200 dpi, read by Tesseract, built by ``build_archival_pdf``.
Every PDF/A-2b requirement sohoa implements is checked here with pikepdf, plus two
independent validators (dev dependencies, so a missing one fails the test): ``page``
(PyPI ``page-validation``, a veraPDF-corpus-tested PDF/A validator) and pikepdf's own
allowlist validator (``pikepdf.pdfa``). veraPDF itself cannot be installed here (no Java package on PyPI,
Debian or npm).
"""

from __future__ import annotations

import importlib
import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pikepdf
import pytest
from PIL import Image, ImageCms

from ocr.engine import ocr_page
from pdf import pdfa
from pdf.assemble import build_archival_pdf, read_sohoa_metadata
from pdf.sign.signer import sign_pdf
from pdf.sign.validation import validate_signature
from samples import synth
from schemas.models import PageImage
from schemas.settings import OcrSettings, PdfSettings, Settings
from sohoa.programs.run import run_program

LINES_1 = [
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Mã hồ sơ: 000.00.06.H56-231027-0361",
    "Họ và tên người nộp: Nguyễn Thị Hồng Đào",
    "Địa chỉ: xã Triệu Thượng, huyện Triệu Phong, tỉnh Quảng Trị",
    "Thời gian trả kết quả giải quyết hồ sơ: 14 giờ 00 phút, ngày 31 tháng 10 năm 2023.",
    "Bộ phận Tiếp nhận và Trả kết quả Ủy ban nhân dân phường Đông Hà",
]
LINES_2 = [
    "Trang hai của hồ sơ",
    "Người yêu cầu: Lê Thị Thu Hương",
    "Nơi cư trú: khu phố 4, phường Đông Lễ, thành phố Đông Hà",
]
SEAL_CENTRE = (1500, 1300)  # pixels on the 300-dpi page, over the text
SEAL_RADIUS = round(20 / 25.4 * 300)
METADATA = {
    "recordId": "REC-0001",
    "batchId": "B-2026-0001",
    "dossierCode": "000.00.06.H56-231027-0361",
    "kind": "ket-qua",
    "unit": "DEMO",
}
PDFA_EXTENSION_RULE = "6.6.2.3.1"


def _scan(tmp: Path, name: str, img: Image.Image, dpi: int) -> PageImage:
    path = tmp / f"{name}.jpg"
    synth.write_jpeg(path, img, dpi=dpi, quality=85)
    return PageImage(
        index=0,
        path=str(path),
        source=path.name,
        source_page=0,
        width=img.width,
        height=img.height,
        dpi=dpi,
        mode="RGB",
        encoding="jpeg",
    )


@pytest.fixture(scope="module")
def dossier(tmp_path_factory):
    """Two scanned pages (300 dpi with a red seal, then 200 dpi), OCR'd, built both ways."""
    tmp = tmp_path_factory.mktemp("pdfa")
    page1, truth1 = synth.render_page_with_truth(LINES_1, dpi=300, font_size_pt=12)
    page1 = synth.add_red_seal(page1, center=SEAL_CENTRE, dpi=300, seed=7)
    page1 = synth.degrade(page1, noise=0.03, seed=7)
    page2, truth2 = synth.render_page_with_truth(LINES_2, dpi=200, font_size_pt=12)
    pages = [_scan(tmp, "p1", page1, 300), _scan(tmp, "p2", page2, 200)]
    readings = [ocr_page(p, OcrSettings()) for p in pages]
    built = {
        mode: build_archival_pdf(
            pages,
            readings,
            tmp / f"{mode}.pdf",
            metadata=METADATA,
            settings=PdfSettings(image_mode=mode),
        )
        for mode in ("mrc", "original")
    }
    settings = Settings(data_dir=tmp / "data")
    signed = tmp / "mrc.signed.pdf"
    sign_pdf(built["mrc"], signed, settings)
    return {
        "tmp": tmp,
        "pages": pages,
        "truths": [truth1, truth2],
        "readings": readings,
        "settings": settings,
        "signed": signed,
        **built,
    }


def _xmp(pdf: pikepdf.Pdf) -> ET.Element:
    return ET.fromstring(pdf.Root.Metadata.read_bytes())


def _xobjects(page: pikepdf.Page) -> dict[str, pikepdf.Stream]:
    """Every image XObject of a page, stencil masks included (``Page.images`` omits them)."""
    return dict(page.Resources.XObject.items())


def _rasterise(pdf: Path, page: int, dpi: int, dest: Path) -> Image.Image:
    args = ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png"]
    run_program([*args, "-singlefile", pdf, dest], timeout=120)
    return Image.open(f"{dest}.png").convert("RGB")


# ---------------------------------------------------------------- PDF/A-2b elements


@pytest.mark.parametrize("mode", ["mrc", "original"])
def test_xmp_declares_pdfa_2b_and_describes_every_record_property(dossier, mode):
    with pikepdf.open(dossier[mode]) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert meta["dc:title"] == f"Hồ sơ {METADATA['dossierCode']}"
        assert meta["xmp:CreateDate"] and meta["dc:format"] == "application/pdf"
        stream = pdf.Root.Metadata
        assert stream.Type == "/Metadata" and stream.Subtype == "/XML"
        assert "/Filter" not in stream  # readable by tools that know nothing of PDF filters
        header = stream.read_bytes().split(b"?>", 1)[0]
        assert b"bytes=" not in header and b"encoding=" not in header  # ISO 19005-2 6.6.2.1
        root = _xmp(pdf)
    assert read_sohoa_metadata(dossier[mode]) == {
        **METADATA,
        "pageCount": "2",
        "software": read_sohoa_metadata(dossier[mode])["software"],
    }
    # every sohoa: property is declared in a PDF/A extension schema (ISO 19005-2 6.6.2.3)
    schema_ns, prop_ns = (
        "{http://www.aiim.org/pdfa/ns/schema#}",
        "{http://www.aiim.org/pdfa/ns/property#}",
    )
    [schema] = [s for s in root.iter() if s.findtext(f"{schema_ns}namespaceURI") == pdfa.XMP_NS]
    assert schema.findtext(f"{schema_ns}prefix") == pdfa.XMP_PREFIX
    declared = {
        p.findtext(f"{prop_ns}name"): p
        for p in schema.iter()
        if p.find(f"{prop_ns}name") is not None
    }
    used = {el.tag.split("}")[1] for el in root.iter() if el.tag.startswith(f"{{{pdfa.XMP_NS}}}")}
    used |= {k.split("}")[1] for el in root.iter() for k in el.attrib if pdfa.XMP_NS in k}
    assert used and used <= set(declared)
    for prop in declared.values():
        assert prop.findtext(f"{prop_ns}valueType") == "Text"
        assert prop.findtext(f"{prop_ns}category") in ("internal", "external")
        assert prop.findtext(f"{prop_ns}description")


def test_output_intent_is_an_srgb_icc_profile(dossier):
    with pikepdf.open(dossier["mrc"]) as pdf:
        [intent] = pdf.Root.OutputIntents
        assert intent.S == "/GTS_PDFA1" and intent.Type == "/OutputIntent"
        assert str(intent.OutputConditionIdentifier)
        profile = intent.DestOutputProfile
        assert profile.N == 3
        icc = profile.read_bytes()
    assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB " and icc[12:16] == b"mntr"
    assert icc[8] in (2, 4)  # ICC major version PDF 1.7 readers know
    parsed = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    assert "sRGB" in ImageCms.getProfileDescription(parsed)


def test_text_font_is_embedded_with_widths_matching_its_program(dossier):
    ttlib = importlib.import_module("fontTools.ttLib")

    with pikepdf.open(dossier["mrc"]) as pdf:
        fonts = [f for page in pdf.pages for f in page.Resources.Font.values()]
        assert fonts
        for font in fonts:
            assert font.Subtype == "/Type0" and font.Encoding == "/Identity-H"
            assert "/ToUnicode" in font
            [cid_font] = font.DescendantFonts
            assert cid_font.Subtype == "/CIDFontType2"
            program = cid_font.FontDescriptor.FontFile2.read_bytes()
            gid_map = cid_font.CIDToGIDMap.read_bytes()
            gids = np.frombuffer(gid_map, dtype=">u2")
            assert len(gids) == 65536 and (gids != 0).all()  # never the .notdef glyph
            ttf = ttlib.TTFont(io.BytesIO(program))
            glyph = ttf.getGlyphOrder()[int(gids[ord("ệ")])]
            advance = ttf["hmtx"][glyph][0] * 1000 / ttf["head"].unitsPerEm
            assert int(cid_font.DW) == round(advance)  # ISO 19005-2 6.2.11.5
            assert "/W" not in cid_font


@pytest.mark.parametrize("mode", ["mrc", "original"])
def test_no_encryption_scripts_or_actions_and_an_id_in_the_trailer(dossier, mode):
    raw = Path(dossier[mode]).read_bytes()
    assert re.match(rb"%PDF-1\.7\r?\n%[\x80-\xff]{4}", raw)  # header + binary comment
    with pikepdf.open(dossier[mode]) as pdf:
        assert not pdf.is_encrypted and "/Encrypt" not in pdf.trailer
        ids = pdf.trailer.ID
        assert len(ids) == 2 and all(len(bytes(i)) == 16 for i in ids)
        assert "/Info" not in pdf.trailer  # nothing that could disagree with the XMP
        for key in ("/OpenAction", "/AA", "/AcroForm", "/Names"):
            assert key not in pdf.Root
        for page in pdf.pages:
            assert "/AA" not in page.obj and "/Annots" not in page.obj
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Stream):
                continue
            # a CR before qpdf's LF would make /Length look one byte too long (6.1.7.1)
            assert obj.read_raw_bytes()[-1:] != b"\r", obj.objgen
            for key in ("/F", "/FFilter", "/FDecodeParms", "/Alternates", "/OPI"):
                assert key not in obj
            assert obj.get("/Interpolate", False) is False
            filters = obj.get("/Filter")
            names = list(filters) if isinstance(filters, pikepdf.Array) else [filters]
            assert not {"/LZWDecode", "/JPXDecode", "/Crypt"} & {str(n) for n in names}


def test_qpdf_finds_no_errors_in_unsigned_and_signed_files(dossier):
    for path in (dossier["mrc"], dossier["original"], dossier["signed"]):
        result = run_program(["qpdf", "--check", path], timeout=60)
        assert "No syntax or stream encoding errors" in result.stdout, result.stdout


@pytest.mark.parametrize("mode", ["mrc", "original"])
def test_independent_pdfa_validators_accept_the_unsigned_file(dossier, mode):
    validator = importlib.import_module("page")  # a dev dependency: missing means a broken set-up
    report = validator.validate_pdf(str(dossier[mode]), profile="2b")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


def test_pikepdf_allowlist_validator_objects_only_to_extension_schemas(dossier):
    """pikepdf.pdfa approves no XMP extension schema (it says so); everything else passes."""
    pikepdf_pdfa = importlib.import_module("pikepdf.pdfa")
    report = pikepdf_pdfa.validate_written(dossier["mrc"], "2b")
    others = [str(f) for f in report.findings if PDFA_EXTENSION_RULE not in str(f)]
    assert report.findings and not others, others
    custom = " ".join(str(f) for f in report.findings)
    assert "sohoa" in custom and "pdfaExtension" in custom


# ---------------------------------------------------------------- pages and pixels


def test_pages_keep_count_order_size_and_at_least_200_dpi(dossier):
    with pikepdf.open(dossier["mrc"]) as pdf:
        assert len(pdf.pages) == len(dossier["pages"]) == 2
        for page, scan in zip(pdf.pages, dossier["pages"], strict=True):
            width_in = float(page.MediaBox[2]) / 72
            assert width_in == pytest.approx(scan.width / scan.dpi, abs=1e-3)
            sharpest = max(int(im.Width) for im in _xobjects(page).values())
            assert sharpest == scan.width  # the ink keeps the scan's resolution
            assert round(sharpest / width_in) >= 200
            assert _xobjects(page)["/TextInk"].ImageMask is True
            assert _xobjects(page)["/Background"].ColorSpace == "/DeviceRGB"  # a colour page
    for number, scan in enumerate(dossier["pages"], 1):
        shown = _rasterise(dossier["mrc"], number, int(scan.dpi), dossier["tmp"] / f"n{number}")
        assert shown.size == (scan.width, scan.height)


def test_red_seal_stays_red_and_text_stays_dark(dossier):
    scan = Image.open(dossier["pages"][0].path).convert("RGB")
    shown = _rasterise(dossier["mrc"], 1, 300, dossier["tmp"] / "seal")
    x, y, r = *SEAL_CENTRE, SEAL_RADIUS
    box = (x - r, y - r, x + r, y + r)

    def red(img: Image.Image) -> np.ndarray:
        rgb = np.asarray(img.crop(box)).astype(int)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        return (r > 150) & (r - g > 60) & (r - b > 60)

    before, after = red(scan), red(shown)
    assert before.sum() > 2000
    assert after.sum() > 0.8 * before.sum()  # the seal's strokes are kept, in red
    assert (after & before).sum() > 0.75 * before.sum()  # ... at the same places
    # a text line far from the seal: its ink is dark grey, not red, on light paper
    line = np.asarray(shown.crop((240, 236, 2240, 640))).astype(int)
    ink = line.max(axis=2) < 100
    assert ink.sum() > 1000
    assert np.ptp(line[ink].mean(axis=0)) < 25
    assert np.median(line[~ink], axis=0).min() > 200


def test_text_layer_is_searchable_on_the_right_pages(dossier):
    for number, expected in ((1, "Triệu Phong"), (2, "Lê Thị Thu Hương")):
        args = ["pdftotext", "-f", str(number), "-l", str(number), dossier["mrc"], "-"]
        text = run_program(args, timeout=60).stdout
        assert expected in text, text
    page1 = run_program(["pdftotext", "-l", "1", dossier["mrc"], "-"], timeout=60).stdout
    assert "Lê Thị Thu Hương" not in page1


def test_ocr_of_the_archived_page_is_as_good_as_of_the_scan(dossier):
    scan = dossier["pages"][0]
    shown_path = dossier["tmp"] / "ocr"
    _rasterise(dossier["mrc"], 1, int(scan.dpi), shown_path)
    shown = scan.model_copy(update={"path": f"{shown_path}.png", "encoding": "png"})
    truth = dossier["truths"][0]
    before = synth.cer(truth, dossier["readings"][0].text)
    after = synth.cer(truth, ocr_page(shown, OcrSettings()).text)
    assert after <= before + 0.002, (before, after)


def test_other_page_kinds_are_archived_validly(tmp_path):
    """Grey scan (grey MRC), bilevel scan (G4), a dark photo page (kept as it came)."""
    grey = synth.render_page(LINES_2, dpi=200).convert("L")
    grey_path = tmp_path / "grey.jpg"
    grey.save(grey_path, "JPEG", quality=85, dpi=(200, 200))
    bilevel = synth.render_page(LINES_2, dpi=200).convert("1")
    bilevel_path = tmp_path / "bilevel.png"
    bilevel.save(bilevel_path, dpi=(200, 200))
    noise = np.random.default_rng(1).integers(0, 120, (1654, 1169, 3), dtype=np.uint8)
    photo_path = tmp_path / "photo.jpg"
    Image.fromarray(noise).save(photo_path, "JPEG", quality=85, dpi=(200, 200))
    pages = [
        PageImage(
            index=i,
            path=str(path),
            source=path.name,
            source_page=0,
            width=w,
            height=h,
            dpi=200,
            mode=mode,
            encoding=enc,
        )
        for i, (path, (w, h), mode, enc) in enumerate(
            [
                (grey_path, grey.size, "L", "jpeg"),
                (bilevel_path, bilevel.size, "1", "png"),
                (photo_path, (1169, 1654), "RGB", "jpeg"),
            ]
        )
    ]
    out = build_archival_pdf(pages, [None] * 3, tmp_path / "kinds.pdf", metadata={})
    with pikepdf.open(out) as pdf:
        grey_page, bilevel_page, photo_page = pdf.pages
        assert _xobjects(grey_page)["/Background"].ColorSpace == "/DeviceGray"
        [g4] = _xobjects(bilevel_page).values()
        assert g4.Filter == "/CCITTFaxDecode" and g4.ColorSpace == "/DeviceGray"
        [photo] = _xobjects(photo_page).values()
        assert photo.read_raw_bytes() == photo_path.read_bytes()
    shown = _rasterise(out, 2, 200, tmp_path / "bilevel-shown")
    assert (np.asarray(shown.convert("1")) == np.asarray(bilevel)).mean() > 0.999
    validator = importlib.import_module("page")  # a dev dependency: missing means a broken set-up
    report = validator.validate_pdf(str(out), profile="2b")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


# ---------------------------------------------------------------- signing after conversion


def test_signature_covers_the_final_pdfa_bytes_and_validates(dossier):
    signed, unsigned = dossier["signed"], dossier["mrc"]
    assert signed.read_bytes().startswith(unsigned.read_bytes())  # an incremental update
    check = validate_signature(signed, dossier["settings"])
    assert check.ok and check.pdfsig_valid and check.pdfsig_total_document_signed
    with pikepdf.open(signed) as pdf:
        assert pdf.open_metadata().pdfa_status == "2B"
        assert pdf.Root.OutputIntents[0].DestOutputProfile.N == 3
        info = pdf.trailer.get("/Info")
        assert info is None or "/Producer" not in info  # no Info twin to disagree with XMP
        [widget] = pdf.pages[0].Annots
        assert int(widget.F) & 4 and not int(widget.F) & (1 | 2 | 32)  # Print, not hidden
    assert read_sohoa_metadata(signed)["recordId"] == METADATA["recordId"]


def test_signed_file_is_still_pdfa(dossier):
    """The signature's incremental update must leave the XMP (and its extension schema) valid."""
    validator = importlib.import_module("page")  # a dev dependency: missing means a broken set-up
    report = validator.validate_pdf(str(dossier["signed"]), profile="2b")
    assert report.is_compliant, [(f.rule_id, f.message) for f in report.failures]


def test_a_photo_with_no_stated_resolution_is_sized_by_its_measured_one(tmp_path):
    """An untagged 576 x 960 photo (about 70 dpi) is a letter-sized page, not 5 x 8 cm.

    The page image says 300 dpi because the file stated none; OCR measured 72 from the
    letters, and the PDF page is sized, and its text placed, at that.
    """
    import pymupdf

    from schemas.models import PageOcr, Word

    path = tmp_path / "photo.jpg"
    Image.new("RGB", (576, 960), "white").save(path, quality=80)
    page = PageImage(
        index=0,
        path=str(path),
        source="photo.jpg",
        source_page=0,
        width=576,
        height=960,
        dpi=300.0,
        dpi_known=False,
        mode="RGB",
        encoding="jpeg",
    )
    word = Word(text="Quyết", left=100, top=200, width=60, height=12, conf=90)
    measured = PageOcr(
        index=0,
        width=576,
        height=960,
        dpi=300.0,
        words=(word,),
        text="Quyết",
        mean_confidence=90,
        dpi_estimated=72.0,
        dpi_source="measured",
    )
    assumed = measured.model_copy(update={"dpi_estimated": None, "dpi_source": "assumed"})
    for reading, inches in ((measured, (8.0, 13.333)), (assumed, (1.92, 3.2))):
        pdf = build_archival_pdf([page], [reading], tmp_path / "p.pdf", metadata={})
        with pikepdf.open(pdf) as doc:
            box = [float(v) / 72 for v in doc.pages[0].MediaBox]
        assert box[2:] == pytest.approx(inches, abs=0.01)
        with pymupdf.open(pdf) as doc:
            ((x0, *_),) = [w for w in doc[0].get_text("words") if w[4] == "Quyết"]
        dpi = 576 / inches[0]
        assert x0 / 72 == pytest.approx(100 / dpi, abs=0.02)  # the text is on the word still
