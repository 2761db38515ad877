"""Real signing tests: pyHanko signs pikepdf-made PDFs; pyHanko and poppler's pdfsig check them.

No mocks: certificates are generated with ``cryptography``, PDFs with pikepdf and
Pillow, and ``pdfsig``'s output is parsed here independently of the module's parser.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import re
import stat
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image
from pydantic import SecretStr

from pdf.keys import signing_key
from pdf.sign import signer as signing
from pdf.sign import validation
from schemas.settings import Settings, SigningSettings
from sohoa.errors import ConfigError, NotFoundError, SigningError
from sohoa.programs.run import run_program

# ---------------------------------------------------------------- helpers


def make_pdf(path: Path, pages: int = 2) -> Path:
    """Write a PDF like the pipeline's: JPEG page images plus text, with object streams."""
    pdf = pikepdf.Pdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for number in range(pages):
        buf = io.BytesIO()
        Image.new("RGB", (400, 300), (220, 40 * number, 60)).save(buf, "JPEG", quality=90)
        image = pikepdf.Stream(
            pdf,
            buf.getvalue(),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=400,
            Height=300,
            ColorSpace=pikepdf.Name.DeviceRGB,
            BitsPerComponent=8,
            Filter=pikepdf.Name.DCTDecode,
        )
        text = f"q 400 0 0 300 0 0 cm /Im0 Do Q BT /F1 14 Tf 20 310 Td (Trang {number + 1}) Tj ET"
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 400, 340],
            Resources=pikepdf.Dictionary(
                XObject=pikepdf.Dictionary(Im0=image), Font=pikepdf.Dictionary(F1=font)
            ),
            Contents=pikepdf.Stream(pdf, text.encode("ascii")),
        )
        pdf.pages.append(pikepdf.Page(page))
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return path


def pdfsig_blocks(path: Path) -> list[str]:
    """Run pdfsig and return the text of each ``Signature #N:`` block (own parser)."""
    out = run_program(["pdfsig", path], timeout=60, check=False).stdout
    return re.split(r"^Signature #\d+:\s*$", out, flags=re.MULTILINE)[1:]


def fingerprint(p12_path: Path, password: bytes) -> str:
    _key, cert, _extra = pkcs12.load_key_and_certificates(p12_path.read_bytes(), password)
    assert cert is not None
    return cert.fingerprint(hashes.SHA256()).hex()


def make_user_p12(folder: Path, password: str, days: float = 365) -> tuple[Path, Path]:
    """Create a PKCS#12 issued by its own (non-demo) CA; return (p12, CA pem)."""
    now = datetime.now(UTC)

    def cert(key, subject, issuer_key, issuer, ca):
        usage = x509.KeyUsage(
            digital_signature=not ca,
            content_commitment=not ca,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=days if not ca else 365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
            .add_extension(usage, True)
            .sign(issuer_key, hashes.SHA256())
        )

    def name(cn):
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "UBND xa Thu Nghiem"),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = cert(ca_key, name("Test Root CA"), ca_key, name("Test Root CA"), True)
    leaf = cert(key, name("Nguyen Van A"), ca_key, name("Test Root CA"), False)
    p12 = pkcs12.serialize_key_and_certificates(
        b"user", key, leaf, [ca_cert], serialization.BestAvailableEncryption(password.encode())
    )
    (folder / "user.p12").write_bytes(p12)
    (folder / "user-ca.pem").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return folder / "user.p12", folder / "user-ca.pem"


def append_incremental_update(path: Path) -> None:
    """Append a hand-written incremental update replacing page 1's content stream."""
    with pikepdf.open(path) as pdf:
        root = pdf.trailer.Root.objgen[0]
        size = int(pdf.trailer.Size)
        contents = pdf.pages[0].obj.Contents.objgen[0]
    data = path.read_bytes()
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    body = b"BT /F1 14 Tf 20 310 Td (Da bi sua) Tj ET"
    obj_at = len(data) + 1
    obj = b"\n%d 0 obj\n<< /Length %d >>\nstream\n%s\nendstream\nendobj\n" % (
        contents,
        len(body),
        body,
    )
    xref_at = len(data) + len(obj)
    tail = (
        b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %d 0 R /Prev %d >>\n"
        b"startxref\n%d\n%%%%EOF\n" % (contents, obj_at, size, root, prev, xref_at)
    )
    path.write_bytes(data + obj + tail)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def demo_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One data dir (and so one demo key) for the whole session: RSA keygen is slow."""
    return Settings(data_dir=tmp_path_factory.mktemp("sohoa-data"))


@pytest.fixture(scope="session")
def signed_pdf(demo_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signed")
    signing.sign_pdf(make_pdf(folder / "in.pdf"), folder / "out.pdf", demo_settings)
    return folder / "out.pdf"


# ---------------------------------------------------------------- demo certificate


def test_demo_certificate_is_generated_once_and_reused(tmp_path: Path) -> None:
    key_dir = tmp_path / "demo-signer"
    p12 = signing_key.ensure_demo_certificate(key_dir)
    password = (key_dir / signing_key.DEMO_PASS).read_text().strip().encode()
    first = fingerprint(p12, password)
    mtime = p12.stat().st_mtime_ns
    assert signing_key.ensure_demo_certificate(key_dir) == p12
    assert fingerprint(p12, password) == first
    assert p12.stat().st_mtime_ns == mtime
    assert stat.S_IMODE((key_dir / signing_key.DEMO_PASS).stat().st_mode) == 0o600
    assert stat.S_IMODE(p12.stat().st_mode) == 0o600
    ca = x509.load_pem_x509_certificate((key_dir / signing_key.DEMO_CA_PEM).read_bytes())
    assert "DEMO" in ca.subject.rfc4514_string()
    _key, cert, _extra = pkcs12.load_key_and_certificates(p12.read_bytes(), password)
    assert cert is not None and cert.issuer == ca.subject
    assert not [p for p in key_dir.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_demo_generation_yields_one_certificate(tmp_path: Path) -> None:
    key_dir = tmp_path / "demo-signer"
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        paths = list(pool.map(signing_key.ensure_demo_certificate, [key_dir] * 3))
    assert len(set(paths)) == 1
    password = (key_dir / signing_key.DEMO_PASS).read_text().strip().encode()
    fingerprint(paths[0], password)  # the password on disk opens the PKCS#12 on disk
    assert not [p for p in key_dir.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- signing and checking


def test_signed_pdf_is_valid_for_pdfsig_and_pyhanko(
    signed_pdf: Path, demo_settings: Settings
) -> None:
    blocks = pdfsig_blocks(signed_pdf)
    assert len(blocks) == 1
    assert "Signature is Valid." in blocks[0]
    assert "- Total document signed" in blocks[0]
    assert "ETSI.CAdES.detached" in blocks[0]
    check = validation.validate_signature(signed_pdf, demo_settings)
    assert check.ok, check.problems
    assert check.signature_count == 1 and check.trusted and check.demo
    assert check.signer == signing_key.DEMO_SIGNER_CN
    assert check.problems == ()
    with pikepdf.open(signed_pdf) as pdf:
        assert len(pdf.pages) == 2


def test_sign_returns_summary_and_keeps_source(demo_settings: Settings, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "in.pdf")
    before = src.read_bytes()
    summary = signing.sign_pdf(
        src, tmp_path / "out" / "signed.pdf", demo_settings, signer_name="Can bo mot cua"
    )
    assert src.read_bytes() == before
    signed = (tmp_path / "out" / "signed.pdf").read_bytes()
    assert signed.startswith(before)  # incremental update: original bytes untouched
    assert summary.demo and summary.signer == signing_key.DEMO_SIGNER_CN
    assert summary.issuer == signing_key.DEMO_CA_CN
    assert summary.subfilter == "ETSI.CAdES.detached"
    int(summary.serial, 16)
    assert abs(datetime.now(UTC) - summary.signed_at) < timedelta(minutes=2)
    assert summary.signed_at.utcoffset() == timedelta(0)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["signed.pdf"]
    with pytest.raises(SigningError):
        signing.sign_pdf(src, src, demo_settings)


def test_flipped_byte_in_image_breaks_signature(
    signed_pdf: Path, demo_settings: Settings, tmp_path: Path
) -> None:
    data = bytearray(signed_pdf.read_bytes())
    jpeg = data.find(b"\xff\xd8\xff")
    assert 0 < jpeg < data.find(b"/ByteRange")  # inside the signed original revision
    data[jpeg + 300] ^= 0x01
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    check = validation.validate_signature(tampered, demo_settings)
    assert not check.ok
    assert not check.intact
    assert not check.pdfsig_valid
    assert check.problems
    blocks = pdfsig_blocks(tampered)
    assert blocks and "Signature is Valid." not in blocks[0]


def test_incremental_update_after_signing_is_detected(
    signed_pdf: Path, demo_settings: Settings, tmp_path: Path
) -> None:
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(signed_pdf.read_bytes())
    append_incremental_update(changed)
    with pikepdf.open(changed) as pdf:  # the update is a real, readable revision
        assert b"Da bi sua" in pdf.pages[0].obj.Contents.read_bytes()
    check = validation.validate_signature(changed, demo_settings)
    assert check.intact and check.valid
    assert not check.coverage_entire_file
    assert not check.pdfsig_total_document_signed
    assert not check.ok
    assert any("added after signing" in p for p in check.problems)
    blocks = pdfsig_blocks(changed)
    assert "Total document signed" not in blocks[0].replace("Not total document signed", "")


def _sign_again(path: Path, settings: Settings) -> None:
    """Add a second signature with the same trusted key, as a forger holding it would."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    from pdf.keys.signing_key import load_signer_keyed

    _, signer, _ = load_signer_keyed(settings)
    data = path.read_bytes()
    out = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(data))
    meta = signers.PdfSignatureMetadata(field_name="Resigned")
    signers.PdfSigner(meta, signer=signer).sign_pdf(writer, output=out)
    path.write_bytes(out.getvalue())


def test_a_change_covered_by_a_later_signature_is_detected(
    signed_pdf: Path, demo_settings: Settings, tmp_path: Path
) -> None:
    """Changed page, then signed again with a trusted key: the last signature covers all
    the bytes, so only the revisions between the two signatures show the change."""
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(signed_pdf.read_bytes())
    append_incremental_update(forged)
    _sign_again(forged, demo_settings)
    with pikepdf.open(forged) as pdf:
        assert b"Da bi sua" in pdf.pages[0].obj.Contents.read_bytes()
    check = validation.validate_signature(forged, demo_settings)
    assert check.signature_count == 2
    assert not check.ok
    assert any("changed after it was signed" in p for p in check.problems), check.problems


def test_a_second_signature_alone_is_not_a_change(
    signed_pdf: Path, demo_settings: Settings, tmp_path: Path
) -> None:
    """Countersigning adds a signature field and nothing else: no page changed."""
    countersigned = tmp_path / "countersigned.pdf"
    countersigned.write_bytes(signed_pdf.read_bytes())
    _sign_again(countersigned, demo_settings)
    check = validation.validate_signature(countersigned, demo_settings)
    assert check.signature_count == 2
    assert not any("changed after it was signed" in p for p in check.problems), check.problems


def test_appended_garbage_is_not_entire_coverage(
    signed_pdf: Path, demo_settings: Settings, tmp_path: Path
) -> None:
    changed = tmp_path / "garbage.pdf"
    changed.write_bytes(signed_pdf.read_bytes() + b"\n% appended after signing\n")
    check = validation.validate_signature(changed, demo_settings)
    assert not check.ok and not check.coverage_entire_file


@pytest.mark.parametrize("kind", ["demo RSA", "user ECDSA"])
def test_a_signature_uses_the_key_parsed_once(
    kind: str, demo_settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    """pyHanko's SimpleSigner parsed the DER key for every signature (0.11 s for an RSA
    key, twice a record); the kept key signs, and pdfsig and pyHanko accept it."""
    from pyhanko.sign.signers import pdf_cms

    settings = demo_settings
    if kind == "user ECDSA":
        p12, ca_pem = make_user_p12(tmp_path, "mat-khau-Rat-Bi-Mat-42")
        signing_cfg = SigningSettings(
            pkcs12_path=p12,
            pkcs12_password=SecretStr("mat-khau-Rat-Bi-Mat-42"),
            trust_roots=(ca_pem,),
        )
        settings = Settings(data_dir=tmp_path / "data", signing=signing_cfg)

    def parsed_again(*_args, **_kwargs):
        raise AssertionError("the private key was parsed again for a signature")

    monkeypatch.setattr(pdf_cms.serialization, "load_der_private_key", parsed_again)
    signing.sign_pdf(make_pdf(tmp_path / "in.pdf"), tmp_path / "out.pdf", settings)
    assert "Signature is Valid." in pdfsig_blocks(tmp_path / "out.pdf")[0]
    assert validation.validate_signature(tmp_path / "out.pdf", settings).ok


def test_user_pkcs12_signs_and_validates(tmp_path: Path) -> None:
    p12, ca_pem = make_user_p12(tmp_path, "mat-khau-Rat-Bi-Mat-42")
    settings = Settings(
        data_dir=tmp_path / "data",
        signing=SigningSettings(
            pkcs12_path=p12,
            pkcs12_password=SecretStr("mat-khau-Rat-Bi-Mat-42"),
            trust_roots=(ca_pem,),
        ),
    )
    summary = signing.sign_pdf(make_pdf(tmp_path / "in.pdf"), tmp_path / "out.pdf", settings)
    assert not summary.demo
    assert summary.signer == "Nguyen Van A" and summary.issuer == "Test Root CA"
    check = validation.validate_signature(tmp_path / "out.pdf", settings)
    assert check.ok, check.problems
    assert not check.demo and check.signer == "Nguyen Van A"
    assert not (tmp_path / "data" / "demo-signer").exists()  # no demo key was made
    # Without the user's CA in trust_roots the signature is intact but untrusted.
    untrusted = Settings(
        data_dir=tmp_path / "data", signing=settings.signing.model_copy(update={"trust_roots": ()})
    )
    check = validation.validate_signature(tmp_path / "out.pdf", untrusted)
    assert check.intact and check.valid and not check.trusted and not check.ok


def test_demo_signatures_stop_being_trusted_once_a_real_key_is_set(tmp_path: Path) -> None:
    """The demo key and its password sit in the data directory: with a real key configured,
    a file signed by the demo key (anyone's forgery, for instance) must not pass."""
    data = tmp_path / "data"
    demo = Settings(data_dir=data)
    signing.sign_pdf(make_pdf(tmp_path / "in.pdf"), tmp_path / "demo.pdf", demo)
    assert validation.validate_signature(tmp_path / "demo.pdf", demo).ok
    p12, ca_pem = make_user_p12(tmp_path, "mat-khau-Rat-Bi-Mat-42")
    real = Settings(
        data_dir=data,
        signing=SigningSettings(
            pkcs12_path=p12,
            pkcs12_password=SecretStr("mat-khau-Rat-Bi-Mat-42"),
            trust_roots=(ca_pem,),
        ),
    )
    check = validation.validate_signature(tmp_path / "demo.pdf", real)
    assert check.intact and check.valid and check.demo
    assert not check.trusted and not check.ok


def test_password_file_is_supported(tmp_path: Path) -> None:
    p12, ca_pem = make_user_p12(tmp_path, "tu-tep")
    (tmp_path / "p12.pass").write_text("tu-tep\n")
    settings = Settings(
        data_dir=tmp_path,
        signing=SigningSettings(
            pkcs12_path=p12, pkcs12_password_file=tmp_path / "p12.pass", trust_roots=(ca_pem,)
        ),
    )
    signer, info = signing_key.load_signer(settings)
    assert info.signer == "Nguyen Van A" and not info.demo
    assert signing_key.load_signer(settings)[0] is signer  # cached per (path, mtime)


def test_wrong_password_raises_without_leaking_it(tmp_path: Path) -> None:
    p12, _ca = make_user_p12(tmp_path, "dung-roi")
    wrong = "SAI-mat-khau-XYZ-987"
    settings = Settings(
        data_dir=tmp_path,
        signing=SigningSettings(pkcs12_path=p12, pkcs12_password=SecretStr(wrong)),
    )
    with pytest.raises(SigningError) as caught:
        signing.sign_pdf(make_pdf(tmp_path / "in.pdf"), tmp_path / "out.pdf", settings)
    error = caught.value
    for text in (str(error), error.render("vi"), error.render("en"), repr(error.params)):
        assert wrong not in text
    assert "password" in str(error)
    assert not (tmp_path / "out.pdf").exists()


def test_missing_or_invalid_pkcs12_raises_signing_error(tmp_path: Path) -> None:
    missing = Settings(data_dir=tmp_path, signing=SigningSettings(pkcs12_path=tmp_path / "no.p12"))
    with pytest.raises(SigningError):
        signing_key.load_signer(missing)
    (tmp_path / "junk.p12").write_bytes(b"not a pkcs12")
    junk = Settings(data_dir=tmp_path, signing=SigningSettings(pkcs12_path=tmp_path / "junk.p12"))
    with pytest.raises(SigningError, match="PKCS#12"):
        signing_key.load_signer(junk)


def test_unsigned_and_unparseable_pdfs_are_not_ok(demo_settings: Settings, tmp_path: Path) -> None:
    unsigned = validation.validate_signature(make_pdf(tmp_path / "plain.pdf"), demo_settings)
    assert not unsigned.ok and unsigned.signature_count == 0
    assert any("no signature" in p for p in unsigned.problems)
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\nthis is not really a pdf\n")
    junk = validation.validate_signature(tmp_path / "junk.pdf", demo_settings)
    assert not junk.ok and junk.problems
    with pytest.raises(NotFoundError):
        validation.validate_signature(tmp_path / "absent.pdf", demo_settings)


def test_parse_pdfsig_splits_blocks() -> None:
    text = (
        "Digital Signature Info of: x.pdf\nSignature #1:\n  - Signature Field Name: S1\n"
        "  - Total document signed\n  - Signature Validation: Signature is Valid.\n"
        "Signature #2:\n  - Not total document signed\n"
        "  - Signature Validation: Digest Mismatch.\n"
    )
    blocks = validation.parse_pdfsig(text)
    assert blocks[0]["Signature Validation"] == "Signature is Valid."
    assert "Total document signed" in blocks[0]
    assert "Total document signed" not in blocks[1]
    assert blocks[1]["Signature Validation"] == "Digest Mismatch."


def test_expired_certificate_is_refused(tmp_path: Path) -> None:
    p12, _ca = make_user_p12(tmp_path, "het-han", days=-0.5)
    settings = Settings(
        data_dir=tmp_path,
        signing=SigningSettings(pkcs12_path=p12, pkcs12_password=SecretStr("het-han")),
    )
    with pytest.raises(SigningError, match="valid only"):
        signing_key.load_signer(settings)


def test_works_inside_a_running_event_loop(demo_settings: Settings, tmp_path: Path) -> None:
    """pyHanko's sync wrappers call asyncio.run; ours must also work from async code."""

    async def main() -> bool:
        signing.sign_pdf(make_pdf(tmp_path / "in.pdf"), tmp_path / "out.pdf", demo_settings)
        return validation.validate_signature(tmp_path / "out.pdf", demo_settings).ok

    assert asyncio.run(main())


# ---------------------------------------------------------------- visible stamps


def _ink(image, box_pt: tuple[float, float, float, float], dpi: int) -> float:
    """Share of dark pixels inside a box given in points from the page's top-left."""
    left, top, right, bottom = (round(v * dpi / 72) for v in box_pt)
    region = image.convert("L").crop((left, top, right, bottom))
    histogram = region.histogram()
    return sum(histogram[:128]) / sum(histogram)


def test_visible_stamps_render_vietnamese_with_an_embedded_font(
    demo_settings: Settings, tmp_path: Path
) -> None:
    cfg = demo_settings.signing.model_copy(update={"visible_stamp": True})
    settings = demo_settings.model_copy(update={"signing": cfg})
    src = make_pdf(tmp_path / "in.pdf", pages=2)  # 400 x 340 pt pages
    signed = tmp_path / "stamped.pdf"
    signing.sign_pdf(src, signed, settings, signer_name="Lê Thị Ánh Tuyết")
    check = validation.validate_signature(signed, settings)
    assert check.ok, check.problems
    assert check.coverage_entire_file and check.pdfsig_total_document_signed
    assert (
        "No syntax or stream encoding errors"
        in run_program(["qpdf", "--check", signed], timeout=60).stdout
    )
    # The digitiser's stamp is page content (poppler extracts its text, diacritics intact).
    text = run_program(["pdftotext", "-f", "1", "-l", "1", signed, "-"], timeout=60).stdout
    assert "Người số hóa: Lê Thị Ánh Tuyết" in text
    # The agency's box is the signature widget, at the top-right of page 1.
    with pikepdf.open(signed) as pdf:
        widgets = [a for a in pdf.pages[0].obj.get("/Annots", []) if a.get("/FT") == "/Sig"]
        assert len(widgets) == 1
        x1, y1, x2, y2 = (float(v) for v in widgets[0].Rect)
        assert (x1, y1, x2, y2) == (400 - 224, 340 - 46, 400 - 14, 340 - 10)  # the default box
        fonts = [
            o
            for o in pdf.objects
            if isinstance(o, pikepdf.Dictionary) and o.get("/Subtype") == "/CIDFontType2"
        ]
        assert fonts and all("DejaVuSans" in str(f.BaseFont) for f in fonts)
        assert all("/FontFile2" in f.FontDescriptor for f in fonts)  # embedded
        # Widths are in 1/1000 em (DejaVu's 'a' is 1255/2048 em): letters are not spread out.
        widths = [
            w for f in fonts for entry in f.W if isinstance(entry, pikepdf.Array) for w in entry
        ]
        assert max(float(w) for w in widths) < 1100
    # Rendered by poppler, both boxes add ink to page 1; page 2 is untouched.
    for pdf_path, prefix in ((src, "before"), (signed, "after")):
        args = ["pdftoppm", "-r", "72", "-png", pdf_path, tmp_path / prefix]
        run_program(args, timeout=60)
    before, after = Image.open(tmp_path / "before-1.png"), Image.open(tmp_path / "after-1.png")
    for box in ((14, 10, 224, 46), (x1, 340 - y2, x2, 340 - y1)):
        assert _ink(after, box, 72) > _ink(before, box, 72) + 0.03
    assert _ink(after, (0, 60, 400, 340), 72) == _ink(before, (0, 60, 400, 340), 72)
    page2 = [Image.open(tmp_path / f"{p}-2.png").tobytes() for p in ("before", "after")]
    assert page2[0] == page2[1]


def test_stamps_are_off_by_default_and_boxes_must_fit(
    signed_pdf: Path, demo_settings: Settings, tmp_path: Path
) -> None:
    with pikepdf.open(signed_pdf) as pdf:
        for annot in pdf.pages[0].obj.get("/Annots", []):
            assert all(float(v) == 0 for v in annot.Rect)  # invisible signature
    cfg = demo_settings.signing.model_copy(
        update={"visible_stamp": True, "agency_stamp_box": (-900.0, 10.0, -14.0, 46.0)}
    )
    settings = demo_settings.model_copy(update={"signing": cfg})
    with pytest.raises(ConfigError, match="does not fit"):
        signing.sign_pdf(make_pdf(tmp_path / "in.pdf"), tmp_path / "out.pdf", settings)
    assert not (tmp_path / "out.pdf").exists()
